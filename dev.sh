#!/bin/sh
# Developer entry point: installs what the build needs from Debian's
# packages, builds, and then runs the demo, the tests or the benchmark.
#
#   ./dev.sh demo    build, run examples/bank with `contend run`, show `contend top`
#   ./dev.sh test    build and run the whole test suite, then the unit tests
#                    under ASan and UBSan in build-asan/ (what CI runs)
#   ./dev.sh sanitize  only the ASan/UBSan run of the unit tests
#   ./dev.sh bench   build and run the native-vs-preloaded benchmark
#   ./dev.sh icount  build, then count instructions per operation, native vs
#                    preloaded, with valgrind (bench/icount.sh; load-independent)
#   ./dev.sh build   install dependencies and build only
#
# demo, test and build take meson options after the command
# (./dev.sh build -Dfuzz=true): they are applied to build/ and meson
# keeps them for later runs.
set -eu
cd "$(dirname "$0")"

PKGS="build-essential g++ meson ninja-build pkg-config libunwind-dev zlib1g-dev \
libprotobuf-c-dev protobuf-c-compiler libcriterion-dev libdw-dev libelf-dev golang-go binutils curl libc6-dbg"

deps() {
	missing=""
	for p in $PKGS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "dev.sh: installing:$missing" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Packages only some tests use: installed when possible, and those tests
# skip with a message when the install fails.
optional() {
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 && continue
		echo "dev.sh: installing (optional): $p" >&2
		sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1; then
			$sudo apt-get update -qq >/dev/null 2>&1 || true
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
				echo "dev.sh: could not install $p; the tests that need it will be skipped" >&2
		fi
	done
}

# meson re-runs itself when a meson.build changes, and `--reconfigure`
# applies options given on the command line, but neither applies a
# changed default of meson_options.txt to an existing build directory:
# only `--wipe` does (keeping the options given before). A stamp of
# meson_options.txt tells when that is needed. A build directory made
# before the stamp existed is reconfigured once, not wiped.
setup() {
	stamp=build/.dev-options-stamp
	want=$(cksum <meson_options.txt)
	if [ ! -f build/build.ninja ]; then
		meson setup build "$@" >/dev/null
	elif [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$want" ]; then
		echo "dev.sh: meson_options.txt changed: re-creating build/ with its new defaults" >&2
		meson setup --wipe build "$@" >/dev/null
	elif [ $# -gt 0 ] || [ ! -f "$stamp" ]; then
		meson setup --reconfigure build "$@" >/dev/null
	fi
	echo "$want" >"$stamp"
}

build() {
	deps
	setup "$@"
	meson compile -C build >/dev/null
}

# The unit tests (they link core/ and report/ and never preload the shim)
# and the replay of the fuzz corpus through the pprof reader and the views,
# again under AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/. Any report (a bad access, a leak, undefined behaviour)
# aborts its test, which fails the run.
SANITIZED_TESTS="core report live iocore cli-corpus"
SANITIZED_TARGETS="test_core test_report test_live test_iocore test_cli_corpus"
sanitize() {
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debug >/dev/null
	fi
	# shellcheck disable=SC2086 # lists of names
	meson compile -C build-asan $SANITIZED_TARGETS >/dev/null
	# shellcheck disable=SC2086
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0 \
		LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 $SANITIZED_TESTS
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
build)
	build "$@"
	;;
demo)
	build "$@"
	rm -rf build/demo
	echo "== build/contend run --out build/demo build/examples/bank   (the bank example under libcontend)"
	build/contend run --out build/demo build/examples/bank
	echo "== build/contend top build/demo/mutex.pb.gz   (who made others wait)"
	build/contend top build/demo/mutex.pb.gz
	echo "== build/contend list audit_transfer build/demo/mutex.pb.gz   (which line)"
	build/contend list audit_transfer build/demo/mutex.pb.gz | grep -E 'ROUTINE|Total|lock|slow_audit'
	if command -v go >/dev/null 2>&1; then
		echo "== go tool pprof -top build/demo/mutex.pb.gz   (Go is optional: the same table)"
		go tool pprof -top build/demo/mutex.pb.gz 2>/dev/null | head -n 12
	fi
	;;
test)
	build "$@"
	optional chromium # the flame-graph screenshot test; skipped without it
	rc=0
	meson test -C build --print-errorlogs --num-processes 2 || rc=$?
	echo "== the unit tests and the corpus replay under ASan and UBSan (build-asan)"
	sanitize || rc=$?
	# One closing line over every Criterion case of every suite.
	awk '/Synthesis: Tested:/ { for (i = 1; i <= NF; i++) {
		if ($i == "Passing:") p += $(i + 1); if ($i == "Failing:") f += $(i + 1);
		if ($i == "Crashing:") f += $(i + 1) } }
		END { printf "tests: %d passed, %d failed\n", p, f }' build/meson-logs/testlog.txt \
		build-asan/meson-logs/testlog.txt
	exit $rc
	;;
sanitize)
	deps
	sanitize
	;;
bench)
	build
	build/bench/contend-bench "$@"
	;;
icount)
	build
	optional valgrind
	sh bench/icount.sh build
	;;
*)
	echo "usage: $0 demo|test|sanitize|bench|icount|build" >&2
	exit 2
	;;
esac
