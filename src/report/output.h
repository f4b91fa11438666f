/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where the report goes (-o FILE), prepared before observation starts so a
 * destination that cannot work fails before the command runs, and written so
 * a report is whole or absent:
 * - FILE is never opened through a symlink (the last component is checked
 *   with lstat semantics and opened with O_NOFOLLOW; the kernel's
 *   fs.protected_symlinks covers the directories above it);
 * - in a sticky directory (/tmp), a file owned by another user (and not by the
 *   directory's owner) is refused, as fs.protected_regular would;
 * - the report is written to a new file ".NAME.XXXXXX" (O_CREAT|O_EXCL, mode
 *   0666 less the umask, or the mode of the file it replaces; owned by the
 *   user leakwatch runs as) in the same directory and renamed over FILE only
 *   when it is complete;
 * - a FIFO or a device is written in place, and only with LW_OUTPUT_SPECIAL;
 *   "/dev/stdout" and "/dev/stderr" name leakwatch's own stdout and stderr.
 */
#ifndef LW_OUTPUT_H
#define LW_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lw_output;

#define LW_OUTPUT_SPECIAL	(1u << 0) /* --output-special: FIFOs and devices */
#define LW_OUTPUT_STDOUT_CLOSED (1u << 1) /* fd 1 was closed at start-up */

/* Make sure fds 0-2 are open (on /dev/null) before anything else opens a
 * file, so a closed stdout is never some other file. Returns the mask of the
 * fds that were closed (bit n for fd n).
 */
unsigned output__fix_stdio(void);

/* path NULL: stdout. Returns 0, or -errno with one line in err. */
int output__open(struct lw_output **out, const char *path, unsigned flags, char *err,
		 size_t errlen);
/* The stream to write the report to (stdout for a NULL output). */
FILE *output__stream(const struct lw_output *o);
/* What to name in messages: the path, or "stdout". */
const char *output__name(const struct lw_output *o);
/* The report is written: flush, and move it into place. write_err is the
 * writer's result; when non-zero nothing replaces FILE. Returns write_err,
 * or -errno of the first step that failed.
 */
int output__commit(struct lw_output *o, int write_err);
/* Removes the temporary file when the report was never committed. */
void output__free(struct lw_output *o);

#endif
