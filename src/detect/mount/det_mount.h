/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The mount detector's policy, exposed for its unit tests (the detector is
 * det_mount_ops, detect/detector.h).
 */
#ifndef LW_DET_MOUNT_H
#define LW_DET_MOUNT_H

#include <leakwatch/events.h>

struct lw_det;

/* Add LW_MNT_NEW_NS (the record's namespace is one a successful unshare or
 * clone of a traced process created) and LW_MNT_PROPAGATES (a mount that
 * makes or moves one joined a shared peer group: io->mount_shared, when
 * BPF could not tell) to mv->flags.
 */
void det_mount__flags(struct lw_det *d, struct lw_ev_mount *mv);

#endif
