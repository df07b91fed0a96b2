/* The views of `contend` over a loaded profile. Each writes its whole
 * output to `out` and returns 0, or -1 with a one-line reason in err
 * (nothing useful is written then: callers render into memory first).
 * None of them keeps state; all allocate; none is thread-safe. */
#ifndef CT_CLI_COMMANDS_H
#define CT_CLI_COMMANDS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../report/pprof_read.h"

/* `go tool pprof -top [-nodecount=N] [-cum] [-sample_index=...]`. */
int ct_top_print(FILE *out, const struct ct_profile *p, size_t vidx, size_t node_count, bool cum,
		 char *err, size_t errlen);

/* `go tool pprof -peek REGEX`: callers and callees of matching nodes. */
int ct_peek_print(FILE *out, const struct ct_profile *p, size_t vidx, const regex_t *rx,
		  const char *rxsrc, char *err, size_t errlen);

/* `go tool pprof -list REGEX`: annotated source of matching functions,
 * read from Function.filename (relative names are searched from the
 * current directory upwards, as pprof does). */
int ct_list_print(FILE *out, const struct ct_profile *p, size_t vidx, const regex_t *rx,
		  const char *rxsrc, char *err, size_t errlen);

/* `go tool pprof -traces`: every sample (merged like pprof does). */
int ct_traces_print(FILE *out, const struct ct_profile *p, size_t vidx, char *err, size_t errlen);

/* A self-contained flame graph of sample value vidx: SVG, or HTML with the
 * SVG inline plus a little script for zoom and search. No network. */
int ct_flame_write(FILE *out, const struct ct_profile *p, size_t vidx, bool html, const char *title,
		   char *err, size_t errlen);

#endif
