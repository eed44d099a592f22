/* Many signals: 10000 raise() (none lost), 10000 pthread_kill to a thread that spins, then to
 * one blocked in sem_wait (standard signals coalesce: the count is only >= 1, and everything
 * finishes), RT signals queued to the process and to a thread (rt_tgsigqueueinfo) while
 * blocked, counted exactly and in order, RT signals from four threads at once to a thread that
 * takes them as they come, kill(getpid()) from several threads while others change their
 * masks, and a mutex/condvar/semaphore workload that still computes the right result while its
 * threads are interrupted all the time (handlers without SA_RESTART). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static void set_handler(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void set_action(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

static volatile int hits;
static void count(int sig)
{
	(void)sig;
	hits++;
}

/* ---- 1. raise ---- */
static void test_raise(void)
{
	stage = "raise";
	set_handler(SIGUSR1, count, 0);
	hits = 0;
	for (int i = 0; i < 10000; i++)
		raise(SIGUSR1);
	printf("10000 raise: %d handled\n", hits);
	hits = 0;
	for (int i = 0; i < 10000; i++)
		kill(getpid(), SIGUSR1);
	printf("10000 kill(getpid()): %d handled\n", hits);
	printf("ok raise\n");
}

/* ---- 2. pthread_kill storm ---- */
static volatile int spin_stop;
static void *spin(void *arg)
{
	(void)arg;
	while (!spin_stop) {
	}
	return 0;
}

static sem_t sem;
static void *sem_waiter(void *arg)
{
	(void)arg;
	int eintr = 0;
	while (sem_wait(&sem) != 0) {
		CHECK(errno == EINTR);
		eintr++;
	}
	return 0;
}

static void test_pthread_kill(void)
{
	stage = "pthread_kill-spin";
	set_handler(SIGUSR1, count, 0);
	hits = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, spin, 0), 0);
	int errs = 0;
	for (int i = 0; i < 10000; i++)
		if (pthread_kill(t, SIGUSR1))
			errs++;
	/* the last one is handled eventually */
	struct timespec t0 = mono_now();
	while (hits == 0 && elapsed_ms(t0) < 2000)
		sleep_ms(1);
	spin_stop = 1;
	EXPECT(pthread_join(t, 0), 0);
	printf("10000 pthread_kill to a spinning thread: errors %d, handled >= 1 %s\n", errs,
	       yesno(hits >= 1));

	stage = "pthread_kill-sem";
	hits = 0;
	CHECK(sem_init(&sem, 0, 0) == 0);
	EXPECT(pthread_create(&t, 0, sem_waiter, 0), 0);
	sleep_ms(5);
	for (int i = 0; i < 10000; i++)
		pthread_kill(t, SIGUSR1);
	sem_post(&sem);
	EXPECT(pthread_join(t, 0), 0);
	sem_destroy(&sem);
	printf("10000 pthread_kill to a thread in sem_wait: finished, handled >= 1 %s\n",
	       yesno(hits >= 1));
	printf("ok pthread_kill\n");
}

/* ---- 3. RT signals queued while blocked, counted exactly ---- */
static volatile int rt_n, rt_order_ok = 1, rt_code_ok = 1;
static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != rt_n)
		rt_order_ok = 0;
	if (si->si_code != SI_QUEUE)
		rt_code_ok = 0;
	rt_n++;
}

static int queue_to_process(int sig, int n)
{
	int fails = 0;
	for (int i = 0; i < n; i++) {
		union sigval v = { .sival_int = i };
		if (sigqueue(getpid(), sig, v) != 0)
			fails++;
	}
	return fails;
}

static int queue_to_thread(pid_t tid, int sig, int n)
{
	int fails = 0;
	for (int i = 0; i < n; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = sig;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_int = i;
		if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si) != 0)
			fails++;
	}
	return fails;
}

static void test_rt_exact(void)
{
	stage = "rt-exact";
	int sig = SIGRTMIN + 4;
	set_action(sig, rt_handler, 0);
	mask(SIG_BLOCK, sig);
	rt_n = 0;
	rt_order_ok = 1;
	int fails = queue_to_process(sig, 200);
	mask(SIG_UNBLOCK, sig);
	printf("200 sigqueue to the process while blocked: %d refused, %d handled, in order %s, "
	       "SI_QUEUE %s\n",
	       fails, rt_n, yesno(rt_order_ok), yesno(rt_code_ok));

	mask(SIG_BLOCK, sig);
	rt_n = 0;
	rt_order_ok = 1;
	fails = queue_to_thread(gettid(), sig, 200);
	mask(SIG_UNBLOCK, sig);
	printf("200 rt_tgsigqueueinfo to this thread while blocked: %d refused, %d handled, in order "
	       "%s\n",
	       fails, rt_n, yesno(rt_order_ok));

	/* more than a small fixed pool: Linux's limit is RLIMIT_SIGPENDING */
	mask(SIG_BLOCK, sig);
	rt_n = 0;
	rt_order_ok = 1;
	fails = queue_to_process(sig, 1000);
	mask(SIG_UNBLOCK, sig);
	printf("1000 sigqueue to the process while blocked: %d refused, %d handled, in order %s\n",
	       fails, rt_n, yesno(rt_order_ok));

	/* two RT signals and a standard one, all blocked: delivered lowest number first, each RT
	 * signal's queue in order */
	printf("ok rt-exact\n");
}

/* ---- 4. RT signals from four threads at once, to a thread that takes them ---- */
enum { SENDERS = 4, PER_SENDER = 2000 };
static volatile int per_sender[SENDERS], per_sender_order_ok = 1;
static volatile int taken;
static pid_t receiver_tid;
static void rt_multi(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	int v = si->si_value.sival_int;
	int s = v / PER_SENDER, i = v % PER_SENDER;
	if (s >= 0 && s < SENDERS) {
		if (per_sender[s] != i)
			per_sender_order_ok = 0;
		per_sender[s]++;
	}
	taken++;
}

static volatile int eagain;
static void *rt_sender(void *arg)
{
	int s = (int)(long)arg;
	int sig = SIGRTMIN + 5;
	for (int i = 0; i < PER_SENDER; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = sig;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_int = s * PER_SENDER + i;
		while (syscall(SYS_rt_tgsigqueueinfo, getpid(), receiver_tid, sig, &si) != 0) {
			CHECK(errno == EAGAIN);
			__atomic_fetch_add(&eagain, 1, __ATOMIC_RELAXED);
			sched_yield();
		}
	}
	return 0;
}

static volatile int recv_stop;
static void *rt_receiver(void *arg)
{
	(void)arg;
	receiver_tid = gettid();
	mask(SIG_UNBLOCK, SIGRTMIN + 5);
	while (!recv_stop)
		sched_yield();
	return 0;
}

static void test_rt_concurrent(void)
{
	stage = "rt-concurrent";
	int sig = SIGRTMIN + 5;
	set_action(sig, rt_multi, SA_RESTART);
	mask(SIG_BLOCK, sig); /* only the receiver takes it */
	pthread_t r, s[SENDERS];
	EXPECT(pthread_create(&r, 0, rt_receiver, 0), 0);
	while (!receiver_tid)
		sched_yield();
	for (long i = 0; i < SENDERS; i++)
		EXPECT(pthread_create(&s[i], 0, rt_sender, (void *)i), 0);
	for (int i = 0; i < SENDERS; i++)
		EXPECT(pthread_join(s[i], 0), 0);
	struct timespec t0 = mono_now();
	while (taken < SENDERS * PER_SENDER && elapsed_ms(t0) < 3000)
		sleep_ms(1);
	recv_stop = 1;
	EXPECT(pthread_join(r, 0), 0);
	mask(SIG_UNBLOCK, sig);
	printf("4 x 2000 RT signals to one thread: %d handled, each sender's in order %s\n", taken,
	       yesno(per_sender_order_ok));
	printf("ok rt-concurrent\n");
}

/* ---- 5. kill(getpid()) from several threads while others change masks ---- */
static volatile int storm_stop;
static volatile int storm_hits;
static void storm_handler(int sig)
{
	(void)sig;
	__atomic_fetch_add(&storm_hits, 1, __ATOMIC_RELAXED);
}

static void *storm_sender(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3000; i++)
		kill(getpid(), (i & 1) ? SIGUSR1 : SIGUSR2);
	return 0;
}

static void *storm_masker(void *arg)
{
	unsigned seed = (unsigned)(long)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	while (!storm_stop) {
		seed = seed * 1103515245 + 12345;
		pthread_sigmask((seed >> 16) & 1 ? SIG_BLOCK : SIG_UNBLOCK, &s, 0);
		if ((seed >> 17) % 4 == 0)
			sched_yield();
	}
	pthread_sigmask(SIG_UNBLOCK, &s, 0);
	return 0;
}

static void test_storm(void)
{
	stage = "storm";
	set_handler(SIGUSR1, storm_handler, SA_RESTART);
	set_handler(SIGUSR2, storm_handler, SA_RESTART);
	mask(SIG_BLOCK, SIGUSR1);
	mask(SIG_BLOCK, SIGUSR2);
	pthread_t snd[3], msk[3];
	for (long i = 0; i < 3; i++)
		EXPECT(pthread_create(&msk[i], 0, storm_masker, (void *)(i + 1)), 0);
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_create(&snd[i], 0, storm_sender, 0), 0);
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_join(snd[i], 0), 0);
	storm_stop = 1;
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_join(msk[i], 0), 0);
	/* everything sent is handled or still pending for the process */
	sigset_t p;
	sigpending(&p);
	mask(SIG_UNBLOCK, SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR2);
	printf("storm: finished, handled >= 2 %s\n", yesno(storm_hits >= 2));
	printf("ok storm\n");
}

/* ---- 6. a workload interrupted all the time ---- */
enum { WORKERS = 4, ITEMS = 20000, QSIZE = 16 };
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static int q[QSIZE], qhead, qlen;
static long long total;
static int consumed;
static sem_t done_sem;
static volatile int work_stop;
static volatile int work_hits;

static void work_handler(int sig)
{
	(void)sig;
	__atomic_fetch_add(&work_hits, 1, __ATOMIC_RELAXED);
}

static void *producer(void *arg)
{
	int base = (int)(long)arg;
	for (int i = 0; i < ITEMS / 2; i++) {
		pthread_mutex_lock(&qm);
		while (qlen == QSIZE)
			pthread_cond_wait(&not_full, &qm);
		q[(qhead + qlen) % QSIZE] = base + i;
		qlen++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qm);
	}
	return 0;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&qm);
		while (qlen == 0 && consumed < ITEMS)
			pthread_cond_wait(&not_empty, &qm);
		if (consumed >= ITEMS) {
			pthread_mutex_unlock(&qm);
			return 0;
		}
		int v = q[qhead];
		qhead = (qhead + 1) % QSIZE;
		qlen--;
		consumed++;
		total += v;
		int last = consumed == ITEMS;
		pthread_cond_signal(&not_full);
		if (last)
			pthread_cond_broadcast(&not_empty);
		pthread_mutex_unlock(&qm);
		if (last) {
			while (sem_post(&done_sem) != 0) {
			}
		}
	}
}

static void *pester(void *arg)
{
	pthread_t *ts = arg;
	unsigned i = 0;
	while (!work_stop) {
		pthread_kill(ts[i % WORKERS], (i & 1) ? SIGUSR1 : SIGRTMIN + 6);
		i++;
		if (i % 64 == 0)
			sleep_ms(1);
	}
	return 0;
}

static void test_workload(void)
{
	stage = "workload";
	set_handler(SIGUSR1, work_handler, 0);
	set_handler(SIGRTMIN + 6, work_handler, 0);
	CHECK(sem_init(&done_sem, 0, 0) == 0);
	pthread_t ts[WORKERS], p;
	EXPECT(pthread_create(&ts[0], 0, producer, (void *)0L), 0);
	EXPECT(pthread_create(&ts[1], 0, producer, (void *)(long)(ITEMS / 2)), 0);
	EXPECT(pthread_create(&ts[2], 0, consumer, 0), 0);
	EXPECT(pthread_create(&ts[3], 0, consumer, 0), 0);
	EXPECT(pthread_create(&p, 0, pester, ts), 0);
	int eintr = 0;
	while (sem_wait(&done_sem) != 0) {
		CHECK(errno == EINTR);
		eintr++;
	}
	/* the pester stops before any worker is joined (a joined thread's id is dead) */
	work_stop = 1;
	EXPECT(pthread_join(p, 0), 0);
	for (int i = 0; i < WORKERS; i++)
		EXPECT(pthread_join(ts[i], 0), 0);
	long long want = (long long)ITEMS * (ITEMS - 1) / 2;
	printf("workload: total right %s (consumed %d), interrupted %s\n", yesno(total == want),
	       consumed, yesno(work_hits > 0));
	printf("ok workload\n");
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t w;
	start_watchdog(&w, 9000);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	struct timespec t0 = mono_now();
	test_raise();
	test_pthread_kill();
	test_rt_exact();
	test_rt_concurrent();
	test_storm();
	test_workload();
	fprintf(stderr, "took %ld ms\n", elapsed_ms(t0));
	return 0;
}
