// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One JSON document per run (schema: docs/json-schema.md). Strings come from
 * traced programs, so every byte string is escaped into valid UTF-8 JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include "report/report.h"
#include "report/stats.h"

/* Per report: the comma before each finding depends on how many came before. */
struct json_state {
	size_t nr_written;
};

static int status(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

/* Write at most max bytes of s (stopping at NUL) as a JSON string, or null.
 * Bytes that are not valid UTF-8 become \u00XX (their Latin-1 reading): lossy,
 * but the document always parses.
 */
static void json_str_n(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0;

	if (!s) {
		fputs("null", out);
		return;
	}
	n = strnlen(s, max);
	fputc('"', out);
	while (i < n) {
		unsigned char c = p[i];
		size_t len;

		switch (c) {
		case '"':
			fputs("\\\"", out);
			i++;
			continue;
		case '\\':
			fputs("\\\\", out);
			i++;
			continue;
		case '\n':
			fputs("\\n", out);
			i++;
			continue;
		case '\r':
			fputs("\\r", out);
			i++;
			continue;
		case '\t':
			fputs("\\t", out);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		len = report__utf8_seq(p + i, n - i);
		if (!len) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		fwrite(p + i, 1, len, out);
		i += len;
	}
	fputc('"', out);
}

static void json_str(FILE *out, const char *s)
{
	json_str_n(out, s, SIZE_MAX);
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

static void write_procs(FILE *out, const struct lw_report_meta *m)
{
	size_t n = m->procs ? m->nr_procs : 0;

	fputs("  \"processes\": [", out);
	for (size_t i = 0; i < n; i++) {
		const struct lw_proc *p = &m->procs[i];

		fprintf(out,
			"%s\n    {\n      \"pid\": %" PRIu32 ",\n      \"ppid\": %" PRIu32
			",\n      \"comm\": ",
			i ? "," : "", p->pid, p->ppid);
		json_str_n(out, p->comm, sizeof(p->comm));
		fprintf(out, ",\n      \"exited\": %s,\n      \"exit_code\": ", jbool(p->exited));
		if (p->exited)
			fprintf(out, "%d", p->exit_code);
		else
			fputs("null", out);
		fputs("\n    }", out);
	}
	fputs(n ? "\n  ],\n" : "],\n", out);
}

static int json_begin(struct lw_reporter *r, const struct lw_report_meta *m)
{
	FILE *out = r->out;

	fprintf(out, "{\n  \"version\": %d,\n  \"tool\": \"leakwatch\",\n  \"tool_version\": ",
		LW_JSON_SCHEMA_VERSION);
	json_str(out, m->tool_version);
	fputs(",\n  \"mode\": ", out);
	json_str(out, m->mode);
	fputs(",\n  \"command\": ", out);
	json_str(out, m->command);
	fprintf(out,
		",\n  \"pid\": %" PRIu32 ",\n  \"duration_ms\": %" PRIu64
		",\n  \"complete\": %s,\n  \"incomplete_reason\": ",
		m->pid, m->duration_ms, jbool(report__complete(m)));
	json_str(out, m->incomplete_reason);
	fputs(",\n", out);
	write_procs(out, m);
	fputs("  \"findings\": [", out);
	return status(out);
}

static void write_frame(FILE *out, bool first, uint64_t addr, const struct lw_sym_frame *fr)
{
	static const struct lw_sym_frame none;

	if (!fr)
		fr = &none;
	fprintf(out,
		"%s\n        {\n          \"addr\": \"0x%" PRIx64 "\",\n          \"module\": ",
		first ? "" : ",", addr);
	json_str(out, fr->module);
	fputs(",\n          \"symbol\": ", out);
	json_str(out, fr->symbol);
	/* optional: only for a demangled name, only when inexact */
	if (fr->mangled) {
		fputs(",\n          \"mangled\": ", out);
		json_str(out, fr->mangled);
	}
	if (fr->inexact)
		fputs(",\n          \"inexact\": true", out);
	/* Without a symbol the offset is module-relative, and only when the
	 * symbolizer supplied one (it leaves 0 when it does not know).
	 */
	if (fr->symbol || (fr->module && fr->offset))
		fprintf(out, ",\n          \"offset\": %" PRIu64, fr->offset);
	else
		fputs(",\n          \"offset\": null", out);
	fputs(",\n          \"file\": ", out);
	json_str(out, fr->file);
	if (fr->line > 0)
		fprintf(out, ",\n          \"line\": %d\n        }", fr->line);
	else
		fputs(",\n          \"line\": null\n        }", out);
}

/* The frames array only ("[...]"), at the stack's indentation. */
static void write_frames(FILE *out, const struct lw_ips *stack, const struct lw_sym_frame *frames,
			 unsigned nr_frames)
{
	unsigned n = 0;

	fputc('[', out);
	if (nr_frames && frames) {
		n = nr_frames;
		for (unsigned i = 0; i < n; i++)
			write_frame(out, !i, frames[i].addr, &frames[i]);
	} else {
		/* Not symbolized: still give the raw pcs. */
		n = stack->nr < LW_STACK_MAX ? stack->nr : LW_STACK_MAX;
		for (unsigned i = 0; i < n; i++)
			write_frame(out, !i, stack->ips[i], NULL);
	}
	fputs(n ? "\n      ]" : "]", out);
}

static void write_stack(FILE *out, const struct lw_finding *f)
{
	fputs("      \"stack\": ", out);
	write_frames(out, &f->stack, f->frames, f->nr_frames);
	/* secondary evidence (double free: where it was allocated and freed) */
	if (f->nr_extra) {
		fputs(",\n      \"related\": [", out);
		for (unsigned i = 0; i < f->nr_extra && i < LW_FINDING_EXTRA_MAX; i++) {
			fprintf(out, "%s\n        {\"label\": ", i ? "," : "");
			json_str(out, f->extra[i].label);
			fputs(", \"stack\": ", out);
			write_frames(out, &f->extra[i].stack, f->extra[i].frames,
				     f->extra[i].nr_frames);
			fputc('}', out);
		}
		fputs("\n      ]", out);
	}
	fputs("\n    }", out);
}

/* run --inject / --fault-sweep: the fault the run that found it made */
static void write_fault(FILE *out, const struct lw_finding *f)
{
	const struct lw_fault_note *n = &f->fault;
	const struct lw_evidence *x = report_fault__stack(f);
	char line[512];

	if (!n->set) {
		fputs("      \"fault\": null,\n", out);
		return;
	}
	report_fault__line(f, line, sizeof(line));
	fputs("      \"fault\": {\"func\": ", out);
	json_str(out, n->func);
	fprintf(out, ", \"errno\": %d, \"errno_name\": ", n->err);
	json_str(out, strerrorname_np(n->err));
	fprintf(out,
		", \"call\": %" PRIu64 ", \"site\": \"%016" PRIx64 "\", \"pid\": %" PRIu32
		", \"tid\": %" PRIu32 ", \"faults_in_run\": %" PRIu64 ", \"rule\": ",
		n->nth, n->site, n->pid, n->tid, n->fired);
	json_str(out, n->rule[0] ? n->rule : NULL);
	fputs(", \"summary\": ", out);
	json_str(out, line);
	fputs(",\n        \"stack\": ", out);
	if (x)
		write_frames(out, &x->stack, x->frames, x->nr_frames);
	else
		fputs("[]", out);
	fputs("},\n", out);
}

/* Top level: "faults" (--inject) or "sweep" (--fault-sweep), else null. */
static void write_fault_meta(FILE *out, const struct lw_report_meta *m)
{
	const struct lw_fault_meta *fm = &m->fault;

	fputs("  \"faults\": ", out);
	if (fm->on && !fm->sweep) {
		fputs("{\"rules\": ", out);
		json_str(out, fm->rules);
		fprintf(out, ", \"made\": %" PRIu64 ", \"processes\": %" PRIu64 "}", fm->fired,
			fm->procs);
	} else {
		fputs("null", out);
	}
	fputs(",\n  \"sweep\": ", out);
	if (!fm->on || !fm->sweep) {
		fputs("null,\n", out);
		return;
	}
	fputs("{\n    \"functions\": ", out);
	json_str(out, fm->rules);
	fprintf(out,
		",\n    \"sites\": %" PRIu64 ",\n    \"runs\": %" PRIu64
		",\n    \"findings\": %" PRIu64 ",\n    \"crashed\": %" PRIu64
		",\n    \"timed_out\": %" PRIu64 ",\n    \"not_reached\": %" PRIu64
		",\n    \"skipped\": %" PRIu64 ",\n    \"per_site\": [",
		fm->sites, fm->runs, fm->findings, fm->crashed, fm->timed_out, fm->not_reached,
		fm->skipped);
	for (size_t i = 0; i < fm->nr_site; i++) {
		const struct lw_sweep_site *x = &fm->site[i];

		fprintf(out, "%s\n      {\"func\": ", i ? "," : "");
		json_str(out, x->func);
		fprintf(out, ", \"errno\": %d, \"site\": \"%016" PRIx64 "\", \"at\": ", x->err,
			x->hash);
		json_str(out, x->at);
		fputs(", \"outcome\": ", out);
		json_str(out, x->outcome);
		fprintf(out, ", \"findings\": %" PRIu64 "}", x->findings);
	}
	fputs(fm->nr_site ? "\n    ]\n  },\n" : "]\n  },\n", out);
}

static int json_finding(struct lw_reporter *r, const struct lw_finding *f)
{
	struct json_state *st = r->priv;
	FILE *out = r->out;
	unsigned nfds = f->nr_fds < LW_FINDING_FDS_MAX ? f->nr_fds : LW_FINDING_FDS_MAX;

	fprintf(out, "%s\n    {\n      \"kind\": ", st->nr_written++ ? "," : "");
	json_str(out, f->kind);
	fprintf(out,
		",\n      \"pid\": %" PRIu32 ",\n      \"tid\": %" PRIu32 ",\n      \"comm\": ",
		f->pid, f->tid);
	json_str_n(out, f->comm, sizeof(f->comm));
	if (f->fd >= 0)
		fprintf(out, ",\n      \"fd\": %d", f->fd);
	else
		fputs(",\n      \"fd\": null", out);
	fputs(",\n      \"fds\": [", out);
	for (unsigned i = 0; i < nfds; i++)
		fprintf(out, "%s%d", i ? ", " : "", f->fds[i]);
	fputs("],\n      \"resource\": ", out);
	/* Empty resource means unknown, e.g. a socket without a path. */
	json_str_n(out, f->resource[0] ? f->resource : NULL, sizeof(f->resource));
	fprintf(out,
		",\n      \"count\": %" PRIu64 ",\n      \"bytes\": %" PRIu64
		",\n      \"age_ms\": %" PRIu64 ",\n      \"growing\": %s,\n",
		f->count, f->bytes, f->age_ms, jbool(f->growing));
	fputs("      \"class\": ", out);
	json_str(out, f->cls);
	fputs(",\n      \"why\": ", out);
	json_str(out, f->why);
	fputs(",\n", out);
	if (f->indirect_count)
		fprintf(out,
			"      \"indirect\": {\"bytes\": %" PRIu64 ", \"count\": %" PRIu64 "},\n",
			f->indirect_bytes, f->indirect_count);
	write_fault(out, f);
	/* only when set: the unwinder ran past the copied slice */
	if (f->stack.flags & LW_STK_SLICE_END)
		fputs("      \"stack_truncated\": true,\n", out);
	write_stack(out, f);
	return status(out);
}

/* The processes held still for reachability and fd liveness. */
static void write_scan(FILE *out, const struct lw_scan_stats *sc)
{
	double secs = (double)sc->mem_scan_ns / 1e9;

	fprintf(out,
		"  \"scan\": {\n    \"enabled\": %s,\n    \"frozen\": %" PRIu64
		",\n    \"not_frozen\": %" PRIu64 ",\n    \"off_reason\": ",
		jbool(!sc->off_by_option), sc->frozen, sc->not_frozen);
	json_str(out, sc->off_by_option ? "--no-freeze" : sc->off[0] ? sc->off : NULL);
	fprintf(
	    out,
	    ",\n    \"pause_ms\": %.3f,\n    \"pause_max_ms\": %.3f,\n    \"mem_scans\": %" PRIu64
	    ",\n    \"mem_scan_failed\": %" PRIu64 ",\n    \"mem_scanned_bytes\": %" PRIu64
	    ",\n    \"mem_scan_mb_per_s\": %.1f"
	    ",\n    \"reachable_blocks\": %" PRIu64 ",\n    \"reachable_bytes\": %" PRIu64
	    "\n  }\n",
	    (double)sc->pause_ns / 1e6, (double)sc->pause_max_ns / 1e6, sc->mem_scans,
	    sc->mem_scan_failed, sc->mem_scanned_bytes,
	    secs > 0 ? (double)sc->mem_scanned_bytes / 1e6 / secs : 0.0, sc->reachable_blocks,
	    sc->reachable_bytes);
}

static int json_end(struct lw_reporter *r, const struct lw_report_meta *m, size_t nr_findings)
{
	const struct json_state *st = r->priv;
	FILE *out = r->out;

	(void)nr_findings; /* the array already holds them */
	fputs(st->nr_written ? "\n  ],\n" : "],\n", out);
	fputs("  \"stats\": {\n", out);
	lw_stats__json(out, &m->stats, "    ");
	fprintf(out, "    \"reconciled\": %" PRIu64 ",\n    \"suppressed\": %zu\n  },\n",
		m->reconciled, m->nr_suppressed);
	write_fault_meta(out, m);
	write_scan(out, &m->scan);
	fputs("}\n", out);
	return status(out);
}

const struct reporter_ops lw_report_json = {
    .name = "json",
    .priv_size = sizeof(struct json_state),
    .begin = json_begin,
    .finding = json_finding,
    .end = json_end,
};
