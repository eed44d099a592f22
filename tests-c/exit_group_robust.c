/* exit() while other threads hold robust mutexes in memory shared with the parent: one thread
 * blocked in a condvar wait, one spinning in user code, one blocked in a pipe read. Linux ends
 * every thread first, and each death marks its robust mutexes OWNER_DIED, so the parent then
 * gets EOWNERDEAD for each; the exit status is the one exit() was given. */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

struct shared {
	pthread_mutex_t m[3];
	volatile int held;
};

static struct shared *sh;
static pthread_mutex_t lm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int fds[2];

static void *in_condwait(void *arg)
{
	(void)arg;
	CHECK(pthread_mutex_lock(&sh->m[0]) == 0);
	__atomic_fetch_add(&sh->held, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&lm);
	for (;;)
		pthread_cond_wait(&cv, &lm);
	return 0;
}

static void *spinning(void *arg)
{
	(void)arg;
	CHECK(pthread_mutex_lock(&sh->m[1]) == 0);
	__atomic_fetch_add(&sh->held, 1, __ATOMIC_SEQ_CST);
	for (volatile unsigned long i = 0;; i++) {
	}
	return 0;
}

static void *in_read(void *arg)
{
	(void)arg;
	char b;
	CHECK(pthread_mutex_lock(&sh->m[2]) == 0);
	__atomic_fetch_add(&sh->held, 1, __ATOMIC_SEQ_CST);
	for (;;)
		read(fds[0], &b, 1);
	return 0;
}

int main(void)
{
	sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	for (int i = 0; i < 3; i++)
		CHECK(pthread_mutex_init(&sh->m[i], &a) == 0);
	fflush(stdout);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		CHECK(pipe(fds) == 0);
		pthread_t t[3];
		void *(*fn[3])(void *) = { in_condwait, spinning, in_read };
		for (int i = 0; i < 3; i++)
			CHECK(pthread_create(&t[i], 0, fn[i], 0) == 0);
		while (sh->held < 3)
			sched_yield();
		sleep_ms(20); /* let them settle into their waits */
		exit(7);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c);
	printf("child: %s %d\n", WIFEXITED(st) ? "exited" : "killed by", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	const char *what[3] = { "condvar waiter", "spinner", "reader" };
	for (int i = 0; i < 3; i++) {
		int r = pthread_mutex_lock(&sh->m[i]);
		printf("mutex of the %s: %s\n", what[i], r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
		if (r == EOWNERDEAD)
			pthread_mutex_consistent(&sh->m[i]);
		pthread_mutex_unlock(&sh->m[i]);
	}
	return 0;
}
