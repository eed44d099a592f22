/* Signal handlers: raise() with SA_SIGINFO (siginfo, ucontext, the raising thread),
 * SA_RESETHAND, SA_NODEFER against the default, sa_mask during the handler, the order two
 * pending signals run in when one sigprocmask unblocks both, and sigaction's errors. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include "common.h"

/* A watchdog that fails the test instead of letting it hang. */

static int blocked(int sig)
{
	sigset_t s;
	sigprocmask(SIG_BLOCK, 0, &s);
	return sigismember(&s, sig);
}

/* A log of handler events, appended without libc from inside handlers. */
static char log_buf[256];
static volatile int log_len;
static void log_str(const char *s)
{
	while (*s && log_len < (int)sizeof log_buf - 1)
		log_buf[log_len++] = *s++;
	log_buf[log_len] = 0;
}
static void log_num(int n)
{
	char b[12];
	int i = 0;
	if (n >= 10)
		b[i++] = '0' + n / 10;
	b[i++] = '0' + n % 10;
	b[i] = 0;
	log_str(b);
}
static void log_reset(void)
{
	log_len = 0;
	log_buf[0] = 0;
}

static int set_action(int sig, void (*h)(int, siginfo_t *, void *), int flags, const sigset_t *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, 0);
}

/* 1. raise() with SA_SIGINFO */
static volatile int got_signo, got_code, got_pid_ok, uc_nonnull, uc_has_sig, was_blocked, hits;
static pthread_t ran_on;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	hits++;
	got_signo = si->si_signo;
	got_code = si->si_code;
	got_pid_ok = si->si_pid == getpid();
	uc_nonnull = uc != 0;
	uc_has_sig = uc ? sigismember(&((ucontext_t *)uc)->uc_sigmask, sig) : -1;
	was_blocked = blocked(sig);
	ran_on = pthread_self();
}

static void *raiser(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
	return (void *)(long)pthread_equal(ran_on, pthread_self());
}

/* 2. SA_RESETHAND */
static void count_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	hits++;
	was_blocked = blocked(sig);
}

/* 3. SA_NODEFER against the default: a handler that raises its own signal once */
static volatile int depth;
static void reraise_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	int d = ++depth;
	log_str(" enter");
	log_num(d);
	if (!blocked(sig))
		log_str("(unblocked)");
	else
		log_str("(blocked)");
	if (d == 1 && hits++ == 0)
		raise(sig);
	log_str(" leave");
	log_num(d);
	depth--;
}

/* 4. sa_mask */
static void masked_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	log_str(" usr1-enter");
	if (blocked(SIGUSR2))
		log_str("(usr2 blocked)");
	raise(SIGUSR2);
	log_str(" usr1-leave");
	(void)sig;
}
static void usr2_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	(void)sig;
	log_str(" usr2");
	if (blocked(SIGUSR1))
		log_str("(usr1 blocked)");
}

/* 5. a global the main code sees */
static volatile sig_atomic_t flag;
static void flag_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	flag = sig;
}

/* 6. two pending signals unblocked at once */
static void order_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	int d = ++depth;
	log_str(" ");
	log_num(sig);
	log_str("@depth");
	log_num(d);
	log_str("[blocked:");
	if (blocked(SIGUSR1))
		log_str(" 10");
	if (blocked(SIGUSR2))
		log_str(" 12");
	if (blocked(SIGRTMIN + 3))
		log_str(" rt3");
	log_str("]");
	depth--;
}

int main(void)
{
	pthread_t wd;
	start_watchdog(&wd, 5000);

	/* 1 */
	stage = "siginfo";
	CHECK(set_action(SIGUSR1, info_handler, 0, 0) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("raise: handler ran %d, si_signo %s, si_code %s, si_pid is getpid: %s\n", hits,
	       got_signo == SIGUSR1 ? "SIGUSR1" : "other",
	       got_code == SI_TKILL ? "SI_TKILL" : got_code == SI_USER ? "SI_USER" : "other",
	       yesno(got_pid_ok));
	printf("raise: ucontext non-null %s, uc_sigmask has the signal %s, signal blocked in "
	       "the handler %s, after %s\n",
	       yesno(uc_nonnull), yesno(uc_has_sig), yesno(was_blocked), yesno(blocked(SIGUSR1)));
	printf("raise: handler ran on the raising thread: %s\n",
	       yesno(pthread_equal(ran_on, pthread_self())));
	pthread_t t;
	void *r;
	EXPECT(pthread_create(&t, 0, raiser, 0), 0);
	EXPECT(pthread_join(t, &r), 0);
	printf("raise from a second thread: handler ran %d, on that thread: %s\n", hits, yesno(r != 0));
	printf("ok siginfo\n");

	/* 2 */
	stage = "resethand";
	hits = 0;
	CHECK(set_action(SIGURG, count_handler, SA_RESETHAND, 0) == 0);
	CHECK(raise(SIGURG) == 0);
	struct sigaction q;
	CHECK(sigaction(SIGURG, 0, &q) == 0);
	printf("SA_RESETHAND: first raise ran the handler %d, signal blocked inside %s; "
	       "disposition now SIG_DFL %s, SA_SIGINFO kept %s, SA_RESETHAND kept %s\n",
	       hits, yesno(was_blocked), yesno(q.sa_handler == SIG_DFL), yesno(q.sa_flags & SA_SIGINFO),
	       yesno(q.sa_flags & SA_RESETHAND));
	CHECK(raise(SIGURG) == 0);
	printf("SA_RESETHAND: second raise (default: ignore) ran the handler: %s\n", yesno(hits != 1));
	printf("ok resethand\n");

	/* 3 */
	stage = "nodefer";
	hits = 0;
	log_reset();
	CHECK(set_action(SIGUSR1, reraise_handler, 0, 0) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("default, handler raises its signal:%s\n", log_buf);
	hits = 0;
	log_reset();
	CHECK(set_action(SIGUSR1, reraise_handler, SA_NODEFER, 0) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("SA_NODEFER, handler raises its signal:%s\n", log_buf);
	printf("ok nodefer\n");

	/* 4 */
	stage = "sa_mask";
	log_reset();
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	CHECK(set_action(SIGUSR1, masked_handler, 0, &m) == 0);
	CHECK(set_action(SIGUSR2, usr2_handler, 0, 0) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("sa_mask {SIGUSR2}, handler raises SIGUSR2:%s\n", log_buf);
	printf("after: SIGUSR1 blocked %s, SIGUSR2 blocked %s\n", yesno(blocked(SIGUSR1)),
	       yesno(blocked(SIGUSR2)));
	printf("ok sa_mask\n");

	/* 5 */
	stage = "global";
	CHECK(set_action(SIGUSR2, flag_handler, 0, 0) == 0);
	flag = 0;
	CHECK(raise(SIGUSR2) == 0);
	printf("global set by the handler: %s\n", flag == SIGUSR2 ? "SIGUSR2" : "not set");
	printf("ok global\n");

	/* 6 */
	stage = "order";
	log_reset();
	depth = 0;
	CHECK(set_action(SIGUSR1, order_handler, 0, 0) == 0);
	CHECK(set_action(SIGUSR2, order_handler, 0, 0) == 0);
	CHECK(set_action(SIGRTMIN + 3, order_handler, 0, 0) == 0);
	sigset_t both, old;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	CHECK(sigprocmask(SIG_BLOCK, &both, &old) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGUSR1) == 0);
	printf("pending before unblock: SIGUSR1 and SIGUSR2, no handler ran: %s\n",
	       yesno(log_len == 0));
	CHECK(sigprocmask(SIG_SETMASK, &old, 0) == 0);
	printf("unblock both at once, handlers in the order they ran:%s\n", log_buf);
	log_reset();
	sigaddset(&both, SIGRTMIN + 3);
	CHECK(sigprocmask(SIG_BLOCK, &both, &old) == 0);
	CHECK(raise(SIGRTMIN + 3) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(sigprocmask(SIG_SETMASK, &old, 0) == 0);
	printf("unblock SIGUSR1, SIGUSR2, SIGRTMIN+3 at once:%s\n", log_buf);
	printf("ok order\n");

	/* 7 */
	stage = "errors";
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	int sigs[] = { SIGKILL, SIGSTOP, 0, 65, -1 };
	const char *names[] = { "SIGKILL", "SIGSTOP", "0", "65", "-1" };
	for (int i = 0; i < 5; i++) {
		errno = 0;
		int rc = sigaction(sigs[i], &sa, 0);
		printf("sigaction(%s, SIG_IGN): %d %s\n", names[i], rc, strerror(errno));
	}
	sa.sa_handler = SIG_DFL;
	errno = 0;
	int rc = sigaction(SIGKILL, &sa, 0);
	printf("sigaction(SIGKILL, SIG_DFL): %d %s\n", rc, strerror(errno));
	memset(&q, 0x55, sizeof q);
	errno = 0;
	rc = sigaction(SIGKILL, 0, &q);
	printf("sigaction(SIGKILL, NULL, &old): %d, old is SIG_DFL %s\n", rc,
	       yesno(q.sa_handler == SIG_DFL));
	errno = 0;
	rc = sigaction(0, 0, &q);
	printf("sigaction(0, NULL, &old): %d %s\n", rc, strerror(errno));
	errno = 0;
	int is_err = signal(SIGKILL, SIG_IGN) == SIG_ERR;
	printf("signal(SIGKILL, SIG_IGN) is SIG_ERR: %s, %s\n", yesno(is_err), strerror(errno));
	printf("ok errors\n");
	return 0;
}
