/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_FMT_H
#define LW_FMT_H

#include <stddef.h>

/* snprintf into a bounded message buffer (an error line, a "why"): truncates
 * on purpose, and a NULL or empty buffer is no buffer.
 */
__attribute__((format(printf, 3, 4))) void lw_fmt(char *buf, size_t len, const char *fmt, ...);

#endif
