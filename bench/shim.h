/* What the two reference shims (trylock_shim.c, forward_shim.c) share:
 * libc's mutex functions, found with dlsym(RTLD_NEXT) from a constructor,
 * and again by a wrapper called before that constructor ran (another
 * library's constructor may lock first). Header-only: each shim is a
 * library of its own, and the wrappers' code stays what it was (one
 * check, then the call). */
#ifndef CT_BENCH_SHIM_H
#define CT_BENCH_SHIM_H

#include <dlfcn.h>
#include <pthread.h>

typedef int (*mutex_fn)(pthread_mutex_t *);

/* Defined by the shim: sets the mutex_fn pointers it reads, with next_fn
 * (every result stored in a pointer that is read: a dlsym whose result
 * went unused could become the constructor's tail call, and then see
 * ld.so as its caller and search RTLD_NEXT from there). */
static void resolve(void);

static inline mutex_fn
next_fn(const char *name)
{
	return (mutex_fn)dlsym(RTLD_NEXT, name);
}

__attribute__((constructor)) static void
shim_init(void)
{
	resolve();
}

/* Resolves now if fn is not set yet (the constructor has not run). */
#define ENSURE_RESOLVED(fn)                            \
	do {                                           \
		if (__builtin_expect((fn) == NULL, 0)) \
			resolve();                     \
	} while (0)

#define SHIM_EXPORT __attribute__((visibility("default")))

#endif
