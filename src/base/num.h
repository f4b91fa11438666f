/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Strict parsers for numeric command-line values: the whole string, plain
 * decimal, in [lo, hi]. strtod alone takes "nan", "inf", "0x1p3" and leading
 * blanks; strtoull takes "-1" (as 2^64-1). Each returns 0 or -EINVAL (bad
 * syntax, not finite) or -ERANGE (outside [lo, hi]); *out is untouched on
 * error.
 */
#ifndef LW_NUM_H
#define LW_NUM_H

#include <stdint.h>

/* [-+]digits[.digits][e[-+]digits], finite */
int num__parse_double(const char *s, double lo, double hi, double *out);
/* [-]digits, base 10 */
int num__parse_long(const char *s, long lo, long hi, long *out);
/* digits, base 10 */
int num__parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
