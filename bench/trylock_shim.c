/* A reference LD_PRELOAD shim for contend-bench: pthread_mutex_lock as
 * trylock-then-lock, the way mutrace (and brpc, jemalloc's counters) detect
 * contention, and nothing else: no clock, no counters, no stacks. Measured
 * beside libcontend it shows what the extra atomic on the lock word costs a
 * contended program by itself, which is why libcontend reads the word with
 * a plain load instead. Not a profiler; built only for the benchmark. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

static int (*real_lock)(pthread_mutex_t *);
static int (*real_trylock)(pthread_mutex_t *);

static void
resolve(void)
{
	real_trylock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_trylock");
	real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
}

__attribute__((constructor)) static void
trylock_shim_init(void)
{
	resolve();
}

__attribute__((visibility("default"))) int
pthread_mutex_lock(pthread_mutex_t *m)
{
	if (__builtin_expect(real_lock == NULL, 0))
		resolve();
	int r = real_trylock(m);
	if (r != EBUSY)
		return r; /* acquired, relocked a recursive mutex, or an error */
	return real_lock(m);
}
