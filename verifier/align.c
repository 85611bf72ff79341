/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	align 3
 * SUMMARY
 *	DMARC of one message: From: domain, policy, alignment
 * SYNOPSIS
 *	#include "verifier/align.h"
 *
 *	void align_check(struct chain *c, const struct hdr *h,
 *		struct keys *k);
 *	int align_from_domains(const char *value,
 *		char dom[][DMARC_DOMAIN_MAX + 1], int max, int *ndom);
 * DESCRIPTION
 *	The RFC5322.From domain is taken from every From: field. RFC 7489
 *	6.6.1: a message with no From: address that has a domain cannot be
 *	authenticated (finding dmarc-no-from); one whose From: addresses
 *	have several domains is evaluated for each (up to
 *	CHAIN_FROM_DOMAINS_MAX) and the worst result is reported
 *	(finding from-domains).
 *
 *	Policy discovery is dmarc_discover() (RFC 7489 6.6.3, and the
 *	DMARCbis tree walk beside it) with the TXT records of keys_txt():
 *	the --keys file first, then DNS, each name asked once per run
 *	whatever the number of messages and threads. --offline without the
 *	record in the file is a temporary error ("not looked up").
 *
 *	Alignment: the d= of every DKIM signature that passed, and the SPF
 *	domain of the origin (the envelope sender the MX-entry hop recorded,
 *	else its HELO name) when its SPF, evaluated now, is pass.
 *	dmarc_evaluate() gives pass or fail when a record was used. Without
 *	a usable record (none, temperror, permerror) the relaxed alignment
 *	is still computed: an aligned pass proves the From domain (the
 *	verdict can be authenticated) though the DMARC result stays what
 *	discovery found. A fail is reported as temperror when an aligned
 *	identity could not be checked: a DKIM signature of an aligned d=
 *	whose key is not available, or an aligned SPF domain whose SPF was
 *	not evaluated or had a temporary error.
 *
 *	Findings: dmarc-fail (error when the policy is quarantine or
 *	reject: the verdict is forged; warn with p=none), dmarc-none,
 *	dmarc-temperror, dmarc-permerror (info), dmarcbis-differs (info,
 *	where the DMARCbis walk chooses another policy or organizational
 *	domain), dmarc-pct (info, pct below 100 on a pass or a fail).
 * DIAGNOSTICS
 *	Everything is a finding; nothing fails.
 * LIMITS
 *	CHAIN_FROM_DOMAINS_MAX From: domains; see dmarc.h for the record.
 *--*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "shared/spf.h"
#include "verifier/align.h"
#include "verifier/keys.h"

/* ------------------------------------------------------- From: domains */

static void
add_domain(const char *spec, size_t n, char dom[][DMARC_DOMAIN_MAX + 1],
    int max, int *ndom)
{
	const char *at = NULL;
	char d[DMARC_DOMAIN_MAX + 1];
	size_t i, k = 0;
	int j;

	for (i = 0; i < n; i++)
		if (spec[i] == '@')
			at = spec + i;
	if (at == NULL)
		return;
	for (at++; at < spec + n && k < sizeof(d) - 1; at++)
		d[k++] = (char)tolower((unsigned char)*at);
	if (at < spec + n || k == 0)
		return;			/* longer than a domain: not one */
	if (k > 1 && d[k - 1] == '.')
		k--;			/* the same domain (RFC 1034 3.1) */
	d[k] = '\0';
	for (j = 0; j < *ndom; j++)
		if (strcmp(dom[j], d) == 0)
			return;
	if (*ndom < max)
		memcpy(dom[(*ndom)++], d, k + 1);
}

int
align_from_domains(const char *value, char dom[][DMARC_DOMAIN_MAX + 1],
    int max, int *ndom)
{
	char spec[1024];
	size_t n = 0;
	int naddr = 0, quoted = 0, angle = 0, closed = 0, depth = 0;
	const char *p;

	*ndom = 0;
	for (p = value;; p++) {
		char ch = *p;

		if (ch != '\0' && quoted) {
			if (ch == '\\' && p[1] != '\0')
				p++;
			else if (ch == '"')
				quoted = 0;
			if (n < sizeof(spec) && !closed)
				spec[n++] = *p;
			continue;
		}
		if (ch != '\0' && depth > 0) {
			if (ch == '\\' && p[1] != '\0')
				p++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			continue;
		}
		if (ch == '\0' || (!angle && (ch == ',' || ch == ';'))) {
			if (n > 0) {
				naddr++;
				add_domain(spec, n, dom, max, ndom);
			}
			n = 0;
			angle = closed = 0;
			if (ch == '\0')
				break;
			continue;
		}
		switch (ch) {
		case '(':
			depth = 1;
			continue;
		case '"':
			quoted = 1;
			break;
		case '<':
			if (!closed) {
				angle = 1;
				n = 0;
			}
			continue;
		case '>':
			if (angle) {
				angle = 0;
				closed = 1;
			}
			continue;
		case ':':
			if (!angle && !closed) {
				n = 0;		/* a group's display name */
				continue;
			}
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			continue;
		}
		if (n < sizeof(spec) && !closed)
			spec[n++] = ch;
	}
	return naddr;
}

/* ------------------------------------------------------------- lookups */

struct lookup {
	struct keys *k;
	struct dmarc_txt txt[KEYS_RR_MAX];
	int	offline;		/* a name was not looked up: --offline */
};

static enum dmarc_dns
txt_fn(void *arg, const char *name, const struct dmarc_txt **txt, int *n)
{
	struct lookup *l = arg;
	const struct keys_entry *e = keys_txt(l->k, name);
	int i;

	switch (e->status) {
	case KEYS_FOUND:
		for (i = 0; i < e->ntxt; i++) {
			l->txt[i].s = e->txt[i];
			l->txt[i].len = e->txtlen[i];
		}
		*txt = l->txt;
		*n = e->ntxt;
		return DMARC_DNS_FOUND;
	case KEYS_NOTFOUND:
		return DMARC_DNS_NONE;
	case KEYS_OFFLINE:
		l->offline = 1;
		break;
	case KEYS_TEMPFAIL:
		break;
	}
	return DMARC_DNS_TEMPFAIL;
}

/* ---------------------------------------------------------- evaluation */

/* The SPF domain of the origin: the envelope sender's, else the HELO. */
static void
spf_domain(const struct chain *c, char *out, size_t outlen)
{
	const char *at;

	const char *src = c->origin_helo;
	size_t n;

	out[0] = '\0';
	if (c->has_origin_sender && c->origin_sender[0]) {
		if ((at = strrchr(c->origin_sender, '@')) == NULL)
			return;
		src = at + 1;
	}
	if ((n = strlen(src)) >= outlen)
		return;
	memcpy(out, src, n + 1);
}

/* An identity that would align could not be checked: fail is not sure. */
static const char *
unchecked_aligned(const struct chain *c, const struct dmarc_discovery *d,
    const char *spfdom)
{
	int i;
	int sd = d->status == DMARC_DISC_RECORD &&
	    d->rec.adkim == DMARC_ALIGN_STRICT;
	int ss = d->status == DMARC_DISC_RECORD &&
	    d->rec.aspf == DMARC_ALIGN_STRICT;

	for (i = 0; i < c->dkim.n; i++) {
		const struct dkim_result *r = &c->dkim.sig[i];

		if (r->result == AUTH_TEMPERROR &&
		    dmarc_aligned(r->d, d->from_domain, sd))
			return "a DKIM key of an aligned domain is not available";
	}
	if (spfdom[0] && dmarc_aligned(spfdom, d->from_domain, ss) &&
	    (!c->evaluated || c->spf < 0 || c->spf == SPF_RES_TEMPERROR))
		return "the SPF of an aligned envelope domain was not evaluated";
	return NULL;
}

/* One From domain: discovery, evaluation, the fail/temperror refinement,
 * and the relaxed alignment when no record decides. */
static void
one_domain(struct chain *c, struct keys *k, const char *from,
    struct chain_dmarc *out)
{
	struct lookup l = { k, { { NULL, 0 } }, 0 };
	const char *pass[AUTH_SIGS_MAX], *why;
	char sd[RECEIVED_NAME_MAX];
	int i, n = 0, spf_pass;

	out->checked = 1;
	out->spf_result[0] = out->note[0] = '\0';
	dmarc_discover(from, txt_fn, &l, 0, &out->d);
	if (l.offline && out->d.status == DMARC_DISC_TEMPERROR)
		snprintf(out->note, sizeof(out->note), "offline: the DMARC "
		    "record of %.180s was not looked up (not in --keys)",
		    out->d.from_domain);
	for (i = 0; i < c->dkim.n; i++)
		if (c->dkim.sig[i].result == AUTH_PASS)
			pass[n++] = c->dkim.sig[i].d;
	spf_domain(c, sd, sizeof(sd));
	spf_pass = c->evaluated && c->spf == SPF_RES_PASS;
	if (c->evaluated && c->spf >= 0)
		snprintf(out->spf_result, sizeof(out->spf_result), "%s",
		    spf_result_str((enum spf_result)c->spf));
	dmarc_evaluate(&out->d, pass, n, sd[0] ? sd : NULL, spf_pass,
	    &out->ev);
	if (out->d.status != DMARC_DISC_RECORD && out->d.from_domain[0]) {
		for (i = 0; i < n; i++)
			if (dmarc_aligned(pass[i], out->d.from_domain, 0)) {
				(void)dmarc_domain_norm(pass[i],
				    out->ev.dkim_aligned,
				    sizeof(out->ev.dkim_aligned));
				break;
			}
		if (spf_pass && out->ev.spf_domain[0] &&
		    dmarc_aligned(out->ev.spf_domain, out->d.from_domain, 0))
			memcpy(out->ev.spf_aligned, out->ev.spf_domain,
			    sizeof(out->ev.spf_aligned));
	}
	if (out->ev.result == DMARC_RESULT_FAIL &&
	    (why = unchecked_aligned(c, &out->d, sd)) != NULL) {
		out->ev.result = DMARC_RESULT_TEMPERROR;
		snprintf(out->note, sizeof(out->note), "no aligned pass, but "
		    "%s: fail cannot be concluded", why);
	}
}

/* Worse first: what a reader must see when From: has several domains. */
static int
rank(const struct chain_dmarc *d)
{
	switch (d->ev.result) {
	case DMARC_RESULT_FAIL:
		return 0;
	case DMARC_RESULT_TEMPERROR:
		return 1;
	case DMARC_RESULT_PERMERROR:
		return 2;
	case DMARC_RESULT_NONE:
		return d->ev.dkim_aligned[0] || d->ev.spf_aligned[0] ? 4 : 3;
	case DMARC_RESULT_PASS:
		break;
	}
	return 5;
}

/* A pass that strict alignment refused: say so, the reader would not
 * guess it. */
static void
strict_note(const struct chain *c, char *buf, size_t len)
{
	const struct dmarc_discovery *d = &c->dmarc.d;
	int i;

	buf[0] = '\0';
	if (d->status != DMARC_DISC_RECORD)
		return;
	for (i = 0; i < c->dkim.n && d->rec.adkim == DMARC_ALIGN_STRICT; i++)
		if (c->dkim.sig[i].result == AUTH_PASS &&
		    dmarc_aligned(c->dkim.sig[i].d, d->from_domain, 0)) {
			snprintf(buf, len, " (DKIM d=%.60s passed, but adkim=s "
			    "wants the From: domain itself)", c->dkim.sig[i].d);
			return;
		}
	if (d->rec.aspf == DMARC_ALIGN_STRICT && c->evaluated &&
	    c->spf == SPF_RES_PASS && c->dmarc.ev.spf_domain[0] &&
	    dmarc_aligned(c->dmarc.ev.spf_domain, d->from_domain, 0))
		snprintf(buf, len, " (SPF of %.60s passed, but aspf=s wants "
		    "the From: domain itself)", c->dmarc.ev.spf_domain);
}

static void
findings(struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;
	const struct dmarc_discovery *d = &m->d;
	const char *pol = dmarc_policy_str(m->ev.policy);
	const char *proof = m->ev.dkim_aligned[0] ? "an aligned DKIM "
	    "signature" : "the aligned SPF of the origin (evaluated now)";
	int proven = m->ev.dkim_aligned[0] || m->ev.spf_aligned[0];
	char why[CHAIN_TEXT_MAX];

	switch (m->ev.result) {
	case DMARC_RESULT_FAIL:
		strict_note(c, why, sizeof(why));
		chain_add(c, 0, m->ev.policy == DMARC_POLICY_QUARANTINE ||
		    m->ev.policy == DMARC_POLICY_REJECT ? CHAIN_ERROR :
		    CHAIN_WARN, "dmarc-fail", "From: domain %.100s is not "
		    "authenticated: no DKIM pass or SPF pass is aligned with "
		    "it%s, and %.100s publishes %s=%s", d->from_domain, why,
		    d->record_domain, d->sp_applies && d->rec.sp !=
		    DMARC_POLICY_UNSET ? "sp" : "p", pol ? pol : "none");
		break;
	case DMARC_RESULT_NONE:
		if (d->from_domain[0])
			chain_add(c, 0, CHAIN_INFO, "dmarc-none", "%s publishes "
			    "no DMARC record%s%s", d->from_domain, proven ?
			    "; the From: domain is proven by " : "",
			    proven ? proof : "");
		break;
	case DMARC_RESULT_TEMPERROR:
		chain_add(c, 0, CHAIN_INFO, "dmarc-temperror", "DMARC of %s "
		    "not concluded: %s%s%s", d->from_domain, m->note[0] ?
		    m->note : d->why, proven ? "; the From: domain is proven "
		    "by " : "", proven ? proof : "");
		break;
	case DMARC_RESULT_PERMERROR:
		chain_add(c, 0, CHAIN_INFO, "dmarc-permerror", "the DMARC "
		    "record of %s cannot be used: %s%s%s", d->from_domain,
		    d->why, proven ? "; the From: domain is proven by " : "",
		    proven ? proof : "");
		break;
	case DMARC_RESULT_PASS:
		break;
	}
	if ((m->ev.result == DMARC_RESULT_PASS || m->ev.result ==
	    DMARC_RESULT_FAIL) && m->ev.pct < 100)
		chain_add(c, 0, CHAIN_INFO, "dmarc-pct", "%s applies its "
		    "policy to %d%% of failing mail (pct=)", d->record_domain,
		    m->ev.pct);
	if (d->walk == DMARC_WALK_DONE && (d->walk_policy_differs ||
	    d->walk_org_differs))
		chain_add(c, 0, CHAIN_INFO, "dmarcbis-differs", "the DMARCbis "
		    "tree walk would use %s%s%s (RFC 7489: %s, organizational "
		    "domain %s)", d->walk_policy_domain[0] ?
		    d->walk_policy_domain : "no record", d->walk_org_differs ?
		    ", organizational domain " : "", d->walk_org_differs ?
		    d->walk_org_domain : "", d->record_domain[0] ?
		    d->record_domain : "no record", d->org_domain);
}

void
align_check(struct chain *c, const struct hdr *h, struct keys *k)
{
	static _Thread_local char buf[HDR_FIELD_MAX];
	char dom[CHAIN_FROM_DOMAINS_MAX][DMARC_DOMAIN_MAX + 1];
	struct chain_dmarc *one = NULL;
	int i, nd = 0, naddr = 0, all = 0;

	c->dmarc.checked = 1;
	c->dmarc.note[0] = c->dmarc.spf_result[0] = '\0';
	c->dmarc.d.status = DMARC_DISC_NONE;
	c->dmarc.d.from_domain[0] = c->dmarc.d.org_domain[0] = '\0';
	c->dmarc.d.record_domain[0] = c->dmarc.d.why[0] = '\0';
	c->dmarc.d.walk = DMARC_WALK_SKIPPED;
	memset(&c->dmarc.ev, 0, sizeof(c->dmarc.ev));
	for (i = 0; (i = hdr_find(h, "From", i)) >= 0; i++) {
		char more[CHAIN_FROM_DOMAINS_MAX][DMARC_DOMAIN_MAX + 1];
		int j, m, l;

		hdr_unfold(h->f[i].val, h->f[i].vallen, buf, sizeof(buf));
		naddr += align_from_domains(buf, more, CHAIN_FROM_DOMAINS_MAX,
		    &m);
		for (j = 0; j < m; j++) {
			for (l = 0; l < nd && strcmp(dom[l], more[j]); l++)
				;
			all += l == nd;
			if (l == nd && nd < CHAIN_FROM_DOMAINS_MAX)
				memcpy(dom[nd++], more[j], sizeof(dom[0]));
		}
	}
	c->dmarc.nfrom = naddr;
	if (nd == 0) {
		snprintf(c->dmarc.note, sizeof(c->dmarc.note), "no From: "
		    "address with a domain: DMARC cannot apply (RFC 7489 "
		    "6.6.1)");
		if (hdr_find(h, "From", 0) >= 0)
			chain_add(c, 0, CHAIN_WARN, "dmarc-no-from", "%s",
			    c->dmarc.note);
		return;
	}
	if (all > 1)
		chain_add(c, 0, CHAIN_WARN, "from-domains", "From: has "
		    "addresses in %d domains: each is evaluated, the worst "
		    "result is reported (RFC 7489 6.6.1)", all);
	one_domain(c, k, dom[0], &c->dmarc);
	for (i = 1; i < nd; i++) {
		if (one == NULL)
			one = xmalloc(sizeof(*one));
		one_domain(c, k, dom[i], one);
		if (rank(one) < rank(&c->dmarc))
			c->dmarc = *one;
	}
	free(one);
	c->dmarc.nfrom = naddr;
	findings(c);
}
