/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fault plans: which calls of the command fail, from --inject and
 * --fault-sweep. A rule is FUNC[=ERRNO][@WHERE][:WHICH]: the calls of FUNC
 * made with WHERE on the caller's stack (any frame; "*" or nothing: any
 * call), counted from 1, fail with ERRNO when WHICH picks their number.
 * The failing itself happens in the command, in liblwinject.so (inject/).
 */
#ifndef LW_FAULT_SPEC_H
#define LW_FAULT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_FAULT_RULES_MAX 16
#define LW_FAULT_FUNC_LEN  24
#define LW_FAULT_WHERE_LEN 128
#define LW_FAULT_SPEC_LEN  192

enum lw_fault_class {
	LW_FC_ALLOC, /* returns NULL (posix_memalign: the errno value) */
	LW_FC_FD,    /* returns -1: a new fd that is not made */
	LW_FC_IO,    /* returns -1: a transfer that does not happen */
	LW_FC_MAP,   /* returns MAP_FAILED */
};

/* A function the library can make fail. */
struct lw_fault_func {
	const char *name;
	enum lw_fault_class cls;
	int default_errno;
};

extern const struct lw_fault_func lw_fault_funcs[];
extern const size_t lw_nr_fault_funcs;

const struct lw_fault_func *fault_func__find(const char *name);

struct lw_fault_rule {
	char func[LW_FAULT_FUNC_LEN];
	int err;			/* errno the failing call sets */
	char where[LW_FAULT_WHERE_LEN]; /* "" : anywhere */
	uint64_t first, last;		/* calls first..last fail (1-based) */
	uint64_t every;			/* >0: calls every, 2*every, ... fail */
	uint64_t site;			/* sweep: only calls with this stack hash (0: any) */
	char text[LW_FAULT_SPEC_LEN];	/* the rule as written, for reports */
};

struct lw_fault_plan {
	struct lw_fault_rule rules[LW_FAULT_RULES_MAX];
	unsigned nr_rules;
	/* sweep's recording run: the functions whose call sites are listed */
	struct lw_fault_rule record[LW_FAULT_RULES_MAX];
	unsigned nr_record;
	bool top_only;	/* only the command's own process, not its children */
	bool all_sites; /* recording keeps calls the system libraries make too */
};

/* Append the comma-separated rules of one --inject to p. 0, or -EINVAL with
 * a one-line reason in err.
 */
int fault_spec__parse_inject(const char *list, struct lw_fault_plan *p, char *err, size_t errlen);
/* Append the comma-separated FUNC[=ERRNO] of one --fault-sweep to p->record. */
int fault_spec__parse_sweep(const char *list, struct lw_fault_plan *p, char *err, size_t errlen);

/* errno by name ("EAGAIN") or number; 0 or -EINVAL. */
int fault_errno__parse(const char *s, int *out);
/* "EAGAIN", or "E<n>" in buf when the C library has no name for it. */
const char *fault_errno__name(int err, char *buf, size_t len);

/* "malloc failing at port_msg_alloc (call 1)" for reports. */
void fault_rule__describe(const struct lw_fault_rule *r, char *buf, size_t len);

#endif
