/* pprof's measurement package in C (see units.h). The tables and the
 * order of the checks follow internal/measurement/measurement.go. */
#include "units.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
	const char *name;
	const char *aliases[4];
	double factor;
};

struct unit_type {
	struct unit def;
	size_t n;
	struct unit units[9];
};

static const struct unit_type unit_types[] = {
	{{"B", {"b", "byte"}, 1},
	 6,
	 {{"B", {"b", "byte"}, 1},
	  {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
	  {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0},
	  {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
	  {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
	  {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0}}},
	{{"s", {NULL}, 1e9},
	 5,
	 {{"ns", {"ns", "nanosecond"}, 1},
	  {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
	  {"ms", {"ms", "millisecond"}, 1e6},
	  {"s", {"s", "sec", "second"}, 1e9},
	  {"hrs", {"hour", "hr"}, 3600e9}}},
	{{"GCU", {NULL}, 1},
	 9,
	 {{"n*GCU", {"nanogcu"}, 1e-9},
	  {"u*GCU", {"microgcu"}, 1e-6},
	  {"m*GCU", {"milligcu"}, 1e-3},
	  {"GCU", {"gcu"}, 1},
	  {"k*GCU", {"kilogcu"}, 1e3},
	  {"M*GCU", {"megagcu"}, 1e6},
	  {"G*GCU", {"gigagcu"}, 1e9},
	  {"T*GCU", {"teragcu"}, 1e12},
	  {"P*GCU", {"petagcu"}, 1e15}}},
};

/* sniffUnit: lower-case, drop one trailing 's' from names longer than 2. */
static const struct unit *
sniff(const struct unit_type *ut, const char *name)
{
	char low[64];
	size_t n = strlen(name);
	if (n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < n; i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	low[n] = 0;
	if (n > 2 && low[n - 1] == 's')
		low[n - 1] = 0;
	for (size_t i = 0; i < ut->n; i++)
		for (size_t j = 0; j < 4 && ut->units[i].aliases[j]; j++)
			if (!strcmp(low, ut->units[i].aliases[j]))
				return &ut->units[i];
	return NULL;
}

static bool
convert(const struct unit_type *ut, int64_t value, const char *from, const char *to, double *out,
	const char **unit)
{
	const struct unit *fu = sniff(ut, from);
	if (!fu)
		return false;
	double v = (double)value * fu->factor;
	if (!strcmp(to, "minimum") || !strcmp(to, "auto")) {
		double f = 0;
		const char *name = NULL;
		for (size_t i = 0; i < ut->n; i++) {
			if (ut->units[i].factor >= f && v / ut->units[i].factor >= 1.0) {
				f = ut->units[i].factor;
				name = ut->units[i].name;
			}
		}
		if (f != 0) {
			*out = v / f;
			*unit = name;
			return true;
		}
		*out = v / ut->def.factor;
		*unit = ut->def.name;
		return true;
	}
	const struct unit *tu = sniff(ut, to);
	if (!tu) {
		*out = v / ut->def.factor;
		*unit = ut->def.name;
		return true;
	}
	*out = v / tu->factor;
	*unit = tu->name;
	return true;
}

double
ct_units_scale(int64_t value, const char *from, const char *to, const char **unit)
{
	double v;
	if (value < 0 && value != INT64_MIN) { /* Go: -value > 0 */
		v = ct_units_scale(-value, from, to, unit);
		return -v;
	}
	for (size_t i = 0; i < sizeof(unit_types) / sizeof(unit_types[0]); i++)
		if (convert(&unit_types[i], value, from, to, &v, unit))
			return v;
	if (!strcmp(to, "count") || !strcmp(to, "sample") || !strcmp(to, "unit") ||
	    !strcmp(to, "minimum") || !strcmp(to, "auto"))
		*unit = "";
	else
		*unit = to;
	return (double)value;
}

void
ct_units_label(char *buf, size_t len, int64_t value, const char *from, const char *to)
{
	const char *u;
	double v = ct_units_scale(value, from, to, &u);
	char num[64];
	snprintf(num, sizeof(num), "%.2f", v);
	size_t n = strlen(num);
	if (n >= 3 && !strcmp(num + n - 3, ".00"))
		num[n - 3] = 0;
	if (!strcmp(num, "0") || !strcmp(num, "-0")) {
		snprintf(buf, len, "0");
		return;
	}
	snprintf(buf, len, "%s%s", num, u);
}

void
ct_units_percent(char *buf, size_t len, int64_t value, int64_t total)
{
	double ratio = 0;
	if (total != 0)
		ratio = fabs((double)value / (double)total) * 100;
	if (ratio >= 99.95 && ratio <= 100.05)
		snprintf(buf, len, "  100%%");
	else if (ratio >= 1.0)
		snprintf(buf, len, "%5.2f%%", ratio);
	else
		snprintf(buf, len, "%5.2g%%", ratio);
}
