/* pi_condvar.c across two processes: a condition variable over a *process-shared* PI mutex
 * through requeue-PI (FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI without FUTEX_PRIVATE_FLAG,
 * as glibc's pshared condvars over PTHREAD_PRIO_INHERIT mutexes make them), in a MAP_SHARED
 * page. The parent's two producer threads and the forked child's two consumer threads pass
 * 40000 items through a bounded queue in that page, so the mutex's owner, its waiters and the
 * requeued waiters belong to either process; then two threads in each process wait for a flag
 * the parent broadcasts (with the mutex free: the first waiter is given the mutex at once, the
 * others requeued onto it, across processes). Last, signals with a handler (no SA_RESTART) to
 * a waiter: still on the condvar it is restarted and keeps waiting (ERESTARTNOINTR); requeued
 * onto the mutex it returns EAGAIN without the mutex. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

/* From Linux's uapi futex.h (musl has no linux/ headers). */
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_TID_MASK 0x3fffffffu

#define ITEMS 20000
#define SLOTS 8

struct cond {
	_Atomic unsigned seq;
};

/* Everything the two processes share. */
struct shared {
	_Atomic unsigned mutex; /* the PI futex word: 0 or the owner's tid (| FUTEX_WAITERS) */
	struct cond not_empty, not_full, flag_set, flag_waiting, sig_cond;
	int queue[SLOTS], head, len;
	long sum;
	int flag, flagged, waiting;
};

static struct shared *s;

static long futex(_Atomic unsigned *u, int op, unsigned val, long arg4, _Atomic unsigned *u2,
		  unsigned val3)
{
	return syscall(SYS_futex, u, op, val, arg4, u2, val3);
}

static unsigned tid(void)
{
	return (unsigned)syscall(SYS_gettid);
}

static void lock(void)
{
	unsigned zero = 0;
	if (atomic_compare_exchange_strong(&s->mutex, &zero, tid()))
		return;
	long r;
	while ((r = futex(&s->mutex, FUTEX_LOCK_PI, 0, 0, 0, 0)) != 0)
		CHECK(errno == EINTR);
}

static void unlock(void)
{
	unsigned me = tid();
	if (atomic_compare_exchange_strong(&s->mutex, &me, 0))
		return;
	CHECK(futex(&s->mutex, FUTEX_UNLOCK_PI, 0, 0, 0, 0) == 0);
}

/* Called with the mutex held; returns with it held. */
static void cond_wait(struct cond *c)
{
	unsigned seq = atomic_load(&c->seq);
	unlock();
	if (futex(&c->seq, FUTEX_WAIT_REQUEUE_PI, seq, 0, &s->mutex, 0) == 0) {
		/* The requeue (or the unlock that followed it) made us the owner. */
		CHECK((atomic_load(&s->mutex) & FUTEX_TID_MASK) == tid());
		return;
	}
	CHECK(errno == EAGAIN);
	lock();
}

static void cond_wake(struct cond *c, int nr_requeue)
{
	unsigned seq = atomic_fetch_add(&c->seq, 1) + 1;
	while (futex(&c->seq, FUTEX_CMP_REQUEUE_PI, 1, nr_requeue, &s->mutex, seq) < 0) {
		CHECK(errno == EAGAIN);
		seq = atomic_load(&c->seq);
	}
}

static void *producer(void *arg)
{
	int base = (int)(long)arg;
	for (int i = 1; i <= ITEMS; i++) {
		lock();
		while (s->len == SLOTS)
			cond_wait(&s->not_full);
		s->queue[(s->head + s->len++) % SLOTS] = base + i;
		cond_wake(&s->not_empty, 0);
		unlock();
	}
	return 0;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITEMS; i++) {
		lock();
		while (s->len == 0)
			cond_wait(&s->not_empty);
		s->sum += s->queue[s->head];
		s->head = (s->head + 1) % SLOTS;
		s->len--;
		cond_wake(&s->not_full, 0);
		unlock();
	}
	return 0;
}

static void *flag_waiter(void *arg)
{
	(void)arg;
	lock();
	s->waiting++;
	cond_wake(&s->flag_waiting, 0);
	while (!s->flag)
		cond_wait(&s->flag_set);
	s->flagged++;
	unlock();
	return 0;
}

/* Runs `fn` on two threads of this process and joins them. */
static void two_threads(void *(*fn)(void *), long a0, long a1)
{
	pthread_t t[2];
	EXPECT(pthread_create(&t[0], 0, fn, (void *)a0), 0);
	EXPECT(pthread_create(&t[1], 0, fn, (void *)a1), 0);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(t[i], 0), 0);
}

static volatile sig_atomic_t hits;

static void handler(int sig)
{
	(void)sig;
	hits++;
}

static _Atomic int sig_tid, sig_done;
static long sig_result;

/* Waits on sig_cond for the mutex, untimed; the outcome in sig_result (0 or an errno). */
static void *sig_waiter(void *arg)
{
	(void)arg;
	atomic_store(&sig_tid, (int)tid());
	unsigned seq = atomic_load(&s->sig_cond.seq);
	long r = futex(&s->sig_cond.seq, FUTEX_WAIT_REQUEUE_PI, seq, 0, &s->mutex, 0);
	sig_result = r == 0 ? 0 : errno;
	if (r == 0)
		unlock();
	atomic_store(&sig_done, 1);
	return 0;
}

/* Whether thread `t` of this process sleeps in futex(2) (musl on Linux: its own call; lintel:
 * the host call it makes for a shared futex). */
static int sleeps_in_futex(int t)
{
	char path[64], buf[64] = { 0 };
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", t);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int n = fread(buf, 1, sizeof buf - 1, f) > 0 && atoi(buf) == SYS_futex;
	fclose(f);
	return n;
}

static void signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	pthread_t t;
	EXPECT(pthread_create(&t, 0, sig_waiter, 0), 0);
	while (!atomic_load(&sig_tid) || !sleeps_in_futex(atomic_load(&sig_tid)))
		sleep_ms(1);
	for (int i = 0; i < 3; i++) {
		EXPECT(pthread_kill(t, SIGUSR1), 0);
		sleep_ms(20);
	}
	printf("on the condvar, 3 signals: handler ran %d times, still waiting %s\n", (int)hits,
	       yesno(!atomic_load(&sig_done)));
	lock();
	/* Until the waiter is back in its (restarted) wait: then it is requeued onto the mutex,
	 * which this thread owns. */
	unsigned seq = atomic_load(&s->sig_cond.seq);
	long r;
	while ((r = futex(&s->sig_cond.seq, FUTEX_CMP_REQUEUE_PI, 1, 1, &s->mutex, seq)) == 0)
		sleep_ms(1);
	printf("cmp_requeue_pi: %ld, mutex has waiters %s\n", r,
	       yesno(atomic_load(&s->mutex) & 0x80000000u));
	while (!sleeps_in_futex(atomic_load(&sig_tid)))
		sleep_ms(1);
	EXPECT(pthread_kill(t, SIGUSR1), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("requeued, 1 signal: %s, handler ran %d times, mutex still mine %s\n",
	       sig_result == EAGAIN ? "EAGAIN" : sig_result ? "other error" : "0", (int)hits,
	       yesno((atomic_load(&s->mutex) & FUTEX_TID_MASK) == tid()));
	unlock();
	printf("mutex free: %s\n", yesno(atomic_load(&s->mutex) == 0));
}

int main(void)
{
	s = mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);

	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		two_threads(consumer, 0, 0);
		_exit(0);
	}
	two_threads(producer, 0, 1000000L);
	int status;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	long want = 2L * ITEMS * (ITEMS + 1) / 2 + 1000000L * ITEMS;
	printf("parent's 2 producers, child's 2 consumers, %d items: sum %s\n", 2 * ITEMS,
	       s->sum == want ? "right" : "wrong");
	printf("queue empty: %s, mutex free: %s\n", yesno(s->len == 0),
	       yesno(atomic_load(&s->mutex) == 0));

	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		two_threads(flag_waiter, 0, 0);
		_exit(0);
	}
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&t[i], 0, flag_waiter, 0), 0);
	/* Until all four wait (each counted itself in under the mutex before waiting). */
	lock();
	while (s->waiting < 4)
		cond_wait(&s->flag_waiting);
	s->flag = 1;
	unlock();
	cond_wake(&s->flag_set, INT_MAX);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("broadcast across 2 processes: %d of 4 waiters saw the flag; mutex free: %s\n",
	       s->flagged, yesno(atomic_load(&s->mutex) == 0));
	signals();
	return 0;
}
