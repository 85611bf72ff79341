/* SPDX-License-Identifier: ISC */
/* fuzz_arc - one message through the verifier's pipeline as verify() in
 * verifier/main.c runs it, offline: the header, the chain, every
 * DKIM-Signature and ARC set verified with keys from a fixed zone (the
 * selectors of the seeds, made by tests/integration/dkimgen.py, so that
 * mutations of a seed reach the body hashes and signatures), alignment,
 * claims, the verdict. The dkim_ctx, header and chain are reused across
 * inputs as a verifying thread reuses them. Checks the counts the
 * report relies on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/align.h"
#include "verifier/arc.h"
#include "verifier/chain.h"
#include "verifier/claims.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	1796678400	/* a little after the seeds were signed */

/* The key records of the seeds' selectors (dkimgen.py keys.zone). */
static const char zone[] =
	"k2870faea1b2d._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\""
	    " \"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCtV+FBXWBhIkzk8Hun/uhC\""
	    " \"F+ZN4zzdRCcpLLhUg8swvgyZ56THDfDO9bqJp9WwnNZhZN4bSVlQ4GIVK9hE\""
	    " \"gUMWd6Fdcil61USt4B+9gkBKKzRaE1lhTESgjPGu0JFEu1sFr/UKBG73dlrk\""
	    " \"/9yDsdWzQ+UEximNDlhFt8x402bN9wIDAQAB\"\n"
	"k2870faea1b2d._domainkey.lists.example.com. TXT \"v=DKIM1; k=rsa; p=\""
	    " \"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCtV+FBXWBhIkzk8Hun/uhC\""
	    " \"F+ZN4zzdRCcpLLhUg8swvgyZ56THDfDO9bqJp9WwnNZhZN4bSVlQ4GIVK9hE\""
	    " \"gUMWd6Fdcil61USt4B+9gkBKKzRaE1lhTESgjPGu0JFEu1sFr/UKBG73dlrk\""
	    " \"/9yDsdWzQ+UEximNDlhFt8x402bN9wIDAQAB\"\n"
	"k4b9c58a9cc77._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\""
	    " \"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvSi6V3Zx60E4SWel\""
	    " \"kV5yvRH/+5bTXRnpaTNExd4bBjFoTbTjgKuySSUYM7gnNw7xzsSpZG9xcmTS\""
	    " \"TLJhn7wNC3uDz46U3XwrdF3AGqnkOPGtBpvbrOX/fTcDi9yGOS7mRkrZNTGD\""
	    " \"prv5utQxdJ27fBJc9UT9gVR6LPrH14NtV6cAClGdS4jK52G6mrfX0wPDS6wa\""
	    " \"mAEpKxIKd/4IvzCCMPt7D7alQ+Dt6KEbrgZAUhtm4ZZSPiNkjyAXCZl1ZSuY\""
	    " \"3CgXxv0owbywx4HNzuu2STTGLhMieTrIbaFWjOHw/cZ9F5szN118By6uSthm\""
	    " \"Lj+aJ9sa8BKZkgARhlob5p9RQQIDAQAB\"\n"
	"k4b9c58a9cc77._domainkey.fwd.example.net. TXT \"v=DKIM1; k=rsa; p=\""
	    " \"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvSi6V3Zx60E4SWel\""
	    " \"kV5yvRH/+5bTXRnpaTNExd4bBjFoTbTjgKuySSUYM7gnNw7xzsSpZG9xcmTS\""
	    " \"TLJhn7wNC3uDz46U3XwrdF3AGqnkOPGtBpvbrOX/fTcDi9yGOS7mRkrZNTGD\""
	    " \"prv5utQxdJ27fBJc9UT9gVR6LPrH14NtV6cAClGdS4jK52G6mrfX0wPDS6wa\""
	    " \"mAEpKxIKd/4IvzCCMPt7D7alQ+Dt6KEbrgZAUhtm4ZZSPiNkjyAXCZl1ZSuY\""
	    " \"3CgXxv0owbywx4HNzuu2STTGLhMieTrIbaFWjOHw/cZ9F5szN118By6uSthm\""
	    " \"Lj+aJ9sa8BKZkgARhlob5p9RQQIDAQAB\"\n"
	"k5ceb1d8869ba._domainkey.example.com. TXT \"v=DKIM1; k=ed25519; p=\""
	    " \"kfYsWXETPeePzBaIETBKHRFRoE0eAHD3mSUa8ayhyo0=\"\n"
	"k5ceb1d8869ba._domainkey.list.example.org. TXT \"v=DKIM1; k=ed25519; p=\""
	    " \"kfYsWXETPeePzBaIETBKHRFRoE0eAHD3mSUa8ayhyo0=\"\n"
	"kab698f541cd8._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\"\n"
	"kea69231fe4f4._domainkey.example.com. TXT \"v=DKIM1; k=rsa; t=y; p=\""
	    " \"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvSi6V3Zx60E4SWel\""
	    " \"kV5yvRH/+5bTXRnpaTNExd4bBjFoTbTjgKuySSUYM7gnNw7xzsSpZG9xcmTS\""
	    " \"TLJhn7wNC3uDz46U3XwrdF3AGqnkOPGtBpvbrOX/fTcDi9yGOS7mRkrZNTGD\""
	    " \"prv5utQxdJ27fBJc9UT9gVR6LPrH14NtV6cAClGdS4jK52G6mrfX0wPDS6wa\""
	    " \"mAEpKxIKd/4IvzCCMPt7D7alQ+Dt6KEbrgZAUhtm4ZZSPiNkjyAXCZl1ZSuY\""
	    " \"3CgXxv0owbywx4HNzuu2STTGLhMieTrIbaFWjOHw/cZ9F5szN118By6uSthm\""
	    " \"Lj+aJ9sa8BKZkgARhlob5p9RQQIDAQAB\"\n";

static struct keys *
zone_keys(void)
{
	static struct keys *k;
	struct keys_opts o;
	char err[160];

	if (k != NULL)
		return k;
	memset(&o, 0, sizeof(o));
	o.offline = 1;
	if ((k = keys_new(&o, err, sizeof(err))) == NULL ||
	    keys_load_text(k, zone, sizeof(zone) - 1, err, sizeof(err)) != 0)
		abort();
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_ctx *ctx;
	static struct hdr h;
	static struct chain c;
	static const struct chain_cfg cfg;
	struct keys *k = zone_keys();
	const char *msg = (const char *)data;
	int i;

	if (ctx == NULL)
		ctx = dkim_ctx_new();
	hdr_parse(&h, msg, size);
	chain_build(&c, &cfg, &h, 0, NOW);
	dkim_verify(ctx, k, &h, msg, size, chain_received_time(&c, NOW),
	    NOW, &c.dkim);
	arc_verify(ctx, k, &h, msg, size, &c.arc);
	chain_auth(&c, NOW);
	align_check(&c, &h, k);
	claims_check(&c, &h);
	chain_finish(&c);
	if (c.dkim.n < 0 || c.dkim.n > AUTH_SIGS_MAX ||
	    c.dkim.nfound < 0 || c.dkim.nfound > AUTH_SIGS_MAX ||
	    c.arc.nsets < 0 || c.arc.nsets > AUTH_ARC_SETS_MAX ||
	    c.nf < 0 || c.nf > CHAIN_FINDINGS_MAX ||
	    c.nclaims < 0 || c.nclaims > CHAIN_CLAIMS_MAX ||
	    memchr(c.arc.detail, '\0', sizeof(c.arc.detail)) == NULL)
		abort();
	for (i = 0; i < c.nf; i++)
		if (c.f[i].code == NULL ||
		    memchr(c.f[i].text, '\0', sizeof(c.f[i].text)) == NULL)
			abort();
	return 0;
}
