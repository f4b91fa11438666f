// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Uprobes for the watched processes only. A uprobe attached for every
 * process (pid -1) is written into every address space that maps the
 * allocator, and every other process on the machine pays for each hit even
 * when BPF drops it. A uprobe_multi link with a pid is installed in that
 * process's address space alone, so each watched process gets its own links:
 * one per program and file, with every offset (and cookie) of that program.
 *
 * Removing a link waits out an RCU grace period (~0.1 s); links of processes
 * that ended are closed by a few worker threads in the background, so the
 * waits overlap and nobody waits on them until the session ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "base/hmap.h"
#include "base/vec.h"
#include "session/uprobe_links.h"

/* uapi values (the build host's headers may predate uprobe_multi, 6.6) */
#define LW_BPF_LINK_CREATE	     28
#define LW_BPF_F_UPROBE_MULTI_RETURN 1u
#define LW_CLOSE_WORKERS	     16

/* union bpf_attr, as BPF_LINK_CREATE reads it for uprobe_multi */
struct link_create_umulti {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, umulti_flags, pid, __pad;
};

struct spec {
	int prog_fd;
	uint32_t attach_type;
	bool ret;
	char *prog, *path;
	uint64_t offset, cookie;
};

/* the links of one watched process */
struct watched {
	int *fds;
	size_t n;
};

struct uprobe_links {
	struct spec *specs;
	size_t nr_specs, cap_specs;
	struct hmap *watched; /* tgid → struct watched * */
	/* the background closer */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *closing;
	size_t nr_closing, cap_closing;
	bool stop;
	pthread_t workers[LW_CLOSE_WORKERS];
	int nr_workers;
};

int uprobe_links__new(struct uprobe_links **out)
{
	struct uprobe_links *u = calloc(1, sizeof(*u));

	*out = u;
	if (!u || !(u->watched = hmap__new()))
		return -ENOMEM;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	return 0;
}

bool uprobe_links__have_session(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool have = false;
	int id;

	if (libbpf_get_error(btf))
		return false;
	/* the kfunc came with kprobe sessions (6.10), the attach type later */
	id = btf__find_by_name_kind(btf, "bpf_attach_type", BTF_KIND_ENUM);
	if (id > 0 && btf__find_by_name_kind(btf, "bpf_session_is_return", BTF_KIND_FUNC) > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e = btf_enum(t);

		for (int i = 0; i < btf_vlen(t) && !have; i++)
			have = !strcmp(btf__name_by_offset(btf, e[i].name_off),
				       "BPF_TRACE_UPROBE_SESSION");
	}
	btf__free(btf);
	return have;
}

int uprobe_links__add(struct uprobe_links *u, int prog_fd, uint32_t attach_type, const char *prog,
		      const char *path, uint64_t offset, uint64_t cookie, bool ret)
{
	struct spec *s;

	for (size_t i = 0; i < u->nr_specs; i++) {
		s = &u->specs[i];
		if (s->prog_fd == prog_fd && s->ret == ret && s->offset == offset &&
		    !strcmp(s->path, path))
			return 0; /* one probe per place and program */
	}
	if (lw_vec_grow((void **)&u->specs, &u->cap_specs, u->nr_specs + 1, sizeof(*s)))
		return -ENOMEM;
	s = &u->specs[u->nr_specs];
	*s = (struct spec){.prog_fd = prog_fd,
			   .attach_type = attach_type,
			   .ret = ret,
			   .offset = offset,
			   .cookie = cookie};
	s->prog = strdup(prog);
	s->path = strdup(path);
	if (!s->prog || !s->path) {
		free(s->prog);
		free(s->path);
		return -ENOMEM;
	}
	u->nr_specs++;
	return 0;
}

static int link_create(const struct spec *first, const uint64_t *offs, const uint64_t *cookies,
		       uint32_t cnt, uint32_t pid)
{
	struct link_create_umulti a = {
	    .prog_fd = (uint32_t)first->prog_fd,
	    .attach_type = first->attach_type,
	    .path = (uint64_t)(uintptr_t)first->path,
	    .offsets = (uint64_t)(uintptr_t)offs,
	    .cookies = (uint64_t)(uintptr_t)cookies,
	    .cnt = cnt,
	    .umulti_flags = first->ret ? LW_BPF_F_UPROBE_MULTI_RETURN : 0,
	    .pid = pid,
	};
	int fd = (int)syscall(SYS_bpf, LW_BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

static void close_later(struct uprobe_links *u, const int *fds, size_t n);

/* One link per (program, file, entry or return) with all its offsets. */
int uprobe_links__watch(struct uprobe_links *u, uint32_t tgid, char *err, size_t errlen)
{
	struct watched *w;
	uint64_t *offs = NULL, *cookies = NULL;
	bool *done = NULL, added;
	uint64_t *slot;
	int e = 0;

	if (!u->nr_specs || hmap__get(u->watched, tgid))
		return 0;
	w = calloc(1, sizeof(*w));
	w->fds = calloc(u->nr_specs, sizeof(*w->fds));
	offs = calloc(u->nr_specs, sizeof(*offs));
	cookies = calloc(u->nr_specs, sizeof(*cookies));
	done = calloc(u->nr_specs, sizeof(*done));
	if (!w || !w->fds || !offs || !cookies || !done) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < u->nr_specs && !e; i++) {
		const struct spec *s = &u->specs[i];
		uint32_t cnt = 0;
		int fd;

		if (done[i])
			continue;
		for (size_t j = i; j < u->nr_specs; j++) {
			const struct spec *o = &u->specs[j];

			if (done[j] || o->prog_fd != s->prog_fd || o->ret != s->ret ||
			    strcmp(o->path, s->path))
				continue;
			offs[cnt] = o->offset;
			cookies[cnt++] = o->cookie;
			done[j] = true;
		}
		fd = link_create(s, offs, cookies, cnt, tgid);
		if (fd < 0) {
			e = fd;
			/* ESRCH: it ended before we got to it, nothing to watch */
			if (e != -ESRCH)
				snprintf(err, errlen, "cannot attach %s to %s+0x%llx in pid %u: %s",
					 s->prog, s->path, (unsigned long long)s->offset, tgid,
					 strerror(-e));
			break;
		}
		w->fds[w->n++] = fd;
	}
	if (!e) {
		slot = hmap__put(u->watched, tgid, &added);
		if (!slot)
			e = -ENOMEM;
		else
			*slot = (uint64_t)(uintptr_t)w;
	}
out:
	if (e && w) {
		if (w->fds)
			close_later(u, w->fds, w->n);
		free(w->fds);
		free(w);
	}
	free(offs);
	free(cookies);
	free(done);
	return e == -ESRCH ? 0 : e;
}

static void *close_worker(void *arg)
{
	struct uprobe_links *u = arg;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		int fd;

		while (!u->nr_closing && !u->stop)
			pthread_cond_wait(&u->cv, &u->mu);
		if (!u->nr_closing)
			break; /* stopping, and nothing left */
		fd = u->closing[--u->nr_closing];
		pthread_mutex_unlock(&u->mu);
		close(fd);
		pthread_mutex_lock(&u->mu);
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

/* Hand fds to the workers (started at the first use); closed here, one by
 * one, only when neither memory nor a thread can be had.
 */
static void close_later(struct uprobe_links *u, const int *fds, size_t n)
{
	size_t i = 0;

	pthread_mutex_lock(&u->mu);
	while (u->nr_workers < LW_CLOSE_WORKERS && !u->stop &&
	       !pthread_create(&u->workers[u->nr_workers], NULL, close_worker, u))
		u->nr_workers++;
	if (u->nr_workers &&
	    !lw_vec_grow((void **)&u->closing, &u->cap_closing, u->nr_closing + n, sizeof(int))) {
		memcpy(u->closing + u->nr_closing, fds, n * sizeof(int));
		u->nr_closing += n;
		i = n;
		pthread_cond_broadcast(&u->cv);
	}
	pthread_mutex_unlock(&u->mu);
	for (; i < n; i++)
		close(fds[i]);
}

void uprobe_links__unwatch(struct uprobe_links *u, uint32_t tgid)
{
	uint64_t v;
	struct watched *w;

	if (!hmap__del(u->watched, tgid, &v))
		return;
	w = (struct watched *)(uintptr_t)v;
	close_later(u, w->fds, w->n);
	free(w->fds);
	free(w);
}

void uprobe_links__detach(struct uprobe_links *u)
{
	struct hmap_iter it = {0};

	if (!u)
		return;
	while (hmap__next(u->watched, &it)) {
		struct watched *w = (struct watched *)(uintptr_t)*it.val;

		close_later(u, w->fds, w->n);
		free(w->fds);
		free(w);
		hmap__iter_del(u->watched, &it);
	}
	/* every link is gone from the kernel when this returns */
	pthread_mutex_lock(&u->mu);
	u->stop = true;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
	for (int i = 0; i < u->nr_workers; i++)
		pthread_join(u->workers[i], NULL);
	u->nr_workers = 0;
	u->stop = false;
}

void uprobe_links__free(struct uprobe_links *u)
{
	if (!u)
		return;
	uprobe_links__detach(u);
	for (size_t i = 0; i < u->nr_specs; i++) {
		free(u->specs[i].prog);
		free(u->specs[i].path);
	}
	free(u->specs);
	free(u->closing);
	hmap__free(u->watched);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
}
