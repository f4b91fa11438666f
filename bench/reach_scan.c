// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reachability scan on a real process: a child allocates MiB of heap
 * in 4 KiB blocks linked into lists, drops every 32nd block (lost), tells
 * the parent where each block is over a pipe and sleeps; the parent freezes
 * it, reads its maps, picks roots, scans through process_vm_readv and
 * thaws it. Prints heap, bytes scanned, scan rate, pause and the classes;
 * exits 1 when the lost count is not what the child dropped.
 *
 *   reach_scan MIB...   (default: 64 1024)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "detect/mem/freeze.h"
#include "detect/mem/reach.h"

#define BLOCK	 4096
#define NR_LISTS 64
#define DROP	 32 /* every DROP-th block is lost */
#define BATCH	 512

/* list heads: in .bss, a root */
void *heads[NR_LISTS];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p = (const char *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

/* no trace of a dropped block's address may stay on the stack */
__attribute__((noinline)) static void scrub_stack(void)
{
	volatile char pad[64 << 10];

	memset((char *)pad, 0, sizeof(pad));
}

__attribute__((noinline)) static void child(int fd, size_t n)
{
	uint64_t batch[2 * BATCH];
	size_t nb = 0;

	for (size_t i = 0; i < n; i++) {
		void **p = malloc(BLOCK);

		if (!p)
			_exit(3);
		memset(p, 0x5a, BLOCK); /* no pointers but the link */
		/* the last one stays linked: nothing after it overwrites p */
		if (i % DROP == DROP - 1 && i != n - 1) {
			p[0] = NULL;
		} else {
			p[0] = heads[i % NR_LISTS];
			heads[i % NR_LISTS] = p;
		}
		batch[2 * nb] = (uint64_t)(uintptr_t)p;
		batch[2 * nb + 1] = BLOCK;
		if (++nb == BATCH || i == n - 1) {
			if (write_all(fd, batch, nb * 2 * sizeof(batch[0])))
				_exit(4);
			memset(batch, 0, sizeof(batch));
			nb = 0;
		}
	}
	scrub_stack();
	batch[0] = batch[1] = 0; /* the end */
	if (write_all(fd, batch, 2 * sizeof(batch[0])))
		_exit(4);
	close(fd);
	for (;;)
		pause();
}

static int read_maps(pid_t pid, struct lw_reach_map **out, size_t *n)
{
	char path[64], line[4096];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*out = NULL;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				return -ENOMEM;
		}
		if (!reach__parse_map(line, &(*out)[*n]))
			(*n)++;
	}
	fclose(f);
	return 0;
}

static int cmp_block(const void *a, const void *b)
{
	const struct lw_reach_block *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int bench(size_t mib)
{
	size_t n = (mib << 20) / BLOCK, cap = n + 1, nb = 0, nr_maps = 0, nr_roots = 0;
	size_t dropped = (n - 1) / DROP; /* i % DROP == DROP - 1, the last one excepted */
	struct lw_reach_block *blocks = NULL;
	struct lw_reach_map *maps = NULL;
	struct lw_reach_region *roots = NULL;
	struct lw_reach_stats st;
	struct lw_freeze fz;
	struct lw_reach_io io = {.read = freeze__read, .ctx = &fz};
	char err[256] = "";
	double t0, t1, t2;
	uint64_t pause_ns, scanned;
	int pfd[2], ret = 1, status;
	pid_t pid;

	if (pipe(pfd))
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 2;
	if (!pid) {
		close(pfd[0]);
		child(pfd[1], n);
	}
	close(pfd[1]);
	/* after the fork: the child's roots are its own */
	blocks = calloc(cap, sizeof(*blocks));
	if (!blocks)
		goto out;
	for (;;) {
		uint64_t rec[2];
		size_t got = 0;

		while (got < sizeof(rec)) {
			ssize_t r = read(pfd[0], (char *)rec + got, sizeof(rec) - got);

			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		if (!rec[0])
			break;
		if (nb == cap)
			goto out;
		blocks[nb].addr = rec[0];
		blocks[nb++].size = rec[1];
	}
	qsort(blocks, nb, sizeof(*blocks), cmp_block);

	t0 = now_s();
	if (freeze__stop(pid, &fz, err, sizeof(err))) {
		fprintf(stderr, "reach_scan: %s\n", err);
		goto out;
	}
	if (read_maps(pid, &maps, &nr_maps) ||
	    reach__pick_roots(maps, nr_maps, blocks, nb, fz.sps, fz.nr_sps, false, &roots,
			      &nr_roots)) {
		fprintf(stderr, "reach_scan: cannot read the maps or pick roots\n");
		freeze__thaw(&fz);
		goto out;
	}
	t1 = now_s();
	if (reach__scan(blocks, nb, roots, nr_roots, fz.regs, fz.nr_regs, &io, &st)) {
		freeze__thaw(&fz);
		goto out;
	}
	t2 = now_s();
	pause_ns = freeze__thaw(&fz);
	scanned = st.root_bytes + st.block_bytes;
	printf("  heap %5zu MiB: %zu blocks of %d B, scanned %.1f MiB (roots %.1f MiB), "
	       "%.0f MB/s, pause %.1f ms (maps+roots %.1f ms)\n",
	       mib, nb, BLOCK, scanned / 1048576.0, st.root_bytes / 1048576.0,
	       scanned / 1e6 / (t2 - t1), pause_ns / 1e6, (t1 - t0) * 1e3);
	printf("  %15s definitely lost %llu, indirectly lost %llu, possibly lost %llu, "
	       "still reachable %llu, unreadable %llu B\n",
	       "", (unsigned long long)st.counts[LW_REACH_DEFINITE],
	       (unsigned long long)st.counts[LW_REACH_INDIRECT],
	       (unsigned long long)st.counts[LW_REACH_POSSIBLE],
	       (unsigned long long)st.counts[LW_REACH_REACHABLE],
	       (unsigned long long)st.unreadable);
	ret = 0;
	if (nb != n || st.counts[LW_REACH_DEFINITE] != dropped ||
	    st.counts[LW_REACH_REACHABLE] != n - dropped) {
		fprintf(stderr,
			"reach_scan: wrong answer: %zu blocks, %zu dropped, but %llu lost and %llu "
			"reachable\n",
			nb, dropped, (unsigned long long)st.counts[LW_REACH_DEFINITE],
			(unsigned long long)st.counts[LW_REACH_REACHABLE]);
		ret = 1;
	}
	freeze__free(&fz);
out:
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(blocks);
	free(maps);
	free(roots);
	return ret;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = {"64", "1024"};
	const char *const *sizes = argc > 1 ? (const char *const *)argv + 1 : defaults;
	int nr = argc > 1 ? argc - 1 : 2, ret = 0;

	for (int i = 0; i < nr; i++) {
		char *end;
		unsigned long mib = strtoul(sizes[i], &end, 10);

		if (*end || !mib || mib > (1ul << 20)) {
			fprintf(stderr, "reach_scan: bad size '%s' (MiB)\n", sizes[i]);
			return 2;
		}
		ret |= bench(mib);
	}
	return ret;
}
