/* Odds and ends of Linux's signal semantics: SIG_IGN flushes a pending signal; a blocked,
 * ignored signal stays pending and is discarded on unblock; SIGCONT flushes pending stop
 * signals; what sigaction reads back after an SA_RESETHAND delivery; kill(getpid()) from a
 * thread goes to the main thread when that one takes it; abort() with a handler that
 * returns, with SIGABRT blocked and ignored; a fault inside the handler of that fault; a stopped
 * and continued process's blocked calls (no EINTR, no early return) with no handlers. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

static int is_pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static volatile int hits;
static volatile pid_t hit_tid;
static void count(int sig)
{
	(void)sig;
	hits++;
	hit_tid = gettid();
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		struct rlimit r = { 0, 0 };
		setrlimit(RLIMIT_CORE, &r);
	}
	return c;
}

static void describe(const char *what, pid_t c)
{
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
	}
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
	else
		printf("%s: status %#x\n", what, st);
}

/* ---- pending vs dispositions ---- */
static void test_pending_rules(void)
{
	stage = "pending-rules";
	set_handler(SIGUSR1, count, 0);
	mask(SIG_BLOCK, SIGUSR1);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
	printf("blocked, raised: pending %s\n", yesno(is_pending(SIGUSR1)));
	set_handler(SIGUSR1, SIG_IGN, 0);
	printf("SIG_IGN set: pending %s\n", yesno(is_pending(SIGUSR1)));
	raise(SIGUSR1);
	printf("blocked and ignored, raised: pending %s\n", yesno(is_pending(SIGUSR1)));
	set_handler(SIGUSR1, count, 0);
	hits = 0;
	mask(SIG_UNBLOCK, SIGUSR1);
	printf("handler set again, unblocked: handler ran %d\n", hits);
	mask(SIG_BLOCK, SIGUSR1);
	set_handler(SIGUSR1, SIG_IGN, 0);
	raise(SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR1);
	printf("blocked and ignored, unblocked: pending %s\n", yesno(is_pending(SIGUSR1)));

	/* SIG_DFL on a default-ignore signal flushes it too */
	set_handler(SIGWINCH, count, 0);
	mask(SIG_BLOCK, SIGWINCH);
	raise(SIGWINCH);
	set_handler(SIGWINCH, SIG_DFL, 0);
	printf("SIGWINCH back to SIG_DFL: pending %s\n", yesno(is_pending(SIGWINCH)));
	mask(SIG_UNBLOCK, SIGWINCH);

	/* SIGCONT flushes pending stop signals, a stop signal flushes pending SIGCONT */
	mask(SIG_BLOCK, SIGTSTP);
	mask(SIG_BLOCK, SIGCONT);
	mask(SIG_BLOCK, SIGTTIN);
	raise(SIGTSTP);
	raise(SIGTTIN);
	printf("TSTP, TTIN blocked and raised: pending %s %s\n", yesno(is_pending(SIGTSTP)),
	       yesno(is_pending(SIGTTIN)));
	kill(getpid(), SIGCONT);
	printf("then SIGCONT: TSTP %s TTIN %s CONT %s\n", yesno(is_pending(SIGTSTP)),
	       yesno(is_pending(SIGTTIN)), yesno(is_pending(SIGCONT)));
	raise(SIGTSTP);
	printf("then SIGTSTP: TSTP %s CONT %s\n", yesno(is_pending(SIGTSTP)),
	       yesno(is_pending(SIGCONT)));
	/* get rid of the pending SIGTSTP without stopping: ignore it */
	set_handler(SIGTSTP, SIG_IGN, 0);
	set_handler(SIGTSTP, SIG_DFL, 0);
	printf("TSTP after SIG_IGN: %s\n", yesno(is_pending(SIGTSTP)));
	mask(SIG_UNBLOCK, SIGTSTP);
	mask(SIG_UNBLOCK, SIGCONT);
	mask(SIG_UNBLOCK, SIGTTIN);
	set_handler(SIGUSR1, SIG_DFL, 0);
	printf("ok pending-rules\n");
}

/* ---- SA_RESETHAND read back ---- */
static void test_resethand(void)
{
	stage = "resethand";
	struct sigaction sa, o;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count;
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	hits = 0;
	raise(SIGUSR1);
	CHECK(sigaction(SIGUSR1, 0, &o) == 0);
	int known = SA_RESETHAND | SA_RESTART | SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	printf("after one delivery: hits %d, SIG_DFL %s, flags RESETHAND %s RESTART %s, mask "
	       "keeps SIGUSR2 %s\n",
	       hits, yesno(o.sa_handler == SIG_DFL), yesno(o.sa_flags & SA_RESETHAND & known),
	       yesno(o.sa_flags & SA_RESTART), yesno(sigismember(&o.sa_mask, SIGUSR2)));
	set_handler(SIGUSR1, SIG_DFL, 0);
	printf("ok resethand\n");
}

/* ---- kill(getpid()) from a thread: the main thread takes it if it can ---- */
static volatile int sleeper_ready;
static void *killer(void *arg)
{
	(void)arg;
	while (!sleeper_ready)
		sched_yield();
	sleep_ms(20);
	kill(getpid(), SIGUSR1);
	return (void *)(long)gettid();
}

static void test_kill_from_thread(void)
{
	stage = "kill-from-thread";
	set_handler(SIGUSR1, count, 0);
	hits = 0;
	hit_tid = 0;
	pthread_t t;
	EXPECT(pthread_create(&t, 0, killer, 0), 0);
	sleeper_ready = 1;
	struct timespec ts = { 0, 300 * 1000000L };
	errno = 0;
	int r = nanosleep(&ts, 0);
	int e = errno;
	void *ktid;
	EXPECT(pthread_join(t, &ktid), 0);
	printf("kill(getpid()) from a thread, main in nanosleep: nanosleep %d %s, handled on main "
	       "%s\n",
	       r, r ? (e == EINTR ? "EINTR" : strerror(e)) : "", yesno(hit_tid == gettid()));
	printf("ok kill-from-thread\n");
}

/* ---- abort ---- */
static void abrt_returns(int sig)
{
	(void)sig;
}

static void test_abort(void)
{
	stage = "abort";
	pid_t c = fork_or_die();
	if (c == 0) {
		set_handler(SIGABRT, abrt_returns, 0);
		abort();
	}
	describe("abort() with a handler that returns", c);
	c = fork_or_die();
	if (c == 0) {
		mask(SIG_BLOCK, SIGABRT);
		abort();
	}
	describe("abort() with SIGABRT blocked", c);
	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGABRT, SIG_IGN, 0);
		abort();
	}
	describe("abort() with SIGABRT ignored", c);
	printf("ok abort\n");
}

/* ---- a fault in the handler of that fault ---- */
static volatile int *volatile bad_ptr = 0;
static void segv_again(int sig)
{
	(void)sig;
	*bad_ptr = 1;
}

static void test_nested_fault(void)
{
	stage = "nested-fault";
	pid_t c = fork_or_die();
	if (c == 0) {
		set_handler(SIGSEGV, segv_again, 0);
		*bad_ptr = 2;
		_exit(0);
	}
	describe("SIGSEGV inside the SIGSEGV handler", c);
	c = fork_or_die();
	if (c == 0) {
		set_handler(SIGSEGV, segv_again, SA_NODEFER | SA_RESETHAND);
		*bad_ptr = 2;
		_exit(0);
	}
	describe("... with SA_NODEFER|SA_RESETHAND", c);
	printf("ok nested-fault\n");
}

/* ---- stop and continue a process whose threads are blocked ---- */
static sem_t sem;
static void *sem_thread(void *arg)
{
	(void)arg;
	int r = sem_wait(&sem);
	return (void *)(long)(r == 0 ? 0 : errno);
}

static void *sleep_thread(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 250 * 1000000L };
	struct timespec t0 = mono_now();
	int r = nanosleep(&ts, 0);
	long took = elapsed_ms(t0);
	return (void *)(long)(r == 0 ? (took >= 240 ? 0 : 1000) : errno);
}

static void test_stop_cont(void)
{
	stage = "stop-cont";
	int p[2], rep[2];
	CHECK(pipe(p) == 0 && pipe(rep) == 0);
	pid_t c = fork_or_die();
	if (c == 0) {
		close(p[1]);
		close(rep[0]);
		/* the signal layer in use, no handler for SIGCONT/SIGSTOP */
		set_handler(SIGUSR2, count, 0);
		sem_init(&sem, 0, 0);
		pthread_t a, b;
		pthread_create(&a, 0, sem_thread, 0);
		pthread_create(&b, 0, sleep_thread, 0);
		char ch;
		errno = 0;
		ssize_t n = read(p[0], &ch, 1);
		int read_res = n == 1 ? 0 : errno;
		sem_post(&sem);
		void *ra, *rb;
		pthread_join(a, &ra);
		pthread_join(b, &rb);
		char out[128];
		int len = snprintf(out, sizeof out, "read %s, sem_wait %s, nanosleep %s",
				   read_res ? strerror(read_res) : "ok",
				   ra ? strerror((int)(long)ra) : "ok",
				   rb ? ((long)rb == 1000 ? "early" : strerror((int)(long)rb)) : "ok");
		write(rep[1], out, len);
		_exit(0);
	}
	close(p[0]);
	close(rep[1]);
	sleep_ms(40);
	kill(c, SIGSTOP);
	int st;
	CHECK(waitpid(c, &st, WUNTRACED) == c);
	sleep_ms(30);
	kill(c, SIGCONT);
	sleep_ms(20);
	kill(c, SIGCONT); /* once more, while running: ignored */
	sleep_ms(250);
	CHECK(write(p[1], "x", 1) == 1);
	char buf[129] = { 0 };
	ssize_t n = 0, r;
	while ((r = read(rep[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	printf("stopped and continued: %s\n", buf);
	describe("child", c);
	close(p[1]);
	close(rep[0]);
	printf("ok stop-cont\n");
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
	test_pending_rules();
	test_resethand();
	test_kill_from_thread();
	test_abort();
	test_nested_fault();
	test_stop_cont();
	return 0;
}
