// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The strict number parser behind every numeric option. */
#include <errno.h>
#include <stdint.h>
#include "harness.h"
#include "base/num.h"

LW_TEST(num_double_accepts_plain_decimals)
{
	double v = -1;

	ASSERT_EQ(num__parse_double("5", 0, 1e7, &v), 0, "5");
	ASSERT_TRUE(v == 5, "5 value");
	ASSERT_EQ(num__parse_double("0.25", 0, 1e7, &v), 0, "0.25");
	ASSERT_TRUE(v == 0.25, "0.25 value");
	ASSERT_EQ(num__parse_double(".5", 0, 1e7, &v), 0, ".5");
	ASSERT_EQ(num__parse_double("5.", 0, 1e7, &v), 0, "5.");
	ASSERT_EQ(num__parse_double("1e3", 0, 1e7, &v), 0, "1e3");
	ASSERT_TRUE(v == 1000, "1e3 value");
	ASSERT_EQ(num__parse_double("+2.5E-1", 0, 1e7, &v), 0, "+2.5E-1");
	ASSERT_TRUE(v == 0.25, "+2.5E-1 value");
	ASSERT_EQ(num__parse_double("0", 0, 1e7, &v), 0, "0");
	ASSERT_EQ(num__parse_double("10000000", 0, 1e7, &v), 0, "upper bound");
}

LW_TEST(num_double_rejects_non_finite_and_garbage)
{
	static const char *bad[] = {"nan",   "NaN", "-nan", "inf", "-inf", "infinity", "0x10",
				    "0x1p3", "",    " 1",   "1 ",  "1s",   "5,5",      "1e",
				    "e5",    ".",   "-",    "+",   "1..2", "1e+",      "--1"};
	double v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (num__parse_double(bad[i], 0, 1e7, &v) != -EINVAL) {
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
			ASSERT_TRUE(0, "rejected");
		}
	}
	ASSERT_TRUE(v == 42, "untouched on error");
	ASSERT_EQ(num__parse_double(NULL, 0, 1, &v), -EINVAL, "NULL");
}

LW_TEST(num_double_range)
{
	double v = 42;

	ASSERT_EQ(num__parse_double("-1", 0, 1e7, &v), -ERANGE, "negative");
	ASSERT_EQ(num__parse_double("10000000.5", 0, 1e7, &v), -ERANGE, "above");
	ASSERT_EQ(num__parse_double("0.01", 0.05, 1e7, &v), -ERANGE, "below lo");
	ASSERT_EQ(num__parse_double("1e999", 0, 1e7, &v), -ERANGE, "overflow");
	ASSERT_EQ(num__parse_double("1e-400", 0, 1e7, &v), -ERANGE, "underflow");
	ASSERT_TRUE(v == 42, "untouched on error");
}

LW_TEST(num_long_strict)
{
	long v = 7;

	ASSERT_EQ(num__parse_long("123", 1, 1000, &v), 0, "123");
	ASSERT_EQ(v, 123, "value");
	ASSERT_EQ(num__parse_long("-5", -10, 10, &v), 0, "-5");
	ASSERT_EQ(v, -5, "negative value");
	ASSERT_EQ(num__parse_long("0", 0, 255, &v), 0, "0");
	ASSERT_EQ(v, 0, "zero");
	v = -5;
	ASSERT_EQ(num__parse_long(" 1", 0, 9, &v), -EINVAL, "leading blank");
	ASSERT_EQ(num__parse_long("+1", 0, 9, &v), -EINVAL, "plus sign");
	ASSERT_EQ(num__parse_long("1x", 0, 9, &v), -EINVAL, "trailing garbage");
	ASSERT_EQ(num__parse_long("0x10", 0, 99, &v), -EINVAL, "hex");
	ASSERT_EQ(num__parse_long("", 0, 9, &v), -EINVAL, "empty");
	ASSERT_EQ(num__parse_long("-", 0, 9, &v), -EINVAL, "sign only");
	ASSERT_EQ(num__parse_long("256", 0, 255, &v), -ERANGE, "above");
	ASSERT_EQ(num__parse_long("99999999999999999999", 0, 255, &v), -ERANGE, "overflow");
	ASSERT_EQ(num__parse_long("-1", 0, 255, &v), -ERANGE, "below");
	ASSERT_EQ(v, -5, "untouched on error");
}

LW_TEST(num_u64_strict)
{
	uint64_t v = 7;

	ASSERT_EQ(num__parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0, "max");
	ASSERT_TRUE(v == UINT64_MAX, "max value");
	ASSERT_EQ(num__parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE, "overflow");
	ASSERT_EQ(num__parse_u64("-1", 0, UINT64_MAX, &v), -EINVAL, "minus wraps in strtoull");
	ASSERT_EQ(num__parse_u64(" -1", 0, UINT64_MAX, &v), -EINVAL, "blank then minus");
	ASSERT_EQ(num__parse_u64("0", 1, UINT64_MAX, &v), -ERANGE, "below lo");
	ASSERT_EQ(num__parse_u64("64k", 0, UINT64_MAX, &v), -EINVAL, "suffix");
	ASSERT_TRUE(v == UINT64_MAX, "untouched on error");
}
