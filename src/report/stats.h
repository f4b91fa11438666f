/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF counters in reports, generated from LW_STATS (leakwatch/stats.h). */
#ifndef LW_REPORT_STATS_H
#define LW_REPORT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <leakwatch/events.h>

/* No counter that means lost data is set. */
bool lw_stats__lossless(const struct lw_stats *s);

/* The lost data in words, ", "-separated ("2 events dropped, unwind map full
 * 1x") into buf (always NUL-terminated when len > 0); the length it needed,
 * 0 when nothing was lost.
 */
size_t lw_stats__losses(const struct lw_stats *s, char *buf, size_t len);

/* Every counter, retired ones as 0, as JSON members at indent, each
 * followed by ",\n".
 */
void lw_stats__json(FILE *out, const struct lw_stats *s, const char *indent);

/* Every counter in table order, retired ones as 0. */
void lw_stats__each(const struct lw_stats *s,
		    void (*cb)(void *ctx, const char *name, uint64_t value), void *ctx);

#endif
