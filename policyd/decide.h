/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_DECIDE_H
#define POLICYD_DECIDE_H
/* decide - check results + configuration -> action and headers. No I/O. */
#include "shared/cfg.h"
#include "shared/dns.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"
#include "policyd/proto.h"

#define DECIDE_HEADER_MAX	1000	/* one header line, under RFC 5322's 998 + name */
#define DECIDE_TEXT_MAX		200	/* reply text after the codes (SPEC 2.3) */

/* RFC 8601 2.7.3 words. */
enum iprev_result {
	IPREV_NOTCHECKED,	/* disabled, skipped, or no data */
	IPREV_PASS,
	IPREV_FAIL,
	IPREV_PERMERROR,	/* no PTR record at all */
	IPREV_TEMPERROR,
};

struct iprev_outcome {
	enum iprev_result result;
	char	name[DNS_NAME_MAX + 1];	/* verified name (pass) or first PTR name */
};

enum decide_verdict {
	DECIDE_ACCEPT,
	DECIDE_REJECT,
	DECIDE_DEFER,
};

struct decide_in {
	const struct policy_req *req;
	const struct netaddr *client;
	const char *skip_reason;	/* non-NULL: client not checked, and why */
	int	header_ok;		/* the protocol state allows PREPEND */
	struct iprev_outcome iprev;
	const struct spf_outcome *helo;		/* NULL: not evaluated */
	const struct spf_outcome *mailfrom;	/* NULL: not evaluated; for the
						 * null sender its identity is HELO */
	const char *forwarder;	/* non-NULL: a trusted forwarder (what
				 * matched); its SPF MAIL FROM result is
				 * reported, never enforced */
	const char *nat;	/* non-NULL: the client address is private,
				 * CGNAT, ULA or link-local (its class); with
				 * private_clients = accept no reject/defer */
};

struct decision {
	enum decide_verdict verdict;	/* what the reply says */
	enum decide_verdict would;	/* before report_only, "warn" and the
					 * private-client rule */
	int	relaxed;		/* 1: a reject/defer became accept
					 * because the client is private */
	const char *exempt;		/* "recipient": the recipient is in
					 * skip.recipients, so the reject/defer
					 * in would is answered as accept (also
					 * set under report_only); else NULL */
	const char *check;		/* "iprev", "spf_helo", "spf_mailfrom" or NULL */
	char	code[8];		/* enhanced status code, "" on accept */
	char	action[PROTO_ACTION_MAX];	/* the complete action= value */
	char	headers[2][DECIDE_HEADER_MAX];	/* to prepend, in order; made
						 * only for an accept with
						 * header_ok */
	int	nheaders;
};

/* Fill out from in and cfg; never fails. action is "PREPEND headers[0]"
 * on accept when a header is due and allowed, else "DUNNO". cfg is the
 * effective configuration of the request (cfg_effective()). */
void	decide(const struct cfg *, const struct decide_in *, struct decision *out);

const char *iprev_result_str(enum iprev_result);	/* "pass", ..., "none" */
const char *decide_verdict_str(enum decide_verdict);	/* "accept", "reject", "defer" */

/* Header-safe renderings (exposed for tests). */
/* RFC 8601 pvalue / RFC 7208 key-value: the text as is when it is a
 * dot-atom, else as a quoted-string. Returns out. */
char	*decide_quote(const char *in, char *out, size_t outlen);
/* Text safe inside a comment: printable ASCII, ( ) \ escaped, cut at max. */
char	*decide_comment(const char *in, size_t max, char *out, size_t outlen);

#endif
