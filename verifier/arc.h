/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_ARC_H
#define VERIFIER_ARC_H
/* arc - ARC chain verification (RFC 8617): every set's
 * ARC-Message-Signature and ARC-Seal, the chain validation status. */
#include <stddef.h>

#include "shared/hdr.h"
#include "verifier/auth.h"

struct dkim_ctx;
struct keys;

/* Verify every ARC set of the message into out (result "none" without
 * ARC fields). Always succeeds; problems are results and out->detail. */
void	arc_verify(struct dkim_ctx *, struct keys *, const struct hdr *h,
	    const char *msg, size_t len, struct arc_result *out);

#endif
