/* Resuming interrupted code, under fire: one thread raise()s SIGUSR1 in a loop while another
 * floods it with pthread_kill(SIGUSR2). Every raise enters its handler and returns from it
 * (under lintel: two contexts resumed in user space, with a window in which a host signal makes
 * the port take the resumed context as the interrupted one), and every SIGUSR2 interrupts
 * whatever the thread runs: user code, lintel's calls, those resumes. Both handlers clobber
 * the FP/SSE registers and the flags; the raising thread keeps integer and floating-point
 * running sums across the calls and checks them each round, so a register, a flag or an FP
 * value that a resume lost shows as a wrong sum (or a crash), and a lost raise as a wrong
 * count. Then the same with SA_SIGINFO handlers that check their siginfo and ucontext. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include "common.h"

#define ROUNDS 100000

static volatile sig_atomic_t handled, usr2, done;
static volatile double sink;

/* Clobbers the SSE registers (and MXCSR's status flags) and the arithmetic flags. */
static void clobber(int n)
{
	double a = n * 1.5, b = 0.25;
	for (int i = 0; i < 8; i++) {
		a = a * 1.0001 + b / (a + 3.0);
		b = b - a * 0.5;
	}
	sink = a + b;
}

static void on_usr1(int sig)
{
	(void)sig;
	clobber(handled);
	handled++;
}

static void on_usr2(int sig)
{
	(void)sig;
	clobber(usr2);
	usr2++;
}

static void on_usr1_info(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	if (sig != SIGUSR1 || si->si_signo != SIGUSR1 || si->si_code != SI_TKILL ||
	    si->si_pid != getpid() || sigismember(&uc->uc_sigmask, SIGUSR1) != 0)
		_exit(3);
	clobber(handled);
	handled++;
}

static void set_action(int sig, void (*h)(int), void (*s)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	if (s) {
		sa.sa_sigaction = s;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
	} else {
		sa.sa_handler = h;
		sa.sa_flags = SA_RESTART;
	}
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void *flood(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	while (!done) {
		pthread_kill(target, SIGUSR2);
		for (volatile int i = 0; i < 200; i++)
			;
	}
	return 0;
}

static void run(const char *name)
{
	handled = 0;
	usr2 = 0;
	done = 0;
	pthread_t me = pthread_self(), th;
	EXPECT(pthread_create(&th, 0, flood, &me), 0);
	long isum = 0;
	double fsum = 0.0;
	int ok = 1;
	for (long i = 0; i < ROUNDS; i++) {
		double x = (double)i * 0.5;
		long y = i * 3 + 1;
		raise(SIGUSR1);
		/* x and y lived across the call in registers or on the stack. */
		if (x != (double)i * 0.5 || y != i * 3 + 1)
			ok = 0;
		isum += y;
		fsum += x;
	}
	done = 1;
	EXPECT(pthread_join(th, 0), 0);
	long iwant = 0;
	double fwant = 0.0;
	for (long i = 0; i < ROUNDS; i++) {
		iwant += i * 3 + 1;
		fwant += (double)i * 0.5;
	}
	printf("%s: %d raised, %ld handled, values kept %s, sums right %s, SIGUSR2 arrived %s\n",
	       name, ROUNDS, (long)handled, yesno(ok), yesno(isum == iwant && fsum == fwant),
	       yesno(usr2 > 0));
}

int main(void)
{
	set_action(SIGUSR2, on_usr2, 0);
	set_action(SIGUSR1, on_usr1, 0);
	run("plain handlers");
	set_action(SIGUSR1, 0, on_usr1_info);
	run("SA_SIGINFO handlers");
	return 0;
}
