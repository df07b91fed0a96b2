/* C++ name demangling for report/ (the only C++ in libcontend).
 *
 * Thread-safe, allocates, not async-signal-safe. */
#ifndef CT_DEMANGLE_H
#define CT_DEMANGLE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The demangled form of an Itanium-ABI name ("_ZN2ns3fooEi" ->
 * "ns::foo(int)") in a malloc'd string, or NULL if name is not a mangled
 * name (plain C symbols, "main") or memory ran out. */
char *ct_demangle_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif
