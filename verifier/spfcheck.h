/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_SPFCHECK_H
#define VERIFIER_SPFCHECK_H
/* spfcheck - a domain's SPF record judged as receivers will judge it:
 * record selection, syntax, the RFC 7208 4.6.4 lookup and void-lookup
 * limits counted through include: and redirect=, loops, the all
 * qualifier and the size of the TXT answer (--check-domain, SPEC 3.4). */
#include <stddef.h>

#include "shared/dns.h"
#include "shared/spf.h"

#define SPFCHECK_FINDINGS_MAX	32	/* findings kept; more are dropped,
					 * the least severe first */
#define SPFCHECK_TEXT_MAX	200	/* bytes of a finding's text or fix */
#define SPFCHECK_LOOKUPS_MAX	10	/* DNS-querying terms (RFC 7208
					 * 4.6.4) */
#define SPFCHECK_VOIDS_MAX	2	/* void lookups (RFC 7208 4.6.4) */
#define SPFCHECK_MXNAMES_MAX	10	/* MX names per mx term (4.6.4) */
#define SPFCHECK_DEPTH_MAX	10	/* include/redirect nesting followed */
#define SPFCHECK_QUERIES_MAX	64	/* DNS queries per check */
#define SPFCHECK_UDP_MAX	512	/* DNS message over UDP without EDNS */

enum spfcheck_severity {
	SPFCHECK_INFO,
	SPFCHECK_WARN,
	SPFCHECK_FAIL,
};

struct spfcheck_finding {
	int	severity;			/* enum spfcheck_severity */
	char	text[SPFCHECK_TEXT_MAX];	/* what was found */
	char	fix[SPFCHECK_TEXT_MAX];		/* one line for the domain's
						 * administrator; "" for none */
};

struct spfcheck {
	int	nrecords;		/* v=spf1 TXT records at the domain */
	char	record[SPF_RECORD_MAX + 1];	/* the (first) one, cut */
	size_t	udp_size;		/* bytes of the domain's TXT response
					 * (header, question, every TXT RR) */
	int	lookups;		/* DNS-querying terms, through include:
					 * and redirect=, also past the limit */
	int	void_lookups;		/* the most for an IPv4 or IPv6 client */
	int	queries;		/* DNS queries this check made */
	int	permerror;		/* as an evaluation would end: too many
					 * lookups or voids, a loop, syntax,
					 * several or no record at a target */
	char	permerror_why[SPFCHECK_TEXT_MAX];	/* the first one; the
					 * DNS error when spfcheck_domain()
					 * returns -1 */
	int	all_qualifier;		/* '+', '-', '~', '?' of the record's
					 * all (through redirect=), 0 for none */
	struct spfcheck_finding f[SPFCHECK_FINDINGS_MAX];
	int	nf;			/* with permerror, f[0] explains it */
};

/* Check the SPF record of domain with blocking queries on sync (a dns
 * made with base == NULL; the caller owns it). Fills *out (no record:
 * nrecords 0 and no finding above info). Returns 0, or -1 when a DNS
 * lookup failed temporarily before any permerror (an evaluation would
 * give temperror), with the reason in out->permerror_why. */
int	spfcheck_domain(struct dns *sync, const char *domain,
	    struct spfcheck *out);
/* Bytes of a DNS response to "qname TXT" carrying the records of a
 * (header 12, question, each RR with its owner compressed to 2 bytes);
 * a cut record counts as DNS_TXT_MAX bytes. */
size_t	spfcheck_udp_size(const char *qname, const struct dns_answer *a);

#endif
