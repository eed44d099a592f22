/* Signals from outside the process (forwarded by the host into lintel): a child kill()s its
 * parent (si_pid, si_code, si_uid; blocked then pending; RT signals queued in order by
 * sigqueue from a child); SIGCHLD (CLD_EXITED/CLD_KILLED, waitpid still works, SIG_IGN and
 * SA_NOCLDWAIT auto-reap, SA_NOCLDSTOP); SIGPIPE (handler on the writing thread, SIG_IGN,
 * blocked); SIGALRM from setitimer interrupting pause, read (with and without SA_RESTART),
 * sem_wait and pthread_join; and external signals that must NOT interrupt anything: a blocked
 * SIGALRM or a default-ignored SIGCHLD during nanosleep / poll. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void set_action(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void set_handler(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

static int is_pending(int sig)
{
	sigset_t s;
	CHECK(sigpending(&s) == 0);
	return sigismember(&s, sig);
}

/* Waits (at most `ms`) for *flag to reach `want`. */
static int wait_for(volatile int *flag, int want, long ms)
{
	struct timespec t0 = mono_now();
	while (*flag < want && elapsed_ms(t0) < ms)
		sleep_ms(1);
	return *flag >= want;
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t p = fork();
	CHECK(p >= 0);
	return p;
}

static int wait_status(pid_t pid)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
	}
	CHECK(r == pid);
	return st;
}

/* ---- 1. kill from a child ---- */
static volatile int usr1_hits, usr1_code, usr1_uid_ok;
static volatile pid_t usr1_pid;
static void usr1_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr1_hits++;
	usr1_code = si->si_code;
	usr1_pid = si->si_pid;
	usr1_uid_ok = si->si_uid == getuid();
}

static void test_kill_from_child(void)
{
	stage = "kill-from-child";
	set_action(SIGUSR1, usr1_handler, SA_RESTART);
	/* blocked: pending once the child is gone */
	block(SIGUSR1, SIG_BLOCK);
	pid_t c = fork_or_die();
	if (c == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	CHECK(WIFEXITED(wait_status(c)));
	printf("blocked: handler ran %s, pending %s\n", yesno(usr1_hits), yesno(is_pending(SIGUSR1)));
	sigset_t empty;
	sigemptyset(&empty);
	sigsuspend(&empty);
	printf("after sigsuspend: hits %d, si_code %s, si_pid is child %s, si_uid ok %s\n",
	       usr1_hits, usr1_code == SI_USER ? "SI_USER" : "other", yesno(usr1_pid == c),
	       yesno(usr1_uid_ok));
	block(SIGUSR1, SIG_UNBLOCK);

	/* unblocked, parent blocked in waitpid (SA_RESTART: waitpid still returns the child) */
	usr1_hits = 0;
	c = fork_or_die();
	if (c == 0) {
		kill(getppid(), SIGUSR1);
		_exit(3);
	}
	int st = wait_status(c);
	printf("unblocked: exit %d, hits %d, si_pid is child %s\n", WEXITSTATUS(st), usr1_hits,
	       yesno(usr1_pid == c));
	printf("ok kill-from-child\n");
}

/* A signal a child sent before exiting is pending in the parent once waitpid has returned
 * (the process has another thread, which blocks everything). */
static void test_pending_after_wait(void)
{
	stage = "pending-after-wait";
	block(SIGUSR1, SIG_BLOCK);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	struct timespec zero = { 0, 0 };
	int missing = 0;
	for (int i = 0; i < 100; i++) {
		pid_t c = fork_or_die();
		if (c == 0) {
			kill(getppid(), SIGUSR1);
			_exit(0);
		}
		wait_status(c);
		if (!is_pending(SIGUSR1))
			missing++;
		while (sigtimedwait(&s, 0, &zero) == SIGUSR1) {
		}
	}
	/* one that arrived late would still be waiting */
	sleep_ms(20);
	while (sigtimedwait(&s, 0, &zero) == SIGUSR1) {
	}
	block(SIGUSR1, SIG_UNBLOCK);
	printf("100 kills from children: not yet pending after waitpid %d times\n", missing);
	printf("ok pending-after-wait\n");
}

/* ---- 2. RT signals queued by a child, in order ---- */
static void test_rt_from_child(void)
{
	stage = "rt-from-child";
	int sig = SIGRTMIN + 2;
	block(sig, SIG_BLOCK);
	enum { N = 40 };
	pid_t c = fork_or_die();
	if (c == 0) {
		for (int i = 0; i < N; i++) {
			union sigval v = { .sival_int = 1000 + i };
			if (sigqueue(getppid(), sig, v) != 0)
				_exit(10);
		}
		_exit(0);
	}
	int st = wait_status(c);
	printf("sender exit %d\n", WEXITSTATUS(st));
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct timespec zero = { 0, 0 };
	int n = 0, in_order = 1, codes_ok = 1;
	siginfo_t si;
	while (sigtimedwait(&set, &si, &zero) == sig) {
		if (si.si_value.sival_int != 1000 + n)
			in_order = 0;
		if (si.si_code != SI_QUEUE || si.si_pid != c)
			codes_ok = 0;
		n++;
	}
	printf("rt from child: %d received, in order %s, SI_QUEUE from child %s\n", n,
	       yesno(in_order), yesno(codes_ok));
	block(sig, SIG_UNBLOCK);
	printf("ok rt-from-child\n");
}

/* ---- 3. SIGCHLD ---- */
static volatile int chld_hits, chld_code, chld_status;
static volatile pid_t chld_pid;
static volatile int chld_log[8];
static void chld_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (chld_hits < 8)
		chld_log[chld_hits] = si->si_code * 100 + si->si_status;
	chld_hits++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static const char *cld_name(int code)
{
	switch (code) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	default: return "other";
	}
}

static void test_sigchld(void)
{
	stage = "sigchld";
	/* with SA_RESTART */
	set_action(SIGCHLD, chld_handler, SA_RESTART);
	chld_hits = 0;
	pid_t c = fork_or_die();
	if (c == 0)
		_exit(7);
	int st = wait_status(c);
	printf("sigchld: exit %d, hits %d, %s status %d, si_pid is child %s\n", WEXITSTATUS(st),
	       chld_hits, cld_name(chld_code), chld_status, yesno(chld_pid == c));

	/* without SA_RESTART, parent blocked in waitpid: waitpid still returns the child */
	set_action(SIGCHLD, chld_handler, 0);
	chld_hits = 0;
	c = fork_or_die();
	if (c == 0) {
		sleep_ms(30);
		_exit(9);
	}
	int s2;
	pid_t r = waitpid(c, &s2, 0);
	printf("sigchld no-restart: waitpid is child %s, exit %d, hits %d\n", yesno(r == c),
	       r == c ? WEXITSTATUS(s2) : -1, chld_hits);
	if (r != c)
		wait_status(c);

	/* killed child */
	set_action(SIGCHLD, chld_handler, SA_RESTART);
	chld_hits = 0;
	c = fork_or_die();
	if (c == 0) {
		for (;;)
			pause();
	}
	kill(c, SIGKILL);
	st = wait_status(c);
	printf("sigchld killed: signaled %s sig %d, hits %d, %s status %d\n",
	       yesno(WIFSIGNALED(st)), WTERMSIG(st), chld_hits, cld_name(chld_code), chld_status);

	/* SIG_IGN: children are reaped automatically */
	set_handler(SIGCHLD, SIG_IGN);
	c = fork_or_die();
	if (c == 0)
		_exit(1);
	errno = 0;
	r = waitpid(c, &st, 0);
	printf("SIG_IGN: waitpid %s errno %s\n", r < 0 ? "-1" : "pid", strerror(errno));

	/* SA_NOCLDWAIT with a handler: reaped automatically, the handler still runs */
	set_action(SIGCHLD, chld_handler, SA_RESTART | SA_NOCLDWAIT);
	chld_hits = 0;
	c = fork_or_die();
	if (c == 0)
		_exit(2);
	errno = 0;
	r = waitpid(-1, &st, 0);
	int e = errno;
	wait_for(&chld_hits, 1, 500);
	printf("SA_NOCLDWAIT: waitpid %s errno %s, hits %d\n", r < 0 ? "-1" : "pid", strerror(e),
	       chld_hits);
	set_handler(SIGCHLD, SIG_DFL);
	while (waitpid(-1, 0, WNOHANG) > 0) {
	}
	printf("ok sigchld\n");
}

/* stop / continue notifications, with and without SA_NOCLDSTOP */
static void stop_cont(int flags)
{
	set_action(SIGCHLD, chld_handler, SA_RESTART | flags);
	chld_hits = 0;
	int go[2];
	CHECK(pipe(go) == 0);
	pid_t c = fork_or_die();
	if (c == 0) {
		close(go[1]);
		char b;
		while (read(go[0], &b, 1) < 0 && errno == EINTR) {
		}
		_exit(5);
	}
	close(go[0]);
	int st;
	kill(c, SIGSTOP);
	CHECK(waitpid(c, &st, WUNTRACED) == c);
	printf("  stopped %s by %d\n", yesno(WIFSTOPPED(st)), WSTOPSIG(st));
	if (!flags)
		wait_for(&chld_hits, 1, 1000);
	else
		sleep_ms(50);
	printf("  after stop: hits %d\n", chld_hits);
	kill(c, SIGCONT);
	CHECK(waitpid(c, &st, WCONTINUED) == c);
	printf("  continued %s\n", yesno(WIFCONTINUED(st)));
	if (!flags)
		wait_for(&chld_hits, 2, 1000);
	else
		sleep_ms(50);
	printf("  after continue: hits %d\n", chld_hits);
	CHECK(write(go[1], "x", 1) == 1);
	close(go[1]);
	st = wait_status(c);
	wait_for(&chld_hits, flags ? 1 : 3, 1000);
	printf("  exited %d, hits %d:", WEXITSTATUS(st), chld_hits);
	for (int i = 0; i < chld_hits && i < 8; i++)
		printf(" %s/%d", cld_name(chld_log[i] / 100), chld_log[i] % 100);
	printf("\n");
	set_handler(SIGCHLD, SIG_DFL);
}

static void test_nocldstop(void)
{
	stage = "nocldstop";
	printf("stop/continue without SA_NOCLDSTOP:\n");
	stop_cont(0);
	printf("stop/continue with SA_NOCLDSTOP:\n");
	stop_cont(SA_NOCLDSTOP);
	printf("ok nocldstop\n");
}

/* ---- 4. SIGPIPE ---- */
static volatile int pipe_hits, pipe_code, pipe_pid_self;
static pthread_t pipe_thread;
static void pipe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	pipe_hits++;
	pipe_code = si->si_code;
	pipe_pid_self = si->si_pid == getpid();
	pipe_thread = pthread_self();
}

static void *pipe_writer(void *arg)
{
	int fd = *(int *)arg;
	errno = 0;
	ssize_t r = write(fd, "x", 1);
	int e = errno;
	return (void *)(long)(r < 0 ? e : 0);
}

static void test_sigpipe(void)
{
	stage = "sigpipe";
	int p[2];
	set_action(SIGPIPE, pipe_handler, 0);
	CHECK(pipe(p) == 0);
	close(p[0]);
	errno = 0;
	ssize_t r = write(p[1], "x", 1);
	printf("handler: write %zd %s, hits %d, si_code %s, si_pid is self %s\n", r,
	       strerror(errno), pipe_hits, pipe_code == SI_USER ? "SI_USER" : "other",
	       yesno(pipe_pid_self));

	/* on another thread: the handler runs on the writer */
	pipe_hits = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, pipe_writer, &p[1]), 0);
	void *ret;
	EXPECT(pthread_join(t, &ret), 0);
	printf("thread: write errno %s, hits %d, on writer %s\n", strerror((int)(long)ret),
	       pipe_hits, yesno(pthread_equal(t, pipe_thread)));

	/* SIG_IGN */
	set_handler(SIGPIPE, SIG_IGN);
	pipe_hits = 0;
	errno = 0;
	r = write(p[1], "x", 1);
	printf("SIG_IGN: write %zd %s, hits %d\n", r, strerror(errno), pipe_hits);

	/* blocked: pending for this thread */
	set_action(SIGPIPE, pipe_handler, 0);
	block(SIGPIPE, SIG_BLOCK);
	errno = 0;
	r = write(p[1], "x", 1);
	printf("blocked: write %zd %s, hits %d, pending %s\n", r, strerror(errno), pipe_hits,
	       yesno(is_pending(SIGPIPE)));
	block(SIGPIPE, SIG_UNBLOCK);
	printf("unblocked: hits %d\n", pipe_hits);
	close(p[1]);

	/* default action in a child */
	pid_t c = fork_or_die();
	if (c == 0) {
		set_handler(SIGPIPE, SIG_DFL);
		int q[2];
		if (pipe(q))
			_exit(1);
		close(q[0]);
		write(q[1], "x", 1);
		_exit(0);
	}
	int st = wait_status(c);
	printf("default: signaled %s by %d\n", yesno(WIFSIGNALED(st)), WTERMSIG(st));
	set_handler(SIGPIPE, SIG_DFL);
	printf("ok sigpipe\n");
}

/* ---- 5. SIGALRM from setitimer ---- */
static volatile int alrm_hits;
static pthread_t alrm_thread;
static void alrm_handler(int sig)
{
	(void)sig;
	alrm_hits++;
	alrm_thread = pthread_self();
}

static void arm(long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	CHECK(setitimer(ITIMER_REAL, &it, 0) == 0);
}

static void *late_writer(void *arg)
{
	int fd = *(int *)arg;
	block(SIGALRM, SIG_BLOCK);
	sleep_ms(150);
	CHECK(write(fd, "y", 1) == 1);
	return 0;
}

static void *slow_return(void *arg)
{
	(void)arg;
	block(SIGALRM, SIG_BLOCK);
	sleep_ms(150);
	return (void *)42;
}

static void test_itimer(void)
{
	stage = "itimer-pause";
	set_handler(SIGALRM, alrm_handler);
	alrm_hits = 0;
	arm(50);
	errno = 0;
	int r = pause();
	printf("pause: %d %s, hits %d\n", r, strerror(errno), alrm_hits);

	stage = "itimer-read";
	int p[2];
	CHECK(pipe(p) == 0);
	char b;
	alrm_hits = 0;
	arm(50);
	errno = 0;
	ssize_t n = read(p[0], &b, 1);
	printf("read: %zd %s, hits %d\n", n, strerror(errno), alrm_hits);

	stage = "itimer-read-restart";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = alrm_handler;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGALRM, &sa, 0) == 0);
	alrm_hits = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, late_writer, &p[1]), 0);
	arm(50);
	errno = 0;
	n = read(p[0], &b, 1);
	printf("read SA_RESTART: %zd '%c', hits %d\n", n, n == 1 ? b : '?', alrm_hits);
	EXPECT(pthread_join(t, 0), 0);
	close(p[0]);
	close(p[1]);

	stage = "itimer-sem";
	set_handler(SIGALRM, alrm_handler);
	sem_t sem;
	CHECK(sem_init(&sem, 0, 0) == 0);
	alrm_hits = 0;
	arm(50);
	errno = 0;
	r = sem_wait(&sem);
	printf("sem_wait: %d %s, hits %d\n", r, strerror(errno), alrm_hits);
	sem_destroy(&sem);

	stage = "itimer-join";
	alrm_hits = 0;
	EXPECT(pthread_create(&t, 0, slow_return, 0), 0);
	arm(50);
	void *ret = 0;
	r = pthread_join(t, &ret);
	printf("pthread_join: %d value %ld, hits %d, on main %s\n", r, (long)ret, alrm_hits,
	       yesno(pthread_equal(alrm_thread, pthread_self())));
	printf("ok itimer\n");
}

/* ---- 6. external signals that must not interrupt ---- */
static void test_no_interrupt(void)
{
	stage = "no-interrupt";
	set_handler(SIGALRM, alrm_handler);
	alrm_hits = 0;
	block(SIGALRM, SIG_BLOCK);
	arm(30);
	struct timespec ts = { 0, 150 * 1000000L };
	errno = 0;
	int r = nanosleep(&ts, 0);
	printf("blocked SIGALRM, nanosleep: %d %s, pending %s\n", r, r ? strerror(errno) : "",
	       yesno(is_pending(SIGALRM)));
	arm(30);
	errno = 0;
	r = poll(0, 0, 150);
	printf("blocked SIGALRM, poll: %d %s\n", r, r ? strerror(errno) : "");
	block(SIGALRM, SIG_UNBLOCK);
	printf("unblocked: hits %d\n", alrm_hits);

	/* SIGCHLD with the default action (ignored) after the signal layer is in use */
	set_handler(SIGCHLD, SIG_DFL);
	pid_t c = fork_or_die();
	if (c == 0)
		_exit(0);
	errno = 0;
	r = nanosleep(&ts, 0);
	printf("default SIGCHLD, nanosleep: %d %s\n", r, r ? strerror(errno) : "");
	wait_status(c);
	c = fork_or_die();
	if (c == 0)
		_exit(0);
	errno = 0;
	r = poll(0, 0, 150);
	printf("default SIGCHLD, poll: %d %s\n", r, r ? strerror(errno) : "");
	wait_status(c);
	printf("ok no-interrupt\n");
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	/* the watchdog starts with every signal blocked (so none is ever delivered to it) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t w;
	start_watchdog(&w, 8000);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	test_kill_from_child();
	test_pending_after_wait();
	test_rt_from_child();
	test_sigchld();
	test_nocldstop();
	test_sigpipe();
	test_itimer();
	test_no_interrupt();
	return 0;
}
