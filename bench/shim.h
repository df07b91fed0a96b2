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

static void resolve(void);

/* The shim's two pointers to libc's functions, real_A and real_B
 * (pthread_mutex_A, pthread_mutex_B), and resolve(), which sets them in
 * that order. Both must be read by the shim: a dlsym whose result went
 * unused could become the constructor's tail call, and then see ld.so as
 * its caller and search RTLD_NEXT from there. */
#define SHIM_REAL(A, B)                                                              \
	static mutex_fn real_##A, real_##B;                                          \
	static void resolve(void)                                                    \
	{                                                                            \
		real_##A = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_" #A);          \
		real_##B = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_" #B);          \
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
