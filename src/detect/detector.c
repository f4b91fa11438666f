// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "detect/detector.h"

const struct lw_detector_ops *const lw_detectors[] = {
    &det_fd_ops, &det_mem_ops, &det_pair_ops, &det_mount_ops, &det_proc_ops, NULL,
};

const struct lw_detector_ops *lw_detector__find(const char *name)
{
	if (name && !strcmp(name, "storm"))
		name = "proc";
	for (unsigned i = 0; name && lw_detectors[i]; i++)
		if (!strcmp(lw_detectors[i]->name, name))
			return lw_detectors[i];
	return NULL;
}

unsigned lw_detector__bit(const struct lw_detector_ops *ops)
{
	unsigned i = 0;

	while (lw_detectors[i] && lw_detectors[i] != ops)
		i++;
	return i;
}

uint32_t lw_detectors__defaults(enum lw_mode mode)
{
	uint32_t mask = 0;

	for (unsigned i = 0; lw_detectors[i]; i++)
		if (lw_detectors[i]->default_on ||
		    (mode == LW_MODE_RUN && lw_detectors[i]->default_in_run))
			mask |= 1u << i;
	return mask;
}

uint32_t lw_detectors__enabled(const struct lw_opts *o)
{
	uint32_t mask = o->detectors;

	for (unsigned i = 0; lw_detectors[i]; i++)
		if (lw_detectors[i]->implied && lw_detectors[i]->implied(o))
			mask |= 1u << i;
	return mask;
}

int lw_detectors__parse(const char *list, uint32_t *mask)
{
	const char *p = list;

	*mask = 0;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[16];
		const struct lw_detector_ops *ops;

		if (!len) { /* "fd,,mem": as strtok, empty names are skipped */
			p = end ? end + 1 : NULL;
			continue;
		}
		if (len >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, len);
		name[len] = 0;
		ops = lw_detector__find(name);
		if (!ops)
			return -EINVAL;
		*mask |= 1u << lw_detector__bit(ops);
		p = end ? end + 1 : NULL;
	}
	return *mask ? 0 : -EINVAL;
}

bool lw_detector__wants(const struct lw_detector_ops *ops, uint16_t type)
{
	for (const uint16_t *t = ops->ev_types; t && *t; t++)
		if (*t == type)
			return true;
	return false;
}

int lw_det__error(const struct lw_det_env *env, int err, const char *fmt, ...)
{
	va_list ap;

	if (env->err && env->errlen && !env->err[0]) {
		va_start(ap, fmt);
		vsnprintf(env->err, env->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}
