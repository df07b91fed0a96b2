/* syscall() wrapper: locks of the program's own (InnoDB, Rust std, C++20
 * atomic wait, absl, folly) that wait and wake through syscall(SYS_futex).
 *
 * FUTEX_WAIT, FUTEX_WAIT_BITSET and FUTEX_WAIT_REQUEUE_PI (private or
 * shared, either clock) are block-profile waits at the caller's stack, op
 * futex_wait, and register the thread as a waiter on the futex word like
 * a mutex waiter; a FUTEX_WAKE or FUTEX_WAKE_BITSET is then charged,
 * Go-style, for the waiting time of every waiter registered on that word
 * since the last charge, at the waker's stack in the mutex profile (op
 * futex_wake). So is a wake that moves waiters (FUTEX_REQUEUE,
 * FUTEX_CMP_REQUEUE, FUTEX_CMP_REQUEUE_PI): it released every waiter of
 * the first word, woken or moved, and is charged for their time so far.
 * A moved waiter stays registered on the first word (waiters are counted
 * per word, not one by one, so they cannot follow it): the time it then
 * waits on the second word is in the block profile, and the next wake of
 * the first word, if any, is charged for it. A wait that returns EAGAIN
 * at once (the word had already changed) or another error (EINVAL,
 * EFAULT ...) is not a wait; ETIMEDOUT and EINTR ones are, of their
 * length.
 *
 * futex_waitv (its own system call number) is a block-profile wait too,
 * op futex_wait, on the waiter array: the shim never reads the program's
 * memory, so it cannot register on the words themselves, and their wakers
 * are not charged for it. SYS_seccomp and SYS_prctl go to sandbox.c
 * (the program confining itself, or renaming a thread). Every other syscall number and futex
 * operation (wake_op, the PI lock operations) is forwarded untouched.
 *
 * glibc's own users of futexes (pthread locks, condvars, semaphores) make
 * the system call inline, never through syscall(), so nothing is counted
 * twice. Waiters and wakers are matched by address in this process only: a
 * shared futex woken by another process charges nobody there, and nobody
 * in the waking process (test: futex/shared_wake_from_another_process).
 *
 * Cost for the other numbers: on x86-64 syscall is a small trampoline
 * (four compares, a jump) that reaches libc's syscall with every
 * register and the stack as the caller left them, so the six words glibc
 * reads and errno are the caller's exactly. Elsewhere a C wrapper reads
 * the six words the way glibc does and forwards them. The argument
 * pointers are never read by the shim: the kernel checks them. Thread-safe;
 * syscall() from a signal handler records like any other wrapper (see
 * core/event.h). syscall() is not a cancellation point. */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/event.h"
#include "../core/ops.h"
#include "../core/threads.h"
#include "../core/waiters.h"
#include "interpose.h"
#include "real.h"
#include "restart.h"

/* The futex slow paths: nr is SYS_futex, or SYS_futex_waitv. Reached
 * from the trampoline by a jump, so their return address is the
 * program's call site. */
CT_HIDDEN long ct_futex_syscall(long nr, long a, long op, long c, long d, long e, long f);
CT_HIDDEN long ct_futex_waitv_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* A futex wait on the word at a: FUTEX_WAIT and its variants (0 when
 * woken) and futex_waitv(waiters, nr_futexes, flags, timeout, clockid)
 * (the index of the word that woke it); -1 otherwise. */
/* The wait itself. With a timeout it ends with EINTR after any handler
 * (the kernel's restart block); where only ours ran it is made again
 * (restart.h): FUTEX_WAIT for what is left of its relative timeout, the
 * others with their absolute one as it is. A wait made again finds the
 * word changed (EAGAIN) when the wake it would have had came meanwhile:
 * that is 0, a wake-up, which futex callers take as "look again" in
 * any case. */
static inline long
ct_futex_wait_call(long nr, long a, long b, long c, long d, long e, long f)
{
	const struct timespec *t = (const struct timespec *)d;
	bool rel = nr == SYS_futex && ((int)b & FUTEX_CMD_MASK) == FUTEX_WAIT && t;
	struct timespec left;
	int64_t t0 = ct_io_began(rel);
	int e0 = errno;
	bool again = false;
	long r = CT_RESTART(long, real_syscall(nr, a, b, c, d, e, f), CT_EINTR(rv_),
			    (again = true, d = rel ? (ct_io_left_ts(t0, t, &left), (long)&left) : d));
	if (again && r < 0 && errno == EAGAIN && nr == SYS_futex) {
		errno = e0;
		return 0;
	}
	return r;
}

static CT_NOINLINE long
ct_futex_wait(long nr, long a, long b, long c, long d, long e, long f, uintptr_t caller)
{
	if (!ct_active())
		return ct_futex_wait_call(nr, a, b, c, d, e, f);
	struct ct_wait w;
	ct_lock_wait_begin(&w, (const void *)a, CT_OP_FUTEX_WAIT, caller);
	long r = ct_futex_wait_call(nr, a, b, c, d, e, f);
	/* Woken (spuriously too), timed out or interrupted: it slept. EAGAIN
	 * (the word had changed) and the argument errors return at once. */
	if (r >= 0 || errno == ETIMEDOUT || errno == EINTR) {
		ct_lock_wait_end(&w);
		if (r < 0)
			ct_wait_unwoken(CT_OP_FUTEX_WAIT, r, errno);
	} else
		ct_lock_wait_cancel(&w);
	return r;
}

static CT_NOINLINE long
ct_futex_wake_slow(long nr, long a, long op, long c, long d, long e, long f)
{
	if (!ct_active())
		return real_syscall(nr, a, op, c, d, e, f);
	/* Before the wake, so a woken waiter cannot deregister first. */
	int64_t delay = ct_release_begin((const void *)a);
	long r = real_syscall(nr, a, op, c, d, e, f);
	/* A wake that found nobody in the kernel still released the waiters
	 * registered but not yet asleep: they see the new word and go on. */
	if (r >= 0)
		ct_release_end(CT_OP_FUTEX_WAKE, delay);
	return r;
}

/* Nobody registered as a waiter anywhere (the common case for a lock's
 * unlock path that wakes "just in case"): nobody to charge, one load. */
static inline long
ct_futex_wake(long nr, long a, long op, long c, long d, long e, long f)
{
	if (CT_LIKELY(__atomic_load_n(&ct_waiters_active, __ATOMIC_RELAXED) == 0))
		return real_syscall(nr, a, op, c, d, e, f);
	return ct_futex_wake_slow(nr, a, op, c, d, e, f);
}

static inline long
ct_futex(long nr, long a, long op, long c, long d, long e, long f, uintptr_t caller)
{
	switch ((int)op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_WAIT_REQUEUE_PI:
		return ct_futex_wait(nr, a, op, c, d, e, f, caller);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_CMP_REQUEUE_PI:
		return ct_futex_wake(nr, a, op, c, d, e, f);
	default:
		return real_syscall(nr, a, op, c, d, e, f);
	}
}

CT_HIDDEN __attribute__((used)) long
ct_futex_syscall(long nr, long a, long op, long c, long d, long e, long f)
{
	return ct_futex(nr, a, op, c, d, e, f, CT_CALLER());
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* the same number on every architecture */
#endif

CT_HIDDEN __attribute__((used)) long
ct_futex_waitv_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	return ct_futex_wait(nr, a, b, c, d, e, f, CT_CALLER());
}

#if defined(__x86_64__) && !defined(CT_FUTEX_C_WRAPPER)
#define CT_STR_(x) #x
#define CT_STR(x) CT_STR_(x)
#ifdef __CET__
#define CT_ENDBR "\tendbr64\n"
#else
#define CT_ENDBR ""
#endif
/* The arguments are in rdi (the number), rsi, rdx, rcx, r8, r9 and at
 * 8(%rsp), as for any call: both targets take them from there. */
__asm__(".text\n"
	".globl syscall\n"
	".type syscall, @function\n"
	".p2align 4\n"
	"syscall:\n"
	".cfi_startproc\n"
	CT_ENDBR
	"\tcmpq $" CT_STR(SYS_futex) ", %rdi\n"
	"\tje ct_futex_syscall\n"
	"\tcmpq $" CT_STR(SYS_futex_waitv) ", %rdi\n"
	"\tje ct_futex_waitv_syscall\n"
	"\tcmpq $" CT_STR(SYS_seccomp) ", %rdi\n"
	"\tje ct_sandbox_syscall\n"
	"\tcmpq $" CT_STR(SYS_prctl) ", %rdi\n"
	"\tje ct_sandbox_syscall\n"
	"\tjmp *real_syscall(%rip)\n"
	".cfi_endproc\n"
	".size syscall, .-syscall\n");
#else
/* Reads six words whatever the caller passed, as glibc's syscall does:
 * the surplus ones are whatever is in their registers or stack slots, and
 * the kernel ignores them. */
CT_EXPORT long
syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_futex)
		return ct_futex(nr, a, b, c, d, e, f, CT_CALLER());
	if (nr == SYS_futex_waitv)
		return ct_futex_wait(nr, a, b, c, d, e, f, CT_CALLER());
	if (nr == SYS_seccomp || nr == SYS_prctl)
		return ct_sandbox_syscall(nr, a, b, c, d, e, f);
	return real_syscall(nr, a, b, c, d, e, f);
}
#endif
