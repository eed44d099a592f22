/* The process ends while detached threads are exiting, many times over (each round a forked
 * child): musl's detached threads free their own stacks through __unmapself, which runs on one
 * static stack guarded by __thread_list_lock, released only by the exiting thread's clear-tid
 * store once it is off that stack. A group exit must not release it early (lintel once did:
 * a thread ended by the group exit stored 0 to the lock while another stood on the shared
 * stack, and about 1 child in 10 crashed). Every child must end with status 0. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void *worker(void *arg)
{
	(void)arg;
	return 0;
}

static void child(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 64; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, worker, 0))
			_exit(2);
	}
	exit(0); /* while the detached threads are still exiting */
}

int main(void)
{
	enum { ROUNDS = 200 };
	int ok = 0, crashed = 0, other = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pid_t p = fork();
		CHECK(p >= 0);
		if (p == 0)
			child();
		int st;
		CHECK(waitpid(p, &st, 0) == p);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (WIFSIGNALED(st))
			crashed++;
		else
			other++;
	}
	printf("%d rounds: %d ended with 0, %d killed by a signal, %d other\n", ROUNDS, ok,
	       crashed, other);
	return 0;
}
