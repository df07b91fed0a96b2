/* Workload "spawn": fork+exec+wait of /bin/true, many runs a sample; us
 * per run. No worker: the driver times the children itself. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int
spawn_runs(void)
{
	return bench.quick ? 30 : 100;
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
		pid_t pid = fork_or_die(1);
		if (pid == 0) {
			execve(prog, argv, bench.cfg_env[c]);
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

static struct series spawn[NCFG];

static void
measure(int rep)
{
	static const enum cfg cfgs[] = {NATIVE, CT_DEFAULT, TRYLOCK};
	for (size_t i = 0; i < 3; i++) {
		enum cfg c = cfg_at(cfgs, 3, i, rep);
		if (cfg_available(c))
			add(&spawn[c], rep, spawn_true(c, spawn_runs()));
	}
}

static void
rows(void)
{
	dump_series("/bin/true us/run", spawn);
	row_s(60, "6 start+exit of /bin/true (fork+exec+wait)", "us/run", &spawn[NATIVE],
	      &spawn[CT_DEFAULT], &spawn[TRYLOCK], false);
}

const struct workload wl_spawn = {
	.group = "spawn",
	.measure = measure, .rows = rows,
};
