// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Freeze a real child, scan its real heap for four blocks it made, thaw it:
 * the scan and the ptrace stop work on a live process, not only on images.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "harness.h"
#include "detect/mem/freeze.h"
#include "detect/mem/reach.h"

/* the child's roots */
static void *volatile kept_global;
static void *volatile interior_global;

struct made {
	uint64_t addr[4], size[4];
};

/* A: kept by a global; B: lost, holds C (indirect); D: only an interior
 * pointer. Deeper than the caller, so its locals die with the frame.
 */
static __attribute__((noinline)) void make_blocks(int fd)
{
	struct made m = {.size = {64, 48, 32, 40}};
	void **b;

	for (int i = 0; i < 4; i++)
		m.addr[i] = (uint64_t)(uintptr_t)malloc(m.size[i]);
	kept_global = (void *)(uintptr_t)m.addr[0];
	b = (void **)(uintptr_t)m.addr[1];
	b[0] = (void *)(uintptr_t)m.addr[2];
	b[1] = NULL;
	interior_global = (char *)(uintptr_t)m.addr[3] + 8;
	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(3);
	explicit_bzero(&m, sizeof(m));
}

/* overwrite the dead frames below the caller's */
static __attribute__((noinline)) void scrub_stack(void)
{
	char junk[16384];

	explicit_bzero(junk, sizeof(junk));
	/* and the caller-saved registers malloc left its pointers in */
	__asm__ volatile("xor %%eax, %%eax; xor %%ecx, %%ecx; xor %%edx, %%edx;"
			 "xor %%esi, %%esi; xor %%edi, %%edi; xor %%r8d, %%r8d;"
			 "xor %%r9d, %%r9d; xor %%r10d, %%r10d; xor %%r11d, %%r11d" ::
			     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
}

static pid_t start_child(int *to_child, struct made *m)
{
	int up[2], down[2];
	pid_t pid;
	char c;

	if (pipe(up) || pipe(down))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		make_blocks(up[1]);
		scrub_stack();
		/* only now: until here B's address is still in its registers */
		if (write(up[1], "r", 1) != 1)
			_exit(3);
		/* blocked here while frozen; a byte lets it finish */
		_exit(read(down[0], &c, 1) == 1 && kept_global ? 0 : 4);
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], m, sizeof(*m)) != sizeof(*m) || read(up[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(up[0]);
	*to_child = down[1];
	return pid;
}

static int read_maps(pid_t pid, struct lw_reach_map *maps, size_t cap, size_t *n)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*n = 0;
	while (*n < cap && fgets(line, sizeof(line), f))
		if (!reach__parse_map(line, &maps[*n]))
			(*n)++;
	fclose(f);
	return 0;
}

static int cmp_block(const void *a, const void *b)
{
	const struct lw_reach_block *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

LW_TEST(freeze_and_scan_a_live_child)
{
	struct lw_reach_block blocks[4], sorted[4];
	struct lw_reach_map maps[256];
	struct lw_reach_region *roots = NULL;
	struct lw_freeze fr;
	struct lw_reach_stats st;
	struct made m;
	size_t nr_maps = 0, nr_roots = 0;
	char err[256] = "";
	int to_child, status, e;
	pid_t pid = start_child(&to_child, &m);

	ASSERT_TRUE(pid > 0, "child started");
	e = freeze__stop(pid, &fr, err, sizeof(err));
	ASSERT_EQ(e, 0, err);
	ASSERT_EQ(fr.nr_threads, 1, "threads stopped");
	ASSERT_EQ(fr.nr_sps, 1, "stack pointers read");
	for (int i = 0; i < 4; i++)
		blocks[i] = (struct lw_reach_block){.addr = m.addr[i], .size = m.size[i]};
	memcpy(sorted, blocks, sizeof(sorted));
	qsort(sorted, 4, sizeof(sorted[0]), cmp_block);
	ASSERT_EQ(read_maps(pid, maps, 256, &nr_maps), 0, "maps");
	ASSERT_EQ(reach__pick_roots(maps, nr_maps, sorted, 4, fr.sps, fr.nr_sps, false, &roots,
				    &nr_roots),
		  0, "roots");
	ASSERT_EQ(reach__scan(blocks, 4, roots, nr_roots, fr.regs, fr.nr_regs,
			      &(struct lw_reach_io){.read = freeze__read, .ctx = &fr}, &st),
		  0, "scan");
	free(roots);
	ASSERT_TRUE(freeze__thaw(&fr) > 0, "pause measured");
	freeze__free(&fr);
	ASSERT_EQ(write(to_child, "g", 1), 1, "wake the child");
	close(to_child);
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "child ended");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ran on after the thaw");
	ASSERT_EQ(blocks[0].cls, LW_REACH_REACHABLE, "A, kept by a global");
	ASSERT_EQ(blocks[1].cls, LW_REACH_DEFINITE, "B, lost");
	ASSERT_EQ(blocks[2].cls, LW_REACH_INDIRECT, "C, lost under B");
	ASSERT_EQ(blocks[3].cls, LW_REACH_POSSIBLE, "D, interior pointer only");
	ASSERT_EQ(blocks[1].indirect_bytes, 32, "bytes B keeps lost");
	ASSERT_TRUE(st.root_bytes > 0, "roots scanned");
}

LW_TEST(freeze_refuses_a_traced_process)
{
	struct lw_freeze fr;
	char err[256] = "", want[128];
	pid_t pid = fork();
	int e;

	if (pid == 0) {
		pause();
		_exit(0);
	}
	ASSERT_TRUE(pid > 0, "child started");
	/* we trace it first, as a debugger would */
	ASSERT_EQ(ptrace(PTRACE_SEIZE, pid, 0, 0), 0, "seize");
	e = freeze__stop(pid, &fr, err, sizeof(err));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(want, sizeof(want), "pid %d is being traced by pid %d", pid, getpid());
	ASSERT_EQ(e, -EPERM, "already traced");
	ASSERT_STREQ(err, want, "message");
	freeze__free(&fr);
}
