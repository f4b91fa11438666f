// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* attach: the /proc/PID/fd cross-check on synthetic lists larger than the
 * old 4096-entry array, and when its corrections make a report incomplete.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ev_builders.h"
#include "base/proc_table.h"
#include "detect/detector.h"
#include "detect/fd/fd_reconcile.h"
#include "report/report.h"

#define NB 6000

LW_TEST(fd_reconcile_stale_any_size)
{
	int *believed = malloc(NB * sizeof(int)), *stale = malloc(NB * sizeof(int));
	struct lw_proc_fd *real = calloc(NB, sizeof(*real));
	int nr = 0, n;

	ASSERT_TRUE(believed && stale && real, "alloc");
	/* believed: 3..6002 in reverse; really open: the even ones, shuffled */
	for (int i = 0; i < NB; i++)
		believed[i] = NB + 2 - i;
	for (int fd = NB + 2; fd >= 0; fd--)
		if (fd % 2 == 0)
			real[nr++].fd = fd;
	n = fd_reconcile__stale(believed, NB, real, nr, stale);
	ASSERT_EQ(n, NB / 2, "every odd fd is stale, past 4096 too");
	for (int i = 0; i < n; i++)
		ASSERT_TRUE(stale[i] % 2 == 1, "only odd fds");
	ASSERT_EQ(stale[0], NB + 1, "the highest first, in believed order");
	/* in place, as the detector uses it */
	n = fd_reconcile__stale(believed, NB, real, nr, believed);
	ASSERT_EQ(n, NB / 2, "in place");
	ASSERT_EQ(believed[n - 1], 3, "the lowest last");
	ASSERT_EQ(fd_reconcile__stale(stale, 0, real, nr, stale), 0, "nothing believed");
	ASSERT_EQ(fd_reconcile__stale(stale, 5, real, 0, stale), 5, "nothing open");
	free(believed), free(stale), free(real);
}

LW_TEST(fd_reconcile_threshold)
{
	ASSERT_TRUE(!fd_reconcile__too_many(0, 0), "none");
	ASSERT_TRUE(!fd_reconcile__too_many(16, 16), "16 is a few, even all of them");
	ASSERT_TRUE(fd_reconcile__too_many(17, 100), "17 of 100");
	ASSERT_TRUE(!fd_reconcile__too_many(17, 1700), "exactly 1%");
	ASSERT_TRUE(fd_reconcile__too_many(18, 1700), "above 1%");
	ASSERT_TRUE(!fd_reconcile__too_many(40, 5000), "under 1% of a big table");
	ASSERT_TRUE(fd_reconcile__too_many(5900, 6000), "thousands");
}

struct fake_proc {
	int nr_open; /* fds 0 .. nr_open-1 really open */
};

static int fake_proc_fds(void *ctx, uint32_t pid, struct lw_proc_fd **out)
{
	const struct fake_proc *f = ctx;

	(void)pid;
	*out = calloc(f->nr_open ? f->nr_open : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < f->nr_open; i++)
		(*out)[i].fd = i;
	return f->nr_open;
}

static void run_attach(int nr_open, uint64_t *reconciled, const char **reason)
{
	struct fake_proc fp = {.nr_open = nr_open};
	struct lw_procs procs = {};
	struct lw_det_io io = {.ctx = &fp, .procs = &procs, .proc_fds = fake_proc_fds};
	struct lw_opts o = {.mode = LW_MODE_ATTACH};
	struct lw_det_env env = {.opts = &o, .io = &io};
	struct lw_findings fs = {};
	struct lw_report_meta m = {};
	struct lw_det *d;

	*reconciled = 0, *reason = NULL;
	lw_procs__get(&procs, 9)->root = true;
	ASSERT_EQ(det_fd_ops.open(&d, &env), 0, "open");
	for (int fd = 0; fd < NB; fd++) {
		struct lw_ev_fd_open op = ev_fd_open(9, fd, "/tmp/x", 0x1000);

		ASSERT_EQ(det_fd_ops.on_event(d, &op.hdr, sizeof(op)), 0, "open record");
	}
	ASSERT_EQ(det_fd_ops.finish(d, 1000000000000ull, &fs), 0, "finish");
	det_fd_ops.meta(d, &m);
	*reconciled = m.reconciled;
	*reason = m.incomplete_reason ? strdup(m.incomplete_reason) : NULL;
	lw_findings__free(&fs);
	det_fd_ops.free(d);
	lw_procs__free(&procs);
}

LW_TEST(det_fd_reconcile_marks_incomplete)
{
	uint64_t n;
	const char *why;

	run_attach(100, &n, &why);
	if (lw_test_failed)
		return;
	ASSERT_EQ(n, NB - 100, "every closed fd corrected, not just 4096");
	ASSERT_TRUE(why, "a large correction makes the report incomplete");
	ASSERT_STREQ(why, "5900 fds the model believed open were not (reconciled against /proc)",
		     "reason");
	free((void *)why);
	run_attach(NB - 3, &n, &why);
	ASSERT_EQ(n, 3, "a few");
	ASSERT_TRUE(!why, "a few corrections keep the report complete");
}
