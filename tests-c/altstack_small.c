/* A signal handled on a small alternate stack (3584 bytes: just big enough for the frame) leaves
 * the memory below it untouched, as Linux does: lintel builds its own resume context and runs
 * sigreturn on its own stack. (From review.) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
static volatile int hits;
static void h(int s){ (void)s; hits++; }
int main(int argc,char**argv){
  size_t sz = argc>1? (size_t)atoi(argv[1]) : 3584;
  unsigned char *p = mmap(0, 3*4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  memset(p, 0xAA, 3*4096);
  unsigned char *top = p + 2*4096;           /* alt stack ends here */
  stack_t ss = { .ss_sp = top - sz, .ss_size = sz, .ss_flags = 0 };
  if (sigaltstack(&ss, 0)) { perror("sigaltstack"); return 1; }
  struct sigaction sa = {0}; sa.sa_handler = h; sa.sa_flags = SA_ONSTACK; sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  int bad = 0; long first=-1;
  for (unsigned char *q = p; q < top - sz; q++) if (*q != 0xAA) { bad++; if(first<0) first = (top-sz) - q; }
  printf("hits=%d bytes below the alt stack overwritten=%d (deepest %ld bytes below)\n", hits, bad, first);
  return 0;
}
