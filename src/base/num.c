// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "base/num.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The decimal grammar only; strtod then does the conversion. */
static bool decimal_syntax(const char *s)
{
	bool digits = false;

	if (*s == '+' || *s == '-')
		s++;
	for (; is_digit(*s); s++)
		digits = true;
	if (*s == '.')
		for (s++; is_digit(*s); s++)
			digits = true;
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return false;
		while (is_digit(*s))
			s++;
	}
	return *s == '\0';
}

int num__parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !decimal_syntax(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	/* ERANGE: overflow to inf, or underflow (1e-400) */
	if (*end || !isfinite(v) || errno == ERANGE)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

int num__parse_long(const char *s, long lo, long hi, long *out)
{
	const char *d = s && *s == '-' ? s + 1 : s;
	char *end;
	long v;

	if (!d || !is_digit(*d))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

int num__parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !is_digit(*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}
