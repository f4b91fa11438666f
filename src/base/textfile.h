/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Bounded reads of the small text files a user names on the command line
 * (suppressions, pair rules): a regular file of at most LW_TEXTFILE_MAX
 * bytes, so /dev/zero, a FIFO without a writer or a huge file is one clear
 * error instead of a hang or an endless read.
 */
#ifndef LW_TEXTFILE_H
#define LW_TEXTFILE_H

#include <stddef.h>
#include <sys/types.h>

#define LW_TEXTFILE_MAX (4u << 20) /* 4 MiB: rule files are a few KiB */

/* Read all of path (at most max bytes) into a NUL-terminated buffer the
 * caller frees. Refuses anything but a regular file and a file with a NUL
 * byte. Returns 0, or -errno with "PATH: message" in err.
 */
/* "a directory", "a FIFO", "a character device", ...: what a path that
 * should be a regular file is instead.
 */
const char *textfile__type_name(mode_t m);
int textfile__read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* All of a file leakwatch or the kernel writes (/proc files, the fault
 * log), unbounded, NUL-terminated, in a buffer the caller frees; *len (when
 * not NULL) without the NUL. NULL with errno set when it cannot be opened
 * (or on ENOMEM).
 */
char *textfile__slurp(const char *path, size_t *len);

#endif
