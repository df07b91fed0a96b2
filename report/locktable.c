/* The per-lock table; see locktable.h. Reads only what locks.h says a
 * locks profile holds: the lock/role labels, the summary samples' numeric
 * labels and the histogram samples' bucket label. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmp.h"
#include "locktable.h"
#include "pprof_read.h"
#include "round.h"
#include "vec.h"

#define LT_TOP_SITES 3

struct lt_site {
	char *name;
	double count, total;
	int64_t max;
};

struct lt_bucket {
	int64_t lo;
	double w;
};

/* The waits or holds of one lock. */
struct lt_dist {
	double count, total;
	int64_t max;
	uint64_t events;
	struct lt_bucket *b;
	size_t nb, capb;
};

struct lt_lock {
	const char *name, *kind, *named_by, *mutex;
	int64_t objects;
	struct lt_dist wait, hold;
	double held_count, held_delay; /* role holder */
	uint64_t holder_events;
	struct lt_site *waiters, *holders;
	size_t nwaiters, nholders, capwaiters, capholders;
};

struct lt {
	struct lt_lock *v;
	size_t n, cap;
};

static const char *
lt_str(const struct ct_psample *s, const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].str && !strcmp(s->labels[i].key, key))
			return s->labels[i].str;
	return NULL;
}

static bool
lt_num(const struct ct_psample *s, const char *key, int64_t *v)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!s->labels[i].str && !strcmp(s->labels[i].key, key)) {
			*v = s->labels[i].num;
			return true;
		}
	return false;
}

static struct lt_lock *
lt_lock(struct lt *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	if (ct_vec_reserve(&t->v, &t->cap, t->n + 1, sizeof(*t->v)) < 0)
		return NULL;
	struct lt_lock *l = &t->v[t->n++];
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->kind = "";
	l->named_by = "";
	return l;
}

bool
ct_locktable_system_file(const char *path)
{
	return !strncmp(path, "/usr/include/", 13) || !strncmp(path, "/usr/lib/gcc/", 13) ||
	       !strncmp(path, "/usr/local/include/", 19);
}

/* "function (file.c:LINE)" of the sample's site (its one location). */
static char *
lt_site_name(const struct ct_psample *s)
{
	char buf[512];
	if (s->nlocs == 0 || s->locs[0]->nlines == 0) {
		snprintf(buf, sizeof(buf), "0x%" PRIx64, s->nlocs ? s->locs[0]->address : 0);
	} else {
		/* As report/locknames.c names sites: the innermost line not
		 * inlined from a system header. */
		size_t i = 0;
		const struct ct_ploc *loc = s->locs[0];
		while (i + 1 < loc->nlines && ct_locktable_system_file(loc->lines[i].fn->filename))
			i++;
		const struct ct_pline *ln = &loc->lines[i];
		const char *f = strrchr(ln->fn->filename, '/');
		f = f ? f + 1 : ln->fn->filename;
		if (*f && ln->line > 0)
			snprintf(buf, sizeof(buf), "%s (%s:%" PRId64 ")", ln->fn->name, f, ln->line);
		else
			snprintf(buf, sizeof(buf), "%s", ln->fn->name);
	}
	return strdup(buf);
}

static int
lt_add_site(struct lt_site **v, size_t *n, size_t *cap, const struct ct_psample *s, double count,
	    double total, int64_t max)
{
	char *name = lt_site_name(s);
	if (!name)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].name, name)) {
			free(name);
			(*v)[i].count += count;
			(*v)[i].total += total;
			if (max > (*v)[i].max)
				(*v)[i].max = max;
			return 0;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct lt_site *nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv) {
			free(name);
			return -1;
		}
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct lt_site){name, count, total, max};
	return 0;
}

static int
lt_add_bucket(struct lt_dist *d, int64_t lo, double w)
{
	for (size_t i = 0; i < d->nb; i++)
		if (d->b[i].lo == lo) {
			d->b[i].w += w;
			return 0;
		}
	if (d->nb == d->capb) {
		size_t ncap = d->capb ? d->capb * 2 : 16;
		struct lt_bucket *nv = realloc(d->b, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		d->b = nv;
		d->capb = ncap;
	}
	d->b[d->nb++] = (struct lt_bucket){lo, w};
	return 0;
}

CT_CMP_BY_FIELD(lt_cmp_bucket, struct lt_bucket, lo)

/* The upper bound of the bucket starting at lo (4 per power of two from
 * 1024 ns; below that one bucket). */
static int64_t
lt_bucket_hi(int64_t lo)
{
	if (lo < 1024)
		return 1024;
	int o = 63 - __builtin_clzll((unsigned long long)lo);
	return lo + ((int64_t)1 << (o >= 2 ? o - 2 : 0));
}

/* The q-quantile (0..1) of d's histogram, linear inside its bucket and
 * capped at the max seen. */
static int64_t
lt_quantile(const struct lt_dist *d, double q)
{
	double total = 0, acc = 0;
	for (size_t i = 0; i < d->nb; i++)
		total += d->b[i].w;
	if (!(total > 0))
		return 0;
	double want = q * total;
	for (size_t i = 0; i < d->nb; i++) {
		if (acc + d->b[i].w >= want) {
			double frac = d->b[i].w > 0 ? (want - acc) / d->b[i].w : 0;
			int64_t lo = d->b[i].lo, hi = lt_bucket_hi(lo);
			int64_t v = lo + (int64_t)((double)(hi - lo) * frac);
			if (d->max > 0 && v > d->max)
				v = d->max;
			return v;
		}
		acc += d->b[i].w;
	}
	return d->max;
}

/* Adds sample s, of the given role, to lock l; -1 when out of memory. */
static int
lt_add_sample(struct lt_lock *l, const struct ct_psample *s, const char *role)
{
	const char *v;
	int64_t num, bucket;
	if ((v = lt_str(s, "lock_kind")))
		l->kind = v;
	if ((v = lt_str(s, "named_by")))
		l->named_by = v;
	if ((v = lt_str(s, "mutex")))
		l->mutex = v;
	if (lt_num(s, "objects", &num) && num > l->objects)
		l->objects = num;
	double c = (double)s->values[0], d = (double)s->values[1];
	bool is_bucket = lt_num(s, "wait_bucket", &bucket) || lt_num(s, "hold_bucket", &bucket);
	if (!strcmp(role, "holder")) {
		l->held_count += c;
		l->held_delay += d;
		if (lt_num(s, "events", &num))
			l->holder_events += (uint64_t)num;
		if (lt_add_site(&l->holders, &l->nholders, &l->capholders, s, c, d, 0) < 0)
			return -1;
		return 0;
	}
	struct lt_dist *dist;
	if (!strcmp(role, "wait"))
		dist = &l->wait;
	else if (!strcmp(role, "hold"))
		dist = &l->hold;
	else
		return 0; /* a role of a later version */
	dist->count += c;
	dist->total += d;
	if (is_bucket) {
		if (lt_add_bucket(dist, bucket, c) < 0)
			return -1;
	} else {
		int64_t mx = 0;
		if (lt_num(s, "events", &num))
			dist->events += (uint64_t)num;
		if (lt_num(s, "max", &mx) && mx > dist->max)
			dist->max = mx;
		if (dist == &l->wait &&
		    lt_add_site(&l->waiters, &l->nwaiters, &l->capwaiters, s, 0, d, mx) < 0)
			return -1;
	}
	/* A bucket sample's count belongs to its site too. */
	if (is_bucket && dist == &l->wait &&
	    lt_add_site(&l->waiters, &l->nwaiters, &l->capwaiters, s, c, 0, 0) < 0)
		return -1;
	return 0;
}

static int
lt_collect(struct lt *t, const struct ct_profile *p, char *err, size_t errlen)
{
	if (p->ntypes != 2) {
		snprintf(err, errlen, "not a libcontend locks profile (%zu sample types, expected "
				      "contentions and delay)", p->ntypes);
		return -1;
	}
	/* An empty profile is a locks profile only if it says so (an empty
	 * mutex.pb.gz is not one). */
	bool says = false;
	for (size_t i = 0; i < p->ncomments; i++)
		says |= !strncmp(p->comments[i], "libcontend locks profile", 24);
	if (p->nsamples == 0 && !says) {
		snprintf(err, errlen, "not a libcontend locks profile (no samples, and no comment "
				      "saying it is one)");
		return -1;
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct ct_psample *s = &p->samples[i];
		const char *name = lt_str(s, "lock"), *role = lt_str(s, "role");
		if (!name || !role) {
			snprintf(err, errlen, "not a libcontend locks profile (a sample without lock "
					      "and role labels)");
			return -1;
		}
		struct lt_lock *l = lt_lock(t, name);
		if (!l)
			goto nomem;
		if (lt_add_sample(l, s, role) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < t->n; i++) {
		qsort(t->v[i].wait.b, t->v[i].wait.nb, sizeof(struct lt_bucket), lt_cmp_bucket);
		qsort(t->v[i].hold.b, t->v[i].hold.nb, sizeof(struct lt_bucket), lt_cmp_bucket);
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

CT_CMP(lt_cmp_lock, struct lt_lock)
{
	if (x->wait.total != y->wait.total)
		return x->wait.total > y->wait.total ? -1 : 1;
	if (x->held_delay != y->held_delay)
		return x->held_delay > y->held_delay ? -1 : 1;
	return strcmp(x->name, y->name);
}

CT_CMP(lt_cmp_site, struct lt_site)
{
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
lt_free(struct lt *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct lt_lock *l = &t->v[i];
		for (size_t j = 0; j < l->nwaiters; j++)
			free(l->waiters[j].name);
		for (size_t j = 0; j < l->nholders; j++)
			free(l->holders[j].name);
		free(l->waiters);
		free(l->holders);
		free(l->wait.b);
		free(l->hold.b);
	}
	free(t->v);
}

/* A duration for people: 812ns, 1.05us, 12.3ms, 2.50s. */
static const char *
lt_dur(char *buf, size_t len, double ns)
{
	static const struct {
		double div;
		const char *unit;
	} u[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (ns >= u[i].div) {
			double v = ns / u[i].div;
			snprintf(buf, len, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v,
				 u[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%.0fns", ns);
	return buf;
}

static void
lt_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static int64_t
lt_i(double v)
{
	return v > 0 ? ct_round_i64(v) : 0;
}

static void
lt_print_json(FILE *out, const struct lt_lock *l)
{
	const struct lt_dist *w = &l->wait, *h = &l->hold;
	fputs("{\"lock\":", out);
	lt_json_str(out, l->name);
	fputs(",\"kind\":", out);
	lt_json_str(out, l->kind);
	fputs(",\"named_by\":", out);
	lt_json_str(out, l->named_by);
	if (l->mutex) {
		fputs(",\"mutex\":", out);
		lt_json_str(out, l->mutex);
	}
	fprintf(out,
		",\"objects\":%" PRId64 ",\"contentions\":%" PRId64 ",\"wait_ns\":%" PRId64
		",\"avg_ns\":%" PRId64 ",\"p50_ns\":%" PRId64 ",\"p99_ns\":%" PRId64
		",\"max_ns\":%" PRId64 ",\"events\":%" PRIu64,
		l->objects, lt_i(w->count), lt_i(w->total),
		w->count > 0 ? lt_i(w->total / w->count) : 0, lt_quantile(w, 0.5),
		lt_quantile(w, 0.99), w->max, w->events);
	if (h->events)
		fprintf(out,
			",\"hold_count\":%" PRId64 ",\"hold_ns\":%" PRId64 ",\"hold_max_ns\":%" PRId64
			",\"hold_p50_ns\":%" PRId64 ",\"hold_p99_ns\":%" PRId64
			",\"hold_events\":%" PRIu64,
			lt_i(h->count), lt_i(h->total), h->max, lt_quantile(h, 0.5),
			lt_quantile(h, 0.99), h->events);
	fprintf(out, ",\"charged_ns\":%" PRId64 ",\"waiters\":[", lt_i(l->held_delay));
	for (size_t i = 0; i < l->nwaiters; i++) {
		fputs(i ? ",{\"site\":" : "{\"site\":", out);
		lt_json_str(out, l->waiters[i].name);
		fprintf(out, ",\"contentions\":%" PRId64 ",\"wait_ns\":%" PRId64 ",\"max_ns\":%" PRId64 "}",
			lt_i(l->waiters[i].count), lt_i(l->waiters[i].total), l->waiters[i].max);
	}
	fputs("],\"holders\":[", out);
	for (size_t i = 0; i < l->nholders; i++) {
		fputs(i ? ",{\"site\":" : "{\"site\":", out);
		lt_json_str(out, l->holders[i].name);
		fprintf(out, ",\"contentions\":%" PRId64 ",\"delay_ns\":%" PRId64 "}",
			lt_i(l->holders[i].count), lt_i(l->holders[i].total));
	}
	fputs("]}\n", out);
}

static void
lt_print_row(FILE *out, const struct lt_lock *l, int namew)
{
	const struct lt_dist *w = &l->wait, *h = &l->hold;
	char t[7][32];
	char kind[64];
	snprintf(kind, sizeof(kind), "%s", l->kind[0] ? l->kind : "?");
	fprintf(out, "%-*s %-16s %11" PRId64 " %9s %9s %9s %9s %9s %9s %9s\n", namew, l->name, kind,
		lt_i(w->count), lt_dur(t[0], 32, w->total),
		w->count > 0 ? lt_dur(t[1], 32, w->total / w->count) : "-",
		w->events ? lt_dur(t[2], 32, (double)lt_quantile(w, 0.5)) : "-",
		w->events ? lt_dur(t[3], 32, (double)lt_quantile(w, 0.99)) : "-",
		w->events ? lt_dur(t[4], 32, (double)w->max) : "-",
		h->events ? lt_dur(t[5], 32, h->total) : "-",
		h->events ? lt_dur(t[6], 32, (double)h->max) : "-");
	fprintf(out, "    %" PRIu64 " waits recorded", w->events);
	if (h->events)
		fprintf(out, ", %" PRIu64 " holds after a wait", h->events);
	if (l->objects > 1)
		fprintf(out, "; %" PRId64 " objects named so (%s)", l->objects, l->named_by);
	else
		fprintf(out, "; named by %s", l->named_by);
	if (l->mutex)
		fprintf(out, "; with mutex %s", l->mutex);
	fputc('\n', out);
	for (size_t i = 0; i < l->nholders && i < LT_TOP_SITES; i++)
		fprintf(out, "    %-8s %-44s %9s\n", i ? "" : "holders", l->holders[i].name,
			lt_dur(t[0], 32, l->holders[i].total));
	for (size_t i = 0; i < l->nwaiters && i < LT_TOP_SITES; i++)
		fprintf(out, "    %-8s %-44s %9s\n", i ? "" : "waiters", l->waiters[i].name,
			lt_dur(t[0], 32, l->waiters[i].total));
}

/* p's locks into t, sorted as shown. 0, or -1 with t freed and a reason
 * in err. */
static int
lt_collect_sorted(struct lt *t, const struct ct_profile *p, char *err, size_t errlen)
{
	if (lt_collect(t, p, err, errlen) < 0) {
		lt_free(t);
		return -1;
	}
	qsort(t->v, t->n, sizeof(*t->v), lt_cmp_lock);
	return 0;
}

int
ct_locktable_print(FILE *out, const struct ct_profile *p, bool json, char *err, size_t errlen)
{
	struct lt t = {0};
	if (lt_collect_sorted(&t, p, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < t.n; i++) {
		qsort(t.v[i].waiters, t.v[i].nwaiters, sizeof(struct lt_site), lt_cmp_site);
		qsort(t.v[i].holders, t.v[i].nholders, sizeof(struct lt_site), lt_cmp_site);
	}
	/* The name column fits the longest name, within reason. */
	int namew = 28;
	for (size_t i = 0; i < t.n; i++)
		if ((int)strlen(t.v[i].name) > namew)
			namew = (int)strlen(t.v[i].name) > 60 ? 60 : (int)strlen(t.v[i].name);
	if (!json) {
		for (size_t i = 0; i < p->ncomments; i++)
			fprintf(out, "# %s\n", p->comments[i]);
		if (t.n == 0)
			fprintf(out, "no lock contention recorded\n");
		else
			fprintf(out, "%-*s %-16s %11s %9s %9s %9s %9s %9s %9s %9s\n", namew, "LOCK", "KIND",
				"CONTENTIONS", "WAIT", "AVG", "P50", "P99", "MAX", "HOLD", "HOLD MAX");
	}
	for (size_t i = 0; i < t.n; i++) {
		if (json)
			lt_print_json(out, &t.v[i]);
		else
			lt_print_row(out, &t.v[i], namew);
	}
	lt_free(&t);
	return 0;
}

int
ct_locktable_summary(FILE *out, const struct ct_profile *p, size_t max, char *err, size_t errlen)
{
	struct lt t = {0};
	if (lt_collect_sorted(&t, p, err, errlen) < 0)
		return -1;
	size_t shown = 0;
	for (size_t i = 0; i < t.n && shown < max; i++) {
		const struct lt_lock *l = &t.v[i];
		const struct lt_dist *w = &l->wait;
		char a[32], b[32], c[32], d[32];
		if (!w->events)
			continue; /* charged holders only: in the mutex lines above */
		fprintf(out, "  %10s  %s  %s, %" PRId64 " waits, p50 %s, p99 %s, max %s\n",
			lt_dur(a, sizeof(a), w->total), l->name, l->kind[0] ? l->kind : "?",
			lt_i(w->count), lt_dur(b, sizeof(b), (double)lt_quantile(w, 0.5)),
			lt_dur(c, sizeof(c), (double)lt_quantile(w, 0.99)),
			lt_dur(d, sizeof(d), (double)w->max));
		shown++;
	}
	lt_free(&t);
	return (int)shown;
}

int
ct_locktable_render_pb(const void *data, size_t len, bool json, uint8_t **out, size_t *outlen)
{
	struct ct_profile *p = NULL;
	char err[256];
	char *buf = NULL;
	size_t blen = 0;
	*out = NULL;
	*outlen = 0;
	if (ct_profile_parse(data, len, &p, err, sizeof(err)) < 0)
		return -EINVAL;
	FILE *f = open_memstream(&buf, &blen);
	if (!f) {
		ct_profile_free(p);
		return -ENOMEM;
	}
	int r = ct_locktable_print(f, p, json, err, sizeof(err));
	if (fclose(f) != 0 && r == 0)
		r = -1;
	ct_profile_free(p);
	if (r < 0) {
		free(buf);
		return -EINVAL;
	}
	*out = (uint8_t *)buf;
	*outlen = blen;
	return 0;
}
