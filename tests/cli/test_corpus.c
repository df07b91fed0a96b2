/* Replays tests/cli/corpus/ (seeds plus what the libFuzzer target
 * fuzz_profile.c found interesting) through the reader and every view,
 * in process: each input must end in a clean success or a one-line
 * error, never a crash (Criterion reports a crash as a failure). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "helpers.h"
#include "profile.h"
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
