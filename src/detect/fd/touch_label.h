/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_TOUCH_LABEL_H
#define LW_TOUCH_LABEL_H

#include <stdint.h>

/* "last used by read() at" for an x86-64 syscall number: a static string,
 * as evidence labels must be.
 */
const char *touch_label(uint32_t nr);

#endif
