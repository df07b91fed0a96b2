/* `contend flame`: a flame graph, self-contained (no fonts, scripts or
 * styles from the network). Stacks are merged root first into a tree of
 * function names (inline frames are frames, as in pprof); each box is as
 * wide as its share of the sample value, callers below callees, children
 * in name order; colours come from a hash of the name, so a function has
 * the same colour in every graph. Boxes narrower than 0.1 px are left
 * out, and stacks deeper than CT_FLAME_MAX_DEPTH are cut. In the HTML, a
 * click zooms into a box and the search box (or #q=REGEX in the URL)
 * paints the matching functions magenta. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "graph.h"
#include "units.h"

#define CT_FLAME_MAX_DEPTH 1024 /* deeper frames are folded into their ancestor */
#define W 1200.0                /* picture width, px */
#define PAD 10.0
#define FRAME_H 17.0
#define TOP 60.0 /* title and legend */
#define CHAR_W 7.0

struct fnode {
	const char *name;
	const struct fnode *parent;
	int64_t value;
	size_t nkids, capkids;
	struct fnode **kids;
};

static struct fnode *
fnode_new(const char *name)
{
	struct fnode *n = calloc(1, sizeof(*n));
	if (n)
		n->name = name;
	return n;
}

static void
fnode_free(struct fnode *root)
{
	/* Iterative: a hostile profile may be very deep. */
	size_t cap = 64, n = 0;
	struct fnode **stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return;
	if (root)
		stack[n++] = root;
	while (n) {
		struct fnode *f = stack[--n];
		for (size_t i = 0; i < f->nkids; i++) {
			if (n == cap) {
				struct fnode **ns = realloc(stack, 2 * cap * sizeof(*ns));
				if (!ns)
					break; /* leaks the rest rather than crash */
				stack = ns;
				cap *= 2;
			}
			stack[n++] = f->kids[i];
		}
		free(f->kids);
		free(f);
	}
	free(stack);
}

/* Every node by (parent, name), so that finding a child costs the same
 * with 100,000 siblings as with 2 (a scan of the siblings made a profile
 * of many samples quadratic). Open addressing, grown at half full. */
struct kids_index {
	struct fnode **slot;
	size_t cap, n;
};

static uint64_t
kid_hash(const struct fnode *parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)parent;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void
slot_put(struct fnode **slot, size_t cap, struct fnode *n)
{
	size_t k = kid_hash(n->parent, n->name) & (cap - 1);
	while (slot[k])
		k = (k + 1) & (cap - 1);
	slot[k] = n;
}

static int
kids_index_put(struct kids_index *x, struct fnode *n)
{
	if (2 * (x->n + 1) > x->cap) {
		size_t ncap = x->cap ? 2 * x->cap : 256;
		struct fnode **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t i = 0; i < x->cap; i++)
			if (x->slot[i])
				slot_put(ns, ncap, x->slot[i]);
		free(x->slot);
		x->slot = ns;
		x->cap = ncap;
	}
	slot_put(x->slot, x->cap, n);
	x->n++;
	return 0;
}

static struct fnode *
child(struct kids_index *x, struct fnode *parent, const char *name)
{
	if (x->cap) {
		for (size_t k = kid_hash(parent, name) & (x->cap - 1); x->slot[k]; k = (k + 1) & (x->cap - 1)) {
			struct fnode *c = x->slot[k];
			if (c->parent == parent && (c->name == name || !strcmp(c->name, name)))
				return c;
		}
	}
	if (parent->nkids == parent->capkids) {
		size_t ncap = parent->capkids ? parent->capkids * 2 : 4;
		struct fnode **nk = realloc(parent->kids, ncap * sizeof(*nk));
		if (!nk)
			return NULL;
		parent->kids = nk;
		parent->capkids = ncap;
	}
	struct fnode *c = fnode_new(name);
	if (!c)
		return NULL;
	c->parent = parent;
	if (kids_index_put(x, c) < 0) {
		free(c);
		return NULL;
	}
	parent->kids[parent->nkids++] = c;
	return c;
}

static int
cmp_fnode(const void *a, const void *b)
{
	return strcmp((*(struct fnode *const *)a)->name, (*(struct fnode *const *)b)->name);
}

static void
xml_escape(FILE *out, const char *s, size_t max)
{
	static const char *const entity[128] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
	};
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 128 && entity[c])
			fputs(entity[c], out);
		else if (c < 0x20 && c != '\t') /* not allowed in XML 1.0 */
			fputc('?', out);
		else
			fputc(s[i], out);
	}
}

/* A warm colour from the name: stable across runs and profiles. */
static void
color_of(const char *name, int *r, int *g, int *b)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	*r = 205 + (int)(h % 50);
	*g = (int)((h >> 16) % 230);
	*b = (int)((h >> 32) % 55);
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
static const char html_mid[] =
	"</title>\n<style>\n"
	"body{margin:0;padding:8px;background:#f8f8f8;font-family:Verdana,sans-serif;font-size:13px}\n"
	"#bar{margin:0 0 6px 0}#bar input{width:260px}#info{margin-left:12px;color:#444}\n"
	"svg{display:block;width:100%;height:auto}svg .fr{cursor:pointer}\n"
	"</style>\n</head>\n<body>\n"
	"<div id=\"bar\"><input id=\"search\" type=\"search\" placeholder=\"search functions (regular expression)\">"
	" <button id=\"reset\" type=\"button\">reset zoom</button><span id=\"info\"></span></div>\n";
static const char html_tail[] =
	"<script>\n"
	"(function(){\n"
	"var W=1200,PAD=10,CW=7;\n"
	"var frames=[].slice.call(document.querySelectorAll('svg .fr'));\n"
	"var info=document.getElementById('info');\n"
	"function fit(g,w){var t=g.querySelector('text'),n=g.getAttribute('data-n'),m=Math.floor((w-6)/CW);\n"
	" t.textContent=m<3?'':(n.length<=m?n:n.substring(0,m-2)+'..');}\n"
	"function place(g,x,w){var r=g.querySelector('rect'),t=g.querySelector('text');\n"
	" r.setAttribute('x',x.toFixed(2));r.setAttribute('width',Math.max(w,0).toFixed(2));\n"
	" t.setAttribute('x',(x+3).toFixed(2));fit(g,w);}\n"
	"function zoom(z){var zx=+z.getAttribute('data-x'),zw=+z.getAttribute('data-w'),zd=+z.getAttribute('data-d');\n"
	" frames.forEach(function(g){var x=+g.getAttribute('data-x'),w=+g.getAttribute('data-w'),d=+g.getAttribute('data-d');\n"
	"  var inside=x>=zx-1e-9&&x+w<=zx+zw+1e-9&&d>=zd,above=d<zd&&x<=zx+1e-9&&x+w>=zx+zw-1e-9;\n"
	"  if(inside){g.style.display='';g.style.opacity='';place(g,PAD+(x-zx)/zw*(W-2*PAD),w/zw*(W-2*PAD));}\n"
	"  else if(above){g.style.display='';g.style.opacity='0.5';place(g,PAD,W-2*PAD);}\n"
	"  else g.style.display='none';});}\n"
	"function reset(){frames.forEach(function(g){g.style.display='';g.style.opacity='';\n"
	" place(g,PAD+(+g.getAttribute('data-x'))*(W-2*PAD),(+g.getAttribute('data-w'))*(W-2*PAD));});}\n"
	"frames.forEach(function(g){g.addEventListener('click',function(){zoom(g);});});\n"
	"document.getElementById('reset').addEventListener('click',function(){reset();});\n"
	"document.getElementById('search').addEventListener('input',function(e){\n"
	" var re=null,total=0,hit=0,cov=[];try{if(e.target.value)re=new RegExp(e.target.value);}catch(x){info.textContent='bad regular expression';return;}\n"
	" frames.forEach(function(g){var r=g.querySelector('rect');if(!r.hasAttribute('data-f'))r.setAttribute('data-f',r.getAttribute('fill'));\n"
	"  var m=re&&re.test(g.getAttribute('data-n'));r.setAttribute('fill',m?'rgb(230,0,230)':r.getAttribute('data-f'));\n"
	"  if(+g.getAttribute('data-d')===0)total+=+g.getAttribute('data-v');\n"
	"  if(m){var x=+g.getAttribute('data-x'),w=+g.getAttribute('data-w');\n"
	"   if(!cov.some(function(c){return x>=c[0]-1e-9&&x+w<=c[1]+1e-9;})){cov.push([x,x+w]);hit+=+g.getAttribute('data-v');}}});\n"
	" info.textContent=re?('matched '+(total?(100*hit/total).toFixed(2):'0')+'% of the total'):'';});\n"
	"if(location.hash.indexOf('#q=')===0){var s=document.getElementById('search');\n"
	" s.value=decodeURIComponent(location.hash.substring(3));s.dispatchEvent(new Event('input'));}\n"
	"})();\n"
	"</script>\n</body>\n</html>\n";

struct pending {
	struct fnode *n;
	double x; /* fraction of the total, left edge */
	int depth;
};

/* Every sample with a positive value under root, root first (inline
 * frames are frames); *max_depth gets the deepest stack, cut at
 * CT_FLAME_MAX_DEPTH. 0, or -1 when out of memory. */
static int
add_stacks(struct fnode *root, struct kids_index *kids, const struct ct_profile *p,
	   const struct ct_nodes *u, size_t vidx, int *max_depth)
{
	for (size_t si = 0; si < p->nsamples; si++) {
		const struct ct_psample *s = &p->samples[si];
		int64_t w = vidx < p->ntypes ? s->values[vidx] : 0;
		if (w <= 0)
			continue;
		struct fnode *f = root;
		int depth = 0;
		root->value += w;
		for (size_t i = s->nlocs; i-- > 0 && depth < CT_FLAME_MAX_DEPTH;) {
			size_t li = s->locs[i]->index, first = u->loc_first[li], c = u->loc_count[li];
			for (size_t j = c; j-- > 0 && depth < CT_FLAME_MAX_DEPTH;) {
				if (!(f = child(kids, f, u->pname[u->loc_node[first + j]])))
					return -1;
				f->value += w;
				depth++;
			}
		}
		if (depth > *max_depth)
			*max_depth = depth;
	}
	return 0;
}

/* The document up to the first box: the HTML page's head (html), the
 * SVG's opening, the title and the legend line (total: the sum of type's
 * values, a label). */
static void
write_head(FILE *out, const char *title, const char *type, const char *total, double height,
	   bool html, bool empty)
{
	if (html) {
		fputs(html_head, out);
		xml_escape(out, title, 4096);
		fputs(html_mid, out);
	} else {
		fputs("<?xml version=\"1.0\" standalone=\"no\"?>\n", out);
	}
	fprintf(out,
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}"
		".fr rect{stroke:#f8f8f8;stroke-width:0.5}.fr:hover rect{stroke:#000;stroke-width:1}</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n"
		"<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" style=\"font-size:17px\">",
		W, height, W, height, W / 2);
	xml_escape(out, title, 4096);
	fprintf(out, "</text>\n<text x=\"%.0f\" y=\"46\">", PAD);
	xml_escape(out, type, 256);
	fprintf(out, ": %s in all; width = share of %s, callers below callees%s</text>\n", total,
		*type ? type : "the samples", html ? "; click a box to zoom" : "");
	if (empty) {
		fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">no samples with a positive %s</text>\n", PAD,
			TOP + FRAME_H, *type ? type : "value");
	}
}

/* The box of cur, as wide as its share of total (a positive sum), with
 * its name cut to what fits. False if it is too narrow to draw (its
 * children are then narrower still). */
static bool
write_box(FILE *out, const struct pending *cur, int64_t total, double height, const char *unit)
{
	const struct fnode *f = cur->n;
	double span = W - 2 * PAD;
	double frac = (double)f->value / (double)total;
	double x = PAD + cur->x * span, w = frac * span;
	if (w < 0.1)
		return false;
	double y = height - PAD - (cur->depth + 1) * FRAME_H;
	int r, g, b;
	if (cur->depth == 0) {
		r = 160, g = 160, b = 160;
	} else {
		color_of(f->name, &r, &g, &b);
	}
	char val[64], pct[16];
	ct_units_label(val, sizeof(val), f->value, unit, "auto");
	ct_units_percent(pct, sizeof(pct), f->value, total);
	fprintf(out, "<g class=\"fr\" data-x=\"%.9f\" data-w=\"%.9f\" data-d=\"%d\" data-v=\"%" PRId64
		     "\" data-n=\"",
		cur->x, frac, cur->depth, f->value);
	xml_escape(out, f->name, 4096);
	fputs("\"><title>", out);
	xml_escape(out, f->name, 4096);
	fprintf(out, " (%s, %s)</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" "
		     "rx=\"2\" fill=\"rgb(%d,%d,%d)\"/><text x=\"%.2f\" y=\"%.2f\">",
		val, pct + strspn(pct, " "), x, y, w, FRAME_H - 1, r, g, b, x + 3, y + 12);
	size_t fits = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0, len = strlen(f->name);
	if (fits >= 3) {
		if (len <= fits) {
			xml_escape(out, f->name, len);
		} else {
			xml_escape(out, f->name, fits - 2);
			fputs("..", out);
		}
	}
	fputs("</text></g>\n", out);
	return true;
}

/* Every box under root (a positive value), depth-first and iterative,
 * children in name order. 0, or -1 when out of memory. */
static int
write_boxes(FILE *out, struct fnode *root, double height, const char *unit)
{
	size_t cap = 64, n = 0;
	struct pending *stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return -1;
	stack[n++] = (struct pending){root, 0.0, 0};
	while (n) {
		struct pending cur = stack[--n];
		struct fnode *f = cur.n;
		if (!write_box(out, &cur, root->value, height, unit))
			continue;
		if (f->nkids > 1)
			qsort(f->kids, f->nkids, sizeof(*f->kids), cmp_fnode);
		/* Push in reverse so the first child is drawn first. */
		double offs = cur.x;
		size_t base = n;
		for (size_t i = 0; i < f->nkids; i++) {
			if (n == cap) {
				struct pending *ns = realloc(stack, 2 * cap * sizeof(*ns));
				if (!ns) {
					free(stack);
					return -1;
				}
				stack = ns;
				cap *= 2;
			}
			stack[n++] = (struct pending){f->kids[i], offs, cur.depth + 1};
			offs += (double)f->kids[i]->value / (double)root->value;
		}
		for (size_t i = base, j = n; i < j--; i++) {
			struct pending t = stack[i];
			stack[i] = stack[j];
			stack[j] = t;
		}
	}
	free(stack);
	return 0;
}

int
ct_flame_write(FILE *out, const struct ct_profile *p, size_t vidx, bool html, const char *title,
	       char *err, size_t errlen)
{
	struct ct_nodes *u = NULL;
	struct fnode *root = NULL;
	struct kids_index kids = {0};
	int ret = -1, max_depth = 0;

	if (!(u = ct_graph_nodes(p, CT_GRAN_FUNCTIONS)) || !(root = fnode_new("all")) ||
	    add_stacks(root, &kids, p, u, vidx, &max_depth) < 0)
		goto oom;

	char total[64];
	const char *unit = vidx < p->ntypes ? p->units[vidx] : "";
	const char *type = vidx < p->ntypes ? p->types[vidx] : "";
	ct_units_label(total, sizeof(total), root->value, unit, "auto");
	double height = TOP + (max_depth + 1) * FRAME_H + PAD;
	write_head(out, title, type, total, height, html, root->value == 0);
	if (root->value > 0 && write_boxes(out, root, height, unit) < 0)
		goto oom;
	fputs("</svg>\n", out);
	if (html)
		fputs(html_tail, out);
	if (ferror(out)) {
		snprintf(err, errlen, "cannot write the output");
		goto out;
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(kids.slot);
	fnode_free(root);
	ct_graph_nodes_free(u);
	return ret;
}
