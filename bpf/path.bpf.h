/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Absolute paths from a struct file, walking dentries up through mount
 * points: bpf_d_path() is not allowed from raw tracepoints or uprobes.
 */
#ifndef LW_PATH_BPF_H
#define LW_PATH_BPF_H

#include "common.bpf.h"

#define LW_MOUNT_WALK_MAX 24

/* d_name pointers, the file's own name first */
struct lw_path_walk {
	__u64 names[LW_PATH_DEPTH];
	__u32 n;
	__u32 __pad;
	struct dentry *d;
	struct mount *mnt;
};

/* One step up: bpf_loop verifies this body once, where an unrolled walk
 * with a data-dependent depth explodes the verifier's state count.
 */
static long lw_walk_step(__u32 i, void *ctx)
{
	struct lw_path_walk *w = ctx;
	struct dentry *d = w->d, *parent;
	struct mount *mnt = w->mnt;

	if (w->n >= LW_PATH_DEPTH)
		return 1;
	if (d == BPF_CORE_READ(mnt, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1; /* the namespace root */
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1;
	w->names[w->n & (LW_PATH_DEPTH - 1)] = (__u64)BPF_CORE_READ(d, d_name.name);
	w->n++;
	w->d = parent;
	return 0;
}

static __always_inline void lw_walk_path(struct lw_path_walk *w, struct file *file)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);

	w->n = 0;
	w->d = BPF_CORE_READ(file, f_path.dentry);
	w->mnt = container_of(vfsmnt, struct mount, mnt);
	bpf_loop(LW_MOUNT_WALK_MAX, lw_walk_step, w, 0);
}

/* Twice the name size, so a bounded write offset plus a bounded length
 * provably stays inside the buffer.
 */
struct lw_pathbuf {
	char s[2 * LW_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_pathbuf);
} pathbuf __weak SEC(".maps");

struct lw_name {
	char s[LW_NAME_MAX];
};

/* Write the absolute path of file (a struct file *) into out, NUL-terminated,
 * cut at LW_NAME_MAX. Global: verified once, not per call site.
 */
struct lw_path_join {
	struct lw_path_walk w;
	struct lw_pathbuf *b;
	__u32 off;
};

/* Append component n-1-i: the walk stored the file's own name first. */
static long lw_join_step(__u32 i, void *ctx)
{
	struct lw_path_join *j = ctx;
	__u32 k = j->w.n - 1 - i;
	long r;

	if (i >= j->w.n || j->off >= LW_NAME_MAX - 2)
		return 1;
	j->b->s[j->off & (LW_NAME_MAX - 1)] = '/';
	j->off++;
	r = bpf_probe_read_kernel_str(&j->b->s[j->off & (LW_NAME_MAX - 1)], LW_NAME_MAX,
				      (void *)j->w.names[k & (LW_PATH_DEPTH - 1)]);
	if (r <= 1)
		return 1;
	j->off += r - 1;
	return 0;
}

__weak __noinline int lw_file_path(struct lw_name *out, __u64 file_addr)
{
	struct lw_path_join j = {};
	__u32 zero = 0, off;

	j.b = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!j.b || !out)
		return 0;
	lw_walk_path(&j.w, (struct file *)file_addr);
	bpf_loop(LW_PATH_DEPTH, lw_join_step, &j, 0);
	off = j.off;
	if (off == 0)
		j.b->s[off++] = '/';
	if (off > LW_NAME_MAX - 1)
		off = LW_NAME_MAX - 1;
	j.b->s[off & (LW_NAME_MAX - 1)] = 0;
	bpf_probe_read_kernel(out->s, LW_NAME_MAX, j.b->s);
	return off;
}

#endif
