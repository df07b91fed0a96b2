/* A library unloaded (dlclose) before the profile is written, and another
 * loaded at (most likely) its address: the waits recorded while the first
 * was mapped name its function, its source file and its Mapping, not
 * those of the library there at write time (tests/progs/dlswap_prog.c). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "testrun.h"
#include "pprof_read.h"

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
	const struct ct_profile *cp = p->reader;
	struct origin o = {0};
	for (size_t i = 0; i < cp->nsamples; i++) {
		const struct ct_psample *s = &cp->samples[i];
		bool has = false, other = false, bad_file = false, bad_map = false;
		for (size_t l = 0; l < s->nlocs; l++) {
			const struct ct_ploc *loc = s->locs[l];
			for (size_t ln = 0; ln < loc->nlines; ln++) {
				const struct ct_pfunc *f = loc->lines[ln].fn;
				if (!strcmp(f->name, other_fn))
					other = true;
				if (strcmp(f->name, fn) != 0)
					continue;
				has = true;
				bad_file |= !ends_with(f->filename, file);
				bad_map |= !ends_with(loc->map ? loc->map->file : "", lib);
			}
		}
		if (!has)
			continue;
		int64_t c = cp->ntypes ? s->values[0] : 0;
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
	run_ok(&r, &(struct run_opts){.prog = "dlswap_prog",
					.args = (const char *[]){a, b, "3", NULL},
					.env = exact_env});
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
