/* Workload "cond": two threads, one mutex, two condvars, strict
 * alternation, both pinned to one CPU; us per round trip. */

#include "bench.h"

static pthread_cond_t g_cv[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int g_turn, g_cdone;

static void *
cond_thread(void *arg)
{
	struct pp_side pp = pp_begin(arg);
	pthread_mutex_lock(&g_mtx);
	for (;;) {
		while (g_turn != pp.me && !g_cdone)
			pthread_cond_wait(&g_cv[pp.me], &g_mtx);
		if (g_cdone)
			break;
		if (pp.me == 0) {
			if (stopped()) {
				g_cdone = 1;
				pthread_cond_signal(&g_cv[1]);
				break;
			}
			pp.n++; /* one round trip: 0 -> 1 -> 0 */
		}
		g_turn = !pp.me;
		pthread_cond_signal(&g_cv[!pp.me]);
	}
	pthread_mutex_unlock(&g_mtx);
	pp_end(&pp);
	return NULL;
}

static void
work_cond(struct wres *r)
{
	/* Thread 0 counts the round trips. */
	run_pinned_pair(cond_thread, r);
}

PINGPONG_WORKLOAD(cond, work_cond, 40, 46, "4 cond ping-pong");
