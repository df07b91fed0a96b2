/* Thread dumps: threads.pb.gz (count profile threads/count, one sample per
 * distinct stack and labels), threads.txt (Go's goroutine?debug=2 style)
 * and threadcreate.pb.gz, from the thread part of a snapshot.
 * Off the hot path; allocates; not re-entrant. */
#ifndef CT_REPORT_THREADS_H
#define CT_REPORT_THREADS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/snapshot.h"

/* name "threads"/"goroutine" (debug 0 = gzip'd protobuf, 1 = count text,
 * 2 = threads.txt) or "threadcreate" (debug 0 or 1). *out malloc'ed.
 * 0, -ENOENT (unknown name), -EINVAL (debug) or -errno. */
int ct_threads_render(const struct ct_snapshot *snap, const char *name, int debug, uint8_t **out,
		      size_t *outlen);

struct ct_maps;
struct ct_symbolizer;
struct ct_gzout;

/* Writes threads<suffix>.txt, threads<suffix>.pb.gz and
 * threadcreate<suffix>.pb.gz through w (each tried even when another
 * failed), and when summary is not NULL prints the deadlocks, stuck
 * threads and leaks there too (stderr at exit). 0 or the first -errno;
 * each failure is a line in w's messages. */
int ct_threads_write(const struct ct_snapshot *snap, struct ct_gzout *w, FILE *summary,
		     struct ct_maps *maps, struct ct_symbolizer *sym);

/* Opens and closes the thread dump's text stream (buf.h ct_buf_fopen)
 * once, before a fork: the C library's calls it makes for itself through
 * its own PLT (fopencookie's malloc, say) are bound then, by the dynamic
 * loader, for every child, not looked up in each child's exit dump (a
 * lookup through every object of a PostgreSQL backend, about 70, costs
 * about 0.3 ms of CPU on a VM). Allocates. */
void ct_threads_warm_text(void);

#endif
