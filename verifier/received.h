/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_RECEIVED_H
#define VERIFIER_RECEIVED_H
/* received - one Received: field value into the fields of a hop. No DNS. */
#include <stddef.h>
#include <stdint.h>

#define RECEIVED_MAX		256	/* Received fields analysed per message */
#define RECEIVED_TOKENS_MAX	256	/* tokens of one field; more: ignored */
#define RECEIVED_NAME_MAX	256	/* bytes kept of a host name, address, id */
#define RECEIVED_IP_MAX		64

enum received_kind {
	RECEIVED_RELAY,		/* a network hop: from ... by ... */
	RECEIVED_LOCAL,		/* no network sender: pickup, submit, LMTP */
	RECEIVED_MARKER,	/* qmail "invoked" and similar bookkeeping */
	RECEIVED_FETCH,		/* fetchmail/getmail: POP3/IMAP retrieval */
	RECEIVED_UNPARSED,	/* note says why */
};

/* The MTA the by clause names, for small adjustments of the grammar. */
enum received_mta {
	RECEIVED_MTA_UNKNOWN,
	RECEIVED_MTA_POSTFIX,
	RECEIVED_MTA_SENDMAIL,
	RECEIVED_MTA_EXIM,
	RECEIVED_MTA_QMAIL,
	RECEIVED_MTA_EXCHANGE,
	RECEIVED_MTA_GMAIL,
	RECEIVED_MTA_CRITICALPATH,	/* InterMail: "by host (7.0.020)" */
	RECEIVED_MTA_OTHER,
};

/* What the hop is (SPEC 3.2 step 2): from the protocol, authentication
 * and the sender's address (internal: loopback, private, ULA,
 * link-local or CGNAT). */
enum received_role {
	RECEIVED_ROLE_RELAY,
	RECEIVED_ROLE_SUBMISSION,	/* authenticated SMTP */
	RECEIVED_ROLE_HTTP_SUBMISSION,	/* webmail, HTTP API, MAPI */
	RECEIVED_ROLE_LOCAL,		/* pickup, local submission, markers */
	RECEIVED_ROLE_INTERNAL,		/* from a private address */
	RECEIVED_ROLE_DELIVERY,		/* LMTP into the mailbox store */
	RECEIVED_ROLE_FETCH,		/* POP/IMAP retrieval */
};

/* Text fields are "" when absent. tls/auth: -1 unknown, 0 no, 1 yes. */
struct received {
	enum received_kind kind;
	enum received_role role;
	enum received_mta mta;
	char	from_name[RECEIVED_NAME_MAX];	/* the name as written after from */
	char	from_helo[RECEIVED_NAME_MAX];
	char	from_rdns[RECEIVED_NAME_MAX];
	char	from_ip[RECEIVED_IP_MAX];	/* canonical text (inet_ntop) */
	char	ident[RECEIVED_NAME_MAX];
	char	by_host[RECEIVED_NAME_MAX];
	char	by_ip[RECEIVED_IP_MAX];
	char	with[RECEIVED_NAME_MAX];
	char	via[RECEIVED_NAME_MAX];
	char	id[RECEIVED_NAME_MAX];
	char	rcpt_for[RECEIVED_NAME_MAX];
	char	envelope_from[RECEIVED_NAME_MAX];
	int	has_envelope_from;		/* "" may be the null sender */
	char	tls_detail[RECEIVED_NAME_MAX];	/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	int	tls;
	int	auth;
	int	http;				/* HTTP, MAPI or webmail */
	int	lmtp;				/* LMTP family */
	int	has_date;
	int64_t	date;				/* UTC seconds */
	char	note[RECEIVED_NAME_MAX];	/* unparsed reason, marker, warnings */
};

/* Parse one unfolded Received value (NUL-terminated). Returns 0 when it
 * was understood (kind RELAY/LOCAL/MARKER/FETCH), -1 when not (kind
 * UNPARSED, reason in note). Never fails otherwise. */
int	received_parse(const char *value, struct received *out);

const char *received_kind_str(enum received_kind);	/* "relay", ... */
const char *received_role_str(enum received_role);	/* SPEC 3.2 words */

#endif
