/* pprof's number formatting (internal/measurement, Go 1.19), value by
 * value: the strings `go tool pprof` prints for the same inputs. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "units.h"

struct label_case {
	int64_t value;
	const char *from, *to, *want;
};

Test(units, scaled_labels)
{
	static const struct label_case cases[] = {
		{0, "nanoseconds", "minimum", "0"},
		{999, "nanoseconds", "auto", "999ns"},
		{1000, "nanoseconds", "auto", "1us"},
		{1500000, "nanoseconds", "auto", "1.50ms"},
		{685470000, "nanoseconds", "ms", "685.47ms"},
		{1081293190, "nanoseconds", "us", "1081293.19us"},
		{59000000000LL, "nanoseconds", "auto", "59s"},
		{61000000000LL, "nanoseconds", "auto", "61s"}, /* pprof has no minutes */
		{3600000000000LL, "nanoseconds", "auto", "1hrs"},
		{5400000000000LL, "nanoseconds", "auto", "1.50hrs"},
		{-1500000, "nanoseconds", "auto", "-1.50ms"},
		{12345, "count", "minimum", "12345"},
		{12345, "count", "count", "12345"},
		{2048, "bytes", "auto", "2kB"},
		{3, "seconds", "ms", "3000ms"},
		{7, "widgets", "auto", "7"},
		{7, "widgets", "widgets", "7widgets"},
		{INT64_MIN, "count", "count", "-9223372036854775808"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		ct_units_label(buf, sizeof(buf), cases[i].value, cases[i].from, cases[i].to);
		cr_expect_str_eq(buf, cases[i].want, "%lld %s -> %s", (long long)cases[i].value,
				 cases[i].from, cases[i].to);
	}
}

Test(units, percentages)
{
	static const struct {
		int64_t v, total;
		const char *want;
	} cases[] = {
		{1, 3, "33.33%"},     {999, 1000, "99.90%"}, {9996, 10000, "  100%"},
		{1, 1000, "  0.1%"},  {0, 0, "    0%"},      {1, 100000, "0.001%"},
		{1, 10000000, "1e-05%"}, {-1, 2, "50.00%"},  {5, 1000, "  0.5%"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		ct_units_percent(buf, sizeof(buf), cases[i].v, cases[i].total);
		cr_expect_str_eq(buf, cases[i].want, "%lld of %lld", (long long)cases[i].v,
				 (long long)cases[i].total);
	}
}
