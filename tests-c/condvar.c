/* Condition variables: signal (a bounded queue), broadcast (all waiters released),
 * timedwait timing out on CLOCK_REALTIME and on CLOCK_MONOTONIC. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[4], head, count;
enum { ITEMS = 20000 };

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&m);
		while (count == 4)
			pthread_cond_wait(&not_full, &m);
		queue[(head + count++) % 4] = i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&m);
	}
	return 0;
}

static void *consumer(void *arg)
{
	(void)arg;
	long sum = 0;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&m);
		while (count == 0)
			pthread_cond_wait(&not_empty, &m);
		int v = queue[head];
		head = (head + 1) % 4;
		count--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&m);
		CHECK(v == i);
		sum += v;
	}
	return (void *)sum;
}

static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int started, released, generation;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	started++;
	pthread_cond_broadcast(&not_empty);
	int g = generation;
	while (g == generation)
		pthread_cond_wait(&go, &m);
	released++;
	pthread_mutex_unlock(&m);
	return 0;
}

int main(void)
{
	pthread_t p, c;
	void *r;
	EXPECT(pthread_create(&c, 0, consumer, 0), 0);
	EXPECT(pthread_create(&p, 0, producer, 0), 0);
	EXPECT(pthread_join(p, 0), 0);
	EXPECT(pthread_join(c, &r), 0);
	printf("signal: %d items through a 4-slot queue, sum %ld\n", ITEMS, (long)r);

	enum { W = 10 };
	pthread_t w[W];
	for (int i = 0; i < W; i++)
		EXPECT(pthread_create(&w[i], 0, waiter, 0), 0);
	pthread_mutex_lock(&m);
	while (started < W)
		pthread_cond_wait(&not_empty, &m);
	generation++;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&m);
	for (int i = 0; i < W; i++)
		EXPECT(pthread_join(w[i], 0), 0);
	printf("broadcast: %d of %d waiters released\n", released, W);

	pthread_mutex_lock(&m);
	struct timespec start = mono_now(), ts = deadline_ms(100);
	int rc = pthread_cond_timedwait(&go, &m, &ts);
	long took = elapsed_ms(start);
	pthread_mutex_unlock(&m);
	printf("timedwait (realtime, 100 ms): %s, waited at least 90 ms: %s\n", strerror(rc),
	       took >= 90 ? "yes" : "no");

	pthread_condattr_t ca;
	pthread_cond_t mono;
	EXPECT(pthread_condattr_init(&ca), 0);
	EXPECT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
	EXPECT(pthread_cond_init(&mono, &ca), 0);
	pthread_mutex_lock(&m);
	start = mono_now();
	ts = mono_now();
	ts.tv_nsec += 100000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	rc = pthread_cond_timedwait(&mono, &m, &ts);
	took = elapsed_ms(start);
	pthread_mutex_unlock(&m);
	printf("timedwait (monotonic, 100 ms): %s, waited at least 90 ms: %s\n", strerror(rc),
	       took >= 90 ? "yes" : "no");
	/* a deadline already past: immediate ETIMEDOUT */
	pthread_mutex_lock(&m);
	ts = deadline_ms(-1000);
	rc = pthread_cond_timedwait(&go, &m, &ts);
	pthread_mutex_unlock(&m);
	printf("timedwait with a past deadline: %s\n", strerror(rc));
	return 0;
}
