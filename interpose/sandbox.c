/* The program confining itself with seccomp: prctl(PR_SET_SECCOMP) and
 * the seccomp system call (through syscall(), as libseccomp, OpenSSH's
 * sandbox and Chrome make them).
 *
 * After such a call a system call the filter does not allow kills the
 * process (SIGSYS) or fails, and the shim's dumps make plenty (mkdir,
 * openat, clone, timers, rt_sigaction ...): an OpenSSH pre-authentication
 * child, which sandboxes itself and then exits, died of SIGSYS in our exit
 * dump. So before the call the shim finishes: it writes what it recorded
 * so far, as at exit (core/dump.h ct_dump_before_sandbox), records and
 * writes nothing more in this process and its children, and hands the
 * signals it stood for back to the kernel's defaults. It does so even if
 * the call then fails (an old kernel's EINVAL, a missing no_new_privs):
 * the program is about to confine itself, and a second attempt (libseccomp
 * falls back from the system call to prctl) must find nothing of ours
 * running. Other prctl options and system call numbers pass untouched,
 * errno included, but for a PR_SET_NAME that succeeds, which the thread
 * registry notes (the thread's name, for dumps after it exits). A
 * vfork() child confining itself before its exec changes nothing of its
 * parent's (core/dump.h ct_dump_borrowed). Thread-safe. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "../core/compiler.h"
#include "../core/dump.h"
#include "interpose.h"
#include "real.h"

#ifndef SECCOMP_SET_MODE_STRICT
#define SECCOMP_SET_MODE_STRICT 0
#define SECCOMP_SET_MODE_FILTER 1
#endif

static void
ct_sandbox_enter(void)
{
	/* A vfork() child confining itself before its exec: the state and
	 * the thread are its parent's, which goes on unconfined. */
	if (ct_dump_borrowed())
		return;
	int saved = errno;
	ct_dump_before_sandbox();
	ct_signals_untrack();
	errno = saved;
}

/* A PR_SET_NAME that succeeded (through prctl or syscall): the thread
 * registry keeps the calling thread's name as it changes, so that its
 * exit need not ask the kernel (core/threads.h ct_threads_renamed). */
static void
ct_sandbox_renamed(const char *name)
{
	int saved = errno;
	/* A vfork() child names itself, not its parent's thread, whose
	 * registry slot it would otherwise rename. */
	if (!ct_dump_borrowed())
		ct_threads_renamed(0, name);
	errno = saved;
}

/* Reads four words whatever the caller passed, as glibc's prctl does. */
CT_EXPORT int
prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
	unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
	va_end(ap);
	if (CT_UNLIKELY(option == PR_SET_SECCOMP) &&
	    (a == SECCOMP_MODE_STRICT || a == SECCOMP_MODE_FILTER))
		ct_sandbox_enter();
	int r = real_prctl(option, a, b, c, d);
	if (option == PR_SET_NAME && r == 0)
		ct_sandbox_renamed((const char *)a);
	return r;
}

/* syscall(SYS_seccomp, ...) and syscall(SYS_prctl, PR_SET_SECCOMP, ...),
 * from the syscall() wrapper (futex.c), with its seven words. */
CT_HIDDEN long
ct_sandbox_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	bool confines = nr == SYS_seccomp ?
				a == SECCOMP_SET_MODE_STRICT || a == SECCOMP_SET_MODE_FILTER :
				a == PR_SET_SECCOMP && (b == SECCOMP_MODE_STRICT || b == SECCOMP_MODE_FILTER);
	if (confines)
		ct_sandbox_enter();
	long r = real_syscall(nr, a, b, c, d, e, f);
	if (nr == SYS_prctl && a == PR_SET_NAME && r == 0)
		ct_sandbox_renamed((const char *)b);
	return r;
}
