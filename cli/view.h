/* What every pprof-style view shares (google/pprof internal/report): the
 * sample value shown, the total, the output unit, value formatting, the
 * header lines ("File:", "Type:", "Time:", "Duration:", "Showing nodes
 * accounting for ..."), and the trimmed graph of `top`/`peek`.
 * Not thread-safe; allocates only inside the graph calls. */
#ifndef CT_CLI_VIEW_H
#define CT_CLI_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "graph.h"
#include "../report/pprof_read.h"

/* pprof's defaults for -top: hide nodes below 0.5% and edges below 0.1%
 * of the total. */
#define CT_VIEW_NODE_FRACTION 0.005
#define CT_VIEW_EDGE_FRACTION 0.001

struct ct_view {
	const struct ct_profile *p;
	size_t vidx;             /* the sample value shown */
	const char *sample_type; /* p->types[vidx] */
	char sample_unit[64];    /* lower-cased p->units[vidx] */
	char output_unit[64];    /* "minimum" until ct_view_select_unit */
	int64_t total;           /* sum of |value| over all samples */
};

void ct_view_init(struct ct_view *v, const struct ct_profile *p, size_t vidx);

/* rpt.formatValue. */
void ct_view_format(const struct ct_view *v, int64_t value, char *buf, size_t len);

/* ProfileLabels: File, Build ID, comments, Type, Time, Duration. */
void ct_view_print_profile_labels(const struct ct_view *v, FILE *out);

/* The result of newTrimmedGraph. */
struct ct_trimmed {
	struct ct_graph *g;
	size_t orig_count;    /* nodes before the node-count limit */
	size_t dropped_nodes; /* below the node fraction */
	double node_fraction;
};

/* newTrimmedGraph: node fraction, node count (0 = all), sorted by flat
 * or cum. Returns 0, or -1 on allocation failure. */
int ct_view_trimmed_graph(const struct ct_view *v, const struct ct_nodes *u, double node_fraction,
			  double edge_fraction, size_t node_count, bool cum, struct ct_trimmed *t);

/* selectOutputUnit: one unit for the whole report, from the smallest
 * non-zero node value. */
void ct_view_select_unit(struct ct_view *v, const struct ct_graph *g);

/* reportLabels: ProfileLabels plus "Showing nodes accounting for ..." and
 * the "Dropped"/"Showing top" lines. */
void ct_view_print_report_labels(const struct ct_view *v, const struct ct_trimmed *t, FILE *out);

/* The flat and cumulative columns of a node in top and peek: values in
 * the output unit, percentages of the total, the flat sum so far. */
struct ct_view_cols {
	char flat[64], cum[64];
	char flat_pct[16], sum_pct[16], cum_pct[16];
};

/* Fills c for n, adding n's flat value to *flat_sum first. */
void ct_view_cols(const struct ct_view *v, const struct ct_node *n, int64_t *flat_sum,
		  struct ct_view_cols *c);

/* The inline label of a node for top: "", "(inline)" or
 * "(partial-inline)". */
const char *ct_view_inline_label(const struct ct_node *n);

#endif
