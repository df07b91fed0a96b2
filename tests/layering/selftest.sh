#!/bin/sh
# check_layers.sh must fail on a crossing: a copy of the layers with one
# forbidden include added to each layer in turn, and a stale allow-list
# entry (one planted in a copy of the script). check_test_layers.sh
# likewise on an include each rule of tests/ and bench/ forbids, and
# check_cycles.sh on an include that closes a circle.
set -eu
root=${1:?usage: selftest.sh SOURCE_ROOT}
check="$root/tests/layering/check_layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
	rm -rf "$tmp/t" && mkdir "$tmp/t"
	cp -r "$root/core" "$root/report" "$root/interpose" "$root/cli" "$root/bench" "$root/tests" \
		"$tmp/t/"
}
fresh
"$check" "$tmp/t" >/dev/null || { echo "the unchanged tree fails" >&2; exit 1; }
for c in "core/log.c ../report/vec.h" "core/log.c ../interpose/real.h" "core/log.c ../cli/cli.h" \
	"report/maps.c ../interpose/real.h" "report/maps.c ../cli/cli.h" \
	"cli/units.c ../core/log.h" "cli/units.c ../interpose/real.h" "cli/units.c nowhere.h" \
	"interpose/real.c ../cli/cli.h"; do
	set -- $c
	fresh
	printf '#include "%s"\n' "$2" >>"$tmp/t/$1"
	if "$check" "$tmp/t" 2>/dev/null >&2; then
		echo "check_layers.sh missed $1 including $2" >&2
		exit 1
	fi
done
fresh
sed 's|^allowed=""$|allowed="core/log.c -> report/vec.h"|' "$check" >"$tmp/stale.sh"
grep -q '^allowed="core/log.c' "$tmp/stale.sh" || { echo "cannot plant an allow-list entry" >&2; exit 1; }
if sh "$tmp/stale.sh" "$tmp/t" 2>/dev/null >&2; then
	echo "check_layers.sh missed a stale allow-list entry" >&2
	exit 1
fi
fresh
printf 'static void f(void) { struct timespec t = {0, 1}; nanosleep(&t, NULL); }\n' >>"$tmp/t/core/log.c"
if "$check" "$tmp/t" 2>/dev/null >&2; then
	echo "check_layers.sh missed core calling a wrapped function by name" >&2
	exit 1
fi
for c in "report/locknames.c dl_iterate_phdr(0, 0);" "interpose/init.c dl_iterate_phdr(0, 0);" \
	"report/maps.c dlopen(0, 0);" "core/log.c dlsym(0, 0);"; do
	fresh
	f=${c%% *}
	printf 'static void g(void) { %s }\n' "${c#* }" >>"$tmp/t/$f"
	if "$check" "$tmp/t" 2>/dev/null >&2; then
		echo "check_layers.sh missed $f making a loader call without holding forks off: ${c#* }" >&2
		exit 1
	fi
done
tcheck="$root/tests/layering/check_test_layers.sh"
fresh
"$tcheck" "$tmp/t" >/dev/null || { echo "the unchanged tests and bench fail" >&2; exit 1; }
for c in "bench/stats.c ../core/clock.h" "tests/progs/progs.c ../common/testlib.h" \
	"tests/common/testlib.c ../integration/test_io.c" \
	"tests/common/testrun.c ../../core/clock.h" \
	"tests/integration/test_io.c ../cli/test_run.c" \
	"tests/integration/test_io.c ../../core/clock.h" \
	"tests/cli/test_run.c ../../interpose/real.h" \
	"tests/unit/test_table.c ../../interpose/real.h" "tests/unit/test_table.c nowhere.h"; do
	set -- $c
	fresh
	printf '#include "%s"\n' "$2" >>"$tmp/t/$1"
	if "$tcheck" "$tmp/t" 2>/dev/null >&2; then
		echo "check_test_layers.sh missed $1 including $2" >&2
		exit 1
	fi
done
ccheck="$root/tests/layering/check_cycles.sh"
fresh
sh "$ccheck" "$tmp/t" >/dev/null || { echo "check_cycles.sh fails on the unchanged tree" >&2; exit 1; }
printf '#include "dump.h"\n' >>"$tmp/t/core/log.c" # dump.c includes log.h
if sh "$ccheck" "$tmp/t" 2>/dev/null >&2; then
	echo "check_cycles.sh missed core/log importing core/dump" >&2
	exit 1
fi
echo "layering self-test: every planted crossing and circle was caught"
