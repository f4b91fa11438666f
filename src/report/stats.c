// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <leakwatch/stats.h>
#include "report/stats.h"

bool lw_stats__lossless(const struct lw_stats *s)
{
	bool lost = false;

#define LOSS_(field, json, text, loss) lost |= (loss) && s->field;
	LW_STATS(LOSS_)
#undef LOSS_
	return !lost;
}

size_t lw_stats__losses(const struct lw_stats *s, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = 0;
#define TEXT_(field, json, text, loss)                                                             \
	if ((loss) && s->field) {                                                                  \
		if (off)                                                                           \
			off += snprintf(buf + (off < len ? off : len), off < len ? len - off : 0,  \
					", ");                                                     \
		off += snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, text,    \
				(unsigned long long)s->field);                                     \
	}
	LW_STATS(TEXT_)
#undef TEXT_
	return off;
}

void lw_stats__each(const struct lw_stats *s,
		    void (*cb)(void *ctx, const char *name, uint64_t value), void *ctx)
{
#define EACH_(field, json, text, loss) cb(ctx, json, s->field);
	LW_STATS(EACH_)
#undef EACH_
}

struct json_ctx {
	FILE *out;
	const char *indent;
};

static void json_member(void *ctx, const char *name, uint64_t value)
{
	struct json_ctx *j = ctx;

	fprintf(j->out, "%s\"%s\": %llu,\n", j->indent, name, (unsigned long long)value);
}

void lw_stats__json(FILE *out, const struct lw_stats *s, const char *indent)
{
	struct json_ctx j = {out, indent};

	lw_stats__each(s, json_member, &j);
}
