/* Detached threads (their stacks are freed by __unmapself): created detached, detached while
 * running, detached after exiting; the process ends while detached threads may be exiting. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int done;

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	done++;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	return 0;
}

static void wait_for(int n)
{
	pthread_mutex_lock(&m);
	while (done < n)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
}

int main(void)
{
	enum { N = 200 };
	pthread_attr_t a;
	EXPECT(pthread_attr_init(&a), 0);
	EXPECT(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED), 0);
	int state;
	EXPECT(pthread_attr_getdetachstate(&a, &state), 0);
	CHECK(state == PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < N; i++) {
		pthread_t t;
		EXPECT(pthread_create(&t, &a, worker, 0), 0);
	}
	wait_for(N);
	printf("%d threads created detached ran\n", N);

	for (int i = 0; i < N; i++) {
		pthread_t t;
		EXPECT(pthread_create(&t, 0, worker, 0), 0);
		EXPECT(pthread_detach(t), 0);
	}
	wait_for(2 * N);
	printf("%d threads detached after creation ran\n", N);

	/* detach a thread that has certainly finished: pthread_detach then reaps it */
	pthread_t t;
	EXPECT(pthread_create(&t, 0, worker, 0), 0);
	wait_for(2 * N + 1);
	sleep_ms(20);
	EXPECT(pthread_detach(t), 0);
	printf("detached a finished thread\n");

	/* leave some detached threads running into exit() */
	for (int i = 0; i < 8; i++) {
		EXPECT(pthread_create(&t, &a, worker, 0), 0);
	}
	pthread_attr_destroy(&a);
	printf("exiting with detached threads about\n");
	return 0;
}
