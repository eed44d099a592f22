/* Which thread an external signal goes to: process-directed signals go to a thread that does
 * not block them, thread-directed ones stay with their thread. SIGPIPE sent by kill() from
 * another process is process-directed; tgkill from another process to one thread, and a POSIX
 * timer with SIGEV_THREAD_ID, are thread-directed (rt_tgsigqueueinfo from another process:
 * sig_tgsigqueue_ext.c); a SIGEV_SIGNAL timer's siginfo (SI_TIMER, si_value, si_timerid);
 * SIGEV_THREAD timers call their function, even when slower than the period; external RT
 * signals are not lost while threads come and go. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

static volatile int hits, code, value, timerid;
static volatile pid_t ran_tid;
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	code = si->si_code;
	value = si->si_value.sival_int;
	timerid = si->si_timerid;
	ran_tid = gettid();
	__atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
}

static void set_action(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static int wait_hits(int want, long ms)
{
	struct timespec t0 = mono_now();
	while (hits < want && elapsed_ms(t0) < ms)
		sleep_ms(1);
	return hits >= want;
}

/* a thread that idles (in nanosleep) until told to stop; `arg` > 0 is a signal it unblocks,
 * < 0 one it blocks until idle_unblock is set */
static volatile int idle_stop, idle_unblock;
static volatile pid_t idle_tid;
static void *idler(void *arg)
{
	int sig = (int)(long)arg;
	if (sig > 0)
		mask(SIG_UNBLOCK, sig);
	if (sig < 0)
		mask(SIG_BLOCK, -sig);
	idle_tid = gettid();
	while (!idle_stop) {
		sleep_ms(2);
		if (sig < 0 && idle_unblock) {
			mask(SIG_UNBLOCK, -sig);
			sig = 0;
		}
	}
	return 0;
}

static pthread_t start_idler(int unblock)
{
	idle_stop = 0;
	idle_unblock = 0;
	idle_tid = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, idler, (void *)(long)unblock), 0);
	while (!idle_tid)
		sleep_ms(1);
	return t;
}

static void stop_idler(pthread_t t)
{
	idle_stop = 1;
	EXPECT(pthread_join(t, 0), 0);
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	return c;
}

static void reap(pid_t c)
{
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
	}
}

/* ---- 1. SIGPIPE from kill() by another process: process-directed ---- */
static void test_kill_sigpipe(void)
{
	stage = "kill-sigpipe";
	set_action(SIGPIPE);
	mask(SIG_BLOCK, SIGPIPE);
	pthread_t t = start_idler(SIGPIPE);
	hits = 0;
	pid_t c = fork_or_die();
	if (c == 0) {
		kill(getppid(), SIGPIPE);
		_exit(0);
	}
	reap(c);
	int ok = wait_hits(1, 1000);
	printf("kill(parent, SIGPIPE), only a second thread takes it: handled %s, on it %s, "
	       "si_code %s\n",
	       yesno(ok), yesno(ran_tid == idle_tid), code == SI_USER ? "SI_USER" : "other");
	stop_idler(t);
	sigset_t p;
	sigpending(&p);
	if (sigismember(&p, SIGPIPE)) {
		struct timespec z = { 0, 0 };
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGPIPE);
		sigtimedwait(&s, 0, &z);
	}
	mask(SIG_UNBLOCK, SIGPIPE);
	printf("ok kill-sigpipe\n");
}

/* ---- 2. tgkill from another process to one thread (rt_tgsigqueueinfo from outside:
 * sig_tgsigqueue_ext.c) ---- */
static void test_tgkill(void)
{
	stage = "tgkill";
	set_action(SIGUSR1);
	pthread_t t = start_idler(0); /* main and the idler both take SIGUSR1 */
	pid_t target = idle_tid;
	pid_t parent = getpid();
	hits = 0;
	pid_t c = fork_or_die();
	if (c == 0)
		_exit(syscall(SYS_tgkill, parent, target, SIGUSR1) == 0 ? 0 : 1);
	reap(c);
	int ok = wait_hits(1, 1000);
	printf("tgkill to one thread from a child: handled %s, on that thread %s, si_code %s\n",
	       yesno(ok), yesno(ran_tid == target), code == SI_TKILL ? "SI_TKILL" : "other");
	stop_idler(t);

	/* the target thread blocks it, main does not: it waits for that thread */
	t = start_idler(-SIGUSR1);
	target = idle_tid;
	hits = 0;
	c = fork_or_die();
	if (c == 0)
		_exit(syscall(SYS_tgkill, parent, target, SIGUSR1) == 0 ? 0 : 1);
	reap(c);
	sleep_ms(30);
	printf("to a thread that blocks it: handled before it unblocks %s\n", yesno(hits));
	idle_unblock = 1;
	ok = wait_hits(1, 1000);
	printf("  after it unblocks: handled %s, on that thread %s\n", yesno(ok),
	       yesno(ran_tid == target));
	stop_idler(t);
	printf("ok tgkill\n");
}

/* ---- 3. POSIX timers ---- */
static void test_timers(void)
{
	stage = "timer-signal";
	int sig = SIGRTMIN + 1;
	set_action(sig);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = 77;
	timer_t tm;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
	struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000000L } };
	hits = 0;
	CHECK(timer_settime(tm, 0, &its, 0) == 0);
	int ok = wait_hits(1, 1000);
	printf("SIGEV_SIGNAL timer: handled %s, si_code %s, value %d, si_timerid matches %s\n",
	       yesno(ok), code == SI_TIMER ? "SI_TIMER" : "other", value,
	       yesno(timerid == (int)(intptr_t)tm));
	timer_delete(tm);

	stage = "timer-thread-id";
	pthread_t t = start_idler(0);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = 78;
	sev.sigev_notify_thread_id = idle_tid;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
	hits = 0;
	CHECK(timer_settime(tm, 0, &its, 0) == 0);
	ok = wait_hits(1, 1000);
	printf("SIGEV_THREAD_ID timer: handled %s, on that thread %s, value %d\n", yesno(ok),
	       yesno(ran_tid == idle_tid), value);
	timer_delete(tm);
	stop_idler(t);

	/* to a thread that blocks it */
	t = start_idler(-sig);
	sev.sigev_notify_thread_id = idle_tid;
	sev.sigev_value.sival_int = 79;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
	hits = 0;
	CHECK(timer_settime(tm, 0, &its, 0) == 0);
	sleep_ms(60);
	printf("SIGEV_THREAD_ID timer to a thread that blocks it: handled before it unblocks %s\n",
	       yesno(hits));
	idle_unblock = 1;
	ok = wait_hits(1, 1000);
	printf("  after it unblocks: handled %s, on that thread %s, value %d\n", yesno(ok),
	       yesno(ran_tid == idle_tid), value);
	timer_delete(tm);
	stop_idler(t);
	printf("ok timers\n");
}

static volatile int calls;
static void notify_fn(union sigval v)
{
	if (v.sival_int == 5)
		__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST);
}

static void slow_notify(union sigval v)
{
	(void)v;
	__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST);
	struct timespec t0 = mono_now();
	while (elapsed_ms(t0) < 2) {
	}
}

static void test_sigev_thread(void)
{
	stage = "sigev-thread";
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify_fn;
	sev.sigev_value.sival_int = 5;
	timer_t tm;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
	struct itimerspec its = { { 0, 10 * 1000000L }, { 0, 10 * 1000000L } };
	CHECK(timer_settime(tm, 0, &its, 0) == 0);
	struct timespec t0 = mono_now();
	while (calls < 5 && elapsed_ms(t0) < 1000)
		sleep_ms(2);
	timer_delete(tm);
	printf("SIGEV_THREAD timer, 10 ms period: at least 5 calls within 1 s %s\n",
	       yesno(calls >= 5));

	/* a callback slower than the period: the timer thread is often busy when the timer
	 * fires (its signal must wait for it, not go to another thread) */
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		sev.sigev_notify_function = slow_notify;
		if (timer_create(CLOCK_MONOTONIC, &sev, &tm))
			_exit(1);
		struct itimerspec fast = { { 0, 1000000L }, { 0, 1000000L } };
		timer_settime(tm, 0, &fast, 0);
		sleep_ms(300);
		timer_delete(tm);
		sleep_ms(20);
		_exit(calls >= 10 ? 0 : 2);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	if (WIFEXITED(st))
		printf("SIGEV_THREAD timer, 1 ms period, 2 ms callback: exited %d\n", WEXITSTATUS(st));
	else
		printf("SIGEV_THREAD timer, 1 ms period, 2 ms callback: killed by signal %d\n",
		       WTERMSIG(st));
	printf("ok sigev-thread\n");
}

/* ---- 4. external RT signals while threads come and go ---- */
static volatile int churn_stop;
static void *short_lived(void *arg)
{
	(void)arg;
	volatile int x = 0;
	for (int i = 0; i < 1000; i++)
		x += i;
	return 0;
}

static void *churner(void *arg)
{
	(void)arg;
	while (!churn_stop) {
		pthread_t t;
		if (pthread_create(&t, 0, short_lived, 0) == 0)
			pthread_join(t, 0);
	}
	return 0;
}

static void test_churn(void)
{
	stage = "churn";
	int sig = SIGRTMIN + 2;
	mask(SIG_BLOCK, sig); /* every thread blocks it: all of them stay pending */
	pthread_t ch[2];
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&ch[i], 0, churner, 0), 0);
	enum { N = 200 };
	pid_t c = fork_or_die();
	if (c == 0) {
		for (int i = 0; i < N; i++) {
			union sigval v = { .sival_int = i };
			if (sigqueue(getppid(), sig, v))
				_exit(1);
			if (i % 8 == 0)
				sched_yield();
		}
		_exit(0);
	}
	reap(c);
	sleep_ms(50);
	churn_stop = 1;
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(ch[i], 0), 0);
	sleep_ms(20);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec z = { 0, 0 };
	int n = 0;
	while (sigtimedwait(&s, 0, &z) == sig)
		n++;
	mask(SIG_UNBLOCK, sig);
	printf("%d RT signals from a child while threads come and go: %d pending\n", N, n);
	printf("ok churn\n");
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t w;
	start_watchdog(&w, 8000);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	test_kill_sigpipe();
	test_tgkill();
	test_timers();
	test_sigev_thread();
	test_churn();
	return 0;
}
