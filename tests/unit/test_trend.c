// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --interval trend: deltas, rising streaks, and what a round without a
 * sample of a site means.
 */
#include "harness.h"
#include "detect/trend.h"

/* one round: sample each (key, live) pair, then end the round */
static void round_of(struct trend *t, const uint64_t (*s)[2], int n)
{
	for (int i = 0; i < n; i++)
		trend__sample(t, s[i][0], s[i][1]);
	trend__end_round(t);
}

LW_TEST(trend_deltas)
{
	struct trend *t = trend__new();

	ASSERT_TRUE(t, "new");
	ASSERT_EQ(trend__sample(t, 1, 5), 5, "the first sample counts from 0");
	trend__end_round(t);
	ASSERT_EQ(trend__sample(t, 1, 9), 4, "rise");
	ASSERT_EQ(trend__sample(t, 2, 3), 3, "another site, its own count");
	trend__end_round(t);
	ASSERT_EQ(trend__sample(t, 1, 2), -7, "fall");
	ASSERT_EQ(trend__sample(t, 2, 3), 0, "flat");
	trend__free(t);
	trend__free(NULL);
}

LW_TEST(trend_streak_makes_growing)
{
	struct trend *t = trend__new();
	uint64_t live = 10;

	for (int r = 0; r < LW_TREND_STREAK - 1; r++) {
		trend__sample(t, 7, live++);
		trend__end_round(t);
		ASSERT_TRUE(!trend__is_growing(t, 7), "not yet");
	}
	trend__sample(t, 7, live);
	trend__end_round(t);
	ASSERT_TRUE(trend__is_growing(t, 7), "LW_TREND_STREAK rises in a row");
	trend__sample(t, 7, live);
	trend__end_round(t);
	ASSERT_TRUE(trend__is_growing(t, 7), "an equal sample keeps it");
	trend__sample(t, 7, live - 1);
	ASSERT_TRUE(!trend__is_growing(t, 7), "a fall ends it at once");
	trend__sample(t, 7, live);
	trend__sample(t, 7, live + 1);
	ASSERT_TRUE(!trend__is_growing(t, 7), "the streak starts again from 0");
	trend__sample(t, 7, live + 2);
	ASSERT_TRUE(trend__is_growing(t, 7), "three new rises");
	ASSERT_TRUE(!trend__is_growing(t, 8), "an unknown site is not growing");
	trend__free(t);
}

LW_TEST(trend_flat_samples_keep_the_streak)
{
	struct trend *t = trend__new();
	const uint64_t s[][2] = {{1, 1}, {1, 1}, {1, 2}, {1, 2}, {1, 2}, {1, 3}};

	for (int i = 0; i < 6; i++)
		round_of(t, &s[i], 1);
	ASSERT_TRUE(trend__is_growing(t, 1), "rises 0->1->2->3 with pauses");
	trend__free(t);
}

/* A site missing from a round has nothing live: its count starts again
 * from 0 and its streak is gone.
 */
LW_TEST(trend_end_round_resets_unsampled_sites)
{
	struct trend *t = trend__new();
	const uint64_t only1[][2] = {{1, 12}};

	for (int r = 0; r < LW_TREND_STREAK; r++) {
		const uint64_t s[][2] = {{1, 10 + r}, {2, 10 + r}};

		round_of(t, s, 2);
	}
	ASSERT_TRUE(trend__is_growing(t, 1), "1 grows");
	ASSERT_TRUE(trend__is_growing(t, 2), "2 grows");
	round_of(t, only1, 1); /* only site 1, flat: it keeps growing */
	ASSERT_TRUE(trend__is_growing(t, 1), "sampled, flat: still growing");
	ASSERT_TRUE(!trend__is_growing(t, 2), "not sampled: reset");
	ASSERT_EQ(trend__sample(t, 2, 12), 12, "counts from 0 again");
	ASSERT_TRUE(!trend__is_growing(t, 2), "one rise is no streak");
	trend__free(t);
}

/* the reset happens at the end of the round, not before its samples */
LW_TEST(trend_end_round_only_after_the_round)
{
	struct trend *t = trend__new();

	trend__sample(t, 1, 1);
	trend__sample(t, 1, 2);
	trend__sample(t, 1, 3);
	ASSERT_TRUE(trend__is_growing(t, 1), "three rises within one round");
	trend__end_round(t);
	ASSERT_TRUE(trend__is_growing(t, 1), "sampled in that round: kept");
	trend__end_round(t);
	ASSERT_TRUE(!trend__is_growing(t, 1), "an empty round resets it");
	ASSERT_EQ(trend__sample(t, 1, 3), 3, "from 0");
	trend__free(t);
}

LW_TEST(trend_many_sites)
{
	struct trend *t = trend__new();

	for (int r = 0; r < LW_TREND_STREAK; r++) {
		for (uint64_t k = 0; k < 1000; k++)
			trend__sample(t, k, k % 2 ? r + 1 : 5); /* odd sites rise */
		trend__end_round(t);
	}
	for (uint64_t k = 0; k < 1000; k++)
		ASSERT_EQ(trend__is_growing(t, k), k % 2, "odd sites grow, even are flat");
	trend__free(t);
}
