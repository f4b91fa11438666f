// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor loader: attaches bench/floor.bpf.c's no-op programs where
 * leakwatch attaches its own, runs COMMAND, detaches, exits with its status.
 *
 *   floor [--fd] [--mem] [--pid] [-v] -- COMMAND [ARGS...]
 *
 * --fd   sys_exit and the sched_process_{fork,exec,exit} raw tracepoints
 * --mem  uprobes on the allocator that serves COMMAND, at the sites
 *        leakwatch's mem detector chooses (its own code, det_mem, linked in:
 *        off-entry on an emulated instruction where it finds one) and
 *        uretprobes where it puts them
 * --pid  the uprobes for COMMAND's process only (perf-event uprobes with a pid)
 * --multi  the uprobes as leakwatch attaches them: uprobe_multi links for
 *        COMMAND's process only (src/session/uprobe_links.c)
 * Nothing is filtered in BPF. COMMAND is forked and held until every probe is
 * attached, then exec'd, as `leakwatch run` does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "cli/options.h"
#include "detect/detector.h"
#include "detect/mem/alloc_resolve.h"
#include "detect/mem/det_mem.h"
#include "session/uprobe_links.h"
#include "floor.skel.h"

#define FLOOR_MAX_LINKS 64

struct floor {
	struct floor_bpf *skel;
	struct bpf_link *links[FLOOR_MAX_LINKS];
	int nr_links;
	pid_t uprobe_pid;	 /* -1: every process */
	struct uprobe_links *ul; /* --multi */
};

static int add_link(struct floor *f, struct bpf_link *l, const char *what, char *err, size_t errlen)
{
	if (!l) {
		int e = -errno;

		snprintf(err, errlen, "cannot attach %s: %s", what, strerror(-e));
		return e;
	}
	if (f->nr_links == FLOOR_MAX_LINKS) {
		bpf_link__destroy(l);
		snprintf(err, errlen, "too many links");
		return -E2BIG;
	}
	f->links[f->nr_links++] = l;
	return 0;
}

/* det_mem's attach_uprobe: every entry program becomes floor_uprobe */
static int floor_attach_uprobe(void *ctx, const char *prog, const char *path, uint64_t offset,
			       bool ret, uint32_t how, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
	struct floor *f = ctx;
	struct bpf_program *p = ret ? f->skel->progs.floor_uretprobe : f->skel->progs.floor_uprobe;

	(void)how;

	if (f->ul)
		return uprobe_links__add(f->ul, bpf_program__fd(p), LW_BPF_TRACE_UPROBE_MULTI, prog,
					 path, offset, 0, ret);

	return add_link(f, bpf_program__attach_uprobe_opts(p, f->uprobe_pid, path, offset, &uo),
			prog, err, errlen);
}

static int attach_fd(struct floor *f, char *err, size_t errlen)
{
	struct bpf_program *progs[] = {f->skel->progs.floor_fork, f->skel->progs.floor_exec,
				       f->skel->progs.floor_exit, f->skel->progs.floor_sys_exit};
	int e = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]) && !e; i++)
		e = add_link(f, bpf_program__attach(progs[i]), bpf_program__name(progs[i]), err,
			     errlen);
	return e;
}

static int attach_mem(struct floor *f, char **argv, bool verbose, char *err, size_t errlen)
{
	extern char **environ;
	struct lw_opts o = {.verbose = verbose};
	struct lw_det_io io = {.ctx = f, .attach_uprobe = floor_attach_uprobe};
	struct lw_det_env env = {.opts = &o, .io = &io, .err = err, .errlen = errlen};
	struct lw_alloc_target *t = calloc(1, sizeof(*t));
	int e;

	if (!t)
		return -ENOMEM;
	e = alloc_resolve__command(argv[0], environ, t, err, errlen);
	if (!e)
		e = det_mem__attach_target(&env, t);
	if (!e && f->ul)
		e = uprobe_links__watch(f->ul, f->uprobe_pid, err, errlen);
	free(t);
	return e;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor [--fd] [--mem] [--pid|--multi] [-v] -- COMMAND [ARGS...]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"fd", no_argument, NULL, 'f'},
					     {"mem", no_argument, NULL, 'm'},
					     {"pid", no_argument, NULL, 'p'},
					     {"multi", no_argument, NULL, 'M'},
					     {NULL, 0, NULL, 0}};
	struct floor f = {.uprobe_pid = -1};
	bool fd = false, mem = false, per_pid = false, multi = false, verbose = false;
	int go[2], c, e = 0, status = 0;
	char err[512] = "", b;
	pid_t child;

	while ((c = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fd = true;
			break;
		case 'm':
			mem = true;
			break;
		case 'p':
			per_pid = true;
			break;
		case 'M':
			multi = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	if (pipe(go))
		return 3;
	child = fork();
	if (child < 0)
		return 3;
	if (child == 0) {
		close(go[1]);
		/* EOF without a byte: the floor failed to attach */
		if (read(go[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(go[0]);
	if (per_pid || multi)
		f.uprobe_pid = child;
	f.skel = floor_bpf__open();
	if (!f.skel) {
		e = -errno;
	} else if (multi) {
		bpf_program__set_expected_attach_type(f.skel->progs.floor_uprobe,
						      LW_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(f.skel->progs.floor_uretprobe,
						      LW_BPF_TRACE_UPROBE_MULTI);
		e = uprobe_links__new(&f.ul);
	}
	if (!e && floor_bpf__load(f.skel))
		e = -errno;
	if (e)
		snprintf(err, sizeof(err), "cannot load the floor programs: %s", strerror(-e));
	if (!e && fd)
		e = attach_fd(&f, err, sizeof(err));
	if (!e && mem)
		e = attach_mem(&f, argv + optind, verbose, err, sizeof(err));
	if (!e && write(go[1], "g", 1) != 1)
		e = -errno;
	close(go[1]);
	if (waitpid(child, &status, 0) != child)
		status = 0;
	for (int i = f.nr_links - 1; i >= 0; i--)
		bpf_link__destroy(f.links[i]);
	if (f.ul)
		uprobe_links__free(f.ul);
	if (verbose)
		fprintf(stderr, "floor: %d links attached and removed\n", f.nr_links);
	floor_bpf__destroy(f.skel);
	if (e) {
		fprintf(stderr, "floor: %s\n", err[0] ? err : strerror(-e));
		return 3;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
