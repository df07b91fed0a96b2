/* Workload "pause": how long an application thread is held up while live
 * snapshots are taken of a big table. Preloaded only (there is nothing to
 * compare natively); the first repetition (two in a full run) runs one
 * child each, whose line the driver reads itself.
 *
 * The worker (--worker snapshot-pause SECONDS 1 0), run preloaded with
 * every block event recorded (CONTEND_BLOCK_RATE=1), a table of 1048576
 * records (CONTEND_TABLE_SIZE, the largest allowed: a copy reads it all) and CONTEND_DUMP_SIGNAL=SIGUSR2:
 *   - one recording thread walks 100000 distinct call paths (17 levels of
 *     two functions each, so 100000 distinct stacks) ending in a
 *     pthread_mutex_timedlock with a past deadline on a mutex another
 *     thread holds (no system call; one block event with its stack each),
 *     which fills the block table with 100000 records;
 *   - then it keeps walking them, timing every call
 *     (wall clock and the thread's CPU time), while the main thread asks
 *     for numbered snapshots with the dump signal (pthread_kill to itself,
 *     so the handler runs on main) and waits for block.NNNN.pb.gz to
 *     appear: a call is "during a snapshot" when a request was outstanding
 *     at its start or end, else "between snapshots"; after each snapshot
 *     it waits as long as the snapshot took, so both sets cover about the
 *     same time. A snapshot copies the whole table, then symbolizes and
 *     writes it on the dumper thread.
 * With a thread that keeps a CPU busy (recording nothing: a second
 * recorder would meet the first on the tables' stripe locks, a pause that
 * is not the snapshot's), the recorder, the main thread and the dumper
 * share two CPUs, a loaded server in small: the dumper is preempted now
 * and then, and a copy that held a lock the recorder needs would make it
 * spin meanwhile. A spin shows in the call's time on CPU; preemption of
 * the caller only in its wall time. (A VM's
 * CPU accounting is itself off by a millisecond or two now and then:
 * compare the two sets.)
 *
 * The worker prints: snapshots, mean window ms, wall p99 / max, CPU p99 /
 * max (ns) during snapshots, the same between them, calls counted in each,
 * and the provider of pthread_mutex_lock (the preload check), then exits.
 * BENCH_PAUSE_TRACE=1 prints every call over 1 ms on stderr. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PAUSE_LEVELS 17
#define PAUSE_STACKS 100000
#define PAUSE_RECORDERS 1
#define PAUSE_NOINLINE __attribute__((noinline, noclone))
#define PAUSE_NO_TAIL() __asm__ volatile("" ::: "memory")

static pthread_mutex_t p_mtx = PTHREAD_MUTEX_INITIALIZER;
static int p_held, p_filled, p_stop, p_holder_stop;
static uint32_t p_window;   /* odd while a snapshot is outstanding */
static int64_t p_window_t0; /* when the outstanding request was sent */
static bool p_trace;        /* BENCH_PAUSE_TRACE=1: calls over 1 ms on stderr */

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

/* One set of calls: wall and CPU ns of each. */
struct p_lat {
	int64_t *wall, *cpu;
	size_t n, cap;
};
/* [recorder][0 between, 1 during] */
static struct p_lat p_lat[PAUSE_RECORDERS][2];

static void
p_add(struct p_lat *l, int64_t wall, int64_t cpu, bool during)
{
	if (p_trace && (wall > 1000000 || cpu > 1000000))
		fprintf(stderr, "  slow call %s: %.1f ms wall, %.1f ms CPU, %.1f ms after the request\n",
			during ? "during a snapshot" : "between snapshots", wall / 1e6, cpu / 1e6,
			(p_now(CLOCK_MONOTONIC) - __atomic_load_n(&p_window_t0, __ATOMIC_RELAXED)) / 1e6);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1 << 18;
		int64_t *w = realloc(l->wall, cap * sizeof(*w));
		int64_t *c = w ? realloc(l->cpu, cap * sizeof(*c)) : NULL;
		if (!w || !c) {
			perror("realloc");
			exit(2);
		}
		l->wall = w;
		l->cpu = c;
		l->cap = cap;
	}
	l->wall[l->n] = wall;
	l->cpu[l->n++] = cpu;
}

static void *
p_holder(void *arg)
{
	struct timespec ms = {0, 1000000};
	pthread_mutex_lock(&p_mtx);
	__atomic_store_n(&p_held, 1, __ATOMIC_RELEASE);
	/* Raw system calls: a nanosleep() the shim records would take a
	 * stripe lock the recorder may need. */
	while (!__atomic_load_n(&p_holder_stop, __ATOMIC_ACQUIRE))
		syscall(SYS_nanosleep, &ms, NULL);
	pthread_mutex_unlock(&p_mtx);
	return arg;
}

/* One call site for the fill and the measured calls, in every recorder:
 * the same stacks. Recorder 0 fills, the others wait for it. */
static void *
p_recorder(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned path = id * (PAUSE_STACKS / PAUSE_RECORDERS);
	uint64_t i = id == 0 ? 0 : PAUSE_STACKS;
	while (id != 0 && !__atomic_load_n(&p_filled, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (; !__atomic_load_n(&p_stop, __ATOMIC_ACQUIRE); i++) {
		bool measure = i >= PAUSE_STACKS;
		if (i == PAUSE_STACKS && id == 0)
			__atomic_store_n(&p_filled, 1, __ATOMIC_RELEASE);
		uint32_t w0 = __atomic_load_n(&p_window, __ATOMIC_ACQUIRE);
		int64_t c0 = measure ? p_now(CLOCK_THREAD_CPUTIME_ID) : 0;
		int64_t t0 = measure ? p_now(CLOCK_MONOTONIC) : 0;
		p_step(path, 0);
		if (measure) {
			int64_t t1 = p_now(CLOCK_MONOTONIC);
			int64_t c1 = p_now(CLOCK_THREAD_CPUTIME_ID);
			uint32_t w1 = __atomic_load_n(&p_window, __ATOMIC_ACQUIRE);
			bool during = (w0 & 1) || w0 != w1;
			p_add(&p_lat[id][during], t1 - t0, c1 - c0, during);
		}
		/* Every path once during the fill, then all over the table. */
		path = measure ? (path + 7919) % PAUSE_STACKS : path + 1;
		if (path == PAUSE_STACKS)
			path = 0;
	}
	return arg;
}

/* Keeps a CPU busy, so that the recorder, this thread and the dumper
 * share two: the dumper is preempted now and then, as on a loaded server.
 * It records nothing, and the other threads sleep with raw system calls
 * that the shim does not record: a second thread recording would meet the
 * recorder on the tables' stripe locks, a pause that is not the
 * snapshot's. */
static void *
p_burner(void *arg)
{
	uint64_t x = 1;
	while (!__atomic_load_n(&p_stop, __ATOMIC_ACQUIRE))
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005ULL + 1;
	return (void *)(uintptr_t)(x & 1);
}

static void
p_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	/* Not recorded, as in p_holder. */
	while (syscall(SYS_nanosleep, &ts, &ts) != 0 && errno == EINTR) {
	}
}

static int
p_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* p99 and max of one figure over every recorder's calls of one kind. */
static void
p_stats(int during, bool cpu, int64_t *p99, int64_t *max, size_t *count)
{
	size_t n = 0;
	for (int r = 0; r < PAUSE_RECORDERS; r++)
		n += p_lat[r][during].n;
	*p99 = *max = 0;
	*count = n;
	if (!n)
		return;
	int64_t *v = malloc(n * sizeof(*v));
	if (!v)
		exit(2);
	size_t k = 0;
	for (int r = 0; r < PAUSE_RECORDERS; r++) {
		const struct p_lat *l = &p_lat[r][during];
		memcpy(v + k, cpu ? l->cpu : l->wall, l->n * sizeof(*v));
		k += l->n;
	}
	qsort(v, n, sizeof(*v), p_cmp);
	*p99 = v[(size_t)((double)(n - 1) * 0.99)];
	*max = v[n - 1];
	free(v);
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
	alarm(900); /* a snapshot of this table takes seconds to write */
	const char *tr = getenv("BENCH_PAUSE_TRACE");
	p_trace = tr && *tr == '1';

	pthread_t h, r[PAUSE_RECORDERS];
	if (pthread_create(&h, NULL, p_holder, NULL) != 0)
		exit(2);
	while (!__atomic_load_n(&p_held, __ATOMIC_ACQUIRE))
		p_sleep_ms(1);
	for (uintptr_t i = 0; i < PAUSE_RECORDERS; i++)
		if (pthread_create(&r[i], NULL, p_recorder, (void *)i) != 0)
			exit(2);
	while (!__atomic_load_n(&p_filled, __ATOMIC_ACQUIRE))
		p_sleep_ms(5);
	pthread_t burner;
	if (pthread_create(&burner, NULL, p_burner, NULL) != 0)
		exit(2);

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
			if (p_now(CLOCK_MONOTONIC) - t0 > 400 * 1000000000LL) {
				fprintf(stderr, "contend-bench: no %s after 400 s\n", file);
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
	for (int i = 0; i < PAUSE_RECORDERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(burner, NULL);
	/* Only now: the recorders' timedlock must find the mutex held. */
	__atomic_store_n(&p_holder_stop, 1, __ATOMIC_RELEASE);
	pthread_join(h, NULL);
	int64_t v[8];
	size_t n_in, n_out;
	p_stats(1, false, &v[0], &v[1], &n_in);
	p_stats(1, true, &v[2], &v[3], &n_in);
	p_stats(0, false, &v[4], &v[5], &n_out);
	p_stats(0, true, &v[6], &v[7], &n_out);
	printf("%d %.1f", snaps, (double)windows / snaps / 1e6);
	for (int i = 0; i < 8; i++)
		printf(" %lld", (long long)v[i]);
	printf(" %zu %zu %s\n", n_in, n_out, lock_provider());
	/* Its own line, not the worker's usual one: the driver below reads it. */
	exit(fflush(stdout) == 0 ? 0 : 1);
}

/* ---- driver side ---- */

struct p_run {
	int snaps;
	double window_ms;
	double v[8]; /* us: during wall p99, max, CPU p99, max; between the same */
	size_t n_in, n_out;
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
	e[k++] = "CONTEND_TABLE_SIZE=1048576";
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
	read_all(p[0], buf, sizeof(buf));
	close(p[0]);
	int st;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	long long v[8];
	char prov[256];
	if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    sscanf(buf, "%d %lf %lld %lld %lld %lld %lld %lld %lld %lld %zu %zu %255s", &res.snaps,
		   &res.window_ms, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &res.n_in, &res.n_out, prov) != 13 ||
	    !strstr(prov, "libcontend")) {
		fprintf(stderr, "contend-bench: snapshot-pause worker failed\n");
		return res;
	}
	for (int i = 0; i < 8; i++)
		res.v[i] = (double)v[i] / 1e3;
	res.ok = true;
	return res;
}

/* Children run: the first repetition, and the second in a full run. */
#define P_MAX_RUNS 2
static struct series p_v[9]; /* struct p_run's v, then the window */
static int p_snaps, p_got;

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
			"[snapshot-pause: %d snapshots of %.0f ms; during: wall p99 %.1f max %.1f, "
			"CPU p99 %.1f max %.1f us (%zu calls); between: wall p99 %.1f max %.1f, CPU "
			"p99 %.1f max %.1f us (%zu calls)]",
			r.snaps, r.window_ms, r.v[0], r.v[1], r.v[2], r.v[3], r.n_in, r.v[4], r.v[5],
			r.v[6], r.v[7], r.n_out);
	for (int i = 0; i < 8; i++)
		add(&p_v[i], rep, r.v[i]);
	add(&p_v[8], rep, r.window_ms);
	p_snaps += r.snaps;
	p_got++;
}

static void
rows(void)
{
	if (!p_got)
		return;
	row_text(80, "8 snapshot pauses: a thread records a block event per call over 100000 "
		     "distinct stacks while live snapshots of them are taken (%d in %d children, "
		     "%.0f ms each from signal to files), another keeps a CPU busy; a call's time "
		     "on CPU shows a spin on a lock, its wall time preemption too\n",
		 p_snaps, p_got, median(&p_v[8]));
	static const char *const what[8] = {
		"8 a call during a snapshot, wall, p99", "8   max",
		"8 a call during a snapshot, on CPU, p99", "8   max",
		"8 a call between snapshots, wall, p99", "8   max",
		"8 a call between snapshots, on CPU, p99", "8   max",
	};
	for (int i = 0; i < 8; i++)
		row_v(81 + i, what[i], "us", NAN, median(&p_v[i]), NAN, NAN, NAN, false, NAN);
}

const struct workload wl_pause = {
	.group = "pause",
	.workers = {{"snapshot-pause", work_pause}},
	.measure = measure, .rows = rows,
};
