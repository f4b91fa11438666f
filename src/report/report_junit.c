// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JUnit XML for CI systems: one testcase per finding, failing with the text
 * report's block for it, or one passing "no leaks" testcase so CI shows a
 * green test rather than none. Strings come from traced programs, so every
 * one is escaped into well-formed XML 1.0.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "report/kinds.h"
#include "report/report.h"
#include "report/stats.h"

static int status(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

/* Write at most n bytes of s (stopping at NUL) as XML text or attribute
 * value. XML 1.0 forbids most C0 controls even as character references, so
 * they become "\xNN" text, as in the text report; so do bytes that are not
 * valid UTF-8 and the noncharacters U+FFFE/U+FFFF. raw: s is untouched
 * traced-program bytes, so '\' and newlines are escaped too; otherwise s is
 * text-report output, already escaped, whose newlines are kept.
 */
static void xml_put_n(FILE *out, const char *s, size_t n, bool raw)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	n = strnlen(s, n);
	while (i < n) {
		unsigned char c = p[i];
		size_t len;

		switch (c) {
		case '&':
			fputs("&amp;", out);
			i++;
			continue;
		case '<':
			fputs("&lt;", out);
			i++;
			continue;
		case '>':
			fputs("&gt;", out);
			i++;
			continue;
		case '"':
			fputs("&quot;", out);
			i++;
			continue;
		case '\'':
			fputs("&apos;", out);
			i++;
			continue;
		}
		if ((c == '\n' && !raw) || (c >= 0x20 && c < 0x7f && (c != '\\' || !raw))) {
			fputc(c, out);
			i++;
			continue;
		}
		len = c >= 0x80 ? report__utf8_seq(p + i, n - i) : 0;
		if (len == 3 && c == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe)
			len = 0;
		if (!len) {
			fprintf(out, "\\x%02x", c);
			i++;
			continue;
		}
		fwrite(p + i, 1, len, out);
		i += len;
	}
}

static void xml_put(FILE *out, const char *s)
{
	xml_put_n(out, s, SIZE_MAX, true);
}

static void prop_str(FILE *out, const char *name, const char *value)
{
	if (!value)
		return;
	fprintf(out, "    <property name=\"%s\" value=\"", name);
	xml_put(out, value);
	fputs("\"/>\n", out);
}

static void prop_u64(FILE *out, const char *name, uint64_t value)
{
	fprintf(out, "    <property name=\"%s\" value=\"%" PRIu64 "\"/>\n", name, value);
}

static void prop_stat(void *out, const char *name, uint64_t value)
{
	prop_u64(out, name, value);
}

static int junit_begin(struct lw_reporter *r, const struct lw_report_meta *m)
{
	size_t n = r->nr_findings;
	FILE *out = r->out;

	/* With no findings the "no leaks" testcase is the one test. */
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuite name=\"leakwatch\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"0\" time=\"%" PRIu64 ".%03" PRIu64 "\">\n  <properties>\n",
		n ? n : 1, r->nr_gating, m->duration_ms / 1000, m->duration_ms % 1000);
	prop_str(out, "tool_version", m->tool_version);
	prop_str(out, "mode", m->mode);
	prop_str(out, "command", m->command);
	prop_u64(out, "pid", m->pid);
	prop_str(out, "complete", report__complete(m) ? "true" : "false");
	prop_str(out, "incomplete_reason", m->incomplete_reason);
	lw_stats__each(&m->stats, prop_stat, out);
	prop_u64(out, "reconciled", m->reconciled);
	prop_u64(out, "suppressed", m->nr_suppressed);
	fputs("  </properties>\n", out);
	return status(out);
}

static bool in_shared_lib(const char *module)
{
	const char *slash = strrchr(module, '/');

	return strstr(slash ? slash + 1 : module, ".so");
}

/* The function a person would name the leak after: the innermost one in the
 * program rather than in a shared library (open64 in libc says little), else
 * the innermost with a symbol. Addresses would change from run to run.
 */
static const char *site_symbol(const struct lw_finding *f)
{
	const char *any = NULL;

	for (unsigned i = 0; f->frames && i < f->nr_frames; i++) {
		const struct lw_sym_frame *fr = &f->frames[i];

		if (!fr->symbol || !fr->symbol[0] || fr->inexact)
			continue;
		if (!fr->module || !in_shared_lib(fr->module))
			return fr->symbol;
		if (!any)
			any = fr->symbol;
	}
	return any;
}

/* "KIND pid PID [fd FD] [at FUNCTION]": built from the finding alone, never
 * from addresses, so the same finding always gets the same name.
 */
static void put_case_name(FILE *out, const struct lw_finding *f, const char *kind)
{
	const char *at = site_symbol(f);

	xml_put(out, kind);
	fprintf(out, " pid %" PRIu32, f->pid);
	if (f->fd >= 0)
		fprintf(out, " fd %d", f->fd);
	if (at) {
		fputs(" at ", out);
		xml_put(out, at);
	}
}

static int junit_finding(struct lw_reporter *r, const struct lw_finding *f)
{
	const char *kind = f->kind ? f->kind : "unknown";
	const struct lw_kind *k = lw_kind__find(kind);
	FILE *out = r->out, *mem;
	char *block = NULL;
	size_t len = 0;
	int err;

	mem = open_memstream(&block, &len);
	if (!mem)
		return -errno;
	err = report_text__block(mem, f);
	if (fclose(mem) && !err)
		err = -ENOMEM;
	if (err) {
		free(block);
		return err;
	}
	fputs("  <testcase classname=\"", out);
	xml_put(out, kind);
	fputs("\" name=\"", out);
	put_case_name(out, f, kind);
	/* a kind that does not gate (fd-held, fd-uncertain) passes: listed, not failed */
	if (k && !k->gates_exit) {
		fputs("\">\n    <system-out>", out);
		xml_put_n(out, block, len, false);
		fputs("</system-out>\n  </testcase>\n", out);
		free(block);
		return status(out);
	}
	/* The title line is the one-line message CI lists show. */
	fputs("\">\n    <failure message=\"", out);
	xml_put_n(out, block, strcspn(block, "\n"), false);
	fputs("\" type=\"", out);
	xml_put(out, kind);
	fputs("\">", out);
	xml_put_n(out, block, len, false);
	fputs("</failure>\n  </testcase>\n", out);
	free(block);
	return status(out);
}

static int junit_end(struct lw_reporter *r, const struct lw_report_meta *m, size_t nr_findings)
{
	FILE *out = r->out;

	(void)m, (void)nr_findings; /* begin() wrote the totals from r->nr_findings */
	if (!r->nr_findings)
		fputs("  <testcase classname=\"leakwatch\" name=\"no leaks\"/>\n", out);
	fputs("</testsuite>\n", out);
	return status(out);
}

const struct reporter_ops lw_report_junit = {
    .name = "junit",
    .begin = junit_begin,
    .finding = junit_finding,
    .end = junit_end,
};
