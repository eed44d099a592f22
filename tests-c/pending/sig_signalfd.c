/* signalfd: it reads the signals made pending (and blocked) by raise, kill(getpid()),
 * sigqueue, a child's kill and SIGCHLD, and is readable for poll; what it read is no longer
 * pending. Non-blocking reads and poll timeouts, so a signal it never sees shows as EAGAIN. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common.h"

/* ---- signalfd ---- */
static void test_signalfd(void)
{
	stage = "signalfd";
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGCHLD);
	sigaddset(&s, SIGRTMIN + 3);
	CHECK(pthread_sigmask(SIG_BLOCK, &s, 0) == 0);
	int fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(fd >= 0);
	struct signalfd_siginfo si;

	raise(SIGUSR1);
	ssize_t n = read(fd, &si, sizeof si);
	printf("raise: read %s, signo %d\n", n == sizeof si ? "128" : n < 0 ? strerror(errno) : "?",
	       n == sizeof si ? (int)si.ssi_signo : 0);

	kill(getpid(), SIGUSR2);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	int r = poll(&pf, 1, 200);
	n = read(fd, &si, sizeof si);
	printf("kill(getpid()): poll %d, read %s, signo %d, pid is self %s\n", r,
	       n == sizeof si ? "128" : n < 0 ? strerror(errno) : "?",
	       n == sizeof si ? (int)si.ssi_signo : 0,
	       yesno(n == sizeof si && si.ssi_pid == (unsigned)getpid()));

	union sigval v = { .sival_int = 55 };
	sigqueue(getpid(), SIGRTMIN + 3, v);
	n = read(fd, &si, sizeof si);
	printf("sigqueue: read %s, value %d\n", n == sizeof si ? "128" : n < 0 ? strerror(errno) : "?",
	       n == sizeof si ? si.ssi_int : 0);

	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		kill(getppid(), SIGUSR1);
		_exit(4);
	}
	/* the child's SIGUSR1 and then its SIGCHLD */
	int got_usr1 = 0, got_chld = 0, status = -1;
	struct timespec t0 = mono_now();
	while ((!got_usr1 || !got_chld) && elapsed_ms(t0) < 500) {
		pf.revents = 0;
		if (poll(&pf, 1, 50) <= 0)
			continue;
		while (read(fd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo == SIGUSR1 && si.ssi_pid == (unsigned)c)
				got_usr1 = 1;
			if (si.ssi_signo == SIGCHLD && si.ssi_pid == (unsigned)c) {
				got_chld = 1;
				status = si.ssi_status;
			}
		}
	}
	waitpid(c, 0, 0);
	printf("from a child: SIGUSR1 %s, SIGCHLD %s (status %d)\n", yesno(got_usr1),
	       yesno(got_chld), status);

	n = read(fd, &si, sizeof si);
	printf("nothing left: %s\n", n < 0 && errno == EAGAIN ? "EAGAIN" : "something");
	close(fd);
	/* nothing pending anywhere */
	sigset_t p;
	sigpending(&p);
	printf("sigpending after: usr1 %s usr2 %s chld %s rt3 %s\n", yesno(sigismember(&p, SIGUSR1)),
	       yesno(sigismember(&p, SIGUSR2)), yesno(sigismember(&p, SIGCHLD)),
	       yesno(sigismember(&p, SIGRTMIN + 3)));
	struct timespec z = { 0, 0 };
	while (sigtimedwait(&s, 0, &z) > 0) {
	}
	CHECK(pthread_sigmask(SIG_UNBLOCK, &s, 0) == 0);
	printf("ok signalfd\n");
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
	test_signalfd();
	return 0;
}
