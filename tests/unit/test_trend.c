// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --interval trend: deltas, what counts as sustained growth (trend.h's
 * rule) on synthetic series, and what a round without a sample of a site
 * means.
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

/* Feed series y to site 1, one round per sample: the first sample after
 * which it is growing (-1: never), the last one in *last_growing, and how
 * many were in *nr_growing (when not NULL).
 */
static int first_growing_n(const uint64_t *y, int n, int *last_growing, int *nr_growing)
{
	struct trend *t = trend__new();
	int first = -1, nr = 0;

	*last_growing = -1;
	for (int i = 0; i < n; i++) {
		trend__sample(t, 1, y[i]);
		trend__end_round(t);
		if (trend__is_growing(t, 1)) {
			if (first < 0)
				first = i;
			*last_growing = i;
			nr++;
		}
	}
	trend__free(t);
	if (nr_growing)
		*nr_growing = nr;
	return first;
}

static int first_growing(const uint64_t *y, int n, int *last_growing)
{
	return first_growing_n(y, n, last_growing, NULL);
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
	for (int i = 0; i < 3 * LW_TREND_WINDOW; i++)
		trend__sample(t, 1, 100 + i);
	ASSERT_EQ(trend__sample(t, 1, 50), 50 - (100 + 3 * LW_TREND_WINDOW - 1),
		  "the ring keeps the latest sample");
	trend__free(t);
	trend__free(NULL);
}

/* one leaked fd per interval: growing on its 6th sample, not before */
LW_TEST(trend_leak_steady)
{
	uint64_t y[40];
	int last;

	for (int i = 0; i < 40; i++)
		y[i] = 1 + i;
	ASSERT_EQ(first_growing(y, 40, &last), 5, "growing from the 6th interval");
	ASSERT_EQ(last, 39, "and it stays growing");
	for (int i = 0; i < 40; i++)
		y[i] = 50 + i; /* on top of 50 healthy ones */
	ASSERT_EQ(first_growing(y, 40, &last), 5, "a base count changes nothing");
	ASSERT_EQ(last, 39, "still growing at the end");
}

/* one leak every other interval, over a base of 20 */
LW_TEST(trend_leak_slow)
{
	uint64_t y[40];
	int last, first, nr;

	for (int i = 0; i < 40; i++)
		y[i] = 20 + i / 2;
	first = first_growing(y, 40, &last);
	ASSERT_TRUE(first >= 0 && first <= 10, "found within 11 intervals");
	ASSERT_EQ(last, 39, "stays growing");
	/* one every third interval: about the slowest a window can tell */
	for (int i = 0; i < 40; i++)
		y[i] = 20 + i / 3;
	first = first_growing_n(y, 40, &last, &nr);
	ASSERT_TRUE(first >= 0 && first <= LW_TREND_WINDOW, "found within a window");
	ASSERT_EQ(nr, 40 - first, "and growing from then on, between its rises too");
	/* a leak hidden in churn: +1 per interval, but every fourth step falls */
	for (int i = 0; i < 40; i++)
		y[i] = 30 + i + (i % 4 == 3 ? 0 : 2);
	first = first_growing(y, 40, &last);
	ASSERT_TRUE(first >= 0 && first <= 12, "churn does not hide a leak");
	ASSERT_EQ(last, 39, "to the end");
}

/* a busy server: connections come and go around a level */
LW_TEST(trend_bursty_healthy)
{
	uint64_t y[200], x = 12345;
	int last;

	for (int i = 0; i < 200; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		y[i] = 20 + (x >> 33) % 25;
	}
	ASSERT_EQ(first_growing(y, 200, &last), -1, "random around 30: never growing");
	for (int i = 0; i < 200; i++)
		y[i] = i % 2 ? 9 : 3; /* keep-alive churn */
	ASSERT_EQ(first_growing(y, 200, &last), -1, "alternating: never growing");
}

/* a cache fills, then stays full */
LW_TEST(trend_plateau_after_warm_up)
{
	uint64_t y[40];
	int last;

	for (int i = 0; i < 40; i++)
		y[i] = i < 8 ? 8 * i : 56;
	first_growing(y, 40, &last);
	ASSERT_TRUE(last < 7 + LW_TREND_RECENT, "not growing once it levelled off");
	for (int i = 0; i < 40; i++)
		y[i] = i < 3 ? 20 * i : 40; /* a short warm-up */
	ASSERT_EQ(first_growing(y, 40, &last), -1, "a short warm-up never grows");
}

/* nginx's live connections going 3 -> 6 */
LW_TEST(trend_jump_3_to_6)
{
	const uint64_t step[] = {3, 3, 3, 6, 6, 6, 6, 6, 6, 6, 6, 6};
	const uint64_t ramp[] = {3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6};
	const uint64_t jump[] = {3, 3, 3, 3, 9, 9, 9, 9, 9, 9, 9, 9};
	int last;

	ASSERT_EQ(first_growing(step, 12, &last), -1, "a step of 3");
	ASSERT_EQ(first_growing(ramp, 12, &last), -1, "3 rises in a row");
	ASSERT_EQ(first_growing(jump, 12, &last), -1, "one jump of 6");
}

/* allocations pile up, then a flush frees them all, again and again */
LW_TEST(trend_sawtooth)
{
	uint64_t y[100];
	int last;

	for (int i = 0; i < 100; i++)
		y[i] = 2 * (i % 5);
	ASSERT_EQ(first_growing(y, 100, &last), -1, "teeth of 5 samples");
	for (int i = 0; i < 100; i++)
		y[i] = 10 + 3 * (i % 4);
	ASSERT_EQ(first_growing(y, 100, &last), -1, "teeth of 4 over a base");
	for (int i = 0; i < 100; i++)
		y[i] = 5 * (i % 10);
	first_growing(y, 100, &last);
	/* a tooth of 10 rising samples looks like a leak while it rises */
	ASSERT_TRUE(last < 0 || last % 10 >= LW_TREND_MIN_SAMPLES - 1, "only late in a tooth");
	ASSERT_TRUE(last < 0 || last % 10 != 0, "never right after the drop");
}

/* A site missing from a round has nothing live: its window starts again. */
LW_TEST(trend_end_round_resets_unsampled_sites)
{
	struct trend *t = trend__new();
	const uint64_t only1[][2] = {{1, 20}};

	for (int r = 0; r < LW_TREND_MIN_SAMPLES; r++) {
		const uint64_t s[][2] = {{1, 10 + 2 * r}, {2, 10 + 2 * r}};

		round_of(t, s, 2);
	}
	ASSERT_TRUE(trend__is_growing(t, 1), "1 grows");
	ASSERT_TRUE(trend__is_growing(t, 2), "2 grows");
	round_of(t, only1, 1); /* only site 1, flat */
	ASSERT_TRUE(trend__is_growing(t, 1), "sampled, flat once: still growing");
	ASSERT_TRUE(!trend__is_growing(t, 2), "not sampled: reset");
	ASSERT_EQ(trend__sample(t, 2, 12), 12, "counts from 0 again");
	ASSERT_TRUE(!trend__is_growing(t, 2), "one sample is no trend");
	ASSERT_TRUE(!trend__is_growing(t, 8), "an unknown site is not growing");
	trend__free(t);
}

/* the reset happens at the end of the round, not before its samples */
LW_TEST(trend_end_round_only_after_the_round)
{
	struct trend *t = trend__new();

	for (uint64_t v = 1; v <= LW_TREND_MIN_SAMPLES; v++)
		trend__sample(t, 1, v);
	ASSERT_TRUE(trend__is_growing(t, 1), "rises within one round");
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

	for (int r = 0; r < LW_TREND_MIN_SAMPLES; r++) {
		for (uint64_t k = 0; k < 1000; k++)
			trend__sample(t, k, k % 2 ? r + 1 : 5); /* odd sites rise */
		trend__end_round(t);
	}
	for (uint64_t k = 0; k < 1000; k++)
		ASSERT_EQ(trend__is_growing(t, k), k % 2, "odd sites grow, even are flat");
	trend__free(t);
}
