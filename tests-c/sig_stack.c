/* sigaltstack: an SA_ONSTACK handler runs on the alternate stack (and a nested one below it,
 * on the same stack, with or without SA_ONSTACK), uc_stack in the frame, SS_ONSTACK in a query
 * from the handler, EPERM for a change while on it, the errors (ENOMEM below MINSIGSTKSZ,
 * EINVAL for bad flags, EFAULT), SS_DISABLE, SS_AUTODISARM (disarmed in the handler, which may
 * install a stack, restored by sigreturn), a new thread starts without one, a frame that does
 * not fit on the alternate stack kills with SIGSEGV, a main-thread stack overflow caught on
 * the alternate stack. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
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

static const char *ssflags(int f)
{
	static char bufs[4][64];
	static int next;
	char *b = bufs[next++ % 4];
	b[0] = 0;
	if (f & SS_ONSTACK)
		strcat(b, "ONSTACK|");
	if (f & SS_DISABLE)
		strcat(b, "DISABLE|");
	if (f & SS_AUTODISARM)
		strcat(b, "AUTODISARM|");
	if (f & ~(SS_ONSTACK | SS_DISABLE | SS_AUTODISARM))
		strcat(b, "other|");
	if (!b[0])
		return "0";
	b[strlen(b) - 1] = 0;
	return b;
}

static char alt1[65536] __attribute__((aligned(64)));
static char alt2[65536] __attribute__((aligned(64)));

static int in(const void *p, const char *base, size_t size)
{
	return (const char *)p >= base && (const char *)p < base + size;
}

/* The system call itself (musl's wrapper checks the size and SS_ONSTACK before it). */
static int set_alt(void *sp, size_t size, int flags)
{
	stack_t ss = { .ss_sp = sp, .ss_size = size, .ss_flags = flags };
	return syscall(SYS_sigaltstack, &ss, 0) == 0 ? 0 : errno;
}

/* ---- 1. basic ---- */
static struct {
	int on_alt, query_ok, query_flags, eperm, eperm_disable, uc_ok, uc_flags;
	uintptr_t local;
	int nested_on_alt, nested_below, nested_query_flags, nested_uc_flags;
	uintptr_t nested_local;
} got;

static void nested(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	char here;
	got.nested_local = (uintptr_t)&here;
	got.nested_on_alt = in(&here, alt1, sizeof alt1);
	got.nested_below = got.nested_local < got.local;
	stack_t q;
	sigaltstack(0, &q);
	got.nested_query_flags = q.ss_flags;
	got.nested_uc_flags = uc->uc_stack.ss_flags;
}

static void on_alt_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	char here;
	got.local = (uintptr_t)&here;
	got.on_alt = in(&here, alt1, sizeof alt1);
	stack_t q;
	got.query_ok = sigaltstack(0, &q) == 0 && q.ss_sp == alt1 && q.ss_size == sizeof alt1;
	got.query_flags = q.ss_flags;
	got.eperm = set_alt(alt2, sizeof alt2, 0);
	got.eperm_disable = set_alt(0, 0, SS_DISABLE);
	got.uc_ok = uc->uc_stack.ss_sp == alt1 && uc->uc_stack.ss_size == sizeof alt1;
	got.uc_flags = uc->uc_stack.ss_flags;
	raise(SIGUSR2);
}

static void test_basic(void)
{
	stage = "basic";
	CHECK(set_alt(alt1, sizeof alt1, 0) == 0);
	set_action(SIGUSR1, on_alt_handler, SA_ONSTACK);
	set_action(SIGUSR2, nested, 0); /* no SA_ONSTACK: stays on the stack it interrupts */
	raise(SIGUSR1);
	printf("handler on altstack %s; query ok %s flags %s; change: %s; disable: %s\n",
	       yesno(got.on_alt), yesno(got.query_ok), ssflags(got.query_flags),
	       strerror(got.eperm), strerror(got.eperm_disable));
	printf("uc_stack is the altstack %s, flags %s\n", yesno(got.uc_ok), ssflags(got.uc_flags));
	printf("nested (no SA_ONSTACK): on altstack %s, below %s, query %s, uc_stack flags %s\n",
	       yesno(got.nested_on_alt), yesno(got.nested_below), ssflags(got.nested_query_flags),
	       ssflags(got.nested_uc_flags));

	/* nested with SA_ONSTACK: still continues below, not from the top */
	memset(&got, 0, sizeof got);
	set_action(SIGUSR2, nested, SA_ONSTACK);
	raise(SIGUSR1);
	printf("nested (SA_ONSTACK): on altstack %s, below %s\n", yesno(got.nested_on_alt),
	       yesno(got.nested_below));

	/* without SA_ONSTACK the altstack is not used */
	memset(&got, 0, sizeof got);
	set_action(SIGUSR1, on_alt_handler, 0);
	set_action(SIGUSR2, nested, 0);
	raise(SIGUSR1);
	printf("no SA_ONSTACK: on altstack %s, uc_stack flags %s\n", yesno(got.on_alt),
	       ssflags(got.uc_flags));

	stack_t q;
	CHECK(sigaltstack(0, &q) == 0);
	printf("after: flags %s, same stack %s\n", ssflags(q.ss_flags),
	       yesno(q.ss_sp == alt1 && q.ss_size == sizeof alt1));
	printf("ok basic\n");
}

/* ---- 2. errors ---- */
static void test_errors(void)
{
	stage = "errors";
	printf("size MINSIGSTKSZ-1: %s\n", strerror(set_alt(alt2, MINSIGSTKSZ - 1, 0)));
	printf("size 0: %s\n", strerror(set_alt(alt2, 0, 0)));
	printf("size MINSIGSTKSZ: %s\n", strerror(set_alt(alt2, MINSIGSTKSZ, 0)));
	printf("flags 4: %s\n", strerror(set_alt(alt2, sizeof alt2, 4)));
	printf("flags 4, size 1: %s\n", strerror(set_alt(alt2, 1, 4)));
	printf("flags SS_ONSTACK: %s\n", strerror(set_alt(alt2, sizeof alt2, SS_ONSTACK)));
	stack_t q;
	sigaltstack(0, &q);
	printf("  reads back flags %s\n", ssflags(q.ss_flags));
	/* the stored flags are what a frame's uc_stack carries */
	set_action(SIGUSR1, on_alt_handler, 0);
	set_action(SIGUSR2, nested, 0);
	memset(&got, 0, sizeof got);
	raise(SIGUSR1);
	printf("  a frame's uc_stack flags %s\n", ssflags(got.uc_flags));
	printf("flags SS_DISABLE|SS_ONSTACK: %s\n",
	       strerror(set_alt(alt2, sizeof alt2, SS_DISABLE | SS_ONSTACK)));
	printf("flags SS_DISABLE, size 1: %s\n", strerror(set_alt(alt2, 1, SS_DISABLE)));
	memset(&q, 0x55, sizeof q);
	sigaltstack(0, &q);
	printf("  reads back flags %s, sp null %s, size %zu\n", ssflags(q.ss_flags),
	       yesno(q.ss_sp == 0), q.ss_size);
	errno = 0;
	printf("ss = (void*)8: %s\n",
	       syscall(SYS_sigaltstack, (stack_t *)8, 0) == 0 ? "ok" : strerror(errno));
	errno = 0;
	printf("oss = (void*)8: %s\n",
	       syscall(SYS_sigaltstack, 0, (stack_t *)8) == 0 ? "ok" : strerror(errno));
	/* musl's wrapper refuses SS_ONSTACK and small sizes itself */
	stack_t w = { .ss_sp = alt2, .ss_size = 100, .ss_flags = 0 };
	errno = 0;
	printf("musl wrapper, size 100: %s\n", sigaltstack(&w, 0) == 0 ? "ok" : strerror(errno));
	printf("flags SS_AUTODISARM: %s\n", strerror(set_alt(alt2, sizeof alt2, SS_AUTODISARM)));
	sigaltstack(0, &q);
	printf("  reads back flags %s\n", ssflags(q.ss_flags));
	printf("flags SS_AUTODISARM|4: %s\n",
	       strerror(set_alt(alt2, sizeof alt2, SS_AUTODISARM | 4)));
	CHECK(set_alt(0, 0, SS_DISABLE) == 0);
	printf("ok errors\n");
}

/* ---- 3. SS_AUTODISARM ---- */
static struct {
	int on_alt, query_flags, uc_flags, uc_ok, set_other, query2_flags, rearm_same,
		query3_flags, change_after_rearm;
} ad;

static void autodisarm_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	char here;
	ad.on_alt = in(&here, alt1, sizeof alt1);
	stack_t q;
	sigaltstack(0, &q);
	ad.query_flags = q.ss_flags;
	ad.uc_flags = uc->uc_stack.ss_flags;
	ad.uc_ok = uc->uc_stack.ss_sp == alt1 && uc->uc_stack.ss_size == sizeof alt1;
	/* disarmed: another stack may be installed while running on this one */
	ad.set_other = set_alt(alt2, sizeof alt2, 0);
	sigaltstack(0, &q);
	ad.query2_flags = q.ss_flags;
	/* re-arm the very stack we run on, with SS_AUTODISARM */
	ad.rearm_same = set_alt(alt1, sizeof alt1, SS_AUTODISARM);
	sigaltstack(0, &q);
	ad.query3_flags = q.ss_flags;
	ad.change_after_rearm = set_alt(alt1, sizeof alt1 / 2, SS_AUTODISARM);
}

static void test_autodisarm(void)
{
	stage = "autodisarm";
	CHECK(set_alt(alt1, sizeof alt1, SS_AUTODISARM) == 0);
	set_action(SIGUSR1, autodisarm_handler, SA_ONSTACK);
	raise(SIGUSR1);
	printf("autodisarm: on altstack %s; query in handler %s; uc_stack ok %s flags %s\n",
	       yesno(ad.on_alt), ssflags(ad.query_flags), yesno(ad.uc_ok), ssflags(ad.uc_flags));
	printf("  install another: %s (then flags %s)\n", strerror(ad.set_other),
	       ssflags(ad.query2_flags));
	printf("  re-arm the current one: %s (then flags %s); change it again: %s\n",
	       strerror(ad.rearm_same), ssflags(ad.query3_flags), strerror(ad.change_after_rearm));
	stack_t q;
	sigaltstack(0, &q);
	printf("after return: flags %s, the original %s\n", ssflags(q.ss_flags),
	       yesno(q.ss_sp == alt1 && q.ss_size == sizeof alt1));
	CHECK(set_alt(0, 0, SS_DISABLE) == 0);
	printf("ok autodisarm\n");
}

/* ---- 4. threads start without an alternate stack ---- */
static void *query_thread(void *arg)
{
	(void)arg;
	stack_t q;
	sigaltstack(0, &q);
	return (void *)(long)q.ss_flags;
}

static void test_thread(void)
{
	stage = "thread";
	CHECK(set_alt(alt1, sizeof alt1, 0) == 0);
	pthread_t t;
	void *r;
	EXPECT(pthread_create(&t, 0, query_thread, 0), 0);
	EXPECT(pthread_join(t, &r), 0);
	printf("new thread: flags %s\n", ssflags((int)(long)r));
	CHECK(set_alt(0, 0, SS_DISABLE) == 0);
	printf("ok thread\n");
}

/* ---- 5. frames that do not fit ---- */
static char small_area[65536] __attribute__((aligned(64)));
static volatile uintptr_t top_local;
static void measure(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	char here;
	top_local = (uintptr_t)&here;
}

static volatile int depth_reached;
static void deep(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	depth_reached++;
	if (sig == SIGUSR1)
		raise(SIGUSR2);
}

static pid_t fork_child(void)
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
	CHECK(waitpid(c, &st, 0) == c);
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %d\n", what, WTERMSIG(st));
}

static void test_too_small(void)
{
	stage = "too-small";
	/* the frame size, measured (it depends on the CPU's XSAVE size) */
	CHECK(set_alt(alt1, sizeof alt1, 0) == 0);
	set_action(SIGUSR1, measure, SA_ONSTACK);
	raise(SIGUSR1);
	size_t frame = (uintptr_t)(alt1 + sizeof alt1) - top_local;
	CHECK(set_alt(0, 0, SS_DISABLE) == 0);

	/* MINSIGSTKSZ is accepted, but the frame does not fit: SIGSEGV */
	pid_t c = fork_child();
	if (c == 0) {
		if (frame <= MINSIGSTKSZ)
			_exit(7); /* a CPU with a small XSAVE area: nothing to test */
		if (set_alt(small_area + 32768, MINSIGSTKSZ, 0))
			_exit(1);
		set_action(SIGUSR1, deep, SA_ONSTACK);
		raise(SIGUSR1);
		_exit(depth_reached ? 2 : 3);
	}
	describe("altstack of MINSIGSTKSZ", c);

	/* one frame fits, a nested one would go below the alternate stack: SIGSEGV */
	c = fork_child();
	if (c == 0) {
		size_t size = frame + frame / 2;
		if (set_alt(small_area + 32768, size, 0))
			_exit(1);
		set_action(SIGUSR1, deep, SA_ONSTACK);
		set_action(SIGUSR2, deep, SA_ONSTACK);
		raise(SIGUSR1);
		_exit(10 + depth_reached);
	}
	describe("nested frame past the bottom of the altstack", c);
	printf("ok too-small\n");
}

/* ---- 6. main-thread stack overflow caught on the alternate stack ---- */
static sigjmp_buf jb;
static volatile int overflow_on_alt;
static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	char here;
	overflow_on_alt = in(&here, alt2, sizeof alt2);
	siglongjmp(jb, 1);
}

static volatile int keep_going = 1;
static int recurse(volatile char *p)
{
	volatile char buf[1024];
	buf[0] = p ? p[0] + 1 : 0;
	if (!keep_going)
		return 0;
	return recurse(buf) + buf[1];
}

static void test_overflow(void)
{
	stage = "overflow";
	pid_t c = fork_child();
	if (c == 0) {
		struct rlimit r = { 1 << 20, 1 << 20 };
		setrlimit(RLIMIT_STACK, &r);
		if (set_alt(alt2, sizeof alt2, 0))
			_exit(1);
		set_action(SIGSEGV, overflow_handler, SA_ONSTACK);
		if (sigsetjmp(jb, 1) == 0)
			recurse(0);
		_exit(overflow_on_alt ? 0 : 2);
	}
	describe("main-thread overflow caught on the altstack", c);
	printf("ok overflow\n");
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
	test_basic();
	test_errors();
	test_autodisarm();
	test_thread();
	test_too_small();
	test_overflow();
	return 0;
}
