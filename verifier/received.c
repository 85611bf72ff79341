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
 * DESCRIPTION
 *	One grammar for every MTA (RFC 5321 4.4): the value is cut into
 *	words, comments and semicolons; the words from, by, via, with, id,
 *	for (and Haraka's envelope-from) open clauses in any order (IBM z/OS
 *	writes for before with); the date is what follows the last semicolon
 *	outside comments, or for SendGrid, which writes none, the tail of the
 *	last clause.
 *
 *	The comments of the from clause carry the connection: an address as
 *	[ip], [IPv6:...], [ip]:port (Exim), ip, (ip), ident@ip (qmail),
 *	?IPv6:...? (Gmail), fe80::1%4 (Exchange); the reverse name is the
 *	host name written in the same comment before that address (a
 *	trailing dot, as Gmail writes it, is dropped; "unknown" means none);
 *	the HELO name is given by "helo=" (Exim), "HELO x" or "EHLO x"
 *	(qmail, CommuniGate, Yahoo), or else it is the name after "from".
 *	When the HELO is given explicitly, or the MTA is Exim, the name after
 *	"from" is the reverse name instead. Addresses are taken from the from
 *	clause (and the by clause for by_ip) only, never from id, which
 *	Exchange fills with a build number that looks like an IPv4 address.
 *
 *	TLS is known from the protocol word (ESMTPS, ESMTPSA, LMTPS, HTTPS:
 *	RFC 3848 and the IANA mail transmission types) and from the TLS
 *	comments of Postfix ("using TLSv1.3 with cipher ..."), Sendmail,
 *	Gmail and Exchange ("version=TLS1_2 cipher=..."), and Exim
 *	("TLS1.3:TLS_AES_256_GCM_SHA384:256"). Authentication from ESMTPA,
 *	ESMTPSA, LMTPA, Exim's asmtp, and comments such as "(authenticated
 *	bits=0)", "(Authenticated sender: x)" and Courier's "(AUTH: x)".
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
 *	forged") are in note too.
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

struct clause {
	int	start, end;	/* token indices [start, end) after the keyword */
};

struct parse {
	const char *s;
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

static void
lex(struct parse *ps)
{
	const char *s = ps->s;
	size_t i = 0, j;
	int depth;

	ps->ntok = 0;
	while (s[i] != '\0') {
		struct tok *t;

		if (isspace((unsigned char)s[i])) {
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
		    s[j] != '(' && s[j] != ';'; j++) {
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
tok_is(const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	return t->n == n && ceq(t->p, w, n);
}

static int
keyword(const struct tok *t)
{
	int k;

	if (t->type != T_WORD)
		return -1;
	for (k = 0; k < KW_N; k++)
		if (tok_is(t, kw_names[k]))
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

/* An address in any of the wrappings MTAs use; canonical text into out.
 * *port is set when a port followed it. Returns 0, or -1. */
static int
try_ip(const char *w, size_t n, char *out, size_t outlen, int *port)
{
	char buf[96], *b = buf, *e, *pct;
	unsigned char a[16];

	*port = 0;
	if (n == 0 || n >= sizeof(buf))
		return -1;
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
	/* a.b.c.d:port (XMail, F-Secure) */
	if ((e = strrchr(b, ':')) != NULL && strchr(b, ':') == e &&
	    isdigit((unsigned char)e[1])) {
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

/* TLS, authentication and envelope sender from any comment. */
static void
comment_common(struct received *r, const char *p, size_t n)
{
	const char *v, *c;
	size_t vn, cn;

	if (cstarts(p, n, "using ") && (cfind(p, n, "TLS") != NULL ||
	    cfind(p, n, "SSL") != NULL)) {
		/* Postfix, Stalwart: using TLSv1.3 with cipher X (256/256 bits) */
		r->tls = 1;
		v = p + 6;
		for (vn = 0; v + vn < p + n && !isspace((unsigned char)v[vn]);
		    vn++)
			;
		c = cfind(p, n, "with cipher ");
		cn = 0;
		if (c != NULL)
			for (c += 12; c + cn < p + n &&
			    !isspace((unsigned char)c[cn]); cn++)
				;
		snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s%s%.*s",
		    (int)vn, v, cn ? " " : "", (int)cn, c ? c : "");
		return;
	}
	if ((v = cfind(p, n, "version=")) != NULL &&
	    (cfind(v, (size_t)(p + n - v), "TLS") != NULL ||
	    cfind(v, (size_t)(p + n - v), "SSL") != NULL)) {
		/* Sendmail, Gmail, Exchange */
		r->tls = 1;
		v += 8;
		for (vn = 0; v + vn < p + n && !isspace((unsigned char)v[vn]) &&
		    v[vn] != ','; vn++)
			;
		c = cfind(p, n, "cipher=");
		cn = 0;
		if (c != NULL)
			for (c += 7; c + cn < p + n &&
			    !isspace((unsigned char)c[cn]) && c[cn] != ','; cn++)
				;
		snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s%s%.*s",
		    (int)vn, v, cn ? " " : "", (int)cn, c ? c : "");
		return;
	}
	if ((cstarts(p, n, "TLS") || cstarts(p, n, "SSL")) &&
	    (c = memchr(p, ':', n)) != NULL && c - p <= 8) {
		/* Exim: TLS1.3:TLS_AES_256_GCM_SHA384:256 */
		const char *c2 = memchr(c + 1, ':', (size_t)(p + n - c - 1));

		r->tls = 1;
		cn = c2 ? (size_t)(c2 - c - 1) : (size_t)(p + n - c - 1);
		snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s %.*s",
		    (int)(c - p), p, (int)cn, c + 1);
		return;
	}
	if (cfind(p, n, "cipher=") != NULL || cstarts(p, n, "tls_cipher ") ||
	    cstarts(p, n, "Cipher ") || cstarts(p, n, "TLS: ")) {
		/* Exim 3 "Cipher TLSv1:...", "tls_cipher ...", Mirapoint */
		r->tls = 1;
		if (!cfind(p, n, "cipher="))
			snprintf(r->tls_detail, sizeof(r->tls_detail), "%.*s",
			    (int)(n > 100 ? 100 : n), p);
		return;
	}
	if (cstarts(p, n, "authenticated") || cstarts(p, n, "AUTH:") ||
	    cstarts(p, n, "authenticated sender")) {
		r->auth = 1;
		return;
	}
	if (cstarts(p, n, "envelope-from") || cstarts(p, n, "envelope-sender")) {
		char tmp[RECEIVED_NAME_MAX];
		size_t skip = cstarts(p, n, "envelope-from") ? 13 : 15;

		copy(tmp, sizeof(tmp), p + skip, n - skip);
		if (hdr_addr(tmp, r->envelope_from,
		    sizeof(r->envelope_from)) == 0)
			r->has_envelope_from = 1;
	}
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

static void
from_clause(struct parse *ps)
{
	struct received *r = ps->r;
	const struct clause *c = &ps->cl[KW_FROM];
	char name_ip[RECEIVED_IP_MAX] = "", word_ip[RECEIVED_IP_MAX] = "";
	char comment_ip[RECEIVED_IP_MAX] = "", rdns[RECEIVED_NAME_MAX] = "";
	char helo[RECEIVED_NAME_MAX] = "";
	int i, port, exim = r->mta == RECEIVED_MTA_EXIM, nwords = 0;
	size_t nn = 0;

	for (i = c->start; i < c->end; i++) {
		const struct tok *t = &ps->tok[i];
		char ip[RECEIVED_IP_MAX];

		if (t->type == T_WORD) {
			if (try_ip(t->p, t->n, ip, sizeof(ip), &port) == 0) {
				if (nwords == 0)
					copy(name_ip, sizeof(name_ip), ip,
					    strlen(ip));
				else if (word_ip[0] == '\0')
					copy(word_ip, sizeof(word_ip), ip,
					    strlen(ip));
				if (port)
					exim = 1;
				if (nwords == 0) {
					copy(r->from_name, sizeof(r->from_name),
					    t->p, t->n);
					nn = strlen(r->from_name);
				}
			} else if (nn + t->n + 1 < sizeof(r->from_name)) {
				if (nn > 0)
					r->from_name[nn++] = ' ';
				memcpy(r->from_name + nn, t->p, t->n);
				nn += t->n;
				r->from_name[nn] = '\0';
			}
			nwords++;
			continue;
		}
		if (t->type == T_COMMENT) {
			const char *w[32];
			size_t wn[32];
			int k, nw = subwords(t->p, t->n, w, wn, 32);
			char cand[RECEIVED_NAME_MAX] = "";
			int have_ip = 0;

			if (cfind(t->p, t->n, "may be forged") != NULL)
				note(r, "rDNS may be forged");
			for (k = 0; k < nw; k++) {
				const char *at;

				if (cstarts(w[k], wn[k], "helo=")) {
					copy(helo, sizeof(helo), w[k] + 5,
					    wn[k] - 5);
					exim = 1;
				} else if (cstarts(w[k], wn[k], "ident=")) {
					copy(r->ident, sizeof(r->ident),
					    w[k] + 6, wn[k] - 6);
				} else if ((wn[k] == 4 && (cstarts(w[k], 4,
				    "HELO") || cstarts(w[k], 4, "EHLO") ||
				    cstarts(w[k], 4, "LHLO"))) && k + 1 < nw) {
					copy(helo, sizeof(helo), w[k + 1],
					    wn[k + 1]);
					k++;
				} else if (wn[k] == 7 && cstarts(w[k], 7,
				    "account") && k + 1 < nw) {
					copy(r->ident, sizeof(r->ident),
					    w[k + 1], wn[k + 1]);
					k++;
				} else if (cstarts(w[k], wn[k], "AUTH:")) {
					r->auth = 1;
					k++;
				} else if (try_ip(w[k], wn[k], ip, sizeof(ip),
				    &port) == 0) {
					if (!have_ip && comment_ip[0] == '\0')
						copy(comment_ip,
						    sizeof(comment_ip), ip,
						    strlen(ip));
					have_ip = 1;
					if (port)
						exim = 1;
				} else if ((at = memchr(w[k], '[', wn[k])) !=
				    NULL && at > w[k] && try_ip(at, (size_t)(w[k]
				    + wn[k] - at), ip, sizeof(ip), &port) == 0) {
					/* rdns[ip] without a space (attbi) */
					if (!have_ip && comment_ip[0] == '\0')
						copy(comment_ip,
						    sizeof(comment_ip), ip,
						    strlen(ip));
					have_ip = 1;
					if (hostlike(w[k], (size_t)(at - w[k])) &&
					    rdns[0] == '\0')
						copy(rdns, sizeof(rdns), w[k],
						    (size_t)(at - w[k]));
				} else if ((at = memchr(w[k], '@', wn[k])) !=
				    NULL && try_ip(at + 1, (size_t)(w[k] +
				    wn[k] - at - 1), ip, sizeof(ip),
				    &port) == 0) {
					/* qmail: (ident@ip) */
					copy(r->ident, sizeof(r->ident), w[k],
					    (size_t)(at - w[k]));
					if (!have_ip && comment_ip[0] == '\0')
						copy(comment_ip,
						    sizeof(comment_ip), ip,
						    strlen(ip));
					have_ip = 1;
				} else if (!have_ip && cand[0] == '\0' &&
				    (hostlike(w[k], wn[k]) || (wn[k] == 7 &&
				    cstarts(w[k], 7, "unknown")))) {
					copy(cand, sizeof(cand), w[k], wn[k]);
				} else if (!have_ip && wn[k] > 1 &&
				    w[k][wn[k] - 1] == '.' &&
				    hostlike(w[k], wn[k] - 1) &&
				    cand[0] == '\0') {
					copy(cand, sizeof(cand), w[k], wn[k]);
				}
			}
			if (have_ip && cand[0] != '\0' && rdns[0] == '\0') {
				if (strcasecmp(cand, "unknown") == 0)
					copy(rdns, sizeof(rdns), "-", 1);
				else
					copy(rdns, sizeof(rdns), cand,
					    strlen(cand));
			}
			comment_common(r, t->p, t->n);
		}
	}

	if (comment_ip[0] != '\0')
		copy(r->from_ip, sizeof(r->from_ip), comment_ip,
		    strlen(comment_ip));
	else if (word_ip[0] != '\0')
		copy(r->from_ip, sizeof(r->from_ip), word_ip, strlen(word_ip));
	else if (name_ip[0] != '\0')
		copy(r->from_ip, sizeof(r->from_ip), name_ip, strlen(name_ip));

	if (name_ip[0] != '\0') {
		/* The name is an address literal: it was the HELO when the
		 * connection's address is written beside it. */
		if (helo[0] != '\0')
			copy(r->from_helo, sizeof(r->from_helo), helo,
			    strlen(helo));
		else if (comment_ip[0] != '\0' || word_ip[0] != '\0')
			copy(r->from_helo, sizeof(r->from_helo), r->from_name,
			    strlen(r->from_name));
		if (rdns[0] != '\0' && rdns[0] != '-')
			copy(r->from_rdns, sizeof(r->from_rdns), rdns,
			    strlen(rdns));
	} else if (helo[0] != '\0' || exim) {
		/* Exim and qmail write the rDNS name first; without an
		 * address it is a user name (Exim: from root (helo=x)). */
		if (strcasecmp(r->from_name, "unknown") != 0 &&
		    r->from_ip[0] != '\0')
			copy(r->from_rdns, sizeof(r->from_rdns), r->from_name,
			    strlen(r->from_name));
		if (rdns[0] != '\0' && rdns[0] != '-')
			copy(r->from_rdns, sizeof(r->from_rdns), rdns,
			    strlen(rdns));
		copy(r->from_helo, sizeof(r->from_helo),
		    helo[0] ? helo : r->from_name,
		    strlen(helo[0] ? helo : r->from_name));
	} else {
		copy(r->from_helo, sizeof(r->from_helo), r->from_name,
		    strlen(r->from_name));
		if (rdns[0] != '\0' && rdns[0] != '-')
			copy(r->from_rdns, sizeof(r->from_rdns), rdns,
			    strlen(rdns));
	}
	strip_dot(r->from_rdns);
	if (r->from_ip[0] == '\0' && (r->from_rdns[0] != '\0' || nwords))
		note(r, "no sender address");
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

struct proto {
	const char *word;
	int	tls, auth;
};

static const struct proto protos[] = {
	{ "SMTP", 0, 0 }, { "ESMTP", 0, 0 }, { "ESMTPA", 0, 1 },
	{ "ESMTPS", 1, 0 }, { "ESMTPSA", 1, 1 }, { "LMTP", 0, 0 },
	{ "LMTPA", 0, 1 }, { "LMTPS", 1, 0 }, { "LMTPSA", 1, 1 },
	{ "UTF8SMTP", 0, 0 }, { "UTF8SMTPA", 0, 1 }, { "UTF8SMTPS", 1, 0 },
	{ "UTF8SMTPSA", 1, 1 }, { "UTF8LMTP", 0, 0 }, { "UTF8LMTPA", 0, 1 },
	{ "UTF8LMTPS", 1, 0 }, { "UTF8LMTPSA", 1, 1 }, { "HTTP", 0, 0 },
	{ "HTTPS", 1, 0 }, { "ASMTP", 0, 1 }, { "SMTPS", 1, 0 },
	{ "SMTPSA", 1, 1 },
};

static void
protocol(struct received *r)
{
	const char *w = r->with[0] ? r->with : r->via;
	size_t i, n = strcspn(w, " ");
	int known = 0;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].word) == n &&
		    strncasecmp(w, protos[i].word, n) == 0) {
			known = 1;
			if (protos[i].tls)
				r->tls = 1;
			if (protos[i].auth)
				r->auth = 1;
		}
	if (n > 4 && cfind(w, n, "TLS") != NULL)
		r->tls = 1;		/* ESMTP/TLS/cipher, ESMTP-TLS */
	if (r->tls < 0 && (known || strncasecmp(w, "Microsoft SMTP Server",
	    21) == 0))
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

static void
date_part(struct parse *ps, int last_semi)
{
	struct received *r = ps->r;
	char err[64], buf[96];
	int i, k, last = -1;

	if (last_semi >= 0) {
		const char *d = ps->s + ps->tok[last_semi].off + 1;

		if (hdr_date_parse(d, strlen(d), &r->date, err,
		    sizeof(err)) == 0)
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

int
received_parse(const char *value, struct received *r)
{
	struct parse *ps, pbuf;
	int i, k, cur = -1, last_semi = -1, pre_words = 0, pre_marker = -1;
	int end;

	memset(r, 0, sizeof(*r));
	r->tls = -1;
	r->auth = -1;
	ps = &pbuf;
	ps->s = value;
	ps->r = r;
	ps->unbalanced = ps->overflow = 0;
	for (k = 0; k < KW_N; k++)
		ps->cl[k].start = ps->cl[k].end = -1;
	lex(ps);
	if (ps->ntok == 0) {
		r->kind = RECEIVED_UNPARSED;
		note(r, "empty field");
		return -1;
	}
	for (i = 0; i < ps->ntok; i++)
		if (ps->tok[i].type == T_SEMI)
			last_semi = i;
	end = last_semi >= 0 ? last_semi : ps->ntok;
	for (i = 0; i < end; i++) {
		const struct tok *t = &ps->tok[i];

		k = keyword(t);
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
			ps->cl[k].start = ps->cl[k].end = i + 1;
			cur = k;
			continue;
		}
		if (cur >= 0 && cur < KW_N)
			ps->cl[cur].end = i + 1;
		else if (cur < 0) {
			if (t->type == T_WORD)
				pre_words++;
			else if (t->type == T_COMMENT && pre_marker < 0)
				pre_marker = i;
		}
	}
	if (ps->unbalanced)
		note(r, "unbalanced parenthesis");
	if (ps->overflow)
		note(r, "too many tokens");

	join_words(ps, KW_WITH, r->with, sizeof(r->with), 4);
	join_words(ps, KW_VIA, r->via, sizeof(r->via), 4);
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
	if (first_word(ps, KW_ID) != NULL) {
		const struct tok *t = first_word(ps, KW_ID);

		copy(r->id, sizeof(r->id), t->p, t->n);
	}
	if (first_word(ps, KW_FOR) != NULL) {
		const struct tok *t = first_word(ps, KW_FOR);
		char tmp[RECEIVED_NAME_MAX];

		copy(tmp, sizeof(tmp), t->p, t->n);
		if (hdr_addr(tmp, r->rcpt_for, sizeof(r->rcpt_for)) != 0)
			r->rcpt_for[0] = '\0';
	}
	if (first_word(ps, KW_ENVFROM) != NULL) {
		const struct tok *t = first_word(ps, KW_ENVFROM);
		char tmp[RECEIVED_NAME_MAX];

		copy(tmp, sizeof(tmp), t->p, t->n);
		if (hdr_addr(tmp, r->envelope_from,
		    sizeof(r->envelope_from)) == 0)
			r->has_envelope_from = 1;
	}
	protocol(r);
	date_part(ps, last_semi);

	/* What kind of line this is. */
	if (pre_marker >= 0 && cfind(ps->tok[pre_marker].p,
	    ps->tok[pre_marker].n, "invoked") != NULL) {
		char b[RECEIVED_NAME_MAX];

		r->kind = RECEIVED_MARKER;
		snprintf(b, sizeof(b), "marker: %.*s",
		    (int)(ps->tok[pre_marker].n > 120 ? 120 :
		    ps->tok[pre_marker].n), ps->tok[pre_marker].p);
		note(r, b);
		return 0;
	}
	if (strcasecmp(r->by_host, "uid") == 0 &&
	    ps->cl[KW_FROM].start < 0) {
		r->kind = RECEIVED_MARKER;
		note(r, "marker: qmail-scanner");
		return 0;
	}
	if (ps->cl[KW_FROM].start < 0 && ps->cl[KW_BY].start < 0) {
		r->kind = RECEIVED_UNPARSED;
		note(r, pre_words ? "no from or by clause (unknown words)" :
		    "no from or by clause");
		return -1;
	}
	if (pre_words)
		note(r, "text before the first clause");
	if (is_fetch(ps)) {
		r->kind = RECEIVED_FETCH;
		note(r, "retrieval (POP/IMAP fetch)");
		return 0;
	}
	if (ps->cl[KW_FROM].start < 0) {
		r->kind = RECEIVED_LOCAL;
		for (i = 0; i < ps->ntok; i++)
			if (ps->tok[i].type == T_COMMENT &&
			    cfind(ps->tok[i].p, ps->tok[i].n, "from userid"))
				break;
		note(r, i < ps->ntok ? "local pickup" :
		    "local submission or delivery (no from clause)");
		if (pre_marker >= 0 && cstarts(ps->tok[pre_marker].p,
		    ps->tok[pre_marker].n, "from ")) {
			/* Sendmail: (from user@localhost) */
			copy(r->ident, sizeof(r->ident),
			    ps->tok[pre_marker].p + 5,
			    ps->tok[pre_marker].n - 5);
		}
		return 0;
	}
	if (r->from_ip[0] == '\0' && (strncasecmp(r->from_name,
	    "mail pickup service", 19) == 0 ||
	    strcasecmp(r->from_name, "Spooler") == 0 ||
	    strncasecmp(r->with, "local", 5) == 0)) {
		r->kind = RECEIVED_LOCAL;
		note(r, "local submission");
		return 0;
	}
	if (r->from_name[0] == '\0' && r->from_ip[0] == '\0' && !r->auth) {
		r->kind = RECEIVED_UNPARSED;
		note(r, "empty from clause");
		return -1;
	}
	r->kind = RECEIVED_RELAY;
	return 0;
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
