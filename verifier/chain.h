/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_CHAIN_H
#define VERIFIER_CHAIN_H
/* chain - the relay chain of one message: hops oldest first, delays,
 * continuity, time order, trust boundary, findings, verdict. No I/O. */
#include <stddef.h>
#include <stdint.h>

#include "shared/hdr.h"
#include "verifier/auth.h"
#include "verifier/dmarc.h"
#include "verifier/received.h"

#define CHAIN_FINDINGS_MAX	64	/* findings kept per message */
#define CHAIN_TEXT_MAX		256	/* bytes of a finding or explanation */
#define CHAIN_SKEW_MAX		300	/* seconds a later hop may be dated earlier */
#define CHAIN_FUTURE_MAX	900	/* seconds a date may lie in the future */
#define CHAIN_TRUSTED_MAX	256	/* --trusted host names */
#define CHAIN_DISPLAY_MAX	512	/* bytes of From, Subject, Message-ID kept */
#define CHAIN_CLAIMS_MAX	64	/* claims (A-R, AAR results) kept */
#define CHAIN_FROM_DOMAINS_MAX	4	/* From: domains evaluated (DMARC) */

enum chain_sev { CHAIN_INFO, CHAIN_WARN, CHAIN_ERROR };
/* SPEC 3.2 step 7 */
enum chain_verdict {
	CHAIN_AUTHENTICATED, CHAIN_UNAUTHENTICATED, CHAIN_SUSPICIOUS,
	CHAIN_FORGED,
};
enum chain_trust { CHAIN_TRUSTED, CHAIN_BOUNDARY, CHAIN_UNTRUSTED };
/* iprev (RFC 8601 2.7.3) of the first untrusted hop, evaluated now. */
enum chain_iprev {
	CHAIN_IPREV_NOTCHECKED, CHAIN_IPREV_PASS, CHAIN_IPREV_FAIL,
	CHAIN_IPREV_PERMERROR, CHAIN_IPREV_TEMPERROR,
};

struct netaddr_list;

/* The trust boundary configuration (--trusted). */
struct chain_cfg {
	struct netaddr_list *nets;	/* may be NULL */
	char	*hosts[CHAIN_TRUSTED_MAX];	/* lower case, no trailing dot */
	int	nhosts;
};

struct chain_hop {
	int	n;			/* 1 = oldest */
	struct received r;
	int	field;			/* index in the header */
	const char *raw;		/* the field's exact bytes */
	size_t	rawlen;
	int	has_delay;
	int64_t	delay_s;		/* from the previous hop (hop 1: Date:) */
	enum received_role kind;	/* SPEC 3.2 step 2 */
	enum chain_trust trust;
	char	why[CHAIN_TEXT_MAX];	/* why it is (not) trusted */
};

struct chain_finding {
	int	hop;			/* 0: the message */
	enum chain_sev sev;
	const char *code;		/* static: "time-reversed", ... */
	char	text[CHAIN_TEXT_MAX];
};

/* DMARC of the message (align.c). */
struct chain_dmarc {
	int	checked;		/* 0: not evaluated (all null) */
	int	nfrom;			/* From: addresses (RFC 7489 6.6.1) */
	struct dmarc_discovery d;	/* of the domain reported */
	struct dmarc_eval ev;
	char	spf_result[16];		/* SPF of spf_domain, now; "": null */
	char	note[CHAIN_TEXT_MAX];	/* "" or why the result is what it is */
};

/* One result of an Authentication-Results or ARC-Authentication-Results
 * field (claims.c). */
struct chain_claim {
	int	hop;			/* added after this hop; -1 unknown */
	int	trusted;		/* that hop is inside the boundary */
	int	arc;			/* from an AAR (instance arc) */
	char	authserv_id[256];
	char	method[64];
	char	result[64];
	char	subject[256];		/* header.d, smtp.mailfrom, ...; "" */
	const char *ours;		/* our result (RFC 8601 word); NULL */
	int	agree;			/* -1: nothing to compare */
};

struct chain {
	struct chain_hop *hops;		/* owned */
	int	nhops, cap;
	int	boundary_hop;		/* 0: none */
	int	boundary_given;		/* --trusted, else inferred */
	char	origin_ip[RECEIVED_IP_MAX];
	char	origin_helo[RECEIVED_NAME_MAX];
	char	origin_sender[RECEIVED_NAME_MAX];
	int	has_origin_sender;
	/* Filled by the caller after DNS (chain_set_origin). */
	int	evaluated;		/* 0: null in JSON */
	enum chain_iprev iprev;
	int	spf;			/* enum spf_result, or -1 */
	char	eval_note[CHAIN_TEXT_MAX];
	/* The message. */
	int	has_date;		/* Date: parsed */
	int64_t	date;
	char	message_id[CHAIN_DISPLAY_MAX];
	char	from[CHAIN_DISPLAY_MAX];
	char	subject[CHAIN_DISPLAY_MAX];
	struct dkim_results dkim;
	struct arc_result arc;
	struct chain_dmarc dmarc;
	struct chain_claim claims[CHAIN_CLAIMS_MAX];
	int	nclaims;
	int	nclaims_dropped;
	struct chain_finding f[CHAIN_FINDINGS_MAX];
	int	nf;
	int	nf_dropped;
	enum chain_sev sev_dropped;	/* the worst of them */
	enum chain_verdict verdict;
};

/* Build the chain of one message from its parsed header. mflags are the
 * mailbox's MAILBOX_F_* flags; now is the time of the run (UTC seconds).
 * Always succeeds; what was wrong is in c->f. c is reused across calls. */
void	chain_build(struct chain *c, const struct chain_cfg *cfg,
	    const struct hdr *h, int mflags, int64_t now);
/* Record the evaluated-now iprev/SPF of the origin, adding findings.
 * spf is an enum spf_result or -1 when not evaluated. */
void	chain_set_origin(struct chain *c, enum chain_iprev iprev, int spf,
	    const char *note);
/* After DKIM and ARC verification: the hop that added each signature
 * and set, the first hop that could have broken a failing one, and the
 * findings (dkim-fail, dkim-l-tail, dkim-unrelated-domain,
 * dkim-t-after-hop, dkim-expired-since, arc-fail, ...). now: the time of
 * the run. */
void	chain_auth(struct chain *c, int64_t now);
/* The time the message was received here: the newest hop's date, else
 * its Date:, else now. */
int64_t	chain_received_time(const struct chain *c, int64_t now);
/* The origin's name as a reader gives it: the rDNS its receiver recorded,
 * else the HELO or from name it gave itself (*claimed set to 1); "" with
 * none; NULL when no hop is untrusted (c->boundary_hop 0). */
const char *chain_origin_name(const struct chain *c, int *claimed);
/* 1 when DMARC passed, or no record decided and an aligned DKIM or SPF
 * pass proves the From: domain all the same. */
int	chain_from_proven(const struct chain *c);
/* The verdict (SPEC 3.2 step 7) from the findings and DMARC (call
 * last): forged with an error finding, authenticated when the From:
 * domain is proven, suspicious with a warning, else unauthenticated. */
void	chain_finish(struct chain *c);
void	chain_add(struct chain *c, int hop, enum chain_sev sev,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	chain_free(struct chain *c);		/* frees c->hops only */

/* Add a --trusted host name; -1 when the list is full. */
int	chain_cfg_add_host(struct chain_cfg *cfg, const char *name);

const char *chain_sev_str(enum chain_sev);	/* "info", "warn", "error" */
const char *chain_verdict_str(enum chain_verdict);	/* "authenticated", ... */
const char *chain_iprev_str(enum chain_iprev);	/* "pass", ... */
const char *chain_trust_str(enum chain_trust);	/* "trusted", ... */

#endif
