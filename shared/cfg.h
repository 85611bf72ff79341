#ifndef SHARED_CFG_H
#define SHARED_CFG_H
/* cfg - relaytrust-policyd configuration (libconfuse), SPEC section 2.2. */
#include <stddef.h>

#include "shared/dns.h"
#include "shared/netaddr.h"

#define CFG_LISTEN_MAX	16

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

	struct dns_opts dns;		/* strings owned by this struct */

	struct netaddr_list *skip_networks;
	int	skip_sasl;

	struct {
		int	enabled;
		enum cfg_action on_fail, on_temperror;
		int	max_names;
	} ptr;

	struct {
		int	helo, mailfrom;
		enum cfg_action on_fail, on_softfail, on_neutral, on_none,
			on_permerror, on_temperror, helo_on_fail;
		int	void_lookup_limit, lookup_limit;
	} spf;
};

/* Load and validate FILE. Returns NULL and writes "FILE:LINE: what" into
 * err on any error (unknown key, bad value, bad CIDR, timeout out of
 * range). The result has refs == 1. */
struct cfg *cfg_load(const char *file, char *err, size_t errlen);
struct cfg *cfg_ref(struct cfg *);
void	cfg_unref(struct cfg *);	/* frees at zero; NULL is a no-op */

const char *cfg_action_str(enum cfg_action);	/* "accept", "reject", ... */

#endif
