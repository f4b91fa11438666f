#!/usr/bin/env bash
# make bench: overhead as ratios against an untraced baseline measured in the
# same run, plus reference tools where installed. Never asserts on time.
# LW_BENCH_SECTIONS picks sections (default: all, in this order):
#   fd mem live reach startup first-event bystander floor nginx redis sqlite sweep
# Reference programs (valgrind, heaptrack, nginx, wrk, redis, sqlite3):
# tools/install-bench-deps.sh; a section without them says "not installed".
set -u
OUT=${1:-build}
LW=$OUT/leakwatch
FD=$OUT/bench/fd_openclose
MEM=$OUT/bench/mem_pairs
FLOOR=$OUT/bench/floor
N=${LW_BENCH_N:-200000}
M=$((N / 2))
SECTIONS=${LW_BENCH_SECTIONS:-"fd mem live reach startup first-event bystander floor nginx redis sqlite sweep"}
[ "$(id -u)" = 0 ] || { echo "bench: needs root"; exit 1; }
for b in "$LW" "$FD" "$MEM" "$FLOOR" "$OUT/bench/reach_scan"; do
	[ -x "$b" ] || { echo "bench: $b is not built (make bench builds it)"; exit 1; }
done
TMP=$(mktemp -d)
# servers and attached leakwatches are jobs: none outlives the bench
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

stat_of() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(" ".join(str(s[k]) for k in sys.argv[2:]))' "$@"; }
added() { python3 -c "import sys; b,t=float(sys.argv[1]),float(sys.argv[2]); print(f'{t:9.1f} ns/op  added {t-b:8.1f} ns  ratio {t/b:7.2f}x')" "$@"; }


sec_fd() {
echo "== fd: open+close of /dev/null, $N iterations, best of 5 rounds"
base=$($FD "$N")
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q --only fd,mount,proc -f json -o "$TMP/fd.json" -- "$FD" "$N")
printf '  %-34s %s   (target: added <= 1500 ns)\n' "leakwatch (stacks on)" "$(added "$base" "$t")"
read -r ev dr pa < <(stat_of "$TMP/fd.json" events dropped stack_partial)
echo "  events $ev, dropped $dr, stacks finished in user space $pa"

echo "== fd: open + read + write + close, $N iterations (last-touch cost)"
base=$($FD "$N" rw)
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q --only fd,mount,proc -o "$TMP/discard.txt" -- "$FD" "$N" rw)
printf '  %-34s %s\n' "leakwatch" "$(added "$base" "$t")"
t2=$($LW run -q --only fd,mount,proc --last-touch -o "$TMP/discard.txt" -- "$FD" "$N" rw)
printf '  %-34s %s\n' "leakwatch --last-touch" "$(added "$base" "$t2")"
python3 -c "import sys; print(f'  last-touch adds {(float(sys.argv[2])-float(sys.argv[1]))/2:8.1f} ns per read or write')" "$t" "$t2"

}

sec_mem() {
echo "== mem: malloc(64)+free pairs, $M iterations, best of 5 rounds"
base=$($MEM "$M")
printf '  %-34s %9.1f ns/op\n' "untraced" "$base"
t=$($LW run -q --only mem -f json -o "$TMP/mem.json" -- "$MEM" "$M")
printf '  %-34s %s   (target: added <= 2500 ns)\n' "leakwatch (stacks on)" "$(added "$base" "$t")"
t=$($LW run -q --only mem --no-stacks -o "$TMP/discard.txt" -- "$MEM" "$M")
printf '  %-34s %s\n' "leakwatch --no-stacks" "$(added "$base" "$t")"
t=$($LW run -q --only mem --probe-at-entry -o "$TMP/discard.txt" -- "$MEM" $((M / 10)))
printf '  %-34s %s\n' "leakwatch, probes at entries" "$(added "$base" "$t")"
# glibc's reallocarray only tail-jumps to realloc: left to realloc's probe
# (its own entry would be single-stepped, as --probe-at-entry shows)
abase=$($MEM $((M / 10)) reallocarray)
t=$($LW run -q --only mem -o "$TMP/discard.txt" -- "$MEM" $((M / 10)) reallocarray)
printf '  %-34s %s\n' "reallocarray+free" "$(added "$abase" "$t")"
t2=$($LW run -q --only mem --probe-at-entry -o "$TMP/discard.txt" -- "$MEM" $((M / 100)) reallocarray)
printf '  %-34s %s\n' "reallocarray+free, at its entry" "$(added "$abase" "$t2")"
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

}

sec_live() {
echo "== mem: SIGINT to complete report, 1,000,000 live blocks (attach)"
"$MEM" live 1000000 "$TMP/ready" &
bp=$!
for i in $(seq 100); do grep -q waiting "$TMP/ready" 2>/dev/null && break; sleep 0.05; done
$LW attach -p $bp --only mem --min-age 0 --show-reachable -f json -o "$TMP/live.json" 2>"$TMP/live.err" &
lw=$!
# BPF load takes seconds here: up to 60 s
for i in $(seq 1200); do grep -q "attached to pid" "$TMP/live.err" && break; sleep 0.05; done
kill -USR1 $bp
for i in $(seq 600); do grep -q live "$TMP/ready" && break; sleep 0.05; done
t0=$(date +%s.%N)
kill -INT $lw
# -o is renamed into place when complete: a shell test is enough, where
# a python start per poll would take CPU from the report it times
for i in $(seq 4000); do
	[ -s "$TMP/live.json" ] && break
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
# the blocks are held by a global: reachable, listed with --show-reachable
blocks = max((f["count"] for f in d["findings"] if f["kind"].startswith("mem-")), default=0)
print(f"  report written after {t1 - t0:5.2f} s (target <= 2 s), {blocks} blocks in the largest site")
print(f"  probes removed and exited after {t2 - t0:5.2f} s")
PY

}

sec_reach() {
echo "== mem: reachability scan of a frozen process (freeze, maps, roots, scan, thaw)"
"$OUT/bench/reach_scan" 64 1024 || { echo "bench: reach_scan: wrong answer or no scan"; exit 1; }
}

# ---- helpers for the sections below ----

now_us() { echo $(($(date +%s%N) / 1000)); }
# seconds a command takes (its output discarded)
secs() {
	local t0
	t0=$(now_us)
	"$@" >/dev/null 2>&1
	python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e6:.3f}')" "$t0" "$(now_us)"
}
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$@"; }
# wait_for FILE PATTERN SECONDS: 0 once the pattern is in the file
wait_for() {
	local i
	for i in $(seq $(($3 * 50))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}
# the -v phase lines in FILE, on one line
phases() {
	python3 - "$1" <<'PY'
import re, sys
names = {"BPF open+load (verify)": "load+verify", "attach": "attach", "first event": "first event",
         "detach": "detach", "total": "total"}
got = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"leakwatch: time: (.*?) ([0-9.]+) s", line)
    if m and m.group(1) in names:
        got.append(f"{names[m.group(1)]} {float(m.group(2)):.2f} s")
print(", ".join(got) if got else "(no -v time lines)")
PY
}
# the seconds of one -v phase line in FILE ("" when absent)
phase_s() { sed -n "s/^leakwatch: time: $2 \([0-9.]*\) s.*/\1/p" "$1" | head -1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# attach_bg LOG ARGS...: leakwatch attach in the background (pid in $lw),
# 0 once it says it is attached
attach_bg() {
	local log=$1
	shift
	$LW attach "$@" -o "$TMP/attach.txt" 2>"$log" &
	lw=$!
	wait_for "$log" "attached to pid" 60
}
# stop_lw: SIGINT the attached leakwatch, wait for its report and exit
stop_lw() {
	kill -INT "$lw" 2>/dev/null
	for i in $(seq 3000); do kill -0 "$lw" 2>/dev/null || break; sleep 0.02; done
	kill -KILL "$lw" 2>/dev/null
	wait "$lw" 2>/dev/null
}
# ns/op a speed ratio: untraced / traced
speed() { python3 -c 'import sys; b,t=map(float,sys.argv[1:]); print(f"{t:9.1f} ns/op  {b/t:6.3f}x untraced speed")' "$@"; }

sec_startup() {
	echo "== startup: leakwatch run -- /bin/true vs valgrind -q /bin/true, interleaved, median of 5"
	if ! command -v valgrind >/dev/null; then
		echo "  valgrind: not installed"
		return
	fi
	local vg=() d=() fm=() i
	for i in 1 2 3 4 5; do
		vg+=("$(secs valgrind -q /bin/true)")
		d+=("$(secs $LW run -q --only fd,mount,proc -o "$TMP/st.txt" -- /bin/true)")
		fm+=("$(secs $LW run -q --only fd,mem -o "$TMP/st.txt" -- /bin/true)")
	done
	local mv md mf
	mv=$(median "${vg[@]}")
	md=$(median "${d[@]}")
	mf=$(median "${fm[@]}")
	printf '  %-36s %7.3f s\n' "valgrind -q" "$mv"
	printf '  %-36s %7.3f s  %6.2fx valgrind (target <= 1.5x)\n' "leakwatch --only fd,mount,proc" "$md" "$(ratio "$md" "$mv")"
	printf '  %-36s %7.3f s  %6.2fx valgrind (target <= 2.5x)\n' "leakwatch --only fd,mem" "$mf" "$(ratio "$mf" "$mv")"
	$LW run -q -v --only fd,mount,proc -o "$TMP/st.txt" -- /bin/true 2>"$TMP/st.err" >/dev/null
	echo "  phases, fd:       $(phases "$TMP/st.err")"
	$LW run -q -v --only fd,mem -o "$TMP/st.txt" -- /bin/true 2>"$TMP/st.err" >/dev/null
	echo "  phases, fd,mem:   $(phases "$TMP/st.err")"
}

sec_first_event() {
	echo "== attach to first event: a target opening /dev/null every ~1 ms"
	"$FD" tick 300 &
	local tp=$! label
	for label in default fd,mem; do
		local args=()
		[ "$label" = default ] || args=(--only "$label")
		if attach_bg "$TMP/fe.err" -v -p "$tp" "${args[@]}" && wait_for "$TMP/fe.err" "time: first event" 30; then
			stop_lw
			local fe target=0.5
			fe=$(phase_s "$TMP/fe.err" "first event")
			[ "$label" = default ] || target=1
			printf '  %-10s first event %6.2f s after start (target <= %s s); %s\n' "$label" "$fe" "$target" "$(phases "$TMP/fe.err")"
		else
			stop_lw
			echo "  $label: no first event within 30 s of attaching: $(tail -1 "$TMP/fe.err")"
		fi
	done
	kill "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
}

sec_bystander() {
	echo "== bystanders: unrelated loops while leakwatch watches one sleeping process"
	sleep 600 &
	local sl=$! base t page shell seen="" bm=() tm=() r
	# a few ns a pair: one run each moves by 10% here, so untraced and
	# attached interleave 3 times, best of each (the page: any run's)
	for r in 1 2 3; do
		bm+=("$("$MEM" "$M" maps | head -1)")
		if ! attach_bg "$TMP/by.err" -p "$sl" --only fd,mem; then
			stop_lw
			tm=()
			break
		fi
		read -r t page < <("$MEM" "$M" maps | paste -sd ' ')
		tm+=("$t")
		[ "$r" = 1 ] && shell=$(bash -c 'for i in $(seq 20); do x=$(echo "$i"); done; grep -q "\[uprobes\]" /proc/$$/maps && echo mapped || echo "not mapped"')
		[ "$page" = uprobes-page ] && seen=mapped
		stop_lw
	done
	base=$(min_of "${bm[@]}")
	printf '  %-44s %9.1f ns/op\n' "malloc+free, untraced (best of 3)" "$base"
	if [ ${#tm[@]} = 3 ]; then
		printf '  %-44s %s (target >= 0.9x)\n' "malloc+free, attached --only fd,mem elsewhere" "$(speed "$base" "$(min_of "${tm[@]}")")"
		echo "  [uprobes] page in the bystander: ${seen:-not mapped}; in a fresh shell run meanwhile: $shell"
	else
		echo "  attach --only fd,mem failed: $(tail -1 "$TMP/by.err")"
	fi
	# syscall loops are noisy here: untraced and attached interleaved 3
	# times, best of each
	local bs=() ts=() i
	for i in 1 2 3; do
		bs+=("$("$FD" "$N")")
		if ! attach_bg "$TMP/by.err" -p "$sl"; then
			stop_lw
			ts=()
			break
		fi
		ts+=("$("$FD" "$N")")
		stop_lw
	done
	base=$(min_of "${bs[@]}")
	printf '  %-44s %9.1f ns/op\n' "open+close, untraced (best of 3)" "$base"
	if [ ${#ts[@]} = 3 ]; then
		printf '  %-44s %s (target >= 0.9x)\n' "open+close, attached (default) elsewhere" "$(speed "$base" "$(min_of "${ts[@]}")")"
	else
		echo "  attach failed: $(tail -1 "$TMP/by.err")"
	fi
	kill "$sl" 2>/dev/null
	wait "$sl" 2>/dev/null
}

# floor_line LABEL BASE FLOOR LEAKWATCH TARGET
floor_line() {
	python3 - "$@" <<'PY'
import sys
label, b, f, t, target = sys.argv[1], *map(float, sys.argv[2:5]), sys.argv[5]
fa, ta = f - b, t - b
if fa > 0.01 * b:
    mult = f"{ta / fa:6.2f}x the floor's"
else:
    mult = f"the floor's is within noise (< 1% of untraced): no multiple"
print(f"  {label}: leakwatch adds {ta:8.1f} ns, the floor {fa:8.1f} ns: {mult} ({target})")
PY
}
min_of() { python3 -c 'import sys; print(min(map(float, sys.argv[1:])))' "$@"; }

sec_floor() {
	echo "== floor: no-op BPF programs on the same hooks (bench/floor.bpf.c), same run"
	echo "   untraced, floor and leakwatch interleaved 3 times, best of each (each run: best of 5 rounds)"
	local base f fp t bs=() fs=() ts=() i
	for i in 1 2 3; do
		bs+=("$("$FD" "$N")")
		fs+=("$("$FLOOR" --fd -- "$FD" "$N")")
		ts+=("$($LW run -q --only fd,mount,proc -o "$TMP/discard.txt" -- "$FD" "$N")")
	done
	base=$(min_of "${bs[@]}")
	f=$(min_of "${fs[@]}")
	t=$(min_of "${ts[@]}")
	printf '  %-40s %9.1f ns/op\n' "open+close, untraced" "$base"
	printf '  %-40s %s\n' "floor (sys_exit + sched raw tracepoints)" "$(added "$base" "$f")"
	printf '  %-40s %s   (target: ratio <= 1.5x)\n' "leakwatch run --only fd,mount,proc" "$(added "$base" "$t")"
	floor_line "open+close" "$base" "$f" "$t" "no target"
	bs=() fs=() ts=()
	for i in 1 2 3; do
		bs+=("$("$MEM" "$M")")
		fs+=("$("$FLOOR" --mem -- "$MEM" "$M")")
		ts+=("$($LW run -q --only mem -o "$TMP/discard.txt" -- "$MEM" "$M")")
	done
	base=$(min_of "${bs[@]}")
	f=$(min_of "${fs[@]}")
	fp=$("$FLOOR" --mem --pid -- "$MEM" "$M")
	# leakwatch's own mechanism: uprobe_multi links for the watched pid
	fm=()
	for i in 1 2 3; do fm+=("$("$FLOOR" --mem --multi -- "$MEM" "$M")"); done
	fm=$(min_of "${fm[@]}")
	t=$(min_of "${ts[@]}")
	printf '  %-40s %9.1f ns/op\n' "malloc+free, untraced" "$base"
	printf '  %-40s %s\n' "floor (leakwatch's uprobe sites)" "$(added "$base" "$f")"
	printf '  %-40s %s\n' "floor, uprobes for its pid only" "$(added "$base" "$fp")"
	printf '  %-40s %s\n' "floor, uprobe_multi for its pid" "$(added "$base" "$fm")"
	printf '  %-40s %s\n' "leakwatch run --only mem" "$(added "$base" "$t")"
	floor_line "malloc+free" "$base" "$f" "$t" "target <= 1.3x"
	floor_line "malloc+free, like for like (uprobe_multi, pid)" "$base" "$fm" "$t" "target <= 1.3x"
}

# wrk_line LABEL FILE [BASE_RPS BASE_P99]: req/s and p99 (ms), ratios
wrk_line() {
	python3 - "$@" <<'PY'
import re, sys
label, path = sys.argv[1], sys.argv[2]
txt = open(path, errors="replace").read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", txt)
p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\s*$", txt, re.M)
if not rps or not p99:
    print(f"  {label}: wrk gave no figures"); sys.exit(1)
r = float(rps.group(1)); p = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
extra = ""
if len(sys.argv) > 4:
    extra = f"  {r / float(sys.argv[3]):5.2f}x throughput, p99 {p / float(sys.argv[4]):5.2f}x"
print(f"  {label:34s} {r:10.0f} req/s  p99 {p:8.2f} ms{extra}")
print(f"{r} {p}", file=open(path + ".fig", "w"))
PY
}

# fig_ratio LABEL A B: the first figure of wrk_line's file A over B's
fig_ratio() {
	python3 - "$@" <<'PY'
import sys
a, b = (float(open(p).read().split()[0]) for p in sys.argv[2:4])
print(f"   {sys.argv[1]} {a / b:.2f}x")
PY
}

wrk_rps() { sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$1" 2>/dev/null; }
# keep_best NEW BEST: BEST becomes a copy of NEW when NEW has more req/s
keep_best() {
	local n b
	n=$(wrk_rps "$1")
	b=$(wrk_rps "$2")
	[ -n "$n" ] || return 0
	if [ -z "$b" ] || awk -v n="$n" -v b="$b" 'BEGIN { exit !(n > b) }'; then cp "$1" "$2"; fi
}

# ngx_conf DIR PORT: a 2-worker nginx serving a 4 KiB file on 127.0.0.1:PORT
ngx_conf() {
	mkdir -p "$1/html" "$1/logs"
	head -c 4096 /dev/zero | tr '\0' x >"$1/html/index.html"
	cat >"$1/nginx.conf" <<NGX
user root;
worker_processes 2;
daemon off;
pid $1/nginx.pid;
error_log $1/logs/error.log;
events { worker_connections 512; }
http {
	access_log off;
	server { listen 127.0.0.1:$2; root $1/html; }
}
NGX
}

# ngx_floor DIR PORT OUT: wrk against DIR's nginx started under the floor
# loader (bench/floor.c), whose probes are every process's; 0 when it ran
ngx_floor() {
	local fl ok=1 url=http://127.0.0.1:$2/
	"$FLOOR" --fd --mem -- nginx -c "$1/nginx.conf" -p "$1" >/dev/null 2>&1 &
	fl=$!
	for i in $(seq 200); do curl -sf -o /dev/null "$url" && break; sleep 0.05; done
	curl -sf -o /dev/null "$url" && timeout 30 wrk -t2 -c32 -d5s --latency "$url" >"$3" 2>&1 && ok=0
	kill "$(cat "$1/nginx.pid" 2>/dev/null)" 2>/dev/null
	wait "$fl" 2>/dev/null
	return $ok
}

sec_nginx() {
	echo "== nginx: 2 workers, a static file, wrk -t2 -c32 -d5s, untraced vs attached"
	if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
		echo "  nginx or wrk: not installed"
		return
	fi
	local port fport d=$TMP/nginx ngx
	port=$(free_port)
	fport=$(free_port)
	ngx_conf "$d" "$port"
	ngx_conf "$TMP/nginx-floor" "$fport"
	nginx -c "$d/nginx.conf" -p "$d" &
	ngx=$!
	local url=http://127.0.0.1:$port/
	for i in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.05; done
	# this machine's req/s drift by a third from minute to minute: untraced
	# and each attached mode interleaved 3 times, the best run of each
	local round label args failed=()
	rm -f "$TMP"/wrk.best.*
	for round in 1 2 3; do
		timeout 30 wrk -t2 -c32 -d5s --latency "$url" >"$TMP/wrk0" 2>&1
		keep_best "$TMP/wrk0" "$TMP/wrk.best.untraced"
		for label in default fd,mem; do
			args=()
			[ "$label" = default ] || args=(--only "$label")
			if attach_bg "$TMP/ngx.err" -p "$ngx" "${args[@]}"; then
				timeout 30 wrk -t2 -c32 -d5s --latency "$url" >"$TMP/wrk1" 2>&1
				stop_lw
				keep_best "$TMP/wrk1" "$TMP/wrk.best.$label"
			else
				stop_lw
				failed+=("attach ($label) failed: $(tail -1 "$TMP/ngx.err")")
			fi
		done
		ngx_floor "$TMP/nginx-floor" "$fport" "$TMP/wrk1" && keep_best "$TMP/wrk1" "$TMP/wrk.best.floor"
	done
	echo "   untraced, default and fd,mem interleaved 3 times, the best run of each"
	if wrk_line "untraced" "$TMP/wrk.best.untraced"; then
		local b_r b_p target
		read -r b_r b_p <"$TMP/wrk.best.untraced.fig"
		for label in default fd,mem; do
			target="0.85x"
			[ "$label" = default ] || target="0.6x"
			[ -f "$TMP/wrk.best.$label" ] &&
				wrk_line "attached ($label; target >= $target)" "$TMP/wrk.best.$label" "$b_r" "$b_p"
		done
		if [ -f "$TMP/wrk.best.floor" ]; then
			wrk_line "floor (no-op, fd+mem hooks)" "$TMP/wrk.best.floor" "$b_r" "$b_p"
			[ -f "$TMP/wrk.best.fd,mem.fig" ] && fig_ratio "fd,mem against the floor: req/s" \
				"$TMP/wrk.best.fd,mem.fig" "$TMP/wrk.best.floor.fig"
			echo "   the floor: bench/floor.bpf.c's no-op programs on the fd,mem hooks and allocator sites"
			echo "   (every process: the workers are forks), a second nginx; the least fd,mem can cost"
		else
			echo "  floor: did not run"
		fi
	fi
	for label in "${failed[@]}"; do echo "  $label"; done
	ngx_load() { timeout 30 wrk -t2 -c32 -d3s "$url" 2>&1 | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
	bpf_per_request request ngx_load "--only fd,mem" -p "$ngx" --only fd,mem
	kill "$ngx" 2>/dev/null
	wait "$ngx" 2>/dev/null
}

# bpf_per_request UNIT LOAD LABEL ATTACH_ARGS...: BPF run time per UNIT of
# one more attached run, LOAD being a function that drives the load and
# prints how many UNITs it made (kernel.bpf_stats_enabled for its length,
# then as it was): what the programs cost, steadier than a throughput on a
# machine whose speed drifts, though it leaves out the uprobe traps
bpf_per_request() {
	local unit=$1 load=$2 label=$3 was n
	shift 3
	was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) || return 0
	if ! attach_bg "$TMP/stats.err" "$@"; then
		stop_lw
		return 0
	fi
	sysctl -qw kernel.bpf_stats_enabled=1
	bpftool prog show -j >"$TMP/stats0.json" 2>/dev/null
	n=$($load)
	bpftool prog show -j >"$TMP/stats1.json" 2>/dev/null
	stop_lw
	# what bpf_stats gives a no-op program a run (its own clock reads):
	# part of every program's figure, not work
	# long enough (5 rounds of N pairs, ~1.3 us each) to be read mid-run
	"$FLOOR" --mem -- "$MEM" "$N" >/dev/null 2>&1 &
	local fl=$!
	sleep 0.5
	bpftool prog show -j >"$TMP/stats2.json" 2>/dev/null
	wait "$fl"
	sysctl -qw kernel.bpf_stats_enabled="$was"
	python3 - "$TMP/stats0.json" "$TMP/stats1.json" "${n:-0}" "$unit" "$label" "$TMP/stats2.json" <<'PY'
import json, sys
def load(p):
    try:
        return {(x["id"], x.get("name", "")): x for x in json.load(open(p))}
    except (OSError, ValueError):
        return {}
a, b = load(sys.argv[1]), load(sys.argv[2])
reqs, unit, label = int(sys.argv[3] or 0), sys.argv[4], sys.argv[5]
if not reqs or not b:
    print(f"  BPF time per {unit}: no figures"); sys.exit(0)
rows = []
for k, x in b.items():
    n = x.get("run_cnt", 0) - a.get(k, {}).get("run_cnt", 0)
    t = x.get("run_time_ns", 0) - a.get(k, {}).get("run_time_ns", 0)
    if n > 0 and (k[1].startswith("mem_") or k[1].startswith("lw_") or k[1].startswith("proc_")):
        rows.append((t / reqs, k[1], n / reqs, t / n))
rows.sort(reverse=True)
print(f"  BPF time per {unit}, attached {label}: {sum(r[0] for r in rows) / 1000:.1f} us: "
      + ", ".join(f"{name} {cnt:.1f}x{avg:.0f} ns" for _, name, cnt, avg in rows if cnt >= 0.05))
noop = [x["run_time_ns"] / x["run_cnt"] for x in load(sys.argv[6]).values()
        if x.get("name") == "floor_uprobe" and x.get("run_cnt")]
if noop:
    runs = sum(r[2] for r in rows)
    print(f"    of which bpf_stats itself: a no-op program reads {noop[0]:.0f} ns a run here,"
          f" {runs:.1f} runs per {unit}: {runs * noop[0] / 1000:.1f} us")
else:
    print("    of which bpf_stats itself: not measured (no floor program was running)")
PY
}

# redis_lines FILE [BASE_FILE]: ops/s per test from redis-benchmark --csv
redis_lines() {
	python3 - "$@" <<'PY'
import csv, sys
def load(p):
    out = {}
    for row in csv.reader(open(p, errors="replace")):
        if len(row) >= 7 and row[0] != "test":
            out[row[0]] = (float(row[1]), float(row[6]))
    return out
cur = load(sys.argv[1])
base = load(sys.argv[2]) if len(sys.argv) > 2 else {}
if not cur:
    print("    redis-benchmark gave no figures"); sys.exit(1)
for t, (rps, p99) in cur.items():
    extra = ""
    if t in base:
        extra = f"  {rps / base[t][0]:5.2f}x ops/s, p99 {p99 / base[t][1]:5.1f}x"
    print(f"    {t:36s} {rps:10.0f} ops/s  p99 {p99:7.3f} ms{extra}")
PY
}

# redis_best OUT FILES...: per test, the row of the run with the most ops/s
redis_best() {
	python3 - "$@" <<'PY'
import csv, sys
best, order = {}, []
for p in sys.argv[2:]:
    for row in csv.reader(open(p, errors="replace")):
        if len(row) < 7 or row[0] == "test":
            continue
        if row[0] not in best:
            order.append(row[0])
        if row[0] not in best or float(row[1]) > float(best[row[0]][1]):
            best[row[0]] = row
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, quoting=csv.QUOTE_ALL)
    for t in order:
        w.writerow(best[t])
PY
}

sec_redis() {
	echo "== redis (Debian's, jemalloc): redis-benchmark -n 20000, untraced vs attached --only fd,mem"
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
		echo "  redis-server or redis-benchmark: not installed"
		return
	fi
	local port rds
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--dir "$TMP" --logfile "$TMP/redis.log" &
	rds=$!
	for i in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
	local rb=(redis-benchmark -h 127.0.0.1 -p "$port" -t set,get,lpush,lrange_100 -n 20000 --csv)
	local fport fl nf=0 rbf
	fport=$(free_port)
	rbf=(redis-benchmark -h 127.0.0.1 -p "$fport" -t set,get,lpush,lrange_100 -n 20000 --csv)
	# interleaved 3 times, the best run of each test (see nginx)
	local round ok=0
	for round in 1 2 3; do
		timeout 120 "${rb[@]}" >"$TMP/rb0.$round" 2>/dev/null
		if attach_bg "$TMP/rds.err" -v -p "$rds" --only fd,mem; then
			timeout 300 "${rb[@]}" >"$TMP/rb1.$round" 2>/dev/null
			stop_lw
			ok=$((ok + 1))
		else
			stop_lw
		fi
		# the floor: no-op programs at the same hooks and sites, for a
		# second redis's process only, as leakwatch attaches
		"$FLOOR" --fd --mem --multi -- redis-server --port "$fport" --bind 127.0.0.1 --save '' \
			--appendonly no --daemonize no --dir "$TMP" --logfile "$TMP/redis-floor.log" \
			>/dev/null 2>&1 &
		fl=$!
		for i in $(seq 200); do redis-cli -p "$fport" ping >/dev/null 2>&1 && break; sleep 0.05; done
		timeout 300 "${rbf[@]}" >"$TMP/rbf.$round" 2>/dev/null && nf=$((nf + 1))
		redis-cli -p "$fport" shutdown nosave >/dev/null 2>&1
		wait "$fl" 2>/dev/null
	done
	redis_best "$TMP/rb0" "$TMP"/rb0.?
	echo "  untraced (interleaved with attached 3 times, the best run of each test)"
	redis_lines "$TMP/rb0" || { kill "$rds"; wait "$rds"; return; }
	if [ "$ok" = 3 ]; then
		redis_best "$TMP/rb1" "$TMP"/rb1.?
		echo "  attached --only fd,mem (target >= 0.5x ops/s)"
		redis_lines "$TMP/rb1" "$TMP/rb0"
		if [ "$nf" = 3 ] && redis_best "$TMP/rbf" "$TMP"/rbf.?; then
			echo "  floor: no-op programs on the fd,mem hooks and allocator sites (bench/floor.bpf.c)"
			redis_lines "$TMP/rbf" "$TMP/rb0"
		else
			echo "  floor: did not run"
		fi
		grep "mem: free at" "$TMP/rds.err" | sed 's/^leakwatch: /  -v: /'
		rds_load() { timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n 20000 -q >/dev/null 2>&1 && echo 40000; }
		bpf_per_request "SET or GET" rds_load "--only fd,mem" -p "$rds" --only fd,mem
	else
		echo "  attach failed: $(tail -1 "$TMP/rds.err")"
	fi
	kill "$rds" 2>/dev/null
	wait "$rds" 2>/dev/null
}

sec_sqlite() {
	echo "== sqlite3: 200k-row insert in one transaction + create index (malloc-heavy)"
	if ! command -v sqlite3 >/dev/null; then
		echo "  sqlite3: not installed"
		return
	fi
	python3 - "$TMP/load.sql" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("BEGIN;\nCREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v TEXT);\n")
    for i in range(200000):
        f.write(f"INSERT INTO t(k, v) VALUES('key{(i * 7919) % 200000:06d}', 'value {i} {i * 31}');\n")
    f.write("COMMIT;\nCREATE INDEX t_k ON t(k);\n")
PY
	local db=$TMP/bench.db sq=(sqlite3 "$TMP/bench.db" ".read $TMP/load.sql") base t
	rm -f "$db"
	base=$(secs timeout 60 "${sq[@]}")
	printf '  %-36s %8.2f s\n' "plain" "$base"
	if command -v valgrind >/dev/null; then
		rm -f "$db"
		t=$(secs timeout 300 valgrind -q --leak-check=full "${sq[@]}")
		printf '  %-36s %8.2f s  %6.1fx plain\n' "valgrind --leak-check=full" "$t" "$(ratio "$t" "$base")"
	else
		echo "  valgrind: not installed"
	fi
	if command -v heaptrack >/dev/null; then
		rm -f "$db"
		t=$(secs timeout 300 heaptrack -o "$TMP/heaptrack" "${sq[@]}")
		printf '  %-36s %8.2f s  %6.1fx plain\n' "heaptrack" "$t" "$(ratio "$t" "$base")"
	else
		echo "  heaptrack: not installed"
	fi
	rm -f "$db"
	local t0
	t0=$(now_us)
	timeout 300 $LW run -q -v --only fd,mem -o "$TMP/sq.txt" -- "${sq[@]}" >/dev/null 2>"$TMP/sq.err"
	t=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e6:.3f}')" "$t0" "$(now_us)")
	printf '  %-36s %8.2f s  %6.1fx plain (target: no slower than valgrind)\n' "leakwatch run --only fd,mem" "$t" "$(ratio "$t" "$base")"
	echo "    $(phases "$TMP/sq.err")"
}

sec_sweep() {
	echo "== sweep: run --fault-sweep malloc,sendmsg=EAGAIN on the router fixture (tests/fixtures/fault_router.c)"
	local fx=$OUT/fixtures/fault_router t1 t2 t3 sites
	t1=$(secs $LW run -q -o "$TMP/sw0.txt" -- "$fx")
	printf '  %-36s %8.2f s\n' "leakwatch run (no faults)" "$t1"
	t2=$(secs $LW run -q -o "$TMP/sw1.txt" --inject 'malloc@port_msg_alloc' -- "$fx")
	printf '  %-36s %8.2f s  %6.2fx the plain run\n' "leakwatch run --inject (one fault)" "$t2" "$(ratio "$t2" "$t1")"
	t3=$(secs $LW run -q -f json -o "$TMP/sw.json" --fault-sweep 'malloc,sendmsg=EAGAIN' -- "$fx")
	sites=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sweep"]["runs"])' "$TMP/sw.json")
	printf '  %-36s %8.2f s  %s runs, %.2f s per site (%.2fx the plain run)\n' "leakwatch run --fault-sweep" "$t3" "$sites" \
		"$(python3 -c "import sys; print(float(sys.argv[1]) / (int(sys.argv[2]) + 1))" "$t3" "$sites")" \
		"$(python3 -c "import sys; print(float(sys.argv[1]) / (int(sys.argv[2]) + 1) / float(sys.argv[3]))" "$t3" "$sites" "$t1")"
}

for s in $SECTIONS; do
	"sec_${s//-/_}"
done
# a section ends with the status of whatever it stopped last (a killed
# target): the figures are the result, not that
exit 0
