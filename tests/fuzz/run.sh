#!/usr/bin/env bash
# make fuzz: run each libFuzzer harness for SECONDS from its seed corpus
# (tests/fuzz/corpus/NAME, read only; new inputs go to OUT/corpus/NAME, crash
# inputs to OUT/crash-NAME-*). Prints executions per harness and a closing
# "N passed, N failed" (a harness fails when it found a crash).
set -u
OUT=$1
SECONDS_EACH=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for name in "$@"; do
	work="$OUT/corpus/$name"
	mkdir -p "$work"
	log="$OUT/$name.log"
	"$OUT/fuzz_$name" -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$OUT/crash-$name-" \
		"$work" "$HERE/corpus/$name" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc = 0 ]; then
		echo "ok   fuzz_$name: ${execs:-?} executions in ${SECONDS_EACH}s, no crash"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$name: exit $rc after ${execs:-?} executions; see $log"
		grep -m3 -E "ERROR|runtime error|SUMMARY" "$log" | sed 's/^/     /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed = 0 ]
