/* lintel's demo: a parallel work queue.
 *
 * Four worker threads take jobs from a queue guarded by a mutex and two condition variables,
 * count the primes in each job's range and hand the counts back; the main thread waits for all
 * results, then joins the workers. A fifth, detached thread writes a progress report when half
 * the jobs are done and exits on its own.
 *
 * Built with lintel-cc, every thread is created by lintel's clone and every mutex, condvar and
 * join sleeps in lintel's futex table; built with musl-gcc, the same program runs on Linux. The
 * output must be the same. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4
#define JOBS 64
#define SPAN 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_done = PTHREAD_COND_INITIALIZER;
static int next_job, pushed, done, closed, reported;
static long results[JOBS];
static int done_by[WORKERS];

static long count_primes(long lo, long hi)
{
	long n, d, c = 0;
	for (n = lo < 2 ? 2 : lo; n < hi; n++) {
		for (d = 2; d * d <= n && n % d; d++)
			;
		c += d * d > n;
	}
	return c;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (next_job == pushed && !closed)
			pthread_cond_wait(&job_ready, &lock);
		if (next_job == pushed) {
			pthread_mutex_unlock(&lock);
			return (void *)(long)done_by[id];
		}
		int job = next_job++;
		pthread_mutex_unlock(&lock);

		long r = count_primes((long)job * SPAN, (long)(job + 1) * SPAN);

		pthread_mutex_lock(&lock);
		results[job] = r;
		done_by[id]++;
		done++;
		pthread_cond_broadcast(&job_done);
		pthread_mutex_unlock(&lock);
	}
}

static void *reporter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (done < JOBS / 2)
		pthread_cond_wait(&job_done, &lock);
	pthread_mutex_unlock(&lock);
	printf("reporter (detached): half of the jobs are done\n");
	fflush(stdout);
	pthread_mutex_lock(&lock);
	reported = 1;
	pthread_cond_broadcast(&job_done);
	pthread_mutex_unlock(&lock);
	return 0;
}

int main(void)
{
	pthread_t t[WORKERS], rep;
	pthread_attr_t detached;
	long total = 0, handled = 0;
	int i;

	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&rep, &detached, reporter, 0)) return 1;
	for (i = 0; i < WORKERS; i++)
		if (pthread_create(&t[i], 0, worker, (void *)(long)i)) return 1;

	/* Hand out the jobs in four batches, waking every worker each time. */
	for (i = 1; i <= 4; i++) {
		pthread_mutex_lock(&lock);
		pushed = i * JOBS / 4;
		pthread_cond_broadcast(&job_ready);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	closed = 1;
	pthread_cond_broadcast(&job_ready);
	while (done < JOBS || !reported)
		pthread_cond_wait(&job_done, &lock);
	pthread_mutex_unlock(&lock);

	for (i = 0; i < WORKERS; i++) {
		void *r;
		pthread_join(t[i], &r);
		handled += (long)r;
	}
	for (i = 0; i < JOBS; i++)
		total += results[i];
	printf("%d jobs on %d workers: %ld primes below %d; every job handled once: %s\n",
	       JOBS, WORKERS, total, JOBS * SPAN, handled == JOBS ? "yes" : "no");
	return 0;
}
