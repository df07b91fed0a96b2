/* Stack capture with libunwind; see stack.h. Owns the shim's own address
 * range so that wrapper and core frames never reach a profile.
 *
 * libunwind (and the liblzma it pulls in) is dlopen()ed, not linked: a
 * short-lived single-threaded helper that inherits LD_PRELOAD must not pay
 * for loading it. It is loaded at the first pthread_create, while the
 * process is still single-threaded, so no other thread can hold the
 * loader's lock while waiting for a lock we hold. */
#include <dlfcn.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "snapshot.h"
#include "stack.h"
#include "thread.h"

#define CT_STR_(x) #x
#define CT_STR(x) CT_STR_(x)

static uintptr_t ct_self_lo, ct_self_hi;
static int (*ct_unw_backtrace)(void **, int);
static int ct_unwinder_tried;
static int ct_threads_created;

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
	if (__atomic_load_n(&ct_unw_backtrace, __ATOMIC_ACQUIRE))
		return true;
	if (__atomic_exchange_n(&ct_unwinder_tried, 1, __ATOMIC_ACQ_REL))
		return false;
	void *h = dlopen(CT_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
	/* unw_backtrace is a macro naming the local-only entry point of
	 * this architecture (_ULx86_64_backtrace on x86-64). */
	void *fn = h ? dlsym(h, CT_STR(unw_backtrace)) : NULL;
	__atomic_store_n(&ct_unw_backtrace, (int (*)(void **, int))fn, __ATOMIC_RELEASE);
	ct_stack_thread_ready();
	return fn != NULL;
}

/* A dlopen()ed library's thread-local storage is allocated with malloc at
 * its first use in each thread. That must not happen while recording: the
 * wait being recorded may be for the allocator's own lock (an allocator
 * that locks a pthread mutex, jemalloc and others), which this thread now
 * holds. So every thread touches libunwind's storage at a moment where
 * malloc is safe: when it is created through our wrapper, or when it loads
 * the unwinder. */
void
ct_stack_thread_ready(void)
{
	int (*bt)(void **, int) = __atomic_load_n(&ct_unw_backtrace, __ATOMIC_ACQUIRE);
	void *one[1];
	if (bt && !ct_self.unw_ready) {
		ct_self.busy++;
		bt(one, 1);
		ct_self.busy--;
		ct_self.unw_ready = 1;
	}
}

bool
ct_stack_unwinder_loaded(void)
{
	return __atomic_load_n(&ct_unw_backtrace, __ATOMIC_ACQUIRE) != NULL;
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
	int (*bt)(void **, int) = __atomic_load_n(&ct_unw_backtrace, __ATOMIC_ACQUIRE);
	/* Single-threaded (a select() loop, say): nobody can hold the
	 * loader's lock while waiting for us, so loading here is safe. */
	if (!bt && !__atomic_load_n(&ct_threads_created, __ATOMIC_RELAXED) &&
	    ct_stack_load_unwinder())
		bt = ct_unw_backtrace;
	if (bt && !ct_self.unw_ready &&
	    !__atomic_load_n(&ct_threads_created, __ATOMIC_RELAXED)) {
		/* No other thread: no allocator lock can be held by it, and
		 * this thread's locks are never contended. */
		ct_stack_thread_ready();
	}
	/* No unwinder, or a thread whose unwinder storage would have to be
	 * allocated right now (one we did not see start): leaf only. */
	if (!bt || !ct_self.unw_ready)
		return 0;
	/* Room for our own frames (capture, record, wrapper) on top. */
	void *buf[CT_STACK_MAX + 16];
	int want = max + 16;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	int n = bt(buf, want);
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
