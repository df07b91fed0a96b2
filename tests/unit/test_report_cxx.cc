// A C++ member function for the demangling test in test_report.c: its
// frame must come out as "ctt::Account::transfer(ct_test_site*, int)"
// with the mangled name in Function.system_name.
#include <cxxabi.h>

#include "../../report/demangle.h"
#include "test_report.h"

namespace ctt {
struct Account {
	static void transfer(ct_test_site *s, int amount) __attribute__((noipa));
};

// Declaration, call and __LINE__ share lines on purpose: the test compares
// them with what DWARF says.
void Account::transfer(ct_test_site *s, int amount) { s->start = __LINE__;
	s->pc = ct_test_capture(); s->line = __LINE__ + amount;
}
} // namespace ctt

extern "C" void
ct_test_cxx_site(struct ct_test_site *s)
{
	ctt::Account::transfer(s, 0);
}

// The shim hands the report library the program's own demangler
// (core/plugin.c); this binary is the program here.
__attribute__((constructor)) static void
set_demangler()
{
	ct_report_set_demangler(reinterpret_cast<void *>(&abi::__cxa_demangle));
}
