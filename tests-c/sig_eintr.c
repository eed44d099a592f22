/* EINTR and restarting: a thread blocked in sem_wait, sem_timedwait, read on a pipe,
 * pthread_cond_wait / pthread_cond_timedwait or nanosleep receives handled signals
 * (pthread_kill), first with an SA_RESTART handler, then without, then with SA_RESTART again
 * (musl reports a futex EINTR only once some handler without SA_RESTART was installed). */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <unistd.h>
#include "common.h"

enum op { SEM_WAIT, SEM_TIMEDWAIT, READ, COND_WAIT, COND_TIMEDWAIT, NANOSLEEP };
static const char *op_names[] = { "sem_wait",	     "sem_timedwait (2 s)",
				  "read on a pipe",  "pthread_cond_wait",
				  "pthread_cond_timedwait (2 s)", "nanosleep (1 s)" };

static sem_t sem, started;
static int fds[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int pred;
static volatile int hits, done;
static struct {
	int rc, err, saw_pred;
	struct timespec rem;
} res;

static void handler(int sig)
{
	(void)sig;
	hits++;
}

static void install(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
}

static void *blocker(void *arg)
{
	enum op op = (enum op)(long)arg;
	struct timespec ts;
	char b;
	errno = 0;
	switch (op) {
	case SEM_WAIT:
		sem_post(&started);
		res.rc = sem_wait(&sem);
		break;
	case SEM_TIMEDWAIT:
		ts = deadline_ms(2000);
		sem_post(&started);
		res.rc = sem_timedwait(&sem, &ts);
		break;
	case READ:
		sem_post(&started);
		res.rc = read(fds[0], &b, 1);
		break;
	case COND_WAIT:
	case COND_TIMEDWAIT:
		pthread_mutex_lock(&m);
		sem_post(&started);
		ts = deadline_ms(2000);
		/* one call, no predicate loop: a return is either the signal below or a bug */
		if (op == COND_WAIT)
			res.rc = pthread_cond_wait(&c, &m);
		else
			res.rc = pthread_cond_timedwait(&c, &m, &ts);
		res.saw_pred = pred;
		pthread_mutex_unlock(&m);
		break;
	case NANOSLEEP:
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		res.rem.tv_sec = res.rem.tv_nsec = -1;
		sem_post(&started);
		res.rc = nanosleep(&ts, &res.rem);
		break;
	}
	res.err = errno;
	done = 1;
	return 0;
}

/* Signals a thread blocked in `op`: with `release`, 5 times 10 ms apart, then it is released
 * (post, write, predicate + signal); otherwise every 10 ms until it returns. */
static void trial(enum op op, const char *how, int release)
{
	pthread_t t;
	stage = op_names[op];
	memset(&res, 0, sizeof res);
	hits = done = 0;
	pred = 0;
	EXPECT(pthread_create(&t, 0, blocker, (void *)(long)op), 0);
	struct timespec dl = deadline_ms(2000);
	CHECK(sem_timedwait(&started, &dl) == 0);
	sleep_ms(10);
	int still = 0;
	if (release) {
		for (int i = 0; i < 5; i++) {
			EXPECT(pthread_kill(t, SIGUSR1), 0);
			sleep_ms(10);
		}
		still = !done;
		switch (op) {
		case SEM_WAIT:
		case SEM_TIMEDWAIT:
			CHECK(sem_post(&sem) == 0);
			break;
		case READ:
			CHECK(write(fds[1], "x", 1) == 1);
			break;
		case COND_WAIT:
		case COND_TIMEDWAIT:
			pthread_mutex_lock(&m);
			pred = 1;
			pthread_cond_signal(&c);
			pthread_mutex_unlock(&m);
			break;
		case NANOSLEEP:
			break;
		}
		for (int i = 0; i < 200 && !done; i++)
			sleep_ms(10);
	} else {
		for (int i = 0; i < 200 && !done; i++) {
			EXPECT(pthread_kill(t, SIGUSR1), 0);
			sleep_ms(10);
		}
	}
	CHECK(done);
	EXPECT(pthread_join(t, 0), 0);
	printf("%s, %s: ", op_names[op], how);
	if (op == COND_WAIT || op == COND_TIMEDWAIT)
		printf("returned %d (%s), predicate set %s", res.rc, res.rc ? strerror(res.rc) : "ok",
		       yesno(res.saw_pred));
	else if (res.rc == -1)
		printf("-1 %s", strerror(res.err));
	else
		printf("%d", res.rc);
	if (release)
		printf(", still waiting after 5 signals %s", yesno(still));
	if (op == NANOSLEEP && res.rc == -1)
		printf(", remainder > 0 %s, below the request %s",
		       yesno(res.rem.tv_sec > 0 || res.rem.tv_nsec > 0),
		       yesno(res.rem.tv_sec == 0 && res.rem.tv_nsec >= 0));
	printf(", handler ran %s\n", yesno(hits > 0));
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 8000);
	CHECK(sem_init(&sem, 0, 0) == 0);
	CHECK(sem_init(&started, 0, 0) == 0);
	CHECK(pipe(fds) == 0);

	install(SA_RESTART);
	const char *r = "SA_RESTART";
	trial(SEM_WAIT, r, 1);
	trial(SEM_TIMEDWAIT, r, 1);
	trial(READ, r, 1);
	trial(COND_WAIT, r, 1);
	trial(NANOSLEEP, r, 0);
	printf("ok restart\n");

	install(0);
	r = "no SA_RESTART";
	trial(SEM_WAIT, r, 0);
	trial(SEM_TIMEDWAIT, r, 0);
	trial(READ, r, 0);
	trial(COND_WAIT, r, 1);
	trial(COND_TIMEDWAIT, r, 1);
	trial(NANOSLEEP, r, 0);
	printf("ok no-restart\n");

	install(SA_RESTART);
	r = "SA_RESTART again";
	trial(SEM_WAIT, r, 1);
	trial(SEM_TIMEDWAIT, r, 0);
	trial(READ, r, 1);
	trial(COND_TIMEDWAIT, r, 1);
	printf("ok restart-again\n");
	return 0;
}
