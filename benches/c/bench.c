/* lintel's C-level benchmark: one program, built twice by `cargo xtask bench`, with Debian's
 * `musl-gcc -O2 -static` (musl on Linux) and with `lintel-cc -O2 -static` (musl as the lintel
 * arch: every syscall is a call into lintel). xtask runs the two builds alternately and compares
 * medians; pinning (`taskset -c 0`) is decided by xtask, threads inherit it.
 *
 *   bench list                       the row names, one a line
 *   bench run ROW TARGET_MS SAMPLES  calibrates an iteration count so that one sample takes
 *                                    about TARGET_MS (the contended-mutex rows instead run for
 *                                    TARGET_MS and count), then prints SAMPLES lines
 *                                    `sample ROW NS_PER_OP ITERS` (ITERS 0 for a time-boxed row)
 *   bench mem N                      creates N threads that stay blocked, prints
 *                                    `mem N VMSIZE_KB_BEFORE VMSIZE_KB_AFTER VMRSS_KB_BEFORE
 *                                    VMRSS_KB_AFTER` and `stack_default KB` and `minsigstksz B`
 *
 * An "op" is what the row's name says: one wake, one round trip, one lock+unlock, one
 * create+join, one broadcast round (all waiters woken and waiting again), one raise (handler
 * run), one block+unblock pair. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* musl-gcc has no kernel headers: the two futex ops used here. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void check(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "bench: %s: %s\n", what, strerror(r));
		exit(2);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile unsigned long sink;

static long futex(volatile int *w, int op, int val)
{
	return syscall(SYS_futex, w, op, val, 0, 0, 0);
}

/* ---- single-thread rows ------------------------------------------------------------------ */

static uint64_t row_wake(long n)
{
	static volatile int w;
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++)
		futex(&w, FUTEX_WAKE_PRIVATE, 1);
	return now_ns() - t;
}

static uint64_t row_clock(long n)
{
	struct timespec ts;
	unsigned long acc = 0;
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		acc += (unsigned long)ts.tv_nsec;
	}
	t = now_ns() - t;
	sink = acc;
	return t;
}

static uint64_t row_timedlock(long n)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec abs;
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec += 3600;
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		if (pthread_mutex_timedlock(&m, &abs))
			die("pthread_mutex_timedlock");
		pthread_mutex_unlock(&m);
	}
	return now_ns() - t;
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static uint64_t row_raise(long n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, 0))
		die("sigaction");
	handled = 0;
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++)
		raise(SIGUSR1);
	t = now_ns() - t;
	if (handled != (sig_atomic_t)n) {
		fprintf(stderr, "bench: raise: %ld raised, %ld handled\n", n, (long)handled);
		exit(2);
	}
	return t;
}

static uint64_t row_sigprocmask(long n)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		sigprocmask(SIG_BLOCK, &s, 0);
		sigprocmask(SIG_UNBLOCK, &s, 0);
	}
	return now_ns() - t;
}

static void *nothing(void *arg)
{
	return arg;
}

static uint64_t row_create_join(long n)
{
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		pthread_t th;
		check(pthread_create(&th, 0, nothing, 0), "pthread_create");
		check(pthread_join(th, 0), "pthread_join");
	}
	return now_ns() - t;
}

/* ---- ping-pong through one futex word ------------------------------------------------------ */

static volatile int pp_word, pp_stop;

static void *pp_partner(void *arg)
{
	pthread_barrier_t *b = arg;
	pthread_barrier_wait(b);
	for (;;) {
		while (__atomic_load_n(&pp_word, __ATOMIC_SEQ_CST) == 0)
			futex(&pp_word, FUTEX_WAIT_PRIVATE, 0);
		if (__atomic_load_n(&pp_stop, __ATOMIC_SEQ_CST))
			return 0;
		__atomic_store_n(&pp_word, 0, __ATOMIC_SEQ_CST);
		futex(&pp_word, FUTEX_WAKE_PRIVATE, 1);
	}
}

static uint64_t row_ping_pong(long n)
{
	pthread_barrier_t b;
	pthread_t th;
	pp_word = 0;
	pp_stop = 0;
	pthread_barrier_init(&b, 0, 2);
	check(pthread_create(&th, 0, pp_partner, &b), "pthread_create");
	pthread_barrier_wait(&b);
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		__atomic_store_n(&pp_word, 1, __ATOMIC_SEQ_CST);
		futex(&pp_word, FUTEX_WAKE_PRIVATE, 1);
		while (__atomic_load_n(&pp_word, __ATOMIC_SEQ_CST) == 1)
			futex(&pp_word, FUTEX_WAIT_PRIVATE, 1);
	}
	t = now_ns() - t;
	__atomic_store_n(&pp_stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pp_word, 1, __ATOMIC_SEQ_CST);
	futex(&pp_word, FUTEX_WAKE_PRIVATE, 1);
	check(pthread_join(th, 0), "pthread_join");
	pthread_barrier_destroy(&b);
	return t;
}

/* ---- contended mutex ---------------------------------------------------------------------- */

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long cm_counter;
static pthread_barrier_t cm_start, cm_end;
static volatile int cm_stop;
static long cm_ops[8];

static void *cm_worker(void *p)
{
	long me = (long)(intptr_t)p, ops = 0;
	pthread_barrier_wait(&cm_start);
	while (!__atomic_load_n(&cm_stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&cm);
		/* the short critical section: a few dependent loads and stores */
		for (int k = 0; k < 8; k++)
			cm_counter++;
		pthread_mutex_unlock(&cm);
		ops++;
	}
	cm_ops[me] = ops;
	pthread_barrier_wait(&cm_end);
	return 0;
}

/* `threads` threads lock and unlock one mutex for `target_ns` (timed from when all have started
 * until all have stopped; creation and join are not counted): ns per acquisition. Time-boxed
 * rather than calibrated: how much the threads overlap varies from run to run on two CPUs, and
 * with it the cost per op by orders of magnitude. */
static double contended(uint64_t target_ns, int threads)
{
	pthread_t th[8];
	struct timespec d = {(time_t)(target_ns / 1000000000u), (long)(target_ns % 1000000000u)};
	long total = 0;
	cm_stop = 0;
	pthread_barrier_init(&cm_start, 0, (unsigned)threads + 1);
	pthread_barrier_init(&cm_end, 0, (unsigned)threads + 1);
	for (long i = 0; i < threads; i++)
		check(pthread_create(&th[i], 0, cm_worker, (void *)(intptr_t)i), "pthread_create");
	pthread_barrier_wait(&cm_start);
	uint64_t t = now_ns();
	while (nanosleep(&d, &d))
		;
	__atomic_store_n(&cm_stop, 1, __ATOMIC_RELAXED);
	pthread_barrier_wait(&cm_end);
	t = now_ns() - t;
	for (int i = 0; i < threads; i++) {
		check(pthread_join(th[i], 0), "pthread_join");
		total += cm_ops[i];
	}
	pthread_barrier_destroy(&cm_start);
	pthread_barrier_destroy(&cm_end);
	return (double)t / (double)(total > 0 ? total : 1);
}

static double row_mutex2(uint64_t target_ns)
{
	return contended(target_ns, 2);
}

static double row_mutex4(uint64_t target_ns)
{
	return contended(target_ns, 4);
}

/* ---- condvar broadcast to 8 waiters ------------------------------------------------------- */

#define BC_WAITERS 8
static pthread_mutex_t bc_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bc_go = PTHREAD_COND_INITIALIZER, bc_done = PTHREAD_COND_INITIALIZER;
static unsigned long bc_gen;
static int bc_arrived, bc_stop;

static void *bc_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&bc_m);
	unsigned long mine = bc_gen;
	if (++bc_arrived == BC_WAITERS)
		pthread_cond_signal(&bc_done);
	for (;;) {
		while (bc_gen == mine)
			pthread_cond_wait(&bc_go, &bc_m);
		mine = bc_gen;
		if (bc_stop)
			break;
		if (++bc_arrived == BC_WAITERS)
			pthread_cond_signal(&bc_done);
	}
	pthread_mutex_unlock(&bc_m);
	return 0;
}

static uint64_t row_broadcast8(long n)
{
	pthread_t th[BC_WAITERS];
	bc_gen = 0;
	bc_arrived = 0;
	bc_stop = 0;
	for (int i = 0; i < BC_WAITERS; i++)
		check(pthread_create(&th[i], 0, bc_waiter, 0), "pthread_create");
	pthread_mutex_lock(&bc_m);
	while (bc_arrived < BC_WAITERS)
		pthread_cond_wait(&bc_done, &bc_m);
	/* Every waiter counted itself under the lock and went on to wait on bc_go without
	 * releasing it: while we hold the lock, all are waiting. */
	uint64_t t = now_ns();
	for (long i = 0; i < n; i++) {
		bc_arrived = 0;
		bc_gen++;
		pthread_cond_broadcast(&bc_go);
		while (bc_arrived < BC_WAITERS)
			pthread_cond_wait(&bc_done, &bc_m);
	}
	t = now_ns() - t;
	bc_stop = 1;
	bc_gen++;
	pthread_cond_broadcast(&bc_go);
	pthread_mutex_unlock(&bc_m);
	for (int i = 0; i < BC_WAITERS; i++)
		check(pthread_join(th[i], 0), "pthread_join");
	return t;
}

/* ---- the table and the driver ------------------------------------------------------------- */

/* A row is either counted (`run(n)` returns the time n ops took; calibrated) or time-boxed
 * (`timed(target)` runs for about `target` ns and returns ns per op). */
static const struct {
	const char *name;
	uint64_t (*run)(long n);
	double (*timed)(uint64_t target_ns);
} rows[] = {
	{"wake_no_waiters", row_wake, 0},
	{"clock_gettime", row_clock, 0},
	{"timedlock", row_timedlock, 0},
	{"raise_handler", row_raise, 0},
	{"sigprocmask_pair", row_sigprocmask, 0},
	{"create_join", row_create_join, 0},
	{"ping_pong", row_ping_pong, 0},
	{"mutex_2", 0, row_mutex2},
	{"mutex_4", 0, row_mutex4},
	{"broadcast_8", row_broadcast8, 0},
};
#define NROWS (sizeof rows / sizeof rows[0])

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int run(const char *name, long target_ms, int samples)
{
	for (size_t r = 0; r < NROWS; r++) {
		if (strcmp(rows[r].name, name))
			continue;
		uint64_t target = (uint64_t)target_ms * 1000000u;
		if (rows[r].timed) {
			rows[r].timed(target / 10); /* warm-up */
			for (int s = 0; s < samples; s++) {
				printf("sample %s %.3f %ld\n", name, rows[r].timed(target), 0L);
				fflush(stdout);
			}
			return 0;
		}
		/* Calibration (and warm-up): double until a run takes a tenth of the target, then
		 * scale; the median of three short runs guards against a preempted one. */
		long n = 1;
		uint64_t t;
		for (;;) {
			t = rows[r].run(n);
			if (t >= target / 10 || n > (1L << 40))
				break;
			n *= 2;
		}
		uint64_t c[3] = {t, rows[r].run(n), rows[r].run(n)};
		qsort(c, 3, sizeof c[0], cmp_u64);
		double per = (double)(c[1] ? c[1] : 1) / (double)n;
		long iters = (long)((double)target / per);
		if (iters < 1)
			iters = 1;
		for (int s = 0; s < samples; s++) {
			t = rows[r].run(iters);
			printf("sample %s %.3f %ld\n", name, (double)t / (double)iters, iters);
			fflush(stdout);
		}
		return 0;
	}
	fprintf(stderr, "bench: no row %s\n", name);
	return 2;
}

/* ---- memory per thread -------------------------------------------------------------------- */

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t len = strlen(field);
	if (!f)
		die("/proc/self/status");
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, 0, 10);
	fclose(f);
	return v;
}

static pthread_barrier_t mem_started;
static pthread_mutex_t mem_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mem_cv = PTHREAD_COND_INITIALIZER;
static int mem_release;

static void *mem_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&mem_started);
	pthread_mutex_lock(&mem_m);
	while (!mem_release)
		pthread_cond_wait(&mem_cv, &mem_m);
	pthread_mutex_unlock(&mem_m);
	return 0;
}

static int mem(int n)
{
	pthread_t *th = calloc((size_t)n, sizeof *th);
	pthread_attr_t a;
	size_t stack = 0;
	if (!th)
		die("calloc");
	/* One thread first, so that one-time setup (lintel's tables, musl's first-thread work)
	 * is not counted per thread. */
	pthread_barrier_init(&mem_started, 0, 2);
	pthread_t first;
	check(pthread_create(&first, 0, mem_thread, 0), "pthread_create");
	pthread_barrier_wait(&mem_started);
	pthread_barrier_destroy(&mem_started);
	long vs0 = status_kb("VmSize"), rss0 = status_kb("VmRSS");
	pthread_barrier_init(&mem_started, 0, (unsigned)n + 1);
	for (int i = 0; i < n; i++)
		check(pthread_create(&th[i], 0, mem_thread, 0), "pthread_create");
	pthread_barrier_wait(&mem_started);
	long vs1 = status_kb("VmSize"), rss1 = status_kb("VmRSS");
	pthread_mutex_lock(&mem_m);
	mem_release = 1;
	pthread_cond_broadcast(&mem_cv);
	pthread_mutex_unlock(&mem_m);
	for (int i = 0; i < n; i++)
		check(pthread_join(th[i], 0), "pthread_join");
	check(pthread_join(first, 0), "pthread_join");
	pthread_attr_init(&a);
	pthread_attr_getstacksize(&a, &stack);
	printf("mem %d %ld %ld %ld %ld\n", n, vs0, vs1, rss0, rss1);
	printf("stack_default %zu\n", stack / 1024);
	printf("minsigstksz %lu\n", getauxval(AT_MINSIGSTKSZ));
	free(th);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		for (size_t r = 0; r < NROWS; r++)
			printf("%s\n", rows[r].name);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "run"))
		return run(argv[2], atol(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "mem"))
		return mem(atoi(argv[2]));
	fprintf(stderr, "usage: bench list | run ROW TARGET_MS SAMPLES | mem N\n");
	return 2;
}
