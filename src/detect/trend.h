/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --interval: per-site live counts over time; flags sites that keep growing.
 *
 * Each site keeps its latest LW_TREND_WINDOW samples. It is growing when the
 * window shows sustained net growth, not a jump, a burst or a warm-up:
 *  1. at least LW_TREND_MIN_SAMPLES samples;
 *  2. the newest sample is at least LW_TREND_MIN_RISE above the window's
 *     minimum, and at least LW_TREND_MIN_PCT percent above it;
 *  3. at least LW_TREND_MIN_RISES steps rose, and at most a third fell;
 *  4. the least-squares slope over the window is positive;
 *  5. the latest minimum lies in the older half of the window (the growth
 *     spans half of it: a sawtooth starts again from its trough);
 *  6. it is still climbing: the samples since the window's maximum was
 *     first reached are fewer than LW_TREND_RECENT, or than twice the
 *     longest wait between two new maxima since the minimum (a leak that
 *     rises every 4th interval stays growing; a count that levelled off
 *     after a steady warm-up stops growing 3 samples later).
 * A leak of one resource per interval is growing from its 6th sample; a
 * count that oscillates (keep-alive churn), jumps once (3 -> 6) or
 * plateaus after a warm-up is not. Sites not sampled in a round have
 * nothing live: their window starts again.
 */
#ifndef LW_TREND_H
#define LW_TREND_H

#include <stdbool.h>
#include <stdint.h>

#define LW_TREND_WINDOW	     16
#define LW_TREND_MIN_SAMPLES 6
#define LW_TREND_MIN_RISE    4
#define LW_TREND_MIN_PCT     10
#define LW_TREND_MIN_RISES   3
#define LW_TREND_RECENT	     3

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
