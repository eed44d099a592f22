/* Read-write locks: shared readers, exclusive writers, try and timed variants, and 4 threads
 * mixing reads and writes. */
#include <pthread.h>
#include "common.h"

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long value;
static int result;

static void *try_read(void *arg)
{
	(void)arg;
	result = pthread_rwlock_tryrdlock(&rw);
	if (result == 0)
		pthread_rwlock_unlock(&rw);
	return 0;
}

static void *try_write(void *arg)
{
	(void)arg;
	result = pthread_rwlock_trywrlock(&rw);
	if (result == 0)
		pthread_rwlock_unlock(&rw);
	return 0;
}

static void *timed_write(void *arg)
{
	(void)arg;
	struct timespec ts = deadline_ms(100), start = mono_now();
	result = pthread_rwlock_timedwrlock(&rw, &ts);
	if (result == ETIMEDOUT && elapsed_ms(start) < 90)
		result = -1;
	return 0;
}

static void *timed_read(void *arg)
{
	(void)arg;
	struct timespec ts = deadline_ms(100), start = mono_now();
	result = pthread_rwlock_timedrdlock(&rw, &ts);
	if (result == ETIMEDOUT && elapsed_ms(start) < 90)
		result = -1;
	if (result == 0)
		pthread_rwlock_unlock(&rw);
	return 0;
}

static const char *in_thread(void *(*f)(void *))
{
	pthread_t t;
	EXPECT(pthread_create(&t, 0, f, 0), 0);
	EXPECT(pthread_join(t, 0), 0);
	return result == 0 ? "ok" : result == -1 ? "returned early" : strerror(result);
}

static void *mixed(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < 20000; i++) {
		if (i % 4 == (int)id) {
			pthread_rwlock_wrlock(&rw);
			long v = value;
			value = v + 1;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			long v = value;
			CHECK(v >= 0);
			pthread_rwlock_unlock(&rw);
		}
	}
	return 0;
}

int main(void)
{
	EXPECT(pthread_rwlock_rdlock(&rw), 0);
	EXPECT(pthread_rwlock_rdlock(&rw), 0);
	printf("read-locked twice; another reader: %s, a writer: %s\n", in_thread(try_read),
	       in_thread(try_write));
	printf("timed writer against readers: %s\n", in_thread(timed_write));
	EXPECT(pthread_rwlock_unlock(&rw), 0);
	EXPECT(pthread_rwlock_unlock(&rw), 0);
	EXPECT(pthread_rwlock_wrlock(&rw), 0);
	EXPECT(pthread_rwlock_trywrlock(&rw), EBUSY);
	printf("write-locked; another reader: %s, a writer: %s\n", in_thread(try_read),
	       in_thread(try_write));
	printf("timed reader against a writer: %s\n", in_thread(timed_read));
	EXPECT(pthread_rwlock_unlock(&rw), 0);
	printf("unlocked; a writer: %s\n", in_thread(try_write));

	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		EXPECT(pthread_create(&t[i], 0, mixed, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		EXPECT(pthread_join(t[i], 0), 0);
	printf("4 threads, 1 in 4 operations a write: value %ld\n", value);
	return 0;
}
