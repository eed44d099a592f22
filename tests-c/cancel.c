/* Deferred cancellation of threads blocked in pthread_cond_wait (cleanup handler unlocks the
 * mutex), sem_wait, pthread_join, nanosleep and read; disabled cancellation; testcancel. */
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t sem, started;
static int cleaned, fds[2];
static pthread_t forever;

static void unlock_cleanup(void *arg)
{
	cleaned++;
	pthread_mutex_unlock(arg);
}

static void *in_condwait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock_cleanup, &m);
	sem_post(&started);
	for (;;)
		pthread_cond_wait(&c, &m);
	pthread_cleanup_pop(1);
	return 0;
}

static void *in_semwait(void *arg)
{
	(void)arg;
	sem_post(&started);
	sem_wait(&sem);
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep_ms(100000);
	return 0;
}

static void *in_join(void *arg)
{
	(void)arg;
	sem_post(&started);
	pthread_join(forever, 0);
	return 0;
}

static void *in_nanosleep(void *arg)
{
	(void)arg;
	sem_post(&started);
	struct timespec ts = { 100, 0 };
	nanosleep(&ts, 0);
	return 0;
}

static void *in_read(void *arg)
{
	(void)arg;
	char b;
	sem_post(&started);
	read(fds[0], &b, 1);
	return 0;
}

static void *disabled(void *arg)
{
	(void)arg;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	sem_post(&started);
	sleep_ms(100); /* the cancel arrives meanwhile and stays pending */
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	pthread_testcancel();
	return (void *)1; /* not reached */
}

static const char *cancel(void *(*f)(void *))
{
	pthread_t t;
	void *r;
	EXPECT(pthread_create(&t, 0, f, 0), 0);
	sem_wait(&started);
	sleep_ms(20); /* let it block */
	EXPECT(pthread_cancel(t), 0);
	EXPECT(pthread_join(t, &r), 0);
	return r == PTHREAD_CANCELED ? "canceled" : "not canceled";
}

int main(void)
{
	sem_init(&sem, 0, 0);
	sem_init(&started, 0, 0);
	CHECK(pipe(fds) == 0);
	printf("pthread_cond_wait: %s", cancel(in_condwait));
	printf(", cleanup ran %d, mutex free: %s\n", cleaned,
	       pthread_mutex_trylock(&m) == 0 ? "yes" : "no");
	pthread_mutex_unlock(&m);
	printf("sem_wait: %s\n", cancel(in_semwait));
	EXPECT(pthread_create(&forever, 0, sleeper, 0), 0);
	printf("pthread_join: %s\n", cancel(in_join));
	printf("nanosleep: %s\n", cancel(in_nanosleep));
	printf("read on an empty pipe: %s\n", cancel(in_read));
	printf("disabled, then testcancel: %s\n", cancel(disabled));
	EXPECT(pthread_cancel(forever), 0);
	void *r;
	EXPECT(pthread_join(forever, &r), 0);
	printf("sleeper: %s\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled");
	return 0;
}
