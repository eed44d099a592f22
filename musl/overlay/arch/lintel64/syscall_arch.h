/* lintel64: musl's x86_64 arch with every syscall made a function call into lintel.
 *
 * Replaces arch/x86_64/syscall_arch.h (everything else in arch/lintel64 is a byte-identical
 * copy of arch/x86_64, made at build time by `cargo xtask sysroot`). The inline `syscall`
 * instructions become one out-of-line call with Linux x86_64 numbering; lintel returns the
 * result or -errno in %rax exactly as the kernel does, and musl's __syscall_ret turns that into
 * errno. Unused arguments are passed as 0.
 *
 * The VDSO_* macros of x86_64 are deliberately absent: without them clock_gettime and
 * sched_getcpu go through __lintel_syscall too, instead of around it.
 *
 * `hidden` (from src/include/features.h, included by src/internal/syscall.h) lets gcc emit a
 * direct PC-relative call; in a static link the definition in liblintel.a resolves it. Some of
 * these calls run before the thread pointer exists (src/env/__init_tls.c), so lintel's side of
 * this entry must not touch %fs. */

#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

hidden long __lintel_syscall(long, long, long, long, long, long, long);

static __inline long __syscall0(long n)
{
	return __lintel_syscall(n, 0, 0, 0, 0, 0, 0);
}

static __inline long __syscall1(long n, long a1)
{
	return __lintel_syscall(n, a1, 0, 0, 0, 0, 0);
}

static __inline long __syscall2(long n, long a1, long a2)
{
	return __lintel_syscall(n, a1, a2, 0, 0, 0, 0);
}

static __inline long __syscall3(long n, long a1, long a2, long a3)
{
	return __lintel_syscall(n, a1, a2, a3, 0, 0, 0);
}

static __inline long __syscall4(long n, long a1, long a2, long a3, long a4)
{
	return __lintel_syscall(n, a1, a2, a3, a4, 0, 0);
}

static __inline long __syscall5(long n, long a1, long a2, long a3, long a4, long a5)
{
	return __lintel_syscall(n, a1, a2, a3, a4, a5, 0);
}

static __inline long __syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	return __lintel_syscall(n, a1, a2, a3, a4, a5, a6);
}

#define IPC_64 0
