/* Shared report state and header lines (see view.h), after
 * internal/report/report.go: New/NewDefault, computeTotal,
 * newTrimmedGraph, selectOutputUnit, ProfileLabels and reportLabels. */
#include "view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "units.h"

static int64_t
abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

void
ct_view_init(struct ct_view *v, const struct ct_profile *p, size_t vidx)
{
	memset(v, 0, sizeof(*v));
	v->p = p;
	v->vidx = vidx;
	v->sample_type = vidx < p->ntypes ? p->types[vidx] : "";
	const char *u = vidx < p->ntypes ? p->units[vidx] : "";
	size_t i;
	for (i = 0; u[i] && i + 1 < sizeof(v->sample_unit); i++)
		v->sample_unit[i] = (u[i] >= 'A' && u[i] <= 'Z') ? (char)(u[i] + 32) : u[i];
	v->sample_unit[i] = 0;
	snprintf(v->output_unit, sizeof(v->output_unit), "minimum");
	for (size_t s = 0; s < p->nsamples && vidx < p->ntypes; s++)
		v->total += abs64(p->samples[s].values[vidx]);
}

void
ct_view_format(const struct ct_view *v, int64_t value, char *buf, size_t len)
{
	ct_units_label(buf, len, value, v->sample_unit, v->output_unit);
}

void
ct_view_print_profile_labels(const struct ct_view *v, FILE *out)
{
	const struct ct_profile *p = v->p;
	char base[4096], a[64], b[64], pct[32];
	if (p->nmaps > 0) {
		if (*p->maps[0].file)
			fprintf(out, "File: %s\n", ct_graph_base(p->maps[0].file, base, sizeof(base)));
		if (*p->maps[0].build_id)
			fprintf(out, "Build ID: %s\n", p->maps[0].build_id);
	}
	for (size_t i = 0; i < p->ncomments; i++)
		if (p->comments[i][0] != '#')
			fprintf(out, "%s\n", p->comments[i]);
	if (*v->sample_type)
		fprintf(out, "Type: %s\n", v->sample_type);
	if (p->time_nanos != 0) {
		/* Go's layout "Jan 2, 2006 at 3:04pm (MST)", local time. */
		time_t t = (time_t)(p->time_nanos / 1000000000);
		if (p->time_nanos < 0 && p->time_nanos % 1000000000)
			t--;
		struct tm tm;
		char when[128];
		if (localtime_r(&t, &tm) && strftime(when, sizeof(when), "%b %-d, %Y at %-I:%M%P (%Z)", &tm))
			fprintf(out, "Time: %s\n", when);
	}
	if (p->duration_nanos != 0) {
		const char *unit;
		ct_units_label(a, sizeof(a), p->duration_nanos, "nanoseconds", "auto");
		double ns = ct_units_scale(v->total, v->sample_unit, "nanoseconds", &unit);
		ct_view_format(v, v->total, b, sizeof(b));
		pct[0] = 0;
		if (!strcmp(unit, "ns") && ns != 0) {
			char r[16];
			ct_units_percent(r, sizeof(r), (int64_t)ns, p->duration_nanos);
			snprintf(pct, sizeof(pct), "(%s)", r);
		}
		fprintf(out, "Duration: %s, Total samples = %s %s\n", a, b, pct);
	}
}

int
ct_view_trimmed_graph(const struct ct_view *v, const struct ct_nodes *u, double node_fraction,
		      double edge_fraction, size_t node_count, bool cum, struct ct_trimmed *t)
{
	bool *kept = NULL;
	memset(t, 0, sizeof(*t));
	t->node_fraction = node_fraction;
	struct ct_graph *g = ct_graph_build(v->p, u, v->vidx, NULL);
	if (!g)
		return -1;
	int64_t total_value;
	ct_graph_sum(g->nodes, g->n, &total_value, NULL);
	int64_t node_cutoff = abs64((int64_t)((double)total_value * node_fraction));
	int64_t edge_cutoff = abs64((int64_t)((double)total_value * edge_fraction));

	if (node_cutoff > 0) {
		kept = calloc(u->n + 1, sizeof(*kept));
		if (!kept)
			goto fail;
		size_t nkept = 0;
		for (size_t i = 0; i < g->n; i++) {
			if (abs64(g->nodes[i]->cum) >= node_cutoff) {
				kept[g->nodes[i]->id] = true;
				nkept++;
			}
		}
		if (nkept != g->n) {
			t->dropped_nodes = g->n - nkept;
			ct_graph_free(g);
			if (!(g = ct_graph_build(v->p, u, v->vidx, kept)))
				goto fail;
		}
	}
	t->orig_count = g->n;
	ct_graph_sort(g->nodes, g->n, cum ? CT_ORDER_CUM : CT_ORDER_FLAT);
	if (node_count > 0) {
		ct_graph_trim_edges(g, edge_cutoff);
		if (node_count < g->n) {
			if (!kept && !(kept = calloc(u->n + 1, sizeof(*kept))))
				goto fail;
			memset(kept, 0, (u->n + 1) * sizeof(*kept));
			for (size_t i = 0; i < node_count; i++)
				kept[g->nodes[i]->id] = true;
			ct_graph_free(g);
			if (!(g = ct_graph_build(v->p, u, v->vidx, kept)))
				goto fail;
			ct_graph_sort(g->nodes, g->n, cum ? CT_ORDER_CUM : CT_ORDER_FLAT);
		}
	}
	ct_graph_trim_edges(g, edge_cutoff);
	free(kept);
	t->g = g;
	return 0;
fail:
	free(kept);
	ct_graph_free(g);
	return -1;
}

void
ct_view_select_unit(struct ct_view *v, const struct ct_graph *g)
{
	if (strcmp(v->output_unit, "minimum") != 0 || g->n == 0)
		return;
	int64_t min = 0, max = v->total;
	for (size_t i = 0; i < g->n; i++) {
		int64_t m = abs64(g->nodes[i]->flat);
		if (m == 0)
			m = abs64(g->nodes[i]->cum);
		if (m > 0 && (min == 0 || m < min))
			min = m;
	}
	if (min == 0)
		min = max;
	const char *min_unit, *max_unit, *unit;
	ct_units_scale(min, v->sample_unit, "minimum", &min_unit);
	ct_units_scale(max, v->sample_unit, "minimum", &max_unit);
	unit = min_unit;
	if (strcmp(min_unit, max_unit) != 0 && min * 100 < max)
		ct_units_scale(100 * min, v->sample_unit, "minimum", &unit);
	if (*unit)
		snprintf(v->output_unit, sizeof(v->output_unit), "%s", unit);
	else
		snprintf(v->output_unit, sizeof(v->output_unit), "%s", v->sample_unit);
}

void
ct_view_print_report_labels(const struct ct_view *v, const struct ct_trimmed *t, FILE *out)
{
	char a[64], b[64], pct[16];
	int64_t flat_sum;
	ct_view_print_profile_labels(v, out);
	ct_graph_sum(t->g->nodes, t->g->n, &flat_sum, NULL);
	ct_view_format(v, flat_sum, a, sizeof(a));
	ct_view_format(v, v->total, b, sizeof(b));
	ct_units_percent(pct, sizeof(pct), flat_sum, v->total);
	const char *p = pct;
	while (*p == ' ')
		p++;
	fprintf(out, "Showing nodes accounting for %s, %s of %s total\n", a, p, b);
	if (v->total != 0) {
		if (t->dropped_nodes > 0) {
			ct_view_format(v, abs64((int64_t)((double)v->total * t->node_fraction)), a, sizeof(a));
			fprintf(out, "Dropped %zu node%s (cum <= %s)\n", t->dropped_nodes,
				t->dropped_nodes > 1 ? "s" : "", a);
		}
		if (t->g->n > 0 && t->g->n < t->orig_count)
			fprintf(out, "Showing top %zu nodes out of %zu\n", t->g->n, t->orig_count);
	}
}

const char *
ct_view_inline_label(const struct ct_node *n)
{
	bool inl = false, noinl = false;
	for (size_t i = 0; i < n->nin; i++) {
		if (n->in[i]->inl)
			inl = true;
		else
			noinl = true;
	}
	return !inl ? "" : noinl ? "(partial-inline)" : "(inline)";
}

void
ct_view_cols(const struct ct_view *v, const struct ct_node *n, int64_t *flat_sum,
	     struct ct_view_cols *c)
{
	*flat_sum += n->flat;
	ct_view_format(v, n->flat, c->flat, sizeof(c->flat));
	ct_view_format(v, n->cum, c->cum, sizeof(c->cum));
	ct_units_percent(c->flat_pct, sizeof(c->flat_pct), n->flat, v->total);
	ct_units_percent(c->sum_pct, sizeof(c->sum_pct), *flat_sum, v->total);
	ct_units_percent(c->cum_pct, sizeof(c->cum_pct), n->cum, v->total);
}
