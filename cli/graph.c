/* pprof's graph construction (see graph.h), following newGraph(),
 * CreateNodes(), nodeInfo() and the node sorters of
 * internal/graph/graph.go line by line where the results are visible. */
#include "graph.h"

#include "../report/strmap.h"
#include "../report/vec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Paths */

void
ct_graph_clean_path(const char *path, char *buf, size_t len)
{
	/* filepath.Clean's lazybuf algorithm; the result is never longer
	 * than the input plus one byte. */
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	char *out;
	if (!len)
		return;
	if (n == 0 || !(out = malloc(n + 2))) {
		snprintf(buf, len, ".");
		return;
	}
	int rooted = path[0] == '/';
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	snprintf(buf, len, "%s", out);
	free(out);
}

const char *
ct_graph_base(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);
	if (n == 0)
		return ".";
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 1 && path[0] == '/')
		return "/";
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(buf, len, "%.*s", (int)(n - start), path + start);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Nodes */

/* NodeInfo.PrintableName (the address is always 0 after aggregation). */
static char *
printable_name(const struct ct_ninfo *i)
{
	char base[4096];
	char *s = NULL;
	const char *name = i->name;
	int r;
	if (i->lineno != 0)
		r = asprintf(&s, "%s%s%s:%" PRId64, name, *name ? " " : "", i->file, i->lineno);
	else if (*i->file)
		r = asprintf(&s, "%s%s%s", name, *name ? " " : "", i->file);
	else if (*name)
		r = asprintf(&s, "%s", name);
	else if (*i->objfile)
		r = asprintf(&s, "[%s]", ct_graph_base(i->objfile, base, sizeof(base)));
	else
		r = asprintf(&s, "<unknown>");
	return r < 0 ? NULL : s;
}

void
ct_graph_nodes_free(struct ct_nodes *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		free(u->pname[i]);
	for (size_t i = 0; i < u->nowned; i++)
		free(u->owned[i]);
	CT_FREE_ALL(u->owned, u->pname, u->info, u->loc_first, u->loc_count, u->loc_node, u);
}

/* NodeInfo of line j of location l (newGraph's nodeInfo), its cleaned
 * file name written to clean. */
static struct ct_ninfo
line_info(const struct ct_ploc *l, size_t j, enum ct_gran gran, char *clean, size_t cleanlen)
{
	struct ct_ninfo ni = {.name = "", .file = "", .objfile = ""};
	const char *objfile = l->map ? l->map->file : "";
	if (l->nlines == 0) {
		ni.objfile = objfile;
		return ni;
	}
	const struct ct_pfunc *f = l->lines[j].fn;
	ni.name = f->name;
	if (gran == CT_GRAN_LINES) {
		ni.lineno = l->lines[j].line;
		if (*f->filename) {
			/* pprof's trimPath with no -trim_path. */
			const char *fn = f->filename;
			if (!strncmp(fn, "/proc/self/cwd/./", 17))
				fn += 17;
			else if (!strncmp(fn, "/proc/self/cwd/", 15))
				fn += 15;
			ct_graph_clean_path(fn, clean, cleanlen);
			ni.file = clean;
		}
	}
	if (gran == CT_GRAN_LINES || !*ni.name) {
		ni.objfile = objfile;
		ni.start_line = f->start_line;
	}
	return ni;
}

/* Appends node ni to u (its file name copied); -1 when out of memory. */
static int
add_node(struct ct_nodes *u, size_t *cap, struct ct_ninfo ni)
{
	if (u->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct ct_ninfo *ninfo = realloc(u->info, ncap * sizeof(*ninfo));
		if (!ninfo)
			return -1;
		u->info = ninfo;
		char **np = realloc(u->pname, ncap * sizeof(*np));
		if (!np)
			return -1;
		u->pname = np;
		*cap = ncap;
	}
	if (*ni.file) {
		char *own = strdup(ni.file);
		if (!own)
			return -1;
		u->owned[u->nowned++] = own;
		ni.file = own;
	}
	u->info[u->n] = ni;
	u->pname[u->n] = printable_name(&ni);
	if (!u->pname[u->n])
		return -1;
	u->n++;
	return 0;
}

struct ct_nodes *
ct_graph_nodes(const struct ct_profile *p, enum ct_gran gran)
{
	struct ct_nodes *u = calloc(1, sizeof(*u));
	struct ct_strmap m = {0};
	size_t total = 0, cap = 0;
	char *key = NULL;
	size_t keycap = 0;

	if (!u)
		return NULL;
	for (size_t i = 0; i < p->nlocs; i++)
		total += p->locs[i].nlines ? p->locs[i].nlines : 1;
	u->loc_first = calloc(p->nlocs + 1, sizeof(size_t));
	u->loc_count = calloc(p->nlocs + 1, sizeof(size_t));
	u->loc_node = calloc(total + 1, sizeof(size_t));
	u->owned = calloc(total + 1, sizeof(char *));
	if (!u->loc_first || !u->loc_count || !u->loc_node || !u->owned)
		goto fail;

	size_t k = 0;
	for (size_t li = 0; li < p->nlocs; li++) {
		const struct ct_ploc *l = &p->locs[li];
		size_t nl = l->nlines ? l->nlines : 1;
		u->loc_first[li] = k;
		u->loc_count[li] = nl;
		for (size_t j = 0; j < nl; j++, k++) {
			char clean[4096];
			struct ct_ninfo ni = line_info(l, j, gran, clean, sizeof(clean));
			size_t need = strlen(ni.name) + strlen(ni.file) + strlen(ni.objfile) + 64;
			if (need > keycap) {
				char *nk = realloc(key, need);
				if (!nk)
					goto fail;
				key = nk;
				keycap = need;
			}
			snprintf(key, keycap, "%s\x1f%s\x1f%" PRId64 "\x1f%" PRId64 "\x1f%s", ni.name, ni.file,
				 ni.lineno, ni.start_line, ni.objfile);
			size_t id;
			int r = ct_strmap_get(&m, key, u->n, &id);
			if (r < 0)
				goto fail;
			if (r == 0 && add_node(u, &cap, ni) < 0)
				goto fail;
			u->loc_node[k] = id;
		}
	}
	ct_strmap_free(&m);
	free(key);
	return u;
fail:
	ct_strmap_free(&m);
	free(key);
	ct_graph_nodes_free(u);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Graph */

static int
push_edge(struct ct_edge ***v, size_t *n, size_t *cap, struct ct_edge *e)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct ct_edge **nv = realloc(*v, ncap * sizeof(**v));
		if (!nv)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = e;
	return 0;
}

/* Node.AddToEdgeDiv without the mean divisor. */
static int
add_to_edge(struct ct_node *from, struct ct_node *to, int64_t w, bool residual, bool inl)
{
	for (size_t i = 0; i < from->nout; i++) {
		struct ct_edge *e = from->out[i];
		if (e->dst != to)
			continue;
		e->weight += w;
		if (residual)
			e->residual = true;
		if (!inl)
			e->inl = false;
		return 0;
	}
	struct ct_edge *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	*e = (struct ct_edge){.src = from, .dst = to, .weight = w, .residual = residual, .inl = inl};
	if (push_edge(&from->out, &from->nout, &from->capout, e) < 0) {
		free(e);
		return -1;
	}
	if (push_edge(&to->in, &to->nin, &to->capin, e) < 0) {
		from->nout--;
		free(e);
		return -1;
	}
	return 0;
}

void
ct_graph_free(struct ct_graph *g)
{
	if (!g)
		return;
	if (g->all) {
		for (size_t i = 0; i < g->u->n; i++) {
			for (size_t j = 0; j < g->all[i].nout; j++)
				free(g->all[i].out[j]);
			free(g->all[i].out);
			free(g->all[i].in);
		}
	}
	free(g->all);
	free(g->nodes);
	free(g);
}

struct ct_graph *
ct_graph_build(const struct ct_profile *p, const struct ct_nodes *u, size_t vidx, const bool *kept)
{
	struct ct_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->u = u;
	g->all = calloc(u->n + 1, sizeof(*g->all));
	g->nodes = calloc(u->n + 1, sizeof(*g->nodes));
	if (!g->all || !g->nodes)
		goto fail;
	for (size_t i = 0; i < u->n; i++) {
		g->all[i].id = i;
		g->all[i].info = &u->info[i];
		g->all[i].pname = u->pname[i];
	}

	for (size_t si = 0; si < p->nsamples; si++) {
		const struct ct_psample *s = &p->samples[si];
		int64_t w = vidx < p->ntypes ? s->values[vidx] : 0;
		unsigned long stamp = si + 1;
		if (w == 0)
			continue;
		struct ct_node *parent = NULL;
		bool residual = false;
		/* Root first; within a location the caller (last line) first. */
		for (size_t i = s->nlocs; i-- > 0;) {
			size_t li = s->locs[i]->index;
			size_t first = u->loc_first[li], cnt = u->loc_count[li];
			for (size_t ni = cnt; ni-- > 0;) {
				size_t id = u->loc_node[first + ni];
				if (kept && !kept[id]) {
					residual = true;
					continue;
				}
				struct ct_node *n = &g->all[id];
				if (n->seen != stamp) {
					n->seen = stamp;
					n->cum += w;
				}
				if (parent && n != parent) {
					struct ct_edge *e = NULL;
					for (size_t j = 0; j < parent->nout; j++)
						if (parent->out[j]->dst == n)
							e = parent->out[j];
					if (!e || e->seen != stamp) {
						if (add_to_edge(parent, n, w, residual, ni != cnt - 1) < 0)
							goto fail;
						if (!e)
							e = parent->out[parent->nout - 1];
						e->seen = stamp;
					}
				}
				parent = n;
				residual = false;
			}
		}
		if (parent && !residual)
			parent->flat += w;
	}
	for (size_t i = 0; i < u->n; i++) {
		struct ct_node *n = &g->all[i];
		if (n->cum == 0 && n->flat == 0)
			continue;
		if (kept && !kept[i])
			continue;
		g->nodes[g->n++] = n;
	}
	return g;
fail:
	ct_graph_free(g);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Sorting */

static int64_t
abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* compareNodes: fmt.Sprint(NodeInfo) order, the last tie-breaker. */
static int
cmp_sprint(const struct ct_node *l, const struct ct_node *r)
{
	char a[8192], b[8192];
	const struct ct_ninfo *x = l->info, *y = r->info;
	snprintf(a, sizeof(a), "{%s  0 %s %" PRId64 " %" PRId64 " %s}", x->name, x->file,
		 x->start_line, x->lineno, x->objfile);
	snprintf(b, sizeof(b), "{%s  0 %s %" PRId64 " %" PRId64 " %s}", y->name, y->file,
		 y->start_line, y->lineno, y->objfile);
	return strcmp(a, b);
}

#define CMP_DESC(a, b)                                                                             \
	do {                                                                                       \
		int64_t a_ = (a), b_ = (b);                                                        \
		if (a_ != b_)                                                                      \
			return a_ > b_ ? -1 : 1;                                                   \
	} while (0)

/* pprof's flat and cum orders: by |first| descending, then name, then
 * |second| descending (l1, l2 are l's values; r1, r2 r's). */
static int
cmp_values(const struct ct_node *l, const struct ct_node *r, int64_t l1, int64_t r1, int64_t l2,
	   int64_t r2)
{
	CMP_DESC(abs64(l1), abs64(r1));
	int c = strcmp(l->pname, r->pname);
	if (c)
		return c;
	CMP_DESC(abs64(l2), abs64(r2));
	return cmp_sprint(l, r);
}

static int
cmp_flat(const void *a, const void *b)
{
	const struct ct_node *l = *(struct ct_node *const *)a, *r = *(struct ct_node *const *)b;
	return cmp_values(l, r, l->flat, r->flat, l->cum, r->cum);
}

static int
cmp_cum(const void *a, const void *b)
{
	const struct ct_node *l = *(struct ct_node *const *)a, *r = *(struct ct_node *const *)b;
	return cmp_values(l, r, l->cum, r->cum, l->flat, r->flat);
}

static int
cmp_name(const void *a, const void *b)
{
	const struct ct_node *l = *(struct ct_node *const *)a, *r = *(struct ct_node *const *)b;
	int c = strcmp(l->info->name, r->info->name);
	return c ? c : cmp_sprint(l, r);
}

static int
cmp_file(const void *a, const void *b)
{
	const struct ct_node *l = *(struct ct_node *const *)a, *r = *(struct ct_node *const *)b;
	int c = strcmp(l->info->file, r->info->file);
	if (c)
		return c;
	if (l->info->start_line != r->info->start_line)
		return l->info->start_line < r->info->start_line ? -1 : 1;
	return cmp_sprint(l, r);
}

void
ct_graph_sort(struct ct_node **nodes, size_t n, enum ct_order o)
{
	int (*cmp)(const void *, const void *) = o == CT_ORDER_FLAT  ? cmp_flat
						 : o == CT_ORDER_CUM  ? cmp_cum
						 : o == CT_ORDER_NAME ? cmp_name
								      : cmp_file;
	if (n > 1)
		qsort(nodes, n, sizeof(*nodes), cmp);
}

static int
cmp_edge(const void *a, const void *b)
{
	const struct ct_edge *l = *(struct ct_edge *const *)a, *r = *(struct ct_edge *const *)b;
	if (l->weight != r->weight)
		CMP_DESC(abs64(l->weight), abs64(r->weight));
	int c = strcmp(l->src->pname, r->src->pname);
	return c ? c : strcmp(l->dst->pname, r->dst->pname);
}

void
ct_graph_sort_edges(struct ct_edge **e, size_t n)
{
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_edge);
}

void
ct_graph_sum(struct ct_node *const *nodes, size_t n, int64_t *flat, int64_t *cum)
{
	int64_t f = 0, c = 0;
	for (size_t i = 0; i < n; i++) {
		f += nodes[i]->flat;
		c += nodes[i]->cum;
	}
	if (flat)
		*flat = f;
	if (cum)
		*cum = c;
}

int
ct_graph_trim_edges(struct ct_graph *g, int64_t cutoff)
{
	int dropped = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct ct_node *n = g->nodes[i];
		for (size_t j = 0; j < n->nin;) {
			struct ct_edge *e = n->in[j];
			if (abs64(e->weight) >= cutoff) {
				j++;
				continue;
			}
			struct ct_node *src = e->src;
			for (size_t k = 0; k < src->nout; k++) {
				if (src->out[k] == e) {
					src->out[k] = src->out[--src->nout];
					break;
				}
			}
			n->in[j] = n->in[--n->nin];
			free(e);
			dropped++;
		}
	}
	return dropped;
}
