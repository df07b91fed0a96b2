/* contend-bench's worker side: the child the driver starts as
 * `contend-bench --worker KIND SECONDS THREADS WORK`. It runs one kind of
 * one workload (the table in bench.c), times only its measured section and
 * prints one line for the driver. Owns the lock, the flags and the thread
 * slots the workloads share. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int64_t w_dur_ns;
unsigned w_threads = 2;
unsigned w_work = 30;

struct bench_lock g_lock = {PTHREAD_MUTEX_INITIALIZER, 0};
struct bench_flags g_flags;
struct wthread g_wt[MAX_THREADS];

/* Waits for the start signal; returns the thread's CPU clock then. */
int64_t
wait_go(void)
{
	unsigned n = 0;
	__atomic_add_fetch(&g_flags.ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&g_flags.go, __ATOMIC_ACQUIRE))
		spin_once(&n);
	return thread_cpu_ns();
}

void
pin_to_this_cpu(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* Starts fn on n threads, lets them run for w_dur_ns, stops and joins them.
 * Returns the time between the start and the stop signal. */
int64_t
run_threads(void *(*fn)(void *), unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		g_wt[i].idx = i;
		if (pthread_create(&g_wt[i].th, NULL, fn, &g_wt[i]) != 0) {
			perror("pthread_create");
			exit(2);
		}
	}
	unsigned spins = 0;
	while (__atomic_load_n(&g_flags.ready, __ATOMIC_ACQUIRE) != (int)n)
		spin_once(&spins);
	int64_t t0 = now_ns();
	__atomic_store_n(&g_flags.go, 1, __ATOMIC_RELEASE);
	struct timespec d = {(time_t)(w_dur_ns / 1000000000), (long)(w_dur_ns % 1000000000)};
	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
	__atomic_store_n(&g_flags.stop, 1, __ATOMIC_RELAXED);
	int64_t t1 = now_ns();
	for (unsigned i = 0; i < n; i++)
		pthread_join(g_wt[i].th, NULL);
	return t1 - t0;
}

void
run_pinned_pair(void *(*fn)(void *), struct wres *r)
{
	pin_to_this_cpu();
	r->elapsed = run_threads(fn, 2);
	sum_threads(2, r);
}

void
sum_threads(unsigned n, struct wres *r)
{
	for (unsigned i = 0; i < n; i++) {
		r->ops += g_wt[i].ops;
		r->cont += g_wt[i].contended;
		r->cpu += g_wt[i].cpu_ns;
	}
}

long
status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* Which object pthread_mutex_lock resolves to here, so the driver can tell
 * that the preload took effect. */
const char *
lock_provider(void)
{
	Dl_info di;
	void *p = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	if (!p || !dladdr(p, &di) || !di.dli_fname)
		return "?";
	const char *s = strrchr(di.dli_fname, '/');
	return s ? s + 1 : di.dli_fname;
}

static const struct worker *
find_worker(const char *kind)
{
	for (size_t i = 0; workloads[i]; i++)
		for (const struct worker *k = workloads[i]->workers; k->kind; k++)
			if (!strcmp(k->kind, kind))
				return k;
	return NULL;
}

int
worker_main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "contend-bench: bad worker arguments\n");
		return 2;
	}
	const char *kind = argv[2];
	w_dur_ns = (int64_t)(atof(argv[3]) * 1e9);
	w_threads = (unsigned)atoi(argv[4]);
	w_work = (unsigned)atoi(argv[5]);
	if (w_threads < 1 || w_threads > MAX_THREADS)
		w_threads = 2;
	/* A deadlocked child must not hang the benchmark. */
	alarm((unsigned)(w_dur_ns / 1000000000) * 20 + 30);

	const struct worker *k = find_worker(kind);
	if (!k) {
		fprintf(stderr, "contend-bench: unknown worker %s\n", kind);
		return 2;
	}
	struct wres r = {.kib = -1};
	k->run(&r);
	/* Peak resident set so far: unlike the parent's ru_maxrss it
	 * excludes the exit-time profile dump and the parent's size at fork. */
	long kib = r.kib >= 0 ? r.kib : status_kib("VmHWM");
	/* Parallelism: the measured threads' CPU time over the wall time. */
	printf("%lld %llu %llu %ld %.3f %s\n", (long long)r.elapsed, (unsigned long long)r.ops,
	       (unsigned long long)r.cont, kib,
	       r.elapsed > 0 ? (double)r.cpu / (double)r.elapsed : 0, lock_provider());
	return fflush(stdout) == 0 ? 0 : 1;
}
