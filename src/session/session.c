// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "session/session_internal.h"

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
					   /* stdio buffers: reachable through FILE until exit */
					   "mem-leak:_IO_file_doallocate\n";

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
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

struct lw_proc_info *proc_get(struct lw_session *s, uint32_t pid)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid && !s->procs[i].exited)
			return &s->procs[i];
	if (s->nr_procs == s->cap_procs) {
		size_t cap = s->cap_procs ? s->cap_procs * 2 : 16;
		struct lw_proc_info *v = realloc(s->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->procs = v;
		s->cap_procs = cap;
	}
	memset(&s->procs[s->nr_procs], 0, sizeof(s->procs[0]));
	s->procs[s->nr_procs].pid = pid;
	return &s->procs[s->nr_procs++];
}

/* ---- set-up ---- */

/* --pair, --pair-file, --pair-profile into one rule table; a bad rule is a
 * usage error (-EINVAL) with the parser's line.
 */
static int load_pairs(struct lw_session *s, const struct lw_opts *o)
{
	char buf[128], *save = NULL, *name;
	int err = 0;

	for (unsigned i = 0; i < o->nr_pairs && !err; i++)
		err = pair_spec__parse_compact(&s->spec, o->pairs[i], s->errmsg, sizeof(s->errmsg));
	if (!err && o->pair_file)
		err = pair_spec__parse_file(&s->spec, o->pair_file, s->errmsg, sizeof(s->errmsg));
	s->first_profile_rule = s->spec.n;
	if (!err && o->pair_profiles) {
		snprintf(buf, sizeof(buf), "%s", o->pair_profiles);
		for (name = strtok_r(buf, ",", &save); name && !err;
		     name = strtok_r(NULL, ",", &save)) {
			const char *text = pair_spec__profile(name);

			if (!text) {
				snprintf(s->errmsg, sizeof(s->errmsg),
					 "unknown --pair-profile '%s' (see leakwatch --help)",
					 name);
				return -EINVAL;
			}
			err = pair_spec__parse_text(&s->spec, name, text, s->errmsg,
						    sizeof(s->errmsg));
		}
	}
	if (!err && s->spec.n)
		err = pair_spec__validate(&s->spec, s->errmsg, sizeof(s->errmsg));
	return err ? -EINVAL : 0;
}

int session__new(struct lw_session **out, const struct lw_opts *opts)
{
	struct lw_load_opts lo = {
	    .follow_children = !opts->no_follow,
	    .verbose = opts->verbose,
	    .ringbuf_bytes = LW_RINGBUF_BYTES,
	    .fd = opts->det_fd,
	    .mem = opts->det_mem,
	    .mem_sample_every = opts->sample_every,
	    .mem_min_size = opts->min_size,
	    .mem_max_size = opts->max_size,
	    .mem_no_stacks = opts->no_stacks,
	    .pair = opts->nr_pairs || opts->pair_file || opts->pair_profiles,
	    .last_touch = opts->last_touch,
	};
	struct corr_mem_opts mo = {
	    .attach_mode = opts->mode == LW_MODE_ATTACH,
	    .min_age_ns = opts->min_age_ns,
	    .sample_every = opts->sample_every,
	};
	struct corr_fd_opts co = {
	    .attach_mode = opts->mode == LW_MODE_ATTACH,
	    .min_age_ns = opts->min_age_ns,
	    .allow_inherit = opts->allow_inherit,
	    .nr_allow_inherit = opts->nr_allow_inherit,
	};
	struct lw_session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	*out = s;
	s->opts = opts;
	s->child_status = -1;
	s->start_ns = mono_ns();
	if (opts->suppressions) {
		s->supp = suppress__load(opts->suppressions, s->errmsg, sizeof(s->errmsg));
		if (!s->supp)
			return -EINVAL;
	}
	err = load_pairs(s, opts);
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
	s->corr = corr_fd__new(&co);
	s->sym = symbolizer__new();
	s->cfi = cfi_cache__new();
	s->trend = trend__new();
	s->exec_gens = hmap__new();
	s->miss_retries = hmap__new();
	s->new_ns = hmap__new();
	s->touches = hmap__new();
	if (opts->det_mem)
		s->mem = corr_mem__new(&mo);
	{
		struct corr_mount_opts mno = {.attach_mode = opts->mode == LW_MODE_ATTACH};

		s->mnt = corr_mount__new(&mno);
		s->storm = corr_storm__new(NULL);
		if (!s->mnt || !s->storm)
			return set_error(s, -ENOMEM, "out of memory");
	}
	if (s->spec.n) {
		struct corr_pair_opts po = {
		    .attach_mode = opts->mode == LW_MODE_ATTACH,
		    .min_age_ns = opts->min_age_ns,
		    .spec = &s->spec,
		};

		s->pair = corr_pair__new(&po);
		if (!s->pair)
			return set_error(s, -ENOMEM, "out of memory");
	}
	if (!s->corr || !s->sym || !s->cfi || !s->trend || !s->exec_gens || !s->miss_retries ||
	    !s->new_ns || !s->touches || (opts->det_mem && !s->mem))
		return set_error(s, -ENOMEM, "out of memory");
	err = lw_loader__open(&s->ld, &lo, s->errmsg, sizeof(s->errmsg));
	if (err)
		return err;
	s->rb = ring_buffer__new(lw_loader__ringbuf_fd(s->ld), on_event, s, NULL);
	if (!s->rb)
		return set_error(s, -errno, "cannot open the BPF ring buffer: %s", strerror(errno));
	return 0;
}

void session__free(struct lw_session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	lw_loader__detach(s->ld);
	lw_loader__free(s->ld);
	corr_fd__free(s->corr);
	corr_mem__free(s->mem);
	corr_pair__free(s->pair);
	corr_mount__free(s->mnt);
	corr_storm__free(s->storm);
	pair_spec__free(&s->spec);
	symbolizer__free(s->sym);
	cfi_cache__free(s->cfi);
	suppress__free(s->supp);
	suppress__free(s->builtin);
	trend__free(s->trend);
	hmap__free(s->exec_gens);
	hmap__free(s->miss_retries);
	hmap__free(s->new_ns);
	hmap__free_ptrs(s->touches);
	free(s->procs);
	free(s->rules.v);
	free(s->command);
	free(s);
}

int session__add_target(struct lw_session *s, pid_t pid, bool root)
{
	struct lw_proc_info *pi;
	int err = lw_loader__add_target(s->ld, pid, root ? LW_TGT_ROOT : 0);

	if (err)
		return set_error(s, err, "cannot add pid %d to the target map: %s", pid,
				 strerror(-err));
	if (root) {
		uint32_t ns = procfs__mnt_ns(pid);

		s->root = pid;
		/* the namespace the root starts in: a new one made later is
		 * told apart from it (mount-propagation-leak)
		 */
		if (ns)
			corr_mount__set_ns(s->mnt, pid, ns);
	}
	pi = proc_get(s, pid);
	if (pi) {
		int ppid = procfs__ppid(pid);

		pi->ppid = ppid > 0 ? ppid : 0;
		procfs__comm(pid, pi->comm, sizeof(pi->comm));
	}
	return 0;
}

int session__attach(struct lw_session *s)
{
	return lw_loader__attach(s->ld, s->errmsg, sizeof(s->errmsg));
}

static const struct mem_probe {
	enum lw_alloc_fn fn;
	const char *prog;
	unsigned args; /* registers the entry program reads */
	bool ret;      /* needs the return value */
} mem_probes[] = {
    {LW_FN_MALLOC, "mem_malloc", LW_ARG_RDI, true},
    {LW_FN_CALLOC, "mem_calloc", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_REALLOC, "mem_realloc", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_REALLOCARRAY, "mem_reallocarray", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX, true},
    {LW_FN_FREE, "mem_free", LW_ARG_RDI, false},
    {LW_FN_POSIX_MEMALIGN, "mem_posix_memalign", LW_ARG_RDI | LW_ARG_RSI | LW_ARG_RDX, true},
    {LW_FN_ALIGNED_ALLOC, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_MEMALIGN, "mem_memalign", LW_ARG_RDI | LW_ARG_RSI, true},
    {LW_FN_VALLOC, "mem_valloc", LW_ARG_RDI, true},
    {LW_FN_PVALLOC, "mem_valloc", LW_ARG_RDI, true},
};

int session__attach_mem(struct lw_session *s, pid_t pid, char **argv)
{
	extern char **environ;
	struct lw_alloc_target t;
	char err[256] = "";
	int e;

	if (!s->mem)
		return 0;
	e = argv ? alloc_resolve__command(argv[0], environ, &t, err, sizeof(err))
		 : alloc_resolve__pid(pid, &t, err, sizeof(err));
	if (e)
		return set_error(s, e, "mem: %s", err);
	if (!t.found[LW_FN_MALLOC] || !t.found[LW_FN_FREE])
		return set_error(s, -ENOENT, "mem: %s: no malloc/free found", t.shown);
	if (s->opts->verbose)
		fprintf(stderr, "leakwatch: mem: allocator %s (%s)\n", t.shown, t.why);
	for (size_t i = 0; i < sizeof(mem_probes) / sizeof(mem_probes[0]); i++) {
		const struct mem_probe *mp = &mem_probes[i];
		struct probe_place pp = {.offset = t.offset[mp->fn]};
		bool dup = false;

		if (!t.found[mp->fn])
			continue;
		/* aliases (one function under two names) get one probe */
		for (size_t j = 0; j < i; j++)
			dup |= t.found[mem_probes[j].fn] &&
			       t.offset[mem_probes[j].fn] == t.offset[mp->fn];
		if (dup)
			continue;
		/* where the entry instruction would be single-stepped, probe the
		 * first equivalent instruction the kernel emulates
		 */
		if (s->opts->probe_at_entry ||
		    probe_place__find(t.path, t.offset[mp->fn], mp->args, &pp))
			pp.offset = t.offset[mp->fn];
		if (s->opts->verbose)
			fprintf(stderr, "leakwatch: mem: %s at +0x%llx: %s\n",
				alloc_fn_name(mp->fn), (unsigned long long)pp.offset, pp.why);
		e = lw_loader__attach_uprobe(s->ld, mp->prog, t.path, pp.offset, false, err,
					     sizeof(err));
		/* a uretprobe hijacks the return address: only at the entry */
		if (!e && mp->ret)
			e = lw_loader__attach_uprobe(s->ld, "mem_ret", t.path, t.offset[mp->fn],
						     true, err, sizeof(err));
		if (e)
			return set_error(s, e, "mem: %s", err);
	}
	return 0;
}

int session__attach_pairs(struct lw_session *s, pid_t pid, char **argv)
{
	extern char **environ;
	unsigned attached = 0;
	char err[512];

	for (size_t i = 0; i < s->spec.n; i++) {
		const struct lw_pair_rule *r = &s->spec.v[i];
		struct lw_sym_target t;
		uint64_t cookie = LW_PAIR_COOKIE(i, r->how, r->argn);
		int e;

		e = argv ? sym_resolve__command(argv[0], environ, r->func, r->module, &t, err,
						sizeof(err))
			 : sym_resolve__pid(pid, r->func, r->module, &t, err, sizeof(err));
		if (e) {
			/* a profile names libraries the target may not use */
			if (i >= s->first_profile_rule) {
				if (s->opts->verbose)
					fprintf(stderr, "leakwatch: pair: skipped: %s\n", err);
				continue;
			}
			return set_error(s, e, "pair %s: %s", r->resource, err);
		}
		if (s->opts->verbose)
			fprintf(stderr, "leakwatch: pair: %s %s at %s+0x%llx\n", r->resource,
				r->func, t.shown, (unsigned long long)t.offset);
		e = lw_loader__attach_pair(s->ld, "pair_entry", t.path, t.offset, cookie, err,
					   sizeof(err));
		if (!e && r->how != LW_PAIR_H_ARG)
			e = lw_loader__attach_pair(s->ld, "pair_ret", t.path, t.offset, cookie, err,
						   sizeof(err));
		if (e)
			return set_error(s, e, "pair %s: %s", r->resource, err);
		attached++;
	}
	if (s->spec.n && !attached)
		return set_error(s, -ENOENT,
				 "pair: none of the profile's functions is in the target");
	return 0;
}

int session__seed_fds(struct lw_session *s, pid_t pid)
{
	struct lw_proc_fd *fds;
	int n = procfs__fds(pid, &fds);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		corr_fd__seed(s->corr, pid, fds[i].fd, fds[i].target, fds[i].cloexec);
	free(fds);
	return 0;
}

void session__snapshot_maps(struct lw_session *s, pid_t pid)
{
	symbolizer__snapshot_maps(s->sym, pid);
}
