/* Synchronous faults: SIGSEGV on a PROT_NONE page (SEGV_ACCERR) and on an unmapped address
 * (SEGV_MAPERR) with si_addr and the x86_64 trap registers, recovered with siglongjmp (mask
 * restored with sigsetjmp(env, 1), not with 0); SIGFPE from integer division (FPE_INTDIV);
 * SIGILL; SIGBUS past the end of a mapped file; a stack overflow in a thread caught on an
 * alternate stack; a blocked or ignored fault still kills (in a forked child). */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include "common.h"

static int blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static sigjmp_buf *volatile env;
static struct {
	int signo, code, self_blocked, usr1_blocked, on_altstack;
	void *addr;
	long trapno, err, cr2;
	uintptr_t local;
} got;

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char here;
	got.signo = si->si_signo;
	got.code = si->si_code;
	got.addr = si->si_addr;
	got.self_blocked = blocked(sig);
	got.usr1_blocked = blocked(SIGUSR1);
	got.trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	got.err = uc->uc_mcontext.gregs[REG_ERR];
	got.cr2 = uc->uc_mcontext.gregs[REG_CR2];
	got.local = (uintptr_t)&here;
	stack_t ss;
	got.on_altstack = sigaltstack(0, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
	siglongjmp(*env, 1);
}

static void install(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static const char *segv_code(int c)
{
	return c == SEGV_ACCERR ? "SEGV_ACCERR" : c == SEGV_MAPERR ? "SEGV_MAPERR" : "other";
}

static void report_segv(const char *what, void *want)
{
	printf("%s: %s %s, si_addr right %s, trapno %ld, err present %s write %s user %s, cr2 right "
	       "%s; in the handler SIGSEGV blocked %s, SIGUSR1 (sa_mask) blocked %s\n",
	       what, got.signo == SIGSEGV ? "SIGSEGV" : "other", segv_code(got.code),
	       yesno(got.addr == want), got.trapno, yesno(got.err & 1), yesno(got.err & 2),
	       yesno(got.err & 4), yesno(got.cr2 == (long)want), yesno(got.self_blocked),
	       yesno(got.usr1_blocked));
}

/* stack overflow in a thread */
static int limit = INT_MAX;
static int recurse(int n)
{
	volatile char buf[128];
	buf[0] = (char)n;
	if (n >= limit)
		return 0;
	return recurse(n + 1) + buf[0];
}

static char altstack[64 * 1024];
static void *overflow(void *arg)
{
	uintptr_t *guard = arg;
	pthread_attr_t a;
	void *lo;
	size_t size, gsize;
	EXPECT(pthread_getattr_np(pthread_self(), &a), 0);
	EXPECT(pthread_attr_getstack(&a, &lo, &size), 0);
	EXPECT(pthread_attr_getguardsize(&a, &gsize), 0);
	pthread_attr_destroy(&a);
	guard[0] = (uintptr_t)lo - gsize;
	guard[1] = (uintptr_t)lo;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
	CHECK(sigaltstack(&ss, 0) == 0);
	sigjmp_buf mine;
	env = &mine;
	if (sigsetjmp(mine, 1) == 0) {
		recurse(0);
		return (void *)0;
	}
	stack_t now;
	CHECK(sigaltstack(0, &now) == 0);
	guard[2] = now.ss_flags & SS_ONSTACK;
	return (void *)1;
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 5000);
	long pg = sysconf(_SC_PAGESIZE);
	sigjmp_buf jb;
	install(SIGSEGV, 0);

	/* 1. PROT_NONE */
	stage = "accerr";
	char *p = mmap(0, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	env = &jb;
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile char *)p = 1;
		CHECK(!"the write faulted");
	}
	report_segv("write to PROT_NONE", p);
	printf("  after siglongjmp (savemask 1): SIGSEGV blocked %s, SIGUSR1 blocked %s\n",
	       yesno(blocked(SIGSEGV)), yesno(blocked(SIGUSR1)));
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		(void)*(volatile char *)(p + 100);
		CHECK(!"the read faulted");
	}
	report_segv("read from PROT_NONE", p + 100);
	printf("ok accerr\n");

	/* 2. unmapped */
	stage = "maperr";
	char *q = mmap(0, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED);
	CHECK(munmap(q, pg) == 0);
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		*(volatile int *)(q + 8) = 1;
		CHECK(!"the write faulted");
	}
	report_segv("write to an unmapped page", q + 8);
	printf("ok maperr\n");

	/* 3. savemask 0 leaves the handler's mask in place */
	stage = "savemask0";
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 0) == 0) {
		*(volatile char *)p = 1;
		CHECK(!"the write faulted");
	}
	printf("after siglongjmp (savemask 0): handler ran %s, SIGSEGV blocked %s, SIGUSR1 blocked "
	       "%s\n",
	       yesno(got.signo == SIGSEGV), yesno(blocked(SIGSEGV)), yesno(blocked(SIGUSR1)));
	sigset_t none;
	sigemptyset(&none);
	EXPECT(pthread_sigmask(SIG_SETMASK, &none, 0), 0);
	printf("ok savemask0\n");

	/* 4. SIGFPE */
	stage = "fpe";
	install(SIGFPE, 0);
	volatile int one = 1, zero = 0, min = INT_MIN, minus1 = -1;
	volatile int sink;
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		sink = one / zero;
		CHECK(!"the division faulted");
	}
	printf("1 / 0: %s, si_code %s, trapno %ld, SIGFPE blocked after %s\n",
	       got.signo == SIGFPE ? "SIGFPE" : "other",
	       got.code == FPE_INTDIV ? "FPE_INTDIV" : got.code == FPE_INTOVF ? "FPE_INTOVF" : "other",
	       got.trapno, yesno(blocked(SIGFPE)));
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		sink = min / minus1;
		CHECK(!"the division faulted");
	}
	(void)sink;
	printf("INT_MIN / -1: %s, si_code %s, trapno %ld\n", got.signo == SIGFPE ? "SIGFPE" : "other",
	       got.code == FPE_INTDIV ? "FPE_INTDIV" : got.code == FPE_INTOVF ? "FPE_INTOVF" : "other",
	       got.trapno);
	printf("ok fpe\n");

	/* 5. SIGILL */
	stage = "ill";
	install(SIGILL, 0);
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		__asm__ volatile("ud2");
		CHECK(!"ud2 faulted");
	}
	printf("ud2: %s, si_code %s, trapno %ld\n", got.signo == SIGILL ? "SIGILL" : "other",
	       got.code == ILL_ILLOPN ? "ILL_ILLOPN" : "other", got.trapno);
	printf("ok ill\n");

	/* 6. SIGBUS past the end of a file */
	stage = "bus";
	install(SIGBUS, 0);
	FILE *f = tmpfile();
	CHECK(f != 0);
	char *b = mmap(0, pg, PROT_READ, MAP_SHARED, fileno(f), 0);
	CHECK(b != MAP_FAILED);
	memset(&got, 0, sizeof got);
	if (sigsetjmp(jb, 1) == 0) {
		(void)*(volatile char *)(b + 16);
		CHECK(!"the read faulted");
	}
	printf("read past the end of an empty file: %s, si_code %s, si_addr right %s\n",
	       got.signo == SIGBUS ? "SIGBUS" : "other",
	       got.code == BUS_ADRERR ? "BUS_ADRERR" : "other", yesno(got.addr == b + 16));
	munmap(b, pg);
	fclose(f);
	printf("ok bus\n");

	/* 7. stack overflow on an alternate stack */
	stage = "overflow";
	install(SIGSEGV, SA_ONSTACK);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	uintptr_t guard[3] = { 0, 0, 0 };
	pthread_t t;
	void *r;
	memset(&got, 0, sizeof got);
	EXPECT(pthread_create(&t, &a, overflow, guard), 0);
	EXPECT(pthread_join(t, &r), 0);
	pthread_attr_destroy(&a);
	printf("stack overflow in a thread: recovered %s, %s %s, si_addr in the guard %s, handler "
	       "on the alternate stack %s (SS_ONSTACK %s), on it after siglongjmp %s\n",
	       yesno(r != 0), got.signo == SIGSEGV ? "SIGSEGV" : "other", segv_code(got.code),
	       yesno((uintptr_t)got.addr >= guard[0] && (uintptr_t)got.addr < guard[1]),
	       yesno(got.local >= (uintptr_t)altstack &&
		     got.local < (uintptr_t)altstack + sizeof altstack),
	       yesno(got.on_altstack), yesno(guard[2]));
	printf("ok overflow\n");

	/* 8. a fault that is blocked or ignored kills anyway */
	stage = "forced";
	for (int ignore = 0; ignore < 2; ignore++) {
		fflush(stdout);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			struct rlimit rl = { 0, 0 };
			setrlimit(RLIMIT_CORE, &rl);
			if (ignore) {
				signal(SIGSEGV, SIG_IGN);
			} else {
				sigset_t s;
				sigemptyset(&s);
				sigaddset(&s, SIGSEGV);
				sigprocmask(SIG_BLOCK, &s, 0);
			}
			*(volatile char *)p = 1;
			_exit(0);
		}
		int st = 0;
		pid_t w = 0;
		for (int i = 0; i < 200 && w == 0; i++) {
			w = waitpid(pid, &st, WNOHANG);
			if (w == 0)
				sleep_ms(10);
		}
		CHECK(w == pid);
		printf("fault with SIGSEGV %s (a handler is installed): killed by %s\n",
		       ignore ? "ignored" : "blocked",
		       WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? "SIGSEGV"
		       : WIFSIGNALED(st)			  ? "another signal"
								  : "nothing");
	}
	printf("ok forced\n");
	return 0;
}
