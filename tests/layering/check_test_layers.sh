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
# file, then the suite's include directories (tests/common, report/, and
# cli/ for tests/cli); one that resolves nowhere is an error too.
#
# Usage: check_test_layers.sh SOURCE_ROOT. One line per violation and exit
# 1 if there is any; exit 0 and a count line otherwise.
set -eu
root=${1:?usage: check_test_layers.sh SOURCE_ROOT}
cd "$root"

files=$(find bench tests -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) \
	-not -path 'tests/cli/corpus/*' | sort)
# shellcheck disable=SC2086 # one word per file name (the tree has no spaces)
grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files /dev/null | awk '
function exists(p,   line, r) {
	r = (getline line < p)
	close(p)
	return r >= 0
}
function normalize(p,   n, parts, out, i, k) {
	n = split(p, parts, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (parts[i] == "." || parts[i] == "")
			continue
		if (parts[i] == ".." && k > 0) { k--; continue }
		out[++k] = parts[i]
	}
	p = out[1]
	for (i = 2; i <= k; i++)
		p = p "/" out[i]
	return p
}
# bench, tests/progs, tests/common, ...: the unit a file belongs to.
function unit(p) {
	if (p ~ /^tests\//) { sub(/^tests\//, "", p); sub(/\/.*/, "", p); return "tests/" p }
	sub(/\/.*/, "", p)
	return p
}
BEGIN {
	# Where each unit may look for headers besides its own directory.
	path["tests/common"] = "report"
	path["tests/integration"] = "tests/common report"
	path["tests/cli"] = "tests/common report cli"
	path["tests/unit"] = "tests/common report"
	# What each unit may include besides itself ("report/pprof_read.h"
	# names one file, "core" a whole layer).
	may["bench"] = ""
	may["tests/progs"] = ""
	may["tests/common"] = " report/pprof_read.h report/profile.pb-c.h "
	may["tests/integration"] = " tests/common report/pprof_read.h report/profile.pb-c.h "
	may["tests/cli"] = " tests/common cli report/pprof_read.h report/profile.pb-c.h "
	may["tests/unit"] = " tests/common core report "
}
{
	f = $0; sub(/:.*/, "", f)
	inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
	dir = f; sub(/\/[^\/]*$/, "", dir)
	from = unit(f)
	checked++
	t = ""
	if (exists(dir "/" inc))
		t = normalize(dir "/" inc)
	else {
		n = split(path[from], dirs, " ")
		for (i = 1; i <= n && t == ""; i++)
			if (exists(dirs[i] "/" inc))
				t = normalize(dirs[i] "/" inc)
		if (t == "" && inc == "profile.pb-c.h" && index(path[from], "report"))
			t = "report/" inc # generated into build/report by protoc-c
	}
	if (t == "") {
		printf "%s: #include \"%s\" resolves to no file of the tree\n", f, inc > "/dev/stderr"
		bad++
		next
	}
	to = unit(t)
	if (to == from || index(may[from], " " t " ") || index(may[from], " " to " "))
		next
	printf "%s: includes %s: %s must not include %s\n", f, t, from, to > "/dev/stderr"
	bad++
}
END {
	if (checked < 50) {
		printf "only %d includes found: wrong source root?\n", checked > "/dev/stderr"
		exit 1
	}
	if (bad) {
		printf "%d include rule violation(s) in tests/ and bench/\n", bad > "/dev/stderr"
		exit 1
	}
	printf "tests and bench: %d includes checked, none outside their rules\n", checked
}'
