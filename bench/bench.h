/* contend-bench's shared parts: the worker side (the child that runs one
 * workload and prints one line) and the driver side (children per
 * configuration and repetition, series of samples, rows). bench.c says how
 * it measures and how to add a workload; one file per workload (wl_*.c).
 * Single-threaded driver; nothing here is meant for use by a library. */
#ifndef CT_BENCH_H
#define CT_BENCH_H

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifndef __GLIBC__
#error "contend-bench reads glibc's pthread_mutex_t layout"
#endif

#define MAX_REPS 31
#define MAX_THREADS 64

/* ------------------------------------------------------------------ */
/* Both sides. */

/* A clock in ns: CLOCK_MONOTONIC for the wall, CLOCK_THREAD_CPUTIME_ID
 * for the calling thread's CPU time. */
static inline int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#define now_ns() clock_ns(CLOCK_MONOTONIC)
#define thread_cpu_ns() clock_ns(CLOCK_THREAD_CPUTIME_ID)

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* Spin politely: on a machine with fewer CPUs than spinning threads the
 * other side must get to run. */
static inline void
spin_once(unsigned *n)
{
	if (++*n % 1024 == 0)
		sched_yield();
	else
		cpu_relax();
}

/* Work the optimizer cannot remove or hoist: a dependent chain of LCG
 * steps (a multiply and an add each, ~1 ns). */
static inline uint64_t
busy_work(uint64_t x, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static inline int
lock_word(pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Worker side (worker.c): runs in a child, prints
 * "elapsed_ns ops contended kib parallelism provider". */

/* The worker's arguments: seconds to run, threads, work (bench.c). */
extern int64_t w_dur_ns;
extern unsigned w_threads;
extern unsigned w_work;

/* The mutex and the counter it protects fill a cache line of their own,
 * and the start/stop flags (read on every iteration) sit on another one:
 * only lock traffic may move the lock's line between CPUs, or any extra
 * load of it (libcontend's fast path reads the lock word) would be
 * measured against a baseline that already pays for one. */
struct bench_lock {
	pthread_mutex_t m;
	uint64_t counter;
} __attribute__((aligned(64)));
struct bench_flags {
	int go, stop, ready;
} __attribute__((aligned(64)));
extern struct bench_lock g_lock;
extern struct bench_flags g_flags;
#define g_mtx g_lock.m
#define g_counter g_lock.counter

struct wthread {
	pthread_t th;
	unsigned idx;
	uint64_t ops, contended;
	uint64_t sink;
	int64_t cpu_ns; /* this thread's CPU time while measured */
} __attribute__((aligned(64)));

extern struct wthread g_wt[MAX_THREADS];

/* What one worker reports. kib < 0: the driver gets the worker's VmHWM
 * after the run; cpu is the measured threads' CPU time, so that
 * cpu / elapsed tells whether they had the CPUs they needed. */
struct wres {
	int64_t elapsed, cpu;
	uint64_t ops, cont;
	long kib;
};

static inline bool
stopped(void)
{
	return __atomic_load_n(&g_flags.stop, __ATOMIC_RELAXED);
}

int64_t wait_go(void);
/* Pins the calling thread (and the threads it creates later) to the CPU
 * it runs on: for ping-pongs, where only one side runs at a time anyway
 * and across two vCPUs every wake-up costs an interrupt whose latency the
 * hypervisor decides (round trips varied from 9 to 34 us between runs;
 * on one CPU they stay within a few percent). */
void pin_to_this_cpu(void);
int64_t run_threads(void *(*fn)(void *), unsigned n);
/* A "Name:   N kB" field of /proc/self/status (VmRSS, VmHWM) in KiB, or
 * -1. */
long status_kib(const char *field);
/* A ping-pong's two threads, fn on each, pinned to this CPU
 * (pin_to_this_cpu); fills r with the sums over both. */
void run_pinned_pair(void *(*fn)(void *), struct wres *r);
/* A ping-pong thread (the fn of run_pinned_pair): its wthread, its side
 * (0 or 1), its CPU clock at the start and the round trips it counts (n,
 * side 0). pp_begin waits for the start; pp_end records the thread's CPU
 * time and its round trips. */
struct pp_side {
	struct wthread *w;
	int me;
	int64_t c0;
	uint64_t n;
};
static inline struct pp_side
pp_begin(void *arg)
{
	struct wthread *w = arg;
	return (struct pp_side){w, (int)w->idx, wait_go(), 0};
}
static inline void
pp_end(const struct pp_side *s)
{
	s->w->cpu_ns = thread_cpu_ns() - s->c0;
	s->w->ops = s->n;
}
/* The sums of ops, contended and cpu_ns over the first n g_wt. */
void sum_threads(unsigned n, struct wres *r);
int worker_main(int argc, char **argv);
/* Where pthread_mutex_lock resolves here (the preload check). */
const char *lock_provider(void);

/* ------------------------------------------------------------------ */
/* Driver side (driver.c, stats.c). */

enum cfg { NATIVE, CT_DEFAULT, CT_ALL, TRYLOCK, FORWARD, NCFG };
extern const char *const cfg_name[NCFG];

/* The run's settings and the paths it found, set up by main. */
struct bench {
	bool quick;
	int verbose;
	unsigned threads, work;
	int reps;
	double par_threads; /* CPUs the --threads workers can have */
	const char *only;   /* --only */
	char self_exe[PATH_MAX], ct_lib[PATH_MAX], try_lib[PATH_MAX], fwd_lib[PATH_MAX];
	char tmp_dir[PATH_MAX];
	bool have_try, have_fwd;
	char **cfg_env[NCFG];
	int starved_reruns, starved_dropped, rerun_budget;
	bool keep_starved; /* --keep-starved: such samples are kept (counted) */
	int starved_kept;
};
extern struct bench bench;

struct child {
	int64_t elapsed_ns; /* the worker's measured section */
	uint64_t ops, contended;
	int64_t wall_ns; /* fork to reaped */
	long maxrss_kib; /* wait4: includes the exit-time dump */
	long hwm_kib;    /* the worker's VmHWM after its measured section */
	double par;      /* threads' CPU time / elapsed (contended kinds) */
	bool ok;
};

/* One child of a kind under a configuration. expect > 0: the CPUs its
 * threads should get; a starved child is run again (run_checked). */
struct cell {
	const char *kind;
	double secs;
	unsigned threads, work;
	double expect;
};

struct child run_worker(enum cfg c, const char *kind, double secs, unsigned threads,
			unsigned work);
struct child run_checked(enum cfg c, const char *kind, double secs, unsigned threads,
			 unsigned work, double expect);
struct child run_cell(enum cfg c, const struct cell *cell);
/* perror(what), then exit(status): a step the benchmark cannot do
 * without. */
void die_errno(const char *what, int status);
/* fork(), or die_errno("fork", status) when it fails. The caller flushes
 * stdio first where the child could write the parent's buffer again. */
pid_t fork_or_die(int status);
/* Reads fd until EOF (or until out, of size bytes, is full), restarting
 * after signals; out ends with a NUL either way: a child's line. */
void read_all(int fd, char *out, size_t size);
/* Whether configuration c can run (its shim was found). */
bool cfg_available(enum cfg c);
/* The i-th of n configurations in repetition rep: odd repetitions run them
 * in reverse order, so a steady drift favours none. */
enum cfg cfg_at(const enum cfg *cfgs, size_t n, size_t i, int rep);
/* Runs cell under each available configuration of cfgs in rep's order and
 * hands every successful child to collect. */
void run_cells(int rep, const enum cfg *cfgs, size_t n, const struct cell *cell,
	       void (*collect)(enum cfg c, int rep, const struct child *r));
/* A child's figures per operation: ns, us, and us of its measured
 * threads' CPU time (what the shim adds without the time the CPU went to
 * other processes); and M operations per second. */
double ns_per_op(const struct child *r);
double us_per_op(const struct child *r);
double cpu_us_per_op(const struct child *r);
double mops_per_s(const struct child *r);
/* quick ? q : d. */
double secs_for(double d, double q);

/* The samples of one cell, indexed by repetition (a failed child leaves a
 * hole); the cell's value is their median. */
struct series {
	double v[MAX_REPS];
	bool set[MAX_REPS];
	int n; /* highest repetition + 1 */
};

void add(struct series *s, int rep, double v);
double median(const struct series *s);
double spread(const struct series *s);
struct series ratios(const struct series *a, const struct series *b);
struct series diffs(const struct series *a, const struct series *b);
/* -v: the samples of every configuration that has some. */
void dump_series(const char *name, const struct series s[NCFG]);

/* Rows are printed after every workload ran, sorted by key (stable): the
 * table groups rows by the number they start with, not by workload.
 * Keys: 10 x the leading number, plus the place within it. */
void row_v(int key, const char *what, const char *unit, double nat, double pre, double tryl,
	   double ratio, double tratio, bool higher, double noise);
/* A row from cells (tryl may be NULL): values are medians, ratios are
 * medians of the per-repetition ratios. */
void row_s(int key, const char *what, const char *unit, const struct series *nat,
	   const struct series *pre, const struct series *tryl, bool higher);
/* Two rows, "LABEL, default" (with the trylock column) and "LABEL, record
 * all", keys key and key + 1, from one series per configuration. */
void row_pair(int key, const char *label, const char *unit, const struct series s[NCFG],
	      bool higher);
/* A ping-pong's figures: us per round trip, by the wall and by its two
 * threads' CPU time (what the shim adds without the time the CPU went to
 * other processes). pingpong_rows prints "<label> round trip" rows at
 * key and "<label>, CPU time per round trip" at cpu_key (row_pair), and
 * for -v the wall samples as "<name> round trip us". */
struct pingpong {
	struct series wall[NCFG], cpu[NCFG];
};
void pingpong_add(struct pingpong *p, enum cfg c, int rep, const struct child *r);
void pingpong_rows(const struct pingpong *p, int key, int cpu_key, const char *label,
		   const char *name);
/* A row for a per-event figure: only the value and the noise. */
void row_event(int key, const char *what, const char *unit, double v, double noise);
/* A line of free text among the rows. */
void row_text(int key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fragment of the "checks:" line, in the order of the calls. */
void check_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rows_print(void);
void checks_print(void);

/* A workload: one file wl_NAME.c defines `const struct workload wl_NAME`
 * and workloads.h lists it (see bench.c). Most run workers[0] once under
 * each of cfgs a repetition, described by the fields below measure; one
 * that needs more sets measure instead. */
struct worker {
	const char *kind;            /* the worker's name on its command line */
	void (*run)(struct wres *r); /* child side: measure, fill r */
};
#define EXPECT_THREADS (-1.0) /* expect: the CPUs --threads workers can have */
struct workload {
	const char *group;        /* --only GROUP */
	struct worker workers[3]; /* the kinds its children run; {NULL} ends */
	double secs, quick_secs;  /* seconds per child (0: none; the note line) */
	/* The configurations compared, in run order: NATIVE first, then
	 * others (the list ends where NATIVE appears again, as in the unset
	 * rest of the array). */
	enum cfg cfgs[NCFG];
	unsigned threads, work;   /* the worker's; threads 0: --threads, --work */
	double expect;            /* > 0 or EXPECT_THREADS: re-run starved children */
	/* driver: each successful child's figures into the file's series */
	void (*collect)(enum cfg c, int rep, const struct child *r);
	void (*measure)(int rep); /* driver: this repetition, if not the above */
	void (*rows)(void);       /* driver: its rows (and -v samples) */
};

/* Defines `const struct workload wl_NAME` for a ping-pong: group and
 * worker NAME running WORK (which calls run_pinned_pair) on 2 threads,
 * 0.2 s a child (0.1 with --quick), native, default and record-all, and
 * its rows pingpong_rows(KEY, CPU_KEY, LABEL, "NAME"). */
#define PINGPONG_WORKLOAD(NAME, WORK, KEY, CPU_KEY, LABEL)                             \
	static struct pingpong pingpong_##NAME;                                        \
	static void collect_##NAME(enum cfg c, int rep, const struct child *r)         \
	{                                                                              \
		pingpong_add(&pingpong_##NAME, c, rep, r);                             \
	}                                                                              \
	static void rows_##NAME(void)                                                  \
	{                                                                              \
		pingpong_rows(&pingpong_##NAME, KEY, CPU_KEY, LABEL, #NAME);           \
	}                                                                              \
	const struct workload wl_##NAME = {                                            \
		.group = #NAME, .workers = {{#NAME, WORK}},                            \
		.secs = 0.2, .quick_secs = 0.1, .threads = 2,                          \
		.cfgs = {NATIVE, CT_DEFAULT, CT_ALL},                                  \
		.collect = collect_##NAME, .rows = rows_##NAME,                        \
	}

/* One repetition of w: measure, or workers[0] under each of cfgs. */
void wl_measure(const struct workload *w, int rep);

#define WORKLOAD(name) extern const struct workload wl_##name;
#include "workloads.h"
#undef WORKLOAD

/* The table of workloads.h, NULL-terminated (bench.c). */
extern const struct workload *const workloads[];

/* A workload's seconds per child in this run (--quick or not). */
double wl_secs(const struct workload *w);
/* /bin/true runs per spawn sample (wl_spawn.c), for the note line. */
int spawn_runs(void);

#endif
