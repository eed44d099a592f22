/* Shared helpers for lintel's C tests (tests-c/). Each test prints deterministic lines on
 * stdout, exits 0 on success, and is run by `cargo xtask ctest` twice: built with Debian's
 * musl-gcc (the oracle) and with lintel-cc; stdout and exit status must match. */
#ifndef LINTEL_CTEST_COMMON_H
#define LINTEL_CTEST_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Stops the test with a message on stderr and stdout if `cond` is false. */
#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
			exit(1);                                                           \
		}                                                                          \
	} while (0)

static inline const char *yesno(int b)
{
	return b ? "yes" : "no";
}

/* A pthread call that must return `want` (0 or an errno value). */
#define EXPECT(call, want)                                                                 \
	do {                                                                               \
		int r_ = (call);                                                           \
		if (r_ != (want)) {                                                        \
			printf("FAIL %s:%d: %s = %d (%s), want %d\n", __FILE__, __LINE__,  \
			       #call, r_, strerror(r_), (want));                           \
			fprintf(stderr, "FAIL %s:%d: %s = %d, want %d\n", __FILE__,        \
				__LINE__, #call, r_, (want));                              \
			exit(1);                                                           \
		}                                                                          \
	} while (0)

/* An absolute CLOCK_REALTIME deadline `ms` milliseconds from now. */
static inline struct timespec deadline_ms(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static inline long elapsed_ms(struct timespec since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since.tv_sec) * 1000 + (now.tv_nsec - since.tv_nsec) / 1000000;
}

static inline struct timespec mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

#ifdef _PTHREAD_H
#include <signal.h>
#include <stdint.h>

/* Where a test is, for the watchdog's message. */
static const char *volatile stage __attribute__((unused)) = "start";

static void *watchdog_thread(void *arg)
{
	sleep_ms((long)(intptr_t)arg);
	printf("FAIL watchdog: stuck in %s\n", stage);
	fprintf(stderr, "FAIL watchdog: stuck in %s\n", stage);
	exit(1);
}

/* Starts a watchdog thread that ends the test after `ms` milliseconds (a broken implementation
 * fails instead of hanging). It takes no signal: it is created with every signal blocked (it
 * inherits the mask), so a process-directed signal can never land on it. */
static inline void start_watchdog(pthread_t *t, long ms)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(t, 0, watchdog_thread, (void *)(intptr_t)ms);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	CHECK(r == 0);
}
#endif

#endif
