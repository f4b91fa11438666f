// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <leakwatch/syscalls.h>
#include "detect/fd/touch_label.h"

/* the syscalls bpf/fd.bpf.c records with --last-touch (LW_SC_TOUCH) */
const char *touch_label(uint32_t nr)
{
	switch (nr) {
#define LABEL_(name, n, cls)                                                                       \
	case n:                                                                                    \
		return ((cls)&LW_SC_TOUCH) ? "last used by " #name "() at" : "last used at";
		LW_SYSCALLS(LABEL_)
#undef LABEL_
	}
	return "last used at";
}
