/* locks.pb.gz: the per-lock distributions of a snapshot (core/locks.h) as
 * a pprof profile that `go tool pprof` reads like any other, and that
 * `contend locks` and /debug/pprof/locks turn into the per-lock table
 * (report/locktable.h).
 *
 * Layout (perftools.profiles.Profile):
 *   sample_type [contentions/count, delay/nanoseconds], period_type
 *   contentions/count, period 1, like mutex.pb.gz and block.pb.gz.
 *   Every sample has one location, the site (the function and line of a
 *   call), and string labels lock (its name, report/locknames.h),
 *   lock_kind, role ("wait": where threads waited; "hold": holds that
 *   began after a wait at that site, measured to their unlock; "holder":
 *   the unlocks that made others wait, as in mutex.pb.gz) and, for a
 *   condvar, mutex (the mutex it was last waited with).
 *   - A summary sample per (lock, role, site): values [0, total ns] (for
 *     "holder": [contentions, delay]); numeric labels events (the raw
 *     events the figures rest on), max (the longest single one, ns;
 *     wait/hold only), objects (how many lock objects share the name),
 *     and string label named_by (symbol, init, first-wait, address).
 *   - A histogram sample per non-empty bucket (wait/hold only): values
 *     [contentions in the bucket, 0] and numeric label wait_bucket or
 *     hold_bucket (its lower bound, ns; buckets are 4 per power of two
 *     from 1.02 us, and the first one holds everything below).
 * So `go tool pprof -tags -tagfocus=lock=NAME -sample_index=contentions
 * locks.pb.gz` shows a lock's wait and hold histograms, and per (lock, role) the contentions are the sum of
 * values[0], the total the sum of values[1]. Counts and totals are scaled
 * like the block and mutex profiles (Go's sampling); events says how many
 * recorded events they rest on.
 *
 * Off the hot path only; allocates; not thread-safe (sym). */
#ifndef CT_REPORT_LOCKS_H
#define CT_REPORT_LOCKS_H

#include <stddef.h>
#include <stdint.h>

struct ct_snapshot;
struct ct_maps;
struct ct_symbolizer;

/* Encodes snap's lock statistics (uncompressed protobuf, malloc'd into
 * *out). 0 or -ENOMEM. */
int ct_locks_encode(const struct ct_snapshot *snap, const struct ct_maps *maps,
		    struct ct_symbolizer *sym, uint8_t **out, size_t *outlen);

#endif
