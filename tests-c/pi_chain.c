/* Two PI mutexes (FUTEX_LOCK_PI/UNLOCK_PI) locked in a pattern that can never deadlock, so that
 * every EDEADLK would be a false cycle of lintel's PI deadlock walk (futex/src/pi.rs,
 * [PI-CHAIN]): one thread holds B while it locks A; three threads lock A, release it, then lock
 * B, never holding both. A walk from the thread waiting on A reads A's owner, which may then hand
 * A over and sleep on B (held by the walker): a cycle that never existed, refused only because
 * the PI epoch moved. The mutexes are error-checking, so a (false) EDEADLK is returned, not
 * slept on. (That window is narrow: on the 2-core machine this test did not catch a walk without
 * the epoch's confirmation in 200 runs; loom's stale_owner_across_two_futexes_is_no_cycle
 * does. This test checks the pattern end to end against musl on Linux.) */
#include <pthread.h>
#include "common.h"

#define ROUNDS 50000

static pthread_mutex_t a, b;
static pthread_barrier_t start;
static long in_a, in_b;

/* A few hundred cycles inside each critical section, so the threads meet there. */
static void work(void)
{
	for (volatile int i = 0; i < 50; i++)
		;
}

static void *holds_b_locks_a(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < ROUNDS; i++) {
		EXPECT(pthread_mutex_lock(&b), 0);
		EXPECT(pthread_mutex_lock(&a), 0);
		in_a++;
		work();
		EXPECT(pthread_mutex_unlock(&a), 0);
		in_b++;
		EXPECT(pthread_mutex_unlock(&b), 0);
	}
	return 0;
}

static void *a_then_b(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < ROUNDS; i++) {
		EXPECT(pthread_mutex_lock(&a), 0);
		in_a++;
		work();
		EXPECT(pthread_mutex_unlock(&a), 0);
		EXPECT(pthread_mutex_lock(&b), 0);
		in_b++;
		work();
		EXPECT(pthread_mutex_unlock(&b), 0);
	}
	return 0;
}

int main(void)
{
	pthread_mutexattr_t at;
	EXPECT(pthread_mutexattr_init(&at), 0);
	EXPECT(pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT), 0);
	EXPECT(pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK), 0);
	EXPECT(pthread_mutex_init(&a, &at), 0);
	EXPECT(pthread_mutex_init(&b, &at), 0);
	EXPECT(pthread_barrier_init(&start, 0, 4), 0);
	pthread_t t[4];
	EXPECT(pthread_create(&t[0], 0, holds_b_locks_a, 0), 0);
	for (int i = 1; i < 4; i++)
		EXPECT(pthread_create(&t[i], 0, a_then_b, 0), 0);
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("4 threads x %d rounds over two PI mutexes, no EDEADLK: %ld in A, %ld in B\n",
	       ROUNDS, in_a, in_b);
	return 0;
}
