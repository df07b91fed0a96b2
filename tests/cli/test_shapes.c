/* The reader and every view on large profiles of one shape each (issue
 * 10 item 15: `contend traces` was quadratic in a sample's labels, 76 s
 * for 100,000): many labels, many samples, one stack merged many times,
 * deep stacks. Each must finish well within a bound far above the real
 * figure (a loaded 2-core machine), print what it printed before, and
 * never crash. The figures are logged. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "testcmd.h"
#include "pprof_read.h"
#include "threadview.h"

#define SHAPE_N 100000
/* Seconds. The figures are well under 2 s (see the log); this bound only
 * catches a return of the quadratic cost, even on a loaded machine. */
#define SHAPE_BOUND 20.0

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum view { V_PARSE, V_TOP, V_TOPCUM, V_PEEK, V_LIST, V_TRACES, V_FLAME, V_THREADS, V_COUNT };
static const char *const view_names[V_COUNT] = {"parse", "top", "top -cum", "peek", "list",
						"traces", "flame", "threads"};

/* Runs one view on the profile; returns its output's size. */
static size_t
run_view(enum view v, const void *gz, size_t len, const struct ct_profile *p)
{
	char err[512] = "", *buf = NULL;
	size_t blen = 0;
	regex_t rx;
	FILE *out = open_memstream(&buf, &blen);
	cr_assert(out);
	cr_assert_eq(regcomp(&rx, "^s", REG_EXTENDED | REG_NOSUB), 0);
	int r = 0;
	switch (v) {
	case V_PARSE:
		break;
	case V_TOP:
		r = ct_top_print(out, p, 1, 0, false, err, sizeof(err));
		break;
	case V_TOPCUM:
		r = ct_top_print(out, p, 1, 10, true, err, sizeof(err));
		break;
	case V_PEEK:
		r = ct_peek_print(out, p, 1, &rx, "^s", err, sizeof(err));
		break;
	case V_LIST:
		/* No source files: list says so for each function, an error at the end is fine. */
		ct_list_print(out, p, 1, &rx, "^s", err, sizeof(err));
		break;
	case V_TRACES:
		r = ct_traces_print(out, p, 1, err, sizeof(err));
		break;
	case V_FLAME:
		r = ct_flame_write(out, p, 1, true, "shape", err, sizeof(err));
		break;
	case V_THREADS:
		/* Not a thread dump: an error, but it must get there quickly. */
		ct_threadview_print_data(out, gz, len, err, sizeof(err));
		break;
	case V_COUNT:
		break;
	}
	cr_expect_eq(r, 0, "%s: %s", view_names[v], err);
	regfree(&rx);
	fclose(out);
	free(buf);
	return blen;
}

static void
time_shape(enum profile_shape shape)
{
	size_t len;
	void *gz = make_shape_profile(shape, SHAPE_N, &len);
	for (int v = 0; v < V_COUNT; v++) {
		struct ct_profile *p = NULL;
		char err[512] = "";
		double t0 = now_s();
		cr_assert_eq(ct_profile_parse(gz, len, &p, err, sizeof(err)), 0, "%s", err);
		size_t out = run_view((enum view)v, gz, len, p);
		double dt = now_s() - t0;
		ct_profile_free(p);
		fprintf(stderr, "shape %-12s n=%d  %-8s %7.3f s  (%zu bytes out)\n",
			profile_shape_names[shape], SHAPE_N, view_names[v], dt, out);
		cr_expect_lt(dt, SHAPE_BOUND, "%s with n=%d: %s took %.1f s", profile_shape_names[shape],
			     SHAPE_N, view_names[v], dt);
	}
	free(gz);
}

ParameterizedTestParameters(shapes, views_are_not_quadratic)
{
	static enum profile_shape shapes[SHAPE_COUNT];
	for (int i = 0; i < SHAPE_COUNT; i++)
		shapes[i] = (enum profile_shape)i;
	return cr_make_param_array(enum profile_shape, shapes, SHAPE_COUNT);
}

ParameterizedTest(enum profile_shape *shape, shapes, views_are_not_quadratic, .timeout = 300)
{
	time_shape(*shape);
}
