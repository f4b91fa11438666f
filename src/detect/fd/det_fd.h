/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The fd detector's few entry points besides det_fd_ops (detect/detector.h). */
#ifndef LW_DET_FD_H
#define LW_DET_FD_H

#include <stdint.h>
#include "report/finding.h"

#define LW_SITES_MAX 512 /* --interval: creation sites printed per tick */

struct lw_det;

/* fds d believes tgid has open (a respawn storm's parent fds); -ENOENT
 * when d is NULL (the detector is off).
 */
int det_fd__open_count(struct lw_det *d, uint32_t tgid);
/* --last-touch evidence for one finding: the kernel's record of the fd's
 * last use (io->touch), or the stack user space finished for it.
 */
void det_fd__last_touch(struct lw_det *d, struct lw_finding *f);

#endif
