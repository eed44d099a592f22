/* posix_spawn from a process with signal handlers: the child (which shares the parent's memory
 * until it execs) resets handlers to SIG_DFL without touching the parent's, keeps ignored
 * signals ignored and inherits the blocked mask across exec; the parent's handlers still run
 * afterwards. */
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

extern char **environ;
static volatile int got;

static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

static int run(char *const argv[])
{
	pid_t pid;
	fflush(stdout);
	int rc = posix_spawn(&pid, argv[0], 0, 0, argv, environ);
	if (rc)
		return -rc;
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

int main(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	CHECK(sigprocmask(SIG_BLOCK, &hup, 0) == 0);

	/* In the child: SIGUSR2 still ignored (the shell survives it), SIGUSR1 back to the default
	 * (the shell dies of it), SIGHUP still blocked (pending, the shell survives). */
	char *ign[] = { "/bin/sh", "-c", "kill -USR2 $$; kill -HUP $$; echo child survived USR2 and a blocked HUP", 0 };
	printf("child 1 exited %d\n", run(ign));
	char *dfl[] = { "/bin/sh", "-c", "kill -USR1 $$; echo not reached", 0 };
	printf("child 2 exited %d\n", run(dfl));
	char *blk[] = { "/bin/sh", "-c", "grep SigBlk /proc/self/status", 0 };
	printf("child 3 exited %d\n", run(blk));

	/* The parent's own dispositions and mask are unchanged. */
	raise(SIGUSR1);
	printf("parent handler ran %d time(s)\n", got);
	struct sigaction now;
	CHECK(sigaction(SIGUSR2, 0, &now) == 0);
	printf("parent SIGUSR2 ignored: %s\n", now.sa_handler == SIG_IGN ? "yes" : "no");
	sigset_t cur;
	CHECK(sigprocmask(SIG_BLOCK, 0, &cur) == 0);
	printf("parent SIGHUP blocked: %s\n", sigismember(&cur, SIGHUP) ? "yes" : "no");
	return 0;
}
