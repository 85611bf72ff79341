/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_CHECKDOM_H
#define VERIFIER_CHECKDOM_H
/* checkdom - relaytrust-verify --check-domain (SPEC 3.4): what receivers
 * will think of a domain's mail, item by item, with the DNS, SPF, DKIM
 * and DMARC code the rest of the program uses. */
#include <stddef.h>

#include "verifier/report.h"

#define CHECKDOM_IPS_MAX	16	/* --ip */
#define CHECKDOM_SELECTORS_MAX	16	/* --selector */
#define CHECKDOM_MX_MAX		10	/* MX hosts checked */
#define CHECKDOM_ADDRS_MAX	4	/* addresses shown per MX host */
#define CHECKDOM_TEXT_MAX	400	/* bytes of a detail or a fix */
#define CHECKDOM_PROBE_MS	10000	/* one MX host's SMTP/TLS probe */

enum checkdom_item {
	CD_IPREV, CD_SPF, CD_DKIM, CD_DMARC, CD_MX, CD_STARTTLS, CD_MTA_STS,
	CD_TLS_RPT,
};

enum checkdom_status { CD_PASS, CD_WARN, CD_FAIL };

struct checkdom_check {
	enum checkdom_item item;
	enum checkdom_status status;
	char	target[256];			/* "": the domain (null) */
	char	detail[CHECKDOM_TEXT_MAX];
	char	fix[CHECKDOM_TEXT_MAX];		/* "": none (null) */
};

struct checkdom_opts {
	const char *domain;
	const char *ips[CHECKDOM_IPS_MAX];
	int	nips;
	const char *selectors[CHECKDOM_SELECTORS_MAX];
	int	nselectors;
	int	smtp_port;			/* 0: 25 */
	int	probe_ms;			/* 0: CHECKDOM_PROBE_MS */
	const char *forward[8];			/* --dns-forward */
	int	nforward;
	int	timeout;			/* seconds per DNS query; 0: 3 */
};

struct checkdom {
	char	domain[254];
	struct checkdom_check *c;
	size_t	n, cap;
	int	nfail, nwarn, npass;
};

/* Check o->domain into out (always initialized; free with
 * checkdom_free). Returns 0, or -1 with the reason in err when nothing
 * could be checked: not a domain name, no resolver. */
int	checkdom_run(const struct checkdom_opts *o, struct checkdom *out,
	    char *err, size_t errlen);
/* The report as text (width: columns to wrap at, 0: none) or as the one
 * JSON object of SPEC 3.4, appended to b. */
void	checkdom_text(const struct checkdom *, struct report_buf *b,
	    int width);
void	checkdom_json(const struct checkdom *, struct report_buf *b);
void	checkdom_free(struct checkdom *);

const char *checkdom_item_str(enum checkdom_item);	/* "iprev", ... */
const char *checkdom_status_str(enum checkdom_status);	/* "pass", ... */

#endif
