/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Minimal unit-test harness: LW_TEST(name) { ... } registers a test;
 * ASSERT_* print both values and fail the current test.
 */
#ifndef LW_HARNESS_H
#define LW_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A function the optimiser must leave alone (not inlined, cloned or
 * renamed), so its symbol and its frame are the ones a test names. clang
 * has no noipa; noinline and used do the same there.
 */
#ifdef __clang__
#define LW_NOIPA __attribute__((noinline, used))
#else
#define LW_NOIPA __attribute__((noipa))
#endif

typedef void (*lw_test_fn)(void);
void lw_test_register(const char *name, lw_test_fn fn);
extern int lw_test_failed; /* set by ASSERT_* in the running test */

#define LW_TEST(name)                                                                              \
	static void name(void);                                                                    \
	__attribute__((constructor)) static void name##_register(void)                             \
	{                                                                                          \
		lw_test_register(#name, name);                                                     \
	}                                                                                          \
	static void name(void)

#define ASSERT_EQ(actual, expected, what)                                                          \
	do {                                                                                       \
		long long _a = (long long)(actual), _e = (long long)(expected);                    \
		if (_a != _e) {                                                                    \
			fprintf(stderr, "  %s:%d: %s: got %lld, want %lld\n", __FILE__, __LINE__,  \
				what, _a, _e);                                                     \
			lw_test_failed = 1;                                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_TRUE(cond, what) ASSERT_EQ(!!(cond), 1, what)

#define ASSERT_STREQ(actual, expected, what)                                                       \
	do {                                                                                       \
		const char *_a = (actual), *_e = (expected);                                       \
		if (!_a || !_e || strcmp(_a, _e)) {                                                \
			fprintf(stderr, "  %s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__,        \
				__LINE__, what, _a ? _a : "(null)", _e ? _e : "(null)");           \
			lw_test_failed = 1;                                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_CONTAINS(haystack, needle, what)                                                    \
	do {                                                                                       \
		const char *_h = (haystack), *_n = (needle);                                       \
		if (!_h || !strstr(_h, _n)) {                                                      \
			fprintf(stderr, "  %s:%d: %s: \"%s\" not found in:\n%s\n", __FILE__,       \
				__LINE__, what, _n, _h ? _h : "(null)");                           \
			lw_test_failed = 1;                                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#endif
