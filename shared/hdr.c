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
 *	plus two-digit years (RFC 5322 4.3), zone names and Go's
 *	"2018-04-22 02:54:17.02 +0000 UTC m=+1420.5" from SendGrid.
 * DIAGNOSTICS
 *	hdr_parse() never fails: HDR_F_* flags say what was wrong (NUL bytes,
 *	invalid UTF-8, no empty line, too many fields, ...).
 *	hdr_date_parse() returns -1 and a short reason.
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

/* Dates */

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const wdays[] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
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

static int
month_of(const char *w, size_t n)
{
	unsigned v = abbrev3(w, n);
	int i;

	for (i = 0; v != 0 && i < 12; i++)
		if (abbrev3(months[i], 3) == v)
			return i;
	return -1;
}

static int
is_wday(const char *w, size_t n)
{
	unsigned v = abbrev3(w, n);
	int i;

	for (i = 0; v != 0 && i < 7; i++)
		if (abbrev3(wdays[i], 3) == v)
			return 1;
	return 0;
}

static int
zone_of(const char *w, size_t n, int *off)
{
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == n &&
		    strncasecmp(zones[i].name, w, n) == 0) {
			*off = zones[i].off;
			return 0;
		}
	/* Military zones (RFC 5322 4.3: treat as -0000). */
	if (n == 1 && isalpha((unsigned char)w[0]) && toupper(w[0]) != 'J') {
		*off = 0;
		return 0;
	}
	return -1;
}

/* "+hhmm", "-hh:mm", "+hh" */
static int
numzone(const char *w, size_t n, int *off)
{
	int sign, hh, mm = 0;

	if (n < 3 || (w[0] != '+' && w[0] != '-'))
		return -1;
	sign = w[0] == '-' ? -1 : 1;
	if (n == 5 && isdigit((unsigned char)w[1]) &&
	    isdigit((unsigned char)w[2]) && isdigit((unsigned char)w[3]) &&
	    isdigit((unsigned char)w[4])) {
		hh = (w[1] - '0') * 10 + (w[2] - '0');
		mm = (w[3] - '0') * 10 + (w[4] - '0');
	} else if (n == 6 && w[3] == ':' && isdigit((unsigned char)w[1]) &&
	    isdigit((unsigned char)w[2]) && isdigit((unsigned char)w[4]) &&
	    isdigit((unsigned char)w[5])) {
		hh = (w[1] - '0') * 10 + (w[2] - '0');
		mm = (w[4] - '0') * 10 + (w[5] - '0');
	} else if (n == 3 && isdigit((unsigned char)w[1]) &&
	    isdigit((unsigned char)w[2])) {
		hh = (w[1] - '0') * 10 + (w[2] - '0');
	} else
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 60 + mm);
	return 0;
}

/* "hh:mm[:ss[.frac]]"; returns 0 */
static int
timeword(const char *w, size_t n, int *hh, int *mm, int *ss)
{
	size_t i = 0;
	int v[3] = { 0, 0, 0 }, k = 0, digits;

	while (k < 3) {
		digits = 0;
		while (i < n && isdigit((unsigned char)w[i]) && digits < 2) {
			v[k] = v[k] * 10 + (w[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0)
			return -1;
		k++;
		if (i < n && w[i] == ':' && k < 3) {
			i++;
			continue;
		}
		break;
	}
	if (k < 2)
		return -1;
	if (i < n && w[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)w[i]))
			i++;
	}
	if (i != n)
		return -1;
	if (v[0] > 23 || v[1] > 59 || v[2] > 60)
		return -1;
	*hh = v[0];
	*mm = v[1];
	*ss = v[2] == 60 ? 59 : v[2];
	return 0;
}

/* The digits at the start of a counted word (atoi() would read past the
 * word, and past the end of the value); large numbers stop growing. */
static int
leading_num(const char *w, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n && isdigit((unsigned char)w[i]); i++)
		if (v < 100000000)
			v = v * 10 + (w[i] - '0');
	return v;
}

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

#define DATE_FAIL(why) do { snprintf(err, errlen, "%s", why); return -1; } while (0)

int
hdr_date_parse(const char *s, size_t len, int64_t *t, char *err,
    size_t errlen)
{
	int day = -1, mon = -1, year = -1, hh = -1, mm = 0, ss = 0;
	int zone = 0, have_zone = 0, unknown = 0, yeardigits = 0;
	size_t i = 0, n;
	int depth;

	if (len > HDR_DATE_MAX)
		len = HDR_DATE_MAX;
	while (i < len) {
		const char *w;
		int v, k;

		if (isspace((unsigned char)s[i]) || s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == '(') {
			/* Comments, e.g. "(PDT)", say nothing we rely on. */
			for (depth = 0; i < len; i++) {
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
			continue;
		}
		w = s + i;
		for (n = 0; i + n < len && !isspace((unsigned char)w[n]) &&
		    w[n] != ',' && w[n] != '('; n++)
			;
		i += n;
		/* ISO 8601 / Go: 2018-04-22[T02:54:17[.02][Z|+hh:mm]] */
		if (n >= 10 && isdigit((unsigned char)w[0]) && w[4] == '-' &&
		    w[7] == '-') {
			char buf[16];
			int y, mo, d;

			memcpy(buf, w, 10);
			buf[10] = '\0';
			if (sscanf(buf, "%4d-%2d-%2d", &y, &mo, &d) != 3)
				DATE_FAIL("bad ISO date");
			year = y;
			yeardigits = 4;
			mon = mo - 1;
			day = d;
			if (n > 10 && (w[10] == 'T' || w[10] == 't')) {
				size_t tn = n - 11, zi;
				const char *tw = w + 11;

				for (zi = 0; zi < tn && (isdigit((unsigned char)
				    tw[zi]) || tw[zi] == ':' || tw[zi] == '.');
				    zi++)
					;
				if (timeword(tw, zi, &hh, &mm, &ss) < 0)
					DATE_FAIL("bad ISO time");
				if (zi < tn) {
					if (tn - zi == 1 && (tw[zi] == 'Z' ||
					    tw[zi] == 'z'))
						zone = 0;
					else if (numzone(tw + zi, tn - zi,
					    &zone) < 0)
						DATE_FAIL("bad ISO zone");
					have_zone = 1;
				}
			} else if (n != 10)
				DATE_FAIL("bad ISO date");
			continue;
		}
		if (isdigit((unsigned char)w[0]) && memchr(w, ':', n) != NULL) {
			if (hh >= 0)
				DATE_FAIL("two times");
			if (timeword(w, n, &hh, &mm, &ss) < 0)
				DATE_FAIL("bad time");
			continue;
		}
		if ((w[0] == '+' || w[0] == '-') && n > 1 &&
		    isdigit((unsigned char)w[1])) {
			if (numzone(w, n, &v) < 0)
				DATE_FAIL("bad numeric zone");
			if (!have_zone) {
				zone = v;
				have_zone = 1;
			}
			continue;
		}
		if (isdigit((unsigned char)w[0])) {
			/* "7", "07", "2003", "91"; also "7-Oct-2003" */
			const char *dash = memchr(w, '-', n);

			if (dash != NULL && (k = month_of(dash + 1,
			    (size_t)(n - (size_t)(dash + 1 - w)))) >= 0) {
				const char *d2 = memchr(dash + 1, '-',
				    n - (size_t)(dash + 1 - w));

				day = leading_num(w, (size_t)(dash - w));
				mon = k;
				if (d2 == NULL)
					DATE_FAIL("bad d-mon-y date");
				year = leading_num(d2 + 1,
				    (size_t)(w + n - d2 - 1));
				yeardigits = (int)(w + n - d2 - 1);
				continue;
			}
			for (k = 0; (size_t)k < n; k++)
				if (!isdigit((unsigned char)w[k]))
					DATE_FAIL("bad number");
			if (n > 4)
				DATE_FAIL("number too long");
			v = leading_num(w, n);
			/* Day before year; a 3- or 4-digit number or one that
			 * follows the time (asctime) is the year. */
			if (day < 0 && n <= 2 && hh < 0)
				day = v;
			else if (year < 0) {
				year = v;
				yeardigits = (int)n;
			} else
				DATE_FAIL("too many numbers");
			continue;
		}
		if ((k = month_of(w, n)) >= 0 && mon < 0 && (n == 3 ||
		    (n > 3 && isalpha((unsigned char)w[3])))) {
			mon = k;
			continue;
		}
		if (is_wday(w, n) && hh < 0)
			continue;
		if (n >= 2 && w[0] == 'm' && w[1] == '=')
			continue;		/* Go's monotonic clock reading */
		if (zone_of(w, n, &v) == 0) {
			if (!have_zone) {
				zone = v;
				have_zone = 1;
			}
			continue;
		}
		/* "GMT+0200", "UTC-05:00" */
		if (n > 3 && (strncasecmp(w, "GMT", 3) == 0 ||
		    strncasecmp(w, "UTC", 3) == 0) &&
		    numzone(w + 3, n - 3, &v) == 0) {
			if (!have_zone) {
				zone = v;
				have_zone = 1;
			}
			continue;
		}
		if (++unknown > 1 || hh < 0)
			DATE_FAIL("unknown word");
	}
	if (day < 0 || mon < 0 || year < 0 || hh < 0)
		DATE_FAIL(hh < 0 ? "no time" : year < 0 ? "no year" :
		    mon < 0 ? "no month" : "no day");
	/* RFC 5322 4.3 */
	if (yeardigits <= 2)
		year += year < 50 ? 2000 : 1900;
	else if (yeardigits == 3)
		year += 1900;
	if (year < 1970 || year > 9999)
		DATE_FAIL("year out of range");
	if (mon < 0 || mon > 11 || day < 1 || day > mdays(year, mon))
		DATE_FAIL("day out of range");
	*t = days_from_civil(year, (unsigned)mon + 1, (unsigned)day) * 86400 +
	    hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
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
