/* Workload "contended": N threads on one mutex, counter++ inside, --work
 * LCG steps outside; total acquisitions per second, and in a separate run
 * (contended-count) the share of acquisitions that found the lock held.
 * Also the peak RSS and ru_maxrss (with the exit dump) of that run. */
#include <stdio.h>

#include "bench.h"

/* One contending thread's loop. count: also count the acquisitions that
 * found the lock word nonzero (held); a separate run (contended-count),
 * so the measured loop has no extra load. Always inlined with a constant
 * count, so the measured loop has no test of it either. */
static inline __attribute__((always_inline)) void *
contend_loop(struct wthread *w, bool count)
{
	uint64_t x = w->idx + 1, n = 0, cont = 0;
	int64_t c0 = wait_go();
	while (!stopped()) {
		if (count && lock_word(&g_mtx) != 0)
			cont++;
		pthread_mutex_lock(&g_mtx);
		g_counter++;
		pthread_mutex_unlock(&g_mtx);
		x = busy_work(x, w_work);
		n++;
	}
	w->cpu_ns = thread_cpu_ns() - c0;
	w->ops = n;
	w->contended = cont;
	w->sink = x;
	return NULL;
}

static void *
contended_thread(void *arg)
{
	return contend_loop(arg, false);
}

static void *
contended_count_thread(void *arg)
{
	return contend_loop(arg, true);
}

static void
work_contended(struct wres *r)
{
	r->elapsed = run_threads(contended_thread, w_threads);
	sum_threads(w_threads, r);
}

static void
work_contended_count(struct wres *r)
{
	r->elapsed = run_threads(contended_count_thread, w_threads);
	sum_threads(w_threads, r);
}

static struct series cont[NCFG], cont_frac[NCFG], hwm_cont[NCFG], rss_cont[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&cont[c], rep, mops_per_s(r));
	add(&hwm_cont[c], rep, (double)r->hwm_kib);
	add(&rss_cont[c], rep, (double)r->maxrss_kib);
}

static void
collect_count(enum cfg c, int rep, const struct child *r)
{
	add(&cont_frac[c], rep, (double)r->contended * 100 / (double)r->ops);
}

static void
rows(void)
{
	dump_series("contended M acq/s", cont);
	dump_series("VmHWM KiB, contended", hwm_cont);
	char w[96];
	snprintf(w, sizeof(w), "2 contended throughput, %u threads", bench.threads);
	row_pair(20, w, "M acq/s", cont, true);
	row_s(51, "5 peak RSS in run (VmHWM), contended, default", "KiB", &hwm_cont[NATIVE],
	      &hwm_cont[CT_DEFAULT], &hwm_cont[TRYLOCK], false);
	row_s(53, "5 ru_maxrss incl. exit dump, contended, default", "KiB", &rss_cont[NATIVE],
	      &rss_cont[CT_DEFAULT], &rss_cont[TRYLOCK], false);
}

static void
rows_count(void)
{
	dump_series("contended fraction", cont_frac);
	row_s(22, "2   acquisitions that found the lock held", "%", &cont_frac[NATIVE],
	      &cont_frac[CT_DEFAULT], NULL, false);
}

const struct workload wl_contended = {
	.group = "contended", .workers = {{"contended", work_contended}},
	.secs = 0.3, .quick_secs = 0.15, .expect = EXPECT_THREADS,
	.cfgs = {NATIVE, CT_DEFAULT, CT_ALL, TRYLOCK},
	.collect = collect, .rows = rows,
};

/* Part of the group "contended", run after it in each repetition. */
const struct workload wl_contended_count = {
	.group = "contended", .workers = {{"contended-count", work_contended_count}},
	.secs = 0.2, .quick_secs = 0.1, .expect = EXPECT_THREADS,
	.cfgs = {NATIVE, CT_DEFAULT},
	.collect = collect_count, .rows = rows_count,
};
