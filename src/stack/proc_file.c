// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reaching a process's own files (see proc_file.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include "base/procfs.h"
#include "stack/proc_file.h"

#define LW_OVERLAYFS_MAGIC 0x794c7630 /* OVERLAYFS_SUPER_MAGIC, linux/magic.h */

int proc_file__parse_maps(const char *line, struct lw_map_ident *m, size_t *path_pos)
{
	unsigned long long start, end, ino;
	unsigned major, minor;
	int pos = 0;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%llx-%llx %*s %*x %x:%x %llu %n", &start, &end, &major, &minor, &ino,
		   &pos) < 5 ||
	    !pos)
		return -EINVAL;
	*m = (struct lw_map_ident){
	    .start = start, .end = end, .major = major, .minor = minor, .ino = ino};
	*path_pos = (size_t)pos;
	return 0;
}

bool proc_file__same(const struct lw_map_ident *m, dev_t dev, ino_t ino, long fs_magic)
{
	if ((uint64_t)ino != m->ino)
		return false;
	return fs_magic == LW_OVERLAYFS_MAGIC || (major(dev) == m->major && minor(dev) == m->minor);
}

void proc_file__root(pid_t pid, char *buf, size_t len)
{
	uint32_t ns = procfs__mnt_ns(pid), own = procfs__mnt_ns(0);
	char p[48];
	struct stat st, rst;

	snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
	buf[0] = 0;
	if (stat(p, &st))
		return; /* gone, or not ours to see: nothing better than our own view */
	/* another mount namespace (even one that only over-mounts a library),
	 * or a chroot in ours
	 */
	if ((ns && own && ns != own) || stat("/", &rst) || st.st_dev != rst.st_dev ||
	    st.st_ino != rst.st_ino)
		snprintf(buf, len, "%s", p);
}

const char *proc_file__own(const char *root, const char *path, char *buf, size_t len)
{
	struct stat a, b;

	if (!root[0])
		return path;
	snprintf(buf, len, "%s%s", root, path);
	if (stat(buf, &a) || (!stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return path;
	return buf;
}

/* 0 when path is the mapped file, 1 when it is another one (what it is in
 * what[]), -errno when it cannot be stat'ed.
 */
static int check(const char *path, const struct lw_map_ident *m, char *what, size_t len)
{
	struct stat st;
	struct statfs sf;

	if (stat(path, &st) || statfs(path, &sf)) {
		int e = -errno;

		snprintf(what, len, "%s", strerror(-e));
		return e;
	}
	if (proc_file__same(m, st.st_dev, st.st_ino, (long)sf.f_type))
		return 0;
	snprintf(what, len, "another file (dev %x:%x inode %llu)", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	return 1;
}

int proc_file__reach(pid_t pid, const char *root, const char *own_path,
		     const struct lw_map_ident *m, char *out, size_t outlen, char *err,
		     size_t errlen)
{
	char cand[4200], mf[80], w1[128], w2[128];
	int r1, r2;

	snprintf(cand, sizeof(cand), "%s%s", root, own_path);
	if (!(r1 = check(cand, m, w1, sizeof(w1)))) {
		snprintf(out, outlen, "%s", cand);
		return 0;
	}
	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (!(r2 = check(mf, m, w2, sizeof(w2)))) {
		snprintf(out, outlen, "%s", mf);
		return 0;
	}
	snprintf(
	    err, errlen,
	    "pid %d: cannot reach %s as it maps it (dev %x:%x inode %llu): %s: %s; map_files: %s",
	    (int)pid, own_path, m->major, m->minor, (unsigned long long)m->ino,
	    root[0] ? "its root" : "the path", w1, w2);
	return r1 > 0 || r2 > 0 ? -ESTALE : r1;
}
