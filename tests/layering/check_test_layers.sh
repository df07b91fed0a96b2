#!/bin/sh
# What the tests and the benchmark may include (#include "..."), so that
# each keeps the view of the product it is meant to have:
#
#   bench/              bench/ only: it measures the built libraries from
#                       outside, as a program would, and links none of them
#   tests/progs/        tests/progs/ only: plain libc + pthreads programs
#                       that run the same with and without the shim
#   tests/common/       tests/common/ and report/pprof_read.h (the one
#                       reader; with the generated profile.pb-c.h)
#   tests/integration/  its own files, tests/common/, report/pprof_read.h:
#                       it runs the product from outside
#   tests/cli/          its own files, tests/common/, cli/, report/pprof_read.h
#   tests/unit/         its own files, tests/common/, core/, report/
#
# No suite includes another suite's files: what they share is in
# tests/common. An include is resolved as the build does: relative to the
# file, then the unit's include directories (tests/common, report/, and
# cli/ for tests/cli); one that resolves nowhere is an error too.
#
# Usage: check_test_layers.sh SOURCE_ROOT. One line per violation and exit
# 1 if there is any; exit 0 and a count line otherwise.
set -eu
root=${1:?usage: check_test_layers.sh SOURCE_ROOT}
cd "$root"

# The unit a path belongs to, in $u: bench, tests/progs, tests/common, ...
unit() {
	case $1 in
	tests/*) u=${1#tests/} u="tests/${u%%/*}" ;;
	*) u=${1%%/*} ;;
	esac
}
# Where a unit looks for headers besides the including file's directory.
search() {
	case $1 in
	tests/common) echo report ;;
	tests/integration | tests/unit) echo "tests/common report" ;;
	tests/cli) echo "tests/common report cli" ;;
	esac
}
# What a unit may include besides itself: whole units, or single files.
allowed() {
	case $1 in
	tests/common) echo "report/pprof_read.h report/profile.pb-c.h" ;;
	tests/integration) echo "tests/common report/pprof_read.h report/profile.pb-c.h" ;;
	tests/cli) echo "tests/common cli report/pprof_read.h report/profile.pb-c.h" ;;
	tests/unit) echo "tests/common core report" ;;
	esac
}

files=$(find bench tests -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) \
	-not -path 'tests/cli/corpus/*' | sort)
# shellcheck disable=SC2086 # one word per file name (the tree has no spaces)
grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files /dev/null >"${TMPDIR:-/tmp}/ctl.$$" || true
checked=0 bad=0
while IFS= read -r line; do
	f=${line%%:*}
	inc=${line#*\"}
	inc=${inc%%\"*}
	unit "$f"
	from=$u
	t=""
	for d in "${f%/*}" $(search "$from"); do
		if [ -f "$d/$inc" ]; then
			case $d/$inc in
			*/../* | */./*) t=$(realpath -m --relative-to=. "$d/$inc") ;;
			*) t=$d/$inc ;;
			esac
			break
		fi
	done
	# profile.pb-c.h is generated into build/report by protoc-c.
	[ -z "$t" ] && [ "$inc" = profile.pb-c.h ] && search "$from" | grep -qw report &&
		t=report/profile.pb-c.h
	checked=$((checked + 1))
	if [ -z "$t" ]; then
		echo "$f: #include \"$inc\" resolves to no file of the tree" >&2
		bad=$((bad + 1))
		continue
	fi
	unit "$t"
	to=$u
	[ "$to" = "$from" ] && continue
	ok=false
	for a in $(allowed "$from"); do
		[ "$a" = "$t" ] || [ "$a" = "$to" ] && ok=true
	done
	$ok && continue
	echo "$f: includes $t: $from must not include $to" >&2
	bad=$((bad + 1))
done <"${TMPDIR:-/tmp}/ctl.$$"
rm -f "${TMPDIR:-/tmp}/ctl.$$"
if [ "$checked" -lt 50 ]; then
	echo "only $checked includes found: wrong source root?" >&2
	exit 1
fi
if [ "$bad" -ne 0 ]; then
	echo "$bad include rule violation(s) in tests/ and bench/" >&2
	exit 1
fi
echo "tests and bench: $checked includes checked, none outside their rules"
