/* Replays tests/cli/corpus/ (seeds plus what the libFuzzer target
 * fuzz_profile.c found interesting) through the reader and every view,
 * in process: each input must end in a clean success or a one-line
 * error, never a crash (Criterion reports a crash as a failure). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "testcmd.h"
#include "pprof_read.h"
#include "threadview.h"

/* What fuzz_profile.c does with one input; returns 1 if it parsed. */
static int
replay(const char *name, const void *data, size_t len)
{
	struct ct_profile *p = NULL;
	char err[512] = "";
	int r = ct_profile_parse(data, len, &p, err, sizeof(err));
	if (r < 0) {
		cr_expect(err[0] && !strchr(err, '\n'), "%s: bad error message '%s'", name, err);
		cr_expect(p == NULL);
	}
	char *buf = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&buf, &blen);
	cr_assert(out);
	if (r == 0) {
		regex_t rx;
		cr_assert_eq(regcomp(&rx, ".", REG_EXTENDED | REG_NOSUB), 0);
		for (size_t v = 0; v < p->ntypes || v == 0; v++) {
			err[0] = 0;
			if (ct_top_print(out, p, v, 0, false, err, sizeof(err)) < 0)
				cr_expect(err[0], "%s: top failed silently", name);
			ct_top_print(out, p, v, 3, true, err, sizeof(err));
			ct_traces_print(out, p, v, err, sizeof(err));
			ct_peek_print(out, p, v, &rx, ".", err, sizeof(err));
			ct_list_print(out, p, v, &rx, ".", err, sizeof(err));
			ct_flame_write(out, p, v, false, name, err, sizeof(err));
			ct_flame_write(out, p, v, true, name, err, sizeof(err));
			if (p->ntypes == 0)
				break;
		}
		regfree(&rx);
		ct_profile_free(p);
	}
	err[0] = 0;
	if (ct_threadview_print_data(out, data, len, err, sizeof(err)) < 0)
		cr_expect(err[0], "%s: threads failed silently", name);
	fclose(out);
	free(buf);
	return r == 0;
}

Test(corpus, replay_never_crashes, .timeout = 120)
{
	char dir[4096];
	source_path(dir, sizeof(dir), "tests/cli/corpus");
	DIR *d = opendir(dir);
	cr_assert(d, "no corpus directory %s", dir);
	struct dirent *e;
	int files = 0, parsed = 0;
	while ((e = readdir(d)) != NULL) {
		char path[8192];
		size_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *data = read_file(path, &len);
		cr_assert(data, "cannot read %s", path);
		parsed += replay(e->d_name, data, len);
		files++;
		free(data);
	}
	closedir(d);
	cr_expect(files >= 10, "only %d corpus files", files);
	cr_expect(parsed >= 3, "only %d of %d corpus files are valid profiles", parsed, files);
	cr_log_info("corpus: %d files, %d valid profiles", files, parsed);
}

/* The hand-built broken profiles, in memory, for good measure. */
Test(corpus, broken_profiles_are_errors)
{
	for (int k = PROFILE_DANGLING_LOCATION; k <= PROFILE_VALUE_COUNT; k++) {
		size_t len;
		void *data = make_profile((enum bad_profile)k, &len);
		cr_expect_eq(replay("broken", data, len), 0, "broken profile %d parsed", k);
		/* Every truncation of a broken or good profile is an error too. */
		for (size_t cut = 0; cut < len; cut += 7)
			cr_expect_eq(replay("cut", data, cut), 0, "profile %d cut at %zu parsed", k, cut);
		free(data);
	}
}

/* Each kind of bad input gets its own one-line reason from the reader. */
Test(corpus, errors_name_the_fault)
{
	static const struct {
		const char *what;
		const uint8_t raw[8];
		size_t len;
		bool gzip; /* gzip raw first */
		const char *want;
	} cases[] = {
		{"text", "hello", 5, false, "not a gzip'd pprof profile"},
		{"wrong wire type", {0x08, 0x01}, 2, true,
		 "bad protobuf field 1 (sample_type) at byte 0: wire type 0"},
		{"truncated field", {0x32, 0x10, 'a'}, 3, true,
		 "field 6 (string_table) at byte 0 is truncated"},
		{"truncated key", {0x80}, 1, true, "a field key at byte 0 is truncated"},
		{"field 0", {0x00, 0x00}, 2, true, "bad protobuf field 0 (unknown) at byte 0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_profile *p = NULL;
		char err[512] = "";
		size_t len = cases[i].len;
		void *data = cases[i].gzip ? gzip_bytes(cases[i].raw, len, &len) : NULL;
		cr_expect_eq(ct_profile_parse(data ? data : cases[i].raw, len, &p, err, sizeof(err)), -1,
			     "%s parsed", cases[i].what);
		cr_expect(strstr(err, cases[i].want) && !strchr(err, '\n'), "%s: '%s' lacks '%s'",
			  cases[i].what, err, cases[i].want);
		free(data);
	}
	/* A gzip'd good profile cut short, and a bad string index. */
	size_t len;
	void *good = make_profile(PROFILE_GOOD, &len);
	struct ct_profile *p = NULL;
	char err[512] = "";
	cr_expect_eq(ct_profile_parse(good, len - 9, &p, err, sizeof(err)), -1);
	cr_expect(strstr(err, "truncated gzip data"), "%s", err);
	uint8_t *raw = NULL;
	size_t rawlen;
	cr_expect_eq(ct_gunzip(good, 1, &raw, &rawlen, err, sizeof(err)), -1);
	cr_expect(strstr(err, "not gzip data"), "%s", err);
	free(good);
	void *bad = make_profile(PROFILE_BAD_STRING_INDEX, &len);
	cr_expect_eq(ct_profile_parse(bad, len, &p, err, sizeof(err)), -1);
	cr_expect(strstr(err, "refers to string 1000, but the string table has"), "%s", err);
	free(bad);
}
