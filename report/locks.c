/* locks.pb.gz encoder; see locks.h. Merges the statistics of lock objects
 * that share a name (one lock class: many accounts made at one site), so
 * the file holds one entry per (name, role, site). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/locks.h"
#include "../core/snapshot.h"
#include "locknames.h"
#include "locks.h"
#include "pprof.h"
#include "cmp.h"

/* One (name, role, site) after merging. */
struct lk_agg {
	const char *name;
	enum ct_lockname_how how;
	uintptr_t obj; /* the first object seen, for kind and assoc */
	uintptr_t site;
	uint32_t role, kind, dl_gen;
	uintptr_t assoc;
	uint64_t events;
	double count, total_ns;
	int64_t max_ns;
	double hist[CT_LK_BUCKETS];
	size_t objects;
};

struct lk_ent {
	const char *name;
	enum ct_lockname_how how;
	const struct ct_lockstat *st;
};

CT_CMP(lk_cmp, struct lk_ent)
{
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->st->role != y->st->role)
		return x->st->role < y->st->role ? -1 : 1;
	if (x->st->site != y->st->site)
		return x->st->site < y->st->site ? -1 : 1;
	return x->st->obj < y->st->obj ? -1 : x->st->obj > y->st->obj;
}

static int
lk_cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static const char *const lk_roles[CT_LR_COUNT] = {
	[CT_LR_WAIT] = "wait",
	[CT_LR_HOLD] = "hold",
	[CT_LR_HOLDER] = "holder",
};

#define LK_NLABELS 10

/* Folds the sorted ents[0..n) into one aggregate per (name, role, site);
 * returns how many. */
static size_t
lk_merge(struct ct_locknames *ln, const struct lk_ent *ents, size_t n, struct lk_agg *aggs)
{
	size_t nagg = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ct_lockstat *st = ents[i].st;
		struct lk_agg *a = nagg ? &aggs[nagg - 1] : NULL;
		if (!a || strcmp(a->name, ents[i].name) || a->role != st->role || a->site != st->site) {
			a = &aggs[nagg++];
			a->name = ents[i].name;
			a->how = ents[i].how;
			a->obj = st->obj;
			a->site = st->site;
			a->role = st->role;
			a->dl_gen = st->dl_gen;
			a->kind = ct_locknames_kind(ln, st->obj, st->kind);
		}
		if (st->assoc)
			a->assoc = st->assoc;
		a->events += st->events;
		a->count += st->count;
		a->total_ns += st->total_ns;
		if (st->max_ns > a->max_ns)
			a->max_ns = st->max_ns;
		for (unsigned b = 0; b < CT_LK_BUCKETS; b++)
			a->hist[b] += st->hist[b];
	}
	return nagg;
}

/* Objects per name: the distinct obj among the name's entries, set in
 * each of the name's aggregates. 0 or -ENOMEM. */
static int
lk_count_objects(const struct lk_ent *ents, size_t n, struct lk_agg *aggs, size_t nagg)
{
	uintptr_t *objs = malloc((n ? n : 1) * sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	for (size_t i = 0, j = 0; i < nagg;) {
		size_t k = j, m = 0, distinct = 0;
		while (j < n && strcmp(ents[j].name, aggs[i].name) < 0)
			j++;
		for (k = j; k < n && !strcmp(ents[k].name, aggs[i].name); k++)
			objs[m++] = ents[k].st->obj;
		qsort(objs, m, sizeof(*objs), lk_cmp_ptr);
		for (size_t q = 0; q < m; q++)
			distinct += q == 0 || objs[q] != objs[q - 1];
		for (; i < nagg && !strcmp(aggs[i].name, ents[j].name); i++)
			aggs[i].objects = distinct;
		j = k;
	}
	free(objs);
	return 0;
}

/* The records of the file and their labels: per aggregate, one record
 * of its totals and, but for holders, one per non-empty histogram
 * bucket. The label strings of aggregate i live in kinds[i], assocs[i]. */
struct lk_out {
	struct ct_record *recs;
	size_t nrec;
	struct ct_pprof_labels lb; /* LK_NLABELS per record */
	char (*kinds)[48], (*assocs)[512];
};

static int
lk_out_alloc(struct lk_out *o, const struct lk_agg *aggs, size_t nagg)
{
	size_t cap = 0;
	for (size_t i = 0; i < nagg; i++) {
		cap++;
		if (aggs[i].role != CT_LR_HOLDER)
			for (unsigned b = 0; b < CT_LK_BUCKETS; b++)
				cap += aggs[i].hist[b] > 0;
	}
	o->recs = calloc(cap ? cap : 1, sizeof(*o->recs));
	o->kinds = calloc(nagg ? nagg : 1, sizeof(*o->kinds));
	o->assocs = calloc(nagg ? nagg : 1, sizeof(*o->assocs));
	if (ct_pprof_labels_alloc(&o->lb, cap, LK_NLABELS) < 0)
		return -ENOMEM;
	return o->recs && o->kinds && o->assocs ? 0 : -ENOMEM;
}

static void
lk_out_free(struct lk_out *o)
{
	free(o->recs);
	ct_pprof_labels_free(&o->lb);
	free(o->kinds);
	free(o->assocs);
}

/* Appends aggregate i's records: its totals (b < 0), then its buckets. */
static void
lk_out_add(struct lk_out *o, struct ct_locknames *ln, const struct lk_agg *a, size_t i)
{
	bool holder = a->role == CT_LR_HOLDER;
	ct_lock_kind_name(a->kind, o->kinds[i], sizeof(o->kinds[i]));
	if (a->assoc)
		snprintf(o->assocs[i], sizeof(o->assocs[i]), "%s", ct_locknames_get(ln, a->assoc, NULL));
	for (int b = -1; b < (int)CT_LK_BUCKETS; b++) {
		if (b >= 0 && (holder || !(a->hist[b] > 0)))
			continue;
		struct ct_record *r = &o->recs[o->nrec];
		struct ct_pprof_label *l = o->lb.v + LK_NLABELS * o->nrec;
		size_t k = 0;
		r->op = CT_OP_COUNT; /* no wrapped call at the leaf: the site is */
		r->depth = a->site ? 1 : 0;
		r->pc[0] = a->site;
		r->dl_gen = a->dl_gen;
		l[k++] = CT_PL_STR("lock", a->name);
		l[k++] = CT_PL_STR("lock_kind", o->kinds[i]);
		l[k++] = CT_PL_STR("role", lk_roles[a->role]);
		if (a->assoc)
			l[k++] = CT_PL_STR("mutex", o->assocs[i]);
		if (b < 0) {
			r->count = holder ? a->count : 0;
			r->delay_ns = a->total_ns;
			l[k++] = CT_PL_STR("named_by", ct_lockname_how_str(a->how));
			l[k++] = CT_PL_NUM("events", (int64_t)a->events, "count");
			l[k++] = CT_PL_NUM("objects", (int64_t)a->objects, "count");
			if (!holder)
				l[k++] = CT_PL_NUM("max", a->max_ns, "nanoseconds");
		} else {
			r->count = a->hist[b];
			l[k++] = CT_PL_NUM(a->role == CT_LR_HOLD ? "hold_bucket" : "wait_bucket",
					   ct_lk_bucket_lo((unsigned)b), "nanoseconds");
		}
		o->lb.n[o->nrec] = k;
		o->nrec++;
	}
}

/* The file's comments: the sampling settings and, if any, the events the
 * full lock table did not count. */
static void
lk_comments(const struct ct_snapshot *snap, char comment[2][200])
{
	snprintf(comment[0], 200,
		 "libcontend locks profile: block rate=%" PRIu64 " ns, mutex fraction=%" PRIu64,
		 snap->prof[CT_PROF_BLOCK].rate, snap->prof[CT_PROF_MUTEX].rate);
	comment[1][0] = 0;
	if (snap->lockstats_dropped)
		snprintf(comment[1], 200,
			 "libcontend: %" PRIu64 " lock events found the lock table full; not counted",
			 snap->lockstats_dropped);
}

int
ct_locks_encode(const struct ct_snapshot *snap, const struct ct_maps *maps,
		struct ct_symbolizer *sym, uint8_t **out, size_t *outlen)
{
	struct ct_locknames *ln = NULL;
	struct lk_out o = {0};
	char comment[2][200];
	int err;

	*out = NULL;
	*outlen = 0;
	err = ct_locknames__new(snap, sym, &ln);
	if (err)
		return err;
	size_t n = snap->nlockstats, nagg = 0;
	struct lk_ent *ents = calloc(n ? n : 1, sizeof(*ents));
	struct lk_agg *aggs = calloc(n ? n : 1, sizeof(*aggs));
	if (!ents || !aggs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ents[i].st = &snap->lockstats[i];
		ents[i].name = ct_locknames_get(ln, ents[i].st->obj, &ents[i].how);
	}
	qsort(ents, n, sizeof(*ents), lk_cmp);
	nagg = lk_merge(ln, ents, n, aggs);
	err = lk_count_objects(ents, n, aggs, nagg);
	if (!err)
		err = lk_out_alloc(&o, aggs, nagg);
	if (err)
		goto out;
	for (size_t i = 0; i < nagg; i++)
		lk_out_add(&o, ln, &aggs[i], i);
	lk_comments(snap, comment);
	struct ct_pprof_spec spec = {
		CT_PPROF_CONTENTIONS,
		.comments = {comment[0], comment[1]},
		.records = o.recs,
		.nrecords = o.nrec,
		.labels = o.lb.per,
		.nlabels = o.lb.n,
	};
	err = ct_pprof_encode_spec(snap, &spec, maps, sym, out, outlen);
out:
	free(ents);
	free(aggs);
	lk_out_free(&o);
	ct_locknames__free(ln);
	return err;
}
