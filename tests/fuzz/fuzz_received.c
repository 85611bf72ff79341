/* SPDX-License-Identifier: ISC */
/* fuzz_received - the Received: tokenizer (received_parse) on arbitrary
 * bytes, as one unfolded value. Checks that every text field is
 * terminated inside its array and that the return value agrees with the
 * kind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/received.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
terminated(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct received r;
	char *v;
	int rc;

	if (size > 70000)
		return 0;
	v = malloc(size + 1);
	memcpy(v, data, size);
	v[size] = '\0';
	rc = received_parse(v, &r);
	if ((rc == 0) != (r.kind != RECEIVED_UNPARSED))
		abort();
	terminated(r.from_name, sizeof(r.from_name));
	terminated(r.from_helo, sizeof(r.from_helo));
	terminated(r.from_rdns, sizeof(r.from_rdns));
	terminated(r.from_ip, sizeof(r.from_ip));
	terminated(r.by_host, sizeof(r.by_host));
	terminated(r.by_ip, sizeof(r.by_ip));
	terminated(r.with, sizeof(r.with));
	terminated(r.id, sizeof(r.id));
	terminated(r.rcpt_for, sizeof(r.rcpt_for));
	terminated(r.envelope_from, sizeof(r.envelope_from));
	terminated(r.tls_detail, sizeof(r.tls_detail));
	terminated(r.note, sizeof(r.note));
	if (r.tls < -1 || r.tls > 1 || r.auth < -1 || r.auth > 1)
		abort();
	(void)received_kind_str(r.kind);
	free(v);
	return 0;
}
