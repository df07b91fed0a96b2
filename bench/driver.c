/* contend-bench's driver side: one child per cell (a worker kind under a
 * configuration), its line read back and checked, starved children run
 * again. Single-threaded; exits on errors that make the run meaningless
 * (a preload that did not take effect, fork failing). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

const char *const cfg_name[NCFG] = {"native", "libcontend", "libcontend (record all)",
				    "trylock shim", "forwarding shim"};

struct bench bench = {.threads = 2, .work = 30};

double
secs_for(double d, double q)
{
	return bench.quick ? q : d;
}

double
wl_secs(const struct workload *w)
{
	return secs_for(w->secs, w->quick_secs);
}

double
ns_per_op(const struct child *r)
{
	return (double)r->elapsed_ns / (double)r->ops;
}

double
us_per_op(const struct child *r)
{
	return ns_per_op(r) / 1e3;
}

double
cpu_us_per_op(const struct child *r)
{
	return r->par * us_per_op(r);
}

double
mops_per_s(const struct child *r)
{
	return (double)r->ops * 1e3 / (double)r->elapsed_ns;
}

bool
cfg_available(enum cfg c)
{
	return !(c == TRYLOCK && !bench.have_try) && !(c == FORWARD && !bench.have_fwd);
}

enum cfg
cfg_at(const enum cfg *cfgs, size_t n, size_t i, int rep)
{
	return cfgs[rep % 2 ? n - 1 - i : i];
}

void
die_errno(const char *what, int status)
{
	perror(what);
	exit(status);
}

pid_t
fork_or_die(int status)
{
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork", status);
	return pid;
}

void
read_all(int fd, char *out, size_t size)
{
	size_t len = 0;
	ssize_t m;
	while (len < size - 1 && (m = read(fd, out + len, size - 1 - len)) != 0) {
		if (m < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)m;
	}
	out[len] = 0;
}

/* The preload must have taken effect, and only then: prov is the object
 * the worker's pthread_mutex_lock came from. */
static void
check_provider(enum cfg c, const char *kind, const char *prov)
{
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
}

static pid_t
start_worker(enum cfg c, const char *kind, double secs, unsigned threads, unsigned work,
	     int *fd, int64_t *t0)
{
	char a_secs[32], a_thr[16], a_work[16];
	snprintf(a_secs, sizeof(a_secs), "%.3f", secs);
	snprintf(a_thr, sizeof(a_thr), "%u", threads);
	snprintf(a_work, sizeof(a_work), "%u", work);
	char *argv[] = {"contend-bench", "--worker", (char *)kind, a_secs, a_thr, a_work, NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("pipe", 1);
	fflush(NULL);
	*t0 = now_ns();
	pid_t pid = fork_or_die(1);
	if (pid == 0) {
		dup2(p[1], 1);
		execve(bench.self_exe, argv, bench.cfg_env[c]);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

struct child
run_worker(enum cfg c, const char *kind, double secs, unsigned threads, unsigned work)
{
	struct child r = {0};
	int fd;
	int64_t t0;
	pid_t pid = start_worker(c, kind, secs, threads, work, &fd, &t0);
	char out[512];
	read_all(fd, out, sizeof(out));
	close(fd);
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
	check_provider(c, kind, prov);
	r.elapsed_ns = el;
	r.ops = ops;
	r.contended = cont;
	r.hwm_kib = hwm;
	r.par = par;
	r.ok = true;
	return r;
}

/* A child is only comparable when it had the CPUs it asked for: on a
 * shared 2-vCPU machine a busy neighbour (a test suite, a compile) often
 * leaves us one, and then a single-threaded loop is time-sliced and two
 * contending threads take turns, nothing is contended and the throughput
 * jumps by a third. The worker reports its threads' CPU time over the wall
 * time; below 85 % of what was expected the child is run once more after a
 * pause, and if it is starved again its sample is dropped (kept, and
 * counted, with --keep-starved: on a machine that never leaves us the
 * CPUs, every sample of a row would go). Re-runs are capped
 * (rerun_budget) so a busy machine cannot stretch the run much. */
struct child
run_checked(enum cfg c, const char *kind, double secs, unsigned threads, unsigned work,
	    double expect)
{
	struct child r = {0};
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0) {
			if (bench.starved_reruns >= bench.rerun_budget)
				break;
			bench.starved_reruns++;
			struct timespec pause = {0, 100 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
		r = run_worker(c, kind, secs, threads, work);
		if (!r.ok || r.par >= 0.85 * expect)
			return r;
		if (bench.verbose)
			fprintf(stderr, "[%s/%s: %.2f of %.0f CPUs]", kind, cfg_name[c], r.par,
				expect);
	}
	if (bench.keep_starved && r.ok) {
		bench.starved_kept++;
		return r;
	}
	bench.starved_dropped++;
	r.ok = false;
	return r;
}

struct child
run_cell(enum cfg c, const struct cell *cell)
{
	if (cell->expect > 0)
		return run_checked(c, cell->kind, cell->secs, cell->threads, cell->work,
				   cell->expect);
	return run_worker(c, cell->kind, cell->secs, cell->threads, cell->work);
}

void
run_cells(int rep, const enum cfg *cfgs, size_t n, const struct cell *cell,
	  void (*collect)(enum cfg c, int rep, const struct child *r))
{
	for (size_t i = 0; i < n; i++) {
		enum cfg c = cfg_at(cfgs, n, i, rep);
		if (!cfg_available(c))
			continue;
		struct child r = run_cell(c, cell);
		if (r.ok)
			collect(c, rep, &r);
	}
}

void
wl_measure(const struct workload *w, int rep)
{
	if (w->measure) {
		w->measure(rep);
		return;
	}
	struct cell cell = {w->workers[0].kind, wl_secs(w), w->threads, w->work, w->expect};
	if (w->threads == 0) {
		cell.threads = bench.threads;
		cell.work = bench.work;
	}
	if (w->expect == EXPECT_THREADS)
		cell.expect = bench.par_threads;
	size_t n = 1;
	while (n < NCFG && w->cfgs[n] != NATIVE)
		n++;
	run_cells(rep, w->cfgs, n, &cell, w->collect);
}
