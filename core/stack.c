/* Stack capture for recorded events; see stack.h. Owns the shim's own
 * address range so that wrapper and core frames never reach a profile.
 *
 * The unwinder is core/unwind.c's, which keeps each return address's
 * rule and gives the frames glibc's backtrace() (libgcc's
 * _Unwind_Backtrace over .eh_frame) would, or leaves the stack to
 * backtrace() itself. Chosen over libunwind (which the thread dumps still use
 * for other threads' stacks, stack_remote.c) because it keeps nothing per
 * thread: libunwind's fast unw_backtrace gives every thread that records a
 * 256 KiB trace cache, reached through dynamic thread-local storage that
 * glibc malloc()s at first use, and its unw_step path blocks and unblocks
 * all signals around every frame (two system calls each, 100 us and more
 * per stack on a VM). libgcc finds each frame's unwind information with
 * _dl_find_object (glibc >= 2.35: no lock, no system call) and allocates
 * nothing: memory does not grow with the number of threads, and recording
 * inside an allocator's critical section cannot reenter malloc.
 *
 * backtrace() loads libgcc_s.so.1 at its first call (dlopen: the loader's
 * lock, malloc). That is done once, at the first pthread_create while the
 * process is still single-threaded, or at the first record of a
 * single-threaded process, never while another thread could hold a lock
 * that the load needs. */
#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dlhist.h"
#include "forkstate.h"

#include "snapshot.h"
#include "stack.h"
#include "thread.h"
#include "unwind.h"

static uintptr_t ct_self_lo CT_INIT_HOT, ct_self_hi CT_INIT_HOT;
static int ct_unwinder_state; /* 0 not loaded, 1 loaded, -1 unavailable */
/* Reset by every fork child of a process that created threads. */
static int ct_threads_created CT_FORK_HOT;

ct_stack_capture_fn ct_stack_capture = ct_stack_capture_unwind;

void
ct_stack_set_self_range(uintptr_t lo, uintptr_t hi)
{
	ct_self_lo = lo;
	ct_self_hi = hi;
}

void
ct_stack_self_range(uintptr_t *lo, uintptr_t *hi)
{
	*lo = ct_self_lo;
	*hi = ct_self_hi;
}

bool
ct_stack_load_unwinder(void)
{
	int st = __atomic_load_n(&ct_unwinder_state, __ATOMIC_ACQUIRE);
	if (st)
		return st > 0;
	/* Loads libgcc_s; a stack of at least our own frame proves that it
	 * works. */
	void *one[2];
	ct_guard_enter();
	bool mine = ct_dl_forks_off();
	int n = backtrace(one, 2);
	ct_dl_forks_on(mine);
	ct_guard_leave();
	__atomic_store_n(&ct_unwinder_state, n > 0 ? 1 : -1, __ATOMIC_RELEASE);
	return n > 0;
}

void
ct_stack_fork_child(void)
{
	/* The child has one thread: loading at a capture is safe again,
	 * unless _Fork left the heap or the loader in another thread's
	 * hands. */
	if (!ct_forkstate_heap_unsafe() && __atomic_load_n(&ct_threads_created, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_threads_created, 0, __ATOMIC_RELAXED);
}

/* glibc's signal return trampoline (__restore_rt on x86-64): the return
 * address of every handler installed through glibc's sigaction, read from
 * the action of any signal that has one (our own SIGINT/SIGTERM/crash
 * handlers at least). Raw system calls: our wrappers stay out of it. */
static uintptr_t
ct_signal_restorer(void)
{
#if defined(__x86_64__)
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ka;
	for (int sig = 1; sig <= 64; sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &ka, sizeof(ka.mask)) == 0 &&
		    (ka.flags & 0x04000000 /* SA_RESTORER */) && ka.restorer &&
		    ka.handler != SIG_DFL && ka.handler != SIG_IGN)
			return (uintptr_t)ka.restorer;
#endif
	return 0;
}

bool
ct_stack_unwinder_alone(void)
{
	int st = __atomic_load_n(&ct_unwinder_state, __ATOMIC_ACQUIRE);
	/* Single-threaded (a select() loop, a fork child): nobody can hold
	 * the loader's lock while waiting for us, so loading here is safe. */
	if (st == 0 && !__atomic_load_n(&ct_threads_created, __ATOMIC_RELAXED) &&
	    !ct_forkstate_heap_unsafe() && ct_stack_load_unwinder())
		st = 1;
	return st > 0;
}

bool
ct_stack_outside_signal_handler(void)
{
#if defined(__x86_64__)
	if (!ct_stack_unwinder_alone())
		return false;
	uintptr_t rt = ct_signal_restorer();
	if (!rt)
		return true; /* no handler installed: none can be running */
	void *buf[256];
	ct_guard_enter();
	int n = backtrace(buf, (int)(sizeof(buf) / sizeof(buf[0])));
	ct_guard_leave();
	if (n >= (int)(sizeof(buf) / sizeof(buf[0])))
		return false; /* deeper than we looked: cannot tell */
	for (int i = 0; i < n; i++)
		if ((uintptr_t)buf[i] + 1 - rt < 17)
			return false;
	return true;
#else
	return true; /* no trampoline to look for: the caller's count only */
#endif
}

bool
ct_stack_unwinder_loaded(void)
{
	return __atomic_load_n(&ct_unwinder_state, __ATOMIC_ACQUIRE) > 0;
}

void
ct_stack_before_thread_create(void)
{
	if (!__atomic_load_n(&ct_threads_created, __ATOMIC_RELAXED)) {
		ct_stack_load_unwinder();
		__atomic_store_n(&ct_threads_created, 1, __ATOMIC_RELAXED);
	}
}

int
ct_stack_capture_unwind(uintptr_t *pcs, int max)
{
	/* A thread we did not see created (the program's first threads came
	 * before us) finds it not loaded: leaf only. */
	if (!ct_stack_unwinder_alone())
		return 0;
	/* Room for our own frames (capture, record, wrapper) on top. */
	void *buf[CT_STACK_MAX + 16];
	int want = max + 16;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	/* The caching unwinder gives backtrace()'s frames at a fraction of
	 * its cost (unwind.h), or leaves the stack to it. */
	int n = ct_unwind_backtrace(buf, want);
	if (n < 0)
		n = backtrace(buf, want);
	int out = 0;
	for (int i = 0; i < n && out < max; i++) {
		uintptr_t pc = (uintptr_t)buf[i];
		if (pc >= ct_self_lo && pc < ct_self_hi)
			continue;
		if (pc == 0)
			break;
		pcs[out++] = pc;
	}
	return out;
}
