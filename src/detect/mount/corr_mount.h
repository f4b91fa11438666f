/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Mount correlator: mounts that escape a private mount namespace, mount and
 * umount2 calls of different namespaces racing on one path, and mounts a
 * traced program left behind. Pure: no libbpf, no /proc, no clock.
 *
 * The bug it is built around: a worker unshare(CLONE_NEWNS)s while "/" is
 * MS_SHARED, mounts <rootfs>/proc before making "/" private, and the mount
 * propagates to the host; the previous generation's host-side
 * umount2(<rootfs>/proc, MNT_DETACH) collides with the next worker's mount,
 * which fails ENOENT.
 *
 * Model:
 *  - namespaces are lw_ev_mount.mnt_ns inodes. A successful unshare with
 *    CLONE_NEWNS, or a clone record (below) whose namespace differs from
 *    the one the child inherited, creates a namespace whose origin is the
 *    caller's previous one. A created namespace dies with the last traced
 *    process in it (corr_mount__exit) and its own mounts with it.
 *  - a "mount" is a successful mount(2) that makes one (not MS_REMOUNT, not
 *    a propagation change MS_SHARED/PRIVATE/SLAVE/UNBINDABLE), or a
 *    move_mount; MS_MOVE moves the tracked mount (and those beneath it).
 *    A mount flagged LW_MNT_PROPAGATES in a namespace with a known origin
 *    also puts a copy in the origin (the peer it propagated to).
 *  - a successful umount2 of a target removes the newest tracked mount
 *    there (and, for a mount that propagated, its copy: umounts propagate
 *    too) and every tracked mount beneath it (lazily detached submounts).
 *  - targets are compared as given with trailing slashes removed ("/r/"
 *    is "/r"). After a process's successful chroot or pivot_root its paths
 *    no longer name what the other namespaces see: its later operations
 *    stay out of races and leftovers (propagation is still reported).
 *  - memory is bounded: the last LW_MNT_OPS_MAX operations are kept for
 *    races, LW_MNT_TRACK_MAX tracked mounts (the oldest go first), and
 *    LW_MNT_GROUPS_MAX groups per finding kind.
 */
#ifndef LW_CORR_MOUNT_H
#define LW_CORR_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <leakwatch/syscalls.h> /* lw_ev_mount.nr: LW_NR_* */
#include "base/proc_table.h"
#include "report/finding.h"

#define LW_MNT_OPS_MAX	  4096
#define LW_MNT_TRACK_MAX  4096
#define LW_MNT_GROUPS_MAX 1024

/* What a mount-family record does, one decision for the correlator and the
 * mount detector's mountinfo check (bits):
 *  LW_MNTC_OP	  a mount/umount2/move_mount on a target (races, tracking)
 *  LW_MNTC_MAKES  it makes a mount: mount(2) that is not MS_REMOUNT, not a
 *		  propagation change (MS_SHARED/PRIVATE/SLAVE/UNBINDABLE) and
 *		  not MS_MOVE; move_mount; fsmount (no target: not an op)
 *  LW_MNTC_MOVES  mount(2) with MS_MOVE: moves the mount at the source
 */
#define LW_MNTC_OP    (1u << 0)
#define LW_MNTC_MAKES (1u << 1)
#define LW_MNTC_MOVES (1u << 2)
unsigned corr_mount__classify(const struct lw_ev_mount *ev);

struct corr_mount_opts {
	bool attach_mode;	 /* no mount-leftover findings */
	uint64_t race_window_ns; /* 0: 2 s */
	/* the session's process table: a finding names the comm its process
	 * had when it made the call (NULL: no comm)
	 */
	lw_proc_lookup_fn proc;
	void *proc_ctx;
};

struct corr_mount;

/* opts may be NULL (run mode, defaults). NULL on ENOMEM. */
struct corr_mount *corr_mount__new(const struct corr_mount_opts *opts);
void corr_mount__free(struct corr_mount *c);

/* One LW_EV_MOUNT record and its completed stack (NULL: no stack).
 * The session synthesizes a record for a fork into a new namespace:
 * nr LW_NR_clone (or LW_NR_clone3), hdr.tgid = the CHILD, mnt_ns = the
 * child's namespace, arg_flags = the clone flags, ret 0; call
 * corr_mount__fork first so the namespace it left is known.
 * 0 or -ENOMEM.
 */
int corr_mount__feed(struct corr_mount *c, const struct lw_ev_mount *ev,
		     const struct lw_ips *stack);
/* The child starts in the parent's namespace (and root). 0 or -ENOMEM. */
int corr_mount__fork(struct corr_mount *c, uint32_t parent_tgid, uint32_t child_tgid,
		     uint64_t ts_ns);
/* The process is gone; the last one in a namespace we saw created takes
 * that namespace's own mounts with it. 0.
 */
int corr_mount__exit(struct corr_mount *c, uint32_t tgid, uint64_t ts_ns);
/* The process's namespace as the session knows it otherwise (the root's
 * /proc/PID/ns/mnt at start or attach): the origin of namespaces it and
 * its children create. 0 or -ENOMEM.
 */
int corr_mount__set_ns(struct corr_mount *c, uint32_t tgid, uint32_t mnt_ns);

/* Whether target is still mounted in namespace mnt_ns (the session reads
 * mountinfo of a process in it, or answers false for a namespace it cannot
 * see).
 */
typedef bool (*corr_mount_mounted_fn)(void *ctx, uint32_t mnt_ns, const char *target);

/* Appends, each kind in order of first occurrence:
 *  mount-propagation-leak: successful mounts flagged both LW_MNT_PROPAGATES
 *	and LW_MNT_NEW_NS, grouped by (stack, target); count = mounts; pid,
 *	tid, comm of the first; resource "TARGET (FSTYPE) propagates out of
 *	mount namespace NS"; stack = the mount's. Both modes.
 *  mount-race (collision): a mount/umount2/move_mount of a target in one
 *	namespace and one of the same target in another within
 *	race_window_ns, at least one failing ENOENT, EINVAL or EBUSY, neither
	flagged LW_MNT_ISOLATED (a mount where nothing propagates). One per
 *	target; count = failing operations that collided (each once); pid,
 *	tid, comm and stack of the first pair's failing one (the earlier when
 *	both failed); resource "TARGET: umount2 in ns A
 *	(pid X, ok) then mount in ns B (pid Y, ENOENT) 1 ms apart" (earlier
 *	first, the closest partner); extra "colliding operation at" = the
 *	other's stack; age_ms = the gap. Both modes.
 *  mount-race (propagated umount): a successful umount2 that removed a
 *	copy that came by propagation (the namespace never mounted it
 *	itself). One per target; count = such umounts; pid/stack of the
 *	umount2; resource "TARGET: umount2 in ns A (pid X) removed a mount
 *	made in ns B (pid Y): host umount2 of a propagated mount"; extra
 *	"propagated mount made at" = the mount's stack. Both modes.
 *  mount-leftover: run mode only; each tracked mount still alive for which
 *	still_mounted(ctx, ns, target) answers true (all of them when
 *	still_mounted is NULL); count 1; pid/comm/stack of the mount;
 *	resource "TARGET (FSTYPE) still mounted in ns NS", plus
 *	" (propagated from ns B)" for a copy; age_ms = now_ns - mount time.
 * 0 or -ENOMEM.
 */
int corr_mount__finish(struct corr_mount *c, uint64_t now_ns, corr_mount_mounted_fn still_mounted,
		       void *ctx, struct lw_findings *out);

#endif
