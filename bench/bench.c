/* contend-bench: what libcontend costs a program, native vs preloaded,
 * printed side by side in one run. A benchmark, not a test.
 *
 *   cd /work/main && meson compile -C build && build/bench/contend-bench
 *       default run: 7 children a cell, about 40-50 s on 2 vCPUs
 *   build/bench/contend-bench --quick
 *       3 children a cell, shorter loops, about 10 s
 *   meson compile -C build bench     (or bench-quick): the same, as run targets
 *
 * Options: --lib PATH (libcontend.so; default ../libcontend.so beside this
 * binary, i.e. build/libcontend.so), --trylock-lib PATH (default
 * libtrylock-shim.so beside this binary), --threads N (contended
 * throughput, default 2), --work N (LCG steps outside the critical
 * section, default 30, about 30 ns), --reps N, --only GROUP[,GROUP...]
 * (uncontended contended handoff timedlock cond sem pipe sysbench memcached
 * threads spawn pause forkconn), --keep-starved (keep the samples of children that never
 * got the CPUs they needed, instead of dropping them: for a machine so busy
 * that rows would stay empty; the checks line counts them), -v (every
 * sample).
 *
 * How it measures. The driver re-executes this binary in a hidden worker
 * mode (--worker KIND SECONDS THREADS WORK), one child per cell and
 * repetition: without LD_PRELOAD (native); with LD_PRELOAD=libcontend.so
 * at default settings; with CONTEND_MUTEX_FRACTION=1 CONTEND_BLOCK_RATE=1
 * ("record all": every contended event recorded with a stack); with the
 * trylock-then-lock reference shim (trylock_shim.c, the mutrace way of
 * seeing contention); and, for the uncontended loop, with a shim that only
 * forwards (forward_shim.c: the floor any LD_PRELOAD wrapper pays).
 * Inherited LD_PRELOAD and CONTEND_* variables are dropped; preloaded
 * children get CONTEND_QUIET=1 and CONTEND_OUT=<temp dir>/%p, removed at
 * the end. Each worker checks that pthread_mutex_lock resolves to the
 * library it was meant to run under, times only its measured section
 * (CLOCK_MONOTONIC) and reports its peak RSS so far (VmHWM) and its
 * threads' CPU time; the driver adds the child's wall time and ru_maxrss
 * (wait4), which include the exit-time profile dump.
 *
 * Noise. The machines are shared 2-vCPU VMs whose figures drift by tens of
 * percent within seconds (neighbours' builds and tests; where the host puts
 * the vCPUs). So: configurations run next to each other in every
 * repetition, in reverse order every other repetition; a child whose
 * threads got less than 85 % of the CPUs they needed is run again after a
 * pause (its sample dropped after 4 tries); a value is the median over the
 * repetitions, a ratio the median of the per-repetition ratios, and
 * "noise" the spread of those ratios (range without the top and bottom
 * quarter) over their median. Ratios are
 * preloaded / native; "overhead" is extra time per operation, or lost
 * throughput for throughput rows, so positive is always worse.
 *
 * Workloads (default glibc mutexes; every lock call goes through the PLT
 * into libc or the preloaded shim; the lock and the counter it protects
 * own a cache line, the start/stop flags another):
 *   uncontended  one thread: lock; counter++; unlock, in a tight loop.
 *   contended    N threads on one mutex, counter++ inside, --work LCG steps
 *                outside; total acquisitions per second. A separate run
 *                (contended-count) also counts acquisitions that found the
 *                lock word nonzero, i.e. really contended ones.
 *   handoff      two threads pass one mutex back and forth without sleep
 *                calls: the holder unlocks only once the lock word is 2 and
 *                /proc says the other thread sleeps, so every lock blocks
 *                and every unlock wakes a waiter (one block and one mutex
 *                event per handoff). The waker's own acquire leaves the word
 *                at 2, so the new holder resets it to 1 (it holds the lock
 *                and nobody waits yet) before announcing itself. Locks that
 *                find the word nonzero are counted as contended events.
 *   timedlock    one thread holds the mutex, the measured thread calls
 *                pthread_mutex_timedlock with a past deadline: glibc returns
 *                ETIMEDOUT without a system call, so the difference is the
 *                shim's contended slow path (and, under record all, one block
 *                event with its stack), with no wake-up latency to hide it.
 *   threads      memory and thread start: 1 and N (1000; --quick 500)
 *                threads created and parked in read() on a pipe, the
 *                process's VmRSS with all of them parked (per thread: the
 *                shim's extra for N less its extra for 1, over N - 1); and
 *                pthread_create + pthread_join of a trivial thread, one at
 *                a time, in a loop.
 *   cond         two threads, one mutex, two condvars, strict alternation,
 *                both pinned to one CPU (see wl_cond.c); us per round trip.
 *   /bin/true    fork+exec+wait of a trivial process, many runs.
 *   pause        what live snapshots of a table of 100000 stacks hold up a
 *                thread that records meanwhile (wl_pause.c), preloaded
 *                only, one or two children a run.
 *   forkconn     a process-per-connection server (wl_forkconn.c): a fork
 *                per connection, the child waits 2 ms in epoll_wait for its
 *                request, answers and exits; children per second.
 * glibc and Linux only (reads __data.__lock and /proc).
 *
 * Files. bench.c (this file: options, the run, the report), worker.c (the
 * child side: the shared lock and thread slots, the worker's line),
 * driver.c (children per cell, starved re-runs), stats.c (series, medians,
 * ratios, rows), one wl_NAME.c per workload, workloads.h (their table).
 *
 * Adding a workload. Write bench/wl_NAME.c holding
 *   - the child side: a `static void work_NAME(struct wres *r)` that runs
 *     the measured section (w_dur_ns long; w_threads, w_work as given) and
 *     fills r (elapsed ns, ops, contended, CPU time of the measured
 *     threads); run_threads() and the shared g_mtx serve most loops;
 *   - `collect(cfg, rep, child)`: add()s each child's figures to the
 *     file's series (struct series name[NCFG]), usually one of
 *     ns_per_op(), us_per_op(), cpu_us_per_op(), mops_per_s();
 *   - `rows(void)`: row_s()/row_event() calls, each with a key = 10 x the
 *     row's leading number + its place (the table is sorted by key), and
 *     dump_series() for -v;
 *   - `const struct workload wl_NAME = {.group, .workers = {{"NAME",
 *     work_NAME}}, .secs, .quick_secs, .cfgs = {NATIVE, CT_DEFAULT, ...},
 *     .threads, .expect, .collect, .rows}`: the driver runs the
 *     worker once under each configuration per repetition (a workload
 *     that needs more sets .measure instead, as wl_threads.c does);
 * then add the line WORKLOAD(NAME) to bench/workloads.h (its place there
 * is when it runs in a repetition) and wl_NAME.c to bench/meson.build.
 * wl_cond.c is the smallest example. */
#include <errno.h>
#include <ftw.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

#ifndef CT_BENCH_LIB
#define CT_BENCH_LIB ""
#endif
#ifndef CT_BENCH_TRYLOCK_LIB
#define CT_BENCH_TRYLOCK_LIB ""
#endif
#ifndef CT_BENCH_FORWARD_LIB
#define CT_BENCH_FORWARD_LIB ""
#endif

extern char **environ;

#define WORKLOAD(name) &wl_##name,
const struct workload *const workloads[] = {
#include "workloads.h"
	NULL};
#undef WORKLOAD

static bool
want(const char *group)
{
	const char *only = bench.only;
	if (!only)
		return true;
	size_t n = strlen(group);
	for (const char *p = only; (p = strstr(p, group)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

static char **
make_env(enum cfg c)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **e = calloc(n + 8, sizeof(*e));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "CONTEND_", 8))
			e[k++] = environ[i];
	char buf[PATH_MAX + 64];
	if (c == CT_DEFAULT || c == CT_ALL) {
		snprintf(buf, sizeof(buf), "LD_PRELOAD=%s", bench.ct_lib);
		e[k++] = strdup(buf);
		snprintf(buf, sizeof(buf), "CONTEND_OUT=%s/%%p", bench.tmp_dir);
		e[k++] = strdup(buf);
		e[k++] = "CONTEND_QUIET=1";
		if (c == CT_ALL) {
			e[k++] = "CONTEND_MUTEX_FRACTION=1";
			e[k++] = "CONTEND_BLOCK_RATE=1";
		}
	} else if (c == TRYLOCK || c == FORWARD) {
		snprintf(buf, sizeof(buf), "LD_PRELOAD=%s", c == TRYLOCK ? bench.try_lib : bench.fwd_lib);
		e[k++] = strdup(buf);
	}
	e[k] = NULL;
	return e;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: contend-bench [--quick] [--lib PATH] [--trylock-lib PATH] [--threads N]\n"
		"                     [--work N] [--reps N] [--only GROUP,...] [--keep-starved] [-v]\n"
		"Measures libcontend's overhead: native vs LD_PRELOAD, one child per sample.\n"
		"Groups:");
	for (size_t i = 0; workloads[i]; i++)
		fprintf(f, " %s", workloads[i]->group);
	fprintf(f, ".\n");
}

static bool
dir_of_self_file(const char *name, char *out, size_t len)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", bench.self_exe);
	char *s = strrchr(d, '/');
	if (!s)
		return false;
	*s = 0;
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", d, name);
	return len >= PATH_MAX && realpath(p, out) != NULL;
}

/* Options into bench, and the derived settings. Returns -1 to go on, else
 * the exit status. */
static int
parse_args(int argc, char **argv, const char **lib_arg, const char **try_arg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick"))
			bench.quick = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			bench.verbose = 1;
		else if (!strcmp(a, "--lib") && i + 1 < argc)
			*lib_arg = argv[++i];
		else if (!strcmp(a, "--trylock-lib") && i + 1 < argc)
			*try_arg = argv[++i];
		else if (!strcmp(a, "--threads") && i + 1 < argc)
			bench.threads = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--work") && i + 1 < argc)
			bench.work = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--reps") && i + 1 < argc)
			bench.reps = atoi(argv[++i]);
		else if (!strcmp(a, "--only") && i + 1 < argc)
			bench.only = argv[++i];
		else if (!strcmp(a, "--keep-starved"))
			bench.keep_starved = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (bench.threads < 1 || bench.threads > MAX_THREADS) {
		fprintf(stderr, "contend-bench: --threads must be 1..%d\n", MAX_THREADS);
		return 2;
	}
	if (bench.reps <= 0)
		bench.reps = bench.quick ? 3 : 7;
	if (bench.reps > MAX_REPS)
		bench.reps = MAX_REPS;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bench.par_threads = bench.threads < (unsigned)ncpu ? bench.threads : (double)ncpu;
	bench.rerun_budget = 3 * bench.reps;
	return -1;
}

/* This binary, the libraries to preload, the output directory and the
 * environment of each configuration. Returns 0 or the exit status. */
static int
set_up(const char *lib_arg, const char *try_arg)
{
	ssize_t n = readlink("/proc/self/exe", bench.self_exe, sizeof(bench.self_exe) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	bench.self_exe[n] = 0;

	/* libcontend.so: --lib, else ../libcontend.so from build/bench/, else
	 * the path meson baked in. */
	if (lib_arg) {
		if (!realpath(lib_arg, bench.ct_lib)) {
			fprintf(stderr, "contend-bench: --lib %s: %s\n", lib_arg, strerror(errno));
			return 1;
		}
	} else if (!dir_of_self_file("../libcontend.so", bench.ct_lib, sizeof(bench.ct_lib)) &&
		   !(CT_BENCH_LIB[0] && realpath(CT_BENCH_LIB, bench.ct_lib))) {
		fprintf(stderr, "contend-bench: cannot find libcontend.so next to the build "
				"directory; build it or pass --lib PATH\n");
		return 1;
	}
	if (try_arg)
		bench.have_try = realpath(try_arg, bench.try_lib) != NULL;
	else
		bench.have_try =
			dir_of_self_file("libtrylock-shim.so", bench.try_lib, sizeof(bench.try_lib)) ||
			(CT_BENCH_TRYLOCK_LIB[0] && realpath(CT_BENCH_TRYLOCK_LIB, bench.try_lib));
	if (!bench.have_try)
		fprintf(stderr, "contend-bench: trylock shim not found; its column stays empty\n");
	bench.have_fwd =
		dir_of_self_file("libforward-shim.so", bench.fwd_lib, sizeof(bench.fwd_lib)) ||
		(CT_BENCH_FORWARD_LIB[0] && realpath(CT_BENCH_FORWARD_LIB, bench.fwd_lib));

	const char *td = getenv("TMPDIR");
	snprintf(bench.tmp_dir, sizeof(bench.tmp_dir), "%s/contend-bench.XXXXXX",
		 td && *td ? td : "/tmp");
	if (!mkdtemp(bench.tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int c = 0; c < NCFG; c++)
		bench.cfg_env[c] = make_env((enum cfg)c);
	return 0;
}

/* Every repetition: the wanted workloads in table order. Returns seconds. */
static double
run_all(void)
{
	int64_t t_start = now_ns();
	fprintf(stderr, "contend-bench: %d repetitions, %s run ", bench.reps,
		bench.quick ? "quick" : "default");
	/* Warm-up child, discarded: page cache, CPU frequency. */
	run_worker(NATIVE, "uncontended", 0.05, 1, 0);
	for (int rep = 0; rep < bench.reps; rep++) {
		fprintf(stderr, ".");
		for (size_t i = 0; workloads[i]; i++)
			if (want(workloads[i]->group))
				wl_measure(workloads[i], rep);
	}
	double total_s = (double)(now_ns() - t_start) / 1e9;
	fprintf(stderr, " done in %.1f s\n", total_s);
	return total_s;
}

/* The closing line: how the figures were made. */
static void
print_note(int argc, char **argv, double total_s)
{
	struct rusage self_ru;
	getrusage(RUSAGE_SELF, &self_ru);
	printf("note:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf(" | lib %s | median of %d children per cell, ratio = median of per-repetition "
	       "ratios, noise = their spread without the outer quarters | ",
	       bench.ct_lib, bench.reps);
	/* Seconds per child of each group that has a fixed length (its first
	 * workload's). */
	for (int pass = 0; pass < 2; pass++) {
		const char *sep = "";
		for (size_t i = 0; workloads[i]; i++) {
			const struct workload *w = workloads[i];
			if (w->secs <= 0 || (i > 0 && !strcmp(w->group, workloads[i - 1]->group)))
				continue;
			if (pass == 0)
				printf("%s%.2f", sep, wl_secs(w));
			else
				printf("%s%s", sep, w->group);
			sep = "/";
		}
		if (pass == 0)
			printf(" s per ");
	}
	printf(" child, %d x /bin/true per sample | %u threads, work %u | default: CONTEND_* "
	       "unset (mutex fraction 100, block rate 1000000 ns); record all: "
	       "CONTEND_MUTEX_FRACTION=1 CONTEND_BLOCK_RATE=1 | ru_maxrss includes the "
	       "driver's %ld KiB at fork | %.0f s\n",
	       spawn_runs(), bench.threads, bench.work, self_ru.ru_maxrss, total_s);
}

static void
report(int argc, char **argv, double total_s)
{
	for (size_t i = 0; workloads[i]; i++)
		if (want(workloads[i]->group))
			workloads[i]->rows();
	struct utsname u;
	uname(&u);
	printf("contend-bench: %ld CPUs, %s %s %s, glibc %s\n", sysconf(_SC_NPROCESSORS_ONLN),
	       u.sysname, u.release, u.machine, gnu_get_libc_version());
	rows_print();
	checks_print();
	printf(" %d children re-run for lack of CPUs (busy neighbours), %d samples dropped",
	       bench.starved_reruns, bench.starved_dropped);
	if (bench.keep_starved)
		printf(", %d starved samples kept (--keep-starved)", bench.starved_kept);
	printf("\n");
	print_note(argc, argv, total_s);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return worker_main(argc, argv);
	const char *lib_arg = NULL, *try_arg = NULL;
	int rc = parse_args(argc, argv, &lib_arg, &try_arg);
	if (rc >= 0)
		return rc;
	rc = set_up(lib_arg, try_arg);
	if (rc != 0)
		return rc;
	double total_s = run_all();
	report(argc, argv, total_s);
	nftw(bench.tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
