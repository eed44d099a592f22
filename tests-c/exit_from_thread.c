/* exit() called by one thread while others are blocked in a condvar wait, a join and a
 * sleep: the process ends at once with that status, and atexit handlers run once.
 * ctest-exit-status: 5 */
#include <pthread.h>
#include <unistd.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_t waiter;

static void at_exit(void)
{
	printf("atexit handler ran\n");
}

static void *in_condwait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	for (;;)
		pthread_cond_wait(&c, &m);
	return 0;
}

static void *in_join(void *arg)
{
	(void)arg;
	pthread_join(waiter, 0);
	return 0;
}

static void *in_sleep(void *arg)
{
	(void)arg;
	sleep_ms(100000);
	return 0;
}

static void *exiter(void *arg)
{
	(void)arg;
	sleep_ms(50);
	printf("a thread calls exit(5)\n");
	exit(5);
}

int main(void)
{
	atexit(at_exit);
	pthread_t t;
	EXPECT(pthread_create(&waiter, 0, in_condwait, 0), 0);
	EXPECT(pthread_create(&t, 0, in_join, 0), 0);
	EXPECT(pthread_create(&t, 0, in_sleep, 0), 0);
	EXPECT(pthread_create(&t, 0, exiter, 0), 0);
	printf("main blocks in pthread_join\n");
	fflush(stdout);
	pthread_join(t, 0);
	printf("not reached\n");
	return 0;
}
