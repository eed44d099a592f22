/* rt_tgsigqueueinfo (SI_QUEUE) from another process to one thread of this one is
 * thread-directed: it runs on that thread (main takes SIGUSR1 too), and waits for it while it
 * blocks the signal even though main does not. (The host's siginfo looks like a sigqueue to
 * the process: lintel cannot tell the two apart from it.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../common.h"

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

/* ---- rt_tgsigqueueinfo from another process to one thread ---- */
static void test_tgsigqueue(void)
{
	stage = "tgsigqueue";
	set_action(SIGUSR1);
	pthread_t t = start_idler(0); /* main and the idler both take SIGUSR1 */
	pid_t target = idle_tid;
	hits = 0;
	pid_t parent = getpid();
	pid_t c = fork_or_die();
	if (c == 0) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGUSR1;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_int = 99;
		_exit(syscall(SYS_rt_tgsigqueueinfo, parent, target, SIGUSR1, &si) == 0 ? 0 : 1);
	}
	reap(c);
	int ok = wait_hits(1, 1000);
	printf("rt_tgsigqueueinfo to one thread from a child: handled %s, on that thread %s, "
	       "value %d\n",
	       yesno(ok), yesno(ran_tid == target), value);

	stop_idler(t);

	/* the target thread blocks it, main does not: it waits for that thread */
	t = start_idler(-SIGUSR1);
	target = idle_tid;
	hits = 0;
	c = fork_or_die();
	if (c == 0) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGUSR1;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value.sival_int = 98;
		_exit(syscall(SYS_rt_tgsigqueueinfo, parent, target, SIGUSR1, &si) == 0 ? 0 : 1);
	}
	reap(c);
	sleep_ms(30);
	printf("to a thread that blocks it: handled before it unblocks %s\n", yesno(hits));
	idle_unblock = 1;
	ok = wait_hits(1, 1000);
	printf("  after it unblocks: handled %s, on that thread %s, value %d\n", yesno(ok),
	       yesno(ran_tid == target), value);
	stop_idler(t);
	printf("ok tgsigqueue\n");
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
	test_tgsigqueue();
	return 0;
}
