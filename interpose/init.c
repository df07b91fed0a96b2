/* The shim's start: configuration, resolution, tables, exit and fork
 * hooks. Runs from our constructor, or earlier from the first slow path if
 * another library's constructor takes a lock first. Never takes a pthread
 * lock of its own. */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <malloc.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/dlhist.h"
#include "../core/dump.h"
#include "../core/event.h"
#include "../core/fork.h"
#include "../core/forklocks.h"
#include "../core/log.h"
#include "../core/plugin.h"
#include "../core/profiles.h"
#include "../core/spin.h"
#include "../core/stack.h"
#include "../core/threads.h"
#include "interpose.h"
#include "io.h"
#include "real.h"

int ct_spin_unlocked_value;

static int ct_init_state; /* 0 none, 1 running, 2 done */

/* The executable range of the object that holds addr. */
struct ct_range {
	uintptr_t addr, lo, hi;
};

static bool
ct_object_holds(const struct dl_phdr_info *info, uintptr_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= lo && addr < lo + ph->p_memsz)
			return true;
	}
	return false;
}

static int
ct_find_exec_ranges(struct dl_phdr_info *info, size_t size, void *data)
{
	struct ct_range *r = data;
	(void)size;
	for (; r->addr; r++) {
		if (!ct_object_holds(info, r->addr))
			continue;
		for (int i = 0; i < info->dlpi_phnum; i++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
			if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
				continue;
			uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
			uintptr_t hi = lo + ph->p_memsz;
			if (!r->lo || lo < r->lo)
				r->lo = lo;
			if (hi > r->hi)
				r->hi = hi;
		}
	}
	return 0;
}

/* The allocator the program calls: our own calls of these go to the
 * scratch heap's wrappers (core/scratch.h), the real ones are these. */
void *__real_malloc(size_t n);
void __real_free(void *p);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

/* The code that takes the locks glibc's fork() takes (core/forklocks.h)
 * and may be let finish after a fatal signal: the allocator's entry
 * points (a program that brings its own malloc brings its own locks, but
 * its pthread_atfork handlers take them just the same) and fork() itself.
 * Not malloc_stats() and malloc_info(), which write out while they hold
 * the lock: natively the signal cut that output short. Addresses only:
 * nothing is looked up. */
static void
ct_set_forklocks(void)
{
	const uintptr_t fns[] = {
		(uintptr_t)__real_malloc, (uintptr_t)__real_free,
		(uintptr_t)__real_calloc, (uintptr_t)__real_realloc,
		(uintptr_t)reallocarray, (uintptr_t)posix_memalign,
		(uintptr_t)aligned_alloc, (uintptr_t)memalign,
		(uintptr_t)valloc, (uintptr_t)pvalloc,
		(uintptr_t)malloc_trim, (uintptr_t)mallinfo2,
		(uintptr_t)mallopt, (uintptr_t)fork,
	};
	ct_forklocks_set_entries(fns, (int)(sizeof(fns) / sizeof(fns[0])));
}

/* Our own code range (dropped from stacks) and the report library, which
 * is installed next to us. */
static void
ct_locate_self(void)
{
	/* Ours, then where a thread a signal interrupted may hold the heap's
	 * or the loader's lock (core/dump.h): libc, the object that defines
	 * the malloc everyone calls, the dynamic loader. */
	struct ct_range r[] = {
		{.addr = (uintptr_t)ct_init_once},
		{.addr = (uintptr_t)gnu_get_libc_version},
		{.addr = (uintptr_t)__real_malloc},
		{.addr = (uintptr_t)&_r_debug},
		{0},
	};
	ct_dl_iterate(ct_find_exec_ranges, r);
	ct_stack_set_self_range(r[0].lo, r[0].hi);
	for (int i = 1; r[i].addr; i++)
		ct_dump_set_locking_code(i - 1, r[i].lo, r[i].hi);

	Dl_info di;
	if (!dladdr((void *)ct_init_once, &di) || !di.dli_fname)
		return;

	char path[PATH_MAX];
	if (!realpath(di.dli_fname, path))
		return;
	char *slash = strrchr(path, '/');
	const char *name = "libcontend-report.so";
	if (!slash || (size_t)(slash - path) + 1 + strlen(name) >= sizeof(path))
		return;
	strcpy(slash + 1, name);
	ct_plugin_configure(path);
	ct_dump_configure(fork);
}

/* The leaf address of every op, from core/ops.h: X entries take their
 * wrapped function's real pointer (wrapped.def), the futex ops syscall's. */
static void
ct_set_leaves(void)
{
#define CT_LEAF(op, fn) ct_profiles_set_leaf(CT_OP_##op, (uintptr_t)real_##fn);
#define CT_NO_LEAF(op, name)
	CT_OPS(CT_LEAF, CT_NO_LEAF)
#undef CT_NO_LEAF
#undef CT_LEAF
	ct_profiles_set_leaf(CT_OP_FUTEX_WAIT, (uintptr_t)real_syscall);
	ct_profiles_set_leaf(CT_OP_FUTEX_WAKE, (uintptr_t)real_syscall);
}

/* interpose/'s part of the fork child protocol (core/fork.h). */
static void
ct_interpose_fork_child(void)
{
	ct_real_fork_child();
	ct_signals_fork_child();
}

void
ct_init_once(void)
{
	int expect = 0;
	if (!__atomic_compare_exchange_n(&ct_init_state, &expect, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread initialises: it never waits on us, so wait. */
		while (__atomic_load_n(&ct_init_state, __ATOMIC_ACQUIRE) != 2)
			ct_cpu_relax();
		return;
	}
	ct_guard_enter();
	ct_real_resolve();
	ct_interpose_sys_init();
	ct_dlhist_init(); /* while /proc/self/exe is still ours to read */
	ct_config_load(secure_getenv);
	if (ct_cfg.help)
		ct_config_print_help();

	pthread_spinlock_t probe;
	pthread_spin_init(&probe, PTHREAD_PROCESS_PRIVATE);
	ct_spin_unlocked_value = *(volatile int *)&probe;

	ct_locate_self();
	ct_set_forklocks();
	ct_set_leaves();
	ct_io_init(); /* before ct_hot.ready: the tick clock must be set up */
	ct_dump_set_dir();
	ct_dump_exit_init();
	int err = ct_profiles_init();
	if (err == 0)
		err = ct_threads_init();
	if (err < 0) {
		ct_log("cannot allocate the profile tables (%s); profiling is off", strerror(-err));
	} else {
		atexit(ct_dump_at_exit);
#ifdef CT_TEST_SEAMS
		ct_fork_install(ct_interpose_fork_child, ct_real_test_hold);
#else
		ct_fork_install(ct_interpose_fork_child, NULL);
#endif
		ct_signals_init();
		ct_signals_live_start();
	}
	ct_guard_leave();
	__atomic_store_n(&ct_init_state, 2, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void
ct_constructor(void)
{
	ct_init_once();
}
