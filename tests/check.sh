#!/usr/bin/env bash
# make check: unit tests, then end-to-end tests with real BPF. Prints one
# closing "N passed, N failed" line over both.
set -u
OUT=${1:-build}
unit_out=$("$OUT/unit-tests" 2>&1)
unit_rc=$?
echo "$unit_out"
# every program fits the shared 512-byte BPF stack (not every kernel gives
# a private one): checked on the object, before any load
stk_out=$(python3 tools/bpf-stack-budget.py "$OUT/leakwatch.bpf.o" 2>&1)
stk_rc=$?
echo "$stk_out"
e2e_out=$(LEAKWATCH=$OUT/leakwatch FIXTURES=$OUT/fixtures bash tests/e2e/run.sh 2>&1)
e2e_rc=$?
echo "$e2e_out"
# the fault-injection library on its own, under LD_PRELOAD (no BPF)
lib_out=$(bash tests/e2e/inject_lib.sh "$OUT" 2>&1)
lib_rc=$?
echo "$lib_out"
count() { echo "$1" | sed -n "s/^[a-z0-9_]*: \([0-9]*\) passed, \([0-9]*\) failed$/\\$2/p" | tail -1; }
up=$(count "$unit_out" 1); uf=$(count "$unit_out" 2)
ep=$(count "$e2e_out" 1); ef=$(count "$e2e_out" 2)
lp=$(count "$lib_out" 1); lf=$(count "$lib_out" 2)
sp=$(count "$stk_out" 1); sf=$(count "$stk_out" 2)
p=$(( ${up:-0} + ${ep:-0} + ${lp:-0} + ${sp:-0} ))
f=$(( ${uf:-0} + ${ef:-0} + ${lf:-0} + ${sf:-0} ))
# a runner that died before its summary line counts as a failure
[ -z "$up" ] && f=$((f + 1))
[ -z "$ep" ] && f=$((f + 1))
[ -z "$lp" ] && f=$((f + 1))
[ -z "$sp" ] && f=$((f + 1))
echo "$p passed, $f failed"
[ $unit_rc = 0 ] && [ $stk_rc = 0 ] && [ $e2e_rc = 0 ] && [ $lib_rc = 0 ] && [ $f = 0 ]
