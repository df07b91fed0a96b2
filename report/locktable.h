/* The per-lock table of a locks profile (report/locks.h): what
 * `contend locks` prints and /debug/pprof/locks?debug=1 (table) or
 * ?debug=2 (JSON lines) serves.
 *
 * One row per lock name, sorted by total wait (descending, then name):
 * kind, contentions, total wait, average, p50, p99 and max wait, hold
 * total and max where holds were measured, the top holder sites (the
 * unlocks that made others wait) and the top waiter sites. Percentiles
 * come from the fixed log-scale histogram (4 buckets per power of two,
 * linear inside a bucket, never above the max seen), so they are
 * estimates within a bucket's width (19 %); each row says how many
 * recorded events it rests on.
 *
 * JSON: one object per line with lock, kind, named_by, objects,
 * contentions, wait_ns, avg_ns, p50_ns, p99_ns, max_ns, events; hold_count,
 * hold_ns, hold_max_ns, hold_p50_ns, hold_p99_ns, hold_events when holds
 * were measured; mutex for a condvar; waiters and holders (arrays of
 * {site, contentions, wait_ns|delay_ns}).
 *
 * No global state; allocates; not async-signal-safe. */
#ifndef CT_REPORT_LOCKTABLE_H
#define CT_REPORT_LOCKTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ct_profile;

/* Writes the table (or JSON lines) of p to out. Returns 0, or -1 with a
 * one-line reason in err (p is not a locks profile). */
int ct_locktable_print(FILE *out, const struct ct_profile *p, bool json, char *err,
		       size_t errlen);

/* The max heaviest locks of p, one line each (total wait, name, kind,
 * waits, p50, p99, max), for `contend run`'s summary. Returns how many,
 * or -1 with a one-line reason in err. */
int ct_locktable_summary(FILE *out, const struct ct_profile *p, size_t max, char *err,
			 size_t errlen);

/* The same from an encoded (gzip'd or raw) locks profile, into a malloc'd
 * buffer. 0, -EINVAL (not a locks profile) or -ENOMEM. */
int ct_locktable_render_pb(const void *data, size_t len, bool json, uint8_t **out,
			   size_t *outlen);

/* Whether path is a system header (/usr/include/..., GCC's own): a site's
 * frames inlined from there do not name it (report/locknames.c names
 * creation sites the same way). Pure. */
bool ct_locktable_system_file(const char *path);

#endif
