/* Signals across processes: the default actions a parent sees (WIFSIGNALED/WTERMSIG, stops
 * and continues), a child that keeps SIGTERM blocked until it chooses to die of it, fork from
 * a thread with signals pending and blocked (the child has no pending signals, keeps the mask,
 * the handlers, the ignored dispositions and the alternate stack), execve (keeps the blocked
 * mask, the ignored dispositions and the pending signals; resets handlers; drops the
 * alternate stack), posix_spawn (leaves the parent's handlers alone; SETSIGMASK/SETSIGDEF). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

extern char **environ;

static void set_handler(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
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

static int is_blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static int is_pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static int handler_is(int sig, void (*h)(int))
{
	struct sigaction sa;
	CHECK(sigaction(sig, 0, &sa) == 0);
	return sa.sa_handler == h;
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t p = fork();
	CHECK(p >= 0);
	if (p == 0) {
		struct rlimit r = { 0, 0 };
		setrlimit(RLIMIT_CORE, &r);
	}
	return p;
}

static int wait_status(pid_t pid, int flags)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, flags)) < 0 && errno == EINTR) {
	}
	CHECK(r == pid);
	return st;
}

static void describe(const char *what, int st)
{
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	else if (WIFSTOPPED(st))
		printf("%s: stopped by %d\n", what, WSTOPSIG(st));
	else if (WIFCONTINUED(st))
		printf("%s: continued\n", what);
	else
		printf("%s: status %#x\n", what, st);
}

/* ---- default actions ---- */
static void segv_return(int sig)
{
	(void)sig; /* returns: the fault happens again, now with the default action */
}

static char *guard_page;
static void segv_fix(int sig)
{
	(void)sig;
	mprotect(guard_page, 4096, PROT_READ | PROT_WRITE);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static void *raise_term(void *arg)
{
	(void)arg;
	sleep_ms(30);
	raise(SIGTERM);
	sleep_ms(1000);
	return 0;
}

static void test_defaults(void)
{
	stage = "defaults";
	pid_t c;

	c = fork_or_die();
	if (c == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	describe("raise(SIGTERM)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGUSR1, SIG_DFL, 0);
		raise(SIGABRT);
		_exit(0);
	}
	describe("raise(SIGABRT)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		abort();
	}
	describe("abort()", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		raise(SIGQUIT);
		_exit(0);
	}
	describe("raise(SIGQUIT)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGUSR2, SIG_DFL, 0);
		kill(getpid(), SIGUSR2);
		_exit(0);
	}
	describe("kill(self, SIGUSR2)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		for (;;)
			pause();
	}
	sleep_ms(10);
	kill(c, SIGKILL);
	describe("SIGKILL from parent", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		/* no signal call at all in the child */
		for (;;)
			sleep_ms(1000);
	}
	sleep_ms(10);
	kill(c, SIGTERM);
	describe("SIGTERM from parent, child never used signals", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGSEGV, segv_return, SA_RESETHAND);
		*(volatile int *)0 = 1;
		_exit(0);
	}
	describe("SIGSEGV handler returns (SA_RESETHAND)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		guard_page = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		set_handler(SIGSEGV, segv_fix, 0);
		guard_page[10] = 42;
		_exit(guard_page[10]);
	}
	describe("SIGSEGV handler fixes the page and returns", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGSEGV, SIG_IGN, 0);
		raise(SIGSEGV);
		kill(getpid(), SIGSEGV);
		_exit(3);
	}
	describe("SIGSEGV ignored, raised (not a fault)", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		mask(SIG_BLOCK, SIGSEGV);
		raise(SIGSEGV);
		if (!is_pending(SIGSEGV))
			_exit(4);
		mask(SIG_UNBLOCK, SIGSEGV);
		_exit(5);
	}
	describe("SIGSEGV blocked, raised, unblocked", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		pthread_t t;
		pthread_create(&t, 0, raise_term, 0);
		pthread_mutex_lock(&m);
		for (;;)
			pthread_cond_wait(&cv, &m);
	}
	describe("other thread raise(SIGTERM), main in a condvar", wait_status(c, 0));
	printf("ok defaults\n");
}

/* a child that blocks SIGTERM and is sent SIGTERM: alive until it unblocks */
static void test_blocked_term(void)
{
	stage = "blocked-term";
	int up[2], down[2];
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t c = fork_or_die();
	if (c == 0) {
		close(up[0]);
		close(down[1]);
		mask(SIG_BLOCK, SIGTERM);
		char b = 'r';
		write(up[1], &b, 1);
		/* the parent sends SIGTERM, then says so */
		while (read(down[0], &b, 1) < 0 && errno == EINTR) {
		}
		sleep_ms(20);
		b = is_pending(SIGTERM) ? 'p' : 'n';
		write(up[1], &b, 1);
		mask(SIG_UNBLOCK, SIGTERM);
		b = 'a'; /* still alive: wrong */
		write(up[1], &b, 1);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	char b;
	CHECK(read(up[0], &b, 1) == 1 && b == 'r');
	kill(c, SIGTERM);
	sleep_ms(20);
	int st;
	printf("blocked SIGTERM: child still running %s\n", yesno(waitpid(c, &st, WNOHANG) == 0));
	CHECK(write(down[1], "s", 1) == 1);
	char got[4] = { 0 };
	ssize_t n = 0, r;
	while ((r = read(up[0], got + n, sizeof got - 1 - n)) > 0)
		n += r;
	printf("child reported: %s\n", got);
	describe("child after unblocking", wait_status(c, 0));
	close(up[0]);
	close(down[1]);
	printf("ok blocked-term\n");
}

/* stops and continues */
static volatile int cont_hits;
static void on_cont(int sig)
{
	(void)sig;
	cont_hits++;
}

static void test_stop(void)
{
	stage = "stop";
	int up[2], down[2];
	CHECK(pipe(up) == 0 && pipe(down) == 0);
	pid_t c = fork_or_die();
	if (c == 0) {
		close(up[0]);
		close(down[1]);
		set_handler(SIGCONT, on_cont, SA_RESTART);
		raise(SIGSTOP);
		char b = '0' + cont_hits;
		write(up[1], &b, 1);
		/* the parent has seen the continue */
		read(down[0], &b, 1);
		/* own process group: SIGTSTP is not discarded as in an orphaned group */
		setpgid(0, 0);
		raise(SIGTSTP);
		b = '0' + cont_hits;
		write(up[1], &b, 1);
		read(down[0], &b, 1); /* exit only once the parent has seen the continue */
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	describe("raise(SIGSTOP)", wait_status(c, WUNTRACED));
	kill(c, SIGCONT);
	describe("after SIGCONT", wait_status(c, WCONTINUED));
	char b = '?';
	CHECK(read(up[0], &b, 1) == 1);
	printf("SIGCONT handler ran %c times\n", b);
	CHECK(write(down[1], "g", 1) == 1);
	describe("raise(SIGTSTP) in its own group", wait_status(c, WUNTRACED));
	kill(c, SIGCONT);
	describe("after SIGCONT", wait_status(c, WCONTINUED));
	CHECK(read(up[0], &b, 1) == 1);
	printf("SIGCONT handler ran %c times\n", b);
	CHECK(write(down[1], "g", 1) == 1);
	close(down[1]);
	describe("then", wait_status(c, 0));
	close(up[0]);

	/* a stopped child is sent SIGTERM (stays stopped) then SIGCONT: dies of SIGTERM */
	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGCONT, on_cont, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	describe("stopped", wait_status(c, WUNTRACED));
	kill(c, SIGTERM);
	sleep_ms(20);
	int st;
	printf("SIGTERM to a stopped child: still there %s\n", yesno(waitpid(c, &st, WNOHANG) == 0));
	kill(c, SIGCONT);
	int s2 = wait_status(c, 0);
	describe("after SIGCONT", s2);
	printf("ok stop\n");
}

/* ---- fork from a thread with pending and blocked signals ---- */
static volatile int usr2_hits;
static void on_usr2(int sig)
{
	(void)sig;
	usr2_hits++;
}

static void *forker(void *arg)
{
	(void)arg;
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
	CHECK(sigaltstack(&ss, 0) == 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGRTMIN + 1);
	CHECK(pthread_sigmask(SIG_BLOCK, &s, 0) == 0);
	raise(SIGUSR1);                 /* pending for this thread */
	kill(getpid(), SIGUSR2);        /* pending for the process (main blocks it too) */
	union sigval v = { .sival_int = 7 };
	sigqueue(getpid(), SIGRTMIN + 1, v);
	printf("thread before fork: pending usr1 %s usr2 %s rt %s\n", yesno(is_pending(SIGUSR1)),
	       yesno(is_pending(SIGUSR2)), yesno(is_pending(SIGRTMIN + 1)));
	pid_t c = fork_or_die();
	if (c == 0) {
		sigset_t p;
		sigpending(&p);
		int none = 1;
		for (int i = 1; i < 65; i++)
			if (sigismember(&p, i))
				none = 0;
		stack_t cur;
		sigaltstack(0, &cur);
		printf("child: nothing pending %s; blocked usr1 %s usr2 %s rt %s term %s; "
		       "SIGUSR2 handler kept %s; SIGHUP ignored %s; altstack kept %s\n",
		       yesno(none), yesno(is_blocked(SIGUSR1)), yesno(is_blocked(SIGUSR2)),
		       yesno(is_blocked(SIGRTMIN + 1)), yesno(is_blocked(SIGTERM)),
		       yesno(handler_is(SIGUSR2, on_usr2)), yesno(handler_is(SIGHUP, SIG_IGN)),
		       yesno(cur.ss_sp == alt && cur.ss_size == sizeof alt &&
			     cur.ss_flags == 0));
		mask(SIG_UNBLOCK, SIGUSR2);
		printf("child: unblocked SIGUSR2, handler ran %d\n", usr2_hits);
		raise(SIGUSR2);
		printf("child: raised SIGUSR2, handler ran %d\n", usr2_hits);
		fflush(stdout);
		_exit(0);
	}
	describe("child", wait_status(c, 0));
	printf("thread after fork: pending usr1 %s usr2 %s rt %s\n", yesno(is_pending(SIGUSR1)),
	       yesno(is_pending(SIGUSR2)), yesno(is_pending(SIGRTMIN + 1)));
	/* consume them here */
	struct timespec zero = { 0, 0 };
	int n = 0;
	while (sigtimedwait(&s, 0, &zero) > 0)
		n++;
	printf("thread consumed %d\n", n);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, 0);
	return 0;
}

static void test_fork_from_thread(void)
{
	stage = "fork-from-thread";
	set_handler(SIGUSR2, on_usr2, 0);
	set_handler(SIGHUP, SIG_IGN, 0);
	mask(SIG_BLOCK, SIGUSR2);
	mask(SIG_BLOCK, SIGRTMIN + 1);
	mask(SIG_BLOCK, SIGTERM);
	pthread_t t;
	EXPECT(pthread_create(&t, 0, forker, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("main: usr2 handler ran %d\n", usr2_hits);
	mask(SIG_UNBLOCK, SIGUSR2);
	mask(SIG_UNBLOCK, SIGRTMIN + 1);
	mask(SIG_UNBLOCK, SIGTERM);
	set_handler(SIGHUP, SIG_DFL, 0);
	printf("ok fork-from-thread\n");
}

/* ---- execve ---- */
static void exec_child_report(void)
{
	struct sigaction sa;
	sigaction(SIGTERM, 0, &sa);
	int term_dfl = sa.sa_handler == SIG_DFL;
	sigaction(SIGUSR2, 0, &sa);
	int usr2_ign = sa.sa_handler == SIG_IGN;
	stack_t ss;
	sigaltstack(0, &ss);
	printf("exec'd: blocked usr1 %s rt3 %s int %s hup %s; pending usr1 %s rt3 %s; "
	       "SIGTERM handler reset %s; SIGUSR2 ignored %s; altstack disabled %s\n",
	       yesno(is_blocked(SIGUSR1)), yesno(is_blocked(SIGRTMIN + 3)),
	       yesno(is_blocked(SIGINT)), yesno(is_blocked(SIGHUP)), yesno(is_pending(SIGUSR1)),
	       yesno(is_pending(SIGRTMIN + 3)), yesno(term_dfl), yesno(usr2_ign),
	       yesno(ss.ss_flags == SS_DISABLE));
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 3);
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	if (sigtimedwait(&s, &si, &zero) == SIGRTMIN + 3)
		printf("exec'd: rt3 value %d code %s\n", si.si_value.sival_int,
		       si.si_code == SI_QUEUE ? "SI_QUEUE" : "other");
	fflush(stdout);
}

static void on_term(int sig)
{
	(void)sig;
}

static void *exec_thread(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_SETMASK, &s, 0);
	char *argv[] = { "/proc/self/exe", "exec-child", 0 };
	execve("/proc/self/exe", argv, environ);
	_exit(99);
}

static void test_exec(void)
{
	stage = "exec";
	pid_t c = fork_or_die();
	if (c == 0) {
		static char alt[65536];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
		sigaltstack(&ss, 0);
		set_handler(SIGTERM, on_term, 0);
		set_handler(SIGUSR2, SIG_IGN, 0);
		mask(SIG_BLOCK, SIGUSR1);
		mask(SIG_BLOCK, SIGRTMIN + 3);
		raise(SIGUSR1);
		union sigval v = { .sival_int = 33 };
		sigqueue(getpid(), SIGRTMIN + 3, v);
		char *argv[] = { "/proc/self/exe", "exec-child", 0 };
		execve("/proc/self/exe", argv, environ);
		_exit(99);
	}
	describe("exec from main", wait_status(c, 0));

	c = fork_or_die();
	if (c == 0) {
		mask(SIG_BLOCK, SIGHUP);
		pthread_t t;
		pthread_create(&t, 0, exec_thread, 0);
		pthread_join(t, 0);
		_exit(98);
	}
	describe("exec from a thread", wait_status(c, 0));
	printf("ok exec\n");
}

/* ---- posix_spawn ---- */
static volatile int usr1_hits;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_hits++;
}

static void test_spawn(void)
{
	stage = "spawn";
	pid_t c = fork_or_die();
	if (c == 0) {
		set_handler(SIGUSR1, on_usr1, 0);
		mask(SIG_BLOCK, SIGUSR2);
		pid_t p;
		char *argv[] = { "true", 0 };
		if (posix_spawn(&p, "/bin/true", 0, 0, argv, environ) != 0)
			_exit(90);
		int st;
		waitpid(p, &st, 0);
		printf("after posix_spawn: SIGUSR1 handler still set %s, SIGUSR2 still blocked %s\n",
		       yesno(handler_is(SIGUSR1, on_usr1)), yesno(is_blocked(SIGUSR2)));
		fflush(stdout);
		raise(SIGUSR1);
		printf("raise(SIGUSR1): handler ran %d\n", usr1_hits);
		fflush(stdout);
		_exit(0);
	}
	describe("posix_spawn child", wait_status(c, 0));

	/* SETSIGMASK / SETSIGDEF as the spawned program sees them */
	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGUSR1, on_usr1, 0);
		set_handler(SIGUSR2, SIG_IGN, 0);
		set_handler(SIGINT, SIG_IGN, 0);
		posix_spawnattr_t at;
		posix_spawnattr_init(&at);
		sigset_t m, d;
		sigemptyset(&m);
		sigaddset(&m, SIGHUP);
		sigemptyset(&d);
		sigaddset(&d, SIGINT);
		posix_spawnattr_setsigmask(&at, &m);
		posix_spawnattr_setsigdefault(&at, &d);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		pid_t p;
		char *argv[] = { "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", 0 };
		if (posix_spawn(&p, "/bin/grep", 0, &at, argv, environ) != 0)
			_exit(90);
		int st;
		waitpid(p, &st, 0);
		printf("after posix_spawn with attrs: SIGUSR1 handler still set %s\n",
		       yesno(handler_is(SIGUSR1, on_usr1)));
		fflush(stdout);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 50);
	}
	describe("posix_spawn attrs child", wait_status(c, 0));
	printf("ok spawn\n");
}

/* ---- fork, pthread_create and execve inside a handler ---- */
static volatile int in_handler_pid;
static void fork_in_handler(int sig)
{
	(void)sig;
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		in_handler_pid = 1; /* the child returns from the handler too */
		return;
	}
	in_handler_pid = c;
}

static void *report_mask(void *arg)
{
	(void)arg;
	return (void *)(long)is_blocked(SIGUSR1);
}

static volatile long thread_saw_blocked = -1;
static void thread_in_handler(int sig)
{
	(void)sig;
	pthread_t t;
	void *r;
	if (pthread_create(&t, 0, report_mask, 0) == 0 && pthread_join(t, &r) == 0)
		thread_saw_blocked = (long)r;
}

static void exec_in_handler(int sig)
{
	(void)sig;
	char *argv[] = { "/proc/self/exe", "exec-child2", 0 };
	execve("/proc/self/exe", argv, environ);
	_exit(99);
}

static void test_in_handler(void)
{
	stage = "in-handler";
	set_handler(SIGUSR1, fork_in_handler, 0);
	raise(SIGUSR1);
	if (in_handler_pid == 1) {
		printf("child: back from the handler, SIGUSR1 blocked %s\n",
		       yesno(is_blocked(SIGUSR1)));
		fflush(stdout);
		_exit(0);
	}
	describe("fork in a handler: child", wait_status(in_handler_pid, 0));
	printf("parent: SIGUSR1 blocked %s\n", yesno(is_blocked(SIGUSR1)));

	set_handler(SIGUSR1, thread_in_handler, 0);
	raise(SIGUSR1);
	printf("thread created in a handler starts with the signal blocked: %ld\n",
	       thread_saw_blocked);

	pid_t c = fork_or_die();
	if (c == 0) {
		set_handler(SIGUSR1, exec_in_handler, 0);
		raise(SIGUSR1);
		_exit(98);
	}
	describe("execve in a handler", wait_status(c, 0));
	set_handler(SIGUSR1, SIG_DFL, 0);

	/* system(): the caller's dispositions and mask are as they were */
	set_handler(SIGINT, on_usr1, 0);
	fflush(stdout);
	int r = system("exit 3");
	printf("system(\"exit 3\"): %d; SIGINT handler kept %s; SIGCHLD blocked %s\n",
	       WIFEXITED(r) ? WEXITSTATUS(r) : -1, yesno(handler_is(SIGINT, on_usr1)),
	       yesno(is_blocked(SIGCHLD)));
	set_handler(SIGINT, SIG_DFL, 0);
	printf("ok in-handler\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
		exec_child_report();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "exec-child2") == 0) {
		printf("exec'd from a handler: SIGUSR1 blocked %s\n", yesno(is_blocked(SIGUSR1)));
		return 0;
	}
	setvbuf(stdout, 0, _IOLBF, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t w;
	start_watchdog(&w, 8000);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	test_defaults();
	test_blocked_term();
	test_stop();
	test_fork_from_thread();
	test_exec();
	test_spawn();
	test_in_handler();
	return 0;
}
