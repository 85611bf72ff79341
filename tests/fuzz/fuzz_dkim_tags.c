/* SPDX-License-Identifier: ISC */
/* fuzz_dkim_tags - the DKIM tag-list parser, the signature and key record
 * parsers on arbitrary bytes. First byte picks: signature (DKIM, AMS,
 * AS) or key record. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "verifier/dkim.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_sig sig;
	struct dkim_tags tags;
	struct dkim_key key;
	unsigned char out[256];
	char why[160];
	const char *s;

	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	size--;
	(void)dkim_tags_parse(s, size, &tags, why, sizeof(why));
	(void)dkim_b64_decode(s, size, out, sizeof(out));
	switch (data[0] % 4) {
	case 3:
		dkim_key_parse(s, size, &key);
		dkim_key_clear(&key);
		break;
	default:
		(void)dkim_sig_parse(s, size, data[0] % 4, &sig, why,
		    sizeof(why));
		break;
	}
	return 0;
}
