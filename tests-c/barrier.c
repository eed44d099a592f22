/* Barriers: 4 threads x 500 rounds, exactly one PTHREAD_BARRIER_SERIAL_THREAD per round, and no
 * thread gets a round ahead. */
#include <pthread.h>
#include "common.h"

enum { N = 4, ROUNDS = 500 };
static pthread_barrier_t bar;
static int round_of[N];
static int serials[ROUNDS];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int r = 0; r < ROUNDS; r++) {
		round_of[id] = r;
		int rc = pthread_barrier_wait(&bar);
		CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
		for (int i = 0; i < N; i++)
			CHECK(round_of[i] >= r);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
			pthread_mutex_lock(&m);
			serials[r]++;
			pthread_mutex_unlock(&m);
		}
		rc = pthread_barrier_wait(&bar);
		CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
	}
	return 0;
}

int main(void)
{
	pthread_t t[N];
	EXPECT(pthread_barrier_init(&bar, 0, 0), EINVAL);
	EXPECT(pthread_barrier_init(&bar, 0, N), 0);
	for (long i = 0; i < N; i++)
		EXPECT(pthread_create(&t[i], 0, worker, (void *)i), 0);
	for (int i = 0; i < N; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	int exactly_one = 0;
	for (int r = 0; r < ROUNDS; r++)
		exactly_one += serials[r] == 1;
	printf("%d threads, %d rounds, rounds with exactly one serial thread: %d\n", N, ROUNDS,
	       exactly_one);
	EXPECT(pthread_barrier_destroy(&bar), 0);
	return 0;
}
