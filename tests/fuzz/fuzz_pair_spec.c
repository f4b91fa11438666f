// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer: pair rules (detect/pair/pair_spec.c), the file format and the
 * compact --pair form (first byte picks), then validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "detect/pair/pair_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lw_pair_spec spec = {};
	char err[256], *text;
	int e;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1)
		e = pair_spec__parse_compact(&spec, text, err, sizeof(err));
	else
		e = pair_spec__parse_text(&spec, "fuzz", text, err, sizeof(err));
	if (!e && spec.n)
		pair_spec__validate(&spec, err, sizeof(err));
	pair_spec__free(&spec);
	free(text);
	return 0;
}
