/* A contended counter: 4 threads x 200000 increments under one mutex, and the same with a
 * spinlock and with atomics. */
#include <pthread.h>
#include "common.h"

enum { N = 4, ITER = 200000 };
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t spin;
static long locked, spun, atomic;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITER; i++) {
		pthread_mutex_lock(&m);
		locked++;
		pthread_mutex_unlock(&m);
		if (i % 8 == 0) {
			pthread_spin_lock(&spin);
			spun++;
			pthread_spin_unlock(&spin);
		}
		__atomic_fetch_add(&atomic, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

int main(void)
{
	pthread_t t[N];
	EXPECT(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
	for (int i = 0; i < N; i++)
		EXPECT(pthread_create(&t[i], 0, worker, 0), 0);
	for (int i = 0; i < N; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("mutex %ld, spinlock %ld, atomic %ld\n", locked, spun, atomic);
	CHECK(locked == (long)N * ITER && atomic == (long)N * ITER && spun == (long)N * ITER / 8);
	return 0;
}
