/* sigtimedwait for signals whose default action is to ignore them (SIGCHLD from a child that
 * exits, SIGURG from another thread): Linux queues them for the waiter (the mask before the
 * wait counts as blocked), it does not discard them. (From review.) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>
#include <errno.h>
#include <sys/wait.h>
#include <pthread.h>
static void *sender(void *a){ (void)a; usleep(200000); kill(getpid(), SIGURG); return 0; }
int main(){
  sigset_t s; sigemptyset(&s); sigaddset(&s, SIGCHLD); sigaddset(&s, SIGURG);
  sigprocmask(SIG_BLOCK, &s, 0);
  pid_t c = fork();
  if (c == 0) { usleep(200000); _exit(0); }
  struct timespec ts = {2,0};
  siginfo_t si;
  int r = sigtimedwait(&s, &si, &ts);
  printf("sigchld wait: r=%d errno=%d\n", r, r<0?errno:0);
  waitpid(c,0,0);
  pthread_t t; pthread_create(&t,0,sender,0);
  r = sigtimedwait(&s, &si, &ts);
  printf("sigurg wait: r=%d errno=%d\n", r, r<0?errno:0);
  pthread_join(t,0);
  return 0;
}
