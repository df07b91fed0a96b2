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
