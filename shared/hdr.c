/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	hdr 3
 * SUMMARY
 *	RFC 5322 header block, unfolding, RFC 2047, dates
 * SYNOPSIS
 *	#include "shared/hdr.h"
 *
 *	void hdr_parse(struct hdr *h, const char *msg, size_t len);
 *	void hdr_free(struct hdr *h);
 *	int hdr_is(const struct hdr_field *f, const char *name);
 *	int hdr_find(const struct hdr *h, const char *name, int from);
 *	size_t hdr_unfold(const char *val, size_t len, char *out,
 *		size_t outlen);
 *	size_t hdr_decode_2047(const char *in, char *out, size_t outlen);
 *	int hdr_b64val(int c);
 *	int hdr_date_parse(const char *s, size_t len, int64_t *t, char *err,
 *		size_t errlen);
 *	char *hdr_date_format(int64_t t, char *buf, size_t len);
 *	int hdr_addr(const char *s, char *out, size_t outlen);
 *	int hdr_utf8_valid(const char *s, size_t len);
 * DESCRIPTION
 *	hdr_parse() splits the header block of one message into fields
 *	without copying: each field keeps pointers to its exact bytes, as
 *	DKIM needs them, and values are unfolded only when a caller asks,
 *	so a message whose Subject is never read costs one scan of its lines.
 *	An mbox "From " line at the very top is skipped. The header ends at
 *	the first empty line, at the first line that is not a field (as
 *	Postfix does), or at the end of the message.
 *
 *	hdr_date_parse() takes the date forms seen in real Received and Date
 *	fields: a list of words (weekday, day, month name, year, time, zone)
 *	in any of the orders RFC 5322, asctime(3), date(1) and ISO 8601 use,
 *	plus two- and three-digit years (RFC 5322 4.3), zone names, military
 *	zones (as -0000), "7-Oct-2003", fractional seconds and Go's
 *	"2018-04-22 02:54:17.02 +0000 UTC m=+1420.5" from SendGrid. It is a
 *	tokenizer (words; commas and comments dropped) and a small rule per
 *	piece or one-word form. The weekday is not checked, a leap second
 *	reads as :59, and one word that no rule knows is forgiven after the
 *	time.
 * DIAGNOSTICS
 *	hdr_parse() never fails: HDR_F_* flags say what was wrong (NUL bytes,
 *	invalid UTF-8, no empty line, too many fields, ...).
 *	hdr_date_parse() returns -1 and a short reason: a piece missing ("no
 *	time", "no year", "no month", "no day"), a word that is bad ("bad
 *	time", "bad numeric zone", "bad ISO date", "bad d-mon-y date",
 *	"unknown word", ...), a piece twice ("two times", "two dates", "too
 *	many numbers"), a year before 1970, or a day its month does not have.
 * LIMITS
 *	HDR_FIELDS_MAX fields per message are kept; HDR_FIELD_MAX bytes of an
 *	unfolded value (callers size their buffers with it); HDR_DATE_MAX bytes
 *	of a date.
 *--*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "shared/hdr.h"

#define LINE_MAX_RFC	998

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static void
add_field(struct hdr *h, const char *msg, size_t start, size_t end,
    size_t colon)
{
	struct hdr_field *f;
	size_t vend = end;

	if (h->nf >= HDR_FIELDS_MAX) {
		h->flags |= HDR_F_TRUNCATED;
		return;
	}
	if (h->nf == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 32;
		h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
	}
	f = &h->f[h->nf++];
	f->raw = msg + start;
	f->rawlen = end - start;
	f->offset = start;
	f->name = msg + start;
	f->namelen = colon - start;
	while (f->namelen > 0 && is_wsp((unsigned char)f->name[f->namelen - 1]))
		f->namelen--;
	if (vend > colon + 1 && msg[vend - 1] == '\n')
		vend--;
	if (vend > colon + 1 && msg[vend - 1] == '\r')
		vend--;
	f->val = msg + colon + 1;
	f->vallen = vend - (colon + 1);
}

static void
scan_bytes(struct hdr *h, const char *msg, size_t len)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i;
	int eight = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c >= 0x80)
			eight = 1;
		else if (c == 0)
			h->flags |= HDR_F_NUL;
		else if (c == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			h->flags |= HDR_F_BARECR;
	}
	if (eight) {
		h->flags |= HDR_F_8BIT;
		if (!hdr_utf8_valid(msg, len))
			h->flags |= HDR_F_BADUTF8;
	}
}

void
hdr_parse(struct hdr *h, const char *msg, size_t len)
{
	size_t p = 0, q, ll;
	const char *nl, *colon;

	h->nf = 0;
	h->flags = 0;
	h->longest_line = 0;
	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		nl = memchr(msg, '\n', len);
		p = nl ? (size_t)(nl - msg) + 1 : len;
		h->flags |= HDR_F_FROMLINE;
	}
	while (p < len) {
		const char *line = msg + p;
		size_t i;

		nl = memchr(line, '\n', len - p);
		ll = nl ? (size_t)(nl - line) + 1 : len - p;
		if (ll > h->longest_line)
			h->longest_line = ll;
		if (line[0] == '\n' || (ll >= 2 && line[0] == '\r' &&
		    line[1] == '\n')) {
			h->header_len = h->body_off = p + ll;
			goto done;
		}
		/* A field name: printable ASCII up to the colon, white space
		 * allowed only before the colon (obs-optional). */
		colon = memchr(line, ':', ll);
		for (i = 0; colon != NULL && line + i < colon; i++) {
			unsigned char c = line[i];

			if (c < 33 || c > 126) {
				/* A line that starts with white space has no
				 * name (a continuation with no field). */
				size_t first = i;

				while (line + i < colon && is_wsp(line[i]))
					i++;
				if (line + i != colon || first == 0)
					colon = NULL;
				break;
			}
		}
		if (colon == NULL || colon == line ||
		    (size_t)(colon - line) > HDR_NAME_MAX) {
			h->flags |= HDR_F_BADLINE;
			h->header_len = h->body_off = p;
			goto done;
		}
		q = p + ll;
		while (q < len && is_wsp((unsigned char)msg[q])) {
			nl = memchr(msg + q, '\n', len - q);
			ll = nl ? (size_t)(nl - (msg + q)) + 1 : len - q;
			if (ll > h->longest_line)
				h->longest_line = ll;
			q += ll;
		}
		add_field(h, msg, p, q, (size_t)(colon - msg));
		p = q;
	}
	h->flags |= HDR_F_NO_SEP;
	h->header_len = h->body_off = len;
done:
	if (h->longest_line > LINE_MAX_RFC + 2)
		h->flags |= HDR_F_LONGLINE;
	scan_bytes(h, msg, h->header_len);
}

void
hdr_free(struct hdr *h)
{
	if (h == NULL)
		return;
	free(h->f);
	h->f = NULL;
	h->nf = h->cap = 0;
}

int
hdr_is(const struct hdr_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && strncasecmp(f->name, name, n) == 0;
}

int
hdr_find(const struct hdr *h, const char *name, int from)
{
	int i;

	for (i = from < 0 ? 0 : from; i < h->nf; i++)
		if (hdr_is(&h->f[i], name))
			return i;
	return -1;
}

size_t
hdr_unfold(const char *val, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0, start = 0, end = len;

	while (start < end && (is_wsp((unsigned char)val[start]) ||
	    val[start] == '\r' || val[start] == '\n'))
		start++;
	while (end > start && (is_wsp((unsigned char)val[end - 1]) ||
	    val[end - 1] == '\r' || val[end - 1] == '\n'))
		end--;
	for (i = start; i < end; i++) {
		char c = val[i];

		if (c == '\n')
			continue;
		if (c == '\r') {
			if (i + 1 < end && val[i + 1] == '\n')
				continue;
			c = ' ';
		} else if (c == '\0')
			c = ' ';
		if (n + 1 < outlen)
			out[n] = c;
		n++;
	}
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

/* RFC 2047 */

/* The base64 alphabet of RFC 4648: a digit's value, -1 for anything
 * else. One table for RFC 2047 here and for DKIM's b= and p=. */
const signed char hdr_b64digit[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

int
hdr_b64val(int c)
{
	return c >= 0 && c < 256 ? hdr_b64digit[c] : -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct sink {
	char	*out;
	size_t	len, cap;
};

static void
put(struct sink *s, int c)
{
	if (s->len + 1 < s->cap)
		s->out[s->len++] = (char)c;
}

static void
put_cs(struct sink *s, int c, int latin1)
{
	c &= 0xff;
	if (latin1 && c >= 0x80) {
		put(s, 0xc0 | (c >> 6));
		put(s, 0x80 | (c & 0x3f));
	} else
		put(s, c);
}

/* Decode one encoded-word at in (which starts with "=?"); returns the
 * bytes consumed, or 0 if it is not a well-formed encoded-word. */
static size_t
decode_word(const char *in, struct sink *s)
{
	const char *cs = in + 2, *q1, *q2, *end, *p;
	char charset[40];
	int enc, latin1;
	size_t n;

	q1 = strchr(cs, '?');
	if (q1 == NULL || q1 == cs || (size_t)(q1 - cs) >= sizeof(charset))
		return 0;
	enc = toupper((unsigned char)q1[1]);
	if ((enc != 'B' && enc != 'Q') || q1[2] != '?')
		return 0;
	q2 = q1 + 3;
	end = strstr(q2, "?=");
	if (end == NULL || end - in > 200)
		return 0;
	for (p = q2; p < end; p++)
		if (*p == ' ' || *p == '\t')
			return 0;
	n = (size_t)(q1 - cs);
	memcpy(charset, cs, n);
	charset[n] = '\0';
	if ((p = strchr(charset, '*')) != NULL)
		charset[p - charset] = '\0';
	latin1 = strncasecmp(charset, "iso-8859-1", 10) == 0 ||
	    strcasecmp(charset, "iso-8859-15") == 0 ||
	    strcasecmp(charset, "latin1") == 0 ||
	    strcasecmp(charset, "windows-1252") == 0;
	if (enc == 'B') {
		unsigned acc = 0;
		int bits = 0, v;

		for (p = q2; p < end; p++) {
			if (*p == '=')
				break;
			if ((v = hdr_b64val((unsigned char)*p)) < 0)
				return 0;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				put_cs(s, (int)(acc >> bits), latin1);
			}
		}
	} else {
		for (p = q2; p < end; p++) {
			if (*p == '_')
				put(s, ' ');
			else if (*p == '=' && p + 2 < end &&
			    hexval((unsigned char)p[1]) >= 0 &&
			    hexval((unsigned char)p[2]) >= 0) {
				put_cs(s, hexval((unsigned char)p[1]) * 16 +
				    hexval((unsigned char)p[2]), latin1);
				p += 2;
			} else
				put_cs(s, (unsigned char)*p, latin1);
		}
	}
	return (size_t)(end + 2 - in);
}

size_t
hdr_decode_2047(const char *in, char *out, size_t outlen)
{
	struct sink s = { out, 0, outlen };
	const char *p = in;
	int last_was_word = 0;

	while (*p) {
		if (p[0] == '=' && p[1] == '?') {
			size_t n = decode_word(p, &s);

			if (n > 0) {
				p += n;
				last_was_word = 1;
				continue;
			}
		}
		if (last_was_word && (*p == ' ' || *p == '\t')) {
			/* White space between two encoded-words is dropped. */
			const char *w = p;

			while (*w == ' ' || *w == '\t')
				w++;
			if (w[0] == '=' && w[1] == '?') {
				struct sink probe = { NULL, 0, 0 };

				if (decode_word(w, &probe) > 0) {
					p = w;
					continue;
				}
			}
		}
		last_was_word = 0;
		put(&s, (unsigned char)*p++);
	}
	if (outlen > 0)
		out[s.len] = '\0';
	return s.len;
}

/* Dates
 *
 * A tokenizer and rules. next_word() cuts the text into words at white
 * space and commas and drops comments; each word goes to the rules of its
 * kind (a digit first, a sign and a digit, anything else), and the first
 * rule that knows the word fills its piece of struct date_parts. The
 * whole-date forms differ mostly in the order of the same pieces, so there
 * is no rule per order; the order matters in a few places only: a number
 * is the day before the time and the year after it (RFC 5322 "1 Apr 2024
 * 10:00" vs asctime's "Apr 1 10:00:00 2024"), a weekday name counts and
 * an unknown word is forgiven only on their side of the time, and the
 * first zone wins ("-0700 (PDT) PDT"). Forms that pack pieces into one
 * word have a rule each: ISO 8601, d-mon-y, "GMT+hhmm", Go's "m=+1.5".
 * date_finish() checks that all pieces are there, applies RFC 5322 4.3's
 * years and the ranges, and makes the second.
 */

/* Three lower-case letters as one integer: see abbrev3(). */
#define A3(a, b, c)	((unsigned)(a) << 16 | (unsigned)(b) << 8 | (unsigned)(c))

static const unsigned months[] = {
	A3('j', 'a', 'n'), A3('f', 'e', 'b'), A3('m', 'a', 'r'),
	A3('a', 'p', 'r'), A3('m', 'a', 'y'), A3('j', 'u', 'n'),
	A3('j', 'u', 'l'), A3('a', 'u', 'g'), A3('s', 'e', 'p'),
	A3('o', 'c', 't'), A3('n', 'o', 'v'), A3('d', 'e', 'c'),
};
static const unsigned wdays[] = {
	A3('m', 'o', 'n'), A3('t', 'u', 'e'), A3('w', 'e', 'd'),
	A3('t', 'h', 'u'), A3('f', 'r', 'i'), A3('s', 'a', 't'),
	A3('s', 'u', 'n'),
};

struct zone_name {
	const char *name;
	int	off;			/* minutes east of UTC */
};

/* RFC 5322 4.3 names and the ones seen in real Received fields. */
static const struct zone_name zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 }, { "WET", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	{ "AKST", -540 }, { "AKDT", -480 }, { "HST", -600 },
	{ "AST", -240 }, { "ADT", -180 }, { "NST", -210 }, { "NDT", -150 },
	{ "BST", 60 }, { "IST", 60 }, { "WEST", 60 }, { "CET", 60 },
	{ "MET", 60 }, { "CEST", 120 }, { "MEST", 120 }, { "MESZ", 120 },
	{ "MEZ", 60 }, { "EET", 120 }, { "EEST", 180 }, { "MSK", 180 },
	{ "JST", 540 }, { "KST", 540 }, { "HKT", 480 }, { "SGT", 480 },
	{ "AWST", 480 }, { "ACST", 570 }, { "AEST", 600 }, { "AEDT", 660 },
	{ "NZST", 720 }, { "NZDT", 780 }, { "EIRE", 0 },
};

/* One word of a date, and what its first bytes make it. */
enum date_kind {
	DATE_NUM,		/* a digit: "7", "2003", "10:00", "2018-04-22" */
	DATE_OFFSET,		/* a sign and a digit: "+0200" */
	DATE_NAME,		/* anything else: "Apr", "PDT", "m=+1.5", ";" */
};

struct date_word {
	const char *p;
	size_t	n;
	enum date_kind kind;
};

/* The pieces found so far. */
struct date_parts {
	int	day, mon, year;		/* -1: not seen; mon 0..11 */
	int	yeardigits;		/* as written: RFC 5322 4.3 */
	int	hh, mm, ss;		/* hh -1: no time yet */
	int	zone, have_zone;	/* minutes east of UTC */
	int	unknown;		/* words that no rule took */
	const char *err;		/* set: the date is bad */
};

/* A rule takes one word: 1 it is this rule's (the piece is filled), 0 it
 * is not (the next rule is asked), -1 it is this rule's but bad (err). */
typedef int (*date_rule)(struct date_parts *, const char *, size_t);

static int
date_bad(struct date_parts *p, const char *why)
{
	p->err = why;
	return -1;
}

/* Tokenizer */

static int
date_sep(int c)
{
	return isspace(c) || c == ',';
}

/* The end of the comment at s[i] (nested; the end of s if unclosed). */
static size_t
comment_end(const char *s, size_t i, size_t len)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

/* The next word at or after *pos into w: 1, or 0 at the end. Comments,
 * e.g. "(PDT)", say nothing we rely on. */
static int
next_word(const char *s, size_t len, size_t *pos, struct date_word *w)
{
	size_t i = *pos, n = 0;

	while (i < len && (s[i] == '(' || date_sep((unsigned char)s[i])))
		i = s[i] == '(' ? comment_end(s, i, len) : i + 1;
	if (i >= len)
		return 0;
	while (i + n < len && s[i + n] != '(' &&
	    !date_sep((unsigned char)s[i + n]))
		n++;
	w->p = s + i;
	w->n = n;
	if (isdigit((unsigned char)s[i]))
		w->kind = DATE_NUM;
	else if ((s[i] == '+' || s[i] == '-') && n > 1 &&
	    isdigit((unsigned char)s[i + 1]))
		w->kind = DATE_OFFSET;
	else
		w->kind = DATE_NAME;
	*pos = i + n;
	return 1;
}

/* Pieces: each reads one piece from a counted string, and knows no state. */

static size_t
digit_span(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n && isdigit((unsigned char)w[i]); i++)
		;
	return i;
}

/* The number that the n bytes at w spell: 1 to max (<= 9) digits, or -1. */
static int
digits(const char *w, size_t n, size_t max)
{
	size_t i;
	int v = 0;

	if (n == 0 || n > max || digit_span(w, n) != n)
		return -1;
	for (i = 0; i < n; i++)
		v = v * 10 + (w[i] - '0');
	return v;
}

/* One or two digits at w[*i] (moving *i past them), or -1 if none. */
static int
time_field(const char *w, size_t n, size_t *i)
{
	size_t k = digit_span(w + *i, n - *i < 2 ? n - *i : 2);

	*i += k;
	return k == 0 ? -1 : digits(w + *i - k, k, 2);
}

/* Past an optional ".digits" at w[i]. */
static size_t
fraction_end(const char *w, size_t n, size_t i)
{
	if (i < n && w[i] == '.')
		i += 1 + digit_span(w + i + 1, n - i - 1);
	return i;
}

/* "hh:mm[:ss][.frac]", one or two digits each. The fraction is dropped;
 * a leap second, 60, is read as 59 (a second is all that is lost, and the
 * epoch has no such second). 0, or -1. */
static int
time_of_day(const char *w, size_t n, int *hh, int *mm, int *ss)
{
	size_t i = 0;
	int v[3] = { 0, 0, 0 }, k;

	for (k = 0; k < 3; k++) {
		if ((v[k] = time_field(w, n, &i)) < 0)
			return -1;
		if (k == 2 || i >= n || w[i] != ':')
			break;
		i++;
	}
	if (k == 0 || fraction_end(w, n, i) != n)
		return -1;		/* no minutes, or junk */
	if (v[0] > 23 || v[1] > 59 || v[2] > 60)
		return -1;
	*hh = v[0];
	*mm = v[1];
	*ss = v[2] == 60 ? 59 : v[2];
	return 0;
}

/* "+hhmm", "-hh:mm", "+hh": minutes east of UTC in *off; 0, or -1. */
static int
numeric_zone(const char *w, size_t n, int *off)
{
	int hh, mm = 0;

	if (n < 3 || (w[0] != '+' && w[0] != '-') ||
	    (hh = digits(w + 1, 2, 2)) < 0)
		return -1;
	if (n == 5)
		mm = digits(w + 3, 2, 2);
	else if (n == 6 && w[3] == ':')
		mm = digits(w + 4, 2, 2);
	else if (n != 3)
		return -1;
	if (mm < 0 || hh > 23 || mm > 59)
		return -1;
	*off = (w[0] == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

/* The first three letters in lower case, or 0 if they are not letters;
 * month and weekday names are then one integer comparison each. */
static unsigned
abbrev3(const char *w, size_t n)
{
	unsigned v = 0;
	size_t i;

	if (n < 3)
		return 0;
	for (i = 0; i < 3; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (c < 'a' || c > 'z')
			return 0;
		v = v << 8 | c;
	}
	return v;
}

/* The month 0..11 whose name w starts with ("Apr", "April-2024"), or -1. */
static int
month_of(const char *w, size_t n)
{
	unsigned v = abbrev3(w, n);
	int i;

	for (i = 0; v != 0 && i < 12; i++)
		if (months[i] == v)
			return i;
	return -1;
}

/* The month of a whole word: "Apr", "April" (letters after the three),
 * not "Apr." or "Apr5"; 0..11, or -1. */
static int
month_name(const char *w, size_t n)
{
	if (n > 3 && !isalpha((unsigned char)w[3]))
		return -1;
	return month_of(w, n);
}

/* 1 if w starts with a weekday's three letters ("Mon", "Monday"). */
static int
wday_name(const char *w, size_t n)
{
	unsigned v = abbrev3(w, n);
	int i;

	for (i = 0; v != 0 && i < 7; i++)
		if (wdays[i] == v)
			return 1;
	return 0;
}

/* A zone's name, in any case: the table, or a military letter. RFC 5322
 * 4.3: RFC 822 defined those wrongly, so they mean -0000 (offset not
 * known); J is none. 0 with minutes east of UTC in *off, or -1. */
static int
zone_name(const char *w, size_t n, int *off)
{
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == n &&
		    strncasecmp(zones[i].name, w, n) == 0) {
			*off = zones[i].off;
			return 0;
		}
	if (n == 1 && isalpha((unsigned char)w[0]) && toupper(w[0]) != 'J') {
		*off = 0;
		return 0;
	}
	return -1;
}

/* Setters, where pieces from different rules meet. */

static int
set_date(struct date_parts *p, int day, int mon, int year, int yeardigits)
{
	if (p->day >= 0 || p->mon >= 0 || p->year >= 0)
		return date_bad(p, "two dates");
	p->day = day;
	p->mon = mon;
	p->year = year;
	p->yeardigits = yeardigits;
	return 1;
}

static int
set_time(struct date_parts *p, const char *w, size_t n, const char *bad)
{
	if (p->hh >= 0)
		return date_bad(p, "two times");
	if (time_of_day(w, n, &p->hh, &p->mm, &p->ss) < 0)
		return date_bad(p, bad);
	return 1;
}

/* The first zone wins: "-0700 (PDT) PDT", Go's "+0000 UTC". */
static void
set_zone(struct date_parts *p, int off)
{
	if (!p->have_zone) {
		p->zone = off;
		p->have_zone = 1;
	}
}

/* Rules for words that start with a digit */

/* ISO 8601's time after the T: "02:54:17[.02][Z|+hh:mm|+hhmm|+hh]". The
 * zone written with the time is its own, so it replaces one seen before. */
static int
iso_time(struct date_parts *p, const char *w, size_t n)
{
	size_t k;
	int off;

	for (k = 0; k < n && (isdigit((unsigned char)w[k]) || w[k] == ':' ||
	    w[k] == '.'); k++)
		;
	if (set_time(p, w, k, "bad ISO time") < 0)
		return -1;
	if (k == n)
		return 1;
	if (n - k == 1 && (w[k] == 'Z' || w[k] == 'z'))
		off = 0;
	else if (numeric_zone(w + k, n - k, &off) < 0)
		return date_bad(p, "bad ISO zone");
	p->zone = off;
	p->have_zone = 1;
	return 1;
}

/* ISO 8601 and Go (SendGrid): "2018-04-22", "2018-04-22T02:54:17Z". */
static int
iso_word(struct date_parts *p, const char *w, size_t n)
{
	int y, mo, d;

	if (n < 10 || w[4] != '-' || w[7] != '-')
		return 0;
	y = digits(w, 4, 4);
	mo = digits(w + 5, 2, 2);
	d = digits(w + 8, 2, 2);
	if (y < 0 || mo < 0 || d < 0 || (n > 10 && w[10] != 'T' &&
	    w[10] != 't'))
		return date_bad(p, "bad ISO date");
	if (set_date(p, d, mo - 1, y, 4) < 0)
		return -1;
	return n == 10 ? 1 : iso_time(p, w + 11, n - 11);
}

static int
time_word(struct date_parts *p, const char *w, size_t n)
{
	if (memchr(w, ':', n) == NULL)
		return 0;
	return set_time(p, w, n, "bad time");
}

/* "7-Oct-2003", "07-October-03": day, month name and year in one word. */
static int
dmy_word(struct date_parts *p, const char *w, size_t n)
{
	const char *dash = memchr(w, '-', n), *m, *y;
	size_t mn, yn;
	int day, mon, year;

	if (dash == NULL)
		return 0;
	m = dash + 1;
	mn = (size_t)(w + n - m);
	if (month_of(m, mn) < 0)
		return 0;
	if ((y = memchr(m, '-', mn)) == NULL)
		return date_bad(p, "bad d-mon-y date");
	mn = (size_t)(y++ - m);
	yn = (size_t)(w + n - y);
	day = digits(w, (size_t)(dash - w), 2);
	mon = month_name(m, mn);
	year = digits(y, yn, 4);
	if (day < 0 || mon < 0 || year < 0)
		return date_bad(p, "bad d-mon-y date");
	return set_date(p, day, mon, year, (int)yn);
}

/* "7", "07", "91", "2003": the day or the year. RFC 5322 writes the day
 * first, asctime(3) "Nov 13 14:50:12 2005": a number after the time is the
 * year, and so is one of three or four digits. */
static int
number_word(struct date_parts *p, const char *w, size_t n)
{
	int v;

	if (digit_span(w, n) != n)
		return date_bad(p, "bad number");
	if ((v = digits(w, n, 4)) < 0)
		return date_bad(p, "number too long");
	if (p->day < 0 && n <= 2 && p->hh < 0)
		p->day = v;
	else if (p->year < 0) {
		p->year = v;
		p->yeardigits = (int)n;
	} else
		return date_bad(p, "too many numbers");
	return 1;
}

/* The word that starts with a sign and a digit */

static int
offset_word(struct date_parts *p, const char *w, size_t n)
{
	int off;

	if (numeric_zone(w, n, &off) < 0)
		return date_bad(p, "bad numeric zone");
	set_zone(p, off);
	return 1;
}

/* Rules for the other words */

/* "Apr", "April"; a second month name is left to the rules after this. */
static int
month_word(struct date_parts *p, const char *w, size_t n)
{
	int mon;

	if (p->mon >= 0 || (mon = month_name(w, n)) < 0)
		return 0;
	p->mon = mon;
	return 1;
}

/* "Mon", "Monday", before the time. It is not checked against the date:
 * it is often wrong, and says nothing the day does not. */
static int
wday_word(struct date_parts *p, const char *w, size_t n)
{
	return p->hh < 0 && wday_name(w, n);
}

/* Go's monotonic clock reading after the zone: "m=+1420.5". */
static int
go_clock_word(struct date_parts *p, const char *w, size_t n)
{
	(void)p;
	return n >= 2 && w[0] == 'm' && w[1] == '=';
}

static int
zone_word(struct date_parts *p, const char *w, size_t n)
{
	int off;

	if (zone_name(w, n, &off) < 0)
		return 0;
	set_zone(p, off);
	return 1;
}

/* "GMT+0200", "UTC-05:00" */
static int
gmt_offset_word(struct date_parts *p, const char *w, size_t n)
{
	int off;

	if (n <= 3 || (strncasecmp(w, "GMT", 3) != 0 &&
	    strncasecmp(w, "UTC", 3) != 0) || numeric_zone(w + 3, n - 3,
	    &off) < 0)
		return 0;
	set_zone(p, off);
	return 1;
}

/* Real dates trail a stray word after the time now and then: one that no
 * rule knows is forgiven there. A second one, or one before the time, is
 * not: the text is likely no date at all. */
static int
unknown_word(struct date_parts *p, const char *w, size_t n)
{
	(void)w;
	(void)n;
	if (++p->unknown > 1 || p->hh < 0)
		return date_bad(p, "unknown word");
	return 1;
}

/* The rules of each kind of word, in the order they are asked; the last
 * takes every word. */
static const date_rule num_rules[] = {
	iso_word, time_word, dmy_word, number_word,
};
static const date_rule offset_rules[] = {
	offset_word,
};
static const date_rule name_rules[] = {
	month_word, wday_word, go_clock_word, zone_word, gmt_offset_word,
	unknown_word,
};

static const struct {
	const date_rule *rule;
	size_t	n;
} date_rules[] = {
	[DATE_NUM] = { num_rules, sizeof(num_rules) / sizeof(num_rules[0]) },
	[DATE_OFFSET] = { offset_rules, 1 },
	[DATE_NAME] = { name_rules, sizeof(name_rules) / sizeof(name_rules[0]) },
};

/* Asks the rules of the word's kind in turn until one takes it. */
static void
date_word(struct date_parts *p, const struct date_word *w)
{
	const date_rule *rule = date_rules[w->kind].rule;
	size_t i, n = date_rules[w->kind].n;

	for (i = 0; i < n; i++)
		if (rule[i](p, w->p, w->n) != 0)
			return;
}

/* Assembly */

/* Howard Hinnant's days_from_civil. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
mdays(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m];
}

/* RFC 5322 4.3: a year of two digits (or one) is 2000-2049 for 00-49 and
 * 1950-1999 for 50-99; one of three digits is 1900 plus it. */
static int
full_year(int year, int yeardigits)
{
	if (yeardigits <= 2)
		return year + (year < 50 ? 2000 : 1900);
	if (yeardigits == 3)
		return year + 1900;
	return year;
}

static int
date_finish(struct date_parts *p, int64_t *t)
{
	int year;

	if (p->hh < 0)
		return date_bad(p, "no time");
	if (p->year < 0)
		return date_bad(p, "no year");
	if (p->mon < 0)
		return date_bad(p, "no month");
	if (p->day < 0)
		return date_bad(p, "no day");
	year = full_year(p->year, p->yeardigits);
	/* No mail is older than the epoch; such a year is a broken clock. */
	if (year < 1970 || year > 9999)
		return date_bad(p, "year out of range");
	if (p->mon > 11 || p->day < 1 || p->day > mdays(year, p->mon))
		return date_bad(p, "day out of range");
	*t = days_from_civil(year, (unsigned)p->mon + 1, (unsigned)p->day) *
	    86400 + p->hh * 3600 + p->mm * 60 + p->ss - (int64_t)p->zone * 60;
	return 0;
}

int
hdr_date_parse(const char *s, size_t len, int64_t *t, char *err,
    size_t errlen)
{
	struct date_parts p = { .day = -1, .mon = -1, .year = -1, .hh = -1 };
	struct date_word w;
	size_t pos = 0;

	if (len > HDR_DATE_MAX)
		len = HDR_DATE_MAX;
	while (p.err == NULL && next_word(s, len, &pos, &w))
		date_word(&p, &w);
	if (p.err != NULL || date_finish(&p, t) < 0) {
		snprintf(err, errlen, "%s", p.err);
		return -1;
	}
	if (errlen > 0)
		err[0] = '\0';
	return 0;
}

char *
hdr_date_format(int64_t t, char *buf, size_t len)
{
	int64_t z = t / 86400, rem = t % 86400, era, y;
	unsigned doe, yoe, doy, mp, d, m;

	if (rem < 0) {
		rem += 86400;
		z--;
	}
	/* civil_from_days */
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y,
	    m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	return buf;
}

int
hdr_addr(const char *s, char *out, size_t outlen)
{
	const char *lt = strchr(s, '<'), *gt, *e;
	size_t n;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		s = lt + 1;
		n = (size_t)(gt - s);
	} else {
		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s; *e && !isspace((unsigned char)*e) && *e != ';' &&
		    *e != ',' && *e != ')'; e++)
			;
		n = (size_t)(e - s);
		if (n == 0)
			return -1;
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
hdr_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t need;
		unsigned cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (i + need >= len)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

const char *
hdr_shown(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t i, o = 0;

	if (buflen == 0)
		return buf;
	for (i = 0; i < n && o + 4 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < n && o + 3 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
