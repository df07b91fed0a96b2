#!/bin/sh
# Instructions per operation, native and preloaded, counted by callgrind
# (valgrind): repeatable whatever else the machine runs, unlike the wall
# times of contend-bench. Each workload of contend-icount (bench/icount.c)
# runs at two sizes; the difference of the totals over the difference of
# the sizes is the cost of one operation, start-up and exit cancelled.
# User-space instructions only: system calls and the kernel are not seen.
#
#   bench/icount.sh [BUILD_DIR]     (default: build; or `./dev.sh icount`)
#   SHIM=1 bench/icount.sh [BUILD_DIR]   the shim's own instructions only
#
# Configurations: native; libcontend with the defaults; "no stacks" =
# CONTEND_BLOCK_RATE=1000000000000 (a wait is kept with probability
# wait/1000 s: the fixed cost of a wait); "record all" =
# CONTEND_BLOCK_RATE=1 CONTEND_MUTEX_FRACTION=1 (every wait with its
# stack). Valgrind runs one thread at a time, so every ping-pong wait
# blocks. The "libcontend" column samples waits by their length, which
# under valgrind depends on the machine's load (and is longer than
# natively), so it varies from run to run; the "no stacks" and "record
# all" columns do not. The ratio is libcontend's over native.
set -eu
build=${1:-build}
prog=$build/bench/contend-icount
lib=$(cd "$build" && pwd)/libcontend.so
[ -x "$prog" ] && [ -f "$lib" ] || { echo "icount.sh: no $prog or $lib: build first (./dev.sh build)" >&2; exit 1; }
vg=$(command -v valgrind.bin || command -v valgrind || true)
[ -n "$vg" ] || { echo "icount.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# total instructions of one run: count CONFIG WORKLOAD N
count() {
	out=$tmp/cg.$$
	case $1 in
	native) env -u LD_PRELOAD "$vg" --tool=callgrind --callgrind-out-file="$out" "$prog" "$2" "$3" ;;
	default) CONTEND_OUT="$tmp/out.%p" LD_PRELOAD="$lib" "$vg" --tool=callgrind --callgrind-out-file="$out" "$prog" "$2" "$3" ;;
	nostacks) CONTEND_OUT="$tmp/out.%p" CONTEND_BLOCK_RATE=1000000000000 LD_PRELOAD="$lib" "$vg" --tool=callgrind --callgrind-out-file="$out" "$prog" "$2" "$3" ;;
	all) CONTEND_OUT="$tmp/out.%p" CONTEND_BLOCK_RATE=1 CONTEND_MUTEX_FRACTION=1 LD_PRELOAD="$lib" "$vg" --tool=callgrind --callgrind-out-file="$out" "$prog" "$2" "$3" ;;
	esac </dev/null >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	if [ "${SHIM:-}" ]; then
		# The shim's own instructions: the self cost of the lines of
		# its sources (core/, interpose/; inlined code included).
		callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out" 2>/dev/null |
			awk '/(core|interpose)\/[a-z_]+\.[ch]:/ { gsub(",", "", $1); s += $1 } END { print s + 0 }'
	else
		awk '/^totals:/ {print $2; exit}' "$out"
	fi
}

# per-operation instructions: per CONFIG WORKLOAD N1 N2
per() {
	a=$(count "$1" "$2" "$3")
	b=$(count "$1" "$2" "$4")
	echo $(( (b - a) / ($4 - $3) ))
}

# SHIM=1: the shim's own instructions per operation, no stacks (thread
# create+join still captures the creator's stack). The totals of the
# ping-pongs vary by 10-30 % between runs of one library (how often
# glibc's waits find the word changed and retry depends on valgrind's
# scheduling; the mutex handoff also counts the yields of its ordering
# loop); this count does not, except the semaphore's (its wrapper times
# a wait only when the count is 0, which depends on the same scheduling).
# The workloads: name, the two sizes, the label.
workloads="unc 20000 120000 lock+unlock pair, uncontended
churn 100 600 thread create+join
sem 200 1200 semaphore ping-pong round trip
pipe 200 1200 pipe ping-pong round trip
cond 200 1200 condvar ping-pong round trip
mutex 200 1200 mutex handoff round trip"

if [ "${SHIM:-}" ]; then
	printf '%-34s %10s\n' "shim instructions per operation" "no stacks"
	echo "$workloads" | while read -r name n1 n2 label; do
		[ "$name" = unc ] && continue
		printf '%-34s %10s\n' "$label" "$(per nostacks "$name" "$n1" "$n2")"
	done
	exit 0
fi

printf '%-34s %8s %10s %8s %10s %10s\n' "instructions per operation" native libcontend ratio "no stacks" "record all"
echo "$workloads" | while read -r name n1 n2 label; do
	nat=$(per native "$name" "$n1" "$n2")
	def=$(per default "$name" "$n1" "$n2")
	if [ "$name" = unc ]; then
		nos=- all=-
	else
		nos=$(per nostacks "$name" "$n1" "$n2")
		all=$(per all "$name" "$n1" "$n2")
	fi
	printf '%-34s %8d %10d %8s %10s %10s\n' "$label" "$nat" "$def" \
		"$(awk -v a="$def" -v b="$nat" 'BEGIN { printf "%.2f", a / b }')" "$nos" "$all"
done
