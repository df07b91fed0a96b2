/* ct_report_render (report.h) and its helpers (render.h): one profile of a
 * snapshot rendered into memory for the HTTP endpoint, delta profiles on
 * snapshot records, and Go's legacy text. Owns no state across calls. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gzout.h"
#include "maps.h"
#include "pprof.h"
#include "profile.pb-c.h"
#include "render.h"
#include "report.h"
#include "symbolize.h"
#include "threads.h"

/* ---- text buffer ------------------------------------------------------ */

static int
buf_reserve(struct ct_buf *b, size_t more)
{
	if (b->err)
		return b->err;
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return b->err = -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ct_buf_add(struct ct_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
}

void
ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		ct_buf_add(b, small, (size_t)n);
		return;
	}
	if (buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int
ct_buf_take(struct ct_buf *b, uint8_t **out, size_t *outlen)
{
	if (!b->err)
		buf_reserve(b, 0);
	if (b->err) {
		int err = b->err;
		ct_buf_free(b);
		return err;
	}
	*out = (uint8_t *)b->p;
	*outlen = b->len;
	memset(b, 0, sizeof(*b));
	return 0;
}

void
ct_buf_free(struct ct_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- delta ------------------------------------------------------------ */

static bool
same_stack(const struct ct_record *a, const struct ct_record *b)
{
	return a->hash == b->hash && a->op == b->op && a->depth == b->depth &&
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
	if (!idx || !v) {
		free(idx);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p0->nrecords; i++)
		idx[i] = i;
	qsort_r(idx, p0->nrecords, sizeof(*idx), cmp_by_hash, p0->records);

	size_t n = 0;
	for (size_t j = 0; j < p1->nrecords; j++) {
		const struct ct_record *r1 = &p1->records[j];
		double c0 = 0, d0 = 0;
		/* First index whose hash is >= r1's, then every equal hash. */
		size_t lo = 0, hi = p0->nrecords;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (p0->records[idx[mid]].hash < r1->hash)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < p0->nrecords && p0->records[idx[k]].hash == r1->hash; k++) {
			const struct ct_record *r0 = &p0->records[idx[k]];
			if (same_stack(r0, r1)) {
				c0 = r0->count;
				d0 = r0->delay_ns;
				break;
			}
		}
		double dc = r1->count - c0, dd = r1->delay_ns - d0;
		/* Values only grow, so "unchanged" is exact equality; rounding
		 * to what the encoder writes catches float noise too. */
		if (llround(dc) == 0 && llround(dd) == 0)
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
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		out->prof[k].kind = (enum ct_profile_kind)k;
		out->prof[k].rate = later->prof[k].rate;
	}
	out->prof[kind].records = v;
	out->prof[kind].nrecords = n;
	out->prof[kind].overflow_events =
		p1->overflow_events >= p0->overflow_events ? p1->overflow_events - p0->overflow_events : 0;
	return 0;
}

/* ---- legacy text ------------------------------------------------------ */

/* "#\t<pc>\t<function>\t<file>:<line>" per source frame at pc (inlined
 * callees first), like Go's printStackRecord without the "+offset", which
 * needs the function's entry address that libdw does not hand out. */
static void
legacy_frames(struct ct_buf *b, struct ct_symbolizer *sym, uint64_t pc)
{
	const struct ct_frame *f = NULL;
	size_t nf = 0;
	if (sym && ct_symbolize_addr(sym, pc, &f, &nf) < 0)
		nf = 0;
	if (nf == 0) {
		ct_buf_printf(b, "#\t0x%" PRIx64 "\n", pc);
		return;
	}
	for (size_t i = 0; i < nf; i++) {
		if (f[i].file)
			ct_buf_printf(b, "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n", pc, f[i].name,
				      f[i].file, f[i].line);
		else
			ct_buf_printf(b, "#\t0x%" PRIx64 "\t%s\n", pc, f[i].name);
	}
}

int
ct_render_legacy(const struct ct_snapshot *snap, enum ct_profile_kind kind,
		 struct ct_symbolizer *sym, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (!snap || (unsigned)kind >= CT_PROF_COUNT)
		return -EINVAL;
	const struct ct_profile_snapshot *ps = &snap->prof[kind];
	struct ct_buf b = {0};
	size_t *order = malloc((ps->nrecords ? ps->nrecords : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	ct_pprof_order(ps->records, ps->nrecords, order);

	/* Go's writeProfileInternal header; delays are in ns, so a "cycle" is
	 * a nanosecond. */
	ct_buf_printf(&b, "%s\ncycles/second=1000000000\n",
		      kind == CT_PROF_MUTEX ? "--- mutex:" : "--- contention:");
	if (kind == CT_PROF_MUTEX)
		ct_buf_printf(&b, "sampling period=1\n");
	ct_buf_printf(&b, "# libcontend %s profile: %s=%" PRIu64 "%s, values already scaled\n",
		      kind == CT_PROF_MUTEX ? "mutex" : "block",
		      kind == CT_PROF_MUTEX ? "fraction" : "rate", ps->rate,
		      kind == CT_PROF_MUTEX ? "" : " ns");
	if (ps->overflow_events)
		ct_buf_printf(&b, "# libcontend: %" PRIu64 " events found the table full\n",
			      ps->overflow_events);

	for (size_t i = 0; i < ps->nrecords && !b.err; i++) {
		const struct ct_record *r = &ps->records[order[i]];
		int64_t count = ct_pprof_round(r->count), delay = ct_pprof_round(r->delay_ns);
		if (count == 0 && r->count > 0)
			count = 1;
		if (count == 0 && delay == 0)
			continue;
		uint32_t depth = r->depth < CT_STACK_MAX ? r->depth : CT_STACK_MAX;
		uint64_t leaf = r->op < CT_OP_COUNT ? snap->leaf_addr[r->op] : 0;
		ct_buf_printf(&b, "%" PRId64 " %" PRId64 " @", delay, count);
		/* Return addresses, as Go prints them; pprof subtracts 1. The
		 * leaf is the wrapped function's entry, so +1 lands there. */
		if (leaf)
			ct_buf_printf(&b, " 0x%" PRIx64, leaf + 1);
		for (uint32_t k = 0; k < depth; k++)
			ct_buf_printf(&b, " 0x%" PRIxPTR, r->pc[k]);
		ct_buf_printf(&b, "\n");
		if (leaf)
			ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\n", leaf, ct_op_name(r->op));
		else
			ct_buf_printf(&b, "#\t%s\n", ct_op_name(r->op));
		for (uint32_t k = 0; k < depth; k++)
			if (r->pc[k])
				legacy_frames(&b, sym, (uint64_t)r->pc[k] - 1);
		ct_buf_printf(&b, "\n");
	}
	free(order);
	return ct_buf_take(&b, out, outlen);
}

/* ---- count profiles as text -------------------------------------------- */

static int
gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	size_t cap = inlen * 4 + 4096, n = 0;
	uint8_t *buf = malloc(cap);
	int zr = Z_OK, err = 0;
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)inlen;
	while (buf && zr != Z_STREAM_END) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		z.next_out = buf + n;
		z.avail_out = (uInt)(cap - n);
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
	}
	inflateEnd(&z);
	if (!buf || zr != Z_STREAM_END)
		err = buf ? -EINVAL : -ENOMEM;
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

static const char *
pb_str(const Perftools__Profiles__Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

static const Perftools__Profiles__Location *
pb_loc(const Perftools__Profiles__Profile *p, uint64_t id)
{
	if (id >= 1 && id <= p->n_location && p->location[id - 1]->id == id)
		return p->location[id - 1];
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	return NULL;
}

static const Perftools__Profiles__Function *
pb_fn(const Perftools__Profiles__Profile *p, uint64_t id)
{
	if (id >= 1 && id <= p->n_function && p->function[id - 1]->id == id)
		return p->function[id - 1];
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static int
cmp_label(const void *a, const void *b, void *arg)
{
	const Perftools__Profiles__Profile *p = arg;
	const Perftools__Profiles__Label *x = *(Perftools__Profiles__Label *const *)a;
	const Perftools__Profiles__Label *y = *(Perftools__Profiles__Label *const *)b;
	return strcmp(pb_str(p, x->key), pb_str(p, y->key));
}

int
ct_render_count_text(const char *name, const uint8_t *gz, size_t gzlen, uint8_t **out,
		     size_t *outlen)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	*out = NULL;
	*outlen = 0;
	int err = gunzip(gz, gzlen, &raw, &rawlen);
	if (err)
		return err;
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	free(raw);
	if (!p)
		return -EINVAL;
	struct ct_buf b = {0};
	long long total = 0;
	for (size_t i = 0; i < p->n_sample; i++)
		if (p->sample[i]->n_value)
			total += p->sample[i]->value[0];
	/* Go's printCountProfile: "<name> profile: total N", then per group
	 * "<count> @ <return addresses>", its labels, its frames, a blank. */
	ct_buf_printf(&b, "%s profile: total %lld\n", name, total);
	for (size_t i = 0; i < p->n_sample && !b.err; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		bool addrs = false;
		for (size_t k = 0; k < s->n_location_id; k++) {
			const Perftools__Profiles__Location *l = pb_loc(p, s->location_id[k]);
			addrs |= l && l->address;
		}
		/* pprof's parser needs an address on every group line (Go's own
		 * threadcreate text fails it for that reason): a group without a
		 * known stack is told as a comment. */
		ct_buf_printf(&b, "%s%lld @", addrs ? "" : "# ",
			      s->n_value ? (long long)s->value[0] : 0LL);
		for (size_t k = 0; k < s->n_location_id; k++) {
			const Perftools__Profiles__Location *l = pb_loc(p, s->location_id[k]);
			/* Location addresses are call sites (pc - 1), as Go writes
			 * them; the text has return addresses. */
			if (l && l->address)
				ct_buf_printf(&b, " 0x%" PRIx64, (uint64_t)l->address + 1);
		}
		ct_buf_printf(&b, "\n");
		if (s->n_label) {
			Perftools__Profiles__Label **lab = malloc(s->n_label * sizeof(*lab));
			if (!lab) {
				err = -ENOMEM;
				break;
			}
			memcpy(lab, s->label, s->n_label * sizeof(*lab));
			qsort_r(lab, s->n_label, sizeof(*lab), cmp_label, p);
			ct_buf_printf(&b, "# labels: {");
			for (size_t k = 0; k < s->n_label; k++)
				ct_buf_printf(&b, "%s\"%s\":\"%s\"", k ? ", " : "", pb_str(p, lab[k]->key),
					      pb_str(p, lab[k]->str));
			ct_buf_printf(&b, "}\n");
			free(lab);
		}
		for (size_t k = 0; k < s->n_location_id; k++) {
			const Perftools__Profiles__Location *l = pb_loc(p, s->location_id[k]);
			if (!l)
				continue;
			if (l->n_line == 0)
				ct_buf_printf(&b, "#\t0x%" PRIx64 "\n", (uint64_t)l->address);
			for (size_t j = 0; j < l->n_line; j++) {
				const Perftools__Profiles__Function *f = pb_fn(p, l->line[j]->function_id);
				const char *fn = f ? pb_str(p, f->name) : "?";
				const char *file = f ? pb_str(p, f->filename) : "";
				if (*file)
					ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n",
						      (uint64_t)l->address, fn, file, l->line[j]->line);
				else
					ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\n", (uint64_t)l->address, fn);
			}
		}
		ct_buf_printf(&b, "\n");
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
	if (err) {
		ct_buf_free(&b);
		return err;
	}
	return ct_buf_take(&b, out, outlen);
}

/* ---- delta of two encoded profiles ------------------------------------- */

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Line pb_line;

static int
pb_load(const uint8_t *gz, size_t gzlen, pb_profile **out)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int err = gunzip(gz, gzlen, &raw, &rawlen);
	if (err)
		return err;
	*out = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	free(raw);
	return *out ? 0 : -EINVAL;
}

/* A location as the merge sees it: its address and the function of its
 * first line (addressless synthetic locations differ only by name). */
static void
loc_key(struct ct_buf *b, const pb_profile *p, const pb_location *l)
{
	const pb_function *f = l && l->n_line ? pb_fn(p, l->line[0]->function_id) : NULL;
	ct_buf_printf(b, "%" PRIx64 ":%s|", l ? (uint64_t)l->address : 0,
		      f ? pb_str(p, f->name) : "");
}

/* A sample's identity, as pprof's Merge keys it: its locations and its
 * labels (sorted). malloc'ed, NULL when out of memory. */
static char *
sample_key(const pb_profile *p, const pb_sample *s)
{
	struct ct_buf b = {0};
	for (size_t k = 0; k < s->n_location_id; k++)
		loc_key(&b, p, pb_loc(p, s->location_id[k]));
	ct_buf_add(&b, "#", 1);
	Perftools__Profiles__Label **lab = malloc((s->n_label ? s->n_label : 1) * sizeof(*lab));
	if (!lab) {
		ct_buf_free(&b);
		return NULL;
	}
	memcpy(lab, s->label, s->n_label * sizeof(*lab));
	qsort_r(lab, s->n_label, sizeof(*lab), cmp_label, (void *)p);
	for (size_t k = 0; k < s->n_label; k++)
		ct_buf_printf(&b, "%s=%s/%" PRId64 "%s;", pb_str(p, lab[k]->key), pb_str(p, lab[k]->str),
			      (int64_t)lab[k]->num, pb_str(p, lab[k]->num_unit));
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

/* Growable arrays of the merged profile's extra pieces. */
struct dpb {
	pb_profile *p1;
	char **strs;
	size_t nstrs, capstrs;
	pb_function **fns;
	size_t nfns, capfns;
	pb_location **locs;
	size_t nlocs, caplocs;
};

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

static int64_t
dpb_str(struct dpb *d, const char *s)
{
	for (size_t i = 0; i < d->nstrs; i++)
		if (!strcmp(d->strs[i], s))
			return (int64_t)i;
	if (grow(&d->strs, &d->capstrs, d->nstrs + 1, sizeof(*d->strs)))
		return -1;
	d->strs[d->nstrs] = (char *)s; /* owned by p0, alive until the end */
	return (int64_t)d->nstrs++;
}

/* p1's function for p0's f (same name, system name, file), or a copy. */
static uint64_t
dpb_fn(struct dpb *d, const pb_profile *p0, const pb_function *f)
{
	const char *name = pb_str(p0, f->name), *sys = pb_str(p0, f->system_name),
		   *file = pb_str(p0, f->filename);
	for (size_t i = 0; i < d->nfns; i++) {
		const pb_function *g = d->fns[i];
		if (!strcmp(d->strs[g->name], name) && !strcmp(d->strs[g->system_name], sys) &&
		    !strcmp(d->strs[g->filename], file) && g->start_line == f->start_line)
			return g->id;
	}
	if (grow(&d->fns, &d->capfns, d->nfns + 1, sizeof(*d->fns)))
		return 0;
	pb_function *g = calloc(1, sizeof(*g));
	if (!g)
		return 0;
	perftools__profiles__function__init(g);
	g->id = d->nfns ? d->fns[d->nfns - 1]->id + 1 : 1;
	for (size_t i = 0; i < d->nfns; i++)
		if (d->fns[i]->id >= g->id)
			g->id = d->fns[i]->id + 1;
	g->name = dpb_str(d, name);
	g->system_name = dpb_str(d, sys);
	g->filename = dpb_str(d, file);
	g->start_line = f->start_line;
	if (g->name < 0 || g->system_name < 0 || g->filename < 0) {
		free(g);
		return 0;
	}
	d->fns[d->nfns++] = g;
	return g->id;
}

static uint64_t
next_loc_id(const struct dpb *d)
{
	uint64_t id = 1;
	for (size_t i = 0; i < d->nlocs; i++)
		if (d->locs[i]->id >= id)
			id = d->locs[i]->id + 1;
	return id;
}

/* p1's location for p0's l (same key), or a copy with its functions. */
static uint64_t
dpb_loc(struct dpb *d, const pb_profile *p0, const pb_location *l)
{
	struct ct_buf want = {0}, have = {0};
	loc_key(&want, p0, l);
	uint64_t id = 0;
	for (size_t i = 0; i < d->nlocs && !want.err && !id; i++) {
		have.len = 0;
		const pb_location *m = d->locs[i];
		const pb_function *f = NULL;
		if (m->n_line)
			for (size_t j = 0; j < d->nfns; j++)
				if (d->fns[j]->id == m->line[0]->function_id)
					f = d->fns[j];
		ct_buf_printf(&have, "%" PRIx64 ":%s|", (uint64_t)m->address,
			      f ? d->strs[f->name] : "");
		if (!have.err && !strcmp(have.p, want.p))
			id = m->id;
	}
	ct_buf_free(&want);
	ct_buf_free(&have);
	if (id || grow(&d->locs, &d->caplocs, d->nlocs + 1, sizeof(*d->locs)))
		return id;
	pb_location *m = calloc(1, sizeof(*m));
	/* The pointer array and the lines in one block. */
	pb_line **lines = calloc(l->n_line ? l->n_line : 1, sizeof(*lines) + sizeof(pb_line));
	if (!m || !lines) {
		free(m);
		free(lines);
		return 0;
	}
	pb_line *lv = (pb_line *)(lines + (l->n_line ? l->n_line : 1));
	perftools__profiles__location__init(m);
	m->id = next_loc_id(d);
	m->address = l->address;
	/* The same mapping if p1 has one at that address, else none. */
	for (size_t i = 0; i < d->p1->n_mapping; i++)
		if (l->address >= d->p1->mapping[i]->memory_start &&
		    l->address < d->p1->mapping[i]->memory_limit)
			m->mapping_id = d->p1->mapping[i]->id;
	for (size_t j = 0; j < l->n_line; j++) {
		const pb_function *f = pb_fn(p0, l->line[j]->function_id);
		perftools__profiles__line__init(&lv[j]);
		lv[j].function_id = f ? dpb_fn(d, p0, f) : 0;
		lv[j].line = l->line[j]->line;
		lines[j] = &lv[j];
	}
	m->n_line = l->n_line;
	m->line = lines;
	d->locs[d->nlocs++] = m;
	return m->id;
}

int
ct_render_delta_pb(const uint8_t *gz0, size_t len0, const uint8_t *gz1, size_t len1,
		   int64_t time_nanos, int64_t duration_nanos, uint8_t **out, size_t *outlen)
{
	pb_profile *p0 = NULL, *p1 = NULL;
	struct keyed *k0 = NULL;
	pb_sample **smp = NULL;
	pb_sample *extra = NULL;
	int64_t *vals = NULL;
	uint64_t *ids = NULL;
	struct dpb d = {0};
	size_t nextra = 0, nsmp = 0, nvals = 0, nids = 0;
	uint8_t *raw = NULL;
	int err;

	*out = NULL;
	*outlen = 0;
	err = pb_load(gz0, len0, &p0);
	if (!err)
		err = pb_load(gz1, len1, &p1);
	if (err)
		goto out;
	if (p0->n_sample_type != p1->n_sample_type) {
		err = -EINVAL; /* Merge requires the same sample types */
		goto out;
	}
	size_t nv = p1->n_sample_type;
	k0 = calloc(p0->n_sample ? p0->n_sample : 1, sizeof(*k0));
	bool *used0 = calloc(p0->n_sample ? p0->n_sample : 1, sizeof(*used0));
	smp = calloc(p0->n_sample + p1->n_sample + 1, sizeof(*smp));
	extra = calloc(p0->n_sample + p1->n_sample + 1, sizeof(*extra));
	vals = calloc((p0->n_sample + p1->n_sample + 1) * (nv ? nv : 1), sizeof(*vals));
	if (!k0 || !used0 || !smp || !extra || !vals) {
		free(used0);
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p0->n_sample; i++) {
		k0[i].idx = i;
		k0[i].key = sample_key(p0, p0->sample[i]);
		if (!k0[i].key)
			err = -ENOMEM;
	}
	if (err) {
		free(used0);
		goto out;
	}
	qsort(k0, p0->n_sample, sizeof(*k0), cmp_keyed);

	/* Later minus earlier, sample by sample; all-zero samples dropped. */
	for (size_t i = 0; i < p1->n_sample && !err; i++) {
		const pb_sample *s = p1->sample[i];
		char *key = sample_key(p1, s);
		if (!key) {
			err = -ENOMEM;
			break;
		}
		struct keyed probe = {.key = key};
		struct keyed *hit = p0->n_sample ? bsearch(&probe, k0, p0->n_sample, sizeof(*k0),
							   cmp_keyed) : NULL;
		free(key);
		const pb_sample *s0 = hit ? p0->sample[hit->idx] : NULL;
		if (hit)
			used0[hit->idx] = true;
		int64_t *v = vals + nvals;
		bool zero = true;
		for (size_t j = 0; j < nv; j++) {
			v[j] = (j < s->n_value ? s->value[j] : 0) -
			       (s0 && j < s0->n_value ? s0->value[j] : 0);
			zero &= v[j] == 0;
		}
		if (zero)
			continue;
		nvals += nv;
		extra[nextra] = *s;
		extra[nextra].n_value = nv;
		extra[nextra].value = v;
		smp[nsmp++] = &extra[nextra++];
	}

	/* Earlier samples gone since: kept with negated values, as Go does
	 * (a thread that ended is -1 in a goroutine delta). */
	d.p1 = p1;
	for (size_t i = 0; i < p1->n_string_table && !err; i++)
		if (grow(&d.strs, &d.capstrs, d.nstrs + 1, sizeof(*d.strs)) == 0)
			d.strs[d.nstrs++] = p1->string_table[i];
		else
			err = -ENOMEM;
	for (size_t i = 0; i < p1->n_function && !err; i++)
		if (grow(&d.fns, &d.capfns, d.nfns + 1, sizeof(*d.fns)) == 0)
			d.fns[d.nfns++] = p1->function[i];
		else
			err = -ENOMEM;
	for (size_t i = 0; i < p1->n_location && !err; i++)
		if (grow(&d.locs, &d.caplocs, d.nlocs + 1, sizeof(*d.locs)) == 0)
			d.locs[d.nlocs++] = p1->location[i];
		else
			err = -ENOMEM;
	/* Copied samples: where their location ids start in ids[], fixed up
	 * once ids[] has stopped moving. */
	size_t capids = 0, *first = calloc(p0->n_sample + 1, sizeof(*first));
	size_t *which = calloc(p0->n_sample + 1, sizeof(*which)), ncopied = 0;
	if (!first || !which)
		err = -ENOMEM;
	for (size_t i = 0; i < p0->n_sample && !err; i++) {
		if (used0[i])
			continue;
		const pb_sample *s = p0->sample[i];
		int64_t *v = vals + nvals;
		bool zero = true;
		for (size_t j = 0; j < nv; j++) {
			v[j] = -(j < s->n_value ? s->value[j] : 0);
			zero &= v[j] == 0;
		}
		if (zero)
			continue;
		if (grow(&ids, &capids, nids + s->n_location_id + 1, sizeof(*ids))) {
			err = -ENOMEM;
			break;
		}
		first[ncopied] = nids;
		for (size_t k = 0; k < s->n_location_id && !err; k++) {
			const pb_location *l = pb_loc(p0, s->location_id[k]);
			uint64_t id = l ? dpb_loc(&d, p0, l) : 0;
			if (!id)
				err = -ENOMEM;
			else
				ids[nids++] = id;
		}
		/* Labels, with their strings moved into the merged table. */
		Perftools__Profiles__Label **lab = NULL;
		if (!err && s->n_label) {
			lab = calloc(s->n_label, sizeof(*lab) + sizeof(**lab));
			if (!lab)
				err = -ENOMEM;
		}
		for (size_t k = 0; lab && k < s->n_label && !err; k++) {
			Perftools__Profiles__Label *l = (Perftools__Profiles__Label *)(lab + s->n_label) + k;
			*l = *s->label[k];
			l->key = dpb_str(&d, pb_str(p0, s->label[k]->key));
			l->str = s->label[k]->str ? dpb_str(&d, pb_str(p0, s->label[k]->str)) : 0;
			l->num_unit = s->label[k]->num_unit ? dpb_str(&d, pb_str(p0, s->label[k]->num_unit)) : 0;
			if (l->key < 0 || l->str < 0 || l->num_unit < 0)
				err = -ENOMEM;
			lab[k] = l;
		}
		if (err) {
			free(lab);
			break;
		}
		nvals += nv;
		extra[nextra] = *s;
		extra[nextra].n_value = nv;
		extra[nextra].value = v;
		extra[nextra].n_label = lab ? s->n_label : 0;
		extra[nextra].label = lab;
		extra[nextra].n_location_id = nids - first[ncopied];
		extra[nextra].location_id = NULL;
		which[ncopied++] = nextra;
		smp[nsmp++] = &extra[nextra++];
	}
	free(used0);
	for (size_t c = 0; c < ncopied && !err; c++)
		extra[which[c]].location_id = ids + first[c];
	if (err) {
		for (size_t c = 0; c < ncopied; c++)
			free(extra[which[c]].label);
		free(first);
		free(which);
		goto out;
	}

	pb_profile merged = *p1;
	merged.n_sample = nsmp;
	merged.sample = smp;
	merged.n_string_table = d.nstrs;
	merged.string_table = d.strs;
	merged.n_function = d.nfns;
	merged.function = d.fns;
	merged.n_location = d.nlocs;
	merged.location = d.locs;
	merged.time_nanos = time_nanos;
	merged.duration_nanos = duration_nanos;
	size_t rawlen = perftools__profiles__profile__get_packed_size(&merged);
	raw = malloc(rawlen ? rawlen : 1);
	if (!raw) {
		err = -ENOMEM;
		for (size_t c = 0; c < ncopied; c++)
			free(extra[which[c]].label);
		free(first);
		free(which);
		goto out;
	}
	perftools__profiles__profile__pack(&merged, raw);
	err = ct_gzout_compress(raw, rawlen, out, outlen);
	for (size_t c = 0; c < ncopied; c++)
		free(extra[which[c]].label);
	free(first);
	free(which);
out:
	free(raw);
	for (size_t i = 0; k0 && p0 && i < p0->n_sample; i++)
		free(k0[i].key);
	free(k0);
	free(smp);
	free(extra);
	free(vals);
	free(ids);
	for (size_t i = p1 ? p1->n_function : 0; i < d.nfns; i++)
		free(d.fns[i]);
	for (size_t i = p1 ? p1->n_location : 0; i < d.nlocs; i++) {
		free(d.locs[i]->line);
		free(d.locs[i]);
	}
	free(d.strs);
	free(d.fns);
	free(d.locs);
	if (p0)
		perftools__profiles__profile__free_unpacked(p0, NULL);
	if (p1)
		perftools__profiles__profile__free_unpacked(p1, NULL);
	return err;
}

/* ---- ct_report_render ------------------------------------------------- */

static int
render_proto(const struct ct_snapshot *snap, enum ct_profile_kind kind, uint8_t **out,
	     size_t *outlen)
{
	struct ct_maps maps = {0};
	struct ct_symbolizer *sym = NULL;
	uint8_t *pb = NULL;
	size_t pblen = 0;
	/* As in ct_report_write: without maps or debug info the profile is
	 * still worth having; only running out of memory is fatal. */
	int err = ct_maps_read(&maps);
	if (err == -ENOMEM)
		goto out;
	err = ct_symbolize__new(&sym);
	if (err == -ENOMEM)
		goto out;
	err = ct_pprof_encode(snap, kind, &maps, sym, &pb, &pblen);
	if (err)
		goto out;
	err = ct_gzout_compress(pb, pblen, out, outlen);
out:
	free(pb);
	ct_symbolize__free(sym);
	ct_maps_free(&maps);
	return err;
}

int
ct_report_render(const struct ct_snapshot *snap, const char *name, int debug, uint8_t **out,
		 size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (!snap || !name)
		return -EINVAL;
	if (!strcmp(name, "threads") || !strcmp(name, "goroutine") || !strcmp(name, "threadcreate")) {
		int err = ct_threads_render(snap, name, debug, out, outlen);
		if (err != -EINVAL || debug != 1)
			return err;
		/* Go's debug=1 count text, made from the protobuf when the thread
		 * dump offers no text of its own at that level. */
		uint8_t *pb = NULL;
		size_t pblen = 0;
		err = ct_threads_render(snap, name, 0, &pb, &pblen);
		if (!err)
			err = ct_render_count_text(name, pb, pblen, out, outlen);
		free(pb);
		return err;
	}
	enum ct_profile_kind kind;
	if (!strcmp(name, "mutex"))
		kind = CT_PROF_MUTEX;
	else if (!strcmp(name, "block"))
		kind = CT_PROF_BLOCK;
	else
		return -ENOENT;
	if (debug == 0)
		return render_proto(snap, kind, out, outlen);
	if (debug != 1)
		return -EINVAL;
	struct ct_symbolizer *sym = NULL;
	int err = ct_symbolize__new(&sym);
	if (err == -ENOMEM)
		return err;
	err = ct_render_legacy(snap, kind, sym, out, outlen);
	ct_symbolize__free(sym);
	return err;
}
