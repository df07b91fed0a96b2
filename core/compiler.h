/* Small compiler helpers shared by every module. */
#ifndef CT_COMPILER_H
#define CT_COMPILER_H

#define CT_EXPORT __attribute__((visibility("default")))
#define CT_HIDDEN __attribute__((visibility("hidden")))
#define CT_LIKELY(x) __builtin_expect(!!(x), 1)
#define CT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CT_NOINLINE __attribute__((noinline))
#define CT_TLS __thread __attribute__((tls_model("initial-exec")))
/* The functions every timed call runs between its two system calls (the
 * wait record, the I/O wait's end): next to each other, on as few pages
 * and lines as they take, wherever the files that define them are linked
 * (the linker gathers .text.hot.* in one place). */
#define CT_HOT_TEXT __attribute__((section(".text.hot.contend"), aligned(64)))
#define CT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Small state that a fork child writes at its fork and its exit (the
 * handlers' resets, the exit dump's bookkeeping), or that a forking parent
 * writes at every fork: gathered by the linker from every file into one
 * section of its own (ct_forkhot, a few KiB), so that either process
 * copies those few pages from the other rather than a page per variable
 * spread over the shim's 660 KiB of static data (a PostgreSQL backend
 * wrote 11 such pages, each a copy-on-write fault: some 25 us on a VM).
 * Only for writable, non-TLS variables; costs nothing else. */
#define CT_FORK_HOT __attribute__((section("ct_forkhot")))

/* Small state that the shim's init writes or reads (pointers to its tables,
 * code ranges, leaf addresses, hooks), gathered by the linker from every
 * file into one section of its own (ct_inithot, about 1 KiB) next to the
 * data the loader relocates anyway: every preloaded process runs the
 * init, most record nothing (each child of make -j, each shell), and each
 * page of static data init first touches costs such a process a page
 * fault (some 20 us on the VMs we measure on); spread over the shim's
 * 650 KiB of zeroed data these variables took six pages. Only for
 * writable, non-TLS variables; costs nothing else. */
#define CT_INIT_HOT __attribute__((section("ct_inithot")))

/* Defines `const char *fn(unsigned i)`: the name of entry i of an X-macro
 * list, or dflt past its count entries. The names are the remaining
 * arguments, usually the list expanded with a one-name X
 * (`CT_FD_KINDS(NAME)`, each `name,`). Pure; safe from any context. */
#define CT_NAME_LOOKUP(fn, count, dflt, ...)                                                     \
	const char *fn(unsigned i)                                                               \
	{                                                                                        \
		static const char *const names[count] = {__VA_ARGS__};                          \
		return i < (count) ? names[i] : (dflt);                                          \
	}

#endif
