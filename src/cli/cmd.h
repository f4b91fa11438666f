/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LW_CMD_H
#define LW_CMD_H

#include <fcntl.h>
#include <stddef.h>
#include "cli/options.h"

/* Each returns the process exit code; on failure err holds one line. */
int cmd_run(const struct lw_opts *o, char *err, size_t errlen);
int cmd_attach(const struct lw_opts *o, char *err, size_t errlen);

#endif
