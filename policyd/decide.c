/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	decide 3
 * SUMMARY
 *	turn check results into a Postfix action and headers
 * SYNOPSIS
 *	#include "policyd/decide.h"
 *
 *	void decide(const struct cfg *cfg, const struct decide_in *in,
 *		struct decision *out);
 *	char *decide_quote(const char *in, char *out, size_t outlen);
 *	char *decide_comment(const char *in, size_t max, char *out,
 *		size_t outlen);
 * DESCRIPTION
 *	decide() is a pure function of the results of one request and the
 *	configuration, so the whole action table of SPEC 2.3 is tested
 *	without sockets.
 *
 *	Each check result maps to a configured action word (accept, reject,
 *	defer, warn). Of the checks that want to reject, the first in the
 *	order SPF MAIL FROM, SPF HELO, iprev decides; a rejection always
 *	beats a deferral, because a deferred message would come back only to
 *	be rejected. Reject is "550 5.7.X text", defer is
 *	"DEFER_IF_PERMIT 4.7.X text" (RFC 7372 codes: 23 SPF fail, 24 SPF
 *	error, 25 reverse DNS). A temporary error is never answered with a
 *	5xx: on_temperror = reject is treated as defer.
 *
 *	Reverse DNS: ptr.on_missing acts on permerror (no PTR record at
 *	all), ptr.on_fail on fail (PTR names, none of which resolves back),
 *	ptr.on_temperror on temperror. With ptr.unless_spf_pass an SPF pass
 *	of MAIL FROM (for the null sender, of the HELO identity) disarms all
 *	three: the verdict ignores iprev, the header still shows it.
 *
 *	report_only and "warn" keep the would-be verdict in out->would and
 *	answer as accept. Under report_only the headers say what would have
 *	been done, as an RFC 8601 / RFC 5322 comment: after the result that
 *	asks for it ("iprev=fail policy.iprev=192.0.2.1 (would reject:
 *	5.7.25)"), or, when the header does not show that result, at its
 *	end with the check's name ("(would reject: 5.7.23 spf_helo)"). A
 *	comment may follow any pvalue (RFC 8601 2.2) and any value of
 *	Received-SPF (a dot-atom or quoted-string ends in [CFWS]); it is
 *	added only when it fits in DECIDE_HEADER_MAX.
 *
 *	A recipient in skip.recipients (postmaster@, abuse@ by default,
 *	RFC 5321 4.5.1) is never refused: a reject or defer becomes accept,
 *	out->would keeps it and out->exempt says why, and the header goes
 *	out as for any accept.
 *
 *	A trusted forwarder (in->forwarder) has its SPF MAIL FROM result
 *	in the header with a comment "(trusted forwarder ...: not
 *	enforced)", and that result asks for nothing: a forwarder sends
 *	mail in other domains' names by design. A client whose address is
 *	private, CGNAT, ULA or link-local (in->nat) is one Postfix sees
 *	through NAT or a container bridge, so its iprev and SPF results say
 *	nothing about the real sender: with private_clients = accept a
 *	reject or defer becomes accept (out->relaxed, out->would keeps
 *	it), and the Authentication-Results header ends with a comment
 *	saying so.
 *
 *	Headers follow RFC 8601 (Authentication-Results: iprev and spf) and
 *	RFC 7208 section 9.1 (Received-SPF). The HELO result appears in
 *	Authentication-Results only as smtp.helo, and only when there is no
 *	MAIL FROM result, so no DMARC verifier can mistake it for a MAIL
 *	FROM pass (CVE-2019-20790).
 * DIAGNOSTICS
 *	None: every input gives a well-formed action.
 * LIMITS
 *	Header lines are cut to DECIDE_HEADER_MAX bytes, reply texts to
 *	DECIDE_TEXT_MAX; text from the peer or from DNS is reduced to
 *	printable ASCII, escaped, and cut before it is used. An SPF outcome
 *	without its identity (the check did not finish before the deadline)
 *	is named after the request: the sender, postmaster@HELO for the null
 *	sender, the HELO name for the HELO check, "<>" when there is none.
 *--*/
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "shared/spf.h"
#include "policyd/decide.h"

#define PEER_TEXT_MAX	80	/* bytes of peer text in a reply or comment */
#define SKIP_TEXT_MAX	(DNS_NAME_MAX + 96)	/* a skip reason: ours, and a name */

const char *
iprev_result_str(enum iprev_result r)
{
	switch (r) {
	case IPREV_PASS:
		return "pass";
	case IPREV_FAIL:
		return "fail";
	case IPREV_PERMERROR:
		return "permerror";
	case IPREV_TEMPERROR:
		return "temperror";
	case IPREV_NOTCHECKED:
		break;
	}
	return "none";
}

const char *
decide_verdict_str(enum decide_verdict v)
{
	switch (v) {
	case DECIDE_REJECT:
		return "reject";
	case DECIDE_DEFER:
		return "defer";
	case DECIDE_ACCEPT:
		break;
	}
	return "accept";
}

/* RFC 5322 atext, without the dot. */
static int
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int
is_dot_atom(const char *s)
{
	int	prev_dot = 1;

	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
		} else if (is_atext((unsigned char)*s)) {
			prev_dot = 0;
		} else
			return 0;
	}
	return !prev_dot;
}

char   *
decide_quote(const char *in, char *out, size_t outlen)
{
	size_t	o = 0;

	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	if (is_dot_atom(in) && strlen(in) < outlen) {
		strcpy(out, in);
		return out;
	}
	out[o++] = '"';
	for (; *in && o + 3 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c > 0x7e)
			c = '?';
		if (c == '"' || c == '\\') {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
		}
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

char   *
decide_comment(const char *in, size_t max, char *out, size_t outlen)
{
	size_t	i, o = 0;

	if (outlen == 0)
		return out;
	for (i = 0; in[i] && i < max && o + 3 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c > 0x7e)
			c = '?';
		if (c == '(' || c == ')' || c == '\\')
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/* RFC 8601 pvalue: user@domain stays bare when the local part is a
 * dot-atom; anything else that is not a dot-atom is quoted. */
static char *
pvalue(const char *in, char *out, size_t outlen)
{
	const char *at = strrchr(in, '@');
	char	local[256];
	size_t	n;

	if (at && (n = (size_t)(at - in)) > 0 && n < sizeof(local) &&
	    strlen(in) < outlen) {
		memcpy(local, in, n);
		local[n] = '\0';
		if (is_dot_atom(local) && is_dot_atom(at + 1)) {
			strcpy(out, in);
			return out;
		}
	}
	return decide_quote(in, out, outlen);
}

/* Reply text: printable ASCII only, cut; never DNS text (callers pass
 * only names the peer gave us or addresses we formatted). */
static char *
reply_text(const char *in, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; in[i] && i < PEER_TEXT_MAX && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = (c < 0x21 || c > 0x7e) ? '?' : (char)c;
	}
	out[o] = '\0';
	return out;
}

/* One check's wish: what its result asks for under the configuration.
 * Its reply text is made only for the wish that is answered. */
struct wish {
	enum cfg_action act;
	const char *check;		/* log name */
	int	dsn;			/* 23, 24 or 25 */
	const struct spf_outcome *spf;	/* an SPF wish's outcome, or NULL */
	enum iprev_result iprev;	/* an iprev wish's result */
};

static enum cfg_action
spf_action(const struct cfg *cfg, enum spf_result r, int helo_identity)
{
	switch (r) {
	case SPF_RES_FAIL:
		return helo_identity ? cfg->spf.helo_on_fail : cfg->spf.on_fail;
	case SPF_RES_SOFTFAIL:
		return helo_identity ? CFG_ACCEPT : cfg->spf.on_softfail;
	case SPF_RES_NEUTRAL:
		return helo_identity ? CFG_ACCEPT : cfg->spf.on_neutral;
	case SPF_RES_NONE:
		return helo_identity ? CFG_ACCEPT : cfg->spf.on_none;
	case SPF_RES_PERMERROR:
		return helo_identity ? CFG_ACCEPT : cfg->spf.on_permerror;
	case SPF_RES_TEMPERROR:
		return helo_identity ? CFG_ACCEPT : cfg->spf.on_temperror;
	case SPF_RES_PASS:
		break;
	}
	return CFG_ACCEPT;
}

static void
spf_wish(const struct cfg *cfg, const struct spf_outcome *o, int helo_check,
    struct wish *w)
{
	w->check = helo_check ? "spf_helo" : "spf_mailfrom";
	w->act = spf_action(cfg, o->result, helo_check);
	w->dsn = o->result == SPF_RES_PERMERROR ||
	    o->result == SPF_RES_TEMPERROR ? 24 : 23;
	w->spf = o;
}

/* An SPF pass of MAIL FROM (for the null sender that is the HELO
 * identity, whichever check evaluated it). */
static int
spf_passed(const struct decide_in *in)
{
	const char *sender = in->req->sender != NULL ? in->req->sender : "";

	if (in->mailfrom != NULL)
		return in->mailfrom->result == SPF_RES_PASS;
	return sender[0] == '\0' && in->helo != NULL &&
	    in->helo->result == SPF_RES_PASS;
}

static void
iprev_wish(const struct cfg *cfg, const struct decide_in *in,
    struct wish *w)
{
	enum iprev_result r = in->iprev.result;

	w->check = "iprev";
	w->dsn = 25;
	w->spf = NULL;
	w->iprev = r;
	switch (r) {
	case IPREV_FAIL:
		w->act = cfg->ptr.on_fail;
		break;
	case IPREV_PERMERROR:
		w->act = cfg->ptr.on_missing;
		break;
	case IPREV_TEMPERROR:
		w->act = cfg->ptr.on_temperror;
		break;
	case IPREV_PASS:
	case IPREV_NOTCHECKED:
		w->act = CFG_ACCEPT;
		break;
	}
	if (cfg->ptr.unless_spf_pass && spf_passed(in))
		w->act = CFG_ACCEPT;
}

/* The reply text of an iprev result for client ip. */
static void
iprev_text(enum iprev_result r, const char *ip, char *out, size_t outlen)
{
	switch (r) {
	case IPREV_FAIL:
		snprintf(out, outlen, "Reverse DNS validation failed: no PTR "
		    "name of %s resolves back to it", ip);
		break;
	case IPREV_PERMERROR:
		snprintf(out, outlen, "Reverse DNS validation failed: %s has "
		    "no PTR record", ip);
		break;
	case IPREV_TEMPERROR:
		snprintf(out, outlen, "Reverse DNS validation error: temporary "
		    "DNS failure for %s, try again later", ip);
		break;
	case IPREV_PASS:
	case IPREV_NOTCHECKED:
		out[0] = '\0';
		break;
	}
}

/* The identity o is about, as text: o's own, or, when the check did
 * not get that far (the deadline), the one the request names. */
static const char *
spf_who(const struct decide_in *in, const struct spf_outcome *o, char *buf,
    size_t len)
{
	const char *helo = in->req->helo_name != NULL ? in->req->helo_name : "";
	const char *sender = in->req->sender != NULL ? in->req->sender : "";

	if (o->checked[0] != '\0')
		return o->checked;
	if (o == in->helo)
		snprintf(buf, len, "%s", helo);
	else if (sender[0] != '\0')
		snprintf(buf, len, "%s", sender);
	else if (helo[0] != '\0')
		snprintf(buf, len, "postmaster@%s", helo);
	else
		buf[0] = '\0';
	if (buf[0] == '\0')
		snprintf(buf, len, "<>");
	return buf;
}

/* The domain of o's identity who. */
static const char *
spf_domain(const struct spf_outcome *o, const char *who)
{
	const char *at = strrchr(who, '@');

	if (o->domain[0] != '\0')
		return o->domain;
	return at != NULL && at[1] != '\0' ? at + 1 : who;
}

/* The reply text of SPF outcome o for client ip. */
static void
spf_text(const struct decide_in *in, const struct spf_outcome *o,
    const char *ip, char *out, size_t outlen)
{
	char	who[PEER_TEXT_MAX + 1], dom[PEER_TEXT_MAX + 1];
	char	id[sizeof(o->checked) + 16];
	const char *w = spf_who(in, o, id, sizeof(id));

	reply_text(w, who, sizeof(who));
	reply_text(spf_domain(o, w), dom, sizeof(dom));
	switch (o->result) {
	case SPF_RES_FAIL:
	case SPF_RES_SOFTFAIL:
		snprintf(out, outlen, "SPF %s: %s%s does not designate %s as "
		    "permitted sender", spf_result_str(o->result),
		    o->identity == SPF_ID_HELO ? "HELO " : "", who, ip);
		break;
	case SPF_RES_NEUTRAL:
		snprintf(out, outlen, "SPF neutral: %s%s neither permits nor "
		    "denies %s; a pass is required",
		    o->identity == SPF_ID_HELO ? "HELO " : "", who, ip);
		break;
	case SPF_RES_NONE:
		snprintf(out, outlen, "SPF none: %s publishes no SPF record; a "
		    "pass is required", dom);
		break;
	case SPF_RES_PERMERROR:
		snprintf(out, outlen, "SPF permerror: the SPF record of %s is "
		    "invalid", dom);
		break;
	case SPF_RES_TEMPERROR:
		snprintf(out, outlen, "SPF temperror: temporary DNS failure "
		    "checking %s, try again later", who);
		break;
	case SPF_RES_PASS:
		out[0] = '\0';
		break;
	}
}

/* Append s at len when all of it fits; returns the new length. */
static size_t
put_whole(char *out, size_t outlen, size_t len, const char *s)
{
	size_t	n = strlen(s);

	if (len >= outlen || n >= outlen - len)
		return len;
	memcpy(out + len, s, n + 1);
	return len + n;
}

/* Under report_only: " (would reject: 5.7.25)", and the check's name
 * after the code when the comment is not next to that check's result. */
static void
would_comment(const struct wish *w, const struct decision *d, int named,
    char *out, size_t outlen)
{
	snprintf(out, outlen, " (would %s: %s%s%s)",
	    decide_verdict_str(d->would), d->code, named ? " " : "",
	    named ? w->check : "");
}

/* The Authentication-Results header (RFC 8601). report: the wish whose
 * would-be verdict a report_only comment shows, or NULL. */
static void
header_ar(const struct cfg *cfg, const struct decide_in *in, const char *ip,
    const struct wish *report, const struct decision *d, char *out,
    size_t outlen)
{
	char	q[400], c[SKIP_TEXT_MAX * 2 + 1], w[64];
	char	id[sizeof(in->mailfrom->checked) + 16];
	const struct spf_outcome *spf;
	size_t	len;
	int	placed = 0;

	len = (size_t)snprintf(out, outlen, "Authentication-Results: %s",
	    cfg->authserv_id);
	if (in->skip_reason) {
		snprintf(out + len, outlen - len, "; none (%s)",
		    decide_comment(in->skip_reason, SKIP_TEXT_MAX, c, sizeof(c)));
		return;
	}
	if (report != NULL)
		would_comment(report, d, 0, w, sizeof(w));
	if (in->iprev.result != IPREV_NOTCHECKED && len < outlen) {
		len += (size_t)snprintf(out + len, outlen - len, "; iprev=%s "
		    "policy.iprev=%s", iprev_result_str(in->iprev.result),
		    decide_quote(ip, q, sizeof(q)));
		if (in->iprev.name[0] && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len, " (%s)",
			    decide_comment(in->iprev.name, PEER_TEXT_MAX, c,
			    sizeof(c)));
		if (report != NULL && report->spf == NULL) {
			len = put_whole(out, outlen, len, w);
			placed = 1;
		}
	}
	/* The MAIL FROM result when there is one; the HELO result only
	 * otherwise, and then only as smtp.helo. */
	spf = in->mailfrom ? in->mailfrom : in->helo;
	if (spf && len < outlen) {
		if (spf->identity == SPF_ID_HELO)
			len += (size_t)snprintf(out + len, outlen - len,
			    "; spf=%s smtp.helo=%s", spf_result_str(spf->result),
			    decide_quote(in->req->helo_name, q, sizeof(q)));
		else
			len += (size_t)snprintf(out + len, outlen - len,
			    "; spf=%s smtp.mailfrom=%s",
			    spf_result_str(spf->result),
			    pvalue(spf_who(in, spf, id, sizeof(id)), q,
			    sizeof(q)));
		if (spf->problem[0] && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len, " (%s)",
			    decide_comment(spf->problem, PEER_TEXT_MAX, c,
			    sizeof(c)));
		if (in->forwarder && spf == in->mailfrom && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len,
			    " (trusted forwarder %s: not enforced)",
			    decide_comment(in->forwarder, PEER_TEXT_MAX, c,
			    sizeof(c)));
		if (report != NULL && report->spf == spf) {
			len = put_whole(out, outlen, len, w);
			placed = 1;
		}
	}
	if (in->iprev.result == IPREV_NOTCHECKED && spf == NULL && len < outlen)
		len += (size_t)snprintf(out + len, outlen - len, "; none");
	if (report != NULL && !placed) {
		would_comment(report, d, 1, w, sizeof(w));
		len = put_whole(out, outlen, len, w);
	}
	if (in->nat && len < outlen)
		snprintf(out + len, outlen - len, " (%s client address %s%s)",
		    decide_comment(in->nat, PEER_TEXT_MAX, c, sizeof(c)), ip,
		    cfg->private_clients == CFG_PRIVATE_ACCEPT ?
		    ": NAT or container? not enforced" : ": NAT or container?");
}

/* The Received-SPF comment (RFC 7208 9.1 conventions). */
static void
spf_comment(const struct decide_in *in, const struct spf_outcome *o,
    const char *ip, char *out, size_t outlen)
{
	char	who[PEER_TEXT_MAX * 2 + 1], id[sizeof(o->checked) + 16];

	decide_comment(spf_who(in, o, id, sizeof(id)), PEER_TEXT_MAX, who,
	    sizeof(who));
	switch (o->result) {
	case SPF_RES_PASS:
		snprintf(out, outlen, "domain of %s designates %s as permitted "
		    "sender", who, ip);
		break;
	case SPF_RES_FAIL:
		snprintf(out, outlen, "domain of %s does not designate %s as "
		    "permitted sender", who, ip);
		break;
	case SPF_RES_SOFTFAIL:
		snprintf(out, outlen, "transitioning domain of %s does not "
		    "designate %s as permitted sender", who, ip);
		break;
	case SPF_RES_NEUTRAL:
		snprintf(out, outlen, "%s is neither permitted nor denied by "
		    "domain of %s", ip, who);
		break;
	case SPF_RES_NONE:
		snprintf(out, outlen, "domain of %s does not provide an SPF "
		    "record", who);
		break;
	case SPF_RES_TEMPERROR:
		snprintf(out, outlen, "temporary error checking %s", who);
		break;
	case SPF_RES_PERMERROR:
		snprintf(out, outlen, "permanent error in the SPF record of %s",
		    who);
		break;
	}
}

/* The Received-SPF header (RFC 7208 9.1); report as for header_ar(). */
static void
header_received_spf(const struct cfg *cfg, const struct decide_in *in,
    const struct spf_outcome *o, const char *ip, const struct wish *report,
    const struct decision *d, char *out, size_t outlen)
{
	char	comment[400], qip[80], qfrom[400], qhelo[400], qrecv[300];
	char	qprob[SPF_TEXT_MAX + 4], ctl[400], w[64];
	size_t	len;

	spf_comment(in, o, ip, comment, sizeof(comment));
	decide_comment(cfg->authserv_id, 255, ctl, sizeof(ctl));
	len = (size_t)snprintf(out, outlen, "Received-SPF: %s (%s: %s) "
	    "client-ip=%s; envelope-from=", spf_result_str(o->result), ctl,
	    comment, decide_quote(ip, qip, sizeof(qip)));
	/* envelope-from is always a quoted-string, as OpenDMARC expects;
	 * "" for the null sender. */
	decide_quote(in->req->sender, qfrom, sizeof(qfrom) - 2);
	if (len < outlen)
		len += (size_t)snprintf(out + len, outlen - len,
		    qfrom[0] == '"' ? "%s" : "\"%s\"", qfrom);
	if (in->req->helo_name[0] && len < outlen)
		len += (size_t)snprintf(out + len, outlen - len, "; helo=%s",
		    decide_quote(in->req->helo_name, qhelo, sizeof(qhelo)));
	if (o->problem[0] && (o->result == SPF_RES_PERMERROR ||
	    o->result == SPF_RES_TEMPERROR) && len < outlen)
		len += (size_t)snprintf(out + len, outlen - len, "; problem=%s",
		    decide_quote(o->problem, qprob, sizeof(qprob)));
	if (len < outlen)
		len += (size_t)snprintf(out + len, outlen - len,
		    "; receiver=%s; identity=%s",
		    decide_quote(cfg->authserv_id, qrecv, sizeof(qrecv)),
		    spf_identity_str(o->identity));
	/* After the last value: a dot-atom may end in a comment. */
	if (report != NULL) {
		would_comment(report, d, report->spf != o, w, sizeof(w));
		put_whole(out, outlen, len, w);
	}
}

static void
headers(const struct cfg *cfg, const struct decide_in *in, const char *ip,
    const struct wish *report, struct decision *out)
{
	const struct spf_outcome *spf = in->mailfrom ? in->mailfrom : in->helo;
	int	want_ar, want_rs;

	want_ar = cfg->header == CFG_HDR_AR || cfg->header == CFG_HDR_BOTH;
	want_rs = cfg->header == CFG_HDR_RECEIVED_SPF ||
	    cfg->header == CFG_HDR_BOTH;
	if (want_ar) {
		header_ar(cfg, in, ip, report, out,
		    out->headers[out->nheaders], DECIDE_HEADER_MAX);
		out->nheaders++;
	}
	if (want_rs && spf && !in->skip_reason) {
		header_received_spf(cfg, in, spf, ip, report, out,
		    out->headers[out->nheaders], DECIDE_HEADER_MAX);
		out->nheaders++;
	}
}

/* The verdict of wish w. relax: a private client under private_clients
 * = accept; exempt: a recipient in skip.recipients. */
static void
answer(const struct cfg *cfg, const struct decide_in *in,
    const struct wish *w, const char *ip, int relax, int exempt,
    struct decision *out)
{
	enum cfg_action act = w->act;
	char	text[DECIDE_TEXT_MAX];

	out->check = w->check;
	out->would = act == CFG_REJECT ? DECIDE_REJECT :
	    act == CFG_DEFER ? DECIDE_DEFER : DECIDE_ACCEPT;
	snprintf(out->code, sizeof(out->code), "%d.7.%d",
	    out->would == DECIDE_REJECT ? 5 : 4, w->dsn);
	if (exempt)
		out->exempt = "recipient";
	if (cfg->report_only || exempt)
		return;
	if (relax) {
		out->relaxed = 1;
		return;
	}
	out->verdict = out->would;
	if (w->spf != NULL)
		spf_text(in, w->spf, ip, text, sizeof(text));
	else
		iprev_text(w->iprev, ip, text, sizeof(text));
	if (out->verdict == DECIDE_REJECT)
		snprintf(out->action, sizeof(out->action), "550 %s %s",
		    out->code, text);
	else
		snprintf(out->action, sizeof(out->action),
		    "DEFER_IF_PERMIT %s %s", out->code, text);
}

void
decide(const struct cfg *cfg, const struct decide_in *in, struct decision *out)
{
	struct wish wishes[3];
	const struct wish *report = NULL;
	int	nw = 0, i, pick = -1, relax, exempt = 0;
	char	ip[NETADDR_STR_MAX];

	/* Not the action and header arrays (5 KB): only what says they
	 * are empty. */
	memset(out, 0, offsetof(struct decision, action));
	out->action[0] = '\0';
	out->headers[0][0] = out->headers[1][0] = '\0';
	out->nheaders = 0;
	ip[0] = '\0';

	if (!in->skip_reason) {
		if (in->mailfrom) {
			spf_wish(cfg, in->mailfrom, 0, &wishes[nw]);
			if (in->forwarder)
				wishes[nw].act = CFG_ACCEPT;
			nw++;
		}
		/* For the null sender the MAIL FROM check already used the
		 * HELO identity; in->helo is then NULL. */
		if (in->helo)
			spf_wish(cfg, in->helo, 1, &wishes[nw++]);
		iprev_wish(cfg, in, &wishes[nw++]);
	}
	for (i = 0; i < nw; i++) {
		/* A problem of ours or of DNS is never a 5xx. */
		if (wishes[i].act == CFG_REJECT && (wishes[i].spf == NULL ?
		    wishes[i].iprev == IPREV_TEMPERROR :
		    wishes[i].spf->result == SPF_RES_TEMPERROR))
			wishes[i].act = CFG_DEFER;
		if (wishes[i].act == CFG_WARN && out->check == NULL) {
			out->check = wishes[i].check;
			snprintf(out->code, sizeof(out->code), "5.7.%d",
			    wishes[i].dsn);
		}
	}
	for (i = 0; i < nw && pick < 0; i++)
		if (wishes[i].act == CFG_REJECT)
			pick = i;
	for (i = 0; i < nw && pick < 0; i++)
		if (wishes[i].act == CFG_DEFER)
			pick = i;
	/* The address is text only where a reply or header shows it. */
	if (pick >= 0 || in->header_ok)
		netaddr_format(in->client, ip, sizeof(ip));
	relax = in->nat != NULL && cfg->private_clients == CFG_PRIVATE_ACCEPT;
	if (pick >= 0) {
		exempt = cfg_recipient_skipped(cfg, in->req->recipient);
		answer(cfg, in, &wishes[pick], ip, relax, exempt, out);
		/* What report_only hides, unless nothing would be refused
		 * anyway. */
		if (cfg->report_only && !relax && !exempt)
			report = &wishes[pick];
	}
	if (pick < 0 && out->check) {
		/* "warn": the would-be rejection, answered as accept. */
		out->would = DECIDE_REJECT;
	}
	if (out->verdict != DECIDE_ACCEPT)
		return;
	/* The headers go out with an accept where PREPEND is allowed;
	 * otherwise nobody reads them. */
	if (in->header_ok)
		headers(cfg, in, ip, report, out);
	if (in->header_ok && out->nheaders)
		snprintf(out->action, sizeof(out->action), "PREPEND %s",
		    out->headers[0]);
	else
		snprintf(out->action, sizeof(out->action), "DUNNO");
}
