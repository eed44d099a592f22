/* signalfd: it reads the signals made pending (and blocked) by raise, kill(getpid()),
 * sigqueue, a child's kill and SIGCHLD, and is readable for poll; what it read is no longer
 * pending. Non-blocking reads and poll timeouts, so a signal it never sees shows as EAGAIN. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include "common.h"

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

static void *sender(void *arg)
{
	(void)arg;
	sleep_ms(30);
	union sigval v = { .sival_int = 7 };
	sigqueue(getpid(), SIGRTMIN + 3, v);
	return 0;
}

/* Errors, a mask update, several signals in one read, a blocking read woken by another thread's
 * signal, and epoll. */
static void test_more(void)
{
	stage = "signalfd more";
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGRTMIN + 3);
	CHECK(pthread_sigmask(SIG_BLOCK, &s, 0) == 0);
	long r1 = syscall(SYS_signalfd4, -1, &s, 7, 0);
	int e1 = errno;
	long r2 = syscall(SYS_signalfd4, -1, (void *)8, 8, 0);
	int e2 = errno;
	long r3 = syscall(SYS_signalfd4, -1, &s, 8, 1);
	int e3 = errno;
	long r4 = syscall(SYS_signalfd4, 9999, &s, 8, 0);
	int e4 = errno;
	long r5 = syscall(SYS_signalfd4, 1, &s, 8, 0);
	int e5 = errno;
	printf("errors: size %ld %d, mask %ld %d, flags %ld %d, closed fd %ld %d, not a signalfd %ld %d\n",
	       r1, e1, r2, e2, r3, e3, r4, e4, r5, e5);
	sigset_t only_usr1;
	sigemptyset(&only_usr1);
	sigaddset(&only_usr1, SIGUSR1);
	int fd = signalfd(-1, &only_usr1, SFD_NONBLOCK);
	CHECK(fd >= 0);
	char small[64];
	errno = 0;
	long rs = (long)read(fd, small, sizeof small);
	printf("read of 64 bytes: %ld errno %d\n", rs, errno);
	union sigval v = { .sival_int = 1 };
	sigqueue(getpid(), SIGRTMIN + 3, v);
	struct signalfd_siginfo si[4];
	errno = 0;
	rs = (long)read(fd, si, sizeof si);
	printf("not in the mask: read %ld errno %d\n", rs, errno);
	/* widen the mask: same descriptor */
	printf("update returns the fd: %s\n", yesno(signalfd(fd, &s, 0) == fd));
	v.sival_int = 2;
	sigqueue(getpid(), SIGRTMIN + 3, v);
	raise(SIGUSR1);
	ssize_t n = read(fd, si, sizeof si);
	printf("three pending, one read of four: %ld bytes, signals %d %d %d, values %d %d\n",
	       (long)n, n >= 128 ? (int)si[0].ssi_signo : -1, n >= 256 ? (int)si[1].ssi_signo : -1,
	       n >= 384 ? (int)si[2].ssi_signo : -1, n >= 256 ? si[1].ssi_int : -1,
	       n >= 384 ? si[2].ssi_int : -1);
	close(fd);
	/* blocking read */
	fd = signalfd(-1, &s, 0);
	pthread_t t;
	CHECK(pthread_create(&t, 0, sender, 0) == 0);
	n = read(fd, si, sizeof si);
	printf("blocking read: %ld bytes, value %d, code is SI_QUEUE %s\n", (long)n, si[0].ssi_int,
	       yesno(si[0].ssi_code == SI_QUEUE));
	pthread_join(t, 0);
	/* epoll */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	printf("epoll, nothing pending: %d\n", epoll_wait(ep, &out, 1, 20));
	raise(SIGUSR1);
	printf("epoll, pending: %d\n", epoll_wait(ep, &out, 1, 200));
	n = read(fd, si, sizeof si);
	printf("epoll then read: %ld, then epoll: %d\n", (long)n, epoll_wait(ep, &out, 1, 20));
	close(ep);
	close(fd);
	CHECK(pthread_sigmask(SIG_UNBLOCK, &s, 0) == 0);
}

/* dup2 and dup3 onto a signalfd's number: the number names the other file from then on. */
static void test_dup(void)
{
	stage = "signalfd dup";
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	CHECK(pthread_sigmask(SIG_BLOCK, &s, 0) == 0);
	for (int three = 0; three < 2; three++) {
		int fd = signalfd(-1, &s, SFD_NONBLOCK);
		int p[2];
		CHECK(fd >= 0 && pipe(p) == 0);
		CHECK(write(p[1], "hello", 5) == 5);
		int r = three ? dup3(p[0], fd, O_CLOEXEC) : dup2(p[0], fd);
		char buf[256];
		ssize_t n = read(fd, buf, sizeof buf);
		printf("%s onto a signalfd: returns it %s, read %ld: %.*s\n", three ? "dup3" : "dup2",
		       yesno(r == fd), (long)n, n > 0 ? (int)n : 0, buf);
		close(fd);
		close(p[0]);
		close(p[1]);
	}
	/* dup2 of a descriptor onto itself closes nothing: still a signalfd */
	int fd = signalfd(-1, &s, SFD_NONBLOCK);
	CHECK(dup2(fd, fd) == fd);
	raise(SIGUSR1);
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof si);
	printf("dup2 onto itself: still a signalfd: %s\n", yesno(n == sizeof si && si.ssi_signo == SIGUSR1));
	close(fd);
	CHECK(pthread_sigmask(SIG_UNBLOCK, &s, 0) == 0);
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
	test_more();
	test_dup();
	return 0;
}
