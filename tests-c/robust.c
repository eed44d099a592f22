/* Robust mutexes: the owner exits while holding one (private and process-shared); the next
 * locker gets EOWNERDEAD, makes it consistent; unlocking an inconsistent one makes it
 * ENOTRECOVERABLE. A waiter blocked on it when the owner dies is woken. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m;

static void *die_holding(void *arg)
{
	(void)arg;
	EXPECT(pthread_mutex_lock(&m), 0);
	return 0; /* exits with the mutex held */
}

static volatile int holding;

static void *die_holding_later(void *arg)
{
	(void)arg;
	EXPECT(pthread_mutex_lock(&m), 0);
	holding = 1;
	sleep_ms(100);
	return 0;
}

static void init(int pshared)
{
	pthread_mutexattr_t a;
	EXPECT(pthread_mutexattr_init(&a), 0);
	EXPECT(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	EXPECT(pthread_mutexattr_setpshared(&a, pshared), 0);
	EXPECT(pthread_mutex_init(&m, &a), 0);
	pthread_mutexattr_destroy(&a);
}

static void run(int pshared, const char *what)
{
	pthread_t t;
	init(pshared);
	EXPECT(pthread_create(&t, 0, die_holding, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	int rc = pthread_mutex_lock(&m);
	printf("%s: lock after the owner died: %s\n", what, strerror(rc));
	EXPECT(pthread_mutex_consistent(&m), 0);
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_lock(&m), 0);
	printf("%s: consistent, unlock, lock again: ok\n", what);
	EXPECT(pthread_mutex_unlock(&m), 0);

	EXPECT(pthread_create(&t, 0, die_holding, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	EXPECT(pthread_mutex_trylock(&m), EOWNERDEAD);
	EXPECT(pthread_mutex_unlock(&m), 0); /* without consistent */
	rc = pthread_mutex_lock(&m);
	printf("%s: unlocked without consistent, then lock: %s\n", what, strerror(rc));
	pthread_mutex_destroy(&m);

	init(pshared);
	holding = 0;
	EXPECT(pthread_create(&t, 0, die_holding_later, 0), 0);
	/* the thread must own the mutex first (on a loaded machine it may start late: locking
	 * before it would make it wait for us while we join it) */
	while (!holding)
		sleep_ms(1);
	sleep_ms(20);
	rc = pthread_mutex_lock(&m); /* blocks until the owner dies */
	printf("%s: waiter blocked when the owner died: %s\n", what, strerror(rc));
	EXPECT(pthread_join(t, 0), 0);
	if (rc == EOWNERDEAD)
		EXPECT(pthread_mutex_consistent(&m), 0);
	EXPECT(pthread_mutex_unlock(&m), 0);
	pthread_mutex_destroy(&m);
}

int main(void)
{
	run(PTHREAD_PROCESS_PRIVATE, "private");
	run(PTHREAD_PROCESS_SHARED, "pshared");
	return 0;
}
