/* Workload "timedlock": one thread holds the mutex for the whole run while
 * the measured thread calls pthread_mutex_timedlock on it with a deadline
 * already past. glibc gives up without a system call, so the preloaded
 * shim's slow path (a wait that begins and ends, recorded with a stack
 * when sampled) is nearly all that separates the two figures: the cost of
 * one recorded block event, on one thread, with no wake-up latency to hide
 * it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static int held;

static void *
holder_thread(void *arg)
{
	struct timespec ms = {0, 1000000};
	pthread_mutex_lock(&g_mtx);
	__atomic_store_n(&held, 1, __ATOMIC_RELEASE);
	while (!stopped())
		nanosleep(&ms, NULL);
	pthread_mutex_unlock(&g_mtx);
	return arg;
}

static void
work_timedlock(struct wres *r)
{
	pthread_t th;
	unsigned spins = 0;
	if (pthread_create(&th, NULL, holder_thread, NULL) != 0) {
		perror("pthread_create");
		exit(2);
	}
	while (__atomic_load_n(&held, __ATOMIC_ACQUIRE) != 1)
		spin_once(&spins);
	const struct timespec past = {-1, 0};
	uint64_t n = 0, c = 0;
	int64_t c0 = thread_cpu_ns();
	int64_t t0 = now_ns(), t;
	do {
		for (int i = 0; i < 256; i++) {
			if (lock_word(&g_mtx) != 0)
				c++;
			if (pthread_mutex_timedlock(&g_mtx, &past) != ETIMEDOUT) {
				fprintf(stderr, "contend-bench: timedlock did not time out\n");
				exit(2);
			}
		}
		n += 256;
	} while ((t = now_ns()) - t0 < w_dur_ns);
	r->cpu = thread_cpu_ns() - c0;
	__atomic_store_n(&g_flags.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	r->elapsed = t - t0;
	r->ops = n;
	r->cont = c;
}

static struct series timed[NCFG], timed_frac[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&timed[c], rep, ns_per_op(r));
	add(&timed_frac[c], rep, (double)r->contended / (double)r->ops);
}

static void
rows(void)
{
	dump_series("timedlock ns/call", timed);
	row_pair(33, "3 timedlock, held mutex, past deadline", "ns/call", timed, false);
	double tf = median(&timed_frac[CT_ALL]);
	struct series d = diffs(&timed[NATIVE], &timed[CT_ALL]);
	row_event(35, "3   cost per block event recorded with a stack", "ns/event",
		  median(&d) / (tf > 0 ? tf : 1), spread(&d));
	if (timed_frac[CT_ALL].n)
		check_add(" per timedlock call %.3f (want 1);", tf);
}

const struct workload wl_timedlock = {
	.group = "timedlock", .workers = {{"timedlock", work_timedlock}},
	.secs = 0.2, .quick_secs = 0.1, .threads = 2, .expect = 1,
	.cfgs = {NATIVE, CT_DEFAULT, CT_ALL},
	.collect = collect, .rows = rows,
};
