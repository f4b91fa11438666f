/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --interval: per-site live counts over time; flags sites that keep growing. */
#ifndef LW_GROWTH_H
#define LW_GROWTH_H

#include <stdbool.h>
#include <stdint.h>

#define LW_GROWTH_STREAK 3 /* rising samples in a row that make a site "growing" */

struct growth;

struct growth *growth__new(void);
void growth__free(struct growth *g);
/* Record one sample of a site's live count; returns the change since the last
 * sample of that site (the first sample counts from 0).
 */
int64_t growth__sample(struct growth *g, uint64_t key, uint64_t live);
/* Sites not sampled in the latest round count as 0 live. Call after a round. */
void growth__end_round(struct growth *g);
bool growth__is_growing(const struct growth *g, uint64_t key);

#endif
