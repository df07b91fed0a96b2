/* Shared by the contend subcommands (main.c, run.c, threadview.c).
 * Messages go to stderr as one line: "contend: what was wrong (what is
 * accepted)". Not thread-safe (getopt state, stdio). */
#ifndef CT_CLI_CLI_H
#define CT_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "../report/pprof_read.h"

/* `contend locks` (locks.c). */
int ct_cli_locks_main(int argc, char **argv);

/* Prints the usage of a subcommand (main.c). */
void ct_main_usage(const char *cmd, FILE *out);

/* "contend CMD: <message> (see contend CMD --help)"; returns 2. */
int ct_cli_bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "contend: <message>"; returns 1. */
int ct_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A decimal integer 0..max, digits only. 0 or -1. */
int ct_cli_parse_count(const char *s, uint64_t max, uint64_t *out);

/* Reads fd to its end into a malloc'd buffer with a NUL after the *len
 * bytes read. 0; -EFBIG once max bytes were read, or -ENOMEM (then *out
 * is NULL); or, when a read fails, its -errno, with what was read before
 * in *out (the caller frees it either way). */
int ct_cli_read_all(int fd, size_t max, char **out, size_t *len);

/* Loads a profile; on failure prints "contend: PATH: reason" and returns 1. */
int ct_cli_load(const char *path, struct ct_profile **p);

/* `contend run` (run.c) and `contend threads` (threadview.c): exit status. */
int ct_run_main(int argc, char **argv);
int ct_threadview_main(const char *path);

#endif
