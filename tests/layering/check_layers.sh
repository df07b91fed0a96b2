#!/bin/sh
# The layers' direction, checked on every #include "..." of the product
# code (tests/, bench/ and examples/ are not layers):
#
#   interpose -> core            (the shim: wrappers over the core)
#   report    -> core            (report never includes interpose or cli)
#   cli       -> report          (cli never includes core or interpose)
#   core      -> core only       (core never includes report, interpose or cli)
#
# An include is resolved as the compiler does: relative to the including
# file first, then the generated profile.pb-c.h in report/ (the only
# include directory the build adds). An include that resolves nowhere is
# an error too, so that a new include directory cannot hide a crossing.
#
# Then the calls core/ makes: none by name to a function the shim wraps
# (core/sys.h says why and what instead).
#
# Usage: check_layers.sh SOURCE_ROOT. Prints one line per violation and
# exits 1 if there is any; exit 0 and a count line otherwise.
set -eu
root=${1:?usage: check_layers.sh SOURCE_ROOT}
cd "$root"

# Known crossings, "file -> header", one a line. Empty: the interface
# between the two libraries lives in core/plugin.h. An entry that no
# longer crosses is reported too, so the list can only shrink.
allowed=""

files=$(find core report interpose cli -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) | sort)
# shellcheck disable=SC2086 # one word per file name (the tree has no spaces)
grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files /dev/null | awk -v allowed="$allowed" '
function exists(p,   line, r) {
	r = (getline line < p)
	close(p)
	return r >= 0
}
# "a/b/../c/./d.h" -> "a/c/d.h"
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
function layer(p) { sub(/\/.*/, "", p); return p }
BEGIN {
	n = split(allowed, a, "\n")
	for (i = 1; i <= n; i++) allow[a[i]] = 1
	may["core"] = ""
	may["report"] = " core "
	may["interpose"] = " core "
	may["cli"] = " report "
}
{
	f = $0; sub(/:.*/, "", f)
	inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
	dir = f; sub(/\/[^\/]*$/, "", dir)
	checked++
	if (exists(dir "/" inc))
		t = normalize(dir "/" inc)
	else if (inc == "profile.pb-c.h")
		t = "report/" inc # generated into build/report by protoc-c
	else {
		printf "%s: #include \"%s\" resolves to no file of the tree\n", f, inc > "/dev/stderr"
		bad++
		next
	}
	from = layer(f); to = layer(t)
	if (from == to || index(may[from], " " to " "))
		next
	if ((f " -> " t) in allow) {
		used[f " -> " t] = 1
		next
	}
	printf "%s: includes %s: %s must not include %s\n", f, t, from, to > "/dev/stderr"
	bad++
}
END {
	for (e in allow)
		if (e != "" && !(e in used)) {
			printf "allow-list entry \"%s\" no longer crosses a layer: remove it from check_layers.sh\n", e > "/dev/stderr"
			bad++
		}
	if (checked < 50) {
		printf "only %d includes found: wrong source root?\n", checked > "/dev/stderr"
		exit 1
	}
	if (bad) {
		printf "%d layering violation(s)\n", bad > "/dev/stderr"
		exit 1
	}
	printf "layers: %d includes checked, no crossing outside the allow-list\n", checked
}'

# Core's calls: no function the shim wraps (interpose/wrapped.def) is
# called by name from core/, since such a call lands in our own wrapper;
# core goes to the real function through core/sys.h. syscall() is the
# exception core/sys.h states. Comments and string literals are skipped.
wrapped=$(sed -n -e 's/^[[:space:]]*X([^,]*,[[:space:]]*\([A-Za-z_0-9]*\),.*/\1/p' \
	-e 's/^[[:space:]]*A(\([A-Za-z_0-9]*\)).*/\1/p' interpose/wrapped.def | grep -vx syscall)
nwrapped=$(printf '%s\n' "$wrapped" | wc -l)
[ "$nwrapped" -ge 50 ] || { echo "only $nwrapped wrapped functions read from interpose/wrapped.def" >&2; exit 1; }
pat=$(printf '%s\n' "$wrapped" | paste -sd '|' -)
# strip(line): the line without escapes, string contents, one-line
# comments and comment lines, for the checks below (one awk pass over
# all files each: a process per file made the self-test, which runs this
# script a dozen times, take minutes on a loaded machine).
strip_awk='
function strip(line) {
	gsub(/\\./, "", line)
	gsub(/"[^"]*"/, "\"\"", line)
	gsub(/\/\*.*\*\//, "", line)
	return line ~ /^[ \t]*\/?\*/ ? "" : line
}'
# shellcheck disable=SC2046 # one word per file name (the tree has no spaces)
calls=$(awk -v pat="$pat" "$strip_awk"'
{
	line = strip($0)
	if (line ~ ("(^|[^A-Za-z_0-9.>])(" pat ")[ \t]*\\(")) {
		printf "%s:%d:%s\n", FILENAME, FNR, line > "/dev/stderr"
		n++
	}
}
END { print n + 0 }' $(find core -type f \( -name '*.c' -o -name '*.h' \) | sort))
if [ "$calls" -ne 0 ]; then
	echo "$calls call(s) from core/ to a wrapped function by name: use core/sys.h" >&2
	exit 1
fi
echo "core: no call by name to any of the $nwrapped wrapped functions"

# Loader calls: dl_iterate_phdr and dlopen hold glibc's loader lock, which
# a fork copies held, and a child whose exit dump then walks the loaded
# objects hangs. Forks and our loader calls exclude each other in
# core/dlhist.c (ct_dl_iterate, ct_dl_forks_off/on): every pass over the
# objects goes through ct_dl_iterate, and a file of core/ or report/ that
# calls dlopen or dlsym must hold forks off around it. Comments and
# string literals are skipped.
# shellcheck disable=SC2046 # one word per file name (the tree has no spaces)
if ! awk "$strip_awk"'
function flush() {
	if (f == "")
		return
	if (iter && f != "core/dlhist.c") {
		printf "%s: calls dl_iterate_phdr: use ct_dl_iterate (core/dlhist.h)\n", f > "/dev/stderr"
		bad++
	}
	# interpose/ may: dlsym(RTLD_NEXT) before init, on the program thread
	if (dl && !off && f !~ /^interpose\//) {
		printf "%s: calls dlopen or dlsym without holding forks off (ct_dl_forks_off, core/dlhist.h)\n", f > "/dev/stderr"
		bad++
	}
}
FNR == 1 { flush(); f = FILENAME; iter = dl = off = 0 }
{
	line = strip($0)
	if (line ~ /(^|[^A-Za-z_0-9])dl_iterate_phdr[ \t]*\(/) iter = 1
	if (line ~ /(^|[^A-Za-z_0-9])(dlopen|dlsym)[ \t]*\(/) dl = 1
	if (line ~ /ct_dl_forks_off[ \t]*\(/) off = 1
}
END { flush(); exit bad ? 1 : 0 }
' $(find core report interpose cli -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) | sort); then
	echo "loader calls that a fork may copy half-done (above)" >&2
	exit 1
fi
echo "loader calls: every pass goes through ct_dl_iterate, every dlopen and dlsym holds forks off"
