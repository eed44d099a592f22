/* fork() while other threads are busy in futex calls: the child must find lintel's futex table
 * usable (no bucket left locked by a thread that does not exist in the child, no waiter of the
 * parent's threads still queued), and the parent must go on undisturbed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static volatile int stop;
static long turns;

static void *busy(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_mutex_lock(&m);
		turns++;
		pthread_cond_broadcast(&c);
		pthread_mutex_unlock(&m);
	}
	return 0;
}

/* In the child: a fresh mutex and condvar, two threads handing a token back and forth. */
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cc = PTHREAD_COND_INITIALIZER;
static int token;

static void *pong(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		pthread_mutex_lock(&cm);
		while (token != 1)
			pthread_cond_wait(&cc, &cm);
		token = 0;
		pthread_cond_signal(&cc);
		pthread_mutex_unlock(&cm);
	}
	return 0;
}

static int child(void)
{
	pthread_t t;
	if (pthread_create(&t, 0, pong, 0))
		return 2;
	for (int i = 0; i < 50; i++) {
		pthread_mutex_lock(&cm);
		token = 1;
		pthread_cond_signal(&cc);
		while (token != 0)
			pthread_cond_wait(&cc, &cm);
		pthread_mutex_unlock(&cm);
	}
	return pthread_join(t, 0) ? 3 : 0;
}

int main(void)
{
	pthread_t t[3];
	int bad = 0;
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t[i], 0, busy, 0))
			return 1;
	for (int i = 0; i < 40; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(child());
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	printf("40 forks with 3 busy threads: children that failed: %d; parent went on: %s\n", bad,
	       turns > 0 ? "yes" : "no");
	return 0;
}
