/* __thread variables: initialised (.tdata) and zeroed (.tbss) per thread, isolated, with
 * distinct addresses; errno is per thread too. */
#include <pthread.h>
#include "common.h"

enum { N = 8 };
static __thread int counter = 7;           /* .tdata */
static __thread long big[64];               /* .tbss */
static __thread char name[32] = "initial"; /* .tdata */
static void *addrs[N];
static pthread_barrier_t bar;

static void *worker(void *arg)
{
	long id = (long)arg;
	CHECK(counter == 7);
	CHECK(strcmp(name, "initial") == 0);
	for (int i = 0; i < 64; i++)
		CHECK(big[i] == 0);
	counter = 100 + id;
	snprintf(name, sizeof name, "thread %ld", id);
	for (int i = 0; i < 64; i++)
		big[i] = id * 1000 + i;
	errno = (int)id + 1;
	addrs[id] = &counter;
	pthread_barrier_wait(&bar); /* everyone has written */
	pthread_barrier_wait(&bar);
	CHECK(counter == 100 + id);
	char want[32];
	snprintf(want, sizeof want, "thread %ld", id);
	CHECK(strcmp(name, want) == 0);
	for (int i = 0; i < 64; i++)
		CHECK(big[i] == id * 1000 + i);
	CHECK(errno == (int)id + 1);
	return (void *)(long)counter;
}

int main(void)
{
	pthread_t t[N];
	EXPECT(pthread_barrier_init(&bar, 0, N), 0);
	counter = 1;
	for (long i = 0; i < N; i++)
		EXPECT(pthread_create(&t[i], 0, worker, (void *)i), 0);
	long sum = 0;
	for (int i = 0; i < N; i++) {
		void *r;
		EXPECT(pthread_join(t[i], &r), 0);
		sum += (long)r;
	}
	int distinct = 1;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (addrs[i] == addrs[j])
				distinct = 0;
	printf("threads' values sum %ld, addresses distinct: %s\n", sum, distinct ? "yes" : "no");
	printf("main's counter still %d, name \"%s\"\n", counter, name);
	CHECK(distinct && counter == 1);
	return 0;
}
