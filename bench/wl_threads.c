/* Workload "threads": memory and thread start. threads-idle creates
 * `work` threads, parks each in read() on a pipe and reports the process's
 * resident set with all of them parked (VmRSS, in the kib column), for 1
 * and N (1000; --quick 500) threads: per thread, the shim's extra for N
 * less its extra for 1, over N - 1. threads-churn creates and joins a
 * trivial thread, one at a time, in a loop: wall time per pair, and the
 * process's CPU time per pair (both threads, user and system), which a
 * busy machine disturbs less. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

static int idle_gate[2];
static unsigned idle_parked;

static void *
idle_thread(void *arg)
{
	__atomic_fetch_add(&idle_parked, 1, __ATOMIC_RELEASE);
	char c;
	if (read(idle_gate[0], &c, 1) != 1)
		abort();
	return arg;
}

/* ops = threads; parallelism 1 (the driver does not check it). */
static void
work_idle(struct wres *r)
{
	unsigned n = w_work;
	pthread_t *t = calloc(n, sizeof(*t));
	if (!t || pipe(idle_gate) != 0)
		abort();
	int64_t t0 = now_ns();
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, idle_thread, NULL) != 0)
			abort();
	while (__atomic_load_n(&idle_parked, __ATOMIC_ACQUIRE) < n)
		sched_yield();
	r->elapsed = now_ns() - t0;
	r->cpu = r->elapsed;
	r->kib = status_kib("VmRSS");
	for (unsigned i = 0; i < n; i++)
		if (write(idle_gate[1], "x", 1) != 1)
			abort();
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	r->ops = n;
}

static void *
churn_thread(void *arg)
{
	return arg;
}

/* ops = create+join pairs; cpu = the process's CPU time (every thread's,
 * the exited ones' included). */
static void
work_churn(struct wres *r)
{
	int64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	int64_t t0 = now_ns(), t;
	uint64_t n = 0;
	do {
		pthread_t th;
		for (int i = 0; i < 16; i++, n++)
			if (pthread_create(&th, NULL, churn_thread, NULL) != 0 ||
			    pthread_join(th, NULL) != 0)
				abort();
		t = now_ns();
	} while (t - t0 < w_dur_ns);
	r->elapsed = t - t0;
	r->cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	r->ops = n;
}

static struct series idle1[NCFG], idleN[NCFG], churn[NCFG], churn_cpu[NCFG];

static unsigned
idle_n(void)
{
	return bench.quick ? 500 : 1000;
}

static void
measure(int rep)
{
	static const enum cfg cfgs[] = {NATIVE, CT_DEFAULT};
	for (size_t i = 0; i < 2; i++) {
		enum cfg c = cfg_at(cfgs, 2, i, rep);
		struct child r = run_worker(c, "threads-idle", 1, 1, 1);
		if (r.ok)
			add(&idle1[c], rep, (double)r.hwm_kib);
		r = run_worker(c, "threads-idle", 1, 1, idle_n());
		if (r.ok)
			add(&idleN[c], rep, (double)r.hwm_kib);
		r = run_worker(c, "threads-churn", secs_for(0.2, 0.1), 1, 0);
		if (r.ok) {
			add(&churn[c], rep, (double)r.elapsed_ns / (double)r.ops / 1e3);
			add(&churn_cpu[c], rep, cpu_us_per_op(&r));
		}
	}
}

static void
rows(void)
{
	char w[96];
	snprintf(w, sizeof(w), "7 RSS with %u idle threads parked in read()", idle_n());
	row_s(70, w, "KiB", &idleN[NATIVE], &idleN[CT_DEFAULT], NULL, false);
	/* Per thread: what the shim adds to N threads, less what it adds to a
	 * process with one. */
	struct series dN = diffs(&idleN[NATIVE], &idleN[CT_DEFAULT]);
	struct series d1 = diffs(&idle1[NATIVE], &idle1[CT_DEFAULT]);
	row_event(71, "7   shim memory per idle thread", "KiB/thread",
		  (median(&dN) - median(&d1)) / (idle_n() - 1), spread(&dN));
	row_s(72, "7 thread create+join, one at a time", "us/pair", &churn[NATIVE],
	      &churn[CT_DEFAULT], NULL, false);
	row_s(73, "7 thread create+join, CPU time per pair", "us/pair", &churn_cpu[NATIVE],
	      &churn_cpu[CT_DEFAULT], NULL, false);
}

const struct workload wl_threads = {
	.group = "threads",
	.workers = {{"threads-idle", work_idle}, {"threads-churn", work_churn}},
	.measure = measure, .rows = rows,
};
