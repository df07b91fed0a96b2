/* The pprof reader: gunzip, protobuf-c decode, validation, id resolution,
 * labels (see pprof_read.h). Owns nothing global; every failure path frees
 * what it built and says what was wrong. */
#include "pprof_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cmp.h"
#include "profile.pb-c.h"
#include "vec.h"

typedef Perftools__Profiles__Profile pb_profile;

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* gzip */

static bool
is_gzip(const uint8_t *d, size_t len)
{
	return len >= 2 && d[0] == 0x1f && d[1] == 0x8b;
}

/* Doubles the output buffer *buf of *cap bytes, up to
 * CT_PROFILE_MAX_BYTES; -1 with a reason in err at that limit or when out
 * of memory. */
static int
gunzip_grow(uint8_t **buf, size_t *cap, char *err, size_t errlen)
{
	if (*cap >= CT_PROFILE_MAX_BYTES) {
		seterr(err, errlen, "decompresses to more than %u MiB; not a profile",
		       CT_PROFILE_MAX_BYTES >> 20);
		return -1;
	}
	size_t ncap = *cap * 2 > CT_PROFILE_MAX_BYTES ? CT_PROFILE_MAX_BYTES : *cap * 2;
	uint8_t *nb = realloc(*buf, ncap);
	if (!nb) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	*buf = nb;
	*cap = ncap;
	return 0;
}

int
ct_gunzip(const void *inp, size_t len, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	const uint8_t *in = inp;
	z_stream z;
	size_t cap = len * 4 + 4096, n = 0;
	uint8_t *buf = NULL;
	int err_ret = -1;

	if (!is_gzip(in, len)) {
		seterr(err, errlen, "not gzip data (no gzip header)");
		return -1;
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		seterr(err, errlen, "cannot initialise zlib");
		return -1;
	}
	if (cap > CT_PROFILE_MAX_BYTES)
		cap = CT_PROFILE_MAX_BYTES;
	buf = malloc(cap);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	for (;;) {
		if (n == cap && gunzip_grow(&buf, &cap, err, errlen) < 0)
			goto out;
		size_t room = cap - n;
		z.next_out = buf + n;
		z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
		int r = inflate(&z, Z_NO_FLUSH);
		n = (size_t)(z.next_out - buf);
		if (r == Z_STREAM_END) {
			size_t used = (size_t)(z.next_in - in);
			if (used == len)
				break;
			/* Another member (Go's reader accepts concatenated gzip). */
			if (!is_gzip(in + used, len - used)) {
				seterr(err, errlen, "corrupt gzip data (trailing bytes after the compressed stream)");
				goto out;
			}
			if (inflateReset(&z) != Z_OK) {
				seterr(err, errlen, "cannot reset zlib");
				goto out;
			}
			z.avail_in = (len - used) > UINT32_MAX ? UINT32_MAX : (uInt)(len - used);
			continue;
		}
		if (r == Z_OK)
			continue;
		if (r == Z_BUF_ERROR && z.avail_out != 0) {
			seterr(err, errlen, "truncated gzip data (the file ends inside the compressed stream)");
			goto out;
		}
		if (r == Z_BUF_ERROR)
			continue; /* output full: grow */
		seterr(err, errlen, "corrupt gzip data (%s)", z.msg ? z.msg : "inflate failed");
		goto out;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
	err_ret = 0;
out:
	inflateEnd(&z);
	free(buf);
	return err_ret;
}

/* ------------------------------------------------------------------ */
/* ids */

struct idref {
	uint64_t id;
	size_t index;
};

CT_CMP_BY_FIELD(cmp_idref, struct idref, id)

static long
find_id(const struct idref *v, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].id == id)
			return (long)v[mid].index;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Sorted id index of n records; rejects id 0 and duplicates. */
static struct idref *
index_ids(const char *what, size_t n, uint64_t (*id_of)(const void *, size_t), const void *arr,
	  char *err, size_t errlen)
{
	struct idref *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].id = id_of(arr, i);
		v[i].index = i;
		if (v[i].id == 0) {
			seterr(err, errlen, "malformed profile: %s %zu has the reserved id 0", what, i);
			free(v);
			return NULL;
		}
	}
	qsort(v, n, sizeof(*v), cmp_idref);
	for (size_t i = 1; i < n; i++) {
		if (v[i].id == v[i - 1].id) {
			seterr(err, errlen, "malformed profile: two %ss have the id %llu", what,
			       (unsigned long long)v[i].id);
			free(v);
			return NULL;
		}
	}
	return v;
}

static uint64_t
map_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Mapping *const *)arr)[i]->id;
}

static uint64_t
loc_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Location *const *)arr)[i]->id;
}

static uint64_t
fn_id(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Function *const *)arr)[i]->id;
}

/* ------------------------------------------------------------------ */

struct strtab {
	char **s;
	size_t n;
	char *err;
	size_t errlen;
	bool bad;
};

/* Resolves a string index, flagging (once) an index out of range. */
static const char *
str_at(struct strtab *t, int64_t idx, const char *what)
{
	if (idx < 0 || (uint64_t)idx >= t->n) {
		if (!t->bad)
			seterr(t->err, t->errlen,
			       "malformed profile: %s refers to string %lld, but the string table has %zu entries",
			       what, (long long)idx, t->n);
		t->bad = true;
		return "";
	}
	return t->s[idx] ? t->s[idx] : "";
}

void
ct_profile_free(struct ct_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsamples; i++) {
		free(p->samples[i].locs);
		free(p->samples[i].labels);
	}
	for (size_t i = 0; i < p->nlocs; i++)
		free(p->locs[i].lines);
	CT_FREE_ALL(p->samples, p->locs, p->funcs, p->maps, p->types, p->units, p->comments);
	if (p->pb)
		perftools__profiles__profile__free_unpacked(p->pb, NULL);
	free(p);
}

/* One resolution in progress: the message, the view being built, the
 * id indexes, and where errors go. Each step below returns 0, or -1 with
 * err set. */
struct resolver {
	const pb_profile *pb;
	struct ct_profile *p;
	struct strtab st;
	struct idref *maps, *locs, *fns;
	char *err;
	size_t errlen;
};

static int
oom(struct resolver *r)
{
	seterr(r->err, r->errlen, "out of memory");
	return -1;
}

/* The n items of one of pb's tables (what: "mapping" ...): their id index
 * into *index, and p's table of as many elsz-byte entries (one spare: no
 * zero-sized calloc) into *table, n into *count. 0, or -1 with the reason
 * in r->err. */
static int
resolve_table(struct resolver *r, const char *what, size_t n,
	      uint64_t (*id_of)(const void *, size_t), const void *items, struct idref **index,
	      void *table, size_t *count, size_t elsz)
{
	void **t = table;

	if (!(*index = index_ids(what, n, id_of, items, r->err, r->errlen)))
		return -1;
	*count = n;
	*t = calloc(n + 1, elsz);
	return *t ? 0 : oom(r);
}

/* The index of the item with id among the n of index, which the from_n-th
 * (or id from_n) `from` refers to as a `to`; -1, with the reason in
 * r->err, if there is none. */
static long
find_ref(struct resolver *r, const struct idref *index, size_t n, uint64_t id, const char *from,
	 unsigned long long from_n, const char *to)
{
	long at = find_id(index, n, id);

	if (at < 0)
		seterr(r->err, r->errlen, "dangling id: %s %llu refers to %s %llu, which does not exist",
		       from, from_n, to, (unsigned long long)id);
	return at;
}

/* Sample types, period, header fields. */
static int
resolve_header(struct resolver *r)
{
	const pb_profile *pb = r->pb;
	struct ct_profile *p = r->p;
	struct strtab *st = &r->st;

	if (pb->n_string_table == 0) {
		seterr(r->err, r->errlen, "not a pprof profile (it has no string table)");
		return -1;
	}
	if (pb->string_table[0] && pb->string_table[0][0]) {
		seterr(r->err, r->errlen, "not a pprof profile (its string table does not start with \"\")");
		return -1;
	}
	p->ntypes = pb->n_sample_type;
	p->types = calloc(p->ntypes + 1, sizeof(*p->types));
	p->units = calloc(p->ntypes + 1, sizeof(*p->units));
	if (!p->types || !p->units)
		return oom(r);
	for (size_t i = 0; i < p->ntypes; i++) {
		p->types[i] = str_at(st, pb->sample_type[i]->type, "a sample type");
		p->units[i] = str_at(st, pb->sample_type[i]->unit, "a sample type unit");
	}
	p->period_type = pb->period_type ? str_at(st, pb->period_type->type, "the period type") : "";
	p->period_unit = pb->period_type ? str_at(st, pb->period_type->unit, "the period unit") : "";
	p->period = pb->period;
	p->time_nanos = pb->time_nanos;
	p->duration_nanos = pb->duration_nanos;
	p->drop_frames = str_at(st, pb->drop_frames, "drop_frames");
	p->keep_frames = str_at(st, pb->keep_frames, "keep_frames");
	p->ncomments = pb->n_comment;
	p->comments = calloc(p->ncomments + 1, sizeof(*p->comments));
	if (!p->comments)
		return oom(r);
	for (size_t i = 0; i < p->ncomments; i++)
		p->comments[i] = str_at(st, pb->comment[i], "a comment");
	p->default_type = p->ntypes ? p->ntypes - 1 : 0;
	if (pb->default_sample_type) {
		const char *d = str_at(st, pb->default_sample_type, "default_sample_type");
		for (size_t i = 0; i < p->ntypes; i++)
			if (!strcmp(p->types[i], d))
				p->default_type = i;
	}
	str_at(st, pb->doc_url, "doc_url");
	return st->bad ? -1 : 0;
}

/* Mappings and functions, with their id indexes. */
static int
resolve_maps_funcs(struct resolver *r)
{
	const pb_profile *pb = r->pb;
	struct ct_profile *p = r->p;

	if (resolve_table(r, "mapping", pb->n_mapping, map_id, pb->mapping, &r->maps, &p->maps,
			  &p->nmaps, sizeof(*p->maps)) < 0)
		return -1;
	for (size_t i = 0; i < p->nmaps; i++) {
		const Perftools__Profiles__Mapping *m = pb->mapping[i];
		p->maps[i] = (struct ct_pmap){.id = m->id, .start = m->memory_start,
					      .limit = m->memory_limit, .offset = m->file_offset,
					      .file = str_at(&r->st, m->filename, "a mapping file name"),
					      .build_id = str_at(&r->st, m->build_id, "a mapping build id")};
	}
	if (resolve_table(r, "function", pb->n_function, fn_id, pb->function, &r->fns, &p->funcs,
			  &p->nfuncs, sizeof(*p->funcs)) < 0)
		return -1;
	for (size_t i = 0; i < p->nfuncs; i++) {
		const Perftools__Profiles__Function *f = pb->function[i];
		p->funcs[i] = (struct ct_pfunc){.id = f->id,
						.name = str_at(&r->st, f->name, "a function name"),
						.system_name = str_at(&r->st, f->system_name, "a function system name"),
						.filename = str_at(&r->st, f->filename, "a function file name"),
						.start_line = f->start_line};
	}
	return r->st.bad ? -1 : 0;
}

/* Locations: their mapping and the function of each line. */
static int
resolve_locs(struct resolver *r)
{
	const pb_profile *pb = r->pb;
	struct ct_profile *p = r->p;

	if (resolve_table(r, "location", pb->n_location, loc_id, pb->location, &r->locs, &p->locs,
			  &p->nlocs, sizeof(*p->locs)) < 0)
		return -1;
	for (size_t i = 0; i < p->nlocs; i++) {
		const Perftools__Profiles__Location *l = pb->location[i];
		struct ct_ploc *dl = &p->locs[i];
		dl->id = l->id;
		dl->index = i;
		dl->address = l->address;
		if (l->mapping_id) {
			long mi = find_ref(r, r->maps, p->nmaps, l->mapping_id, "location", l->id,
					   "mapping");
			if (mi < 0)
				return -1;
			dl->map = &p->maps[mi];
		}
		dl->nlines = l->n_line;
		dl->lines = calloc(l->n_line + 1, sizeof(*dl->lines));
		if (!dl->lines)
			return oom(r);
		for (size_t j = 0; j < l->n_line; j++) {
			long fi = find_ref(r, r->fns, p->nfuncs, l->line[j]->function_id, "location",
					   l->id, "function");
			if (fi < 0)
				return -1;
			dl->lines[j] = (struct ct_pline){.fn = &p->funcs[fi], .line = l->line[j]->line};
		}
	}
	return 0;
}

/* Sample i: its values, locations and labels. */
static int
resolve_sample(struct resolver *r, size_t i)
{
	const Perftools__Profiles__Sample *s = r->pb->sample[i];
	struct ct_profile *p = r->p;
	struct ct_psample *ds = &p->samples[i];

	if (s->n_value != p->ntypes) {
		seterr(r->err, r->errlen, "malformed profile: sample %zu has %zu values for %zu sample types",
		       i, s->n_value, p->ntypes);
		return -1;
	}
	ds->values = s->value;
	ds->nlocs = s->n_location_id;
	ds->locs = calloc(s->n_location_id + 1, sizeof(*ds->locs));
	if (!ds->locs)
		return oom(r);
	for (size_t j = 0; j < s->n_location_id; j++) {
		long li = find_ref(r, r->locs, p->nlocs, s->location_id[j], "sample", i, "location");
		if (li < 0)
			return -1;
		ds->locs[j] = &p->locs[li];
	}
	ds->labels = calloc(s->n_label + 1, sizeof(*ds->labels));
	if (!ds->labels)
		return oom(r);
	for (size_t j = 0; j < s->n_label; j++) {
		const Perftools__Profiles__Label *l = s->label[j];
		struct ct_plabel lb = {.key = str_at(&r->st, l->key, "a label key"), .num = l->num,
				       .unit = str_at(&r->st, l->num_unit, "a label unit")};
		/* As pprof: a label with neither a string nor a number is dropped. */
		if (l->str)
			lb.str = str_at(&r->st, l->str, "a label value");
		else if (!l->num)
			continue;
		ds->labels[ds->nlabels++] = lb;
	}
	return r->st.bad ? -1 : 0;
}

static int
resolve_samples(struct resolver *r)
{
	struct ct_profile *p = r->p;
	if (r->pb->n_sample && !p->ntypes) {
		seterr(r->err, r->errlen, "malformed profile: it has samples but no sample types");
		return -1;
	}
	p->nsamples = r->pb->n_sample;
	p->samples = calloc(p->nsamples + 1, sizeof(*p->samples));
	if (!p->samples)
		return oom(r);
	for (size_t i = 0; i < p->nsamples; i++)
		if (resolve_sample(r, i) < 0)
			return -1;
	return 0;
}

/* Resolves and checks a decoded message; takes ownership of pb. */
static int
resolve(pb_profile *pb, struct ct_profile **out, char *err, size_t errlen)
{
	struct resolver r = {.pb = pb, .err = err, .errlen = errlen,
			     .st = {.s = pb->string_table, .n = pb->n_string_table, .err = err,
				    .errlen = errlen}};
	if (!(r.p = calloc(1, sizeof(*r.p)))) {
		perftools__profiles__profile__free_unpacked(pb, NULL);
		return oom(&r);
	}
	r.p->pb = pb;
	int ret = resolve_header(&r) < 0 || resolve_maps_funcs(&r) < 0 || resolve_locs(&r) < 0 ||
			  resolve_samples(&r) < 0 ? -1 : 0;
	free(r.maps);
	free(r.locs);
	free(r.fns);
	if (ret < 0)
		ct_profile_free(r.p);
	else
		*out = r.p;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Why protobuf-c refused a message: a walk over its top-level fields
 * (wire format only) names the first one that is truncated or has a wire
 * type its field cannot have; past that, the fault is inside a nested
 * message. Says nothing protobuf-c would not check; only words it. */

/* The Profile fields by number: 1-6 and 11 are length-delimited
 * (messages, strings), the others varints, except that comment (13) may
 * also come packed (length-delimited). */
static const char *const pb_field_names[16] = {
	NULL, "sample_type", "sample", "mapping", "location", "function", "string_table",
	"drop_frames", "keep_frames", "time_nanos", "duration_nanos", "period_type", "period",
	"comment", "default_sample_type", "doc_url",
};

static bool
pb_varint(const uint8_t *d, size_t len, size_t *at, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*at >= len)
			return false;
		uint8_t b = d[(*at)++];
		*v |= shift < 64 ? (uint64_t)(b & 0x7f) << shift : 0;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static void
pb_diagnose(const uint8_t *d, size_t len, char *why, size_t whylen)
{
	size_t at = 0;
	while (at < len) {
		size_t start = at;
		uint64_t key, n;
		if (!pb_varint(d, len, &at, &key)) {
			snprintf(why, whylen, "a field key at byte %zu is truncated", start);
			return;
		}
		uint64_t field = key >> 3;
		unsigned wt = key & 7;
		const char *name = field < 16 && pb_field_names[field] ? pb_field_names[field] : "unknown";
		bool lendelim = (field >= 1 && field <= 6) || field == 11;
		bool scalar = field >= 7 && field <= 15 && field != 11;
		if (field == 0 || (lendelim && wt != 2) || (scalar && wt != 0 && !(field == 13 && wt == 2))) {
			snprintf(why, whylen, "bad protobuf field %llu (%s) at byte %zu: wire type %u",
				 (unsigned long long)field, name, start, wt);
			return;
		}
		bool ok = true;
		switch (wt) {
		case 0:
			ok = pb_varint(d, len, &at, &n);
			break;
		case 1:
			ok = len - at >= 8;
			at += ok ? 8 : 0;
			break;
		case 2:
			ok = pb_varint(d, len, &at, &n) && n <= len - at;
			at += ok ? n : 0;
			break;
		case 5:
			ok = len - at >= 4;
			at += ok ? 4 : 0;
			break;
		default:
			snprintf(why, whylen, "bad protobuf field %llu (%s) at byte %zu: wire type %u",
				 (unsigned long long)field, name, start, wt);
			return;
		}
		if (!ok) {
			snprintf(why, whylen, "field %llu (%s) at byte %zu is truncated",
				 (unsigned long long)field, name, start);
			return;
		}
	}
	snprintf(why, whylen, "a nested message (sample, mapping, location, function) is malformed");
}

int
ct_profile_parse(const void *data, size_t len, struct ct_profile **out, char *err, size_t errlen)
{
	const uint8_t *d = data;
	uint8_t *raw = NULL;
	size_t rawlen = len;
	pb_profile *pb;
	bool gz = is_gzip(d, len);

	*out = NULL;
	if (len == 0) {
		seterr(err, errlen, "empty file (expected a gzip'd pprof profile, .pb.gz)");
		return -1;
	}
	if (gz) {
		if (ct_gunzip(d, len, &raw, &rawlen, err, errlen) < 0)
			return -1;
		d = raw;
		if (rawlen == 0) {
			free(raw);
			seterr(err, errlen, "not a pprof profile (the gzip data is empty)");
			return -1;
		}
	}
	pb = perftools__profiles__profile__unpack(NULL, rawlen, d);
	if (!pb) {
		char why[160];
		pb_diagnose(d, rawlen, why, sizeof(why));
		if (gz)
			seterr(err, errlen, "not a pprof profile (the gzip data does not decode as a "
					    "perftools.profiles.Profile protobuf: %s)", why);
		else
			seterr(err, errlen, "not a gzip'd pprof profile (no gzip header, and not a raw "
					    "profile protobuf either: %s)", why);
		free(raw);
		return -1;
	}
	free(raw);
	if (!gz && pb->n_string_table == 0) {
		perftools__profiles__profile__free_unpacked(pb, NULL);
		seterr(err, errlen, "not a gzip'd pprof profile (no gzip header, and not a raw "
				    "profile protobuf either)");
		return -1;
	}
	return resolve(pb, out, err, errlen);
}

void *
ct_profile_release_pb(struct ct_profile *p)
{
	if (!p)
		return NULL;
	void *pb = p->pb;
	p->pb = NULL;
	ct_profile_free(p);
	return pb;
}

int
ct_profile_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f) {
		seterr(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= CT_PROFILE_MAX_BYTES) {
				seterr(err, errlen, "larger than %u MiB; not a profile",
				       CT_PROFILE_MAX_BYTES >> 20);
				goto fail;
			}
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				seterr(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				seterr(err, errlen, "cannot read: %s", strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	*data = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

int
ct_profile_load(const char *path, struct ct_profile **out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t n;

	*out = NULL;
	if (ct_profile_read_file(path, &buf, &n, err, errlen) < 0)
		return -1;
	int ret = ct_profile_parse(buf, n, out, err, errlen);
	free(buf);
	return ret;
}

const char *
ct_profile_string(const struct ct_profile *p, int64_t idx)
{
	const pb_profile *pb = p->pb;
	if (!pb || idx < 0 || (uint64_t)idx >= pb->n_string_table || !pb->string_table[idx])
		return "";
	return pb->string_table[idx];
}

int
ct_profile_sample_index(const struct ct_profile *p, const char *name, size_t *idx, char *err,
			size_t errlen)
{
	if (p->ntypes == 0) {
		seterr(err, errlen, "the profile has no sample types");
		return -1;
	}
	if (!name || !*name) {
		*idx = p->default_type;
		return 0;
	}
	for (size_t i = 0; i < p->ntypes; i++) {
		if (!strcmp(p->types[i], name)) {
			*idx = i;
			return 0;
		}
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && !*end && !errno && v < p->ntypes) {
		*idx = v;
		return 0;
	}
	char list[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < p->ntypes && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", p->types[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	seterr(err, errlen, "unknown sample type '%s' (this profile has: %s)", name, list);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Merging equal samples, as profile.Merge does for a single profile. */

struct skey {
	char *key;
	size_t index;
};

CT_CMP(cmp_skey, struct skey)
{
	int c = strcmp(x->key, y->key);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends to a growing string; returns -1 on allocation failure. */
static int __attribute__((format(printf, 4, 5)))
sbuf_add(char **s, size_t *n, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(*s ? *s + *n : NULL, *s ? *cap - *n : 0, fmt, ap);
		va_end(ap);
		if (w < 0)
			return -1;
		if (*s && *n + (size_t)w < *cap) {
			*n += (size_t)w;
			return 0;
		}
		size_t ncap = (*cap ? *cap : 64) * 2 + (size_t)w;
		char *ns = realloc(*s, ncap);
		if (!ns)
			return -1;
		*s = ns;
		*cap = ncap;
	}
}

/* Location.key with the mapping and function keys in place of ids. */
static int
loc_key(const struct ct_ploc *l, char **s, size_t *n, size_t *cap)
{
	int r = 0;
	if (l->map) {
		uint64_t size = l->map->limit - l->map->start;
		size = size + 0xfff;
		size -= size % 0x1000;
		r |= sbuf_add(s, n, cap, "%llx\x1e%llx\x1e%llx\x1e%s", (unsigned long long)(l->address - l->map->start),
			      (unsigned long long)size, (unsigned long long)l->map->offset,
			      *l->map->build_id ? l->map->build_id : l->map->file);
	} else {
		r |= sbuf_add(s, n, cap, "%llx\x1e-", (unsigned long long)l->address);
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ct_pfunc *f = l->lines[i].fn;
		r |= sbuf_add(s, n, cap, "\x1e%lld\x1f%s\x1f%s\x1f%s\x1f%lld", (long long)f->start_line,
			      f->name, f->system_name, f->filename, (long long)l->lines[i].line);
	}
	return r;
}

/* Label indices sorted by (string before numeric, key, place in the
 * sample): qsort is not stable, so the place breaks ties. */
static int
cmp_label_idx(const void *a, const void *b, void *arg)
{
	const struct ct_plabel *v = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = (v[i].str == NULL) - (v[j].str == NULL);
	if (!c)
		c = strcmp(v[i].key, v[j].key);
	return c ? c : (i < j ? -1 : i > j);
}

int
ct_profile_label_order(const struct ct_psample *s, size_t **idx)
{
	size_t *v = malloc((s->nlabels ? s->nlabels : 1) * sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < s->nlabels; i++)
		v[i] = i;
	qsort_r(v, s->nlabels, sizeof(*v), cmp_label_idx, (void *)s->labels);
	*idx = v;
	return 0;
}

bool
ct_profile_label_same_group(const struct ct_plabel *a, const struct ct_plabel *b)
{
	return !a->str == !b->str && !strcmp(a->key, b->key);
}

static char *
sample_key(const struct ct_psample *s)
{
	char *k = NULL, **labels = NULL;
	size_t n = 0, cap = 0, nl = 0, *ix = NULL;
	int r = 0;
	for (size_t i = 0; i < s->nlocs; i++) {
		r |= sbuf_add(&k, &n, &cap, "\x1d");
		r |= loc_key(s->locs[i], &k, &n, &cap);
	}
	r |= sbuf_add(&k, &n, &cap, "\x1c");
	/* Labels: one entry per key with its values in order, sorted. */
	labels = calloc(s->nlabels + 1, sizeof(*labels));
	if (!labels || ct_profile_label_order(s, &ix) < 0)
		r = -1;
	for (size_t i = 0, j; !r && i < s->nlabels; i = j) {
		const struct ct_plabel *l = &s->labels[ix[i]];
		char *e = NULL;
		size_t en = 0, ecap = 0;
		r |= sbuf_add(&e, &en, &ecap, "%c%s", l->str ? 's' : 'n', l->key);
		for (j = i; j < s->nlabels && ct_profile_label_same_group(l, &s->labels[ix[j]]); j++) {
			const struct ct_plabel *m = &s->labels[ix[j]];
			if (m->str)
				r |= sbuf_add(&e, &en, &ecap, "\x1f%s", m->str);
			else
				r |= sbuf_add(&e, &en, &ecap, "\x1f%lld %s", (long long)m->num, m->unit);
		}
		labels[nl++] = e;
		if (!e)
			r = -1;
	}
	free(ix);
	if (!r && nl > 1)
		qsort(labels, nl, sizeof(*labels), cmp_cstr);
	for (size_t i = 0; i < nl; i++) {
		if (!r && labels[i])
			r |= sbuf_add(&k, &n, &cap, "\x1b%s", labels[i]);
		free(labels[i]);
	}
	free(labels);
	if (r) {
		free(k);
		return NULL;
	}
	return k;
}

int
ct_profile_merge_samples(const struct ct_profile *p, size_t **order, size_t *norder,
			 int64_t **values)
{
	struct skey *keys = calloc(p->nsamples + 1, sizeof(*keys));
	size_t *rep = calloc(p->nsamples + 1, sizeof(*rep));
	size_t *ord = calloc(p->nsamples + 1, sizeof(*ord));
	int64_t *vals = calloc((p->nsamples + 1) * (p->ntypes + 1), sizeof(*vals));
	size_t nk = 0, n = 0;
	int ret = -1;

	if (!keys || !rep || !ord || !vals)
		goto out;
	for (size_t i = 0; i < p->nsamples; i++) {
		bool zero = true;
		for (size_t t = 0; t < p->ntypes; t++)
			zero &= p->samples[i].values[t] == 0;
		rep[i] = SIZE_MAX;
		if (zero)
			continue; /* isZeroSample: dropped */
		if (!(keys[nk].key = sample_key(&p->samples[i])))
			goto out;
		keys[nk++].index = i;
	}
	qsort(keys, nk, sizeof(*keys), cmp_skey);
	for (size_t i = 0; i < nk; i++) {
		bool same = i > 0 && !strcmp(keys[i].key, keys[i - 1].key);
		rep[keys[i].index] = same ? rep[keys[i - 1].index] : keys[i].index;
	}
	/* The representative (first sample of its group) keeps its place in
	 * the profile's order; slot[] numbers the representatives. */
	size_t *slot = calloc(p->nsamples + 1, sizeof(*slot));
	if (!slot)
		goto out;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (rep[i] == i) {
			slot[i] = n;
			ord[n++] = i;
		}
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		if (rep[i] == SIZE_MAX)
			continue;
		size_t k = slot[rep[i]];
		for (size_t t = 0; t < p->ntypes; t++)
			vals[k * p->ntypes + t] += p->samples[i].values[t];
	}
	free(slot);
	*order = ord;
	*norder = n;
	*values = vals;
	ord = NULL;
	vals = NULL;
	ret = 0;
out:
	for (size_t i = 0; keys && i < nk; i++)
		free(keys[i].key);
	free(keys);
	free(rep);
	free(ord);
	free(vals);
	return ret;
}
