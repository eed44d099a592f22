/* The signal calls' errors and odd arguments, as system calls (musl's wrappers check some
 * things themselves): tkill/tgkill (bad ids, a wrong tgid, a thread that has exited, bad
 * signal numbers, signal 0), kill on this process, rt_sigqueueinfo / rt_tgsigqueueinfo to this
 * process with kernel-looking si_codes (allowed to oneself, EPERM to a child) and a mismatched
 * si_signo, rt_sigprocmask (bad how, with and without a set; sizes; a bad oset changes the
 * mask anyway), rt_sigaction (0, 65, SIGKILL, sizes, the flags that read back), rt_sigpending,
 * rt_sigsuspend and rt_sigtimedwait sizes and timeouts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

/* "0" or the errno name of a raw syscall's result */
static const char *res(long r)
{
	static char b[8][48];
	static int n;
	char *p = b[n++ % 8];
	if (r >= 0) {
		snprintf(p, 48, "%ld", r);
		return p;
	}
	switch (errno) {
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	default: snprintf(p, 48, "errno %d", errno); return p;
	}
}

#define SYS(...) (errno = 0, syscall(__VA_ARGS__))

static volatile int hits, last_sig, last_signo, last_code, last_pid, last_errno, last_value;
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_signo = si->si_signo;
	last_code = si->si_code;
	last_pid = si->si_pid;
	last_errno = si->si_errno;
	last_value = si->si_value.sival_int;
}

static void set_action(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void *nothing(void *arg)
{
	*(pid_t *)arg = gettid();
	return 0;
}

static const char *code_name(int c)
{
	switch (c) {
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TKILL: return "SI_TKILL";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_TIMER: return "SI_TIMER";
	default: return "other";
	}
}

static void test_kill_errors(void)
{
	stage = "kill";
	set_action(SIGUSR1);
	pid_t me = getpid(), tid = gettid();
	/* a child that is only used as a pid that is not ours */
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		for (;;)
			pause();
	}
	printf("tkill(0): %s\n", res(SYS(SYS_tkill, 0, SIGUSR1)));
	printf("tkill(-1): %s\n", res(SYS(SYS_tkill, -1, SIGUSR1)));
	printf("tkill(self, 65): %s\n", res(SYS(SYS_tkill, tid, 65)));
	printf("tkill(self, -1): %s\n", res(SYS(SYS_tkill, tid, -1)));
	printf("tkill(self, 0): %s\n", res(SYS(SYS_tkill, tid, 0)));
	printf("tgkill(0, self): %s\n", res(SYS(SYS_tgkill, 0, tid, SIGUSR1)));
	printf("tgkill(-1, self): %s\n", res(SYS(SYS_tgkill, -1, tid, SIGUSR1)));
	printf("tgkill(pid, 0): %s\n", res(SYS(SYS_tgkill, me, 0, SIGUSR1)));
	printf("tgkill(pid, -5): %s\n", res(SYS(SYS_tgkill, me, -5, SIGUSR1)));
	printf("tgkill(child's pid, self): %s\n", res(SYS(SYS_tgkill, c, tid, SIGUSR1)));
	printf("tgkill(child's pid, self, 65): %s\n", res(SYS(SYS_tgkill, c, tid, 65)));
	printf("tgkill(pid, child's pid): %s\n", res(SYS(SYS_tgkill, me, c, SIGUSR1)));
	printf("tgkill(pid, self, 65): %s\n", res(SYS(SYS_tgkill, me, tid, 65)));
	printf("tgkill(pid, self, 0): %s\n", res(SYS(SYS_tgkill, me, tid, 0)));
	/* the upper halves of the registers are ignored: the arguments are ints */
	long r0 = SYS(SYS_tgkill, (long)me | (7L << 32), (long)tid | (9L << 32),
		      SIGUSR1 | (5L << 32));
	printf("tgkill with garbage upper halves: %s, hits %d\n", res(r0), hits);
	hits = 0;
	printf("kill(self, 65): %s\n", res(SYS(SYS_kill, me, 65)));
	printf("kill(self, -1): %s\n", res(SYS(SYS_kill, me, -1)));
	printf("kill(self, 0): %s\n", res(SYS(SYS_kill, me, 0)));
	printf("kill(child, 65): %s\n", res(SYS(SYS_kill, c, 65)));
	printf("kill(child, 0): %s\n", res(SYS(SYS_kill, c, 0)));
	r0 = SYS(SYS_kill, (long)me | (3L << 32), SIGUSR1);
	printf("kill(self | garbage upper half, SIGUSR1): %s, hits %d code %s\n", res(r0), hits,
	       code_name(last_code));
	hits = 0;

	/* a thread that has exited */
	pid_t gone = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, nothing, &gone), 0);
	EXPECT(pthread_join(t, 0), 0);
	sleep_ms(20); /* the kernel thread may outlive the join by a little */
	printf("tkill(exited thread, 0): %s\n", res(SYS(SYS_tkill, gone, 0)));
	printf("tgkill(pid, exited thread, 0): %s\n", res(SYS(SYS_tgkill, me, gone, 0)));

	kill(c, SIGKILL);
	waitpid(c, 0, 0);
	printf("ok kill\n");
}

static long queueinfo(pid_t pid, int sig, int signo, int code, int pidfield, int value)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = signo;
	si.si_code = code;
	si.si_pid = pidfield;
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return SYS(SYS_rt_sigqueueinfo, pid, sig, &si);
}

static void test_queueinfo(void)
{
	stage = "queueinfo";
	set_action(SIGUSR1);
	pid_t me = getpid();
	hits = 0;
	long r = queueinfo(me, SIGUSR1, SIGUSR1, SI_USER, 12345, 1);
	printf("rt_sigqueueinfo(self, SI_USER, pid 12345): %s, hits %d, %s, si_pid 12345 %s\n",
	       res(r), hits, code_name(last_code), yesno(last_pid == 12345));
	hits = 0;
	r = queueinfo(me, SIGUSR1, SIGUSR1, SI_KERNEL, 0, 2);
	printf("rt_sigqueueinfo(self, SI_KERNEL): %s, hits %d, %s\n", res(r), hits,
	       code_name(last_code));
	hits = 0;
	r = queueinfo(me, SIGUSR1, SIGUSR1, SI_TKILL, me, 3);
	printf("rt_sigqueueinfo(self, SI_TKILL): %s, hits %d, %s\n", res(r), hits,
	       code_name(last_code));
	hits = 0;
	r = queueinfo(me, SIGUSR1, SIGUSR2, SI_QUEUE, me, 4);
	printf("rt_sigqueueinfo(self, SIGUSR1, si_signo SIGUSR2): %s, hits %d, handler sig %d, "
	       "si_signo %d\n",
	       res(r), hits, last_sig, last_signo);
	hits = 0;
	r = queueinfo(me, 65, 65, SI_QUEUE, me, 5);
	printf("rt_sigqueueinfo(self, 65): %s\n", res(r));
	r = queueinfo(me, 0, 0, SI_QUEUE, me, 5);
	printf("rt_sigqueueinfo(self, 0): %s\n", res(r));
	printf("rt_sigqueueinfo(self, SIGUSR1, NULL): %s\n",
	       res(SYS(SYS_rt_sigqueueinfo, me, SIGUSR1, 0)));
	printf("rt_sigqueueinfo(self, SIGUSR1, (void*)8): %s\n",
	       res(SYS(SYS_rt_sigqueueinfo, me, SIGUSR1, 8)));

	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_TKILL;
	si.si_pid = me;
	si.si_value.sival_int = 6;
	hits = 0;
	r = SYS(SYS_rt_tgsigqueueinfo, me, gettid(), SIGUSR1, &si);
	printf("rt_tgsigqueueinfo(self, own tid, SI_TKILL): %s, hits %d, %s\n", res(r), hits,
	       code_name(last_code));
	printf("rt_tgsigqueueinfo(self, 0): %s\n",
	       res(SYS(SYS_rt_tgsigqueueinfo, me, 0, SIGUSR1, &si)));
	printf("rt_tgsigqueueinfo(self, -1): %s\n",
	       res(SYS(SYS_rt_tgsigqueueinfo, me, -1, SIGUSR1, &si)));
	printf("rt_tgsigqueueinfo(0, own tid): %s\n",
	       res(SYS(SYS_rt_tgsigqueueinfo, 0, gettid(), SIGUSR1, &si)));
	printf("rt_tgsigqueueinfo(self, own tid, 65): %s\n",
	       res(SYS(SYS_rt_tgsigqueueinfo, me, gettid(), 65, &si)));

	/* to a child, a kernel-looking si_code is refused */
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		for (;;)
			pause();
	}
	r = queueinfo(c, SIGUSR1, SIGUSR1, SI_USER, me, 7);
	printf("rt_sigqueueinfo(child, SI_USER): %s\n", res(r));
	r = queueinfo(c, SIGUSR1, SIGUSR1, SI_TKILL, me, 7);
	printf("rt_sigqueueinfo(child, SI_TKILL): %s\n", res(r));
	kill(c, SIGKILL);
	waitpid(c, 0, 0);
	printf("ok queueinfo\n");
}

static void test_procmask(void)
{
	stage = "procmask";
	uint64_t set = 1u << (SIGUSR2 - 1), old = 0;
	printf("rt_sigprocmask(how 7, set): %s\n", res(SYS(SYS_rt_sigprocmask, 7, &set, 0, 8)));
	printf("rt_sigprocmask(how 7, NULL): %s\n", res(SYS(SYS_rt_sigprocmask, 7, 0, &old, 8)));
	printf("rt_sigprocmask(how -1, set): %s\n", res(SYS(SYS_rt_sigprocmask, -1, &set, 0, 8)));
	printf("rt_sigprocmask(how 7, bad set): %s\n", res(SYS(SYS_rt_sigprocmask, 7, 8, 0, 8)));
	printf("rt_sigprocmask(BLOCK, set, size 4): %s\n",
	       res(SYS(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 4)));
	printf("rt_sigprocmask(BLOCK, set, size 16): %s\n",
	       res(SYS(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 16)));
	printf("rt_sigprocmask(BLOCK, set, bad oset): %s\n",
	       res(SYS(SYS_rt_sigprocmask, SIG_BLOCK, &set, 8, 8)));
	sigset_t cur;
	sigprocmask(SIG_BLOCK, 0, &cur);
	printf("  SIGUSR2 blocked anyway %s\n", yesno(sigismember(&cur, SIGUSR2)));
	/* SIG_BLOCK | upper-half garbage: how is an int */
	printf("rt_sigprocmask(UNBLOCK | garbage upper half): %s\n",
	       res(SYS(SYS_rt_sigprocmask, (long)SIG_UNBLOCK | (1L << 32), &set, 0, 8)));
	sigprocmask(SIG_BLOCK, 0, &cur);
	printf("  SIGUSR2 blocked %s\n", yesno(sigismember(&cur, SIGUSR2)));
	uint64_t all = ~0ull;
	SYS(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	uint64_t now = 0;
	SYS(SYS_rt_sigprocmask, SIG_BLOCK, 0, &now, 8);
	printf("SETMASK ~0 reads back %#llx\n", (unsigned long long)now);
	SYS(SYS_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
	errno = 0;
	printf("pthread_sigmask(7): %s\n", pthread_sigmask(7, &cur, 0) == EINVAL ? "EINVAL" : "?");
	errno = 0;
	printf("sigprocmask(7): %s\n", sigprocmask(7, &cur, 0) < 0 ? res(-1) : "0");
	printf("ok procmask\n");
}

struct ksa {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void test_sigaction(void)
{
	stage = "sigaction";
	struct ksa k = { 0 }, o;
	k.handler = SIG_IGN;
	printf("rt_sigaction(0): %s\n", res(SYS(SYS_rt_sigaction, 0, &k, 0, 8)));
	printf("rt_sigaction(0, NULL, &old): %s\n", res(SYS(SYS_rt_sigaction, 0, 0, &o, 8)));
	printf("rt_sigaction(65): %s\n", res(SYS(SYS_rt_sigaction, 65, &k, 0, 8)));
	printf("rt_sigaction(-1): %s\n", res(SYS(SYS_rt_sigaction, -1, &k, 0, 8)));
	printf("rt_sigaction(SIGKILL, act): %s\n", res(SYS(SYS_rt_sigaction, SIGKILL, &k, 0, 8)));
	printf("rt_sigaction(SIGSTOP, act): %s\n", res(SYS(SYS_rt_sigaction, SIGSTOP, &k, 0, 8)));
	memset(&o, 0x55, sizeof o);
	long r = SYS(SYS_rt_sigaction, SIGKILL, 0, &o, 8);
	printf("rt_sigaction(SIGKILL, NULL, &old): %s, SIG_DFL %s flags %#lx\n", res(r),
	       yesno(o.handler == SIG_DFL), o.flags);
	printf("rt_sigaction(SIGUSR1, act, size 4): %s\n",
	       res(SYS(SYS_rt_sigaction, SIGUSR1, &k, 0, 4)));
	printf("rt_sigaction(SIGUSR1, bad act): %s\n", res(SYS(SYS_rt_sigaction, SIGUSR1, 8, 0, 8)));
	printf("rt_sigaction(0, bad act): %s\n", res(SYS(SYS_rt_sigaction, 0, 8, 0, 8)));
	/* flags and mask as stored */
	k.handler = SIG_IGN;
	k.flags = ~0ul;
	k.mask = ~0ull;
	SYS(SYS_rt_sigaction, SIGUSR2, &k, 0, 8);
	memset(&o, 0, sizeof o);
	SYS(SYS_rt_sigaction, SIGUSR2, 0, &o, 8);
	printf("flags ~0 read back %#lx, mask ~0 read back %#llx\n", o.flags,
	       (unsigned long long)o.mask);
	k.flags = 0;
	k.mask = 0;
	k.handler = SIG_DFL;
	SYS(SYS_rt_sigaction, SIGUSR2, &k, 0, 8);
	/* musl's wrapper */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	errno = 0;
	printf("sigaction(0): %s\n", sigaction(0, &sa, 0) < 0 ? res(-1) : "0");
	printf("sigaction(65): %s\n", sigaction(65, &sa, 0) < 0 ? res(-1) : "0");
	printf("sigaction(SIGKILL): %s\n", sigaction(SIGKILL, &sa, 0) < 0 ? res(-1) : "0");
	printf("ok sigaction\n");
}

static void test_sizes(void)
{
	stage = "sizes";
	uint64_t set = 0;
	printf("rt_sigpending(size 9): %s\n", res(SYS(SYS_rt_sigpending, &set, 9)));
	printf("rt_sigpending(size 4): %s\n", res(SYS(SYS_rt_sigpending, &set, 4)));
	printf("rt_sigpending(size 0): %s\n", res(SYS(SYS_rt_sigpending, &set, 0)));
	printf("rt_sigpending(bad, 8): %s\n", res(SYS(SYS_rt_sigpending, 8, 8)));
	printf("rt_sigsuspend(size 4): %s\n", res(SYS(SYS_rt_sigsuspend, &set, 4)));
	printf("rt_sigsuspend(bad): %s\n", res(SYS(SYS_rt_sigsuspend, 8, 8)));
	uint64_t w = 1u << (SIGUSR2 - 1);
	struct timespec bad = { 0, 1000000000L }, neg = { -1, 0 }, zero = { 0, 0 };
	printf("rt_sigtimedwait(size 4): %s\n", res(SYS(SYS_rt_sigtimedwait, &w, 0, &zero, 4)));
	printf("rt_sigtimedwait(nsec 1e9): %s\n", res(SYS(SYS_rt_sigtimedwait, &w, 0, &bad, 8)));
	printf("rt_sigtimedwait(sec -1): %s\n", res(SYS(SYS_rt_sigtimedwait, &w, 0, &neg, 8)));
	printf("rt_sigtimedwait(zero): %s\n", res(SYS(SYS_rt_sigtimedwait, &w, 0, &zero, 8)));
	printf("rt_sigtimedwait(bad set): %s\n", res(SYS(SYS_rt_sigtimedwait, 8, 0, &zero, 8)));
	printf("rt_sigtimedwait(bad timeout): %s\n", res(SYS(SYS_rt_sigtimedwait, &w, 0, 8, 8)));
	/* pending, but the siginfo pointer is bad: EFAULT, and the signal is consumed */
	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR2);
	sigprocmask(SIG_BLOCK, &b, 0);
	raise(SIGUSR2);
	printf("rt_sigtimedwait(pending, bad info): %s\n",
	       res(SYS(SYS_rt_sigtimedwait, &w, 8, &zero, 8)));
	sigset_t p;
	sigpending(&p);
	printf("  still pending %s\n", yesno(sigismember(&p, SIGUSR2)));
	struct timespec z = { 0, 0 };
	sigtimedwait(&b, 0, &z);
	sigprocmask(SIG_UNBLOCK, &b, 0);
	/* a zero timeout with SIGKILL in the set (removed from it) */
	uint64_t kill_only = 1u << (SIGKILL - 1);
	printf("rt_sigtimedwait({SIGKILL}, zero): %s\n",
	       res(SYS(SYS_rt_sigtimedwait, &kill_only, 0, &zero, 8)));
	printf("ok sizes\n");
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
	test_kill_errors();
	test_queueinfo();
	test_procmask();
	test_sigaction();
	test_sizes();
	return 0;
}
