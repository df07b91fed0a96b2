/* The fork protocol; see fork.h for every lock and why each is handled
 * the way it is. The order of the calls below is the documented order. */
#include <pthread.h>
#include <time.h>

#include "dlhist.h"
#include "dump.h"
#include "dumper.h"
#include "event.h"
#include "fork.h"
#include "forkstate.h"
#include "plugin.h"
#include "profiles.h"
#include "compiler.h"
#include "sys.h"
#include "waiters.h"
#include "stack.h"
#include "thread.h"
#include "threads.h"

static int ct_fork_installed CT_INIT_HOT;
static void (*ct_fork_interpose_child)(void) CT_INIT_HOT;
static void (*ct_fork_interpose_hold)(long) CT_INIT_HOT;
/* Set by prepare, cleared after: a child that finds it clear was made
 * without the prepare handlers (_Fork). Per thread: threads fork at the
 * same time (glibc runs the handlers without a lock), and one's parent
 * handler must not clear what another's prepare set. */
static CT_TLS int ct_fork_prepared;

void
ct_fork_prepare(void)
{
	ct_dump_prefork(); /* not a lock: work done for the children, first */
	ct_dl_fork_hold(); /* (CT_LOCK_DL_PASS): our dl_iterate_phdr passes */
	ct_dumper_prefork(); /* CT_LOCK_DUMPER_OWNED */
	__atomic_store_n(&ct_fork_prepared, 1, __ATOMIC_RELAXED);
}

void
ct_fork_parent(void)
{
	__atomic_store_n(&ct_fork_prepared, 0, __ATOMIC_RELAXED);
	ct_dumper_postfork_parent();
	ct_dl_fork_release();
}

void
ct_fork_child(void)
{
	bool prepared = __atomic_load_n(&ct_fork_prepared, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_fork_prepared, 0, __ATOMIC_RELAXED);
	/* Another thread of the parent (ours or the program's) may have been
	 * inside malloc or dlopen when a _Fork copied the process: the child
	 * may not trust the heap or the loader then. */
	if (!prepared && (ct_dumper_running() || ct_threads_others_running()))
		ct_forkstate_set_heap_unsafe();
	bool signal_copy = ct_dump_in_signal_fork();

	/* (CT_LOCK_DL_PASS, fork.h): no pass of ours was inside dl_iterate_phdr (its
	 * lock is free here), unless the prepare gave up waiting. */
	if (prepared)
		ct_dl_fork_release();
	else
		ct_dl_fork_child_unprepared();
	/* Identity: the cached tid and the sampling state are the parent's. */
	ct_self.tid = 0;
	ct_self.rng = 0;
	/* The signals behind them were the parent's. */
	ct_self.sig_deferred = 0;
	/* CT_LOCK_REPORT_LOAD; and the unwinder may be loaded again */
	ct_stack_fork_child();
	ct_plugin_fork_child();
	/* CT_LOCK_REAL_RESOLVE */
	if (ct_fork_interpose_child)
		ct_fork_interpose_child();
	/* A sandboxed process records and writes nothing (core/event.h):
	 * none of its children's state is used, and the system calls the rest
	 * makes (closing the dumper's descriptors, naming the output
	 * directory) may be what its filter forbids. */
	if (__atomic_load_n(&ct_sandboxed, __ATOMIC_RELAXED))
		return;
	if (!signal_copy) {
		/* CT_LOCK_TABLES, CT_LOCK_WAITERS */
		ct_profiles_fork_child();
		ct_threads_fork_child();
	}
	/* CT_LOCK_DUMPER_OWNED: closes the dumper's descriptors, releases,
	 * and arms the child's own (not in the copy a signal dump writes
	 * from, nor where the heap cannot be trusted). */
	ct_dumper_postfork_child(!signal_copy && !ct_forkstate_heap_unsafe());
	if (!signal_copy) {
		ct_dump_fork_child();
		ct_dump_fatal_fork_child();
	}
}

void
ct_fork_install(void (*interpose_child)(void), void (*interpose_hold)(long hold_us))
{
	if (__atomic_exchange_n(&ct_fork_installed, 1, __ATOMIC_ACQ_REL))
		return;
	ct_fork_interpose_child = interpose_child;
	ct_fork_interpose_hold = interpose_hold;
	pthread_atfork(ct_fork_prepare, ct_fork_parent, ct_fork_child);
}

#ifdef CT_TEST_SEAMS
static const char *const ct_fork_lock_names[CT_LOCK_COUNT] = {
	[CT_LOCK_DUMPER_OWNED] = "dumper_owned",
	[CT_LOCK_TABLES] = "tables",
	[CT_LOCK_WAITERS] = "waiters",
	[CT_LOCK_REPORT_LOAD] = "report_load",
	[CT_LOCK_REAL_RESOLVE] = "real_resolve",
	[CT_LOCK_DL_PASS] = "dl_pass",
};

CT_EXPORT const char *
ct_fork_lock_name(int which)
{
	return which >= 0 && which < CT_LOCK_COUNT ? ct_fork_lock_names[which] : NULL;
}

CT_EXPORT int
ct_fork_test_hold(int which, long hold_us, int *held)
{
	ct_guard_enter();
	ct_forkstate_test_held(held);
	int r = 0;
	switch (which) {
	case CT_LOCK_DUMPER_OWNED:
		ct_dumper_test_hold(hold_us);
		break;
	case CT_LOCK_TABLES:
		ct_profiles_test_hold(hold_us);
		break;
	case CT_LOCK_WAITERS:
		ct_waiters_test_hold(hold_us);
		break;
	case CT_LOCK_REPORT_LOAD:
		ct_plugin_test_hold_load(hold_us);
		break;
	case CT_LOCK_REAL_RESOLVE:
		if (ct_fork_interpose_hold)
			ct_fork_interpose_hold(hold_us);
		break;
	case CT_LOCK_DL_PASS:
		ct_dl_test_hold(hold_us);
		break;
	default:
		r = -1;
	}
	ct_guard_leave();
	return r;
}
#endif
