// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A thread at PTRACE_EVENT_EXIT is one of three things: the caller of
 * exit_group (or a thread killed by it, or by a fatal signal), a thread
 * ending alone (pthread_exit), or a thread killed by another's execve. Only
 * the first ends the address space: the group is dying when every other
 * thread is at its exit too, gone, or has SIGKILL pending (on its way).
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
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "base/hmap.h"
#include "base/procfs.h"
#include "base/vec.h"
#include "detect/mem/freeze.h"
#include "session/exit_stop.h"

#define LW_PTRACE_OPTS                                                                             \
	(PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK)
/* a thread with SIGKILL pending in D state may take a while to come */
#define GROUP_WAIT_NS 500000000ull

enum { T_RUNNING = 0, T_AT_EXIT = 1 };

struct dying {
	pid_t tgid;
	bool whole;	   /* its first stop was not in exit(2): the group is ending */
	uint64_t first_ns; /* its first thread's exit stop */
};

struct dead_sp {
	pid_t tgid;
	uint64_t sp;
};

struct exit_stops {
	exit_stop_fn fn;
	exit_new_fn on_new;
	void *ctx;
	struct hmap *tids; /* tid → tgid << 1 | T_AT_EXIT */
	struct dying *dying;
	size_t nr_dying, cap_dying;
	struct dead_sp *dead; /* threads that ended alone, per live process */
	size_t nr_dead, cap_dead;
	struct exit_stop_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int exit_stops__new(struct exit_stops **out, exit_stop_fn fn, exit_new_fn on_new, void *ctx)
{
	struct exit_stops *x = calloc(1, sizeof(*x));

	*out = x;
	if (!x)
		return -ENOMEM;
	x->fn = fn;
	x->on_new = on_new;
	x->ctx = ctx;
	x->tids = hmap__new();
	return x->tids ? 0 : -ENOMEM;
}

void exit_stops__free(struct exit_stops *x)
{
	if (!x)
		return;
	hmap__free(x->tids);
	free(x->dying);
	free(x->dead);
	free(x);
}

const struct exit_stop_stats *exit_stops__stats(const struct exit_stops *x)
{
	return &x->st;
}

static void track(struct exit_stops *x, pid_t tid, pid_t tgid)
{
	bool added;
	uint64_t *v = hmap__put(x->tids, (uint64_t)tid, &added);

	/* a new task may stop (even at its exit) before its parent's fork
	 * event comes: what it reported stays
	 */
	if (!v || !added)
		return;
	*v = (uint64_t)tgid << 1;
	/* a new process has not run a single instruction of its own yet */
	if (tid == tgid && x->on_new)
		x->on_new(x->ctx, tgid);
}

int exit_stops__seize(struct exit_stops *x, pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, LW_PTRACE_OPTS))
		return -errno;
	track(x, pid, pid);
	return 0;
}

static pid_t tgid_of(pid_t tid)
{
	char v[32];

	return procfs__status_field(tid, 0, "Tgid", v, sizeof(v)) ? tid : (pid_t)atoi(v);
}

enum thread_state { TS_GONE, TS_DYING, TS_ALIVE };

/* A thread we do not hold at its exit: gone (zombie, dead), about to die
 * (SIGKILL pending), or alive. When the group is ending (whole), a thread
 * with nothing pending is on its way too, unless it is the one calling
 * execve: exit_group's caller takes no SIGKILL, and a killed thread that
 * already took its SIGKILL shows none, until each reaches its exit stop.
 */
static enum thread_state thread_state(pid_t tgid, pid_t tid, bool whole)
{
	char state[32], pnd[32];
	long nr;

	if (procfs__status_field(tgid, tid, "State", state, sizeof(state)) ||
	    procfs__status_field(tgid, tid, "SigPnd", pnd, sizeof(pnd)))
		return TS_GONE;
	if (state[0] == 'Z' || state[0] == 'X')
		return TS_GONE;
	if (strtoull(pnd, NULL, 16) & (1ull << (SIGKILL - 1)))
		return TS_DYING;
	/* de_thread sleeps in execve while the other threads die */
	nr = procfs__syscall(tgid, tid);
	return whole && nr != SYS_execve && nr != SYS_execveat ? TS_DYING : TS_ALIVE;
}

static bool at_exit(const struct exit_stops *x, pid_t tid)
{
	uint64_t *v = hmap__get(x->tids, (uint64_t)tid);

	return v && (*v & T_AT_EXIT);
}

/* TS_GONE: every thread is held at its exit or gone; TS_DYING: some are on
 * their way; TS_ALIVE: the address space lives on.
 */
static enum thread_state group_state(const struct exit_stops *x, pid_t tgid, bool whole)
{
	enum thread_state worst = TS_GONE;
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", tgid);
	d = opendir(path);
	if (!d)
		return TS_GONE;
	while ((de = readdir(d)) && worst != TS_ALIVE) {
		pid_t tid = atoi(de->d_name);
		enum thread_state ts;

		if (tid <= 0 || at_exit(x, tid))
			continue;
		ts = thread_state(tgid, tid, whole);
		if (ts > worst)
			worst = ts;
	}
	closedir(d);
	return worst;
}

/* A thread ending alone: its stack stays mapped (glibc caches it) but is
 * no root of the process's memory any more.
 */
static void note_dead_sp(struct exit_stops *x, pid_t tgid, pid_t tid)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) ||
	    lw_vec_grow((void **)&x->dead, &x->cap_dead, x->nr_dead + 1, sizeof(*x->dead)))
		return;
	x->dead[x->nr_dead++] = (struct dead_sp){.tgid = tgid, .sp = r.rsp};
}

static void take_dead_sps(struct exit_stops *x, pid_t tgid, struct lw_freeze *fz)
{
	size_t out = 0;

	for (size_t i = 0; i < x->nr_dead; i++) {
		if (x->dead[i].tgid != tgid) {
			x->dead[out++] = x->dead[i];
			continue;
		}
		if (!lw_vec_grow((void **)&fz->dead_sps, &fz->cap_dead_sps, fz->nr_dead_sps + 1,
				 sizeof(*fz->dead_sps)))
			fz->dead_sps[fz->nr_dead_sps++] = x->dead[i].sp;
	}
	x->nr_dead = out;
}

/* Resume the threads of tgid held at their exit; with scan, first let the
 * detectors look.
 */
static void release_group(struct exit_stops *x, pid_t tgid, bool scan, uint64_t first_ns)
{
	struct lw_freeze fz = {.pid = tgid};
	struct hmap_iter it = {0};
	uint64_t pause;

	if (scan) {
		while (hmap__next(x->tids, &it))
			if ((pid_t)(*it.val >> 1) == tgid && (*it.val & T_AT_EXIT))
				freeze__add_stopped(&fz, (pid_t)it.key);
		fz.stop_ns = first_ns;
		take_dead_sps(x, tgid, &fz);
		x->fn(x->ctx, tgid, &fz);
		freeze__free(&fz);
	} else {
		while (hmap__next(x->tids, &it))
			if ((pid_t)(*it.val >> 1) == tgid && (*it.val & T_AT_EXIT))
				note_dead_sp(x, tgid, (pid_t)it.key);
	}
	memset(&it, 0, sizeof(it));
	while (hmap__next(x->tids, &it)) {
		if ((pid_t)(*it.val >> 1) != tgid || !(*it.val & T_AT_EXIT))
			continue;
		ptrace(PTRACE_CONT, (pid_t)it.key, 0, 0);
		*it.val &= ~(uint64_t)T_AT_EXIT;
	}
	if (scan) {
		pause = now_ns() - first_ns;
		x->st.held++;
		x->st.pause_ns += pause;
		if (pause > x->st.pause_max_ns)
			x->st.pause_max_ns = pause;
	}
}

static struct dying *find_dying(struct exit_stops *x, pid_t tgid)
{
	for (size_t i = 0; i < x->nr_dying; i++)
		if (x->dying[i].tgid == tgid)
			return &x->dying[i];
	return NULL;
}

static void drop_dying(struct exit_stops *x, struct dying *dy)
{
	*dy = x->dying[--x->nr_dying];
}

/* Decide for every group with a thread held at its exit. */
static void settle(struct exit_stops *x)
{
	for (size_t i = 0; i < x->nr_dying;) {
		struct dying *dy = &x->dying[i];
		enum thread_state gs = group_state(x, dy->tgid, dy->whole);
		bool late = now_ns() - dy->first_ns > GROUP_WAIT_NS;

		if (gs == TS_DYING && !late) {
			i++;
			continue;
		}
		x->st.timed_out += gs == TS_DYING;
		release_group(x, dy->tgid, gs != TS_ALIVE, dy->first_ns);
		drop_dying(x, dy);
	}
}

static void on_exit_stop(struct exit_stops *x, pid_t tid)
{
	uint64_t *v = hmap__get(x->tids, (uint64_t)tid);
	pid_t tgid;

	if (!v) {
		track(x, tid, tgid_of(tid));
		v = hmap__get(x->tids, (uint64_t)tid);
		if (!v) {
			ptrace(PTRACE_CONT, tid, 0, 0);
			return;
		}
	}
	*v |= T_AT_EXIT;
	tgid = (pid_t)(*v >> 1);
	if (!find_dying(x, tgid)) {
		struct user_regs_struct r;

		if (lw_vec_grow((void **)&x->dying, &x->cap_dying, x->nr_dying + 1,
				sizeof(*x->dying))) {
			release_group(x, tgid, false, 0);
			return;
		}
		/* a thread ending alone stops in exit(2) (pthread_exit); one
		 * stopping anywhere else was killed with its group, or called
		 * exit_group
		 */
		x->dying[x->nr_dying++] = (struct dying){
		    .tgid = tgid,
		    .whole = !ptrace(PTRACE_GETREGS, tid, 0, &r) && r.orig_rax != SYS_exit,
		    .first_ns = now_ns()};
	}
}

static void on_new_task(struct exit_stops *x, pid_t parent, int event)
{
	unsigned long msg = 0;
	uint64_t *v = hmap__get(x->tids, (uint64_t)parent);

	if (ptrace(PTRACE_GETEVENTMSG, parent, 0, &msg) || !msg)
		return;
	if (event == PTRACE_EVENT_CLONE)
		track(x, (pid_t)msg, v ? (pid_t)(*v >> 1) : tgid_of(parent));
	else
		track(x, (pid_t)msg, (pid_t)msg);
}

static bool is_group_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void exit_stops__poll(struct exit_stops *x, pid_t run_child, int *status)
{
	int st;
	pid_t t;

	while ((t = waitpid(-1, &st, __WALL | WNOHANG)) > 0) {
		int event = st >> 16, sig = WIFSTOPPED(st) ? WSTOPSIG(st) : 0;

		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (t == run_child && status)
				*status = st;
			hmap__del(x->tids, (uint64_t)t, NULL);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		if (!hmap__get(x->tids, (uint64_t)t))
			track(x, t, tgid_of(t)); /* auto-attached before its parent's event */
		switch (event) {
		case PTRACE_EVENT_EXIT:
			on_exit_stop(x, t);
			continue;
		case PTRACE_EVENT_CLONE:
		case PTRACE_EVENT_FORK:
		case PTRACE_EVENT_VFORK:
			on_new_task(x, t, event);
			ptrace(PTRACE_CONT, t, 0, 0);
			continue;
		case PTRACE_EVENT_STOP:
			/* a group stop stays one until SIGCONT; anything else
			 * is a new task's first stop or our interrupt
			 */
			if (is_group_stop_sig(sig))
				ptrace(PTRACE_LISTEN, t, 0, 0);
			else
				ptrace(PTRACE_CONT, t, 0, 0);
			continue;
		case 0:
			/* signal-delivery stop: deliver it as if untraced */
			ptrace(PTRACE_CONT, t, 0, sig);
			continue;
		default:
			ptrace(PTRACE_CONT, t, 0, 0);
		}
	}
	settle(x);
}

void exit_stops__release(struct exit_stops *x)
{
	struct hmap_iter it = {0};
	uint64_t deadline;

	/* the held ones first: the detectors may still learn from them */
	while (x->nr_dying)
		release_group(x, x->dying[0].tgid, true, x->dying[0].first_ns),
		    drop_dying(x, &x->dying[0]);
	while (hmap__next(x->tids, &it))
		ptrace(PTRACE_INTERRUPT, (pid_t)it.key, 0, 0);
	deadline = now_ns() + GROUP_WAIT_NS;
	while (hmap__count(x->tids) && now_ns() < deadline) {
		int st, sig;
		pid_t t = waitpid(-1, &st, __WALL | WNOHANG);

		if (t <= 0) {
			usleep(1000);
			continue;
		}
		if (!WIFSTOPPED(st)) {
			hmap__del(x->tids, (uint64_t)t, NULL);
			continue;
		}
		sig = WSTOPSIG(st);
		/* a signal on its way in is delivered after we let go */
		ptrace(PTRACE_DETACH, t, 0, (st >> 16) == 0 ? sig : 0);
		hmap__del(x->tids, (uint64_t)t, NULL);
	}
}
