#!/bin/sh
# No import circles in the product code. A module is a source file and
# its header (core/threads.c + core/threads.h = core/threads); module A
# imports module B when a file of A has #include "B.h". The imports must
# form no cycle: each module can be read, tested and replaced knowing only
# what it imports, and fork.c, which calls every module's fork handler,
# stays above them all (the state they read back lives in
# core/forkstate.h).
#
# Usage: check_cycles.sh SOURCE_ROOT. Prints the modules of a cycle and
# exits 1 if there is one; exit 0 and a count line otherwise.
set -eu
root=${1:?usage: check_cycles.sh SOURCE_ROOT}
cd "$root"

edges=$(find core report interpose cli -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) |
	sort | while read -r f; do
		from=${f%.*}
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r inc; do
				[ -f "${f%/*}/$inc" ] || continue # generated: profile.pb-c.h
				to=$(realpath -m --relative-to=. "${f%/*}/$inc")
				to=${to%.*}
				[ "$to" = "$from" ] || echo "$from $to"
			done
	done)
n=$(printf '%s\n' "$edges" | wc -l)
[ "$n" -ge 100 ] || { echo "only $n imports found: wrong source root?" >&2; exit 1; }
# tsort names the modules of each cycle it breaks on stderr.
if ! printf '%s\n' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/ctc.$$"; then
	sed -e 's/^tsort: -: //' -e 's/^tsort: /  /' "${TMPDIR:-/tmp}/ctc.$$" >&2
	rm -f "${TMPDIR:-/tmp}/ctc.$$"
	echo "import circle(s) among the modules above" >&2
	exit 1
fi
if [ -s "${TMPDIR:-/tmp}/ctc.$$" ]; then
	cat "${TMPDIR:-/tmp}/ctc.$$" >&2
	rm -f "${TMPDIR:-/tmp}/ctc.$$"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/ctc.$$"
echo "modules: $n imports, no cycle"
