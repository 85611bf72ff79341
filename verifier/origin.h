/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_ORIGIN_H
#define VERIFIER_ORIGIN_H
/* origin - iprev and SPF of a chain's first untrusted hop, evaluated now,
 * with the shared DNS (dns.h) and SPF (spfpool.h) code of the daemon. */
#include "shared/dns.h"
#include "verifier/chain.h"

#define ORIGIN_NAMES_MAX	10	/* PTR names checked (RFC 8601 2.7.3) */
#define ORIGIN_CACHE_MAX	4096	/* results kept per run */

struct origin_opts {
	const char *forward[DNS_FORWARD_MAX];	/* "ADDR[@PORT]" */
	int	nforward;
	int	timeout;			/* seconds per query; 0: 3 */
};

struct origin;

/* Returns NULL with a reason in err (no resolver, workers failed). */
struct origin *origin_new(const struct origin_opts *, char *err,
	    size_t errlen);
/* Evaluate c->origin_ip (with c->origin_helo, c->origin_sender) and
 * record it with chain_set_origin(). A chain without origin is left as
 * it is. */
void	origin_check(struct origin *, struct chain *c);
void	origin_free(struct origin *);		/* NULL is a no-op */

/* iprev of ip with the names it went through (--check-domain). */
struct origin_iprev {
	enum chain_iprev res;
	int	nnames;				/* PTR names tried */
	char	names[ORIGIN_NAMES_MAX][DNS_NAME_MAX + 1];
	int	confirmed;			/* index of the name that led
						 * back to ip, -1 if none */
};
void	origin_iprev(struct origin *, const char *ip, struct origin_iprev *);
/* SPF of ip for sender (MAIL FROM) or, when sender is "", helo: an enum
 * spf_result, -1 when the query could not be made. */
int	origin_spf(struct origin *, const char *ip, const char *helo,
	    const char *sender);
/* The blocking resolver, for other lookups of the same run. */
struct dns *origin_dns(struct origin *);

#endif
