/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_CHAIN_H
#define VERIFIER_CHAIN_H
/* chain - the relay chain of one message: hops oldest first, delays,
 * continuity, time order, trust boundary, findings, verdict. No I/O. */
#include <stddef.h>
#include <stdint.h>

#include "shared/hdr.h"
#include "verifier/auth.h"
#include "verifier/received.h"

#define CHAIN_FINDINGS_MAX	64	/* findings kept per message */
#define CHAIN_TEXT_MAX		256	/* bytes of a finding or explanation */
#define CHAIN_SKEW_MAX		300	/* seconds a later hop may be dated earlier */
#define CHAIN_FUTURE_MAX	900	/* seconds a date may lie in the future */
#define CHAIN_TRUSTED_MAX	256	/* --trusted host names */
#define CHAIN_DISPLAY_MAX	512	/* bytes of From, Subject, Message-ID kept */

enum chain_sev { CHAIN_INFO, CHAIN_WARN, CHAIN_ERROR };
enum chain_verdict { CHAIN_PASS, CHAIN_SUSPICIOUS, CHAIN_FAIL };
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
	enum chain_trust trust;
	char	why[CHAIN_TEXT_MAX];	/* why it is (not) trusted */
};

struct chain_finding {
	int	hop;			/* 0: the message */
	enum chain_sev sev;
	const char *code;		/* static: "time-reversed", ... */
	char	text[CHAIN_TEXT_MAX];
};

struct chain {
	struct chain_hop *hops;		/* owned */
	int	nhops, cap;
	int	boundary_hop;		/* 0: none */
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
	char	message_id[CHAIN_DISPLAY_MAX];
	char	from[CHAIN_DISPLAY_MAX];
	char	subject[CHAIN_DISPLAY_MAX];
	struct dkim_results dkim;
	struct arc_result arc;
	struct chain_finding f[CHAIN_FINDINGS_MAX];
	int	nf;
	int	nf_dropped;
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
/* The time the message was received here (the newest hop's date), or
 * now when no hop is dated. */
int64_t	chain_received_time(const struct chain *c, int64_t now);
/* Compute the verdict from the findings (call last). */
void	chain_finish(struct chain *c);
void	chain_add(struct chain *c, int hop, enum chain_sev sev,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	chain_free(struct chain *c);		/* frees c->hops only */

/* Add a --trusted host name; -1 when the list is full. */
int	chain_cfg_add_host(struct chain_cfg *cfg, const char *name);

const char *chain_sev_str(enum chain_sev);	/* "info", "warn", "error" */
const char *chain_verdict_str(enum chain_verdict);	/* "pass", ... */
const char *chain_iprev_str(enum chain_iprev);	/* "pass", ... */
const char *chain_trust_str(enum chain_trust);	/* "trusted", ... */

#endif
