/* Calls that never block must never fail with EINTR, even when a handler without SA_RESTART
 * runs right before or after them: write to a pipe with room, read from a pipe with data,
 * dup/close, clock_gettime, fcntl, a zero-timeout poll of a ready descriptor. A thread does
 * them in a loop while two others flood it with pthread_kill (handler without SA_RESTART).
 * On Linux a signal that arrives before such a call is handled first and the call then runs;
 * one that arrives during it is handled after it completed. Also checks that no dup is made
 * twice (the descriptor it returns is always the lowest free one) and that no descriptor
 * leaks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

static volatile int hits;
static void count(int sig)
{
	(void)sig;
	__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
}

static volatile int done, started;
static int next_fd = -1;
static long dup_done_anyway, dup_twice;
enum { CALLS = 7 };
static long eintr[CALLS];
static const char *names[CALLS] = { "write", "read", "dup", "close", "fcntl", "poll(0)",
				    "clock_gettime" };

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void *worker(void *arg)
{
	int *p = arg;
	while (started < 2)
		sched_yield();
	struct timespec t0 = mono_now();
	for (int iter = 0; iter < 200000; iter++) {
		struct timespec now;
		if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
			if (errno == EINTR)
				eintr[6]++;
			continue;
		}
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= 200)
			break;
		char b[8] = "abcdefg", c[8];
		if (write(p[1], b, 8) < 0) {
			if (errno == EINTR)
				eintr[0]++;
			continue;
		}
		for (;;) {
			ssize_t r = read(p[0], c, 8);
			if (r >= 0)
				break;
			if (errno != EINTR)
				break;
			eintr[1]++;
		}
		int d = dup(p[0]);
		if (d < 0) {
			if (errno == EINTR) {
				eintr[2]++;
				/* the descriptor dup would have returned (the lowest free one,
				 * always the same here): there after all? */
				int r;
				while ((r = fcntl(next_fd, F_GETFD)) < 0 && errno == EINTR) {
				}
				if (r >= 0) {
					dup_done_anyway++;
					while (close(next_fd) < 0 && errno == EINTR) {
					}
				}
			}
		} else {
			/* the lowest free descriptor is the one the last dup got (closed since):
			 * another one means a dup nobody saw took it */
			if (next_fd >= 0 && d != next_fd) {
				dup_twice++;
				while (close(next_fd) < 0 && errno == EINTR) {
				}
			}
			next_fd = d;
			if (close(d) < 0 && errno == EINTR)
				eintr[3]++;
		}
		if (fcntl(p[0], F_GETFL) < 0 && errno == EINTR)
			eintr[4]++;
		/* the write end is always ready: a zero-timeout poll with a ready descriptor does
		 * not look at signals (one with nothing ready may report EINTR on Linux) */
		struct pollfd pf = { .fd = p[1], .events = POLLOUT };
		if (poll(&pf, 1, 0) < 0 && errno == EINTR)
			eintr[5]++;
	}
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
	__atomic_fetch_sub(&started, 1, __ATOMIC_SEQ_CST);
	return 0;
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
	stage = "flood";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(sigaction(SIGUSR2, &sa, 0) == 0);
	int fds_before = open_fds();
	int p[2];
	CHECK(pipe(p) == 0);
	pthread_t t, f[2];
	EXPECT(pthread_create(&t, 0, worker, p), 0);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&f[i], 0, flood, &t), 0);
	/* the flooders first: a joined thread's id must not be used by pthread_kill any more */
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(f[i], 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	printf("handled signals: %s\n", hits > 0 ? "yes" : "no");
	for (int i = 0; i < CALLS; i++)
		printf("%s: EINTR %s\n", names[i], eintr[i] ? "seen" : "never");
	printf("dup reported EINTR but the descriptor exists: %s\n",
	       dup_done_anyway ? "seen" : "never");
	printf("dup returned a descriptor above the lowest free one: %s\n",
	       dup_twice ? "seen" : "never");
	close(p[0]);
	close(p[1]);
	printf("descriptors leaked: %s\n", open_fds() == fds_before ? "none" : "some");
	printf("ok noblock-eintr\n");
	return 0;
}
