/* dlclose: before a library can be unmapped, the loaded objects are
 * listed, and after it the ones that went are kept with the generation
 * they belonged to (core/dlhist.h), so that the waits recorded while they
 * were mapped are not charged to whatever is loaded at their address
 * later, and the stack unwinder's cached rules (core/unwind.h) are
 * dropped. dlopen needs no wrapper: a load changes no address that was
 * recorded or cached before it. The cost (two dl_iterate_phdr walks, one malloc'd
 * list) is paid per dlclose only, never on a lock path. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "../core/dlhist.h"
#include "../core/event.h"
#include "../core/unwind.h"
#include "interpose.h"

typedef int (*ct_dlclose_fn)(void *);

static ct_dlclose_fn ct_real_dlclose;

static ct_dlclose_fn
ct_dlclose_real(void)
{
	ct_dlclose_fn f = __atomic_load_n(&ct_real_dlclose, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (ct_dlclose_fn)dlsym(RTLD_NEXT, "dlclose");
		__atomic_store_n(&ct_real_dlclose, f, __ATOMIC_RELEASE);
	}
	return f;
}

CT_EXPORT int
dlclose(void *handle)
{
	ct_dlclose_fn real = ct_dlclose_real();
	if (!real)
		return -1; /* no libc dlclose to call: cannot happen with glibc */
	/* Not while profiling is off or from inside the shim (the dump's
	 * own dlclose of helpers): nothing recorded can name those. */
	if (!ct_active()) {
		int r = real(handle);
		ct_unwind_invalidate();
		return r;
	}
	ct_guard_enter();
	struct ct_dlhist_list *before = ct_dlhist_before();
	ct_guard_leave();
	int r = real(handle);
	int saved = errno;
	/* The unwinder's rules of the objects that went: whatever maps at
	 * their addresses later has its own. */
	ct_unwind_invalidate();
	ct_guard_enter();
	ct_dlhist_after(before);
	ct_guard_leave();
	errno = saved;
	return r;
}
