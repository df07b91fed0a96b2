/* core/dlhist: a dlclose that unmaps ends a generation and keeps what it
 * removed; one that only drops a reference changes nothing. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/dlhist.h"

static void
lib_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s", CT_DLHIST_PROBE);
}

static void
closed(void *h)
{
	struct ct_dlhist_list *before = ct_dlhist_before();
	cr_assert(before);
	cr_assert_eq(dlclose(h), 0);
	ct_dlhist_after(before);
}

Test(dlhist, unmapping_dlclose_ends_a_generation)
{
	char path[PATH_MAX];
	lib_path(path, sizeof(path));
	void *h1 = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert(h1, "%s", dlerror());
	void *h2 = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert(h2);
	void *fn = dlsym(h1, "ct_dlhist_probe");
	cr_assert(fn);
	uint32_t g0 = ct_dlhist_gen();

	closed(h2); /* still referenced: nothing unmapped */
	cr_expect_eq(ct_dlhist_gen(), g0, "a dlclose that unmapped nothing started a generation");
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_dlhist_snapshot(&s), 0);
	cr_expect_eq(s.ndl_gone, 0);
	ct_snapshot_free(&s);

	closed(h1);
	cr_expect_eq(ct_dlhist_gen(), g0 + 1);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_dlhist_snapshot(&s), 0);
	cr_assert_eq(s.ndl_gone, 1);
	cr_expect_eq(s.dl_gen, g0 + 1);
	const struct ct_dl_gone *g = &s.dl_gone[0];
	cr_expect_eq(g->gen, g0);
	cr_expect_str_eq(g->path, path);
	cr_expect((uintptr_t)fn >= g->start && (uintptr_t)fn < g->limit,
		  "the function is not in the noted executable range");
	cr_expect_eq(strlen(g->build_id), 40, "build ID '%s'", g->build_id);
	cr_expect_eq(s.dl_gone_dropped, 0);
	ct_snapshot_free(&s);
}

/* A full history counts what it could not keep and starts no more
 * generations (they would only split the same stacks). */
Test(dlhist, full_history_counts_and_stops)
{
	char path[PATH_MAX];
	lib_path(path, sizeof(path));
	uint32_t g0 = ct_dlhist_gen();
	for (int i = 0; i < CT_DLHIST_MAX + 10; i++) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		cr_assert(h, "%s", dlerror());
		closed(h);
	}
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_dlhist_snapshot(&s), 0);
	cr_expect_eq(s.ndl_gone, CT_DLHIST_MAX);
	cr_expect_eq(s.dl_gone_dropped, 10);
	cr_expect_eq(s.dl_gen, g0 + CT_DLHIST_MAX);
	ct_snapshot_free(&s);
}
