/* Threads on small explicit stacks (pthread_attr_setstacksize 16 KiB) and on a caller-provided
 * stack (pthread_attr_setstack). */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <limits.h>
#include "common.h"

static int depth(int n, volatile char *prev)
{
	volatile char frame[256];
	frame[0] = (char)n;
	frame[255] = prev ? prev[0] : 0;
	return n == 0 ? frame[0] : depth(n - 1, frame) + 1;
}

static void *worker(void *arg)
{
	long n = (long)arg;
	pthread_attr_t a;
	size_t size = 0;
	void *addr;
	EXPECT(pthread_getattr_np(pthread_self(), &a), 0);
	EXPECT(pthread_attr_getstack(&a, &addr, &size), 0);
	pthread_attr_destroy(&a);
	char here;
	CHECK((char *)addr <= &here && &here < (char *)addr + size);
	return (void *)(long)depth((int)n, 0);
}

int main(void)
{
	pthread_attr_t a;
	size_t size;
	EXPECT(pthread_attr_init(&a), 0);
	EXPECT(pthread_attr_setstacksize(&a, 16384), 0);
	EXPECT(pthread_attr_getstacksize(&a, &size), 0);
	printf("stack size attribute %zu\n", size);
	EXPECT(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN - 1), EINVAL);
	EXPECT(pthread_attr_setstacksize(&a, 16384), 0);
	enum { N = 32 };
	pthread_t t[N];
	long sum = 0;
	for (long i = 0; i < N; i++)
		EXPECT(pthread_create(&t[i], &a, worker, (void *)(10 + i % 16)), 0);
	for (int i = 0; i < N; i++) {
		void *r;
		EXPECT(pthread_join(t[i], &r), 0);
		sum += (long)r;
	}
	printf("%d threads on 16 KiB stacks recursed, sum %ld\n", N, sum);
	pthread_attr_destroy(&a);

	static char stack[65536] __attribute__((aligned(16)));
	EXPECT(pthread_attr_init(&a), 0);
	EXPECT(pthread_attr_setstack(&a, stack, sizeof stack), 0);
	pthread_t u;
	void *r;
	EXPECT(pthread_create(&u, &a, worker, (void *)20), 0);
	EXPECT(pthread_join(u, &r), 0);
	printf("on a caller-provided 64 KiB stack: %ld\n", (long)r);
	pthread_attr_destroy(&a);
	return 0;
}
