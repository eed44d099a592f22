/* lintel64: replaces src/thread/x86_64/clone.s.
 *
 *   int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
 *   (called as __clone(fn, stack, flags, arg, ptid, tls, ctid))
 *
 * is a tail jump to lintel's entry with the same argument order:
 *
 *   int __lintel_clone(int (*fn)(void *), void *stack, int flags, void *arg,
 *                      int *ptid, void *tls, int *ctid);
 *
 * It cannot be a C call that returns in the child: the child starts on `stack`, runs fn(arg)
 * and exits with its return value (x86_64's clone.s does exit(fn(arg))), all inside lintel.
 * The parent gets the new tid or -errno.
 *
 * __clone is variadic in musl (src/internal/pthread_impl.h); on x86_64 the integer arguments
 * sit where a 7-argument function expects them (ctid at 8(%rsp)), and a jmp leaves them there.
 * posix_spawn calls __clone with only four arguments (CLONE_VM|CLONE_VFORK|SIGCHLD): ptid, tls
 * and ctid are then garbage, and lintel, like the kernel, must read them only for the flags
 * that name them. */
.text
.global __clone
.hidden __clone
.type   __clone,@function
__clone:
	jmp __lintel_clone
.size __clone,.-__clone
