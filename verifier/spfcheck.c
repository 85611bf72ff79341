/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spfcheck 3
 * SUMMARY
 *	a domain's SPF record as receivers will judge it (--check-domain)
 * SYNOPSIS
 *	#include "verifier/spfcheck.h"
 *
 *	int spfcheck_domain(struct dns *sync, const char *domain,
 *		struct spfcheck *out);
 *	size_t spfcheck_udp_size(const char *qname,
 *		const struct dns_answer *a);
 * DESCRIPTION
 *	spfcheck_domain() walks the record of domain the way an evaluation
 *	for a client that matches nothing walks it (the worst case, and the
 *	one that decides whether the limits hold): terms left to right,
 *	each include: target's record in full where it stands, redirect=
 *	after the last mechanism and only when the record has no "all"
 *	(RFC 7208 6.1). It counts as our daemon's SPF pool (spfpool(3))
 *	counts, and findings say what a receiver will make of each problem.
 *
 *	Record selection (RFC 7208 4.5), as the pool: the TXT records of
 *	the name that start with "v=spf1" (spf_record_is_v1()); none is
 *	"none" at the domain and permerror at an include: or redirect=
 *	target (5.2, 6.1); two or more are permerror; one that
 *	spf_record_rewrite() refuses is permerror, and the first term
 *	that it refuses on its own is named. Terms are read with
 *	spf_term_next(), the rewriter's own tokenizer.
 *
 *	Lookups (4.6.4): include, a, mx, ptr, exists and redirect= count
 *	one each, through include: and redirect= at any depth; past
 *	SPFCHECK_LOOKUPS_MAX the evaluation is permerror. The walk goes on
 *	past the limit to tell how many the record needs.
 *	An mx term asks for the MX names (more than SPFCHECK_MXNAMES_MAX is
 *	permerror, 4.6.4) and the A and AAAA records of each; those address
 *	lookups are not terms. ptr is counted and not asked (there is no
 *	client address), with a warning (5.5: "do not use").
 *
 *	Void lookups (4.6.4): a term whose query answers NXDOMAIN or no
 *	record; more than SPFCHECK_VOIDS_MAX is permerror. Counted, as in
 *	the pool, for a, mx and exists terms; not for the address lookups
 *	of MX names. An a term looks up A for IPv4 clients and AAAA for
 *	IPv6 ones, so voids are counted per client family and the larger
 *	count is reported; exists always asks A (5.7).
 *
 *	Macros: a domain-spec with "%" can only be expanded for a sender
 *	and an address; the term counts one lookup and is not followed.
 *
 *	Loops: an include: or redirect= target already on the path from the
 *	domain to the current record is permerror (an evaluation would
 *	stop at the lookup limit; receivers see permerror either way).
 *
 *	all: the qualifier of the domain's record, or of its redirect=
 *	target when it has none. +all fails (everyone passes), ?all and no
 *	all at the end (4.7: neutral) warn; an include: target with +all
 *	fails too, since it passes every address for the includer.
 *
 *	Size: spfcheck_udp_size() computes the DNS response to the TXT
 *	query of the domain with every TXT record of the name, as a server
 *	would send it (owner names compressed). Over SPFCHECK_UDP_MAX bytes
 *	a receiver needs EDNS or TCP to read the record: a warning.
 *
 *	A temporary DNS error before any permerror ends the check with -1
 *	(an evaluation would give temperror); after a permerror the
 *	evaluation's result is already decided, and the check only stops
 *	counting, with a warning.
 * DIAGNOSTICS
 *	Every problem is a finding (severity, text, one-line fix) in *out;
 *	with permerror set, f[0] is the finding that explains it.
 * LIMITS
 *	SPFCHECK_QUERIES_MAX DNS queries per check (then a warning: the
 *	counts are lower bounds), SPFCHECK_DEPTH_MAX levels of include:
 *	and redirect=, SPFCHECK_FINDINGS_MAX findings of SPFCHECK_TEXT_MAX
 *	bytes. The response size leaves out a CNAME the name may have.
 *--*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "shared/dns.h"
#include "shared/mem.h"
#include "shared/spf.h"
#include "verifier/spfcheck.h"

#define TERM_SHOWN	80	/* bytes of a term quoted in a finding */
#define VOIDS_NAMED	3	/* void terms named in the fix */

enum target { T_TOP, T_INCLUDE, T_REDIRECT };

struct walk {
	struct dns *dns;
	struct spfcheck *out;
	char	path[SPFCHECK_DEPTH_MAX + 1][SPF_DOMAIN_MAX + 1];
	int	depth;			/* records open on the path */
	int	voids[2];		/* for IPv4, IPv6 clients */
	int	stopped;		/* nothing more is asked */
	int	temp;			/* temperror: spfcheck_domain() -1 */
	int	perm_f;			/* the finding of the first permerror */
	int	lookups_f, voids_f;	/* their findings, written at the end */
	char	worst[TERM_SHOWN + 1];	/* the domain's costliest term */
	enum spf_term_kind worst_kind;
	int	worst_n;
	char	voidterms[VOIDS_NAMED][TERM_SHOWN + 1];
	int	nvoidterms;
	struct spfcheck_finding dropped;	/* a finding with no room */
	char	scratch[SPF_REWRITE_MAX];
	char	one[SPF_RECORD_MAX + 8];
};

static void
vsay(char *buf, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vsay(char *buf, const char *fmt, va_list ap)
{
	vsnprintf(buf, SPFCHECK_TEXT_MAX, fmt, ap);
}

static void
say(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(char *buf, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsay(buf, fmt, ap);
	va_end(ap);
}

/* A slot for a finding of severity sev: a new one, else the last one
 * less severe (never the permerror's: it is a fail), else nowhere. */
static int
slot(struct walk *w, int sev, int force)
{
	struct spfcheck *o = w->out;
	int	i;

	if (o->nf < SPFCHECK_FINDINGS_MAX)
		return o->nf++;
	for (i = o->nf - 1; i >= 0; i--)
		if (o->f[i].severity < sev)
			return i;
	return force ? o->nf - 1 : -1;
}

static int
vadd(struct walk *w, int sev, int force, const char *fix, const char *fmt,
    va_list ap) __attribute__((format(printf, 5, 0)));

static int
vadd(struct walk *w, int sev, int force, const char *fix, const char *fmt,
    va_list ap)
{
	int	i = slot(w, sev, force);
	struct spfcheck_finding *f = i < 0 ? &w->dropped : &w->out->f[i];

	f->severity = sev;
	say(f->fix, "%s", fix);
	vsay(f->text, fmt, ap);
	return i;
}

static int
add(struct walk *w, int sev, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
add(struct walk *w, int sev, const char *fix, const char *fmt, ...)
{
	va_list	ap;
	int	i;

	va_start(ap, fmt);
	i = vadd(w, sev, 0, fix, fmt, ap);
	va_end(ap);
	return i;
}

/* A reason for permerror; the first one is the evaluation's. */
static int
perm(struct walk *w, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perm(struct walk *w, const char *fix, const char *fmt, ...)
{
	va_list	ap;
	int	i, first = !w->out->permerror;

	va_start(ap, fmt);
	i = vadd(w, SPFCHECK_FAIL, first, fix, fmt, ap);
	va_end(ap);
	if (first) {
		w->out->permerror = 1;
		w->perm_f = i;
		say(w->out->permerror_why, "%s", w->out->f[i].text);
	}
	return i;
}

/* The term as written, cut for a finding. */
static const char *
shown(const struct spf_term *t, char *buf)
{
	size_t	n = t->len < TERM_SHOWN ? t->len : TERM_SHOWN;

	memcpy(buf, t->text, n);
	buf[n] = '\0';
	return buf;
}

static int
is_void(const struct dns_answer *a)
{
	return a->status == DNS_NXDOMAIN || a->status == DNS_NODATA ||
	    a->status == DNS_PERMFAIL || (a->status == DNS_OK && a->nrr == 0);
}

/* A query within the budget; names that cannot be sent are NXDOMAIN
 * without a query, as in the pool (R9). NULL once the check stopped. */
static struct dns_answer *
ask(struct walk *w, const char *name, enum dns_type type)
{
	struct dns_answer *a;

	if (w->stopped)
		return NULL;
	if (!spf_name_ok(name)) {
		a = xcalloc(1, sizeof(*a));
		a->status = DNS_NXDOMAIN;
		return a;
	}
	if (w->out->queries >= SPFCHECK_QUERIES_MAX) {
		w->stopped = 1;
		add(w, SPFCHECK_WARN, "", "the check stopped after %d DNS "
		    "queries: the lookup counts are lower bounds",
		    SPFCHECK_QUERIES_MAX);
		return NULL;
	}
	w->out->queries++;
	return dns_query_sync(w->dns, name, type);
}

/* A temporary DNS error: temperror, unless a permerror came first. */
static void
tempfail(struct walk *w, const struct dns_answer *a, const char *name,
    enum dns_type type, const char *via)
{
	w->stopped = 1;
	if (w->out->permerror) {
		add(w, SPFCHECK_WARN, "", "DNS error looking up the %s record "
		    "of %.100s (%s): the lookup counts are lower bounds",
		    dns_type_str(type), name, via);
		return;
	}
	w->temp = 1;
	say(w->out->permerror_why, "DNS error looking up the %s record of "
	    "%.100s (%s)%s%.60s", dns_type_str(type), name, via,
	    a->why[0] ? ": " : "", a->why);
}

/* Whether name is a record open on the path (a loop). */
static int
on_path(const struct walk *w, const char *name)
{
	int	i;

	for (i = 0; i < w->depth; i++)
		if (strcasecmp(w->path[i], name) == 0)
			return 1;
	return 0;
}

/* The domain a term asks about, without a trailing dot: 1 when it has
 * macros (not followed), else 0. Over-long names become "" (not sent). */
static int
term_domain(const struct spf_term *t, const char *cur, char *buf)
{
	size_t	n;

	if (t->dom == NULL) {
		snprintf(buf, SPF_DOMAIN_MAX + 1, "%s", cur);
		return 0;
	}
	if (memchr(t->dom, '%', t->domlen) != NULL)
		return 1;
	n = t->domlen;
	if (n > 0 && t->dom[n - 1] == '.')
		n--;
	if (n > SPF_DOMAIN_MAX)
		n = 0;
	memcpy(buf, t->dom, n);
	buf[n] = '\0';
	return 0;
}

static void
lookup(struct walk *w)
{
	if (++w->out->lookups == SPFCHECK_LOOKUPS_MAX + 1)
		w->lookups_f = perm(w, "", "more than %d DNS lookups",
		    SPFCHECK_LOOKUPS_MAX);
}

static void
count_void(struct walk *w, int v4, int v6, const char *term)
{
	int	*v = w->voids;

	v[0] += v4;
	v[1] += v6;
	w->out->void_lookups = v[0] > v[1] ? v[0] : v[1];
	if (w->nvoidterms < VOIDS_NAMED)
		snprintf(w->voidterms[w->nvoidterms++], TERM_SHOWN + 1, "%s",
		    term);
	if (w->voids_f < 0 && w->out->void_lookups > SPFCHECK_VOIDS_MAX)
		w->voids_f = perm(w, "", "more than %d void lookups",
		    SPFCHECK_VOIDS_MAX);
}

/* Whether a void lookup gets its own finding: the first few do; the
 * permerror's fix names them, and more would crowd out the rest. */
static int
void_shown(const struct walk *w)
{
	return w->nvoidterms < VOIDS_NAMED;
}

static void
term_a(struct walk *w, const char *term, const char *name, const char *cur)
{
	struct dns_answer *a4, *a6 = NULL;
	char	fix[SPFCHECK_TEXT_MAX];
	int	v4, v6;

	if ((a4 = ask(w, name, DNS_T_A)) == NULL ||
	    (a6 = ask(w, name, DNS_T_AAAA)) == NULL)
		goto out;
	if (a4->status == DNS_TEMPFAIL || a6->status == DNS_TEMPFAIL) {
		tempfail(w, a4->status == DNS_TEMPFAIL ? a4 : a6, name,
		    a4->status == DNS_TEMPFAIL ? DNS_T_A : DNS_T_AAAA, term);
		goto out;
	}
	v4 = is_void(a4);
	v6 = is_void(a6);
	if (v4 && v6 && void_shown(w)) {
		say(fix, "remove %s from the SPF record of %.100s: %s",
		    term, cur, a4->status == DNS_NXDOMAIN ?
		    "the name does not exist" : "the name has no address");
		add(w, SPFCHECK_WARN, fix, "%s: %.100s has no address "
		    "(a void lookup)", term, name);
	} else if ((v4 ^ v6) && void_shown(w))
		add(w, SPFCHECK_INFO, "", "%s: %.100s has no %s address (a "
		    "void lookup for %s clients)", term, name, v4 ? "IPv4" :
		    "IPv6", v4 ? "IPv4" : "IPv6");
	if (v4 || v6)
		count_void(w, v4, v6, term);
out:
	dns_answer_free(a4);
	dns_answer_free(a6);
}

static void
term_exists(struct walk *w, const char *term, const char *name,
    const char *cur)
{
	struct dns_answer *a;
	char	fix[SPFCHECK_TEXT_MAX];

	if ((a = ask(w, name, DNS_T_A)) == NULL)
		return;
	if (a->status == DNS_TEMPFAIL)
		tempfail(w, a, name, DNS_T_A, term);
	else if (is_void(a)) {
		say(fix, "remove %s from the SPF record of %.100s unless the "
		    "name will exist", term, cur);
		if (void_shown(w))
			add(w, SPFCHECK_WARN, fix, "%s: %.100s has no IPv4 "
			    "address (a void lookup)", term, name);
		count_void(w, 1, 1, term);
	}
	dns_answer_free(a);
}

static void
term_mx(struct walk *w, const char *term, const char *name, const char *cur)
{
	struct dns_answer *mx, *a4 = NULL, *a6 = NULL;
	char	fix[SPFCHECK_TEXT_MAX];
	const char *host;
	int	i;

	if ((mx = ask(w, name, DNS_T_MX)) == NULL)
		return;
	if (mx->status == DNS_TEMPFAIL) {
		tempfail(w, mx, name, DNS_T_MX, term);
		goto out;
	}
	if (is_void(mx)) {
		say(fix, "remove %s from the SPF record of %.100s: %.100s has "
		    "no MX record", term, cur, name);
		if (void_shown(w))
			add(w, SPFCHECK_WARN, fix, "%s: %.100s has no MX "
			    "record (a void lookup)", term, name);
		count_void(w, 1, 1, term);
		goto out;
	}
	if (mx->nrr > SPFCHECK_MXNAMES_MAX) {
		say(fix, "replace %s in the SPF record of %.100s by the ip4:/"
		    "ip6: ranges of the servers that send mail", term, cur);
		perm(w, fix, "%s: %.100s has %d MX names, an mx term may look "
		    "up %d (RFC 7208 4.6.4)", term, name, mx->nrr,
		    SPFCHECK_MXNAMES_MAX);
		goto out;
	}
	for (i = 0; i < mx->nrr && !w->stopped; i++) {
		host = (const char *)mx->rr[i].data;
		if (host[0] == '\0')		/* null MX (RFC 7505) */
			continue;
		if ((a4 = ask(w, host, DNS_T_A)) == NULL ||
		    (a6 = ask(w, host, DNS_T_AAAA)) == NULL)
			break;
		if (a4->status == DNS_TEMPFAIL || a6->status == DNS_TEMPFAIL)
			tempfail(w, a4->status == DNS_TEMPFAIL ? a4 : a6,
			    host, a4->status == DNS_TEMPFAIL ? DNS_T_A :
			    DNS_T_AAAA, term);
		else if (is_void(a4) && is_void(a6)) {
			say(fix, "give the MX host %.100s an address, or "
			    "remove it from the MX records of %.100s", host,
			    name);
			add(w, SPFCHECK_WARN, fix, "%s: MX host %.100s has no "
			    "address", term, host);
		}
		dns_answer_free(a4);
		dns_answer_free(a6);
		a4 = a6 = NULL;
	}
out:
	dns_answer_free(a4);
	dns_answer_free(a6);
	dns_answer_free(mx);
}

static int walk_domain(struct walk *, const char *, enum target,
    const char *);

/* include: or redirect=: a loop, too deep, or the target's record. */
static int
follow(struct walk *w, const char *term, const char *name, enum target kind,
    const char *cur)
{
	char	fix[SPFCHECK_TEXT_MAX];

	char	loop[SPFCHECK_TEXT_MAX] = "";
	size_t	n = 0;
	int	i;

	if (on_path(w, name)) {
		for (i = 0; i < w->depth && n < sizeof(loop); i++)
			n += (size_t)snprintf(loop + n, sizeof(loop) - n,
			    "%s%s", i ? " > " : "", w->path[i]);
		say(fix, "remove %s from the SPF record of %.100s: it leads "
		    "back to %.100s", term, cur, name);
		perm(w, fix, "%s loop: %s > %.100s", kind == T_INCLUDE ?
		    "include" : "redirect", loop, name);
		return -1;
	}
	if (w->depth > SPFCHECK_DEPTH_MAX) {
		/* lookups are over the limit already: one per level */
		add(w, SPFCHECK_INFO, "", "%s: not followed deeper than %d "
		    "levels", term, SPFCHECK_DEPTH_MAX);
		return -1;
	}
	return walk_domain(w, name, kind, term);
}

/* One DNS-querying term of the record of cur, at the current depth. */
static void
dns_term(struct walk *w, const struct spf_term *t, const char *cur)
{
	char	buf[TERM_SHOWN + 1], name[SPF_DOMAIN_MAX + 2];
	char	fix[SPFCHECK_TEXT_MAX];
	const char *ts = shown(t, buf);
	int	before = w->out->lookups, r;

	lookup(w);
	if (t->kind == SPF_TERM_PTR) {
		say(fix, "replace %s in the SPF record of %.100s by ip4:/ip6: "
		    "ranges or a: terms of your servers", ts, cur);
		add(w, SPFCHECK_WARN, fix, "%s: do not use ptr (RFC 7208 5.5): "
		    "slow and unreliable, and some receivers skip it", ts);
		goto done;
	}
	if (term_domain(t, cur, name)) {
		add(w, SPFCHECK_INFO, "", "%s contains macros: counted as one "
		    "lookup, not followed", ts);
		goto done;
	}
	switch (t->kind) {
	case SPF_TERM_INCLUDE:
		r = follow(w, ts, name, T_INCLUDE, cur);
		if (r == '+') {
			say(fix, "remove %s from the SPF record of %.100s, or "
			    "have %.100s end with -all or ~all", ts, cur, name);
			add(w, SPFCHECK_FAIL, fix, "%s: the record of %.100s "
			    "ends in +all: every address passes", ts, name);
		}
		break;
	case SPF_TERM_A:
		term_a(w, ts, name, cur);
		break;
	case SPF_TERM_MX:
		term_mx(w, ts, name, cur);
		break;
	case SPF_TERM_EXISTS:
		term_exists(w, ts, name, cur);
		break;
	default:
		break;
	}
done:
	if (w->depth == 1 && w->out->lookups - before > w->worst_n) {
		w->worst_n = w->out->lookups - before;
		w->worst_kind = t->kind;
		snprintf(w->worst, sizeof(w->worst), "%s", ts);
	}
}

/* Name the first term the rewriter refuses on its own, if one is. */
static void
bad_term(struct walk *w, const char *rec, size_t len, char *buf)
{
	struct spf_term t;
	size_t	pos = 0;
	char	why[SPF_TEXT_MAX];

	buf[0] = '\0';
	while (spf_term_next(rec, len, &pos, &t)) {
		if (t.len > SPF_RECORD_MAX)
			break;
		memcpy(w->one, "v=spf1 ", 7);
		memcpy(w->one + 7, t.text, t.len);
		if (spf_record_rewrite(w->one, t.len + 7, AF_INET, w->scratch,
		    sizeof(w->scratch), why, sizeof(why)) < 0 ||
		    spf_record_rewrite(w->one, t.len + 7, AF_INET6, w->scratch,
		    sizeof(w->scratch), why, sizeof(why)) < 0) {
			shown(&t, buf);
			return;
		}
	}
}

static int
validate(struct walk *w, const char *dom, const struct dns_rr *rr)
{
	char	why[SPF_TEXT_MAX], term_[TERM_SHOWN + 1];
	char	fix[SPFCHECK_TEXT_MAX];
	const char *rec = (const char *)rr->data;

	if (rr->cut) {
		say(fix, "shorten the SPF record of %.100s", dom);
		perm(w, fix, "the SPF record of %.100s is longer than %d bytes",
		    dom, DNS_TXT_MAX);
		return -1;
	}
	if (spf_record_rewrite(rec, rr->len, AF_INET, w->scratch,
	    sizeof(w->scratch), why, sizeof(why)) == 0 &&
	    spf_record_rewrite(rec, rr->len, AF_INET6, w->scratch,
	    sizeof(w->scratch), why, sizeof(why)) == 0)
		return 0;
	bad_term(w, rec, rr->len, term_);
	if (term_[0] != '\0') {
		say(fix, "correct or remove \"%s\" in the SPF record of %.100s",
		    term_, dom);
		perm(w, fix, "the SPF record of %.100s is invalid: %s (\"%s\")",
		    dom, why, term_);
	} else {
		say(fix, "correct the SPF record of %.100s: %s", dom, why);
		perm(w, fix, "the SPF record of %.100s is invalid: %s", dom,
		    why);
	}
	return -1;
}

/* RFC 7208 4.5 over the TXT answer a of dom: the one v=spf1 record in
 * *rr, or -1 when there is none or several (a finding or a permerror
 * said why). The top domain's record and answer size go to the output. */
static int
pick_record(struct walk *w, const char *dom, enum target kind,
    const char *via, const struct dns_answer *a, const struct dns_rr **rr)
{
	struct spfcheck *o = w->out;
	char	fix[SPFCHECK_TEXT_MAX];
	size_t	udp = spfcheck_udp_size(dom, a);
	int	i, n = 0;

	*rr = NULL;
	for (i = 0; a->status == DNS_OK && i < a->nrr; i++)
		if (spf_record_is_v1((const char *)a->rr[i].data,
		    a->rr[i].len) && n++ == 0)
			*rr = &a->rr[i];
	if (kind == T_TOP) {
		o->nrecords = n;
		o->udp_size = udp;
		if (*rr != NULL)
			snprintf(o->record, sizeof(o->record), "%.*s",
			    (int)((*rr)->len < SPF_RECORD_MAX ? (*rr)->len :
			    SPF_RECORD_MAX), (const char *)(*rr)->data);
	}
	if (n == 0 && kind == T_TOP) {
		add(w, SPFCHECK_INFO, "", "no SPF record at %.100s: receivers "
		    "get none", dom);
		return -1;
	}
	if (n == 0) {
		say(fix, "remove %s from the SPF record of %.100s, or publish "
		    "an SPF record at %.100s", via, w->path[w->depth - 1], dom);
		perm(w, fix, "%s: no SPF record at %.100s (RFC 7208 %s)", via,
		    dom, kind == T_INCLUDE ? "5.2" : "6.1");
		return -1;
	}
	if (n > 1) {
		if (n == 2)
			say(fix, "remove one of the two SPF records of %.100s "
			    "(merge their terms into one)", dom);
		else
			say(fix, "keep one of the %d SPF records of %.100s "
			    "(merge their terms into one)", n, dom);
		perm(w, fix, "%.100s has %d SPF records (RFC 7208 4.5)", dom,
		    n);
		return -1;
	}
	if (udp > SPFCHECK_UDP_MAX) {
		say(fix, "shorten the SPF record of %.100s or remove other TXT "
		    "records of that name", dom);
		add(w, kind == T_TOP ? SPFCHECK_WARN : SPFCHECK_INFO, fix,
		    "the TXT response of %.100s is %zu bytes, over %d: "
		    "receivers need EDNS or TCP to read it", dom, udp,
		    SPFCHECK_UDP_MAX);
	}
	return validate(w, dom, *rr);
}

/* The terms of the record of cur, left to right: DNS-querying ones are
 * counted (and followed); redirect= is kept for the end. Returns the
 * qualifier of all ('+' for a bare one), 0 without all. */
static int
walk_terms(struct walk *w, const struct dns_rr *rr, const char *cur,
    struct spf_term *redirect)
{
	struct spf_term t;
	size_t	pos;
	int	all = 0;

	memset(redirect, 0, sizeof(*redirect));
	for (pos = 0; spf_term_next((const char *)rr->data, rr->len, &pos,
	    &t); ) {
		switch (t.kind) {
		case SPF_TERM_ALL:
			all = t.qual ? t.qual : '+';
			break;
		case SPF_TERM_REDIRECT:
			*redirect = t;
			break;
		case SPF_TERM_INCLUDE:
		case SPF_TERM_A:
		case SPF_TERM_MX:
		case SPF_TERM_PTR:
		case SPF_TERM_EXISTS:
			/* Past the query budget the terms of this record
			 * still count; after a temperror nothing does. */
			if (!w->stopped)
				dns_term(w, &t, cur);
			else if (!w->temp)
				lookup(w);
			break;
		default:
			break;
		}
	}
	return all;
}

/* redirect= of cur's record (RFC 7208 6.1: only without all). Returns
 * what the target's record ends with, as walk_domain(); 0 without
 * redirect=. */
static int
walk_redirect(struct walk *w, const struct spf_term *redirect, int all,
    const char *cur)
{
	struct spfcheck *o = w->out;
	char	buf[TERM_SHOWN + 1], name[SPF_DOMAIN_MAX + 2];
	int	before, r;

	if (redirect->text == NULL)
		return 0;
	if (all) {
		add(w, SPFCHECK_INFO, "", "%s is ignored: the record of %.100s "
		    "has all (RFC 7208 6.1)", shown(redirect, buf), cur);
		return -1;
	}
	if (w->stopped) {
		if (!w->temp)
			lookup(w);
		return -1;
	}
	shown(redirect, buf);
	before = o->lookups;
	lookup(w);
	if (term_domain(redirect, cur, name)) {
		add(w, SPFCHECK_INFO, "", "%s contains macros: counted as one "
		    "lookup, not followed", buf);
		r = -1;
	} else
		r = follow(w, buf, name, T_REDIRECT, cur);
	if (w->depth == 1 && o->lookups - before > w->worst_n) {
		w->worst_n = o->lookups - before;
		w->worst_kind = SPF_TERM_REDIRECT;
		snprintf(w->worst, sizeof(w->worst), "%s", buf);
	}
	return r;
}

/* The record of dom reached as kind (via the term that names it):
 * returns its all qualifier through redirect= ('+', '-', '~', '?'),
 * 0 for none, -1 when it could not be read or followed. */
static int
walk_domain(struct walk *w, const char *dom, enum target kind,
    const char *via)
{
	struct dns_answer *a;
	const struct dns_rr *rr;
	struct spf_term redirect;
	const char *cur;
	int	all, r;

	if ((a = ask(w, dom, DNS_T_TXT)) == NULL)
		return -1;
	if (a->status == DNS_TEMPFAIL) {
		tempfail(w, a, dom, DNS_T_TXT, via);
		dns_answer_free(a);
		return -1;
	}
	if (pick_record(w, dom, kind, via, a, &rr) < 0) {
		dns_answer_free(a);
		return -1;
	}
	snprintf(w->path[w->depth++], SPF_DOMAIN_MAX + 1, "%s", dom);
	cur = w->path[w->depth - 1];
	all = walk_terms(w, rr, cur, &redirect);
	r = walk_redirect(w, &redirect, all, cur);
	w->depth--;
	dns_answer_free(a);
	return all ? all : r;
}

size_t
spfcheck_udp_size(const char *qname, const struct dns_answer *a)
{
	size_t	n = strlen(qname), size;
	int	i;

	if (n > 0 && qname[n - 1] == '.')
		n--;
	/* header; QNAME (a length byte per label, the root's 0), QTYPE,
	 * QCLASS */
	size = 12 + (n == 0 ? 1 : n + 2) + 4;
	for (i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		if (a->rr[i].type != DNS_T_TXT)
			continue;
		/* pointer to the question's name, TYPE, CLASS, TTL,
		 * RDLENGTH, then a length byte per character-string */
		size += 2 + 2 + 2 + 4 + 2 + a->rr[i].len +
		    (size_t)a->rr[i].nstrings;
	}
	return size;
}

/* The permerror findings whose numbers were known only at the end. */
static void
finish_limits(struct walk *w)
{
	struct spfcheck *o = w->out;
	struct spfcheck_finding *f;
	char	how[SPFCHECK_TEXT_MAX], fam[24] = "";
	int	i;

	if (w->lookups_f >= 0) {
		f = &o->f[w->lookups_f];
		say(f->text, "the record needs %d DNS lookups, %d are allowed "
		    "(RFC 7208 4.6.4)", o->lookups, SPFCHECK_LOOKUPS_MAX);
		if (w->worst_n == 0)
			say(how, "%s", "remove terms that query DNS");
		else if (w->worst_kind == SPF_TERM_INCLUDE ||
		    w->worst_kind == SPF_TERM_REDIRECT)
			say(how, "replace %s (%d lookups) by the ip4:/ip6: "
			    "ranges it lists", w->worst, w->worst_n);
		else if (w->worst_kind == SPF_TERM_A ||
		    w->worst_kind == SPF_TERM_MX)
			say(how, "replace %s by the ip4:/ip6: addresses it "
			    "stands for", w->worst);
		else
			say(how, "remove %s", w->worst);
		say(f->fix, "the record needs %d DNS lookups, %d are allowed: "
		    "%s", o->lookups, SPFCHECK_LOOKUPS_MAX, how);
		if (w->lookups_f == w->perm_f)
			say(o->permerror_why, "%s", f->text);
	}
	if (w->voids_f >= 0) {
		f = &o->f[w->voids_f];
		if (w->voids[0] <= SPFCHECK_VOIDS_MAX)
			say(fam, " for IPv6 clients");
		else if (w->voids[1] <= SPFCHECK_VOIDS_MAX)
			say(fam, " for IPv4 clients");
		say(f->text, "%d void lookups%s, %d are allowed (RFC 7208 "
		    "4.6.4)", o->void_lookups, fam, SPFCHECK_VOIDS_MAX);
		how[0] = '\0';
		for (i = 0; i < w->nvoidterms; i++)
			snprintf(how + strlen(how), sizeof(how) - strlen(how),
			    "%s%s", i ? ", " : "", w->voidterms[i]);
		say(f->fix, "remove the terms whose names have no record: "
		    "%s%s", how, o->void_lookups > w->nvoidterms ? ", ..." :
		    "");
		if (w->voids_f == w->perm_f)
			say(o->permerror_why, "%s", f->text);
	}
	if (w->perm_f > 0) {		/* the permerror's finding first */
		struct spfcheck_finding p = o->f[w->perm_f];

		memmove(&o->f[1], &o->f[0], (size_t)w->perm_f * sizeof(p));
		o->f[0] = p;
	}
}

static void
judge_all(struct walk *w, const char *dom, int all)
{
	char	fix[SPFCHECK_TEXT_MAX];

	switch (all) {
	case '+':
		say(fix, "replace +all by -all or ~all in the SPF record of "
		    "%.100s", dom);
		add(w, SPFCHECK_FAIL, fix, "the record ends in +all: every "
		    "address on the Internet passes");
		break;
	case '?':
		say(fix, "replace ?all by ~all or -all in the SPF record of "
		    "%.100s", dom);
		add(w, SPFCHECK_WARN, fix, "the record ends in ?all: other "
		    "addresses get neutral, as if there were no record");
		break;
	case 0:
		say(fix, "end the SPF record of %.100s with -all or ~all", dom);
		add(w, SPFCHECK_WARN, fix, "the record has no all and no "
		    "redirect=: other addresses get neutral (RFC 7208 4.7)");
		break;
	default:
		break;
	}
}

int
spfcheck_domain(struct dns *sync, const char *domain, struct spfcheck *out)
{
	struct walk *w = xcalloc(1, sizeof(*w));
	char	dom[SPF_DOMAIN_MAX + 2];
	size_t	n = strlen(domain);
	int	all, rc;

	memset(out, 0, sizeof(*out));
	w->dns = sync;
	w->out = out;
	w->perm_f = w->lookups_f = w->voids_f = -1;
	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (!spf_domain_ok(domain) || n > SPF_DOMAIN_MAX) {
		add(w, SPFCHECK_INFO, "", "%.100s is not a domain name: no SPF "
		    "record", domain);
		free(w);
		return 0;
	}
	memcpy(dom, domain, n);
	dom[n] = '\0';
	all = walk_domain(w, dom, T_TOP, dom);
	out->all_qualifier = all > 0 ? all : 0;
	rc = w->temp ? -1 : 0;
	if (rc == 0 && out->nrecords == 1 && all >= 0)
		judge_all(w, dom, all);
	if (rc == 0 && out->nrecords == 1)
		add(w, SPFCHECK_INFO, "", "%d DNS lookups (limit %d), %d void "
		    "lookups (limit %d), %d DNS queries", out->lookups,
		    SPFCHECK_LOOKUPS_MAX, out->void_lookups, SPFCHECK_VOIDS_MAX,
		    out->queries);
	finish_limits(w);
	free(w);
	return rc;
}
