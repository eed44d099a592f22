/* Calls that take a signal mask: pselect, ppoll and epoll_pwait with a mask that unblocks a
 * blocked signal (sent by another thread, by this thread before the call, and by a child
 * process) return EINTR after the handler ran, and restore the mask. Every wait has a
 * timeout, so a signal that is never seen shows as "timed out". (signalfd: sig_signalfd.c) */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(pthread_sigmask(how, &s, 0) == 0);
}

static int is_blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

static volatile int hits;
static void count(int sig)
{
	(void)sig;
	hits++;
}

static void set_handler(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static const char *outcome(int r, int e)
{
	static char b[4][40];
	static int n;
	char *p = b[n++ % 4];
	if (r < 0)
		snprintf(p, 40, "-1 %s", e == EINTR ? "EINTR" : strerror(e));
	else if (r == 0)
		snprintf(p, 40, "timed out");
	else
		snprintf(p, 40, "%d", r);
	return p;
}

static pthread_t main_thread;
static void *kick_later(void *arg)
{
	(void)arg;
	sleep_ms(40);
	pthread_kill(main_thread, SIGUSR1);
	return 0;
}

/* how SIGUSR1 reaches the waiting thread */
enum how { FROM_THREAD, BEFORE, FROM_CHILD };
static const char *how_name[] = { "another thread", "raised before", "a child" };

static pid_t child_kills_later(void)
{
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		sleep_ms(40);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	return c;
}

static void test_pwait(int which)
{
	const char *names[] = { "pselect", "ppoll", "epoll_pwait" };
	stage = names[which];
	set_handler(SIGUSR1, count);
	mask(SIG_BLOCK, SIGUSR1);
	sigset_t open;
	pthread_sigmask(SIG_BLOCK, 0, &open);
	sigdelset(&open, SIGUSR1);
	int p[2];
	CHECK(pipe(p) == 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
	for (int h = FROM_THREAD; h <= FROM_CHILD; h++) {
		hits = 0;
		pthread_t t;
		pid_t c = 0;
		if (h == FROM_THREAD)
			EXPECT(pthread_create(&t, 0, kick_later, 0), 0);
		else if (h == BEFORE)
			raise(SIGUSR1);
		else
			c = child_kills_later();
		int r, e;
		errno = 0;
		if (which == 0) {
			fd_set rd;
			FD_ZERO(&rd);
			FD_SET(p[0], &rd);
			struct timespec ts = { 0, 250 * 1000000L };
			r = pselect(p[0] + 1, &rd, 0, 0, &ts, &open);
		} else if (which == 1) {
			struct pollfd pf = { .fd = p[0], .events = POLLIN };
			struct timespec ts = { 0, 250 * 1000000L };
			r = ppoll(&pf, 1, &ts, &open);
		} else {
			struct epoll_event out;
			r = epoll_pwait(ep, &out, 1, 250, &open);
		}
		e = errno;
		if (h == FROM_THREAD)
			EXPECT(pthread_join(t, 0), 0);
		if (c)
			waitpid(c, 0, 0);
		int late = hits;
		int restored = is_blocked(SIGUSR1);
		mask(SIG_UNBLOCK, SIGUSR1); /* anything still pending runs now */
		printf("%s, SIGUSR1 from %s: %s, handler ran during the call %d, mask restored %s, "
		       "then %d\n",
		       names[which], how_name[h], outcome(r, e), late, yesno(restored), hits);
		mask(SIG_BLOCK, SIGUSR1);
	}
	mask(SIG_UNBLOCK, SIGUSR1);
	close(ep);
	close(p[0]);
	close(p[1]);
	printf("ok %s\n", names[which]);
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
	main_thread = pthread_self();
	test_pwait(0);
	test_pwait(1);
	test_pwait(2);
	return 0;
}
