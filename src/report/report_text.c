// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Human report shaped like LeakSanitizer/valgrind output, so people (and their
 * grep habits) recognise "==PID==", "#N 0xADDR in sym", and "SUMMARY:".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include "report/kinds.h"
#include "report/report.h"
#include "report/stats.h"

#define KINDS_MAX   32
#define PROCS_SHOWN 8

/* Per report: per-kind tallies for the SUMMARY line. */
struct text_state {
	struct {
		const char *kind;
		size_t n;
	} kinds[KINDS_MAX];
	size_t nr_kinds;
	size_t other_kinds; /* findings beyond KINDS_MAX distinct kinds */
};

static int status(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Paths and comms come from the traced program: escape control bytes so a
 * crafted name cannot forge report lines or drive the terminal. Bounded, as
 * fixed arrays (comm, resource) may lack a NUL when filled to the brim.
 */
static void put_safe_n(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < max && p[i]; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
}

static void put_safe(FILE *out, const char *s)
{
	put_safe_n(out, s, SIZE_MAX);
}

static int text_begin(struct lw_reporter *r, const struct lw_report_meta *m)
{
	const char *mode = m->mode ? m->mode : "run";
	FILE *out = r->out;

	fprintf(out, "==%" PRIu32 "== leakwatch %s: %s", m->pid,
		m->tool_version ? m->tool_version : "unknown", mode);
	if (m->command) {
		fputs(": ", out);
		put_safe(out, m->command);
	} else if (!strcmp(mode, "attach")) {
		fprintf(out, ": pid %" PRIu32, m->pid);
	}
	fputc('\n', out);
	if (m->incomplete_reason) {
		fprintf(out, "==%" PRIu32 "== WARNING: report may be incomplete: ", m->pid);
		put_safe(out, m->incomplete_reason);
		fputc('\n', out);
	}
	fputc('\n', out);
	return status(out);
}

static void tally(struct text_state *st, const char *kind)
{
	for (size_t i = 0; i < st->nr_kinds; i++) {
		if (!strcmp(st->kinds[i].kind, kind)) {
			st->kinds[i].n++;
			return;
		}
	}
	if (st->nr_kinds == KINDS_MAX) {
		st->other_kinds++;
		return;
	}
	st->kinds[st->nr_kinds].kind = kind;
	st->kinds[st->nr_kinds++].n = 1;
}

/* LeakSanitizer's and memcheck's words: "Direct leak of", "Indirect leak
 * of"; held things are no leak.
 */
static const char *title_word(const char *kind, const char *cls, bool leak)
{
	if (!leak || !strcmp(kind, "fd-uncertain") || !strcmp(kind, "fd-held"))
		return "";
	if (!strcmp(kind, "mem-possibly-lost"))
		return "Possible leak of ";
	if (!strcmp(kind, "mem-reachable"))
		return "Still reachable: ";
	if (cls && !strcmp(cls, "definite"))
		return "Direct leak of ";
	if (cls && !strcmp(cls, "indirect"))
		return "Indirect leak of ";
	return "Leak of ";
}

static void print_title(FILE *out, const struct lw_finding *f, const char *kind)
{
	const struct lw_kind *k = lw_kind__find(kind);
	bool leak = k && k->aged;
	char what[96] = "";

	if (!strcmp(kind, "fd-leak") || !strcmp(kind, "fd-send-failed-leak"))
		snprintf(what, sizeof(what), "%" PRIu64 " %s%s", f->count,
			 plural(f->count, "file descriptor", "file descriptors"),
			 kind[3] == 's' ? " after a failed send" : "");
	else if (!strcmp(kind, "fd-uncertain")) /* io_uring may have closed them */
		snprintf(what, sizeof(what), "%" PRIu64 " %s possibly still open", f->count,
			 plural(f->count, "file descriptor", "file descriptors"));
	else if (!strcmp(kind, "fd-double-close"))
		snprintf(what, sizeof(what), "Double close of fd %d%s", f->fd,
			 f->count > 1 ? " (repeatedly)" : "");
	else if (!strcmp(kind, "pair-leak"))
		snprintf(what, sizeof(what), "%" PRIu64 " %s", f->count,
			 plural(f->count, "handle", "handles"));
	else if (!strcmp(kind, "pair-underflow"))
		snprintf(what, sizeof(what), "Release without a matching acquire, %" PRIu64 " %s",
			 f->count, plural(f->count, "time", "times"));
	else if (!strcmp(kind, "fd-inherited"))
		snprintf(what, sizeof(what), "%" PRIu64 " %s inherited across exec", f->count,
			 plural(f->count, "file descriptor", "file descriptors"));
	else if (!strcmp(kind, "fd-held"))
		snprintf(what, sizeof(what), "%" PRIu64 " %s still open, not a leak", f->count,
			 plural(f->count, "file descriptor", "file descriptors"));
	else if (f->bytes)
		snprintf(what, sizeof(what), "%" PRIu64 " %s in %" PRIu64 " %s", f->bytes,
			 plural(f->bytes, "byte", "bytes"), f->count,
			 plural(f->count, "object", "objects"));
	else if (!strcmp(kind, "fault-crash"))
		snprintf(what, sizeof(what), "Crash under an injected fault");
	else if (!strcmp(kind, "fault-hang"))
		snprintf(what, sizeof(what), "Hang under an injected fault");
	if (!what[0])
		fprintf(out, "%s (count %" PRIu64 ")", kind, f->count);
	else
		fprintf(out, "%s%s (%s)", title_word(kind, f->cls, leak), what, kind);
	fprintf(out, " in pid %" PRIu32, f->pid);
	if (f->tid && f->tid != f->pid)
		fprintf(out, " tid %" PRIu32, f->tid);
	fputs(" (", out);
	put_safe_n(out, f->comm, sizeof(f->comm));
	fputc(')', out);
	/* Age only means something for things that are still alive. */
	if (leak)
		fprintf(out, ", oldest %" PRIu64 " ms", f->age_ms);
	fputc('\n', out);
}

static void print_frame(FILE *out, unsigned i, const struct lw_sym_frame *fr)
{
	fprintf(out, "    #%u 0x%" PRIx64 " in ", i, fr->addr);
	if (fr->symbol) {
		put_safe(out, fr->symbol);
		if (fr->offset)
			fprintf(out, "+0x%" PRIx64, fr->offset);
		/* only the nearest symbol before the pc, not its function */
		if (fr->inexact)
			fputc('?', out);
		if (fr->module) {
			fputs(" (", out);
			put_safe(out, fr->module);
			fputc(')', out);
		}
	} else {
		fputs("??", out);
		if (fr->module) {
			fputs(" (", out);
			put_safe(out, fr->module);
			if (fr->offset)
				fprintf(out, "+0x%" PRIx64, fr->offset);
			fputc(')', out);
		}
	}
	if (fr->file) {
		fputc(' ', out);
		put_safe(out, fr->file);
		if (fr->line > 0)
			fprintf(out, ":%d", fr->line);
	}
	fputc('\n', out);
}

static void print_frames(FILE *out, const struct lw_ips *stack, const struct lw_sym_frame *frames,
			 unsigned nr_frames)
{
	if (nr_frames && frames) {
		for (unsigned i = 0; i < nr_frames; i++)
			print_frame(out, i, &frames[i]);
	} else if (stack->nr) {
		/* Not symbolized (e.g. process gone before maps were read): raw pcs. */
		for (unsigned i = 0; i < stack->nr && i < LW_STACK_MAX; i++)
			fprintf(out, "    #%u 0x%" PRIx64 " in ??\n", i, stack->ips[i]);
	} else {
		fputs("    (no stack)\n", out);
	}
	if (stack->flags & LW_STK_TRUNCATED)
		fprintf(out, "    ... (stack truncated at %d frames)\n", LW_STACK_MAX);
	else if (stack->flags & LW_STK_SLICE_END)
		fprintf(out, "    ... (stack truncated: frame larger than the %d KiB copy)\n",
			LW_SLICE_MAX / 1024);
	else if (stack->flags & (LW_STK_PARTIAL | LW_STK_BAD_READ))
		fputs("    ... (stack incomplete)\n", out);
}

static void print_stack(FILE *out, const struct lw_finding *f)
{
	print_frames(out, &f->stack, f->frames, f->nr_frames);
	/* secondary evidence, as valgrind prints "Block was alloc'd at" */
	for (unsigned i = 0; i < f->nr_extra && i < LW_FINDING_EXTRA_MAX; i++) {
		fprintf(out, "  %s:\n", f->extra[i].label ? f->extra[i].label : "related");
		print_frames(out, &f->extra[i].stack, f->extra[i].frames, f->extra[i].nr_frames);
	}
}

int report_text__block(FILE *out, const struct lw_finding *f)
{
	const char *kind = f->kind ? f->kind : "unknown";

	print_title(out, f, kind);
	if (f->why)
		fprintf(out, "  why: %s\n", f->why);
	if (f->fault.set) {
		char line[512];

		report_fault__line(f, line, sizeof(line));
		fputs("  under injected fault: ", out);
		put_safe(out, line);
		fputc('\n', out);
	}
	if (f->indirect_count)
		fprintf(out, "  keeps %" PRIu64 " %s in %" PRIu64 " %s indirectly lost\n",
			f->indirect_bytes, plural(f->indirect_bytes, "byte", "bytes"),
			f->indirect_count, plural(f->indirect_count, "object", "objects"));
	if (f->growing)
		fputs("  GROWING: live count kept rising\n", out);
	if (f->nr_fds || f->fd >= 0) {
		unsigned n = f->nr_fds < LW_FINDING_FDS_MAX ? f->nr_fds : LW_FINDING_FDS_MAX;
		/* Only a filled list says how many members count has beyond it. */
		uint64_t more = n && f->count > n ? f->count - n : 0;

		fputs(n > 1 || more ? "  fds: " : "  fd: ", out);
		if (!n)
			fprintf(out, "%d", f->fd);
		for (unsigned i = 0; i < n; i++)
			fprintf(out, "%s%d", i ? ", " : "", f->fds[i]);
		if (more)
			fprintf(out, ", ... (%" PRIu64 " more)", more);
		fputc('\n', out);
	}
	if (f->resource[0]) {
		fputs("  resource: ", out);
		put_safe_n(out, f->resource, sizeof(f->resource));
		fputs(f->count > 1 ? " (first)\n" : "\n", out);
	}
	print_stack(out, f);
	return status(out);
}

static int text_finding(struct lw_reporter *r, const struct lw_finding *f)
{
	tally(r->priv, f->kind ? f->kind : "unknown");
	report_text__block(r->out, f);
	fputc('\n', r->out);
	return status(r->out);
}

static void print_procs(FILE *out, const struct lw_report_meta *m)
{
	if (!m->nr_procs || !m->procs)
		return;
	fprintf(out, "==%" PRIu32 "== processes:", m->pid);
	for (size_t i = 0; i < m->nr_procs && i < PROCS_SHOWN; i++) {
		const struct lw_proc *p = &m->procs[i];
		int st = p->exit_code;

		fprintf(out, "%s %" PRIu32 " (", i ? "," : "", p->pid);
		put_safe_n(out, p->comm, sizeof(p->comm));
		if (!p->exited)
			fputs(") running", out);
		else if (WIFSIGNALED(st))
			fprintf(out, ") killed by signal %d", WTERMSIG(st));
		else
			fprintf(out, ") exit %d", WEXITSTATUS(st));
	}
	if (m->nr_procs > PROCS_SHOWN)
		fprintf(out, ", +%zu more", m->nr_procs - PROCS_SHOWN);
	fputc('\n', out);
}

/* What holding the processes still cost and found beyond the findings. */
static void print_scan(FILE *out, const struct lw_report_meta *m)
{
	const struct lw_scan_stats *sc = &m->scan;

	if (sc->off_by_option) {
		fprintf(out,
			"==%" PRIu32 "== reachability and fd liveness off (--no-freeze): every "
			"live block counts as lost\n",
			m->pid);
		return;
	}
	if (sc->frozen)
		fprintf(out,
			"==%" PRIu32 "== held still: %" PRIu64 " process%s, pause %.1f ms (longest "
			"%.1f ms)\n",
			m->pid, sc->frozen, sc->frozen == 1 ? "" : "es", (double)sc->pause_ns / 1e6,
			(double)sc->pause_max_ns / 1e6);
	if (sc->reachable_blocks)
		fprintf(out,
			"==%" PRIu32 "== still reachable: %" PRIu64 " %s in %" PRIu64
			" %s (not leaks%s)\n",
			m->pid, sc->reachable_bytes, plural(sc->reachable_bytes, "byte", "bytes"),
			sc->reachable_blocks, plural(sc->reachable_blocks, "block", "blocks"),
			sc->listed_reachable ? "" : "; --show-reachable lists them");
	if (sc->mem_scan_failed)
		fprintf(out,
			"==%" PRIu32 "== WARNING: %" PRIu64 " reachability scan%s failed: those "
			"processes' live blocks count as lost (unscanned)\n",
			m->pid, sc->mem_scan_failed, sc->mem_scan_failed == 1 ? "" : "s");
	if (sc->not_frozen)
		fprintf(out,
			"==%" PRIu32 "== WARNING: %" PRIu64 " process%s not held still (%s): their "
			"live blocks count as lost\n",
			m->pid, sc->not_frozen, sc->not_frozen == 1 ? "" : "es", sc->off);
}

/* run --inject / --fault-sweep: what was made to fail, and how it went. */
static void print_faults(FILE *out, const struct lw_report_meta *m)
{
	const struct lw_fault_meta *fm = &m->fault;

	if (!fm->on)
		return;
	if (!fm->sweep) {
		fprintf(out, "==%" PRIu32 "== faults injected: %" PRIu64 " (", m->pid, fm->fired);
		put_safe(out, fm->rules);
		fprintf(out,
			"), the library ran in %" PRIu64
			" process image%s (%zu process%s traced)\n",
			fm->procs, fm->procs == 1 ? "" : "s", m->nr_procs,
			m->nr_procs == 1 ? "" : "es");
		if (!fm->fired)
			fprintf(out,
				"==%" PRIu32 "== WARNING: no call matched: no fault was made\n",
				m->pid);
		return;
	}
	fprintf(out,
		"==%" PRIu32 "== fault sweep (%s): %" PRIu64 " sites, %" PRIu64 " runs, %" PRIu64
		" findings under faults, %" PRIu64 " crashed, %" PRIu64 " timed out, %" PRIu64
		" not reached, %" PRIu64 " skipped\n",
		m->pid, fm->rules, fm->sites, fm->runs, fm->findings, fm->crashed, fm->timed_out,
		fm->not_reached, fm->skipped);
	for (size_t i = 0; i < fm->nr_site; i++) {
		const struct lw_sweep_site *x = &fm->site[i];

		fprintf(out, "==%" PRIu32 "==   site %zu: %s at ", m->pid, i + 1, x->func);
		put_safe(out, x->at);
		fprintf(out, ": %s", x->outcome);
		if (x->findings)
			fprintf(out, " (%" PRIu64 " finding%s)", x->findings,
				x->findings == 1 ? "" : "s");
		fputc('\n', out);
	}
}

/* The loud line: any lost event or full map means findings may be missing. */
static void print_loss(FILE *out, const struct lw_report_meta *m)
{
	char buf[512];

	if (!lw_stats__losses(&m->stats, buf, sizeof(buf)))
		return;
	fprintf(out, "==%" PRIu32 "== WARNING: report may be incomplete: %s\n", m->pid, buf);
}

static int text_end(struct lw_reporter *r, const struct lw_report_meta *m, size_t nr_findings)
{
	const struct text_state *st = r->priv;
	FILE *out = r->out;

	print_procs(out, m);
	if (!nr_findings) {
		fputs("SUMMARY: leakwatch: no leaks found", out);
	} else {
		fprintf(out, "SUMMARY: leakwatch: %zu %s:", nr_findings,
			plural(nr_findings, "finding", "findings"));
		for (size_t i = 0; i < st->nr_kinds; i++)
			fprintf(out, "%s %zu %s", i ? "," : "", st->kinds[i].n, st->kinds[i].kind);
		if (st->other_kinds)
			fprintf(out, ", %zu other", st->other_kinds);
	}
	fprintf(out, " (%zu suppressed)\n", m->nr_suppressed);
	fprintf(out, "==%" PRIu32 "== events: %" PRIu64 ", dropped: %" PRIu64 "\n", m->pid,
		(uint64_t)m->stats.events, (uint64_t)m->stats.dropped);
	/* attach checks its view against /proc/PID/fd; say when it was wrong */
	if (m->mode && !strcmp(m->mode, "attach"))
		fprintf(out, "==%" PRIu32 "== /proc reconciliation corrected %" PRIu64 " fd%s\n",
			m->pid, m->reconciled, m->reconciled == 1 ? "" : "s");
	print_scan(out, m);
	print_faults(out, m);
	print_loss(out, m);
	return status(out);
}

const struct reporter_ops lw_report_text = {
    .name = "text",
    .priv_size = sizeof(struct text_state),
    .begin = text_begin,
    .finding = text_finding,
    .end = text_end,
};
