/* Running a command (contend, go, chromium) with its stdin, stdout and
 * stderr on pipes and a time-out: what the CLI tests (tests/cli) check a
 * command's output with. Paths, files, temporary directories and
 * hand-built profiles: testlib.h, testprof.h.
 *
 * The Criterion runner never has libcontend preloaded; `contend run`
 * preloads it into the programs it starts (CONTEND_LIB from meson). */
#ifndef CT_TESTCMD_H
#define CT_TESTCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testlib.h"
#include "testprof.h"

struct cmd {
	pid_t pid;
	int in, out, err; /* our ends of the pipes, -1 when closed */
	int status;       /* as from waitpid */
	bool timed_out;
	char *stdout_text, *stderr_text;
	size_t stdout_len, stderr_len;
};

struct cmd_opts {
	const char *cwd;            /* NULL = the runner's */
	const char *input;          /* written to stdin, then closed; NULL = empty */
	size_t input_len;
	const char *const *env;     /* extra "K=V", NULL-terminated */
	bool own_group;             /* setpgid(0, 0): a foreground group of its own */
	int timeout_s;              /* 0 = 60 */
};

/* Starts argv (argv[0] looked up in PATH unless it has a slash). */
void cmd_start(struct cmd *c, const char *const *argv, const struct cmd_opts *o);
/* Feeds stdin, collects stdout/stderr until exit (killing the process
 * group after the time-out), and reaps. */
void cmd_finish(struct cmd *c, int timeout_s);
/* cmd_start + cmd_finish. */
void cmd_run(struct cmd *c, const char *const *argv, const struct cmd_opts *o);
void cmd_free(struct cmd *c);
/* Exit code, or -1 if it did not exit normally. */
int cmd_exit_code(const struct cmd *c);

#endif
