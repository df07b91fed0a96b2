/* `contend top`: pprof's text report (printText in
 * internal/report/report.go), by function, trimmed like `-top`. */
#include <stdio.h>

#include "commands.h"
#include "units.h"
#include "view.h"

int
ct_top_print(FILE *out, const struct ct_profile *p, size_t vidx, size_t node_count, bool cum,
	     char *err, size_t errlen)
{
	struct ct_view v;
	struct ct_trimmed t;
	struct ct_nodes *u = NULL;
	int ret = -1;

	ct_view_init(&v, p, vidx);
	if (!(u = ct_graph_nodes(p, CT_GRAN_FUNCTIONS)) ||
	    ct_view_trimmed_graph(&v, u, CT_VIEW_NODE_FRACTION, CT_VIEW_EDGE_FRACTION, node_count, cum,
				  &t) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ct_view_select_unit(&v, t.g);
	ct_view_print_report_labels(&v, &t, out);
	fprintf(out, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
	int64_t flat_sum = 0;
	for (size_t i = 0; i < t.g->n; i++) {
		const struct ct_node *n = t.g->nodes[i];
		const char *inl = ct_view_inline_label(n);
		struct ct_view_cols c;
		ct_view_cols(&v, n, &flat_sum, &c);
		fprintf(out, "%10s %s %s %10s %s  %s%s%s\n", c.flat, c.flat_pct, c.sum_pct, c.cum,
			c.cum_pct, n->pname, *inl ? " " : "", inl);
	}
	ct_graph_free(t.g);
	ret = 0;
out:
	ct_graph_nodes_free(u);
	return ret;
}
