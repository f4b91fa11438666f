/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the BPF programs and user space. Fixed-width types and
 * explicit padding only, so clang -target bpf and gcc agree on every layout.
 */
#ifndef LEAKWATCH_EVENTS_H
#define LEAKWATCH_EVENTS_H

#ifdef __BPF__
/* vmlinux.h already provides __u8.. __u64 */
#else
#include <linux/types.h>
#endif

#define LW_STACK_MAX   32   /* frames kept per stack */
#define LW_SLICE_MAX   4096 /* bytes of user stack copied when BPF cannot finish the unwind */
#define LW_SLICE_CHUNK 512  /* copied in chunks so a short stack still yields a prefix */
#define LW_NAME_MAX    128  /* path argument / anon inode name */
#define LW_PATH_DEPTH  16   /* path components kept in a CFI miss */
#define LW_COMP_LEN    64   /* bytes per component */
#define LW_COMM_LEN    16

enum lw_ev_type {
	LW_EV_FD_OPEN = 1,    /* a new fd exists (open, socket, dup, accept, ...) */
	LW_EV_FD_CLOSE,	      /* close(): ret 0 closed it, -EBADF says it was not open */
	LW_EV_FD_CLOSE_RANGE, /* close_range(): closes or marks CLOEXEC a range */
	LW_EV_FD_CLOEXEC,     /* fcntl(F_SETFD) changed close-on-exec */
	LW_EV_PROC_FORK,      /* a traced process made a new process */
	LW_EV_PROC_EXEC,      /* execve succeeded: CLOEXEC fds are gone */
	LW_EV_PROC_EXIT,      /* the last thread of a process exited */
	LW_EV_CFI_MISS,	      /* BPF has no unwind rule for a pc yet */
	LW_EV_MEM_ALLOC,      /* a block whose stack BPF could not finish: user space tracks it */
	LW_EV_MEM_FREE_USER,  /* a block user space tracks was freed */
	LW_EV_MEM_BAD_FREE,   /* free of an address that is not live */
	LW_EV_MAPPING,	      /* an executable file mapping (struct lw_ev_cfi_miss layout) */
	LW_EV_FD_SEND,	      /* sendmsg/sendmmsg carried fds with SCM_RIGHTS */
	LW_EV_PAIR,	      /* a traced acquire/retain/release/destroy call */
	LW_EV_MOUNT,	      /* a mount-namespace syscall (mount, umount2, unshare, ...) */
	LW_EV_FD_TOUCH,	      /* --last-touch at a call site BPF cannot unwind yet */
	LW_EV_MMAP_ANON,      /* mem detector: a successful anonymous mmap */
	LW_EV_MUNMAP,	      /* mem detector: a successful munmap */
	LW_EV__MAX,
};

/* lw_ev_hdr.flags */
#define LW_F_STACK_PARTIAL (1u << 0) /* lw_stack stopped early; a slice follows */

struct lw_ev_hdr {
	__u16 type;
	__u16 size; /* whole record including trailing slice */
	__u32 tgid;
	__u32 tid;
	__u32 flags;
	/* CLOCK_MONOTONIC (bpf_ktime_get_ns); 0 on a successful close; on an
	 * fd open or an allocation up to a tick early (lw_coarse_ns)
	 */
	__u64 ts_ns;
};
_Static_assert(sizeof(struct lw_ev_hdr) == 24, "lw_ev_hdr layout");

/* lw_stack.flags */
#define LW_STK_TRUNCATED (1u << 0) /* hit LW_STACK_MAX */
#define LW_STK_PARTIAL	 (1u << 1) /* unwind stopped at a pc without rule; see sp/bp + slice */
#define LW_STK_BAD_READ	 (1u << 2) /* a stack read faulted */
#define LW_STK_EXACT_PC	 (1u << 3) /* ips[0] is the probed instruction, not a return address */
#define LW_STK_SLICE_END (1u << 4) /* user space: a frame ran past the copied slice */

/* A user stack as BPF unwound it. ips[i > 0] are return addresses, and so is
 * ips[0] (the pc after a syscall, or the caller's pc at a uretprobe) unless
 * LW_STK_EXACT_PC says it is the probed instruction itself (a uprobe at a
 * function's entry): symbolizers look return addresses up at pc - 1, inside
 * the call or syscall instruction. When LW_STK_PARTIAL is set, ips[nr-1]
 * is the frame BPF could not unwind, sp/bp are that frame's registers, and
 * slice_len bytes of user memory starting at sp travel with the record, at
 * LW_SLICE_OFFSET (below).
 */
#define LW_RET_PENDING 4 /* active uretprobes whose real return addresses travel along */

struct lw_stack {
	__u16 nr;
	__u16 flags;
	__u32 slice_len;
	__u64 sp;
	__u64 bp;
	__u64 ips[LW_STACK_MAX];
	/* PARTIAL only: the uprobe trampoline address and, innermost first,
	 * the real return addresses of uretprobes still active further up,
	 * for the user-space unwinder (it cannot read the kernel's list)
	 */
	__u64 tramp;
	__u64 ret_pending[LW_RET_PENDING];
	__u32 nr_ret_pending;
	__u32 __pad;
};
_Static_assert(sizeof(struct lw_stack) == 24 + 8 * LW_STACK_MAX + 8 + 8 * LW_RET_PENDING + 8,
	       "lw_stack layout");

/* What kind of object an fd refers to (lw_ev_fd_open.res_kind). */
enum lw_res_kind {
	LW_RES_UNKNOWN = 0,
	LW_RES_FILE,   /* regular file, directory, device: name is the path argument */
	LW_RES_SOCKET, /* name empty; family/type/ino identify it */
	LW_RES_PIPE,
	LW_RES_ANON, /* anon inode: name is its type, e.g. "[eventfd]" */
};

/* lw_ev_fd_open.fd_flags */
#define LW_FD_CLOEXEC  (1u << 0)
#define LW_FD_DUP      (1u << 1) /* made by dup/dup2/dup3/F_DUPFD: src_fd is set */
#define LW_FD_RECEIVED (1u << 2) /* arrived with SCM_RIGHTS */

struct lw_ev_fd_open {
	struct lw_ev_hdr hdr;
	__s32 fd;
	__s32 src_fd; /* dup source, else -1 */
	__u32 syscall_nr;
	__u32 fd_flags;
	__u64 ino;
	__u32 dev;
	__u16 res_kind;
	__u16 sock_family;
	__u16 sock_type;
	__u16 __pad0;
	__u32 __pad1;
	char name[LW_NAME_MAX];
	struct lw_stack stack;
	/* slice at LW_SLICE_OFFSET when hdr.flags & LW_F_STACK_PARTIAL */
};
_Static_assert(sizeof(struct lw_ev_fd_open) == 24 + 40 + LW_NAME_MAX + sizeof(struct lw_stack),
	       "lw_ev_fd_open layout");

struct lw_ev_fd_close {
	struct lw_ev_hdr hdr;
	__s32 fd;
	__s32 ret; /* 0, or -errno (-EBADF: was not open) */
	struct lw_stack stack;
};
_Static_assert(sizeof(struct lw_ev_fd_close) == 32 + sizeof(struct lw_stack), "lw_ev_fd_close");
/* A successful close carries a short stack (LW_CLOSE_FRAMES frames, cheap:
 * evidence for a later double close); a failed one a full stack. Readers
 * accept records as short as LW_CLOSE_SHORT (no stack).
 */
#define LW_CLOSE_FRAMES 2
#define LW_CLOSE_SHORT	32

#define LW_RIGHTS_MAX 8 /* fds taken per SCM_RIGHTS message */

/* A send carrying fds. ret < 0: the send failed and the receiver got
 * nothing, so the sender still owns (and must close) every fd it carried.
 */
struct lw_ev_fd_send {
	struct lw_ev_hdr hdr;
	__s32 sock_fd;
	__s32 ret; /* bytes sent, or -errno */
	__u32 nr_fds;
	__u32 __pad;
	__s32 fds[LW_RIGHTS_MAX];
	__u64 inos[LW_RIGHTS_MAX]; /* identity of each carried file, to pair with the receive */
	__u64 peer_ino;		   /* AF_UNIX: inode of the receiving socket, else 0 */
	struct lw_stack stack;	   /* the send; slice follows at LW_SLICE_OFFSET */
};

#define LW_CLOSE_RANGE_UNSHARE (1u << 1) /* linux/close_range.h values */
#define LW_CLOSE_RANGE_CLOEXEC (1u << 2)

struct lw_ev_fd_close_range {
	struct lw_ev_hdr hdr;
	__u32 first;
	__u32 last;
	__u32 flags;
	__u32 __pad;
	struct lw_stack stack; /* the call, for a double close; slice follows at LW_SLICE_OFFSET */
};
_Static_assert(__builtin_offsetof(struct lw_ev_fd_close_range, stack) == 40,
	       "lw_ev_fd_close_range");

struct lw_ev_fd_cloexec {
	struct lw_ev_hdr hdr;
	__s32 fd;
	__u32 cloexec; /* 1 set, 0 cleared */
};
_Static_assert(sizeof(struct lw_ev_fd_cloexec) == 32, "lw_ev_fd_cloexec");

#define LW_FORK_SHARED_FILES (1u << 0) /* CLONE_FILES: child shares the fd table */

struct lw_ev_proc_fork {
	struct lw_ev_hdr hdr; /* tgid = parent */
	__u32 child_tgid;
	__u32 fork_flags;
	char comm[LW_COMM_LEN];
};
_Static_assert(sizeof(struct lw_ev_proc_fork) == 48, "lw_ev_proc_fork");

struct lw_ev_proc_exec {
	struct lw_ev_hdr hdr;
	char comm[LW_COMM_LEN];
	char filename[LW_NAME_MAX];
};
_Static_assert(sizeof(struct lw_ev_proc_exec) == 24 + LW_COMM_LEN + LW_NAME_MAX, "lw_ev_proc_exec");

struct lw_ev_proc_exit {
	struct lw_ev_hdr hdr;
	__s32 exit_code; /* raw wait status: (code << 8) | signal */
	__u32 __pad;
	char comm[LW_COMM_LEN];
};
_Static_assert(sizeof(struct lw_ev_proc_exit) == 48, "lw_ev_proc_exit");

/* The module mapping that contains a pc, so user space can compute the unwind
 * rule and symbolize without racing the process to /proc/PID/maps.
 */
struct lw_ev_cfi_miss {
	struct lw_ev_hdr hdr;
	__u64 pc;
	__u64 vm_start;
	__u64 vm_end;
	__u64 vm_pgoff; /* in pages */
	__u64 ino;
	__u32 dev;
	__u32 found;	/* 0: pc is in no file-backed mapping */
	__u32 nr_comps; /* path components, innermost (file name) first */
	__u32 exec_gen; /* lw_target.exec_gen when asked: part of the rule key */
	/* Walked from the mapped file's dentry up through its mounts: BPF cannot
	 * call d_path() from raw tracepoints. User space joins them in reverse.
	 */
	char comps[LW_PATH_DEPTH][LW_COMP_LEN];
};
_Static_assert(sizeof(struct lw_ev_cfi_miss) == 24 + 56 + LW_PATH_DEPTH * LW_COMP_LEN,
	       "lw_ev_cfi_miss");

/* Unwind rule for one pc of one process, written by user space.
 * x86-64: the return address is always at CFA - 8 and the caller's sp is CFA.
 */
enum lw_cfi_kind {
	LW_CFI_PENDING = 0, /* requested, user space has not answered yet */
	LW_CFI_SP,	    /* CFA = sp + cfa_off */
	LW_CFI_BP,	    /* CFA = bp + cfa_off */
	LW_CFI_END,	    /* outermost frame, or a pc outside any module */
};

/* exec_gen: a process that execs keeps its tgid but not its address space,
 * so rules learnt before the exec must not match after it.
 */
struct lw_cfi_key {
	__u32 tgid;
	__u32 exec_gen;
	__u64 pc;
};

struct lw_cfi_rule {
	__u8 kind;
	__u8 bp_saved; /* caller's bp is at CFA + bp_off; else bp is unchanged */
	__s16 bp_off;
	__s32 cfa_off;
};
_Static_assert(sizeof(struct lw_cfi_rule) == 8, "lw_cfi_rule");

/* ---- memory ---- */

/* A live block: its key and value in the BPF "blocks" table, read at the
 * end. exec_gen: blocks of an image replaced by exec are not that process's.
 */
struct lw_alloc_key {
	__u32 tgid;
	__u32 exec_gen;
	__u64 addr;
};

#define LW_ALLOC_USER	    (1u << 0) /* stack_id 0: user space holds the stack */
#define LW_ALLOC_STACK_LOST (1u << 1) /* stack_id 0: its record was dropped (ring full) */

struct lw_alloc_val {
	__u64 size;
	__u64 stack_id;
	__u64 ts_ns;
	__u32 tid;
	__u32 flags;
};
_Static_assert(sizeof(struct lw_alloc_val) == 32, "lw_alloc_val");

/* The live blocks are a table of buckets (the BPF array "blocks", mapped
 * read-only by user space), each a cache line of tags and the slots they
 * tag. A block lies in the emptier of two buckets its tag chooses (half
 * full on average, none overflows). A tag claims its slot with a
 * compare-and-swap and a removal writes LW_BLK_FREE: no lock and no element
 * allocator on the path every allocation and free takes, as a hash map's
 * update and delete had.
 */
#define LW_BLK_WAYS 8
#define LW_BLK_FREE 0

/* A slot: key.addr is written last when a block goes in and cleared first
 * when it goes out, so a reader that sees it set sees the whole block.
 */
struct lw_alloc_ent {
	struct lw_alloc_key k;
	struct lw_alloc_val v;
};

struct lw_blk_bucket {
	__u64 tag[LW_BLK_WAYS]; /* LW_BLK_FREE or a block's tag */
	struct lw_alloc_ent e[LW_BLK_WAYS];
};
_Static_assert(sizeof(struct lw_blk_bucket) == 8 * LW_BLK_WAYS + 48 * LW_BLK_WAYS, "bucket");

/* The cookie of the mem entry programs. Its low byte is, for mem_alloc,
 * the one session program on every allocating entry point (kernels with
 * uprobe sessions), the function's shape (enum lw_mem_entry). With
 * LW_ME_ARGMAP set, the probe was moved past copies of its arguments
 * (src/stack/probe_place.h): argument i is in the register numbered by
 * bits [LW_ME_ARGMAP_SHIFT + 4i, +4) (x86 encoding: rax 0 ... r15 15).
 */
#define LW_ME_KIND_MASK	   0xffull
#define LW_ME_ARGMAP	   (1ull << 8)
#define LW_ME_ARGMAP_SHIFT 12

enum lw_mem_entry {
	LW_ME_MALLOC = 1,     /* (size): malloc, valloc, pvalloc */
	LW_ME_CALLOC,	      /* (n, size) */
	LW_ME_REALLOC,	      /* (ptr, size) */
	LW_ME_REALLOCARRAY,   /* (ptr, n, size) */
	LW_ME_MEMALIGN,	      /* (align, size): memalign, aligned_alloc */
	LW_ME_POSIX_MEMALIGN, /* (void **, align, size) */
};

/* A deduplicated allocation stack (in "mem_sites") */
struct lw_stack_ips {
	__u32 nr;
	__u32 flags; /* LW_STK_* */
	__u64 ips[LW_STACK_MAX];
};

/* Per stack id, what is live: summed from the live blocks for --interval
 * growth (lw_loader__read_mem_totals)
 */
struct lw_mem_total {
	__u64 live_bytes;
	__u64 live_count;
};

/* "mem_sites" map value, per stack id: the stack. Its totals are summed
 * from the live blocks when asked for (lw_loader__read_mem_totals): kept
 * in BPF, the atomic adds on a site shared by two CPUs' threads cost a
 * server's allocations and frees a cache-line transfer each.
 */
struct lw_mem_site {
	struct lw_stack_ips s;
};

struct lw_ev_mem_alloc {
	struct lw_ev_hdr hdr;
	__u64 addr;
	__u64 size;
	__u32 exec_gen;
	__u32 owner; /* the process whose heap holds it (a vfork child's parent), 0: hdr.tgid */
	struct lw_stack stack; /* slice follows at LW_SLICE_OFFSET */
};

struct lw_ev_mem_free_user {
	struct lw_ev_hdr hdr;
	__u64 addr;
	__u32 exec_gen;
	__u32 __pad;
};

/* Anonymous mappings (mmap with MAP_ANONYMOUS and fd -1), a class of their
 * own: reported from the mmap syscall's exit with the caller's stack.
 */
struct lw_ev_mmap_anon {
	struct lw_ev_hdr hdr;
	__u64 addr; /* the return value */
	__u64 len;  /* as passed (user space rounds up to pages) */
	__u32 prot;
	__u32 flags;	       /* mmap flags argument */
	struct lw_stack stack; /* slice follows at LW_SLICE_OFFSET */
};

struct lw_ev_munmap {
	struct lw_ev_hdr hdr;
	__u64 addr;
	__u64 len;
};
_Static_assert(sizeof(struct lw_ev_munmap) == 40, "lw_ev_munmap");

enum lw_bad_free_kind {
	LW_BAD_FREE_DOUBLE = 1, /* freed before, not allocated again since */
	LW_BAD_FREE_INVALID,	/* never allocated by this process image */
};

/* lw_ev_mem_bad_free.call: which call was handed the address */
enum lw_bad_free_call {
	LW_BAD_FREE_BY_FREE = 0,
	LW_BAD_FREE_BY_REALLOC, /* realloc or reallocarray: judged at its entry */
};

struct lw_ev_mem_bad_free {
	struct lw_ev_hdr hdr;
	__u64 addr;
	__u32 kind;
	__u32 exec_gen;
	__u64 size;		/* of the block when it was live (double free) */
	__u64 alloc_stack_id;	/* 0: unknown */
	__u64 prev_free_caller; /* return address of the earlier free() or realloc() call */
	__u64 __reserved; /* 0: keeps the layout of recorded sessions (a free's time cost every free
			     a clock read) */
	__u64 alloc_ts;
	__u32 call; /* enum lw_bad_free_call */
	__u32 __pad;
	struct lw_stack stack; /* this free; slice follows at LW_SLICE_OFFSET */
};

/* --last-touch: the last syscall that used an fd, per (tgid, fd) */
struct lw_touch_key {
	__u32 tgid;
	__s32 fd;
};

#define LW_TOUCH_FRAMES 3

struct lw_touch {
	__u32 nr; /* syscall number */
	__u32 nr_ips;
	__u64 ts_ns;
	__u64 ips[LW_TOUCH_FRAMES]; /* the libc wrapper and its callers */
};

/* The rare touch whose stack BPF could not finish (first sight of a call
 * site): user space finishes it and keeps it if it is the newest.
 */
struct lw_ev_fd_touch {
	struct lw_ev_hdr hdr;
	__s32 fd;
	__u32 nr;
	struct lw_stack stack; /* slice follows at LW_SLICE_OFFSET */
};

/* ---- mounts ---- */

/* lw_ev_mount.flags: PROPAGATES and ISOLATED from BPF at mount time (user
 * space falls back to /proc/PID/mountinfo for PROPAGATES), NEW_NS from
 * user space
 */
#define LW_MNT_PROPAGATES (1u << 0) /* the new mount joined a shared peer group */
#define LW_MNT_NEW_NS	  (1u << 1) /* made in a namespace created by unshare/clone */
/* the mount the new one sits on is in no peer group and slave to none:
 * nothing propagates to or from that place, no other namespace's mount
 * or umount2 there can touch it
 */
#define LW_MNT_ISOLATED (1u << 2)

struct lw_ev_mount {
	struct lw_ev_hdr hdr;
	__u32 nr;	 /* syscall number (x86-64) */
	__s32 ret;	 /* 0 or -errno */
	__u64 arg_flags; /* mount flags, umount2 flags, or unshare/setns/clone flags */
	__u32 mnt_ns;	 /* the caller's mount namespace inode, after the call */
	__u32 flags;	 /* LW_MNT_* */
	char source[LW_NAME_MAX];
	char target[LW_NAME_MAX]; /* as passed; relative paths are left as they are */
	char fstype[32];
	struct lw_stack stack; /* slice follows at LW_SLICE_OFFSET */
};

/* ---- acquire/release pairs ---- */

/* What a pair rule's function does to its handle. */
enum lw_pair_op {
	LW_PAIR_ACQUIRE = 1, /* handle now exists with balance 1 */
	LW_PAIR_RETAIN,	     /* +1 */
	LW_PAIR_RELEASE,     /* -1; at 0 the handle is gone */
	LW_PAIR_DESTROY,     /* gone, whatever the balance */
};

/* Where a rule finds its handle. */
enum lw_pair_handle {
	LW_PAIR_H_RET = 1, /* the return value (NULL: nothing happened) */
	LW_PAIR_H_ARG,	   /* argument n at entry */
	LW_PAIR_H_OUTARG,  /* *argument n after return (gnutls_init(&session)) */
};

/* The uprobe's BPF cookie: rule index, handle source and argument number. */
#define LW_PAIR_COOKIE(rule, how, argn)                                                            \
	((__u64)(rule) | ((__u64)(how) << 32) | ((__u64)(argn) << 40))
#define LW_PAIR_COOKIE_RULE(c) ((__u32)(c))
#define LW_PAIR_COOKIE_HOW(c)  ((__u32)((c) >> 32) & 0xff)
#define LW_PAIR_COOKIE_ARGN(c) ((__u32)((c) >> 40) & 0xff)

struct lw_ev_pair {
	struct lw_ev_hdr hdr;
	__u32 rule; /* index into the session's rule table */
	__u32 __pad;
	__u64 handle;
	struct lw_stack stack; /* slice follows at LW_SLICE_OFFSET */
};

/* Every stack-carrying record ends with its struct lw_stack; when BPF could
 * not finish the unwind (LW_F_STACK_PARTIAL), stack.slice_len bytes of user
 * stack follow at LW_SLICE_OFFSET, not right after the record: the BPF
 * scratch buffer holds the record, a gap, then the slice, and hdr.size
 * covers all three. So every such record must fit before the offset.
 */
#define LW_SLICE_OFFSET 768
#define LW_SCRATCH_SIZE (LW_SLICE_OFFSET + LW_SLICE_MAX)
/* ... and ends with its stack: lw_emit_with_stack() finds it from the size */
#define LW_STACK_RECORD(T)                                                                         \
	_Static_assert(sizeof(T) <= LW_SLICE_OFFSET &&                                             \
			   __builtin_offsetof(T, stack) + sizeof(struct lw_stack) == sizeof(T),    \
		       #T ": stack last, before the slice")
LW_STACK_RECORD(struct lw_ev_fd_open);
LW_STACK_RECORD(struct lw_ev_fd_close);
LW_STACK_RECORD(struct lw_ev_fd_close_range);
LW_STACK_RECORD(struct lw_ev_fd_send);
LW_STACK_RECORD(struct lw_ev_mem_alloc);
LW_STACK_RECORD(struct lw_ev_mem_bad_free);
LW_STACK_RECORD(struct lw_ev_pair);
LW_STACK_RECORD(struct lw_ev_mount);
LW_STACK_RECORD(struct lw_ev_fd_touch);
LW_STACK_RECORD(struct lw_ev_mmap_anon);

/* tgid map value: why a process is traced */
#define LW_TGT_ROOT	 (1u << 0) /* the command or attached pid itself */
#define LW_TGT_FROM_EXEC (1u << 1) /* seen since its exec: every allocation is known */

struct lw_target {
	__u32 flags;
	__u32 parent_tgid;
	__u32 exec_gen;	 /* bumped by BPF at every exec */
	__u32 vm_parent; /* vfork child, until it execs: whose heap it uses (0: its own) */
};

#include <leakwatch/stats.h> /* struct lw_stats */

#endif /* LEAKWATCH_EVENTS_H */
