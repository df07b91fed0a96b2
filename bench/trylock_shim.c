/* A reference LD_PRELOAD shim for contend-bench: pthread_mutex_lock as
 * trylock-then-lock, the way mutrace (and brpc, jemalloc's counters) detect
 * contention, and nothing else: no clock, no counters, no stacks. Measured
 * beside libcontend it shows what the extra atomic on the lock word costs a
 * contended program by itself, which is why libcontend reads the word with
 * a plain load instead. Not a profiler; built only for the benchmark. */
#include <errno.h>

#include "shim.h"

SHIM_REAL(trylock, lock)

SHIM_EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
	ENSURE_RESOLVED(real_lock);
	int r = real_trylock(m);
	if (r != EBUSY)
		return r; /* acquired, relocked a recursive mutex, or an error */
	return real_lock(m);
}
