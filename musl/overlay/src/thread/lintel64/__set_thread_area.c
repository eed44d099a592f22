/* lintel64: replaces src/thread/x86_64/__set_thread_area.s.
 *
 * x86_64 sets the thread pointer with arch_prctl(ARCH_SET_FS, p); here that syscall goes
 * through __lintel_syscall like every other. Returns 0 on success or -errno, as the asm did
 * (src/env/__init_tls.c treats 0 as "threads can work").
 *
 * This runs before the thread pointer exists: musl's Makefile already builds
 * __set_thread_area.o without the stack protector (NOSSP_OBJS matches this name), and
 * lintel's side of arch_prctl must not touch %fs either. */
#include "pthread_impl.h"

#define LINTEL_ARCH_SET_FS 0x1002

int __set_thread_area(void *p)
{
	return __syscall(SYS_arch_prctl, LINTEL_ARCH_SET_FS, p);
}
