// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Stacks cut at the end of the copied slice fold into the whole stack they
 * begin, so a site gives the same findings whichever calls were cut.
 */
#include <string.h>
#include "harness.h"
#include "report/finding.h"

static struct lw_finding *add(struct lw_findings *fs, const char *kind, uint32_t pid, int fd,
			      const uint64_t *ips, unsigned nr, bool cut)
{
	struct lw_finding *f = lw_findings__add(fs);

	f->kind = kind, f->pid = pid, f->fd = fd, f->count = 1, f->age_ms = 10u * (unsigned)fd;
	f->nr_fds = 1, f->fds[0] = fd;
	snprintf(f->resource, sizeof(f->resource), "/tmp/f%d", fd);
	f->stack.nr = nr;
	f->stack.flags = cut ? LW_STK_SLICE_END : 0;
	memcpy(f->stack.ips, ips, nr * sizeof(ips[0]));
	return f;
}

LW_TEST(merge_truncated_into_whole_stack)
{
	static const uint64_t whole[] = {0x10, 0x20, 0x30, 0x40}, cut[] = {0x10, 0x20},
			      other[] = {0x11, 0x20};
	struct lw_findings fs = {};

	add(&fs, "fd-leak", 7, 5, cut, 2, true);    /* the first call, cut */
	add(&fs, "fd-leak", 7, 4, whole, 4, false); /* two later ones, whole */
	fs.v[1].count = 2, fs.v[1].nr_fds = 2, fs.v[1].fds[0] = 4, fs.v[1].fds[1] = 6;
	add(&fs, "fd-leak", 8, 9, cut, 2, true);   /* another pid: stays */
	add(&fs, "mem-leak", 7, 3, cut, 2, true);  /* another kind: stays */
	add(&fs, "fd-leak", 7, 2, other, 2, true); /* no whole stack begins so */
	ASSERT_EQ(lw_findings__merge_truncated(&fs), 1, "one folded");
	ASSERT_EQ(fs.n, 4, "findings left");
	ASSERT_EQ(fs.v[0].count, 3, "one finding, count 3");
	ASSERT_EQ(fs.v[0].stack.nr, 4, "the whole stack kept");
	ASSERT_EQ(fs.v[0].nr_fds, 3, "fds merged");
	ASSERT_EQ(fs.v[0].fds[0], 4, "ascending");
	ASSERT_EQ(fs.v[0].fds[1], 5, "the cut one's fd");
	ASSERT_EQ(fs.v[0].fds[2], 6, "ascending");
	ASSERT_EQ(fs.v[0].age_ms, 50, "oldest");
	ASSERT_EQ(fs.v[1].pid, 8, "other pid kept");
	ASSERT_STREQ(fs.v[2].kind, "mem-leak", "other kind kept");
	ASSERT_TRUE(fs.v[3].stack.flags & LW_STK_SLICE_END, "unmatched stays cut");
	lw_findings__free(&fs);
}

LW_TEST(merge_truncated_ambiguous_or_first_fd)
{
	static const uint64_t a[] = {0x10, 0x20, 0x30}, b[] = {0x10, 0x20, 0x31},
			      cut[] = {0x10, 0x20};
	struct lw_findings fs = {};

	add(&fs, "fd-leak", 7, 5, a, 3, false);
	add(&fs, "fd-leak", 7, 6, b, 3, false);
	add(&fs, "fd-leak", 7, 3, cut, 2, true);
	ASSERT_EQ(lw_findings__merge_truncated(&fs), 0, "two callers past the cut: ambiguous");
	ASSERT_EQ(fs.n, 3, "all kept");
	fs.n = 1;
	add(&fs, "fd-leak", 7, 3, cut, 2, true);
	ASSERT_EQ(lw_findings__merge_truncated(&fs), 1, "one caller");
	ASSERT_EQ(fs.v[0].fd, 3, "the smallest fd leads");
	ASSERT_STREQ(fs.v[0].resource, "/tmp/f3", "with its resource");
	ASSERT_EQ(fs.v[0].count, 2, "count");
	/* the same frames, other flags (BPF finished one, user space the other) */
	add(&fs, "fd-leak", 7, 8, a, 3, false)->stack.flags = LW_STK_EXACT_PC;
	ASSERT_EQ(lw_findings__merge_truncated(&fs), 1, "same frames fold");
	ASSERT_EQ(fs.n, 1, "one left");
	ASSERT_EQ(fs.v[0].count, 3, "count");
	lw_findings__free(&fs);
}
