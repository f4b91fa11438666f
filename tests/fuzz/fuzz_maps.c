// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: /proc/PID/maps text (stack/symbolize.c) through a memfd, then
 * lookups in the table it built. No ELF file is opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "stack/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct symbolizer *s;
	uint64_t probe = 0;

	if (fd < 0) {
		fd = memfd_create("lw-fuzz-maps", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	s = symbolizer__new();
	if (!s)
		return 0;
	if (symbolizer__load_maps_file(s, 7, path) > 0) {
		/* addresses taken from the input's own numbers */
		memcpy(&probe, data, size < 8 ? size : 8);
		symbolizer__find(s, 7, probe);
		symbolizer__find(s, 7, 0);
		symbolizer__find(s, 7, UINT64_MAX);
		symbolizer__fork(s, 7, 8);
		symbolizer__find(s, 8, probe);
		symbolizer__exec(s, 7);
		symbolizer__find(s, 7, probe);
	}
	symbolizer__free(s);
	return 0;
}
