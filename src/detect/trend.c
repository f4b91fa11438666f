// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "detect/trend.h"

/* Linear table: sites number in the tens or hundreds, rounds are seconds apart. */
struct site {
	uint64_t key;
	uint64_t last;
	unsigned streak;     /* consecutive rises (equal samples keep it) */
	unsigned round_seen; /* round of the last sample */
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
	delta = (int64_t)live - (int64_t)s->last;
	if (delta > 0)
		s->streak++;
	else if (delta < 0)
		s->streak = 0;
	if (s->streak >= LW_TREND_STREAK)
		s->growing = true;
	if (delta < 0)
		s->growing = false;
	s->last = live;
	s->round_seen = g->round + 1;
	return delta;
}

void trend__end_round(struct trend *g)
{
	g->round++;
	for (size_t i = 0; i < g->n; i++) {
		if (g->v[i].round_seen != g->round) {
			g->v[i].last = 0;
			g->v[i].streak = 0;
			g->v[i].growing = false;
		}
	}
}

bool trend__is_growing(const struct trend *g, uint64_t key)
{
	const struct site *s = find(g, key);

	return s && s->growing;
}
