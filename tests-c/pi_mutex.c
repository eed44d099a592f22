/* Priority-inheritance mutexes (FUTEX_LOCK_PI/UNLOCK_PI): lock, trylock, contention between
 * 4 threads, timedlock timing out, errorcheck semantics. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m;
static long count;
static int result;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		EXPECT(pthread_mutex_lock(&m), 0);
		count++;
		EXPECT(pthread_mutex_unlock(&m), 0);
	}
	return 0;
}

static void *timed(void *arg)
{
	(void)arg;
	struct timespec ts = deadline_ms(100);
	result = pthread_mutex_timedlock(&m, &ts);
	return 0;
}

static void *try(void *arg)
{
	(void)arg;
	result = pthread_mutex_trylock(&m);
	return 0;
}

static int in_thread(void *(*f)(void *))
{
	pthread_t t;
	EXPECT(pthread_create(&t, 0, f, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	return result;
}

int main(void)
{
	pthread_mutexattr_t a;
	EXPECT(pthread_mutexattr_init(&a), 0);
	int rc = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	printf("setprotocol(PTHREAD_PRIO_INHERIT): %s\n", strerror(rc));
	EXPECT(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK), 0);
	EXPECT(pthread_mutex_init(&m, &a), 0);
	EXPECT(pthread_mutex_lock(&m), 0);
	EXPECT(pthread_mutex_lock(&m), EDEADLK);
	printf("held: trylock from another thread: %s\n", strerror(in_thread(try)));
	printf("held: timedlock from another thread: %s\n", strerror(in_thread(timed)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_unlock(&m), EPERM);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_create(&t[i], 0, worker, 0), 0);
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("4 threads x 20000 under the PI mutex: %ld\n", count);
	return 0;
}
