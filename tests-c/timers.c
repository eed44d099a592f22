/* POSIX timers, setitimer and alarm, as Linux 6.18 runs them: ids, argument errors, SI_TIMER
 * siginfo, overruns counted at delivery, stale signals of re-armed and deleted timers dropped,
 * ignored periodic timers parked until a handler is installed, SIGEV_THREAD and
 * SIGEV_THREAD_ID, CPU-time timers, alarm's rounding, and a fork child without timers.
 * Timing-dependent values are printed as yes/no against generous bounds. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* The kernel's sigevent (musl's struct sigevent has the same layout). */
struct ksigevent {
	long value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

static long sys(long n, long a, long b, long c, long d)
{
	long r = syscall(n, a, b, c, d);
	return r < 0 ? -errno : r;
}

static int kcreate(int clock, struct ksigevent *e)
{
	int id = -1;
	long r = sys(SYS_timer_create, clock, (long)e, (long)&id, 0);
	return r < 0 ? (int)r : id;
}

static long settime(int id, int flags, long value_ns, long interval_ns)
{
	struct itimerspec it = { { interval_ns / 1000000000, interval_ns % 1000000000 },
				 { value_ns / 1000000000, value_ns % 1000000000 } };
	return sys(SYS_timer_settime, id, flags, (long)&it, 0);
}

static volatile sig_atomic_t hits;
static volatile int last_code, last_overrun, last_timerid;
static volatile long last_value;
static volatile pthread_t handler_thread;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hits++;
	last_code = si->si_code;
	last_overrun = si->si_overrun;
	last_timerid = si->si_timerid;
	last_value = si->si_value.sival_int;
	handler_thread = pthread_self();
}

static void install(int sig)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(sig, &sa, 0) == 0);
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	CHECK(sigprocmask(how, &s, 0) == 0);
}

static int pending(int sig)
{
	sigset_t p;
	sigpending(&p);
	return sigismember(&p, sig);
}

static void ids_and_errors(void)
{
	stage = "ids";
	struct ksigevent e = { 0 };
	/* Ids count from 0 per process; a create that fails on its sigevent still takes one. */
	int a = kcreate(CLOCK_MONOTONIC, 0);
	int b = kcreate(CLOCK_MONOTONIC, 0);
	e.notify = SIGEV_SIGNAL;
	e.signo = 0;
	printf("create: %d %d, signo 0: %d\n", a, b, kcreate(CLOCK_MONOTONIC, &e));
	e.signo = 65;
	printf("signo 65: %d\n", kcreate(CLOCK_MONOTONIC, &e));
	e.signo = SIGUSR1;
	e.notify = 3;
	printf("notify 3: %d\n", kcreate(CLOCK_MONOTONIC, &e));
	e.notify = SIGEV_THREAD_ID;
	e.tid = 1;
	printf("thread id 1: %d\n", kcreate(CLOCK_MONOTONIC, &e));
	e.tid = (int)syscall(SYS_gettid);
	int own = kcreate(CLOCK_MONOTONIC, &e);
	printf("own thread: %d\n", own);
	e.notify = SIGEV_NONE;
	e.signo = 999;
	printf("none, signo 999: %d\n", kcreate(CLOCK_MONOTONIC, &e));
	printf("clock 99: %d, clock -1: %d, raw: %d, coarse: %d\n", kcreate(99, 0),
	       kcreate(-1, 0), kcreate(CLOCK_MONOTONIC_RAW, 0),
	       kcreate(CLOCK_MONOTONIC_COARSE, 0));
	printf("boottime: %d, tai: %d, process cpu: %d, thread cpu: %d\n",
	       kcreate(CLOCK_BOOTTIME, 0), kcreate(CLOCK_TAI, 0),
	       kcreate(CLOCK_PROCESS_CPUTIME_ID, 0), kcreate(CLOCK_THREAD_CPUTIME_ID, 0));
	printf("bad sigevent: %ld, bad id pointer: %ld\n",
	       sys(SYS_timer_create, CLOCK_MONOTONIC, 8, (long)&a, 0),
	       sys(SYS_timer_create, CLOCK_MONOTONIC, 0, 8, 0));
	printf("next id: %d\n", kcreate(CLOCK_MONOTONIC, 0));
	/* delete, settime, gettime, getoverrun on bad ids and arguments */
	struct itimerspec it = { { 0, 0 }, { 0, 1000000000 } }, old;
	printf("delete %d: %ld, again: %ld, 12345: %ld\n", b, sys(SYS_timer_delete, b, 0, 0, 0),
	       sys(SYS_timer_delete, b, 0, 0, 0), sys(SYS_timer_delete, 12345, 0, 0, 0));
	printf("settime bad nsec: %ld\n", sys(SYS_timer_settime, a, 0, (long)&it, 0));
	it.it_value.tv_nsec = 0;
	it.it_value.tv_sec = -1;
	printf("settime negative: %ld\n", sys(SYS_timer_settime, a, 0, (long)&it, 0));
	it.it_value.tv_sec = 1;
	it.it_interval.tv_nsec = -1;
	printf("settime bad interval: %ld\n", sys(SYS_timer_settime, a, 0, (long)&it, 0));
	it.it_interval.tv_nsec = 0;
	printf("settime null: %ld, bad pointer: %ld, bad id: %ld, deleted: %ld\n",
	       sys(SYS_timer_settime, a, 0, 0, 0), sys(SYS_timer_settime, a, 0, 8, 0),
	       sys(SYS_timer_settime, 4444, 0, (long)&it, 0),
	       sys(SYS_timer_settime, b, 0, (long)&it, 0));
	printf("settime, bad old pointer: %ld\n", sys(SYS_timer_settime, a, 0, (long)&it, 8));
	memset(&old, 0x55, sizeof old);
	CHECK(sys(SYS_timer_gettime, a, (long)&old, 0, 0) == 0);
	printf("armed despite the fault: %s (value %lds, interval %ld)\n",
	       yesno(old.it_value.tv_sec == 0 && old.it_value.tv_nsec > 500000000),
	       (long)old.it_value.tv_sec, (long)old.it_interval.tv_nsec);
	printf("gettime bad pointer: %ld, bad id: %ld\n", sys(SYS_timer_gettime, a, 8, 0, 0),
	       sys(SYS_timer_gettime, 4444, (long)&old, 0, 0));
	printf("getoverrun: %ld, bad id: %ld\n", sys(SYS_timer_getoverrun, a, 0, 0, 0),
	       sys(SYS_timer_getoverrun, -1, 0, 0, 0));
	CHECK(settime(a, 0, 0, 0) == 0);
	CHECK(sys(SYS_timer_gettime, a, (long)&old, 0, 0) == 0);
	printf("disarmed: %ld %ld\n", (long)old.it_value.tv_sec, (long)old.it_value.tv_nsec);
	for (int id = 0; id < 40; id++)
		sys(SYS_timer_delete, id, 0, 0, 0);
	(void)own;
}

static void one_shot_and_periodic(void)
{
	stage = "one-shot";
	install(SIGRTMIN + 1);
	struct ksigevent e = { .value = 77, .signo = SIGRTMIN + 1, .notify = SIGEV_SIGNAL };
	int t = kcreate(CLOCK_MONOTONIC, &e);
	hits = 0;
	CHECK(settime(t, 0, 2000000, 0) == 0);
	while (!hits)
		pause();
	printf("one-shot: code %d value %ld timerid is id %s overrun %d\n", last_code,
	       last_value, yesno(last_timerid == t), last_overrun);
	struct itimerspec cur;
	CHECK(sys(SYS_timer_gettime, t, (long)&cur, 0, 0) == 0);
	printf("expired one-shot reads 0: %s\n",
	       yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));

	/* Absolute expiry in the past: fires at once. */
	stage = "absolute";
	hits = 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	CHECK(settime(t, TIMER_ABSTIME, (now.tv_sec - 1) * 1000000000L, 0) == 0);
	while (!hits)
		pause();
	printf("absolute past: delivered %d\n", (int)hits);

	/* Periodic with the signal blocked: one signal, the missed periods as its overrun. */
	stage = "overrun";
	block(SIGRTMIN + 1, SIG_BLOCK);
	hits = 0;
	CHECK(settime(t, 0, 10000000, 10000000) == 0);
	sleep_ms(105);
	printf("pending %d, getoverrun before delivery %ld\n", pending(SIGRTMIN + 1),
	       sys(SYS_timer_getoverrun, t, 0, 0, 0));
	block(SIGRTMIN + 1, SIG_UNBLOCK);
	printf("delivered %d, overrun in 5..20: %s, getoverrun matches: %s\n", (int)hits,
	       yesno(last_overrun >= 5 && last_overrun <= 20),
	       yesno(sys(SYS_timer_getoverrun, t, 0, 0, 0) == last_overrun));
	CHECK(sys(SYS_timer_gettime, t, (long)&cur, 0, 0) == 0);
	printf("periodic reads within its period: %s, interval %ld ms\n",
	       yesno(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10000000 &&
		     cur.it_value.tv_nsec > 0),
	       (long)cur.it_interval.tv_nsec / 1000000);
	CHECK(settime(t, 0, 0, 0) == 0);
	printf("getoverrun after settime: %ld\n", sys(SYS_timer_getoverrun, t, 0, 0, 0));

	/* A re-armed or deleted timer's queued signal stays visible, then is dropped. */
	stage = "stale";
	block(SIGRTMIN + 1, SIG_BLOCK);
	CHECK(settime(t, 0, 1000000, 0) == 0);
	sleep_ms(20);
	CHECK(settime(t, 0, 100000000000L, 0) == 0);
	printf("re-armed: still pending %d\n", pending(SIGRTMIN + 1));
	hits = 0;
	block(SIGRTMIN + 1, SIG_UNBLOCK);
	printf("re-armed: delivered %d, pending %d\n", (int)hits, pending(SIGRTMIN + 1));
	block(SIGRTMIN + 1, SIG_BLOCK);
	CHECK(settime(t, 0, 1000000, 0) == 0);
	sleep_ms(20);
	CHECK(sys(SYS_timer_delete, t, 0, 0, 0) == 0);
	printf("deleted: still pending %d\n", pending(SIGRTMIN + 1));
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	struct timespec zero = { 0, 0 };
	errno = 0;
	int r = sigtimedwait(&set, 0, &zero);
	printf("deleted: sigtimedwait %d errno %d, pending %d\n", r, errno, pending(SIGRTMIN + 1));
	block(SIGRTMIN + 1, SIG_UNBLOCK);

	/* A timer signal is queued even if the same standard signal is already pending. */
	stage = "standard";
	install(SIGUSR2);
	block(SIGUSR2, SIG_BLOCK);
	e.signo = SIGUSR2;
	e.value = 5;
	t = kcreate(CLOCK_MONOTONIC, &e);
	kill(getpid(), SIGUSR2);
	CHECK(settime(t, 0, 1000000, 0) == 0);
	sleep_ms(20);
	siginfo_t si;
	int first = sigtimedwait(&set, &si, &zero); /* SIGRTMIN+1: nothing */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int a = sigtimedwait(&set, &si, &zero);
	int code_a = si.si_code;
	int b = sigtimedwait(&set, &si, &zero);
	printf("standard: %d, then %d code %d, then %d code %d\n", first, a, code_a, b,
	       si.si_code);
	block(SIGUSR2, SIG_UNBLOCK);
	sys(SYS_timer_delete, t, 0, 0, 0);
}

static void ignored_then_handled(void)
{
	stage = "ignored";
	struct ksigevent e = { .value = 3, .signo = SIGUSR1, .notify = SIGEV_SIGNAL };
	signal(SIGUSR1, SIG_IGN);
	int t = kcreate(CLOCK_MONOTONIC, &e);
	CHECK(settime(t, 0, 10000000, 10000000) == 0);
	sleep_ms(55);
	hits = 0;
	install(SIGUSR1);
	/* Linux queues the parked timer's signal in sigaction itself. */
	int at_once = hits;
	printf("parked periodic: delivered in sigaction %d, overrun in 2..10: %s\n", at_once,
	       yesno(last_overrun >= 2 && last_overrun <= 10));
	/* Sleeps that no handler interrupts run to the end (the port's own wake-ups of this thread
	 * must not end them with EINTR). */
	int spurious = 0;
	for (int i = 0; i < 8; i++) {
		int before = hits;
		struct timespec ts = { 0, 4000000 };
		if (syscall(SYS_nanosleep, &ts, 0) != 0 && errno == EINTR && hits == before)
			spurious++;
	}
	printf("runs on: %s, EINTR without a handler: %d\n", yesno(hits >= 2), spurious);
	sys(SYS_timer_delete, t, 0, 0, 0);
	/* An ignored one-shot expiry is lost. */
	signal(SIGUSR1, SIG_IGN);
	t = kcreate(CLOCK_MONOTONIC, &e);
	CHECK(settime(t, 0, 1000000, 0) == 0);
	sleep_ms(10);
	hits = 0;
	install(SIGUSR1);
	sleep_ms(10);
	printf("ignored one-shot: delivered %d\n", (int)hits);
	sys(SYS_timer_delete, t, 0, 0, 0);
}

static volatile int notified;
static volatile long notified_value;
static volatile pthread_t main_thread;

static void notify_fn(union sigval v)
{
	notified_value = v.sival_int;
	notified++;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, 0);
	while (!hits)
		pause();
	return 0;
}

static void threads(void)
{
	/* SIGEV_THREAD: musl's helper thread, created through SIGEV_THREAD_ID and sigwaitinfo. */
	stage = "sigev_thread";
	timer_t t;
	struct sigevent sev = { 0 };
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify_fn;
	sev.sigev_value.sival_int = 4242;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
	struct itimerspec it = { { 0, 5000000 }, { 0, 5000000 } };
	CHECK(timer_settime(t, 0, &it, 0) == 0);
	for (int i = 0; i < 400 && notified < 3; i++)
		sleep_ms(5);
	CHECK(timer_delete(t) == 0);
	printf("SIGEV_THREAD: notified at least 3 times %s, value %ld\n", yesno(notified >= 3),
	       notified_value);

	/* SIGEV_THREAD_ID: the handler runs on the named thread, while main blocks it. */
	stage = "thread_id";
	install(SIGUSR2);
	block(SIGUSR2, SIG_BLOCK);
	hits = 0;
	pthread_t th;
	CHECK(pthread_create(&th, 0, sleeper, 0) == 0);
	sleep_ms(10);
	struct ksigevent e = { .value = 9, .signo = SIGUSR2, .notify = SIGEV_THREAD_ID };
	e.tid = (int)syscall(SYS_gettid); /* main blocks it: stays pending for main */
	int tm = kcreate(CLOCK_MONOTONIC, &e);
	CHECK(settime(tm, 0, 2000000, 0) == 0);
	sleep_ms(20);
	printf("thread-directed to main (blocked): pending %d, sleeper woke %s\n",
	       pending(SIGUSR2), yesno(hits != 0));
	hits = 0;
	kill(getpid(), SIGUSR2); /* a process-directed one: the sleeper takes it */
	CHECK(pthread_join(th, 0) == 0);
	printf("process-directed went to the sleeper: %s\n",
	       yesno(pthread_equal(handler_thread, th)));
	hits = 0;
	block(SIGUSR2, SIG_UNBLOCK);
	printf("main's own: delivered %d, code %d, value %ld\n", (int)hits, last_code,
	       last_value);
	sys(SYS_timer_delete, tm, 0, 0, 0);
}

static void cpu_timers(void)
{
	stage = "cpu clocks";
	{
		struct timespec a, b;
		clockid_t cid;
		CHECK(pthread_getcpuclockid(pthread_self(), &cid) == 0);
		CHECK(clock_gettime(cid, &a) == 0);
		volatile long x = 0;
		for (long i = 0; i < 20000000; i++)
			x += i;
		CHECK(clock_gettime(cid, &b) == 0);
		long d = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		errno = 0;
		long bad = sys(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, 8, 0, 0);
		printf("CPU clocks: thread clock advanced %s, process clock bad pointer %ld\n",
		       yesno(d > 1000000), bad);
	}
	stage = "cpu";
	install(SIGRTMIN + 2);
	struct ksigevent e = { .value = 11, .signo = SIGRTMIN + 2, .notify = SIGEV_SIGNAL };
	int t = kcreate(CLOCK_PROCESS_CPUTIME_ID, &e);
	hits = 0;
	CHECK(settime(t, 0, 20000000, 0) == 0);
	struct timespec c0, c1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	while (!hits && (c1.tv_sec - c0.tv_sec) < 3);
	long used = (c1.tv_sec - c0.tv_sec) * 1000 + (c1.tv_nsec - c0.tv_nsec) / 1000000;
	printf("process CPU timer: delivered %d code %d value %ld, after 15..200 ms of CPU: %s\n",
	       (int)hits, last_code, last_value, yesno(used >= 15 && used <= 200));
	sys(SYS_timer_delete, t, 0, 0, 0);
	/* ITIMER_PROF */
	install(SIGPROF);
	hits = 0;
	struct itimerval iv = { { 0, 0 }, { 0, 20000 } };
	CHECK(setitimer(ITIMER_PROF, &iv, 0) == 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	while (!hits && (c1.tv_sec - c0.tv_sec) < 3);
	printf("ITIMER_PROF: delivered %d code %d\n", (int)hits, last_code);
	iv.it_value.tv_usec = 0;
	CHECK(setitimer(ITIMER_PROF, &iv, 0) == 0);
}

static void itimers(void)
{
	stage = "itimer";
	struct itimerval iv = { { 0, 0 }, { 0, 1000000 } }, ov;
	printf("setitimer usec 1e6: %ld\n", sys(SYS_setitimer, ITIMER_REAL, (long)&iv, 0, 0));
	iv.it_value.tv_usec = -1;
	printf("usec -1: %ld\n", sys(SYS_setitimer, ITIMER_REAL, (long)&iv, 0, 0));
	iv.it_value.tv_usec = 0;
	iv.it_value.tv_sec = -1;
	printf("sec -1: %ld\n", sys(SYS_setitimer, ITIMER_REAL, (long)&iv, 0, 0));
	iv.it_value.tv_sec = 0;
	printf("which 3: %ld, get which 3: %ld\n", sys(SYS_setitimer, 3, (long)&iv, 0, 0),
	       sys(SYS_getitimer, 3, (long)&ov, 0, 0));
	printf("set bad: %ld, get bad: %ld\n", sys(SYS_setitimer, ITIMER_REAL, 8, 0, 0),
	       sys(SYS_getitimer, ITIMER_REAL, 8, 0, 0));
	iv.it_value.tv_sec = 3;
	iv.it_interval.tv_sec = 1;
	CHECK(setitimer(ITIMER_REAL, &iv, 0) == 0);
	CHECK(getitimer(ITIMER_REAL, &ov) == 0);
	printf("getitimer: %lds (+>0.5), interval %lds\n", (long)ov.it_value.tv_sec,
	       (long)ov.it_interval.tv_sec);
	printf("set null: %ld\n", sys(SYS_setitimer, ITIMER_REAL, 0, (long)&ov, 0));
	printf("  old: %lds, now: ", (long)ov.it_value.tv_sec);
	CHECK(getitimer(ITIMER_REAL, &ov) == 0);
	printf("%ld %ld\n", (long)ov.it_value.tv_sec, (long)ov.it_value.tv_usec);
	/* alarm's rounding */
	iv = (struct itimerval){ { 0, 0 }, { 0, 700000 } };
	setitimer(ITIMER_REAL, &iv, 0);
	printf("alarm(0) with 0.7 s left: %ld\n", sys(SYS_alarm, 0, 0, 0, 0));
	iv.it_value.tv_usec = 400000;
	setitimer(ITIMER_REAL, &iv, 0);
	printf("alarm(0) with 0.4 s left: %ld\n", sys(SYS_alarm, 0, 0, 0, 0));
	iv = (struct itimerval){ { 0, 0 }, { 2, 600000 } };
	setitimer(ITIMER_REAL, &iv, 0);
	printf("alarm(0) with 2.6 s left: %ld\n", sys(SYS_alarm, 0, 0, 0, 0));
	long a = sys(SYS_alarm, 0x100000003L, 0, 0, 0);
	printf("alarm(2^32+3): %ld, then alarm(0): %ld\n", a, sys(SYS_alarm, 0, 0, 0, 0));
	sys(SYS_alarm, 0x80000000L, 0, 0, 0);
	CHECK(getitimer(ITIMER_REAL, &ov) == 0);
	printf("alarm(2^31) is not capped: %ld\n", (long)ov.it_value.tv_sec);
	sys(SYS_alarm, 0, 0, 0, 0);
	/* SIGALRM from ITIMER_REAL: SI_KERNEL, periodic, coalescing while blocked. */
	install(SIGALRM);
	block(SIGALRM, SIG_BLOCK);
	iv = (struct itimerval){ { 0, 5000 }, { 0, 5000 } };
	CHECK(setitimer(ITIMER_REAL, &iv, 0) == 0);
	sleep_ms(30);
	hits = 0;
	iv = (struct itimerval){ { 0, 0 }, { 0, 0 } };
	CHECK(setitimer(ITIMER_REAL, &iv, 0) == 0);
	block(SIGALRM, SIG_UNBLOCK);
	printf("ITIMER_REAL blocked 30 ms: delivered %d, code %d\n", (int)hits, last_code);
}

static void fork_child(void)
{
	stage = "fork";
	struct ksigevent e = { .value = 1, .signo = SIGUSR1, .notify = SIGEV_SIGNAL };
	int t = kcreate(CLOCK_MONOTONIC, &e);
	CHECK(settime(t, 0, 10000000000L, 0) == 0);
	struct itimerval iv = { { 0, 0 }, { 10, 0 } }, ov;
	CHECK(setitimer(ITIMER_REAL, &iv, 0) == 0);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		struct itimerspec cur;
		getitimer(ITIMER_REAL, &ov);
		printf("child: gettime of parent's timer %ld, itimer %ld, next id %d\n",
		       sys(SYS_timer_gettime, t, (long)&cur, 0, 0), (long)ov.it_value.tv_sec,
		       kcreate(CLOCK_MONOTONIC, 0));
		fflush(stdout);
		_exit(0);
	}
	int st;
	CHECK(waitpid(p, &st, 0) == p);
	iv.it_value.tv_sec = 0;
	setitimer(ITIMER_REAL, &iv, 0);
	sys(SYS_timer_delete, t, 0, 0, 0);
	printf("child exit %d\n", WEXITSTATUS(st));

	/* The last thread's exit ends the process even with a timer armed. */
	stage = "last exit";
	fflush(stdout);
	p = fork();
	if (p == 0) {
		alarm(100);
		syscall(SYS_exit, 7);
		_exit(1);
	}
	int waited = 0;
	while (waitpid(p, &st, WNOHANG) == 0 && waited < 300) {
		sleep_ms(10);
		waited++;
	}
	if (waited == 300) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
	}
	printf("last thread's exit with an alarm armed: exited %s, code %d\n",
	       yesno(WIFEXITED(st)), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* The exec'd image: what it inherited. */
static int exec_child(void)
{
	struct itimerval ov, pv;
	getitimer(ITIMER_REAL, &ov);
	getitimer(ITIMER_PROF, &pv);
	printf("after exec: alarm kept %s, ITIMER_PROF kept %s\n",
	       yesno(ov.it_value.tv_sec >= 1 && ov.it_value.tv_sec <= 5),
	       yesno(pv.it_value.tv_sec >= 1 && pv.it_value.tv_sec <= 5));
	struct itimerval zero = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_PROF, &zero, 0);
	struct sigaction sa = { 0 };
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, 0);
	alarm(0);
	return 0;
}

static void exec_keeps_alarm(const char *self)
{
	stage = "exec";
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		alarm(5);
		struct itimerval prof = { { 0, 0 }, { 5, 0 } };
		setitimer(ITIMER_PROF, &prof, 0);
		execl(self, self, "exec-child", (char *)0);
		_exit(99);
	}
	int st;
	CHECK(waitpid(p, &st, 0) == p);
	printf("exec child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
		return exec_child();
	pthread_t wd;
	start_watchdog(&wd, 20000);
	main_thread = pthread_self();
	ids_and_errors();
	one_shot_and_periodic();
	ignored_then_handled();
	threads();
	cpu_timers();
	itimers();
	fork_child();
	exec_keeps_alarm(argv[0]);
	printf("done\n");
	return 0;
}
