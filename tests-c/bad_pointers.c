/* Bad pointers where Linux ignores them or returns EFAULT, with the fault signals blocked the way
 * musl blocks them around thread exit: lintel must answer as Linux, never die of SIGSEGV. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl has no linux/ headers) */
#include "common.h"

int main(void)
{
	sigset_t all, old;
	sigfillset(&all);

	/* A private FUTEX_WAIT on an unmapped word with every signal blocked: EFAULT. */
	sigprocmask(SIG_BLOCK, &all, &old);
	long r = syscall(SYS_futex, (int *)16, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, 0);
	printf("futex wait on an unmapped word, signals blocked: %ld %s\n", r, e == EFAULT ? "EFAULT" : "other");

	/* A thread (here: a child process's only thread) exiting with a bad clear-tid address:
	 * Linux ignores the failed store; the exit status is the one asked for. */
	pid_t p = fork();
	if (p == 0) {
		sigprocmask(SIG_BLOCK, &all, 0);
		syscall(SYS_set_tid_address, (void *)16);
		syscall(SYS_exit, 3);
		_exit(99);
	}
	int st;
	waitpid(p, &st, 0);
	if (WIFEXITED(st))
		printf("exit with a bad clear-tid address: exit status %d\n", WEXITSTATUS(st));
	else
		printf("exit with a bad clear-tid address: killed by signal %d\n", WTERMSIG(st));
	return 0;
}
