/* `contend traces`: every sample with its labels, value and frames
 * (printTraces in internal/report/report.go), after pprof's merge of
 * equal samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "units.h"
#include "view.h"

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "%10s:  v1 v2\n" per label key (string labels, or numeric ones),
 * sorted. */
static void
print_labels(FILE *out, const struct ct_psample *s, bool numeric)
{
	char **lines = calloc(s->nlabels + 1, sizeof(*lines));
	size_t n = 0, *ix = NULL;
	if (!lines || ct_profile_label_order(s, &ix) < 0) {
		free(lines);
		return;
	}
	for (size_t i = 0, j; i < s->nlabels; i = j) {
		const struct ct_plabel *l = &s->labels[ix[i]];
		for (j = i + 1; j < s->nlabels && ct_profile_label_same_group(l, &s->labels[ix[j]]); j++)
			;
		if (!l->str != numeric)
			continue;
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			continue;
		fprintf(m, "%10s:  ", l->key);
		for (size_t k = i; k < j; k++) {
			const struct ct_plabel *o = &s->labels[ix[k]];
			if (numeric) {
				char v[64];
				ct_units_label(v, sizeof(v), o->num, o->unit, "auto");
				fprintf(m, "%s%s", k > i ? " " : "", v);
			} else {
				fprintf(m, "%s%s", k > i ? " " : "", o->str);
			}
		}
		fputc('\n', m);
		fclose(m);
		lines[n++] = buf;
	}
	free(ix);
	qsort(lines, n, sizeof(*lines), cmp_cstr);
	for (size_t i = 0; i < n; i++) {
		fputs(lines[i], out);
		free(lines[i]);
	}
	free(lines);
}

int
ct_traces_print(FILE *out, const struct ct_profile *p, size_t vidx, char *err, size_t errlen)
{
	static const char sep[] = "-----------+-------------------------------------------------------";
	struct ct_view v;
	struct ct_nodes *u = NULL;
	size_t *order = NULL, norder = 0;
	int64_t *values = NULL;
	int ret = -1;

	ct_view_init(&v, p, vidx);
	if (!(u = ct_graph_nodes(p, CT_GRAN_FUNCTIONS)) ||
	    ct_profile_merge_samples(p, &order, &norder, &values) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ct_view_print_profile_labels(&v, out);
	for (size_t k = 0; k < norder; k++) {
		const struct ct_psample *s = &p->samples[order[k]];
		size_t frames = 0;
		for (size_t i = 0; i < s->nlocs; i++)
			frames += u->loc_count[s->locs[i]->index];
		if (frames == 0)
			continue;
		fprintf(out, "%s\n", sep);
		print_labels(out, s, false);
		print_labels(out, s, true);
		char val[64];
		ct_view_format(&v, values[k * p->ntypes + vidx], val, sizeof(val));
		bool first = true;
		for (size_t i = 0; i < s->nlocs; i++) {
			size_t li = s->locs[i]->index, f = u->loc_first[li], c = u->loc_count[li];
			for (size_t j = 0; j < c; j++) {
				fprintf(out, "%10s   %s%s\n", first ? val : "", u->pname[u->loc_node[f + j]],
					j != c - 1 ? " (inline)" : "");
				first = false;
			}
		}
	}
	fprintf(out, "%s\n", sep);
	ret = 0;
out:
	free(order);
	free(values);
	ct_graph_nodes_free(u);
	return ret;
}
