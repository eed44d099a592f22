/* A workload whose counts are known, for LINTEL_STATS: 7 getppid calls, 5 futex waits on `word`
 * that find another value (EAGAIN), 3 timed waits of 1 ms on `slow` (ETIMEDOUT), 2 SIGUSR1
 * raised and handled, 1 thread created and joined. As a C test it must print the same as under
 * musl-gcc; the ctest check `stats-report` (xtask/src/stats_check.rs) also runs the lintel-cc
 * build with LINTEL_STATS=1 and checks lintel's report on stderr against these numbers, with the
 * two addresses this program prints on stderr. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

#define FUTEX_WAIT_PRIVATE 128

static int word;
static int slow;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *thread_main(void *arg)
{
	return arg;
}

int main(void)
{
	for (int i = 0; i < 7; i++)
		CHECK(getppid() > 0);

	int again = 0;
	for (int i = 0; i < 5; i++)
		again += syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, 0) == -1 && errno == EAGAIN;
	printf("EAGAIN waits: %d\n", again);

	int timed_out = 0;
	for (int i = 0; i < 3; i++) {
		struct timespec ts = {0, 1000000};
		timed_out += syscall(SYS_futex, &slow, FUTEX_WAIT_PRIVATE, 0, &ts) == -1 &&
			     errno == ETIMEDOUT;
	}
	printf("timed out waits: %d\n", timed_out);

	struct sigaction sa = {.sa_handler = on_usr1};
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("handled: %d\n", (int)handled);

	pthread_t t;
	void *res = 0;
	EXPECT(pthread_create(&t, 0, thread_main, &word), 0);
	EXPECT(pthread_join(t, &res), 0);
	printf("joined: %s\n", yesno(res == &word));

	fprintf(stderr, "stats: word %p slow %p\n", (void *)&word, (void *)&slow);
	return 0;
}
