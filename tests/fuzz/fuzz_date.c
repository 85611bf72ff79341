/* SPDX-License-Identifier: ISC */
/* fuzz_date - hdr_date_parse() on arbitrary bytes (counted, not
 * terminated: ASan sees a read past len). A parsed date is formatted and
 * parsed again and must give the same second. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[64], ts[32], *copy;
	int64_t t, t2;

	/* An exact-size copy, so that a read past the end is caught. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (hdr_date_parse(copy, size, &t, err, sizeof(err)) == 0) {
		hdr_date_format(t, ts, sizeof(ts));
		if (strlen(ts) != 20)
			abort();
		/* The zone may move it before 1970, out of range. */
		if (hdr_date_parse(ts, strlen(ts), &t2, err,
		    sizeof(err)) == 0 && t2 != t)
			abort();
	} else if (err[0] == '\0')
		abort();		/* a failure says why */
	free(copy);
	return 0;
}
