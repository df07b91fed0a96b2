/* Thread dumps for `contend threads` and the `contend run` summary:
 * threads.pb.gz (a count profile, sample type threads/count, one sample
 * per distinct stack and labels such as state and wait; Go goroutine
 * profiles read the same way) or threads.txt (goroutine?debug=2-style
 * text blocks, "deadlock:" reports). Threads are grouped by stack;
 * deadlocks come first, then threads blocked behind a held lock (label
 * held_by, or "held by thread" in the header), stuck ones, the largest
 * groups, and idle ones (parked for work: label idle=yes, or ", idle]")
 * last.
 * Not thread-safe; allocates. */
#ifndef CT_CLI_THREADVIEW_H
#define CT_CLI_THREADVIEW_H

#include <stdio.h>

/* Prints the dump at path: a directory (its most recent thread dump, by
 * modification time: threads.pb.gz or threads.txt, a pid-qualified
 * threads.pid<PID>.pb.gz, a numbered snapshot threads.0001.pb.gz ...) or
 * one of those files. Returns 0, or -1 with a one-line reason in err (no
 * dump there, unreadable file). */
int ct_threadview_print(FILE *out, const char *path, char *err, size_t errlen);

/* Prints the dump <dir>/<stem>.pb.gz (with <stem>.txt's reports) or
 * <dir>/<stem>.txt; stem is e.g. "threads.pid4242.0003". As above. */
int ct_threadview_print_stem(FILE *out, const char *dir, const char *stem, char *err,
			     size_t errlen);

/* Prints on stdout, whole or not at all, the dump at path (stem NULL:
 * as ct_threadview_print) or <path>/<stem> (as ct_threadview_print_stem).
 * The exit status: 0, or 1 with the error said on stderr. */
int ct_threadview_show(const char *path, const char *stem);

/* The stem of a thread dump's file name ("threads.pid42.0001" for
 * "threads.pid42.0001.txt"): threads[.pid<N>][.<seq>] and .txt or .pb.gz.
 * 0, or -1 if name is not one (or longer than len - 1). */
int ct_threadview_stem(const char *name, char *stem, size_t len);

/* The same for a dump in memory: a count profile (gzip'd or raw) if it
 * decodes as one, else threads.txt text. For tests and the fuzzer. */
int ct_threadview_print_data(FILE *out, const void *data, size_t len, char *err, size_t errlen);

/* For the run summary: stuck threads and deadlocks from the dump in dir,
 * a few lines; prints nothing when there is no dump or nothing stuck. */
void ct_threadview_summary(FILE *out, const char *dir);

#endif
