/* contend-bench's figures: series of samples per repetition, their
 * medians, ratios and spread, and the rows of the table, kept until every
 * workload has run and then printed in key order. Driver side only. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void
add(struct series *s, int rep, double v)
{
	if (rep < 0 || rep >= MAX_REPS || isnan(v))
		return;
	s->v[rep] = v;
	s->set[rep] = true;
	if (rep + 1 > s->n)
		s->n = rep + 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int
values(const struct series *s, double *t)
{
	int k = 0;
	for (int i = 0; i < s->n; i++)
		if (s->set[i])
			t[k++] = s->v[i];
	qsort(t, (size_t)k, sizeof(double), cmp_double);
	return k;
}

double
median(const struct series *s)
{
	double t[MAX_REPS];
	int k = values(s, t);
	if (k == 0)
		return NAN;
	return k % 2 ? t[k / 2] : (t[k / 2 - 1] + t[k / 2]) / 2;
}

/* How much the repetitions disagreed: the range of the samples, less the
 * lowest and highest quarter (so one disturbed child of 7 does not set
 * it), over the median. With 3 samples it is the full range. */
double
spread(const struct series *s)
{
	double t[MAX_REPS];
	int k = values(s, t);
	double m = median(s);
	if (k < 2 || m == 0)
		return NAN;
	return (t[k - 1 - k / 4] - t[k / 4]) / fabs(m);
}

/* b/a per repetition: children of one repetition ran next to each other,
 * so their ratio cancels most of the drift of a shared machine, which
 * shifts absolute figures by tens of percent within seconds. */
struct series
ratios(const struct series *a, const struct series *b)
{
	struct series r = {0};
	for (int i = 0; i < a->n && i < b->n; i++)
		if (a->set[i] && b->set[i] && a->v[i] != 0)
			add(&r, i, b->v[i] / a->v[i]);
	return r;
}

/* b - a per repetition. */
struct series
diffs(const struct series *a, const struct series *b)
{
	struct series d = {0};
	for (int i = 0; i < a->n && i < b->n; i++)
		if (a->set[i] && b->set[i])
			add(&d, i, b->v[i] - a->v[i]);
	return d;
}

void
dump_series(const char *name, const struct series s[NCFG])
{
	if (!bench.verbose)
		return;
	for (int c = 0; c < NCFG; c++) {
		if (s[c].n == 0)
			continue;
		char what[96];
		snprintf(what, sizeof(what), "%s, %s", name, cfg_name[c]);
		fprintf(stderr, "  %-50s", what);
		for (int i = 0; i < s[c].n; i++)
			if (s[c].set[i])
				fprintf(stderr, " %.4g", s[c].v[i]);
			else
				fprintf(stderr, " -");
		fprintf(stderr, "  (median %.4g)\n", median(&s[c]));
	}
}

static void
fmt_val(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

/* The rows so far, in the order they were made. */
#define MAX_ROWS 96
static struct row {
	int key;
	char *text;
} rows[MAX_ROWS];
static size_t nrows;

static void
row_keep(int key, char *text)
{
	if (!text || nrows == MAX_ROWS) {
		fprintf(stderr, "contend-bench: too many rows\n");
		exit(1);
	}
	rows[nrows].key = key;
	rows[nrows].text = text;
	nrows++;
}

void
row_text(int key, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	row_keep(key, s);
}

#define ROW_FMT "%-50s %-10s %9s %10s %6s %8s %8s %6s %6s\n"

/* Prints one table row. ratio and tratio are libcontend/native and
 * trylock/native; higher: throughput-like (bigger is better); noise: the
 * spread of the per-repetition ratios. NAN prints as "-". */
void
row_v(int key, const char *what, const char *unit, double nat, double pre, double tryl,
      double ratio, double tratio, bool higher, double noise)
{
	char a[32], b[32], r1[32], o1[32], t[32], r2[32], nz[32];
	fmt_val(a, sizeof(a), nat);
	fmt_val(b, sizeof(b), pre);
	fmt_val(t, sizeof(t), tryl);
	snprintf(r1, sizeof(r1), "-");
	snprintf(o1, sizeof(o1), "-");
	snprintf(r2, sizeof(r2), "-");
	snprintf(nz, sizeof(nz), "-");
	if (!isnan(ratio)) {
		snprintf(r1, sizeof(r1), "%.3f", ratio);
		double ov = higher ? 1 - ratio : ratio - 1;
		snprintf(o1, sizeof(o1), "%+.1f%%", ov * 100);
	}
	if (!isnan(tratio))
		snprintf(r2, sizeof(r2), "%.3f", tratio);
	if (!isnan(noise))
		snprintf(nz, sizeof(nz), "%.0f%%", noise * 100);
	row_text(key, ROW_FMT, what, unit, a, b, r1, o1, t, r2, nz);
}

void
row_s(int key, const char *what, const char *unit, const struct series *nat,
      const struct series *pre, const struct series *tryl, bool higher)
{
	struct series r = ratios(nat, pre);
	struct series tr = tryl ? ratios(nat, tryl) : (struct series){0};
	row_v(key, what, unit, median(nat), median(pre), tryl ? median(tryl) : NAN, median(&r),
	      median(&tr), higher, spread(&r));
}

void
row_pair(int key, const char *label, const char *unit, const struct series s[NCFG],
	 bool higher)
{
	char what[96];
	snprintf(what, sizeof(what), "%s, default", label);
	row_s(key, what, unit, &s[NATIVE], &s[CT_DEFAULT], &s[TRYLOCK], higher);
	snprintf(what, sizeof(what), "%s, record all", label);
	row_s(key + 1, what, unit, &s[NATIVE], &s[CT_ALL], NULL, higher);
}

void
pingpong_add(struct pingpong *p, enum cfg c, int rep, const struct child *r)
{
	add(&p->wall[c], rep, us_per_op(r));
	add(&p->cpu[c], rep, cpu_us_per_op(r));
}

void
pingpong_rows(const struct pingpong *p, int key, int cpu_key, const char *label,
	      const char *name)
{
	char what[96];
	snprintf(what, sizeof(what), "%s round trip us", name);
	dump_series(what, p->wall);
	snprintf(what, sizeof(what), "%s round trip", label);
	row_pair(key, what, "us/rt", p->wall, false);
	snprintf(what, sizeof(what), "%s, CPU time per round trip", label);
	row_pair(cpu_key, what, "us/rt", p->cpu, false);
}

void
row_event(int key, const char *what, const char *unit, double v, double noise)
{
	row_v(key, what, unit, NAN, v, NAN, NAN, NAN, false, noise);
}

void
rows_print(void)
{
	/* Insertion sort: stable, so rows of one key keep the order they
	 * were made in. */
	for (size_t i = 1; i < nrows; i++)
		for (size_t j = i; j > 0 && rows[j - 1].key > rows[j].key; j--) {
			struct row t = rows[j];
			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	printf(ROW_FMT, "measurement", "unit", "native", "libcontend", "ratio", "overhead",
	       "trylock", "ratio", "noise");
	for (size_t i = 0; i < nrows; i++) {
		fputs(rows[i].text, stdout);
		free(rows[i].text);
	}
	nrows = 0;
}

static char checks[1024];

void
check_add(const char *fmt, ...)
{
	size_t len = strlen(checks);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(checks + len, sizeof(checks) - len, fmt, ap);
	va_end(ap);
}

void
checks_print(void)
{
	printf("checks:%s", checks);
}
