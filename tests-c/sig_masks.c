/* Signal masks: block, pending, unblock delivers once; per-thread masks choose the thread a
 * process-directed signal goes to; pthread_kill targets one thread; a new thread inherits its
 * creator's mask; queued RT signals keep their order and values; standard signals coalesce
 * (per pending set: the thread's and the process's). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

static int blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static int is_pending(int sig)
{
	sigset_t s;
	CHECK(sigpending(&s) == 0);
	return sigismember(&s, sig);
}

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	EXPECT(pthread_sigmask(how, &s, 0), 0);
}

static void wait_sem(sem_t *s)
{
	struct timespec ts = deadline_ms(2000);
	while (sem_timedwait(s, &ts) != 0) {
		CHECK(errno == EINTR);
	}
}

static void install(int sig, void (*h)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static volatile int hits;
static pthread_t receiver;
static sem_t got;

static void record(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	hits++;
	receiver = pthread_self();
	sem_post(&got);
}

/* A worker that runs commands from main: each command is done before `ack` is posted. */
enum { CMD_NONE, CMD_BLOCK, CMD_UNBLOCK, CMD_PENDING, CMD_EXIT };
struct worker {
	pthread_t t;
	sem_t go, ack;
	volatile int cmd, sig, answer;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		wait_sem(&w->go);
		switch (w->cmd) {
		case CMD_BLOCK:
			mask(SIG_BLOCK, w->sig);
			break;
		case CMD_UNBLOCK:
			mask(SIG_UNBLOCK, w->sig);
			break;
		case CMD_PENDING:
			w->answer = is_pending(w->sig);
			break;
		case CMD_EXIT:
			sem_post(&w->ack);
			return 0;
		}
		sem_post(&w->ack);
	}
}

static void start(struct worker *w)
{
	sem_init(&w->go, 0, 0);
	sem_init(&w->ack, 0, 0);
	EXPECT(pthread_create(&w->t, 0, worker_main, w), 0);
}

static int run(struct worker *w, int cmd, int sig)
{
	w->cmd = cmd;
	w->sig = sig;
	sem_post(&w->go);
	wait_sem(&w->ack);
	return w->answer;
}

static void stop(struct worker *w)
{
	run(w, CMD_EXIT, 0);
	EXPECT(pthread_join(w->t, 0), 0);
}

static const char *who(struct worker *a, struct worker *b)
{
	if (pthread_equal(receiver, a->t))
		return "A";
	if (pthread_equal(receiver, b->t))
		return "B";
	if (pthread_equal(receiver, pthread_self()))
		return "main";
	return "another thread";
}

/* inheritance */
static void *report_mask(void *arg)
{
	int *out = arg;
	out[0] = blocked(SIGUSR2);
	out[1] = blocked(SIGRTMIN + 1);
	out[2] = blocked(SIGWINCH);
	return 0;
}

static void *creator(void *arg)
{
	int *out = arg;
	mask(SIG_BLOCK, SIGWINCH);
	pthread_t t;
	EXPECT(pthread_create(&t, 0, report_mask, out), 0);
	EXPECT(pthread_join(t, 0), 0);
	return 0;
}

/* RT queue */
static int values[16];
static int codes_ok;
static volatile int nvalues;
static void rt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (nvalues < 16)
		values[nvalues++] = si->si_value.sival_int;
	if (si->si_code != SI_QUEUE || si->si_signo != sig || si->si_pid != getpid())
		codes_ok = 0;
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 5000);
	CHECK(sem_init(&got, 0, 0) == 0);
	install(SIGUSR1, record);
	install(SIGUSR2, record);

	/* 1. block, raise, pending, unblock */
	stage = "block";
	mask(SIG_BLOCK, SIGUSR1);
	CHECK(raise(SIGUSR1) == 0);
	printf("blocked raise: pending %s, handler ran %d\n", yesno(is_pending(SIGUSR1)), hits);
	mask(SIG_UNBLOCK, SIGUSR1);
	printf("unblocked: handler ran %d, on main %s, still pending %s\n", hits,
	       yesno(pthread_equal(receiver, pthread_self())), yesno(is_pending(SIGUSR1)));
	while (sem_trywait(&got) == 0) {
	}
	printf("ok block\n");

	/* 2. per-thread masks and a process-directed signal */
	stage = "per-thread";
	hits = 0;
	mask(SIG_BLOCK, SIGUSR1);
	struct worker a, b;
	start(&a);
	start(&b);
	run(&b, CMD_UNBLOCK, SIGUSR1);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	wait_sem(&got);
	printf("kill(getpid()) with only B unblocking SIGUSR1: received by %s, %d time(s)\n",
	       who(&a, &b), hits);
	run(&b, CMD_BLOCK, SIGUSR1);
	hits = 0;
	CHECK(kill(getpid(), SIGUSR1) == 0);
	sleep_ms(20);
	printf("kill(getpid()) with every thread blocking it: handler ran %d; pending in A %s, "
	       "in main %s\n",
	       hits, yesno(run(&a, CMD_PENDING, SIGUSR1)), yesno(is_pending(SIGUSR1)));
	run(&a, CMD_UNBLOCK, SIGUSR1);
	wait_sem(&got);
	printf("A unblocks it: received by %s, %d time(s); pending in main now %s\n", who(&a, &b),
	       hits, yesno(is_pending(SIGUSR1)));
	printf("ok per-thread\n");

	/* 3. pthread_kill aims at one thread */
	stage = "pthread_kill";
	run(&b, CMD_UNBLOCK, SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR1);
	hits = 0;
	EXPECT(pthread_kill(b.t, SIGUSR1), 0);
	wait_sem(&got);
	printf("pthread_kill(B): received by %s\n", who(&a, &b));
	EXPECT(pthread_kill(a.t, SIGUSR1), 0);
	wait_sem(&got);
	printf("pthread_kill(A): received by %s\n", who(&a, &b));
	run(&a, CMD_BLOCK, SIGUSR1);
	EXPECT(pthread_kill(a.t, SIGUSR1), 0);
	sleep_ms(20);
	printf("pthread_kill(A) while A blocks it: handler ran %d time(s) in all; pending in A %s, "
	       "in main %s\n",
	       hits, yesno(run(&a, CMD_PENDING, SIGUSR1)), yesno(is_pending(SIGUSR1)));
	run(&a, CMD_UNBLOCK, SIGUSR1);
	wait_sem(&got);
	printf("A unblocks it: received by %s\n", who(&a, &b));
	stop(&a);
	stop(&b);
	printf("ok pthread_kill\n");

	/* 4. inheritance */
	stage = "inherit";
	sigset_t s, saved;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGRTMIN + 1);
	EXPECT(pthread_sigmask(SIG_BLOCK, &s, &saved), 0);
	int out[3] = { -1, -1, -1 };
	pthread_t t;
	EXPECT(pthread_create(&t, 0, report_mask, out), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("child of main: SIGUSR2 blocked %s, SIGRTMIN+1 blocked %s, SIGWINCH blocked %s\n",
	       yesno(out[0]), yesno(out[1]), yesno(out[2]));
	EXPECT(pthread_create(&t, 0, creator, out), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("child of a thread that blocked SIGWINCH: SIGUSR2 blocked %s, SIGRTMIN+1 blocked "
	       "%s, SIGWINCH blocked %s; main: SIGWINCH blocked %s\n",
	       yesno(out[0]), yesno(out[1]), yesno(out[2]), yesno(blocked(SIGWINCH)));
	printf("ok inherit\n");

	/* 5. RT signals queue in order with their values */
	stage = "rt-queue";
	install(SIGRTMIN + 1, rt_handler);
	codes_ok = 1;
	for (int i = 0; i < 5; i++) {
		union sigval v = { .sival_int = 100 + i };
		CHECK(sigqueue(getpid(), SIGRTMIN + 1, v) == 0);
	}
	printf("5 queued while blocked: pending %s, handler ran %d\n",
	       yesno(is_pending(SIGRTMIN + 1)), nvalues);
	mask(SIG_UNBLOCK, SIGRTMIN + 1);
	printf("unblocked: handler ran %d, values", nvalues);
	for (int i = 0; i < nvalues; i++)
		printf(" %d", values[i]);
	printf(", si_code SI_QUEUE and si_pid getpid each time: %s\n", yesno(codes_ok));
	mask(SIG_BLOCK, SIGRTMIN + 1);
	for (int i = 0; i < 5; i++) {
		union sigval v = { .sival_int = 200 + i };
		CHECK(sigqueue(getpid(), SIGRTMIN + 1, v) == 0);
	}
	printf("sigwaitinfo drains:");
	for (int i = 0; i < 5; i++) {
		siginfo_t si;
		struct timespec zero = { 0, 0 };
		int sig = sigtimedwait(&s, &si, &zero);
		CHECK(sig == SIGRTMIN + 1);
		CHECK(si.si_code == SI_QUEUE);
		printf(" %d", si.si_value.sival_int);
	}
	printf("; still pending %s\n", yesno(is_pending(SIGRTMIN + 1)));
	printf("ok rt-queue\n");

	/* 6. standard signals coalesce */
	stage = "coalesce";
	hits = 0;
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGUSR2) == 0);
	mask(SIG_UNBLOCK, SIGUSR2);
	printf("raise x3 while blocked, unblock: handler ran %d\n", hits);
	mask(SIG_BLOCK, SIGUSR2);
	hits = 0;
	CHECK(raise(SIGUSR2) == 0);
	CHECK(kill(getpid(), SIGUSR2) == 0);
	CHECK(kill(getpid(), SIGUSR2) == 0);
	mask(SIG_UNBLOCK, SIGUSR2);
	printf("raise + kill(getpid()) x2 while blocked, unblock: handler ran %d\n", hits);
	while (sem_trywait(&got) == 0) {
	}
	EXPECT(pthread_sigmask(SIG_SETMASK, &saved, 0), 0);
	printf("ok coalesce\n");
	return 0;
}
