/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	dmarc 3
 * SUMMARY
 *	DMARC records, policy discovery, alignment and result (RFC 7489)
 * SYNOPSIS
 *	#include "verifier/dmarc.h"
 *
 *	int dmarc_is_record(const char *txt, size_t len);
 *	int dmarc_parse(const char *txt, size_t len,
 *		struct dmarc_record *out, char *err, size_t errlen);
 *	enum dmarc_sel dmarc_select(const struct dmarc_txt *txt, int n,
 *		int *idx);
 *	int dmarc_domain_norm(const char *domain, char *out, size_t outlen);
 *	int dmarc_org_domain(const char *domain, char *out, size_t outlen);
 *	int dmarc_aligned(const char *auth_domain, const char *from_domain,
 *		int strict);
 *	int dmarc_plan(const char *from, struct dmarc_plan *p);
 *	void dmarc_discover(const char *from, dmarc_txt_fn fn, void *arg,
 *		unsigned flags, struct dmarc_discovery *out);
 *	void dmarc_evaluate(const struct dmarc_discovery *d,
 *		const char *const *dkim_pass, int n, const char *spf_domain,
 *		int spf_pass, struct dmarc_eval *out);
 * DESCRIPTION
 *	Nothing here does I/O: DNS answers come from the caller's
 *	dmarc_txt_fn, the Public Suffix List from libpsl.
 *
 *	Records (RFC 7489 6.3, 6.4). A TXT record is a DMARC record when it
 *	starts with the tag v=DMARC1: "v" in either case, optional spaces
 *	or tabs around "=", the value exactly "DMARC1" (the ABNF spells it
 *	with %x codes), then ";" or the end. Anything else, leading white
 *	space included, is not a DMARC record (6.6.3 step 2). The rest is a
 *	tag list: names ALPHA *(ALPHA / DIGIT / "_") in either case, values
 *	up to the next ";", spaces and tabs around names, "=" and ";"
 *	ignored. A final ";" and empty tag-specs (";;") are skipped: they
 *	say nothing, and refusing a policy for a doubled ";" helps no one.
 *	Unknown tags are ignored (6.3), DMARCbis's np= and t= with them;
 *	psd= (y, n, u) is kept for the tree walk, an unknown value of it
 *	ignored.
 *
 *	The tag list is split by DKIM's parser (dkim_tags_parse_flags),
 *	as RFC 7489 6.4 borrows RFC 6376 3.2's syntax, with names compared
 *	without case, 8-bit bytes allowed in values and white space without
 *	line breaks (RFC 7489's ABNF has WSP, not FWS).
 *
 *	A record that cannot be read is a permerror: a tag without "=", a
 *	name that is not a name, a control byte in a value, the same tag
 *	twice (RFC 7489 does not say; DKIM's tag list, which DMARC
 *	borrows, forbids it, and a record that says two things cannot be
 *	read one way), more than DMARC_TAGS_MAX tags or DMARC_RECORD_MAX
 *	bytes. A bad value of another tag the RFC defines is dropped for
 *	the tag's default, as 6.3 asks ("syntax errors in the remainder of
 *	the record SHOULD be discarded in favor of default values"), and
 *	counted in nignored with a sentence in note: adkim= and aspf= (r
 *	or s), pct= (1 to 3 digits, 0..100), ri= (digits, at most
 *	2^32 - 1), fo= (0, 1, d, s joined by ":"), rf= (keywords joined by
 *	":"). Words are matched in either case (ABNF strings are).
 *
 *	p= (6.6.3 step 6): when p= is missing or not none, quarantine or
 *	reject, or sp= is present and not one of them, a record whose rua=
 *	has at least one valid URI is read as "v=DMARC1; p=none" (p none,
 *	sp unset; its other tags are kept) and p_fallback says so; without
 *	such a rua= the record is a permerror. p= need not be the second
 *	tag: RFC 7489's ABNF wants it there, DMARCbis's grammar does not;
 *	p_misplaced records it for --check-domain.
 *
 *	rua= and ruf= are URIs separated by "," with optional white space.
 *	Each is kept as written, with a "valid" mark: a scheme, ":", at
 *	least one URI character (with "," and "!" percent-encoded, as 6.4
 *	requires), and an optional "!" size (digits, then k, m, g or t).
 *	An invalid URI does not spoil the record: step 6 asks for "at least
 *	one syntactically valid" URI. Past DMARC_URIS_MAX the first ones are
 *	kept and rua_total / ruf_total count them all (6.2 lets receivers
 *	limit the URIs they send to; it must be at least two).
 *
 *	Selection (6.6.3 steps 2 and 5): among a name's TXT records, those
 *	not starting with v=DMARC1 are dropped. None left: no record. One:
 *	that record. More than one: the RFC says "DMARC processing is not
 *	applied"; that is reported as permerror, not none, because the
 *	domain did publish a policy, just an unreadable one (11.2's
 *	permerror is "a permanent error ... such as encountering a
 *	syntactically incorrect DMARC record"), the publisher's to fix.
 *	Several records at the From domain do not send discovery to the
 *	organizational domain: step 3 asks there only when the set is
 *	empty. The same holds for one record that cannot be parsed.
 *
 *	Organizational domain (3.2): the registrable domain of the Public
 *	Suffix List, with its ICANN and private rules both (libpsl's
 *	default; RFC 7489 names the list, not a section of it). The list is
 *	psl_latest(NULL), loaded once per process at first use: the newer
 *	of Debian's /usr/share/publicsuffix (package publicsuffix, updated
 *	apart from libpsl) and libpsl's built-in copy; psl_builtin() if that
 *	fails. A domain that is itself a public suffix (com, co.uk,
 *	blogspot.com) has no registrable domain and 3.2 step 4 has no
 *	"x+1th" label to add: such a domain is its own organizational
 *	domain, so co.uk aligns with co.uk only and a.co.uk never with
 *	b.co.uk. Domains are compared lower-cased (ASCII) with one final
 *	dot removed; internationalized names must come as A-labels
 *	("xn--"), as DNS has them; UTF-8 names are not domain names here.
 *
 *	Discovery (6.6.3): _dmarc.FROM; when it has no DMARC record and
 *	FROM is not its own organizational domain, _dmarc.ORG, whose sp=
 *	(or p= without sp=) then applies. A temporary DNS failure of either
 *	lookup is temperror (the RFC leaves DNS errors to the receiver; an
 *	unanswered lookup cannot tell "no policy" from a policy). A From
 *	domain that is not a domain name gives none (RFC 7489 11.2: "no
 *	aligned identifier could be extracted"), with the reason in why.
 *
 *	DMARCbis tree walk (draft-ietf-dmarc-dmarcbis-41, now RFC 9989:
 *	"DNS Tree Walk", "DMARC Policy Discovery", "Identifier Alignment
 *	Evaluation"), for the report only: _dmarc at FROM,
 *	then at FROM cut to min(labels - 1, 7) labels, then one label less
 *	each time down to the top-level domain: at most DMARC_WALK_MAX
 *	names. A name has a record when exactly one v=DMARC1 record is
 *	there and dmarc_parse() accepts it; several are discarded and the
 *	walk goes on. The walk stops at a record with psd=n or psd=y. The
 *	organizational domain is the name with psd=n; else the name one
 *	label below the one with psd=y (unless that is FROM's own record,
 *	which stops the walk but names no PSD); else the name with fewest
 *	labels that has a record; else FROM. The policy domain is FROM
 *	when it has a record, else the organizational domain when it has
 *	one, else the PSD (psd=y) when one was found, else none; a record
 *	between FROM and the organizational domain is not a policy. A
 *	temporary failure ends the walk without an answer. Flags say where
 *	its policy domain (against RFC 7489's record_domain, "" when no
 *	record applies) and organizational domain differ. Names already
 *	asked for RFC 7489 are not asked again.
 *
 *	Result (RFC 7489 3.1, 4.2): pass when any DKIM d= that passed, or
 *	the SPF domain when SPF passed, is aligned (adkim / aspf: strict,
 *	the same name; relaxed, the same organizational domain); fail when
 *	a record was found and neither is; none, temperror and permerror
 *	from discovery. The policy is sp= when the record is the
 *	organizational domain's and sp= is present, else p=. pct= is
 *	reported, not applied. The first aligned d= (in the caller's order)
 *	is reported; aligned identifiers are reported only when a record
 *	was used.
 * DIAGNOSTICS
 *	dmarc_parse() says why a record cannot be used ("tag p appears
 *	twice", "p=block is not none, quarantine or reject, and no valid
 *	rua= URI makes it p=none", "record too long (N bytes, at most
 *	2048)") and, in the record's note, what it read otherwise than
 *	written ("pct=101 is not 0..100"); peer text is cut short and
 *	non-printable bytes are shown as "?". dmarc_discover() puts the
 *	name and the reason in why.
 * LIMITS
 *	DMARC_RECORD_MAX bytes of record, DMARC_TAGS_MAX tags (beyond
 *	either: permerror); DMARC_URIS_MAX URIs kept per rua= and ruf=
 *	(beyond: the first are kept, the count says how many were listed);
 *	DMARC_DOMAIN_MAX bytes of domain name (longer: not a domain name);
 *	DMARC_NAME_MAX bytes of a "_dmarc." name (longer: not asked, no
 *	record); DMARC_WALK_MAX names in the tree walk.
 *--*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "shared/hdr.h"
#include "verifier/dkim.h"
#include "verifier/dmarc.h"

#define WSP(c)		((c) == ' ' || (c) == '\t')
#define ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || \
			 ((c) >= 'A' && (c) <= 'Z'))
#define DIGIT(c)	((c) >= '0' && (c) <= '9')
#define ALNUM(c)	(ALPHA(c) || DIGIT(c))
#define SHOWN_MAX	40	/* bytes of peer text in a message */

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void ignore(struct dmarc_record *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* A bad value dropped for its default (RFC 7489 6.3): said in r->note. */
static void
ignore(struct dmarc_record *r, const char *fmt, ...)
{
	size_t o = strlen(r->note);
	va_list ap;

	r->nignored++;
	if (o > 0 && o + 3 < sizeof(r->note)) {
		memcpy(r->note + o, "; ", 3);
		o += 2;
	}
	if (o + 1 >= sizeof(r->note))
		return;
	va_start(ap, fmt);
	vsnprintf(r->note + o, sizeof(r->note) - o, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- records */


int
dmarc_is_record(const char *t, size_t len)
{
	size_t i = 1;

	if (t == NULL || len < 1 || (t[0] != 'v' && t[0] != 'V'))
		return 0;
	while (i < len && WSP(t[i]))
		i++;
	if (i == len || t[i] != '=')
		return 0;
	i++;
	while (i < len && WSP(t[i]))
		i++;
	if (len - i < 6 || memcmp(t + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	while (i < len && WSP(t[i]))
		i++;
	return i == len || t[i] == ';';
}

static int
is(const struct dkim_tag *t, const char *name)
{
	return t->nlen == strlen(name) &&
	    strncasecmp(t->name, name, t->nlen) == 0;
}

static int
val_is(const struct dkim_tag *t, const char *word)
{
	return t->vlen == strlen(word) &&
	    strncasecmp(t->val, word, t->vlen) == 0;
}

static enum dmarc_policy
policy_word(const struct dkim_tag *t)
{
	if (val_is(t, "none"))
		return DMARC_POLICY_NONE;
	if (val_is(t, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (val_is(t, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

/* 1*n DIGIT no greater than max into *v; -1 otherwise. */
static int
number(const struct dkim_tag *t, size_t n, unsigned long max, unsigned long *v)
{
	size_t i;

	*v = 0;
	if (t->vlen < 1 || t->vlen > n)
		return -1;
	for (i = 0; i < t->vlen; i++) {
		if (!DIGIT(t->val[i]))
			return -1;
		*v = *v * 10 + (unsigned long)(t->val[i] - '0');
	}
	return *v <= max ? 0 : -1;
}

static int
uri_char(char c)
{
	return ALNUM(c) || (c != '\0' && strchr("-._~:/?#[]@$&'()*+=", c));
}

static int
hex(char c)
{
	return DIGIT(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] */
static int
uri_ok(const char *s, size_t n, struct dmarc_uri *u)
{
	size_t i = 0, start, d0;
	unsigned long long v = 0;
	int shift = 0;

	if (n == 0 || !ALPHA(s[0]))
		return 0;
	while (i < n && (ALNUM(s[i]) || s[i] == '+' || s[i] == '-' ||
	    s[i] == '.'))
		i++;
	if (i == n || s[i] != ':')
		return 0;
	start = ++i;
	while (i < n && s[i] != '!') {
		if (s[i] == '%') {
			if (i + 2 >= n || !hex(s[i + 1]) || !hex(s[i + 2]))
				return 0;
			i += 3;
		} else if (uri_char(s[i]))
			i++;
		else
			return 0;
	}
	if (i == start)
		return 0;
	if (i == n)
		return 1;
	d0 = ++i;
	for (; i < n && DIGIT(s[i]); i++) {
		if (v > (~0ULL - 9) / 10)
			return 0;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (i == d0)
		return 0;
	if (i < n) {
		switch (s[i] | 0x20) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		default: return 0;
		}
		i++;
	}
	if (i != n || v > (~0ULL >> shift))
		return 0;
	u->has_size = 1;
	u->max_size = v << shift;
	return 1;
}

/* rua=, ruf=: every URI counted and checked, the first kept. */
static void
uri_list(const char *base, const struct dkim_tag *t, struct dmarc_uri *u,
    int *kept, int *total, int *valid)
{
	const char *p = t->val, *e = t->val + t->vlen;

	*kept = *total = *valid = 0;
	if (p == e)
		return;
	for (;;) {
		const char *s = p, *q;
		struct dmarc_uri one;

		while (p < e && *p != ',')
			p++;
		q = p;
		while (s < q && WSP(*s))
			s++;
		while (q > s && WSP(q[-1]))
			q--;
		memset(&one, 0, sizeof(one));
		one.raw.off = (unsigned short)(s - base);
		one.raw.len = (unsigned short)(q - s);
		one.valid = uri_ok(s, (size_t)(q - s), &one);
		if (!one.valid)
			one.has_size = 0, one.max_size = 0;
		(*total)++;
		*valid += one.valid;
		if (*kept < DMARC_URIS_MAX)
			u[(*kept)++] = one;
		if (p == e)
			break;
		p++;			/* ',' */
	}
}

/* ITEM *(*WSP ":" *WSP ITEM); fo: ITEM one of 0 1 d s; rf: a keyword. */
static int
colon_list(const struct dkim_tag *t, int fo)
{
	const char *p = t->val, *e = t->val + t->vlen;

	for (;;) {
		while (p < e && WSP(*p))
			p++;
		if (p == e)
			return -1;
		if (fo) {
			if (!strchr("01dsDS", *p))
				return -1;
			p++;
		} else {
			if (!ALNUM(*p))
				return -1;
			while (p < e && (ALNUM(*p) || *p == '-'))
				p++;
		}
		while (p < e && WSP(*p))
			p++;
		if (p == e)
			return 0;
		if (*p++ != ':')
			return -1;
	}
}

int
dmarc_parse(const char *txt, size_t len, struct dmarc_record *out, char *err,
    size_t errlen)
{
	struct dkim_tags tl;
	const struct dkim_tag *t = tl.t, *p = NULL, *sp = NULL;
	char b[SHOWN_MAX + 8];
	unsigned long v;
	int n, k, pidx = 0;

	memset(out, 0, sizeof(*out));
	out->adkim = out->aspf = DMARC_ALIGN_RELAXED;
	out->pct = 100;
	out->ri = 86400;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (txt == NULL)
		txt = "", len = 0;
	out->len = len > DMARC_RECORD_MAX ? DMARC_RECORD_MAX : len;
	out->cut = len > DMARC_RECORD_MAX;
	memcpy(out->text, txt, out->len);
	out->text[out->len] = '\0';

	if (!dmarc_is_record(txt, len)) {
		seterr(err, errlen, "not a DMARC record (it does not start "
		    "with v=DMARC1)");
		return -1;
	}
	if (len > DMARC_RECORD_MAX) {
		seterr(err, errlen, "record too long (%zu bytes, at most %d)",
		    len, DMARC_RECORD_MAX);
		return -1;
	}
	/* RFC 7489 6.4: DKIM's tag-value syntax (RFC 6376 3.2) */
	if (dkim_tags_parse_flags(out->text, out->len, DKIM_TAGS_EMPTY |
	    DKIM_TAGS_NOCASE | DKIM_TAGS_8BIT | DKIM_TAGS_WSP, DMARC_TAGS_MAX,
	    &tl, err, errlen) != 0)
		return -1;
	n = tl.n;
	for (k = 1; k < n; k++) {
		const struct dkim_tag *g = &t[k];

		if (is(g, "p")) {
			p = g;
			pidx = k;
		} else if (is(g, "sp"))
			sp = g;
		else if (is(g, "adkim") || is(g, "aspf")) {
			enum dmarc_align *a = is(g, "adkim") ? &out->adkim :
			    &out->aspf;

			if (val_is(g, "s"))
				*a = DMARC_ALIGN_STRICT;
			else if (!val_is(g, "r"))
				ignore(out, "%.*s=%s is not r or s",
				    (int)g->nlen, g->name,
				    hdr_shown(g->val, g->vlen, b, sizeof(b)));
		} else if (is(g, "pct")) {
			if (number(g, 3, 100, &v) == 0)
				out->pct = (int)v;
			else
				ignore(out, "pct=%s is not 0..100",
				    hdr_shown(g->val, g->vlen, b, sizeof(b)));
		} else if (is(g, "ri")) {
			if (number(g, 10, 4294967295UL, &v) == 0)
				out->ri = v;
			else
				ignore(out, "ri=%s is not a number of seconds",
				    hdr_shown(g->val, g->vlen, b, sizeof(b)));
		} else if (is(g, "fo") || is(g, "rf")) {
			int fo = is(g, "fo");
			struct dmarc_span *span = fo ? &out->fo : &out->rf;

			if (colon_list(g, fo) == 0) {
				span->off = (unsigned short)(g->val -
				    out->text);
				span->len = (unsigned short)g->vlen;
			} else
				ignore(out, "%s=%s is not a list of %s",
				    fo ? "fo" : "rf",
				    hdr_shown(g->val, g->vlen, b, sizeof(b)),
				    fo ? "0, 1, d, s" : "keywords");
		} else if (is(g, "rua"))
			uri_list(out->text, g, out->rua, &out->nrua,
			    &out->rua_total, &out->rua_valid);
		else if (is(g, "ruf"))
			uri_list(out->text, g, out->ruf, &out->nruf,
			    &out->ruf_total, &out->ruf_valid);
		else if (is(g, "psd")) {
			if (val_is(g, "y"))
				out->psd = DMARC_PSD_Y;
			else if (val_is(g, "n"))
				out->psd = DMARC_PSD_N;
			else if (val_is(g, "u"))
				out->psd = DMARC_PSD_U;
		}
	}

	if (p != NULL)
		out->p = policy_word(p);
	out->p_misplaced = p != NULL && pidx != 1;
	if (sp != NULL)
		out->sp = policy_word(sp);
	if (out->p == DMARC_POLICY_UNSET ||
	    (sp != NULL && out->sp == DMARC_POLICY_UNSET)) {
		char what[SHOWN_MAX + 64];

		if (p == NULL)
			snprintf(what, sizeof(what), "p= is missing");
		else if (out->p == DMARC_POLICY_UNSET)
			snprintf(what, sizeof(what), "p=%s is not none, "
			    "quarantine or reject", hdr_shown(p->val, p->vlen, b,
			    sizeof(b)));
		else
			snprintf(what, sizeof(what), "sp=%s is not none, "
			    "quarantine or reject", hdr_shown(sp->val, sp->vlen,
			    b, sizeof(b)));
		if (out->rua_valid == 0) {
			seterr(err, errlen, "%s, and no valid rua= URI makes "
			    "it p=none", what);
			return -1;
		}
		out->p_fallback = 1;
		out->p = DMARC_POLICY_NONE;
		out->sp = DMARC_POLICY_UNSET;
		ignore(out, "%s: read as p=none (rua= is valid, RFC 7489 "
		    "6.6.3)", what);
		out->nignored--;	/* p_fallback says it */
	}
	return 0;
}

const char *
dmarc_span_str(const struct dmarc_record *r, struct dmarc_span s, char *buf,
    size_t buflen)
{
	size_t n = s.len;

	if (buflen == 0)
		return "";
	if ((size_t)s.off + n > r->len)
		n = s.off < r->len ? r->len - s.off : 0;
	if (n > buflen - 1)
		n = buflen - 1;
	memcpy(buf, r->text + (s.off < r->len ? s.off : 0), n);
	buf[n] = '\0';
	return buf;
}

enum dmarc_sel
dmarc_select(const struct dmarc_txt *txt, int n, int *idx)
{
	int i, first = -1, count = 0;

	for (i = 0; txt != NULL && i < n; i++)
		if (dmarc_is_record(txt[i].s, txt[i].len) && count++ == 0)
			first = i;
	if (idx != NULL)
		*idx = count == 1 ? first : -1;
	return count == 0 ? DMARC_SEL_NONE : count == 1 ? DMARC_SEL_ONE :
	    DMARC_SEL_MANY;
}

/* ------------------------------------------------------------- domains */

int
dmarc_domain_norm(const char *d, char *out, size_t outlen)
{
	size_t n, i, lab = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (d == NULL)
		return -1;
	n = strnlen(d, DMARC_DOMAIN_MAX + 2);
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > DMARC_DOMAIN_MAX || n >= outlen)
		return -1;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else if (ALNUM(c) || c == '-' || c == '_') {
			if (++lab > 63)
				return -1;
		} else
			return -1;
	}
	if (lab == 0)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)(d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i]);
	out[n] = '\0';
	return 0;
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;	/* read-only once loaded; kept until exit */

static void
psl_init(void)
{
	psl_ctx_t *l = psl_latest(NULL);

	psl = l != NULL ? l : psl_builtin();
}

/* The last ORG_MEMO_MAX answers of this thread: a mailbox asks about the
 * same few domains again and again, and each answer is a PSL search. */
#define ORG_MEMO_MAX	16

struct org_memo {
	char	domain[DMARC_DOMAIN_MAX + 1];	/* normalized; "" unused */
	char	org[DMARC_DOMAIN_MAX + 1];
	int	rc;
};

int
dmarc_org_domain(const char *domain, char *out, size_t outlen)
{
	static _Thread_local struct org_memo memo[ORG_MEMO_MAX];
	static _Thread_local unsigned next;
	char norm[DMARC_DOMAIN_MAX + 1];
	struct org_memo *m;
	const char *r;
	int i, rc = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (dmarc_domain_norm(domain, norm, sizeof(norm)) != 0)
		return -1;
	for (i = 0; i < ORG_MEMO_MAX; i++)
		if (strcmp(memo[i].domain, norm) == 0) {
			m = &memo[i];
			goto found;
		}
	pthread_once(&psl_once, psl_init);
	if (psl == NULL)
		return -1;
	if ((r = psl_registrable_domain(psl, norm)) == NULL) {
		r = norm;
		rc = 1;
	}
	m = &memo[next++ % ORG_MEMO_MAX];
	memcpy(m->domain, norm, sizeof(norm));
	snprintf(m->org, sizeof(m->org), "%s", r);
	m->rc = rc;
found:
	if (strlen(m->org) >= outlen)
		return -1;
	memcpy(out, m->org, strlen(m->org) + 1);
	return m->rc;
}

int
dmarc_aligned(const char *auth, const char *from, int strict)
{
	char a[DMARC_DOMAIN_MAX + 1], f[DMARC_DOMAIN_MAX + 1];

	if (strict) {
		if (dmarc_domain_norm(auth, a, sizeof(a)) != 0 ||
		    dmarc_domain_norm(from, f, sizeof(f)) != 0)
			return 0;
	} else if (dmarc_org_domain(auth, a, sizeof(a)) < 0 ||
	    dmarc_org_domain(from, f, sizeof(f)) < 0)
		return 0;
	return strcmp(a, f) == 0;
}

static int
labels(const char *d)
{
	int n = 1;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* The last k labels of d (k <= labels(d)). */
static const char *
last_labels(const char *d, int k)
{
	const char *p = d + strlen(d);

	while (p > d) {
		if (p[-1] == '.' && --k == 0)
			break;
		p--;
	}
	return p;
}

static void
dmarc_name(const char *domain, char *out)
{
	size_t n = strlen(domain);

	if (n + 7 > DMARC_NAME_MAX) {
		out[0] = '\0';
		return;
	}
	memcpy(out, "_dmarc.", 7);
	memcpy(out + 7, domain, n + 1);
}

int
dmarc_plan(const char *from, struct dmarc_plan *p)
{
	int rc, k;

	memset(p, 0, sizeof(*p));
	if ((rc = dmarc_org_domain(from, p->org, sizeof(p->org))) < 0)
		return -1;
	(void)dmarc_domain_norm(from, p->from, sizeof(p->from));
	p->from_is_suffix = rc == 1;
	dmarc_name(p->from, p->name[0]);
	p->nnames = 1;
	if (strcmp(p->from, p->org) != 0)
		dmarc_name(p->org, p->name[p->nnames++]);
	memcpy(p->walk[0], p->from, sizeof(p->from));
	p->nwalk = 1;
	k = labels(p->from) - 1;
	if (k > DMARC_WALK_MAX - 1)
		k = DMARC_WALK_MAX - 1;
	for (; k >= 1; k--)
		strcpy(p->walk[p->nwalk++], last_labels(p->from, k));
	return 0;
}

/* ----------------------------------------------------------- discovery */

/* What one name's lookup said; each name is asked once. */
struct memo {
	const char *domain;
	enum dmarc_dns st;
	enum dmarc_sel sel;
	int	parsed;			/* the one record is usable */
	enum dmarc_psd psd;
};

struct disc {
	dmarc_txt_fn fn;
	void	*arg;
	struct memo m[DMARC_WALK_MAX + 2];
	int	n;
};

/* Ask for domain's records, unless asked before. When exactly one DMARC
 * record came, it is parsed into rec (a scratch one when rec is NULL;
 * only the first ask of a name can fill rec), a failure into err. */
static const struct memo *
ask(struct disc *c, const char *domain, struct dmarc_record *rec, char *err,
    size_t errlen, int *asked)
{
	static const struct memo full = { "", DMARC_DNS_TEMPFAIL,
	    DMARC_SEL_NONE, 0, DMARC_PSD_ABSENT };
	char name[DMARC_NAME_MAX + 1];
	const struct dmarc_txt *txt = NULL;
	struct dmarc_record scratch;
	struct memo *m;
	int i, n = 0, idx;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->m[i].domain, domain) == 0)
			return &c->m[i];
	if (c->n == (int)(sizeof(c->m) / sizeof(c->m[0])))
		return &full;	/* not reached: 2 + DMARC_WALK_MAX */
	m = &c->m[c->n++];
	memset(m, 0, sizeof(*m));
	m->domain = domain;
	m->st = DMARC_DNS_NONE;
	dmarc_name(domain, name);
	if (name[0] == '\0')
		return m;		/* too long to exist */
	if (c->fn == NULL) {
		m->st = DMARC_DNS_TEMPFAIL;	/* no resolver: no answer */
		return m;
	}
	(*asked)++;
	switch (c->fn(c->arg, name, &txt, &n)) {
	case DMARC_DNS_FOUND:
		m->st = DMARC_DNS_FOUND;
		break;
	case DMARC_DNS_NONE:
		return m;
	default:
		m->st = DMARC_DNS_TEMPFAIL;
		return m;
	}
	m->sel = dmarc_select(txt, n, &idx);
	if (m->sel == DMARC_SEL_ONE) {
		if (rec == NULL)
			rec = &scratch;
		m->parsed = dmarc_parse(txt[idx].s, txt[idx].len, rec, err,
		    errlen) == 0;
		m->psd = m->parsed ? rec->psd : DMARC_PSD_ABSENT;
	}
	return m;
}

static void setwhy(struct dmarc_discovery *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
setwhy(struct dmarc_discovery *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
}

/* RFC 7489 6.6.3 on one name's answer; 0 when it had no DMARC record. */
static int
decide(struct dmarc_discovery *d, const struct memo *m, const char *domain,
    const char *err)
{
	if (m->st == DMARC_DNS_TEMPFAIL) {
		d->status = DMARC_DISC_TEMPERROR;
		setwhy(d, "_dmarc.%s: temporary DNS failure", domain);
		return 1;
	}
	if (m->sel == DMARC_SEL_NONE)
		return 0;
	strcpy(d->record_domain, domain);
	if (m->sel == DMARC_SEL_MANY) {
		d->status = DMARC_DISC_PERMERROR;
		setwhy(d, "_dmarc.%s: more than one DMARC record", domain);
	} else if (!m->parsed) {
		d->status = DMARC_DISC_PERMERROR;
		setwhy(d, "_dmarc.%s: %s", domain, err);
	} else
		d->status = DMARC_DISC_RECORD;
	return 1;
}

static void
walk(struct disc *c, const struct dmarc_plan *p, struct dmarc_discovery *d)
{
	const char *org = NULL, *top = NULL, *psd = NULL, *policy = "";
	int has[DMARC_WALK_MAX] = { 0 };
	int i;

	for (i = 0; i < p->nwalk && org == NULL; i++) {
		const struct memo *m = ask(c, p->walk[i], NULL, NULL, 0,
		    &d->walk_lookups);

		if (m->st == DMARC_DNS_TEMPFAIL) {
			d->walk = DMARC_WALK_TEMPERROR;
			return;
		}
		if (m->sel != DMARC_SEL_ONE || !m->parsed)
			continue;	/* none, discarded, or not valid */
		has[i] = 1;
		top = p->walk[i];
		if (m->psd == DMARC_PSD_N)
			org = p->walk[i];
		else if (m->psd == DMARC_PSD_Y) {
			if (i == 0)
				break;	/* the start's psd=y: not a PSD */
			psd = p->walk[i];
			org = last_labels(p->from, labels(psd) + 1);
		}
	}
	if (org == NULL)
		org = top != NULL ? top : p->from;
	if (has[0])
		policy = p->from;
	else {
		for (i = 1; i < p->nwalk; i++)
			if (has[i] && strcmp(p->walk[i], org) == 0)
				policy = org;
		if (policy[0] == '\0' && psd != NULL)
			policy = psd;
	}
	d->walk = DMARC_WALK_DONE;
	strcpy(d->walk_policy_domain, policy);
	strcpy(d->walk_org_domain, org);
	d->walk_policy_differs = strcmp(d->walk_policy_domain,
	    d->status == DMARC_DISC_RECORD ? d->record_domain : "") != 0;
	d->walk_org_differs = strcmp(d->walk_org_domain, d->org_domain) != 0;
}

void
dmarc_discover(const char *from, dmarc_txt_fn fn, void *arg, unsigned flags,
    struct dmarc_discovery *d)
{
	struct dmarc_plan p;
	struct disc c;
	const struct memo *m;
	char err[DMARC_WHY_MAX], tmp[DMARC_DOMAIN_MAX + 1];

	memset(d, 0, sizeof(*d));
	d->walk = DMARC_WALK_SKIPPED;
	if (dmarc_plan(from, &p) != 0) {
		if (dmarc_domain_norm(from, tmp, sizeof(tmp)) != 0) {
			d->status = DMARC_DISC_NONE;
			setwhy(d, "the From domain is not a domain name");
		} else {
			d->status = DMARC_DISC_TEMPERROR;
			setwhy(d, "no Public Suffix List could be loaded");
		}
		return;
	}
	memset(&c, 0, sizeof(c));
	c.fn = fn;
	c.arg = arg;
	strcpy(d->from_domain, p.from);
	strcpy(d->org_domain, p.org);
	d->from_is_suffix = p.from_is_suffix;

	err[0] = '\0';
	m = ask(&c, p.from, &d->rec, err, sizeof(err), &d->lookups);
	if (!decide(d, m, p.from, err)) {
		if (p.nnames == 2) {
			m = ask(&c, p.org, &d->rec, err, sizeof(err),
			    &d->lookups);
			if (decide(d, m, p.org, err))
				d->sp_applies = d->status == DMARC_DISC_RECORD;
			else
				setwhy(d, "no DMARC record at _dmarc.%s or "
				    "_dmarc.%s", p.from, p.org);
		} else
			setwhy(d, "no DMARC record at _dmarc.%s", p.from);
	}
	if (d->status != DMARC_DISC_RECORD && d->status != DMARC_DISC_PERMERROR)
		memset(&d->rec, 0, sizeof(d->rec));
	if (d->status == DMARC_DISC_RECORD)
		d->why[0] = '\0';
	if (!(flags & DMARC_NO_WALK))
		walk(&c, &p, d);
}

/* -------------------------------------------------------------- result */

void
dmarc_evaluate(const struct dmarc_discovery *d, const char *const *dkim_pass,
    int n, const char *spf_domain, int spf_pass, struct dmarc_eval *out)
{
	const struct dmarc_record *r = &d->rec;
	int i;

	memset(out, 0, sizeof(*out));
	out->pct = 100;
	if (spf_domain != NULL)
		(void)dmarc_domain_norm(spf_domain, out->spf_domain,
		    sizeof(out->spf_domain));
	switch (d->status) {
	case DMARC_DISC_TEMPERROR:
		out->result = DMARC_RESULT_TEMPERROR;
		return;
	case DMARC_DISC_PERMERROR:
		out->result = DMARC_RESULT_PERMERROR;
		return;
	case DMARC_DISC_RECORD:
		break;
	case DMARC_DISC_NONE:
	default:
		out->result = DMARC_RESULT_NONE;
		return;
	}
	out->policy = d->sp_applies && r->sp != DMARC_POLICY_UNSET ? r->sp :
	    r->p;
	out->pct = r->pct;
	for (i = 0; dkim_pass != NULL && i < n; i++)
		if (dkim_pass[i] != NULL && dmarc_aligned(dkim_pass[i],
		    d->from_domain, r->adkim == DMARC_ALIGN_STRICT)) {
			(void)dmarc_domain_norm(dkim_pass[i], out->dkim_aligned,
			    sizeof(out->dkim_aligned));
			break;
		}
	if (spf_pass && out->spf_domain[0] != '\0' &&
	    dmarc_aligned(out->spf_domain, d->from_domain,
	    r->aspf == DMARC_ALIGN_STRICT))
		strcpy(out->spf_aligned, out->spf_domain);
	out->result = out->dkim_aligned[0] != '\0' ||
	    out->spf_aligned[0] != '\0' ? DMARC_RESULT_PASS : DMARC_RESULT_FAIL;
}

/* --------------------------------------------------------------- words */

const char *
dmarc_result_str(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_PASS:
		return "pass";
	case DMARC_RESULT_FAIL:
		return "fail";
	case DMARC_RESULT_TEMPERROR:
		return "temperror";
	case DMARC_RESULT_PERMERROR:
		return "permerror";
	case DMARC_RESULT_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_policy_str(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_UNSET:
		break;
	}
	return NULL;
}

const char *
dmarc_align_str(enum dmarc_align a)
{
	return a == DMARC_ALIGN_STRICT ? "s" : "r";
}

const char *
dmarc_disc_str(enum dmarc_disc s)
{
	switch (s) {
	case DMARC_DISC_RECORD:
		return "record";
	case DMARC_DISC_TEMPERROR:
		return "temperror";
	case DMARC_DISC_PERMERROR:
		return "permerror";
	case DMARC_DISC_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_walk_str(enum dmarc_walk w)
{
	switch (w) {
	case DMARC_WALK_DONE:
		return "done";
	case DMARC_WALK_TEMPERROR:
		return "temperror";
	case DMARC_WALK_SKIPPED:
		break;
	}
	return "skipped";
}
