// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* PTRACE_SEIZE + PTRACE_INTERRUPT stops a thread without a signal the
 * process or its parent could see (no SIGSTOP, no SIGCHLD to the parent), so
 * a scan leaves the target exactly as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "base/procfs.h"
#include "base/vec.h"
#include "detect/mem/freeze.h"

#define STOP_WAIT_NS 1000000000ull /* a thread in D state may not stop at once */
#define MAX_ROUNDS   8		   /* threads created while we stop the others */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool have_tid(const struct lw_freeze *f, pid_t tid)
{
	for (size_t i = 0; i < f->nr_threads; i++)
		if (f->threads[i].tid == tid)
			return true;
	return false;
}

static int tracer_of(pid_t pid)
{
	char v[32];

	return procfs__status_field(pid, 0, "TracerPid", v, sizeof(v)) ? 0 : atoi(v);
}

/* Seize and interrupt every thread not seized yet; 0 when none was new. */
static int seize_new(struct lw_freeze *f, char *err, size_t errlen)
{
	char path[64];
	struct dirent *de;
	int added = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", f->pid);
	d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "pid %d is gone", f->pid);
		return -ESRCH;
	}
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name), tracer;

		if (tid <= 0 || have_tid(f, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
			int e = -errno;

			if (e == -ESRCH)
				continue; /* the thread just exited */
			closedir(d);
			tracer = e == -EPERM ? tracer_of(f->pid) : 0;
			if (tracer)
				snprintf(err, errlen, "pid %d is being traced by pid %d", f->pid,
					 tracer);
			else
				snprintf(err, errlen, "cannot stop pid %d: %s", f->pid,
					 strerror(-e));
			return e;
		}
		if (lw_vec_grow((void **)&f->threads, &f->cap_threads, f->nr_threads + 1,
				sizeof(*f->threads))) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			closedir(d);
			return -ENOMEM;
		}
		f->threads[f->nr_threads++] = (struct lw_frozen_thread){.tid = tid};
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		added++;
	}
	closedir(d);
	return added;
}

static int add_regs(struct lw_freeze *f, pid_t tid)
{
	struct user_regs_struct r;
	size_t words = sizeof(r) / sizeof(uint64_t);

	if (ptrace(PTRACE_GETREGS, tid, 0, &r))
		return -errno;
	if (lw_vec_grow((void **)&f->regs, &f->cap_regs, f->nr_regs + words, sizeof(*f->regs)) ||
	    lw_vec_grow((void **)&f->sps, &f->cap_sps, f->nr_sps + 1, sizeof(*f->sps)))
		return -ENOMEM;
	memcpy(f->regs + f->nr_regs, &r, sizeof(r));
	f->nr_regs += words;
	f->sps[f->nr_sps++] = r.rsp;
	return 0;
}

/* Wait, bounded, for every seized thread to report its stop. */
static void wait_stops(struct lw_freeze *f, size_t from)
{
	uint64_t deadline = now_ns() + STOP_WAIT_NS;
	size_t left = f->nr_threads - from;
	bool *done = calloc(f->nr_threads, 1);

	if (!done)
		return;
	while (left && now_ns() < deadline) {
		bool progress = false;

		for (size_t i = from; i < f->nr_threads; i++) {
			int st;
			pid_t r;

			if (done[i])
				continue;
			r = waitpid(f->threads[i].tid, &st, __WALL | WNOHANG);
			if (r == 0)
				continue;
			done[i] = true;
			left--;
			progress = true;
			if (r < 0 || !WIFSTOPPED(st))
				continue; /* exited meanwhile */
			/* a signal on its way in: deliver it when we let go */
			if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP)
				f->threads[i].resig = WSTOPSIG(st);
			add_regs(f, f->threads[i].tid);
		}
		if (!progress)
			usleep(200);
	}
	f->unstopped += left;
	free(done);
}

int freeze__stop(pid_t pid, struct lw_freeze *f, char *err, size_t errlen)
{
	size_t from = 0;
	int e = 0;

	memset(f, 0, sizeof(*f));
	f->pid = pid;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		e = seize_new(f, err, errlen);
		if (e <= 0)
			break;
		if (!f->stop_ns)
			f->stop_ns = now_ns();
		wait_stops(f, from);
		from = f->nr_threads;
	}
	if (e < 0) {
		freeze__thaw(f);
		return e;
	}
	if (!f->nr_threads) {
		snprintf(err, errlen, "pid %d has no threads left", pid);
		return -ESRCH;
	}
	return 0;
}

int freeze__add_stopped(struct lw_freeze *f, pid_t tid)
{
	if (!f->stop_ns)
		f->stop_ns = now_ns();
	return add_regs(f, tid);
}

uint64_t freeze__thaw(struct lw_freeze *f)
{
	for (size_t i = 0; i < f->nr_threads; i++)
		ptrace(PTRACE_DETACH, f->threads[i].tid, 0, f->threads[i].resig);
	f->nr_threads = 0;
	return f->stop_ns ? now_ns() - f->stop_ns : 0;
}

ssize_t freeze__read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct lw_freeze *f = ctx;
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};

	return process_vm_readv(f->pid, &local, 1, &remote, 1, 0);
}

void freeze__free(struct lw_freeze *f)
{
	if (!f)
		return;
	free(f->threads);
	free(f->regs);
	free(f->sps);
	free(f->dead_sps);
	memset(f, 0, sizeof(*f));
}
