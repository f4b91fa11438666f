/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The programs the verifier takes longest over (each carries the unwinder),
 * loaded side by side: each from a copy of the object of its own, in a
 * thread of its own, with the main object's maps.
 */
#ifndef LW_SESSION_LOAD_PARTS_H
#define LW_SESSION_LOAD_PARTS_H

#include <stddef.h>

struct lw_bpf;
struct bpf_program;
struct lw_parts;

/* Before main is loaded, its configuration final: take the slow programs it
 * would load out of it, each into a copy of its own. NULL without memory.
 */
struct lw_parts *lw_parts__split(struct lw_bpf *main);

/* After main is loaded: load the copies at once, on its maps. 0 or a
 * negative errno, with err saying which program failed.
 */
int lw_parts__load(struct lw_parts *p, struct lw_bpf *main, char *err, size_t errlen);

/* The loaded program of that name, if a copy holds it. */
struct bpf_program *lw_parts__find(struct lw_parts *p, const char *name);

void lw_parts__free(struct lw_parts *p);

#endif
