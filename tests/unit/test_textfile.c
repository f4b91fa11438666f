// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bounded reads of rule files: non-regular files and oversized ones are
 * refused at once (no read of /dev/zero, no wait on a FIFO).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "harness.h"
#include "base/textfile.h"
#include "detect/pair/pair_spec.h"
#include "report/suppress.h"

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

LW_TEST(textfile_reads_a_regular_file)
{
	char tmpl[] = "/tmp/lw-textfile.XXXXXX", path[64], err[256] = "", *buf = NULL;
	size_t len = 0;

	ASSERT_TRUE(mkdtemp(tmpl), "mkdtemp");
	snprintf(path, sizeof(path), "%s/f", tmpl);
	ASSERT_EQ(write_file(path, "leak:x\n", 7), 0, "write");
	ASSERT_EQ(textfile__read(path, 64, &buf, &len, err, sizeof(err)), 0, "read");
	ASSERT_STREQ(buf, "leak:x\n", "content");
	ASSERT_EQ(len, 7, "length");
	free(buf);
	/* exactly at the cap is fine, one byte over is not */
	ASSERT_EQ(textfile__read(path, 7, &buf, &len, err, sizeof(err)), 0, "at cap");
	free(buf);
	ASSERT_EQ(textfile__read(path, 6, &buf, &len, err, sizeof(err)), -EFBIG, "over cap");
	ASSERT_TRUE(buf == NULL, "no buffer on error");
	ASSERT_EQ(write_file(path, "a\0b", 3), 0, "write NUL");
	ASSERT_EQ(textfile__read(path, 64, &buf, &len, err, sizeof(err)), -EINVAL, "NUL byte");
	ASSERT_CONTAINS(err, "not a text file", "NUL message");
	unlink(path);
	ASSERT_EQ(textfile__read(path, 64, &buf, &len, err, sizeof(err)), -ENOENT, "missing");
	rmdir(tmpl);
}

LW_TEST(textfile_refuses_devices_and_fifos)
{
	char tmpl[] = "/tmp/lw-textfile.XXXXXX", path[64], err[256] = "", *buf = NULL;

	ASSERT_EQ(textfile__read("/dev/zero", LW_TEXTFILE_MAX, &buf, NULL, err, sizeof(err)),
		  -EINVAL, "/dev/zero");
	ASSERT_STREQ(err, "/dev/zero: a character device, not a regular file", "/dev/zero message");
	ASSERT_EQ(textfile__read("/tmp", LW_TEXTFILE_MAX, &buf, NULL, err, sizeof(err)), -EINVAL,
		  "directory");
	ASSERT_TRUE(mkdtemp(tmpl), "mkdtemp");
	snprintf(path, sizeof(path), "%s/fifo", tmpl);
	ASSERT_EQ(mkfifo(path, 0600), 0, "mkfifo");
	/* no writer: a blocking open would never return */
	ASSERT_EQ(textfile__read(path, LW_TEXTFILE_MAX, &buf, NULL, err, sizeof(err)), -EINVAL,
		  "fifo");
	ASSERT_CONTAINS(err, "a FIFO, not a regular file", "fifo message");
	unlink(path);
	rmdir(tmpl);
}

LW_TEST(textfile_caps_suppression_and_pair_files)
{
	char tmpl[] = "/tmp/lw-textfile.XXXXXX", path[64], err[256] = "";
	struct lw_pair_spec spec = {};
	size_t big = LW_TEXTFILE_MAX + 1;
	char *data = malloc(big);

	ASSERT_TRUE(data && mkdtemp(tmpl), "setup");
	memset(data, '#', big);
	snprintf(path, sizeof(path), "%s/big", tmpl);
	ASSERT_EQ(write_file(path, data, big), 0, "write");
	free(data);
	ASSERT_TRUE(!suppress__load(path, err, sizeof(err)), "suppressions refused");
	ASSERT_CONTAINS(err, "larger than", "suppressions message");
	err[0] = '\0';
	ASSERT_EQ(pair_spec__parse_file(&spec, path, err, sizeof(err)), -EFBIG,
		  "pair file refused");
	ASSERT_CONTAINS(err, "larger than", "pair message");
	ASSERT_TRUE(!suppress__load("/dev/zero", err, sizeof(err)), "suppressions /dev/zero");
	ASSERT_EQ(pair_spec__parse_file(&spec, "/dev/zero", err, sizeof(err)), -EINVAL,
		  "pair /dev/zero");
	pair_spec__free(&spec);
	unlink(path);
	rmdir(tmpl);
}
