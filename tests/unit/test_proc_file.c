// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* proc_file: maps lines, the inode check, and reaching this process's own
 * files (the path, then /proc/self/map_files when the path is wrong).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "harness.h"
#include "stack/proc_file.h"

#define OVL 0x794c7630L

LW_TEST(pf_parse_maps_line)
{
	const char *l = "7f1c2a400000-7f1c2a428000 r--p 00000000 fe:01 10952808"
			"                   /usr/lib/x86_64-linux-gnu/libc.so.6";
	struct lw_map_ident m;
	size_t pos;

	ASSERT_EQ(proc_file__parse_maps(l, &m, &pos), 0, "parsed");
	ASSERT_EQ(m.start, 0x7f1c2a400000ull, "start");
	ASSERT_EQ(m.end, 0x7f1c2a428000ull, "end");
	ASSERT_EQ(m.major, 0xfe, "major");
	ASSERT_EQ(m.minor, 1, "minor");
	ASSERT_EQ(m.ino, 10952808, "inode");
	ASSERT_STREQ(l + pos, "/usr/lib/x86_64-linux-gnu/libc.so.6", "path");
	ASSERT_EQ(proc_file__parse_maps("7ffd1000-7ffd3000 rw-p 00000000 00:00 0 ", &m, &pos), 0,
		  "anonymous");
	ASSERT_STREQ("7ffd1000-7ffd3000 rw-p 00000000 00:00 0 " + pos, "", "no path");
	ASSERT_EQ(proc_file__parse_maps("garbage", &m, &pos), -EINVAL, "garbage");
	ASSERT_EQ(proc_file__parse_maps("1000-2000 r--p 0 fe:01", &m, &pos), -EINVAL, "short");
}

LW_TEST(pf_same_inode)
{
	struct lw_map_ident m = {.major = 0xfe, .minor = 1, .ino = 42};

	ASSERT_TRUE(proc_file__same(&m, makedev(0xfe, 1), 42, 0xef53), "same dev and inode");
	ASSERT_TRUE(!proc_file__same(&m, makedev(0xfe, 1), 43, 0xef53), "another inode");
	ASSERT_TRUE(!proc_file__same(&m, makedev(0xfe, 2), 42, 0xef53), "another device");
	/* a copy bind-mounted from tmpfs: another device, maybe the same number */
	ASSERT_TRUE(!proc_file__same(&m, makedev(0, 0x27), 42, 0x01021994), "tmpfs copy");
	/* older kernels: maps names the layer's inode, stat overlayfs's device */
	ASSERT_TRUE(proc_file__same(&m, makedev(0, 0x31), 42, OVL), "overlayfs layer inode");
	ASSERT_TRUE(!proc_file__same(&m, makedev(0, 0x31), 7, OVL), "overlayfs other inode");
	m = (struct lw_map_ident){.major = 0x103, .minor = 0x1ff, .ino = 9};
	ASSERT_TRUE(proc_file__same(&m, makedev(0x103, 0x1ff), 9, 0xef53), "large numbers");
}

LW_TEST(pf_root_of_self_is_empty)
{
	char root[32] = "x";

	proc_file__root(getpid(), root, sizeof(root));
	ASSERT_STREQ(root, "", "own namespace and root");
	proc_file__root(0x3ffffff0, root, sizeof(root));
	ASSERT_STREQ(root, "", "no such process");
}

/* The first mapping of an executable file of this process, and its path. */
static int first_file_mapping(struct lw_map_ident *m, char *path)
{
	char line[PATH_MAX + 128];
	FILE *f = fopen("/proc/self/maps", "re");
	int ret = -1;

	while (f && ret && fgets(line, sizeof(line), f)) {
		size_t pos;

		line[strcspn(line, "\n")] = 0;
		if (proc_file__parse_maps(line, m, &pos) || line[pos] != '/' || !m->ino)
			continue;
		snprintf(path, PATH_MAX, "%s", line + pos);
		ret = 0;
	}
	if (f)
		fclose(f);
	return ret;
}

LW_TEST(pf_reach_own_file)
{
	char path[PATH_MAX], out[PATH_MAX + 64], err[512] = "";
	struct lw_map_ident m;

	ASSERT_EQ(first_file_mapping(&m, path), 0, "a file mapping");
	ASSERT_EQ(proc_file__reach(getpid(), "", path, &m, out, sizeof(out), err, sizeof(err)), 0,
		  "reached");
	ASSERT_STREQ(out, path, "through its own path");
}

LW_TEST(pf_reach_wrong_inode_is_an_error)
{
	char path[PATH_MAX], out[PATH_MAX + 64], err[512] = "", want[PATH_MAX + 128];
	struct lw_map_ident m;

	ASSERT_EQ(first_file_mapping(&m, path), 0, "a file mapping");
	m.ino ^= 0x5a5a5a; /* maps says another file than the path names */
	ASSERT_EQ(proc_file__reach(getpid(), "", path, &m, out, sizeof(out), err, sizeof(err)),
		  -ESTALE, "stale");
	snprintf(want, sizeof(want),
		 "pid %d: cannot reach %s as it maps it (dev %x:%x inode %llu): ", (int)getpid(),
		 path, m.major, m.minor, (unsigned long long)m.ino);
	ASSERT_CONTAINS(err, want, "names the mapped inode");
	ASSERT_CONTAINS(err, "the path: another file (dev ", "what the path is");
	ASSERT_CONTAINS(err, "; map_files: ", "what map_files is");
}

LW_TEST(pf_reach_gone_path_through_map_files)
{
	char path[PATH_MAX], out[PATH_MAX + 64], err[512] = "", want[128];
	struct lw_map_ident m;
	int ret;

	ASSERT_EQ(first_file_mapping(&m, path), 0, "a file mapping");
	/* the mapped file was deleted (or over-mounted): only map_files has it */
	ret = proc_file__reach(getpid(), "", "/nonexistent/lib.so", &m, out, sizeof(out), err,
			       sizeof(err));
	if (geteuid() == 0) { /* map_files wants CAP_SYS_ADMIN */
		snprintf(want, sizeof(want), "/proc/%d/map_files/%llx-%llx", (int)getpid(),
			 (unsigned long long)m.start, (unsigned long long)m.end);
		ASSERT_EQ(ret, 0, "reached");
		ASSERT_STREQ(out, want, "through map_files");
	} else {
		ASSERT_EQ(ret, -ENOENT, "unreachable");
		ASSERT_CONTAINS(err, "the path: No such file or directory; map_files: ", "why");
	}
}

LW_TEST(pf_own_file_prefers_our_path_for_the_same_file)
{
	char buf[PATH_MAX + 64], root[64];

	ASSERT_STREQ(proc_file__own("", "/bin/sh", buf, sizeof(buf)), "/bin/sh", "no root");
	/* our own root: the same file, so the path that outlives the process */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)getpid());
	ASSERT_STREQ(proc_file__own(root, "/bin/sh", buf, sizeof(buf)), "/bin/sh", "same file");
	ASSERT_STREQ(proc_file__own("/proc/0x3ffffff0/root", "/bin/sh", buf, sizeof(buf)),
		     "/bin/sh", "process gone");
	/* another file there: through the root */
	char dir[] = "/tmp/lw_pf_XXXXXX", file[PATH_MAX], want[PATH_MAX + 64];
	FILE *f;

	ASSERT_TRUE(mkdtemp(dir), "mkdtemp");
	snprintf(file, sizeof(file), "%s/etc", dir);
	mkdir(file, 0755);
	snprintf(file, sizeof(file), "%s/etc/passwd", dir);
	if ((f = fopen(file, "w")))
		fclose(f);
	snprintf(want, sizeof(want), "%s/etc/passwd", dir);
	ASSERT_STREQ(proc_file__own(dir, "/etc/passwd", buf, sizeof(buf)), want, "another file");
	unlink(file);
	snprintf(file, sizeof(file), "%s/etc", dir);
	rmdir(file);
	rmdir(dir);
}
