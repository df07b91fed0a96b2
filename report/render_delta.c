/* Deltas (render.h), as net/http/pprof's ?seconds=N: of two snapshots
 * (mutex, block: records matched by op and stack) and of two gzip'd count
 * profiles (goroutine, threadcreate: samples matched by locations and
 * labels, read with the one pprof reader). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/locks.h"
#include "gzout.h"
#include "pprof_read.h"
#include "profile.pb-c.h"
#include "render.h"
#include "round.h"
#include "strmap.h"
#include "vec.h"

static bool
same_stack(const struct ct_record *a, const struct ct_record *b)
{
	return a->hash == b->hash && a->op == b->op && a->fd_kind == b->fd_kind &&
	       a->dl_gen == b->dl_gen && a->depth == b->depth &&
	       memcmp(a->pc, b->pc, (a->depth < CT_STACK_MAX ? a->depth : CT_STACK_MAX) *
					    sizeof(a->pc[0])) == 0;
}

static int
cmp_by_hash(const void *a, const void *b, void *arg)
{
	const struct ct_record *r = arg;
	uint64_t x = r[*(const size_t *)a].hash, y = r[*(const size_t *)b].hash;
	return x < y ? -1 : x > y;
}

/* A copy of n elements of size sz at src (room for one when n is 0, so
 * that NULL means only out of memory). */
static void *
dup_array(const void *src, size_t n, size_t sz)
{
	void *d = malloc((n ? n : 1) * sz);
	if (d && n)
		memcpy(d, src, n * sz);
	return d;
}

/* p0's record with r1's stack, or NULL; idx orders p0's records by hash. */
static const struct ct_record *
find_earlier(const struct ct_profile_snapshot *p0, const size_t *idx, const struct ct_record *r1)
{
	/* First index whose hash is >= r1's, then every equal hash. */
	size_t lo = 0, hi = p0->nrecords;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p0->records[idx[mid]].hash < r1->hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < p0->nrecords && p0->records[idx[k]].hash == r1->hash; k++)
		if (same_stack(&p0->records[idx[k]], r1))
			return &p0->records[idx[k]];
	return NULL;
}

int
ct_render_delta(const struct ct_snapshot *earlier, const struct ct_snapshot *later,
		enum ct_profile_kind kind, struct ct_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	if (!earlier || !later || (unsigned)kind >= CT_PROF_COUNT)
		return -EINVAL;
	const struct ct_profile_snapshot *p0 = &earlier->prof[kind], *p1 = &later->prof[kind];
	size_t *idx = malloc((p0->nrecords ? p0->nrecords : 1) * sizeof(*idx));
	struct ct_record *v = malloc((p1->nrecords ? p1->nrecords : 1) * sizeof(*v));
	/* The unloaded objects the later records may need (core/dlhist.h);
	 * the objects mapped, which a process that changed its credentials
	 * symbolizes against (no /proc/self/maps); where its locks were
	 * made and their kinds, which name them. */
	struct ct_dl_gone *gone = dup_array(later->dl_gone, later->ndl_gone, sizeof(*gone));
	struct ct_dl_gone *live = dup_array(later->dl_live, later->ndl_live, sizeof(*live));
	struct ct_locksite *sites = dup_array(later->locksites, later->nlocksites, sizeof(*sites));
	struct ct_lockstat *stats = dup_array(later->lockstats, later->nlockstats, sizeof(*stats));
	if (!idx || !v || !gone || !live || !sites || !stats) {
		free(idx);
		free(v);
		free(gone);
		free(live);
		free(sites);
		free(stats);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p0->nrecords; i++)
		idx[i] = i;
	qsort_r(idx, p0->nrecords, sizeof(*idx), cmp_by_hash, p0->records);

	size_t n = 0;
	for (size_t j = 0; j < p1->nrecords; j++) {
		const struct ct_record *r1 = &p1->records[j];
		const struct ct_record *r0 = find_earlier(p0, idx, r1);
		double dc = r1->count - (r0 ? r0->count : 0), dd = r1->delay_ns - (r0 ? r0->delay_ns : 0);
		/* Values only grow, so "unchanged" is exact equality; rounding
		 * to what the encoder writes catches float noise too. */
		if (ct_round_i64(dc) == 0 && ct_round_i64(dd) == 0)
			continue;
		v[n] = *r1;
		v[n].count = dc;
		v[n].delay_ns = dd;
		n++;
	}
	free(idx);

	out->pid = later->pid;
	out->time_nanos = later->time_nanos + later->duration_nanos;
	out->duration_nanos = later->duration_nanos - earlier->duration_nanos;
	memcpy(out->leaf_addr, later->leaf_addr, sizeof(out->leaf_addr));
	out->stuck_ns = later->stuck_ns;
	out->dl_gen = later->dl_gen;
	out->dl_gone = gone;
	out->ndl_gone = later->ndl_gone;
	out->dl_gone_dropped = later->dl_gone_dropped;
	out->dl_live = live;
	out->ndl_live = later->ndl_live;
	out->locksites = sites;
	out->nlocksites = later->nlocksites;
	out->lockstats = stats;
	out->nlockstats = later->nlockstats;
	out->lockstats_dropped = later->lockstats_dropped;
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		out->prof[k].kind = (enum ct_profile_kind)k;
		out->prof[k].rate = later->prof[k].rate;
	}
	out->prof[kind].records = v;
	out->prof[kind].nrecords = n;
	out->prof[kind].overflow_events =
		p1->overflow_events >= p0->overflow_events ? p1->overflow_events - p0->overflow_events : 0;
	/* A difference may be off wherever either side was. */
	out->prof[kind].unsettled = p0->unsettled + p1->unsettled;
	return 0;
}

/* ---- delta of two encoded profiles ------------------------------------- */

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Label pb_label;

/* A location as the merge sees it: its address and the function of its
 * first line (addressless synthetic locations differ only by name). */
static void
loc_key(struct ct_buf *b, const struct ct_ploc *l)
{
	ct_buf_printf(b, "%" PRIx64 ":%s|", l->address, l->nlines ? l->lines[0].fn->name : "");
}

static int
cmp_label(const void *a, const void *b, void *arg)
{
	const struct ct_profile *p = arg;
	const pb_label *x = *(pb_label *const *)a, *y = *(pb_label *const *)b;
	return strcmp(ct_profile_string(p, x->key), ct_profile_string(p, y->key));
}

/* A sample's identity, as pprof's Merge keys it: its locations and its
 * labels (sorted; every label of the message). malloc'ed, NULL when out
 * of memory. */
static char *
sample_key(const struct ct_profile *p, size_t i)
{
	const struct ct_psample *s = &p->samples[i];
	const pb_sample *raw = ((const pb_profile *)p->pb)->sample[i];
	struct ct_buf b = {0};
	for (size_t k = 0; k < s->nlocs; k++)
		loc_key(&b, s->locs[k]);
	ct_buf_add(&b, "#", 1);
	pb_label **lab = malloc((raw->n_label ? raw->n_label : 1) * sizeof(*lab));
	if (!lab) {
		ct_buf_free(&b);
		return NULL;
	}
	if (raw->n_label) /* label is NULL when there are none */
		memcpy(lab, raw->label, raw->n_label * sizeof(*lab));
	qsort_r(lab, raw->n_label, sizeof(*lab), cmp_label, (void *)p);
	for (size_t k = 0; k < raw->n_label; k++)
		ct_buf_printf(&b, "%s=%s/%" PRId64 "%s;", ct_profile_string(p, lab[k]->key),
			      ct_profile_string(p, lab[k]->str), (int64_t)lab[k]->num,
			      ct_profile_string(p, lab[k]->num_unit));
	free(lab);
	uint8_t *out;
	size_t len;
	return ct_buf_take(&b, &out, &len) ? NULL : (char *)out;
}

struct keyed {
	char *key;
	size_t idx;
};

static int
cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static int
grow(void *arrp, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(*(void **)arrp, c * elsz);
	if (!n)
		return -ENOMEM;
	*(void **)arrp = n;
	*cap = c;
	return 0;
}

/* The merged profile in the making: p1's tables grown by what the
 * samples copied from p0 need, and the samples themselves. */
struct delta {
	struct ct_profile *cp0, *cp1;
	const pb_profile *p0, *p1;
	size_t nv; /* values per sample */
	/* The merged tables: p1's entries first (not owned), then copies. */
	char **strs;
	size_t nstrs, capstrs;
	pb_function **fns;
	size_t nfns, capfns;
	pb_location **locs;
	size_t nlocs, caplocs;
	/* The samples: smp[] points into extra[]; values in vals[]. */
	pb_sample **smp, *extra;
	size_t nsmp, nextra;
	int64_t *vals;
	size_t nvals;
	bool *used0; /* p0's samples matched by a p1 sample */
	/* Copied samples: where their location ids start in ids[], fixed up
	 * once ids[] has stopped moving; which[] is their place in extra[]. */
	uint64_t *ids;
	size_t nids, capids, *first, *which, ncopied;
	/* The first string, function and location of each key in the merged
	 * tables, and the largest ids: a copied sample costs the same
	 * however many came before it (scans made 2,000 ended threads take
	 * 9 s). */
	struct ct_strmap str_ix, fn_ix, loc_ix;
	uint64_t max_fn_id, max_loc_id;
};

static int64_t
dpb_str(struct delta *d, const char *s)
{
	size_t i;
	int r = ct_strmap_get(&d->str_ix, s, d->nstrs, &i);
	if (r)
		return r < 0 ? -1 : (int64_t)i;
	if (grow(&d->strs, &d->capstrs, d->nstrs + 1, sizeof(*d->strs)))
		return -1;
	d->strs[d->nstrs] = (char *)s; /* owned by p0, alive until the end */
	return (int64_t)d->nstrs++;
}

/* A function's key: name, system name, file, start line; malloc'ed. */
static char *
fn_key(const char *name, const char *sys, const char *file, int64_t start_line)
{
	char *k;
	return asprintf(&k, "%s\x1f%s\x1f%s\x1f%" PRId64, name, sys, file, start_line) < 0 ? NULL : k;
}

/* p1's function for p0's f (same name, system name, file), or a copy. */
static uint64_t
dpb_fn(struct delta *d, const struct ct_pfunc *f)
{
	char *key = fn_key(f->name, f->system_name, f->filename, f->start_line);
	size_t i;
	int r = key ? ct_strmap_get(&d->fn_ix, key, d->nfns, &i) : -1;
	free(key);
	if (r)
		return r < 0 ? 0 : d->fns[i]->id;
	pb_function *g = NULL;
	if (grow(&d->fns, &d->capfns, d->nfns + 1, sizeof(*d->fns)) || !(g = calloc(1, sizeof(*g))))
		goto fail;
	perftools__profiles__function__init(g);
	g->id = d->max_fn_id + 1;
	g->name = dpb_str(d, f->name);
	g->system_name = dpb_str(d, f->system_name);
	g->filename = dpb_str(d, f->filename);
	g->start_line = f->start_line;
	if (g->name < 0 || g->system_name < 0 || g->filename < 0)
		goto fail;
	d->max_fn_id = g->id;
	d->fns[d->nfns++] = g;
	return g->id;
fail:
	free(g);
	return 0;
}

/* The location key of a p0 location, as loc_key; malloc'ed. */
static char *
loc_key_str(const struct ct_ploc *l)
{
	struct ct_buf b = {0};
	uint8_t *out;
	size_t len;
	loc_key(&b, l);
	return ct_buf_take(&b, &out, &len) ? NULL : (char *)out;
}

/* p1's location for p0's l (same key), or a copy with its functions. */
static uint64_t
dpb_loc(struct delta *d, const struct ct_ploc *l)
{
	char *key = loc_key_str(l);
	size_t found;
	int r = key ? ct_strmap_get(&d->loc_ix, key, d->nlocs, &found) : -1;
	free(key);
	if (r)
		return r < 0 ? 0 : d->locs[found]->id;
	if (grow(&d->locs, &d->caplocs, d->nlocs + 1, sizeof(*d->locs)))
		return 0;
	pb_location *m = calloc(1, sizeof(*m));
	/* The pointer array and the lines in one block. */
	pb_line **lines = calloc(l->nlines ? l->nlines : 1, sizeof(*lines) + sizeof(pb_line));
	if (!m || !lines) {
		free(m);
		free(lines);
		return 0;
	}
	pb_line *lv = (pb_line *)(lines + (l->nlines ? l->nlines : 1));
	perftools__profiles__location__init(m);
	m->id = d->max_loc_id + 1;
	m->address = l->address;
	/* The same mapping if p1 has one at that address, else none. */
	for (size_t i = 0; i < d->p1->n_mapping; i++)
		if (l->address >= d->p1->mapping[i]->memory_start &&
		    l->address < d->p1->mapping[i]->memory_limit)
			m->mapping_id = d->p1->mapping[i]->id;
	for (size_t j = 0; j < l->nlines; j++) {
		perftools__profiles__line__init(&lv[j]);
		lv[j].function_id = dpb_fn(d, l->lines[j].fn);
		lv[j].line = l->lines[j].line;
		lines[j] = &lv[j];
	}
	m->n_line = l->nlines;
	m->line = lines;
	d->max_loc_id = m->id;
	d->locs[d->nlocs++] = m;
	return m->id;
}

/* Later minus earlier, sample by sample (matched by key); all-zero
 * samples dropped, matched earlier samples marked in used0. */
static int
delta_subtract(struct delta *d)
{
	size_t n0 = d->cp0->nsamples;
	struct keyed *k0 = calloc(n0 ? n0 : 1, sizeof(*k0));
	int err = k0 ? 0 : -ENOMEM;
	for (size_t i = 0; i < n0 && !err; i++) {
		k0[i].idx = i;
		if (!(k0[i].key = sample_key(d->cp0, i)))
			err = -ENOMEM;
	}
	if (!err)
		qsort(k0, n0, sizeof(*k0), cmp_keyed);
	for (size_t i = 0; i < d->cp1->nsamples && !err; i++) {
		const pb_sample *s = d->p1->sample[i];
		struct keyed probe = {.key = sample_key(d->cp1, i)};
		if (!probe.key) {
			err = -ENOMEM;
			break;
		}
		struct keyed *hit = n0 ? bsearch(&probe, k0, n0, sizeof(*k0), cmp_keyed) : NULL;
		free(probe.key);
		const pb_sample *s0 = hit ? d->p0->sample[hit->idx] : NULL;
		if (hit)
			d->used0[hit->idx] = true;
		int64_t *v = d->vals + d->nvals;
		bool zero = true;
		for (size_t j = 0; j < d->nv; j++) {
			v[j] = (j < s->n_value ? s->value[j] : 0) -
			       (s0 && j < s0->n_value ? s0->value[j] : 0);
			zero &= v[j] == 0;
		}
		if (zero)
			continue;
		d->nvals += d->nv;
		d->extra[d->nextra] = *s;
		d->extra[d->nextra].n_value = d->nv;
		d->extra[d->nextra].value = v;
		d->smp[d->nsmp++] = &d->extra[d->nextra++];
	}
	for (size_t i = 0; k0 && i < n0; i++)
		free(k0[i].key);
	free(k0);
	return err;
}

/* p1's tables as the start of the merged ones, with their indexes. */
static int
delta_tables(struct delta *d)
{
	const pb_profile *p1 = d->p1;
	const struct ct_profile *cp1 = d->cp1;
	if (grow(&d->strs, &d->capstrs, p1->n_string_table + 1, sizeof(*d->strs)) ||
	    grow(&d->fns, &d->capfns, p1->n_function + 1, sizeof(*d->fns)) ||
	    grow(&d->locs, &d->caplocs, p1->n_location + 1, sizeof(*d->locs)))
		return -ENOMEM;
	size_t first;
	for (size_t i = 0; i < p1->n_string_table; i++) {
		d->strs[d->nstrs++] = p1->string_table[i];
		if (ct_strmap_get(&d->str_ix, p1->string_table[i], i, &first) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < cp1->nfuncs; i++) {
		const struct ct_pfunc *f = &cp1->funcs[i];
		char *key = fn_key(f->name, f->system_name, f->filename, f->start_line);
		int r = key ? ct_strmap_get(&d->fn_ix, key, i, &first) : -1;
		free(key);
		if (r < 0)
			return -ENOMEM;
		d->fns[d->nfns++] = p1->function[i];
		if (f->id > d->max_fn_id)
			d->max_fn_id = f->id;
	}
	for (size_t i = 0; i < cp1->nlocs; i++) {
		char *key = loc_key_str(&cp1->locs[i]);
		int r = key ? ct_strmap_get(&d->loc_ix, key, i, &first) : -1;
		free(key);
		if (r < 0)
			return -ENOMEM;
		d->locs[d->nlocs++] = p1->location[i];
		if (cp1->locs[i].id > d->max_loc_id)
			d->max_loc_id = cp1->locs[i].id;
	}
	return 0;
}

/* p0's sample i with its strings moved into the merged table: labels in
 * one block (pointers, then the labels). */
static int
delta_copy_labels(struct delta *d, const pb_sample *s, pb_label ***out)
{
	*out = NULL;
	if (!s->n_label)
		return 0;
	pb_label **lab = calloc(s->n_label, sizeof(*lab) + sizeof(**lab));
	if (!lab)
		return -ENOMEM;
	for (size_t k = 0; k < s->n_label; k++) {
		pb_label *l = (pb_label *)(lab + s->n_label) + k;
		*l = *s->label[k];
		l->key = dpb_str(d, ct_profile_string(d->cp0, s->label[k]->key));
		l->str = s->label[k]->str ? dpb_str(d, ct_profile_string(d->cp0, s->label[k]->str)) : 0;
		l->num_unit = s->label[k]->num_unit ?
				      dpb_str(d, ct_profile_string(d->cp0, s->label[k]->num_unit)) : 0;
		lab[k] = l;
		if (l->key < 0 || l->str < 0 || l->num_unit < 0) {
			free(lab);
			return -ENOMEM;
		}
	}
	*out = lab;
	return 0;
}

/* Earlier samples gone since: kept with negated values, as Go does (a
 * thread that ended is -1 in a goroutine delta). */
static int
delta_copy_gone(struct delta *d)
{
	for (size_t i = 0; i < d->cp0->nsamples; i++) {
		if (d->used0[i])
			continue;
		const pb_sample *s = d->p0->sample[i];
		const struct ct_psample *rs = &d->cp0->samples[i];
		int64_t *v = d->vals + d->nvals;
		bool zero = true;
		for (size_t j = 0; j < d->nv; j++) {
			v[j] = -(j < s->n_value ? s->value[j] : 0);
			zero &= v[j] == 0;
		}
		if (zero)
			continue;
		if (grow(&d->ids, &d->capids, d->nids + rs->nlocs + 1, sizeof(*d->ids)))
			return -ENOMEM;
		d->first[d->ncopied] = d->nids;
		for (size_t k = 0; k < rs->nlocs; k++) {
			uint64_t id = dpb_loc(d, rs->locs[k]);
			if (!id)
				return -ENOMEM;
			d->ids[d->nids++] = id;
		}
		pb_label **lab;
		if (delta_copy_labels(d, s, &lab))
			return -ENOMEM;
		d->nvals += d->nv;
		pb_sample *e = &d->extra[d->nextra];
		*e = *s;
		e->n_value = d->nv;
		e->value = v;
		e->n_label = lab ? s->n_label : 0;
		e->label = lab;
		e->n_location_id = d->nids - d->first[d->ncopied];
		e->location_id = NULL;
		d->which[d->ncopied++] = d->nextra;
		d->smp[d->nsmp++] = &d->extra[d->nextra++];
	}
	for (size_t c = 0; c < d->ncopied; c++)
		d->extra[d->which[c]].location_id = d->ids + d->first[c];
	return 0;
}

/* p1 with the merged samples and tables, packed and gzip'd. */
static int
delta_pack(const struct delta *d, int64_t time_nanos, int64_t duration_nanos, uint8_t **out,
	   size_t *outlen)
{
	pb_profile merged = *d->p1;
	merged.n_sample = d->nsmp;
	merged.sample = d->smp;
	merged.n_string_table = d->nstrs;
	merged.string_table = d->strs;
	merged.n_function = d->nfns;
	merged.function = d->fns;
	merged.n_location = d->nlocs;
	merged.location = d->locs;
	merged.time_nanos = time_nanos;
	merged.duration_nanos = duration_nanos;
	size_t rawlen = perftools__profiles__profile__get_packed_size(&merged);
	uint8_t *raw = malloc(rawlen ? rawlen : 1);
	if (!raw)
		return -ENOMEM;
	perftools__profiles__profile__pack(&merged, raw);
	int err = ct_gzout_compress(raw, rawlen, out, outlen);
	free(raw);
	return err;
}

static void
delta_free(struct delta *d)
{
	for (size_t c = 0; c < d->ncopied; c++)
		free(d->extra[d->which[c]].label);
	CT_FREE_ALL(d->first, d->which, d->smp, d->extra, d->vals, d->ids, d->used0);
	for (size_t i = d->p1 ? d->p1->n_function : 0; i < d->nfns; i++)
		free(d->fns[i]);
	for (size_t i = d->p1 ? d->p1->n_location : 0; i < d->nlocs; i++) {
		free(d->locs[i]->line);
		free(d->locs[i]);
	}
	free(d->strs);
	free(d->fns);
	free(d->locs);
	ct_strmap_free(&d->str_ix);
	ct_strmap_free(&d->fn_ix);
	ct_strmap_free(&d->loc_ix);
	ct_profile_free(d->cp0);
	ct_profile_free(d->cp1);
}

int
ct_render_delta_pb(const uint8_t *gz0, size_t len0, const uint8_t *gz1, size_t len1,
		   int64_t time_nanos, int64_t duration_nanos, uint8_t **out, size_t *outlen)
{
	struct delta d = {0};
	char perr[256];
	int err = -EINVAL;

	*out = NULL;
	*outlen = 0;
	if (ct_profile_parse(gz0, len0, &d.cp0, perr, sizeof(perr)) < 0 ||
	    ct_profile_parse(gz1, len1, &d.cp1, perr, sizeof(perr)) < 0)
		goto out;
	d.p0 = d.cp0->pb;
	d.p1 = d.cp1->pb;
	if (d.cp0->ntypes != d.cp1->ntypes)
		goto out; /* Merge requires the same sample types */
	d.nv = d.cp1->ntypes;
	size_t n0 = d.cp0->nsamples, n = n0 + d.cp1->nsamples + 1;
	d.used0 = calloc(n0 + 1, sizeof(*d.used0));
	d.smp = calloc(n, sizeof(*d.smp));
	d.extra = calloc(n, sizeof(*d.extra));
	d.vals = calloc(n * (d.nv ? d.nv : 1), sizeof(*d.vals));
	d.first = calloc(n0 + 1, sizeof(*d.first));
	d.which = calloc(n0 + 1, sizeof(*d.which));
	err = -ENOMEM;
	if (!d.used0 || !d.smp || !d.extra || !d.vals || !d.first || !d.which)
		goto out;
	if (!(err = delta_subtract(&d)) && !(err = delta_tables(&d)) && !(err = delta_copy_gone(&d)))
		err = delta_pack(&d, time_nanos, duration_nanos, out, outlen);
out:
	delta_free(&d);
	return err;
}
