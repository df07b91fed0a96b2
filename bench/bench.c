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
 * (uncontended contended handoff timedlock cond threads spawn), -v (every
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
 *                both pinned to one CPU (see worker_main); us per round trip.
 *   /bin/true    fork+exec+wait of a trivial process, many runs.
 * glibc and Linux only (reads __data.__lock and /proc). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __GLIBC__
#error "contend-bench reads glibc's pthread_mutex_t layout"
#endif

#ifndef CT_BENCH_LIB
#define CT_BENCH_LIB ""
#endif
#ifndef CT_BENCH_TRYLOCK_LIB
#define CT_BENCH_TRYLOCK_LIB ""
#endif
#ifndef CT_BENCH_FORWARD_LIB
#define CT_BENCH_FORWARD_LIB ""
#endif

#define MAX_REPS 31
#define MAX_THREADS 64

extern char **environ;

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
/* Worker side: runs in a child, prints "elapsed_ns ops contended shim". */

static int64_t w_dur_ns;
static unsigned w_threads = 2;
static unsigned w_work = 30;

/* The mutex and the counter it protects fill a cache line of their own,
 * and the start/stop flags (read on every iteration) sit on another one:
 * only lock traffic may move the lock's line between CPUs, or any extra
 * load of it (libcontend's fast path reads the lock word) would be
 * measured against a baseline that already pays for one. */
static struct {
	pthread_mutex_t m;
	uint64_t counter;
} __attribute__((aligned(64))) g_lock = {PTHREAD_MUTEX_INITIALIZER, 0};
static struct {
	int go, stop, ready;
} __attribute__((aligned(64))) g_flags;
#define g_mtx g_lock.m
#define g_counter g_lock.counter
#define g_go g_flags.go
#define g_stop g_flags.stop
#define g_ready g_flags.ready

struct wthread {
	pthread_t th;
	unsigned idx;
	uint64_t ops, contended;
	uint64_t sink;
	int64_t cpu_ns; /* this thread's CPU time while measured */
} __attribute__((aligned(64)));

static struct wthread g_wt[MAX_THREADS];

static int64_t
thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits for the start signal; returns the thread's CPU clock then. */
static int64_t
wait_go(void)
{
	unsigned n = 0;
	__atomic_add_fetch(&g_ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&g_go, __ATOMIC_ACQUIRE))
		spin_once(&n);
	return thread_cpu_ns();
}

static inline bool
stopped(void)
{
	return __atomic_load_n(&g_stop, __ATOMIC_RELAXED);
}

/* Starts fn on n threads, lets them run for w_dur_ns, stops and joins them.
 * Returns the time between the start and the stop signal. */
static int64_t
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
	while (__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE) != (int)n)
		spin_once(&spins);
	int64_t t0 = now_ns();
	__atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
	struct timespec d = {(time_t)(w_dur_ns / 1000000000), (long)(w_dur_ns % 1000000000)};
	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	int64_t t1 = now_ns();
	for (unsigned i = 0; i < n; i++)
		pthread_join(g_wt[i].th, NULL);
	return t1 - t0;
}

/* CPU time of the measured section of a single-threaded worker. */
static int64_t w_cpu_ns;

static void
w_uncontended(int64_t *elapsed, uint64_t *ops)
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
	w_cpu_ns = thread_cpu_ns() - c0;
	*elapsed = t - t0;
	*ops = n;
}

static void *
contended_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t x = w->idx + 1, n = 0;
	int64_t c0 = wait_go();
	while (!stopped()) {
		pthread_mutex_lock(&g_mtx);
		g_counter++;
		pthread_mutex_unlock(&g_mtx);
		x = busy_work(x, w_work);
		n++;
	}
	w->cpu_ns = thread_cpu_ns() - c0;
	w->ops = n;
	w->sink = x;
	return NULL;
}

/* The same loop, also counting the acquisitions that found the lock word
 * nonzero (held): a separate run, so the measured loop has no extra load. */
static void *
contended_count_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t x = w->idx + 1, n = 0, cont = 0;
	int64_t c0 = wait_go();
	while (!stopped()) {
		if (lock_word(&g_mtx) != 0)
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

/* Handoff: -1 until thread 0 first holds the mutex, then the holder. */
static int g_holder = -1;
static int g_tid[2];

/* Whether the thread behind fd (its /proc stat file) is asleep. Once the
 * other thread has set the lock word to 2 the only place it can sleep is
 * the futex wait inside pthread_mutex_lock. */
static bool
thread_asleep(int fd)
{
	char b[512];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n <= 0)
		return true; /* cannot tell: do not hang */
	b[n] = 0;
	const char *p = strrchr(b, ')');
	return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

static void *
handoff_thread(void *arg)
{
	struct wthread *w = arg;
	int me = (int)w->idx;
	uint64_t n = 0, cont = 0;
	unsigned spins = 0;
	__atomic_store_n(&g_tid[me], (int)gettid(), __ATOMIC_RELEASE);
	wait_go();
	while (__atomic_load_n(&g_tid[!me], __ATOMIC_ACQUIRE) == 0)
		spin_once(&spins);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", g_tid[!me]);
	int other = open(path, O_RDONLY | O_CLOEXEC);
	if (me == 1)
		while (__atomic_load_n(&g_holder, __ATOMIC_ACQUIRE) != 0)
			spin_once(&spins);
	for (;;) {
		if (lock_word(&g_mtx) != 0)
			cont++;
		pthread_mutex_lock(&g_mtx);
		n++;
		/* We hold it and the other thread has not asked yet (it waits
		 * for g_holder to name us): a word of 2 left by our own wait
		 * would make the next check pass at once. */
		int two = 2;
		__atomic_compare_exchange_n(&g_mtx.__data.__lock, &two, 1, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		__atomic_store_n(&g_holder, me, __ATOMIC_RELEASE);
		if (stopped()) {
			pthread_mutex_unlock(&g_mtx);
			break;
		}
		/* Unlock only once the other thread sleeps on the lock: every
		 * handoff is then a real block and wake, never a race that the
		 * waiter sometimes wins before sleeping (which made the figures
		 * bimodal). */
		while (lock_word(&g_mtx) != 2 && !stopped())
			spin_once(&spins);
		while (other >= 0 && !thread_asleep(other) && !stopped())
			cpu_relax();
		pthread_mutex_unlock(&g_mtx);
		while (__atomic_load_n(&g_holder, __ATOMIC_ACQUIRE) == me)
			spin_once(&spins);
	}
	if (other >= 0)
		close(other);
	w->ops = n;
	w->contended = cont;
	return NULL;
}

static pthread_cond_t g_cv[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int g_turn, g_cdone;

static void *
cond_thread(void *arg)
{
	struct wthread *w = arg;
	int me = (int)w->idx;
	uint64_t n = 0;
	wait_go();
	pthread_mutex_lock(&g_mtx);
	for (;;) {
		while (g_turn != me && !g_cdone)
			pthread_cond_wait(&g_cv[me], &g_mtx);
		if (g_cdone)
			break;
		if (me == 0) {
			if (stopped()) {
				g_cdone = 1;
				pthread_cond_signal(&g_cv[1]);
				break;
			}
			n++; /* one round trip: 0 -> 1 -> 0 */
		}
		g_turn = !me;
		pthread_cond_signal(&g_cv[!me]);
	}
	pthread_mutex_unlock(&g_mtx);
	w->ops = n;
	return NULL;
}

/* Timedlock: one thread holds g_mtx for the whole run while the measured
 * thread calls pthread_mutex_timedlock on it with a deadline already past.
 * glibc gives up without a system call, so the preloaded shim's slow path
 * (a wait that begins and ends, recorded with a stack when sampled) is
 * nearly all that separates the two figures: the cost of one recorded
 * block event, on one thread, with no wake-up latency to hide it. */
static void *
holder_thread(void *arg)
{
	struct timespec ms = {0, 1000000};
	pthread_mutex_lock(&g_mtx);
	__atomic_store_n(&g_holder, 1, __ATOMIC_RELEASE);
	while (!stopped())
		nanosleep(&ms, NULL);
	pthread_mutex_unlock(&g_mtx);
	return NULL;
}

static void
w_timedlock(int64_t *elapsed, uint64_t *ops, uint64_t *cont)
{
	pthread_t th;
	unsigned spins = 0;
	if (pthread_create(&th, NULL, holder_thread, NULL) != 0) {
		perror("pthread_create");
		exit(2);
	}
	while (__atomic_load_n(&g_holder, __ATOMIC_ACQUIRE) != 1)
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
	w_cpu_ns = thread_cpu_ns() - c0;
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	*elapsed = t - t0;
	*ops = n;
	*cont = c;
}

/* threads-idle: `w_work` threads created, each parked in read() on a pipe,
 * then the process's current resident set is measured (VmRSS, reported in
 * the VmHWM column) and they are released and joined. ops = threads. */
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

static long
vm_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static long
w_threads_idle(int64_t *elapsed, uint64_t *ops)
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
	*elapsed = now_ns() - t0;
	long rss = vm_rss_kib();
	for (unsigned i = 0; i < n; i++)
		if (write(idle_gate[1], "x", 1) != 1)
			abort();
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	*ops = n;
	return rss;
}

/* threads-churn: one thread created and joined at a time, for the
 * duration. ops = create+join pairs. */
static void *
churn_thread(void *arg)
{
	return arg;
}

static void
w_threads_churn(int64_t *elapsed, uint64_t *ops)
{
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
	*elapsed = t - t0;
	*ops = n;
}

/* Peak resident set so far (VmHWM), in KiB: unlike the parent's
 * ru_maxrss it excludes the exit-time profile dump and the parent's size
 * at fork. */
static long
vm_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Which object pthread_mutex_lock resolves to here, so the driver can tell
 * that the preload took effect. */
static const char *
lock_provider(void)
{
	Dl_info di;
	void *p = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	if (!p || !dladdr(p, &di) || !di.dli_fname)
		return "?";
	const char *s = strrchr(di.dli_fname, '/');
	return s ? s + 1 : di.dli_fname;
}

static int
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

	int64_t elapsed = 0, cpu = 0;
	uint64_t ops = 0, cont = 0;
	if (!strcmp(kind, "uncontended")) {
		w_uncontended(&elapsed, &ops);
		cpu = w_cpu_ns;
	} else if (!strcmp(kind, "contended")) {
		elapsed = run_threads(contended_thread, w_threads);
		for (unsigned i = 0; i < w_threads; i++) {
			ops += g_wt[i].ops;
			cpu += g_wt[i].cpu_ns;
		}
	} else if (!strcmp(kind, "contended-count")) {
		elapsed = run_threads(contended_count_thread, w_threads);
		for (unsigned i = 0; i < w_threads; i++) {
			ops += g_wt[i].ops;
			cont += g_wt[i].contended;
			cpu += g_wt[i].cpu_ns;
		}
	} else if (!strcmp(kind, "timedlock")) {
		w_timedlock(&elapsed, &ops, &cont);
		cpu = w_cpu_ns;
	} else if (!strcmp(kind, "handoff")) {
		elapsed = run_threads(handoff_thread, 2);
		ops = g_wt[0].ops + g_wt[1].ops;
		cont = g_wt[0].contended + g_wt[1].contended;
	} else if (!strcmp(kind, "cond")) {
		/* Both threads on the CPU we started on: only one of them
		 * runs at a time anyway, and across two vCPUs every wake-up
		 * costs an interrupt whose latency the hypervisor decides
		 * (round trips then varied from 9 to 34 us between runs; on
		 * one CPU they stay within a few percent). */
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		sched_setaffinity(0, sizeof(one), &one);
		elapsed = run_threads(cond_thread, 2);
		ops = g_wt[0].ops;
	} else if (!strcmp(kind, "threads-idle")) {
		long rss = w_threads_idle(&elapsed, &ops);
		printf("%lld %llu %llu %ld %.3f %s\n", (long long)elapsed,
		       (unsigned long long)ops, 0ULL, rss, 1.0, lock_provider());
		return fflush(stdout) == 0 ? 0 : 1;
	} else if (!strcmp(kind, "threads-churn")) {
		w_threads_churn(&elapsed, &ops);
		cpu = elapsed;
	} else {
		fprintf(stderr, "contend-bench: unknown worker %s\n", kind);
		return 2;
	}
	/* Parallelism: the measured threads' CPU time over the wall time. */
	printf("%lld %llu %llu %ld %.3f %s\n", (long long)elapsed, (unsigned long long)ops,
	       (unsigned long long)cont, vm_hwm_kib(),
	       elapsed > 0 ? (double)cpu / (double)elapsed : 0, lock_provider());
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Driver side. */

enum cfg { NATIVE, CT_DEFAULT, CT_ALL, TRYLOCK, FORWARD, NCFG };
static const char *const cfg_name[NCFG] = {"native", "libcontend", "libcontend (record all)",
					   "trylock shim", "forwarding shim"};

static char self_exe[PATH_MAX];
static char ct_lib[PATH_MAX];
static char try_lib[PATH_MAX];
static bool have_try;
static char fwd_lib[PATH_MAX];
static bool have_fwd;
static char tmp_dir[PATH_MAX];
static char **cfg_env[NCFG];
static int verbose;

struct child {
	int64_t elapsed_ns; /* the worker's measured section */
	uint64_t ops, contended;
	int64_t wall_ns; /* fork to reaped */
	long maxrss_kib; /* wait4: includes the exit-time dump */
	long hwm_kib;    /* the worker's VmHWM after its measured section */
	double par;      /* threads' CPU time / elapsed (contended kinds) */
	bool ok;
};

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
		snprintf(buf, sizeof(buf), "LD_PRELOAD=%s", ct_lib);
		e[k++] = strdup(buf);
		snprintf(buf, sizeof(buf), "CONTEND_OUT=%s/%%p", tmp_dir);
		e[k++] = strdup(buf);
		e[k++] = "CONTEND_QUIET=1";
		if (c == CT_ALL) {
			e[k++] = "CONTEND_MUTEX_FRACTION=1";
			e[k++] = "CONTEND_BLOCK_RATE=1";
		}
	} else if (c == TRYLOCK || c == FORWARD) {
		snprintf(buf, sizeof(buf), "LD_PRELOAD=%s", c == TRYLOCK ? try_lib : fwd_lib);
		e[k++] = strdup(buf);
	}
	e[k] = NULL;
	return e;
}

static struct child
run_worker(enum cfg c, const char *kind, double secs, unsigned threads, unsigned work)
{
	struct child r = {0};
	char a_secs[32], a_thr[16], a_work[16];
	snprintf(a_secs, sizeof(a_secs), "%.3f", secs);
	snprintf(a_thr, sizeof(a_thr), "%u", threads);
	snprintf(a_work, sizeof(a_work), "%u", work);
	char *argv[] = {"contend-bench", "--worker", (char *)kind, a_secs, a_thr, a_work, NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(1);
	}
	fflush(NULL);
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execve(self_exe, argv, cfg_env[c]);
		_exit(127);
	}
	close(p[1]);
	char out[512];
	size_t len = 0;
	ssize_t m;
	while (len < sizeof(out) - 1 && (m = read(p[0], out + len, sizeof(out) - 1 - len)) != 0) {
		if (m < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)m;
	}
	out[len] = 0;
	close(p[0]);
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
		;
	r.wall_ns = now_ns() - t0;
	r.maxrss_kib = ru.ru_maxrss;
	long long el;
	unsigned long long ops, cont;
	long hwm;
	double par;
	char prov[256];
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    sscanf(out, "%lld %llu %llu %ld %lf %255s", &el, &ops, &cont, &hwm, &par, prov) != 6 ||
	    ops == 0) {
		fprintf(stderr, "contend-bench: %s worker under %s failed (%s %d)\n", kind,
			cfg_name[c], WIFSIGNALED(st) ? "signal" : "exit status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return r;
	}
	/* The preload must have taken effect, and only then. */
	bool want_ct = c == CT_DEFAULT || c == CT_ALL, want_try = c == TRYLOCK,
	     want_fwd = c == FORWARD;
	if ((strstr(prov, "libcontend") != NULL) != want_ct ||
	    (strstr(prov, "trylock") != NULL) != want_try ||
	    (strstr(prov, "forward") != NULL) != want_fwd) {
		fprintf(stderr,
			"contend-bench: %s worker under %s: pthread_mutex_lock came from %s\n",
			kind, cfg_name[c], prov);
		exit(1);
	}
	r.elapsed_ns = el;
	r.ops = ops;
	r.contended = cont;
	r.hwm_kib = hwm;
	r.par = par;
	r.ok = true;
	return r;
}

/* Runs /bin/true `runs` times (fork+exec+wait); microseconds per run. */
static double
spawn_true(enum cfg c, int runs)
{
	static const char *prog = "/bin/true";
	if (access(prog, X_OK) != 0)
		prog = "/usr/bin/true";
	char *argv[] = {"true", NULL};
	fflush(NULL);
	int64_t t0 = now_ns();
	for (int i = 0; i < runs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (pid == 0) {
			execve(prog, argv, cfg_env[c]);
			_exit(127);
		}
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "contend-bench: %s under %s failed\n", prog, cfg_name[c]);
			return NAN;
		}
	}
	return (double)(now_ns() - t0) / runs / 1e3;
}

/* The samples of one cell, indexed by repetition (a failed child leaves a
 * hole); the cell's value is their median. */
struct series {
	double v[MAX_REPS];
	bool set[MAX_REPS];
	int n; /* highest repetition + 1 */
};

static void
add(struct series *s, int rep, double v)
{
	if (rep < 0 || rep >= MAX_REPS || isnan(v))
		return;
	s->v[rep] = v;
	s->set[rep] = true;
	if (rep + 1 > s->n)
		s->n = rep + 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int
values(const struct series *s, double *t)
{
	int k = 0;
	for (int i = 0; i < s->n; i++)
		if (s->set[i])
			t[k++] = s->v[i];
	qsort(t, (size_t)k, sizeof(double), cmp_double);
	return k;
}

static double
median(const struct series *s)
{
	double t[MAX_REPS];
	int k = values(s, t);
	if (k == 0)
		return NAN;
	return k % 2 ? t[k / 2] : (t[k / 2 - 1] + t[k / 2]) / 2;
}

/* How much the repetitions disagreed: the range of the samples, less the
 * lowest and highest quarter (so one disturbed child of 7 does not set
 * it), over the median. With 3 samples it is the full range. */
static double
spread(const struct series *s)
{
	double t[MAX_REPS];
	int k = values(s, t);
	double m = median(s);
	if (k < 2 || m == 0)
		return NAN;
	return (t[k - 1 - k / 4] - t[k / 4]) / fabs(m);
}

/* b/a per repetition: children of one repetition ran next to each other,
 * so their ratio cancels most of the drift of a shared machine, which
 * shifts absolute figures by tens of percent within seconds. */
static struct series
ratios(const struct series *a, const struct series *b)
{
	struct series r = {0};
	for (int i = 0; i < a->n && i < b->n; i++)
		if (a->set[i] && b->set[i] && a->v[i] != 0)
			add(&r, i, b->v[i] / a->v[i]);
	return r;
}

/* b - a per repetition. */
static struct series
diffs(const struct series *a, const struct series *b)
{
	struct series d = {0};
	for (int i = 0; i < a->n && i < b->n; i++)
		if (a->set[i] && b->set[i])
			add(&d, i, b->v[i] - a->v[i]);
	return d;
}

static void
fmt_val(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

#define ROW_FMT "%-50s %-10s %9s %10s %6s %8s %8s %6s %6s\n"

/* Prints one table row. ratio and tratio are libcontend/native and
 * trylock/native; higher: throughput-like (bigger is better); noise: the
 * spread of the per-repetition ratios. NAN prints as "-". */
static void
row_v(const char *what, const char *unit, double nat, double pre, double tryl, double ratio,
      double tratio, bool higher, double noise)
{
	char a[32], b[32], r1[32], o1[32], t[32], r2[32], nz[32];
	fmt_val(a, sizeof(a), nat);
	fmt_val(b, sizeof(b), pre);
	fmt_val(t, sizeof(t), tryl);
	snprintf(r1, sizeof(r1), "-");
	snprintf(o1, sizeof(o1), "-");
	snprintf(r2, sizeof(r2), "-");
	snprintf(nz, sizeof(nz), "-");
	if (!isnan(ratio)) {
		snprintf(r1, sizeof(r1), "%.3f", ratio);
		double ov = higher ? 1 - ratio : ratio - 1;
		snprintf(o1, sizeof(o1), "%+.1f%%", ov * 100);
	}
	if (!isnan(tratio))
		snprintf(r2, sizeof(r2), "%.3f", tratio);
	if (!isnan(noise))
		snprintf(nz, sizeof(nz), "%.0f%%", noise * 100);
	printf(ROW_FMT, what, unit, a, b, r1, o1, t, r2, nz);
}

/* A row from cells (tryl may be NULL): values are medians, ratios are
 * medians of the per-repetition ratios. */
static bool want(const char *group);

static void
row_s(const char *group, const char *what, const char *unit, const struct series *nat,
      const struct series *pre, const struct series *tryl, bool higher)
{
	if (!want(group))
		return;
	struct series r = ratios(nat, pre);
	struct series tr = tryl ? ratios(nat, tryl) : (struct series){0};
	row_v(what, unit, median(nat), median(pre), tryl ? median(tryl) : NAN, median(&r),
	      median(&tr), higher, spread(&r));
}

static void
dump_series(const char *what, const struct series *s)
{
	fprintf(stderr, "  %-50s", what);
	for (int i = 0; i < s->n; i++)
		if (s->set[i])
			fprintf(stderr, " %.4g", s->v[i]);
		else
			fprintf(stderr, " -");
	fprintf(stderr, "  (median %.4g)\n", median(s));
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
		"                     [--work N] [--reps N] [--only GROUP,...] [-v]\n"
		"Measures libcontend's overhead: native vs LD_PRELOAD, one child per sample.\n"
		"Groups: uncontended contended handoff timedlock cond spawn.\n");
}

static bool
dir_of_self_file(const char *name, char *out, size_t len)
{
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", self_exe);
	char *s = strrchr(d, '/');
	if (!s)
		return false;
	*s = 0;
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", d, name);
	return len >= PATH_MAX && realpath(p, out) != NULL;
}

static const char *only_groups;

static bool
want(const char *group)
{
	if (!only_groups)
		return true;
	size_t n = strlen(group);
	for (const char *p = only_groups; (p = strstr(p, group)) != NULL; p += n)
		if ((p == only_groups || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* A child is only comparable when it had the CPUs it asked for: on a
 * shared 2-vCPU machine a busy neighbour (a test suite, a compile) often
 * leaves us one, and then a single-threaded loop is time-sliced and two
 * contending threads take turns, nothing is contended and the throughput
 * jumps by a third. The worker reports its threads' CPU time over the wall
 * time; below 85 % of what was expected the child is run once more after a
 * pause, and if it is starved again its sample is dropped. Re-runs are
 * capped (rerun_budget) so a busy machine cannot stretch the run much. */
static int starved_reruns, starved_dropped, rerun_budget;

static struct child
run_checked(enum cfg c, const char *kind, double secs, unsigned threads, unsigned work,
	    double expect)
{
	struct child r = {0};
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0) {
			if (starved_reruns >= rerun_budget)
				break;
			starved_reruns++;
			struct timespec pause = {0, 100 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
		r = run_worker(c, kind, secs, threads, work);
		if (!r.ok || r.par >= 0.85 * expect)
			return r;
		if (verbose)
			fprintf(stderr, "[%s/%s: %.2f of %.0f CPUs]", kind, cfg_name[c], r.par,
				expect);
	}
	starved_dropped++;
	r.ok = false;
	return r;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return worker_main(argc, argv);

	bool quick = false;
	const char *lib_arg = NULL, *try_arg = NULL;
	unsigned threads = 2, work = 30;
	int reps = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick"))
			quick = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			verbose = 1;
		else if (!strcmp(a, "--lib") && i + 1 < argc)
			lib_arg = argv[++i];
		else if (!strcmp(a, "--trylock-lib") && i + 1 < argc)
			try_arg = argv[++i];
		else if (!strcmp(a, "--threads") && i + 1 < argc)
			threads = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--work") && i + 1 < argc)
			work = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(a, "--only") && i + 1 < argc)
			only_groups = argv[++i];
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "contend-bench: --threads must be 1..%d\n", MAX_THREADS);
		return 2;
	}
	if (reps <= 0)
		reps = quick ? 3 : 7;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double par_threads = threads < (unsigned)ncpu ? threads : (double)ncpu;
	rerun_budget = 3 * reps;

	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_exe[n] = 0;

	/* libcontend.so: --lib, else ../libcontend.so from build/bench/, else
	 * the path meson baked in. */
	if (lib_arg) {
		if (!realpath(lib_arg, ct_lib)) {
			fprintf(stderr, "contend-bench: --lib %s: %s\n", lib_arg, strerror(errno));
			return 1;
		}
	} else if (!dir_of_self_file("../libcontend.so", ct_lib, sizeof(ct_lib)) &&
		   !(CT_BENCH_LIB[0] && realpath(CT_BENCH_LIB, ct_lib))) {
		fprintf(stderr, "contend-bench: cannot find libcontend.so next to the build "
				"directory; build it or pass --lib PATH\n");
		return 1;
	}
	if (try_arg)
		have_try = realpath(try_arg, try_lib) != NULL;
	else
		have_try = dir_of_self_file("libtrylock-shim.so", try_lib, sizeof(try_lib)) ||
			   (CT_BENCH_TRYLOCK_LIB[0] && realpath(CT_BENCH_TRYLOCK_LIB, try_lib));
	if (!have_try)
		fprintf(stderr, "contend-bench: trylock shim not found; its column stays empty\n");
	have_fwd = dir_of_self_file("libforward-shim.so", fwd_lib, sizeof(fwd_lib)) ||
		   (CT_BENCH_FORWARD_LIB[0] && realpath(CT_BENCH_FORWARD_LIB, fwd_lib));

	const char *td = getenv("TMPDIR");
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/contend-bench.XXXXXX", td && *td ? td : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int c = 0; c < NCFG; c++)
		cfg_env[c] = make_env((enum cfg)c);

	/* Seconds per child and /bin/true runs per sample. */
	double s_unc = quick ? 0.1 : 0.3, s_cont = quick ? 0.15 : 0.3, s_count = quick ? 0.1 : 0.2,
	       s_hand = quick ? 0.15 : 0.3, s_timed = quick ? 0.1 : 0.2, s_cond = quick ? 0.1 : 0.2;
	int true_runs = quick ? 30 : 100;

	struct series unc[NCFG] = {0}, cont[NCFG] = {0}, cont_frac[NCFG] = {0}, hand[NCFG] = {0},
		      hand_frac[NCFG] = {0}, hand_out[NCFG] = {0}, timed[NCFG] = {0},
		      timed_frac[NCFG] = {0}, cond[NCFG] = {0}, hwm_unc[NCFG] = {0},
		      hwm_cont[NCFG] = {0}, rss_cont[NCFG] = {0}, hwm_hand[NCFG] = {0},
		      rss_hand[NCFG] = {0}, spawn[NCFG] = {0}, idle1[NCFG] = {0},
		      idleN[NCFG] = {0}, churn[NCFG] = {0};
	unsigned idle_n = quick ? 500 : 1000;
	static const enum cfg cfg_nt[] = {NATIVE, CT_DEFAULT, TRYLOCK};
	static const enum cfg cfg_ntf[] = {NATIVE, CT_DEFAULT, TRYLOCK, FORWARD};
	static const enum cfg cfg_nda[] = {NATIVE, CT_DEFAULT, CT_ALL};
	static const enum cfg cfg_ndat[] = {NATIVE, CT_DEFAULT, CT_ALL, TRYLOCK};

	int64_t t_start = now_ns();
	fprintf(stderr, "contend-bench: %d repetitions, %s run ", reps,
		quick ? "quick" : "default");
	/* Warm-up child, discarded: page cache, CPU frequency. */
	run_worker(NATIVE, "uncontended", 0.05, 1, 0);
	for (int rep = 0; rep < reps; rep++) {
		fprintf(stderr, ".");
		/* Odd repetitions run the configurations in reverse order, so a
		 * steady drift favours none of them. */
#define ORDER(i, n) (rep % 2 ? (n) - 1 - (i) : (i))
		for (size_t i = 0; i < 4 && want("uncontended"); i++) {
			enum cfg c = cfg_ntf[ORDER(i, 4)];
			if ((c == TRYLOCK && !have_try) || (c == FORWARD && !have_fwd))
				continue;
			struct child r = run_checked(c, "uncontended", s_unc, 1, 0, 1);
			if (r.ok) {
				add(&unc[c], rep, (double)r.elapsed_ns / (double)r.ops);
				add(&hwm_unc[c], rep, (double)r.hwm_kib);
			}
		}
		for (size_t i = 0; i < 4 && want("contended"); i++) {
			enum cfg c = cfg_ndat[ORDER(i, 4)];
			if (c == TRYLOCK && !have_try)
				continue;
			struct child r =
				run_checked(c, "contended", s_cont, threads, work, par_threads);
			if (r.ok) {
				add(&cont[c], rep,
				    (double)r.ops * 1e3 / (double)r.elapsed_ns); /* M/s */
				add(&hwm_cont[c], rep, (double)r.hwm_kib);
				add(&rss_cont[c], rep, (double)r.maxrss_kib);
			}
		}
		for (size_t i = 0; i < 2 && want("contended"); i++) {
			enum cfg c = cfg_nda[ORDER(i, 2)];
			struct child r = run_checked(c, "contended-count", s_count, threads, work,
						     par_threads);
			if (r.ok)
				add(&cont_frac[c], rep, (double)r.contended * 100 / (double)r.ops);
		}
		for (size_t i = 0; i < 3 && want("handoff"); i++) {
			enum cfg c = cfg_nda[ORDER(i, 3)];
			struct child r = run_worker(c, "handoff", s_hand, 2, 0);
			if (r.ok) {
				add(&hand[c], rep,
				    (double)r.elapsed_ns / (double)r.ops / 1e3); /* us */
				add(&hand_frac[c], rep, (double)r.contended / (double)r.ops);
				add(&hand_out[c], rep,
				    (double)(r.wall_ns - r.elapsed_ns) / 1e6); /* ms */
				add(&hwm_hand[c], rep, (double)r.hwm_kib);
				add(&rss_hand[c], rep, (double)r.maxrss_kib);
			}
		}
		for (size_t i = 0; i < 3 && want("timedlock"); i++) {
			enum cfg c = cfg_nda[ORDER(i, 3)];
			struct child r = run_checked(c, "timedlock", s_timed, 2, 0, 1);
			if (r.ok) {
				add(&timed[c], rep, (double)r.elapsed_ns / (double)r.ops);
				add(&timed_frac[c], rep, (double)r.contended / (double)r.ops);
			}
		}
		for (size_t i = 0; i < 3 && want("cond"); i++) {
			enum cfg c = cfg_nda[ORDER(i, 3)];
			struct child r = run_worker(c, "cond", s_cond, 2, 0);
			if (r.ok)
				add(&cond[c], rep,
				    (double)r.elapsed_ns / (double)r.ops / 1e3); /* us */
		}
		for (size_t i = 0; i < 2 && want("threads"); i++) {
			enum cfg c = cfg_nda[ORDER(i, 2)];
			struct child r = run_worker(c, "threads-idle", 1, 1, 1);
			if (r.ok)
				add(&idle1[c], rep, (double)r.hwm_kib);
			r = run_worker(c, "threads-idle", 1, 1, idle_n);
			if (r.ok)
				add(&idleN[c], rep, (double)r.hwm_kib);
			r = run_worker(c, "threads-churn", s_cond, 1, 0);
			if (r.ok)
				add(&churn[c], rep, (double)r.elapsed_ns / (double)r.ops / 1e3);
		}
		for (size_t i = 0; i < 3 && want("spawn"); i++) {
			enum cfg c = cfg_nt[ORDER(i, 3)];
			if (c == TRYLOCK && !have_try)
				continue;
			add(&spawn[c], rep, spawn_true(c, true_runs));
		}
	}
	double total_s = (double)(now_ns() - t_start) / 1e9;
	fprintf(stderr, " done in %.1f s\n", total_s);

	if (verbose) {
		const struct {
			const char *name;
			struct series *s;
		} all[] = {{"uncontended ns/pair", unc},
			   {"VmHWM KiB, uncontended", hwm_unc},
			   {"contended M acq/s", cont},
			   {"contended fraction", cont_frac},
			   {"handoff us", hand},
			   {"timedlock ns/call", timed},
			   {"cond round trip us", cond},
			   {"VmHWM KiB, contended", hwm_cont},
			   {"ru_maxrss KiB, handoff", rss_hand},
			   {"handoff start+exit ms", hand_out},
			   {"/bin/true us/run", spawn}};
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			for (int c = 0; c < NCFG; c++) {
				if (all[i].s[c].n == 0)
					continue;
				char l[96];
				snprintf(l, sizeof(l), "%s, %s", all[i].name, cfg_name[c]);
				dump_series(l, &all[i].s[c]);
			}
	}

	struct utsname u;
	uname(&u);
	struct rusage self_ru;
	getrusage(RUSAGE_SELF, &self_ru);

	printf("contend-bench: %ld CPUs, %s %s %s, glibc %s\n", ncpu, u.sysname, u.release,
	       u.machine, gnu_get_libc_version());
	printf(ROW_FMT, "measurement", "unit", "native", "libcontend", "ratio", "overhead",
	       "trylock", "ratio", "noise");
	char w[96];
	row_s("uncontended", "1 uncontended lock+unlock pair, 1 thread", "ns/pair", &unc[NATIVE],
	      &unc[CT_DEFAULT], &unc[TRYLOCK], false);
	snprintf(w, sizeof(w), "2 contended throughput, %u threads, default", threads);
	row_s("contended", w, "M acq/s", &cont[NATIVE], &cont[CT_DEFAULT], &cont[TRYLOCK], true);
	snprintf(w, sizeof(w), "2 contended throughput, %u threads, record all", threads);
	row_s("contended", w, "M acq/s", &cont[NATIVE], &cont[CT_ALL], NULL, true);
	row_s("contended", "2   acquisitions that found the lock held", "%", &cont_frac[NATIVE],
	      &cont_frac[CT_DEFAULT], NULL, false);
	row_s("handoff", "3 mutex handoff, every lock contended, default", "us/handoff",
	      &hand[NATIVE], &hand[CT_DEFAULT], NULL, false);
	row_s("handoff", "3 mutex handoff, every lock contended, record all", "us/handoff",
	      &hand[NATIVE], &hand[CT_ALL], NULL, false);
	/* Extra wall time per contended lock: the difference per handoff over
	 * the contended locks per handoff counted in the worker. */
	double hf = median(&hand_frac[CT_ALL]);
	if (want("handoff")) {
		struct series d = diffs(&hand[NATIVE], &hand[CT_ALL]);
		row_v("3   extra wall time per contended lock, record all", "ns/event", NAN,
		      median(&d) * 1e3 / (hf > 0 ? hf : 1), NAN, NAN, NAN, false, spread(&d));
	}
	row_s("timedlock", "3 timedlock, held mutex, past deadline, default", "ns/call",
	      &timed[NATIVE], &timed[CT_DEFAULT], NULL, false);
	row_s("timedlock", "3 timedlock, held mutex, past deadline, record all", "ns/call",
	      &timed[NATIVE], &timed[CT_ALL], NULL, false);
	double tf = median(&timed_frac[CT_ALL]);
	if (want("timedlock")) {
		struct series d = diffs(&timed[NATIVE], &timed[CT_ALL]);
		row_v("3   cost per block event recorded with a stack", "ns/event", NAN,
		      median(&d) / (tf > 0 ? tf : 1), NAN, NAN, NAN, false, spread(&d));
	}
	row_s("cond", "4 cond ping-pong round trip, default", "us/rt", &cond[NATIVE],
	      &cond[CT_DEFAULT], NULL, false);
	row_s("cond", "4 cond ping-pong round trip, record all", "us/rt", &cond[NATIVE],
	      &cond[CT_ALL], NULL, false);
	row_s("uncontended", "5 peak RSS in run (VmHWM), uncontended", "KiB", &hwm_unc[NATIVE],
	      &hwm_unc[CT_DEFAULT], &hwm_unc[TRYLOCK], false);
	row_s("contended", "5 peak RSS in run (VmHWM), contended, default", "KiB",
	      &hwm_cont[NATIVE], &hwm_cont[CT_DEFAULT], &hwm_cont[TRYLOCK], false);
	row_s("handoff", "5 peak RSS in run (VmHWM), handoff, record all", "KiB", &hwm_hand[NATIVE],
	      &hwm_hand[CT_ALL], NULL, false);
	row_s("contended", "5 ru_maxrss incl. exit dump, contended, default", "KiB",
	      &rss_cont[NATIVE], &rss_cont[CT_DEFAULT], &rss_cont[TRYLOCK], false);
	row_s("spawn", "6 start+exit of /bin/true (fork+exec+wait)", "us/run", &spawn[NATIVE],
	      &spawn[CT_DEFAULT], &spawn[TRYLOCK], false);
	row_s("handoff", "6 start+exit of handoff child, record all, +dump", "ms",
	      &hand_out[NATIVE], &hand_out[CT_ALL], NULL, false);
	snprintf(w, sizeof(w), "7 RSS with %u idle threads parked in read()", idle_n);
	row_s("threads", w, "KiB", &idleN[NATIVE], &idleN[CT_DEFAULT], NULL, false);
	if (want("threads")) {
		/* Per thread: what the shim adds to N threads, less what it
		 * adds to a process with one. */
		struct series dN = diffs(&idleN[NATIVE], &idleN[CT_DEFAULT]);
		struct series d1 = diffs(&idle1[NATIVE], &idle1[CT_DEFAULT]);
		row_v("7   shim memory per idle thread", "KiB/thread", NAN,
		      (median(&dN) - median(&d1)) / (idle_n - 1), NAN, NAN, NAN, false,
		      spread(&dN));
	}
	row_s("threads", "7 thread create+join, one at a time", "us/pair", &churn[NATIVE],
	      &churn[CT_DEFAULT], NULL, false);
	if (unc[FORWARD].n) {
		struct series fr = ratios(&unc[NATIVE], &unc[FORWARD]);
		printf("floor of any LD_PRELOAD wrapper: a shim that only forwards lock/unlock to "
		       "libc "
		       "(bench/forward_shim.c) takes %.3f ns/pair, ratio %.3f\n",
		       median(&unc[FORWARD]), median(&fr));
	}
	printf("checks:");
	if (hand_frac[CT_ALL].n)
		printf(" locks found held per handoff %.3f (want 1);", hf);
	if (timed_frac[CT_ALL].n)
		printf(" per timedlock call %.3f (want 1);", tf);
	printf(" %d children re-run for lack of CPUs (busy neighbours), %d samples dropped\n",
	       starved_reruns, starved_dropped);
	printf("note:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf(" | lib %s | median of %d children per cell, ratio = median of per-repetition "
	       "ratios, "
	       "noise = their spread without the outer quarters | %.2f/%.2f/%.2f/%.2f/%.2f s per "
	       "uncontended/contended/handoff/timedlock/cond child, %d x /bin/true per sample | "
	       "%u threads, work %u | default: CONTEND_* unset (mutex fraction 10, block rate "
	       "10000 "
	       "ns); record all: CONTEND_MUTEX_FRACTION=1 CONTEND_BLOCK_RATE=1 | ru_maxrss "
	       "includes "
	       "the driver's %ld KiB at fork | %.0f s\n",
	       ct_lib, reps, s_unc, s_cont, s_hand, s_timed, s_cond, true_runs, threads, work,
	       self_ru.ru_maxrss, total_s);
	fflush(stdout);

	nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
