/* One thread keeps switching SIGUSR1 between a handler, SIG_IGN and SIG_DFL-with-ignore
 * (SIGURG) while another raises them at itself: each delivery acts on one consistent action
 * (the handler runs, or the signal is discarded), never a handler at address 0 or 1. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common.h"

static atomic_int stop;
static volatile sig_atomic_t ran;

static void on_sig(int sig)
{
	(void)sig;
	ran = 1;
}

static void *toggler(void *arg)
{
	(void)arg;
	struct sigaction h = { 0 }, ign = { 0 }, dfl = { 0 };
	h.sa_handler = on_sig;
	ign.sa_handler = SIG_IGN;
	dfl.sa_handler = SIG_DFL;
	while (!atomic_load(&stop)) {
		sigaction(SIGUSR1, &h, 0);
		sigaction(SIGURG, &h, 0);
		sigaction(SIGUSR1, &ign, 0);
		sigaction(SIGURG, &dfl, 0);
	}
	return 0;
}

int main(void)
{
	pthread_t wd, t;
	start_watchdog(&wd, 20000);
	struct sigaction h = { 0 };
	h.sa_handler = on_sig;
	CHECK(sigaction(SIGUSR1, &h, 0) == 0);
	CHECK(sigaction(SIGURG, &h, 0) == 0);
	CHECK(pthread_create(&t, 0, toggler, 0) == 0);
	struct timespec t0 = mono_now();
	long n = 0;
	while (elapsed_ms(t0) < 1000) {
		raise(SIGUSR1);
		raise(SIGURG);
		n++;
	}
	atomic_store(&stop, 1);
	CHECK(pthread_join(t, 0) == 0);
	printf("raised while the action changed: survived, some handled %s\n", yesno(ran && n > 0));
	return 0;
}
