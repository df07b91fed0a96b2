/* Heaviest sites of a profile for the `contend run` summary (see
 * summary.h). */
#include "summary.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "units.h"
#include "../report/cmp.h"

/* Frames that are the machinery rather than the program: libc and the
 * loader, the C++ runtime, libcontend itself, and Go's runtime and sync
 * packages (for Go profiles, which have a single mapping). */
static bool
is_system_frame(const struct ct_ploc *l, const struct ct_pline *ln)
{
	static const char *const libs[] = {"libc.so", "libc-", "libpthread", "ld-linux", "ld-2.",
					   "libstdc++", "libgcc_s", "libcontend", "libc++"};
	static const char *const prefixes[] = {"pthread_", "__pthread", "sem_", "__libc_", "__GI_",
					       "_dl_", "std::", "__gthread", "sync.", "runtime.",
					       "internal/"};
	static const char *const names[] = {"_start", "clone", "clone3", "start_thread"};
	if (l->map && *l->map->file) {
		char base[PATH_MAX];
		const char *b = ct_graph_base(l->map->file, base, sizeof(base));
		for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
			if (!strncmp(b, libs[i], strlen(libs[i])))
				return true;
	}
	if (ln) {
		const char *n = ln->fn->name;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (!strncmp(n, prefixes[i], strlen(prefixes[i])))
				return true;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(n, names[i]))
				return true;
	}
	return false;
}

bool
ct_summary_frame(const struct ct_psample *smp, const char **fn, const char **file, int64_t *line)
{
	for (size_t j = 0; j < smp->nlocs; j++) {
		const struct ct_ploc *l = smp->locs[j];
		for (size_t k = 0; k < l->nlines; k++) {
			if (is_system_frame(l, &l->lines[k]))
				continue;
			*fn = l->lines[k].fn->name;
			*file = l->lines[k].fn->filename;
			*line = l->lines[k].line;
			return true;
		}
	}
	if (smp->nlocs && smp->locs[0]->nlines) {
		const struct ct_pline *ln = &smp->locs[0]->lines[0];
		*fn = ln->fn->name;
		*file = ln->fn->filename;
		*line = ln->line;
		return true;
	}
	return false;
}

CT_CMP(cmp_site_key, struct ct_site)
{
	int c = strcmp(x->function, y->function);
	if (c)
		return c;
	if ((c = strcmp(x->file, y->file)))
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->leaf, y->leaf);
}

CT_CMP(cmp_site_value, struct ct_site)
{
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return cmp_site_key(x, y);
}

long
ct_summary_sites(const struct ct_profile *p, size_t vidx, struct ct_site **sites)
{
	struct ct_site *s = calloc(p->nsamples + 1, sizeof(*s));
	size_t n = 0;
	if (!s)
		return -1;
	for (size_t i = 0; i < p->nsamples && vidx < p->ntypes; i++) {
		const struct ct_psample *smp = &p->samples[i];
		int64_t v = smp->values[vidx];
		if (v == 0 || smp->nlocs == 0)
			continue;
		struct ct_site site = {.function = "", .file = "", .leaf = "", .value = v};
		const struct ct_ploc *leaf = smp->locs[0];
		if (leaf->nlines)
			site.leaf = leaf->lines[0].fn->name;
		ct_summary_frame(smp, &site.function, &site.file, &site.line);
		if (!*site.function)
			site.function = "?";
		s[n++] = site;
	}
	/* Merge equal sites, then order by value. */
	qsort(s, n, sizeof(*s), cmp_site_key);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && !cmp_site_key(&s[m - 1], &s[i]))
			s[m - 1].value += s[i].value;
		else
			s[m++] = s[i];
	}
	qsort(s, m, sizeof(*s), cmp_site_value);
	*sites = s;
	return (long)m;
}

int
ct_summary_print(FILE *out, const char *path, const char *title, size_t max)
{
	struct ct_profile *p = NULL;
	struct ct_site *s = NULL;
	char err[512], cwd[PATH_MAX];
	size_t vidx;
	int printed = 0;

	if (access(path, F_OK) != 0)
		return 0;
	if (ct_profile_load(path, &p, err, sizeof(err)) < 0) {
		fprintf(out, "contend: %s: %s\n", path, err);
		return 0;
	}
	if (ct_profile_sample_index(p, NULL, &vidx, err, sizeof(err)) < 0)
		goto out;
	long n = ct_summary_sites(p, vidx, &s);
	if (n < 0)
		goto out;
	int64_t total = 0;
	for (long i = 0; i < n; i++)
		total += s[i].value;
	char tot[64];
	ct_units_label(tot, sizeof(tot), total, p->units[vidx], "auto");
	fprintf(out, "contend: %s (%s, %s %s in all):\n", title, ct_graph_base(path, cwd, sizeof(cwd)),
		tot, p->types[vidx]);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = 0;
	if (n == 0)
		fprintf(out, "      (none)\n");
	size_t cl = strlen(cwd);
	for (long i = 0; i < n && (size_t)i < max; i++) {
		char val[64], where[PATH_MAX + 32] = "";
		const char *file = s[i].file;
		if (cl > 1 && !strncmp(file, cwd, cl) && file[cl] == '/')
			file += cl + 1;
		if (*file)
			snprintf(where, sizeof(where), "  %s:%lld", file, (long long)s[i].line);
		ct_units_label(val, sizeof(val), s[i].value, p->units[vidx], "auto");
		fprintf(out, "  %10s  %s%s%s%s%s\n", val, s[i].function, where,
			*s[i].leaf && strcmp(s[i].leaf, s[i].function) ? "  (" : "",
			strcmp(s[i].leaf, s[i].function) ? s[i].leaf : "",
			*s[i].leaf && strcmp(s[i].leaf, s[i].function) ? ")" : "");
		printed++;
	}
out:
	free(s);
	ct_profile_free(p);
	return printed;
}
