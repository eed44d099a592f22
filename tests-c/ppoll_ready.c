/* ppoll with a signal mask that unblocks an already pending signal: a ready descriptor wins
 * (the count, no handler, the signal still pending and blocked afterwards); with nothing
 * ready it is EINTR after the handler. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

static volatile int hits;
static void on_usr1(int s)
{
	(void)s;
	hits++;
}

int main(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	signal(SIGUSR1, on_usr1);
	sigset_t b, e, cur;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &b, 0) == 0);
	raise(SIGUSR1);
	sigemptyset(&e);
	struct pollfd f = { p[0], POLLIN, 0 };
	int r = ppoll(&f, 1, 0, &e);
	printf("ready fd, signal pending: %d (%s), handler ran %d\n", r, r < 0 ? strerror(errno) : "-", hits);
	CHECK(sigpending(&cur) == 0);
	printf("still pending %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
	char c;
	CHECK(read(p[0], &c, 1) == 1);
	r = ppoll(&f, 1, 0, &e);
	printf("nothing ready: %d (%s), handler ran %d\n", r, r < 0 ? strerror(errno) : "-", hits);
	CHECK(sigprocmask(0, 0, &cur) == 0);
	printf("mask restored %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
	return 0;
}
