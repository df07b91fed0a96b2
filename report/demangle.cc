// C++ demangling through the C++ runtime's own demangler, so names match
// what the compiler and c++filt produce. No exceptions cross into C:
// __cxa_demangle reports failures through status.
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>

#include "demangle.h"

char *
ct_demangle_name(const char *name)
{
	int status = 0;

	// Only "_Z..." names are mangled; __cxa_demangle would also turn a
	// plain "i" into "int", which must not happen to C symbols.
	if (!name || std::strncmp(name, "_Z", 2) != 0)
		return nullptr;
	char *out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
	if (status != 0) {
		std::free(out);
		return nullptr;
	}
	return out;
}
