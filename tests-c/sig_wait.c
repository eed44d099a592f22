/* Waiting for signals: sigwait / sigwaitinfo / sigtimedwait on pending signals (which one comes
 * first: lowest number, the thread's before the process's, synchronous signals before all),
 * timing out, and woken by another thread's pthread_kill or sigqueue; sigsuspend (EINTR after
 * the handler, the masks inside and after); pause() interrupted by a handler. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include "common.h"

static int blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static const char *name(int sig)
{
	switch (sig) {
	case SIGUSR1:
		return "SIGUSR1";
	case SIGUSR2:
		return "SIGUSR2";
	case SIGSEGV:
		return "SIGSEGV";
	case -1:
		return "-1";
	}
	if (sig == SIGRTMIN)
		return "SIGRTMIN";
	if (sig == SIGRTMIN + 1)
		return "SIGRTMIN+1";
	return "other";
}

static const char *code(int c)
{
	switch (c) {
	case SI_USER:
		return "SI_USER";
	case SI_TKILL:
		return "SI_TKILL";
	case SI_QUEUE:
		return "SI_QUEUE";
	}
	return "other";
}

static sigset_t set_of(int a, int b, int c)
{
	sigset_t s;
	sigemptyset(&s);
	if (a)
		sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	if (c)
		sigaddset(&s, c);
	return s;
}

/* A thread that, after `delay` ms, sends `sig` to `target` (pthread_kill) or to the process
 * (sigqueue with `value`); with `repeat`, again every 10 ms until `stop` is set. */
struct sender {
	pthread_t t, target;
	int sig, delay, queue, value, repeat;
	volatile int stop;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	sleep_ms(s->delay);
	for (int i = 0; i < 200; i++) {
		if (s->queue) {
			union sigval v = { .sival_int = s->value };
			CHECK(sigqueue(getpid(), s->sig, v) == 0);
		} else {
			EXPECT(pthread_kill(s->target, s->sig), 0);
		}
		if (!s->repeat)
			break;
		sleep_ms(10);
		if (s->stop)
			break;
	}
	return 0;
}

static void send_later(struct sender *s, int sig, int delay)
{
	memset(s, 0, sizeof *s);
	s->target = pthread_self();
	s->sig = sig;
	s->delay = delay;
}

static void go(struct sender *s)
{
	EXPECT(pthread_create(&s->t, 0, sender_main, s), 0);
}

static void done(struct sender *s)
{
	s->stop = 1;
	EXPECT(pthread_join(s->t, 0), 0);
}

static volatile int hits, in_usr1, in_usr2, uc_usr1, uc_usr2;
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	hits++;
	in_usr1 = blocked(SIGUSR1);
	in_usr2 = blocked(SIGUSR2);
	uc_usr1 = sigismember(&((ucontext_t *)uc)->uc_sigmask, SIGUSR1);
	uc_usr2 = sigismember(&((ucontext_t *)uc)->uc_sigmask, SIGUSR2);
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 5000);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);

	sigset_t all4 = set_of(SIGUSR1, SIGUSR2, SIGRTMIN), old;
	sigaddset(&all4, SIGSEGV);
	EXPECT(pthread_sigmask(SIG_BLOCK, &all4, &old), 0);

	/* 1. sigwait on pending signals: which comes first */
	stage = "sigwait-order";
	int sig;
	CHECK(raise(SIGRTMIN) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("sigwait, raised SIGRTMIN, SIGUSR2, SIGUSR1:");
	for (int i = 0; i < 3; i++) {
		EXPECT(sigwait(&all4, &sig), 0);
		printf(" %s", name(sig));
	}
	printf("\n");
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(raise(SIGUSR2) == 0);
	printf("sigwait, kill(getpid(), SIGUSR1) then raise(SIGUSR2):");
	for (int i = 0; i < 2; i++) {
		EXPECT(sigwait(&all4, &sig), 0);
		printf(" %s", name(sig));
	}
	printf("\n");
	printf("handler ran %d\n", hits);
	printf("ok sigwait-order\n");

	/* 2. sigwaitinfo on a pending signal */
	stage = "sigwaitinfo";
	siginfo_t si;
	CHECK(raise(SIGUSR2) == 0);
	memset(&si, 0, sizeof si);
	sig = sigwaitinfo(&all4, &si);
	printf("sigwaitinfo: %s, si_signo %s, si_code %s, si_pid is getpid %s\n", name(sig),
	       name(si.si_signo), code(si.si_code), yesno(si.si_pid == getpid()));
	printf("ok sigwaitinfo\n");

	/* 3. sigtimedwait timing out */
	stage = "sigtimedwait-timeout";
	struct timespec ts = { 0, 50 * 1000000L }, zero = { 0, 0 };
	struct timespec t0 = mono_now();
	errno = 0;
	sig = sigtimedwait(&all4, &si, &ts);
	int e = errno;
	long took = elapsed_ms(t0);
	printf("sigtimedwait 50 ms, nothing sent: %s %s, waited 40 ms or more %s\n", name(sig),
	       strerror(e), yesno(took >= 40));
	errno = 0;
	sig = sigtimedwait(&all4, &si, &zero);
	printf("sigtimedwait 0 ms: %s %s\n", name(sig), strerror(errno));
	printf("ok sigtimedwait-timeout\n");

	/* 4. woken by another thread */
	stage = "sigtimedwait-woken";
	struct sender s;
	send_later(&s, SIGUSR1, 30);
	go(&s);
	ts.tv_sec = 2;
	ts.tv_nsec = 0;
	memset(&si, 0, sizeof si);
	sig = sigtimedwait(&all4, &si, &ts);
	printf("sigtimedwait 2 s, pthread_kill from a thread: %s, si_code %s, si_pid is getpid %s\n",
	       name(sig), code(si.si_code), yesno(si.si_pid == getpid()));
	done(&s);

	stage = "sigwait-woken";
	send_later(&s, SIGUSR2, 30);
	go(&s);
	sig = 0;
	EXPECT(sigwait(&all4, &sig), 0);
	printf("sigwait, pthread_kill from a thread: %s\n", name(sig));
	done(&s);

	stage = "sigwaitinfo-woken";
	send_later(&s, SIGRTMIN, 30);
	s.queue = 1;
	s.value = 4242;
	go(&s);
	memset(&si, 0, sizeof si);
	sig = sigwaitinfo(&all4, &si);
	printf("sigwaitinfo, sigqueue(getpid()) from a thread: %s, si_code %s, si_value %d\n",
	       name(sig), code(si.si_code), si.si_value.sival_int);
	done(&s);
	printf("handler ran %d\n", hits);
	printf("ok woken\n");

	/* 5. sigsuspend */
	stage = "sigsuspend";
	EXPECT(pthread_sigmask(SIG_SETMASK, &old, 0), 0);
	sigset_t usr1 = set_of(SIGUSR1, 0, 0), usr2 = set_of(SIGUSR2, 0, 0);
	EXPECT(pthread_sigmask(SIG_BLOCK, &usr1, 0), 0);
	send_later(&s, SIGUSR1, 30);
	go(&s);
	hits = 0;
	errno = 0;
	int rc = sigsuspend(&usr2);
	e = errno;
	printf("sigsuspend({SIGUSR2}) with SIGUSR1 blocked, SIGUSR1 sent by a thread: %d %s, "
	       "handler ran %d\n",
	       rc, strerror(e), hits);
	printf("  in the handler: SIGUSR1 blocked %s, SIGUSR2 blocked %s; uc_sigmask: SIGUSR1 %s, "
	       "SIGUSR2 %s\n",
	       yesno(in_usr1), yesno(in_usr2), yesno(uc_usr1), yesno(uc_usr2));
	printf("  after: SIGUSR1 blocked %s, SIGUSR2 blocked %s\n", yesno(blocked(SIGUSR1)),
	       yesno(blocked(SIGUSR2)));
	done(&s);

	CHECK(raise(SIGUSR1) == 0);
	hits = 0;
	sigset_t none;
	sigemptyset(&none);
	errno = 0;
	rc = sigsuspend(&none);
	e = errno;
	printf("sigsuspend({}) with SIGUSR1 already pending: %d %s, handler ran %d, SIGUSR1 "
	       "blocked after %s\n",
	       rc, strerror(e), hits, yesno(blocked(SIGUSR1)));
	EXPECT(pthread_sigmask(SIG_UNBLOCK, &usr1, 0), 0);
	printf("ok sigsuspend\n");

	/* 6. pause */
	stage = "pause";
	send_later(&s, SIGUSR2, 30);
	s.repeat = 1;
	go(&s);
	hits = 0;
	errno = 0;
	rc = pause();
	e = errno;
	printf("pause, SIGUSR2 from a thread: %d %s, handler ran: %s\n", rc, strerror(e),
	       yesno(hits > 0));
	done(&s);
	printf("ok pause\n");

	/* 7. a pending synchronous signal (SEGV, BUS, ILL, TRAP, FPE, SYS) is dequeued before
	 * lower-numbered ones */
	stage = "sync-first";
	EXPECT(pthread_sigmask(SIG_BLOCK, &all4, 0), 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(raise(SIGSEGV) == 0);
	printf("sigwait, raise(SIGUSR1) then raise(SIGSEGV):");
	for (int i = 0; i < 2; i++) {
		EXPECT(sigwait(&all4, &sig), 0);
		printf(" %s", name(sig));
	}
	printf("\n");
	EXPECT(pthread_sigmask(SIG_SETMASK, &old, 0), 0);
	printf("ok sync-first\n");
	return 0;
}
