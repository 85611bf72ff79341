/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_ALIGN_H
#define VERIFIER_ALIGN_H
/* align - DMARC (RFC 7489) of one message: its From: domains, the policy
 * through the run's TXT cache (keys), alignment of the chain's DKIM
 * passes and of the origin's SPF (evaluated now), findings. */
#include "shared/hdr.h"
#include "verifier/chain.h"

struct keys;

/* Fill c->dmarc and add the dmarc-* findings. Call after chain_auth()
 * and the origin's SPF (chain_set_origin), before chain_finish(). */
void	align_check(struct chain *c, const struct hdr *h, struct keys *k);

/* The domains of the addresses of an address-list value (unfolded),
 * lower case, each once, into dom (at most max); returns how many
 * addresses the list holds (with or without a domain, may be more than
 * max). Groups and comments are understood; quoted local parts kept. */
int	align_from_domains(const char *value, char dom[][DMARC_DOMAIN_MAX + 1],
	    int max, int *ndom);

#endif
