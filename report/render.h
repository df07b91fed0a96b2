/* In-memory rendering helpers behind ct_report_render (report.h) and the
 * /debug/pprof endpoint: delta profiles and Go's legacy text format.
 *
 * Off the hot path (dumper thread, tests). Allocates. Not async-signal-
 * safe. Not re-entrant with respect to a shared symbolizer. */
#ifndef CT_REPORT_RENDER_H
#define CT_REPORT_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/snapshot.h"
#include "buf.h" /* struct ct_buf, for the callers of the renderers */

struct ct_symbolizer;

/* out = later - earlier for profile kind, like net/http/pprof's
 * ?seconds=N (p1 merged with p0 scaled by -1): records are matched by op
 * and stack, and a record whose count and delay are both unchanged is
 * dropped. Records of earlier that later lacks (a table reset) are
 * dropped too rather than shown negative. out covers only kind (the
 * other profiles are empty, no threads); its time_nanos is the wall time
 * of later and duration_nanos the time between the two. out is freed
 * with ct_snapshot_free. 0, -EINVAL or -ENOMEM. */
int ct_render_delta(const struct ct_snapshot *earlier, const struct ct_snapshot *later,
		    enum ct_profile_kind kind, struct ct_snapshot *out);

/* Go's debug=1 text for mutex ("--- mutex:") or block ("--- contention:"),
 * which pprof's legacy parser reads (pprof-format.md §6): records as
 * "<delay ns> <count> @ <return addresses>", sorted by delay, with
 * cycles/second=1000000000 and, for mutex, "sampling period=1" because
 * the values are already scaled (printing the fraction would make pprof
 * scale them twice). sym may be NULL (no "#" source lines). *out is
 * malloc'ed and NUL-terminated (*outlen excludes the NUL). */
int ct_render_legacy(const struct ct_snapshot *snap, enum ct_profile_kind kind,
		     struct ct_symbolizer *sym, uint8_t **out, size_t *outlen);

/* Go's debug=1 text of a count profile (goroutine, threadcreate): from
 * the gzip'd protobuf gz, "<name> profile: total N" then one group per
 * sample ("<count> @ <return addresses>", "# labels: {...}", one "#" line
 * per frame), which pprof's legacy parser reads. */
int ct_render_count_text(const char *name, const uint8_t *gz, size_t gzlen, uint8_t **out,
			 size_t *outlen);

/* Delta of two gzip'd profiles of the same type (gz1 minus gz0), as
 * net/http/pprof computes ?seconds=N for count profiles (goroutine,
 * threadcreate): samples matched by locations (address and function)
 * and labels; all-zero samples dropped; samples only in gz0 kept with
 * negated values. The result is gz1's profile with those samples, and
 * time_nanos / duration_nanos as given; gzip'd into *out. 0, -EINVAL
 * (not profiles, or different sample types) or -ENOMEM. */
int ct_render_delta_pb(const uint8_t *gz0, size_t len0, const uint8_t *gz1, size_t len1,
		       int64_t time_nanos, int64_t duration_nanos, uint8_t **out, size_t *outlen);

#endif
