/* A signal from another process (a child's kill) ends a nanosleep and a poll in this one at
 * once when it has a handler (EINTR, remaining time reported), and does not end them when it is
 * blocked. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

/* A child that sends SIGUSR1 to its parent after `ms` milliseconds. */
static pid_t kill_me_in(long ms)
{
	fflush(stdout);
	pid_t parent = getpid();
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		sleep_ms(ms);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	return c;
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 20000);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);

	stage = "nanosleep";
	pid_t c = kill_me_in(100);
	struct timespec t0 = mono_now();
	struct timespec req = { 3, 0 }, rem = { 0, 0 };
	int r = nanosleep(&req, &rem);
	int e = errno;
	long took = elapsed_ms(t0);
	waitpid(c, 0, 0);
	printf("nanosleep: %d %s, handler ran %d, ended early %s, remainder 2..3 s %s\n", r,
	       r ? strerror(e) : "ok", (int)hits, yesno(took < 2000),
	       yesno(rem.tv_sec >= 2 && rem.tv_sec <= 3));

	stage = "poll";
	hits = 0;
	int fds[2];
	CHECK(pipe(fds) == 0);
	c = kill_me_in(100);
	t0 = mono_now();
	struct pollfd pf = { .fd = fds[0], .events = POLLIN };
	r = poll(&pf, 1, 3000);
	e = errno;
	took = elapsed_ms(t0);
	waitpid(c, 0, 0);
	printf("poll: %d %s, handler ran %d, ended early %s\n", r, r < 0 ? strerror(e) : "ok",
	       (int)hits, yesno(took < 2000));

	stage = "blocked";
	hits = 0;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &s, 0) == 0);
	c = kill_me_in(50);
	struct timespec shortreq = { 0, 300000000 };
	t0 = mono_now();
	r = nanosleep(&shortreq, 0);
	took = elapsed_ms(t0);
	waitpid(c, 0, 0);
	sigset_t p;
	sigpending(&p);
	printf("blocked: nanosleep %d, slept the full time %s, pending %s\n", r,
	       yesno(took >= 290), yesno(sigismember(&p, SIGUSR1)));
	CHECK(sigprocmask(SIG_UNBLOCK, &s, 0) == 0);
	printf("unblocked: handler ran %d\n", (int)hits);
	return 0;
}
