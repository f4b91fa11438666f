// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "base/textfile.h"

static void too_big(const char *path, size_t max, char *err, size_t errlen)
{
	if (max >= (1u << 20) && !(max & ((1u << 20) - 1)))
		snprintf(err, errlen, "%s: larger than %zu MiB, the limit for this file", path,
			 max >> 20);
	else
		snprintf(err, errlen, "%s: larger than %zu bytes, the limit for this file", path,
			 max);
}

const char *textfile__type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int textfile__read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	struct stat st;
	ssize_t r;
	int fd, e = 0;

	*out = NULL;
	if (len)
		*len = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
	 * refuses it. O_NOCTTY: a terminal named here must not become ours.
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		snprintf(err, errlen, "%s: %s, not a regular file", path,
			 textfile__type_name(st.st_mode));
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		e = EFBIG;
		too_big(path, max, err, errlen);
		goto out;
	}
	/* the size is a hint (the file may grow, /proc says 0): read to EOF,
	 * at most max bytes, one more to tell a longer file
	 */
	buf = malloc(max + 2);
	if (!buf) {
		e = ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		goto out;
	}
	while (n <= max) {
		r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			snprintf(err, errlen, "%s: %s", path, strerror(e));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		e = EFBIG;
		too_big(path, max, err, errlen);
		goto out;
	}
	if (memchr(buf, '\0', n)) {
		e = EINVAL;
		snprintf(err, errlen, "%s: not a text file", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
out:
	free(buf);
	close(fd);
	return -e;
}

char *textfile__slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (r > 0) {
		if (!buf || n == cap) {
			if (!(nb = realloc(buf, (cap = buf ? cap * 2 : cap) + 1)))
				break;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		n += r > 0 ? r : 0;
	}
	close(fd);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = n;
	}
	return buf;
}
