/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The files a live process maps, reached as that process sees them. A
 * process in another mount namespace (a container, or one bind mount over
 * one library) sees other files at the same paths: its own root,
 * /proc/PID/root, leads to them, and a uprobe attached through that path
 * goes on its inode because the kernel resolves the path at attach time.
 * What is reached is checked against the device and inode /proc/PID/maps
 * names; /proc/PID/map_files/START-END is the fallback (a file deleted or
 * over-mounted after it was mapped). Pure user space: /proc only.
 */
#ifndef LW_PROC_FILE_H
#define LW_PROC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One file mapping as /proc/PID/maps names it. */
struct lw_map_ident {
	uint64_t start, end;
	uint32_t major, minor; /* "fd:01" */
	uint64_t ino;
};

/* Parse "start-end perms offset maj:min inode   path": 0 with *path_pos the
 * index where the path starts (at the terminating NUL when there is none),
 * or -EINVAL.
 */
int proc_file__parse_maps(const char *line, struct lw_map_ident *m, size_t *path_pos);

/* Is a file stat'ed as (dev, ino) on a file system of type fs_magic
 * (statfs f_type) the mapped one? Kernels before 6.8 name an overlayfs
 * file's real (upper or lower layer) inode in maps while stat answers with
 * overlayfs's own st_dev; the inode number is the same when all layers
 * share one file system, so overlayfs matches on the inode alone.
 */
bool proc_file__same(const struct lw_map_ident *m, dev_t dev, ino_t ino, long fs_magic);

/* Where pid's files are reached: "" when it shares our mount namespace and
 * root, else "/proc/PID/root" (also when pid is gone: "" then).
 */
void proc_file__root(pid_t pid, char *buf, size_t len);

/* For reading a file a process names path (symbols, CFI; no inode to check
 * against): path itself when root is "", when root + path is the same file
 * as ours (most namespaces share their libraries, and our path outlives the
 * process) or cannot be reached (the process is gone); else root + path,
 * in buf.
 */
const char *proc_file__own(const char *root, const char *path, char *buf, size_t len);

/* The path to open and attach to for mapping m of pid, whose own path (as
 * pid sees it) is own_path: root + own_path when that is the mapped inode,
 * else /proc/PID/map_files/START-END when that is. 0 with out filled, or
 * -ESTALE / -errno with one line in err: "pid N: cannot reach PATH as it
 * maps it (dev M:m inode I): its root: another file (dev M:m inode J);
 * map_files: Operation not permitted" ("the path" when root is "").
 */
int proc_file__reach(pid_t pid, const char *root, const char *own_path,
		     const struct lw_map_ident *m, char *out, size_t outlen, char *err,
		     size_t errlen);

#endif
