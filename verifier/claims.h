/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_CLAIMS_H
#define VERIFIER_CLAIMS_H
/* claims - what receivers wrote in Authentication-Results and
 * ARC-Authentication-Results, tied to the hop that wrote it and compared
 * with our own results. */
#include "shared/hdr.h"
#include "verifier/chain.h"

/* Fill c->claims and add the claim findings. Call after align_check(),
 * before chain_finish(). */
void	claims_check(struct chain *c, const struct hdr *h);

#endif
