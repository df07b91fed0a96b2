/* Thread dumps: threads.pb.gz (count profile threads/count, one sample per
 * distinct stack and labels), threads.txt (Go's goroutine?debug=2 style)
 * and threadcreate.pb.gz, from the thread part of a snapshot.
 * Off the hot path; allocates; not re-entrant. */
#ifndef CT_REPORT_THREADS_H
#define CT_REPORT_THREADS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/snapshot.h"

/* name "threads"/"goroutine" (debug 0 = gzip'd protobuf, 1 = count text,
 * 2 = threads.txt) or "threadcreate" (debug 0 or 1). *out malloc'ed.
 * 0, -ENOENT (unknown name), -EINVAL (debug) or -errno. */
int ct_threads_render(const struct ct_snapshot *snap, const char *name, int debug, uint8_t **out,
		      size_t *outlen);

#endif
