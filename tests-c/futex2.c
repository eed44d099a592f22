/* futex2 through raw syscall(): futex_wake (454), futex_wait (455), futex_requeue (456),
 * futex_waitv (449).
 * Errors and values of single calls; blocked waiters woken by masks, counts and requeues, also
 * across futex(2) and FUTEX2_NUMA; timeouts on both clocks; and what a handled signal does to a
 * futex_wait: with SA_RESTART the call is made again (a timed one keeps its absolute deadline),
 * without it the call returns EINTR (Linux's sys_futex_wait returns ERESTARTSYS, timed or not,
 * unlike FUTEX_WAIT_BITSET's restart block). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

#define NR_WAKE 454
#define NR_WAIT 455
#define NR_REQUEUE 456
#define NR_WAITV 449
#define U32 2ul
#define NUMA 4ul
#define PRIV 128ul
#define ANY 0xfffffffful
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128

struct waitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};

/* A raw call's result: the value, or -errno. */
static long sc(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}

static const char *name(long r)
{
	static char b[32];
	switch (r) {
	case -EINVAL: return "EINVAL";
	case -EFAULT: return "EFAULT";
	case -EAGAIN: return "EAGAIN";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -EINTR: return "EINTR";
	}
	snprintf(b, sizeof b, "%ld", r);
	return b;
}

#define SHOW(what, call) printf("%-44s %s\n", what, name(call))

/* Two futexes with their NUMA node words, 8-aligned. */
static _Alignas(64) uint32_t w0[2], w1[2];

static long wake(uint32_t *w, unsigned long mask, long nr, unsigned long flags)
{
	return sc(NR_WAKE, (long)w, (long)mask, nr, (long)flags, 0, 0);
}

static long requeue(uint32_t *from, uint32_t val, uint32_t *to, unsigned flags, long nr_wake,
		    long nr_requeue)
{
	struct waitv v[2] = { { val, (uintptr_t)from, flags, 0 }, { 0, (uintptr_t)to, flags, 0 } };
	return sc(NR_REQUEUE, (long)v, 0, nr_wake, nr_requeue, 0, 0);
}

static struct timespec in_ms(clockid_t c, long ms)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void single(void)
{
	char *p = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	struct timespec epoch = { 0, 0 }, bad = { 0, -1 };
	SHOW("wake", wake(w0, ANY, 1, U32 | PRIV));
	SHOW("wake size u8", wake(w0, ANY, 1, PRIV));
	SHOW("wake size u64", wake(w0, ANY, 1, 3 | PRIV));
	SHOW("wake flag 0x10", wake(w0, ANY, 1, U32 | PRIV | 0x10));
	SHOW("wake mask 0", wake(w0, 0, 1, U32 | PRIV));
	SHOW("wake mask 1<<32", wake(w0, 1ul << 32, 1, U32 | PRIV));
	SHOW("wake misaligned", wake((uint32_t *)((char *)w0 + 2), ANY, 1, U32 | PRIV));
	SHOW("wake unmapped private", wake((uint32_t *)p, ANY, 1, U32 | PRIV));
	SHOW("wake unmapped shared", wake((uint32_t *)p, ANY, 1, U32));
	SHOW("wake unmapped shared, nr 0", wake((uint32_t *)p, ANY, 0, U32));
	w0[1] = 7;
	SHOW("wake numa node 7", wake(w0, ANY, 1, U32 | PRIV | NUMA));
	w0[1] = ~0u;
	SHOW("wake numa node -1", wake(w0, ANY, 1, U32 | PRIV | NUMA));
	printf("%-44s %u\n", "  node written", w0[1]);
	SHOW("wake numa 4-aligned", wake(&w0[1], ANY, 1, U32 | PRIV | NUMA));
	SHOW("wait mismatch", sc(NR_WAIT, (long)w0, 1, ANY, U32 | PRIV, 0, 0));
	SHOW("wait val 1<<32", sc(NR_WAIT, (long)w0, 1l << 32, ANY, U32 | PRIV, 0, 0));
	SHOW("wait mask 0", sc(NR_WAIT, (long)w0, 0, 0, U32 | PRIV, 0, 0));
	SHOW("wait epoch monotonic", sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, (long)&epoch, CLOCK_MONOTONIC));
	SHOW("wait epoch realtime", sc(NR_WAIT, (long)w0, 0, ANY, U32, (long)&epoch, CLOCK_REALTIME));
	SHOW("wait clock boottime", sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, (long)&epoch, CLOCK_BOOTTIME));
	SHOW("wait bad clock, timespec unmapped", sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, (long)p, 9));
	SHOW("wait timespec unmapped", sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, (long)p, CLOCK_MONOTONIC));
	SHOW("wait bad timespec", sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, (long)&bad, CLOCK_MONOTONIC));
	SHOW("wait unmapped", sc(NR_WAIT, (long)p, 0, ANY, U32 | PRIV, 0, 0));
	SHOW("requeue", requeue(w0, 0, w1, U32 | PRIV, 1, 1));
	SHOW("requeue mismatch", requeue(w0, 5, w1, U32 | PRIV, 1, 1));
	SHOW("requeue nr -1", requeue(w0, 0, w1, U32 | PRIV, -1, 1));
	SHOW("requeue null", sc(NR_REQUEUE, 0, 0, 1, 1, 0, 0));
	SHOW("requeue unmapped", sc(NR_REQUEUE, (long)p, 0, 1, 1, 0, 0));
	struct waitv v[2] = { { 0, (uintptr_t)w0, U32 | PRIV, 0 }, { 0, (uintptr_t)w1, U32, 0 } };
	SHOW("requeue flags differ", sc(NR_REQUEUE, (long)v, 0, 1, 1, 0, 0));
	SHOW("requeue flags 1", sc(NR_REQUEUE, (long)v, 1, 1, 1, 0, 0));
	struct waitv wv[2] = { { 0, (uintptr_t)w0, U32 | PRIV, 0 }, { 0, (uintptr_t)w1, U32 | PRIV, 0 } };
	SHOW("waitv epoch", sc(NR_WAITV, (long)wv, 2, 0, (long)&epoch, CLOCK_MONOTONIC, 0));
	SHOW("waitv nr 0", sc(NR_WAITV, (long)wv, 0, 0, (long)&epoch, CLOCK_MONOTONIC, 0));
	SHOW("waitv nr 129", sc(NR_WAITV, (long)wv, 129, 0, (long)&epoch, CLOCK_MONOTONIC, 0));
	SHOW("waitv flags 1", sc(NR_WAITV, (long)wv, 2, 1, (long)&epoch, CLOCK_MONOTONIC, 0));
	SHOW("waitv null", sc(NR_WAITV, 0, 2, 0, (long)&epoch, CLOCK_MONOTONIC, 0));
	SHOW("waitv unmapped, bad clock", sc(NR_WAITV, (long)p, 2, 0, (long)&epoch, 5, 0));
	SHOW("waitv unmapped", sc(NR_WAITV, (long)p, 2, 0, (long)&epoch, CLOCK_REALTIME, 0));
	wv[1].val = 3;
	SHOW("waitv mismatch", sc(NR_WAITV, (long)wv, 2, 0, 0, 0, 0));
	wv[1].val = 1ul << 32;
	SHOW("waitv val 1<<32", sc(NR_WAITV, (long)wv, 2, 0, 0, 0, 0));
	wv[1].val = 0;
	wv[1].uaddr = (uintptr_t)p;
	SHOW("waitv unmapped word", sc(NR_WAITV, (long)wv, 2, 0, (long)&epoch, CLOCK_MONOTONIC, 0));
	munmap(p, 4096);
}

/* ---- blocked waiters ---- */

struct waiter {
	pthread_t t;
	uint32_t *w;
	unsigned long mask, flags;
	uint32_t *also; /* with futex_waitv: the second word */
	long r;
	volatile int done;
};

static void *wait_thread(void *arg)
{
	struct waiter *x = arg;
	if (x->also) {
		struct waitv v[2] = { { 0, (uintptr_t)x->w, (uint32_t)x->flags, 0 },
				      { 0, (uintptr_t)x->also, (uint32_t)x->flags, 0 } };
		x->r = sc(NR_WAITV, (long)v, 2, 0, 0, 0, 0);
	} else {
		x->r = sc(NR_WAIT, (long)x->w, 0, (long)x->mask, (long)x->flags, 0, 0);
	}
	x->done = 1;
	return 0;
}

/* How many wait on `w` with `flags` (a requeue of everyone to the same word, which keeps
 * their order), polled until it is `n` (bounded). */
static void until_queued(uint32_t *w, unsigned flags, long n)
{
	long got = -1;
	for (int i = 0; i < 2000 && (got = requeue(w, 0, w, flags, 0, 100)) != n; i++)
		sleep_ms(1);
	CHECK(got == n);
}

static void start(struct waiter *x, uint32_t *w, unsigned long mask, unsigned long flags)
{
	x->w = w;
	x->mask = mask;
	x->flags = flags;
	x->also = 0;
	x->done = 0;
	EXPECT(pthread_create(&x->t, 0, wait_thread, x), 0);
}

static void finish(struct waiter *x, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		EXPECT(pthread_join(x[i].t, 0), 0);
		printf("%s: waiter %d returned %s\n", what, i, name(x[i].r));
	}
}

/* Waits (bounded) until exactly the waiters in `want` (a bit mask) have returned. */
static void returned(struct waiter *x, int n, unsigned want)
{
	for (int i = 0; i < 2000; i++) {
		unsigned got = 0;
		for (int k = 0; k < n; k++)
			got |= (unsigned)x[k].done << k;
		if (got == want)
			break;
		sleep_ms(1);
	}
	sleep_ms(10);
	unsigned got = 0;
	for (int k = 0; k < n; k++)
		got |= (unsigned)x[k].done << k;
	printf("  returned: %#x\n", got);
}

static void blocked(unsigned long scope)
{
	struct waiter x[4];
	unsigned long f = U32 | scope;
	const char *s = scope ? "private" : "shared";
	w0[0] = w1[0] = 0;
	w0[1] = w1[1] = 0;

	/* masks */
	stage = "masks";
	start(&x[0], w0, 1, f);
	until_queued(w0, f, 1);
	start(&x[1], w0, 2, f);
	until_queued(w0, f, 2);
	printf("%s wake mask 4: %s\n", s, name(wake(w0, 4, 10, f)));
	printf("%s wake nr 0: %s\n", s, name(wake(w0, ANY, 0, f)));
	printf("%s wake mask 2: %s\n", s, name(wake(w0, 2, 10, f)));
	returned(x, 2, 2);
	printf("%s futex(2) wake: %s\n", s,
	       name(sc(SYS_futex, (long)w0, FUTEX_WAKE | (scope ? FUTEX_PRIVATE_FLAG : 0), 10, 0, 0, 0)));
	finish(x, 2, "masks");

	/* requeue: wake 1, move 2, then the rest */
	stage = "requeue";
	for (int i = 0; i < 3; i++) {
		start(&x[i], w0, ANY, f);
		until_queued(w0, f, i + 1);
	}
	printf("%s requeue mismatch: %s\n", s, name(requeue(w0, 9, w1, f, 1, 2)));
	printf("%s requeue wake 1 move 1: %s\n", s, name(requeue(w0, 0, w1, f, 1, 1)));
	returned(x, 3, 1);
	printf("%s wake moved: %s\n", s, name(wake(w1, ANY, 10, f)));
	returned(x, 3, 3);
	printf("%s wake rest: %s\n", s, name(wake(w0, ANY, 10, f)));
	finish(x, 3, "requeue");

	/* NUMA: a private NUMA futex never meets a plain one (one node: a shared one does) */
	stage = "numa";
	start(&x[0], w0, ANY, f | NUMA);
	until_queued(w0, f | NUMA, 1);
	printf("%s numa waiter, plain wake: %s\n", s, name(wake(w0, ANY, 1, f)));
	printf("%s numa waiter, numa wake: %s\n", s, name(wake(w0, ANY, 1, f | NUMA)));
	returned(x, 1, 1);
	finish(x, 1, "numa");

	/* futex_waitv on two words: woken on the second, it returns 1 */
	stage = "waitv";
	x[0].w = w0;
	x[0].also = w1;
	x[0].flags = f;
	x[0].done = 0;
	EXPECT(pthread_create(&x[0].t, 0, wait_thread, &x[0]), 0);
	until_queued(w1, f, 1);
	printf("%s waitv, wake the second word: %s\n", s, name(wake(w1, ANY, 1, f)));
	returned(x, 1, 1);
	finish(x, 1, "waitv");
}

/* ---- timeouts and signals ---- */

static volatile int hits;
static void handler(int sig)
{
	(void)sig;
	hits++;
}

static void install(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
}

struct timed {
	clockid_t clock;
	long ms; /* 0: no timeout */
	int waitv;
	long r, took;
	volatile int done;
};

static void *timed_thread(void *arg)
{
	struct timed *t = arg;
	struct timespec t0 = mono_now(), ts = in_ms(t->clock, t->ms);
	struct waitv v[2] = { { 0, (uintptr_t)w1, U32 | PRIV, 0 }, { 0, (uintptr_t)w0, U32 | PRIV, 0 } };
	if (t->waitv)
		t->r = sc(NR_WAITV, (long)v, 2, 0, t->ms ? (long)&ts : 0, t->clock, 0);
	else
		t->r = sc(NR_WAIT, (long)w0, 0, ANY, U32 | PRIV, t->ms ? (long)&ts : 0, t->clock);
	t->took = elapsed_ms(t0);
	t->done = 1;
	return 0;
}

/* A futex_wait on `clock` for `ms` (0: untimed) gets SIGUSR1 every 10 ms: 5 times, or with
 * `until_done` until it returns; an untimed one is then woken. */
static void signalled(const char *how, clockid_t clock, long ms, int until_done, int waitv)
{
	struct timed t = { clock, ms, waitv, 0, 0, 0 };
	pthread_t th;
	w0[0] = w1[0] = 0;
	hits = 0;
	EXPECT(pthread_create(&th, 0, timed_thread, &t), 0);
	for (int i = 0; i < (until_done ? 300 : 5) && !t.done; i++) {
		EXPECT(pthread_kill(th, SIGUSR1), 0);
		sleep_ms(10);
	}
	int still = !t.done;
	if (!ms && !until_done) {
		for (int i = 0; i < 2000 && !t.done; i++) {
			wake(w0, ANY, 1, U32 | PRIV);
			sleep_ms(1);
		}
	}
	EXPECT(pthread_join(th, 0), 0);
	printf("%s%s, %s %s: %s, still waiting after 5 signals %s, handler ran %s",
	       waitv ? "futex_waitv " : "", how,
	       ms ? "timed" : "untimed", clock == CLOCK_REALTIME ? "realtime" : "monotonic",
	       name(t.r), until_done ? "-" : yesno(still), yesno(hits > 0));
	if (ms && t.r == -ETIMEDOUT)
		printf(", at its deadline %s", yesno(t.took >= ms - 1 && t.took < ms + 500));
	printf("\n");
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 30000);
	single();
	blocked(PRIV);
	blocked(0);

	stage = "timeouts";
	for (int c = 0; c < 2; c++) {
		struct timed t = { c ? CLOCK_REALTIME : CLOCK_MONOTONIC, 30, 0, 0, 0, 0 };
		timed_thread(&t);
		printf("timeout 30 ms %s: %s, at its deadline %s\n", c ? "realtime" : "monotonic",
		       name(t.r), yesno(t.took >= 29 && t.took < 500));
	}

	stage = "signals";
	for (int v = 0; v < 2; v++) {
		install(SA_RESTART);
		signalled("SA_RESTART", CLOCK_MONOTONIC, 300, 0, v);
		signalled("SA_RESTART", CLOCK_REALTIME, 300, 0, v);
		signalled("SA_RESTART", CLOCK_MONOTONIC, 0, 0, v);
		install(0);
		signalled("no SA_RESTART", CLOCK_MONOTONIC, 2000, 1, v);
		signalled("no SA_RESTART", CLOCK_MONOTONIC, 0, 1, v);
	}
	printf("ok\n");
	return 0;
}
