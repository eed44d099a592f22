/* The ucontext a handler gets and may edit: skipping a ud2 (REG_RIP += 2) in a SIGILL
 * handler, changing general registers (REG_RAX, REG_RBX) seen after return, the FP state
 * (x87/SSE registers and MXCSR rounding mode) restored after a handler that changes them,
 * uc_sigmask edits applied by sigreturn (adding a signal; removing one that is pending, which
 * is then delivered at once); nested handlers (a handler interrupted by another signal sent
 * from another thread while it spins, sa_mask empty); siglongjmp out of a nested handler;
 * a signal to a thread running user code (no syscalls) with its registers intact. */
#define _GNU_SOURCE
#include <fenv.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
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

static int blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

/* log from handlers */
static char logb[256];
static volatile int logn;
static void log_s(const char *s)
{
	while (*s && logn < (int)sizeof logb - 1)
		logb[logn++] = *s++;
	logb[logn] = 0;
}
static void log_reset(void)
{
	logn = 0;
	logb[0] = 0;
}

/* ---- 1. SIGILL: skip the ud2, set registers ---- */
static volatile int ill_hits;
static void ill_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	ill_hits++;
	if (si->si_code == ILL_ILLOPN && (void *)uc->uc_mcontext.gregs[REG_RIP] == si->si_addr)
		log_s("addr-ok ");
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_RAX] = 0x1234;
	uc->uc_mcontext.gregs[REG_RBX] = uc->uc_mcontext.gregs[REG_RBX] + 1;
}

static void test_ill(void)
{
	stage = "ill";
	set_action(SIGILL, ill_handler, 0);
	log_reset();
	long rax = 7, rbx = 41;
	__asm__ volatile("ud2" : "+a"(rax), "+b"(rbx) : : "memory");
	printf("after ud2: hits %d, rax %#lx, rbx %ld, log '%s'\n", ill_hits, rax, rbx, logb);
	/* twice in a row, r12..r15 preserved */
	register long r12 __asm__("r12") = 12;
	register long r15 __asm__("r15") = 15;
	rax = 0;
	__asm__ volatile("ud2\n\tud2" : "+a"(rax), "+r"(r12), "+r"(r15) : : "memory");
	printf("after two ud2: hits %d, rax %#lx, r12 %ld, r15 %ld\n", ill_hits, rax, r12, r15);
	printf("ok ill\n");
}

/* ---- 2. FP state ---- */
static void fp_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	fesetround(FE_UPWARD);
	volatile double x = 1.0;
	for (int i = 0; i < 10; i++)
		x = x * 3.3 + 1.7;
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm8, %%xmm8"
			 : : : "xmm0", "xmm1", "xmm8");
	__asm__ volatile("fldpi\n\tfldpi\n\tfldpi" : : : "st", "st(1)", "st(2)");
}

static void test_fp(void)
{
	stage = "fp";
	set_action(SIGUSR1, fp_handler, 0);
	double a = 1.0 / 3.0;
	raise(SIGUSR1);
	printf("rounding after handler: %s\n", fegetround() == FE_TONEAREST ? "nearest" : "changed");
	volatile double one = 1.0, three = 3.0;
	printf("1/3 rounds to nearest %s\n", yesno(one / three == a));
	printf("ok fp\n");
}

/* FP state of a thread interrupted while computing (no syscalls) */
static volatile int spin_stop, spin_hits;
static void spin_handler(int sig)
{
	(void)sig;
	spin_hits++;
	fesetround(FE_DOWNWARD);
	volatile double x = 2.0;
	for (int i = 0; i < 20; i++)
		x = x / 1.1 + 0.3;
}

static double compute(int n)
{
	double s = 0;
	for (int i = 1; i <= n; i++)
		s += 1.0 / ((double)i * (double)i + 0.5);
	return s;
}

static void *spinner(void *arg)
{
	double *out = arg;
	double expect = compute(200000);
	int bad = 0;
	while (!spin_stop) {
		if (compute(200000) != expect)
			bad++;
	}
	out[0] = bad;
	out[1] = fegetround() == FE_TONEAREST;
	return 0;
}

static void test_fp_async(void)
{
	stage = "fp-async";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = spin_handler;
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
	double res[2];
	pthread_t t;
	EXPECT(pthread_create(&t, 0, spinner, res), 0);
	for (int i = 0; i < 300; i++) {
		pthread_kill(t, SIGUSR2);
		sleep_ms(1);
	}
	spin_stop = 1;
	EXPECT(pthread_join(t, 0), 0);
	printf("spinner interrupted: handler ran %s, wrong sums %d, rounding kept %s\n",
	       yesno(spin_hits > 0), (int)res[0], yesno(res[1] != 0));
	printf("ok fp-async\n");
}

/* ---- 3. uc_sigmask edits ---- */
static void add_usr2_to_mask(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	log_s("usr1 ");
	sigaddset(&uc->uc_sigmask, SIGUSR2);
	sigaddset(&uc->uc_sigmask, SIGKILL); /* dropped silently */
}

static void remove_usr2_from_mask(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	log_s("usr1 ");
	sigdelset(&uc->uc_sigmask, SIGUSR2);
}

static void usr2_logger(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	log_s("usr2 ");
}

static void test_uc_sigmask(void)
{
	stage = "uc_sigmask";
	set_action(SIGUSR1, add_usr2_to_mask, 0);
	set_action(SIGUSR2, usr2_logger, 0);
	log_reset();
	raise(SIGUSR1);
	log_s("back ");
	printf("added: log '%s', SIGUSR2 blocked now %s, SIGUSR1 blocked %s\n", logb,
	       yesno(blocked(SIGUSR2)), yesno(blocked(SIGUSR1)));
	raise(SIGUSR2);
	log_s("raised2 ");
	mask(SIG_UNBLOCK, SIGUSR2);
	log_s("unblocked ");
	printf("  log '%s'\n", logb);

	set_action(SIGUSR1, remove_usr2_from_mask, 0);
	mask(SIG_BLOCK, SIGUSR2);
	log_reset();
	raise(SIGUSR2);
	log_s("pending2 ");
	raise(SIGUSR1);
	log_s("back ");
	printf("removed: log '%s', SIGUSR2 blocked now %s\n", logb, yesno(blocked(SIGUSR2)));

	/* the same from a thread's handler entered asynchronously (no syscall in the loop) */
	printf("ok uc_sigmask\n");
}

/* ---- 4. nested: a spinning handler interrupted from another thread ---- */
static volatile int inner_done, outer_spins;
static pthread_t main_thread;
static void inner_handler(int sig)
{
	(void)sig;
	log_s("inner ");
	inner_done = 1;
}

static void outer_handler(int sig)
{
	(void)sig;
	log_s("outer-enter ");
	struct timespec t0 = mono_now();
	while (!inner_done && elapsed_ms(t0) < 2000)
		outer_spins++;
	log_s(inner_done ? "outer-saw-inner " : "outer-timeout ");
}

static void *kick_main(void *arg)
{
	(void)arg;
	/* wait until main is inside the outer handler, then signal it */
	while (logn == 0)
		sched_yield();
	sleep_ms(20);
	pthread_kill(main_thread, SIGUSR2);
	return 0;
}

static void test_nested(void)
{
	stage = "nested";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = outer_handler;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	sa.sa_handler = inner_handler;
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
	log_reset();
	main_thread = pthread_self();
	pthread_t t;
	EXPECT(pthread_create(&t, 0, kick_main, 0), 0);
	raise(SIGUSR1);
	EXPECT(pthread_join(t, 0), 0);
	printf("nested: log '%s'\n", logb);
	printf("ok nested\n");
}

/* ---- 5. siglongjmp out of a nested handler ---- */
static sigjmp_buf jb;
static volatile int depth_at_jump;
static void jump_inner(int sig)
{
	(void)sig;
	depth_at_jump = 2;
	siglongjmp(jb, 7);
}
static void jump_outer(int sig)
{
	(void)sig;
	raise(SIGUSR2);
	log_s("not-reached ");
}

static void test_longjmp(void)
{
	stage = "longjmp";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = jump_outer;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	sa.sa_handler = jump_inner;
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
	log_reset();
	mask(SIG_BLOCK, SIGHUP);
	int r = sigsetjmp(jb, 1);
	if (r == 0) {
		raise(SIGUSR1);
		log_s("not-reached-either ");
	}
	printf("siglongjmp: %d, log '%s', usr1 blocked %s, usr2 blocked %s, hup blocked %s\n", r,
	       logb, yesno(blocked(SIGUSR1)), yesno(blocked(SIGUSR2)), yesno(blocked(SIGHUP)));
	/* handlers still work afterwards */
	r = sigsetjmp(jb, 1);
	if (r == 0)
		raise(SIGUSR1);
	printf("again: %d\n", r);
	/* with savemask 0 the mask of the handler stays */
	r = sigsetjmp(jb, 0);
	if (r == 0)
		raise(SIGUSR1);
	printf("savemask 0: %d, usr1 blocked %s, usr2 blocked %s\n", r, yesno(blocked(SIGUSR1)),
	       yesno(blocked(SIGUSR2)));
	mask(SIG_UNBLOCK, SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR2);
	mask(SIG_UNBLOCK, SIGHUP);
	printf("ok longjmp\n");
}

/* ---- 6. asynchronous delivery to a thread in pure user code: registers intact ---- */
static volatile int reg_stop, reg_hits;
static void reg_handler(int sig)
{
	(void)sig;
	reg_hits++;
	/* clobber what a handler may clobber */
	__asm__ volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
			 "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d"
			 : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
}

static void *reg_loop(void *arg)
{
	(void)arg;
	long bad = 0;
	while (!reg_stop) {
		long a = 0x1111, c = 0x2222, d = 0x3333, s = 0x4444, di = 0x5555;
		register long r8 __asm__("r8") = 0x8888;
		register long r9 __asm__("r9") = 0x9999;
		register long r10 __asm__("r10") = 0xaaaa;
		register long r11 __asm__("r11") = 0xbbbb;
		/* a long loop with every caller-saved register live */
		__asm__ volatile("mov $200000, %%ebx\n"
				 "1:\n\t"
				 "dec %%ebx\n\t"
				 "jnz 1b\n\t"
				 : "+a"(a), "+c"(c), "+d"(d), "+S"(s), "+D"(di), "+r"(r8), "+r"(r9),
				   "+r"(r10), "+r"(r11)
				 :
				 : "rbx", "cc");
		if (a != 0x1111 || c != 0x2222 || d != 0x3333 || s != 0x4444 || di != 0x5555 ||
		    r8 != 0x8888 || r9 != 0x9999 || r10 != 0xaaaa || r11 != 0xbbbb)
			bad++;
	}
	return (void *)bad;
}

static void test_registers(void)
{
	stage = "registers";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = reg_handler;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	pthread_t t;
	EXPECT(pthread_create(&t, 0, reg_loop, 0), 0);
	for (int i = 0; i < 300; i++) {
		pthread_kill(t, SIGUSR1);
		sleep_ms(1);
	}
	reg_stop = 1;
	void *bad;
	EXPECT(pthread_join(t, &bad), 0);
	printf("registers: handler ran %s, corrupted %ld\n", yesno(reg_hits > 0), (long)bad);
	printf("ok registers\n");
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
	test_ill();
	test_fp();
	test_fp_async();
	test_uc_sigmask();
	test_nested();
	test_longjmp();
	test_registers();
	return 0;
}
