// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/procfs.h"

static int fd_cmp(const void *a, const void *b)
{
	return ((const struct lw_proc_fd *)a)->fd - ((const struct lw_proc_fd *)b)->fd;
}

static bool fdinfo_cloexec(pid_t pid, int fd)
{
	char path[64], line[128];
	bool cloexec = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags;

		if (sscanf(line, "flags: %lo", &flags) == 1) {
			cloexec = flags & O_CLOEXEC;
			break;
		}
	}
	fclose(f);
	return cloexec;
}

int procfs__fds(pid_t pid, struct lw_proc_fd **out)
{
	struct lw_proc_fd *v = NULL;
	size_t n = 0, cap = 0;
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char link[80];
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (n == cap) {
			struct lw_proc_fd *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].fd = atoi(de->d_name);
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, v[n].fd);
		len = readlink(link, v[n].target, sizeof(v[n].target) - 1);
		v[n].target[len > 0 ? len : 0] = 0;
		v[n].cloexec = fdinfo_cloexec(pid, v[n].fd);
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), fd_cmp);
	*out = v;
	return (int)n;
}

/* The fields of /proc/PID/stat after "(comm)": comm may hold spaces and
 * parens, so the rest starts after the last ')'.
 */
static int stat_tail(pid_t pid, char *buf, size_t len, char **tail)
{
	char path[64], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	*tail = p + 1;
	return 0;
}

int procfs__ppid(pid_t pid)
{
	char buf[512], *p;
	int ppid, e = stat_tail(pid, buf, sizeof(buf), &p);

	if (e)
		return e;
	if (sscanf(p, " %*c %d", &ppid) != 1)
		return -EIO;
	return ppid;
}

#define LW_PF_KTHREAD 0x00200000u /* include/linux/sched.h */

int procfs__is_kthread(pid_t pid)
{
	char buf[512], *p;
	unsigned flags;
	int e = stat_tail(pid, buf, sizeof(buf), &p);

	if (e)
		return e;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(p, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return -EIO;
	return !!(flags & LW_PF_KTHREAD);
}

bool procfs__is_ancestor(pid_t pid, pid_t of)
{
	/* bounded: a pid namespace's init has ppid 0 */
	for (int depth = 0; of > 1 && depth < 4096; depth++) {
		of = procfs__ppid(of);
		if (of == pid)
			return true;
	}
	return false;
}

void procfs__comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t p)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		pid_t *nv = realloc(*v, nc * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = p;
	return 0;
}

int procfs__descendants(pid_t pid, pid_t **out)
{
	pid_t *all = NULL, *ppids = NULL, *res = NULL;
	size_t n = 0, cap = 0, rn = 0, rcap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int err = 0;

	if (!d)
		return -errno;
	/* one pass over /proc for (pid, ppid), then a breadth-first walk */
	while ((de = readdir(d))) {
		int pp;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pp = procfs__ppid(atoi(de->d_name));
		if (pp < 0)
			continue;
		if ((err = push_pid(&all, &n, &cap, atoi(de->d_name))))
			break;
		ppids = realloc(ppids, cap * sizeof(*ppids));
		if (!ppids) {
			err = -ENOMEM;
			break;
		}
		ppids[n - 1] = pp;
	}
	closedir(d);
	if (!err && (err = push_pid(&res, &rn, &rcap, pid)) == 0) {
		for (size_t i = 0; i < rn && !err; i++)
			for (size_t j = 0; j < n && !err; j++)
				if (ppids[j] == res[i] && all[j] != pid)
					err = push_pid(&res, &rn, &rcap, all[j]);
	}
	free(all);
	free(ppids);
	if (err) {
		free(res);
		return err;
	}
	/* drop pid itself (first entry) */
	memmove(res, res + 1, (rn - 1) * sizeof(*res));
	*out = res;
	return (int)(rn - 1);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = 0;
}

int procfs__mount_shared(pid_t pid, const char *path)
{
	char file[64], line[4096], abs[4096], cwd[2048], point[4096];
	int found = -ENOENT;
	FILE *f;

	if (path[0] != '/') {
		ssize_t n;

		snprintf(file, sizeof(file), "/proc/%d/cwd", pid);
		n = readlink(file, cwd, sizeof(cwd) - 1);
		if (n <= 0)
			return -errno;
		cwd[n] = 0;
		snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	} else {
		snprintf(abs, sizeof(abs), "%s", path);
	}
	/* mount points carry no trailing slash */
	for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
		abs[n - 1] = 0;
	snprintf(file, sizeof(file), "/proc/%d/mountinfo", pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	/* "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SRC SUPER";
	 * later lines are mounted on top of earlier ones
	 */
	while (fgets(line, sizeof(line), f)) {
		char *opt = NULL;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		unescape(point);
		if (strcmp(point, abs))
			continue;
		opt = strstr(line, " shared:");
		found = opt && opt < strstr(line, " - ") ? 1 : 0;
	}
	fclose(f);
	return found;
}

uint32_t procfs__mnt_ns(pid_t pid)
{
	char link[64], ns[64];
	ssize_t n;

	if (pid)
		snprintf(link, sizeof(link), "/proc/%d/ns/mnt", pid);
	else
		snprintf(link, sizeof(link), "/proc/self/ns/mnt");
	n = readlink(link, ns, sizeof(ns) - 1);
	if (n <= 5)
		return 0;
	ns[n] = 0;
	return (uint32_t)strtoul(ns + 5, NULL, 10); /* "mnt:[4026531841]" */
}

long procfs__syscall(pid_t pid, pid_t tid)
{
	char path[96], line[64], *end;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "running", or "-1 sp pc" outside a syscall */
	if (fgets(line, sizeof(line), f)) {
		nr = strtol(line, &end, 10);
		if (end == line || nr < 0)
			nr = -1;
	}
	fclose(f);
	return nr;
}

int procfs__status_field(pid_t pid, pid_t tid, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	char path[96], line[512];
	int err = -ENOENT;
	FILE *f;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + klen;

		if (strncmp(line, key, klen) || *v != ':')
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = 0;
		snprintf(buf, len, "%s", v);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}
