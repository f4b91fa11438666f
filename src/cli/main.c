// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch: find leaked file descriptors in running programs with eBPF. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/num.h"
#include "cli/cmd.h"
#include "detect/detector.h"
#include "fault/fault_spec.h"
#include "report/kinds.h"
#include "report/output.h"
#include "report/report.h"

static const char usage_text[] =
    "Usage: leakwatch run [OPTIONS] -- COMMAND [ARGS...]\n"
    "       leakwatch attach -p PID [OPTIONS]\n"
    "       leakwatch --version | --help\n"
    "\n"
    "Find leaked file descriptors without recompiling or restarting the program.\n"
    "\n"
    "Commands:\n"
    "  run       run COMMAND under observation (probes attach before it execs);\n"
    "            report at exit; exit with --error-exitcode when leaks remain\n"
    "  attach    watch a running process and its children; report on Ctrl-C,\n"
    "            SIGTERM, SIGHUP, SIGQUIT, --duration, or when the process exits\n"
    "\n"
    "Options:\n"
    "  -p, --pid PID            process to attach to\n"
    "  -d, --duration SECONDS   stop observing after SECONDS (run: SIGTERM the command,\n"
    "                           then SIGKILL it --kill-after SECONDS later, default 5)\n"
    "      --keep-running       run: let the command outlive leakwatch (untraced);\n"
    "                           by default it is killed if leakwatch dies\n"
    "  -i, --interval SECONDS   print live fds per creation site every SECONDS and\n"
    "                           flag sites whose count keeps growing\n"
    "      --min-age SECONDS    attach: only fds older than this are leaks (default 5)\n"
    "  -f, --format FORMAT      text (default), json, junit (CI test XML) or folded\n"
    "                           (flame graphs); see docs/output-formats.md\n"
    "  -o, --output FILE        write the report to FILE instead of stdout: checked\n"
    "                           before the run, never through a symlink, renamed\n"
    "                           into place when complete (run: needed for json,\n"
    "                           junit, folded; -o /dev/stdout to share stdout)\n"
    "      --output-special     let -o name a FIFO or a device (written in place)\n"
    "  -s, --suppressions FILE  LeakSanitizer-style 'leak:<glob>' lines (also fd:,\n"
    "                           fd-leak:, ...) matched against frames, modules, resources\n"
    "      --error-exitcode N   run: exit code when leaks are found (default 23)\n"
    "      --no-default-suppressions\n"
    "                           also report glibc internals (thread caches, TLS)\n"
    "      --only LIST          detectors, comma-separated (see Detectors below)\n"
    "      --top N              mem: report the N largest leak sites only\n"
    "      --sample N           mem: track 1 block in N (chosen by address), report\n"
    "                           scaled estimates; disables bad-free checks\n"
    "      --min-size BYTES     mem: ignore smaller blocks\n"
    "      --max-size BYTES     mem: ignore larger blocks\n"
    "      --max-blocks N       mem: live blocks to hold (default 1048576; 84-168\n"
    "                           bytes of locked memory each); beyond, untracked\n"
    "      --no-stacks          mem: skip allocation stacks (one group per process)\n"
    "      --show-reachable     mem: also list blocks still reachable at the end\n"
    "                           (counted in the summary either way)\n"
    "      --strict-fds         fd: every fd still open at the end is an fd-leak\n"
    "                           (valgrind --track-fds); default: only dead ones (peer\n"
    "                           gone, deleted) and growing sites, the rest is fd-held\n"
    "      --no-freeze          never hold the target still: no reachability scan of\n"
    "                           the heap (every live block counts as lost) and no fd\n"
    "                           liveness (open fds are fd-held); run: not ptraced\n"
    "      --probe-at-entry     mem: probe function entries even where the kernel\n"
    "                           must single-step them, and probe wrappers such as\n"
    "                           glibc's reallocarray too (benchmark baseline)\n"
    "      --pair SPEC          track an acquire/release pair, e.g.\n"
    "                           'pool:pool_create(ret)/+pool_retain(arg0)/-pool_release(arg0)'\n"
    "                           (+ retain, - release, ! destroy; handles: ret, argN, *argN)\n"
    "      --pair-file FILE     pair rules, one per line: RESOURCE OP FUNCTION HANDLE [in LIB]\n"
    "      --pair-profile LIST  built-in rules: freeunit, pjsip, openssl, gnutls, glib\n"
    "      --last-touch         for each leaked fd, the last syscall that used it and\n"
    "                           where (costs ~0.3 us per read/write-like syscall)\n"
    "      --allow-inherit FDS  fds (comma-separated) that may cross an exec without\n"
    "                           close-on-exec (no fd-inherited finding); 0-2 always may\n"
    "      --no-follow          do not follow child processes\n"
    "  -u, --user USER          run: run COMMAND as USER (name or uid) while leakwatch\n"
    "                           stays root; default: $SUDO_UID when set, else root\n"
    "      --inject RULES       run: make calls fail, FUNC[=ERRNO][@WHERE][:WHICH],\n"
    "                           comma-separated (see Fault injection below)\n"
    "      --fault-sweep FUNCS  run: fail each call site of FUNC[=ERRNO],... in turn\n"
    "      --fault-top          faults only in the command's own process\n"
    "      --fault-all-sites    sweep: also calls the system libraries make\n"
    "      --fault-timeout S    a faulted run still going after S s is a fault-hang\n"
    "      --sweep-max N        sweep: at most N sites (default 200)\n"
    "  -q, --quiet              no live status line\n"
    "  -v, --verbose            libbpf diagnostics, probe sites, phase times\n"
    "  -V, --version            print the version\n"
    "  -h, --help               this text\n"
    "\n";

/* After the generated Detectors and Finding kinds sections. */
static const char usage_tail[] =
    "Fault injection (run): FUNC is an allocator (malloc calloc realloc\n"
    "  posix_memalign aligned_alloc memalign valloc pvalloc strdup strndup), mmap,\n"
    "  an fd maker (open openat creat fopen socket socketpair pipe pipe2 dup dup2\n"
    "  dup3 accept accept4 epoll_create1 eventfd memfd_create) or a transfer\n"
    "  (sendmsg sendmmsg send sendto write writev read readv recv recvmsg recvfrom\n"
    "  connect). ERRNO defaults: ENOMEM, EMFILE, EAGAIN (sends, writes), EIO\n"
    "  (reads), ECONNRESET (receives), ECONNREFUSED. WHERE: a function on the\n"
    "  caller's stack (any frame; '*': anywhere). WHICH: N (default 1), N-M,\n"
    "  'every K'.\n"
    "\n"
    "Exit codes: 0 clean (run: the command's own status), 23 leaks found,\n"
    "  2 usage (bad option or number, bad rule file, -o FILE cannot be created),\n"
    "  3 environment (not root, no BTF, BPF failure), 4 target (no such process,\n"
    "  exited during attach, command not runnable), 5 internal. See README.md,\n"
    "  \"Reliability promises\".\n"
    "\n"
    "Examples:\n"
    "  leakwatch run -- ./server --selftest          # CI gate\n"
    "  leakwatch run --format json -o leaks.json -- make test\n"
    "  leakwatch attach -p $(pidof nginx) --duration 60 --min-age 10\n"
    "  leakwatch attach -p 1234 --interval 5         # watch per-site growth live\n"
    "  leakwatch run --only fd,mem -- ./tests        # fds and heap blocks\n"
    "  leakwatch run --inject 'malloc@port_msg_alloc:1' -- ./router_test\n"
    "  leakwatch run --fault-sweep malloc,sendmsg=EAGAIN -- ./router_test\n";

enum {
	OPT_MIN_AGE = 256,
	OPT_ERROR_EXITCODE,
	OPT_NO_FOLLOW,
	OPT_ONLY,
	OPT_TOP,
	OPT_SAMPLE,
	OPT_MIN_SIZE,
	OPT_MAX_SIZE,
	OPT_MAX_BLOCKS,
	OPT_NO_DEFAULT_SUPP,
	OPT_NO_STACKS,
	OPT_SHOW_REACHABLE,
	OPT_STRICT_FDS,
	OPT_NO_FREEZE,
	OPT_PROBE_AT_ENTRY,
	OPT_ALLOW_INHERIT,
	OPT_PAIR,
	OPT_PAIR_FILE,
	OPT_PAIR_PROFILE,
	OPT_LAST_TOUCH,
	OPT_KILL_AFTER,
	OPT_KEEP_RUNNING,
	OPT_OUTPUT_SPECIAL,
	OPT_INJECT,
	OPT_FAULT_SWEEP,
	OPT_FAULT_TOP,
	OPT_FAULT_ALL_SITES,
	OPT_FAULT_TIMEOUT,
	OPT_SWEEP_MAX,
};

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, 'p'},
    {"duration", required_argument, NULL, 'd'},
    {"interval", required_argument, NULL, 'i'},
    {"min-age", required_argument, NULL, OPT_MIN_AGE},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"output-special", no_argument, NULL, OPT_OUTPUT_SPECIAL},
    {"suppressions", required_argument, NULL, 's'},
    {"error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE},
    {"no-follow", no_argument, NULL, OPT_NO_FOLLOW},
    {"only", required_argument, NULL, OPT_ONLY},
    {"top", required_argument, NULL, OPT_TOP},
    {"sample", required_argument, NULL, OPT_SAMPLE},
    {"min-size", required_argument, NULL, OPT_MIN_SIZE},
    {"max-blocks", required_argument, NULL, OPT_MAX_BLOCKS},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"no-default-suppressions", no_argument, NULL, OPT_NO_DEFAULT_SUPP},
    {"no-stacks", no_argument, NULL, OPT_NO_STACKS},
    {"show-reachable", no_argument, NULL, OPT_SHOW_REACHABLE},
    {"strict-fds", no_argument, NULL, OPT_STRICT_FDS},
    {"no-freeze", no_argument, NULL, OPT_NO_FREEZE},
    {"probe-at-entry", no_argument, NULL, OPT_PROBE_AT_ENTRY},
    {"allow-inherit", required_argument, NULL, OPT_ALLOW_INHERIT},
    {"pair", required_argument, NULL, OPT_PAIR},
    {"pair-file", required_argument, NULL, OPT_PAIR_FILE},
    {"pair-profile", required_argument, NULL, OPT_PAIR_PROFILE},
    {"last-touch", no_argument, NULL, OPT_LAST_TOUCH},
    {"user", required_argument, NULL, 'u'},
    {"kill-after", required_argument, NULL, OPT_KILL_AFTER},
    {"keep-running", no_argument, NULL, OPT_KEEP_RUNNING},
    {"inject", required_argument, NULL, OPT_INJECT},
    {"fault-sweep", required_argument, NULL, OPT_FAULT_SWEEP},
    {"fault-top", no_argument, NULL, OPT_FAULT_TOP},
    {"fault-all-sites", no_argument, NULL, OPT_FAULT_ALL_SITES},
    {"fault-timeout", required_argument, NULL, OPT_FAULT_TIMEOUT},
    {"sweep-max", required_argument, NULL, OPT_SWEEP_MAX},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {},
};

/* --help: the detector and kinds tables, so the text cannot drift from them. */
static void usage(FILE *out)
{
	fputs(usage_text, out);
	fputs("Detectors (--only):\n", out);
	for (unsigned i = 0; lw_detectors[i]; i++) {
		const struct lw_detector_ops *d = lw_detectors[i];

		fprintf(out, "  %-6s %-8s %s\n", d->name,
			d->default_on	    ? "default"
			: d->default_in_run ? "run"
			: d->implied	    ? "auto"
					    : "opt-in",
			d->help);
	}
	fputs("\nFinding kinds (also suppression prefixes; leak: covers those with *):\n", out);
	for (unsigned i = 0; lw_detectors[i]; i++) {
		size_t col = 8;

		fprintf(out, "  %-5s", lw_detectors[i]->name);
		for (size_t k = 0; k < lw_nr_kinds; k++) {
			const struct lw_kind *kd = &lw_kinds[k];

			if (strcmp(kd->detector, lw_detectors[i]->name))
				continue;
			if (col + strlen(kd->name) + 2 > 79) {
				fputs("\n       ", out);
				col = 7;
			}
			col += fprintf(out, " %s%s", kd->name, kd->is_leak ? "*" : "");
		}
		fputc('\n', out);
	}
	fputs("  fault", out);
	for (size_t k = 0; k < lw_nr_kinds; k++)
		if (!strcmp(lw_kinds[k].detector, "fault"))
			fprintf(out, " %s", lw_kinds[k].name);
	fputs(" (run --inject, --fault-sweep)\n\n", out);
	fputs(usage_tail, out);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "leakwatch: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see leakwatch --help)\n");
	return LW_EXIT_USAGE;
}

/* Every number on the command line goes through src/base/num.c: decimal,
 * finite, the whole string, in range ("nan", "inf", "5s", " 1" are errors).
 */
#define LW_SECONDS_MAX 1e7 /* ~115 days: keeps seconds * 1e9 well inside 64 bits */

static int parse_seconds(const char *s, double lo, double *out)
{
	return num__parse_double(s, lo, LW_SECONDS_MAX, out);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	return num__parse_long(s, lo, hi, out);
}

/* --allow-inherit 3,7 (repeatable) */
static int parse_fd_list(const char *list, struct lw_opts *o)
{
	char buf[128], *save = NULL, *tok;
	long v;

	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_int(tok, 0, 0x7fffffff, &v) || o->nr_allow_inherit == 16)
			return -EINVAL;
		o->allow_inherit[o->nr_allow_inherit++] = (int)v;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct lw_opts o = {
	    .format = "text",
	    .error_exitcode = LW_EXIT_FINDINGS,
	    .min_age_ns = 5000000000ull,
	    .kill_after_s = 5,
	    .sample_every = 1,
	};
	static struct lw_fault_plan faults;
	char err[1024] = "";
	const char *verb;
	unsigned closed;
	double secs;
	long v;
	int c, rc;

	/* before anything opens a file: a closed fd 1 must not become the report */
	closed = output__fix_stdio();
	if (argc < 2)
		return usage_error("%s", "missing command: run or attach");
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return LW_EXIT_OK;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "-V")) {
		printf("leakwatch %s (JSON schema %d)\n", LW_VERSION, LW_JSON_SCHEMA_VERSION);
		return LW_EXIT_OK;
	}
	if (!strcmp(verb, "run"))
		o.mode = LW_MODE_RUN;
	else if (!strcmp(verb, "attach"))
		o.mode = LW_MODE_ATTACH;
	else
		return usage_error("unknown command '%s'", verb);
	o.detectors = lw_detectors__defaults(o.mode);

	/* '+': stop at the first non-option, so COMMAND's own flags are its own */
	optind = 2;
	while ((c = getopt_long(argc, argv, "+p:d:i:f:o:s:u:qvVh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_int(optarg, 1, 0x7fffffff, &v))
				return usage_error("invalid pid '%s'", optarg);
			o.pid = (pid_t)v;
			break;
		case 'd':
			if (parse_seconds(optarg, 0, &o.duration_s) || o.duration_s <= 0)
				return usage_error(
				    "invalid --duration '%s' (seconds, 0 < S <= 1e7)", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, 0.05, &o.interval_s))
				return usage_error("invalid --interval '%s' (seconds, 0.05 to 1e7)",
						   optarg);
			break;
		case OPT_MIN_AGE:
			if (parse_seconds(optarg, 0, &secs))
				return usage_error("invalid --min-age '%s' (seconds, 0 to 1e7)",
						   optarg);
			o.min_age_ns = (uint64_t)(secs * 1e9);
			break;
		case 'f':
			if (!reporter__find(optarg))
				return usage_error(
				    "unknown --format '%s' (text, json, junit or folded)", optarg);
			o.format = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_OUTPUT_SPECIAL:
			o.output_special = true;
			break;
		case 's':
			o.suppressions = optarg;
			break;
		case OPT_ERROR_EXITCODE:
			if (parse_int(optarg, 0, 255, &v))
				return usage_error("invalid --error-exitcode '%s' (0-255)", optarg);
			o.error_exitcode = (int)v;
			break;
		case OPT_NO_FOLLOW:
			o.no_follow = true;
			break;
		case OPT_NO_DEFAULT_SUPP:
			o.no_default_suppressions = true;
			break;
		case OPT_SHOW_REACHABLE:
			o.show_reachable = true;
			break;
		case OPT_STRICT_FDS:
			o.strict_fds = true;
			break;
		case OPT_NO_FREEZE:
			o.no_freeze = true;
			break;
		case OPT_NO_STACKS:
			o.no_stacks = true;
			break;
		case OPT_PROBE_AT_ENTRY:
			o.probe_at_entry = true;
			break;
		case OPT_PAIR:
			if (o.nr_pairs == 16)
				return usage_error("%s", "at most 16 --pair options");
			o.pairs[o.nr_pairs++] = optarg;
			break;
		case OPT_LAST_TOUCH:
			o.last_touch = true;
			break;
		case OPT_PAIR_FILE:
			o.pair_file = optarg;
			break;
		case OPT_PAIR_PROFILE:
			o.pair_profiles = optarg;
			break;
		case OPT_ALLOW_INHERIT:
			if (parse_fd_list(optarg, &o))
				return usage_error(
				    "invalid --allow-inherit '%s' (fd numbers, at most 16)",
				    optarg);
			break;
		case OPT_ONLY:
			o.detectors_given = true;
			if (lw_detectors__parse(optarg, &o.detectors))
				return usage_error("invalid --only '%s' (fd, mem, pair, mount, "
						   "proc, comma-separated)",
						   optarg);
			break;
		case OPT_TOP:
			if (parse_int(optarg, 1, 1000000, &v))
				return usage_error("invalid --top '%s'", optarg);
			o.top = (unsigned)v;
			break;
		case OPT_SAMPLE:
			if (parse_int(optarg, 1, 1000000, &v))
				return usage_error("invalid --sample '%s' (1-1000000)", optarg);
			o.sample_every = (uint32_t)v;
			break;
		case OPT_MIN_SIZE:
			if (num__parse_u64(optarg, 0, UINT64_MAX, &o.min_size))
				return usage_error("invalid --min-size '%s'", optarg);
			break;
		case OPT_MAX_SIZE:
			if (num__parse_u64(optarg, 1, UINT64_MAX, &o.max_size))
				return usage_error("invalid --max-size '%s'", optarg);
			break;
		case OPT_MAX_BLOCKS:
			if (parse_int(optarg, 1024, 1 << 24, &v))
				return usage_error("invalid --max-blocks '%s' (1024-16777216)",
						   optarg);
			o.max_blocks = (uint32_t)v;
			break;
		case 'u':
			o.user = optarg;
			break;
		case OPT_KILL_AFTER:
			if (parse_seconds(optarg, 0, &o.kill_after_s) || o.kill_after_s <= 0)
				return usage_error("invalid --kill-after '%s'", optarg);
			break;
		case OPT_KEEP_RUNNING:
			o.keep_running = true;
			break;
		case OPT_INJECT:
			if (o.sweep)
				return usage_error("%s", "--inject and --fault-sweep do not mix");
			o.faults = &faults;
			if (fault_spec__parse_inject(optarg, &faults, err, sizeof(err)))
				return usage_error("--inject: %s", err);
			break;
		case OPT_FAULT_SWEEP:
			if (faults.nr_rules)
				return usage_error("%s", "--inject and --fault-sweep do not mix");
			o.faults = &faults;
			o.sweep = true;
			if (fault_spec__parse_sweep(optarg, &faults, err, sizeof(err)))
				return usage_error("--fault-sweep: %s", err);
			break;
		case OPT_FAULT_TOP:
			faults.top_only = true;
			break;
		case OPT_FAULT_ALL_SITES:
			faults.all_sites = true;
			break;
		case OPT_FAULT_TIMEOUT:
			if (parse_seconds(optarg, 0, &o.fault_timeout_s) || o.fault_timeout_s <= 0)
				return usage_error("invalid --fault-timeout '%s' (seconds)",
						   optarg);
			break;
		case OPT_SWEEP_MAX:
			if (parse_int(optarg, 1, 100000, &v))
				return usage_error("invalid --sweep-max '%s' (1-100000)", optarg);
			o.sweep_max = (unsigned)v;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'V':
			printf("leakwatch %s\n", LW_VERSION);
			return LW_EXIT_OK;
		case 'h':
			usage(stdout);
			return LW_EXIT_OK;
		default:
			return LW_EXIT_USAGE; /* getopt printed the reason */
		}
	}
	if (!o.faults && (faults.top_only || faults.all_sites || o.fault_timeout_s || o.sweep_max))
		return usage_error("%s", "--fault-top, --fault-all-sites, --fault-timeout and "
					 "--sweep-max go with --inject or --fault-sweep");
	if (o.faults && !o.sweep && (faults.all_sites || o.sweep_max))
		return usage_error("%s", "--fault-all-sites and --sweep-max go with --fault-sweep");
	if (o.mode == LW_MODE_RUN) {
		if (optind >= argc)
			return usage_error(
			    "%s", "run: missing COMMAND (leakwatch run [OPTIONS] -- COMMAND)");
		if (o.pid)
			return usage_error("%s", "run: -p is for attach");
		if (o.user && !o.user[0])
			return usage_error("%s", "run: empty -u USER");
		/* COMMAND writes to the same stdout: a machine-read report there
		 * would be mixed with its output (-o /dev/stdout asks for that)
		 */
		if (!o.output && strcmp(o.format, "text"))
			return usage_error("run: -f %s needs -o FILE: the command's output "
					   "shares stdout",
					   o.format);
		o.argv = &argv[optind];
		/* a faulted run still going at --fault-timeout ends as --duration does */
		if (o.fault_timeout_s && (!o.duration_s || o.fault_timeout_s < o.duration_s))
			o.duration_s = o.fault_timeout_s;
	} else {
		if (o.faults || faults.top_only || faults.all_sites || o.fault_timeout_s ||
		    o.sweep_max)
			return usage_error("%s", "attach: fault injection is for run: leakwatch "
						 "never makes a running process's calls fail");
		if (!o.pid)
			return usage_error("%s", "attach: missing -p PID");
		if (optind < argc)
			return usage_error("attach: unexpected argument '%s'", argv[optind]);
		if (o.user)
			return usage_error("%s", "attach: -u is for run");
	}
	/* before the command starts or the attach begins: a report that cannot
	 * be written fails now, not after the run
	 */
	if (output__open(&o.out, o.output,
			 (o.output_special ? LW_OUTPUT_SPECIAL : 0) |
			     (closed & 2 ? LW_OUTPUT_STDOUT_CLOSED : 0),
			 err, sizeof(err))) {
		fprintf(stderr, "leakwatch: error: %s\n", err);
		return LW_EXIT_USAGE;
	}
	rc = o.mode == LW_MODE_RUN ? cmd_run(&o, err, sizeof(err))
				   : cmd_attach(&o, err, sizeof(err));
	output__free(o.out);
	if (err[0])
		fprintf(stderr, "leakwatch: error: %s\n", err);
	return rc;
}
