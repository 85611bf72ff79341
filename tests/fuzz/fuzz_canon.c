/* SPDX-License-Identifier: ISC */
/* fuzz_canon - header and body canonicalization, b= stripping, and a
 * whole-message DKIM/ARC verification (offline, no keys) on arbitrary
 * bytes. Checks that relaxed output never holds WSP before CRLF. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/arc.h"
#include "verifier/canon.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct canon_buf b;
	static struct dkim_results res;
	static struct arc_result arc;
	static struct keys *keys;
	static struct dkim_ctx *x;
	struct hdr h;
	const char *s = (const char *)data;
	size_t i;
	int k;

	if (keys == NULL) {
		struct keys_opts ko;
		char err[64];

		memset(&ko, 0, sizeof(ko));
		ko.offline = 1;
		keys = keys_new(&ko, err, sizeof(err));
		x = dkim_ctx_new();
	}
	canon_body(CANON_RELAXED, s, size, &b);
	for (i = 0; i + 2 < b.len; i++)
		if ((b.p[i] == ' ' || b.p[i] == '\t') && b.p[i + 1] == '\r' &&
		    b.p[i + 2] == '\n')
			abort();
	canon_body(CANON_SIMPLE, s, size, &b);
	if (b.len < 2 || b.p[b.len - 2] != '\r' || b.p[b.len - 1] != '\n')
		abort();
	b.len = 0;
	canon_header(CANON_RELAXED, s, size, &b);
	canon_header(CANON_SIMPLE, s, size, &b);
	(void)canon_strip_b(s, size, &b);

	memset(&h, 0, sizeof(h));
	hdr_parse(&h, s, size);
	res.nfound = 0;
	for (k = 0; k < h.nf && res.nfound < AUTH_SIGS_MAX; k++)
		if (hdr_is(&h.f[k], "DKIM-Signature")) {
			res.found[res.nfound].field = k;
			res.found[res.nfound++].received_above = 0;
		}
	dkim_verify(x, keys, &h, s, size, 0, 0, &res);
	arc_verify(x, keys, &h, s, size, &arc);
	hdr_free(&h);
	return 0;
}
