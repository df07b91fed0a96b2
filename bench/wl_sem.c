/* Workload "sem": two threads pass a token back and forth through two
 * semaphores, strictly alternating, both pinned to one CPU (as cond,
 * wl_cond.c: every wait is then one context switch of a few
 * microseconds, not an interrupt whose latency the hypervisor decides).
 * us per round trip; every round trip is two waits that block, so the row
 * shows what short recorded waits cost at the default rates. */
#include <semaphore.h>
#include <stdlib.h>

#include "bench.h"

static sem_t g_sem[2];
static bool g_sem_end; /* thread 0's decision, passed with its last post */

/* Thread 0 counts round trips and, once stopped, sends a last token with
 * g_sem_end set, which tells thread 1 to end (the semaphore orders the
 * store before thread 1's read). */
static void *
sem_thread(void *arg)
{
	struct pp_side pp = pp_begin(arg);
	for (;;) {
		if (pp.me == 0) {
			bool end = stopped();
			g_sem_end = end;
			sem_post(&g_sem[1]);
			if (end)
				break;
			while (sem_wait(&g_sem[0]) != 0)
				;
			pp.n++;
		} else {
			while (sem_wait(&g_sem[1]) != 0)
				;
			if (g_sem_end)
				break;
			sem_post(&g_sem[0]);
		}
	}
	pp_end(&pp);
	return NULL;
}

static void
work_sem(struct wres *r)
{
	if (sem_init(&g_sem[0], 0, 0) != 0 || sem_init(&g_sem[1], 0, 0) != 0)
		abort();
	run_pinned_pair(sem_thread, r);
}

PINGPONG_WORKLOAD(sem, work_sem, 42, 47, "4 semaphore ping-pong");
