/* posix_spawn (musl: clone(CLONE_VM|CLONE_VFORK) on a stack in the parent's frame) from a
 * threaded process: a program that exists, one that does not, and file actions. */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

extern char **environ;

static void *idle(void *arg)
{
	(void)arg;
	sleep_ms(200);
	return 0;
}

static int spawn_wait(const char *path, char *const argv[], posix_spawn_file_actions_t *fa)
{
	pid_t pid;
	int rc = posix_spawn(&pid, path, fa, 0, argv, environ);
	if (rc)
		return -rc;
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

int main(void)
{
	pthread_t t;
	EXPECT(pthread_create(&t, 0, idle, 0), 0);
	fflush(stdout);
	char *echo[] = { "echo", "spawned echo", 0 };
	int rc = spawn_wait("/bin/echo", echo, 0);
	printf("/bin/echo exited %d\n", rc);
	char *f[] = { "false", 0 };
	printf("/bin/false exited %d\n", spawn_wait("/bin/false", f, 0));
	char *none[] = { "none", 0 };
	rc = spawn_wait("/nonexistent/program", none, 0);
	printf("a missing program: %s\n", rc < 0 ? strerror(-rc) : "spawned?");

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
	char *quiet[] = { "echo", "this goes to /dev/null", 0 };
	printf("echo with stdout to /dev/null exited %d\n", spawn_wait("/bin/echo", quiet, &fa));
	posix_spawn_file_actions_destroy(&fa);
	EXPECT(pthread_join(t, 0), 0);
	return 0;
}
