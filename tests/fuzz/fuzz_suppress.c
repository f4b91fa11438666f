// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: suppression files (report/suppress.c), parsed then matched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/suppress.h"

static const char *const kinds[] = {"fd-leak",	  "mem-leak",	   "pair-leak",
				    "mount-race", "respawn-storm", "mem-double-free"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_sym_frame frames[2] = {
	    {.addr = 0x1000, .module = "/usr/lib/libfoo.so.1", .symbol = "foo_init"},
	    {.addr = 0x2000, .module = NULL, .symbol = NULL},
	};
	struct lw_finding f = {.fd = 3, .frames = frames, .nr_frames = 2};
	struct suppressions *s;
	char err[256], *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	s = suppress__parse("fuzz", text, err, sizeof(err));
	if (s) {
		snprintf(f.resource, sizeof(f.resource), "socket:[%zu]", size);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			f.kind = kinds[i];
			suppress__match(s, &f);
		}
		for (size_t i = 0; i <= suppress__count(s); i++)
			suppress__hits(s, i, NULL);
		suppress__free(s);
	}
	free(text);
	return 0;
}
