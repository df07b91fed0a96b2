/* C++ and Rust name demangling for report/.
 *
 * With the C++ runtime's __cxa_demangle when the shim found one loaded in
 * the program (every C++ program has it; ct_report_set_demangler, core/
 * plugin.c), so a C program never has libstdc++ loaded by us: its
 * finalizers, pages and link maps were paid at the exit of every fork
 * child of a C server once the report library was loaded. Without one,
 * C++ names stay as they are (mangled). Rust names need no runtime: they
 * are decoded here (demangle_rust.c), as pprof and Rust's backtraces show
 * them.
 *
 * Thread-safe, allocates, not async-signal-safe. */
#ifndef CT_DEMANGLE_H
#define CT_DEMANGLE_H

#include "../core/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The C++ runtime's __cxa_demangle (char *(const char *, char *, size_t *,
 * int *)), from the program, or NULL: C++ names are demangled with it.
 * Exported: the shim hands it over (core/plugin.c, whose type for it is
 * ct_report_set_demangler_fn). Thread-safe, async-signal-safe. */
CT_EXPORT void ct_report_set_demangler(void *fn);

/* The demangled form of a Rust name (below) or of an Itanium-ABI one
 * ("_ZN2ns3fooEi" -> "ns::foo(int)") in a malloc'd string, or NULL if name
 * is not a mangled name (plain C symbols, "main"), no C++ demangler was
 * handed over or memory ran out. */
char *ct_demangle_name(const char *name);

/* A Rust symbol, legacy ("_ZN...17h<16 hex digits>E") or v0 ("_R..."), in
 * the short form of rustc's demangler ("{:#}": no hash, no disambiguators;
 * "<std::sys::sync::mutex::futex::Mutex>::lock_contended"), malloc'd; NULL
 * when name is not one, uses what this decoder does not know (punycode
 * identifiers, structured constants), is malformed, or demangles to more
 * than 4 KiB. Any input is safe. Thread-safe, allocates. */
char *ct_demangle_rust(const char *name);

#ifdef __cplusplus
}
#endif

#endif
