/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The version in a kernel release string (uname -r: "6.18.44-fc-v1252"),
 * for what the verifier takes that no feature probe can cheaply ask. Pure.
 */
#ifndef LW_KERNEL_RELEASE_H
#define LW_KERNEL_RELEASE_H

#include <stdbool.h>

/* True when release names major.minor or later; false when it does not
 * start with a version.
 */
bool kernel_release__at_least(const char *release, unsigned major, unsigned minor);

#endif
