/* The one pprof reader of the tree: gunzip (zlib), decode (protobuf-c),
 * validate like pprof's CheckValid, and resolve every id and string index
 * into pointers. Used by `contend` (cli/), the delta and text renderers of
 * report/ and every test that looks into a profile; nothing else gunzips
 * or decodes a profile.
 *
 * Works on any perftools.profiles.Profile (libcontend's, Go's, others').
 * Never trusts the input: every id, string index and count is checked, and
 * a bad file gives a one-line error message (what was wrong: not gzip,
 * truncated, a bad protobuf field, a dangling id, a string index out of
 * range...), never a crash; tests/cli/corpus is replayed against it and
 * fuzz_profile.c fuzzes it. Cost is linear in the profile (plus sorts):
 * no step is quadratic in labels, samples, locations or stack depth.
 *
 * Thread-safe in the sense that it keeps no global state: one profile per
 * caller. Allocates; not async-signal-safe. */
#ifndef CT_REPORT_PPROF_READ_H
#define CT_REPORT_PPROF_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest decompressed profile accepted (a gzip bomb guard). */
#define CT_PROFILE_MAX_BYTES (512u << 20)

struct ct_pfunc {
	uint64_t id;
	const char *name, *system_name, *filename; /* never NULL, maybe "" */
	int64_t start_line;
};

struct ct_pline {
	const struct ct_pfunc *fn; /* never NULL */
	int64_t line;
};

struct ct_pmap {
	uint64_t id;
	uint64_t start, limit, offset;
	const char *file, *build_id; /* never NULL, maybe "" */
};

struct ct_ploc {
	uint64_t id;
	size_t index;             /* in ct_profile.locs */
	const struct ct_pmap *map; /* NULL if mapping_id was 0 */
	uint64_t address;
	size_t nlines;            /* lines[0] innermost (inlined), last = caller */
	struct ct_pline *lines;
};

/* A label: str != NULL for a string label, else num (with unit, maybe ""). */
struct ct_plabel {
	const char *key;
	const char *str;
	int64_t num;
	const char *unit;
};

struct ct_psample {
	size_t nlocs;
	const struct ct_ploc **locs; /* leaf first */
	const int64_t *values;       /* ct_profile.ntypes of them */
	size_t nlabels;
	struct ct_plabel *labels;
};

struct ct_profile {
	void *pb; /* the decoded Perftools__Profiles__Profile, owns the strings */
	size_t ntypes;
	const char **types, **units; /* sample types */
	size_t default_type;         /* default_sample_type if named, else the last */
	const char *period_type, *period_unit;
	int64_t period;
	int64_t time_nanos, duration_nanos;
	size_t ncomments;
	const char **comments;
	const char *drop_frames, *keep_frames; /* "" if unset */
	size_t nsamples;
	struct ct_psample *samples;
	size_t nlocs;
	struct ct_ploc *locs;
	size_t nfuncs;
	struct ct_pfunc *funcs;
	size_t nmaps;
	struct ct_pmap *maps; /* maps[0] is the main binary, as pprof assumes */
};

/* Inflates every gzip member of in[0..len) into *out (malloc'ed, at most
 * CT_PROFILE_MAX_BYTES). Returns 0, or -1 with a one-line reason in err:
 * not gzip, truncated, corrupt, too large. */
int ct_gunzip(const void *in, size_t len, uint8_t **out, size_t *outlen, char *err,
	      size_t errlen);

/* Decodes a profile from memory: gzip'd (one or more members) or raw
 * protobuf. Returns 0 and *out, or -1 with a one-line reason in err (no
 * file name, no trailing newline). */
int ct_profile_parse(const void *data, size_t len, struct ct_profile **out, char *err,
		     size_t errlen);

/* The whole file (at most CT_PROFILE_MAX_BYTES), malloc'ed. Returns 0, or
 * -1 with a one-line reason in err (it does not repeat the path). */
int ct_profile_read_file(const char *path, uint8_t **data, size_t *len, char *err,
			 size_t errlen);

/* Reads path and parses it; err as above (it does not repeat the path). */
int ct_profile_load(const char *path, struct ct_profile **out, char *err, size_t errlen);

void ct_profile_free(struct ct_profile *p);

/* Frees the resolved view and hands over the decoded message (a
 * Perftools__Profiles__Profile, freed with
 * perftools__profiles__profile__free_unpacked): for code that builds a
 * new message from a validated one (the delta renderer) or inspects raw
 * fields (tests). Every id and string index in it was checked. */
void *ct_profile_release_pb(struct ct_profile *p);

/* String idx of the profile's table, "" if out of range (a raw index of
 * p->pb, e.g. a label's; the reader checked those it resolved). */
const char *ct_profile_string(const struct ct_profile *p, int64_t idx);

/* The sample type called name ("delay", "contentions", ...) or a decimal
 * index; NULL or "" = the default one. Returns 0, or -1 with err listing
 * what the profile has. */
int ct_profile_sample_index(const struct ct_profile *p, const char *name, size_t *idx, char *err,
			    size_t errlen);

/* profile.Merge on one profile, as `go tool pprof` does on load: samples
 * whose values are all zero are dropped, and samples with equal stacks
 * (locations compared by address, mapping and lines, not by id) and equal
 * labels are merged. *order gets the index of each surviving sample (the
 * first of its group, in profile order), *values their summed values
 * (ntypes per entry). Returns 0, or -1 on allocation failure. */
int ct_profile_merge_samples(const struct ct_profile *p, size_t **order, size_t *norder,
			     int64_t **values);

/* The indices of s's labels grouped by key, string labels before
 * numeric ones (a key may have both): sorted by (kind, key), and within a
 * group in their order in the sample. *idx is malloc'ed (s->nlabels
 * entries). O(n log n), so that a sample with 100,000 labels costs no
 * more than its size. Returns 0, or -1 on allocation failure. */
int ct_profile_label_order(const struct ct_psample *s, size_t **idx);
/* Whether two labels belong to one group of ct_profile_label_order. */
bool ct_profile_label_same_group(const struct ct_plabel *a, const struct ct_plabel *b);

#endif
