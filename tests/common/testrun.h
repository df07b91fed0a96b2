/* Running a tests/progs program the way the integration tests
 * (tests/integration) do: with or without LD_PRELOAD=$CONTEND_LIB, in a
 * fresh temporary directory, its output captured in files there (readable
 * while it runs), and finding the pprof files it wrote. Decoding and
 * summing profiles, paths, files and temporary directories: testprof.h,
 * testlib.h.
 *
 * The Criterion runner itself never has the shim preloaded: only the
 * exec'd program gets LD_PRELOAD. */
#ifndef CT_TESTRUN_H
#define CT_TESTRUN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testlib.h"
#include "testprof.h"

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
	/* run_start: stdin is a pipe whose write end is run.stdin_fd (closing
	 * it is the program's cue to finish), not /dev/null. */
	bool stdin_pipe;
	int nofile;                 /* RLIMIT_NOFILE, 0 = inherit */
	long fsize;                 /* RLIMIT_FSIZE in bytes, 0 = inherit */
	/* stderr is a pipe whose read end is closed (a log reader that
	 * died, `prog 2>&1 | head` after head exited): run.err stays empty. */
	bool stderr_broken;
};

struct run {
	char tmp[1024];        /* fresh directory, also the program's cwd */
	char outdir[PATH_MAX]; /* <tmp>/out (when opts.out was NULL) */
	char prog[PATH_MAX];   /* the program's path (run_start) */
	const char *path;      /* what was executed, for messages */
	/* Its stdout and stderr, growing while it runs. */
	char outpath[PATH_MAX + 16], errpath[PATH_MAX + 16];
	pid_t pid;
	int stdin_fd;          /* with stdin_pipe, until run_wait; else -1 */
	int status;            /* as from waitpid */
	bool timed_out;
	char *out, *err;       /* captured stdout and stderr, NUL-terminated */
};

/* Runs the program to completion (killing it after the time-out).
 * Environment: the runner's, minus LD_PRELOAD and CONTEND_*, plus
 * LD_PRELOAD=$CONTEND_LIB (unless no_preload), CONTEND_OUT and the
 * extras. Fails the test if it cannot start. */
void run_prog(struct run *r, const struct run_opts *o);
/* run_prog in two halves: starts the program in the background, then
 * (closing stdin_fd first) waits for it, killing it after the time-out
 * (0 = 60 s), and reads its output; fails the test if it timed out or
 * could not be executed. */
void run_start(struct run *r, const struct run_opts *o);
void run_wait(struct run *r, int timeout_s);
/* A TCP connection to 127.0.0.1:port (close-on-exec), or -1. */
int connect_port(int port);
/* The port of the shim's "serving /debug/pprof/ on http://HOST:PORT/ (pid
 * PID)" line for pid (0: the first such line) in err, or 0. */
int served_port(const char *err, pid_t pid);
/* For a program started by run_start: waits (bounded, 60 s: a loaded
 * machine may take a while) until it printed "ready=1" on stdout and,
 * with http, the shim's serving line on stderr; returns the port (0
 * without http). Fails the test if it exits or never gets there. */
int run_await_serving(struct run *r, bool http);
/* Runs a tool (argv[0] looked up in PATH) without the shim, capturing
 * its output the same way; 0 = 60 s time-out. */
void run_cmd(struct run *r, const char *const *argv, int timeout_s);
/* Removes the temporary directory and frees the captured output. */
void run_free(struct run *r);

/* Exit status, or -1 if the program did not exit normally. */
int run_exit_code(const struct run *r);
/* Asserts a normal exit with status 0, showing stderr otherwise. */
void run_expect_success(const struct run *r);
/* run_prog, then run_expect_success: a run that must succeed. */
void run_ok(struct run *r, const struct run_opts *o);
/* The integer after "key=" at the start of a stdout line (the first one
 * after the first line starting with `after`, if not NULL); fails the test
 * if absent. */
long long run_value(const struct run *r, const char *after, const char *key);
/* <tmp>/<sub>/<file>, or <outdir>/<file> when sub is NULL. */
void run_path(const struct run *r, const char *sub, const char *file, char *buf, size_t len);

/* A scenario run with every event recorded (exact_env): the program's
 * own expected_ns= and waited_ns= lines (the first after a line starting
 * with `after`, if not NULL) and its mutex and block profiles. Fails the
 * test if it did not exit 0 or wrote no profiles; what names the case. */
struct measured {
	struct run r;
	struct profile mutex, block;
	double expected, waited;
};
void measured_run(struct measured *m, const struct run_opts *o, const char *after,
		  const char *what);
void measured_free(struct measured *m);

/* run_path(r, sub, "<kind>.pb.gz") then profile_load. */
bool run_profile(const struct run *r, const char *sub, const char *kind, struct profile *p);

#endif
