// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdlib.h>
#include "base/kernel_release.h"

bool kernel_release__at_least(const char *release, unsigned major, unsigned minor)
{
	unsigned long ma, mi;
	char *end;

	if (!release || !isdigit((unsigned char)release[0]))
		return false;
	ma = strtoul(release, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return false;
	mi = strtoul(end + 1, &end, 10);
	return ma != major ? ma > major : mi >= minor;
}
