// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Folded stacks (Brendan Gregg's stackcollapse format) for flamegraph.pl,
 * speedscope and friends: one line per finding,
 * "kind;outermost;...;innermost VALUE". Names come from traced programs, so
 * the characters that delimit the format are replaced inside them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include "report/kinds.h"
#include "report/report.h"

static int status(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

/* ';' separates frames, the last space separates the value, a newline ends
 * the record; controls could also drive a terminal. All become '_'.
 */
static void put_name(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p == ';' || *p == ' ' || *p < 0x20 || *p == 0x7f ? '_' : *p, out);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* The symbol alone (offsets would split one function into many boxes), else
 * where in which module, else "[unknown]" as stackcollapse-perf writes it.
 */
static void put_frame(FILE *out, const struct lw_sym_frame *fr)
{
	if (fr && fr->symbol && fr->symbol[0]) {
		put_name(out, fr->symbol);
		if (fr->inexact)
			fputc('?', out); /* somewhere after it: not to merge with it */
	} else if (fr && fr->module && fr->module[0]) {
		if (fr->offset) {
			put_name(out, base_name(fr->module));
			fprintf(out, "+0x%" PRIx64, fr->offset);
		} else {
			fputc('[', out);
			put_name(out, base_name(fr->module));
			fputc(']', out);
		}
	} else {
		fputs("[unknown]", out);
	}
}

static int folded_begin(struct lw_reporter *r, const struct lw_report_meta *m)
{
	(void)m; /* the format has no header */
	return status(r->out);
}

static int folded_finding(struct lw_reporter *r, const struct lw_finding *f)
{
	const char *kind = f->kind && f->kind[0] ? f->kind : "unknown";
	bool symbolized = f->nr_frames && f->frames;
	unsigned n = symbolized ? f->nr_frames : f->stack.nr;
	/* Memory is weighed in bytes, as heap flame graphs are; the rest in count. */
	uint64_t value = lw_kind__of(kind, "mem") && f->bytes ? f->bytes : f->count;
	FILE *out = r->out;

	if (!symbolized && n > LW_STACK_MAX)
		n = LW_STACK_MAX;
	put_name(out, kind);
	/* Outer frames are missing: keep such stacks apart from whole ones. */
	if (f->stack.flags & (LW_STK_TRUNCATED | LW_STK_SLICE_END))
		fputs(";[truncated]", out);
	else if (f->stack.flags & (LW_STK_PARTIAL | LW_STK_BAD_READ))
		fputs(";[incomplete]", out);
	/* Frames are innermost first; flame graphs want the root first. */
	for (unsigned i = n; i-- > 0;) {
		fputc(';', out);
		put_frame(out, symbolized ? &f->frames[i] : NULL);
	}
	fprintf(out, " %" PRIu64 "\n", value);
	return status(out);
}

static int folded_end(struct lw_reporter *r, const struct lw_report_meta *m, size_t nr_findings)
{
	(void)m, (void)nr_findings; /* no trailer: stats would break the line format */
	return status(r->out);
}

const struct reporter_ops lw_report_folded = {
    .name = "folded",
    .begin = folded_begin,
    .finding = folded_finding,
    .end = folded_end,
};
