/* Shared helpers of the integration tests: run a tests/progs program
 * (with or without LD_PRELOAD=$CONTEND_LIB, in a fresh temporary
 * directory), decode the pprof files it wrote, and sum sample values by
 * stack.
 *
 * The Criterion runner itself never has the shim preloaded: only the
 * exec'd program gets LD_PRELOAD. */
#ifndef CT_ITEST_HELPERS_H
#define CT_ITEST_HELPERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ */
/* Environment given by tests/meson.build (test_env). */

/* $name, or a Criterion failure if unset. */
const char *env_required(const char *name);
/* $CONTEND_BUILD_ROOT/tests/progs/<name> */
void prog_path(char *buf, size_t len, const char *name);

/* ------------------------------------------------------------------ */
/* Running a program. */

/* CONTEND_MUTEX_FRACTION=1 CONTEND_BLOCK_RATE=1: every event, exact. */
extern const char *const exact_env[];

struct run_opts {
	const char *prog;           /* name in tests/progs */
	const char *const *args;    /* NULL-terminated, may be NULL */
	const char *const *env;     /* extra "K=V", NULL-terminated, may be NULL */
	const char *const *env2;    /* more extra "K=V" (e.g. exact_env) */
	bool no_preload;            /* run without the shim */
	/* The environment variable naming the shim to preload: NULL is
	 * CONTEND_LIB; CONTEND_SEAMS_LIB is the test build with seams. */
	const char *lib_env;
	/* Another library to preload with the shim (a path), after it or,
	 * with also_first, before it. */
	const char *also_preload;
	bool also_first;
	/* CONTEND_OUT: NULL = "<tmp>/out"; otherwise a template relative to
	 * the temporary directory ("c.%p") or, with raw_out, the exact
	 * value (even an invalid one). */
	const char *out;
	bool raw_out;
	int timeout_s;              /* 0 = 60 */
};

struct run {
	char tmp[1024];        /* fresh directory, also the program's cwd */
	char outdir[PATH_MAX]; /* <tmp>/out (when opts.out was NULL) */
	pid_t pid;
	int status;            /* as from waitpid */
	bool timed_out;
	char *out, *err;       /* captured stdout and stderr, NUL-terminated */
};

/* Runs the program to completion (killing it after the time-out).
 * Environment: the runner's, minus LD_PRELOAD and CONTEND_*, plus
 * LD_PRELOAD=$CONTEND_LIB (unless no_preload), CONTEND_OUT and the
 * extras. Fails the test if it cannot start. */
void run_prog(struct run *r, const struct run_opts *o);
/* Runs a tool (argv[0] looked up in PATH) without the shim, capturing
 * its output the same way; 0 = 60 s time-out. */
void run_cmd(struct run *r, const char *const *argv, int timeout_s);
/* True if name is an executable in PATH. */
bool have_program(const char *name);
/* Removes the temporary directory and frees the captured output. */
void run_free(struct run *r);

/* The whole file, NUL-terminated and malloc'd (length in *len if not
 * NULL), or NULL if it cannot be read. */
char *read_file(const char *path, size_t *len);
/* Exit status, or -1 if the program did not exit normally. */
int run_exit_code(const struct run *r);
/* Asserts a normal exit with status 0, showing stderr otherwise. */
void run_expect_success(const struct run *r);
/* The integer after "key=" at the start of a stdout line (the first one
 * after the first line starting with `after`, if not NULL); fails the test
 * if absent. */
long long run_value(const struct run *r, const char *after, const char *key);
/* <tmp>/<sub>/<file>, or <outdir>/<file> when sub is NULL. */
void run_path(const struct run *r, const char *sub, const char *file, char *buf, size_t len);
bool path_exists(const char *path);
/* Number of lines in s. */
int count_lines(const char *s);
/* s with lines containing any of the NULL-terminated `skip` substrings
 * removed (malloc'd). */
char *filter_lines(const char *s, const char *const *skip);

/* ------------------------------------------------------------------ */
/* Decoded profiles. */

struct psample {
	size_t nframes;
	const char **frames; /* function names, leaf first, inline frames expanded */
	int64_t count, delay;
};

struct ct_profile;

struct profile {
	void *pb; /* Perftools__Profiles__Profile, owned by reader */
	struct ct_profile *reader; /* the one reader's view (report/pprof_read.h) */
	size_t nsamples;
	struct psample *samples;
	const char *type[2], *unit[2]; /* sample_type, NULL if absent */
	const char *period_type, *period_unit;
	int64_t period;
	size_t nsample_types;
};

/* Gunzips, decodes and checks path with the one pprof reader
 * (report/pprof_read.h). Returns false (with a Criterion failure message:
 * the reader's one-line reason) if it is missing, not gzip'd or not a
 * valid profile. */
bool profile_load(struct profile *p, const char *path);
/* run_path(r, sub, "<kind>.pb.gz") then profile_load. */
bool run_profile(const struct run *r, const char *sub, const char *kind, struct profile *p);
void profile_free(struct profile *p);
/* Prints the samples on stderr (for failed expectations). */
void profile_dump(const struct profile *p, const char *title);

/* A stack selector. A function name matches want if it is equal, or
 * starts with want followed by '(' (C++ names carry their parameters).
 * NULL fields match anything. */
struct stack_match {
	const char *leaf;     /* frames[0] */
	const char *next;     /* frames[1], the caller of the leaf */
	const char *contains; /* any frame */
	const char *excludes; /* no frame */
};

struct psum {
	int64_t count, delay;
	size_t samples;
};

struct psum profile_sum(const struct profile *p, const struct stack_match *m);
/* True if a Mapping's file name ends with "/<basename>". */
bool profile_has_mapping(const struct profile *p, const char *basename);
bool frame_matches(const char *name, const char *want);

/* Criterion expectation lo*ref <= got <= hi*ref, described by fmt, and
 * dumping p (if not NULL) when it fails.
 *
 * The bands for a recorded wait, which must hold however slowly a loaded
 * machine runs the program:
 *  - against what the program asked for (a hold, a sleep, a time-out):
 *    at least BAND_ASKED_LO of it (sleeps only overrun; the margin is the
 *    tick clock's) and at most BAND_ASKED_HI times it, which only catches
 *    unit errors: under load a 2 x 50 ms x 2 hold has taken 2.4 times
 *    that;
 *  - against what the program measured around its own call: at most a
 *    little more (the wrapper's interval lies inside the measured one;
 *    the callers' upper bounds, 1.02 to 1.05), and no lower bound
 *    (BAND_MEASURED_LO): time the program spent preempted just outside
 *    the wrapper, or in the shim's first-use set-up, is in its
 *    measurement only (0.85 seen for one 50 ms nanosleep, 0.5 for a
 *    holder under load). The lower bound is the one against what was
 *    asked, which the programs make hold by construction (a holder
 *    starts its hold once its waiters are blocked). */
#define BAND_ASKED_LO 0.8
#define BAND_ASKED_HI 10.0
#define BAND_MEASURED_LO 0.0
void expect_ratio(const struct profile *p, double got, double ref, double lo, double hi,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Criterion runs every test in a freshly exec'd process, where pointers
 * in parameters would dangle: a parameterized test gets an index into a
 * static table instead. Use as the body of ParameterizedTestParameters. */
#define INDEX_PARAMS(table)                                                            \
	do {                                                                           \
		static size_t idx_[sizeof(table) / sizeof((table)[0])];                \
		for (size_t i_ = 0; i_ < sizeof(idx_) / sizeof(idx_[0]); i_++)         \
			idx_[i_] = i_;                                                 \
		return cr_make_param_array(size_t, idx_, sizeof(idx_) / sizeof(idx_[0])); \
	} while (0)

#endif
