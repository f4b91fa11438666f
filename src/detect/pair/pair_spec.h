/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Acquire/release pair rules: which functions create, retain, release and
 * destroy a user-declared resource, and where each finds its handle. The
 * rule's index in the table is the uprobe cookie's rule number
 * (LW_PAIR_COOKIE) and lw_ev_pair.rule. Pure: no libbpf, no ELF.
 *
 * Spec file, one rule per line ('#' comments, blank lines, whitespace
 * between fields):
 *
 *	RESOURCE  OP  FUNCTION  HANDLE  [in MODULE]
 *
 *	OP	acquire | retain | release | destroy
 *	HANDLE	ret (acquire/retain only) | arg0..arg5 | *arg0..*arg5 (an
 *		out-parameter read after return, acquire/retain only)
 *	MODULE	library path or basename glob (libssl.so*) the function must
 *		come from; without it: the executable, then its libraries
 *
 * Compact form (--pair, one resource per option):
 *
 *	RESOURCE:FUNC(HANDLE)/FUNC(HANDLE)[/...]
 *
 * each FUNC(HANDLE) optionally prefixed '+' (retain), '-' (release) or '!'
 * (destroy); unprefixed, the first is the acquire and later ones releases:
 * "ssl:SSL_new(ret)/SSL_free(arg0)".
 */
#ifndef LW_PAIR_SPEC_H
#define LW_PAIR_SPEC_H

#include <stddef.h>
#include <leakwatch/events.h>

#define LW_PAIR_RESOURCE_LEN 32
#define LW_PAIR_FUNC_LEN     128
#define LW_PAIR_MODULE_LEN   128
#define LW_PAIR_ARG_MAX	     5	 /* arg0..arg5: the x86-64 argument registers */
#define LW_PAIR_RULES_MAX    256 /* one uprobe each */

struct lw_pair_rule {
	char resource[LW_PAIR_RESOURCE_LEN]; /* groups rules, e.g. "pj_pool" */
	enum lw_pair_op op;
	char func[LW_PAIR_FUNC_LEN];
	enum lw_pair_handle how;
	unsigned argn; /* LW_PAIR_H_ARG / LW_PAIR_H_OUTARG */
	/* optional: library path or basename glob the function must come
	 * from; "" = search the executable then its libraries
	 */
	char module[LW_PAIR_MODULE_LEN];
};

struct lw_pair_spec {
	struct lw_pair_rule *v;
	size_t n, cap;
};

/* The parsers append to spec; on error they leave it as it was, write one
 * line to err and return -EINVAL (syntax), -ENOMEM or the open/read errno:
 *	files:	   "PATH:LINE:COL: message" (COL 1-based, at the offending field)
 *	--pair:	   "--pair 'ARG': message (at column N)"
 * A resource first declared by this call must be complete (an acquire and a
 * release or destroy); one that also appears elsewhere is checked by
 * pair_spec__validate.
 */
int pair_spec__parse_file(struct lw_pair_spec *spec, const char *path, char *err, size_t errlen);
/* name: used as PATH in messages */
int pair_spec__parse_text(struct lw_pair_spec *spec, const char *name, const char *text, char *err,
			  size_t errlen);
int pair_spec__parse_compact(struct lw_pair_spec *spec, const char *arg, char *err, size_t errlen);

/* The whole table, whatever its sources: each rule well-formed, no
 * duplicate (resource, function), every resource with an acquire and a
 * release or destroy, at most LW_PAIR_RULES_MAX rules. 0 or -EINVAL.
 */
int pair_spec__validate(const struct lw_pair_spec *spec, char *err, size_t errlen);
/* NULL-safe; leaves an empty spec. */
void pair_spec__free(struct lw_pair_spec *spec);

/* Built-in rule sets in the file format: the text, or NULL when unknown. */
const char *pair_spec__profile(const char *name);
/* Their names, NULL-terminated. */
const char *const *pair_spec__profiles(void);

/* "acquire", ...; "?" when out of range. */
const char *pair_spec__op_name(enum lw_pair_op op);

#endif
