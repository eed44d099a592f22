/* Thread results: returned, passed to pthread_exit from a nested call, with cleanup handlers
 * and TSD destructors running in order; finally main calls pthread_exit and the process lives
 * until the last thread ends (exit status 0). */
#include <pthread.h>
#include <unistd.h>
#include "common.h"

static pthread_key_t key;
static char log_buf[256];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(const char *s)
{
	pthread_mutex_lock(&log_lock);
	strcat(log_buf, s);
	pthread_mutex_unlock(&log_lock);
}

static void destructor(void *v)
{
	note(v);
}

static void cleanup(void *v)
{
	note(v);
}

static void deep(int n)
{
	if (n < 0)
		return;
	if (n == 0)
		pthread_exit((void *)0x1234);
	deep(n - 1);
}

static void *returns(void *arg)
{
	(void)arg;
	return (void *)42;
}

static void *exits_deep(void *arg)
{
	(void)arg;
	pthread_setspecific(key, "D");
	pthread_cleanup_push(cleanup, "C2");
	pthread_cleanup_push(cleanup, "C1");
	deep(10);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return 0;
}

static void *last(void *arg)
{
	(void)arg;
	sleep_ms(50);
	printf("last thread finishing after main's pthread_exit\n");
	fflush(stdout);
	return 0;
}

int main(void)
{
	void *r;
	pthread_t t;
	EXPECT(pthread_key_create(&key, destructor), 0);
	EXPECT(pthread_create(&t, 0, returns, 0), 0);
	EXPECT(pthread_join(t, &r), 0);
	printf("returned %ld\n", (long)r);
	EXPECT(pthread_create(&t, 0, exits_deep, 0), 0);
	EXPECT(pthread_join(t, &r), 0);
	printf("pthread_exit from depth 10: %#lx; cleanup and destructor order: %s\n", (long)r,
	       log_buf);
	EXPECT(pthread_create(&t, 0, last, 0), 0);
	EXPECT(pthread_detach(t), 0);
	printf("main calls pthread_exit\n");
	fflush(stdout);
	pthread_exit(0);
}
