// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session/session_internal.h"
#include "base/vec.h"
#include "detect/mem/reach.h"

/* glibc internals no program can fix, as LeakSanitizer ships its own
 * (and blocks LeakSanitizer would call reachable):
 * - a thread's tcache is allocated with _int_malloc (never through malloc's
 *   entry, so unseen, possibly at the address of a block just freed) and
 *   released with free() when the thread exits;
 * - thread DTVs stay in glibc's stack cache after pthread_join.
 */
static const char builtin_suppressions[] = "mem-invalid-free:__malloc_arena_thread_freeres\n"
					   "mem-double-free:__malloc_arena_thread_freeres\n"
					   "mem-invalid-free:tcache_thread_shutdown\n"
					   "mem-double-free:tcache_thread_shutdown\n"
					   "mem-leak:_dl_allocate_tls\n"
					   /* the DTV: glibc keeps only dtv + 1 */
					   "mem-possibly-lost:_dl_allocate_tls\n"
					   /* stdio buffers: reachable through FILE until exit */
					   "mem-leak:_IO_file_doallocate\n";

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void session__phase_line(const struct lw_session *s, const char *what, uint64_t from, uint64_t to,
			 const char *extra)
{
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: time: %s %.3f s%s\n", what, (double)(to - from) / 1e9,
			extra ? extra : "");
}

int set_error(struct lw_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (!s->errmsg[0]) {
		va_start(ap, fmt);
		vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *session__error(const struct lw_session *s)
{
	return s->errmsg[0] ? s->errmsg : "unknown error";
}

int session__child_status(const struct lw_session *s)
{
	return s->child_status;
}

void session__set_command(struct lw_session *s, const char *cmdline)
{
	free(s->command);
	s->command = strdup(cmdline);
}

struct lw_det *session_det(const struct lw_session *s, const char *name)
{
	for (size_t i = 0; i < s->nr_dets; i++)
		if (!strcmp(s->dets[i].ops->name, name))
			return s->dets[i].d;
	return NULL;
}

/* ---- what detectors may ask of the session (struct lw_det_io) ---- */

static const struct lw_mapping *io_mapping(void *ctx, uint32_t tgid, uint64_t ip)
{
	return symbolizer__find(((struct lw_session *)ctx)->sym, tgid, ip);
}

static int io_mount_shared(void *ctx, uint32_t tgid, const char *target)
{
	(void)ctx;
	return procfs__mount_shared(tgid, target);
}

/* mount-leftover: is that mount still there (our own namespace's view)? */
static bool io_still_mounted(void *ctx, uint32_t mnt_ns, const char *target)
{
	(void)ctx;
	/* another namespace: gone with it, or not ours to see */
	if (mnt_ns != procfs__mnt_ns(0))
		return false;
	return procfs__mount_shared(getpid(), target) >= 0;
}

static uint32_t io_mnt_ns(void *ctx, uint32_t pid)
{
	(void)ctx;
	return procfs__mnt_ns(pid);
}

static int io_proc_fds(void *ctx, uint32_t pid, struct lw_proc_fd **out)
{
	(void)ctx;
	return procfs__fds(pid, out);
}

static int io_proc_maps(void *ctx, uint32_t pid, struct lw_reach_map **out)
{
	struct lw_reach_map *v = NULL;
	size_t n = 0, cap = 0;
	char path[64], line[4352];
	FILE *f;

	(void)ctx;
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (lw_vec_grow((void **)&v, &cap, n + 1, sizeof(*v))) {
			fclose(f);
			free(v);
			return -ENOMEM;
		}
		if (!reach__parse_map(line, &v[n]))
			n++;
	}
	fclose(f);
	*out = v;
	return (int)n;
}

static int io_open_fds(void *ctx, uint32_t tgid)
{
	return det_fd__open_count(session_det(ctx, "fd"), tgid);
}

static int io_touch(void *ctx, uint32_t tgid, int fd, struct lw_touch *out)
{
	return lw_loader__touch(((struct lw_session *)ctx)->ld, tgid, fd, out);
}

static int io_read_mem(void *ctx, lw_mem_stack_fn on_stack, lw_mem_block_fn on_block, void *cbctx)
{
	return lw_loader__read_mem(((struct lw_session *)ctx)->ld, on_stack, on_block, cbctx);
}

static int io_read_mem_totals(void *ctx, lw_mem_total_fn cb, void *cbctx)
{
	return lw_loader__read_mem_totals(((struct lw_session *)ctx)->ld, cb, cbctx);
}

static int io_attach_uprobe(void *ctx, const char *prog, const char *path, uint64_t offset,
			    bool ret, uint32_t how, char *err, size_t errlen)
{
	return lw_loader__attach_uprobe(((struct lw_session *)ctx)->ld, prog, path, offset, ret,
					how, err, errlen);
}

static int io_attach_pair(void *ctx, const char *prog, const char *path, uint64_t offset,
			  uint64_t cookie, char *err, size_t errlen)
{
	return lw_loader__attach_pair(((struct lw_session *)ctx)->ld, prog, path, offset, cookie,
				      err, errlen);
}

/* ---- set-up ---- */

/* The enabled detectors, in table order. A bad pair rule is a usage error
 * (-EINVAL) with the parser's line.
 */
static int open_detectors(struct lw_session *s)
{
	struct lw_det_env env = {
	    .opts = s->opts, .io = &s->io, .err = s->errmsg, .errlen = sizeof(s->errmsg)};
	uint32_t mask = lw_detectors__enabled(s->opts);
	int err;

	s->io = (struct lw_det_io){
	    .ctx = s,
	    .procs = &s->procs,
	    .mapping = io_mapping,
	    .mount_shared = io_mount_shared,
	    .still_mounted = io_still_mounted,
	    .mnt_ns = io_mnt_ns,
	    .proc_fds = io_proc_fds,
	    .proc_maps = io_proc_maps,
	    .open_fds = io_open_fds,
	    .touch = io_touch,
	    .read_mem = io_read_mem,
	    .read_mem_totals = io_read_mem_totals,
	    .attach_uprobe = io_attach_uprobe,
	    .attach_pair = io_attach_pair,
	};
	for (unsigned i = 0; lw_detectors[i] && s->nr_dets < LW_DETS_MAX; i++) {
		struct lw_det_slot *slot = &s->dets[s->nr_dets];

		if (!(mask & (1u << i)))
			continue;
		slot->ops = lw_detectors[i];
		s->nr_dets++;
		err = slot->ops->open(&slot->d, &env);
		if (err)
			return err == -ENOMEM ? set_error(s, err, "out of memory") : err;
	}
	return 0;
}

int session__new(struct lw_session **out, const struct lw_opts *opts)
{
	struct lw_load_opts lo = {
	    .follow_children = !opts->no_follow,
	    .verbose = opts->verbose,
	    .ringbuf_bytes = LW_RINGBUF_BYTES,
	    .fd = lw_detectors__enabled(opts) & 1u << lw_detector__bit(&det_fd_ops),
	    .mem = lw_detectors__enabled(opts) & 1u << lw_detector__bit(&det_mem_ops),
	    .mem_sample_every = opts->sample_every,
	    .mem_min_size = opts->min_size,
	    .mem_max_size = opts->max_size,
	    .mem_max_blocks = opts->max_blocks,
	    .mem_no_stacks = opts->no_stacks,
	    .pair = lw_detectors__enabled(opts) & 1u << lw_detector__bit(&det_pair_ops),
	    .last_touch = opts->last_touch,
	    .no_mount = !(lw_detectors__enabled(opts) & 1u << lw_detector__bit(&det_mount_ops)),
	};
	struct lw_session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->sigfd = -1;
	*out = s;
	s->opts = opts;
	s->child_status = -1;
	s->start_ns = mono_ns();
	if (opts->suppressions) {
		s->supp = suppress__load(opts->suppressions, s->errmsg, sizeof(s->errmsg));
		if (!s->supp)
			return -EINVAL;
	}
	err = open_detectors(s);
	if (err)
		return err;
	if (!opts->no_default_suppressions) {
		s->builtin =
		    suppress__parse("built-in", builtin_suppressions, s->errmsg, sizeof(s->errmsg));
		if (!s->builtin)
			return -EINVAL;
	}
	err = lw_preflight(s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->sym = symbolizer__new();
	s->cfi = cfi_cache__new();
	s->trend = trend__new();
	s->miss_retries = hmap__new();
	s->rules_set = hmap__new();
	if (!s->sym || !s->cfi || !s->trend || !s->miss_retries || !s->rules_set)
		return set_error(s, -ENOMEM, "out of memory");
	symbolizer__set_verbose(s->sym, opts->verbose);
	err = lw_loader__open(&s->ld, &lo, s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->phase.loaded = mono_ns();
	session__phase_line(s, "BPF open+load (verify)", s->start_ns, s->phase.loaded, NULL);
	s->rb = ring_reader__new(lw_loader__ringbuf_fd(s->ld), on_event, s);
	if (!s->rb)
		return set_error(s, -errno, "cannot open the BPF ring buffer: %s", strerror(errno));
	return 0;
}

void session__detach(struct lw_session *s)
{
	uint64_t t0 = mono_ns();

	lw_loader__detach(s->ld);
	/* once: the report detaches, the end of the session only frees */
	if (s->phase.attach && !s->phase.detached) {
		s->phase.detached = mono_ns();
		session__phase_line(s, "detach", t0, s->phase.detached, " (probes removed)");
	}
}

void session__free(struct lw_session *s)
{
	if (!s)
		return;
	session__release_stops(s);
	if (s->sigfd >= 0)
		close(s->sigfd);
	ring_reader__free(s->rb);
	session__detach(s);
	lw_loader__free(s->ld);
	if (s->phase.attach)
		session__phase_line(s, "total", s->start_ns, mono_ns(), NULL);
	for (size_t i = 0; i < s->nr_dets; i++)
		s->dets[i].ops->free(s->dets[i].d);
	symbolizer__free(s->sym);
	cfi_cache__free(s->cfi);
	suppress__free(s->supp);
	suppress__free(s->builtin);
	trend__free(s->trend);
	hmap__free(s->miss_retries);
	hmap__free(s->rules_set);
	lw_procs__free(&s->procs);
	free(s->rules.v);
	free(s->command);
	free(s);
}

int session__add_target(struct lw_session *s, pid_t pid, bool root)
{
	struct lw_proc *p;
	int ppid, err = lw_loader__add_target(s->ld, pid, root ? LW_TGT_ROOT : 0);

	if (err)
		return set_error(s, err, "cannot add pid %d to the target map: %s", pid,
				 strerror(-err));
	if (root)
		s->root = pid;
	p = lw_procs__get(&s->procs, pid);
	if (!p)
		return 0;
	ppid = procfs__ppid(pid);
	p->ppid = ppid > 0 ? ppid : 0;
	p->root = root;
	procfs__comm(pid, p->comm, sizeof(p->comm));
	for (size_t i = 0; i < s->nr_dets; i++)
		if (s->dets[i].ops->on_target)
			s->dets[i].ops->on_target(s->dets[i].d, p);
	session_watch(s, pid);
	return 0;
}

int session__attach(struct lw_session *s)
{
	int err;

	s->phase.attach = mono_ns();
	err = lw_loader__attach(s->ld, s->errmsg, sizeof(s->errmsg));
	s->phase.tracepoints = mono_ns();
	return err;
}

void session_watch(struct lw_session *s, uint32_t tgid)
{
	char err[256] = "";

	if (!s->probes_ready || !lw_loader__watch(s->ld, tgid, err, sizeof(err)))
		return;
	s->watch_failed++;
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: %s\n", err);
}

int session__attach_detectors(struct lw_session *s, pid_t pid, char **argv)
{
	char extra[96];
	int err;

	for (size_t i = 0; i < s->nr_dets; i++) {
		const struct lw_detector_ops *ops = s->dets[i].ops;

		err = ops->attach ? ops->attach(s->dets[i].d, pid, argv) : 0;
		if (err)
			return err;
	}
	/* the first target's probes go in now, or the session fails */
	err = lw_loader__watch(s->ld, pid, s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->probes_ready = true;
	for (size_t i = 0; i < s->procs.n; i++)
		if (!s->procs.v[i].exited)
			session_watch(s, s->procs.v[i].pid);
	s->phase.attached = mono_ns();
	snprintf(extra, sizeof(extra), " (tracepoints %.3f s, detectors' probes %.3f s)",
		 (double)(s->phase.tracepoints - s->phase.attach) / 1e9,
		 (double)(s->phase.attached - s->phase.tracepoints) / 1e9);
	session__phase_line(s, "attach", s->phase.attach, s->phase.attached, extra);
	return 0;
}

int session__seed(struct lw_session *s, pid_t pid)
{
	for (size_t i = 0; i < s->nr_dets; i++) {
		const struct lw_detector_ops *ops = s->dets[i].ops;
		int err = ops->seed ? ops->seed(s->dets[i].d, pid) : 0;

		if (err)
			return err;
	}
	return 0;
}

void session__snapshot_maps(struct lw_session *s, pid_t pid)
{
	symbolizer__snapshot_maps(s->sym, pid);
}
