/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process uprobe_multi links: probes live only in the address spaces of
 * the processes watched (see uprobe_links.c).
 */
#ifndef LW_UPROBE_LINKS_H
#define LW_UPROBE_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum bpf_attach_type's BPF_TRACE_UPROBE_MULTI (uapi 6.6+; the build
 * host's headers may predate it): programs attached here are loaded with it
 */
#define LW_BPF_TRACE_UPROBE_MULTI 48
/* BPF_TRACE_UPROBE_SESSION (6.13+): one program at the entry and, when the
 * entry returned 0, at the return
 */
#define LW_BPF_TRACE_UPROBE_SESSION 57

struct uprobe_links;

int uprobe_links__new(struct uprobe_links **out);
/* Detach everything (waits until the kernel has removed every probe). */
void uprobe_links__free(struct uprobe_links *u);
/* Whether the kernel has uprobe sessions, from its BTF. */
bool uprobe_links__have_session(void);
/* One probe of program prog_fd (loaded for attach_type, uprobe_multi or a
 * session) at a file offset of path, for every process watched from now on.
 * 0 or -ENOMEM.
 */
int uprobe_links__add(struct uprobe_links *u, int prog_fd, uint32_t attach_type, const char *prog,
		      const char *path, uint64_t offset, uint64_t cookie, bool ret);
/* Install every probe added so far in tgid's address space (and in what it
 * execs). Idempotent; a process already gone is not an error. 0 or -errno
 * with err set.
 */
int uprobe_links__watch(struct uprobe_links *u, uint32_t tgid, char *err, size_t errlen);
/* tgid ended: its links are closed in the background. */
void uprobe_links__unwatch(struct uprobe_links *u, uint32_t tgid);
/* Close every link and wait for the kernel to let go of them. */
void uprobe_links__detach(struct uprobe_links *u);

#endif
