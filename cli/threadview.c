/* Thread dumps, grouped by stack (see threadview.h). Both sources are
 * turned into the same groups: a title (what the threads wait in, or
 * their state), a count, flags for stuck and deadlocked, and the frames.
 * The text format is read tolerantly: lines starting with "thread " or
 * "goroutine " open a block, a blank line closes it, "deadlock" lines are
 * reports of their own. */
#include "threadview.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "graph.h"
#include "../report/names.h"
#include "../report/pprof_read.h"
#include "../report/vec.h"
#include "summary.h"
#include "../report/cmp.h"

struct group {
	char *title;   /* "pthread_cond_wait", "running", ... */
	char *site;    /* " in worker (server.c:40)" or "" */
	char *labels;  /* all labels, "k=v k=v" (pb) */
	char *stack;   /* frames, one per line, indented */
	char *headers; /* the block headers of its threads (txt) */
	long count;
	bool stuck, deadlock;
	bool idle; /* parked for work (label idle, or ", idle]" in a header) */
	bool held; /* blocked behind a lock whose holder is known (label held_by) */
};

struct dump {
	struct group *g;
	size_t n, cap;
	char **deadlocks; /* report lines (txt) */
	size_t nd;
	char *notes;      /* summary lines of threads.txt ("stuck: ...", "leak: ...") */
	long threads;
	const char *source;
};

static void
dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->g[i].title);
		free(d->g[i].site);
		free(d->g[i].labels);
		free(d->g[i].stack);
		free(d->g[i].headers);
	}
	for (size_t i = 0; i < d->nd; i++)
		free(d->deadlocks[i]);
	free(d->notes);
	free(d->deadlocks);
	free(d->g);
}

static struct group *
group_add(struct dump *d)
{
	if (ct_vec_reserve(&d->g, &d->cap, d->n + 1, sizeof(*d->g)) < 0)
		return NULL;
	struct group *g = &d->g[d->n++];
	memset(g, 0, sizeof(*g));
	return g;
}

static bool
truthy(const char *v)
{
	return v && *v && strcasecmp(v, "0") && strcasecmp(v, "false") && strcasecmp(v, "no");
}

CT_CMP(cmp_group, struct group)
{
	if (x->deadlock != y->deadlock)
		return x->deadlock ? -1 : 1;
	if (x->held != y->held)
		return x->held ? -1 : 1;
	if (x->stuck != y->stuck)
		return x->stuck ? -1 : 1;
	if (x->idle != y->idle)
		return x->idle ? 1 : -1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	int c = strcmp(x->title, y->title);
	if (!c)
		c = strcmp(x->site, y->site);
	return c ? c : strcmp(x->stack, y->stack);
}

/* ------------------------------------------------------------------ */
/* threads.pb.gz */

/* Sample s's labels as "k=v k=v", setting g's flags from them. */
static void
print_labels(FILE *m, struct group *g, const struct ct_psample *s)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct ct_plabel *l = &s->labels[i];
		if (l->str)
			fprintf(m, "%s%s=%s", i ? " " : "", l->key, l->str);
		else
			fprintf(m, "%s%s=%lld%s", i ? " " : "", l->key, (long long)l->num, l->unit);
		if (!l->str)
			continue;
		if (!strcmp(l->key, "stuck") && truthy(l->str))
			g->stuck = true;
		if (!strcmp(l->key, "deadlock") && truthy(l->str))
			g->deadlock = true;
		if (!strcmp(l->key, "idle") && truthy(l->str))
			g->idle = true;
		if (!strcmp(l->key, "held_by") && *l->str)
			g->held = true;
		if (!strcmp(l->key, "state") && strstr(l->str, "stuck"))
			g->stuck = true;
		if (!strcmp(l->key, "state") && strstr(l->str, "deadlock"))
			g->deadlock = true;
	}
}

/* Sample s's stack, a frame a line. */
static void
print_stack(FILE *m, struct group *g, const struct ct_psample *s)
{
	(void)g;
	for (size_t i = 0; i < s->nlocs; i++) {
		const struct ct_ploc *l = s->locs[i];
		if (l->nlines == 0)
			fprintf(m, "    %#llx\n", (unsigned long long)l->address);
		for (size_t j = 0; j < l->nlines; j++) {
			const struct ct_pfunc *f = l->lines[j].fn;
			fprintf(m, "    %s", *f->name ? f->name : "?");
			if (*f->filename)
				fprintf(m, "  %s:%lld", f->filename, (long long)l->lines[j].line);
			fprintf(m, "%s\n", j + 1 < l->nlines ? " (inline)" : "");
		}
	}
}

/* What print writes, as a malloc'd string; NULL when out of memory. */
static char *
group_text(void (*print)(FILE *, struct group *, const struct ct_psample *), struct group *g,
	   const struct ct_psample *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	print(m, g, s);
	fclose(m);
	return buf;
}

/* The value of s's last string label key, or NULL. */
static const char *
last_label(const struct ct_psample *s, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].str && !strcmp(s->labels[i].key, key))
			v = s->labels[i].str;
	return v;
}

/* " in fn (file:line)" for the frame that sums up s, "" for a lone frame
 * (malloc'd; NULL when out of memory). */
static char *
group_site(const struct ct_psample *s)
{
	const char *fn, *file;
	int64_t line;
	char *site;
	if (!ct_summary_frame(s, &fn, &file, &line) || s->nlocs <= 1)
		return strdup("");
	char base[PATH_MAX];
	int r = *file ? asprintf(&site, " in %s (%s:%lld)", fn, ct_graph_base(file, base, sizeof(base)),
				 (long long)line)
		      : asprintf(&site, " in %s", fn);
	return r < 0 ? NULL : site;
}

/* Groups from a decoded count profile; takes ownership of p. */
static int
load_profile(struct ct_profile *p, struct dump *d, char *err, size_t errlen)
{
	size_t *order = NULL, norder = 0;
	int64_t *values = NULL;
	int ret = -1;

	if (p->ntypes == 0 && p->nsamples == 0) {
		ret = 0;
		goto out;
	}
	if (ct_profile_merge_samples(p, &order, &norder, &values) < 0)
		goto oom;
	for (size_t k = 0; k < norder; k++) {
		const struct ct_psample *s = &p->samples[order[k]];
		struct group *g = group_add(d);
		if (!g)
			goto oom;
		g->count = (long)values[k * p->ntypes + p->default_type];
		d->threads += g->count;
		const char *state = last_label(s, "state"), *wait = last_label(s, "wait");
		if (!(g->labels = group_text(print_labels, g, s)))
			goto oom;
		if (wait && *wait)
			g->title = strdup(wait);
		else if (state && *state)
			g->title = strdup(state);
		else if (s->nlocs && s->locs[0]->nlines)
			g->title = strdup(s->locs[0]->lines[0].fn->name);
		else
			g->title = strdup("?");
		g->site = group_site(s);
		g->stack = group_text(print_stack, g, s);
		if (!g->title || !g->stack || !g->site)
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(order);
	free(values);
	ct_profile_free(p);
	return ret;
}

/* ------------------------------------------------------------------ */
/* threads.txt */

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			if (ncap > (256u << 20)) {
				errno = EFBIG;
				free(buf);
				fclose(f);
				return NULL;
			}
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		if (got == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = 0;
	return buf;
}

static int
append(char **s, const char *line)
{
	size_t a = *s ? strlen(*s) : 0, b = strlen(line);
	char *ns = realloc(*s, a + b + 2);
	if (!ns)
		return -1;
	memcpy(ns + a, line, b);
	ns[a + b] = '\n';
	ns[a + b + 1] = 0;
	*s = ns;
	return 0;
}

/* "thread 4127 "w-3" [pthread_mutex_lock 0x55d0, 2 minutes, held by
 * thread 4120]:" -> "pthread_mutex_lock"; "[running]" -> "running". */
static char *
header_title(const char *h)
{
	const char *b = strchr(h, '[');
	if (!b)
		return strdup("?");
	b++;
	size_t n = strcspn(b, " ,]");
	return strndup(b, n ? n : 1);
}

/* The lines of text, cut in place (a "\r" before the "\n" too), empty
 * ones kept, and one extra blank line at the end that closes the last
 * block; *n gets their number. NULL when out of memory. */
static char **
split_lines(char *text, size_t *n)
{
	size_t nlines = 1;
	for (const char *c = text; *c; c++)
		nlines += *c == '\n';
	char **lines = calloc(nlines + 1, sizeof(*lines));
	if (!lines)
		return NULL;
	size_t k = 0;
	for (char *line = text; line && k < nlines;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = 0;
		lines[k++] = line;
		line = nl ? nl + 1 : NULL;
	}
	static char empty[] = "";
	lines[k++] = empty;
	*n = k;
	return lines;
}

/* Closes a thread's block, its header line and its stack (body, taken
 * over; may be NULL): joins the group with the same wait and the same
 * stack (up to "created by"), or starts one. 0, or -1 when out of memory. */
static int
close_block(struct dump *d, const char *header, char *body)
{
	char *title = header_title(header);
	if (!title) {
		free(body);
		return -1;
	}
	const char *created = body ? strstr(body, "\n    created by ") : NULL;
	size_t keylen = body ? (created ? (size_t)(created - body) + 1 : strlen(body)) : 0;
	struct group *g = NULL;
	for (size_t i = 0; i < d->n && !g; i++) {
		const char *gs = d->g[i].stack;
		const char *gc = strstr(gs, "\n    created by ");
		size_t gl = gc ? (size_t)(gc - gs) + 1 : strlen(gs);
		if (!strcmp(d->g[i].title, title) && gl == keylen &&
		    !memcmp(gs, body ? body : "", keylen))
			g = &d->g[i];
	}
	if (g) {
		free(title);
		free(body);
	} else {
		if (!(g = group_add(d))) {
			free(title);
			free(body);
			return -1;
		}
		g->title = title;
		g->stack = body ? body : strdup("");
		g->labels = strdup("");
		g->site = strdup("");
		if (!g->stack || !g->labels || !g->site)
			return -1;
	}
	g->count++;
	d->threads++;
	/* The flags end the bracket: a thread named "stuck" is not. */
	if (strstr(header, ", stuck]"))
		g->stuck = true;
	if (strstr(header, ", idle]"))
		g->idle = true;
	if (strstr(header, ", held by thread "))
		g->held = true;
	if (strstr(header, "deadlock"))
		g->deadlock = true;
	return append(&g->headers, header);
}

/* Groups from the text of a threads.txt; takes ownership of text. */
static int
load_text(char *text, struct dump *d, char *err, size_t errlen)
{
	char *header = NULL, *body = NULL, *report = NULL;
	int ret = -1;
	size_t k = 0;
	char **lines = split_lines(text, &k);
	if (!lines)
		goto oom;
	for (size_t li = 0; li < k; li++) {
		char *line = lines[li];
		bool blank = line[strspn(line, " \t")] == 0;
		bool indented = !blank && (line[0] == ' ' || line[0] == '\t');
		bool opens = !strncmp(line, "thread ", 7) || !strncmp(line, "goroutine ", 10);
		bool reports = !strncasecmp(line, "deadlock", 8);
		/* "stuck: ...", "blocked: ...", "leak: ...": the file's summary. */
		size_t word = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		bool note = !header && !opens && !reports && word > 0 && line[word] == ':' &&
			    line[word + 1] == ' ';
		if ((blank || opens || reports) && header) {
			int r = close_block(d, header, body);
			body = NULL;
			free(header);
			header = NULL;
			if (r < 0)
				goto oom_lines;
		}
		if (report && !indented) {
			char **nd = realloc(d->deadlocks, (d->nd + 1) * sizeof(*nd));
			if (!nd)
				goto oom_lines;
			d->deadlocks = nd;
			d->deadlocks[d->nd++] = report;
			report = NULL;
		}
		if (reports) {
			if (append(&report, line) < 0)
				goto oom_lines;
		} else if (opens) {
			if (!(header = strdup(line)))
				goto oom_lines;
		} else if (!blank && header) {
			char *ind = NULL;
			const char *t = line + strspn(line, " \t");
			if (asprintf(&ind, "    %s%s", t != line ? "    " : "", t) < 0)
				goto oom_lines;
			int r = append(&body, ind);
			free(ind);
			if (r < 0)
				goto oom_lines;
		} else if (indented && report) {
			if (append(&report, line) < 0)
				goto oom_lines;
		} else if (note) {
			if (append(&d->notes, line) < 0)
				goto oom_lines;
		}
	}
	free(lines);
	ret = 0;
	goto out;
oom_lines:
	free(lines);
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(text);
	free(header);
	free(body);
	free(report);
	return ret;
}

static int
load_pb(const char *path, struct dump *d, char *err, size_t errlen)
{
	struct ct_profile *p = NULL;
	char perr[512];
	if (ct_profile_load(path, &p, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	return load_profile(p, d, err, errlen);
}

static int
load_txt(const char *path, struct dump *d, char *err, size_t errlen)
{
	char *text = slurp(path);
	if (!text) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	return load_text(text, d, err, errlen);
}

/* ------------------------------------------------------------------ */

/* Loads <dir>/<stem>.pb.gz (with the deadlock reports and summary lines
 * of <stem>.txt) or, without it, <stem>.txt; source names the file. */
static int
load_stem(const char *dir, const char *stem, struct dump *d, char *err, size_t errlen)
{
	static char source[NAME_MAX + 8];
	char pb[PATH_MAX + 2 * NAME_MAX], txt[PATH_MAX + 2 * NAME_MAX];
	snprintf(pb, sizeof(pb), "%s/%s" CT_EXT_PB, dir, stem);
	snprintf(txt, sizeof(txt), "%s/%s" CT_EXT_TXT, dir, stem);
	if (access(pb, F_OK) == 0) {
		snprintf(source, sizeof(source), "%s" CT_EXT_PB, stem);
		d->source = source;
		if (load_pb(pb, d, err, errlen) < 0)
			return -1;
		/* threads.txt has what the profile cannot say: the
		 * deadlock reports and its summary lines. */
		struct dump t = {0};
		char terr[256];
		if (access(txt, F_OK) == 0 && load_txt(txt, &t, terr, sizeof(terr)) == 0) {
			d->deadlocks = t.deadlocks;
			d->nd = t.nd;
			d->notes = t.notes;
			t.deadlocks = NULL;
			t.nd = 0;
			t.notes = NULL;
		}
		dump_free(&t);
		return 0;
	}
	if (access(txt, F_OK) == 0) {
		snprintf(source, sizeof(source), "%s" CT_EXT_TXT, stem);
		d->source = source;
		return load_txt(txt, d, err, errlen);
	}
	snprintf(err, errlen, "no thread dump %s" CT_EXT_PB " or %s" CT_EXT_TXT " in %s", stem, stem,
		 dir);
	return -1;
}

/* The length of ext if name (n bytes) ends with it after something, else 0. */
static size_t
ends_with(const char *name, size_t n, const char *ext)
{
	size_t e = strlen(ext);
	return n > e && !strcmp(name + n - e, ext) ? e : 0;
}

int
ct_threadview_stem(const char *name, char *stem, size_t len)
{
	/* threads[.pid<N>[-<gen>]][.<seq>|.exec](.txt|.pb.gz) */
	size_t n = strlen(name), ext = ends_with(name, n, CT_EXT_TXT);
	size_t base = strlen(CT_NAME_THREADS);
	if (!ext)
		ext = ends_with(name, n, CT_EXT_PB);
	if (!ext || strncmp(name, CT_NAME_THREADS, base) != 0 || n - ext >= len)
		return -1;
	const char *p = name + base, *end = name + n - ext;
	if (p < end && !strncmp(p, ".pid", 4)) {
		size_t k = strspn(p + 4, "0123456789");
		if (k == 0 || p + 4 + k > end)
			return -1;
		p += 4 + k;
		/* A later process with the same pid (core/outfile.h). */
		if (p < end && *p == '-') {
			k = strspn(p + 1, "0123456789");
			if (k == 0 || p + 1 + k > end)
				return -1;
			p += 1 + k;
		}
	}
	size_t xl = strlen(CT_SUFFIX_EXEC);
	if ((size_t)(end - p) == xl && !strncmp(p, CT_SUFFIX_EXEC, xl))
		p = end;
	if (p < end) {
		size_t k = strspn(p + 1, "0123456789");
		if (*p != '.' || k == 0 || p + 1 + k != end)
			return -1;
		p += 1 + k;
	}
	if (p != end)
		return -1;
	memcpy(stem, name, n - ext);
	stem[n - ext] = 0;
	return 0;
}

/* The most recent thread dump in dir (any process's: plain names, the
 * pid-qualified names of a process that found them taken, numbered live
 * snapshots), by modification time, then by name. 0 with its stem, or
 * -1 if there is none. */
static int
newest_stem(const char *dir, char *stem, size_t len)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return -1;
	struct dirent *e;
	struct timespec best = {0, 0};
	bool found = false;
	while ((e = readdir(dp)) != NULL) {
		char s[NAME_MAX + 1], path[PATH_MAX + NAME_MAX + 2];
		struct stat st;
		if (ct_threadview_stem(e->d_name, s, sizeof(s)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		struct timespec m = st.st_mtim;
		bool newer = !found || m.tv_sec > best.tv_sec ||
			     (m.tv_sec == best.tv_sec && m.tv_nsec > best.tv_nsec) ||
			     (m.tv_sec == best.tv_sec && m.tv_nsec == best.tv_nsec &&
			      strcmp(s, stem) > 0);
		if (newer && strlen(s) < len) {
			strcpy(stem, s);
			best = m;
			found = true;
		}
	}
	closedir(dp);
	return found ? 0 : -1;
}

static int
load(const char *path, struct dump *d, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		char stem[NAME_MAX + 1];
		if (newest_stem(path, stem, sizeof(stem)) < 0) {
			snprintf(err, errlen,
				 "no thread dump in %s (expected threads.pb.gz or threads.txt, or "
				 "threads.pid<PID>.txt, threads.0001.txt, threads.exec.txt ...)",
				 path);
			return -1;
		}
		return load_stem(path, stem, d, err, errlen);
	}
	d->source = path;
	if (ends_with(path, strlen(path), CT_EXT_TXT))
		return load_txt(path, d, err, errlen);
	/* A thread dump's profile brings the reports of its text beside it. */
	const char *base = strrchr(path, '/');
	char stem[NAME_MAX + 1], dir[PATH_MAX];
	base = base ? base + 1 : path;
	if (ct_threadview_stem(base, stem, sizeof(stem)) == 0 && (size_t)(base - path) < sizeof(dir)) {
		snprintf(dir, sizeof(dir), "%.*s", base > path ? (int)(base - path - 1) : 1,
			 base > path ? path : ".");
		if (!dir[0])
			strcpy(dir, "/");
		return load_stem(dir, stem, d, err, errlen);
	}
	return load_pb(path, d, err, errlen);
}

static void
render(FILE *out, struct dump *dp)
{
	struct dump d = *dp;
	if (d.n > 1)
		qsort(d.g, d.n, sizeof(*d.g), cmp_group);
	size_t stuck = 0, dead = 0, idle = 0;
	for (size_t i = 0; i < d.n; i++) {
		stuck += d.g[i].stuck ? (size_t)d.g[i].count : 0;
		idle += d.g[i].idle ? (size_t)d.g[i].count : 0;
		dead += d.g[i].deadlock ? (size_t)d.g[i].count : 0;
	}
	fprintf(out, "%ld thread%s in %zu group%s (%s)", d.threads, d.threads == 1 ? "" : "s", d.n,
		d.n == 1 ? "" : "s", d.source);
	if (stuck)
		fprintf(out, ", %zu stuck", stuck);
	if (dead || d.nd)
		fprintf(out, ", %zu deadlock report%s", d.nd ? d.nd : dead, (d.nd ? d.nd : dead) == 1 ? "" : "s");
	if (idle)
		fprintf(out, ", %zu idle", idle);
	fputc('\n', out);
	for (size_t i = 0; i < d.nd; i++)
		fprintf(out, "\n%s", d.deadlocks[i]);
	if (d.notes)
		fprintf(out, "\n%s", d.notes);
	for (size_t i = 0; i < d.n; i++) {
		const struct group *g = &d.g[i];
		fprintf(out, "\n%ld thread%s: %s%s%s%s%s\n", g->count, g->count == 1 ? "" : "s",
			g->title, g->site, g->deadlock ? " [deadlock]" : "", g->stuck ? " [stuck]" : "",
			g->idle ? " [idle]" : "");
		if (g->labels && *g->labels)
			fprintf(out, "  labels: %s\n", g->labels);
		if (g->headers) {
			/* The first few headers: tid, name, how long. */
			const char *h = g->headers;
			for (int k = 0; *h && k < 5; k++) {
				const char *e = strchr(h, '\n');
				size_t l = e ? (size_t)(e - h) : strlen(h);
				fprintf(out, "  %.*s\n", (int)l, h);
				h = e ? e + 1 : h + l;
			}
			if (*h && g->count > 5)
				fprintf(out, "  ... and %ld more\n", g->count - 5);
		}
		fputs(g->stack, out);
	}
}

int
ct_threadview_print_stem(FILE *out, const char *dir, const char *stem, char *err, size_t errlen)
{
	struct dump d = {0};
	int ret = load_stem(dir, stem, &d, err, errlen);
	if (ret == 0)
		render(out, &d);
	dump_free(&d);
	return ret;
}

int
ct_threadview_print(FILE *out, const char *path, char *err, size_t errlen)
{
	struct dump d = {0};
	int ret = load(path, &d, err, errlen);
	if (ret == 0)
		render(out, &d);
	dump_free(&d);
	return ret;
}

int
ct_threadview_print_data(FILE *out, const void *data, size_t len, char *err, size_t errlen)
{
	struct dump d = {.source = "data"};
	struct ct_profile *p = NULL;
	char perr[512];
	int ret;
	if (ct_profile_parse(data, len, &p, perr, sizeof(perr)) == 0) {
		ret = load_profile(p, &d, err, errlen);
	} else {
		char *text = malloc(len + 1);
		if (!text) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(text, data, len);
		text[len] = 0;
		ret = load_text(text, &d, err, errlen);
	}
	if (ret == 0)
		render(out, &d);
	dump_free(&d);
	return ret;
}

void
ct_threadview_summary(FILE *out, const char *dir)
{
	struct dump d = {0};
	char err[512];
	if (load(dir, &d, err, sizeof(err)) < 0) {
		dump_free(&d);
		return;
	}
	if (d.n > 1)
		qsort(d.g, d.n, sizeof(*d.g), cmp_group);
	long stuck = 0;
	for (size_t i = 0; i < d.n; i++)
		stuck += d.g[i].stuck ? d.g[i].count : 0;
	for (size_t i = 0; i < d.nd; i++) {
		const char *e = strchr(d.deadlocks[i], '\n');
		fprintf(out, "contend: %.*s\n", (int)(e ? e - d.deadlocks[i] : (long)strlen(d.deadlocks[i])),
			d.deadlocks[i]);
	}
	if (stuck) {
		fprintf(out, "contend: %ld stuck thread%s (%s; `contend threads %s` shows all):\n", stuck,
			stuck == 1 ? "" : "s", d.source, dir);
		int shown = 0;
		for (size_t i = 0; i < d.n && shown < 5; i++) {
			if (!d.g[i].stuck)
				continue;
			fprintf(out, "  %6ld  %s%s%s\n", d.g[i].count, d.g[i].title, d.g[i].site,
				d.g[i].deadlock ? "  [deadlock]" : "");
			shown++;
		}
	}
	dump_free(&d);
}

int
ct_threadview_show(const char *path, const char *stem)
{
	char err[PATH_MAX + 256];
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return ct_cli_error("out of memory");
	int r = stem ? ct_threadview_print_stem(m, path, stem, err, sizeof(err))
		     : ct_threadview_print(m, path, err, sizeof(err));
	fclose(m);
	if (r < 0) {
		free(buf);
		return ct_cli_error("%s", err);
	}
	fwrite(buf, 1, len, stdout);
	free(buf);
	return fflush(stdout) == 0 ? 0 : ct_cli_error("cannot write the output: %s", strerror(errno));
}

int
ct_threadview_main(const char *path)
{
	return ct_threadview_show(path, NULL);
}
