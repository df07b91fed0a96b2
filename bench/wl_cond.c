/* Workload "cond": two threads, one mutex, two condvars, strict
 * alternation, both pinned to one CPU; us per round trip. */

#include "bench.h"

static pthread_cond_t g_cv[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int g_turn, g_cdone;

static void *
cond_thread(void *arg)
{
	struct wthread *w = arg;
	int me = (int)w->idx;
	uint64_t n = 0;
	int64_t c0 = wait_go();
	pthread_mutex_lock(&g_mtx);
	for (;;) {
		while (g_turn != me && !g_cdone)
			pthread_cond_wait(&g_cv[me], &g_mtx);
		if (g_cdone)
			break;
		if (me == 0) {
			if (stopped()) {
				g_cdone = 1;
				pthread_cond_signal(&g_cv[1]);
				break;
			}
			n++; /* one round trip: 0 -> 1 -> 0 */
		}
		g_turn = !me;
		pthread_cond_signal(&g_cv[!me]);
	}
	pthread_mutex_unlock(&g_mtx);
	w->cpu_ns = thread_cpu_ns() - c0;
	w->ops = n;
	return NULL;
}

static void
work_cond(struct wres *r)
{
	/* Thread 0 counts the round trips. */
	run_pinned_pair(cond_thread, r);
}

static struct pingpong cond;

static void
collect(enum cfg c, int rep, const struct child *r)
{
	pingpong_add(&cond, c, rep, r);
}

static void
rows(void)
{
	pingpong_rows(&cond, 40, 46, "4 cond ping-pong", "cond");
}

const struct workload wl_cond = {
	.group = "cond", .workers = {{"cond", work_cond}},
	.secs = 0.2, .quick_secs = 0.1, .threads = 2,
	.cfgs = {NATIVE, CT_DEFAULT, CT_ALL},
	.collect = collect, .rows = rows,
};
