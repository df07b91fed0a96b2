/* A reference LD_PRELOAD shim for contend-bench that only forwards
 * pthread_mutex_lock/unlock to libc (a tail call through a pointer): the
 * least any interposer pays for the extra hop from the program's PLT into
 * the wrapper and on into libc. Measured beside libcontend's uncontended
 * fast path it tells that hop apart from libcontend's own work. Not a
 * profiler; built only for the benchmark. */
#include <dlfcn.h>
#include <pthread.h>

static int (*real_lock)(pthread_mutex_t *);
static int (*real_unlock)(pthread_mutex_t *);

static void
resolve(void)
{
	real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	real_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
}

__attribute__((constructor)) static void
forward_shim_init(void)
{
	resolve();
}

__attribute__((visibility("default"))) int
pthread_mutex_lock(pthread_mutex_t *m)
{
	if (__builtin_expect(real_lock == NULL, 0))
		resolve();
	return real_lock(m);
}

__attribute__((visibility("default"))) int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (__builtin_expect(real_unlock == NULL, 0))
		resolve();
	return real_unlock(m);
}
