/* Profiles in the tests; see testprof.h. */
#include "testprof.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof_read.h"
#include "testlib.h"

/* The profile's samples as frame names, from the one reader
 * (report/pprof_read.h), which has checked every id and string index. */
static bool
profile_build(struct profile *p)
{
	const struct ct_profile *cp = p->reader;
	p->nsample_types = cp->ntypes;
	for (size_t i = 0; i < 2 && i < cp->ntypes; i++) {
		p->type[i] = cp->types[i];
		p->unit[i] = cp->units[i];
	}
	if (((const Perftools__Profiles__Profile *)cp->pb)->period_type) {
		p->period_type = cp->period_type;
		p->period_unit = cp->period_unit;
	}
	p->period = cp->period;
	p->nsamples = cp->nsamples;
	p->samples = calloc(cp->nsamples + 1, sizeof(*p->samples));
	cr_assert(p->samples);
	for (size_t i = 0; i < cp->nsamples; i++) {
		const struct ct_psample *s = &cp->samples[i];
		struct psample *ps = &p->samples[i];
		ps->count = s->values[0];
		ps->delay = cp->ntypes > 1 ? s->values[1] : 0;
		size_t nframes = 0;
		for (size_t j = 0; j < s->nlocs; j++)
			nframes += s->locs[j]->nlines ? s->locs[j]->nlines : 1;
		ps->frames = calloc(nframes + 1, sizeof(*ps->frames));
		cr_assert(ps->frames);
		for (size_t j = 0; j < s->nlocs; j++) {
			const struct ct_ploc *l = s->locs[j];
			if (l->nlines == 0)
				ps->frames[ps->nframes++] = "?";
			/* lines[0] is the innermost inlined function. */
			for (size_t k = 0; k < l->nlines; k++)
				ps->frames[ps->nframes++] = l->lines[k].fn->name;
		}
	}
	return true;
}

bool
profile_load(struct profile *p, const char *path)
{
	char err[512];
	struct ct_profile *cp;
	memset(p, 0, sizeof(*p));
	size_t len;
	uint8_t *gz = (uint8_t *)read_file(path, &len);
	if (!gz) {
		cr_expect_fail("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	/* The reader also takes a raw protobuf; what we write is gzip'd. */
	if (len < 2 || gz[0] != 0x1f || gz[1] != 0x8b) {
		cr_expect_fail("%s is not gzip'd", path);
		free(gz);
		return false;
	}
	int r = ct_profile_parse(gz, len, &cp, err, sizeof(err));
	free(gz);
	if (r < 0) {
		cr_expect_fail("%s: %s", path, err);
		return false;
	}
	if (cp->nsamples && cp->ntypes < 1) {
		cr_expect_fail("%s: samples without sample types", path);
		ct_profile_free(cp);
		return false;
	}
	p->reader = cp;
	p->pb = cp->pb;
	if (!profile_build(p)) {
		profile_free(p);
		return false;
	}
	return true;
}

bool
profile_load_in(struct profile *p, const char *dir, const char *kind)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s.pb.gz", dir, kind);
	return profile_load(p, path);
}

void
profile_free(struct profile *p)
{
	for (size_t i = 0; p->samples && i < p->nsamples; i++)
		free(p->samples[i].frames);
	free(p->samples);
	ct_profile_free(p->reader); /* and with it p->pb */
	memset(p, 0, sizeof(*p));
}

long long
profile_comment_num(const struct profile *p, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; p->reader && i < p->reader->ncomments; i++)
		for (const char *c = p->reader->comments[i]; (c = strstr(c, key)); c += klen)
			if ((c == p->reader->comments[i] || c[-1] == ' ') && c[klen] == '=')
				return strtoll(c + klen + 1, NULL, 10);
	return -1;
}

void
profile_dump(const struct profile *p, const char *title)
{
	fprintf(stderr, "--- %s: %zu samples\n", title, p->nsamples);
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];
		fprintf(stderr, "  count %lld delay %.3f ms:", (long long)s->count, s->delay / 1e6);
		for (size_t j = 0; j < s->nframes && j < 6; j++)
			fprintf(stderr, " %s%s", j ? "<- " : "", s->frames[j]);
		fprintf(stderr, "\n");
	}
}

bool
frame_matches(const char *name, const char *want)
{
	size_t n = strlen(want);
	return !strncmp(name, want, n) && (name[n] == 0 || name[n] == '(');
}

bool
sample_matches(const struct psample *s, const struct stack_match *m)
{
	if (m->leaf && !(s->nframes > 0 && frame_matches(s->frames[0], m->leaf)))
		return false;
	if (m->next && !(s->nframes > 1 && frame_matches(s->frames[1], m->next)))
		return false;
	bool has = !m->contains, excl = false;
	for (size_t i = 0; i < s->nframes; i++) {
		if (m->contains && frame_matches(s->frames[i], m->contains))
			has = true;
		if (m->excludes && frame_matches(s->frames[i], m->excludes))
			excl = true;
	}
	return has && !excl;
}

struct psum
profile_sum(const struct profile *p, const struct stack_match *m)
{
	struct psum sum = {0};
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];
		if (!sample_matches(s, m))
			continue;
		sum.count += s->count;
		sum.delay += s->delay;
		sum.samples++;
	}
	return sum;
}

const char *
profile_label(const struct profile *p, size_t i, const char *key)
{
	const struct ct_psample *s = &p->reader->samples[i];
	for (size_t j = 0; j < s->nlabels; j++)
		if (s->labels[j].str && *s->labels[j].str && !strcmp(s->labels[j].key, key))
			return s->labels[j].str;
	return NULL;
}

bool
profile_has_mapping(const struct profile *p, const char *basename)
{
	const struct ct_profile *cp = p->reader;
	size_t n = strlen(basename);
	for (size_t i = 0; i < cp->nmaps; i++) {
		const char *f = cp->maps[i].file;
		size_t len = strlen(f);
		if (len > n && f[len - n - 1] == '/' && !strcmp(f + len - n, basename))
			return true;
	}
	return false;
}

void
expect_ratio(const struct profile *p, double got, double ref, double lo, double hi,
	     const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	bool ok = got >= lo * ref && got <= hi * ref;
	cr_expect(ok, "%s: %.6g is not within [%.2f, %.2f] x %.6g (ratio %.3f)", what, got, lo, hi,
		  ref, ref != 0 ? got / ref : 0.0);
	if (!ok && p)
		profile_dump(p, what);
}

void
expect_wait_bands(const struct profile *p, double got, double asked, double measured,
	    double hi_measured, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	expect_ratio(p, got, asked, BAND_ASKED_LO, BAND_ASKED_HI, "%s vs constructed", what);
	expect_ratio(p, got, measured, BAND_MEASURED_LO, hi_measured, "%s vs measured", what);
}

Perftools__Profiles__Profile *
pb_decode_checked(const void *data, size_t len, const char *what)
{
	struct ct_profile *cp;
	char err[512];
	cr_assert_eq(ct_profile_parse(data, len, &cp, err, sizeof(err)), 0, "%s: %s", what, err);
	return ct_profile_release_pb(cp);
}

/* ------------------------------------------------------------------ */
/* Hand-built profiles */

void *
gzip_bytes(const void *data, size_t len, size_t *outlen)
{
	z_stream z = {0};
	cr_assert(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	size_t cap = deflateBound(&z, len) + 64;
	unsigned char *out = malloc(cap);
	cr_assert(out);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert(deflate(&z, Z_FINISH) == Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* The message packed and gzip'd. */
void *
pack_gz(const Perftools__Profiles__Profile *p, size_t *len)
{
	size_t n = perftools__profiles__profile__get_packed_size(p);
	uint8_t *raw = malloc(n + 1);
	cr_assert(raw);
	perftools__profiles__profile__pack(p, raw);
	void *gz = gzip_bytes(raw, n, len);
	free(raw);
	return gz;
}

void *
make_profile(enum bad_profile kind, size_t *len)
{
	static char *strings[] = {"", "contentions", "count", "delay", "nanoseconds",
				  "worker", "bump", "/src/app.c", "/usr/bin/app", "pthread_mutex_unlock",
				  "thread", "w-1"};
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       st1 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *sts[] = {&st0, &st1};
	Perftools__Profiles__Mapping m = PERFTOOLS__PROFILES__MAPPING__INIT;
	Perftools__Profiles__Mapping *ms[] = {&m};
	Perftools__Profiles__Function f[3] = {PERFTOOLS__PROFILES__FUNCTION__INIT,
					      PERFTOOLS__PROFILES__FUNCTION__INIT,
					      PERFTOOLS__PROFILES__FUNCTION__INIT};
	Perftools__Profiles__Function *fs[] = {&f[0], &f[1], &f[2]};
	Perftools__Profiles__Line l[3] = {PERFTOOLS__PROFILES__LINE__INIT, PERFTOOLS__PROFILES__LINE__INIT,
					  PERFTOOLS__PROFILES__LINE__INIT};
	Perftools__Profiles__Line *l1[] = {&l[0]}, *l2[] = {&l[1], &l[2]};
	Perftools__Profiles__Location loc[2] = {PERFTOOLS__PROFILES__LOCATION__INIT,
						PERFTOOLS__PROFILES__LOCATION__INIT};
	Perftools__Profiles__Location *locs[] = {&loc[0], &loc[1]};
	Perftools__Profiles__Sample s[2] = {PERFTOOLS__PROFILES__SAMPLE__INIT,
					    PERFTOOLS__PROFILES__SAMPLE__INIT};
	Perftools__Profiles__Sample *ss[] = {&s[0], &s[1]};
	Perftools__Profiles__Label lab = PERFTOOLS__PROFILES__LABEL__INIT;
	Perftools__Profiles__Label *labs[] = {&lab};
	uint64_t ids0[] = {1, 2}, ids1[] = {2};
	int64_t v0[] = {3, 3000000}, v1[] = {1, 1500000};

	st0.type = 1, st0.unit = 2, st1.type = 3, st1.unit = 4;
	pt.type = 1, pt.unit = 2;
	p.n_sample_type = 2, p.sample_type = sts;
	p.period_type = &pt, p.period = 1;
	p.time_nanos = 1700000000000000000LL;
	p.duration_nanos = 2000000000LL;
	p.n_string_table = sizeof(strings) / sizeof(strings[0]), p.string_table = strings;
	m.id = 1, m.memory_start = 0x400000, m.memory_limit = 0x500000, m.filename = 8;
	m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = 1;
	p.n_mapping = 1, p.mapping = ms;
	f[0].id = 1, f[0].name = 9, f[0].system_name = 9;
	f[1].id = 2, f[1].name = 6, f[1].system_name = 6, f[1].filename = 7, f[1].start_line = 4;
	f[2].id = 3, f[2].name = 5, f[2].system_name = 5, f[2].filename = 7, f[2].start_line = 10;
	p.n_function = 3, p.function = fs;
	l[0].function_id = 1;
	l[1].function_id = 2, l[1].line = 6; /* bump inlined into worker */
	l[2].function_id = 3, l[2].line = 12;
	loc[0].id = 1, loc[0].mapping_id = 1, loc[0].address = 0x401000, loc[0].n_line = 1, loc[0].line = l1;
	loc[1].id = 2, loc[1].mapping_id = 1, loc[1].address = 0x402000, loc[1].n_line = 2, loc[1].line = l2;
	p.n_location = 2, p.location = locs;
	lab.key = 10, lab.str = 11;
	s[0].n_location_id = 2, s[0].location_id = ids0, s[0].n_value = 2, s[0].value = v0;
	s[0].n_label = 1, s[0].label = labs;
	s[1].n_location_id = 1, s[1].location_id = ids1, s[1].n_value = 2, s[1].value = v1;
	p.n_sample = 2, p.sample = ss;

	switch (kind) {
	case PROFILE_GOOD:
		break;
	case PROFILE_EMPTY:
		p.n_sample = 0;
		break;
	case PROFILE_DANGLING_LOCATION:
		ids1[0] = 99;
		break;
	case PROFILE_DANGLING_FUNCTION:
		l[2].function_id = 42;
		break;
	case PROFILE_DANGLING_MAPPING:
		loc[1].mapping_id = 7;
		break;
	case PROFILE_BAD_STRING_INDEX:
		f[2].name = 1000;
		break;
	case PROFILE_VALUE_COUNT:
		s[1].n_value = 1;
		break;
	}
	return pack_gz(&p, len);
}

const char *const profile_shape_names[SHAPE_COUNT] = {
	"label-keys", "label-values", "num-labels", "samples", "same-stack", "deep", "recursive",
};

void *
make_shape_profile(enum profile_shape shape, size_t n, size_t *len)
{
	/* Strings 0..5 fixed, then n made ones ("s<i>") at 6 + i. */
	size_t nstr = 6 + n;
	char **strings = calloc(nstr, sizeof(*strings));
	cr_assert(strings);
	const char *fixed[] = {"", "contentions", "count", "delay", "nanoseconds", "key"};
	for (size_t i = 0; i < 6; i++)
		strings[i] = (char *)fixed[i];
	for (size_t i = 0; i < n; i++)
		cr_assert(asprintf(&strings[6 + i], "s%zu", i) > 0);

	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				       st1 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *sts[] = {&st0, &st1};
	st0.type = 1, st0.unit = 2, st1.type = 3, st1.unit = 4;
	p.n_sample_type = 2, p.sample_type = sts;
	p.n_string_table = nstr, p.string_table = strings;

	bool many_samples = shape == SHAPE_SAMPLES || shape == SHAPE_SAME_STACK;
	bool deep = shape == SHAPE_DEEP || shape == SHAPE_RECURSIVE;
	size_t nsamples = many_samples ? n : 1;
	size_t nlocs = shape == SHAPE_SAMPLES || deep ? n : 1;
	size_t nfns = shape == SHAPE_SAMPLES || shape == SHAPE_DEEP ? n : 1;
	size_t nlabels = many_samples || deep ? 0 : n;

	Perftools__Profiles__Function *fv = calloc(nfns, sizeof(*fv)), **fs = calloc(nfns, sizeof(*fs));
	Perftools__Profiles__Line *lv = calloc(nlocs, sizeof(*lv)), **ls = calloc(nlocs, sizeof(*ls));
	Perftools__Profiles__Location *locv = calloc(nlocs, sizeof(*locv)),
				      **locs = calloc(nlocs, sizeof(*locs));
	Perftools__Profiles__Sample *sv = calloc(nsamples, sizeof(*sv)), **ss = calloc(nsamples, sizeof(*ss));
	Perftools__Profiles__Label *labv = calloc(nlabels + 1, sizeof(*labv)),
				   **labs = calloc(nlabels + 1, sizeof(*labs));
	uint64_t *ids = calloc(nlocs > nsamples ? nlocs : nsamples, sizeof(*ids));
	int64_t vals[2] = {1, 1000};
	cr_assert(fv && fs && lv && ls && locv && locs && sv && ss && labv && labs && ids);
	for (size_t i = 0; i < nfns; i++) {
		perftools__profiles__function__init(&fv[i]);
		fv[i].id = i + 1, fv[i].name = fv[i].system_name = (int64_t)(6 + i);
		fs[i] = &fv[i];
	}
	for (size_t i = 0; i < nlocs; i++) {
		perftools__profiles__line__init(&lv[i]);
		lv[i].function_id = nfns == 1 ? 1 : i + 1;
		lv[i].line = (int64_t)i + 1;
		ls[i] = &lv[i];
		perftools__profiles__location__init(&locv[i]);
		locv[i].id = i + 1, locv[i].address = 0x1000 + 16 * i;
		locv[i].n_line = 1, locv[i].line = &ls[i];
		locs[i] = &locv[i];
		ids[i] = i + 1;
	}
	for (size_t i = 0; i < nlabels; i++) {
		perftools__profiles__label__init(&labv[i]);
		labv[i].key = shape == SHAPE_LABEL_VALUES ? 5 : (int64_t)(6 + i);
		if (shape == SHAPE_NUM_LABELS)
			labv[i].num = (int64_t)i + 1;
		else
			labv[i].str = (int64_t)(6 + (n - 1 - i));
		labs[i] = &labv[i];
	}
	for (size_t i = 0; i < nsamples; i++) {
		perftools__profiles__sample__init(&sv[i]);
		sv[i].n_value = 2, sv[i].value = vals;
		if (shape == SHAPE_SAMPLES)
			sv[i].n_location_id = 1, sv[i].location_id = &ids[i];
		else
			sv[i].n_location_id = nlocs, sv[i].location_id = ids;
		sv[i].n_label = nlabels, sv[i].label = labs;
		ss[i] = &sv[i];
	}
	p.n_function = nfns, p.function = fs;
	p.n_location = nlocs, p.location = locs;
	p.n_sample = nsamples, p.sample = ss;

	void *gz = pack_gz(&p, len);
	for (size_t i = 0; i < n; i++)
		free(strings[6 + i]);
	free(strings);
	free(fv), free(fs), free(lv), free(ls), free(locv), free(locs), free(sv), free(ss);
	free(labv), free(labs), free(ids);
	return gz;
}
