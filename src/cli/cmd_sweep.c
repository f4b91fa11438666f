// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch run --fault-sweep FUNC,... -- CMD: one clean run records every
 * call site (stack) of the named functions in the program's own code; then
 * one run per site fails that site's first call. The report holds what the
 * clean run found, and what each fault found that the clean run did not,
 * each with the fault that found it, once however many sites found it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cmd.h"
#include "fault/fault_run.h"
#include "report/kinds.h"
#include "session/session.h"

#define LW_SWEEP_MAX_DEFAULT 200
#define LW_SWEEP_TIMEOUT_MIN 10.0 /* s: the default per-run timeout's floor */

static bool found_in(const struct lw_findings *fs, const struct lw_finding *f)
{
	for (size_t i = 0; i < fs->n; i++)
		if (lw_finding__same_across_runs(&fs->v[i], f))
			return true;
	return false;
}

/* Move f into dst (its strings go along). */
static int take(struct lw_findings *dst, struct lw_finding *f)
{
	struct lw_finding *d = lw_findings__add(dst);

	if (!d)
		return -ENOMEM;
	*d = *f;
	f->frames = NULL;
	f->nr_frames = 0;
	for (unsigned i = 0; i < LW_FINDING_EXTRA_MAX; i++) {
		f->extra[i].frames = NULL;
		f->extra[i].nr_frames = 0;
	}
	return 0;
}

struct site {
	const struct lw_fault_rec *rec;
	int err;
};

/* The recording run's sites, first seen first, each (func, stack) once. */
static struct site *collect_sites(const struct lw_fault_run *r, size_t *nr)
{
	struct site *v = calloc(r->log.n + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < r->log.n; i++) {
		const struct lw_fault_rec *x = &r->log.v[i];
		bool dup = false;

		if (x->type != LW_FR_SITE)
			continue;
		for (size_t k = 0; k < n && !dup; k++)
			dup = v[k].rec->hash == x->hash && !strcmp(v[k].rec->func, x->func);
		if (dup)
			continue;
		v[n].rec = x;
		v[n].err = ENOMEM;
		for (unsigned k = 0; k < r->plan.nr_record; k++)
			if (!strcmp(r->plan.record[k].func, x->func))
				v[n].err = r->plan.record[k].err;
		n++;
	}
	*nr = n;
	return v;
}

/* "port_msg_alloc <- router_handle <- main" from the site's stack. */
static void describe_site(struct lw_session *s, const struct lw_fault_rec *x, char *buf, size_t len)
{
	struct lw_finding f = {.pid = x->pid};
	size_t off = 0;

	for (unsigned i = 0; i < x->nr && i < LW_STACK_MAX; i++)
		f.stack.ips[f.stack.nr++] = x->fr[i].ip;
	buf[0] = 0;
	session__symbolize(s, &f);
	for (unsigned i = 0; i < f.nr_frames && i < 3 && off < len; i++) {
		const char *sym = f.frames[i].symbol;
		char raw[32];

		if (!sym) {
			snprintf(raw, sizeof(raw), "0x%llx", (unsigned long long)x->fr[i].rel);
			sym = raw;
		}
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "", sym);
	}
	if (f.nr_frames > 3 && off < len)
		snprintf(buf + off, len - off, " <- ...");
	lw_frames__free(f.frames, f.nr_frames);
}

/* The next faulted run's session, loaded (BPF verified) on a thread while
 * the current run goes on: most of a small run's time is that load.
 */
struct preload {
	pthread_t thread;
	bool started;
	const struct lw_opts *o;
	struct lw_session *s;
	int err;
};

static void *preload_main(void *arg)
{
	struct preload *p = arg;

	p->err = session__new(&p->s, p->o);
	return NULL;
}

static void preload_start(struct preload *p, const struct lw_opts *o)
{
	*p = (struct preload){.o = o};
	p->started = !pthread_create(&p->thread, NULL, preload_main, p);
}

/* The loaded session, or NULL (run_once then loads one itself, and says
 * what failed).
 */
static struct lw_session *preload_take(struct preload *p)
{
	if (!p->started)
		return NULL;
	pthread_join(p->thread, NULL);
	p->started = false;
	if (p->err) {
		session__free(p->s);
		return NULL;
	}
	return p->s;
}

int cmd_sweep(const struct lw_opts *o, char *err, size_t errlen)
{
	struct lw_fault_plan rec = *o->faults;
	struct lw_fault_run *base_fr = calloc(1, sizeof(*base_fr));
	struct lw_session *base = NULL;
	struct lw_findings base_fs = {}, merged = {};
	struct lw_report_meta m = {};
	struct lw_sweep_site *out_sites = NULL;
	struct site *sites = NULL;
	struct lw_opts fo = *o;
	struct preload pl = {};
	struct lw_session *next;
	size_t nr_sites = 0, tried;
	bool tty = isatty(2) && !o->quiet;
	sigset_t orig;
	int rc, shown, gating = 0, status, stop_sig = 0;
	char reason[256];

	if (!base_fr) {
		snprintf(err, errlen, "out of memory");
		return LW_EXIT_INTERNAL;
	}
	sigprocmask(SIG_SETMASK, NULL, &orig);
	rec.nr_rules = 0;
	/* 1. the clean run: every call site of the named functions */
	fo.duration_s = o->duration_s;
	rc = run_once(o, &rec, base_fr, &orig, NULL, &base, err, errlen);
	if (rc)
		goto out;
	shown = session__collect(base, &base_fs, &m);
	if (shown < 0) {
		snprintf(err, errlen, "%s", session__error(base));
		rc = LW_EXIT_INTERNAL;
		goto out;
	}
	status = session__child_status(base);
	stop_sig = session__end_signal(base);
	session__stop(base);
	/* fault notes of the hook belong to faulted runs; this one made none */
	for (size_t i = 0; i < base_fs.n; i++)
		base_fs.v[i].fault.set = false;
	sites = collect_sites(base_fr, &nr_sites);
	out_sites = calloc(nr_sites + 1, sizeof(*out_sites));
	if (!sites || !out_sites) {
		snprintf(err, errlen, "out of memory");
		rc = LW_EXIT_INTERNAL;
		goto out;
	}
	if (!base_fr->log.n)
		fprintf(stderr, "leakwatch: --fault-sweep: the fault library never ran in the "
				"command: no sites\n");
	/* 2. one run per site, each bounded by the timeout */
	fo.fault_timeout_s = o->fault_timeout_s;
	if (!fo.fault_timeout_s) {
		fo.fault_timeout_s = 5.0 * (double)m.duration_ms / 1000.0;
		if (fo.fault_timeout_s < LW_SWEEP_TIMEOUT_MIN)
			fo.fault_timeout_s = LW_SWEEP_TIMEOUT_MIN;
	}
	if (!fo.duration_s || fo.fault_timeout_s < fo.duration_s)
		fo.duration_s = fo.fault_timeout_s;
	fo.command_quiet = !o->verbose;
	fo.quiet = true;
	tried = nr_sites < (o->sweep_max ? o->sweep_max : LW_SWEEP_MAX_DEFAULT)
		    ? nr_sites
		    : (o->sweep_max ? o->sweep_max : LW_SWEEP_MAX_DEFAULT);
	/* interrupted already: the clean run's report, no sweep */
	if (stop_sig)
		tried = 0;
	for (size_t i = 0; i < nr_sites; i++) {
		struct lw_sweep_site *os = &out_sites[i];

		snprintf(os->func, sizeof(os->func), "%s", sites[i].rec->func);
		os->err = sites[i].err;
		os->hash = sites[i].rec->hash;
		describe_site(base, sites[i].rec, os->at, sizeof(os->at));
		os->outcome = "skipped (--sweep-max)";
	}
	if (tried)
		preload_start(&pl, &fo);
	for (size_t i = 0; i < tried; i++) {
		struct lw_sweep_site *os = &out_sites[i];
		struct lw_fault_plan p = {.top_only = o->faults->top_only};
		struct lw_fault_rule *ru = &p.rules[0];
		struct lw_fault_run *fr = calloc(1, sizeof(*fr));
		struct lw_findings fs = {};
		struct lw_report_meta fm;
		struct lw_session *s = NULL;
		bool crashed = false;

		if (!fr) {
			rc = LW_EXIT_INTERNAL;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (tty)
			fprintf(stderr, "\rleakwatch: site %zu/%zu %s at %.60s\033[K", i + 1, tried,
				os->func, os->at);
		p.nr_rules = 1;
		snprintf(ru->func, sizeof(ru->func), "%s", os->func);
		ru->err = os->err;
		ru->first = ru->last = 1;
		ru->site = os->hash;
		snprintf(ru->text, sizeof(ru->text), "%s at %s", os->func, os->at);
		next = preload_take(&pl);
		if (i + 1 < tried)
			preload_start(&pl, &fo);
		rc = run_once(&fo, &p, fr, &orig, next, &s, err, errlen);
		if (rc) {
			/* the report of what was swept still goes out */
			fprintf(stderr, "leakwatch: --fault-sweep: site %zu: %s\n", i + 1, err);
			err[0] = 0;
			rc = 0;
			os->outcome = "error";
			fault_run__free(fr);
			free(fr);
			tried = i + 1;
			stop_sig = -1;
			break;
		}
		m.fault.runs++;
		if (session__collect(s, &fs, &fm) < 0) {
			/* this site is lost; the report of the others still goes out */
			fprintf(stderr, "leakwatch: --fault-sweep: site %zu: %s\n", i + 1,
				session__error(s));
			os->outcome = "error";
			tried = i + 1;
			stop_sig = -1;
			session__free(s);
			fault_run__free(fr);
			free(fr);
			break;
		}
		os->outcome = fault_run__fired(fr) ? "clean" : "not reached";
		m.fault.not_reached += !fault_run__fired(fr);
		for (size_t k = 0; !rc && k < fs.n; k++) {
			struct lw_finding *f = &fs.v[k];

			if (!fault_run__fired(fr) || found_in(&base_fs, f))
				continue;
			crashed |= !strcmp(f->kind, "fault-crash");
			os->findings++;
			if (!strcmp(f->kind, "fault-hang"))
				os->outcome = "timed out";
			if (found_in(&merged, f))
				continue;
			if (take(&merged, f))
				rc = LW_EXIT_INTERNAL;
		}
		if (crashed)
			os->outcome = "crashed";
		else if (os->findings && !strcmp(os->outcome, "clean"))
			os->outcome = "findings";
		m.fault.crashed += crashed;
		m.fault.timed_out += !strcmp(os->outcome, "timed out");
		/* ^C, SIGTERM: stop after this site, report what was swept */
		if (!stop_sig && (stop_sig = session__end_signal(s)))
			tried = i + 1;
		lw_findings__free(&fs);
		session__free(s);
		fault_run__free(fr);
		free(fr);
		if (rc)
			goto out;
	}
	if (tty && tried)
		fputs("\r\033[K", stderr);
	/* 3. one report: the clean run's findings, then the faults' */
	for (size_t i = 0; i < merged.n; i++)
		m.fault.findings += !merged.v[i].suppressed;
	for (size_t i = 0; i < base_fs.n && !rc; i++)
		if (take(&merged, &base_fs.v[i]))
			rc = LW_EXIT_INTERNAL;
	lw_findings__sort(&merged);
	m.fault.on = true;
	m.fault.sweep = true;
	m.fault.fired = m.fault.runs - m.fault.not_reached;
	m.fault.sites = nr_sites;
	m.fault.skipped = nr_sites - tried;
	if (stop_sig && nr_sites > tried) {
		size_t off = m.incomplete_reason ? strlen(m.incomplete_reason) : 0;

		snprintf(reason, sizeof(reason), "%s%ssweep stopped %s after %zu of %zu sites",
			 off ? m.incomplete_reason : "", off ? "; " : "",
			 stop_sig > 0 ? strsignal(stop_sig) : "by an error", tried, nr_sites);
		m.incomplete_reason = reason;
		for (size_t i = tried; i < nr_sites; i++)
			out_sites[i].outcome = "skipped (stopped)";
	}
	m.fault.site = out_sites;
	m.fault.nr_site = nr_sites;
	m.fault.rules[0] = 0;
	for (unsigned i = 0; i < rec.nr_record; i++) {
		size_t off = strlen(m.fault.rules);

		snprintf(m.fault.rules + off, sizeof(m.fault.rules) - off, "%s%s", i ? "," : "",
			 rec.record[i].text);
	}
	if (session__write(base, &m, &merged)) {
		snprintf(err, errlen, "%s", session__error(base));
		rc = LW_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < merged.n; i++)
		gating += !merged.v[i].suppressed && lw_kind__gates(merged.v[i].kind);
	rc = gating ? o->error_exitcode : run_status_code(status, o->keep_running);
out:
	session__free(preload_take(&pl));
	lw_findings__free(&merged);
	lw_findings__free(&base_fs);
	session__free(base);
	fault_run__free(base_fr);
	free(base_fr);
	free(sites);
	free(out_sites);
	return rc;
}
