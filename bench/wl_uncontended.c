/* Workload "uncontended": one thread, lock; counter++; unlock in a tight
 * loop: what every lock call pays. Also the peak RSS of that run and the
 * floor any LD_PRELOAD wrapper pays (the forwarding shim). */
#include <math.h>
#include <stdio.h>

#include "bench.h"

static void
work_uncontended(struct wres *r)
{
	/* Warm up: lazy PLT binding, the shim's first-call paths, the cache. */
	for (int i = 0; i < 100000; i++) {
		pthread_mutex_lock(&g_mtx);
		g_counter++;
		pthread_mutex_unlock(&g_mtx);
	}
	uint64_t n = 0;
	int64_t c0 = thread_cpu_ns();
	int64_t t0 = now_ns(), t;
	do {
		for (int i = 0; i < 4096; i++) {
			pthread_mutex_lock(&g_mtx);
			/* A store the opaque calls force into memory. */
			g_counter++;
			pthread_mutex_unlock(&g_mtx);
		}
		n += 4096;
	} while ((t = now_ns()) - t0 < w_dur_ns);
	r->cpu = thread_cpu_ns() - c0;
	r->elapsed = t - t0;
	r->ops = n;
}

static struct series unc[NCFG], hwm_unc[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&unc[c], rep, ns_per_op(r));
	add(&hwm_unc[c], rep, (double)r->hwm_kib);
}

static void
rows(void)
{
	dump_series("uncontended ns/pair", unc);
	dump_series("VmHWM KiB, uncontended", hwm_unc);
	row_s(10, "1 uncontended lock+unlock pair, 1 thread", "ns/pair", &unc[NATIVE],
	      &unc[CT_DEFAULT], &unc[TRYLOCK], false);
	row_s(50, "5 peak RSS in run (VmHWM), uncontended", "KiB", &hwm_unc[NATIVE],
	      &hwm_unc[CT_DEFAULT], &hwm_unc[TRYLOCK], false);
	if (unc[FORWARD].n) {
		struct series fr = ratios(&unc[NATIVE], &unc[FORWARD]);
		row_text(90,
			 "floor of any LD_PRELOAD wrapper: a shim that only forwards lock/unlock "
			 "to libc (bench/forward_shim.c) takes %.3f ns/pair, ratio %.3f\n",
			 median(&unc[FORWARD]), median(&fr));
	}
}

const struct workload wl_uncontended = {
	.group = "uncontended", .workers = {{"uncontended", work_uncontended}},
	.secs = 0.3, .quick_secs = 0.1, .threads = 1, .expect = 1,
	.cfgs = {NATIVE, CT_DEFAULT, TRYLOCK, FORWARD},
	.collect = collect, .rows = rows,
};
