// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "base/textfile.h"
#include "report/output.h"

struct lw_output {
	FILE *f;	 /* stdout, stderr, the temporary file or the special file */
	int dirfd;	 /* FILE's directory (O_PATH), -1 unless renaming */
	char *name;	 /* FILE as given, for messages */
	char *base;	 /* FILE's last component, in dirfd */
	char *tmp;	 /* the temporary file in dirfd; NULL once renamed */
	bool own_stream; /* f is ours to close */
};

unsigned output__fix_stdio(void)
{
	unsigned closed = 0;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		closed |= 1u << fd;
		/* open() takes the lowest free fd: this one */
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			break;
	}
	return closed;
}

/* Write in place: FIFOs and devices (asked for explicitly). */
static int open_special(struct lw_output *o, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	/* a FIFO waits here for its reader, before anything is traced:
	 * Ctrl-C still ends leakwatch
	 */
	fd = openat(o->dirfd, o->base, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open %s for the report: %s", o->name, strerror(e));
		return -e;
	}
	/* replaced by a regular file since the check: that needs the rename path */
	if (fstat(fd, &st) || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s changed while it was opened", o->name);
		return -EAGAIN;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot open %s for the report: %s", o->name, strerror(e));
		return -e;
	}
	o->own_stream = true;
	close(o->dirfd);
	o->dirfd = -1;
	return 0;
}

/* ".NAME.XXXXXX" next to FILE: same file system, so rename() is atomic. */
static int create_tmp(struct lw_output *o, const struct stat *old, char *err, size_t errlen)
{
	size_t len = strlen(o->base) + 16;
	int fd = -1, e = EEXIST;

	o->tmp = malloc(len);
	if (!o->tmp)
		return -ENOMEM;
	for (int tries = 0; tries < 100 && fd < 0 && e == EEXIST; tries++) {
		uint32_t r;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)getpid() * 2654435761u + (uint32_t)tries;
		/* %.200s: stay under NAME_MAX whatever FILE's length */
		snprintf(o->tmp, len, ".%.200s.%06x", o->base, r & 0xffffff);
		fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0666);
		e = fd < 0 ? errno : 0;
	}
	if (fd < 0) {
		free(o->tmp);
		o->tmp = NULL;
		snprintf(err, errlen, "cannot create the report %s: %s", o->name, strerror(e));
		return -e;
	}
	/* replacing our own file: keep its permissions, as writing into it did */
	if (old && old->st_uid == geteuid())
		(void)fchmod(fd, old->st_mode & 0777);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		e = errno;
		close(fd);
		unlinkat(o->dirfd, o->tmp, 0);
		free(o->tmp);
		o->tmp = NULL;
		return -e;
	}
	o->own_stream = true;
	return 0;
}

static int split_path(struct lw_output *o, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int e;

	if (slash)
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	else
		dir = strdup(".");
	o->base = strdup(slash ? slash + 1 : path);
	if (!dir || !o->base) {
		free(dir);
		return -ENOMEM;
	}
	if (!o->base[0] || !strcmp(o->base, ".") || !strcmp(o->base, "..")) {
		free(dir);
		snprintf(err, errlen, "cannot write the report to %s: Is a directory", path);
		return -EISDIR;
	}
	o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	free(dir);
	if (o->dirfd < 0) {
		snprintf(err, errlen, "cannot create the report %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int prepare(struct lw_output *o, const char *path, unsigned flags, char *err, size_t errlen)
{
	struct stat st, dir;
	int e;

	if (!*path) {
		snprintf(err, errlen, "-o: empty file name");
		return -EINVAL;
	}
	e = split_path(o, path, err, errlen);
	if (e)
		return e;
	if (fstatat(o->dirfd, o->base, &st, AT_SYMLINK_NOFOLLOW)) {
		e = errno;
		if (e != ENOENT) {
			snprintf(err, errlen, "cannot write the report to %s: %s", path,
				 strerror(e));
			return -e;
		}
		return create_tmp(o, NULL, err, errlen);
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "refusing to write the report through the symlink %s", path);
		return -ELOOP;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot write the report to %s: Is a directory", path);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		if (flags & LW_OUTPUT_SPECIAL)
			return open_special(o, err, errlen);
		snprintf(err, errlen,
			 "refusing to write the report to %s: %s, not a regular file "
			 "(--output-special allows it)",
			 path, textfile__type_name(st.st_mode));
		return -EINVAL;
	}
	/* fs.protected_regular: in a sticky directory another user's file may
	 * be a trap laid for root
	 */
	if (fstat(o->dirfd, &dir) == 0 && (dir.st_mode & S_ISVTX) && st.st_uid != geteuid() &&
	    st.st_uid != dir.st_uid) {
		snprintf(err, errlen,
			 "refusing to replace %s: owned by uid %u in a sticky directory", path,
			 (unsigned)st.st_uid);
		return -EPERM;
	}
	return create_tmp(o, &st, err, errlen);
}

int output__open(struct lw_output **out, const char *path, unsigned flags, char *err, size_t errlen)
{
	struct lw_output *o;
	int e;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->dirfd = -1;
	o->name = strdup(path ? path : "stdout");
	if (!o->name) {
		free(o);
		return -ENOMEM;
	}
	if (!path || !strcmp(path, "/dev/stdout")) {
		if (flags & LW_OUTPUT_STDOUT_CLOSED) {
			snprintf(err, errlen,
				 "stdout is closed: nowhere to write the report "
				 "(use -o FILE)");
			output__free(o);
			return -EBADF;
		}
		o->f = stdout;
	} else if (!strcmp(path, "/dev/stderr")) {
		o->f = stderr;
	} else if ((e = prepare(o, path, flags, err, errlen))) {
		if (e == -ENOMEM && !err[0])
			snprintf(err, errlen, "out of memory");
		output__free(o);
		return e;
	}
	*out = o;
	return 0;
}

FILE *output__stream(const struct lw_output *o)
{
	return o ? o->f : stdout;
}

const char *output__name(const struct lw_output *o)
{
	return o ? o->name : "stdout";
}

int output__commit(struct lw_output *o, int write_err)
{
	FILE *f = output__stream(o);
	int e = write_err;

	if (fflush(f) && !e)
		e = -errno;
	if (!o || !o->own_stream)
		return e;
	/* on disk before it takes FILE's name: a crash leaves the old report */
	if (!e && o->tmp && fsync(fileno(f)))
		e = -errno;
	if (fclose(f) && !e)
		e = -errno;
	o->f = NULL;
	o->own_stream = false;
	if (!e && o->tmp && renameat(o->dirfd, o->tmp, o->dirfd, o->base))
		e = -errno;
	if (!e && o->tmp) {
		free(o->tmp);
		o->tmp = NULL;
	}
	return e;
}

void output__free(struct lw_output *o)
{
	if (!o)
		return;
	if (o->own_stream && o->f)
		fclose(o->f);
	if (o->tmp && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmp, 0);
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->tmp);
	free(o->base);
	free(o->name);
	free(o);
}
