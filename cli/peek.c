/* `contend peek`: callers and callees of the nodes whose name matches
 * (printTree in internal/report/report.go; pprof does not trim here). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "units.h"
#include "view.h"

static void
print_edges(FILE *out, const struct ct_view *v, struct ct_edge **edges, size_t n, int64_t cum,
	    bool callers)
{
	struct ct_edge **e = malloc((n + 1) * sizeof(*e));
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		e[i] = edges[i];
	ct_graph_sort_edges(e, n);
	for (size_t i = 0; i < n; i++) {
		char w[64], pct[16];
		ct_view_format(v, e[i]->weight, w, sizeof(w));
		ct_units_percent(pct, sizeof(pct), e[i]->weight, cum);
		fprintf(out, "%50s %s |   %s%s\n", w, pct,
			callers ? e[i]->src->pname : e[i]->dst->pname, e[i]->inl ? " (inline)" : "");
	}
	free(e);
}

int
ct_peek_print(FILE *out, const struct ct_profile *p, size_t vidx, const regex_t *rx,
	      const char *rxsrc, char *err, size_t errlen)
{
	static const char sep[] = "----------------------------------------------------------+-------------";
	static const char legend[] =
		"      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t ";
	struct ct_view v;
	struct ct_trimmed t = {0};
	struct ct_nodes *u = NULL;
	int ret = -1;

	ct_view_init(&v, p, vidx);
	if (!(u = ct_graph_nodes(p, CT_GRAN_FUNCTIONS)) ||
	    ct_view_trimmed_graph(&v, u, 0, 0, 0, false, &t) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ct_view_select_unit(&v, t.g);
	ct_view_print_report_labels(&v, &t, out);
	fprintf(out, "%s\n%s\n", sep, legend);
	int64_t flat_sum = 0;
	size_t matched = 0;
	for (size_t i = 0; i < t.g->n; i++) {
		struct ct_node *n = t.g->nodes[i];
		if (regexec(rx, n->pname, 0, NULL, 0) != 0)
			continue;
		matched++;
		fprintf(out, "%s\n", sep);
		print_edges(out, &v, n->in, n->nin, n->cum, true);
		struct ct_view_cols c;
		ct_view_cols(&v, n, &flat_sum, &c);
		fprintf(out, "%10s %s %s %10s %s                | %s\n", c.flat, c.flat_pct, c.sum_pct,
			c.cum, c.cum_pct, n->pname);
		print_edges(out, &v, n->out, n->nout, n->cum, false);
	}
	if (t.g->n > 0)
		fprintf(out, "%s\n", sep);
	if (matched == 0) {
		snprintf(err, errlen, "no matches found for regexp: %s", rxsrc);
		goto out;
	}
	ret = 0;
out:
	ct_graph_free(t.g);
	ct_graph_nodes_free(u);
	return ret;
}
