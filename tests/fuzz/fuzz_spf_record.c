/* SPDX-License-Identifier: ISC */
/* fuzz_spf_record - libFuzzer target for spf_record_rewrite() (spf.c).
 * Invariants: never crashes, output is always NUL-terminated within its
 * buffer, and a rewritten record is itself valid and rewrites to itself.
 * FUZZ-SOURCES: shared/spf.c
 * FUZZ-LIBS: -lspf2 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "shared/spf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SPF_REWRITE_MAX], again[SPF_REWRITE_MAX], why[128];
	int	family;

	if (size < 1)
		return 0;
	family = data[0] & 1 ? AF_INET6 : AF_INET;
	data++;
	size--;
	if (spf_record_rewrite((const char *)data, size, family, out,
	    sizeof(out), why, sizeof(why)) == 0) {
		if (memchr(out, '\0', sizeof(out)) == NULL)
			abort();
		if (strlen(out) > SPF_RECORD_MAX)	/* grown by /0 rewrites */
			return 0;
		/* A /0 rewrite appends spf_cidr0_suffix() to the name, which
		 * can take a long literal name past 253 bytes: such output is
		 * for libspf2 (the pool strips the suffix before its own
		 * checks), not valid input again. */
		if (strstr(out, spf_cidr0_suffix()) != NULL)
			return 0;
		if (spf_record_rewrite(out, strlen(out), family, again,
		    sizeof(again), why, sizeof(why)) != 0)
			abort();
		/* the /0 rewrite is not idempotent by design: it may
		 * append the /0 suffix once more; all else is stable */
		if (strstr(out, spf_cidr0_suffix()) == NULL &&
		    strcmp(out, again) != 0)
			abort();
	} else if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	return 0;
}
