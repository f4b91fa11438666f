// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* liblwinject: the LD_PRELOAD half of `leakwatch run --inject`.
 *
 * Wraps allocators and fd-creating / IPC calls; a call chosen by the rules
 * in $LW_INJECT_CONF fails with the rule's errno instead of reaching the real
 * function, and the library appends a `fault` record (with its stack) to the
 * configured log. In record mode it logs each distinct call site (`site`).
 * Without LW_INJECT_CONF every call passes straight through.
 *
 * Protocol details the conf and log formats leave open:
 *  - a conf whose `version` is not 1 is ignored as a whole; no `scope`
 *    line means every site is recorded;
 *  - open64, openat64, creat64, mmap64, fopen64 and the fortified entry
 *    points (__read_chk, __recv_chk, __recvfrom_chk, __open_2, ...) are the
 *    same func as their base name, in rules and in records;
 *  - rules are tried in conf order; each matching one counts the call and
 *    the first that decides to fail wins: later rules do not see that call;
 *  - `init` is written by every image that reads a conf, `top` or not;
 *  - the stack hash is FNV-1a 64 over, per frame, the module path bytes then
 *    the 8 bytes of ip - dlpi_addr, least significant first; a frame in no
 *    module hashes "?" and its absolute ip, and its frame line shows the
 *    absolute ip twice and the path "?";
 *  - frames=k counts the frame lines written: a record longer than 8 KiB
 *    leaves its outermost frames off (the hash still covers them);
 *  - counts are per process image: a forked child starts from its parent's
 *    counts (it inherits the memory), an exec'd image from zero; the child
 *    does log its own sites again, under its own pid.
 *
 * Everything the library does itself runs with the thread-local guard set,
 * so the calls it makes (unwinder, realpath) pass through untouched; its own
 * file I/O uses raw syscalls and never keeps an fd open in the target.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define LW_API __attribute__((visibility("default")))

#define LW_MAX_RULES  16
#define LW_MAX_WHERE  64
#define LW_MAX_WNAMES 16

/* scope: every site, those with a frame in the executable, or those whose
 * call site is the program's own code (not a system library's)
 */
#define LW_SCOPE_ALL  0
#define LW_SCOPE_EXE  1
#define LW_SCOPE_OWN  2
#define LW_MAX_RANGES 1024
#define LW_MAX_SITES  64
#define LW_MAX_FRAMES 32
#define LW_MAX_MODS   512
#define LW_POOL	      (128 * 1024)
#define LW_SEEN	      4096
#define LW_CONF_MAX   (64 * 1024)
#define LW_RECBUF     8192
#define LW_ARENA      (64 * 1024)
#define LW_ALTSTACK   (64 * 1024)

/* The funcs a rule or record line names (the 64-bit variants are the same
 * func: open64 counts and fails as open). */
#define LW_FUNCS(X)                                                                                \
	X(malloc)                                                                                  \
	X(calloc)                                                                                  \
	X(realloc)                                                                                 \
	X(posix_memalign)                                                                          \
	X(aligned_alloc)                                                                           \
	X(memalign)                                                                                \
	X(valloc)                                                                                  \
	X(pvalloc)                                                                                 \
	X(strdup)                                                                                  \
	X(strndup)                                                                                 \
	X(sendmsg)                                                                                 \
	X(sendmmsg)                                                                                \
	X(send)                                                                                    \
	X(sendto)                                                                                  \
	X(write)                                                                                   \
	X(writev)                                                                                  \
	X(read)                                                                                    \
	X(readv)                                                                                   \
	X(recv)                                                                                    \
	X(recvmsg)                                                                                 \
	X(recvfrom)                                                                                \
	X(accept)                                                                                  \
	X(accept4)                                                                                 \
	X(socket)                                                                                  \
	X(socketpair)                                                                              \
	X(connect)                                                                                 \
	X(open)                                                                                    \
	X(openat)                                                                                  \
	X(creat)                                                                                   \
	X(pipe)                                                                                    \
	X(pipe2)                                                                                   \
	X(dup)                                                                                     \
	X(dup2)                                                                                    \
	X(dup3)                                                                                    \
	X(mmap)                                                                                    \
	X(fopen)                                                                                   \
	X(epoll_create1)                                                                           \
	X(eventfd)                                                                                 \
	X(memfd_create)

/* Real symbols, each with the func it counts as: the wrapped names plus
 * their 64-bit and fortified (_chk, _2) aliases, which callers built with
 * _FILE_OFFSET_BITS=64 or _FORTIFY_SOURCE reach instead. */
#define LW_REALS(X)                                                                                \
	X(malloc, malloc)                                                                          \
	X(calloc, calloc)                                                                          \
	X(realloc, realloc)                                                                        \
	X(posix_memalign, posix_memalign)                                                          \
	X(aligned_alloc, aligned_alloc)                                                            \
	X(memalign, memalign)                                                                      \
	X(valloc, valloc)                                                                          \
	X(pvalloc, pvalloc)                                                                        \
	X(strdup, strdup)                                                                          \
	X(strndup, strndup)                                                                        \
	X(sendmsg, sendmsg)                                                                        \
	X(sendmmsg, sendmmsg)                                                                      \
	X(send, send)                                                                              \
	X(sendto, sendto)                                                                          \
	X(write, write)                                                                            \
	X(writev, writev)                                                                          \
	X(read, read)                                                                              \
	X(__read_chk, read)                                                                        \
	X(readv, readv)                                                                            \
	X(recv, recv)                                                                              \
	X(__recv_chk, recv)                                                                        \
	X(recvmsg, recvmsg)                                                                        \
	X(recvfrom, recvfrom)                                                                      \
	X(__recvfrom_chk, recvfrom)                                                                \
	X(accept, accept)                                                                          \
	X(accept4, accept4)                                                                        \
	X(socket, socket)                                                                          \
	X(socketpair, socketpair)                                                                  \
	X(connect, connect)                                                                        \
	X(open, open)                                                                              \
	X(open64, open)                                                                            \
	X(__open_2, open)                                                                          \
	X(__open64_2, open)                                                                        \
	X(openat, openat)                                                                          \
	X(openat64, openat)                                                                        \
	X(__openat_2, openat)                                                                      \
	X(__openat64_2, openat)                                                                    \
	X(creat, creat)                                                                            \
	X(creat64, creat)                                                                          \
	X(pipe, pipe)                                                                              \
	X(pipe2, pipe2)                                                                            \
	X(dup, dup)                                                                                \
	X(dup2, dup2)                                                                              \
	X(dup3, dup3)                                                                              \
	X(mmap, mmap)                                                                              \
	X(mmap64, mmap)                                                                            \
	X(fopen, fopen)                                                                            \
	X(fopen64, fopen)                                                                          \
	X(epoll_create1, epoll_create1)                                                            \
	X(eventfd, eventfd)                                                                        \
	X(memfd_create, memfd_create)

enum {
#define X(f) F_##f,
	LW_FUNCS(X)
#undef X
	    F_COUNT
};

enum {
#define X(s, f) R_##s,
	LW_REALS(X)
#undef X
	    R_COUNT
};

static const char *const func_names[F_COUNT] = {
#define X(f) #f,
    LW_FUNCS(X)
#undef X
};

static const char *const real_names[R_COUNT] = {
#define X(s, f) #s,
    LW_REALS(X)
#undef X
};

static const unsigned char real_func[R_COUNT] = {
#define X(s, f) F_##f,
    LW_REALS(X)
#undef X
};

struct lw_rule {
	int id, func, err;
	unsigned long long first, last, every;
	uint64_t where_mask; /* bits of st.where that constrain this rule */
	uint32_t wname_mask; /* bits of st.wnames that constrain it too */
	int nsites;	     /* site lines that constrain it */
	unsigned long long count;
};

struct lw_where {
	int rule; /* index into st.rules */
	uintptr_t lo, hi;
	const char *path;
};

struct lw_site {
	int rule;
	uint64_t hash;
};

/* "wname": a WHERE by function name, looked up in each module's own symbol
 * table when the module is first seen, so it works in programs the command
 * runs that leakwatch never saw (make test, sh -c ...)
 */
struct lw_wname {
	int rule;
	const char *name;
};

struct lw_range {
	uintptr_t lo, hi; /* module-relative */
	int wname;
};

/* One loaded object. Entries are only ever appended (published by
 * st.nmods), so readers, the crash handler among them, need no lock. */
struct lw_mod {
	const void *map;	  /* its struct link_map */
	uintptr_t base;		  /* l_addr, i.e. dlpi_addr */
	uintptr_t start, end;	  /* its mapping */
	uint64_t where_mask;	  /* where lines naming this module's path */
	unsigned range0, nranges; /* its functions named by wname lines */
	const char *path;
	size_t plen;
	int exe;
	int own; /* the executable, or a library outside the system directories */
};

struct lw_frame {
	uintptr_t ip, rel;
	const struct lw_mod *mod;
};

struct lw_stack {
	int n, has_exe;
	int own_caller; /* frame 0 (the call site) is in the program's own code */
	uint64_t hash;
	struct lw_frame f[LW_MAX_FRAMES + 8];
};

/* All process-wide state. */
static struct lw_state {
	uint64_t mask;	      /* funcs with a rule or a record line */
	uint64_t record_mask; /* funcs in record mode */
	void *real[R_COUNT];
	pid_t top;
	int scope; /* LW_SCOPE_*: which sites record mode logs */
	int crash_armed;
	char log[PATH_MAX];
	int nrules, nwhere, nsites;
	struct lw_rule rules[LW_MAX_RULES];
	struct lw_where where[LW_MAX_WHERE];
	struct lw_site sites[LW_MAX_SITES];
	int nwnames;
	struct lw_wname wnames[LW_MAX_WNAMES];
	unsigned nranges;
	struct lw_range ranges[LW_MAX_RANGES];
	uintptr_t self_lo, self_hi;
	/* module cache */
	int mod_lock;
	unsigned nmods;
	struct lw_mod mods[LW_MAX_MODS];
	size_t pool_used;
	char pool[LW_POOL];
	/* (func, stack hash) pairs already logged as sites */
	uint64_t seen[LW_SEEN];
	/* allocations made while dlsym resolves the allocator itself */
	size_t arena_used;
	_Alignas(16) char arena[LW_ARENA];
	_Alignas(16) char altstack[LW_ALTSTACK];
	char conf[LW_CONF_MAX];
} st;

/* set while the library itself works: calls pass straight through */
static __thread int in_lw __attribute__((tls_model("initial-exec")));
/* set while dlsym resolves a real function */
static __thread int resolving __attribute__((tls_model("initial-exec")));

LW_API int leakwatch_inject_v1;

/* glibc's own allocator entry points: the bootstrap fallback */
extern void *__libc_malloc(size_t) __attribute__((weak));
extern void *__libc_calloc(size_t, size_t) __attribute__((weak));
extern void *__libc_realloc(void *, size_t) __attribute__((weak));
extern void *__libc_memalign(size_t, size_t) __attribute__((weak));
extern void *__libc_valloc(size_t) __attribute__((weak));
extern void *__libc_pvalloc(size_t) __attribute__((weak));

/* ---- real functions and the bootstrap ---- */

static void *lw_resolve(int r)
{
	void *p;

	if (resolving)
		return NULL; /* dlsym itself allocating: the caller falls back */
	resolving = 1;
	in_lw++;
	p = dlsym(RTLD_NEXT, real_names[r]);
	in_lw--;
	resolving = 0;
	if (p)
		__atomic_store_n(&st.real[r], p, __ATOMIC_RELEASE);
	return p;
}

static inline void *lw_real(int r)
{
	void *p = __atomic_load_n(&st.real[r], __ATOMIC_ACQUIRE);

	return p ? p : lw_resolve(r);
}

#define REAL(name) ((__typeof__(&name))lw_real(R_##name))

/* Last resort when glibc's __libc_* are absent: a bump arena whose blocks
 * are never handed to the real allocator (realloc copies them out). */
static void *lw_arena_alloc(size_t n, size_t align)
{
	size_t cur, start, end;

	if (align < 16)
		align = 16;
	cur = __atomic_load_n(&st.arena_used, __ATOMIC_RELAXED);
	do {
		start = (cur + 16 + align - 1) & ~(align - 1);
		end = start + n;
		if (n > LW_ARENA || end > LW_ARENA)
			return NULL;
	} while (!__atomic_compare_exchange_n(&st.arena_used, &cur, end, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	memcpy(st.arena + start - sizeof(size_t), &n, sizeof(n));
	return st.arena + start; /* static storage: already zero */
}

static int lw_in_arena(const void *p)
{
	return (const char *)p >= st.arena && (const char *)p < st.arena + LW_ARENA;
}

static void *lw_boot_malloc(size_t n)
{
	return __libc_malloc ? __libc_malloc(n) : lw_arena_alloc(n, 16);
}

static void *lw_boot_calloc(size_t a, size_t b)
{
	size_t n;

	if (__libc_calloc)
		return __libc_calloc(a, b);
	return __builtin_mul_overflow(a, b, &n) ? NULL : lw_arena_alloc(n, 16);
}

static void *lw_boot_memalign(size_t align, size_t n)
{
	return __libc_memalign ? __libc_memalign(align, n) : lw_arena_alloc(n, align);
}

/* ---- formatting (async-signal-safe) ---- */

struct lw_buf {
	char *p, *end;
	int over;
};

static void put_mem(struct lw_buf *b, const char *s, size_t n)
{
	if (b->over || (size_t)(b->end - b->p) < n) {
		b->over = 1;
		return;
	}
	memcpy(b->p, s, n);
	b->p += n;
}

static void put_str(struct lw_buf *b, const char *s)
{
	put_mem(b, s, strlen(s));
}

/* a path, with newlines made '?' so a record stays line-structured */
static void put_path(struct lw_buf *b, const char *s, size_t n)
{
	char *p = b->p;

	put_mem(b, s, n);
	for (; !b->over && p < b->p; p++)
		if (*p == '\n')
			*p = '?';
}

static void put_dec(struct lw_buf *b, long long v)
{
	char t[24];
	int i = sizeof(t);
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do
		t[--i] = '0' + u % 10;
	while (u /= 10);
	if (v < 0)
		t[--i] = '-';
	put_mem(b, t + i, sizeof(t) - i);
}

static void put_hex(struct lw_buf *b, unsigned long long v, int width)
{
	char t[16];
	int i = sizeof(t);

	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || sizeof(t) - i < (size_t)width);
	put_mem(b, t + i, sizeof(t) - i);
}

static long lw_gettid(void)
{
	return syscall(SYS_gettid);
}

/* One record, one write, the log opened and closed around it. */
static void lw_log(const char *s, size_t n)
{
	long fd;

	if (!st.log[0])
		return;
	fd = syscall(SYS_openat, AT_FDCWD, st.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	syscall(SYS_write, fd, s, n);
	syscall(SYS_close, fd);
}

/* head (without " frames=") + " frames=k\n" + k frame lines + "end\n";
 * frames that do not fit the buffer are left off and k says so. */
static void lw_emit(struct lw_buf *head, char *head_start, const struct lw_frame *f, int n)
{
	char buf[LW_RECBUF], tail[32];
	size_t hlen = head->p - head_start;
	struct lw_buf b = {buf + 1024, buf + sizeof(buf) - 4, 0};
	struct lw_buf t = {tail, tail + sizeof(tail), 0};
	char *start;
	int k;

	if (head->over || hlen + sizeof(tail) > 1024)
		return;
	for (k = 0; k < n; k++) {
		char *save = b.p;
		const char *path = f[k].mod ? f[k].mod->path : "?";
		size_t plen = f[k].mod ? f[k].mod->plen : 1;

		put_mem(&b, " ", 1);
		put_hex(&b, f[k].ip, 0);
		put_mem(&b, " ", 1);
		put_hex(&b, f[k].rel, 0);
		put_mem(&b, " ", 1);
		put_path(&b, path, plen);
		put_mem(&b, "\n", 1);
		if (b.over) {
			b.p = save;
			break;
		}
	}
	memcpy(b.p, "end\n", 4);
	b.p += 4;
	put_str(&t, " frames=");
	put_dec(&t, k);
	put_mem(&t, "\n", 1);
	start = buf + 1024 - (t.p - tail) - hlen;
	memcpy(start, head_start, hlen);
	memcpy(start + hlen, tail, t.p - tail);
	lw_log(start, b.p - start);
}

/* ---- modules ----
 * Looked up with _dl_find_object, which takes no lock: dl_iterate_phdr's
 * lock is not reset by fork, so a child forked while another thread walked
 * would hang in its first walk (and the crash handler must not lock). */

static void lw_lock(void)
{
	while (__atomic_exchange_n(&st.mod_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void lw_unlock(void)
{
	__atomic_store_n(&st.mod_lock, 0, __ATOMIC_RELEASE);
}

static const char *lw_pool_add(const char *s, size_t n)
{
	char *p;

	if (st.pool_used + n + 1 > LW_POOL)
		return NULL;
	p = st.pool + st.pool_used;
	memcpy(p, s, n);
	p[n] = 0;
	st.pool_used += n + 1;
	return p;
}

static size_t lw_exe_path(char *buf, size_t size)
{
	long n = syscall(SYS_readlink, "/proc/self/exe", buf, size - 1);

	if (n <= 0)
		n = 0;
	buf[n] = 0;
	return n;
}

static const struct lw_mod *lw_mod_find(const struct dl_find_object *fo, unsigned from, unsigned to)
{
	while (to-- > from) {
		const struct lw_mod *m = &st.mods[to];

		if (m->map == fo->dlfo_link_map && m->start == (uintptr_t)fo->dlfo_map_start &&
		    m->end == (uintptr_t)fo->dlfo_map_end)
			return m;
	}
	return NULL;
}

/* Append to st.ranges every defined function of st.wnames in one symbol
 * table section of the ELF image at img (len bytes), bounds-checked.
 */
static void lw_scan_symtab(const char *img, size_t len, const Elf64_Shdr *sh, const Elf64_Shdr *str)
{
	size_t n = sh->sh_entsize == sizeof(Elf64_Sym) ? sh->sh_size / sizeof(Elf64_Sym) : 0;

	if (sh->sh_offset > len || sh->sh_size > len - sh->sh_offset || str->sh_offset > len ||
	    str->sh_size > len - str->sh_offset)
		return;
	for (size_t i = 0; i < n; i++) {
		const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh->sh_offset) + i;
		const char *name;

		if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_shndx == SHN_UNDEF ||
		    !sym->st_value || sym->st_name >= str->sh_size)
			continue;
		name = img + str->sh_offset + sym->st_name;
		for (int w = 0; w < st.nwnames; w++) {
			size_t nl = strnlen(name, str->sh_size - sym->st_name);

			if (nl != strlen(st.wnames[w].name) || memcmp(name, st.wnames[w].name, nl))
				continue;
			if (st.nranges == LW_MAX_RANGES)
				return;
			st.ranges[st.nranges].lo = sym->st_value;
			st.ranges[st.nranges].hi =
			    sym->st_value + (sym->st_size ? sym->st_size : 1);
			st.ranges[st.nranges++].wname = w;
		}
	}
}

/* The functions st.wnames name in the file at path (.symtab and .dynsym). */
static void lw_scan_names(const char *path)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	char *img;
	size_t len;

	if (fd < 0)
		return;
	if (syscall(SYS_fstat, fd, &sb) || sb.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		syscall(SYS_close, fd);
		return;
	}
	len = sb.st_size;
	img = (char *)syscall(SYS_mmap, NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	syscall(SYS_close, fd);
	if (img == MAP_FAILED)
		return;
	eh = (const Elf64_Ehdr *)img;
	if (!memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff < len &&
	    eh->e_shnum <= (len - eh->e_shoff) / sizeof(Elf64_Shdr)) {
		sh = (const Elf64_Shdr *)(img + eh->e_shoff);
		for (unsigned i = 0; i < eh->e_shnum; i++)
			if ((sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_DYNSYM) &&
			    sh[i].sh_link < eh->e_shnum)
				lw_scan_symtab(img, len, &sh[i], &sh[sh[i].sh_link]);
	}
	syscall(SYS_munmap, img, len);
}

/* The distribution's libraries (libc, ld.so, libstdc++, ...): a call they
 * make is not the program's own (scope own).
 */
static int lw_system_path(const char *p)
{
	static const char *const dirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
					   "/usr/libexec/"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(p, dirs[i], strlen(dirs[i])))
			return 1;
	return !p[0] || p[0] == '['; /* vdso */
}

/* caller holds the lock */
static const struct lw_mod *lw_mod_add(const struct dl_find_object *fo)
{
	const struct link_map *lm = fo->dlfo_link_map;
	const char *name = lm->l_name ? lm->l_name : "";
	int exe = !name[0] && !lm->l_prev;
	struct lw_mod *m = &st.mods[st.nmods];
	char path[PATH_MAX];
	size_t plen;

	if (st.nmods == LW_MAX_MODS)
		return NULL;
	if (exe)
		plen = lw_exe_path(path, sizeof(path));
	else if (realpath(name, path))
		plen = strlen(path);
	else
		plen = strlen(strncpy(path, name, sizeof(path) - 1)); /* vdso: no file */
	path[sizeof(path) - 1] = 0;
	m->path = lw_pool_add(path, plen);
	if (!m->path)
		return NULL;
	m->plen = plen;
	m->map = lm;
	m->base = lm->l_addr;
	m->start = (uintptr_t)fo->dlfo_map_start;
	m->end = (uintptr_t)fo->dlfo_map_end;
	m->exe = exe;
	m->own = exe || !lw_system_path(m->path);
	m->where_mask = 0;
	for (int w = 0; w < st.nwhere; w++)
		if (!strcmp(st.where[w].path, m->path))
			m->where_mask |= 1ULL << w;
	m->range0 = st.nranges;
	if (st.nwnames)
		lw_scan_names(m->path);
	m->nranges = st.nranges - m->range0;
	__atomic_store_n(&st.nmods, st.nmods + 1, __ATOMIC_RELEASE);
	return m;
}

/* The module of ip, cached by link map and span (a dlclose'd object's
 * entry never matches its successor at the same address). may_add 0: the
 * crash handler, which only reads the cache. */
static const struct lw_mod *lw_mod_of(uintptr_t ip, int may_add)
{
	struct dl_find_object fo;
	const struct lw_mod *m;
	unsigned n;

	if (_dl_find_object((void *)ip, &fo) || !fo.dlfo_link_map)
		return NULL;
	n = __atomic_load_n(&st.nmods, __ATOMIC_ACQUIRE);
	m = lw_mod_find(&fo, 0, n);
	if (m || !may_add)
		return m;
	lw_lock();
	m = lw_mod_find(&fo, n, st.nmods);
	if (!m)
		m = lw_mod_add(&fo);
	lw_unlock();
	return m;
}

/* ---- stacks ---- */

struct lw_walk {
	uintptr_t *ip;
	int n, max;
};

static _Unwind_Reason_Code lw_walk_cb(struct _Unwind_Context *ctx, void *arg)
{
	struct lw_walk *w = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);

	if (!ip)
		return _URC_END_OF_STACK;
	if (ip >= st.self_lo && ip < st.self_hi)
		return _URC_NO_REASON; /* the library's own frames */
	w->ip[w->n++] = ip;
	return w->n == w->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

static int lw_unwind(uintptr_t *ip, int max)
{
	struct lw_walk w = {ip, 0, max};

	_Unwind_Backtrace(lw_walk_cb, &w);
	return w.n;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}

/* Modules, relative addresses and the ASLR-independent hash: per frame, the
 * module path bytes then the 8 bytes (least significant first) of ip minus
 * dlpi_addr; a frame in no module hashes "?" and its absolute ip. */
static void lw_stack_finish(struct lw_stack *s, int may_add)
{
	s->hash = 0xcbf29ce484222325ULL;
	s->has_exe = 0;
	s->own_caller = 0;
	for (int i = 0; i < s->n; i++) {
		struct lw_frame *f = &s->f[i];
		unsigned char le[8];

		f->mod = lw_mod_of(f->ip, may_add);
		f->rel = f->mod ? f->ip - f->mod->base : f->ip;
		if (f->mod && f->mod->exe)
			s->has_exe = 1;
		if (i == 0)
			s->own_caller = f->mod && f->mod->own;
		s->hash = f->mod ? fnv(s->hash, f->mod->path, f->mod->plen) : fnv(s->hash, "?", 1);
		for (int b = 0; b < 8; b++)
			le[b] = (uint64_t)f->rel >> (8 * b);
		s->hash = fnv(s->hash, le, 8);
	}
}

static void lw_stack(struct lw_stack *s)
{
	uintptr_t ip[LW_MAX_FRAMES];

	s->n = lw_unwind(ip, LW_MAX_FRAMES);
	for (int i = 0; i < s->n; i++)
		s->f[i].ip = ip[i];
	lw_stack_finish(s, 1);
}

/* ---- crash evidence ---- */

static void lw_crash(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	int saved = errno, from = -1, k = 0;
	uintptr_t ip[LW_MAX_FRAMES + 8], pc = 0;
	char head[256];
	struct lw_buf h = {head, head + sizeof(head), 0};
	struct lw_stack s;
	int n;

	in_lw++;
#if defined(__x86_64__)
	pc = uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	pc = uc->uc_mcontext.pc;
#else
	(void)uc;
#endif
	/* the walk sees the handler and the signal trampoline first: keep from
	 * the interrupted frame on */
	n = lw_unwind(ip, LW_MAX_FRAMES + 8);
	for (int i = 0; i < n && from < 0; i++)
		if (ip[i] == pc || ip[i] == pc + 1)
			from = i + 1;
	s.f[k++].ip = pc;
	for (int i = from < 0 ? 0 : from; i < n && k < LW_MAX_FRAMES; i++)
		s.f[k++].ip = ip[i];
	s.n = k;
	lw_stack_finish(&s, 0);
	put_str(&h, "crash pid=");
	put_dec(&h, syscall(SYS_getpid));
	put_str(&h, " tid=");
	put_dec(&h, lw_gettid());
	put_str(&h, " sig=");
	put_dec(&h, sig);
	put_str(&h, " addr=");
	put_hex(&h, (uintptr_t)si->si_addr, 0);
	lw_emit(&h, head, s.f, s.n);
	in_lw--;
	errno = saved;
	/* SA_RESETHAND restored SIG_DFL: a faulting instruction faults again
	 * on return; a sent signal (or abort) has to be raised again */
	if (sig == SIGABRT || si->si_code <= 0)
		syscall(SYS_tgkill, syscall(SYS_getpid), lw_gettid(), sig);
}

/* After the first fault: a handler for the crash signals nobody handles,
 * so a crash the fault causes leaves its stack in the log. */
static void lw_arm_crash(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	stack_t ss;

	if (__atomic_exchange_n(&st.crash_armed, 1, __ATOMIC_ACQ_REL))
		return;
	if (!sigaltstack(NULL, &ss) && (ss.ss_flags & SS_DISABLE)) {
		ss.ss_sp = st.altstack;
		ss.ss_size = sizeof(st.altstack);
		ss.ss_flags = 0;
		sigaltstack(&ss, NULL);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa;

		if (sigaction(sigs[i], NULL, &old) || (old.sa_flags & SA_SIGINFO) ||
		    old.sa_handler != SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = lw_crash;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* ---- decisions ---- */

static int lw_rule_matches(int ri, const struct lw_rule *r, const struct lw_stack *s)
{
	/* where and wname lines: any of them */
	if (r->where_mask || r->wname_mask) {
		int ok = 0;

		for (int i = 0; i < s->n && !ok; i++) {
			const struct lw_frame *f = &s->f[i];
			uint64_t m = f->mod ? f->mod->where_mask & r->where_mask : 0;

			for (; m && !ok; m &= m - 1) {
				const struct lw_where *w = &st.where[__builtin_ctzll(m)];

				ok = f->rel >= w->lo && f->rel < w->hi;
			}
			for (unsigned k = 0; f->mod && !ok && k < f->mod->nranges; k++) {
				const struct lw_range *g = &st.ranges[f->mod->range0 + k];

				ok = (r->wname_mask >> g->wname & 1) && f->rel >= g->lo &&
				     f->rel < g->hi;
			}
		}
		if (!ok)
			return 0;
	}
	if (r->nsites) {
		for (int i = 0; i < st.nsites; i++)
			if (st.sites[i].rule == ri && st.sites[i].hash == s->hash)
				return 1;
		return 0;
	}
	return 1;
}

/* 1 the first time this process sees (func, hash) */
static int lw_seen_insert(int func, uint64_t hash)
{
	uint64_t key = hash ^ ((uint64_t)(func + 1) * 0x9e3779b97f4a7c15ULL);

	if (!key)
		key = 1;
	for (unsigned i = 0, h = key % LW_SEEN; i < LW_SEEN; i++, h = (h + 1) % LW_SEEN) {
		uint64_t cur = __atomic_load_n(&st.seen[h], __ATOMIC_RELAXED);

		while (!cur) {
			if (__atomic_compare_exchange_n(&st.seen[h], &cur, key, 0, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				return 1;
		}
		if (cur == key)
			return 0;
	}
	return 1; /* full: log anyway */
}

static void lw_head(struct lw_buf *h, const char *kind, int tid)
{
	put_str(h, kind);
	put_str(h, " pid=");
	put_dec(h, syscall(SYS_getpid));
	if (tid) {
		put_str(h, " tid=");
		put_dec(h, lw_gettid());
	}
}

static void lw_log_site(int func, const struct lw_stack *s)
{
	char head[256];
	struct lw_buf h = {head, head + sizeof(head), 0};

	lw_head(&h, "site", 0);
	put_str(&h, " func=");
	put_str(&h, func_names[func]);
	put_str(&h, " hash=");
	put_hex(&h, s->hash, 16);
	lw_emit(&h, head, s->f, s->n);
}

static void lw_log_fault(const struct lw_rule *r, unsigned long long nth, const struct lw_stack *s)
{
	char head[256];
	struct lw_buf h = {head, head + sizeof(head), 0};

	lw_head(&h, "fault", 1);
	put_str(&h, " rule=");
	put_dec(&h, r->id);
	put_str(&h, " func=");
	put_str(&h, func_names[r->func]);
	put_str(&h, " errno=");
	put_dec(&h, r->err);
	put_str(&h, " nth=");
	put_dec(&h, nth);
	put_str(&h, " hash=");
	put_hex(&h, s->hash, 16);
	lw_emit(&h, head, s->f, s->n);
}

/* The slow path of a call whose func has a rule or a record line: 1 when it
 * must fail, with *err its errno. Rules are tried in conf order; each
 * matching one counts the call; the first that decides to fail wins and the
 * later ones do not see the call. */
static __attribute__((noinline)) int lw_decide(int func, int *err)
{
	const struct lw_rule *fire = NULL;
	unsigned long long nth = 0;
	struct lw_stack s;
	int saved;

	if (in_lw)
		return 0;
	if (st.top && syscall(SYS_getpid) != st.top)
		return 0;
	saved = errno;
	in_lw++;
	s.n = -1;
	for (int i = 0; i < st.nrules && !fire; i++) {
		struct lw_rule *r = &st.rules[i];
		unsigned long long n;

		if (r->func != func)
			continue;
		if (r->where_mask || r->wname_mask || r->nsites) {
			if (s.n < 0)
				lw_stack(&s);
			if (!lw_rule_matches(i, r, &s))
				continue;
		}
		n = __atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
		if (r->every ? n % r->every == 0 : n >= r->first && n <= r->last) {
			fire = r;
			nth = n;
		}
	}
	if (st.record_mask >> func & 1) {
		if (s.n < 0)
			lw_stack(&s);
		if ((st.scope == LW_SCOPE_ALL || (st.scope == LW_SCOPE_EXE && s.has_exe) ||
		     (st.scope == LW_SCOPE_OWN && s.own_caller)) &&
		    lw_seen_insert(func, s.hash))
			lw_log_site(func, &s);
	}
	if (fire) {
		if (s.n < 0)
			lw_stack(&s);
		lw_log_fault(fire, nth, &s);
		lw_arm_crash();
		*err = fire->err;
	}
	in_lw--;
	errno = saved;
	return fire != NULL;
}

static inline int lw_fails(int func, int *err)
{
	return __builtin_expect(__atomic_load_n(&st.mask, __ATOMIC_ACQUIRE) >> func & 1, 0) &&
	       lw_decide(func, err);
}

/* ---- configuration ---- */

static int lw_func_id(const char *name)
{
	for (int r = 0; r < R_COUNT; r++)
		if (!strcmp(real_names[r], name))
			return real_func[r];
	return -1;
}

static int lw_num(const char *s, int base, unsigned long long *v)
{
	unsigned long long x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
						 : 99;
		if (d >= base)
			return -1;
		x = x * base + d;
	}
	*v = x;
	return 0;
}

/* next space-separated field (NUL-terminated in place) */
static char *lw_field(char **s)
{
	char *f = *s, *sp = strchr(f, ' ');

	if (sp) {
		*sp = 0;
		*s = sp + 1;
	} else {
		*s = f + strlen(f);
	}
	return f;
}

static int lw_rule_index(unsigned long long id)
{
	for (int i = 0; i < st.nrules; i++)
		if ((unsigned long long)st.rules[i].id == id)
			return i;
	return -1;
}

/* pass 0: everything but where/site lines, pass 1: those (rules known) */
static void lw_directive(char *line, int pass)
{
	char *rest = line, *d = lw_field(&rest);
	unsigned long long v[5];

	if (pass == 0 && !strcmp(d, "log")) {
		if (strlen(rest) < sizeof(st.log))
			strcpy(st.log, rest);
	} else if (pass == 0 && !strcmp(d, "top")) {
		if (!lw_num(lw_field(&rest), 10, v))
			st.top = v[0];
	} else if (pass == 0 && !strcmp(d, "scope")) {
		const char *v = lw_field(&rest);

		st.scope = !strcmp(v, "exe")   ? LW_SCOPE_EXE
			   : !strcmp(v, "own") ? LW_SCOPE_OWN
					       : LW_SCOPE_ALL;
	} else if (pass == 0 && !strcmp(d, "record")) {
		int f = lw_func_id(lw_field(&rest));

		if (f >= 0)
			st.record_mask |= 1ULL << f;
	} else if (pass == 0 && !strcmp(d, "rule")) {
		char *id = lw_field(&rest), *fn = lw_field(&rest);
		int f = lw_func_id(fn);
		struct lw_rule *r;

		for (int i = 1; i < 5; i++)
			if (lw_num(lw_field(&rest), 10, &v[i]))
				return;
		if (f < 0 || lw_num(id, 10, &v[0]) || st.nrules == LW_MAX_RULES ||
		    lw_rule_index(v[0]) >= 0)
			return;
		r = &st.rules[st.nrules++];
		r->id = v[0];
		r->func = f;
		r->err = v[1];
		r->first = v[2];
		r->last = v[3];
		r->every = v[4];
	} else if (pass == 1 && !strcmp(d, "where")) {
		char *id = lw_field(&rest), *lo = lw_field(&rest), *hi = lw_field(&rest);
		struct lw_where *w = &st.where[st.nwhere];
		int ri;

		if (st.nwhere == LW_MAX_WHERE || lw_num(id, 10, &v[0]) || lw_num(lo, 16, &v[1]) ||
		    lw_num(hi, 16, &v[2]) || !*rest || (ri = lw_rule_index(v[0])) < 0)
			return;
		w->path = lw_pool_add(rest, strlen(rest));
		if (!w->path)
			return;
		w->rule = ri;
		w->lo = v[1];
		w->hi = v[2];
		st.rules[ri].where_mask |= 1ULL << st.nwhere++;
	} else if (pass == 1 && !strcmp(d, "wname")) {
		char *id = lw_field(&rest), *name = lw_field(&rest);
		struct lw_wname *w = &st.wnames[st.nwnames];
		int ri;

		if (st.nwnames == LW_MAX_WNAMES || lw_num(id, 10, &v[0]) || !*name ||
		    (ri = lw_rule_index(v[0])) < 0)
			return;
		w->name = lw_pool_add(name, strlen(name));
		if (!w->name)
			return;
		w->rule = ri;
		st.rules[ri].wname_mask |= 1u << st.nwnames++;
	} else if (pass == 1 && !strcmp(d, "site")) {
		char *id = lw_field(&rest), *hash = lw_field(&rest);
		int ri;

		if (st.nsites == LW_MAX_SITES || lw_num(id, 10, &v[0]) || lw_num(hash, 16, &v[1]) ||
		    (ri = lw_rule_index(v[0])) < 0)
			return;
		st.sites[st.nsites].rule = ri;
		st.sites[st.nsites++].hash = v[1];
		st.rules[ri].nsites++;
	}
}

/* 0 when the conf is usable */
static int lw_parse(size_t len)
{
	char line[PATH_MAX + 128];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t at = 0; at < len;) {
			const char *s = st.conf + at, *nl = memchr(s, '\n', len - at);
			size_t n = nl ? (size_t)(nl - s) : len - at;

			at += n + 1;
			if (n >= sizeof(line))
				continue;
			memcpy(line, s, n);
			line[n] = 0;
			if (pass == 0 && !strncmp(line, "version ", 8) && strcmp(line + 8, "1"))
				return -1;
			lw_directive(line, pass);
		}
	}
	return 0;
}

static long lw_read_conf(const char *path)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC), n, len = 0;

	if (fd < 0)
		return -1;
	while (len < LW_CONF_MAX &&
	       (n = syscall(SYS_read, fd, st.conf + len, LW_CONF_MAX - len)) > 0)
		len += n;
	syscall(SYS_close, fd);
	return len;
}

static void lw_atfork_prepare(void)
{
	lw_lock();
}

static void lw_atfork_parent(void)
{
	lw_unlock();
}

/* a child logs its own sites under its own pid */
static void lw_atfork_child(void)
{
	memset(st.seen, 0, sizeof(st.seen));
	lw_unlock();
}

__attribute__((constructor)) static void lw_init(void)
{
	const char *conf = getenv("LW_INJECT_CONF");
	struct dl_find_object self;
	char line[PATH_MAX + 64];
	struct lw_buf b = {line, line + sizeof(line), 0};
	uint64_t mask;
	long len;

	if (!conf || !*conf)
		return;
	in_lw++;
	for (int r = 0; r < R_COUNT; r++)
		lw_real(r);
	len = lw_read_conf(conf);
	if (len < 0 || lw_parse(len)) {
		in_lw--;
		return;
	}
	if (!_dl_find_object((void *)(uintptr_t)&lw_init, &self)) {
		st.self_lo = (uintptr_t)self.dlfo_map_start;
		st.self_hi = (uintptr_t)self.dlfo_map_end;
	}
	pthread_atfork(lw_atfork_prepare, lw_atfork_parent, lw_atfork_child);
	put_str(&b, "init pid=");
	put_dec(&b, syscall(SYS_getpid));
	put_str(&b, " exe=");
	b.p += lw_exe_path(b.p, b.end - b.p - 1);
	for (char *p = line + 9; p < b.p; p++)
		if (*p == '\n')
			*p = '?';
	put_mem(&b, "\n", 1);
	if (!b.over)
		lw_log(line, b.p - line);
	mask = st.record_mask;
	for (int i = 0; i < st.nrules; i++)
		mask |= 1ULL << st.rules[i].func;
	__atomic_store_n(&st.mask, mask, __ATOMIC_RELEASE);
	in_lw--;
}

/* ---- allocators ---- */

LW_API void *malloc(size_t n)
{
	__typeof__(&malloc) fn = REAL(malloc);
	int err;

	if (lw_fails(F_malloc, &err)) {
		errno = err;
		return NULL;
	}
	return fn ? fn(n) : lw_boot_malloc(n);
}

LW_API void *calloc(size_t a, size_t n)
{
	__typeof__(&calloc) fn = REAL(calloc);
	int err;

	if (lw_fails(F_calloc, &err)) {
		errno = err;
		return NULL;
	}
	return fn ? fn(a, n) : lw_boot_calloc(a, n);
}

LW_API void *realloc(void *p, size_t n)
{
	__typeof__(&realloc) fn;
	int err;

	if (lw_fails(F_realloc, &err)) {
		errno = err;
		return NULL;
	}
	if (p && lw_in_arena(p)) {
		size_t old;
		void *q = malloc(n);

		memcpy(&old, (char *)p - sizeof(size_t), sizeof(old));
		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	fn = REAL(realloc);
	if (fn)
		return fn(p, n);
	return __libc_realloc ? __libc_realloc(p, n) : NULL;
}

LW_API int posix_memalign(void **out, size_t align, size_t n)
{
	__typeof__(&posix_memalign) fn = REAL(posix_memalign);
	int err;

	if (lw_fails(F_posix_memalign, &err))
		return err;
	if (fn)
		return fn(out, align, n);
	*out = lw_boot_memalign(align, n);
	return *out ? 0 : ENOMEM;
}

LW_API void *aligned_alloc(size_t align, size_t n)
{
	__typeof__(&aligned_alloc) fn = REAL(aligned_alloc);
	int err;

	if (lw_fails(F_aligned_alloc, &err)) {
		errno = err;
		return NULL;
	}
	return fn ? fn(align, n) : lw_boot_memalign(align, n);
}

LW_API void *memalign(size_t align, size_t n)
{
	__typeof__(&memalign) fn = REAL(memalign);
	int err;

	if (lw_fails(F_memalign, &err)) {
		errno = err;
		return NULL;
	}
	return fn ? fn(align, n) : lw_boot_memalign(align, n);
}

LW_API void *valloc(size_t n)
{
	__typeof__(&valloc) fn = REAL(valloc);
	int err;

	if (lw_fails(F_valloc, &err)) {
		errno = err;
		return NULL;
	}
	if (fn)
		return fn(n);
	return __libc_valloc ? __libc_valloc(n) : lw_arena_alloc(n, 4096);
}

LW_API void *pvalloc(size_t n)
{
	__typeof__(&pvalloc) fn = REAL(pvalloc);
	int err;

	if (lw_fails(F_pvalloc, &err)) {
		errno = err;
		return NULL;
	}
	if (fn)
		return fn(n);
	return __libc_pvalloc ? __libc_pvalloc(n) : lw_arena_alloc((n + 4095) & ~4095UL, 4096);
}

LW_API char *strdup(const char *s)
{
	__typeof__(&strdup) fn = REAL(strdup);
	int err;

	if (lw_fails(F_strdup, &err)) {
		errno = err;
		return NULL;
	}
	if (fn)
		return fn(s);
	char *p = malloc(strlen(s) + 1);
	return p ? strcpy(p, s) : NULL;
}

LW_API char *strndup(const char *s, size_t n)
{
	__typeof__(&strndup) fn = REAL(strndup);
	int err;

	if (lw_fails(F_strndup, &err)) {
		errno = err;
		return NULL;
	}
	if (fn)
		return fn(s, n);
	n = strnlen(s, n);
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* ---- everything else: fail with -1 (or NULL, MAP_FAILED) ---- */

/* the real function, or ENOSYS when it cannot be found */
#define LW_CALL(sym, func, failval, ...)                                                           \
	do {                                                                                       \
		__typeof__(&sym) fn = REAL(sym);                                                   \
		int err;                                                                           \
		if (lw_fails(F_##func, &err)) {                                                    \
			errno = err;                                                               \
			return failval;                                                            \
		}                                                                                  \
		if (!fn) {                                                                         \
			errno = ENOSYS;                                                            \
			return failval;                                                            \
		}                                                                                  \
		return fn(__VA_ARGS__);                                                            \
	} while (0)

/* A failed sendmsg still reaches the kernel, on fd -1 (EBADF, no side
 * effect), so the BPF side sees a failed send carrying the message's
 * SCM_RIGHTS fds. */
LW_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	__typeof__(&sendmsg) fn = REAL(sendmsg);
	int err;

	if (lw_fails(F_sendmsg, &err)) {
		syscall(SYS_sendmsg, -1, msg, flags);
		errno = err;
		return -1;
	}
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(fd, msg, flags);
}

LW_API int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	__typeof__(&sendmmsg) fn = REAL(sendmmsg);
	int err;

	if (lw_fails(F_sendmmsg, &err)) {
		syscall(SYS_sendmmsg, -1, vec, vlen, flags);
		errno = err;
		return -1;
	}
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(fd, vec, vlen, flags);
}

LW_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	LW_CALL(send, send, -1, fd, buf, n, flags);
}

LW_API ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
		      socklen_t alen)
{
	LW_CALL(sendto, sendto, -1, fd, buf, n, flags, addr, alen);
}

LW_API ssize_t write(int fd, const void *buf, size_t n)
{
	LW_CALL(write, write, -1, fd, buf, n);
}

LW_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	LW_CALL(writev, writev, -1, fd, iov, cnt);
}

LW_API ssize_t read(int fd, void *buf, size_t n)
{
	LW_CALL(read, read, -1, fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
LW_API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	LW_CALL(__read_chk, read, -1, fd, buf, n, buflen);
}

LW_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	LW_CALL(readv, readv, -1, fd, iov, cnt);
}

LW_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	LW_CALL(recv, recv, -1, fd, buf, n, flags);
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
LW_API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	LW_CALL(__recv_chk, recv, -1, fd, buf, n, buflen, flags);
}

LW_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	LW_CALL(recvmsg, recvmsg, -1, fd, msg, flags);
}

LW_API ssize_t recvfrom(int fd, void *restrict buf, size_t n, int flags, __SOCKADDR_ARG addr,
			socklen_t *restrict alen)
{
	LW_CALL(recvfrom, recvfrom, -1, fd, buf, n, flags, addr, alen);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, __SOCKADDR_ARG addr,
		       socklen_t *alen);
LW_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      __SOCKADDR_ARG addr, socklen_t *alen)
{
	LW_CALL(__recvfrom_chk, recvfrom, -1, fd, buf, n, buflen, flags, addr, alen);
}

LW_API int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict alen)
{
	LW_CALL(accept, accept, -1, fd, addr, alen);
}

LW_API int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict alen, int flags)
{
	LW_CALL(accept4, accept4, -1, fd, addr, alen, flags);
}

LW_API int socket(int domain, int type, int proto)
{
	LW_CALL(socket, socket, -1, domain, type, proto);
}

LW_API int socketpair(int domain, int type, int proto, int sv[2])
{
	LW_CALL(socketpair, socketpair, -1, domain, type, proto, sv);
}

LW_API int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	LW_CALL(connect, connect, -1, fd, addr, alen);
}

/* open and openat read a mode only when the flags say one was passed */
#define LW_MODE(flags, last)                                                                       \
	int mode = 0;                                                                              \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {                               \
		va_list ap;                                                                        \
		va_start(ap, last);                                                                \
		mode = va_arg(ap, int);                                                            \
		va_end(ap);                                                                        \
	}

LW_API int open(const char *path, int flags, ...)
{
	LW_MODE(flags, flags);
	LW_CALL(open, open, -1, path, flags, mode);
}

LW_API int open64(const char *path, int flags, ...)
{
	LW_MODE(flags, flags);
	LW_CALL(open64, open, -1, path, flags, mode);
}

int __open_2(const char *path, int flags);
LW_API int __open_2(const char *path, int flags)
{
	LW_CALL(__open_2, open, -1, path, flags);
}

int __open64_2(const char *path, int flags);
LW_API int __open64_2(const char *path, int flags)
{
	LW_CALL(__open64_2, open, -1, path, flags);
}

LW_API int openat(int dfd, const char *path, int flags, ...)
{
	LW_MODE(flags, flags);
	LW_CALL(openat, openat, -1, dfd, path, flags, mode);
}

LW_API int openat64(int dfd, const char *path, int flags, ...)
{
	LW_MODE(flags, flags);
	LW_CALL(openat64, openat, -1, dfd, path, flags, mode);
}

int __openat_2(int dfd, const char *path, int flags);
LW_API int __openat_2(int dfd, const char *path, int flags)
{
	LW_CALL(__openat_2, openat, -1, dfd, path, flags);
}

int __openat64_2(int dfd, const char *path, int flags);
LW_API int __openat64_2(int dfd, const char *path, int flags)
{
	LW_CALL(__openat64_2, openat, -1, dfd, path, flags);
}

LW_API int creat(const char *path, mode_t mode)
{
	LW_CALL(creat, creat, -1, path, mode);
}

LW_API int creat64(const char *path, mode_t mode)
{
	LW_CALL(creat64, creat, -1, path, mode);
}

LW_API int pipe(int fds[2])
{
	LW_CALL(pipe, pipe, -1, fds);
}

LW_API int pipe2(int fds[2], int flags)
{
	LW_CALL(pipe2, pipe2, -1, fds, flags);
}

LW_API int dup(int fd)
{
	LW_CALL(dup, dup, -1, fd);
}

LW_API int dup2(int fd, int to)
{
	LW_CALL(dup2, dup2, -1, fd, to);
}

LW_API int dup3(int fd, int to, int flags)
{
	LW_CALL(dup3, dup3, -1, fd, to, flags);
}

LW_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	LW_CALL(mmap, mmap, MAP_FAILED, addr, len, prot, flags, fd, off);
}

LW_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	LW_CALL(mmap64, mmap, MAP_FAILED, addr, len, prot, flags, fd, off);
}

LW_API FILE *fopen(const char *restrict path, const char *restrict mode)
{
	LW_CALL(fopen, fopen, NULL, path, mode);
}

LW_API FILE *fopen64(const char *restrict path, const char *restrict mode)
{
	LW_CALL(fopen64, fopen, NULL, path, mode);
}

LW_API int epoll_create1(int flags)
{
	LW_CALL(epoll_create1, epoll_create1, -1, flags);
}

LW_API int eventfd(unsigned int count, int flags)
{
	LW_CALL(eventfd, eventfd, -1, count, flags);
}

LW_API int memfd_create(const char *name, unsigned int flags)
{
	LW_CALL(memfd_create, memfd_create, -1, name, flags);
}
