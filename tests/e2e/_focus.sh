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

kind_test() {
	local name=$1 fx=$2 want=$3
	shift 3
	start "${name}_buggy"
	$LW run -q "$@" -f json -o "$TMP/$name.json" -- "$FX/$fx" >/dev/null 2>&1
	rc=$?
	expect_eq "$rc" 23 "exit code" && expect_eq "$($Q "$TMP/$name.json" "$fx")" "$want" "findings" && ok
	start "${name}_fixed"
	$LW run -q "$@" -f json -o "$TMP/$name.fixed.json" -- "$FX/$fx" --fixed >/dev/null 2>&1
	rc=$?
	expect_eq "$rc" 0 "exit code" && expect_eq "$($Q "$TMP/$name.fixed.json" "$fx")" "" "findings" && ok
}
start mem_invalid_free
$LW run -q --only mem -f json -o "$TMP/if.json" -- "$FX/mem_double_free" --invalid >/dev/null 2>&1
rc=$?
# glibc aborts in free() while main still holds the block in a register:
# still reachable, so no mem-leak
expect_eq "$rc" 23 "exit code" &&
	expect_eq "$($Q "$TMP/if.json" mem_double_free)" "mem-invalid-free count=1 bytes=0 func=release_again" "findings" && ok

start mem_reachability_classes
# one block per class (tests/fixtures/mem_reach.c): lost ones gate, possibly
# lost is listed, reachable ones (global, TLS, pthread key, a live thread's
# stack and register) are only counted, or listed with --show-reachable
$LW run -q --only mem -f json -o "$TMP/reach.json" -- "$FX/mem_reach" >/dev/null 2>&1
rc=$?
$LW run -q --only mem --show-reachable -f json -o "$TMP/reach_all.json" -- "$FX/mem_reach" >/dev/null 2>&1
want="mem-leak count=1 bytes=32 func=node_new class=definite indirect=32
mem-leak count=1 bytes=32 func=node_new class=definite indirect=64
mem-leak count=1 bytes=32 func=node_new class=indirect
mem-leak count=1 bytes=32 func=node_new class=indirect
mem-leak count=1 bytes=32 func=node_new class=indirect
mem-possibly-lost count=1 bytes=104 func=keep_interior class=possible"
got=$($Q "$TMP/reach.json" mem_reach --class | sort)
if expect_eq "$rc" 23 "exit code" && expect_eq "$got" "$(echo "$want" | sort)" "findings" &&
	expect_eq "$($Q "$TMP/reach.json" --scan reachable_blocks)" 5 "reachable blocks counted" &&
	expect_eq "$($Q "$TMP/reach_all.json" mem_reach --class | grep -c 'mem-reachable.*class=reachable')" 5 "reachable listed" &&
	expect_eq "$($Q "$TMP/reach_all.json" mem_reach | grep mem-reachable | sed 's/.*func=//' | sort | tr '\n' ' ')" "keep_global keep_key keep_register keep_stack keep_tls " "reachable sites"; then
	ok
fi

summary
