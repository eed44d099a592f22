/* A robust priority-inheritance mutex whose owner exits while threads sleep in
 * pthread_mutex_lock (FUTEX_LOCK_PI): Linux hands the lock to the first waiter (the owner's
 * robust list marks the word OWNER_DIED, then its PI state goes to the top waiter), which gets
 * EOWNERDEAD; once it makes the mutex consistent and unlocks, the next waiter gets it with 0. */
#include <pthread.h>
#include "common.h"

static pthread_mutex_t m;
static volatile int owned;
static int results[2];

/* musl's lock word (`_m_lock`); FUTEX_WAITERS is set once a waiter sleeps in the kernel. */
static int lock_word(void)
{
	return __atomic_load_n(&((volatile int *)&m)[1], __ATOMIC_SEQ_CST);
}

static void *owner(void *arg)
{
	int sleepers = (int)(long)arg;
	EXPECT(pthread_mutex_lock(&m), 0);
	owned = 1;
	/* Exit only once the waiters sleep in LOCK_PI (WAITERS set), plus a moment for the
	 * second one: the handoff at exit is what is tested, not a lock taken after it. */
	while (!(lock_word() & 0x80000000))
		sleep_ms(1);
	if (sleepers > 1)
		sleep_ms(50);
	return 0; /* exits holding the mutex */
}

static void *waiter(void *arg)
{
	int i = (int)(long)arg;
	int r = pthread_mutex_lock(&m);
	results[i] = r;
	if (r == EOWNERDEAD)
		EXPECT(pthread_mutex_consistent(&m), 0);
	if (r == 0 || r == EOWNERDEAD)
		EXPECT(pthread_mutex_unlock(&m), 0);
	return 0;
}

static void round_with(int sleepers)
{
	pthread_mutexattr_t a;
	EXPECT(pthread_mutexattr_init(&a), 0);
	EXPECT(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	EXPECT(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	EXPECT(pthread_mutex_init(&m, &a), 0);
	owned = 0;
	results[0] = results[1] = -1;
	pthread_t o, w[2];
	EXPECT(pthread_create(&o, 0, owner, (void *)(long)sleepers), 0);
	while (!owned)
		sleep_ms(1);
	for (int i = 0; i < sleepers; i++)
		EXPECT(pthread_create(&w[i], 0, waiter, (void *)(long)i), 0);
	EXPECT(pthread_join(o, 0), 0);
	for (int i = 0; i < sleepers; i++)
		EXPECT(pthread_join(w[i], 0), 0);
	int dead = 0, ok = 0;
	for (int i = 0; i < sleepers; i++) {
		dead += results[i] == EOWNERDEAD;
		ok += results[i] == 0;
	}
	printf("%d waiter(s): %d got EOWNERDEAD, %d got 0; then trylock: %s\n", sleepers, dead,
	       ok, strerror(pthread_mutex_trylock(&m)));
	EXPECT(pthread_mutex_unlock(&m), 0);
	EXPECT(pthread_mutex_destroy(&m), 0);
}

int main(void)
{
	pthread_t dog;
	start_watchdog(&dog, 10000);
	stage = "one waiter";
	round_with(1);
	stage = "two waiters";
	round_with(2);
	return 0;
}
