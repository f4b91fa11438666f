#!/usr/bin/env bash
# liblwinject on its own (no BPF, no leakwatch, no root needed): each case
# writes a conf, runs a fixture under LD_PRELOAD and checks the log and the
# fixture's behaviour. Usage: bash tests/e2e/inject_lib.sh [BUILD_DIR]
set -u

B=$(cd "${1:-build}" && pwd)
LIB=$B/liblwinject.so
FX=$B/fixtures
HERE=$(cd "$(dirname "$0")" && pwd)
Q="python3 $HERE/inject_log.py"
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TMP=$(mktemp -d /tmp/lw-inject.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
current=""
bad=0

for f in "$LIB" "$FX/fault_router" "$FX/fault_crash" "$FX/fault_threads"; do
	[ -e "$f" ] || {
		echo "FAIL: $f missing (make first)"
		exit 1
	}
done

start() {
	current=$1
	bad=0
}
fail() {
	echo "  FAIL: $current: $*"
	bad=1
}
done_case() {
	if [ "$bad" = 0 ]; then
		echo "ok   $current"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}
expect_eq() { # ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# sym_range BIN SYM: "lo hi" (hex, no 0x) of a function, from nm -S
sym_range() {
	nm -S "$1" | awk -v s="$2" '$4 == s { print $1, $2 }' | {
		read -r lo sz || exit 1
		printf '%x %x\n' $((0x$lo)) $((0x$lo + 0x$sz))
	}
}

# conf FILE LOG LINE...: a conf with version, log and the given lines
conf() {
	local f=$1 log=$2
	shift 2
	{
		echo "version 1"
		echo "log $log"
		printf '%s\n' "$@"
	} >"$f"
	rm -f "$log"
}

# inject CONF CMD...: runs CMD under the library (only CMD: a timeout(1)
# wrapper would be preloaded too), killed after 120 s; stdout to $TMP/out,
# stderr to $TMP/err, status in $rc (124: it hung)
inject() {
	local c=$1 pid dog first
	shift
	LD_PRELOAD="$LIB${PRELOAD_MORE:+ $PRELOAD_MORE}" LW_INJECT_CONF=$c \
		"$@" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	sleep 120 &
	dog=$!
	wait -n -p first "$pid" "$dog"
	rc=$?
	if [ "$first" = "$dog" ]; then
		kill -9 "$pid"
		wait "$pid"
		rc=124
	else
		kill "$dog"
		wait "$dog" 2>/dev/null
	fi
}

valid() { # LOG
	$Q validate "$1" || fail "malformed log $1"
}

echo "version 1" >"$TMP/empty.conf"
ROUTER=$(realpath "$FX/fault_router")
CRASH=$(realpath "$FX/fault_crash")
read -r PMA_LO PMA_HI <<<"$(sym_range "$ROUTER" port_msg_alloc)"
read -r PSW_LO PSW_HI <<<"$(sym_range "$ROUTER" port_socket_write)"
read -r BUF_LO BUF_HI <<<"$(sym_range "$ROUTER" buf_alloc)"
read -r LC_LO LC_HI <<<"$(sym_range "$CRASH" load_config)"

# 1: a failed malloc in port_msg_alloc
start "malloc fails once under port_msg_alloc"
L=$TMP/1.log
conf "$TMP/1.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $PMA_LO $PMA_HI $ROUTER"
inject "$TMP/1.conf" "$ROUTER"
valid "$L"
expect_eq "$rc" 0 "exit status"
expect_eq "$($Q count "$L" fault)" 1 "fault records"
expect_eq "$($Q count "$L" fault func=malloc errno=12 nth=1 rule=0)" 1 "fault header"
expect_eq "$($Q inrange "$L" fault "$PMA_LO" "$PMA_HI" "$ROUTER")" 1 "frame in port_msg_alloc"
expect_eq "$($Q count "$L" init exe="$ROUTER")" 1 "init record"
expect_eq "$(cat "$TMP/out")" "router: 8 requests, 7 ok" "stdout"
grep -q "port_msg_alloc failed" "$TMP/err" || fail "the error path did not run"
done_case

# 2: the second sendmsg of port_socket_write fails with EAGAIN
start "sendmsg EAGAIN under port_socket_write, nth 2"
L=$TMP/2.log
conf "$TMP/2.conf" "$L" "rule 3 sendmsg 11 2 2 0" "where 3 $PSW_LO $PSW_HI $ROUTER"
inject "$TMP/2.conf" "$ROUTER"
valid "$L"
expect_eq "$rc" 0 "exit status"
expect_eq "$($Q count "$L" fault)" 1 "fault records"
expect_eq "$($Q count "$L" fault func=sendmsg errno=11 nth=2 rule=3)" 1 "fault header"
expect_eq "$($Q inrange "$L" fault "$PSW_LO" "$PSW_HI" "$ROUTER")" 1 "frame in port_socket_write"
expect_eq "$(cat "$TMP/out")" "router: 8 requests, 7 ok" "stdout"
grep -q "request 1: send: Resource temporarily unavailable" "$TMP/err" ||
	fail "request 1 did not see EAGAIN"
done_case

# 3: record mode, scope exe; the hashes survive ASLR
start "record malloc, scope exe, hashes stable across runs"
for run in a b; do
	conf "$TMP/3$run.conf" "$TMP/3$run.log" "scope exe" "record malloc"
	inject "$TMP/3$run.conf" "$ROUTER"
	valid "$TMP/3$run.log"
	expect_eq "$rc" 0 "exit status ($run)"
	$Q sites "$TMP/3$run.log" "$ROUTER" >"$TMP/3$run.sites"
done
n=$(wc -l <"$TMP/3a.sites")
[ "$n" -ge 3 ] || fail "only $n site records"
awk '$4 != 1' "$TMP/3a.sites" | grep -q . && fail "a site without a frame in the executable"
expect_eq "$(awk '{ print $1, $2 }' "$TMP/3a.sites" | sort | uniq -d)" "" "duplicate (pid, hash)"
expect_eq "$(awk '{ print $2 }' "$TMP/3a.sites" | sort -u)" \
	"$(awk '{ print $2 }' "$TMP/3b.sites" | sort -u)" "hash sets of the two runs"
# the hash of the buf_alloc site (frame 0 in buf_alloc), for case 4
BUF_HASH=$($Q sitehash "$TMP/3a.log" "$BUF_LO" "$BUF_HI" "$ROUTER" | head -1)
[ -n "$BUF_HASH" ] || fail "no site in buf_alloc"
a1=$(grep -m1 '^ ' "$TMP/3a.log" | awk '$3 != "?" { print $1 }')
b1=$(grep -m1 '^ ' "$TMP/3b.log" | awk '$3 != "?" { print $1 }')
[ "$(cat /proc/sys/kernel/randomize_va_space)" != 0 ] && [ "$a1" = "$b1" ] &&
	fail "same absolute address in both runs: is ASLR off?"
done_case

# 3b: scope own: only calls the program's own code makes (frame 0 in the
# router, never libc's stdio buffer allocation)
start "record malloc, scope own: the program's own call sites only"
conf "$TMP/3o.conf" "$TMP/3o.log" "scope own" "record malloc"
inject "$TMP/3o.conf" "$ROUTER"
valid "$TMP/3o.log"
expect_eq "$rc" 0 "exit status"
own=$(awk -v r="$ROUTER" '/^site /{getline; n++; if ($3 != r) bad++} END {print n+0, bad+0}' "$TMP/3o.log")
all=$(grep -c '^site ' "$TMP/3a.log")
[ "${own% *}" -ge 3 ] || fail "only ${own% *} own sites"
expect_eq "${own#* }" 0 "sites whose call is not the router's"
[ "${own% *}" -lt "$all" ] || fail "scope own kept as many sites as scope exe ($all)"
done_case

# 4: a site rule picks one stack
start "site rule on the buf_alloc stack"
L=$TMP/4.log
conf "$TMP/4.conf" "$L" "rule 0 malloc 12 1 1 0" "site 0 $BUF_HASH"
inject "$TMP/4.conf" "$ROUTER"
valid "$L"
expect_eq "$rc" 0 "exit status"
expect_eq "$($Q count "$L" fault hash="$BUF_HASH")" 1 "fault records with the hash"
expect_eq "$($Q count "$L" fault)" 1 "fault records"
expect_eq "$($Q inrange "$L" fault "$BUF_LO" "$BUF_HI" "$ROUTER")" 1 "frame in buf_alloc"
grep -q "request 0: buf_alloc failed" "$TMP/err" || fail "the buf_alloc error path did not run"
# every=1: all 8 buf_alloc calls fail, nothing else
L=$TMP/4b.log
conf "$TMP/4b.conf" "$L" "rule 0 malloc 12 0 0 1" "site 0 $BUF_HASH"
inject "$TMP/4b.conf" "$ROUTER"
expect_eq "$rc" 0 "exit status (every 1)"
expect_eq "$($Q count "$L" fault hash="$BUF_HASH")" 8 "fault records (every 1)"
expect_eq "$($Q count "$L" fault)" 8 "all fault records (every 1)"
expect_eq "$(cat "$TMP/out")" "router: 8 requests, 0 ok" "stdout (every 1)"
done_case

# 5: the fault makes the program crash: a crash record with its stack
start "crash after the fault in load_config"
L=$TMP/5.log
conf "$TMP/5.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $LC_LO $LC_HI $CRASH"
(
	ulimit -c 0
	inject "$TMP/5.conf" "$CRASH"
	echo "$rc" >"$TMP/5.rc"
) 2>/dev/null # the shell's "Segmentation fault"
valid "$L"
expect_eq "$(cat "$TMP/5.rc")" 139 "exit status"
expect_eq "$($Q count "$L" fault)" 1 "fault records"
expect_eq "$($Q count "$L" crash sig=11 addr=0)" 1 "crash record"
expect_eq "$($Q inrange "$L" crash "$LC_LO" "$LC_HI" "$CRASH")" 1 "crash frame in load_config"
first=$(awk '/^crash/ { getline; print $3; exit }' "$L")
expect_eq "$first" "$CRASH" "crash frame 0 (the faulting pc) module"
done_case

# 6: no conf: no effect at all
start "no LW_INJECT_CONF: pass through"
"$ROUTER" >"$TMP/6.plain" 2>&1
plain_rc=$?
LD_PRELOAD=$LIB "$ROUTER" >"$TMP/6.lib" 2>&1
expect_eq "$?" "$plain_rc" "exit status"
cmp -s "$TMP/6.plain" "$TMP/6.lib" || fail "output differs"
LD_PRELOAD=$LIB LW_INJECT_CONF=$TMP/does-not-exist "$ROUTER" >"$TMP/6.missing" 2>&1
cmp -s "$TMP/6.plain" "$TMP/6.missing" || fail "output differs with a missing conf"
ls "$TMP"/*.log >"$TMP/6.logs.before"
LD_PRELOAD=$LIB "$CRASH" >/dev/null 2>&1 || fail "fault_crash failed"
ls "$TMP"/*.log | cmp -s - "$TMP/6.logs.before" || fail "a log appeared"
done_case

# 7: top names another process: nothing fires
start "top is another pid: nothing fires"
L=$TMP/7.log
conf "$TMP/7.conf" "$L" "top 1" "rule 0 malloc 12 0 0 1" "record malloc"
inject "$TMP/7.conf" "$ROUTER"
valid "$L"
expect_eq "$rc" 0 "exit status"
expect_eq "$($Q count "$L" fault)" 0 "fault records"
expect_eq "$($Q count "$L" site)" 0 "site records"
expect_eq "$(cat "$TMP/out")" "router: 8 requests, 8 ok" "stdout"
# and top naming the process itself does fire (the fixture is exec'd as $$'s child)
L=$TMP/7b.log
conf "$TMP/7b.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $PMA_LO $PMA_HI $ROUTER"
LD_PRELOAD=$LIB LW_INJECT_CONF=$TMP/7b.conf bash -c 'sed -i "1a top $$" "$0"; exec "$1"' \
	"$TMP/7b.conf" "$ROUTER" >/dev/null 2>&1
expect_eq "$($Q count "$L" fault)" 1 "fault records with top = the process"
done_case

# 8: a preloaded jemalloc behind the library
start "jemalloc behind the library"
if [ ! -e "$JEMALLOC" ]; then
	fail "$JEMALLOC missing (apt-get install libjemalloc2)"
else
	L=$TMP/8.log
	conf "$TMP/8.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $PMA_LO $PMA_HI $ROUTER"
	PRELOAD_MORE=$JEMALLOC MALLOC_CONF=stats_print:true inject "$TMP/8.conf" "$ROUTER"
	valid "$L"
	expect_eq "$rc" 0 "exit status"
	expect_eq "$($Q count "$L" fault func=malloc)" 1 "fault records"
	expect_eq "$($Q inrange "$L" fault "$PMA_LO" "$PMA_HI" "$ROUTER")" 1 "frame in port_msg_alloc"
	grep -q "jemalloc statistics" "$TMP/err" || fail "jemalloc was not the allocator"
	PRELOAD_MORE=$JEMALLOC inject "$TMP/empty.conf" python3 -c 'import json, ssl'
	expect_eq "$rc" 0 "python3 under jemalloc"
fi
done_case

# 9: threads (one dlopens and dlcloses meanwhile, the main one forks):
# record mode walks every call; a periodic rule and a where rule fire
start "threads: record, every-7 malloc, every-3 calloc in alloc_b"
THR=$(realpath "$FX/fault_threads")
read -r AB_LO AB_HI <<<"$(sym_range "$THR" alloc_b)"
L=$TMP/9.log
conf "$TMP/9.conf" "$L" "rule 0 malloc 12 0 0 7" "rule 1 calloc 12 0 0 3" \
	"where 1 $AB_LO $AB_HI $THR" "record malloc" "record calloc" "record strdup"
inject "$TMP/9.conf" "$THR"
valid "$L"
expect_eq "$rc" 0 "exit status"
expect_eq "$(cat "$TMP/out")" "threads: done" "stdout"
# 6 threads x 20000 calls of alloc_b: every third fails
expect_eq "$($Q count "$L" fault rule=1)" 40000 "calloc faults"
expect_eq "$($Q inrange "$L" fault "$AB_LO" "$AB_HI" "$THR")" 40000 "calloc faults in alloc_b"
n=$($Q count "$L" fault rule=0)
[ "$n" -gt 30000 ] || fail "only $n malloc faults"
tids=$(grep '^fault' "$L" | grep -o 'tid=[0-9]*' | sort -u | wc -l)
[ "$tids" -ge 6 ] || fail "faults from $tids threads"
[ "$($Q count "$L" site)" -ge 20 ] || fail "too few sites (forked children log theirs)"
for i in 1 2 3 4 5; do
	inject "$TMP/9.conf" "$THR"
	[ "$rc" = 0 ] || fail "run $i: exit status $rc"
done
if [ -e "$JEMALLOC" ]; then
	PRELOAD_MORE=$JEMALLOC inject "$TMP/9.conf" "$THR"
	expect_eq "$rc" 0 "exit status (jemalloc)"
fi
done_case

# 10: failure values and signals, on a small program built here
start "failure values, aliases, SIGABRT, sent SIGSEGV, the target's own handler"
cat >"$TMP/edge.c" <<'CEOF'
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
static void own(int sig) { (void)sig; _exit(7); }
int main(int argc, char **argv)
{
	void *p = malloc(10), *q = (void *)1, *mm;
	struct stat sb;
	int r, fd;
	FILE *f;
	(void)argc;
	printf("malloc %p errno=%d\n", p, errno);
	fflush(stdout);
	if (!strcmp(argv[1], "abort"))
		abort();
	if (!strcmp(argv[1], "kill"))
		kill(getpid(), SIGSEGV);
	if (!strcmp(argv[1], "own")) {
		signal(SIGSEGV, own);
		*(volatile int *)0 = 1;
	}
	errno = 0;
	r = posix_memalign(&q, 64, 100);
	printf("posix_memalign %d errno=%d %p\n", r, errno, q);
	umask(0);
	unlink(argv[2]);
	fd = open(argv[2], O_CREAT | O_WRONLY, 0640);
	stat(argv[2], &sb);
	printf("open %d %o\n", fd >= 0, sb.st_mode & 0777);
	fd = openat(AT_FDCWD, argv[2], O_RDONLY);
	printf("openat %d errno=%d\n", fd, errno);
	mm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap %d errno=%d\n", mm == MAP_FAILED, errno);
	f = fopen(argv[2], "r");
	printf("fopen %p errno=%d\n", (void *)f, errno);
	return 0;
}
CEOF
# _FILE_OFFSET_BITS=64: the program calls open64, openat64, mmap64, fopen64
cc -O1 -g -D_FILE_OFFSET_BITS=64 -o "$TMP/edge" "$TMP/edge.c" || fail "cc"
EDGE=$(realpath "$TMP/edge")
read -r M_LO M_HI <<<"$(sym_range "$EDGE" main)"
L=$TMP/10.log
conf "$TMP/10.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $M_LO $M_HI $EDGE"
for mode in abort:134:6 kill:139:11 own:7:; do
	IFS=: read -r m want sig <<<"$mode"
	rm -f "$L"
	(
		ulimit -c 0
		inject "$TMP/10.conf" "$EDGE" "$m" "$TMP/f"
		echo "$rc" >"$TMP/10.rc"
	) 2>/dev/null
	expect_eq "$(cat "$TMP/10.rc")" "$want" "$m: exit status"
	expect_eq "$($Q count "$L" fault)" 1 "$m: fault records"
	if [ -n "$sig" ]; then
		expect_eq "$($Q count "$L" crash sig="$sig")" 1 "$m: crash records"
	else
		expect_eq "$($Q count "$L" crash)" 0 "$m: crash records (its handler ran)"
	fi
done
conf "$TMP/10b.conf" "$L" "rule 0 malloc 12 1 1 0" "where 0 $M_LO $M_HI $EDGE" \
	"rule 1 posix_memalign 22 1 1 0" "rule 2 open 13 2 2 0" "rule 3 openat64 2 1 1 0" \
	"rule 4 mmap 12 1 1 0" "rule 5 fopen64 24 1 1 0"
inject "$TMP/10b.conf" "$EDGE" values "$TMP/f"
expect_eq "$rc" 0 "exit status"
expect_eq "$(cat "$TMP/out")" "malloc (nil) errno=12
posix_memalign 22 errno=0 0x1
open 1 640
openat -1 errno=2
mmap 1 errno=12
fopen (nil) errno=24" "failure values"
expect_eq "$($Q count "$L" fault func=openat rule=3)" 1 "openat64 counts as openat"
expect_eq "$($Q count "$L" fault func=fopen rule=5)" 1 "fopen64 counts as fopen"
done_case

# sanity: common programs with an empty conf
start "empty conf: python3, bash, ls"
inject "$TMP/empty.conf" python3 -c pass
expect_eq "$rc" 0 "python3 -c pass"
inject "$TMP/empty.conf" bash -c true
expect_eq "$rc" 0 "bash -c true"
inject "$TMP/empty.conf" ls /
expect_eq "$rc" 0 "ls /"
ls / >"$TMP/ls.plain"
cmp -s "$TMP/out" "$TMP/ls.plain" || fail "ls / output differs"
# record everything a python run allocates or opens
conf "$TMP/py.conf" "$TMP/py.log" "record malloc" "record calloc" "record realloc" \
	"record openat" "record read" "record mmap"
inject "$TMP/py.conf" python3 -c 'import json, ssl, threading; print("ok")'
expect_eq "$rc" 0 "python3 under record"
expect_eq "$(cat "$TMP/out")" "ok" "python3 output under record"
valid "$TMP/py.log"
[ "$($Q count "$TMP/py.log" site)" -ge 50 ] || fail "few python sites"
done_case

echo "inject_lib: $passed passed, $failed failed"
[ "$failed" = 0 ]
