/* Unnamed semaphores: post/wait between threads, trywait, timedwait timing out, getvalue. */
#include <pthread.h>
#include <semaphore.h>
#include "common.h"

static sem_t items, slots;
enum { N = 20000 };

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		CHECK(sem_wait(&slots) == 0);
		CHECK(sem_post(&items) == 0);
	}
	return 0;
}

int main(void)
{
	CHECK(sem_init(&items, 0, 0) == 0);
	CHECK(sem_init(&slots, 0, 3) == 0);
	int v;
	sem_getvalue(&slots, &v);
	printf("initial values: items 0, slots %d\n", v);
	errno = 0;
	CHECK(sem_trywait(&items) == -1);
	printf("trywait on 0: %s\n", strerror(errno));

	struct timespec start = mono_now(), ts = deadline_ms(100);
	errno = 0;
	int rc = sem_timedwait(&items, &ts);
	printf("timedwait on 0 (100 ms): %d %s, waited at least 90 ms: %s\n", rc,
	       strerror(errno), elapsed_ms(start) >= 90 ? "yes" : "no");
	ts.tv_nsec = 2000000000L;
	errno = 0;
	rc = sem_timedwait(&items, &ts);
	printf("timedwait with tv_nsec 2e9 on 0: %d %s\n", rc, strerror(errno));

	pthread_t t;
	EXPECT(pthread_create(&t, 0, producer, 0), 0);
	for (int i = 0; i < N; i++) {
		while (sem_wait(&items) != 0)
			CHECK(errno == EINTR);
		CHECK(sem_post(&slots) == 0);
	}
	EXPECT(pthread_join(t, 0), 0);
	sem_getvalue(&items, &v);
	int s;
	sem_getvalue(&slots, &s);
	printf("%d handoffs through 3 slots; values now items %d, slots %d\n", N, v, s);

	CHECK(sem_post(&items) == 0);
	ts = deadline_ms(1000);
	CHECK(sem_timedwait(&items, &ts) == 0);
	printf("timedwait on a posted semaphore: 0\n");
	sem_destroy(&items);
	sem_destroy(&slots);
	return 0;
}
