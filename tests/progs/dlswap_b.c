/* One of two libraries that dlswap_prog loads one after the other at
 * (most likely) the same address: dlswap_contend_b waits for a mutex
 * held elsewhere, so its waits must be charged to it and to this file
 * even after the library is unloaded and the other one takes its place. */
#include "progs.h"

void dlswap_run(pthread_mutex_t *m, int *armed);
void dlswap_contend_b(pthread_mutex_t *m, int *armed);

NOINLINE void
dlswap_contend_b(pthread_mutex_t *m, int *armed)
{
	__atomic_store_n(armed, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(m);
	pthread_mutex_unlock(m);
}

NOINLINE void
dlswap_run(pthread_mutex_t *m, int *armed)
{
	dlswap_contend_b(m, armed);
}
