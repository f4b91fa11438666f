# shellcheck shell=bash
# Sourced by tests/e2e/run.sh (its helpers, $LW, $TMP, $Q): the README's
# "Reliability promises" for report output, bounded input and numbers.
# Each run would create a marker file: its absence proves the command never
# started.

STICKY=$(mktemp -d /tmp/lw-sticky.XXXXXX)
chmod 1777 "$STICKY"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP" "$STICKY"' EXIT
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

start output_symlink_not_followed
echo victim >"$TMP/victim"
as_nobody ln -s "$TMP/victim" "$STICKY/r.txt"
as_nobody ln -s "$TMP/dangling" "$STICKY/d.txt"
out=$($LW run -q -o "$STICKY/r.txt" -- touch "$TMP/ran-link" 2>&1)
rc=$?
out2=$($LW run -q -o "$STICKY/d.txt" -- true 2>&1)
rc2=$?
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: refusing to write the report through the symlink $STICKY/r.txt" "message" &&
	expect_eq "$(cat "$TMP/victim")" victim "victim intact" &&
	expect_eq "$([ -e "$TMP/ran-link" ] && echo ran)" "" "command did not run" &&
	expect_eq "$rc2" 2 "dangling: exit code" &&
	expect_eq "$out2" "leakwatch: error: refusing to write the report through the symlink $STICKY/d.txt" "dangling: message" &&
	expect_eq "$([ -e "$TMP/dangling" ] && echo made)" "" "dangling: no file created" && ok

start output_other_users_file_refused
as_nobody sh -c "echo theirs >'$STICKY/theirs.txt'"
out=$($LW run -q -o "$STICKY/theirs.txt" -- touch "$TMP/ran-theirs" 2>&1)
rc=$?
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: refusing to replace $STICKY/theirs.txt: owned by uid 65534 in a sticky directory" "message" &&
	expect_eq "$(cat "$STICKY/theirs.txt")" theirs "their file intact" &&
	expect_eq "$([ -e "$TMP/ran-theirs" ] && echo ran)" "" "command did not run" && ok

start output_fifo_needs_output_special
mkfifo "$TMP/report.fifo"
out=$(timeout 10 $LW run -q -o "$TMP/report.fifo" -- touch "$TMP/ran-fifo" 2>&1)
rc=$?
timeout 10 cat "$TMP/report.fifo" >"$TMP/fifo.out" &
reader=$!
$LW run -q --output-special -o "$TMP/report.fifo" -- true >/dev/null 2>&1
rc2=$?
wait $reader
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: refusing to write the report to $TMP/report.fifo: a FIFO, not a regular file (--output-special allows it)" "message" &&
	expect_eq "$([ -e "$TMP/ran-fifo" ] && echo ran)" "" "command did not run" &&
	expect_eq "$rc2" 0 "--output-special: exit code" &&
	expect_eq "$(grep -c '^SUMMARY: leakwatch: no leaks found' "$TMP/fifo.out")" 1 "--output-special: report through the FIFO" && ok

start output_missing_directory_fails_before_run
out=$($LW run -q -o /nonexistent/x -- touch "$TMP/ran-nx" 2>&1)
rc=$?
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: cannot create the report /nonexistent/x: No such file or directory" "message" &&
	expect_eq "$([ -e "$TMP/ran-nx" ] && echo ran)" "" "command did not run" && ok

start output_renamed_into_place
mkdir "$TMP/outdir"
echo old >"$TMP/outdir/r.json"
$LW run -q -f json -o "$TMP/outdir/r.json" -- touch "$TMP/ran-ok" >/dev/null 2>&1
rc=$?
expect_eq "$rc" 0 "exit code" &&
	expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mode"])' "$TMP/outdir/r.json")" run "a whole JSON report replaced the old file" &&
	expect_eq "$(ls -A "$TMP/outdir")" "r.json" "no temporary file left" && ok

start run_machine_format_needs_output
out=$($LW run -q -f json -- touch "$TMP/ran-json" 2>&1)
rc=$?
json=$($LW run -q -f json -o /dev/stdout -- true 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])')
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: run: -f json needs -o FILE: the command's output shares stdout (see leakwatch --help)" "message" &&
	expect_eq "$([ -e "$TMP/ran-json" ] && echo ran)" "" "command did not run" &&
	expect_eq "$json" run "-o /dev/stdout: JSON on stdout" && ok

start closed_stdout_is_one_clear_line
out=$($LW run -q -- touch "$TMP/ran-closed" 2>&1 >&-)
rc=$?
expect_eq "$rc" 2 "exit code" &&
	expect_eq "$out" "leakwatch: error: stdout is closed: nowhere to write the report (use -o FILE)" "message" &&
	expect_eq "$([ -e "$TMP/ran-closed" ] && echo ran)" "" "command did not run" && ok

start rule_files_must_be_small_regular_files
mkfifo "$TMP/rules.fifo"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$TMP/big.rules"
got=""
for opt in -s --pair-file; do
	for f in /dev/zero "$TMP/rules.fifo" "$TMP/big.rules"; do
		out=$(timeout 10 $LW run -q $opt "$f" -- true 2>&1)
		got="$got$?:$out
"
	done
done
want="2:leakwatch: error: /dev/zero: a character device, not a regular file
2:leakwatch: error: $TMP/rules.fifo: a FIFO, not a regular file
2:leakwatch: error: $TMP/big.rules: larger than 4 MiB, the limit for this file
"
expect_eq "$got" "$want$want" "exit codes and messages" && ok

start numbers_must_be_finite
got=""
for args in "--min-age nan" "--duration inf" "--duration nan" "--interval nan" "--min-age 1e999" "--min-age 0x10" "--max-size -1" "--top 5x"; do
	out=$($LW run -q $args -- touch "$TMP/ran-num" 2>&1)
	got="$got$?:$out
"
done
want="2:leakwatch: error: invalid --min-age 'nan' (seconds, 0 to 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --duration 'inf' (seconds, 0 < S <= 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --duration 'nan' (seconds, 0 < S <= 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --interval 'nan' (seconds, 0.05 to 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --min-age '1e999' (seconds, 0 to 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --min-age '0x10' (seconds, 0 to 1e7) (see leakwatch --help)
2:leakwatch: error: invalid --max-size '-1' (see leakwatch --help)
2:leakwatch: error: invalid --top '5x' (see leakwatch --help)
"
expect_eq "$got" "$want" "exit codes and messages" &&
	expect_eq "$([ -e "$TMP/ran-num" ] && echo ran)" "" "command did not run" && ok
