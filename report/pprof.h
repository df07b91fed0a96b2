/* Builds the pprof Profile (perftools.profiles, protobuf) for one profile
 * of a snapshot, with Go's mutex/block layout (pprof-format.md §2, §3):
 * sample_type [contentions/count, delay/nanoseconds], period_type
 * contentions/count, period 1, samples sorted by delay descending.
 *
 * Each record becomes one Sample, leaf first: a synthetic location for
 * the wrapped libc function (ct_op_name), then one location per return
 * address, symbolized in-process (function, file, line, inline frames)
 * with mappings from /proc/self/maps and all has_* flags set, because
 * `go tool pprof` cannot symbolize C binaries itself. Block samples carry
 * string labels op (the leaf call), class (sync, io, sleep) and, for waits
 * on an fd, fd_kind; block and mutex samples of an event on a lock carry
 * lock (its stable name, report/locknames.h) and lock_kind.
 *
 * Runs off the hot path only. Allocates. Not async-signal-safe. Not
 * thread-safe with respect to sym (the symbolizer caches).
 */
#ifndef CT_PPROF_H
#define CT_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/snapshot.h"

struct ct_maps;
struct ct_symbolizer;

/* Encodes snap->prof[kind] as an uncompressed serialized Profile into a
 * malloc'd buffer (*out, *outlen; the caller frees *out).
 * maps: the mappings to attach locations to (NULL: no mappings, every
 * location has mapping_id 0). sym: the symbolizer (NULL: locations carry
 * addresses only). Addresses nobody knows get a Location without lines.
 * Returns 0 or a negative errno (-EINVAL for a bad kind, -ENOMEM). */
/* A label on a sample: a string label (value; empty ones are skipped),
 * or, with value NULL and unit set, a numeric one (num in unit, e.g.
 * "nanoseconds", "count"). */
struct ct_pprof_label {
	const char *key, *value;
	int64_t num;
	const char *unit;
};
#define CT_PL_STR(k, v) ((struct ct_pprof_label){.key = (k), .value = (v)})
#define CT_PL_NUM(k, n, u) ((struct ct_pprof_label){.key = (k), .num = (n), .unit = (u)})

/* Room for up to max labels for each of nrec records, and the views a
 * spec takes: spec.labels = per (per[i] = v + max * i), spec.nlabels = n
 * (each record's count, 0 until set). */
struct ct_pprof_labels {
	struct ct_pprof_label *v;
	const struct ct_pprof_label **per;
	size_t *n;
};

/* 0 or -ENOMEM (free with ct_pprof_labels_free either way). */
int ct_pprof_labels_alloc(struct ct_pprof_labels *l, size_t nrec, size_t max);
void ct_pprof_labels_free(struct ct_pprof_labels *l);

/* Any profile made of records (leaf op + stack): the sample and period
 * types, comments, and optional labels per record. value[0] is
 * llround(count) (at least 1 if count > 0), value[1] llround(delay_ns).
 * Samples are sorted by delay, then count, descending. */
struct ct_pprof_spec {
	const char *type[2], *unit[2];
	int nvalues; /* 1 or 2 */
	const char *period_type, *period_unit;
	const char *comments[4];
	const struct ct_record *records;
	size_t nrecords;
	const struct ct_pprof_label *const *labels; /* per record, or NULL */
	const size_t *nlabels;                      /* per record, or NULL */
};

/* Non-negative int64 nearest to v (NaN and negatives are 0; saturates). */
int64_t ct_pprof_round(double v);

/* Fills order[0..n) with record indexes in Go's sample order: delay, then
 * count, descending; ties keep table order, so output is deterministic. */
void ct_pprof_order(const struct ct_record *recs, size_t n, size_t *order);

/* The value and period types of a contention profile (mutex, block,
 * locks), as Go writes them: count first, delay last, since pprof shows
 * the last type by default (delay, as Go's) and -mean divides by
 * value[0]. For a struct ct_pprof_spec initialiser. */
#define CT_PPROF_CONTENTIONS                                           \
	.type = {"contentions", "delay"}, .unit = {"count", "nanoseconds"}, \
	.nvalues = 2, .period_type = "contentions", .period_unit = "count"

int ct_pprof_encode_spec(const struct ct_snapshot *snap, const struct ct_pprof_spec *spec,
			 const struct ct_maps *maps, struct ct_symbolizer *sym, uint8_t **out,
			 size_t *outlen);

int ct_pprof_encode(const struct ct_snapshot *snap, enum ct_profile_kind kind,
		    const struct ct_maps *maps, struct ct_symbolizer *sym, uint8_t **out,
		    size_t *outlen);

#endif
