/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	claims 3
 * SUMMARY
 *	receivers' Authentication-Results against our results
 * SYNOPSIS
 *	#include "verifier/claims.h"
 *
 *	void claims_check(struct chain *c, const struct hdr *h);
 * DESCRIPTION
 *	Every Authentication-Results and ARC-Authentication-Results field is
 *	parsed (authres, RFC 8601); each of its results is a claim. A claim
 *	is tied to the hop whose receiving host added it: the one whose
 *	Received field is just below it in the header (hosts prepend their
 *	Authentication-Results above or beside their own Received). It is
 *	trusted when that hop was written by a host inside the trust
 *	boundary (its trust is "trusted" or "boundary"); a claim below every
 *	Received field was written by the sender and is never trusted.
 *
 *	Each claim is compared with what we found now:
 *	dkim: our result for the signature of the same header.d (without
 *	it, of a d= that header.i's domain is or is under), and header.s
 *	when given ("none" when there is no such signature);
 *	spf and iprev: the origin's, evaluated now, when the claim was made
 *	by the host that received the MX-entry hop; dmarc: ours, for the
 *	same header.from; arc: ours, when no ARC set was added at or after
 *	the claim's hop. Other methods have nothing to compare (null).
 *
 *	Findings, for trusted claims only: a dkim=pass that we now find
 *	failing on a changed body or header is "dkim-broken-inside" (error:
 *	the message was altered after a host we trust verified it, and the
 *	signature's hop_intact/hop_broken move to that hop); any
 *	other pass against fail (or a passing signature that is gone) is
 *	"claim-contradicted" (warn). Results that differ only because a
 *	key or a lookup is no longer available are not findings; "agree"
 *	says false for them.
 * DIAGNOSTICS
 *	A field that does not parse is an info finding (claim-unparsed).
 * LIMITS
 *	CHAIN_CLAIMS_MAX claims per message (more are counted in
 *	nclaims_dropped); AUTHRES_* per field.
 *--*/
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "shared/spf.h"
#include "verifier/authres.h"
#include "verifier/claims.h"
#include "verifier/dkim.h"

static int
hop_trusted(const struct chain *c, int hop)
{
	return hop >= 1 && hop <= c->nhops &&
	    c->hops[hop - 1].trust != CHAIN_UNTRUSTED;
}

static int
same(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na && a[na - 1] == '.')
		na--;
	if (nb && b[nb - 1] == '.')
		nb--;
	return na == nb && strncasecmp(a, b, na) == 0;
}

/* a is d or a name under d. */
static int
same_or_under(const char *a, const char *d)
{
	size_t na = strlen(a), nd = strlen(d);

	if (na && a[na - 1] == '.')
		na--;
	if (nd && d[nd - 1] == '.')
		nd--;
	if (nd == 0 || na < nd)
		return 0;
	return strncasecmp(a + na - nd, d, nd) == 0 && (na == nd ||
	    a[na - nd - 1] == '.');
}

/* Our result for a dkim claim; *sig the signature compared (or NULL). */
static const char *
ours_dkim(const struct chain *c, const struct authres_resinfo *r,
    const struct dkim_result **sig)
{
	const char *d = authres_prop(r, "header.d");
	const char *sel = authres_prop(r, "header.s");
	const char *id = authres_prop(r, "header.i");
	const char *w = authres_result_str(r->result);
	int i;

	/* header.i (older receivers, RFC 8601 B.6): its domain is d= or
	 * under it (RFC 6376 3.5) */
	if (d == NULL && id != NULL && strrchr(id, '@') != NULL)
		id = strrchr(id, '@') + 1;
	else
		id = NULL;
	*sig = NULL;
	for (i = 0; i < c->dkim.n; i++) {
		const struct dkim_result *s = &c->dkim.sig[i];

		if ((d != NULL && !same(d, s->d)) ||
		    (id != NULL && !same_or_under(id, s->d)) ||
		    (sel != NULL && !same(sel, s->s)))
			continue;
		if (*sig == NULL || strcmp(auth_result_str(s->result), w) == 0)
			*sig = s;
	}
	return *sig ? auth_result_str((*sig)->result) : "none";
}

static const char *
ours_for(const struct chain *c, const struct authres *ar,
    const struct authres_resinfo *r, int hop,
    const struct dkim_result **sig)
{
	const char *v;
	int i;

	*sig = NULL;
	if (strcmp(r->method, "dkim") == 0)
		return ours_dkim(c, r, sig);
	if (strcmp(r->method, "spf") == 0 || strcmp(r->method, "iprev") == 0) {
		if (!c->evaluated || hop != c->boundary_hop || hop == 0)
			return NULL;
		if (r->method[0] == 's')
			return c->spf >= 0 ?
			    spf_result_str((enum spf_result)c->spf) : NULL;
		return c->iprev != CHAIN_IPREV_NOTCHECKED ?
		    chain_iprev_str(c->iprev) : NULL;
	}
	if (strcmp(r->method, "dmarc") == 0) {
		if (!c->dmarc.checked || c->dmarc.d.from_domain[0] == '\0')
			return NULL;
		v = authres_prop(r, "header.from");
		if (v != NULL && !same(v, c->dmarc.d.from_domain))
			return NULL;
		return dmarc_result_str(c->dmarc.ev.result);
	}
	if (strcmp(r->method, "arc") == 0 && !ar->arc) {
		for (i = 0; i < c->arc.nsets; i++)
			if (c->arc.sets[i].hop_added < 0 ||
			    c->arc.sets[i].hop_added >= hop)
				return NULL;
		return auth_result_str(c->arc.result);
	}
	return NULL;
}

static int
is_fail(const char *w)
{
	return strcmp(w, "fail") == 0 || strcmp(w, "hardfail") == 0;
}

static const char *
subject(const struct authres_resinfo *r)
{
	static const char *const props[] = {
		"header.d", "header.i", "smtp.mailfrom", "smtp.helo",
		"header.from", "policy.iprev", "smtp.remote-ip", NULL,
	};
	const char *v;
	int i;

	for (i = 0; props[i] != NULL; i++)
		if ((v = authres_prop(r, props[i])) != NULL)
			return v;
	return "";
}

/* A trusted receiver saw sig pass at hop: it broke after that hop. */
static void
narrow(struct chain *c, const struct dkim_result *sig, int hop)
{
	struct dkim_result *r = &c->dkim.sig[sig - c->dkim.sig];

	struct chain_finding *f;
	char t[CHAIN_TEXT_MAX];

	if (hop <= r->hop_intact)
		return;
	r->hop_intact = hop;
	r->hop_broken = hop < c->nhops ? hop + 1 : 0;
	if (r->hop_last != 0 && r->hop_last < r->hop_broken)
		r->hop_last = 0;
	if (r->finding < 0 || r->finding >= c->nf)
		return;
	/* its dkim-fail finding says where, as chain_auth() knew it */
	f = &c->f[r->finding];
	f->hop = r->hop_broken;
	if (r->hop_broken)
		snprintf(t, sizeof(t), "DKIM d=%.60s s=%.40s fails "
		    "(%s): a trusted receiver verified it after hop %d, so hop "
		    "%d or a later one broke it", r->d, r->s,
		    auth_reason_str(r->reason), hop, r->hop_broken);
	else
		snprintf(t, sizeof(t), "DKIM d=%.60s s=%.40s fails "
		    "(%s): a trusted receiver verified it at the last hop, so "
		    "it was changed after delivery", r->d, r->s,
		    auth_reason_str(r->reason));
	memcpy(f->text, t, sizeof(t));
}

static void
one_claim(struct chain *c, const struct authres *ar,
    const struct authres_resinfo *r, int hop)
{
	struct chain_claim *k;
	const struct dkim_result *sig;
	const char *ours, *w = r->result == AUTHRES_OTHER ? r->result_word :
	    authres_result_str(r->result);

	if (c->nclaims >= CHAIN_CLAIMS_MAX) {
		c->nclaims_dropped++;
		return;
	}
	k = &c->claims[c->nclaims++];
	k->hop = hop;
	k->trusted = hop_trusted(c, hop);
	k->arc = ar->arc ? ar->instance : 0;
	snprintf(k->authserv_id, sizeof(k->authserv_id), "%s",
	    ar->authserv_id);
	snprintf(k->method, sizeof(k->method), "%s", r->method);
	snprintf(k->result, sizeof(k->result), "%s", w);
	snprintf(k->subject, sizeof(k->subject), "%s", subject(r));
	ours = ours_for(c, ar, r, hop, &sig);
	k->ours = ours;
	k->agree = ours == NULL ? -1 : strcmp(ours, w) == 0 ||
	    (is_fail(ours) && is_fail(w));
	if (!k->trusted || k->agree != 0)
		return;
	if (sig != NULL && strcmp(w, "pass") == 0 &&
	    sig->result == AUTH_FAIL && (sig->reason == AUTH_REASON_BODY_HASH ||
	    sig->reason == AUTH_REASON_SIGNATURE)) {
		narrow(c, sig, hop);
		chain_add(c, hop, CHAIN_ERROR, "dkim-broken-inside", "%s "
		    "(trusted, hop %d) verified DKIM d=%s s=%s, which now fails "
		    "(%s): the message was altered after hop %d, inside the "
		    "trust boundary", k->authserv_id[0] ? k->authserv_id :
		    "a receiver", hop, sig->d, sig->s,
		    auth_reason_str(sig->reason), hop);
	}
	else if ((strcmp(w, "pass") == 0 && (is_fail(ours) ||
	    strcmp(ours, "none") == 0)) || (is_fail(w) &&
	    strcmp(ours, "pass") == 0))
		chain_add(c, hop, CHAIN_WARN, "claim-contradicted", "%s "
		    "(trusted, hop %d) says %s=%s%s%s, we find %s%s",
		    k->authserv_id[0] ? k->authserv_id : "a receiver", hop,
		    k->method, w, k->subject[0] ? " for " : "", k->subject,
		    ours, strcmp(k->method, "spf") == 0 ||
		    strcmp(k->method, "iprev") == 0 ? " (evaluated now)" : "");
}

static const char *
where(int hop, char *buf, size_t len)
{
	if (hop < 0)
		snprintf(buf, len, "older than the hops kept");
	else if (hop == 0)
		snprintf(buf, len, "written by the sender");
	else
		snprintf(buf, len, "added at hop %d", hop);
	return buf;
}

void
claims_check(struct chain *c, const struct hdr *h)
{
	static _Thread_local char buf[HDR_FIELD_MAX];
	struct authres ar;
	char err[160], whbuf[48];
	int i, j, above = 0, arc, hop;
	size_t n;

	c->nclaims = c->nclaims_dropped = 0;
	for (i = 0; i < h->nf; i++) {
		const struct hdr_field *f = &h->f[i];

		if (hdr_is(f, "Received")) {
			above++;
			continue;
		}
		if (hdr_is(f, "Authentication-Results"))
			arc = 0;
		else if (hdr_is(f, "ARC-Authentication-Results"))
			arc = 1;
		else
			continue;
		hop = c->nhops - above;
		if (above > c->nhops)
			hop = -1;		/* older than the hops kept */
		n = hdr_unfold(f->val, f->vallen, buf, sizeof(buf));
		if (authres_parse(buf, n, arc, &ar, err, sizeof(err)) != 0) {
			chain_add(c, hop > 0 ? hop : 0, CHAIN_INFO,
			    "claim-unparsed", "%s field %s cannot be parsed: %s",
			    arc ? "an ARC-Authentication-Results" :
			    "an Authentication-Results", where(hop, whbuf,
			    sizeof(whbuf)), err);
			authres_free(&ar);
			continue;
		}
		if (ar.truncated || ar.unparsed)
			chain_add(c, hop > 0 ? hop : 0, CHAIN_INFO,
			    "claim-unparsed", "%s field %s: %d results past "
			    "the first %d left out, %d parts not parsed%s%s",
			    arc ? "an ARC-Authentication-Results" :
			    "an Authentication-Results", where(hop, whbuf,
			    sizeof(whbuf)), ar.truncated, AUTHRES_RESULTS_MAX,
			    ar.unparsed, ar.unparsed ? ": " : "",
			    ar.unparsed_why);
		for (j = 0; j < ar.nres; j++)
			one_claim(c, &ar, &ar.res[j], hop);
		authres_free(&ar);
	}
}
