/* `contend list`: annotated source (printSource and getSourceFromFile in
 * internal/report/source.go): for every function whose name matches, the
 * source lines around its samples with flat and cum values per line. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "units.h"
#include "view.h"

/* Largest source file read. */
#define CT_LIST_MAX_SOURCE (64L << 20)

struct srcfile {
	char *data;
	size_t nlines;
	char **lines; /* lines[0] is line 1 */
};

static void
srcfile_free(struct srcfile *s)
{
	free(s->data);
	free(s->lines);
}

static int
slurp(const char *path, struct srcfile *s)
{
	FILE *f = fopen(path, "rb");
	struct stat st = {0};
	if (!f)
		return -1;
	/* A profile names the file: never block on a FIFO or a device, nor
	 * swallow something huge. */
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CT_LIST_MAX_SOURCE) {
		int e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		fclose(f);
		errno = e;
		return -1;
	}
	size_t cap = 0, n = 0;
	char *buf = NULL;
	for (;;) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		if (got == 0 || n + got > CT_LIST_MAX_SOURCE)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = 0;
	size_t nl = 0;
	for (size_t i = 0; i < n; i++)
		nl += buf[i] == '\n';
	s->lines = calloc(nl + 2, sizeof(*s->lines));
	if (!s->lines) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	s->data = buf;
	s->nlines = 0;
	char *p = buf;
	while (p < buf + n) {
		char *e = memchr(p, '\n', (size_t)(buf + n - p));
		char *end = e ? e : buf + n;
		if (end > p && end[-1] == '\r') /* bufio.ScanLines drops it */
			end[-1] = 0;
		*end = 0;
		s->lines[s->nlines++] = p;
		p = end + 1;
	}
	return 0;
}

/* openSourceFile with searchPath = the current directory and no
 * -trim_path: err gets pprof's message when the file cannot be found. */
static int
open_source(const char *file, struct srcfile *s, char *err, size_t errlen)
{
	char cwd[PATH_MAX], base[PATH_MAX], want[PATH_MAX + 2], cand[2 * PATH_MAX + 2];
	const char *path = file;
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), ".");
	snprintf(want, sizeof(want), "/%s/", ct_graph_base(cwd, base, sizeof(base)));
	const char *found = strstr(path, want);
	if (found)
		path = found + strlen(want);
	if (!strncmp(path, "/proc/self/cwd/./", 17))
		path += 17;
	else if (!strncmp(path, "/proc/self/cwd/", 15))
		path += 15;
	if (path[0] == '/') {
		if (slurp(path, s) < 0) {
			/* Go's spelling of the errno text: lower case. */
			char msg[128];
			snprintf(msg, sizeof(msg), "%s", strerror(errno));
			if (msg[0] >= 'A' && msg[0] <= 'Z')
				msg[0] = (char)(msg[0] + 32);
			snprintf(err, errlen, "open %s: %s", path, msg);
			return -1;
		}
		return 0;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", cwd);
	for (;;) {
		char joined[sizeof(cand)];
		snprintf(joined, sizeof(joined), "%s/%s", dir, path);
		ct_graph_clean_path(joined, cand, sizeof(cand));
		if (slurp(cand, s) == 0)
			return 0;
		char *slash = strrchr(dir, '/');
		if (!slash || (slash == dir && dir[1] == 0))
			break;
		if (slash == dir)
			dir[1] = 0;
		else
			*slash = 0;
	}
	snprintf(err, errlen, "could not find file %s on path %s", path, cwd);
	return -1;
}

static void
value_or_dot(const struct ct_view *v, int64_t val, char *buf, size_t len)
{
	if (val == 0)
		snprintf(buf, len, ".");
	else
		ct_view_format(v, val, buf, len);
}

static int
cmp_node_line(const void *a, const void *b)
{
	int64_t x = (*(struct ct_node *const *)a)->info->lineno,
		y = (*(struct ct_node *const *)b)->info->lineno;
	return x < y ? -1 : x > y;
}

static void
print_file(FILE *out, const struct ct_view *v, const char *name, const char *file,
	   struct ct_node **fns, size_t n)
{
	char a[64], b[64], pct[16], ferr[PATH_MAX + 128];
	int64_t flat, cum;
	struct srcfile src = {0};

	ct_graph_sum(fns, n, &flat, &cum);
	fprintf(out, "ROUTINE ======================== %s in %s\n", name, file);
	ct_view_format(v, flat, a, sizeof(a));
	ct_view_format(v, cum, b, sizeof(b));
	ct_units_percent(pct, sizeof(pct), cum, v->total);
	fprintf(out, "%10s %10s (flat, cum) %s of Total\n", a, b, pct);
	if (open_source(file, &src, ferr, sizeof(ferr)) < 0) {
		fprintf(out, " Error: %s\n", ferr);
		return;
	}
	/* The window: the function's start line (or 5 lines before its first
	 * sample) to 5 lines after its last sample. */
	const int64_t margin = 5;
	int64_t start = INT64_MAX, end = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t ln = fns[i]->info->lineno;
		int64_t s = fns[i]->info->start_line ? fns[i]->info->start_line : ln - margin;
		if (s < start)
			start = s;
		if (ln + margin > end)
			end = ln + margin;
	}
	if (start < 1)
		start = 1;
	/* By line, so that the window is walked once with the nodes. */
	qsort(fns, n, sizeof(*fns), cmp_node_line);
	size_t i = 0;
	for (int64_t ln = start; ln <= end; ln++) {
		if (ln < 1 || (uint64_t)ln > src.nlines)
			break;
		int64_t f = 0, c = 0;
		while (i < n && fns[i]->info->lineno < ln)
			i++;
		for (; i < n && fns[i]->info->lineno == ln; i++) {
			f += fns[i]->flat;
			c += fns[i]->cum;
		}
		value_or_dot(v, f, a, sizeof(a));
		value_or_dot(v, c, b, sizeof(b));
		fprintf(out, "%10s %10s %6" PRId64 ":%s\n", a, b, ln, src.lines[ln - 1]);
	}
	srcfile_free(&src);
}

/* Nodes sorted by (name, file, place in the graph), so that each
 * function and each of its files is one run: one sort instead of a scan of
 * the graph per function (quadratic in a profile of many functions). */
static int
cmp_node_idx(const void *a, const void *b, void *arg)
{
	struct ct_node *const *nodes = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(nodes[i]->info->name, nodes[j]->info->name);
	if (!c)
		c = strcmp(nodes[i]->info->file, nodes[j]->info->file);
	return c ? c : (i < j ? -1 : i > j);
}

int
ct_list_print(FILE *out, const struct ct_profile *p, size_t vidx, const regex_t *rx,
	      const char *rxsrc, char *err, size_t errlen)
{
	struct ct_view v;
	struct ct_nodes *u = NULL;
	struct ct_graph *g = NULL;
	size_t *ix = NULL;
	struct ct_node **sel = NULL;
	size_t nsel = 0;
	int ret = -1;

	ct_view_init(&v, p, vidx);
	if (!(u = ct_graph_nodes(p, CT_GRAN_LINES)) || !(g = ct_graph_build(p, u, vidx, NULL)))
		goto oom;
	ix = calloc(g->n + 1, sizeof(*ix));
	sel = calloc(g->n + 1, sizeof(*sel));
	if (!ix || !sel)
		goto oom;
	for (size_t i = 0; i < g->n; i++)
		if (regexec(rx, g->nodes[i]->info->name, 0, NULL, 0) == 0)
			ix[nsel++] = i;
	if (nsel == 0) {
		snprintf(err, errlen, "no matches found for regexp: %s", rxsrc);
		goto out;
	}
	qsort_r(ix, nsel, sizeof(*ix), cmp_node_idx, g->nodes);
	char total[64];
	ct_view_format(&v, v.total, total, sizeof(total));
	fprintf(out, "Total: %s\n", total);
	for (size_t k = 0, kend; k < nsel; k = kend) {
		const char *name = g->nodes[ix[k]]->info->name;
		for (kend = k + 1; kend < nsel && !strcmp(g->nodes[ix[kend]]->info->name, name); kend++)
			;
		/* "" sorts first: the nodes without a file lead the run. */
		size_t f = k;
		while (f < kend && !*g->nodes[ix[f]]->info->file)
			f++;
		if (f == kend) {
			fprintf(out, "No source information for %s\n", name);
			continue;
		}
		for (size_t fend; f < kend; f = fend) {
			const char *file = g->nodes[ix[f]]->info->file;
			size_t n = 0;
			for (fend = f; fend < kend && !strcmp(g->nodes[ix[fend]]->info->file, file); fend++)
				sel[n++] = g->nodes[ix[fend]];
			print_file(out, &v, name, file, sel, n);
		}
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(ix);
	free(sel);
	ct_graph_free(g);
	ct_graph_nodes_free(u);
	return ret;
}
