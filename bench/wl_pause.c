/* Workload "pause": how long an application thread is held up while live
 * snapshots are taken of a big table. Preloaded only (there is nothing to
 * compare natively); the first repetition (two in a full run) runs one
 * child each, whose line the driver reads itself.
 *
 * The worker (--worker snapshot-pause SECONDS 1 0), run preloaded with
 * every block event recorded (CONTEND_BLOCK_RATE=1), a table of 262144
 * records (CONTEND_TABLE_SIZE) and CONTEND_DUMP_SIGNAL=SIGUSR2:
 *   - one recording thread walks 100000 distinct call paths (17 levels of
 *     two functions each, so 100000 distinct stacks) ending in a
 *     pthread_mutex_timedlock with a past deadline on a mutex another
 *     thread holds (no system call; one block event with its stack each),
 *     which fills the block table with 100000 records;
 *   - then it keeps walking them, timing every call (wall clock and the
 *     thread's CPU time), while the main thread asks for numbered
 *     snapshots with the dump signal (pthread_kill to itself, so the
 *     handler runs on main, not on the measured thread) and waits for
 *     block.NNNN.pb.gz to appear: each call is "during a snapshot" when a
 *     request was outstanding at its start or end (window sequence number
 *     odd, or changed), else "between snapshots"; after each snapshot it
 *     waits as long as the snapshot took, so both sets cover about the
 *     same time. A snapshot copies the whole table, then symbolizes and
 *     writes it on the dumper thread.
 * The measured thread runs SCHED_FIFO on CPU 0 and the dumper thread on
 * CPU 1 when the bench may do that (root or CAP_SYS_NICE, 2 CPUs): on a
 * busy machine the scheduler then cannot stretch a measured call, while
 * it still preempts the dumper, which is when a copy that held a lock the
 * measured thread needs would hold it longest. The measured thread sleeps
 * 50 us between calls so that CPU 0 is not taken from everyone else.
 * Without that, wall figures include preemption (the output says which).
 * CPU time per call tells a wait that spins (CPU ~ wall) from preemption,
 * within the VM's accounting noise (about a millisecond here).
 *
 * The worker prints: real-time (1/0), snapshots, mean window ms, then p99
 * / max wall ns and max CPU ns during snapshots, p99 / max wall ns between
 * them, calls counted in each, and the provider of pthread_mutex_lock (the
 * preload check). BENCH_PAUSE_TRACE=1 prints every call over 1 ms. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PAUSE_LEVELS 17
#define PAUSE_STACKS 100000
#define PAUSE_NOINLINE __attribute__((noinline, noclone))
#define PAUSE_NO_TAIL() __asm__ volatile("" ::: "memory")

static pthread_mutex_t p_mtx = PTHREAD_MUTEX_INITIALIZER;
static int p_held, p_filled, p_stop, p_holder_stop;
static uint32_t p_window; /* odd while a snapshot is outstanding */

static int64_t
p_now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void PAUSE_NOINLINE p_step(unsigned path, int level);

static void PAUSE_NOINLINE
p_via_a(unsigned path, int level)
{
	p_step(path, level + 1);
	PAUSE_NO_TAIL();
}

static void PAUSE_NOINLINE
p_via_b(unsigned path, int level)
{
	p_step(path, level + 1);
	PAUSE_NO_TAIL();
}

static void PAUSE_NOINLINE
p_step(unsigned path, int level)
{
	if (level == PAUSE_LEVELS) {
		static const struct timespec past = {0, 0};
		int err = pthread_mutex_timedlock(&p_mtx, &past);
		if (err != ETIMEDOUT) {
			fprintf(stderr, "contend-bench: timedlock did not time out (%d)\n", err);
			exit(2);
		}
		return;
	}
	if (path >> level & 1)
		p_via_b(path, level);
	else
		p_via_a(path, level);
	PAUSE_NO_TAIL();
}

struct p_lat {
	int64_t *v;
	size_t n, cap;
	int64_t cpu_max;
};
static struct p_lat p_in, p_out;
static int64_t p_window_t0; /* when the outstanding request was sent */
static bool p_trace;        /* BENCH_PAUSE_TRACE=1: calls over 1 ms on stderr */

static void
p_add(struct p_lat *l, int64_t wall, int64_t cpu)
{
	if (p_trace && (wall > 1000000 || cpu > 1000000))
		fprintf(stderr, "  slow call %s: %.1f ms wall, %.1f ms CPU, %.1f ms after the request\n",
			l == &p_in ? "during a snapshot" : "between snapshots", wall / 1e6, cpu / 1e6,
			(p_now(CLOCK_MONOTONIC) - __atomic_load_n(&p_window_t0, __ATOMIC_RELAXED)) / 1e6);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1 << 20;
		int64_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			perror("realloc");
			exit(2);
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = wall;
	if (cpu > l->cpu_max)
		l->cpu_max = cpu;
}

static void *
p_holder(void *arg)
{
	struct timespec ms = {0, 1000000};
	pthread_mutex_lock(&p_mtx);
	__atomic_store_n(&p_held, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&p_holder_stop, __ATOMIC_ACQUIRE))
		nanosleep(&ms, NULL);
	pthread_mutex_unlock(&p_mtx);
	return arg;
}

static int p_rt; /* 1: the measured thread ran real-time, pinned */

/* The measured thread on CPU 0 at real-time priority, the dumper thread
 * (comm "libcontend") on CPU 1: the measured calls are then not preempted
 * by the rest of a busy machine, and what is left of a long call is a
 * wait (on a lock whose holder was preempted, say), not the scheduler.
 * Needs CAP_SYS_NICE and 2 CPUs; without them the figures include
 * preemption (the output says which). */
static void
p_go_rt(void)
{
	cpu_set_t c0, c1;
	CPU_ZERO(&c0);
	CPU_SET(0, &c0);
	CPU_ZERO(&c1);
	CPU_SET(1, &c1);
	DIR *d = opendir("/proc/self/task");
	int dumper = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[300], comm[32] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, "libcontend", 10))
			dumper = atoi(e->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	struct sched_param sp = {.sched_priority = 1};
	if (dumper > 0 && sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
	    sched_setaffinity(dumper, sizeof(c1), &c1) == 0 &&
	    pthread_setaffinity_np(pthread_self(), sizeof(c0), &c0) == 0 &&
	    pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0)
		p_rt = 1;
}

/* One call site for the fill and the measured calls: the same stacks. */
static void *
p_recorder(void *arg)
{
	unsigned path = 0;
	for (uint64_t i = 0; !__atomic_load_n(&p_stop, __ATOMIC_ACQUIRE); i++) {
		bool measure = i >= PAUSE_STACKS;
		if (i == PAUSE_STACKS) {
			p_go_rt();
			__atomic_store_n(&p_filled, 1, __ATOMIC_RELEASE);
		}
		/* Real-time: leave CPU 0 to others half the time. */
		if (measure && p_rt) {
			struct timespec gap = {0, 50 * 1000};
			nanosleep(&gap, NULL);
		}
		uint32_t w0 = __atomic_load_n(&p_window, __ATOMIC_ACQUIRE);
		int64_t c0 = measure ? p_now(CLOCK_THREAD_CPUTIME_ID) : 0;
		int64_t t0 = measure ? p_now(CLOCK_MONOTONIC) : 0;
		p_step(path, 0);
		if (measure) {
			int64_t t1 = p_now(CLOCK_MONOTONIC);
			int64_t c1 = p_now(CLOCK_THREAD_CPUTIME_ID);
			uint32_t w1 = __atomic_load_n(&p_window, __ATOMIC_ACQUIRE);
			p_add((w0 & 1) || w0 != w1 ? &p_in : &p_out, t1 - t0, c1 - c0);
		}
		/* Every path once during the fill, then all over the table. */
		path = measure ? (path + 7919) % PAUSE_STACKS : path + 1;
		if (path == PAUSE_STACKS)
			path = 0;
	}
	return arg;
}

static void
p_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static int
p_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void
p_stats(struct p_lat *l, int64_t *p99, int64_t *max)
{
	*p99 = *max = 0;
	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(l->v[0]), p_cmp);
	*p99 = l->v[(size_t)((double)(l->n - 1) * 0.99)];
	*max = l->v[l->n - 1];
}

static void
work_pause(struct wres *unused)
{
	(void)unused;
	double secs = (double)w_dur_ns / 1e9;
	/* CONTEND_OUT=<dir>/%p, set by the driver: where the numbered
	 * snapshots appear. */
	const char *out = getenv("CONTEND_OUT");
	char dir[4096];
	const char *pct = out ? strstr(out, "%p") : NULL;
	if (!pct) {
		fprintf(stderr, "contend-bench: snapshot-pause needs CONTEND_OUT=DIR/%%p\n");
		exit(2);
	}
	snprintf(dir, sizeof(dir), "%.*s%d%s", (int)(pct - out), out, (int)getpid(), pct + 2);
	alarm(600); /* a snapshot of this table takes seconds to write */
	const char *tr = getenv("BENCH_PAUSE_TRACE");
	p_trace = tr && *tr == '1';

	pthread_t h, r;
	if (pthread_create(&h, NULL, p_holder, NULL) != 0)
		exit(2);
	while (!__atomic_load_n(&p_held, __ATOMIC_ACQUIRE))
		p_sleep_ms(1);
	if (pthread_create(&r, NULL, p_recorder, NULL) != 0)
		exit(2);
	while (!__atomic_load_n(&p_filled, __ATOMIC_ACQUIRE))
		p_sleep_ms(5);

	int64_t end = p_now(CLOCK_MONOTONIC) + (int64_t)(secs * 1e9);
	int snaps = 0;
	int64_t windows = 0;
	while (p_now(CLOCK_MONOTONIC) < end || snaps == 0) {
		char file[4200];
		snprintf(file, sizeof(file), "%s/block.%04d.pb.gz", dir, snaps + 1);
		int64_t t0 = p_now(CLOCK_MONOTONIC);
		__atomic_store_n(&p_window_t0, t0, __ATOMIC_RELAXED);
		__atomic_fetch_add(&p_window, 1, __ATOMIC_RELEASE);
		pthread_kill(pthread_self(), SIGUSR2);
		while (access(file, F_OK) != 0) {
			if (p_now(CLOCK_MONOTONIC) - t0 > 200 * 1000000000LL) {
				fprintf(stderr, "contend-bench: no %s after 200 s\n", file);
				exit(2);
			}
			p_sleep_ms(2);
		}
		int64_t took = p_now(CLOCK_MONOTONIC) - t0;
		windows += took;
		__atomic_fetch_add(&p_window, 1, __ATOMIC_RELEASE);
		snaps++;
		/* As long between snapshots as during one: the control. */
		p_sleep_ms(took / 1000000 > 200 ? (long)(took / 1000000) : 200);
	}
	__atomic_store_n(&p_stop, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	/* Only now: the recorder's timedlock must find the mutex held. */
	__atomic_store_n(&p_holder_stop, 1, __ATOMIC_RELEASE);
	pthread_join(h, NULL);
	int64_t ip99, imax, op99, omax;
	p_stats(&p_in, &ip99, &imax);
	p_stats(&p_out, &op99, &omax);
	printf("%d %d %.1f %lld %lld %lld %lld %lld %zu %zu %s\n", p_rt, snaps,
	       (double)windows / snaps / 1e6, (long long)ip99, (long long)imax,
	       (long long)p_in.cpu_max, (long long)op99, (long long)omax, p_in.n, p_out.n,
	       lock_provider());
	/* Its own line, not the worker's usual one: the driver below reads it. */
	exit(fflush(stdout) == 0 ? 0 : 1);
}

/* ---- driver side ---- */

struct p_run {
	int snaps;
	double window_ms;
	double in_p99, in_max, in_cpu_max, out_p99, out_max; /* us */
	size_t n_in, n_out;
	int rt;
	bool ok;
};

static struct p_run
p_run_one(double secs)
{
	struct p_run res = {0};
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **e = calloc(n + 12, sizeof(*e));
	char pre[4200], outv[4200];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "CONTEND_", 8))
			e[k++] = environ[i];
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", bench.ct_lib);
	snprintf(outv, sizeof(outv), "CONTEND_OUT=%s/%%p", bench.tmp_dir);
	e[k++] = pre;
	e[k++] = outv;
	e[k++] = "CONTEND_QUIET=1";
	e[k++] = "CONTEND_BLOCK_RATE=1";
	e[k++] = "CONTEND_MUTEX_FRACTION=1";
	e[k++] = "CONTEND_TABLE_SIZE=262144";
	e[k++] = "CONTEND_DUMP_SIGNAL=SIGUSR2";
	e[k] = NULL;
	char a_secs[32];
	snprintf(a_secs, sizeof(a_secs), "%.3f", secs);
	char *argv[] = {"contend-bench", "--worker", "snapshot-pause", a_secs, "1", "0", NULL};
	int p[2];
	if (pipe(p) < 0) {
		free(e);
		return res;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		execve(bench.self_exe, argv, e);
		_exit(127);
	}
	close(p[1]);
	free(e);
	char buf[512];
	size_t len = 0;
	ssize_t m;
	while (len < sizeof(buf) - 1 && (m = read(p[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (m < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)m;
	}
	buf[len] = 0;
	close(p[0]);
	int st;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	long long ip99, imax, icpu, op99, omax;
	char prov[256];
	if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    sscanf(buf, "%d %d %lf %lld %lld %lld %lld %lld %zu %zu %255s", &res.rt, &res.snaps,
		   &res.window_ms, &ip99, &imax, &icpu, &op99, &omax, &res.n_in, &res.n_out,
		   prov) != 11 ||
	    !strstr(prov, "libcontend")) {
		fprintf(stderr, "contend-bench: snapshot-pause worker failed\n");
		return res;
	}
	res.in_p99 = (double)ip99 / 1e3;
	res.in_max = (double)imax / 1e3;
	res.in_cpu_max = (double)icpu / 1e3;
	res.out_p99 = (double)op99 / 1e3;
	res.out_max = (double)omax / 1e3;
	res.ok = true;
	return res;
}

/* Children run: the first repetition, and the second in a full run. */
#define P_MAX_RUNS 2
static struct series p_v[6];
static int p_snaps, p_got, p_rt;
enum { P_IN_P99, P_IN_MAX, P_IN_CPU, P_OUT_P99, P_OUT_MAX, P_WIN };

static void
measure(int rep)
{
	if (rep >= (bench.quick ? 1 : P_MAX_RUNS))
		return;
	struct p_run r = p_run_one(1.0);
	if (!r.ok)
		return;
	if (bench.verbose)
		fprintf(stderr,
			"[snapshot-pause: %d snapshots of %.0f ms; during p99 %.1f max %.1f "
			"cpu max %.1f us (%zu calls); between p99 %.1f max %.1f us (%zu calls)]",
			r.snaps, r.window_ms, r.in_p99, r.in_max, r.in_cpu_max, r.n_in, r.out_p99,
			r.out_max, r.n_out);
	add(&p_v[P_IN_P99], rep, r.in_p99);
	add(&p_v[P_IN_MAX], rep, r.in_max);
	add(&p_v[P_IN_CPU], rep, r.in_cpu_max);
	add(&p_v[P_OUT_P99], rep, r.out_p99);
	add(&p_v[P_OUT_MAX], rep, r.out_max);
	add(&p_v[P_WIN], rep, r.window_ms);
	p_snaps += r.snaps;
	p_rt += r.rt;
	p_got++;
}

static void
rows(void)
{
	if (!p_got)
		return;
	row_text(80, "8 snapshot pauses: one thread records a block event per call over 100000 "
		     "distinct stacks while live snapshots of them are taken (%d in %d children, "
		     "%.0f ms each from signal to files; %s)\n",
		 p_snaps, p_got, median(&p_v[P_WIN]),
		 p_rt == p_got ? "that thread real-time on CPU 0, the dumper on CPU 1"
			       : "no real-time priority: figures include preemption");
	row_v(81, "8 a call while a snapshot runs, p99", "us", NAN, median(&p_v[P_IN_P99]), NAN,
	      NAN, NAN, false, NAN);
	row_v(82, "8   max", "us", NAN, median(&p_v[P_IN_MAX]), NAN, NAN, NAN, false, NAN);
	row_v(83, "8   max on CPU (spinning, or VM accounting)", "us", NAN,
	      median(&p_v[P_IN_CPU]), NAN, NAN, NAN, false, NAN);
	row_v(84, "8 a call between snapshots, p99", "us", NAN, median(&p_v[P_OUT_P99]), NAN, NAN,
	      NAN, false, NAN);
	row_v(85, "8   max", "us", NAN, median(&p_v[P_OUT_MAX]), NAN, NAN, NAN, false, NAN);
}

const struct workload wl_pause = {
	.group = "pause",
	.workers = {{"snapshot-pause", work_pause}},
	.measure = measure, .rows = rows,
};
