/* pthread_create/pthread_join: 1200 threads in batches of 8, each returning a value; then
 * 64 at once. */
#include <pthread.h>
#include "common.h"

static void *square(void *arg)
{
	long n = (long)arg;
	return (void *)(n * n);
}

int main(void)
{
	enum { BATCH = 8, ROUNDS = 150, WIDE = 64 };
	long sum = 0, created = 0, joined = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[BATCH];
		for (long i = 0; i < BATCH; i++) {
			EXPECT(pthread_create(&t[i], 0, square, (void *)(r * BATCH + i)), 0);
			created++;
		}
		for (int i = 0; i < BATCH; i++) {
			void *res;
			EXPECT(pthread_join(t[i], &res), 0);
			sum += (long)res;
			joined++;
		}
	}
	printf("created %ld, joined %ld, sum of squares %ld\n", created, joined, sum);

	pthread_t w[WIDE];
	for (long i = 0; i < WIDE; i++)
		EXPECT(pthread_create(&w[i], 0, square, (void *)i), 0);
	long wide = 0;
	for (int i = WIDE - 1; i >= 0; i--) {
		void *res;
		EXPECT(pthread_join(w[i], &res), 0);
		wide += (long)res;
	}
	printf("%d at once, joined in reverse: sum %ld\n", WIDE, wide);
	return 0;
}
