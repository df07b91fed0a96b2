/* The written files work with the standard tool (go tool pprof), and the
 * shim exports nothing but the wrapped libc names. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrun.h"

/* ------------------------------------------------------------------ */
/* go tool pprof */

/* The line of out containing needle (a copy without the newline), or an
 * empty string. */
static void
line_with(const char *out, const char *needle, char *buf, size_t len)
{
	const char *hit = strstr(out, needle);
	buf[0] = 0;
	if (!hit)
		return;
	const char *start = hit;
	while (start > out && start[-1] != '\n')
		start--;
	const char *end = strchr(hit, '\n');
	snprintf(buf, len, "%.*s", (int)(end ? end - start : (long)strlen(start)), start);
}

/* The first whitespace-separated token of line that is a value pprof
 * printed: a number, with or without a unit ("201.23ms", "4"); "." and
 * "0" do not count. */
static bool
has_nonzero_value(const char *line)
{
	const char *p = line;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		const char *tok = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (isdigit((unsigned char)*tok) && strtod(tok, NULL) > 0)
			return true;
	}
	return false;
}

/* go tool pprof <view> [-sample_index=<index>] -source_path=... <file> */
static void
pprof(struct run *t, const char *view, const char *index, const char *file)
{
	char src[PATH_MAX], idx[64];
	snprintf(src, sizeof(src), "-source_path=%s/tests/progs", env_required("CONTEND_SOURCE_ROOT"));
	snprintf(idx, sizeof(idx), "-sample_index=%s", index ? index : "delay");
	const char *argv[] = {"go", "tool", "pprof", view, idx, src, file, NULL};
	run_cmd(t, argv, 120);
	cr_expect(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0,
		  "go tool pprof %s %s failed:\n%s", view, file, t->err);
}

/* Each view: what its output must contain, and the line (found by its
 * text) that must carry a nonzero value. */
static const struct {
	const char *view, *index, *kind;
	const char *contains[5];
	const char *valued_line;
} pprof_views[] = {
	{"-top", NULL, "mutex", {"Type: delay", "pthread_mutex_unlock", "hold_and_sleep"},
	 "pthread_mutex_unlock"},
	{"-top", NULL, "block", {"Type: delay", "pthread_mutex_lock", "waiter_lock"},
	 "pthread_mutex_lock"},
	{"-top", "contentions", "mutex", {"Type: contentions", "pthread_mutex_unlock"},
	 "pthread_mutex_unlock"},
	{"-traces", NULL, "mutex", {"pthread_mutex_unlock", "hold_and_sleep"}, "pthread_mutex_unlock"},
	{"-raw", NULL, "mutex",
	 {"PeriodType: contentions count", "Period: 1", "contentions/count delay/nanoseconds",
	  "pthread_mutex_unlock", "hold_and_sleep"},
	 NULL},
	{"-list=hold_and_sleep", NULL, "mutex", {"ROUTINE", "hold_and_sleep"},
	 "pthread_mutex_unlock(&m);"},
	{"-list=waiter_lock", NULL, "block", {"ROUTINE", "waiter_lock"},
	 "MUST0(pthread_mutex_lock(&m));"},
};

Test(tools, go_tool_pprof, .timeout = 300)
{
	if (!have_program("go"))
		cr_skip_test("go is not installed");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold",
					.args = (const char *[]){"2", "50000", "2", NULL},
					.env = exact_env});
	for (size_t i = 0; i < sizeof(pprof_views) / sizeof(pprof_views[0]); i++) {
		char file[PATH_MAX], line[1024], kind[32];
		snprintf(kind, sizeof(kind), "%s.pb.gz", pprof_views[i].kind);
		run_path(&r, NULL, kind, file, sizeof(file));
		struct run t;
		pprof(&t, pprof_views[i].view, pprof_views[i].index, file);
		for (int k = 0; pprof_views[i].contains[k]; k++)
			cr_expect(strstr(t.out, pprof_views[i].contains[k]),
				  "pprof %s %s: no '%s' in:\n%s", pprof_views[i].view, kind,
				  pprof_views[i].contains[k], t.out);
		if (pprof_views[i].valued_line) {
			line_with(t.out, pprof_views[i].valued_line, line, sizeof(line));
			cr_expect(has_nonzero_value(line), "pprof %s %s: no value on the %s line:\n%s",
				  pprof_views[i].view, kind, pprof_views[i].valued_line, t.out);
		}
		run_free(&t);
	}
	/* -traces: the unlock's caller is right under it. */
	char file[PATH_MAX];
	run_path(&r, NULL, "mutex.pb.gz", file, sizeof(file));
	struct run t;
	pprof(&t, "-traces", NULL, file);
	const char *leaf = strstr(t.out, "pthread_mutex_unlock\n");
	cr_assert(leaf, "no trace with leaf pthread_mutex_unlock:\n%s", t.out);
	const char *next = leaf + strlen("pthread_mutex_unlock\n");
	while (*next == ' ')
		next++;
	cr_expect(!strncmp(next, "hold_and_sleep\n", 15), "frame after the leaf:\n%s", t.out);
	run_free(&t);
	run_free(&r);
}

/* ------------------------------------------------------------------ */
/* Exported names */

static size_t
split_names(char *text, char **names, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(text, " \t\n;"); tok && n < max; tok = strtok(NULL, " \t\n;"))
		names[n++] = tok;
	return n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the global: section of the version script the build
 * expanded from interpose/wrapped.def (build/interpose/exports.map). */
static size_t
exports_map_names(char *buf, size_t len, char **names, size_t max)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/interpose/exports.map", env_required("CONTEND_BUILD_ROOT"));
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Drop comments, then keep what lies between global: and local:. */
	for (char *c; (c = strstr(buf, "/*"));) {
		char *e = strstr(c, "*/");
		cr_assert(e, "unterminated comment in %s", path);
		memset(c, ' ', (size_t)(e + 2 - c));
	}
	char *g = strstr(buf, "global:"), *l = strstr(buf, "local:");
	cr_assert(g && l && l > g, "%s has no global:/local: sections", path);
	*l = 0;
	return split_names(g + strlen("global:"), names, max);
}

/* `nm -D --defined-only lib`: the names, versions stripped. */
static size_t
nm_defined(const char *lib, struct run *t, char **names, size_t max)
{
	const char *argv[] = {"nm", "-D", "--defined-only", lib, NULL};
	run_cmd(t, argv, 60);
	cr_assert(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0, "nm failed: %s", t->err);
	size_t n = 0;
	for (char *line = strtok(t->out, "\n"); line && n < max; line = strtok(NULL, "\n")) {
		char *name = strrchr(line, ' ');
		name = name ? name + 1 : line;
		name[strcspn(name, "@")] = 0;
		names[n++] = name;
	}
	return n;
}

static void
expect_same_names(const char *lib, char **want, size_t nwant, char **got, size_t ngot)
{
	qsort(want, nwant, sizeof(*want), cmp_str);
	qsort(got, ngot, sizeof(*got), cmp_str);
	size_t i = 0, j = 0;
	while (i < nwant || j < ngot) {
		int c = i == nwant ? 1 : j == ngot ? -1 : strcmp(want[i], got[j]);
		cr_expect(c == 0, "%s: %s %s", lib, c < 0 ? want[i] : got[j],
			  c < 0 ? "is in the list but not exported" : "is exported but not in the list");
		i += c <= 0;
		j += c >= 0;
	}
}

Test(tools, shim_exports_exactly_the_map)
{
	static char map[16384];
	char *want[256], *got[256];
	struct run t;
	size_t nwant = exports_map_names(map, sizeof(map), want, 256);
	cr_assert_gt(nwant, 0);
	size_t ngot = nm_defined(env_required("CONTEND_LIB"), &t, got, 256);
	expect_same_names("libcontend.so", want, nwant, got, ngot);
	run_free(&t);
}

/* The other direction at its source: every function the shim's own objects
 * define with default visibility (CT_EXPORT, i.e. meant to interpose) is in
 * the table, since the version script's `local: *` would silently hide a
 * wrapper missing from it. */
Test(tools, shim_wrappers_are_exactly_the_map)
{
	static char map[16384];
	char *want[256], *got[256];
	struct run t;
	size_t nwant = exports_map_names(map, sizeof(map), want, 256);
	const char *argv[] = {"sh", "-c",
			      "readelf -sW \"$1\"/libcontend.so.p/*.o | "
			      "awk '$5 == \"GLOBAL\" && $6 == \"DEFAULT\" && $7 != \"UND\" { print $8 }' | sort -u",
			      "sh", env_required("CONTEND_BUILD_ROOT"), NULL};
	run_cmd(&t, argv, 60);
	cr_assert(WIFEXITED(t.status) && WEXITSTATUS(t.status) == 0, "readelf failed: %s", t.err);
	size_t ngot = 0;
	for (char *line = strtok(t.out, "\n"); line && ngot < 256; line = strtok(NULL, "\n"))
		got[ngot++] = line;
	cr_assert_gt(ngot, 0, "no object of libcontend.so found");
	expect_same_names("libcontend.so objects", want, nwant, got, ngot);
	run_free(&t);
}

/* The names report/ headers declare with CT_EXPORT: the declaration's last
 * identifier before its "(" or ";". */
static size_t
report_exported_names(char *buf, size_t len, char **names, size_t max)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/report", env_required("CONTEND_SOURCE_ROOT"));
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	size_t n = 0, used = 0;
	for (struct dirent *e; (e = readdir(d)) && n < max;) {
		size_t nl = strlen(e->d_name);
		if (nl < 3 || strcmp(e->d_name + nl - 2, ".h"))
			continue;
		char path[PATH_MAX + 256], line[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "r");
		cr_assert(f, "cannot open %s", path);
		while (fgets(line, sizeof(line), f) && n < max) {
			if (strncmp(line, "CT_EXPORT ", 10))
				continue;
			char *end = line + strcspn(line, "(;");
			while (end > line && !(isalnum((unsigned char)end[-1]) || end[-1] == '_'))
				end--;
			char *start = end;
			while (start > line && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
				start--;
			size_t k = (size_t)(end - start);
			cr_assert(k > 0 && used + k + 1 < len);
			memcpy(buf + used, start, k);
			buf[used + k] = 0;
			names[n++] = buf + used;
			used += k + 1;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* libcontend-report.so exports what the report/ headers mark CT_EXPORT (what the
 * shim and the CLI look up), nothing else. */
Test(tools, report_lib_exports_what_headers_mark)
{
	static char decl[4096];
	char *want[64], *got[256];
	struct run t;
	size_t nwant = report_exported_names(decl, sizeof(decl), want, 64);
	cr_assert_gt(nwant, 0, "no CT_EXPORT declaration in the report/ headers");
	size_t ngot = nm_defined(env_required("CONTEND_REPORT_LIB"), &t, got, 256);
	expect_same_names("libcontend-report.so", want, nwant, got, ngot);
	run_free(&t);
}
