/* CONTEND_* parsing: strict numbers, ranges, booleans, the %p/%h template,
 * and that a bad value keeps the default. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>

#include "../../core/config.h"

Test(config, uint_strict)
{
	uint64_t v = 7;
	cr_expect_eq(ct_parse_uint("42", 0, 100, &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(ct_parse_uint("0", 0, 100, &v), 0);
	cr_expect_eq(v, 0);
	const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "abc", "12abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(ct_parse_uint(bad[i], 0, 100, &v), -EINVAL, "'%s' accepted", bad[i]);
	cr_expect_eq(ct_parse_uint("101", 0, 100, &v), -ERANGE);
	cr_expect_eq(ct_parse_uint("5", 10, 100, &v), -ERANGE);
	cr_expect_eq(ct_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	cr_expect_eq(ct_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	cr_expect_eq(v, UINT64_MAX);
}

Test(config, bools)
{
	bool b = false;
	cr_expect_eq(ct_parse_bool("1", &b), 0);
	cr_expect(b);
	cr_expect_eq(ct_parse_bool("No", &b), 0);
	cr_expect(!b);
	cr_expect_eq(ct_parse_bool("", &b), -EINVAL);
	cr_expect_eq(ct_parse_bool("2", &b), -EINVAL);
}

Test(config, expand_out)
{
	char buf[256], host[256];
	cr_assert_eq(ct_config_expand_out("contend.%p", 123, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "contend.123");
	gethostname(host, sizeof(host));
	char want[300];
	snprintf(want, sizeof(want), "/tmp/%s/x%%-1", host);
	cr_assert_eq(ct_config_expand_out("/tmp/%h/x%%-%p", 1, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, want);
	cr_expect_eq(ct_config_expand_out("a%q", 1, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(ct_config_expand_out("trailing%", 1, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(ct_config_expand_out("abcdef", 1, buf, 4), -ENAMETOOLONG);
}

static const char *fake_env[][2] = {
	{"CONTEND_MUTEX_FRACTION", "5"},
	{"CONTEND_BLOCK_RATE", "-3"},        /* rejected: default kept */
	{"CONTEND_STACK_DEPTH", "129"},      /* out of range */
	{"CONTEND_TABLE_SIZE", "99999999999999999999999"}, /* overflow */
	{"CONTEND_QUIET", "yes"},
	{"CONTEND_OUT", "/tmp/x.%p"},
};

static char *
fake_getenv(const char *name)
{
	for (size_t i = 0; i < sizeof(fake_env) / sizeof(fake_env[0]); i++)
		if (!strcmp(fake_env[i][0], name))
			return (char *)fake_env[i][1];
	return NULL;
}

Test(config, load_keeps_defaults_on_bad_values)
{
	int bad = ct_config_load(fake_getenv);
	cr_expect_eq(bad, 3);
	cr_expect_eq(ct_cfg.mutex_fraction, 5);
	cr_expect_eq(ct_cfg.block_rate, CT_DEFAULT_BLOCK_RATE);
	cr_expect_eq(ct_cfg.stack_depth, CT_DEFAULT_STACK_DEPTH);
	cr_expect_eq(ct_cfg.table_size, CT_DEFAULT_TABLE_SIZE);
	cr_expect_eq(ct_cfg.quiet, 1);
	cr_expect_str_eq(ct_cfg.out, "/tmp/x.%p");
}

static char *
empty_getenv(const char *name)
{
	return !strncmp(name, "CONTEND_", 8) ? (char *)"" : NULL;
}

/* VAR= (empty) unsets: every option keeps its default and nothing is
 * said, as if the variable were absent. */
Test(config, empty_values_are_unset)
{
	cr_expect_eq(ct_config_load(empty_getenv), 0);
	for (size_t i = 0; i < ct_nopts; i++) {
		const struct ct_opt *o = &ct_opts[i];
		const char *slot = (const char *)&ct_cfg + o->off;
		if (o->type == CT_OPT_UINT || o->type == CT_OPT_DURATION ||
		    o->type == CT_OPT_SIGNAL)
			cr_expect_eq(*(const uint64_t *)slot, o->def, "%s", o->name);
	}
	cr_expect_str_eq(ct_cfg.out, "contend.%p");
	cr_expect_eq(ct_cfg.quiet, -1);
	cr_expect_str_eq(ct_cfg.http, "");
}

static const char *quiet_value;

static char *
quiet_getenv(const char *name)
{
	return !strcmp(name, "CONTEND_QUIET") ? (char *)quiet_value : NULL;
}

/* CONTEND_QUIET: a boolean or "auto" (any case), empty = unset; anything else is
 * refused and the default (auto) kept. */
Test(config, quiet_is_a_boolean_or_auto)
{
	static const struct {
		const char *val;
		int want, bad;
	} cases[] = {
		{"auto", -1, 0}, {"AUTO", -1, 0}, {"0", 0, 0}, {"off", 0, 0},
		{"1", 1, 0},     {"yes", 1, 0},   {"2", -1, 1}, {"", -1, 0}, {"autom", -1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ct_cfg.quiet = -1;
		quiet_value = cases[i].val;
		cr_expect_eq(ct_config_load(quiet_getenv), cases[i].bad, "'%s'", cases[i].val);
		cr_expect_eq(ct_cfg.quiet, cases[i].want, "'%s': %d", cases[i].val, ct_cfg.quiet);
	}
}

static char *
bad_out_getenv(const char *name)
{
	return !strcmp(name, "CONTEND_OUT") ? (char *)"bad%z" : NULL;
}

Test(config, bad_out_template_rejected)
{
	cr_expect_eq(ct_config_load(bad_out_getenv), 1);
	cr_expect_str_eq(ct_cfg.out, "contend.%p");
}

Test(config, every_option_documented)
{
	for (size_t i = 0; i < ct_nopts; i++) {
		cr_expect(strncmp(ct_opts[i].name, "CONTEND_", 8) == 0);
		cr_expect(ct_opts[i].help && strlen(ct_opts[i].help) > 10);
		if (ct_opts[i].type == CT_OPT_UINT)
			cr_expect(ct_opts[i].def >= ct_opts[i].min && ct_opts[i].def <= ct_opts[i].max,
				  "%s default out of its own range", ct_opts[i].name);
	}
}

/* ct_cfg starts at every option's documented default (both are expanded
 * from config.c's one option list; this pins that they stay one). */
Test(config, initial_values_are_the_table_defaults)
{
	for (size_t i = 0; i < ct_nopts; i++) {
		const struct ct_opt *o = &ct_opts[i];
		const char *slot = (const char *)&ct_cfg + o->off;
		switch (o->type) {
		case CT_OPT_STRING:
		case CT_OPT_ADDR:
			cr_expect_str_eq(slot, o->sdef, "%s", o->name);
			break;
		case CT_OPT_BOOL:
			cr_expect_eq(*(const bool *)slot, o->def != 0, "%s", o->name);
			break;
		case CT_OPT_AUTOBOOL:
			cr_expect_eq(*(const int *)slot, (int)o->def, "%s", o->name);
			cr_expect_str_eq(o->sdef, (int)o->def < 0 ? "auto" : o->def ? "1" : "0", "%s", o->name);
			break;
		default:
			cr_expect_eq(*(const uint64_t *)slot, o->def, "%s", o->name);
		}
	}
}

Test(config, durations)
{
	uint64_t ns = 0;
	cr_expect_eq(ct_parse_duration("60s", &ns), 0);
	cr_expect_eq(ns, 60000000000ULL);
	cr_expect_eq(ct_parse_duration("1500ms", &ns), 0);
	cr_expect_eq(ns, 1500000000ULL);
	cr_expect_eq(ct_parse_duration("2m", &ns), 0);
	cr_expect_eq(ns, 120000000000ULL);
	cr_expect_eq(ct_parse_duration("5", &ns), 0);
	cr_expect_eq(ns, 5000000000ULL);
	cr_expect_eq(ct_parse_duration("0", &ns), 0);
	cr_expect_eq(ns, 0);
	const char *bad[] = {"", "s", "-1s", "1.5s", "10 s", "10sec", "1d", "99999999999999999999s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(ct_parse_duration(bad[i], &ns), 0, "'%s' accepted", bad[i]);
	cr_expect_eq(ct_parse_duration("999999999999h", &ns), -ERANGE);
}

Test(config, signals)
{
	uint64_t sig = 0;
	cr_expect_eq(ct_parse_signal("SIGUSR2", &sig), 0);
	cr_expect_eq(sig, SIGUSR2);
	cr_expect_eq(ct_parse_signal("usr1", &sig), 0);
	cr_expect_eq(sig, SIGUSR1);
	cr_expect_eq(ct_parse_signal("12", &sig), 0);
	cr_expect_eq(sig, 12);
	cr_expect_eq(ct_parse_signal("none", &sig), 0);
	cr_expect_eq(sig, 0);
	cr_expect_lt(ct_parse_signal("SIGKILL", &sig), 0);
	cr_expect_lt(ct_parse_signal("SIGSEGV", &sig), 0);
	cr_expect_lt(ct_parse_signal("SIGFOO", &sig), 0);
	cr_expect_lt(ct_parse_signal("65", &sig), 0);
	/* The real-time signals as kill(1) names them. */
	cr_expect_eq(ct_parse_signal("SIGRTMIN+5", &sig), 0);
	cr_expect_eq(sig, (uint64_t)SIGRTMIN + 5);
	cr_expect_eq(ct_parse_signal("rtmin", &sig), 0);
	cr_expect_eq(sig, (uint64_t)SIGRTMIN);
	cr_expect_eq(ct_parse_signal("SIGRTMAX-2", &sig), 0);
	cr_expect_eq(sig, (uint64_t)SIGRTMAX - 2);
	const char *bad[] = {"SIGRTMIN-1", "SIGRTMAX+1", "RTMIN+99", "RTMIN+", "RTMINX", "RTMAX-x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(ct_parse_signal(bad[i], &sig), 0, "'%s' accepted", bad[i]);
	/* glibc's own signals below SIGRTMIN: thread cancellation, setuid. */
	for (int s = 32; s < SIGRTMIN; s++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", s);
		cr_expect_lt(ct_parse_signal(num, &sig), 0, "glibc's signal %d accepted", s);
	}
}

Test(config, addresses)
{
	const char *good[] = {"127.0.0.1:6060", ":0", "localhost:8080", "[::1]:9", "0.0.0.0:65535"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect_eq(ct_parse_addr(good[i]), 0, "'%s' refused", good[i]);
	const char *bad[] = {"", "6060", "127.0.0.1", "127.0.0.1:", "1.2.3.4:65536", "host:80",
			     "::1:80", "[::1]", "127.0.0.1:80x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(ct_parse_addr(bad[i]), 0, "'%s' accepted", bad[i]);
}

/* The README's configuration table is the user's reference: every option
 * must be in it. */
Test(config, readme_documents_every_option)
{
	const char *root = getenv("CONTEND_SOURCE_ROOT");
	cr_assert(root, "CONTEND_SOURCE_ROOT not set");
	char path[4096];
	snprintf(path, sizeof(path), "%s/README.md", root);
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	for (size_t i = 0; i < ct_nopts; i++) {
		char row[128];
		snprintf(row, sizeof(row), "| `%s` |", ct_opts[i].name);
		cr_expect(strstr(text, row), "README.md has no table row for %s", ct_opts[i].name);
	}
}
