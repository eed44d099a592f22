/* lintel64: replaces src/thread/x86_64/__unmapself.s.
 *
 * A detached thread frees its own stack and exits: munmap(base, size), then exit(0). The asm
 * version does that with two `syscall` instructions and no stack. Here both are calls into
 * lintel, and a call needs a stack that outlives the munmap, so — like musl's generic
 * src/thread/__unmapself.c — we first switch to a static stack with CRTJMP (arch reloc.h).
 *
 * One static stack is shared by all exiting threads. That is safe for the same reason as in
 * the generic version: the caller holds __thread_list_lock (src/thread/pthread_create.c), and
 * only the CLEARTID write of 0 at the thread's death (lintel's job, done after the thread can
 * no longer touch this stack) releases it. The generic version's 256 bytes is enough for two
 * raw syscalls but not for lintel's C/Rust code, so this one is 16 KiB (as in the
 * proof of concept). lintel's exit path should still move to its own per-thread exit stack
 * before it stores 0 to the ctid word. */
#include "pthread_impl.h"
#include "atomic.h"
#include "syscall.h"
/* reuse the CRTJMP macro from the dynamic-linker support, as the generic version does */
#include "dynlink.h"

static void *unmap_base;
static size_t unmap_size;
static char shared_stack[16384] __attribute__((__aligned__(16)));

static _Noreturn void do_unmap()
{
	__syscall(SYS_munmap, unmap_base, unmap_size);
	for (;;) __syscall(SYS_exit, 0);
}

void __unmapself(void *base, size_t size)
{
	char *stack = shared_stack + sizeof shared_stack;
	stack -= (uintptr_t)stack % 16;
	/* CRTJMP jumps, it does not call: leave room for the return address a call would have
	 * pushed, so that do_unmap starts with %rsp+8 16-byte aligned as the ABI promises (the
	 * generic version gets away without it; lintel's code uses aligned SSE stores) */
	stack -= sizeof(void *);
	unmap_base = base;
	unmap_size = size;
	CRTJMP(do_unmap, stack);
}
