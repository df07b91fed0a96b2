/* contend top / list / traces / peek / threads against `go tool pprof`
 * (the same bytes on the same file: functions, order, values, headers),
 * on Go's own profiles (fixtures/) and on libcontend's (examples/bank run
 * through `contend run`), and the error cases: every bad input gets one
 * line on stderr and a non-zero status. The pprof comparisons are skipped
 * when `go` is not installed. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testcmd.h"

static const char *const go_fixtures[] = {"go-mutex.pb.gz", "go-block.pb.gz", "go-goroutine.pb.gz"};

/* Runs contend and `go tool pprof` with the given arguments in cwd and
 * expects the same stdout and both to succeed. */
static void
expect_same(const char *cwd, const char *const *contend_args, const char *const *pprof_args)
{
	const char *cargv[16] = {contend_bin()}, *pargv[16] = {"go", "tool", "pprof"};
	size_t n = 1, m = 3;
	for (const char *const *a = contend_args; *a; a++)
		cargv[n++] = *a;
	for (const char *const *a = pprof_args; *a; a++)
		pargv[m++] = *a;
	struct cmd_opts o = {.cwd = cwd, .timeout_s = 60};
	struct cmd c, g;
	cmd_run(&c, cargv, &o);
	cmd_run(&g, pargv, &o);
	char what[512] = "";
	for (size_t i = 1; i < n; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s", cargv[i]);
	cr_assert_eq(cmd_exit_code(&g), 0, "go tool pprof failed:\n%s", g.stderr_text);
	cr_assert_eq(cmd_exit_code(&c), 0, "contend%s failed:\n%s", what, c.stderr_text);
	cr_expect_str_eq(c.stdout_text, g.stdout_text,
			 "contend%s differs from go tool pprof:\n--- contend\n%s--- pprof\n%s", what,
			 c.stdout_text, g.stdout_text);
	cmd_free(&c);
	cmd_free(&g);
}

/* The views that must agree with pprof on any profile; mutex/block ones
 * also by contention count. */
static void
compare_all(const char *cwd, const char *file, bool two_types, const char *peek_rx)
{
	expect_same(cwd, (const char *[]){"top", file, NULL}, (const char *[]){"-top", file, NULL});
	expect_same(cwd, (const char *[]){"top", "--cum", file, NULL},
		    (const char *[]){"-top", "-cum", file, NULL});
	expect_same(cwd, (const char *[]){"top", "-n", "3", file, NULL},
		    (const char *[]){"-top", "-nodecount=3", file, NULL});
	if (two_types)
		expect_same(cwd, (const char *[]){"top", "--sample", "contentions", file, NULL},
			    (const char *[]){"-top", "-sample_index=contentions", file, NULL});
	expect_same(cwd, (const char *[]){"traces", file, NULL}, (const char *[]){"-traces", file, NULL});
	expect_same(cwd, (const char *[]){"peek", peek_rx, file, NULL},
		    (const char *[]){"-peek", peek_rx, file, NULL});
}

Test(views, go_fixtures_match_pprof, .timeout = 120)
{
	if (!have_program("go"))
		cr_skip_test("go is not installed: nothing to compare with");
	char dir[4096];
	source_path(dir, sizeof(dir), "tests/cli/fixtures");
	for (size_t i = 0; i < sizeof(go_fixtures) / sizeof(go_fixtures[0]); i++)
		compare_all(dir, go_fixtures[i], i < 2, "main\\.|Lock");
}

/* examples/bank under `contend run`, then every view on both profiles. */
Test(views, bank_profiles_match_pprof, .timeout = 120)
{
	char tmp[4096], out[4096 + 8], bank[4096], src[4096], mutex[8192], block[8192];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(out, sizeof(out), "%s/out", tmp);
	build_path(bank, sizeof(bank), "examples/bank");
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "--out", out, bank, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "contend run bank failed:\n%s", c.stderr_text);
	cmd_free(&c);
	snprintf(mutex, sizeof(mutex), "%s/mutex.pb.gz", out);
	snprintf(block, sizeof(block), "%s/block.pb.gz", out);

	/* list, with or without Go: the source line of the unlock carries the
	 * holders' delay. Run from the source tree, as a user would. */
	source_path(src, sizeof(src), "");
	cmd_run(&c, (const char *[]){contend_bin(), "list", "audit_transfer", mutex, NULL},
		&(struct cmd_opts){.cwd = src});
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	cr_expect(strstr(c.stdout_text, "ROUTINE ======================== audit_transfer in "),
		  "%s", c.stdout_text);
	const char *unlock = strstr(c.stdout_text, "pthread_mutex_unlock(&ledger_lock);");
	cr_assert(unlock, "no source line for the unlock:\n%s", c.stdout_text);
	const char *bol = unlock;
	while (bol > c.stdout_text && bol[-1] != '\n')
		bol--;
	char flat[32], cum[32];
	int lineno;
	cr_assert_eq(sscanf(bol, "%31s %31s %d:", flat, cum, &lineno), 3, "%s", c.stdout_text);
	cr_expect_str_eq(flat, ".");
	cr_expect(strstr(cum, "ms") || strstr(cum, "us") || strstr(cum, "s"),
		  "no value on the unlock line: '%s'", cum);
	cr_expect(strstr(c.stdout_text, "pthread_mutex_lock(&ledger_lock);"), "%s", c.stdout_text);
	cmd_free(&c);

	if (!have_program("go")) {
		tmpdir_remove(tmp);
		cr_skip_test("go is not installed: nothing to compare with");
	}
	compare_all(src, mutex, true, "audit|teller");
	compare_all(src, block, true, "pthread_mutex_lock|main");
	expect_same(src, (const char *[]){"list", "audit_transfer", mutex, NULL},
		    (const char *[]){"-list", "audit_transfer", mutex, NULL});
	expect_same(src, (const char *[]){"list", "audit|main", block, NULL},
		    (const char *[]){"-list", "audit|main", block, NULL});
	tmpdir_remove(tmp);
}

/* A fresh directory tmp holding make_profile(kind) as tmp/name, and
 * `contend top` of it in c, which must exit 0. */
static void
top_of_fixture(char *tmp, size_t len, enum bad_profile kind, const char *name, struct cmd *c)
{
	char file[4200];
	size_t n;
	tmpdir_make(tmp, len, "cli");
	snprintf(file, sizeof(file), "%s/%s", tmp, name);
	void *data = make_profile(kind, &n);
	write_file(file, data, n);
	free(data);
	cmd_run(c, (const char *[]){contend_bin(), "top", file, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(c), 0, "%s", c->stderr_text);
}

Test(views, hand_built_profile_matches_pprof)
{
	char tmp[4096];
	struct cmd c;
	top_of_fixture(tmp, sizeof(tmp), PROFILE_GOOD, "good.pb.gz", &c);
	/* bump is inlined into worker: its own row, marked (inline). */
	cr_expect(strstr(c.stdout_text, "  bump (inline)\n"), "%s", c.stdout_text);
	cr_expect(strstr(c.stdout_text, "Showing nodes accounting for 4.50ms, 100% of 4.50ms total\n"),
		  "%s", c.stdout_text);
	cr_expect(strstr(c.stdout_text, "       3ms 66.67% 66.67%        3ms 66.67%  pthread_mutex_unlock\n"),
		  "%s", c.stdout_text);
	cmd_free(&c);
	if (have_program("go")) {
		compare_all(tmp, "good.pb.gz", true, "bump");
		expect_same(tmp, (const char *[]){"top", "--sample", "1", "good.pb.gz", NULL},
			    (const char *[]){"-top", "-sample_index=1", "good.pb.gz", NULL});
	}
	tmpdir_remove(tmp);
}

/* No samples: pprof prints the headers and no rows; so do we. */
Test(views, empty_profile_is_an_empty_table)
{
	char tmp[4096];
	struct cmd c;
	top_of_fixture(tmp, sizeof(tmp), PROFILE_EMPTY, "empty.pb.gz", &c);
	cr_expect(strstr(c.stdout_text, "Showing nodes accounting for 0, 0% of 0 total\n"
					"      flat  flat%   sum%        cum   cum%\n"),
		  "%s", c.stdout_text);
	const char *rows = strstr(c.stdout_text, "cum   cum%\n");
	cr_expect(rows && rows[strlen("cum   cum%\n")] == 0, "rows in an empty profile:\n%s",
		  c.stdout_text);
	cr_expect_str_eq(c.stderr_text, "");
	cmd_free(&c);
	if (have_program("go")) {
		expect_same(tmp, (const char *[]){"top", "empty.pb.gz", NULL},
			    (const char *[]){"-top", "empty.pb.gz", NULL});
		expect_same(tmp, (const char *[]){"traces", "empty.pb.gz", NULL},
			    (const char *[]){"-traces", "empty.pb.gz", NULL});
	}
	tmpdir_remove(tmp);
}

/* ------------------------------------------------------------------ */
/* Bad input: one line on stderr naming the problem, non-zero status,
 * nothing on stdout. */

struct bad_case {
	const char *name;
	int kind;             /* -1 file missing, -2 text, -3 truncated gzip, -4 gzip of garbage,
				 -5 bad regex, -6 unknown sample type, else enum bad_profile */
	const char *cmd;      /* top, list, peek, traces, flame */
	int status;
	const char *message;  /* expected in stderr */
};

static const struct bad_case bad_cases[] = {
	{"missing file", -1, "top", 1, "cannot open: No such file or directory"},
	{"not gzip", -2, "top", 1, "not a gzip'd pprof profile"},
	{"truncated gzip", -3, "top", 1, "truncated gzip data"},
	{"gzip of garbage", -4, "traces", 1, "not a pprof profile"},
	{"dangling location id", PROFILE_DANGLING_LOCATION, "top", 1,
	 "dangling id: sample 1 refers to location 99, which does not exist"},
	{"dangling function id", PROFILE_DANGLING_FUNCTION, "peek", 1,
	 "dangling id: location 2 refers to function 42, which does not exist"},
	{"dangling mapping id", PROFILE_DANGLING_MAPPING, "list", 1,
	 "dangling id: location 2 refers to mapping 7, which does not exist"},
	{"string index out of range", PROFILE_BAD_STRING_INDEX, "top", 1,
	 "refers to string 1000, but the string table has 12 entries"},
	{"value count", PROFILE_VALUE_COUNT, "top", 1, "sample 1 has 1 values for 2 sample types"},
	{"bad regex", -5, "list", 1, "invalid regular expression '(worker'"},
	{"bad regex peek", -5, "peek", 1, "invalid regular expression '(worker'"},
	{"unknown sample type", -6, "top", 1, "unknown sample type 'bytes' (this profile has: contentions, delay)"},
	{"no match", PROFILE_GOOD, "list", 1, "no matches found for regexp: nosuchfunction"},
};

ParameterizedTestParameters(errors, bad_input)
{
	static size_t idx[sizeof(bad_cases) / sizeof(bad_cases[0])];
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0]));
}

ParameterizedTest(size_t *i, errors, bad_input)
{
	const struct bad_case *b = &bad_cases[*i];
	char tmp[4096], file[4200];
	void *data = NULL;
	size_t len = 0;
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(file, sizeof(file), "%s/p.pb.gz", tmp);
	if (b->kind == -2) {
		data = strdup("this is not a profile\n");
		len = strlen(data);
	} else if (b->kind == -3) {
		data = make_profile(PROFILE_GOOD, &len);
		len /= 2;
	} else if (b->kind == -4) {
		char garbage[300];
		for (size_t k = 0; k < sizeof(garbage); k++)
			garbage[k] = (char)(k * 7 + 13);
		data = gzip_bytes(garbage, sizeof(garbage), &len);
	} else if (b->kind == -5 || b->kind == -6) {
		data = make_profile(PROFILE_GOOD, &len);
	} else if (b->kind >= 0) {
		data = make_profile((enum bad_profile)b->kind, &len);
	}
	if (b->kind != -1)
		write_file(file, data, len);
	free(data);

	const char *argv[8] = {contend_bin(), b->cmd};
	size_t n = 2;
	if (b->kind == -6) {
		argv[n++] = "--sample";
		argv[n++] = "bytes";
	}
	if (!strcmp(b->cmd, "list") || !strcmp(b->cmd, "peek"))
		argv[n++] = b->kind == -5 ? "(worker" : b->kind == PROFILE_GOOD ? "nosuchfunction" : "worker";
	argv[n++] = file;
	struct cmd c;
	cmd_run(&c, argv, NULL);
	cr_expect(WIFEXITED(c.status), "%s: contend %s crashed (status %#x)", b->name, b->cmd, c.status);
	cr_expect_eq(cmd_exit_code(&c), b->status, "%s: exit %d, stderr: %s", b->name, cmd_exit_code(&c),
		     c.stderr_text);
	cr_expect(strstr(c.stderr_text, b->message), "%s: expected '%s' in: %s", b->name, b->message,
		  c.stderr_text);
	cr_expect_eq(count_lines(c.stderr_text), 1, "%s: not one line: %s", b->name, c.stderr_text);
	cr_expect_str_eq(c.stdout_text, "", "%s", b->name);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

Test(errors, usage)
{
	static const char *const cases[][5] = {
		{"top", NULL},
		{"top", "--bogus", "x", NULL},
		{"top", "-n", "many", "x", NULL},
		{"list", "x", NULL},
		{"flame", "x", NULL},
		{"flame", "x", "-o", "out.png", NULL},
		{"frobnicate", NULL},
		{"run", NULL},
		{"run", "--mutex-fraction", "ten", "true", NULL},
		{"run", "--http", "nowhere", "true", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = {contend_bin()};
		size_t n = 1;
		for (size_t k = 0; k < 5 && cases[i][k]; k++)
			argv[n++] = cases[i][k];
		struct cmd c;
		cmd_run(&c, argv, NULL);
		cr_expect_eq(cmd_exit_code(&c), 2, "contend %s: exit %d: %s", cases[i][0], cmd_exit_code(&c),
			     c.stderr_text);
		cr_expect_eq(count_lines(c.stderr_text), 1, "contend %s: %s", cases[i][0], c.stderr_text);
		cr_expect_str_eq(c.stdout_text, "");
		cmd_free(&c);
	}
}

Test(views, help)
{
	static const char *const cmds[] = {"run", "top", "list", "traces", "peek", "threads", "flame"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cmd c;
		char want[64];
		cmd_run(&c, (const char *[]){contend_bin(), cmds[i], "--help", NULL}, NULL);
		snprintf(want, sizeof(want), "usage: contend %s", cmds[i]);
		cr_expect_eq(cmd_exit_code(&c), 0);
		cr_expect(!strncmp(c.stdout_text, want, strlen(want)), "%s", c.stdout_text);
		cmd_free(&c);
	}
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "--help", NULL}, NULL);
	cr_expect_eq(cmd_exit_code(&c), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "  contend %s ", cmds[i]);
		cr_expect(strstr(c.stdout_text, want), "%s missing from:\n%s", cmds[i], c.stdout_text);
	}
	cmd_free(&c);
}

/* ------------------------------------------------------------------ */
/* contend threads */

static const char threads_txt[] =
	"deadlock: thread 4121 \"a\" waits for mutex 0x5600 held by thread 4122 at f.c:12; "
	"thread 4122 \"b\" waits for mutex 0x5640 held by thread 4121 at g.c:30\n"
	"\n"
	"thread 4120 \"main\" [pthread_join 0x7f00, 3 seconds]:\n"
	"  main at server.c:90\n"
	"\n"
	"thread 4123 \"worker-1\" [pthread_cond_wait 0x5680, 1 minutes]:\n"
	"  worker_loop at server.c:40\n"
	"  start_thread\n"
	"created by main at server.c:88\n"
	"\n"
	"thread 4124 \"worker-2\" [pthread_cond_wait 0x5680, 1 minutes]:\n"
	"  worker_loop at server.c:40\n"
	"  start_thread\n"
	"created by main at server.c:88\n"
	"\n"
	"thread 4121 \"a\" [pthread_mutex_lock 0x5600, 9 seconds, held by thread 4122, stuck]:\n"
	"  lock_a at f.c:12\n"
	"\n";

Test(threads, text_dump_grouped)
{
	char tmp[4096], file[4200];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(file, sizeof(file), "%s/threads.txt", tmp);
	write_file(file, threads_txt, strlen(threads_txt));
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "threads", tmp, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	const char *o = c.stdout_text;
	cr_expect(!strncmp(o, "4 threads in 3 groups (threads.txt), 1 stuck, 1 deadlock report\n", 63), "%s", o);
	const char *dead = strstr(o, "deadlock: thread 4121"), *stuck = strstr(o, "1 thread: pthread_mutex_lock [stuck]"),
		   *cond = strstr(o, "2 threads: pthread_cond_wait"), *join = strstr(o, "1 thread: pthread_join");
	cr_expect(dead && stuck && cond && join, "%s", o);
	cr_expect(dead < stuck && stuck < cond && cond < join, "wrong order:\n%s", o);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

Test(threads, go_goroutine_profile)
{
	char file[4096];
	source_path(file, sizeof(file), "tests/cli/fixtures/go-goroutine.pb.gz");
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "threads", file, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	cr_expect(strstr(c.stdout_text, "3 threads: runtime.gopark in main.parked (genfixtures.go:72)\n  labels: pool=parked\n"), "%s",
		  c.stdout_text);
	cr_expect(strstr(c.stdout_text, "main.parked"), "%s", c.stdout_text);
	cmd_free(&c);
}

Test(threads, no_dump_is_an_error)
{
	char tmp[4096];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "threads", tmp, NULL}, NULL);
	cr_expect_eq(cmd_exit_code(&c), 1);
	cr_expect(strstr(c.stderr_text, "no thread dump in"), "%s", c.stderr_text);
	cr_expect_eq(count_lines(c.stderr_text), 1, "%s", c.stderr_text);
	cmd_free(&c);
	tmpdir_remove(tmp);
}
