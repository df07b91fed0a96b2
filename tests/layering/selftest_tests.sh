#!/bin/sh
# check_test_layers.sh must fail on a planted include of each kind it
# forbids, and pass on the unchanged tree.
set -eu
root=${1:?usage: selftest_tests.sh SOURCE_ROOT}
check="$root/tests/layering/check_test_layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fresh() {
	rm -rf "$tmp/t" && mkdir "$tmp/t"
	cp -r "$root/bench" "$root/tests" "$root/core" "$root/report" "$root/interpose" "$root/cli" \
		"$tmp/t/"
}
fresh
"$check" "$tmp/t" >/dev/null || { echo "the unchanged tree fails" >&2; exit 1; }
for c in "bench/stats.c ../core/clock.h" "tests/progs/progs.c ../common/testlib.h" \
	"tests/common/testlib.c ../integration/helpers.h" \
	"tests/integration/helpers.c ../cli/helpers.h" \
	"tests/integration/helpers.c ../../core/clock.h" \
	"tests/cli/helpers.c ../../interpose/real.h" \
	"tests/unit/test_table.c ../../interpose/real.h" "tests/unit/test_table.c nowhere.h"; do
	set -- $c
	fresh
	printf '#include "%s"\n' "$2" >>"$tmp/t/$1"
	if "$check" "$tmp/t" 2>/dev/null >&2; then
		echo "check_test_layers.sh missed $1 including $2" >&2
		exit 1
	fi
done
echo "test layering self-test: every planted include was caught"
