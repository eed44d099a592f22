/* A condition variable over a PI mutex through requeue-PI, as glibc builds them
 * (FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI, written here with raw syscall(SYS_futex, ...)
 * since musl's condvars do not use requeue-PI; lintel-cc routes syscall() into lintel). A
 * waiter woken by the requeue owns the mutex. Two producers and two consumers pass 40000 items
 * through a bounded queue (signals with the mutex held: waiters are requeued onto it and handed
 * it by the unlock); then four threads wait for a flag that is broadcast (with the mutex free:
 * the first is given the mutex at once, the others requeued). */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

/* From Linux's uapi futex.h (musl has no linux/ headers). */
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_TID_MASK 0x3fffffffu

#define ITEMS 20000
#define SLOTS 8

static _Atomic unsigned mutex; /* the PI futex word: 0 or the owner's tid (| FUTEX_WAITERS) */

struct cond {
	_Atomic unsigned seq;
};

static long futex(_Atomic unsigned *u, int op, unsigned val, long arg4, _Atomic unsigned *u2,
		  unsigned val3)
{
	return syscall(SYS_futex, u, op | FUTEX_PRIVATE_FLAG, val, arg4, u2, val3);
}

static unsigned tid(void)
{
	return (unsigned)syscall(SYS_gettid);
}

static void lock(void)
{
	unsigned zero = 0;
	if (atomic_compare_exchange_strong(&mutex, &zero, tid()))
		return;
	long r;
	while ((r = futex(&mutex, FUTEX_LOCK_PI, 0, 0, 0, 0)) != 0)
		CHECK(errno == EINTR);
}

static void unlock(void)
{
	unsigned me = tid();
	if (atomic_compare_exchange_strong(&mutex, &me, 0))
		return;
	CHECK(futex(&mutex, FUTEX_UNLOCK_PI, 0, 0, 0, 0) == 0);
}

static long requeued_wakeups, relocks;

/* Called with the mutex held; returns with it held. */
static void cond_wait(struct cond *c)
{
	unsigned seq = atomic_load(&c->seq);
	unlock();
	if (futex(&c->seq, FUTEX_WAIT_REQUEUE_PI, seq, 0, &mutex, 0) == 0) {
		/* The requeue (or the unlock that followed it) made us the owner. */
		CHECK((atomic_load(&mutex) & FUTEX_TID_MASK) == tid());
		requeued_wakeups++;
		return;
	}
	CHECK(errno == EAGAIN);
	lock();
	relocks++;
}

static void cond_wake(struct cond *c, int nr_requeue)
{
	unsigned seq = atomic_fetch_add(&c->seq, 1) + 1;
	long r;
	while ((r = futex(&c->seq, FUTEX_CMP_REQUEUE_PI, 1, nr_requeue, &mutex, seq)) < 0) {
		CHECK(errno == EAGAIN);
		seq = atomic_load(&c->seq);
	}
}

static struct cond not_empty, not_full, flag_set;
static int queue[SLOTS], head, len;
static long sum;
static int flag, flagged;

static void *producer(void *arg)
{
	int base = (int)(long)arg;
	for (int i = 1; i <= ITEMS; i++) {
		lock();
		while (len == SLOTS)
			cond_wait(&not_full);
		queue[(head + len++) % SLOTS] = base + i;
		cond_wake(&not_empty, 0);
		unlock();
	}
	return 0;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITEMS; i++) {
		lock();
		while (len == 0)
			cond_wait(&not_empty);
		sum += queue[head];
		head = (head + 1) % SLOTS;
		len--;
		cond_wake(&not_full, 0);
		unlock();
	}
	return 0;
}

static void *flag_waiter(void *arg)
{
	(void)arg;
	lock();
	while (!flag)
		cond_wait(&flag_set);
	flagged++;
	unlock();
	return 0;
}

int main(void)
{
	pthread_t t[4];
	EXPECT(pthread_create(&t[0], 0, producer, (void *)0L), 0);
	EXPECT(pthread_create(&t[1], 0, producer, (void *)1000000L), 0);
	EXPECT(pthread_create(&t[2], 0, consumer, 0), 0);
	EXPECT(pthread_create(&t[3], 0, consumer, 0), 0);
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	long want = 2L * ITEMS * (ITEMS + 1) / 2 + 1000000L * ITEMS;
	printf("2 producers, 2 consumers, %d items each way: sum %s\n", 2 * ITEMS,
	       sum == want ? "right" : "wrong");
	printf("queue empty: %s, mutex free: %s\n", yesno(len == 0), yesno(atomic_load(&mutex) == 0));

	for (int i = 0; i < 4; i++)
		EXPECT(pthread_create(&t[i], 0, flag_waiter, 0), 0);
	usleep(100000);
	lock();
	flag = 1;
	unlock();
	cond_wake(&flag_set, INT_MAX);
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("broadcast: %d of 4 waiters saw the flag; mutex free: %s\n", flagged,
	       yesno(atomic_load(&mutex) == 0));
	fprintf(stderr, "requeued wakeups %ld, relocks %ld\n", requeued_wakeups, relocks);
	return 0;
}
