/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	received 3
 * SUMMARY
 *	Received: field tokenizer and hop fields
 * SYNOPSIS
 *	#include "verifier/received.h"
 *
 *	int received_parse(const char *value, struct received *out);
 *	const char *received_kind_str(enum received_kind k);
 *	const char *received_role_str(enum received_role k);
 * DESCRIPTION
 *	One grammar for every MTA (RFC 5321 4.4): the value is cut into
 *	words, comments and semicolons; the words from, by, via, with, id,
 *	for (and Haraka's envelope-from) open clauses in any order (IBM z/OS
 *	writes for before with). The date is what follows the last semicolon
 *	outside comments, up to a keyword that opens a clause after it
 *	(EzMTS: "; DATE for <a>", Courier: "; DATE id X"); SendGrid writes
 *	no semicolon, and the date is then the tail of the last clause. A
 *	second from clause whose first word is <...> is XMail's envelope
 *	sender; a from clause in parentheses before "by" with an address in
 *	it (antivirus gateways: "(from name [ip]) by ...") is read as one.
 *
 *	The from clause is read by small rules (from_name_word,
 *	from_later_word, from_comment, comment_tag, comment_addr), each
 *	recording a fact; from_resolve() then decides the fields. The name
 *	is the one word after "from" (IIS's "mail pickup service" is
 *	three); other words are an address, ', claiming to be "HELO"'
 *	(smap), 'named RDNS', 'as user X', or ignored. The connection's
 *	address comes from a comment ([ip], [IPv6:...], [ip]:port, ip,
 *	ident@ip, rdns[ip], ?IPv6:...? (Gmail), fe80::1%4 (Exchange),
 *	a.b.c.d.port (Exim 3), ip:port (XMail)), else from an address word,
 *	else from the name. The reverse name is the host name written in
 *	the same comment before that address ("unknown" means none), or
 *	a host name alone in a comment when there is no address (Clearswift,
 *	LSMTP). The HELO is given by "helo=" (Exim), "HELO x"/"EHLO x"
 *	(qmail, CommuniGate, Yahoo; "(HELO )" is an empty one; qmail's
 *	?x? is [x]), "claiming to be" (smap), Exim 3's "rdns (helo) [ip]";
 *	else it is the name after "from". The name after "from" is the
 *	reverse name instead when the HELO is given apart, for Exim,
 *	CommuniGate's "([ip] verified)", qmail's "from rdns (ip)" and
 *	"(info@ip)" (the HELO omitted because it equals the name; not for
 *	Exchange and Critical Path, which write the HELO there), and smap's
 *	"rdns(ip)" (its HELO only when claimed). HTTP and MAPI hops have no
 *	HELO. Addresses are taken from the from clause (and the by clause
 *	for by_ip) only, never from id, which Exchange fills with a build
 *	number that looks like an IPv4 address.
 *
 *	TLS is known from the protocol word (ESMTPS, ESMTPSA, LMTPS, HTTPS:
 *	RFC 3848 and the IANA mail transmission types; s-web.de's
 *	ESMTP/TLS/cipher), from the TLS comments of Postfix ("using TLSv1.3
 *	with cipher ..."), Sendmail, Gmail and Exchange ("version=TLS1_2
 *	cipher=..."), Exim ("TLS1.3:TLS_AES_256_GCM_SHA384:256", and
 *	"(TLS1.3) tls CIPHER") and from free text ("CIPHER encrypted SMTP").
 *	Authentication from ESMTPA, ESMTPSA, LMTPA, UTF8SMTPSA, Exim's
 *	asmtp, HTTP/HTTPS/HTTPREST/HTTPU/MAPI and "via HTTP" (webmail and
 *	API submissions), CommuniGate's "(account x)", webmail comments
 *	("SquirrelMail authenticated user x"), "(authenticated bits=0)",
 *	"(Authenticated sender: x)" and Courier's "(AUTH: x)".
 *
 *	kind says what the line is; role is the hop's kind of SPEC 3.2:
 *	fetch (POP/IMAP, fetchmail, getmail), delivery (the LMTP family),
 *	local (no from clause, pickup, markers), http-submission (HTTP,
 *	MAPI, webmail), submission (authenticated), internal (from a
 *	loopback, private, ULA, link-local or CGNAT address), else relay.
 *
 *	Lines that are bookkeeping, not hops, are kept and marked: qmail's
 *	"(qmail N invoked from network)", qmail-scanner's "by uid N",
 *	local submission without a from clause (Postfix pickup, Sendmail
 *	Submit, LMTP delivery), IIS "mail pickup service", and retrieval by
 *	fetchmail or getmail (with POP3/IMAP).
 * DIAGNOSTICS
 *	A value without a from or a by clause is RECEIVED_UNPARSED, with the
 *	reason in note. Problems with an otherwise parsed value (bad date,
 *	unbalanced parenthesis, text before the first clause, "may be
 *	forged", a mailbox in the by clause) are in note too; a for clause
 *	that is neither a path nor a mailbox ("for Windows") is dropped.
 * LIMITS
 *	RECEIVED_TOKENS_MAX tokens per value; RECEIVED_NAME_MAX bytes per
 *	text field (longer values are cut).
 *--*/
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "shared/hdr.h"
#include "shared/netaddr.h"
#include "verifier/received.h"

enum tok_type { T_WORD, T_COMMENT, T_SEMI };

struct tok {
	enum tok_type type;
	const char *p;		/* a comment without its outer parentheses */
	size_t	n;
	size_t	off;		/* of the token in the value */
};

enum kw { KW_FROM, KW_BY, KW_VIA, KW_WITH, KW_ID, KW_FOR, KW_ENVFROM, KW_N };

static const char *const kw_names[KW_N] = {
	"from", "by", "via", "with", "id", "for", "envelope-from",
};
static const size_t kw_len[KW_N] = { 4, 2, 3, 4, 2, 3, 13 };

struct clause {
	int	start, end;	/* token indices [start, end) after the keyword */
};

struct parse {
	const char *s;
	size_t	wrap_open, wrap_close;	/* "(from ...) by": read as words */
	size_t	date_end;	/* offset of a clause after the date, or 0 */
	int	last_semi;	/* token index, -1 if none */
	int	pre_words;	/* words before the first clause */
	int	pre_marker;	/* the first comment before it, -1 if none */
	struct tok tok[RECEIVED_TOKENS_MAX];
	int	ntok;
	int	unbalanced;
	int	overflow;
	struct clause cl[KW_N];
	struct received *r;
};

static void
copy(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
note(struct received *r, const char *text)
{
	size_t n = strlen(r->note);

	if (strstr(r->note, text) != NULL)
		return;
	snprintf(r->note + n, sizeof(r->note) - n, "%s%s", n ? "; " : "", text);
}

static int try_ip(const char *, size_t, char *, size_t, int *);
static int subwords(const char *, size_t, const char **, size_t *, int);

/* "(from NAME [ip]) by ..." (antivirus gateways): a from clause in
 * parentheses, told from Sendmail's "(from user@localhost)" by the
 * address after the name. Sets wrap_open/wrap_close when it is one. */
static void
wrapped_from(struct parse *ps)
{
	const char *s = ps->s, *w[8];
	size_t i = strspn(s, " \t"), j, wn[8];
	char ip[RECEIVED_IP_MAX];
	int k, nw, port;

	if (s[i] != '(' || strncasecmp(s + i + 1, "from ", 5) != 0)
		return;
	for (j = i + 1; s[j] != '\0' && s[j] != '(' && s[j] != ')'; j++)
		;
	if (s[j] != ')')
		return;
	nw = subwords(s + i + 6, j - i - 6, w, wn, 8);
	for (k = 1; k < nw; k++)
		if (try_ip(w[k], wn[k], ip, sizeof(ip), &port) == 0) {
			ps->wrap_open = i;
			ps->wrap_close = j;
			return;
		}
}

static void
lex(struct parse *ps)
{
	const char *s = ps->s;
	size_t i = 0, j;
	int depth;

	ps->ntok = 0;
	while (s[i] != '\0') {
		struct tok *t;

		if (isspace((unsigned char)s[i]) || (ps->wrap_close > 0 &&
		    (i == ps->wrap_open || i == ps->wrap_close))) {
			i++;
			continue;
		}
		if (ps->ntok == RECEIVED_TOKENS_MAX) {
			ps->overflow = 1;
			return;
		}
		t = &ps->tok[ps->ntok++];
		t->off = i;
		if (s[i] == '(') {
			depth = 1;
			for (j = i + 1; s[j] != '\0'; j++) {
				if (s[j] == '\\' && s[j + 1] != '\0')
					j++;
				else if (s[j] == '(')
					depth++;
				else if (s[j] == ')' && --depth == 0)
					break;
			}
			t->type = T_COMMENT;
			t->p = s + i + 1;
			t->n = j - (i + 1);
			if (s[j] == '\0')
				ps->unbalanced = 1;
			i = s[j] == '\0' ? j : j + 1;
			continue;
		}
		if (s[i] == ';') {
			t->type = T_SEMI;
			t->p = s + i;
			t->n = 1;
			i++;
			continue;
		}
		for (j = i; s[j] != '\0' && !isspace((unsigned char)s[j]) &&
		    s[j] != '(' && s[j] != ';' && (ps->wrap_close == 0 ||
		    j != ps->wrap_close); j++) {
			if (s[j] == '"') {
				const char *q = strchr(s + j + 1, '"');

				if (q != NULL)
					j = (size_t)(q - s);
			}
		}
		t->type = T_WORD;
		t->p = s + i;
		t->n = j - i;
		i = j;
	}
}

/* ASCII case-insensitive comparison of n bytes; inline because the
 * parser makes thousands of these short comparisons per message. */
static int
ceq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

static int
tok_eq(const struct tok *t, const char *w, size_t n)
{
	return t->n == n && ceq(t->p, w, n);
}

/* A token equal to a string literal, the length known at compile time:
 * every token of every hop is tested against a dozen words. */
#define tok_is(t, lit)	tok_eq((t), "" lit, sizeof(lit) - 1)

static int
keyword(const struct tok *t)
{
	int k;

	if (t->type != T_WORD)
		return -1;
	for (k = 0; k < KW_N; k++)
		if (t->n == kw_len[k] && ceq(t->p, kw_names[k], t->n))
			return k;
	if (tok_is(t, "envelope-sender"))
		return KW_ENVFROM;
	return -1;
}

/* Case-insensitive search in a counted string. Every comment of every
 * hop is searched for a dozen words, so the first byte is tested inline
 * before a call (this was the parser's largest cost). */
static const char *
cfind(const char *p, size_t n, const char *what)
{
	size_t w = strlen(what), i;
	unsigned char lo, up;

	if (w == 0)
		return p;
	lo = (unsigned char)tolower((unsigned char)what[0]);
	up = (unsigned char)toupper((unsigned char)what[0]);
	for (i = 0; i + w <= n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c == lo || c == up) && ceq(p + i + 1, what + 1, w - 1))
			return p + i;
	}
	return NULL;
}

static int
cstarts(const char *p, size_t n, const char *what)
{
	size_t w = strlen(what);

	return n >= w && ceq(p, what, w);
}

static int
dots(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

/* An address in any of the wrappings MTAs use; canonical text into out.
 * *port is set when a port followed it. Returns 0, or -1. */
static int
try_ip(const char *w, size_t n, char *out, size_t outlen, int *port)
{
	char buf[96], *b = buf, *e, *pct;
	unsigned char a[16];
	size_t i;

	*port = 0;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	for (i = 0; i < n && (w[i] == '(' || w[i] == '?' || w[i] == '['); i++)
		;
	if (i == n || (!isxdigit((unsigned char)w[i]) && w[i] != ':' &&
	    (w[i] | 0x20) != 'i'))
		return -1;	/* not an address, nor IPv6: */
	if (i == 0 && memchr(w, ']', n) != NULL)
		return -1;	/* "1 85.2.3.4]": a piece, not an address */
	memcpy(buf, w, n);
	buf[n] = '\0';
	while (*b == '(' || *b == '?' || *b == '[')
		b++;
	if ((e = strchr(b, ']')) != NULL) {
		if (e[1] == ':' && isdigit((unsigned char)e[2]))
			*port = 1;
		*e = '\0';
	}
	e = b + strlen(b);
	while (e > b && (e[-1] == ')' || e[-1] == '?' || e[-1] == '.' ||
	    e[-1] == ',' || e[-1] == ']'))
		*--e = '\0';
	if (strncasecmp(b, "IPv6:", 5) == 0)
		b += 5;
	if ((pct = strchr(b, '%')) != NULL)
		*pct = '\0';
	if (inet_pton(AF_INET, b, a) == 1) {
		inet_ntop(AF_INET, a, out, (socklen_t)outlen);
		return 0;
	}
	if (inet_pton(AF_INET6, b, a) == 1) {
		static const unsigned char mapped[12] =
		    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, 12) == 0)
			inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
		return 0;
	}
	/* a.b.c.d:port (XMail, F-Secure), a.b.c.d.port (Exim 3) */
	if (((e = strrchr(b, ':')) != NULL && strchr(b, ':') == e) ||
	    ((e = strrchr(b, '.')) != NULL && dots(b) == 4)) {
		if (!isdigit((unsigned char)e[1]))
			return -1;
		*e = '\0';
		if (inet_pton(AF_INET, b, a) == 1) {
			inet_ntop(AF_INET, a, out, (socklen_t)outlen);
			*port = 1;
			return 0;
		}
	}
	return -1;
}

static int
hostlike(const char *w, size_t n)
{
	size_t i;
	int dot = 0, alpha = 0;

	if (n == 0 || n >= RECEIVED_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = w[i];

		if (c == '.')
			dot = 1;
		else if (isalpha(c))
			alpha = 1;
		else if (!isdigit(c) && c != '-' && c != '_')
			return 0;
	}
	return alpha && (dot || (n == 9 && strncasecmp(w, "localhost", 9) == 0));
}

static void
strip_dot(char *s)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = '\0';
}

/* Split a comment into words; nested parentheses are separators. */
static int
subwords(const char *p, size_t n, const char **w, size_t *wn, int max)
{
	size_t i = 0, j;
	int k = 0;

	while (i < n && k < max) {
		while (i < n && (isspace((unsigned char)p[i]) || p[i] == '(' ||
		    p[i] == ')' || p[i] == ','))
			i++;
		if (i >= n)
			break;
		for (j = i; j < n && !isspace((unsigned char)p[j]) &&
		    p[j] != '(' && p[j] != ')' && p[j] != ','; j++)
			;
		w[k] = p + i;
		wn[k++] = j - i;
		i = j;
	}
	return k;
}

/* Whether a comment may hold "user", "HTTP" or "encrypted": one pass,
 * since every comment of every hop reaches this test. */
static int
webmail_tls_word(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 4 <= n; i++)
		switch (p[i] | 0x20) {
		case 'u':
			if (ceq(p + i, "user", 4))
				return 1;
			break;
		case 'h':
			if (ceq(p + i, "http", 4))
				return 1;
			break;
		case 'e':
			if (i + 9 <= n && ceq(p + i, "encrypted", 9))
				return 1;
			break;
		}
	return 0;
}

/* Webmail and free-text TLS: "(SquirrelMail authenticated user X)",
 * "(via HTTP)", "(DHE-RSA-AES256-SHA encrypted)". 1 if it was one. */
static int
comment_webmail_tls(struct received *r, const char *p, size_t n)
{
	const char *w[8];
	size_t wn[8];
	int k, nw;

	if (!webmail_tls_word(p, n))
		return 0;
	nw = subwords(p, n, w, wn, 8);
	for (k = 0; k + 1 < nw; k++) {
		if (wn[k] == 13 && cstarts(w[k], 13, "authenticated") &&
		    wn[k + 1] == 4 && cstarts(w[k + 1], 4, "user") &&
		    k + 2 < nw) {
			copy(r->ident, sizeof(r->ident), w[k + 2], wn[k + 2]);
			r->auth = r->http = 1;
			return 1;
		}
		if (wn[k] == 3 && cstarts(w[k], 3, "via") &&
		    cstarts(w[k + 1], wn[k + 1], "HTTP")) {
			r->auth = r->http = 1;
			return 1;
		}
		if (wn[k + 1] == 9 && cstarts(w[k + 1], 9, "encrypted")) {
			r->tls = 1;
			copy(r->tls_detail, sizeof(r->tls_detail), w[k], wn[k]);
			return 1;
		}
	}
	return 0;
}

/* Length of the word at p (before end), stopping at a space or stop. */
static size_t
span(const char *p, const char *end, int stop)
{
	size_t n = 0;

	while (p + n < end && !isspace((unsigned char)p[n]) && p[n] != stop)
		n++;
	return n;
}

/* tls_detail "VERSION CIPHER" from the word after version and after
 * cipher (each may be NULL). */
static void
tls_words(struct received *r, const char *v, const char *c, const char *end,
    int stop)
{
	size_t vn = v ? span(v, end, stop) : 0, cn = c ? span(c, end, stop) : 0;

	r->tls = 1;
	snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s%s%.*s", (int)vn,
	    v ? v : "", vn && cn ? " " : "", (int)cn, c ? c : "");
}

/* Postfix, Stalwart: (using TLSv1.3 with cipher X (256/256 bits)) */
static int
tls_using(struct received *r, const char *p, size_t n)
{
	const char *c;

	if (!cstarts(p, n, "using ") || (cfind(p, n, "TLS") == NULL &&
	    cfind(p, n, "SSL") == NULL))
		return 0;
	c = cfind(p, n, "with cipher ");
	tls_words(r, p + 6, c ? c + 12 : NULL, p + n, ' ');
	return 1;
}

/* Sendmail, Gmail, Exchange: (version=TLS1_2 cipher=X bits=256/256) */
static int
tls_version(struct received *r, const char *p, size_t n)
{
	const char *v = cfind(p, n, "version="), *c;

	if (v == NULL || (cfind(v, (size_t)(p + n - v), "TLS") == NULL &&
	    cfind(v, (size_t)(p + n - v), "SSL") == NULL))
		return 0;
	c = cfind(p, n, "cipher=");
	tls_words(r, v + 8, c ? c + 7 : NULL, p + n, ',');
	return 1;
}

/* Exim: (TLS1.3:TLS_AES_256_GCM_SHA384:256) */
static int
tls_exim(struct received *r, const char *p, size_t n)
{
	const char *c, *c2;
	size_t cn;

	if ((!cstarts(p, n, "TLS") && !cstarts(p, n, "SSL")) ||
	    (c = memchr(p, ':', n)) == NULL || c - p > 8)
		return 0;
	c2 = memchr(c + 1, ':', (size_t)(p + n - c - 1));
	cn = c2 ? (size_t)(c2 - c - 1) : (size_t)(p + n - c - 1);
	r->tls = 1;
	snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s %.*s",
	    (int)(c - p), p, (int)cn, c + 1);
	return 1;
}

/* Exim 3 "Cipher TLSv1:...", "tls_cipher ...", Mirapoint "TLS: ..." */
static int
tls_other(struct received *r, const char *p, size_t n)
{
	if (cfind(p, n, "cipher=") == NULL && !cstarts(p, n, "tls_cipher ") &&
	    !cstarts(p, n, "Cipher ") && !cstarts(p, n, "TLS: "))
		return 0;
	r->tls = 1;
	if (!cfind(p, n, "cipher="))
		snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s",
		    (int)(n > 100 ? 100 : n), p);
	return 1;
}

/* (authenticated bits=0), (Authenticated sender: x), Courier (AUTH: x) */
static int
auth_comment(struct received *r, const char *p, size_t n)
{
	if (!cstarts(p, n, "authenticated") && !cstarts(p, n, "AUTH:"))
		return 0;
	r->auth = 1;
	return 1;
}

/* (envelope-from <a@b>), (envelope-sender <a@b>) */
static int
envfrom_comment(struct received *r, const char *p, size_t n)
{
	char tmp[RECEIVED_NAME_MAX];
	size_t skip;

	if (cstarts(p, n, "envelope-from"))
		skip = 13;
	else if (cstarts(p, n, "envelope-sender"))
		skip = 15;
	else
		return 0;
	copy(tmp, sizeof(tmp), p + skip, n - skip);
	if (hdr_addr(tmp, r->envelope_from, sizeof(r->envelope_from)) == 0)
		r->has_envelope_from = 1;
	return 1;
}

/* TLS, authentication and envelope sender from any comment: the first
 * rule that knows the comment reads it. */
static void
comment_common(struct received *r, const char *p, size_t n)
{
	static int (*const rules[])(struct received *, const char *,
	    size_t) = { tls_using, tls_version, tls_exim, tls_other,
	    auth_comment, envfrom_comment, comment_webmail_tls };
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i](r, p, n))
			return;
}

/* "7.0.020", "7.0.030.2": a version and nothing else. */
static int
version_only(const char *p, size_t n)
{
	size_t i, dots = 0;

	for (i = 0; i < n; i++)
		if (p[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)p[i]))
			return 0;
	return (dots == 2 || dots == 3) && isdigit((unsigned char)p[0]);
}

static void
detect_mta(struct parse *ps)
{
	struct received *r = ps->r;
	int i;

	for (i = 0; i < ps->ntok; i++) {
		const struct tok *t = &ps->tok[i];

		if (t->type != T_COMMENT)
			continue;
		if (cfind(t->p, t->n, "Exim ") != NULL)
			r->mta = RECEIVED_MTA_EXIM;
		else if (cstarts(t->p, t->n, "Postfix"))
			r->mta = RECEIVED_MTA_POSTFIX;
		else if (cstarts(t->p, t->n, "qmail"))
			r->mta = RECEIVED_MTA_QMAIL;
		else if (r->mta == RECEIVED_MTA_UNKNOWN && t->n >= 3 &&
		    isdigit((unsigned char)t->p[0]) && t->p[1] == '.' &&
		    memchr(t->p, '/', t->n) != NULL)
			r->mta = RECEIVED_MTA_SENDMAIL;	/* 8.14.4/8.14.4 */
		else if (r->mta == RECEIVED_MTA_UNKNOWN && i > ps->cl[KW_BY].start
		    && i < ps->cl[KW_BY].end && version_only(t->p, t->n))
			r->mta = RECEIVED_MTA_CRITICALPATH;
	}
	if (r->mta == RECEIVED_MTA_UNKNOWN) {
		if (strncasecmp(r->with, "Microsoft SMTP", 14) == 0)
			r->mta = RECEIVED_MTA_EXCHANGE;
		else if (strcasecmp(r->by_host, "mx.google.com") == 0 ||
		    strcasecmp(r->by_host, "smtp.gmail.com") == 0)
			r->mta = RECEIVED_MTA_GMAIL;
	}
}

static void
join_words(struct parse *ps, int kw, char *out, size_t outlen, int max)
{
	const struct clause *c = &ps->cl[kw];
	size_t n = 0;
	int i, k = 0;

	out[0] = '\0';
	for (i = c->start; c->start >= 0 && i < c->end && k < max; i++) {
		const struct tok *t = &ps->tok[i];

		if (t->type == T_COMMENT && k > 0)
			break;		/* Exim: with esmtps (TLS1.3) tls X */
		if (t->type != T_WORD || (t->n == 1 && t->p[0] == ','))
			continue;
		if (n > 0 && n + 1 < outlen)
			out[n++] = ' ';
		if (n + t->n >= outlen)
			break;
		memcpy(out + n, t->p, t->n);
		n += t->n;
		out[n] = '\0';
		k++;
	}
}

static const struct tok *
first_word(struct parse *ps, int kw)
{
	const struct clause *c = &ps->cl[kw];
	int i;

	for (i = c->start; c->start >= 0 && i < c->end; i++)
		if (ps->tok[i].type == T_WORD)
			return &ps->tok[i];
	return NULL;
}

/* ---- the from clause ---------------------------------------------- *
 * The words and comments after "from" are read by small rules, each
 * recording a fact in struct from_facts; from_resolve() then decides
 * which name is the HELO and which the reverse name. */

struct from_facts {
	char	name_ip[RECEIVED_IP_MAX];	/* the name itself is an address */
	char	word_ip[RECEIVED_IP_MAX];	/* an address word after the name */
	char	comment_ip[RECEIVED_IP_MAX];	/* the first address in a comment */
	char	rdns[RECEIVED_NAME_MAX];	/* "-": the MTA wrote unknown */
	char	helo[RECEIVED_NAME_MAX];	/* given explicitly */
	char	paren_name[RECEIVED_NAME_MAX];	/* Exim 3: name (helo) [ip] */
	int	helo_given;	/* also when empty: qmail "(HELO )" */
	int	nwords;
	int	name_end;	/* token index after the name */
	int	name_is_rdns;	/* Exim, qmail, CommuniGate "verified" */
	int	bare_ip;	/* a comment holding only the address: (ip) */
	int	glued;		/* smap: "rdns(ip)", the HELO only if claimed */
	int	port;		/* (ip:port) */
};

/* qmail writes the HELO with [ and ] turned into ?: ?192.0.2.1? */
static void
set_helo(struct from_facts *f, const char *w, size_t n)
{
	char ip[RECEIVED_IP_MAX];
	int port;

	if (n > 2 && w[0] == '?' && w[n - 1] == '?' &&
	    try_ip(w, n, ip, sizeof(ip), &port) == 0) {
		snprintf(f->helo, sizeof(f->helo), "[%.*s]", (int)(n - 2),
		    w + 1);
		return;
	}
	if (n >= 2 && w[0] == '"' && w[n - 1] == '"') {
		w++;
		n -= 2;
	}
	copy(f->helo, sizeof(f->helo), w, n);
}

static void
set_ip(char *dst, const char *ip)
{
	if (dst[0] == '\0')
		copy(dst, RECEIVED_IP_MAX, ip, strlen(ip));
}

/* The first word: the name as written (IIS writes three). */
static int
from_name_word(struct parse *ps, struct from_facts *f, int i, int end)
{
	struct received *r = ps->r;
	const struct tok *t = &ps->tok[i];
	char ip[RECEIVED_IP_MAX];
	int port;

	copy(r->from_name, sizeof(r->from_name), t->p, t->n);
	if (try_ip(t->p, t->n, ip, sizeof(ip), &port) == 0)
		set_ip(f->name_ip, ip);
	if (tok_is(t, "mail") && i + 2 < end && tok_is(&ps->tok[i + 1],
	    "pickup") && tok_is(&ps->tok[i + 2], "service")) {
		copy(r->from_name, sizeof(r->from_name), "mail pickup service",
		    19);
		return i + 3;
	}
	return i + 1;
}

/* A word after the name: an address, or one of the phrases
 * ', claiming to be "HELO"' (smap), 'named RDNS', 'as user X'. Other
 * words are not the name's. Returns the index after what was read. */
static int
from_later_word(struct parse *ps, struct from_facts *f, int i, int end)
{
	struct received *r = ps->r;
	const struct tok *t = &ps->tok[i];
	char ip[RECEIVED_IP_MAX];
	int port;

	if (tok_is(t, "claiming") && i + 3 < end && tok_is(&ps->tok[i + 1],
	    "to") && tok_is(&ps->tok[i + 2], "be")) {
		set_helo(f, ps->tok[i + 3].p, ps->tok[i + 3].n);
		return i + 4;
	}
	if (tok_is(t, "named") && i + 1 < end && ps->tok[i + 1].type ==
	    T_WORD) {
		t = &ps->tok[i + 1];
		if (tok_is(t, "unknown"))
			copy(f->rdns, sizeof(f->rdns), "-", 1);
		else if (hostlike(t->p, t->n))
			copy(f->rdns, sizeof(f->rdns), t->p, t->n);
		f->name_is_rdns = 0;
		return i + 2;
	}
	if (tok_is(t, "as") && i + 2 < end && tok_is(&ps->tok[i + 1], "user")) {
		copy(r->ident, sizeof(r->ident), ps->tok[i + 2].p,
		    ps->tok[i + 2].n);
		return i + 3;
	}
	if (try_ip(t->p, t->n, ip, sizeof(ip), &port) == 0)
		set_ip(f->word_ip, ip);
	return i + 1;
}

/* One word of a comment that names the HELO, ident or account; returns
 * how many words it used, 0 if it is not one of these. */
static int
comment_tag(struct received *r, struct from_facts *f, const char **w,
    const size_t *wn, int k, int nw)
{
	if (cstarts(w[k], wn[k], "helo=")) {
		f->helo_given = 1;
		set_helo(f, w[k] + 5, wn[k] - 5);
		f->name_is_rdns = 1;		/* Exim */
		return 1;
	}
	if (cstarts(w[k], wn[k], "ident=")) {
		copy(r->ident, sizeof(r->ident), w[k] + 6, wn[k] - 6);
		return 1;
	}
	if (wn[k] == 4 && (cstarts(w[k], 4, "HELO") ||
	    cstarts(w[k], 4, "EHLO") || cstarts(w[k], 4, "LHLO"))) {
		f->helo_given = 1;	/* qmail: "(HELO )" is an empty one */
		if (k + 1 == nw)
			return 1;
		set_helo(f, w[k + 1], wn[k + 1]);
		return 2;
	}
	if (wn[k] == 7 && k + 1 < nw && cstarts(w[k], 7, "account")) {
		/* CommuniGate: the authenticated account */
		copy(r->ident, sizeof(r->ident), w[k + 1], wn[k + 1]);
		r->auth = 1;
		return 2;
	}
	if (cstarts(w[k], wn[k], "AUTH:")) {
		r->auth = 1;
		return 2;
	}
	if (wn[k] == 8 && cstarts(w[k], 8, "verified")) {
		f->name_is_rdns = 1;		/* CommuniGate */
		return 1;
	}
	return 0;
}

/* One word of a comment that holds the connection's address: ip,
 * [ip], rdns[ip], ident@ip. Returns 1 when it was one. */
static int
comment_addr(struct received *r, struct from_facts *f, const char *w,
    size_t n, int *have_ip)
{
	char ip[RECEIVED_IP_MAX];
	const char *at;
	int port;

	if (try_ip(w, n, ip, sizeof(ip), &port) == 0) {
		f->port |= port;	/* Exim, XMail: not qmail's (ip) */
	} else if ((at = memchr(w, '[', n)) != NULL && at > w &&
	    try_ip(at, (size_t)(w + n - at), ip, sizeof(ip), &port) == 0) {
		/* rdns[ip] without a space (attbi) */
		if (hostlike(w, (size_t)(at - w)) && f->rdns[0] == '\0')
			copy(f->rdns, sizeof(f->rdns), w, (size_t)(at - w));
	} else if ((at = memrchr(w, '@', n)) != NULL && try_ip(at + 1,
	    (size_t)(w + n - at - 1), ip, sizeof(ip), &port) == 0) {
		/* qmail: (ident@ip) */
		copy(r->ident, sizeof(r->ident), w, (size_t)(at - w));
	} else
		return 0;
	if (!*have_ip)
		set_ip(f->comment_ip, ip);
	*have_ip = 1;
	return 1;
}

static int
rdns_candidate(const char *w, size_t n)
{
	if (n > 1 && w[n - 1] == '.')
		n--;		/* Gmail's trailing dot */
	return hostlike(w, n) || (n == 7 && cstarts(w, 7, "unknown"));
}

/* A comment of the from clause: "(rdns [ip] helo=x)", "(HELO x)",
 * "(ident@ip)", "([ip] verified)", "(account a@b HELO x)", ... */
static void
from_comment(struct received *r, struct from_facts *f, const struct tok *t,
    int after_name)
{
	const char *w[32];
	size_t wn[32];
	char cand[RECEIVED_NAME_MAX] = "";
	int k, used, have_ip = 0, nw = subwords(t->p, t->n, w, wn, 32);

	if (cfind(t->p, t->n, "may be forged") != NULL)
		note(r, "rDNS may be forged");
	for (k = 0; k < nw; k += used ? used : 1) {
		if ((used = comment_tag(r, f, w, wn, k, nw)) != 0)
			continue;
		if (comment_addr(r, f, w[k], wn[k], &have_ip)) {
			if (after_name && nw == 1 && w[0] == t->p && !f->port &&
			    memchr(w[0], '[', wn[0]) == NULL && w[0][0] != '?')
				f->bare_ip = 1;	/* qmail: (ip), (info@ip) */
			continue;
		}
		if (!have_ip && cand[0] == '\0' && rdns_candidate(w[k], wn[k]))
			copy(cand, sizeof(cand), w[k], wn[k]);
	}
	if (after_name && !have_ip && nw == 1 && cand[0] != '\0' &&
	    strcasecmp(cand, "unknown") != 0)
		copy(f->paren_name, sizeof(f->paren_name), cand, strlen(cand));
	if (have_ip && cand[0] != '\0' && f->rdns[0] == '\0') {
		if (strcasecmp(cand, "unknown") == 0)
			copy(f->rdns, sizeof(f->rdns), "-", 1);
		else
			copy(f->rdns, sizeof(f->rdns), cand, strlen(cand));
	}
	comment_common(r, t->p, t->n);
}

static void
set_field(char *dst, const char *src)
{
	copy(dst, RECEIVED_NAME_MAX, src, strlen(src));
}

/* A host name alone in parentheses after the name: Exim 3's HELO in
 * "rdns (helo) [ip.port]", or, with no address at all, the reverse name
 * (Clearswift, LSMTP "helo (rdns)"). */
static void
from_paren_name(struct from_facts *f, const char *ip)
{
	if (f->paren_name[0] == '\0')
		return;
	if (f->word_ip[0] != '\0' && !f->helo_given) {
		set_helo(f, f->paren_name, strlen(f->paren_name));
		f->helo_given = 1;
		f->name_is_rdns = 1;
	} else if (ip[0] == '\0' && f->rdns[0] == '\0')
		copy(f->rdns, sizeof(f->rdns), f->paren_name,
		    strlen(f->paren_name));
}

/* The name is an address literal: it was the HELO when the connection's
 * address is written beside it. */
static void
from_literal(struct received *r, const struct from_facts *f)
{
	if (f->helo_given)
		set_field(r->from_helo, f->helo);
	else if (f->comment_ip[0] != '\0' || f->word_ip[0] != '\0')
		set_field(r->from_helo, r->from_name);
}

/* The name is the reverse name (Exim, qmail, CommuniGate, smap); qmail
 * leaves the HELO out when it is the same name, smap writes it only when
 * claimed. Without an address it is a user name (Exim: from root). */
static void
from_rdns_first(struct received *r, const struct from_facts *f,
    const char *ip)
{
	if (strcasecmp(r->from_name, "unknown") != 0 &&
	    strcasecmp(r->from_name, "nodnsquery") != 0 &&	/* csmap */
	    ip[0] != '\0' && f->rdns[0] != '-')
		set_field(r->from_rdns, r->from_name);
	if (f->glued)
		set_field(r->from_helo, f->helo);
	else
		set_field(r->from_helo, f->helo_given ? f->helo :
		    r->from_name);
}

/* Which name is the HELO and which the reverse name. */
static void
from_resolve(struct received *r, struct from_facts *f, int not_qmail)
{
	const char *ip = f->comment_ip[0] ? f->comment_ip : f->word_ip[0] ?
	    f->word_ip : f->name_ip;

	copy(r->from_ip, sizeof(r->from_ip), ip, strlen(ip));
	from_paren_name(f, ip);
	if (f->name_ip[0] != '\0')
		from_literal(r, f);
	else if (f->glued || f->helo_given || f->name_is_rdns ||
	    (f->bare_ip && !not_qmail))
		from_rdns_first(r, f, ip);
	else
		set_field(r->from_helo, r->from_name);
	if (f->rdns[0] != '\0' && f->rdns[0] != '-')
		set_field(r->from_rdns, f->rdns);
	strip_dot(r->from_rdns);
	if (r->from_ip[0] == '\0' && (r->from_rdns[0] != '\0' || f->nwords))
		note(r, "no sender address");
}

static void
from_clause(struct parse *ps)
{
	struct received *r = ps->r;
	const struct clause *c = &ps->cl[KW_FROM];
	struct from_facts f;
	int i = c->start;

	memset(&f, 0, sizeof(f));
	f.name_is_rdns = r->mta == RECEIVED_MTA_EXIM;
	while (i < c->end) {
		const struct tok *t = &ps->tok[i];

		if (t->type == T_COMMENT) {
			int after = f.nwords == 1 && i == f.name_end;

			from_comment(r, &f, t, after);
			if (after && f.bare_ip && t->off == ps->tok[i - 1].off +
			    ps->tok[i - 1].n)
				f.glued = 1;
			i++;
		} else if (t->type != T_WORD || (t->n == 1 && (t->p[0] == ',' ||
		    t->p[0] == '[' || t->p[0] == ']'))) {
			i++;
		} else if (f.nwords++ == 0) {
			i = f.name_end = from_name_word(ps, &f, i, c->end);
		} else
			i = from_later_word(ps, &f, i, c->end);
	}
	/* Exchange and Critical Path write "from HELO (ip)" as qmail writes
	 * "from rdns (ip)" */
	from_resolve(r, &f, r->mta == RECEIVED_MTA_EXCHANGE ||
	    r->mta == RECEIVED_MTA_CRITICALPATH);
}

static void
by_clause(struct parse *ps)
{
	struct received *r = ps->r;
	const struct clause *c = &ps->cl[KW_BY];
	const struct tok *w = first_word(ps, KW_BY);
	int i, port, words = 0;

	if (w != NULL) {
		size_t n;

		copy(r->by_host, sizeof(r->by_host), w->p, w->n);
		if (strchr(r->by_host, '@') != NULL) {
			/* a mailbox is not a host (RFC 5321 4.4): forged */
			note(r, "by clause names a mailbox");
			r->by_host[0] = '\0';
		}
		/* The copy may be cut: index it by its own length. */
		n = strlen(r->by_host);
		if (n > 1 && r->by_host[n - 1] == ',')
			r->by_host[n - 1] = '\0';
		strip_dot(r->by_host);
	}
	for (i = c->start; i < c->end; i++) {
		const struct tok *t = &ps->tok[i];
		char ip[RECEIVED_IP_MAX];

		if (t->type == T_WORD && words++ == 0)
			continue;
		if (r->by_ip[0] == '\0' && try_ip(t->p, t->n, ip, sizeof(ip),
		    &port) == 0)
			copy(r->by_ip, sizeof(r->by_ip), ip, strlen(ip));
	}
	if (r->by_ip[0] == '\0' && try_ip(r->by_host, strlen(r->by_host),
	    r->by_ip, sizeof(r->by_ip), &port) != 0)
		r->by_ip[0] = '\0';
}

/* The "with" words: RFC 3848, the IANA mail transmission types, and
 * what MTAs write instead (Exchange "mapi", SendGrid "HTTP", Gmail
 * "HTTPREST", CommuniGate "HTTPU", Exim "asmtp"). */
enum proto_kind { P_SMTP, P_LMTP, P_HTTP };

struct proto {
	const char *word;
	int	tls, auth;		/* tls -1: the word does not say */
	enum proto_kind kind;
};

static const struct proto protos[] = {
	{ "SMTP", 0, 0, P_SMTP }, { "ESMTP", 0, 0, P_SMTP },
	{ "ESMTPA", 0, 1, P_SMTP }, { "ESMTPS", 1, 0, P_SMTP },
	{ "ESMTPSA", 1, 1, P_SMTP }, { "UTF8SMTP", 0, 0, P_SMTP },
	{ "UTF8SMTPA", 0, 1, P_SMTP }, { "UTF8SMTPS", 1, 0, P_SMTP },
	{ "UTF8SMTPSA", 1, 1, P_SMTP }, { "ASMTP", 0, 1, P_SMTP },
	{ "SMTPS", 1, 0, P_SMTP }, { "SMTPSA", 1, 1, P_SMTP },
	{ "LMTP", 0, 0, P_LMTP }, { "LMTPA", 0, 1, P_LMTP },
	{ "LMTPS", 1, 0, P_LMTP }, { "LMTPSA", 1, 1, P_LMTP },
	{ "UTF8LMTP", 0, 0, P_LMTP }, { "UTF8LMTPA", 0, 1, P_LMTP },
	{ "UTF8LMTPS", 1, 0, P_LMTP }, { "UTF8LMTPSA", 1, 1, P_LMTP },
	{ "HTTP", 0, 1, P_HTTP }, { "HTTPS", 1, 1, P_HTTP },
	{ "HTTPREST", -1, 1, P_HTTP }, { "HTTPU", -1, 1, P_HTTP },
	{ "MAPI", -1, 1, P_HTTP },
};

static const struct proto *
proto_find(const char *w)
{
	size_t i, n = strcspn(w, " ");

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].word) == n &&
		    strncasecmp(w, protos[i].word, n) == 0)
			return &protos[i];
	return NULL;
}

/* XMail: "with [XMail 1.20 ESMTP Server]": the protocol word inside. */
static void
bracketed_with(struct received *r)
{
	char *w = r->with, *p;

	if (w[0] != '[')
		return;
	for (p = w + 1; *p != '\0'; p += strcspn(p, " ") + (p[strcspn(p,
	    " ")] != '\0'))
		if (proto_find(p) != NULL) {
			memmove(w, p, strcspn(p, " ]"));
			w[strcspn(p, " ]")] = '\0';
			return;
		}
}

static void
protocol(struct received *r)
{
	const char *w = r->with[0] ? r->with : r->via;
	const struct proto *pr = proto_find(w);
	size_t n = strcspn(w, " ");

	if (pr != NULL) {
		if (pr->tls > 0)
			r->tls = 1;
		if (pr->auth)
			r->auth = 1;
		if (pr->kind == P_HTTP)
			r->http = 1;
		if (pr->kind == P_LMTP)
			r->lmtp = 1;
	}
	if (n > 4 && cfind(w, n, "TLS") != NULL) {
		const char *c = cfind(w, n, "/TLS/");

		r->tls = 1;		/* ESMTP/TLS/cipher, ESMTP-TLS */
		if (c != NULL && w == r->with) {
			/* s-web.de: ESMTP/TLS/DHE-RSA-AES256-GCM-SHA384 */
			if (r->tls_detail[0] == '\0')
				copy(r->tls_detail, sizeof(r->tls_detail),
				    c + 5, (size_t)(w + n - c - 5));
			r->with[c - w] = '\0';
			pr = proto_find(r->with);
			if (pr != NULL && pr->auth)
				r->auth = 1;
		}
	}
	if (strcasestr(r->via, "HTTP") != NULL)
		r->http = r->auth = 1;
	if (r->tls < 0 && ((pr != NULL && pr->tls == 0) || strncasecmp(w,
	    "Microsoft SMTP Server", 21) == 0))
		r->tls = 0;
	if (r->auth < 0)
		r->auth = 0;
}

static int
is_fetch(struct parse *ps)
{
	const char *w = ps->r->with;
	int i;

	if (strncasecmp(w, "POP", 3) == 0 || strncasecmp(w, "IMAP", 4) == 0 ||
	    strncasecmp(w, "ODMR", 4) == 0)
		return 1;
	for (i = 0; i < ps->ntok; i++)
		if (ps->tok[i].type == T_COMMENT &&
		    (cfind(ps->tok[i].p, ps->tok[i].n, "fetchmail") != NULL ||
		    cfind(ps->tok[i].p, ps->tok[i].n, "getmail") != NULL))
			return 1;
	return 0;
}

/* "LMTPA;_ Tue, 21 Jul 2009 ...": a date after a word of punctuation. */
static int
date_after_junk(const char *d, size_t n, int64_t *t)
{
	char err[64];
	size_t i = 0;

	while (i < n && isspace((unsigned char)d[i]))
		i++;
	if (i == n || isalnum((unsigned char)d[i]) || d[i] == '(')
		return 0;
	while (i < n && !isspace((unsigned char)d[i]) &&
	    !isalnum((unsigned char)d[i]))
		i++;
	return hdr_date_parse(d + i, n - i, t, err, sizeof(err)) == 0;
}

static void
date_part(struct parse *ps, int last_semi)
{
	struct received *r = ps->r;
	char err[64], buf[96];
	int i, k, last = -1;

	if (last_semi >= 0) {
		const char *d = ps->s + ps->tok[last_semi].off + 1;
		size_t n = ps->date_end > 0 ? (size_t)(ps->s + ps->date_end -
		    d) : strlen(d);

		if (hdr_date_parse(d, n, &r->date, err, sizeof(err)) == 0 ||
		    date_after_junk(d, n, &r->date))
			r->has_date = 1;
		else {
			snprintf(buf, sizeof(buf), "bad date: %s", err);
			note(r, buf);
		}
		return;
	}
	/* No semicolon (SendGrid): the date may trail the last clause. */
	for (k = 0; k < KW_N; k++)
		if (ps->cl[k].start >= 0 && (last < 0 ||
		    ps->cl[k].start > ps->cl[last].start))
			last = k;
	if (last >= 0) {
		int seen = 0;

		for (i = ps->cl[last].start; i < ps->cl[last].end; i++) {
			const char *d = ps->s + ps->tok[i].off;

			if (ps->tok[i].type != T_WORD || seen++ == 0)
				continue;
			if (hdr_date_parse(d, strlen(d), &r->date, err,
			    sizeof(err)) == 0) {
				r->has_date = 1;
				note(r, "date without semicolon");
				return;
			}
		}
	}
	note(r, "no date");
}

/* The keyword a token opens, if any: XMail writes "from <envelope>"
 * after the id, a from clause that is not the second from clause. */
static int
opens(const struct parse *ps, int i)
{
	int k = keyword(&ps->tok[i]);

	if (k == KW_FROM && ps->cl[KW_FROM].start >= 0 && i + 1 < ps->ntok &&
	    ps->tok[i + 1].type == T_WORD && ps->tok[i + 1].p[0] == '<')
		return KW_ENVFROM;
	return k;
}

/* Cut the tokens into clauses. Keywords open clauses in any order; after
 * the last semicolon only a keyword does (a date followed by "for <a>":
 * EzMTS), and the date ends where it starts. */
static void
clauses(struct parse *ps)
{
	struct received *r = ps->r;
	int i, k, cur = -1;

	for (i = 0; i < ps->ntok; i++) {
		const struct tok *t = &ps->tok[i];

		if (i == ps->last_semi) {
			cur = KW_N;
			continue;
		}
		k = opens(ps, i);
		if (k >= 0 && (cur < 0 || cur == KW_N ||
		    ps->cl[cur].end > ps->cl[cur].start)) {
			if (ps->cl[k].start >= 0) {
				char b[64];

				snprintf(b, sizeof(b), "second %s clause",
				    kw_names[k]);
				note(r, b);
				cur = KW_N;	/* ignore its tokens */
				continue;
			}
			if (ps->last_semi >= 0 && i > ps->last_semi &&
			    ps->date_end == 0)
				ps->date_end = t->off;
			ps->cl[k].start = ps->cl[k].end = i + 1;
			cur = k;
			continue;
		}
		if (cur >= 0 && cur < KW_N)
			ps->cl[cur].end = i + 1;
		else if (cur < 0) {
			if (t->type == T_WORD)
				ps->pre_words++;
			else if (t->type == T_COMMENT && ps->pre_marker < 0)
				ps->pre_marker = i;
		}
	}
}

/* MessageLabs and qmail patches write TLS as words: "... AES256-GCM-
 * SHA384 encrypted SMTP". */
static void
free_text_tls(struct parse *ps)
{
	int i;

	for (i = 1; i + 1 < ps->ntok; i++)
		if (ps->tok[i - 1].type == T_COMMENT && cstarts(ps->tok[i -
		    1].p, ps->tok[i - 1].n, "TLS") && tok_is(&ps->tok[i],
		    "tls") && ps->tok[i + 1].type == T_WORD) {
			/* Exim 4.95+: (TLS1.3) tls TLS_AES_256_GCM_SHA384 */
			ps->r->tls = 1;
			snprintf(ps->r->tls_detail, sizeof(ps->r->tls_detail),
			    "%.*s %.*s", (int)ps->tok[i - 1].n, ps->tok[i - 1].p,
			    (int)ps->tok[i + 1].n, ps->tok[i + 1].p);
			return;
		}
	for (i = 0; i + 1 < ps->ntok; i++)
		if (ps->tok[i].type == T_WORD && ps->tok[i + 1].type ==
		    T_WORD && tok_is(&ps->tok[i + 1], "encrypted")) {
			struct received *r = ps->r;
			size_t n = ps->tok[i].n;

			r->tls = 1;
			copy(r->tls_detail, sizeof(r->tls_detail),
			    ps->tok[i].p, n);
			/* "with CIPHER encrypted SMTP": the protocol is SMTP */
			if (strncmp(r->with, ps->tok[i].p, n) == 0 &&
			    strncasecmp(r->with + n, " encrypted ", 11) == 0)
				memmove(r->with, r->with + n + 11,
				    strlen(r->with + n + 11) + 1);
			return;
		}
}

/* The first word of clause kw as an address (<a@b> or a@b) into out. */
static int
clause_addr(struct parse *ps, int kw, char *out, size_t outlen)
{
	const struct tok *t = first_word(ps, kw);
	char tmp[RECEIVED_NAME_MAX];

	if (t == NULL)
		return -1;
	copy(tmp, sizeof(tmp), t->p, t->n);
	if (hdr_addr(tmp, out, outlen) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static void
id_clause(struct parse *ps)
{
	const struct tok *t = first_word(ps, KW_ID);
	const char *p;
	size_t n;

	if (t == NULL)
		return;
	p = t->p;
	n = t->n;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>') {
		p++;		/* XMail, attbi: id <S72E> */
		n -= 2;
	}
	copy(ps->r->id, sizeof(ps->r->id), p, n);
}

/* Every field but the kind. */
static void
fields(struct parse *ps)
{
	struct received *r = ps->r;
	int i;

	join_words(ps, KW_WITH, r->with, sizeof(r->with), 4);
	join_words(ps, KW_VIA, r->via, sizeof(r->via), 4);
	bracketed_with(r);
	if (first_word(ps, KW_BY) != NULL)
		by_clause(ps);
	detect_mta(ps);
	/* Comments anywhere (also after the date: PowerMTA) may say TLS,
	 * auth, envelope sender; the from clause's are read there. */
	for (i = 0; i < ps->ntok; i++) {
		if (ps->tok[i].type != T_COMMENT)
			continue;
		if (ps->cl[KW_FROM].start >= 0 && i >= ps->cl[KW_FROM].start &&
		    i < ps->cl[KW_FROM].end)
			continue;
		comment_common(r, ps->tok[i].p, ps->tok[i].n);
	}
	if (ps->cl[KW_FROM].start >= 0)
		from_clause(ps);
	id_clause(ps);
	if (clause_addr(ps, KW_FOR, r->rcpt_for, sizeof(r->rcpt_for)) == 0 &&
	    first_word(ps, KW_FOR)->p[0] != '<' &&
	    strchr(r->rcpt_for, '@') == NULL)
		r->rcpt_for[0] = '\0';	/* "for Windows": not a mailbox */
	if (clause_addr(ps, KW_ENVFROM, r->envelope_from,
	    sizeof(r->envelope_from)) == 0)
		r->has_envelope_from = 1;
	free_text_tls(ps);
	protocol(r);
	if (r->http)
		r->from_helo[0] = '\0';	/* HTTP and MAPI have no HELO */
	date_part(ps, ps->last_semi);
}

/* Bookkeeping lines: qmail's "(qmail N invoked ...)", qmail-scanner's
 * "by uid N". 1 when the line is one. */
static int
marker(struct parse *ps)
{
	struct received *r = ps->r;
	const struct tok *m = ps->pre_marker >= 0 ?
	    &ps->tok[ps->pre_marker] : NULL;

	if (m != NULL && cfind(m->p, m->n, "invoked") != NULL) {
		char b[RECEIVED_NAME_MAX];

		snprintf(b, sizeof(b), "marker: %.*s",
		    (int)(m->n > 120 ? 120 : m->n), m->p);
		note(r, b);
		return 1;
	}
	if (strcasecmp(r->by_host, "uid") == 0 && ps->cl[KW_FROM].start < 0) {
		note(r, "marker: qmail-scanner");
		return 1;
	}
	return 0;
}

/* No from clause: Postfix pickup, Sendmail Submit, LMTP delivery. */
static void
local_line(struct parse *ps)
{
	struct received *r = ps->r;
	const struct tok *m = ps->pre_marker >= 0 ?
	    &ps->tok[ps->pre_marker] : NULL;
	int i;

	for (i = 0; i < ps->ntok; i++)
		if (ps->tok[i].type == T_COMMENT &&
		    cfind(ps->tok[i].p, ps->tok[i].n, "from userid"))
			break;
	note(r, i < ps->ntok ? "local pickup" :
	    "local submission or delivery (no from clause)");
	if (m != NULL && cstarts(m->p, m->n, "from "))
		copy(r->ident, sizeof(r->ident), m->p + 5, m->n - 5);
}

static enum received_kind
line_kind(struct parse *ps)
{
	struct received *r = ps->r;

	if (marker(ps))
		return RECEIVED_MARKER;
	if (ps->cl[KW_FROM].start < 0 && ps->cl[KW_BY].start < 0) {
		note(r, ps->pre_words ? "no from or by clause (unknown words)" :
		    "no from or by clause");
		return RECEIVED_UNPARSED;
	}
	if (ps->pre_words)
		note(r, "text before the first clause");
	if (is_fetch(ps)) {
		note(r, "retrieval (POP/IMAP fetch)");
		return RECEIVED_FETCH;
	}
	if (ps->cl[KW_FROM].start < 0) {
		local_line(ps);
		return RECEIVED_LOCAL;
	}
	if (r->from_ip[0] == '\0' && (strncasecmp(r->from_name,
	    "mail pickup service", 19) == 0 ||
	    strcasecmp(r->from_name, "Spooler") == 0 ||
	    strncasecmp(r->with, "local", 5) == 0)) {
		note(r, "local submission");
		return RECEIVED_LOCAL;
	}
	if (r->from_name[0] == '\0' && r->from_ip[0] == '\0' && !r->auth) {
		note(r, "empty from clause");
		return RECEIVED_UNPARSED;
	}
	return RECEIVED_RELAY;
}

static int
internal_ip(const char *ip)
{
	enum netaddr_class c;

	return netaddr_classify_text(ip, &c) == 0 && netaddr_class_internal(c);
}

static enum received_role
line_role(const struct received *r)
{
	if (r->kind == RECEIVED_FETCH)
		return RECEIVED_ROLE_FETCH;
	if (r->lmtp)
		return RECEIVED_ROLE_DELIVERY;
	if (r->kind != RECEIVED_RELAY)
		return r->kind == RECEIVED_UNPARSED ? RECEIVED_ROLE_RELAY :
		    RECEIVED_ROLE_LOCAL;
	if (r->http)
		return RECEIVED_ROLE_HTTP_SUBMISSION;
	if (r->auth > 0)
		return RECEIVED_ROLE_SUBMISSION;
	if (internal_ip(r->from_ip))
		return RECEIVED_ROLE_INTERNAL;
	return RECEIVED_ROLE_RELAY;
}

int
received_parse(const char *value, struct received *r)
{
	struct parse *ps, pbuf;
	int i, k;

	memset(r, 0, sizeof(*r));
	r->tls = -1;
	r->auth = -1;
	ps = &pbuf;
	ps->s = value;
	ps->r = r;
	ps->unbalanced = ps->overflow = 0;
	ps->wrap_open = ps->wrap_close = ps->date_end = 0;
	ps->last_semi = ps->pre_marker = -1;
	ps->pre_words = 0;
	for (k = 0; k < KW_N; k++)
		ps->cl[k].start = ps->cl[k].end = -1;
	wrapped_from(ps);
	lex(ps);
	if (ps->ntok == 0) {
		r->kind = RECEIVED_UNPARSED;
		note(r, "empty field");
		return -1;
	}
	for (i = 0; i < ps->ntok; i++)
		if (ps->tok[i].type == T_SEMI)
			ps->last_semi = i;
	clauses(ps);
	if (ps->unbalanced)
		note(r, "unbalanced parenthesis");
	if (ps->overflow)
		note(r, "too many tokens");
	fields(ps);
	r->kind = line_kind(ps);
	r->role = line_role(r);
	return r->kind == RECEIVED_UNPARSED ? -1 : 0;
}

const char *
received_kind_str(enum received_kind k)
{
	switch (k) {
	case RECEIVED_RELAY:
		return "relay";
	case RECEIVED_LOCAL:
		return "local";
	case RECEIVED_MARKER:
		return "marker";
	case RECEIVED_FETCH:
		return "fetch";
	case RECEIVED_UNPARSED:
		break;
	}
	return "unparsed";
}

const char *
received_role_str(enum received_role k)
{
	switch (k) {
	case RECEIVED_ROLE_SUBMISSION:
		return "submission";
	case RECEIVED_ROLE_HTTP_SUBMISSION:
		return "http-submission";
	case RECEIVED_ROLE_LOCAL:
		return "local";
	case RECEIVED_ROLE_INTERNAL:
		return "internal";
	case RECEIVED_ROLE_DELIVERY:
		return "delivery";
	case RECEIVED_ROLE_FETCH:
		return "fetch";
	case RECEIVED_ROLE_RELAY:
		break;
	}
	return "relay";
}
