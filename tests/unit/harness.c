// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "harness.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	lw_test_fn fn;
} tests[MAX_TESTS];
static int nr_tests;
int lw_test_failed;

void lw_test_register(const char *name, lw_test_fn fn)
{
	if (nr_tests == MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		abort();
	}
	tests[nr_tests].name = name;
	tests[nr_tests++].fn = fn;
}

/* argv[1], when given, runs only tests whose name contains it. */
int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < nr_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		lw_test_failed = 0;
		tests[i].fn();
		printf("%s %s\n", lw_test_failed ? "FAIL" : "ok  ", tests[i].name);
		if (lw_test_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
