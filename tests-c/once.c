/* pthread_once: 16 threads race to one initialiser, which runs exactly once and blocks the
 * others until it is done; separate once controls stay separate. */
#include <pthread.h>
#include "common.h"

static pthread_once_t once = PTHREAD_ONCE_INIT, other = PTHREAD_ONCE_INIT;
static int runs, other_runs, ready;

static void init(void)
{
	runs++;
	sleep_ms(50); /* the others must wait, not skip */
	ready = 1;
}

static void init_other(void)
{
	other_runs++;
}

static void *worker(void *arg)
{
	(void)arg;
	EXPECT(pthread_once(&once, init), 0);
	CHECK(ready == 1);
	EXPECT(pthread_once(&other, init_other), 0);
	return 0;
}

int main(void)
{
	enum { N = 16 };
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		EXPECT(pthread_create(&t[i], 0, worker, 0), 0);
	for (int i = 0; i < N; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	EXPECT(pthread_once(&once, init), 0);
	printf("%d threads: init ran %d time(s), other init %d time(s)\n", N, runs, other_runs);
	return 0;
}
