// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fd lifecycle: every syscall that makes or drops a descriptor, seen at raw
 * sys_exit (raw tracepoints need no tracefs). Only creations, closes, sends
 * carrying fds and failed closes are streamed, creations with their unwound
 * user stack.
 */
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool last_touch = false; /* --last-touch */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* bounded: the oldest touches go first */
	__uint(max_entries, 65536);
	__type(key, struct lw_touch_key);
	__type(value, struct lw_touch);
} touches SEC(".maps");

/* tgids whose first io_uring submission was reported (once each: it is hot) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} uring_seen SEC(".maps");

#define O_CLOEXEC_	      02000000
#define F_DUPFD_	      0
#define F_SETFD_	      2
#define F_DUPFD_CLOEXEC_      1030
#define FD_CLOEXEC_	      1
#define MSG_CMSG_CLOEXEC_     0x40000000
#define SOL_SOCKET_	      1
#define SCM_RIGHTS_	      1
#define PERF_FLAG_FD_CLOEXEC_ 8
#define EBADF_		      9

#define S_IFMT_	  00170000
#define S_IFSOCK_ 0140000
#define S_IFIFO_  0010000

/* Kernel objects on this hot path are read with direct loads: through a
 * read-only cast pointer the verifier makes each member load a faulting
 * load (a bad pointer reads 0), where BPF_CORE_READ costs a helper call per
 * member. Declared here only: bpftool 7.1's linker fails on a kfunc extern
 * in more than one object.
 */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;
#define LW_KPTR(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

#define LW_RIGHTS_MSGS	4 /* recvmmsg messages scanned */
#define LW_RIGHTS_CMSGS 4 /* control messages scanned per message */
#define LW_RIGHTS_FDS	8 /* fds taken per SCM_RIGHTS message */

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **arr;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	arr = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline void fill_resource(struct lw_ev_fd_open *ev, int fd, const char *upath)
{
	struct file *fp = fd_file(fd), *f;
	struct inode *inode;
	__u32 mode;
	__u64 magic;

	ev->res_kind = LW_RES_UNKNOWN;
	ev->sock_family = ev->sock_type = 0;
	ev->ino = 0;
	ev->dev = 0;
	ev->name[0] = 0;
	if (!fp)
		return;
	f = LW_KPTR(struct file, fp);
	inode = f->f_inode;
	ev->ino = inode->i_ino;
	ev->dev = inode->i_sb->s_dev;
	mode = inode->i_mode & S_IFMT_;
	if (mode == S_IFSOCK_) {
		struct socket *sock = LW_KPTR(struct socket, f->private_data);

		ev->res_kind = LW_RES_SOCKET;
		ev->sock_family = sock->sk->__sk_common.skc_family;
		ev->sock_type = sock->type;
		return;
	}
	if (mode == S_IFIFO_) {
		ev->res_kind = LW_RES_PIPE;
		return;
	}
	if (upath) {
		ev->res_kind = LW_RES_FILE;
		bpf_probe_read_user_str(ev->name, sizeof(ev->name), upath);
		/* relative to cwd or a dirfd: say where it really is */
		if (ev->name[0] != '/')
			lw_file_path((struct lw_name *)ev->name, (__u64)fp);
		return;
	}
	/* Anonymous inodes are named by type ("[eventfd]"), memfds and pidfds
	 * by their dentry ("memfd:name", "[pidfd]"); files (dups, received fds)
	 * by their path.
	 */
	magic = inode->i_sb->s_magic;
	bpf_probe_read_kernel_str(ev->name, sizeof(ev->name), f->f_path.dentry->d_name.name);
	if (magic == 0x09041934 /* ANON_INODE_FS_MAGIC */ ||
	    magic == 0x50494446 /* PID_FS_MAGIC */ ||
	    (ev->name[0] == 'm' && ev->name[1] == 'e' && ev->name[2] == 'm' && ev->name[3] == 'f' &&
	     ev->name[4] == 'd' && ev->name[5] == ':')) {
		ev->res_kind = LW_RES_ANON;
		if (magic == 0x50494446) /* pidfs dentries carry no useful name */
			__builtin_memcpy(ev->name, "[pidfd]", 8);
		return;
	}
	ev->res_kind = LW_RES_FILE;
	lw_file_path((struct lw_name *)ev->name, (__u64)fp);
}

/* The record in s, with the stack of the syscall sa. */
static __always_inline void fd_output(struct lw_scratch *s, __u16 type, __u32 size,
				      const struct lw_sys_args *sa, __u32 how)
{
	struct lw_regs r;

	lw_regs_from_sys(&r, sa);
	lw_emit_with_stack(s, type, size, &r, how);
}

/* BPF calls take five arguments: nr and fd_flags travel packed. */
#define OP(nr, fd_flags) ((__u64)(nr) | ((__u64)(fd_flags) << 32))

__noinline int emit_open(const struct lw_sys_args *sa, int fd, int src_fd, __u64 op,
			 __u64 upath_addr)
{
	const char *upath = (const char *)upath_addr;
	__u32 nr = (__u32)op, fd_flags = op >> 32;
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_fd_open *ev;

	if (!s || !sa)
		return 0;
	ev = (struct lw_ev_fd_open *)s->buf;
	ev->fd = fd;
	ev->src_fd = src_fd;
	ev->syscall_nr = nr;
	ev->fd_flags = fd_flags;
	ev->__pad0 = 0;
	ev->__pad1 = 0;
	fill_resource(ev, fd, upath);
	/* its frames only: most of the stack member is unused; its time
	 * only ages it
	 */
	fd_output(s, LW_EV_FD_OPEN, sizeof(*ev), sa, LW_EMIT_SHORT | LW_EMIT_COARSE);
	return 0;
}

__noinline int emit_close(const struct lw_sys_args *sa, int fd, int ret)
{
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_fd_close *ev;

	if (!s || !sa)
		return 0;
	ev = (struct lw_ev_fd_close *)s->buf;
	ev->fd = fd;
	ev->ret = ret;
	/* Successful closes are hot: a few frames (cheap, no slice unless this
	 * call site is new) are enough to say where a later double close was
	 * preceded, and nothing reads their time. A failed one gets a full
	 * stack and its time.
	 */
	fd_output(s, LW_EV_FD_CLOSE, sizeof(*ev), sa,
		  ret == 0 ? LW_UNWIND_MAX(LW_CLOSE_FRAMES) | LW_EMIT_SHORT | LW_EMIT_NO_CLOCK : 0);
	return 0;
}

/* Rare next to close(): a full stack, for a double close within the range. */
__noinline int emit_close_range(const struct lw_sys_args *sa, __u32 first, __u32 last, __u32 flags)
{
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_fd_close_range *ev;

	if (!s || !sa)
		return 0;
	ev = (struct lw_ev_fd_close_range *)s->buf;
	ev->first = first;
	ev->last = last;
	ev->flags = flags;
	ev->__pad = 0;
	fd_output(s, LW_EV_FD_CLOSE_RANGE, sizeof(*ev), sa, 0);
	return 0;
}

static __always_inline void emit_cloexec(int fd, __u32 on)
{
	struct lw_ev_fd_cloexec *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		lw_count_drop();
		return;
	}
	lw_hdr_init(&ev->hdr, LW_EV_FD_CLOEXEC, sizeof(*ev));
	ev->fd = fd;
	ev->cloexec = on;
	lw_count_event();
	bpf_ringbuf_submit(ev, lw_rb_flags(sizeof(*ev)));
}

/* Two fds written by the kernel to a user int[2] (pipe, socketpair). */
static __always_inline void emit_pair(const struct lw_sys_args *sa, __u32 nr, __u64 uptr,
				      __u32 fd_flags)
{
	int fds[2] = {};

	if (bpf_probe_read_user(fds, sizeof(fds), (void *)uptr))
		return;
	emit_open(sa, fds[0], -1, OP(nr, fd_flags), 0);
	emit_open(sa, fds[1], -1, OP(nr, fd_flags), 0);
}

struct lw_user_msghdr {
	__u64 name;
	__s32 namelen;
	__s32 __pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
};

struct lw_cmsg_hdr {
	__u64 len;
	__s32 level;
	__s32 type;
};

struct lw_rights {
	int fds[LW_RIGHTS_MAX];
	__u32 n;
	/* what collect_rights() reads from user memory */
	struct lw_user_msghdr m;
	struct lw_cmsg_hdr h;
	int cmsg_fds[LW_RIGHTS_FDS];
};

/* Off the BPF stack, which a received fd's path (this, emit_open, the
 * unwinder) would overflow on kernels without a private stack for
 * tracepoint programs; only sys_exit uses it, with preemption off.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_rights);
} rights SEC(".maps");

static __always_inline struct lw_rights *lw_rights_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&rights, &zero);
}

/* The fds in every SCM_RIGHTS control message of one user msghdr (on a
 * receive, msg_controllen is what the kernel wrote back), at most
 * LW_RIGHTS_MAX of them.
 */
static __always_inline void collect_rights(__u64 umsg, struct lw_rights *r)
{
	struct lw_user_msghdr *m = &r->m;
	struct lw_cmsg_hdr *h = &r->h;
	int *fds = r->cmsg_fds;
	__u64 off = 0;

	r->n = 0;
	if (bpf_probe_read_user(m, sizeof(*m), (void *)umsg) || !m->control)
		return;
	for (int c = 0; c < LW_RIGHTS_CMSGS; c++) {
		__u64 k;

		if (off + sizeof(*h) > m->controllen ||
		    bpf_probe_read_user(h, sizeof(*h), (void *)(m->control + off)))
			break;
		if (h->len < sizeof(*h) || off + h->len > m->controllen)
			break;
		if (h->level == SOL_SOCKET_ && h->type == SCM_RIGHTS_) {
			k = (h->len - sizeof(*h)) / sizeof(int);
			if (k > LW_RIGHTS_FDS)
				k = LW_RIGHTS_FDS;
			if (bpf_probe_read_user(fds, sizeof(r->cmsg_fds),
						(void *)(m->control + off + sizeof(*h))))
				k = 0; /* short buffer: retrying smaller is not worth it */
			for (int i = 0; i < LW_RIGHTS_FDS; i++) {
				if (i >= k || r->n >= LW_RIGHTS_MAX)
					break;
				r->fds[r->n & (LW_RIGHTS_MAX - 1)] = fds[i];
				r->n++;
			}
		}
		off += (h->len + 7) & ~7ULL;
	}
}

/* fds received with SCM_RIGHTS in one msghdr: each is a new fd */
__noinline int scan_rights(const struct lw_sys_args *sa, __u64 umsg, __u32 nr, __u32 fd_flags)
{
	struct lw_rights *r = lw_rights_get();

	if (!r)
		return 0;
	collect_rights(umsg, r);
	for (int i = 0; i < LW_RIGHTS_MAX; i++) {
		if (i >= r->n)
			break;
		emit_open(sa, r->fds[i], -1, OP(nr, fd_flags | LW_FD_RECEIVED), 0);
	}
	return 0;
}

/* fds carried by one outgoing msghdr with SCM_RIGHTS, and whether the send
 * went through: a failed send leaves every carried fd with the sender.
 */
__noinline int scan_send(const struct lw_sys_args *sa, __u64 umsg, __u32 sock_fd, __s32 ret)
{
	struct lw_scratch *s = lw_scratch_get();
	struct lw_rights *r = lw_rights_get();
	struct lw_ev_fd_send *ev;
	__u32 n;

	if (!s || !sa || !r)
		return 0;
	collect_rights(umsg, r);
	n = r->n;
	ev = (struct lw_ev_fd_send *)s->buf;
	for (int i = 0; i < LW_RIGHTS_MAX; i++) {
		struct file *f;

		if (i >= n)
			break;
		ev->fds[i] = r->fds[i];
		f = fd_file(r->fds[i]);
		ev->inos[i] = f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
	}
	if (!n)
		return 0;
	ev->peer_ino = 0;
	{
		/* the connected peer of an AF_UNIX socket is where the fds wait
		 * until someone calls recvmsg (fd-in-flight-lost)
		 */
		struct file *sf = fd_file(sock_fd);
		struct socket *sock = sf ? BPF_CORE_READ(sf, private_data) : NULL;
		struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;

		if (sk && BPF_CORE_READ(sk, __sk_common.skc_family) == 1 /* AF_UNIX */) {
			struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);

			if (peer)
				ev->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
		}
	}
	ev->sock_fd = sock_fd;
	ev->ret = ret;
	ev->nr_fds = n;
	ev->__pad = 0;
	fd_output(s, LW_EV_FD_SEND, sizeof(*ev), sa, 0);
	return 0;
}

/* Where and how an fd was last used: a short stack, kept in the kernel and
 * read only for the fds that leak.
 */
__noinline int touch_fd(const struct lw_sys_args *sa, __u32 nr, int fd)
{
	struct lw_touch_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd};
	struct lw_touch t = {.nr = nr};
	struct lw_scratch *s = lw_scratch_get();
	struct lw_ev_fd_touch *ev;
	struct lw_regs r;

	if (!s || !sa || fd < 0)
		return 0;
	ev = (struct lw_ev_fd_touch *)s->buf;
	ev->fd = fd;
	ev->nr = nr;
	lw_regs_from_sys(&r, sa);
	/* streamed only at the first sight of a call site: user space
	 * finishes that stack and matches it to the map entry by time
	 */
	lw_emit_with_stack(s, LW_EV_FD_TOUCH, sizeof(*ev), &r,
			   LW_UNWIND_MAX(LW_TOUCH_FRAMES) | LW_EMIT_IF_PARTIAL);
	t.ts_ns = ev->hdr.ts_ns;
	t.nr_ips = ev->stack.nr > LW_TOUCH_FRAMES ? LW_TOUCH_FRAMES : ev->stack.nr;
	bpf_probe_read_kernel(t.ips, sizeof(t.ips), ev->stack.ips);
	bpf_map_update_elem(&touches, &k, &t, BPF_ANY);
	return 0;
}

/* Called by bpf/sys_exit.bpf.c for a target's syscall of class LW_SC_FD or
 * (with --last-touch) LW_SC_TOUCH.
 */
__noinline int fd_sys_exit(struct lw_sys_args *sa)
{
	long ret;
	__u32 nr, cloexec = 0;

	if (!sa)
		return 0;
	ret = sa->ret;
	nr = sa->nr;
	if (last_touch && (sa->cls & LW_SC_TOUCH))
		touch_fd(sa, nr, (int)sa->a[0]);
	if (!(sa->cls & LW_SC_FD))
		return 0;

	if (nr == LW_NR_close) {
		if (ret == 0 || ret == -EBADF_)
			emit_close(sa, (int)sa->a[0], (int)ret);
		if (ret == 0 && last_touch) {
			struct lw_touch_key k = {.tgid = bpf_get_current_pid_tgid() >> 32,
						 .fd = (int)sa->a[0]};

			bpf_map_delete_elem(&touches, &k);
		}
		return 0;
	}
	/* a failed send matters most: the fds it carried stay with the sender */
	if (nr == LW_NR_sendmsg) {
		scan_send(sa, sa->a[1], sa->a[0], ret);
		return 0;
	}
	if (nr == LW_NR_sendmmsg) {
		/* ret: messages sent; the rest of the vector was not */
		for (int i = 0; i < LW_RIGHTS_MSGS; i++) {
			if (i >= sa->a[2])
				break;
			scan_send(sa, sa->a[1] + i * 64, sa->a[0],
				  ret < 0 ? ret : (i < ret ? 1 : -11 /* EAGAIN */));
		}
		return 0;
	}
	/* submissions may close fds (IORING_OP_CLOSE), which we cannot follow:
	 * one fd -1 record per process says so
	 */
	if (nr == LW_NR_io_uring_enter) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		__u8 one = 1;

		if (ret > 0 && !bpf_map_lookup_elem(&uring_seen, &tgid) &&
		    !bpf_map_update_elem(&uring_seen, &tgid, &one, BPF_NOEXIST))
			emit_open(sa, -1, -1, OP(nr, 0), 0);
		return 0;
	}
	if (ret < 0)
		return 0; /* failed syscalls create nothing */

	switch (nr) {
	case LW_NR_open:
		cloexec = sa->a[1] & O_CLOEXEC_;
		emit_open(sa, ret, -1, OP(nr, cloexec ? LW_FD_CLOEXEC : 0), sa->a[0]);
		return 0;
	case LW_NR_creat:
		emit_open(sa, ret, -1, OP(nr, 0), sa->a[0]);
		return 0;
	case LW_NR_openat:
		cloexec = sa->a[2] & O_CLOEXEC_;
		emit_open(sa, ret, -1, OP(nr, cloexec ? LW_FD_CLOEXEC : 0), sa->a[1]);
		return 0;
	case LW_NR_openat2: {
		__u64 how_flags = 0;

		bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)sa->a[2]);
		emit_open(sa, ret, -1, OP(nr, (how_flags & O_CLOEXEC_) ? LW_FD_CLOEXEC : 0),
			  sa->a[1]);
		return 0;
	}
	case LW_NR_open_by_handle_at:
		cloexec = sa->a[2] & O_CLOEXEC_;
		break;
	case LW_NR_dup:
		emit_open(sa, ret, sa->a[0], OP(nr, LW_FD_DUP), 0);
		return 0;
	case LW_NR_dup2:
		if ((int)sa->a[0] != (int)sa->a[1])
			emit_open(sa, ret, sa->a[0], OP(nr, LW_FD_DUP), 0);
		return 0;
	case LW_NR_dup3:
		emit_open(sa, ret, sa->a[0],
			  OP(nr, LW_FD_DUP | ((sa->a[2] & O_CLOEXEC_) ? LW_FD_CLOEXEC : 0)), 0);
		return 0;
	case LW_NR_fcntl:
		if (sa->a[1] == F_DUPFD_ || sa->a[1] == F_DUPFD_CLOEXEC_)
			emit_open(
			    sa, ret, sa->a[0],
			    OP(nr, LW_FD_DUP | (sa->a[1] == F_DUPFD_CLOEXEC_ ? LW_FD_CLOEXEC : 0)),
			    0);
		else if (sa->a[1] == F_SETFD_)
			emit_cloexec(sa->a[0], sa->a[2] & FD_CLOEXEC_);
		return 0;
	case LW_NR_close_range:
		emit_close_range(sa, sa->a[0], sa->a[1], sa->a[2]);
		return 0;
	case LW_NR_pipe:
		emit_pair(sa, nr, sa->a[0], 0);
		return 0;
	case LW_NR_pipe2:
		emit_pair(sa, nr, sa->a[0], (sa->a[1] & O_CLOEXEC_) ? LW_FD_CLOEXEC : 0);
		return 0;
	case LW_NR_socketpair:
		emit_pair(sa, nr, sa->a[3], (sa->a[1] & O_CLOEXEC_) ? LW_FD_CLOEXEC : 0);
		return 0;

	case LW_NR_recvmsg:
		scan_rights(sa, sa->a[1], nr, (sa->a[2] & MSG_CMSG_CLOEXEC_) ? LW_FD_CLOEXEC : 0);
		return 0;
	case LW_NR_recvmmsg:
		for (int i = 0; i < LW_RIGHTS_MSGS; i++) {
			if (i >= ret)
				break;
			/* struct mmsghdr: a 56-byte msghdr and msg_len, padded to 64 */
			scan_rights(sa, sa->a[1] + i * 64, nr,
				    (sa->a[3] & MSG_CMSG_CLOEXEC_) ? LW_FD_CLOEXEC : 0);
		}
		return 0;
	case LW_NR_signalfd:
	case LW_NR_signalfd4:
		if ((int)sa->a[0] != -1)
			return 0; /* updates an existing signalfd */
		cloexec = nr == LW_NR_signalfd4 && (sa->a[3] & O_CLOEXEC_);
		break;
	case LW_NR_socket:
	case LW_NR_eventfd2:
	case LW_NR_timerfd_create:
	case LW_NR_inotify_init1:
	case LW_NR_userfaultfd:
		/* the CLOEXEC flags of these all equal O_CLOEXEC */
		cloexec =
		    sa->a[nr == LW_NR_socket || nr == LW_NR_timerfd_create ? 1 : 0] & O_CLOEXEC_;
		break;
	case LW_NR_epoll_create1:
		cloexec = sa->a[0] & O_CLOEXEC_;
		break;
	case LW_NR_accept4:
		cloexec = sa->a[3] & O_CLOEXEC_;
		break;
	case LW_NR_memfd_create:
	case LW_NR_fsopen:
	case LW_NR_fspick:
		cloexec = sa->a[nr == LW_NR_fspick ? 2 : 1] & 1; /* MFD/FSOPEN/FSPICK_CLOEXEC */
		break;
	case LW_NR_fsmount:
		cloexec = sa->a[1] & 1; /* FSMOUNT_CLOEXEC */
		break;
	case LW_NR_open_tree:
		cloexec = sa->a[2] & O_CLOEXEC_;
		break;
	case LW_NR_fanotify_init:
		cloexec = sa->a[0] & 1; /* FAN_CLOEXEC */
		break;
	case LW_NR_perf_event_open:
		cloexec = sa->a[4] & PERF_FLAG_FD_CLOEXEC_;
		break;
	case LW_NR_pidfd_open:
	case LW_NR_pidfd_getfd:
	case LW_NR_io_uring_setup:
		cloexec = 1; /* always O_CLOEXEC */
		break;
	case LW_NR_memfd_secret:
		cloexec = sa->a[0] & O_CLOEXEC_;
		break;
	default: /* accept, eventfd, epoll_create, inotify_init */
		break;
	}
	emit_open(sa, ret, -1, OP(nr, cloexec ? LW_FD_CLOEXEC : 0), 0);
	return 0;
}
