/* fork from a process with several threads (some blocked): the child has one thread, can use
 * mutexes, create and join threads, and exit; the parent waits for it. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int stop;

static void *blocked(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	while (!stop)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
	return 0;
}

static void *child_thread(void *arg)
{
	return (void *)((long)arg * 2);
}

int main(void)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_create(&t[i], 0, blocked, 0), 0);
	sleep_ms(20);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pthread_mutex_lock(&m); /* the parent's threads are gone; it is free */
		pthread_mutex_unlock(&m);
		pthread_t u;
		void *r;
		if (pthread_create(&u, 0, child_thread, (void *)21) != 0 || pthread_join(u, &r))
			_exit(3);
		printf("child: a thread returned %ld\n", (long)r);
		fflush(stdout);
		_exit(7);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("parent: child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	pthread_mutex_lock(&m);
	stop = 1;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("parent: joined its 3 threads\n");
	return 0;
}
