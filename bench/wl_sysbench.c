/* Workload "sysbench": sysbench's mutex test, rewritten (sysbench is not
 * a dependency): w_threads threads (4 by default: more threads than
 * CPUs, as servers run), each loop does local work (sysbench's
 * --mutex-loops, here 200 LCG steps, about 200 ns) and then locks one of
 * SB_LOCKS mutexes picked at random, bumps its counter, unlocks. A mix of
 * uncontended and contended acquisitions, with preemption of holders.
 * Total acquisitions per second. */
#include <stdlib.h>

#include "bench.h"

#define SB_LOCKS 4
#define SB_THREADS 4
#define SB_WORK 200

static struct {
	pthread_mutex_t m;
	uint64_t counter;
} __attribute__((aligned(64))) sb_lock[SB_LOCKS];

static void *
sb_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t x = w->idx * 7919 + 1, n = 0;
	int64_t c0 = wait_go();
	while (!stopped()) {
		x = busy_work(x, SB_WORK);
		unsigned i = (unsigned)(x >> 33) % SB_LOCKS;
		pthread_mutex_lock(&sb_lock[i].m);
		sb_lock[i].counter++;
		pthread_mutex_unlock(&sb_lock[i].m);
		n++;
	}
	w->cpu_ns = thread_cpu_ns() - c0;
	w->ops = n;
	w->sink = x;
	return NULL;
}

static void
work_sysbench(struct wres *r)
{
	for (int i = 0; i < SB_LOCKS; i++)
		pthread_mutex_init(&sb_lock[i].m, NULL);
	r->elapsed = run_threads(sb_thread, SB_THREADS);
	sum_threads(SB_THREADS, r);
}

static struct series sb[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&sb[c], rep, mops_per_s(r));
}

static void
rows(void)
{
	dump_series("sysbench-like M acq/s", sb);
	row_pair(80, "8 sysbench-mutex-like, 4 threads, 4 locks", "M acq/s", sb, true);
}

const struct workload wl_sysbench = {
	.group = "sysbench", .workers = {{"sysbench", work_sysbench}},
	.secs = 0.3, .quick_secs = 0.15, .threads = SB_THREADS,
	.cfgs = {NATIVE, CT_DEFAULT, CT_ALL},
	.collect = collect, .rows = rows,
};
