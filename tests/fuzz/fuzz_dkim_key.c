/* SPDX-License-Identifier: ISC */
/* fuzz_dkim_key - the DKIM key record parser and the DER/OpenSSL key
 * decoding behind it (the SubjectPublicKeyInfo walk, a bare
 * RSAPublicKey, raw Ed25519 keys) on arbitrary bytes. Checks what the
 * verifier relies on: a usable RSA or Ed25519 key has its EVP_PKEY and
 * size within the limits, an unusable one none, the reason terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/dkim.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;

	dkim_key_parse((const char *)data, size, &key);
	if (memchr(key.why, '\0', sizeof(key.why)) == NULL)
		abort();
	if (key.err != AUTH_REASON_NONE && key.pkey != NULL)
		abort();	/* a key that failed must not be used */
	if (key.err == AUTH_REASON_NONE && key.k != DKIM_K_OTHER &&
	    key.pkey == NULL)
		abort();
	if (key.pkey != NULL && (key.bits <= 0 ||
	    key.bits > DKIM_KEY_BITS_MAX))
		abort();
	dkim_key_clear(&key);
	if (key.pkey != NULL)
		abort();
	dkim_key_clear(&key);	/* twice: harmless */
	return 0;
}
