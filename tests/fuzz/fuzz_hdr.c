/* SPDX-License-Identifier: ISC */
/* fuzz_hdr - header splitting (hdr_parse), unfolding (hdr_unfold, also
 * into a short buffer), RFC 2047 decoding, hdr_addr and the UTF-8 check on
 * arbitrary bytes. Checks that fields lie inside the message, in order,
 * and that unfolded values hold no line breaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char unf[HDR_FIELD_MAX], dec[HDR_FIELD_MAX], small[16], addr[256];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hdr h;
	const char *m;
	char *copy;
	size_t n, prev = 0;
	int i;

	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	m = copy;
	hdr_parse(&h, m, size);
	if (h.header_len > size || h.body_off > size || h.nf > HDR_FIELDS_MAX)
		abort();
	for (i = 0; i < h.nf; i++) {
		const struct hdr_field *f = &h.f[i];

		if (f->raw < m || f->raw + f->rawlen > m + size ||
		    f->offset < prev || f->val < f->raw ||
		    f->val + f->vallen > f->raw + f->rawlen ||
		    f->namelen == 0 || f->namelen > HDR_NAME_MAX)
			abort();
		prev = f->offset + f->rawlen;
		n = hdr_unfold(f->val, f->vallen, unf, sizeof(unf));
		if (n < sizeof(unf) && strlen(unf) > n)
			abort();
		if (strchr(unf, '\n') != NULL && memchr(f->val, '\0',
		    f->vallen) == NULL)
			abort();
		(void)hdr_unfold(f->val, f->vallen, small, sizeof(small));
		if (strlen(small) >= sizeof(small))
			abort();
		(void)hdr_decode_2047(unf, dec, sizeof(dec));
		(void)hdr_decode_2047(unf, small, sizeof(small));
		(void)hdr_addr(unf, addr, sizeof(addr));
		(void)hdr_addr(unf, small, sizeof(small));
		(void)hdr_is(f, "Received");
	}
	(void)hdr_find(&h, "From", 0);
	(void)hdr_utf8_valid(m, size);
	free(copy);
	return 0;
}
