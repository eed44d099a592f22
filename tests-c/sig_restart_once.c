/* A call that completed is never made again and never reported as interrupted: a thread and
 * its handlers (SA_RESTART, on the thread's stack and on an alternate stack) each write one
 * byte to a non-blocking pipe of their own and read it back, while two threads flood the
 * first with signals. Linux: every write returns 1, every read returns that 1 byte (2 would
 * be a write made twice; EAGAIN a write lost or a read made twice). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

enum { DEPTHS = 8 };
static int pipes[DEPTHS + 1][2]; /* [0]: the thread itself, [1..]: handlers by depth */
static volatile int depth;

/* what went wrong, by kind */
enum { W_FAIL, DOUBLE, MISSING, R_EINTR, R_OTHER, KINDS };
static const char *kinds[KINDS] = { "write failed", "read got 2 bytes", "read found nothing",
				    "read EINTR", "read other" };
static volatile long where[2][KINDS]; /* [0] the thread, [1] handlers */

static void round_trip(int fd_index, int who)
{
	int *p = pipes[fd_index];
	ssize_t w = write(p[1], "a", 1);
	if (w != 1) {
		where[who][W_FAIL]++;
		return;
	}
	char b[16];
	ssize_t r = read(p[0], b, sizeof b);
	if (r == 1)
		return;
	if (r == 2)
		where[who][DOUBLE]++;
	else if (r < 0 && errno == EAGAIN)
		where[who][MISSING]++;
	else if (r < 0 && errno == EINTR)
		where[who][R_EINTR]++;
	else
		where[who][R_OTHER]++;
	while (read(p[0], b, sizeof b) > 0) { /* resynchronise */
	}
}

static volatile int hits;
static void handler(int sig)
{
	(void)sig;
	int saved = errno;
	int d = ++depth;
	if (d <= DEPTHS)
		round_trip(d, 1);
	depth--;
	hits++;
	errno = saved;
}

static volatile int done, started;
static char alt[1 << 16];
static void *worker(void *arg)
{
	if (arg) {
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
		CHECK(sigaltstack(&ss, 0) == 0);
	}
	while (started < 2)
		sched_yield();
	struct timespec t0 = mono_now();
	for (int i = 0; i < 100000 && elapsed_ms(t0) < 150; i++)
		round_trip(0, 0);
	done = 1;
	return 0;
}

static void *flood(void *arg)
{
	pthread_t t = *(pthread_t *)arg;
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	unsigned i = 0;
	while (!done) {
		pthread_kill(t, (i++ & 1) ? SIGUSR1 : SIGUSR2);
		if (i % 8 == 0)
			sched_yield();
	}
	return 0;
}

static void run(int onstack)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART | (onstack ? SA_ONSTACK : 0);
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
	memset((void *)where, 0, sizeof where);
	done = started = hits = 0;
	pthread_t t, f[2];
	EXPECT(pthread_create(&t, 0, worker, onstack ? (void *)1 : 0), 0);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&f[i], 0, flood, &t), 0);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(f[i], 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("%s: handled %s\n", onstack ? "SA_ONSTACK|SA_RESTART" : "SA_RESTART",
	       hits ? "yes" : "no");
	for (int who = 0; who < 2; who++)
		for (int k = 0; k < KINDS; k++)
			printf("  %s: %s: %s\n", who ? "handlers" : "thread", kinds[k],
			       where[who][k] ? "seen" : "never");
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
	for (int i = 0; i <= DEPTHS; i++) {
		CHECK(pipe(pipes[i]) == 0);
		fcntl(pipes[i][0], F_SETFL, O_NONBLOCK);
		fcntl(pipes[i][1], F_SETFL, O_NONBLOCK);
	}
	stage = "stack";
	run(0);
	stage = "altstack";
	run(1);
	printf("ok restart-once\n");
	return 0;
}
