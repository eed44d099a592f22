/* lintel64: replaces src/thread/x86_64/syscall_cp.s.
 *
 *   long __syscall_cp_asm(volatile int *cancel, long n, long a, long b, long c, long d,
 *                         long e, long f);
 *
 * is a tail jump to lintel's cancellable entry, which has the same C signature:
 *
 *   long __lintel_syscall_cp(volatile int *cancel, long n, long a, long b, long c, long d,
 *                            long e, long f);
 *
 * A jmp (not a call) keeps %rsp and every register exactly as __syscall_cp_c left them, so
 * lintel sees the stack musl's own __syscall_cp_asm would: (%rsp) is the return address into
 * __syscall_cp_c, e and f at 8(%rsp) and 16(%rsp).
 *
 * The cancellation window labels __cp_begin, __cp_end and __cp_cancel (which
 * src/thread/pthread_cancel.c compares the interrupted PC against and rewrites it to) are
 * defined by lintel, not here: the thread blocks inside lintel, so only lintel can place the
 * window around its own blocking point (or present a translated context). */
.text
.global __syscall_cp_asm
.hidden __syscall_cp_asm
.type   __syscall_cp_asm,@function
__syscall_cp_asm:
	jmp __lintel_syscall_cp
.size __syscall_cp_asm,.-__syscall_cp_asm
