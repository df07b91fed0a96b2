/* A reference LD_PRELOAD shim for contend-bench that only forwards
 * pthread_mutex_lock/unlock to libc (a tail call through a pointer): the
 * least any interposer pays for the extra hop from the program's PLT into
 * the wrapper and on into libc. Measured beside libcontend's uncontended
 * fast path it tells that hop apart from libcontend's own work. Not a
 * profiler; built only for the benchmark. */
#include "shim.h"

SHIM_REAL(lock, unlock)

SHIM_EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
	ENSURE_RESOLVED(real_lock);
	return real_lock(m);
}

SHIM_EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	ENSURE_RESOLVED(real_unlock);
	return real_unlock(m);
}
