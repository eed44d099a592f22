/* Cancellation that tests-c/pending/cancel.c does not cover: asynchronous cancellation of a
 * thread spinning in user code (with a cleanup handler), a pending cancel acted on when the
 * thread turns asynchronous, and deferred cancellation of threads blocked in sigwait (with
 * every signal blocked), sigtimedwait, sigsuspend and pause. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

static sem_t started;
static volatile int cleaned, reached, cancel_sent;
static volatile unsigned long spins;

static void cleanup(void *arg)
{
	(void)arg;
	cleaned++;
}

static void *spin_async(void *arg)
{
	(void)arg;
	int old;
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	for (;;)
		spins++;
	pthread_cleanup_pop(0);
	return 0;
}

static void *turn_async_late(void *arg)
{
	(void)arg;
	int old;
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	while (!cancel_sent)
		spins++;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	reached = 1;
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_sigwait(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, 0);
	int sig;
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	sigwait(&all, &sig);
	reached = 1;
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_sigtimedwait(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, 0);
	struct timespec ts = { 100, 0 };
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	sigtimedwait(&s, 0, &ts);
	reached = 1;
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_sigsuspend(void *arg)
{
	(void)arg;
	sigset_t none;
	sigemptyset(&none);
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	sigsuspend(&none);
	reached = 1;
	pthread_cleanup_pop(0);
	return 0;
}

static void *in_pause(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, 0);
	sem_post(&started);
	pause();
	reached = 1;
	pthread_cleanup_pop(0);
	return 0;
}

static void cancel(const char *what, void *(*f)(void *))
{
	pthread_t t;
	void *r;
	stage = what;
	cleaned = reached = cancel_sent = 0;
	EXPECT(pthread_create(&t, 0, f, 0), 0);
	struct timespec dl = deadline_ms(2000);
	CHECK(sem_timedwait(&started, &dl) == 0);
	sleep_ms(20); /* let it block, or spin */
	EXPECT(pthread_cancel(t), 0);
	cancel_sent = 1;
	EXPECT(pthread_join(t, &r), 0);
	printf("%s: %s, cleanup ran %d, code after it ran %s\n", what,
	       r == PTHREAD_CANCELED ? "canceled" : "not canceled", cleaned, reached ? "yes" : "no");
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 5000);
	CHECK(sem_init(&started, 0, 0) == 0);
	cancel("asynchronous, spinning", spin_async);
	cancel("deferred, spinning, then turns asynchronous", turn_async_late);
	cancel("sigwait with every signal blocked", in_sigwait);
	cancel("sigtimedwait (100 s)", in_sigtimedwait);
	cancel("sigsuspend", in_sigsuspend);
	cancel("pause", in_pause);
	printf("ok cancel\n");
	return 0;
}
