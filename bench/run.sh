#!/usr/bin/env bash
# make bench: overhead ratios against an untraced baseline measured in the same run.
set -eu
OUT=${1:-build}
LW=$OUT/leakwatch
B=$OUT/bench/fd_openclose
N=${LW_BENCH_N:-200000}
[ "$(id -u)" = 0 ] || { echo "bench: needs root"; exit 1; }

base=$($B $N)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
traced=$($LW run -q -f json -o "$TMP/r.json" -- $B $N)
stats=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(s["events"], s["dropped"], s["stack_partial"])' "$TMP/r.json")
python3 - "$base" "$traced" "$stats" <<'PY'
import sys
base, traced = float(sys.argv[1]), float(sys.argv[2])
events, dropped, partial = sys.argv[3].split()
print(f"fd open+close, untraced:            {base:8.1f} ns/pair")
print(f"fd open+close, traced (stacks on):  {traced:8.1f} ns/pair")
print(f"added per open+close:               {traced - base:8.1f} ns   (target <= 1500)")
print(f"ratio traced/untraced:              {traced / base:8.2f}x")
print(f"events {events}, dropped {dropped}, stacks finished in user space {partial}")
PY
