/* Helpers of the contend CLI tests: run a command (contend, go, chromium)
 * with its stdin, stdout and stderr captured and a time-out, temporary
 * directories, files, and hand-built profiles for the error cases.
 *
 * The Criterion runner never has libcontend preloaded; `contend run`
 * preloads it into the programs it starts (CONTEND_LIB from meson). */
#ifndef CT_TCLI_HELPERS_H
#define CT_TCLI_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* $CONTEND_BUILD_ROOT/contend, $CONTEND_SOURCE_ROOT/..., fixtures. */
const char *contend_bin(void);
void source_path(char *buf, size_t len, const char *rel);
void build_path(char *buf, size_t len, const char *rel);
bool have_program(const char *name);

/* A fresh directory under $TMPDIR (or /tmp); removed by tmpdir_remove. */
void tmpdir_make(char *buf, size_t len);
void tmpdir_remove(const char *dir);

char *read_file(const char *path, size_t *len);
void write_file(const char *path, const void *data, size_t len);
/* gzip-compresses data (one member). */
void *gzip_bytes(const void *data, size_t len, size_t *outlen);

/* Number of lines in s (a last line without '\n' counts). */
int count_lines(const char *s);

/* Hand-built profiles (gzip'd), for the error cases and the corpus:
 * a valid two-sample profile with an inline frame, or one broken in a
 * single way. */
enum bad_profile {
	PROFILE_GOOD,
	PROFILE_EMPTY,            /* valid, sample types but no samples */
	PROFILE_DANGLING_LOCATION,
	PROFILE_DANGLING_FUNCTION,
	PROFILE_DANGLING_MAPPING,
	PROFILE_BAD_STRING_INDEX,
	PROFILE_VALUE_COUNT,      /* a sample with too few values */
};
void *make_profile(enum bad_profile kind, size_t *len);

/* Large profiles of one shape each (gzip'd), for the reader's and the
 * views' cost: n is the number of labels, samples or frames. */
enum profile_shape {
	SHAPE_LABEL_KEYS,    /* one sample, n string labels with distinct keys */
	SHAPE_LABEL_VALUES,  /* one sample, n string labels of one key */
	SHAPE_NUM_LABELS,    /* one sample, n numeric labels with distinct keys */
	SHAPE_SAMPLES,       /* n samples, each its own location and function */
	SHAPE_SAME_STACK,    /* n samples of one stack (all merged) */
	SHAPE_DEEP,          /* one sample n frames deep, distinct functions */
	SHAPE_RECURSIVE,     /* one sample n frames deep, all one function */
	SHAPE_COUNT
};
extern const char *const profile_shape_names[SHAPE_COUNT];
void *make_shape_profile(enum profile_shape shape, size_t n, size_t *len);

#endif
