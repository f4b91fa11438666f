#!/usr/bin/env bash
# make bench: overhead as ratios against an untraced baseline measured in the
# same run, plus reference tools where installed. Never asserts on time.
set -u
OUT=${1:-build}
LW=$OUT/leakwatch
FD=$OUT/bench/fd_openclose
MEM=$OUT/bench/mem_pairs
N=${LW_BENCH_N:-200000}
[ "$(id -u)" = 0 ] || { echo "bench: needs root"; exit 1; }
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT

stat_of() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(" ".join(str(s[k]) for k in sys.argv[2:]))' "$@"; }
added() { python3 -c "import sys; b,t=float(sys.argv[1]),float(sys.argv[2]); print(f'{t:9.1f} ns/op  added {t-b:8.1f} ns  ratio {t/b:7.2f}x')" "$@"; }

echo "== fd: open+close of /dev/null, $N iterations, best of 5 rounds"
base=$($FD "$N")
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q -f json -o "$TMP/fd.json" -- "$FD" "$N")
printf '  %-34s %s   (target: added <= 1500 ns)\n' "leakwatch (stacks on)" "$(added "$base" "$t")"
read -r ev dr pa < <(stat_of "$TMP/fd.json" events dropped stack_partial)
echo "  events $ev, dropped $dr, stacks finished in user space $pa"

echo "== fd: open + read + write + close, $N iterations (last-touch cost)"
base=$($FD "$N" rw)
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q -o "$TMP/discard.txt" -- "$FD" "$N" rw)
printf '  %-34s %s\n' "leakwatch" "$(added "$base" "$t")"
t2=$($LW run -q --last-touch -o "$TMP/discard.txt" -- "$FD" "$N" rw)
printf '  %-34s %s\n' "leakwatch --last-touch" "$(added "$base" "$t2")"
python3 -c "import sys; print(f'  last-touch adds {(float(sys.argv[2])-float(sys.argv[1]))/2:8.1f} ns per read or write')" "$t" "$t2"

M=$((N / 2))
echo "== mem: malloc(64)+free pairs, $M iterations, best of 5 rounds"
base=$($MEM "$M")
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q --only mem -f json -o "$TMP/mem.json" -- "$MEM" "$M")
printf '  %-34s %s   (target: added <= 2500 ns)\n' "leakwatch (stacks on)" "$(added "$base" "$t")"
t=$($LW run -q --only mem --no-stacks -o "$TMP/discard.txt" -- "$MEM" "$M")
printf '  %-34s %s\n' "leakwatch --no-stacks" "$(added "$base" "$t")"
t=$($LW run -q --only mem --probe-at-entry -o "$TMP/discard.txt" -- "$MEM" $((M / 10)))
printf '  %-34s %s\n' "leakwatch, probes at entries" "$(added "$base" "$t")"
if command -v valgrind >/dev/null; then
	t=$(valgrind -q --leak-check=full "$MEM" $((M / 10)) 2>/dev/null)
	printf '  %-34s %s\n' "valgrind --leak-check=full" "$(added "$base" "$t")"
else
	echo "  valgrind: not installed"
fi
if command -v bpftrace >/dev/null; then
	libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
	t=$(bpftrace -q -c "$MEM $((M / 10))" -e "uprobe:$libc:malloc { @s[tid] = arg0; }
		uretprobe:$libc:malloc { @a[retval] = @s[tid]; } uprobe:$libc:free { delete(@a[arg0]); }
		END { clear(@a); clear(@s); }" 2>/dev/null | grep -E '^[0-9.]+$' | head -1)
	[ -n "$t" ] && printf '  %-34s %s\n' "bpftrace malloc/free script" "$(added "$base" "$t")" ||
		echo "  bpftrace: did not run"
else
	echo "  bpftrace: not installed"
fi

echo "== mem: SIGINT to complete report, 1,000,000 live blocks (attach)"
"$MEM" live 1000000 "$TMP/ready" &
bp=$!
for i in $(seq 100); do grep -q waiting "$TMP/ready" 2>/dev/null && break; sleep 0.05; done
$LW attach -p $bp --only mem --min-age 0 -f json -o "$TMP/live.json" 2>"$TMP/live.err" &
lw=$!
for i in $(seq 100); do grep -q "attached to pid" "$TMP/live.err" && break; sleep 0.05; done
kill -USR1 $bp
for i in $(seq 600); do grep -q live "$TMP/ready" && break; sleep 0.05; done
t0=$(date +%s.%N)
kill -INT $lw
for i in $(seq 2000); do
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/live.json" 2>/dev/null && break
	sleep 0.005
done
t1=$(date +%s.%N)
wait $lw
t2=$(date +%s.%N)
kill -TERM $bp 2>/dev/null
python3 - "$t0" "$t1" "$t2" "$TMP/live.json" <<'PY'
import json, sys
t0, t1, t2 = map(float, sys.argv[1:4])
d = json.load(open(sys.argv[4]))
blocks = max((f["count"] for f in d["findings"] if f["kind"] == "mem-leak"), default=0)
print(f"  report written after {t1 - t0:5.2f} s (target <= 2 s), {blocks} blocks in the largest site")
print(f"  probes removed and exited after {t2 - t0:5.2f} s")
PY

echo "== mem: reachability scan of a frozen process (freeze, maps, roots, scan, thaw)"
"$OUT/bench/reach_scan" 64 1024 || { echo "bench: reach_scan: wrong answer or no scan"; exit 1; }
