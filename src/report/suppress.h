/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* LeakSanitizer-style suppressions: "<prefix>:<glob>" per line. */
#ifndef LW_SUPPRESS_H
#define LW_SUPPRESS_H

#include <stdbool.h>
#include "report/finding.h"

struct suppressions;

/* Parse a file. On error returns NULL and writes "PATH:LINE:COL: message" to
 * err. Prefixes: leak (every leak kind), fd (every fd-* kind), mem (every
 * mem-* kind), or an exact finding kind (fd-leak, ...). The glob (fnmatch)
 * matches any frame's symbol, module path or module basename, or the resource.
 */
struct suppressions *suppress__load(const char *path, char *err, size_t errlen);
/* Parse from a buffer (tests); name is used in error messages. */
struct suppressions *suppress__parse(const char *name, const char *text, char *err, size_t errlen);
void suppress__free(struct suppressions *s);
/* Needs f->frames (symbolized). Counts hits per rule. */
bool suppress__match(struct suppressions *s, const struct lw_finding *f);
/* Number of rules. */
size_t suppress__count(const struct suppressions *s);
/* Hits of rule i (file order) so far; *text (when text is non-NULL) is the
 * rule as written, trimmed, or NULL when i is out of range.
 */
size_t suppress__hits(const struct suppressions *s, size_t rule, const char **text);

#endif
