/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	checkdom 3
 * SUMMARY
 *	relaytrust-verify --check-domain: a sender's domain as receivers see it
 * SYNOPSIS
 *	#include "verifier/checkdom.h"
 *
 *	int checkdom_run(const struct checkdom_opts *o, struct checkdom *out,
 *		char *err, size_t errlen);
 *	void checkdom_text(const struct checkdom *cd, struct report_buf *b,
 *		int width);
 *	void checkdom_json(const struct checkdom *cd, struct report_buf *b);
 *	void checkdom_free(struct checkdom *cd);
 * DESCRIPTION
 *	SPEC 3.4. Each item is pass, warn or fail, with a detail and, when
 *	not pass, a one-line fix in plain words. The checks use the code
 *	that judges received mail: origin(3) for iprev and for the SPF
 *	result of each --ip (the sandboxed libspf2 workers, as the daemon
 *	evaluates), spfcheck(3) for the record and its DNS lookups counted
 *	through include and redirect, dkim_key_parse() for the selectors'
 *	keys, dmarc_discover() and dmarc_parse() for the policy, and
 *	smtpprobe(3) for each MX host on port 25 (in parallel, each within
 *	CHECKDOM_PROBE_MS).
 *
 *	iprev: fail without a PTR or when no PTR name leads back to the
 *	address; warn for a name that looks generic (the address's numbers
 *	in it, or words of dynamic pools); a name outside the domain is
 *	said, not judged (a provider's name is fine).
 *
 *	DKIM keys: RSA under 1024 bits fail (RFC 8301 3.2), under 2048 warn;
 *	t=y warns; an empty p= (revoked), a key without sha256 in h= or
 *	without email in s= fail.
 *
 *	DMARC: no record or an unusable one fails; p=none, an sp= weaker than
 *	p=, pct= under 100, no rua=, and report addresses in another domain
 *	without the RFC 7489 7.1 authorization record warn.
 *
 *	MX: each host's addresses; STARTTLS offered, the TLS version, the
 *	chain against the system's trust store and the name against the MX
 *	host. An expired certificate fails; an untrusted chain or a wrong
 *	name warns (opportunistic TLS still encrypts; MTA-STS or DANE
 *	senders would refuse). MTA-STS and TLS-RPT: the _mta-sts and
 *	_smtp._tls records (RFC 8461 3.1, RFC 8460 3); the MTA-STS policy
 *	file over HTTPS is not fetched, and the report says so.
 * DIAGNOSTICS
 *	checkdom_run() fails only for a DOMAIN that is not a domain name or a
 *	resolver that cannot be set up; every DNS problem is an item.
 * LIMITS
 *	CHECKDOM_IPS_MAX addresses, CHECKDOM_SELECTORS_MAX selectors,
 *	CHECKDOM_MX_MAX MX hosts (by preference), CHECKDOM_ADDRS_MAX
 *	addresses each; every text is cut at CHECKDOM_TEXT_MAX bytes.
 *--*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/dns.h"
#include "shared/hdr.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spf.h"
#include "verifier/checkdom.h"
#include "verifier/dkim.h"
#include "verifier/dmarc.h"
#include "verifier/obuf.h"
#include "verifier/origin.h"
#include "verifier/smtpprobe.h"
#include "verifier/spfcheck.h"

/* A name we build (selector, _dmarc., _report._dmarc. prefixes): room
 * for any; DNS refuses those over DNS_NAME_MAX without a query. */
#define CD_NAME_MAX	(2 * DNS_NAME_MAX + 64)

struct ctx {
	const struct checkdom_opts *o;
	struct checkdom *cd;
	struct origin *org;
	struct dns *dns;
	char	org_domain[DMARC_DOMAIN_MAX + 1];
	/* dmarc_discover()'s TXT lookups */
	struct dns_answer *txt_ans;
	struct dmarc_txt txt[DNS_RR_MAX];
};

/* ---- the list of items --------------------------------------------- */

/* Records are the domain owner's bytes, and the report goes to a
 * terminal: anything but printable ASCII becomes '?'. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void
add(struct ctx *x, enum checkdom_item item, enum checkdom_status st,
    const char *target, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
add(struct ctx *x, enum checkdom_item item, enum checkdom_status st,
    const char *target, const char *fix, const char *fmt, ...)
{
	struct checkdom *cd = x->cd;
	struct checkdom_check *c;
	va_list ap;

	if (cd->n == cd->cap) {
		cd->cap = cd->cap ? cd->cap * 2 : 32;
		cd->c = xrealloc(cd->c, cd->cap * sizeof(*cd->c));
	}
	c = &cd->c[cd->n++];
	memset(c, 0, sizeof(*c));
	c->item = item;
	c->status = st;
	snprintf(c->target, sizeof(c->target), "%s", target ? target : "");
	snprintf(c->fix, sizeof(c->fix), "%s", fix && st != CD_PASS ? fix :
	    "");
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	printable(c->detail);
	printable(c->fix);
	printable(c->target);
	if (st == CD_FAIL)
		cd->nfail++;
	else if (st == CD_WARN)
		cd->nwarn++;
	else
		cd->npass++;
}

/* A fix with printf arguments, into a static buffer of the caller. */
static const char *
fixf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
fixf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* The TXT records of name joined per record; NULL on NXDOMAIN/NODATA
 * with *temp 0, NULL with *temp 1 on a temporary failure. The answer is
 * the caller's to free. */
static struct dns_answer *
txt_lookup(struct ctx *x, const char *name, int *temp)
{
	struct dns_answer *a = dns_query_sync(x->dns, name, DNS_T_TXT);

	*temp = a->status == DNS_TEMPFAIL;
	if (a->status != DNS_OK) {
		dns_answer_free(a);
		return NULL;
	}
	return a;
}

/* ---- iprev ---------------------------------------------------------- */

/* Numbers of the address in the name (192-0-2-10, 10.2.0.192,
 * c000020a): how many of the four octets appear as number words. */
static int
octets_in_name(const struct netaddr *a, const char *name)
{
	char hex[9];
	int i, n = 0;
	const char *p = name;

	if (a->family != AF_INET)
		return 0;
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", a->a[0], a->a[1],
	    a->a[2], a->a[3]);
	if (strcasestr(name, hex) != NULL)
		return 4;
	for (i = 0; i < 4; i++) {
		char num[4];
		const char *q = p;
		size_t k = (size_t)snprintf(num, sizeof(num), "%u", a->a[i]);

		while ((q = strstr(q, num)) != NULL) {
			if ((q == name || !isdigit((unsigned char)q[-1])) &&
			    !isdigit((unsigned char)q[k]))
				break;
			q++;
		}
		if (q != NULL)
			n++;
	}
	return n;
}

static int
generic_name(const char *ip, const char *name)
{
	static const char *const words[] = {
		"dyn", "dynamic", "dhcp", "pool", "dsl", "adsl", "xdsl",
		"cable", "ppp", "pppoe", "dial", "dialup", "broadband",
		"client", "customer", "cust", "host", "ip", "static", "res",
		"residential", "user", "unknown", "unassigned",
	};
	struct netaddr a;
	char low[DNS_NAME_MAX + 1], *tok, *save;
	size_t i;
	int octets;

	if (netaddr_parse(ip, &a) != 0)
		return 0;
	octets = octets_in_name(&a, name);
	if (octets == 4)
		return 1;
	if (octets < 2)
		return 0;
	snprintf(low, sizeof(low), "%s", name);
	for (tok = strtok_r(low, ".-_0123456789", &save); tok != NULL;
	    tok = strtok_r(NULL, ".-_0123456789", &save))
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcasecmp(tok, words[i]) == 0)
				return 1;
	return 0;
}

static void
check_iprev(struct ctx *x, const char *ip)
{
	struct origin_iprev r;
	char fix[CHECKDOM_TEXT_MAX], org[DMARC_DOMAIN_MAX + 1];
	const char *d = x->cd->domain, *name;

	origin_iprev(x->org, ip, &r);
	switch (r.res) {
	case CHAIN_IPREV_TEMPERROR:
		add(x, CD_IPREV, CD_WARN, ip, "check the DNS servers of the "
		    "address's reverse zone, then run the check again",
		    "the PTR lookup of %s failed for now (DNS error)", ip);
		return;
	case CHAIN_IPREV_PERMERROR:
	case CHAIN_IPREV_NOTCHECKED:
		add(x, CD_IPREV, CD_FAIL, ip, fixf(fix, sizeof(fix), "ask "
		    "whoever runs %s (your provider) to set its PTR record to "
		    "a name such as mail.%s, with an A record back to %s", ip,
		    d, ip), "%s has no PTR record: most receivers distrust or "
		    "refuse mail from it", ip);
		return;
	case CHAIN_IPREV_FAIL:
		add(x, CD_IPREV, CD_FAIL, ip, fixf(fix, sizeof(fix), "add an "
		    "%s record %s -> %s, or point the PTR of %s to a name that "
		    "has it", strchr(ip, ':') ? "AAAA" : "A", r.names[0], ip,
		    ip), "the PTR name %s%s does not resolve back to %s (not "
		    "forward-confirmed)", r.names[0], r.nnames > 1 ? " (and "
		    "others)" : "", ip);
		return;
	case CHAIN_IPREV_PASS:
		break;
	}
	name = r.names[r.confirmed];
	if (generic_name(ip, name)) {
		add(x, CD_IPREV, CD_WARN, ip, fixf(fix, sizeof(fix), "set the "
		    "PTR of %s to a name of your own, such as mail.%s (and its "
		    "A record)", ip, d), "PTR %s is forward-confirmed but looks "
		    "like a dynamic-pool name, which receivers score as a "
		    "home connection", name);
		return;
	}
	if (dmarc_org_domain(name, org, sizeof(org)) == 0 &&
	    strcasecmp(org, x->org_domain) != 0)
		add(x, CD_IPREV, CD_PASS, ip, NULL, "PTR %s, forward-confirmed "
		    "(a name outside %s: fine when it is your provider's)",
		    name, d);
	else
		add(x, CD_IPREV, CD_PASS, ip, NULL, "PTR %s, "
		    "forward-confirmed", name);
}

/* ---- SPF ------------------------------------------------------------ */

static enum checkdom_status
sev_status(int severity)
{
	return severity >= 2 ? CD_FAIL : severity == 1 ? CD_WARN : CD_PASS;
}

static void
spf_addr(struct ctx *x, const char *ip, int have_record)
{
	char sender[300], fix[CHECKDOM_TEXT_MAX];
	const char *d = x->cd->domain;
	int res;

	snprintf(sender, sizeof(sender), "postmaster@%s", d);
	res = origin_spf(x->org, ip, "", sender);
	if (res == SPF_RES_PASS) {
		add(x, CD_SPF, CD_PASS, ip, NULL, "pass: %s may send mail as "
		    "%s", ip, d);
		return;
	}
	if (res == SPF_RES_TEMPERROR || res < 0) {
		add(x, CD_SPF, CD_WARN, ip, "check the DNS of the SPF record "
		    "and what it includes, then run the check again",
		    "temperror: the SPF result for %s could not be had now",
		    ip);
		return;
	}
	add(x, CD_SPF, CD_FAIL, ip, have_record ? fixf(fix, sizeof(fix),
	    "add %s:%s to the SPF record of %s", strchr(ip, ':') ? "ip6" :
	    "ip4", ip, d) : fixf(fix, sizeof(fix), "publish an SPF record "
	    "that lists %s", ip), "%s: receivers that check SPF see %s as "
	    "not authorized to send for %s", spf_result_str((enum spf_result)
	    res), ip, d);
}

static void
check_spf(struct ctx *x)
{
	struct spfcheck s;
	char fix[CHECKDOM_TEXT_MAX], ips[CHECKDOM_TEXT_MAX] = "";
	const char *d = x->cd->domain;
	int i, rc;
	size_t n = 0;

	rc = spfcheck_domain(x->dns, d, &s);
	for (i = 0; i < x->o->nips && n < sizeof(ips) - 60; i++)
		n += (size_t)snprintf(ips + n, sizeof(ips) - n, "%s:%s ",
		    strchr(x->o->ips[i], ':') ? "ip6" : "ip4", x->o->ips[i]);
	if (rc < 0)
		add(x, CD_SPF, CD_WARN, NULL, "check the DNS servers of the "
		    "domain and of what the record includes, then run the "
		    "check again", "temperror: %s", s.permerror_why);
	else if (s.nrecords == 0)
		add(x, CD_SPF, CD_FAIL, NULL, fixf(fix, sizeof(fix), "publish "
		    "a TXT record at %s: \"v=spf1 %s%s-all\"", d, ips,
		    x->o->nips ? "" : "mx "), "no SPF record: receivers "
		    "cannot tell your servers from a forger's");
	else if (s.permerror)
		add(x, CD_SPF, CD_FAIL, NULL, s.nf > 0 && s.f[0].fix[0] ?
		    s.f[0].fix : "fix the SPF record", "permerror: %s "
		    "(receivers treat the record as broken)", s.permerror_why);
	else
		add(x, CD_SPF, CD_PASS, NULL, NULL, "\"%.200s\": %d of 10 DNS "
		    "lookups, %d of 2 void lookups", s.record, s.lookups,
		    s.void_lookups);
	for (i = 0; rc == 0 && i < s.nf; i++)
		if (s.f[i].severity > 0 && !(s.permerror && i == 0))
			add(x, CD_SPF, sev_status(s.f[i].severity), NULL,
			    s.f[i].fix, "%s", s.f[i].text);
	for (i = 0; i < x->o->nips; i++)
		spf_addr(x, x->o->ips[i], rc == 0 && s.nrecords > 0);
}

/* ---- DKIM ----------------------------------------------------------- */

static void
dkim_key_item(struct ctx *x, const char *sel, const char *name,
    const struct dns_rr *rr)
{
	struct dkim_key k;
	char fix[CHECKDOM_TEXT_MAX];
	const char *type;

	dkim_key_parse((const char *)rr->data, rr->len, &k);
	type = k.k == DKIM_K_ED25519 ? "ed25519" : "rsa";
	if (rr->cut || (k.err != AUTH_REASON_NONE &&
	    k.err != AUTH_REASON_KEY_REVOKED))
		add(x, CD_DKIM, CD_FAIL, sel, fixf(fix, sizeof(fix), "publish "
		    "the key of selector %s again as your signer prints it "
		    "(v=DKIM1; k=...; p=...)", sel), "key record at %s is "
		    "unusable: %s", name, rr->cut ? "longer than we read" :
		    k.why);
	else if (k.err == AUTH_REASON_KEY_REVOKED)
		add(x, CD_DKIM, CD_FAIL, sel, fixf(fix, sizeof(fix), "publish "
		    "the current key at %s, or stop signing with selector %s",
		    name, sel), "the key is revoked (empty p=): every "
		    "signature with s=%s fails", sel);
	else if (k.hashes != 0 && !(k.hashes & 2))
		add(x, CD_DKIM, CD_FAIL, sel, "remove h= from the key record "
		    "or add sha256 to it", "h= does not allow sha256: "
		    "rsa-sha256 signatures fail");
	else if (!k.email_ok)
		add(x, CD_DKIM, CD_FAIL, sel, "remove s= from the key record "
		    "or set s=email", "s= does not allow email: the key "
		    "cannot verify mail");
	else if (k.k == DKIM_K_RSA && k.bits < DKIM_KEY_BITS_MIN)
		add(x, CD_DKIM, CD_FAIL, sel, "make a 2048-bit RSA key, "
		    "publish it under a new selector and sign with it",
		    "RSA key of %d bits: receivers refuse keys under 1024 bits "
		    "(RFC 8301)", k.bits);
	else if (k.k == DKIM_K_RSA && k.bits < 2048)
		add(x, CD_DKIM, CD_WARN, sel, "make a 2048-bit RSA key, publish "
		    "it under a new selector and sign with it", "RSA key of "
		    "%d bits: 2048 is the recommended size", k.bits);
	else if (k.testing)
		add(x, CD_DKIM, CD_WARN, sel, "remove t=y from the key record "
		    "once signing works", "t=y: the key is in testing mode; "
		    "receivers may treat your signatures as absent");
	else if (k.k == DKIM_K_RSA)
		add(x, CD_DKIM, CD_PASS, sel, NULL, "%s key of %d bits at %s",
		    type, k.bits, name);
	else
		add(x, CD_DKIM, CD_PASS, sel, NULL, "%s key at %s", type, name);
	dkim_key_clear(&k);
}

static void
check_dkim_selector(struct ctx *x, const char *sel)
{
	struct dns_answer *a;
	char name[CD_NAME_MAX], fix[CHECKDOM_TEXT_MAX];
	int temp, n, i, idx = -1;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, x->cd->domain);
	if ((a = txt_lookup(x, name, &temp)) == NULL) {
		if (temp)
			add(x, CD_DKIM, CD_WARN, sel, "check the DNS servers of "
			    "the domain, then run the check again", "the key "
			    "lookup at %s failed for now (DNS error)", name);
		else
			add(x, CD_DKIM, CD_FAIL, sel, fixf(fix, sizeof(fix),
			    "publish the public key of selector %s as a TXT "
			    "record at %s", sel, name), "no key record at %s: "
			    "signatures with s=%s fail", name, sel);
		return;
	}
	for (i = n = 0; i < a->nrr; i++)
		if (a->rr[i].len > 0) {
			n++;
			idx = i;
		}
	if (n > 1)
		add(x, CD_DKIM, CD_FAIL, sel, fixf(fix, sizeof(fix), "keep one "
		    "TXT record at %s", name), "%d TXT records at %s: which "
		    "key a receiver takes is undefined (RFC 6376 3.6.2.2)", n,
		    name);
	else if (idx >= 0)
		dkim_key_item(x, sel, name, &a->rr[idx]);
	dns_answer_free(a);
}

static void
check_dkim(struct ctx *x)
{
	int i;

	if (x->o->nselectors == 0) {
		add(x, CD_DKIM, CD_WARN, NULL, "run the check again with "
		    "--selector S, S being the s= of a DKIM-Signature in mail "
		    "you sent", "not checked: no --selector given (a key can "
		    "only be found by its selector)");
		return;
	}
	for (i = 0; i < x->o->nselectors; i++)
		check_dkim_selector(x, x->o->selectors[i]);
}

/* ---- DMARC ---------------------------------------------------------- */

static enum dmarc_dns
dmarc_txt(void *arg, const char *name, const struct dmarc_txt **txt, int *n)
{
	struct ctx *x = arg;
	int i, temp;

	dns_answer_free(x->txt_ans);
	x->txt_ans = txt_lookup(x, name, &temp);
	*n = 0;
	*txt = x->txt;
	if (x->txt_ans == NULL)
		return temp ? DMARC_DNS_TEMPFAIL : DMARC_DNS_NONE;
	for (i = 0; i < x->txt_ans->nrr; i++) {
		x->txt[i].s = (const char *)x->txt_ans->rr[i].data;
		x->txt[i].len = x->txt_ans->rr[i].len;
	}
	*n = x->txt_ans->nrr;
	return DMARC_DNS_FOUND;
}

/* One rua/ruf URI: a mailto: outside the domain needs the receiver's
 * permission record (RFC 7489 7.1). */
static void
dmarc_dest(struct ctx *x, const struct dmarc_record *r,
    const struct dmarc_uri *u, const char *tag)
{
	char uri[300], dest[DMARC_DOMAIN_MAX + 1], org[DMARC_DOMAIN_MAX + 1];
	char name[CD_NAME_MAX], fix[CHECKDOM_TEXT_MAX], *at, *bang;
	struct dns_answer *a;
	int temp, i, ok = 0;

	dmarc_span_str(r, u->raw, uri, sizeof(uri));
	if (!u->valid) {
		add(x, CD_DMARC, CD_WARN, NULL, fixf(fix, sizeof(fix), "write "
		    "%s= as mailto:ADDRESS", tag), "%s=%s is not a URI: no "
		    "reports are sent there", tag, uri);
		return;
	}
	if (strncasecmp(uri, "mailto:", 7) != 0 ||
	    (at = strrchr(uri, '@')) == NULL)
		return;
	if ((bang = strchr(at, '!')) != NULL)
		*bang = '\0';
	if (dmarc_domain_norm(at + 1, dest, sizeof(dest)) != 0 ||
	    dmarc_org_domain(dest, org, sizeof(org)) != 0 ||
	    strcasecmp(org, x->org_domain) == 0)
		return;
	snprintf(name, sizeof(name), "%s._report._dmarc.%s", x->cd->domain,
	    dest);
	if ((a = txt_lookup(x, name, &temp)) != NULL) {
		for (i = 0; i < a->nrr; i++)
			ok |= dmarc_is_record((const char *)a->rr[i].data,
			    a->rr[i].len);
		dns_answer_free(a);
	}
	if (ok)
		add(x, CD_DMARC, CD_PASS, NULL, NULL, "%s to %s is authorized "
		    "by %s", tag, dest, name);
	else if (temp)
		add(x, CD_DMARC, CD_WARN, NULL, "run the check again", "the "
		    "authorization lookup %s failed for now", name);
	else
		add(x, CD_DMARC, CD_WARN, NULL, fixf(fix, sizeof(fix), "ask %s "
		    "to publish TXT \"v=DMARC1\" at %s, or send %s reports to "
		    "an address in %s", dest, name, tag, x->cd->domain),
		    "%s=%s is outside %s and %s does not authorize it: "
		    "receivers will not send these reports (RFC 7489 7.1)",
		    tag, uri, x->cd->domain, dest);
}

static void
dmarc_policy_items(struct ctx *x, const struct dmarc_discovery *d)
{
	const struct dmarc_record *r = &d->rec;
	const char *dom = x->cd->domain;
	char fix[CHECKDOM_TEXT_MAX];
	int i;

	if (r->p == DMARC_POLICY_NONE)
		add(x, CD_DMARC, CD_WARN, NULL, fixf(fix, sizeof(fix), "when "
		    "the aggregate reports show your own mail passing, set "
		    "p=quarantine and later p=reject in the record of %s",
		    d->record_domain), "p=none%s: receivers deliver mail that "
		    "fails DMARC, so forged mail from %s is not stopped",
		    r->p_fallback ? " (p= missing or bad, read as none)" : "",
		    dom);
	if (d->sp_applies && r->sp != DMARC_POLICY_UNSET && r->sp < r->p)
		add(x, CD_DMARC, CD_WARN, NULL, "make sp= as strict as p=, or "
		    "publish a record for the subdomain", "sp=%s is weaker "
		    "than p=%s and applies to %s", dmarc_policy_str(r->sp),
		    dmarc_policy_str(r->p), dom);
	if (r->pct < 100)
		add(x, CD_DMARC, CD_WARN, NULL, "raise pct= to 100 (or remove "
		    "it) once the policy is right", "pct=%d: the policy is "
		    "applied to only part of the failing mail", r->pct);
	if (r->rua_valid == 0)
		add(x, CD_DMARC, CD_WARN, NULL, fixf(fix, sizeof(fix), "add "
		    "rua=mailto:dmarc-reports@%s to the record", dom), "no "
		    "rua=: you get no aggregate reports, so you cannot see "
		    "who sends as %s", dom);
	if (r->nignored > 0 || r->p_misplaced)
		add(x, CD_DMARC, CD_WARN, NULL, "correct the values named, as "
		    "RFC 7489 6.3 writes them", "%s%s", r->note,
		    r->p_misplaced ? (r->note[0] ? "; p= is not the second tag"
		    : "p= is not the second tag") : "");
	for (i = 0; i < r->nrua; i++)
		dmarc_dest(x, r, &r->rua[i], "rua");
	for (i = 0; i < r->nruf; i++)
		dmarc_dest(x, r, &r->ruf[i], "ruf");
}

static void
check_dmarc(struct ctx *x)
{
	struct dmarc_discovery d;
	const char *dom = x->cd->domain;
	char fix[CHECKDOM_TEXT_MAX], sp[96] = "";

	dmarc_discover(dom, dmarc_txt, x, DMARC_NO_WALK, &d);
	dns_answer_free(x->txt_ans);
	x->txt_ans = NULL;
	switch (d.status) {
	case DMARC_DISC_NONE:
		add(x, CD_DMARC, CD_FAIL, NULL, fixf(fix, sizeof(fix), "publish "
		    "TXT at _dmarc.%s: \"v=DMARC1; p=none; rua=mailto:"
		    "dmarc-reports@%s\", then raise p= as the reports allow",
		    dom, dom), "no DMARC record (for %s nor %s): receivers "
		    "apply no policy and send no reports", dom, d.org_domain);
		return;
	case DMARC_DISC_TEMPERROR:
		add(x, CD_DMARC, CD_WARN, NULL, "check the DNS servers of the "
		    "domain, then run the check again", "temperror: %s", d.why);
		return;
	case DMARC_DISC_PERMERROR:
		add(x, CD_DMARC, CD_FAIL, NULL, fixf(fix, sizeof(fix), "keep "
		    "one valid record at _dmarc.%s", d.record_domain[0] ?
		    d.record_domain : dom), "permerror: %s", d.why);
		return;
	case DMARC_DISC_RECORD:
		break;
	}
	if (d.sp_applies)
		snprintf(sp, sizeof(sp), " (the organizational domain's "
		    "record: sp=%s applies)", d.rec.sp != DMARC_POLICY_UNSET ?
		    dmarc_policy_str(d.rec.sp) : dmarc_policy_str(d.rec.p));
	add(x, CD_DMARC, CD_PASS, NULL, NULL, "\"%.240s\" at _dmarc.%s%s: "
	    "p=%s, adkim=%s, aspf=%s", d.rec.text, d.record_domain, sp,
	    dmarc_policy_str(d.rec.p), dmarc_align_str(d.rec.adkim),
	    dmarc_align_str(d.rec.aspf));
	dmarc_policy_items(x, &d);
}

/* ---- MX and STARTTLS ------------------------------------------------ */

struct mxhost {
	char	name[DNS_NAME_MAX + 1];
	int	pref;
	char	addr[CHECKDOM_ADDRS_MAX][NETADDR_STR_MAX];
	int	naddr;
};

static void
mx_addresses(struct ctx *x, struct mxhost *m)
{
	static const enum dns_type types[2] = { DNS_T_A, DNS_T_AAAA };
	struct dns_answer *a;
	struct netaddr na;
	int t, i;

	for (t = 0; t < 2; t++) {
		a = dns_query_sync(x->dns, m->name, types[t]);
		for (i = 0; a->status == DNS_OK && i < a->nrr &&
		    m->naddr < CHECKDOM_ADDRS_MAX; i++) {
			memset(&na, 0, sizeof(na));
			na.family = types[t] == DNS_T_A ? AF_INET : AF_INET6;
			if (a->rr[i].len != (na.family == AF_INET ? 4u : 16u))
				continue;
			memcpy(na.a, a->rr[i].data, a->rr[i].len);
			netaddr_format(&na, m->addr[m->naddr++], NETADDR_STR_MAX);
		}
		dns_answer_free(a);
	}
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct mxhost *x = a, *y = b;

	return x->pref - y->pref;
}

/* The MX hosts by preference; -1 when there are none to probe. */
static int
mx_hosts(struct ctx *x, struct mxhost *mx, int *nmx)
{
	struct dns_answer *a = dns_query_sync(x->dns, x->cd->domain,
	    DNS_T_MX);
	const char *dom = x->cd->domain;
	char fix[CHECKDOM_TEXT_MAX];
	int i;

	*nmx = 0;
	if (a->status == DNS_TEMPFAIL)
		add(x, CD_MX, CD_WARN, NULL, "check the DNS servers of the "
		    "domain, then run the check again", "the MX lookup failed "
		    "for now (DNS error)");
	else if (a->status != DNS_OK)
		add(x, CD_MX, CD_WARN, NULL, fixf(fix, sizeof(fix), "publish "
		    "an MX record for %s naming the host that receives its "
		    "mail", dom), "no MX record: replies and bounces to %s "
		    "go to its A record, if any", dom);
	else if (a->nrr == 1 && (a->rr[0].len == 0 ||
	    strcmp((const char *)a->rr[0].data, ".") == 0))
		add(x, CD_MX, CD_PASS, NULL, NULL, "null MX (RFC 7505): %s "
		    "receives no mail", dom);
	for (i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		if (a->rr[i].len == 0 || *nmx == CHECKDOM_MX_MAX)
			continue;
		snprintf(mx[*nmx].name, sizeof(mx[0].name), "%s",
		    (const char *)a->rr[i].data);
		mx[*nmx].pref = a->rr[i].pref;
		mx[*nmx].naddr = 0;
		(*nmx)++;
	}
	if (a->status == DNS_OK && a->nrr > CHECKDOM_MX_MAX)
		add(x, CD_MX, CD_WARN, NULL, "fewer MX hosts are easier to keep "
		    "right", "%d MX hosts: the %d most preferred are checked",
		    a->nrr, CHECKDOM_MX_MAX);
	dns_answer_free(a);
	qsort(mx, (size_t)*nmx, sizeof(mx[0]), mx_cmp);
	return *nmx > 0 ? 0 : -1;
}

static void
starttls_item(struct ctx *x, const struct mxhost *m,
    const struct smtpprobe_result *p)
{
	char fix[CHECKDOM_TEXT_MAX];
	const char *mx = m->name;

	if (!p->connected || !p->ehlo_ok)
		add(x, CD_STARTTLS, CD_FAIL, mx, "make sure the host answers "
		    "SMTP on port 25 from the internet", "%s [%s]: %s", mx,
		    m->addr[0], p->error[0] ? p->error : "no SMTP session");
	else if (!p->starttls_offered)
		add(x, CD_STARTTLS, CD_FAIL, mx, "enable STARTTLS with a "
		    "certificate (Postfix: smtpd_tls_security_level = may, "
		    "smtpd_tls_chain_files)", "no STARTTLS offered: mail to "
		    "%s crosses the internet unencrypted", mx);
	else if (!p->tls_ok)
		add(x, CD_STARTTLS, CD_FAIL, mx, "check the TLS settings and "
		    "certificate files of the server", "STARTTLS offered "
		    "but the handshake failed: %s", p->error);
	else if (p->expired)
		add(x, CD_STARTTLS, CD_FAIL, mx, fixf(fix, sizeof(fix), "renew "
		    "the certificate of %s", mx), "%s %s: the certificate "
		    "has expired", p->tls_version, p->tls_cipher);
	else if (!p->chain_ok)
		add(x, CD_STARTTLS, CD_WARN, mx, "install a certificate from a "
		    "public CA with its intermediate certificates (Postfix: "
		    "smtpd_tls_chain_files)", "%s %s: the certificate chain "
		    "is not trusted (%s); senders that require TLS (MTA-STS) "
		    "refuse it", p->tls_version, p->tls_cipher, p->chain_error);
	else if (!p->name_ok)
		add(x, CD_STARTTLS, CD_WARN, mx, fixf(fix, sizeof(fix), "get a "
		    "certificate that names %s", mx), "%s: the certificate "
		    "names %s, not %s", p->tls_version, p->names[0] ?
		    p->names : p->subject_cn, mx);
	else if (strcmp(p->tls_version, "TLSv1.2") != 0 &&
	    strcmp(p->tls_version, "TLSv1.3") != 0)
		add(x, CD_STARTTLS, CD_WARN, mx, "allow TLS 1.2 and 1.3 on the "
		    "server", "%s negotiated: older than TLS 1.2",
		    p->tls_version);
	else
		add(x, CD_STARTTLS, CD_PASS, mx, NULL, "%s %s, certificate "
		    "trusted and valid for %s", p->tls_version, p->tls_cipher,
		    mx);
}

static void
check_mx(struct ctx *x)
{
	struct mxhost mx[CHECKDOM_MX_MAX];
	struct smtpprobe_target t[CHECKDOM_MX_MAX];
	struct smtpprobe_result p[CHECKDOM_MX_MAX];
	int who[CHECKDOM_MX_MAX];
	char fix[CHECKDOM_TEXT_MAX], addrs[200];
	int i, k, nmx, nt = 0;
	size_t n;

	if (mx_hosts(x, mx, &nmx) != 0)
		return;
	for (i = 0; i < nmx; i++) {
		mx_addresses(x, &mx[i]);
		if (mx[i].naddr == 0) {
			add(x, CD_MX, CD_FAIL, mx[i].name, fixf(fix, sizeof(fix),
			    "add an A or AAAA record for %s, or remove it from "
			    "the MX records", mx[i].name), "preference %d: no "
			    "address (A or AAAA)", mx[i].pref);
			continue;
		}
		for (k = 0, n = 0, addrs[0] = '\0'; k < mx[i].naddr; k++)
			n += (size_t)snprintf(addrs + n, sizeof(addrs) - n,
			    "%s%s", k ? ", " : "", mx[i].addr[k]);
		add(x, CD_MX, CD_PASS, mx[i].name, NULL, "preference %d: %s",
		    mx[i].pref, addrs);
		t[nt].mx = mx[i].name;
		t[nt].addr = mx[i].addr[0];
		t[nt].port = x->o->smtp_port ? x->o->smtp_port : 25;
		who[nt++] = i;
	}
	if (nt == 0)
		return;
	smtpprobe_many(t, (size_t)nt, "relaytrust-check.invalid",
	    x->o->probe_ms ? x->o->probe_ms : CHECKDOM_PROBE_MS, p);
	for (i = 0; i < nt; i++)
		starttls_item(x, &mx[who[i]], &p[i]);
}

/* ---- MTA-STS and TLS-RPT -------------------------------------------- */

/* The records of name that start with version (RFC 8461 3.1 and RFC 8460
 * 3: "v=STSv1", "v=TLSRPTv1", then ";" or the end); the one found in
 * *rec (the caller's buffer). Returns their number, -1 on a temporary
 * DNS failure. */
static int
versioned_txt(struct ctx *x, const char *name, const char *version,
    char *rec, size_t reclen)
{
	struct dns_answer *a;
	size_t vl = strlen(version);
	int i, n = 0, temp;

	rec[0] = '\0';
	if ((a = txt_lookup(x, name, &temp)) == NULL)
		return temp ? -1 : 0;
	for (i = 0; i < a->nrr; i++) {
		const char *s = (const char *)a->rr[i].data;
		size_t k = vl;

		if (a->rr[i].len < vl || strncmp(s, version, vl) != 0)
			continue;
		while (k < a->rr[i].len && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k < a->rr[i].len && s[k] != ';')
			continue;
		n++;
		hdr_shown(s, a->rr[i].len, rec, reclen);
	}
	dns_answer_free(a);
	return n;
}

/* The value of tag in a "k=v; k=v" record (RFC 8461 3.1 grammar, also
 * RFC 8460's), into out; 0, or -1 when absent. */
static int
tag_value(const char *rec, const char *tag, char *out, size_t outlen)
{
	size_t tl = strlen(tag);
	const char *p = rec;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (strncmp(p, tag, tl) == 0 && p[tl] == '=') {
			size_t n = strcspn(p + tl + 1, ";");

			while (n > 0 && (p[tl + 1 + n - 1] == ' ' ||
			    p[tl + 1 + n - 1] == '\t'))
				n--;
			snprintf(out, outlen, "%.*s", (int)n, p + tl + 1);
			return 0;
		}
		p = strchr(p, ';');
	}
	return -1;
}

static int
sts_id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (n < 1 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]))
			return 0;
	return 1;
}

static void
check_mta_sts(struct ctx *x)
{
	char name[CD_NAME_MAX], rec[300], id[64], fix[CHECKDOM_TEXT_MAX];
	const char *dom = x->cd->domain;
	int n;

	snprintf(name, sizeof(name), "_mta-sts.%s", dom);
	n = versioned_txt(x, name, "v=STSv1", rec, sizeof(rec));
	if (n < 0)
		add(x, CD_MTA_STS, CD_WARN, NULL, "run the check again", "the "
		    "lookup of %s failed for now", name);
	else if (n == 0)
		add(x, CD_MTA_STS, CD_WARN, NULL, fixf(fix, sizeof(fix),
		    "publish TXT \"v=STSv1; id=20240101\" at %s and the "
		    "policy at https://mta-sts.%s/.well-known/mta-sts.txt",
		    name, dom), "no MTA-STS record: senders cannot require "
		    "TLS to your MX hosts (RFC 8461)");
	else if (n > 1)
		add(x, CD_MTA_STS, CD_FAIL, NULL, fixf(fix, sizeof(fix), "keep "
		    "one v=STSv1 record at %s", name), "%d MTA-STS records at "
		    "%s: senders treat that as no policy (RFC 8461 3.1)", n,
		    name);
	else if (tag_value(rec, "id", id, sizeof(id)) != 0 || !sts_id_ok(id))
		add(x, CD_MTA_STS, CD_FAIL, NULL, "give the record an id= of 1 "
		    "to 32 letters and digits, changed with every policy",
		    "\"%s\": id= missing or not 1-32 letters and digits "
		    "(RFC 8461 3.1)", rec);
	else
		add(x, CD_MTA_STS, CD_PASS, NULL, NULL, "\"%s\" (the policy "
		    "file https://mta-sts.%s/.well-known/mta-sts.txt is not "
		    "fetched: out of scope of this check)", rec, dom);
}

static int
rpt_uris_ok(const char *rua)
{
	char buf[300], *p, *save;

	snprintf(buf, sizeof(buf), "%s", rua);
	if (buf[0] == '\0')
		return 0;
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "mailto:", 7) != 0 &&
		    strncasecmp(p, "https:", 6) != 0)
			return 0;
		if (strncasecmp(p, "mailto:", 7) == 0 && strchr(p, '@') == NULL)
			return 0;
	}
	return 1;
}

static void
check_tls_rpt(struct ctx *x)
{
	char name[CD_NAME_MAX], rec[300], rua[300], fix[CHECKDOM_TEXT_MAX];
	const char *dom = x->cd->domain;
	int n;

	snprintf(name, sizeof(name), "_smtp._tls.%s", dom);
	n = versioned_txt(x, name, "v=TLSRPTv1", rec, sizeof(rec));
	if (n < 0)
		add(x, CD_TLS_RPT, CD_WARN, NULL, "run the check again", "the "
		    "lookup of %s failed for now", name);
	else if (n == 0)
		add(x, CD_TLS_RPT, CD_WARN, NULL, fixf(fix, sizeof(fix),
		    "publish TXT \"v=TLSRPTv1; rua=mailto:tls-reports@%s\" at "
		    "%s", dom, name), "no TLS-RPT record: senders cannot tell "
		    "you when TLS to your MX hosts fails (RFC 8460)");
	else if (n > 1)
		add(x, CD_TLS_RPT, CD_FAIL, NULL, fixf(fix, sizeof(fix), "keep "
		    "one v=TLSRPTv1 record at %s", name), "%d TLS-RPT records "
		    "at %s: senders ignore them all (RFC 8460 3)", n, name);
	else if (tag_value(rec, "rua", rua, sizeof(rua)) != 0 ||
	    !rpt_uris_ok(rua))
		add(x, CD_TLS_RPT, CD_FAIL, NULL, fixf(fix, sizeof(fix), "write "
		    "rua=mailto:tls-reports@%s (or an https: URI)", dom),
		    "\"%s\": rua= missing or not mailto:/https: URIs (RFC "
		    "8460 3)", rec);
	else
		add(x, CD_TLS_RPT, CD_PASS, NULL, NULL, "\"%s\"", rec);
}

/* ---- running -------------------------------------------------------- */

/* A host name (RFC 1123 2.1): at most 253 bytes, two labels or more of 1
 * to 63 letters, digits and inner hyphens, the last not all digits. */
static int
host_name_ok(const char *d)
{
	size_t n = strlen(d), i, len = 0, labels = 0;
	int digits = 1;

	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (len == 0 || len > 63 || d[i - 1] == '-')
				return 0;
			labels++;
			if (i < n) {
				len = 0;
				digits = 1;
			}
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return 0;
		if (len == 0 && d[i] == '-')
			return 0;
		if (!isdigit((unsigned char)d[i]))
			digits = 0;
		len++;
	}
	return labels >= 2 && !digits;
}

int
checkdom_run(const struct checkdom_opts *o, struct checkdom *cd, char *err,
    size_t errlen)
{
	struct origin_opts oo;
	struct ctx x;
	int i;

	memset(cd, 0, sizeof(*cd));
	memset(&x, 0, sizeof(x));
	if (strlen(o->domain) > DNS_NAME_MAX + 1 ||
	    dmarc_domain_norm(o->domain, cd->domain, sizeof(cd->domain)) != 0 ||
	    !host_name_ok(cd->domain)) {
		snprintf(err, errlen, "not a domain name: \"%.80s%s\"",
		    o->domain, strlen(o->domain) > 80 ? "..." : "");
		return -1;
	}
	if (dmarc_org_domain(cd->domain, x.org_domain, sizeof(x.org_domain))
	    != 0)
		snprintf(x.org_domain, sizeof(x.org_domain), "%s", cd->domain);
	memset(&oo, 0, sizeof(oo));
	for (i = 0; i < o->nforward && i < DNS_FORWARD_MAX; i++)
		oo.forward[i] = o->forward[i];
	oo.nforward = i;
	oo.timeout = o->timeout;
	if ((x.org = origin_new(&oo, err, errlen)) == NULL)
		return -1;
	x.o = o;
	x.cd = cd;
	x.dns = origin_dns(x.org);
	for (i = 0; i < o->nips; i++)
		check_iprev(&x, o->ips[i]);
	check_spf(&x);
	check_dkim(&x);
	check_dmarc(&x);
	check_mx(&x);
	check_mta_sts(&x);
	check_tls_rpt(&x);
	origin_free(x.org);
	return 0;
}

void
checkdom_free(struct checkdom *cd)
{
	free(cd->c);
	cd->c = NULL;
	cd->n = cd->cap = 0;
}

/* ---- output --------------------------------------------------------- */

const char *
checkdom_item_str(enum checkdom_item i)
{
	static const char *const w[] = { "iprev", "spf", "dkim", "dmarc",
	    "mx", "starttls", "mta-sts", "tls-rpt" };

	return (size_t)i < sizeof(w) / sizeof(w[0]) ? w[i] : "?";
}

const char *
checkdom_status_str(enum checkdom_status s)
{
	return s == CD_FAIL ? "fail" : s == CD_WARN ? "warn" : "pass";
}

void
checkdom_text(const struct checkdom *cd, struct report_buf *b, int width)
{
	static const char *const word[] = { "PASS", "WARN", "FAIL" };
	char head[400];
	size_t i;
	int col;

	obuf_printf(b, "%s: %d fail, %d warn, %d pass\n", cd->domain,
	    cd->nfail, cd->nwarn, cd->npass);
	for (i = 0; i < cd->n; i++) {
		const struct checkdom_check *c = &cd->c[i];

		col = snprintf(head, sizeof(head), "%s  %-8s %s%s", word[c->status],
		    checkdom_item_str(c->item), c->target, c->target[0] ?
		    ": " : "");
		obuf_puts(b, head);
		report_wrap(b, c->detail, col, 6, width);
		if (c->fix[0] != '\0') {
			obuf_puts(b, "      fix: ");
			report_wrap(b, c->fix, 11, 11, width);
		}
	}
}

static void
json_str_or_null(struct report_buf *b, const char *s)
{
	if (s[0] == '\0')
		obuf_puts(b, "null");
	else
		report_json_str(b, s, strlen(s));
}

void
checkdom_json(const struct checkdom *cd, struct report_buf *b)
{
	size_t i;

	obuf_puts(b, "{\"domain\":");
	report_json_str(b, cd->domain, strlen(cd->domain));
	obuf_printf(b, ",\"fail\":%d,\"warn\":%d,\"pass\":%d,\"checks\":[",
	    cd->nfail, cd->nwarn, cd->npass);
	for (i = 0; i < cd->n; i++) {
		const struct checkdom_check *c = &cd->c[i];

		obuf_puts(b, i ? ",{\"item\":\"" : "{\"item\":\"");
		obuf_puts(b, checkdom_item_str(c->item));
		obuf_puts(b, "\",\"target\":");
		json_str_or_null(b, c->target);
		obuf_puts(b, ",\"status\":\"");
		obuf_puts(b, checkdom_status_str(c->status));
		obuf_puts(b, "\",\"detail\":");
		report_json_str(b, c->detail, strlen(c->detail));
		obuf_puts(b, ",\"fix\":");
		json_str_or_null(b, c->fix);
		obuf_putc(b, '}');
	}
	obuf_puts(b, "]}\n");
}
