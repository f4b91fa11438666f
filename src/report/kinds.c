// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "report/kinds.h"

#define LW_KIND_ROW(n, d, leak, gate, age, touch)                                                  \
	{.name = n,                                                                                \
	 .detector = d,                                                                            \
	 .is_leak = leak,                                                                          \
	 .gates_exit = gate,                                                                       \
	 .aged = age,                                                                              \
	 .last_touch = touch},

const struct lw_kind lw_kinds[] = {LW_KINDS(LW_KIND_ROW)};
const size_t lw_nr_kinds = sizeof(lw_kinds) / sizeof(lw_kinds[0]);

const struct lw_kind *lw_kind__find_n(const char *name, size_t len)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < lw_nr_kinds; i++)
		if (strlen(lw_kinds[i].name) == len && !strncmp(lw_kinds[i].name, name, len))
			return &lw_kinds[i];
	return NULL;
}

const struct lw_kind *lw_kind__find(const char *name)
{
	return name ? lw_kind__find_n(name, strlen(name)) : NULL;
}

bool lw_kind__of(const char *kind, const char *detector)
{
	const struct lw_kind *k = lw_kind__find(kind);

	return k && !strcmp(k->detector, detector);
}

bool lw_kind__gates(const char *kind)
{
	const struct lw_kind *k = lw_kind__find(kind);

	return !k || k->gates_exit;
}
