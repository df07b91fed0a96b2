/* The short report `contend run` prints when the program ends: the
 * heaviest sites of a profile, each named by its first frame outside libc
 * and the threading runtimes (function, file:line) and the call it waited
 * in. Not thread-safe; allocates. */
#ifndef CT_CLI_SUMMARY_H
#define CT_CLI_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../report/pprof_read.h"

struct ct_site {
	const char *function; /* first frame outside libc/runtime, else the leaf */
	const char *file;     /* "" if unknown */
	int64_t line;
	const char *leaf;     /* the call that waited or released (frame 0) */
	int64_t value;
};

/* The first frame of a sample outside libc, the loader, the C++ runtime,
 * libcontend and Go's runtime/sync packages (else the leaf): its
 * function, file and line. False if the sample has no symbolized frame
 * (the outputs are then untouched). */
bool ct_summary_frame(const struct ct_psample *s, const char **fn, const char **file, int64_t *line);

/* The sites of sample value vidx, heaviest first, ties by name. *sites
 * points into p (strings) and must be freed. Returns the count, or -1 on
 * allocation failure. */
long ct_summary_sites(const struct ct_profile *p, size_t vidx, struct ct_site **sites);

/* Prints up to max sites of the profile at path under the title, one per
 * line: value, function, file:line (relative to the current directory
 * when inside it), and the call. Prints nothing if the file is missing;
 * a one-line note if it cannot be read. Returns the number printed. */
int ct_summary_print(FILE *out, const char *path, const char *title, size_t max);

#endif
