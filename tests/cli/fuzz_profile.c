/* libFuzzer target for the contend profile reader: every input goes
 * through ct_profile_parse and, when it parses, through every view
 * (top, peek, traces, list, flame), then through the thread-dump reader.
 * Built only with -Dfuzz=true and clang (tests/cli/meson.build):
 *
 *   meson setup build -Dfuzz=true && meson compile -C build fuzz_profile
 *   build/tests/cli/fuzz_profile -max_total_time=300 -max_len=65536 \
 *       fuzz-work/ tests/cli/corpus/
 *
 * New inputs worth keeping are merged into tests/cli/corpus/ with
 * -merge=1; test_corpus.c replays that directory in every test run. */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "commands.h"
#include "pprof_read.h"
#include "threadview.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static FILE *sink;
	static regex_t rx;
	struct ct_profile *p = NULL;
	char err[512];

	if (!sink) {
		sink = fopen("/dev/null", "w");
		regcomp(&rx, ".", REG_EXTENDED | REG_NOSUB);
	}
	if (ct_profile_parse(data, len, &p, err, sizeof(err)) == 0) {
		for (size_t v = 0; v < p->ntypes || v == 0; v++) {
			ct_top_print(sink, p, v, 0, false, err, sizeof(err));
			ct_top_print(sink, p, v, 2, true, err, sizeof(err));
			ct_peek_print(sink, p, v, &rx, ".", err, sizeof(err));
			ct_traces_print(sink, p, v, err, sizeof(err));
			ct_list_print(sink, p, v, &rx, ".", err, sizeof(err));
			ct_flame_write(sink, p, v, true, "fuzz", err, sizeof(err));
			if (p->ntypes == 0)
				break;
		}
		ct_profile_free(p);
	}
	ct_threadview_print_data(sink, data, len, err, sizeof(err));
	return 0;
}
