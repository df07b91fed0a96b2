/* The table of core/sys.h, holding libc's own functions until the shim
 * installs the real ones. */
#include "sys.h"

struct ct_sys ct_sys = {
#define CT_SYS_LIBC(name) .name = name,
	CT_SYS_FUNCS(CT_SYS_LIBC)
#undef CT_SYS_LIBC
};

void
ct_sys_install(const struct ct_sys *real)
{
	ct_sys = *real;
}
