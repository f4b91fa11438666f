// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "detect/trend.h"

/* Linear table: sites number in the tens or hundreds, rounds are seconds apart. */
struct site {
	uint64_t key;
	uint64_t win[LW_TREND_WINDOW]; /* ring of the latest samples */
	unsigned n, head;	       /* samples held; index of the oldest */
	unsigned round_seen;	       /* round of the last sample */
	bool growing;
};

struct trend {
	struct site *v;
	size_t n, cap;
	unsigned round;
};

struct trend *trend__new(void)
{
	return calloc(1, sizeof(struct trend));
}

void trend__free(struct trend *g)
{
	if (!g)
		return;
	free(g->v);
	free(g);
}

static struct site *find(const struct trend *g, uint64_t key)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].key == key)
			return &g->v[i];
	return NULL;
}

/* The rule in trend.h, over y[0..n) oldest first. */
static bool sustained_growth(const uint64_t *y, unsigned n)
{
	unsigned rises = 0, falls = 0, min_at = 0, max_at, cadence = 1;
	uint64_t lo, rise;
	double slope = 0;

	if (n < LW_TREND_MIN_SAMPLES)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (y[i] <= y[min_at])
			min_at = i; /* the latest minimum */
		if (i) {
			rises += y[i] > y[i - 1];
			falls += y[i] < y[i - 1];
		}
		/* numerator of the least-squares slope, doubled: its sign */
		slope += (2.0 * i - (n - 1)) * (double)y[i];
	}
	/* new maxima from the minimum on: the longest wait between two */
	max_at = min_at;
	for (unsigned i = min_at + 1; i < n; i++) {
		if (y[i] > y[max_at]) {
			if (i - max_at > cadence)
				cadence = i - max_at;
			max_at = i;
		}
	}
	lo = y[min_at];
	rise = y[n - 1] - lo; /* the newest is never below the minimum */
	return rise >= LW_TREND_MIN_RISE && rise * 100 >= lo * LW_TREND_MIN_PCT &&
	       rises >= LW_TREND_MIN_RISES && falls * 3 <= n - 1 && slope > 0 && min_at < n / 2 &&
	       n - 1 - max_at < (2 * cadence > LW_TREND_RECENT ? 2 * cadence : LW_TREND_RECENT);
}

static void push(struct site *s, uint64_t live)
{
	uint64_t y[LW_TREND_WINDOW];

	if (s->n < LW_TREND_WINDOW)
		s->win[(s->head + s->n++) % LW_TREND_WINDOW] = live;
	else {
		s->win[s->head] = live;
		s->head = (s->head + 1) % LW_TREND_WINDOW;
	}
	for (unsigned i = 0; i < s->n; i++)
		y[i] = s->win[(s->head + i) % LW_TREND_WINDOW];
	s->growing = sustained_growth(y, s->n);
}

int64_t trend__sample(struct trend *g, uint64_t key, uint64_t live)
{
	struct site *s = find(g, key);
	int64_t delta;

	if (!s) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 32;
			struct site *v = realloc(g->v, cap * sizeof(*v));

			if (!v)
				return 0;
			g->v = v;
			g->cap = cap;
		}
		s = &g->v[g->n++];
		*s = (struct site){.key = key};
	}
	delta =
	    (int64_t)live - (int64_t)(s->n ? s->win[(s->head + s->n - 1) % LW_TREND_WINDOW] : 0);
	push(s, live);
	s->round_seen = g->round + 1;
	return delta;
}

void trend__end_round(struct trend *g)
{
	g->round++;
	for (size_t i = 0; i < g->n; i++) {
		struct site *s = &g->v[i];

		if (s->round_seen != g->round) {
			s->n = s->head = 0;
			s->growing = false;
		}
	}
}

bool trend__is_growing(const struct trend *g, uint64_t key)
{
	const struct site *s = find(g, key);

	return s && s->growing;
}
