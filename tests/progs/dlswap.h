/* The two libraries dlswap_prog loads one after the other, dlswap_a.c and
 * dlswap_b.c, are this one with a different name each. A macro rather
 * than a function of a shared file: what each library defines must be
 * its own (named dlswap_contend_SIDE, in its own source file), or the test
 * could not tell that a wait was charged to the right library. */
#ifndef CT_DLSWAP_H
#define CT_DLSWAP_H

#include "progs.h"

void dlswap_run(pthread_mutex_t *m, int *armed);

/* dlswap_contend_SIDE waits once for m (held by dlswap_prog until it sees
 * *armed), and dlswap_run, dlswap_prog's entry point, calls it. */
#define DLSWAP_LIBRARY(SIDE)                                                   \
	void dlswap_contend_##SIDE(pthread_mutex_t *m, int *armed);            \
	NOINLINE void dlswap_contend_##SIDE(pthread_mutex_t *m, int *armed)    \
	{                                                                      \
		__atomic_store_n(armed, 1, __ATOMIC_SEQ_CST);                  \
		pthread_mutex_lock(m);                                         \
		pthread_mutex_unlock(m);                                       \
	}                                                                      \
	NOINLINE void dlswap_run(pthread_mutex_t *m, int *armed)               \
	{                                                                      \
		dlswap_contend_##SIDE(m, armed);                               \
	}

#endif
