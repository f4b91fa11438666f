#!/usr/bin/env bash
# End-to-end tests: the real leakwatch binary loads and attaches real BPF
# programs to the fixtures under tests/fixtures. Needs root. A test that
# cannot run fails; nothing is skipped.
set -u

LW=${LEAKWATCH:-build/leakwatch}
FX=${FIXTURES:-build/fixtures}
HERE=$(cd "$(dirname "$0")" && pwd)
Q="python3 $HERE/findings.py"
TMP=$(mktemp -d /tmp/lw-e2e.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
started=0
passed=0
failed=0
current=""
verdict=2 # of the current test: 0 none yet, 1 ok, 2 FAIL
silent="" # tests that started and said neither
stray=0   # FAILs outside any test

# One verdict per test: a second FAIL line still prints but counts once;
# a FAIL after ok turns the test into a failure.
fail() {
	echo "  FAIL: ${current:-(outside any test)}: $*"
	case "$verdict${current:+t}" in
	0t) failed=$((failed + 1)) ;;
	2) failed=$((failed + 1)) stray=$((stray + 1)) ;;
	1t) passed=$((passed - 1)) failed=$((failed + 1)) ;;
	esac
	verdict=2
}

ok() {
	[ "$verdict" = 0 ] || return 0
	echo "ok   $current"
	passed=$((passed + 1))
	verdict=1
}

start() {
	[ "$verdict" = 0 ] && silent="$silent $current"
	current=$1
	verdict=0
	started=$((started + 1))
}

# The closing lines: every test that started must have said ok or FAIL.
summary() {
	[ "$verdict" = 0 ] && silent="$silent $current"
	verdict=2
	local reported=$((passed + failed - stray))
	if [ "$reported" != "$started" ]; then
		echo "  FAIL: $started tests started, $reported said ok or FAIL; silent:${silent:- none}"
		failed=$((failed + (started > reported ? started - reported : 1)))
	fi
	echo "e2e: $started started"
	echo "e2e: $passed passed, $failed failed"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: got [$1], want [$2]"
		return 1
	fi
}

# wait_for FILE PATTERN COUNT: poll (bounded) until FILE has COUNT lines matching
wait_for() {
	local i n
	for i in $(seq 1 200); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# run's default user comes from sudo: the fixtures run as root here
unset SUDO_UID SUDO_GID SUDO_USER
# no debug files from the network: only the test that starts its own server
unset DEBUGINFOD_URLS

# fixtures assert exact fd numbers: drop whatever the caller's shell passed in
for fd in $(ls /proc/$$/fd); do
	[ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-" 2>/dev/null
done

if [ "$(id -u)" != 0 ]; then
	echo "e2e: must run as root (BPF); refusing to skip"
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi

# Every leakwatch the suite starts goes through this wrapper: it records its
# pid and start time (pids get reused) and execs leakwatch in place, so $!
# and signals still reach leakwatch itself. no_probes_left_behind then
# checks BPF objects by these pids, whatever else runs on the machine.
LWBIN=$(readlink -f "$LW")
LW_PIDS=$TMP/lw.pids
export LWBIN LW_PIDS
: >"$LW_PIDS"
cat >"$TMP/leakwatch" <<'EOW'
#!/bin/sh
echo "$$ $(awk '{sub(/.*\) /, ""); print $20}' /proc/$$/stat)" >>"$LW_PIDS"
exec "$LWBIN" "$@"
EOW
chmod +x "$TMP/leakwatch"
LW=$TMP/leakwatch
OWNED="python3 $HERE/bpf_owned.py"
# ids loaded before the suite are not ours (empty when bpftool is missing:
# no_probes_left_behind fails then)
read -r prog_max0 link_max0 < <($OWNED maxid 2>/dev/null || echo "x x")

start cxx_names_demangled
# C++ frames in text, JSON (with the ELF's name) and folded; libstdc++'s
# emergency exception pool, allocated by its constructor, is suppressed here;
# operator new (libstdc++) is the innermost frame of grab's block
echo "mem-leak:_dl_init" >"$TMP/cxx.supp"
$LW run -q --only fd,mem --strict-fds -s "$TMP/cxx.supp" -f json -o "$TMP/cxx.json" -- "$FX/cxx_leak" >/dev/null 2>"$TMP/cxx.err"
rc=$?
for f in text folded; do
	$LW run -q --only fd,mem --strict-fds -s "$TMP/cxx.supp" -f $f -o "$TMP/cxx.$f" -- "$FX/cxx_leak" >/dev/null 2>&1
done
want="fd-leak count=1 fds=3 func=lwfx::Files::open_log(char const*) resource=/dev/null
mem-leak count=1 bytes=48 func=(anonymous namespace)::scratch(int)
mem-leak count=1 bytes=64 func=not-innermost:lwfx::Pool::grab(unsigned long)"
mangled=$(python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    for fr in f["stack"]:
        if fr.get("mangled") and "cxx_leak" in (fr["module"] or ""):
            print(fr["mangled"])' "$TMP/cxx.json" | sort)
if expect_eq "$rc" 23 "exit code: $(cat "$TMP/cxx.err")" &&
	expect_eq "$($Q "$TMP/cxx.json" cxx_leak)" "$want" "findings" &&
	expect_eq "$mangled" "_ZN12_GLOBAL__N_17scratchEi
_ZN4lwfx4Pool4grabEm
_ZN4lwfx5Files8open_logEPKc" "mangled names"; then
	grep -q " in lwfx::Pool::grab(unsigned long)+0x[0-9a-f]* (.*cxx_leak) .*cxx_leak.cc:" "$TMP/cxx.text" &&
		grep -q ";lwfx::Pool::grab(unsigned_long);operator_new(unsigned_long) 64$" "$TMP/cxx.folded" && ok ||
		fail "text or folded: $(grep -h 'grab' "$TMP/cxx.text" "$TMP/cxx.folded")"
fi

start cxx_fixed_is_clean
$LW run -q --only fd,mem -s "$TMP/cxx.supp" -f json -o "$TMP/cxxfix.json" -- "$FX/cxx_leak" --fixed >/dev/null 2>&1
rc=$?
expect_eq "$rc" 0 "exit code" && expect_eq "$($Q "$TMP/cxxfix.json" cxx_leak)" "" "findings" && ok

summary
