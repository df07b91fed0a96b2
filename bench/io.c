/* contend-bench-io: what the I/O wrappers cost a call that does not block,
 * native vs preloaded, in one run. A benchmark, not a test.
 *
 *   build/bench/contend-bench-io [--lib PATH] [--reps N] [--quick]
 *   meson compile -C build bench-io
 *
 * Rows: a read() of one byte from a non-blocking pipe that has data (the
 * pipe is refilled outside the timed loop), a zero-timeout poll() of a
 * ready pipe (forwarded untimed), and the same poll() with a 1 s timeout
 * (timed, as any call that may block). Columns: native; LD_PRELOAD=libcontend.so with default
 * settings; the same with CONTEND_IO=0 (every I/O wrapper a plain
 * forward). Each cell is the median over --reps children (default 7), run
 * next to each other in every repetition, in reverse order every other
 * one. Whole-call times from separate processes drift by tens of percent
 * on a shared 2-vCPU machine, so "extra" is measured inside each worker:
 * the call through the PLT (the wrapper, when preloaded) against the same
 * call through a pointer to libc's own function, in alternating batches
 * of BATCH calls, median of the per-batch differences, less the same
 * difference in a native worker. Each worker checks that read() resolves
 * to the library it was meant to run under. */
#include <dlfcn.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { ROW_READ, ROW_POLL, ROW_POLL_TIMED, NROWS };
enum { COL_NATIVE, COL_SHIM, COL_SHIM_NOIO, NCOLS };
static const char *const row_names[NROWS] = {"read() of a ready pipe, 1 byte",
					     "poll() of a ready pipe, timeout 0",
					     "poll() of a ready pipe, timeout 1 s"};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BATCH 1000

/* Median of n doubles (sorts v). */
static double median(double *v, int n);

/* BATCH calls of row's function, read as rd(fd, c, 1) or poll as pl(pf)
 * with the row's timeout; exit(6) if one is not ready. A macro, so
 * that both halves of a pair keep their own kind of call: `read` through
 * the PLT, `libc_read` through its pointer. */
#define BATCH_OF(row, rd, pl, fd, c, pf)                                   \
	do {                                                               \
		if ((row) == ROW_READ) {                                   \
			for (int i_ = 0; i_ < BATCH; i_++)                 \
				if (rd((fd), (c), 1) != 1)                 \
					exit(6);                           \
		} else {                                                   \
			int tmo_ = (row) == ROW_POLL ? 0 : 1000;           \
			for (int i_ = 0; i_ < BATCH; i_++)                 \
				if (pl((pf), 1, tmo_) != 1)                \
					exit(6);                           \
		}                                                          \
	} while (0)

/* Worker: ns per call for row through the PLT (the wrapper when
 * preloaded) and through a pointer to libc's own function, in alternating
 * batches of BATCH calls so both see the same machine; prints the median
 * batch cost of each and the median of the per-pair differences. */
static void
work(int row, double seconds, const char *want_lib)
{
	Dl_info di;
	void *fn = dlsym(RTLD_DEFAULT, "read");
	if (!fn || !dladdr(fn, &di) || !di.dli_fname ||
	    (want_lib ? !strstr(di.dli_fname, want_lib) : !!strstr(di.dli_fname, "contend"))) {
		fprintf(stderr, "bench-io worker: read() resolves to %s\n",
			fn && di.dli_fname ? di.dli_fname : "?");
		exit(3);
	}
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	ssize_t (*libc_read)(int, void *, size_t) = libc ? dlsym(libc, "read") : NULL;
	int (*libc_poll)(struct pollfd *, nfds_t, int) = libc ? dlsym(libc, "poll") : NULL;
	if (!libc_read || !libc_poll)
		exit(4);
	int p[2];
	if (pipe(p) != 0)
		exit(4);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	char *fill = calloc(1, (size_t)cap);
	char c;
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	static double plt[200000], direct[200000], diff[200000];
	int n = 0, left = 0;
	double end = now_s() + seconds;
	while (now_s() < end && n < 200000) {
		if (left < 2 * BATCH) {
			while (libc_read(p[0], fill, (size_t)cap) > 0)
				;
			if (write(p[1], fill, (size_t)cap) != cap)
				exit(5);
			left = cap;
		}
		double t0 = now_s();
		BATCH_OF(row, read, poll, p[0], &c, &pf);
		double t1 = now_s();
		BATCH_OF(row, libc_read, libc_poll, p[0], &c, &pf);
		double t2 = now_s();
		left -= row == ROW_READ ? 2 * BATCH : 0;
		plt[n] = (t1 - t0) / BATCH * 1e9;
		direct[n] = (t2 - t1) / BATCH * 1e9;
		diff[n] = plt[n] - direct[n];
		n++;
	}
	printf("%.3f %.3f %.3f\n", median(plt, n), median(direct, n), median(diff, n));
}

static char outdir[64]; /* where preloaded workers may write profiles */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static const char *
default_lib(const char *argv0)
{
	static char path[4096];
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		snprintf(path, sizeof(path), "%.*s/../libcontend.so", (int)(slash - argv0), argv0);
		if (access(path, R_OK) == 0)
			return path;
	}
	return CT_BENCH_LIB;
}

/* Runs one worker child and reads its three figures (see work). */
static int
run_child(const char *self, int row, int col, const char *lib, double seconds, double out3[3])
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char rowa[8], seca[32], preload[4200], out[128];
		snprintf(rowa, sizeof(rowa), "%d", row);
		snprintf(seca, sizeof(seca), "%g", seconds);
		size_t n = 0;
		for (char **e = environ; *e; e++)
			n++;
		char **env = calloc(n + 8, sizeof(*env));
		size_t k = 0;
		for (char **e = environ; *e; e++)
			if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "CONTEND_", 8))
				env[k++] = *e;
		if (col != COL_NATIVE) {
			snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
			env[k++] = preload;
			env[k++] = "CONTEND_QUIET=1";
			snprintf(out, sizeof(out), "CONTEND_OUT=%s/%%p", outdir);
			env[k++] = out;
		}
		if (col == COL_SHIM_NOIO)
			env[k++] = "CONTEND_IO=0";
		dup2(p[1], 1);
		char *argv[] = {(char *)self, "--worker", rowa, seca,
				col == COL_NATIVE ? "-" : "libcontend", NULL};
		execve(self, argv, env);
		_exit(127);
	}
	close(p[1]);
	char buf[64] = {0};
	ssize_t got = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (got <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    sscanf(buf, "%lf %lf %lf", &out3[0], &out3[1], &out3[2]) != 3)
		return -1;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : -1;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--worker")) {
		const char *want = strcmp(argv[4], "-") ? argv[4] : NULL;
		work(atoi(argv[2]), strtod(argv[3], NULL), want);
		return 0;
	}
	const char *lib = default_lib(argv[0]);
	int reps = 7;
	double seconds = 0.4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lib") && i + 1 < argc)
			lib = argv[++i];
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quick"))
			reps = 3, seconds = 0.2;
		else {
			fprintf(stderr, "usage: %s [--lib PATH] [--reps N] [--quick]\n", argv[0]);
			return 2;
		}
	}
	if (reps < 1 || reps > 100)
		reps = 7;
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return 1;
	self[sl] = 0;
	snprintf(outdir, sizeof(outdir), "/tmp/contend-bench-io.XXXXXX");
	if (!mkdtemp(outdir))
		return 1;
	printf("contend-bench-io: %s, %d repetitions of %.1f s per cell\n", lib, reps, seconds);
	printf("%-34s %8s %10s %13s %8s %13s\n", "ns per call (median)", "native", "preloaded",
	       "CONTEND_IO=0", "extra", "extra (IO=0)");
	for (int row = 0; row < NROWS; row++) {
		double v[NCOLS][100], d[NCOLS][100];
		int n = 0;
		for (int r = 0; r < reps; r++) {
			double x[NCOLS][3];
			for (int j = 0; j < NCOLS; j++) {
				int col = r % 2 ? NCOLS - 1 - j : j;
				if (run_child(self, row, col, lib, seconds, x[col]) < 0) {
					fprintf(stderr, "contend-bench-io: a worker failed\n");
					return 1;
				}
			}
			for (int j = 0; j < NCOLS; j++) {
				v[j][n] = x[j][0];
				d[j][n] = x[j][2];
			}
			n++;
		}
		double m[NCOLS], e[NCOLS];
		for (int j = 0; j < NCOLS; j++) {
			m[j] = median(v[j], n);
			e[j] = median(d[j], n);
		}
		printf("%-34s %8.1f %10.1f %13.1f %+8.1f %+13.1f\n", row_names[row], m[0], m[1], m[2],
		       e[COL_SHIM] - e[COL_NATIVE], e[COL_SHIM_NOIO] - e[COL_NATIVE]);
	}
	printf("native/preloaded: whole calls, one process each, so noisy on a shared machine.\n"
	       "extra: in one process, the call through the PLT (our wrapper) minus the same\n"
	       "call through a pointer to libc's function, alternating batches of %d calls,\n"
	       "less the same difference in a native process.\n", BATCH);
	nftw(outdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
