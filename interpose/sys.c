/* Points core's table of wrapped functions (core/sys.h) at the real libc
 * functions. Forwarders rather than copies of the real_* pointers, which
 * may still hold their bootstrap stubs at init (real.h).
 *
 * Generated from interpose/wrapped.def: one forwarder per wrapped function
 * (the compiler keeps only those the table names), so core's list
 * (CT_SYS_FUNCS) can only name functions the shim wraps, and each
 * forwarder is checked to have the type of libc's own declaration. */
#include "../core/sys.h"
#include "interpose.h"
#include "real.h"

#define CT_FWD(ret, name, params, args, versioned)                                               \
	static __attribute__((unused)) ret ct_fwd_##name params                                  \
	{                                                                                        \
		return real_##name args;                                                         \
	}
CT_REAL_FUNCS(CT_FWD)
#undef CT_FWD

/* wrapped.def's signature is libc's: otherwise the slot's call would pass
 * arguments the forwarder reads differently. */
#define CT_FWD_CHECK(name)                                                                       \
	_Static_assert(__builtin_types_compatible_p(__typeof__(&ct_fwd_##name),                  \
						    __typeof__(((struct ct_sys *)0)->name)),      \
		       "interpose/wrapped.def: " #name " is not declared as libc declares it");
CT_SYS_FUNCS(CT_FWD_CHECK)
#undef CT_FWD_CHECK

void
ct_interpose_sys_init(void)
{
	static const struct ct_sys real = {
#define CT_FWD_SLOT(name) .name = ct_fwd_##name,
		CT_SYS_FUNCS(CT_FWD_SLOT)
#undef CT_FWD_SLOT
	};
	ct_sys_install(&real);
}
