/* musl's __synccall (setuid/setgid with several threads): every other thread must run musl's
 * SIGSYNCCALL handler, including threads blocked in condvar waits (in lintel's futex table) and a
 * thread spinning in user code. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int go;
static volatile int stop_spinning;
static volatile long spins;

static void *waiter(void *a)
{
	pthread_mutex_lock(&m);
	while (!go)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
	return a;
}

static void *spinner(void *a)
{
	while (!stop_spinning)
		spins++;
	return a;
}

int main(void)
{
	pthread_t t[4], s;
	int ok = 0;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], 0, waiter, 0))
			return 1;
	if (pthread_create(&s, 0, spinner, 0))
		return 1;
	usleep(20000);
	for (int i = 0; i < 50; i++)
		ok += setuid(getuid()) == 0 && setgid(getgid()) == 0;
	pthread_mutex_lock(&m);
	go = 1;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
	stop_spinning = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	pthread_join(s, 0);
	printf("setuid/setgid with 5 other threads (4 in condvar waits, 1 spinning): %d of 50 ok\n", ok);
	return 0;
}
