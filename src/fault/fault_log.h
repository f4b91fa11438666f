/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The log liblwinject.so appends to in the command's processes, one write
 * per record (inject/lwinject.c writes it):
 *
 *   init pid=P exe=PATH
 *   fault pid=P tid=T rule=R func=F errno=E nth=N hash=H frames=K
 *   site pid=P func=F hash=H frames=K
 *   crash pid=P tid=T sig=S addr=A frames=K
 *
 * the last three followed by K lines " IP REL PATH" (hex; REL is IP less
 * the module's load bias, PATH the module) and "end". Frame 0 is the
 * call's return address, or a crash's faulting pc.
 */
#ifndef LW_FAULT_LOG_H
#define LW_FAULT_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LW_FAULT_FRAMES 32

enum lw_fault_rec_type {
	LW_FR_INIT = 1,
	LW_FR_FAULT,
	LW_FR_SITE,
	LW_FR_CRASH,
};

struct lw_fault_frame {
	uint64_t ip, rel;
	char *path; /* owned; "?" for no module */
};

struct lw_fault_rec {
	enum lw_fault_rec_type type;
	uint32_t pid, tid;
	int rule;
	char func[24];
	int err;
	uint64_t nth, hash;
	int sig;
	uint64_t addr;
	char *exe; /* init: owned */
	unsigned nr;
	struct lw_fault_frame fr[LW_FAULT_FRAMES];
};

struct lw_fault_log {
	struct lw_fault_rec *v;
	size_t n, cap;
	size_t bad; /* records that did not parse (skipped) */
};

/* Append buf's records to log. 0 or -ENOMEM; a malformed record is counted
 * in log->bad and skipped up to its "end".
 */
int fault_log__parse(const char *buf, size_t len, struct lw_fault_log *log);
/* The whole file; a missing file is an empty log. 0 or -errno. */
int fault_log__read(const char *path, struct lw_fault_log *log);
void fault_log__free(struct lw_fault_log *log);

#endif
