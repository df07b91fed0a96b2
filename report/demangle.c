/* C++ demangling through the C++ runtime's own demangler, so names match
 * what the compiler and c++filt produce; Rust names go to our own decoder
 * (demangle_rust.c) first. See demangle.h. The report library does not
 * link libstdc++: the shim hands it the program's own __cxa_demangle
 * (core/plugin.c, ct_report_set_demangler). */
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

typedef char *(*ct_cxa_demangle_fn)(const char *name, char *buf, size_t *len, int *status);

static ct_cxa_demangle_fn ct_cxa_demangle;

void
ct_report_set_demangler(void *fn)
{
	__atomic_store_n(&ct_cxa_demangle, (ct_cxa_demangle_fn)fn, __ATOMIC_RELEASE);
}

char *
ct_demangle_name(const char *name)
{
	/* Rust first: its legacy names are Itanium-shaped, and the C++
	 * demangler would keep their hash and "$LT$" escapes. */
	char *rust = ct_demangle_rust(name);
	if (rust)
		return rust;
	ct_cxa_demangle_fn fn = __atomic_load_n(&ct_cxa_demangle, __ATOMIC_ACQUIRE);
	int status = 0;

	/* Only "_Z..." names are mangled; __cxa_demangle would also turn a
	 * plain "i" into "int", which must not happen to C symbols. */
	if (!fn || !name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	char *out = fn(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}
