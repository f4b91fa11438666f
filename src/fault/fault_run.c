// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fault/fault_run.h"
#include "stack/lib_search.h"

#define FAIL(ret, ...) (snprintf(err, errlen, __VA_ARGS__), (ret))

static bool is_file(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode);
}

int fault_lib__find(char *out, size_t len)
{
	const char *env = getenv("LEAKWATCH_INJECT_LIB");
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_file(out) ? 0 : -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = 0;
	dir = dirname(self);
	snprintf(out, len, "%s/%s", dir, LW_INJECT_LIB_NAME);
	if (is_file(out))
		return 0;
	snprintf(out, len, "%s/../lib/leakwatch/%s", dir, LW_INJECT_LIB_NAME);
	return is_file(out) ? 0 : -ENOENT;
}

/* The executable ld.so would run: statically linked programs and set-id
 * ones (secure-execution mode ignores a preload outside the system
 * directories) cannot take the library.
 */
static int check_command(char **argv, char *const envp[], uid_t uid, gid_t gid, char *err,
			 size_t errlen)
{
	struct ls_ctx c;
	struct stat st;
	const char *exe;
	int ret = lib_search__command(&c, argv[0], envp, err, errlen);

	if (ret) {
		lib_search__free(&c);
		return ret == -ENOENT ? -ENOEXEC : ret;
	}
	lib_search__load(&c, c.exe);
	exe = lib_search__own_path(&c, c.exe);
	if (!c.objs[c.exe].elf_ok)
		ret = FAIL(-ENOEXEC, "--inject: %s: not an ELF program", exe);
	else if (!c.objs[c.exe].interp)
		ret = FAIL(-ENOEXEC,
			   "--inject: %s is statically linked: the fault library cannot be "
			   "loaded into it",
			   exe);
	else if (!stat(c.objs[c.exe].file, &st) && (((st.st_mode & S_ISUID) && st.st_uid != uid) ||
						    ((st.st_mode & S_ISGID) && st.st_gid != gid)))
		ret = FAIL(-EPERM,
			   "--inject: %s is set-user-ID or set-group-ID: the dynamic linker "
			   "ignores the fault library for it",
			   exe);
	lib_search__free(&c);
	return ret;
}

int fault_run__prepare(struct lw_fault_run *r, const struct lw_fault_plan *p, char **argv,
		       char *const envp[], uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->plan = *p;
	r->uid = uid;
	r->gid = gid;
	if (fault_lib__find(r->lib, sizeof(r->lib)))
		return FAIL(-ENOENT,
			    "--inject: %s not found next to leakwatch, in ../lib/leakwatch, or "
			    "at $LEAKWATCH_INJECT_LIB",
			    LW_INJECT_LIB_NAME);
	ret = check_command(argv, envp, uid, gid, err, errlen);
	if (ret)
		return ret;
	for (unsigned i = 0; i < p->nr_rules; i++) {
		const struct lw_fault_rule *ru = &p->rules[i];
		int n;

		if (!ru->where[0])
			continue;
		n = fault_where__in_command(argv[0], envp, ru->where, r->ranges + r->nr_ranges,
					    LW_FAULT_RANGES_MAX - r->nr_ranges, err, errlen);
		if (n < 0)
			return n;
		/* the library looks the name up in every program the command
		 * runs (make test, sh -c): say so, it is not an error
		 */
		if (!n)
			fprintf(stderr,
				"leakwatch: --inject %s: no function '%s' in %s or its "
				"libraries; looked for in each program it runs\n",
				ru->text, ru->where, argv[0]);
		for (int k = 0; k < n; k++)
			r->range_rule[r->nr_ranges + k] = (int)i;
		r->nr_ranges += n;
	}
	snprintf(r->dir, sizeof(r->dir), "/tmp/leakwatch-fault.XXXXXX");
	if (!mkdtemp(r->dir)) {
		r->dir[0] = 0;
		return FAIL(-errno, "--inject: cannot make a directory in /tmp: %s",
			    strerror(errno));
	}
	/* the command writes the log, as the user it runs as */
	if ((uid || gid) && chown(r->dir, uid, gid))
		return FAIL(-errno, "--inject: chown %s: %s", r->dir, strerror(errno));
	snprintf(r->conf, sizeof(r->conf), "%s/conf", r->dir);
	snprintf(r->log_path, sizeof(r->log_path), "%s/log", r->dir);
	return 0;
}

int fault_run__write_conf(struct lw_fault_run *r, pid_t top)
{
	const struct lw_fault_plan *p = &r->plan;
	FILE *f = fopen(r->conf, "we");

	if (!f)
		return -errno;
	r->root = top;
	fprintf(f, "version 1\nlog %s\n", r->log_path);
	if (p->top_only)
		fprintf(f, "top %d\n", (int)top);
	fprintf(f, "scope %s\n", p->all_sites ? "all" : "own");
	for (unsigned i = 0; i < p->nr_rules; i++) {
		const struct lw_fault_rule *ru = &p->rules[i];
		uint64_t first = ru->first, last = ru->last;

		fprintf(f, "rule %u %s %d %llu %llu %llu\n", i, ru->func, ru->err,
			(unsigned long long)first, (unsigned long long)last,
			(unsigned long long)ru->every);
		if (ru->site)
			fprintf(f, "site %u %016llx\n", i, (unsigned long long)ru->site);
	}
	/* by name too: programs the command runs resolve it themselves */
	for (unsigned i = 0; i < p->nr_rules; i++)
		if (p->rules[i].where[0])
			fprintf(f, "wname %u %s\n", i, p->rules[i].where);
	for (int k = 0; k < r->nr_ranges; k++)
		fprintf(f, "where %d %llx %llx %s\n", r->range_rule[k],
			(unsigned long long)r->ranges[k].lo, (unsigned long long)r->ranges[k].hi,
			r->ranges[k].path);
	for (unsigned i = 0; i < p->nr_record; i++)
		fprintf(f, "record %s\n", p->record[i].func);
	if (fclose(f))
		return -errno;
	return 0;
}

char **fault_run__envp(struct lw_fault_run *r, char *const envp[])
{
	size_t n = 0, k = 0;
	const char *old = NULL;
	char **v;

	for (; envp && envp[n]; n++)
		if (!strncmp(envp[n], "LD_PRELOAD=", 11))
			old = envp[n] + 11;
	v = calloc(n + 3, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) && strncmp(envp[i], "LW_INJECT_CONF=", 15))
			v[k++] = strdup(envp[i]);
	/* first: its wrappers must see the calls before any other preload */
	if (asprintf(&v[k++], "LD_PRELOAD=%s%s%s", r->lib, old && *old ? ":" : "", old ? old : "") <
	    0)
		v[k - 1] = NULL;
	if (asprintf(&v[k++], "LW_INJECT_CONF=%s", r->conf) < 0)
		v[k - 1] = NULL;
	for (size_t i = 0; i < k; i++)
		if (!v[i]) {
			for (size_t j = 0; j < k; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	r->envp = v;
	return v;
}

int fault_run__read_log(struct lw_fault_run *r)
{
	if (r->log.n || r->log.bad)
		return 0;
	return fault_log__read(r->log_path, &r->log);
}

static void ips_of(const struct lw_fault_rec *rec, struct lw_ips *ips, bool exact_pc)
{
	memset(ips, 0, sizeof(*ips));
	for (unsigned i = 0; i < rec->nr && i < LW_STACK_MAX; i++)
		ips->ips[ips->nr++] = rec->fr[i].ip;
	ips->flags = exact_pc ? LW_STK_EXACT_PC : 0;
}

void fault_run__note(const struct lw_fault_run *r, const struct lw_fault_rec *rec,
		     struct lw_finding *f, uint64_t fired)
{
	struct lw_fault_note *n = &f->fault;

	memset(n, 0, sizeof(*n));
	n->set = true;
	snprintf(n->func, sizeof(n->func), "%s", rec->func);
	n->err = rec->err;
	n->nth = rec->nth;
	n->site = rec->hash;
	n->pid = rec->pid;
	n->tid = rec->tid;
	n->fired = fired;
	n->stack_idx = -1;
	if (rec->rule >= 0 && (unsigned)rec->rule < r->plan.nr_rules)
		snprintf(n->rule, sizeof(n->rule), "%s", r->plan.rules[rec->rule].text);
	if (rec->nr && f->nr_extra < LW_FINDING_EXTRA_MAX) {
		struct lw_evidence *x = &f->extra[f->nr_extra];

		x->label = "injected fault at";
		x->pid = rec->pid;
		ips_of(rec, &x->stack, false);
		n->stack_idx = (int)f->nr_extra++;
	}
}

/* The fault a process met last before it crashed: its own, else the first. */
static const struct lw_fault_rec *fault_for(const struct lw_fault_run *r, uint32_t pid,
					    size_t before)
{
	const struct lw_fault_rec *first = NULL, *own = NULL;

	for (size_t i = 0; i < r->log.n; i++) {
		const struct lw_fault_rec *x = &r->log.v[i];

		if (x->type != LW_FR_FAULT)
			continue;
		if (!first)
			first = x;
		if (x->pid == pid && i < before)
			own = x;
	}
	return own ? own : first;
}

static int add_crash(struct lw_fault_run *r, struct lw_findings *fs, uint32_t pid, uint32_t tid,
		     int sig, uint64_t addr, const struct lw_fault_rec *crash, size_t at,
		     uint64_t fired)
{
	struct lw_finding *f = lw_findings__add(fs);
	const struct lw_fault_rec *fault = fault_for(r, pid, at);
	static const char *const why[] = {"killed by a signal after an injected fault",
					  "killed by a signal (the program's own handler ran, "
					  "so there is no faulting stack)"};

	if (!f)
		return -ENOMEM;
	f->kind = "fault-crash";
	f->pid = pid;
	f->tid = tid;
	f->count = 1;
	f->cls = NULL;
	f->why = why[!crash];
	if (sig == SIGSEGV || sig == SIGBUS)
		snprintf(f->resource, sizeof(f->resource), "%s at address 0x%llx", strsignal(sig),
			 (unsigned long long)addr);
	else
		snprintf(f->resource, sizeof(f->resource), "%s", strsignal(sig));
	if (crash)
		ips_of(crash, &f->stack, true);
	if (fault)
		fault_run__note(r, fault, f, fired);
	return 0;
}

int fault_run__report_hook(void *ctx, struct lw_findings *fs, struct lw_report_meta *m,
			   int child_status)
{
	struct lw_fault_run *r = ctx;
	const struct lw_fault_rec *first = NULL;
	uint64_t fired = 0, procs = 0;
	bool root_crash_seen = false;
	size_t before = fs->n;
	int e = fault_run__read_log(r);

	if (e)
		return e;
	for (size_t i = 0; i < r->log.n; i++) {
		const struct lw_fault_rec *x = &r->log.v[i];

		fired += x->type == LW_FR_FAULT;
		procs += x->type == LW_FR_INIT;
		if (x->type == LW_FR_FAULT && !first)
			first = x;
	}
	/* a record cut short (the process died in its write) may hide a fault */
	if (r->log.bad) {
		snprintf(r->reason, sizeof(r->reason), "%zu fault log records unreadable",
			 r->log.bad);
		m->incomplete_reason = r->reason;
	}
	m->fault.on = true;
	m->fault.fired = fired;
	m->fault.procs = procs;
	for (unsigned i = 0; i < r->plan.nr_rules; i++) {
		size_t off = strlen(m->fault.rules);

		snprintf(m->fault.rules + off, sizeof(m->fault.rules) - off, "%s%s", i ? "," : "",
			 r->plan.rules[i].text);
	}
	/* every finding of a run with a fault was found under it */
	for (size_t i = 0; first && i < before; i++) {
		const struct lw_fault_rec *own = fault_for(r, fs->v[i].pid, r->log.n);

		fault_run__note(r, own ? own : first, &fs->v[i], fired);
	}
	for (size_t i = 0; i < r->log.n; i++) {
		const struct lw_fault_rec *x = &r->log.v[i];

		if (x->type != LW_FR_CRASH)
			continue;
		root_crash_seen |= x->pid == (uint32_t)r->root;
		e = add_crash(r, fs, x->pid, x->tid, x->sig, x->addr, x, i, fired);
		if (e)
			return e;
	}
	/* the command died by a signal after a fault and said nothing itself */
	if (fired && !root_crash_seen && child_status >= 0 && WIFSIGNALED(child_status) &&
	    !r->timed_out && WTERMSIG(child_status) != SIGKILL &&
	    WTERMSIG(child_status) != SIGTERM) {
		e = add_crash(r, fs, (uint32_t)r->root, (uint32_t)r->root, WTERMSIG(child_status),
			      0, NULL, r->log.n, fired);
		if (e)
			return e;
	}
	if (r->timed_out && fired) {
		const struct lw_fault_rec *x = fault_for(r, (uint32_t)r->root, r->log.n);
		struct lw_finding *f = lw_findings__add(fs);

		if (!f)
			return -ENOMEM;
		f->kind = "fault-hang";
		/* where the fault was made: its stack is this finding's */
		f->pid = x ? x->pid : (uint32_t)r->root;
		f->tid = x ? x->tid : (uint32_t)r->root;
		f->count = 1;
		f->why = "still running at --fault-timeout after an injected fault";
		snprintf(f->resource, sizeof(f->resource), "no exit within %.0f s", r->timeout_s);
		if (x)
			fault_run__note(r, x, f, fired);
		/* where it hangs is not known; where it was made to fail is */
		if (report_fault__stack(f))
			f->stack = report_fault__stack(f)->stack;
	}
	return 0;
}

uint64_t fault_run__fired(const struct lw_fault_run *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->log.n; i++)
		n += r->log.v[i].type == LW_FR_FAULT;
	return n;
}

void fault_run__free(struct lw_fault_run *r)
{
	if (!r)
		return;
	if (r->dir[0]) {
		unlink(r->conf);
		unlink(r->log_path);
		rmdir(r->dir);
	}
	fault_log__free(&r->log);
	for (size_t i = 0; r->envp && r->envp[i]; i++)
		free(r->envp[i]);
	free(r->envp);
	r->envp = NULL;
}
