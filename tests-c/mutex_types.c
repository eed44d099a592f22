/* Mutex kinds: normal, recursive and errorcheck; trylock, timedlock, and contention. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m;
static int result;

static void *try_other(void *arg)
{
	(void)arg;
	result = pthread_mutex_trylock(&m);
	if (result == 0)
		pthread_mutex_unlock(&m);
	return 0;
}

static void *unlock_other(void *arg)
{
	(void)arg;
	result = pthread_mutex_unlock(&m);
	return 0;
}

static void *timed_other(void *arg)
{
	(void)arg;
	struct timespec start = mono_now(), ts = deadline_ms(100);
	result = pthread_mutex_timedlock(&m, &ts);
	if (result == ETIMEDOUT && elapsed_ms(start) < 90)
		result = -1;
	return 0;
}

static int in_thread(void *(*f)(void *))
{
	pthread_t t;
	EXPECT(pthread_create(&t, 0, f, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	return result;
}

static void init(int type)
{
	pthread_mutexattr_t a;
	EXPECT(pthread_mutexattr_init(&a), 0);
	EXPECT(pthread_mutexattr_settype(&a, type), 0);
	int got;
	EXPECT(pthread_mutexattr_gettype(&a, &got), 0);
	CHECK(got == type);
	EXPECT(pthread_mutex_init(&m, &a), 0);
	pthread_mutexattr_destroy(&a);
}

int main(void)
{
	init(PTHREAD_MUTEX_NORMAL);
	EXPECT(pthread_mutex_lock(&m), 0);
	EXPECT(pthread_mutex_trylock(&m), EBUSY);
	printf("normal: trylock while held by self: EBUSY\n");
	printf("normal: trylock from another thread: %s\n", strerror(in_thread(try_other)));
	printf("normal: timedlock from another thread: %s\n", strerror(in_thread(timed_other)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	printf("normal: trylock from another thread after unlock: %d\n", in_thread(try_other));
	EXPECT(pthread_mutex_destroy(&m), 0);

	init(PTHREAD_MUTEX_RECURSIVE);
	EXPECT(pthread_mutex_lock(&m), 0);
	EXPECT(pthread_mutex_lock(&m), 0);
	EXPECT(pthread_mutex_trylock(&m), 0);
	printf("recursive: locked 3 times by self\n");
	printf("recursive: trylock from another thread: %s\n", strerror(in_thread(try_other)));
	printf("recursive: unlock from another thread: %s\n", strerror(in_thread(unlock_other)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_unlock(&m), 0);
	printf("recursive: after 2 unlocks, another thread's trylock: %s\n",
	       strerror(in_thread(try_other)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_unlock(&m), EPERM);
	printf("recursive: after 3 unlocks, another thread's trylock: %d; unlock again: EPERM\n",
	       in_thread(try_other));
	EXPECT(pthread_mutex_destroy(&m), 0);

	init(PTHREAD_MUTEX_ERRORCHECK);
	EXPECT(pthread_mutex_unlock(&m), EPERM);
	EXPECT(pthread_mutex_lock(&m), 0);
	EXPECT(pthread_mutex_lock(&m), EDEADLK);
	printf("errorcheck: unlock unlocked EPERM, relock EDEADLK\n");
	printf("errorcheck: unlock from another thread: %s\n", strerror(in_thread(unlock_other)));
	printf("errorcheck: timedlock from another thread: %s\n", strerror(in_thread(timed_other)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_destroy(&m), 0);
	return 0;
}
