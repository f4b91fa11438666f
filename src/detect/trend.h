/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --interval: per-site live counts over time; flags sites that keep growing. */
#ifndef LW_TREND_H
#define LW_TREND_H

#include <stdbool.h>
#include <stdint.h>

#define LW_TREND_STREAK 3 /* rising samples in a row that make a site "growing" */

struct trend;

struct trend *trend__new(void);
void trend__free(struct trend *g);
/* Record one sample of a site's live count; returns the change since the last
 * sample of that site (the first sample counts from 0).
 */
int64_t trend__sample(struct trend *g, uint64_t key, uint64_t live);
/* Sites not sampled in the latest round count as 0 live. Call after a round. */
void trend__end_round(struct trend *g);
bool trend__is_growing(const struct trend *g, uint64_t key);

#endif
