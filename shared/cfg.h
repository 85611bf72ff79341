/* SPDX-License-Identifier: ISC */
#ifndef SHARED_CFG_H
#define SHARED_CFG_H
/* cfg - relaytrust-policyd configuration (libconfuse), SPEC section 2.2. */
#include <stddef.h>

#include "shared/dns.h"
#include "shared/netaddr.h"

#define CFG_LISTEN_MAX	16
#define CFG_OVERRIDES_MAX	64	/* context, domain, sender sections */
#define CFG_FWD_NAMES_MAX	64	/* forwarders.names entries */
#define CFG_FWD_SPF_MAX		8	/* forwarders.spf_domains entries */
#define CFG_SKIP_NAMES_MAX	64	/* skip.client_names, .helo_names */
#define CFG_SKIP_RCPT_MAX	64	/* skip.recipients entries */
#define CFG_NOTES_MAX		32	/* notes kept by one cfg_load() */
#define CFG_OVERRIDE_FIELDS	15	/* spf and ptr keys of a section */

enum cfg_action {
	CFG_ACCEPT,		/* continue, with header */
	CFG_REJECT,
	CFG_DEFER,
	CFG_WARN,		/* as accept, and log the would-be rejection */
};

enum cfg_header {
	CFG_HDR_AR,		/* "authentication-results" */
	CFG_HDR_RECEIVED_SPF,	/* "received-spf" */
	CFG_HDR_BOTH,		/* "both" */
	CFG_HDR_NONE,		/* "none" */
};

enum cfg_log_format {
	CFG_LOG_TEXT,		/* key=value (SPEC 2.5) */
	CFG_LOG_JSON,		/* one JSON object per decision */
};

enum cfg_private {
	CFG_PRIVATE_ACCEPT,	/* private/NAT clients: warn, never reject */
	CFG_PRIVATE_CHECK,	/* warn, then apply the actions as usual */
};

enum cfg_override_kind {
	CFG_OV_CONTEXT,		/* context "NAME": main.cf's policy_context */
	CFG_OV_DOMAIN,		/* domain "NAME": the recipient's domain */
	CFG_OV_SENDER,		/* sender "NAME": the MAIL FROM domain */
};

/* A context, domain or sender "NAME" { } section: only the spf and ptr
 * keys it sets (bit i of set: field i of cfg.c's override table). A
 * section that sets ptr.on_fail and not ptr.on_missing has on_missing
 * set to the same value (the meaning of on_fail before 0.2). */
struct cfg_override {
	char	*name;		/* policy_context value; or a domain, lower case */
	enum cfg_override_kind kind;
	int	line;		/* where the section ends, for messages */
	unsigned long set;
	int	val[CFG_OVERRIDE_FIELDS];
};

struct cfg {
	int	refs;
	char	*file;
	char	*listen[CFG_LISTEN_MAX];
	int	nlisten;
	char	*user;			/* NULL: keep the current user */
	int	workers;
	int	request_timeout;	/* seconds */
	int	idle_timeout;		/* seconds */
	int	max_connections;
	int	report_only;
	char	*authserv_id;		/* default: the host name */
	enum cfg_header header;
	char	*stats_listen;		/* NULL when unset */

	enum cfg_log_format log_format;
	enum cfg_private private_clients;

	struct dns_opts dns;		/* strings owned by this struct */

	struct netaddr_list *skip_networks;
	int	skip_sasl;
	/* Recipients never refused: "local@", "@domain" or "local@domain",
	 * lower case (cfg_recipient_skipped()). */
	char	*skip_recipients[CFG_SKIP_RCPT_MAX];
	int	nskip_recipients;
	/* Clients not checked: a forward-confirmed PTR name, or a HELO name
	 * that resolves to the client, in one of these domains (matched by
	 * the caller with cfg_name_in_domain()); lower case, no final dot. */
	char	*skip_client_names[CFG_SKIP_NAMES_MAX];
	int	nskip_client_names;
	char	*skip_helo_names[CFG_SKIP_NAMES_MAX];
	int	nskip_helo_names;

	struct {
		int	enabled;
		enum cfg_action on_missing;	/* permerror: no PTR */
		enum cfg_action on_fail;	/* fail: none resolves back */
		enum cfg_action on_temperror;
		int	unless_spf_pass;	/* an SPF MAIL FROM pass (HELO
						 * for the null sender)
						 * disarms all three */
		int	max_names;
	} ptr;

	struct {
		int	helo, mailfrom;
		enum cfg_action on_fail, on_softfail, on_neutral, on_none,
			on_permerror, on_temperror, helo_on_fail;
		int	void_lookup_limit, lookup_limit;
	} spf;

	struct cfg_override *overrides;	/* in file order */
	int	noverrides;

	/* Trusted forwarders: SPF MAIL FROM is not enforced for them. */
	struct netaddr_list *fwd_networks;
	char	*fwd_names[CFG_FWD_NAMES_MAX];		/* lower case, no dot */
	int	nfwd_names;
	char	*fwd_spf_domains[CFG_FWD_SPF_MAX];	/* lower case */
	int	nfwd_spf_domains;

	/* What the file says that is allowed but may not mean what its
	 * author thinks (host bits in a network, the old meaning of
	 * ptr.on_fail): lines "FILE:LINE: text\n", or NULL. For -t and
	 * the start-up log (warning level); never an error. */
	char	*notes;
};

/* Load and validate FILE. Returns NULL and writes "FILE:LINE: what" into
 * err on any error (unknown key, bad value, bad CIDR, timeout out of
 * range, a key or section given twice, an unclosed quote). The result has
 * refs == 1; its notes, if any, are for the administrator. */
struct cfg *cfg_load(const char *file, char *err, size_t errlen);
struct cfg *cfg_ref(struct cfg *);
void	cfg_unref(struct cfg *);	/* frees at zero; NULL is a no-op */

const char *cfg_action_str(enum cfg_action);	/* "accept", "reject", ... */

/* The configuration in effect for one request: *cfg with the spf and ptr
 * keys of the override sections applied on top, key by key, in this
 * order (a later one wins): the context section named policy_context
 * (case does not matter), the domain section matching the recipient's
 * domain, the sender section matching the MAIL FROM domain (for both
 * the longest matching title at a label boundary; the null sender
 * matches no sender section). So top level < context < domain < sender.
 * out borrows every pointer of cfg: never cfg_unref() it, and do not
 * keep it past cfg. applied gets "" or e.g.
 * "context:submission,domain:example.org,sender:example.net" (cut to
 * applen). NULL policy_context, recipient or sender match nothing. */
void	cfg_effective(const struct cfg *, const char *policy_context,
	    const char *recipient, const char *sender, struct cfg *out,
	    char *applied, size_t applen);
/* 1 when recipient matches skip.recipients ("postmaster@" any domain,
 * "@example.org" that whole domain, "abuse@example.org" that address;
 * case does not matter, the local part is otherwise compared exactly; a
 * recipient without '@' has only a local part), else 0 (also for NULL
 * or ""). */
int	cfg_recipient_skipped(const struct cfg *, const char *recipient);
/* 1 when host is domain or ends in "." domain (a label boundary; case
 * does not matter; a trailing dot on host is ignored), else 0. */
int	cfg_name_in_domain(const char *host, const char *domain);

#endif
