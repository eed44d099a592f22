/* prctl(PR_GET_TID_ADDRESS) reports the clear-tid address: the one musl's start-up gave
 * set_tid_address, the one a thread's clone gave CLONE_CHILD_CLEARTID (musl uses the same word
 * for both), and a new one after set_tid_address; EFAULT for a bad pointer. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static int *main_addr;

static void *thread(void *arg)
{
	(void)arg;
	int *p = 0;
	CHECK(prctl(PR_GET_TID_ADDRESS, &p) == 0);
	printf("in a thread: the same word as main's: %s\n", yesno(p == main_addr));
	return 0;
}

int main(void)
{
	static int word;
	CHECK(prctl(PR_GET_TID_ADDRESS, &main_addr) == 0);
	printf("main: set at start-up: %s\n", yesno(main_addr != 0));
	pthread_t t;
	CHECK(pthread_create(&t, 0, thread, 0) == 0);
	CHECK(pthread_join(t, 0) == 0);
	long tid = syscall(SYS_set_tid_address, &word);
	int *p = 0;
	int r = prctl(PR_GET_TID_ADDRESS, &p);
	printf("after set_tid_address: prctl %d, the new word %s, tid %s\n", r, yesno(p == &word),
	       yesno(tid == syscall(SYS_gettid)));
	syscall(SYS_set_tid_address, main_addr);
	errno = 0;
	r = prctl(PR_GET_TID_ADDRESS, (void *)8);
	printf("bad pointer: %d %s\n", r, strerror(errno));
	return 0;
}
