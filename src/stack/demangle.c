// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>
#include "stack/demangle.h"

/* arguments and qualifiers, as c++filt prints them; auto: C++ or Rust */
#define LW_DMGL (DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO)

char *lw_demangle(const char *name)
{
	const char *ver;
	char *base, *dem, *out;
	size_t n;

	/* plain C names never reach the demangler: no guessing on "_Dfoo" */
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	ver = strchr(name, '@');
	if (!ver)
		return cplus_demangle(name, LW_DMGL);
	base = strndup(name, ver - name);
	dem = base ? cplus_demangle(base, LW_DMGL) : NULL;
	free(base);
	if (!dem)
		return NULL;
	n = strlen(dem);
	out = realloc(dem, n + strlen(ver) + 1);
	if (!out) {
		free(dem);
		return NULL;
	}
	strcpy(out + n, ver);
	return out;
}
