/* si_uid of a signal a process sends itself follows its real uid across setuid, setreuid and
 * setresuid (lintel keeps the uid it asked once, until one of those calls). Needs root: without
 * it the changes fail and the test prints that, under both builds. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static unsigned sent_uid(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, 0);
	kill(getpid(), SIGUSR1);
	siginfo_t si;
	CHECK(sigwaitinfo(&s, &si) == SIGUSR1);
	return si.si_uid;
}

int main(void)
{
	printf("as started: si_uid is getuid %s\n", yesno(sent_uid() == getuid()));
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		if (getuid() != 0) {
			printf("not root: skipped\n");
			_exit(0);
		}
		CHECK(setresuid(1000, 1000, 0) == 0);
		printf("setresuid(1000): si_uid %u\n", sent_uid());
		CHECK(setresuid(0, 0, 0) == 0);
		printf("back to 0: si_uid %u\n", sent_uid());
		CHECK(setreuid(2000, 0) == 0);
		printf("setreuid(2000): si_uid %u\n", sent_uid());
		CHECK(setreuid(0, 0) == 0);
		CHECK(setuid(3000) == 0);
		printf("setuid(3000): si_uid %u\n", sent_uid());
		fflush(stdout);
		_exit(0);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	printf("child exit %d\n", WEXITSTATUS(st));
	return 0;
}
