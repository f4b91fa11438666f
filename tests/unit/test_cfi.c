// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "stack/cfi.h"

extern char _start[]; /* crt1: its CFI marks the return address undefined */

static struct symbolizer *self_sym(void)
{
	struct symbolizer *s = symbolizer__new();

	if (s && symbolizer__snapshot_maps(s, getpid()) <= 0) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

LW_NOIPA static uint64_t cfi_sink(uint64_t v)
{
	return v ^ 1;
}

/* The unit tests build with -O2 (no frame pointers); this file keeps them
 * (Makefile: clang has no per-function optimize()), for this function.
 * pc is taken in the body, i.e. after push %rbp; mov %rsp,%rbp.
 */
LW_NOIPA static uint64_t cfi_fp_fn(void)
{
	uint64_t pc;

	asm volatile("lea 0(%%rip), %0" : "=r"(pc));
	return cfi_sink(pc) ^ 1;
}

/* Module path and file offset of a live address in this process. */
static int self_file_off(struct symbolizer *s, uint64_t addr, const char **path, uint64_t *off)
{
	const struct lw_mapping *m = symbolizer__find(s, getpid(), addr);

	if (!m)
		return -1;
	*path = m->path;
	*off = addr - m->start + m->file_off;
	return 0;
}

LW_TEST(cfi_libc_function_entry_is_sp8)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};
	const char *path;
	uint64_t off;

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(self_file_off(s, (uintptr_t)&getpid, &path, &off), 0, "getpid mapping");
	ASSERT_CONTAINS(path, "libc", "libc path");
	ASSERT_EQ(cfi_cache__rule(c, path, off, &r), 0, "rule");
	ASSERT_EQ(r.kind, LW_CFI_SP, "kind");
	ASSERT_EQ(r.cfa_off, 8, "cfa_off");
	ASSERT_EQ(r.bp_saved, 0, "bp not saved at entry");
	cfi_cache__free(c);
	symbolizer__free(s);
}

LW_TEST(cfi_frame_pointer_body_is_bp16)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};
	uint64_t pc = cfi_fp_fn() ^ 1 ^ 1;

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(cfi_rule_for_pc(c, s, getpid(), pc, &r), 0, "rule");
	ASSERT_EQ(r.kind, LW_CFI_BP, "kind");
	ASSERT_EQ(r.cfa_off, 16, "cfa_off");
	ASSERT_EQ(r.bp_saved, 1, "bp saved");
	ASSERT_EQ(r.bp_off, -16, "bp at CFA-16");
	cfi_cache__free(c);
	symbolizer__free(s);
}

/* cfi_rule_for_pc looks at pc - 1: right after `push %rbp` that is the push
 * itself (CFA = rsp + 8), while the instruction at pc already has rsp + 16.
 */
LW_TEST(cfi_rule_for_pc_uses_pc_minus_1)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};
	const uint8_t *code = (const uint8_t *)cfi_fp_fn;
	uint64_t push, off;
	const char *path;

	ASSERT_TRUE(s && c, "setup");
	push = (uintptr_t)code + (memcmp(code, "\xf3\x0f\x1e\xfa", 4) ? 0 : 4); /* endbr64 */
	ASSERT_EQ(*(const uint8_t *)(uintptr_t)push, 0x55, "push %rbp first");
	ASSERT_EQ(cfi_rule_for_pc(c, s, getpid(), push + 1, &r), 0, "rule for pc");
	ASSERT_EQ(r.kind, LW_CFI_SP, "kind at push");
	ASSERT_EQ(r.cfa_off, 8, "cfa at push");
	ASSERT_EQ(self_file_off(s, push + 1, &path, &off), 0, "file off");
	ASSERT_EQ(cfi_cache__rule(c, path, off, &r), 0, "rule for file_off");
	ASSERT_EQ(r.cfa_off, 16, "cfa after push");
	cfi_cache__free(c);
	symbolizer__free(s);
}

LW_TEST(cfi_start_is_end)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(cfi_rule_for_pc(c, s, getpid(), (uintptr_t)_start + 4, &r), 0, "rule");
	ASSERT_EQ(r.kind, LW_CFI_END, "kind");
	cfi_cache__free(c);
	symbolizer__free(s);
}

LW_TEST(cfi_pc_outside_mappings_is_end)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(cfi_rule_for_pc(c, s, getpid(), 0x1000, &r), 0, "rule");
	ASSERT_EQ(r.kind, LW_CFI_END, "kind");
	ASSERT_EQ(cfi_rule_for_pc(c, s, getpid() + 100000, (uintptr_t)cfi_fp_fn, &r), 0,
		  "unknown tgid");
	ASSERT_EQ(r.kind, LW_CFI_END, "unknown tgid kind");
	cfi_cache__free(c);
	symbolizer__free(s);
}

LW_TEST(cfi_no_fde_gets_frame_pointer_rule)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};
	const char *path;
	uint64_t off;

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(self_file_off(s, (uintptr_t)cfi_fp_fn, &path, &off), 0, "self mapping");
	/* file offset 0 is the ELF header: loaded, but no FDE covers it */
	ASSERT_EQ(cfi_cache__rule(c, path, 0, &r), 0, "rule");
	ASSERT_EQ(r.kind, LW_CFI_BP, "kind");
	ASSERT_EQ(r.cfa_off, 16, "cfa_off");
	ASSERT_EQ(r.bp_saved, 1, "bp saved");
	ASSERT_EQ(r.bp_off, -16, "bp_off");
	cfi_cache__free(c);
	symbolizer__free(s);
}

LW_TEST(cfi_unreadable_file_is_enoent)
{
	struct cfi_cache *c = cfi_cache__new();
	char path[] = "/tmp/lw_notelf_XXXXXX";
	struct lw_cfi_rule r;
	int fd = mkstemp(path);

	ASSERT_TRUE(c && fd >= 0, "setup");
	ASSERT_EQ(write(fd, "not an elf file\n", 16), 16, "write");
	close(fd);
	ASSERT_EQ(cfi_cache__rule(c, "/nonexistent/libx.so", 0x1000, &r), -ENOENT, "missing");
	ASSERT_EQ(cfi_cache__rule(c, path, 0, &r), -ENOENT, "not ELF");
	unlink(path);
	cfi_cache__free(c);
}

/* .plt entries after their push have CFA = rsp + 16, given by a DWARF
 * expression on rip; the start of an entry has rsp + 8.
 */
LW_TEST(cfi_plt_expression_evaluated)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	struct lw_cfi_rule r = {.kind = LW_CFI_PENDING};
	GElf_Shdr plt = {0};
	const char *path;
	uint64_t off;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd;

	ASSERT_TRUE(s && c, "setup");
	ASSERT_EQ(self_file_off(s, (uintptr_t)&getpid, &path, &off), 0, "libc mapping");
	fd = open(path, O_RDONLY);
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	ASSERT_TRUE(elf && !elf_getshdrstrndx(elf, &shstrndx), "open libc");
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    !strcmp(name, ".plt"))
			plt = sh;
	}
	elf_end(elf);
	close(fd);
	ASSERT_TRUE(plt.sh_size >= 48, "libc has a .plt with entries");
	/* entry 1: jmp *GOT (bytes 0-5), push (6-10), jmp PLT0 (11-15) */
	ASSERT_EQ(cfi_cache__rule(c, path, plt.sh_offset + 16 + 2, &r), 0, "rule before push");
	ASSERT_EQ(r.kind, LW_CFI_SP, "kind before push");
	ASSERT_EQ(r.cfa_off, 8, "cfa before push");
	ASSERT_EQ(cfi_cache__rule(c, path, plt.sh_offset + 16 + 12, &r), 0, "rule after push");
	ASSERT_EQ(r.kind, LW_CFI_SP, "kind after push");
	ASSERT_EQ(r.cfa_off, 16, "cfa after push");
	cfi_cache__free(c);
	symbolizer__free(s);
}

#define FAKE_SP 0x7ff000000000ull

struct fake_stack {
	struct lw_stack stk;
	uint64_t words[256]; /* slice: words[i] lives at FAKE_SP + 8 * i */
};

/* Frame-pointer frames: each returns into cfi_fp_fn (a BP+16 rule); the
 * chain below is [bp] = caller's bp, [bp + 8] = return address.
 */
static void fake_init(struct fake_stack *f, uint64_t pc_fp)
{
	memset(f, 0, sizeof(*f));
	f->stk.nr = 1;
	f->stk.flags = LW_STK_PARTIAL;
	f->stk.ips[0] = pc_fp;
	f->stk.sp = FAKE_SP;
	f->stk.bp = FAKE_SP + 32;
	f->words[4] = FAKE_SP + 96;
	f->words[5] = pc_fp;
	f->words[12] = 0;
	f->words[13] = (uintptr_t)_start + 4;
}

/* What the fake-stack tests share: a symbolizer and CFI cache of this test
 * binary, and a pc returning into cfi_fp_fn.
 */
struct fake_env {
	struct symbolizer *s;
	struct cfi_cache *c;
	uint64_t pc;
};

static bool fake_env_open(struct fake_env *e)
{
	e->s = self_sym();
	e->c = cfi_cache__new();
	e->pc = cfi_fp_fn() ^ 1 ^ 1;
	return e->s && e->c;
}

static void fake_env_close(struct fake_env *e)
{
	cfi_cache__free(e->c);
	symbolizer__free(e->s);
}

/* f's stack finished from the first len bytes of its slice into out */
static int fake_unwind(const struct fake_env *e, struct fake_stack *f, size_t len,
		       struct lw_ips *out)
{
	return unwind__complete(e->c, e->s, getpid(), &f->stk, (uint8_t *)f->words, len, out);
}

LW_TEST(unwind_fake_fp_chain_to_start)
{
	struct fake_env e;
	struct fake_stack f;
	struct lw_ips out;

	ASSERT_TRUE(fake_env_open(&e), "setup");
	fake_init(&f, e.pc);
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind");
	ASSERT_EQ(out.nr, 3, "frames");
	ASSERT_EQ(out.ips[0], e.pc, "ip 0 copied");
	ASSERT_EQ(out.ips[1], e.pc, "ip 1 from [bp+8]");
	ASSERT_EQ(out.ips[2], (uintptr_t)_start + 4, "ip 2 from the saved bp's frame");
	ASSERT_EQ(out.flags, 0, "partial cleared, not truncated");
	fake_env_close(&e);
}

/* A walk BPF left to user space at a function's entry (a bad free's):
 * the return address is at sp, then the frames go on as from anywhere.
 */
LW_TEST(unwind_fake_from_an_entry)
{
	struct fake_env e;
	struct fake_stack f;
	struct lw_ips out;

	ASSERT_TRUE(fake_env_open(&e), "setup");
	/* the entry pc is any; the frame it returns into is fake_init's */
	fake_init(&f, e.pc);
	f.stk.ips[0] = 0x1234;
	f.stk.flags |= LW_STK_EXACT_PC;
	f.stk.sp = FAKE_SP - 8;
	memmove(&f.words[1], &f.words[0], sizeof(f.words) - sizeof(f.words[0]));
	f.words[0] = e.pc; /* [sp]: the return address */
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind");
	ASSERT_EQ(out.nr, 4, "frames");
	ASSERT_EQ(out.ips[0], 0x1234, "the entry pc");
	ASSERT_EQ(out.ips[1], e.pc, "ip 1 from [sp]");
	ASSERT_EQ(out.ips[2], e.pc, "ip 2 from [bp+8]");
	ASSERT_EQ(out.ips[3], (uintptr_t)_start + 4, "ip 3 from the saved bp's frame");
	/* without the flag the entry pc is a return address: no rule, no frames */
	f.stk.flags &= ~LW_STK_EXACT_PC;
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind without the flag");
	ASSERT_EQ(out.nr, 1, "no rule for a made-up pc");
	fake_env_close(&e);
}

LW_TEST(unwind_fake_stops_at_slice_end)
{
	struct fake_env e;
	struct fake_stack f;
	struct lw_ips out;

	ASSERT_TRUE(fake_env_open(&e), "setup");
	fake_init(&f, e.pc);
	/* 48 bytes hold the first frame's bp and ra, not the second's ra */
	ASSERT_EQ(fake_unwind(&e, &f, 48, &out), 0, "unwind");
	ASSERT_EQ(out.nr, 2, "frames");
	ASSERT_EQ(out.ips[1], e.pc, "ip 1");
	ASSERT_EQ(out.flags & LW_STK_PARTIAL, 0, "partial cleared");
	ASSERT_TRUE(out.flags & LW_STK_SLICE_END, "cut at the slice's end: marked");
	fake_env_close(&e);
}

LW_TEST(unwind_fake_stops_on_zero_ra_and_loops)
{
	struct fake_env e;
	struct fake_stack f;
	struct lw_ips out;

	ASSERT_TRUE(fake_env_open(&e), "setup");
	fake_init(&f, e.pc);
	f.words[5] = 0;
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind zero ra");
	ASSERT_EQ(out.nr, 1, "zero ra adds nothing");
	ASSERT_EQ(out.flags & LW_STK_SLICE_END, 0, "an end, not a cut");
	/* the first frame's saved bp points back into the slice: the next CFA
	 * (S+24) is below the new sp (S+48), an endless walk if followed
	 */
	fake_init(&f, e.pc);
	f.words[4] = FAKE_SP + 8;
	f.words[2] = e.pc;
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind loop");
	ASSERT_EQ(out.nr, 2, "loop guard");
	fake_env_close(&e);
}

LW_TEST(unwind_fake_truncates_at_max)
{
	struct fake_env e;
	struct fake_stack f;
	struct lw_ips out;

	ASSERT_TRUE(fake_env_open(&e), "setup");
	memset(&f, 0, sizeof(f));
	f.stk.nr = LW_STACK_MAX - 2;
	f.stk.flags = LW_STK_PARTIAL;
	for (int i = 0; i < f.stk.nr; i++)
		f.stk.ips[i] = e.pc;
	f.stk.sp = FAKE_SP;
	f.stk.bp = FAKE_SP;
	/* an endless chain: bp_k = sp + 16k, [bp_k] = bp_k+1, [bp_k + 8] = pc */
	for (int k = 0; 2 * k + 1 < 256; k++) {
		f.words[2 * k] = FAKE_SP + 16 * (k + 1);
		f.words[2 * k + 1] = e.pc;
	}
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "unwind");
	ASSERT_EQ(out.nr, LW_STACK_MAX, "full");
	ASSERT_EQ(out.flags, LW_STK_TRUNCATED, "truncated");
	/* a stack BPF finished is only copied */
	f.stk.flags = 0;
	ASSERT_EQ(fake_unwind(&e, &f, sizeof(f.words), &out), 0, "complete stack");
	ASSERT_EQ(out.nr, LW_STACK_MAX - 2, "not extended");
	fake_env_close(&e);
}

/* End of the mapping holding this thread's stack, so the slice copy never
 * reads past it (not "[stack]" by name: valgrind's client stack is unnamed).
 */
static uint64_t stack_top(void)
{
	unsigned long long start, end;
	uint64_t here = (uintptr_t)__builtin_frame_address(0), top = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &start, &end) == 2 && here >= start && here < end) {
			top = end;
			break;
		}
	if (f)
		fclose(f);
	return top;
}

/* What BPF hands over for a partial stack: pc, sp, bp and the memory above sp. */
LW_NOIPA static uint32_t capture_live(struct lw_stack *stk, uint8_t *slice, uint64_t top)
{
	uint64_t pc, sp, bp, len;

	asm volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
		     : "=r"(pc), "=r"(sp), "=r"(bp));
	len = top > sp ? (top - sp < LW_SLICE_MAX ? top - sp : LW_SLICE_MAX) : 0;
	memcpy(slice, (const void *)(uintptr_t)sp, len);
	memset(stk, 0, sizeof(*stk));
	stk->nr = 1;
	stk->flags = LW_STK_PARTIAL;
	stk->ips[0] = pc;
	stk->sp = sp;
	stk->bp = bp;
	stk->slice_len = len;
	return len;
}

LW_TEST(unwind_live_stack_reaches_main)
{
	struct symbolizer *s = self_sym();
	struct cfi_cache *c = cfi_cache__new();
	uint8_t *slice = malloc(LW_SLICE_MAX); /* not on the stack being copied */
	struct lw_stack stk;
	struct lw_ips out;
	bool saw_main = false;
	char last[64] = "";
	char second[64] = "";
	uint32_t len;

	ASSERT_TRUE(s && c && slice, "setup");
	len = capture_live(&stk, slice, stack_top());
	ASSERT_EQ(unwind__complete(c, s, getpid(), &stk, slice, len, &out), 0, "unwind");
	for (unsigned i = 0; i < out.nr; i++) {
		struct lw_sym_frame f;

		ASSERT_EQ(symbolizer__resolve(s, getpid(), out.ips[i], i > 0, &f), 0, "resolve");
		if (f.symbol && !strcmp(f.symbol, "main"))
			saw_main = true;
		snprintf(last, sizeof(last), "%s", f.symbol ? f.symbol : "?");
		if (i == 1)
			snprintf(second, sizeof(second), "%s", last);
		free(f.module);
		free(f.symbol);
		free(f.file);
	}
	free(slice);
	ASSERT_TRUE(out.nr >= 4, "several frames recovered");
	ASSERT_STREQ(second, "unwind_live_stack_reaches_main", "caller of the capture");
	ASSERT_TRUE(saw_main, "harness main reached");
	ASSERT_STREQ(last, "_start", "outermost frame");
	ASSERT_EQ(out.flags, 0, "not truncated");
	cfi_cache__free(c);
	symbolizer__free(s);
}
