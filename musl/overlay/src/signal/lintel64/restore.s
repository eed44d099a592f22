/* lintel64: replaces src/signal/x86_64/restore.s.
 *
 * __restore_rt is the sa_restorer musl installs with every handler (src/signal/sigaction.c).
 * A handler returns into it with %rsp pointing just past the return address, i.e. at the
 * rt_sigframe's ucontext. x86_64 does `mov $15,%rax; syscall` here; rt_sigreturn needs that
 * exact %rsp, so instead of a C call (which would push a return address) we jump to lintel's
 * sigreturn entry, which reads the frame at %rsp and never returns here.
 *
 * __restore (the non-SA_SIGINFO restorer) is the same symbol on x86_64: the copied
 * arch/lintel64/ksigaction.h has `#define __restore __restore_rt`.
 *
 * The leading nop is kept from x86_64 (unwinders look one byte before the restorer). */
	nop
.global __restore_rt
.hidden __restore_rt
.type __restore_rt,@function
__restore_rt:
	jmp __lintel_sigreturn
.size __restore_rt,.-__restore_rt
