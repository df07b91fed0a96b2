/* A library unloaded (dlclose) before the profile is written, and another
 * loaded at (most likely) its address: the waits recorded while the first
 * was mapped name its function, its source file and its Mapping, not
 * those of the library there at write time (tests/progs/dlswap_prog.c). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "profile.pb-c.h"

static const char *
str(const Perftools__Profiles__Profile *pb, int64_t i)
{
	return i >= 0 && (size_t)i < pb->n_string_table ? pb->string_table[i] : "";
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

struct origin {
	int64_t count;      /* contentions of samples with the function */
	int64_t wrong_file; /* ... whose frame names another source file */
	int64_t wrong_map;  /* ... or sits in another Mapping */
	int64_t with_other; /* ... that also name the other library's function */
};

/* Sums the samples whose stack holds fn (and checks where that frame
 * says it comes from). */
static struct origin
origin_of(const struct profile *p, const char *fn, const char *file, const char *lib,
	  const char *other_fn)
{
	const Perftools__Profiles__Profile *pb = p->pb;
	struct origin o = {0};
	for (size_t i = 0; i < pb->n_sample; i++) {
		const Perftools__Profiles__Sample *s = pb->sample[i];
		bool has = false, other = false, bad_file = false, bad_map = false;
		for (size_t l = 0; l < s->n_location_id; l++) {
			const Perftools__Profiles__Location *loc = NULL;
			for (size_t k = 0; k < pb->n_location && !loc; k++)
				if (pb->location[k]->id == s->location_id[l])
					loc = pb->location[k];
			if (!loc)
				continue;
			for (size_t ln = 0; ln < loc->n_line; ln++) {
				const Perftools__Profiles__Function *f = NULL;
				for (size_t k = 0; k < pb->n_function && !f; k++)
					if (pb->function[k]->id == loc->line[ln]->function_id)
						f = pb->function[k];
				if (!f)
					continue;
				const char *name = str(pb, f->name);
				if (!strcmp(name, other_fn))
					other = true;
				if (strcmp(name, fn) != 0)
					continue;
				has = true;
				bad_file |= !ends_with(str(pb, f->filename), file);
				const char *map = "";
				if (loc->mapping_id >= 1 && loc->mapping_id <= pb->n_mapping)
					map = str(pb, pb->mapping[loc->mapping_id - 1]->filename);
				bad_map |= !ends_with(map, lib);
			}
		}
		if (!has)
			continue;
		int64_t c = s->n_value ? s->value[0] : 0;
		o.count += c;
		o.wrong_file += bad_file ? c : 0;
		o.wrong_map += bad_map ? c : 0;
		o.with_other += other ? c : 0;
	}
	return o;
}

Test(dlswap, unloaded_library_keeps_its_waits, .timeout = 60)
{
	char a[PATH_MAX], b[PATH_MAX];
	prog_path(a, sizeof(a), "libdlswap_a.so");
	prog_path(b, sizeof(b), "libdlswap_b.so");
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "dlswap_prog",
					.args = (const char *[]){a, b, "3", NULL},
					.env = exact_env});
	run_expect_success(&r);
	cr_expect_eq(run_value(&r, NULL, "unloaded_a"), 1, "libdlswap_a.so was not unmapped");
	/* Either way the attribution must hold; reuse is the hard case. */
	if (!run_value(&r, NULL, "reused"))
		cr_log_warn("libdlswap_b.so was not loaded at libdlswap_a.so's address");
	struct profile p;
	if (run_profile(&r, NULL, "block", &p)) {
		struct origin oa = origin_of(&p, "dlswap_contend_a", "/dlswap_a.c", "/libdlswap_a.so",
					     "dlswap_contend_b");
		struct origin ob = origin_of(&p, "dlswap_contend_b", "/dlswap_b.c", "/libdlswap_b.so",
					     "dlswap_contend_a");
		cr_expect_eq(oa.count, 3, "waits under dlswap_contend_a: %lld, want 3",
			     (long long)oa.count);
		cr_expect_eq(ob.count, 3, "waits under dlswap_contend_b: %lld, want 3",
			     (long long)ob.count);
		cr_expect_eq(oa.wrong_file + oa.wrong_map, 0, "A's frames named another file or mapping");
		cr_expect_eq(ob.wrong_file + ob.wrong_map, 0, "B's frames named another file or mapping");
		cr_expect_eq(oa.with_other + ob.with_other, 0, "a stack mixes both libraries");
		if (oa.count != 3 || ob.count != 3)
			profile_dump(&p, "block");
		profile_free(&p);
	}
	run_free(&r);
}
