/* More pressure: handlers that make system calls while more signals arrive (nested frames
 * built at the exits of calls made inside handlers), on an alternate stack too; threads
 * blocked in a PI mutex, a barrier, a rwlock, pthread_join and a condvar while signals keep
 * arriving (they all still finish, the PI lock never fails with EINTR); fork while other
 * threads send signals to the forking thread (the children have nothing pending); exit(3) while
 * another thread floods the exiting one with signals (the status stays 3); a flood of signals
 * from another process to a busy process. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void set_handler(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, 0) == 0);
}

/* ---- 1. handlers with system calls, nested ---- */
/* one pipe per nesting depth: a nested handler must not read its outer handler's bytes */
enum { DEPTHS = 16 };
static int hp[DEPTHS][2];
static volatile int h_bad, h_hits, depth;
static void syscall_handler(int sig)
{
	/* a pipe round trip of our own inside the handler */
	int d = depth++;
	char out[4] = { 'h', (char)sig, (char)d, 'y' }, in[4];
	int saved = errno;
	if (d < DEPTHS && (write(hp[d][1], out, 4) != 4 || read(hp[d][0], in, 4) != 4 ||
			   memcmp(in, out, 4) != 0))
		h_bad++;
	depth--;
	getppid();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_fetch_add(&h_hits, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static volatile int target_done, flooders_started;
static void *syscall_target(void *arg)
{
	int *p = arg; /* a pipe of the target's own */
	long bad = 0;
	while (flooders_started < 1)
		sched_yield();
	struct timespec t0 = mono_now();
	for (int i = 0; elapsed_ms(t0) < 80; i++) {
		unsigned char b[8], c[8];
		for (int j = 0; j < 8; j++)
			b[j] = (unsigned char)(i * 8 + j);
		if (write(p[1], b, 8) != 8) {
			bad++;
			continue;
		}
		ssize_t got = 0;
		while (got < 8) {
			ssize_t r = read(p[0], c + got, 8 - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += r;
		}
		if (got != 8 || memcmp(b, c, 8) != 0)
			bad++;
	}
	target_done = 1;
	return (void *)bad;
}

static void *flooder(void *arg)
{
	pthread_t t = *(pthread_t *)arg;
	unsigned i = 0;
	__atomic_fetch_add(&flooders_started, 1, __ATOMIC_SEQ_CST);
	while (!target_done) {
		pthread_kill(t, (i++ & 1) ? SIGUSR1 : SIGUSR2);
		if (i % 16 == 0)
			sched_yield();
	}
	return 0;
}

static void run_nested(int flags, const char *what)
{
	set_handler(SIGUSR1, syscall_handler, flags);
	set_handler(SIGUSR2, syscall_handler, flags);
	h_bad = h_hits = 0;
	target_done = 0;
	flooders_started = 0;
	int tp[2];
	CHECK(pipe(tp) == 0);
	pthread_t t, f[2];
	EXPECT(pthread_create(&t, 0, syscall_target, tp), 0);
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&f[i], 0, flooder, &t), 0);
	/* the flooders first: a joined thread's id must not be used by pthread_kill any more */
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(f[i], 0), 0);
	void *bad;
	EXPECT(pthread_join(t, &bad), 0);
	close(tp[0]);
	close(tp[1]);
	printf("%s: target's data intact %s, handlers' data intact %s, handled %s\n", what,
	       yesno(bad == 0), yesno(h_bad == 0), yesno(h_hits > 0));
}

static char alt[1 << 16];
static void *altstack_target(void *arg)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
	CHECK(sigaltstack(&ss, 0) == 0);
	return syscall_target(arg);
}

static void test_nested(void)
{
	stage = "nested";
	for (int i = 0; i < DEPTHS; i++)
		CHECK(pipe(hp[i]) == 0);
	run_nested(SA_RESTART, "SA_RESTART");
	run_nested(0, "no SA_RESTART");

	/* SA_ONSTACK on a thread with an alternate stack */
	set_handler(SIGUSR1, syscall_handler, SA_ONSTACK | SA_RESTART);
	set_handler(SIGUSR2, syscall_handler, SA_ONSTACK | SA_RESTART);
	h_bad = h_hits = 0;
	target_done = 0;
	flooders_started = 0;
	int tp[2];
	CHECK(pipe(tp) == 0);
	pthread_t t, f;
	EXPECT(pthread_create(&t, 0, altstack_target, tp), 0);
	EXPECT(pthread_create(&f, 0, flooder, &t), 0);
	EXPECT(pthread_join(f, 0), 0);
	void *bad;
	EXPECT(pthread_join(t, &bad), 0);
	close(tp[0]);
	close(tp[1]);
	printf("SA_ONSTACK: target's data intact %s, handlers' data intact %s, handled %s\n",
	       yesno(bad == 0), yesno(h_bad == 0), yesno(h_hits > 0));
	printf("ok nested\n");
}

/* ---- 2. blocked in synchronisation objects while signals arrive ---- */
static volatile int hits;
static void count(int sig)
{
	(void)sig;
	__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
}

static pthread_mutex_t pi;
static pthread_barrier_t bar;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int cv_go;

static void *pi_locker(void *arg)
{
	(void)arg;
	int r = pthread_mutex_lock(&pi);
	if (r == 0)
		pthread_mutex_unlock(&pi);
	return (void *)(long)r;
}
static void *barrier_waiter(void *arg)
{
	(void)arg;
	int r = pthread_barrier_wait(&bar);
	return (void *)(long)(r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r);
}
static void *rw_reader(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_rdlock(&rw);
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	return (void *)(long)r;
}
static void *cv_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cm);
	while (!cv_go)
		pthread_cond_wait(&cv, &cm);
	pthread_mutex_unlock(&cm);
	return 0;
}
static void *joiner(void *arg)
{
	pthread_t t = *(pthread_t *)arg;
	void *r;
	return (void *)(long)pthread_join(t, &r);
}
static void *sleeper(void *arg)
{
	(void)arg;
	sleep_ms(150);
	return 0;
}

static void test_blocked_objects(void)
{
	stage = "objects";
	set_handler(SIGUSR1, count, 0); /* no SA_RESTART */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	EXPECT(pthread_mutex_init(&pi, &ma), 0);
	EXPECT(pthread_barrier_init(&bar, 0, 2), 0);
	pthread_mutex_lock(&pi);
	pthread_rwlock_wrlock(&rw);
	pthread_t s;
	EXPECT(pthread_create(&s, 0, sleeper, 0), 0);
	pthread_t t[5];
	EXPECT(pthread_create(&t[0], 0, pi_locker, 0), 0);
	EXPECT(pthread_create(&t[1], 0, barrier_waiter, 0), 0);
	EXPECT(pthread_create(&t[2], 0, rw_reader, 0), 0);
	EXPECT(pthread_create(&t[3], 0, cv_waiter, 0), 0);
	EXPECT(pthread_create(&t[4], 0, joiner, &s), 0);
	hits = 0;
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 5; i++)
			pthread_kill(t[i], SIGUSR1);
		sleep_ms(1);
	}
	pthread_mutex_unlock(&pi);
	pthread_rwlock_unlock(&rw);
	int r = pthread_barrier_wait(&bar);
	CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
	pthread_mutex_lock(&cm);
	cv_go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cm);
	const char *names[] = { "PI mutex", "barrier", "rwlock", "condvar", "join" };
	for (int i = 0; i < 5; i++) {
		void *res;
		EXPECT(pthread_join(t[i], &res), 0);
		printf("%s: returned %ld\n", names[i], (long)res);
	}
	printf("signals handled %s\n", yesno(hits > 0));
	pthread_barrier_destroy(&bar);
	printf("ok objects\n");
}

/* ---- 3. fork while other threads signal the forking thread ---- */
static volatile int fork_stop;
static pthread_t forking_thread;
static void *fork_pester(void *arg)
{
	(void)arg;
	unsigned n = 0;
	while (!fork_stop) {
		pthread_kill(forking_thread, SIGUSR1);
		pthread_kill(forking_thread, SIGRTMIN + 1);
		kill(getpid(), SIGUSR2);
		if (++n % 8 == 0)
			sleep_ms(1); /* leave the forking thread some time of its own */
	}
	return 0;
}

static void test_fork_storm(void)
{
	stage = "fork-storm";
	set_handler(SIGUSR1, count, SA_RESTART);
	set_handler(SIGUSR2, count, SA_RESTART);
	set_handler(SIGRTMIN + 1, count, SA_RESTART);
	forking_thread = pthread_self();
	pthread_t p[2];
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&p[i], 0, fork_pester, 0), 0);
	int bad = 0, odd = 0;
	for (int i = 0; i < 40; i++) {
		pid_t c = fork();
		CHECK(c >= 0);
		if (c == 0) {
			/* block everything, then look */
			sigset_t all, pend;
			sigfillset(&all);
			sigprocmask(SIG_BLOCK, &all, 0);
			sigpending(&pend);
			int n = 0;
			for (int s = 1; s < 65; s++)
				if (sigismember(&pend, s))
					n++;
			_exit(n);
		}
		int st;
		while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(st))
			odd++;
		else if (WEXITSTATUS(st) != 0)
			bad++;
	}
	fork_stop = 1;
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_join(p[i], 0), 0);
	printf("40 forks under signals: children with something pending %d, died %d\n", bad, odd);
	printf("ok fork-storm\n");
}

/* ---- 4. exit(3) while being flooded ---- */
static pthread_t exiting;
static void *exit_flooder(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_kill(exiting, SIGUSR1);
		kill(getpid(), SIGUSR2);
	}
	return 0;
}

static void test_exit_storm(void)
{
	stage = "exit-storm";
	int wrong = 0;
	for (int i = 0; i < 20; i++) {
		fflush(stdout);
		pid_t c = fork();
		CHECK(c >= 0);
		if (c == 0) {
			set_handler(SIGUSR1, count, 0);
			set_handler(SIGUSR2, count, 0);
			exiting = pthread_self();
			pthread_t t;
			pthread_create(&t, 0, exit_flooder, 0);
			for (int j = 0; j < 200 + i * 50; j++)
				getppid();
			exit(3);
		}
		int st;
		while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 3)
			wrong++;
	}
	printf("20 exit(3) under a signal flood: wrong status %d\n", wrong);
	printf("ok exit-storm\n");
}

/* ---- 5. a flood from another process ---- */
static void test_external_flood(void)
{
	stage = "external-flood";
	set_handler(SIGUSR1, count, SA_RESTART);
	set_handler(SIGUSR2, count, SA_RESTART);
	hits = 0;
	pid_t parent = getpid();
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		for (int i = 0; i < 5000; i++)
			if (kill(parent, (i & 1) ? SIGUSR1 : SIGUSR2))
				_exit(1);
		_exit(0);
	}
	/* busy: futexes and system calls */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	long sum = 0;
	int st, done = 0;
	while (!done) {
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&m);
			sum += i;
			pthread_mutex_unlock(&m);
		}
		getppid();
		pid_t r = waitpid(c, &st, WNOHANG);
		if (r == c)
			done = 1;
	}
	printf("5000 signals from a child: sender exit %d, handled >= 1 %s, still fine %s\n",
	       WEXITSTATUS(st), yesno(hits >= 1), yesno(sum > 0));
	printf("ok external-flood\n");
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t w;
	start_watchdog(&w, 9000);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	struct timespec t0 = mono_now();
	test_nested();
	test_blocked_objects();
	test_fork_storm();
	test_exit_storm();
	test_external_flood();
	fprintf(stderr, "took %ld ms\n", elapsed_ms(t0));
	return 0;
}
