/* The loader of libcontend-report.so; see plugin.h. Owns the library's
 * path and handle. Never runs on a wrapper path. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "dlhist.h"
#include "forkstate.h"
#include "log.h"
#include "paths.h"
#include "plugin.h"
#include "sys.h"

static const char *ct_report_lib CT_INIT_HOT = ""; /* else in paths.h's room */

void
ct_plugin_configure(const char *report_lib)
{
	const char *kept = ct_paths_keep(report_lib);
	if (kept)
		ct_report_lib = kept;
}

/* 0 not tried, 1 loading, 2 done (ct_report_handle set or NULL). The
 * dumper thread and the exit path may both get here; the one that does not
 * load waits at most CT_REPORT_LOAD_WAIT_MS. A fork child that inherits
 * "loading" starts over (ct_plugin_fork_child). */
static int ct_report_state;
static void *ct_report_handle;
#define CT_REPORT_LOAD_WAIT_MS 5000

/* The program's own C++ demangler for the report library (report/
 * demangle.h), which does not link libstdc++: looked up when the library
 * is loaded and again once objects were loaded since (a C program that
 * loads a C++ module) until found; a fork child inherits what its parent
 * found. Under ct_dl_forks_off (dlsym holds the loader's lock). */
static unsigned long long ct_demangler_adds; /* the loader's count at the last lookup */
static int ct_demangler_found;

static int
ct_plugin_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds;
	return 1; /* the same in every entry */
}

/* The path of a loaded C++ runtime (libstdc++, or LLVM's libc++abi), which
 * a module the program loaded with RTLD_LOCAL keeps out of dlsym's
 * default scope. */
static int
ct_plugin_cxx_runtime(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const char *name = info->dlpi_name;
	if (!name || (!strstr(name, "/libstdc++.so") && !strstr(name, "/libc++abi.so")) ||
	    strlen(name) >= PATH_MAX)
		return 0;
	strcpy(arg, name);
	return 1;
}

static void
ct_plugin_demangler(void *h)
{
	if (!h)
		return;
	unsigned long long adds = 0;
	if (__atomic_load_n(&ct_demangler_found, __ATOMIC_RELAXED))
		return;
	ct_dl_iterate(ct_plugin_adds, &adds);
	if (__atomic_exchange_n(&ct_demangler_adds, adds, __ATOMIC_RELAXED) == adds)
		return;
	static char path[PATH_MAX];
	path[0] = '\0';
	ct_dl_iterate(ct_plugin_cxx_runtime, path);
	bool mine = ct_dl_forks_off();
	/* A reference to the runtime (RTLD_NOLOAD: only if loaded already),
	 * kept as the report library's link to libstdc++ was: a module the
	 * program closes may not take the demangler with it. The default
	 * scope is for a runtime linked into the executable. */
	void *rt = path[0] ? dlopen(path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
	void *fn = dlsym(rt ? rt : RTLD_DEFAULT, "__cxa_demangle");
	ct_report_set_demangler_fn set =
		fn ? (ct_report_set_demangler_fn)dlsym(h, "ct_report_set_demangler") : NULL;
	ct_dl_forks_on(mine);
	if (set) {
		set(fn);
		__atomic_store_n(&ct_demangler_found, 1, __ATOMIC_RELAXED);
	}
}

void *
ct_plugin_sym(const char *name)
{
	int expect = 0;
	if (__atomic_compare_exchange_n(&ct_report_state, &expect, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		bool mine = ct_dl_forks_off();
		void *h = dlopen(ct_report_lib, RTLD_NOW | RTLD_LOCAL);
		ct_dl_forks_on(mine);
		if (!h) {
			const char *e = dlerror();
			ct_log("cannot load the report library %s (%s); no profiles written",
			       ct_report_lib, e ? e : "unknown error");
		}
		ct_report_handle = h;
		__atomic_store_n(&ct_report_state, 2, __ATOMIC_RELEASE);
	}
	struct timespec tick = {0, 1000 * 1000};
	for (int ms = 0; __atomic_load_n(&ct_report_state, __ATOMIC_ACQUIRE) != 2; ms++) {
		if (ms >= CT_REPORT_LOAD_WAIT_MS)
			return NULL;
		ct_sys_nanosleep(&tick, NULL);
	}
	if (!ct_report_handle)
		return NULL;
	ct_plugin_demangler(ct_report_handle);
	/* dlsym holds the loader's lock like dlopen (core/dlhist.h). */
	bool mine = ct_dl_forks_off();
	void *sym = dlsym(ct_report_handle, name);
	ct_dl_forks_on(mine);
	if (!sym)
		ct_log("%s has no %s", ct_report_lib, name);
	return sym;
}

void
ct_plugin_demangler_refresh(void)
{
	if (__atomic_load_n(&ct_report_state, __ATOMIC_ACQUIRE) == 2)
		ct_plugin_demangler(ct_report_handle);
}

void
ct_plugin_fork_child(void)
{
	int loading = 1;
	/* Read first: a compare-and-swap writes its page even when it fails,
	 * and the child would copy it from its parent for nothing. */
	if (__atomic_load_n(&ct_report_state, __ATOMIC_RELAXED) == loading)
		__atomic_compare_exchange_n(&ct_report_state, &loading, 0, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

#ifdef CT_TEST_SEAMS
void
ct_plugin_test_hold_load(long hold_us)
{
	int was = __atomic_exchange_n(&ct_report_state, 1, __ATOMIC_ACQ_REL);
	ct_forkstate_test_sleep_us(hold_us);
	__atomic_store_n(&ct_report_state, was, __ATOMIC_RELEASE);
}
#endif
