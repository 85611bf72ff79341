/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	html 3
 * SUMMARY
 *	the self-contained HTML report of a run
 * SYNOPSIS
 *	#include "verifier/html.h"
 *
 *	struct html *html_open(const char *path, char *err, size_t errlen);
 *	void html_message_buf(struct report_buf *b, const char *source,
 *		long index, const struct chain *c);
 *	void html_write(struct html *h, const struct chain *c,
 *		const char *sec, size_t len);
 *	void html_unreadable(struct html *h, const char *source, long index,
 *		const char *why);
 *	void html_flush(struct html *h);
 *	int html_close(struct html *h, const struct summary *s, char *err,
 *		size_t errlen);
 * DESCRIPTION
 *	One HTML file per run (SPEC 3.5): inline CSS and inline SVG, no
 *	script, no URL but fragments of the file itself; a Content-Security-
 *	Policy meta element forbids every load besides.
 *
 *	html_open() writes the head: the style sheet, the legend and the
 *	opening of a flex column (main.report). Each message is a <section
 *	class="msg"> with id "mN" (N its place in the run, counted from 0,
 *	never a byte of the message) and data-verdict; html_message_buf()
 *	formats its inside (any thread), html_write() wraps and writes it
 *	in input order. Sections go to the FILE as they come: nothing is
 *	kept per message. The run summary is only known at the end, so
 *	html_close() writes it last, and CSS (order: -1) shows it first. A
 *	run that is killed leaves a file a browser shows all the same; a
 *	note at the top says the summary is missing, and is hidden (CSS
 *	:has()) once the summary was written.
 *
 *	A section: the first line of the text output (verdict, origin,
 *	From: domain, DMARC), From, Subject and Message-ID, the hop
 *	timeline, the origin's iprev and SPF, DKIM, ARC, DMARC, the claims
 *	beside our results, the findings, and the Received fields as
 *	written with why each hop is (not) trusted.
 *
 *	The timeline is an SVG drawn top to bottom, oldest first: the
 *	sender (Date:), then one node (g.hop) per hop named after the host
 *	that received it, with the hop number, the delay from the previous
 *	hop in human form on the line above, badges for the kind, TLS (a
 *	lock) and SMTP AUTH, the sender and protocol, and what was signed
 *	or broken there. The hops outside the trust boundary are on a grey
 *	band with a dashed line, those inside on a blue band with a solid
 *	line; a dashed rule between them is labelled. A node is red or
 *	amber when a finding of that severity is about its hop. SVG text
 *	does not wrap: names are broken into lines here, counting columns
 *	of a monospace font (two for a character beyond ASCII).
 *
 *	The summary: counts per verdict (labels of radio buttons that
 *	filter the sections, CSS only), a bar of the verdicts, the most
 *	frequent origins and From: domains of non-authenticated mail, a
 *	histogram of hop delays, and how many sections were left out.
 *
 *	Every byte that comes from a message is escaped (& < > " ' as
 *	entities) in text, attributes and SVG alike; it is never put into
 *	a style, a URL, an id or an element name.
 * DIAGNOSTICS
 *	Invalid UTF-8, control characters, C1 controls and the Unicode
 *	bidirectional embeddings, overrides and isolates (which would
 *	reorder the text around them) are shown as U+FFFD. Write errors
 *	are reported by html_close().
 * LIMITS
 *	HTML_MESSAGES_MAX sections in full; past it only non-authenticated
 *	messages get one, the others are counted. A mark on the timeline
 *	(a signature added or broken) is cut to one line with "..." (the
 *	tables below hold the whole value).
 *--*/
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/hdr.h"
#include "shared/mem.h"
#include "shared/spf.h"
#include "verifier/checkdom.h"
#include "verifier/dkim.h"
#include "verifier/html.h"
#include "verifier/obuf.h"

#define HTML_FILE_BUF	(1 << 20)	/* stdio buffer of the file */
#define HTML_LINE_MAX	1024		/* a line of the timeline */

#define bput		obuf_put
#define bputs		obuf_puts
#define bputc		obuf_putc
#define bnum		obuf_num
#define BLIT		OBUF_LIT

struct html {
	FILE	*f;
	char	*fbuf;			/* its stdio buffer */
	pthread_mutex_t mu;		/* writer against the flusher */
	unsigned long nmsg;		/* messages seen: the next id */
	unsigned long nsec;		/* sections written */
	unsigned long nleft;		/* authenticated, left out */
};

/* ------------------------------------------------------------ escaping */

/* Bytes copied as they are in HTML text and attribute values. */
static const unsigned char hsafe[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

#define ONES		0x0101010101010101ull
#define HIGHS		0x8080808080808080ull
#define HASZERO(v)	(((v) - ONES) & ~(v) & HIGHS)
#define HASBYTE(w, c)	HASZERO((w) ^ (ONES * (c)))

/* Are the 8 bytes at p all safe? (Bit Twiddling Hacks' "has less" and
 * "has zero", exact for "any".) */
static int
safe8(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	if (w & HIGHS)
		return 0;
	return (((w - ONES * 0x20) & ~w & HIGHS) | HASBYTE(w, 0x7f) |
	    HASBYTE(w, '&') | HASBYTE(w, '<') | HASBYTE(w, '>') |
	    HASBYTE(w, '"') | HASBYTE(w, '\'')) == 0;
}

#define FFFD	"\xef\xbf\xbd"

/* The character at s (a byte from 0x80 up, n > 0 bytes left) as esc()
 * shows it: its length, *copy 1 when its bytes are copied, 0 when it is
 * shown as one U+FFFD (invalid UTF-8: each byte; a C1 control or a
 * bidi embedding, override or isolate: the character). */
static size_t
utf8_char(const unsigned char *s, size_t n, int *copy)
{
	unsigned c = s[0];
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;

	if (need == 0 || need > n || !hdr_utf8_valid((const char *)s, need)) {
		*copy = 0;
		return 1;
	}
	*copy = !((need == 2 && c == 0xc2 && s[1] < 0xa0) ||
	    (need == 3 && c == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa &&
	    s[2] <= 0xae) || (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9))));
	return need;
}

/* n bytes as HTML text or attribute value. pre: keep line ends (a
 * <pre>; CR dropped), else tab, CR and LF are spaces. */
static void
esc(struct report_buf *b, const char *str, size_t n, int pre)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start, k;
	int copy;

	while (i < n) {
		start = i;
		while (n - i >= 8 && safe8(s + i))
			i += 8;
		while (i < n && hsafe[s[i]])
			i++;
		if (i > start)
			bput(b, str + start, i - start);
		if (i == n)
			break;
		switch (s[i]) {
		case '&':
			BLIT(b, "&amp;");
			break;
		case '<':
			BLIT(b, "&lt;");
			break;
		case '>':
			BLIT(b, "&gt;");
			break;
		case '"':
			BLIT(b, "&quot;");
			break;
		case '\'':
			BLIT(b, "&#39;");
			break;
		case '\n':
			bputc(b, pre ? '\n' : ' ');
			break;
		case '\r':
			if (!pre)
				bputc(b, ' ');
			break;
		case '\t':
			bputc(b, pre ? '\t' : ' ');
			break;
		default:
			if (s[i] < 0x80) {
				BLIT(b, FFFD);
				break;
			}
			k = utf8_char(s + i, n - i, &copy);
			if (copy)
				bput(b, str + i, k);
			else
				BLIT(b, FFFD);
			i += k;
			continue;
		}
		i++;
	}
}

static void
escs(struct report_buf *b, const char *s)
{
	esc(b, s, strlen(s), 0);
}

/* s, or dash when it is NULL or empty. */
static void
escd(struct report_buf *b, const char *s)
{
	if (s == NULL || s[0] == '\0')
		BLIT(b, "\xe2\x80\x93");
	else
		escs(b, s);
}

/* ------------------------------------------------------ SVG text lines */

#define WRAP_SLACK	24	/* columns a line may end early */

static int
break_after(unsigned char c)
{
	return c == '.' || c == '-' || c == '/' || c == '@' || c == ',' ||
	    c == ';' || c == ':' || c == ' ' || c == '_' || c == '=';
}

/* One more line of a <text>: a <tspan> at x, lh below the last. */
static void
line_open(struct report_buf *b, int x, int lh)
{
	BLIT(b, "<tspan x=\"");
	bnum(b, x);
	BLIT(b, "\" dy=\"");
	bnum(b, lh);
	BLIT(b, "\">");
}

/* s as lines of at most cols columns inside an open <text>: the first
 * as it is, the next ones each in a <tspan>. A line breaks after a
 * dot, a dash, a space ... when one is near its end, else anywhere.
 * With b NULL the lines are only counted. Returns the number of lines. */
static int
wrap(struct report_buf *b, const char *str, size_t n, int cols, int x,
    int lh)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0, brk = 0, len, end;
	int col = 0, brkcol = 0, lines = 1, w, copy;

	while (i < n) {
		if (s[i] < 0x80) {
			len = 1;
			w = 1;
		} else {
			len = utf8_char(s + i, n - i, &copy);
			w = 2;
		}
		if (col + w > cols && i > start) {
			end = i;
			if (brk > start && col - brkcol <= WRAP_SLACK) {
				end = brk;
				col -= brkcol;
			} else
				col = 0;
			if (b != NULL) {
				esc(b, str + start, end - start, 0);
				if (lines > 1)
					BLIT(b, "</tspan>");
				line_open(b, x, lh);
			}
			start = brk = end;
			lines++;
		}
		col += w;
		i += len;
		if (len == 1 && break_after(s[i - 1])) {
			brk = i;
			brkcol = col;
		}
	}
	if (b != NULL) {
		esc(b, str + start, n - start, 0);
		if (lines > 1)
			BLIT(b, "</tspan>");
	}
	return lines;
}

/* s on one line of at most cols columns, cut with an ellipsis. */
static void
cut(struct report_buf *b, const char *str, size_t n, int cols)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, fit = 0, len;
	int col = 0, w, copy;

	while (i < n) {
		if (s[i] < 0x80) {
			len = 1;
			w = 1;
		} else {
			len = utf8_char(s + i, n - i, &copy);
			w = 2;
		}
		if (col + w > cols) {
			esc(b, str, fit, 0);
			BLIT(b, "\xe2\x80\xa6");
			return;
		}
		col += w;
		i += len;
		if (col <= cols - 1)
			fit = i;
	}
	esc(b, str, n, 0);
}

/* A line being composed (cut at HTML_LINE_MAX - 1 bytes: never, with
 * the fields' own limits). */
struct line {
	char	s[HTML_LINE_MAX];
	size_t	n;
};

static void
lreset(struct line *l)
{
	l->n = 0;
	l->s[0] = '\0';
}

static void
lcat(struct line *l, const char *t)
{
	size_t k = strlen(t);

	if (k > sizeof(l->s) - 1 - l->n)
		k = sizeof(l->s) - 1 - l->n;
	memcpy(l->s + l->n, t, k);
	l->n += k;
	l->s[l->n] = '\0';
}

static void
lnum(struct line *l, long long v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%lld", v);
	lcat(l, tmp);
}

/* ------------------------------------------------------------ values */


static char *
dig2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* "2024-05-01 10:00:00 UTC" (buf >= 40): by hand, as it is written for
 * every hop; hdr_date_format() for years outside 0..9999. */
static void
date_str(int64_t t, char *buf)
{
	int64_t z, rem, era;
	unsigned doe, yoe, doy, mp, d, m, y;
	char *p = buf;

	if (t < 0 || t > 253402300799ll) {
		hdr_date_format(t, buf, 32);
		if (strlen(buf) == 20) {
			buf[10] = ' ';
			memcpy(buf + 19, " UTC", 5);
		}
		return;
	}
	/* civil_from_days (as hdr_date_format()) */
	z = t / 86400 + 719468;
	rem = t % 86400;
	era = z / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + (unsigned)era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	p = dig2(p, y / 100);
	p = dig2(p, y % 100);
	*p++ = '-';
	p = dig2(p, m);
	*p++ = '-';
	p = dig2(p, d);
	*p++ = ' ';
	p = dig2(p, (unsigned)(rem / 3600));
	*p++ = ':';
	p = dig2(p, (unsigned)(rem / 60 % 60));
	*p++ = ':';
	p = dig2(p, (unsigned)(rem % 60));
	memcpy(p, " UTC", 5);
}

static const char *
result_class(enum auth_result r)
{
	return r == AUTH_PASS ? "r-pass" : r == AUTH_FAIL ? "r-fail" :
	    r == AUTH_NONE ? "r-none" : "r-other";
}

static const char *
word_class(const char *w)
{
	if (w == NULL)
		return "r-none";
	if (strcmp(w, "pass") == 0)
		return "r-pass";
	if (strcmp(w, "fail") == 0 || strcmp(w, "softfail") == 0)
		return "r-fail";
	if (strcmp(w, "none") == 0)
		return "r-none";
	return "r-other";
}

/* <span class="r-...">w</span>: mine, w is a word of ours (copied);
 * else it came from the message (escaped). */
static void
result_span(struct report_buf *b, const char *cls, const char *w, int mine)
{
	BLIT(b, "<span class=\"");
	bputs(b, cls);
	BLIT(b, "\">");
	if (mine)
		bputs(b, w);
	else
		escd(b, w);
	BLIT(b, "</span>");
}

/* A check as a word: yes, no, or an en dash when it was not made. */
static const char *
check_str(enum auth_check v, const char *yes, const char *no)
{
	return v == AUTH_CHECK_NONE ? "\xe2\x80\x93" : v == AUTH_CHECK_PASS ?
	    yes : no;
}

/* An ARC signature's check, with the reason when there is one. */
static void
check_cell(struct report_buf *b, enum auth_check v, enum auth_reason why)
{
	bputs(b, check_str(v, "pass", "fail"));
	if (auth_reason_str(why)) {
		bputc(b, ' ');
		bputs(b, auth_reason_str(why));
	}
}

/* -------------------------------------------------------------- timeline */

#define TL_W		760	/* width (px; less on narrow pages) */
#define TL_GUT		156	/* right edge of the gutter */
#define TL_SPINE	172	/* x of the line and the nodes */
#define TL_TX		192	/* x of the text */
#define TL_HCOLS	68	/* columns of a host name (13px monospace) */
#define TL_DCOLS	74	/* columns of a detail line (12px) */
#define TL_MCOLS	80	/* columns of a mark (11px) */
#define TL_HLH		16	/* line heights */
#define TL_DLH		14
#define TL_MLH		14
#define TL_CONN		20	/* above a node: the delay */
#define TL_BCONN	38	/* above the boundary node: the rule too */

struct tl_row {
	int	top, node, h;
};

/* What the host that received hop n (0: the sender) added or broke. */
static int
tl_marks(struct report_buf *b, const struct chain *c, int n, int x, int y)
{
	struct line l;
	int i, k = 0;

#define MARK(cls) do {							\
	if (b != NULL) {						\
		BLIT(b, "<text class=\"mk " cls "\" x=\"");		\
		bnum(b, x);						\
		BLIT(b, "\" y=\"");					\
		bnum(b, y + k * TL_MLH);				\
		BLIT(b, "\">");						\
		cut(b, l.s, l.n, TL_MCOLS);				\
		BLIT(b, "</text>");					\
	}								\
	k++;								\
} while (0)

	if (n > 0 && n == c->boundary_hop) {
		lreset(&l);
		lcat(&l, "origin ");
		lcat(&l, c->origin_ip[0] ? c->origin_ip : "(no address)");
		if (c->evaluated) {
			lcat(&l, ": iprev ");
			lcat(&l, c->iprev != CHAIN_IPREV_NOTCHECKED ?
			    chain_iprev_str(c->iprev) : "-");
			lcat(&l, ", SPF ");
			lcat(&l, c->spf >= 0 ?
			    spf_result_str((enum spf_result)c->spf) : "-");
			lcat(&l, " (evaluated now)");
		} else
			lcat(&l, ": iprev and SPF not evaluated");
		MARK("og");
	}
	for (i = 0; i < c->dkim.n; i++) {
		const struct dkim_result *r = &c->dkim.sig[i];

		if (r->hop_added == n) {
			lreset(&l);
			lcat(&l, n ? "+ DKIM signed here: d=" :
			    "+ DKIM signed by the sender: d=");
			lcat(&l, r->d);
			lcat(&l, ", ");
			lcat(&l, auth_result_str(r->result));
			if (r->result == AUTH_PASS)
				MARK("ok");
			else
				MARK("bad");
		}
		if (n > 0 && r->hop_broken == n) {
			lreset(&l);
			lcat(&l, "\xc3\x97 DKIM d=");
			lcat(&l, r->d);
			lcat(&l, " broken at this hop or after");
			MARK("bad");
		}
	}
	for (i = 0; i < c->arc.nsets; i++) {
		const struct arc_set *s = &c->arc.sets[i];

		if (s->hop_added == n) {
			lreset(&l);
			lcat(&l, "+ ARC set i=");
			lnum(&l, s->instance);
			lcat(&l, " sealed here: d=");
			lcat(&l, s->as_d[0] ? s->as_d : s->d);
			lcat(&l, ", ");
			lcat(&l, auth_result_str(s->result));
			if (s->result == AUTH_PASS)
				MARK("ok");
			else
				MARK("bad");
		}
		if (n > 0 && s->hop_broken == n) {
			lreset(&l);
			lcat(&l, "\xc3\x97 ARC i=");
			lnum(&l, s->instance);
			lcat(&l, " message signature broken at this hop or "
			    "after");
			MARK("bad");
		}
	}
	/* the claims added here, one line per field (a run of claims of
	 * the same authserv-id) */
	for (i = 0; n > 0 && i < c->nclaims; i++) {
		const struct chain_claim *q = &c->claims[i];
		const struct chain_claim *prev = i > 0 ? q - 1 : NULL;
		int j;

		if (q->hop != n || (prev != NULL && prev->hop == n &&
		    prev->arc == q->arc &&
		    strcmp(prev->authserv_id, q->authserv_id) == 0))
			continue;
		lreset(&l);
		lcat(&l, q->arc ? "AAR " : "A-R ");
		lcat(&l, q->authserv_id[0] ? q->authserv_id : "?");
		lcat(&l, ":");
		for (j = i; j < c->nclaims && c->claims[j].hop == n &&
		    c->claims[j].arc == q->arc &&
		    strcmp(c->claims[j].authserv_id, q->authserv_id) == 0;
		    j++) {
			lcat(&l, " ");
			lcat(&l, c->claims[j].method);
			lcat(&l, "=");
			lcat(&l, c->claims[j].result);
		}
		MARK("cl");
	}
#undef MARK
	return k;
}

/* The sender and the protocol of hop hp, as lines. */
static void
tl_from(const struct chain_hop *hp, struct line *l)
{
	const struct received *r = &hp->r;

	l->n = 0;
	l->s[0] = '\0';
	if (r->kind == RECEIVED_UNPARSED) {
		lcat(l, "(unparsed: ");
		lcat(l, r->note);
		lcat(l, ")");
	} else if (r->kind == RECEIVED_MARKER || (r->kind != RECEIVED_RELAY &&
	    r->from_name[0] == '\0')) {
		lcat(l, "(");
		lcat(l, received_kind_str(r->kind));
		lcat(l, ")");
	} else {
		lcat(l, "from ");
		lcat(l, r->from_helo[0] ? r->from_helo : r->from_name[0] ?
		    r->from_name : "-");
		lcat(l, " (");
		lcat(l, r->from_rdns[0] ? r->from_rdns : "unknown");
		lcat(l, " [");
		lcat(l, r->from_ip[0] ? r->from_ip : "-");
		lcat(l, "])");
	}
}

static void
tl_with(const struct chain_hop *hp, struct line *l)
{
	const struct received *r = &hp->r;
	char ds[40];

	l->n = 0;
	l->s[0] = '\0';
	if (r->with[0] || r->via[0]) {
		lcat(l, r->with[0] ? "with " : "via ");
		lcat(l, r->with[0] ? r->with : r->via);
	}
	if (r->has_date) {
		date_str(r->date, ds);
		lcat(l, l->n ? ", " : "");
		lcat(l, ds);
	} else
		lcat(l, l->n ? ", no date" : "no date");
	if (r->has_envelope_from) {
		lcat(l, ", envelope-from <");
		lcat(l, r->envelope_from);
		lcat(l, ">");
	}
}

static void
tl_badge(struct report_buf *b, int x, int y, int w, const char *cls,
    const char *word, const char *tip, size_t tiplen)
{
	BLIT(b, "<g class=\"");
	bputs(b, cls);
	BLIT(b, "\">");
	if (tip != NULL) {
		BLIT(b, "<title>");
		esc(b, tip, tiplen, 0);
		BLIT(b, "</title>");
	}
	BLIT(b, "<rect x=\"");
	bnum(b, x);
	BLIT(b, "\" y=\"");
	bnum(b, y);
	BLIT(b, "\" width=\"");
	bnum(b, w);
	BLIT(b, "\" height=\"14\" rx=\"3\"/><text x=\"");
	bnum(b, x + w / 2);
	BLIT(b, "\" y=\"");
	bnum(b, y + 10);
	BLIT(b, "\">");
	bputs(b, word);
	BLIT(b, "</text></g>");
}

/* Kind, AUTH and TLS of hop hp beside its node at ny. */
static void
tl_badges(struct report_buf *b, const struct chain_hop *hp, int ny)
{
	const struct received *r = &hp->r;
	const char *k = received_role_str(hp->kind);
	int kw = (int)strlen(k) * 6 + 10;
	static const char authtip[] = "the sender authenticated (SMTP AUTH)";

	tl_badge(b, TL_GUT - 56 - kw, ny - 7, kw, "kb", k, NULL, 0);
	if (r->auth > 0)
		tl_badge(b, TL_GUT - 50, ny - 7, 32, "ab", "AUTH", authtip,
		    sizeof(authtip) - 1);
	BLIT(b, "<g class=\"");
	bputs(b, r->tls > 0 ? "ly" : r->tls == 0 ? "ln" : "lq");
	BLIT(b, "\"><title>");
	if (r->tls > 0) {
		BLIT(b, "TLS");
		if (r->tls_detail[0]) {
			BLIT(b, ": ");
			escs(b, r->tls_detail);
		}
	} else if (r->tls == 0)
		BLIT(b, "no TLS recorded");
	else
		BLIT(b, "TLS unknown");
	/* the lock: a symbol of the head (closed, or open) */
	BLIT(b, "</title><use href=\"");
	bputs(b, r->tls > 0 ? "#lk" : "#lo");
	BLIT(b, "\" x=\"");
	bnum(b, TL_GUT - 15);
	BLIT(b, "\" y=\"");
	bnum(b, ny - 8);
	BLIT(b, "\"/></g>");
}

/* One row: hop i (1..nhops), or the sender (0), its top at y. With b
 * NULL it is only measured. Returns its height; *ny: its node's y. */
static int
tl_row(struct report_buf *b, const struct chain *c, int i, int y,
    const signed char *worst, int *ny)
{
	const struct chain_hop *hp = i > 0 ? &c->hops[i - 1] : NULL;
	struct line l;
	int conn, node, base, n, k;
	char ds[48];

	conn = i == 0 ? 6 : i == c->boundary_hop ? TL_BCONN : TL_CONN;
	node = y + conn + 9;
	base = node + 5;
	*ny = node;

	if (hp == NULL) {
		/* the sender */
		if (b != NULL) {
			BLIT(b, "<g class=\"snd\"><rect class=\"s0\" x=\"");
			bnum(b, TL_SPINE - 6);
			BLIT(b, "\" y=\"");
			bnum(b, node - 6);
			BLIT(b, "\" width=\"12\" height=\"12\"/>"
			    "<text class=\"h\" x=\"");
			bnum(b, TL_TX);
			BLIT(b, "\" y=\"");
			bnum(b, base);
			BLIT(b, "\">sender</text><text x=\"");
			bnum(b, TL_TX + 64);
			BLIT(b, "\" y=\"");
			bnum(b, base);
			BLIT(b, "\">");
			if (c->has_date) {
				date_str(c->date, ds);
				BLIT(b, "Date: ");
				bputs(b, ds);
			} else
				BLIT(b, "no Date:");
			if (c->nhops == 0)
				BLIT(b, "; no Received field: the path is "
				    "unknown");
			BLIT(b, "</text>");
		}
		k = tl_marks(b, c, 0, TL_TX, base + TL_MLH);
		if (b != NULL)
			BLIT(b, "</g>");
		/* the row ends 9 below its last line */
		return base + k * TL_MLH + 9 - y;
	}

	if (b != NULL) {
		BLIT(b, "<g class=\"hop\"><title>hop ");
		bnum(b, hp->n);
		BLIT(b, ", ");
		bputs(b, chain_trust_str(hp->trust));
		BLIT(b, ": ");
		escs(b, hp->why);
		if (worst[i] >= CHAIN_WARN) {
			BLIT(b, "; findings:");
			for (k = 0; k < c->nf; k++)
				if (c->f[k].hop == i) {
					bputc(b, ' ');
					bputs(b, c->f[k].code);
				}
		}
		BLIT(b, "</title>");
		if (i == c->boundary_hop) {
			BLIT(b, "<line class=\"bl\" x1=\"0\" x2=\"");
			bnum(b, TL_W);
			BLIT(b, "\" y1=\"");
			bnum(b, y + 16);
			BLIT(b, "\" y2=\"");
			bnum(b, y + 16);
			BLIT(b, "\"/><text class=\"rl\" x=\"");
			bnum(b, TL_W - 8);
			BLIT(b, "\" y=\"");
			bnum(b, y + 11);
			BLIT(b, "\">\xe2\x96\xb2 untrusted, not verified</text>"
			    "<text class=\"rl\" x=\"");
			bnum(b, TL_W - 8);
			BLIT(b, "\" y=\"");
			bnum(b, y + 29);
			BLIT(b, "\">\xe2\x96\xbc trusted: your hosts</text>");
		}
		if (hp->has_delay) {
			report_delay_str(hp->delay_s, ds, sizeof(ds));
			BLIT(b, "<text class=\"dl");
			if (hp->delay_s < 0)
				BLIT(b, " neg");
			else if (hp->delay_s >= 3600)
				BLIT(b, " slow");
			BLIT(b, "\" x=\"");
			bnum(b, TL_GUT);
			BLIT(b, "\" y=\"");
			bnum(b, node - 13);
			BLIT(b, "\">");
			bputs(b, ds);
			BLIT(b, "</text>");
		}
		BLIT(b, "<circle class=\"");
		bputs(b, worst[i] == CHAIN_ERROR ? "ne" : worst[i] ==
		    CHAIN_WARN ? "nw" : hp->trust == CHAIN_UNTRUSTED ? "nu" :
		    "nt");
		BLIT(b, "\" cx=\"");
		bnum(b, TL_SPINE);
		BLIT(b, "\" cy=\"");
		bnum(b, node);
		BLIT(b, "\" r=\"9\"/><text class=\"hn");
		if (worst[i] < CHAIN_WARN && hp->trust == CHAIN_UNTRUSTED)
			BLIT(b, " dk");
		BLIT(b, "\" x=\"");
		bnum(b, TL_SPINE);
		BLIT(b, "\" y=\"");
		bnum(b, node + 3);
		BLIT(b, "\">");
		bnum(b, hp->n);
		BLIT(b, "</text>");
		tl_badges(b, hp, node);
		BLIT(b, "<text class=\"h\" x=\"");
		bnum(b, TL_TX);
		BLIT(b, "\" y=\"");
		bnum(b, base);
		BLIT(b, "\">");
	}
	if (hp->r.by_host[0])
		n = wrap(b, hp->r.by_host, strlen(hp->r.by_host), TL_HCOLS,
		    TL_TX, TL_HLH);
	else {
		if (b != NULL)
			BLIT(b, "(no by host)");
		n = 1;
	}
	base += (n - 1) * TL_HLH + TL_DLH + 1;
	tl_from(hp, &l);
	if (b != NULL) {
		BLIT(b, "</text><text x=\"");
		bnum(b, TL_TX);
		BLIT(b, "\" y=\"");
		bnum(b, base);
		BLIT(b, "\">");
	}
	n = wrap(b, l.s, l.n, TL_DCOLS, TL_TX, TL_DLH);
	base += n * TL_DLH;
	tl_with(hp, &l);
	if (b != NULL) {
		BLIT(b, "</text><text class=\"w\" x=\"");
		bnum(b, TL_TX);
		BLIT(b, "\" y=\"");
		bnum(b, base);
		BLIT(b, "\">");
	}
	n = wrap(b, l.s, l.n, TL_DCOLS, TL_TX, TL_DLH);
	if (b != NULL)
		BLIT(b, "</text>");
	base += n * TL_DLH;
	k = tl_marks(b, c, i, TL_TX, base);
	base += k * TL_MLH;
	if (b != NULL)
		BLIT(b, "</g>");
	/* base is where a next line would be: the row ends 9 below the last */
	return base - TL_DLH + 9 - y;
}

static void
tl_rect(struct report_buf *b, const char *cls, int y, int h)
{
	BLIT(b, "<rect class=\"");
	bputs(b, cls);
	BLIT(b, "\" x=\"0\" y=\"");
	bnum(b, y);
	BLIT(b, "\" width=\"");
	bnum(b, TL_W);
	BLIT(b, "\" height=\"");
	bnum(b, h);
	BLIT(b, "\"/>");
}

static void
tl_spine(struct report_buf *b, const char *cls, int y1, int y2)
{
	if (y2 <= y1)
		return;
	BLIT(b, "<line class=\"");
	bputs(b, cls);
	BLIT(b, "\" x1=\"");
	bnum(b, TL_SPINE);
	BLIT(b, "\" x2=\"");
	bnum(b, TL_SPINE);
	BLIT(b, "\" y1=\"");
	bnum(b, y1);
	BLIT(b, "\" y2=\"");
	bnum(b, y2);
	BLIT(b, "\"/>");
}

static void
timeline(struct report_buf *b, const struct chain *c)
{
	struct tl_row row[RECEIVED_MAX + 1];
	signed char worst[RECEIVED_MAX + 1];
	int i, y = 0, nh = c->nhops, yb = -1;

	if (nh > RECEIVED_MAX)
		nh = RECEIVED_MAX;
	memset(worst, -1, sizeof(worst));
	for (i = 0; i < c->nf; i++)
		if (c->f[i].hop > 0 && c->f[i].hop <= nh &&
		    (int)c->f[i].sev > worst[c->f[i].hop])
			worst[c->f[i].hop] = (signed char)c->f[i].sev;
	for (i = 0; i <= nh; i++) {
		row[i].top = y;
		row[i].h = tl_row(NULL, c, i, y, worst, &row[i].node);
		y += row[i].h;
	}
	y += 4;
	if (c->boundary_hop > 0 && c->boundary_hop <= nh)
		yb = row[c->boundary_hop].top + 16;

	/* its width is in the style sheet, its height follows */
	BLIT(b, "<svg class=\"timeline\" viewBox=\"0 0 ");
	bnum(b, TL_W);
	bputc(b, ' ');
	bnum(b, y);
	BLIT(b, "\" aria-label=\"hops, oldest first\">");
	if (nh == 0)
		tl_rect(b, "bu", 0, y);
	else if (yb >= 0) {
		tl_rect(b, "bu", 0, yb);
		tl_rect(b, "bt", yb, y - yb);
		tl_spine(b, "su", row[0].node, yb);
		tl_spine(b, "st", yb, row[nh].node);
	} else {
		tl_rect(b, "bt", 0, y);
		tl_spine(b, "st", row[0].node, row[nh].node);
	}
	for (i = 0; i <= nh; i++)
		(void)tl_row(b, c, i, row[i].top, worst, &row[i].node);
	BLIT(b, "</svg>");
}

/* ------------------------------------------------------------ sections */

/* The origin as a reader names it (report.c's origin_str()). */
static void
origin_html(struct report_buf *b, const struct chain *c)
{
	int claimed;
	const char *name = chain_origin_name(c, &claimed);

	if (name == NULL) {
		if (c->nhops)
			BLIT(b, "a trusted host (no untrusted hop)");
		else
			BLIT(b, "an unknown origin (no Received)");
		return;
	}
	BLIT(b, "<b>");
	escs(b, c->origin_ip[0] ? c->origin_ip : "(no address)");
	BLIT(b, "</b>");
	if (name[0]) {
		BLIT(b, " (");
		if (claimed)
			BLIT(b, "says ");
		escs(b, name);
		bputc(b, ')');
	}
}

static void
who_line(struct report_buf *b, const char *source, long index,
    const struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;
	const char *v = chain_verdict_str(c->verdict);
	const char *pol = dmarc_policy_str(m->ev.policy);

	BLIT(b, "<h2><span class=\"verdict v-");
	bputs(b, v);
	BLIT(b, "\">");
	bputs(b, v);
	BLIT(b, "</span> sent by ");
	origin_html(b, c);
	BLIT(b, ", From: <b>");
	escs(b, m->checked && m->d.from_domain[0] ? m->d.from_domain :
	    "(no domain)");
	BLIT(b, "</b>, DMARC ");
	bputs(b, dmarc_result_str(m->ev.result));
	if (pol) {
		BLIT(b, " p=");
		bputs(b, pol);
	}
	BLIT(b, "</h2><p class=\"src\">");
	escs(b, source);
	bputc(b, ':');
	bnum(b, index);
	BLIT(b, "</p>");
}

static void
dd(struct report_buf *b, const char *term, const char *v)
{
	BLIT(b, "<dt>");
	bputs(b, term);
	BLIT(b, "</dt><dd>");
	escd(b, v);
	BLIT(b, "</dd>");
}

static void
origin_para(struct report_buf *b, const struct chain *c)
{
	if (c->boundary_hop == 0)
		return;
	BLIT(b, "<p class=\"og\"><b>Origin</b> hop ");
	bnum(b, c->boundary_hop);
	BLIT(b, ": <span class=\"m\">");
	escs(b, c->origin_ip[0] ? c->origin_ip : "(no address)");
	if (c->origin_helo[0]) {
		BLIT(b, " helo=");
		escs(b, c->origin_helo);
	}
	if (c->has_origin_sender) {
		BLIT(b, " envelope-from=&lt;");
		escs(b, c->origin_sender);
		BLIT(b, "&gt;");
	}
	BLIT(b, "</span> iprev ");
	result_span(b, word_class(c->evaluated && c->iprev !=
	    CHAIN_IPREV_NOTCHECKED ? chain_iprev_str(c->iprev) : NULL),
	    c->evaluated && c->iprev != CHAIN_IPREV_NOTCHECKED ?
	    chain_iprev_str(c->iprev) : "\xe2\x80\x93", 1);
	BLIT(b, ", SPF ");
	result_span(b, word_class(c->evaluated && c->spf >= 0 ?
	    spf_result_str((enum spf_result)c->spf) : NULL), c->evaluated &&
	    c->spf >= 0 ? spf_result_str((enum spf_result)c->spf) :
	    "\xe2\x80\x93", 1);
	if (c->evaluated)
		BLIT(b, " <i>(evaluated now, not at delivery)</i>");
	if (c->eval_note[0]) {
		BLIT(b, "<br><span class=\"note\">");
		escs(b, c->eval_note);
		BLIT(b, "</span>");
	}
	BLIT(b, "</p>");
}

static void
hop_ref(struct report_buf *b, int hop, const char *none)
{
	if (hop > 0) {
		BLIT(b, "hop ");
		bnum(b, hop);
	} else
		bputs(b, none);
}

static void
dkim_table(struct report_buf *b, const struct chain *c)
{
	int i;

	BLIT(b, "<h3>DKIM</h3>");
	if (c->dkim.n == 0) {
		BLIT(b, "<p class=\"none\">no signature");
		if (c->dkim.nfound > 0) {
			BLIT(b, " verified (");
			bnum(b, c->dkim.nfound);
			BLIT(b, " found)");
		}
		BLIT(b, "</p>");
		return;
	}
	BLIT(b, "<table class=\"t\"><tr><th>result</th><th>reason</th>"
	    "<th>d=</th><th>s=</th><th>algorithm</th><th>key</th>"
	    "<th>body</th><th>header</th><th>added</th><th>broken</th></tr>");
	for (i = 0; i < c->dkim.n; i++) {
		const struct dkim_result *r = &c->dkim.sig[i];
		const char *src = auth_key_source_str(r->key_source);

		BLIT(b, "<tr><td>");
		result_span(b, result_class(r->result),
		    auth_result_str(r->result), 1);
		BLIT(b, "</td><td>");
		escd(b, auth_reason_str(r->reason));
		BLIT(b, "</td><td class=\"m\">");
		escd(b, r->d);
		BLIT(b, "</td><td class=\"m\">");
		escd(b, r->s);
		BLIT(b, "</td><td>");
		escd(b, r->a);
		if (r->weak)
			BLIT(b, " <b class=\"r-other\">weak</b>");
		BLIT(b, "</td><td>");
		escd(b, src);
		if (r->key_bits) {
			bputc(b, ' ');
			bnum(b, r->key_bits);
			BLIT(b, " bits");
		}
		if (r->testing)
			BLIT(b, " <b class=\"r-other\">testing</b>");
		BLIT(b, "</td><td>");
		bputs(b, check_str(r->body_hash, "match", "mismatch"));
		BLIT(b, "</td><td>");
		bputs(b, check_str(r->header_sig, "pass", "fail"));
		BLIT(b, "</td><td>");
		if (r->hop_added == 0)
			BLIT(b, "by the sender");
		else if (r->hop_added > 0) {
			BLIT(b, "after hop ");
			bnum(b, r->hop_added);
		} else
			BLIT(b, "\xe2\x80\x93");
		BLIT(b, "</td><td>");
		hop_ref(b, r->hop_broken, "\xe2\x80\x93");
		if (r->hop_intact > 0) {
			BLIT(b, "<br>verified intact at hop ");
			bnum(b, r->hop_intact);
		}
		if (r->hop_last > 0) {
			BLIT(b, "<br>at or before hop ");
			bnum(b, r->hop_last);
		}
		BLIT(b, "</td></tr>");
		if (r->detail[0] || r->unsigned_tail) {
			BLIT(b, "<tr class=\"dt\"><td colspan=\"10\">");
			escs(b, r->detail);
			if (r->unsigned_tail) {
				bputs(b, r->detail[0] ? "; " : "");
				obuf_unum(b, r->unsigned_tail);
				BLIT(b, " body bytes after l= are not signed");
			}
			BLIT(b, "</td></tr>");
		}
	}
	BLIT(b, "</table>");
	if (c->dkim.nunchecked > 0) {
		BLIT(b, "<p class=\"note\">");
		bnum(b, c->dkim.nunchecked);
		BLIT(b, " more signatures not verified</p>");
	}
}

static void
arc_table(struct report_buf *b, const struct chain *c)
{
	const struct arc_result *a = &c->arc;
	int i;

	if (a->result == AUTH_NONE && a->nsets == 0)
		return;
	BLIT(b, "<h3>ARC</h3><p>chain ");
	result_span(b, result_class(a->result), auth_result_str(a->result), 1);
	BLIT(b, ", ");
	bnum(b, a->nsets);
	bputs(b, a->nsets == 1 ? " set" : " sets");
	if (a->oldest_pass >= 0) {
		BLIT(b, ", oldest-pass ");
		bnum(b, a->oldest_pass);
	}
	if (a->detail[0]) {
		BLIT(b, ": ");
		escs(b, a->detail);
	}
	BLIT(b, "</p>");
	if (a->nsets == 0)
		return;
	BLIT(b, "<table class=\"t\"><tr><th>i=</th><th>result</th>"
	    "<th>AMS d= / s=</th><th>AMS</th><th>seal d= / s=</th><th>seal</th>"
	    "<th>cv=</th><th>added</th><th>broken</th></tr>");
	for (i = 0; i < a->nsets; i++) {
		const struct arc_set *s = &a->sets[i];

		BLIT(b, "<tr><td>");
		bnum(b, s->instance);
		BLIT(b, "</td><td>");
		result_span(b, result_class(s->result),
		    auth_result_str(s->result), 1);
		BLIT(b, "</td><td class=\"m\">");
		escd(b, s->d);
		BLIT(b, " / ");
		escd(b, s->s);
		BLIT(b, "</td><td>");
		check_cell(b, s->ams_valid, s->ams_reason);
		BLIT(b, "</td><td class=\"m\">");
		escd(b, s->as_d);
		BLIT(b, " / ");
		escd(b, s->as_s);
		BLIT(b, "</td><td>");
		check_cell(b, s->as_valid, s->as_reason);
		BLIT(b, "</td><td>");
		bputs(b, report_cv_str(s->cv) ? report_cv_str(s->cv) : "\xe2\x80\x93");
		BLIT(b, "</td><td>");
		if (s->hop_added == 0)
			BLIT(b, "by the sender");
		else if (s->hop_added > 0) {
			BLIT(b, "after hop ");
			bnum(b, s->hop_added);
		} else
			BLIT(b, "\xe2\x80\x93");
		BLIT(b, "</td><td>");
		hop_ref(b, s->hop_broken, "\xe2\x80\x93");
		BLIT(b, "</td></tr>");
		if (s->detail[0]) {
			BLIT(b, "<tr class=\"dt\"><td colspan=\"9\">");
			escs(b, s->detail);
			BLIT(b, "</td></tr>");
		}
	}
	BLIT(b, "</table>");
}

static void
dmarc_block(struct report_buf *b, const struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;
	const struct dmarc_discovery *d = &m->d;
	const char *pol = dmarc_policy_str(m->ev.policy);
	const char *rec;

	BLIT(b, "<h3>DMARC</h3>");
	if (!m->checked || d->from_domain[0] == '\0') {
		BLIT(b, "<p>");
		escs(b, m->note[0] ? m->note : "none");
		BLIT(b, "</p>");
		return;
	}
	BLIT(b, "<dl class=\"kv\"><dt>result</dt><dd>");
	result_span(b, word_class(dmarc_result_str(m->ev.result)),
	    dmarc_result_str(m->ev.result), 1);
	if (pol) {
		bputs(b, m->d.sp_applies && m->d.rec.sp != DMARC_POLICY_UNSET ?
		    ", sp=" : ", p=");
		bputs(b, pol);
	}
	if (d->status == DMARC_DISC_RECORD && m->ev.pct != 100) {
		BLIT(b, ", pct=");
		bnum(b, m->ev.pct);
	}
	BLIT(b, "</dd><dt>From: domain</dt><dd class=\"m\">");
	escs(b, d->from_domain);
	if (m->nfrom > 1) {
		BLIT(b, " (");
		bnum(b, m->nfrom);
		BLIT(b, " From: addresses)");
	}
	BLIT(b, "</dd>");
	BLIT(b, "<dt>organizational domain</dt><dd class=\"m\">");
	escd(b, d->org_domain);
	BLIT(b, "</dd>");
	BLIT(b, "<dt>record</dt><dd class=\"m\">");
	if ((rec = report_dmarc_record(m)) != NULL) {
		BLIT(b, "_dmarc.");
		escs(b, d->record_domain);
		BLIT(b, ": ");
		escs(b, rec);
	} else
		BLIT(b, "\xe2\x80\x93");
	BLIT(b, "</dd><dt>DKIM aligned</dt><dd class=\"m\">");
	escd(b, m->ev.dkim_aligned);
	BLIT(b, "</dd><dt>SPF aligned</dt><dd class=\"m\">");
	escd(b, m->ev.spf_aligned);
	BLIT(b, "</dd><dt>SPF</dt><dd>");
	if (m->ev.spf_domain[0]) {
		BLIT(b, "of <span class=\"m\">");
		escs(b, m->ev.spf_domain);
		BLIT(b, "</span>: ");
	} else
		BLIT(b, "no domain to check: ");
	if (m->spf_result[0]) {
		result_span(b, word_class(m->spf_result), m->spf_result, 0);
		BLIT(b, " <i>(evaluated now)</i>");
	} else
		BLIT(b, "not evaluated");
	BLIT(b, "</dd>");
	if (d->walk == DMARC_WALK_DONE && (d->walk_policy_differs ||
	    d->walk_org_differs)) {
		BLIT(b, "<dt>DMARCbis walk</dt><dd>policy domain <span "
		    "class=\"m\">");
		escd(b, d->walk_policy_domain);
		BLIT(b, "</span>, organizational domain <span class=\"m\">");
		escd(b, d->walk_org_domain);
		BLIT(b, "</span></dd>");
	}
	if (m->note[0])
		dd(b, "note", m->note);
	else if (d->status != DMARC_DISC_RECORD && d->why[0])
		dd(b, "note", d->why);
	BLIT(b, "</dl>");
}

static void
claims_table(struct report_buf *b, const struct chain *c)
{
	int i;

	if (c->nclaims == 0 && c->nclaims_dropped == 0)
		return;
	BLIT(b, "<h3>Claims (Authentication-Results) and our results</h3>"
	    "<table class=\"t\"><tr><th>field</th><th>authserv-id</th>"
	    "<th>hop</th><th>trusted</th><th>method</th><th>about</th>"
	    "<th>claimed</th><th>ours</th><th>agree</th></tr>");
	for (i = 0; i < c->nclaims; i++) {
		const struct chain_claim *k = &c->claims[i];

		BLIT(b, "<tr><td>");
		if (k->arc) {
			BLIT(b, "AAR i=");
			bnum(b, k->arc);
		} else
			BLIT(b, "A-R");
		BLIT(b, "</td><td class=\"m\">");
		escd(b, k->authserv_id);
		BLIT(b, "</td><td>");
		if (k->hop >= 1)
			bnum(b, k->hop);
		else
			BLIT(b, "below every Received");
		BLIT(b, "</td><td>");
		bputs(b, k->trusted ? "<b>yes</b>" : "no");
		BLIT(b, "</td><td>");
		escd(b, k->method);
		BLIT(b, "</td><td class=\"m\">");
		escd(b, k->subject);
		BLIT(b, "</td><td>");
		result_span(b, word_class(k->result), k->result, 0);
		BLIT(b, "</td><td>");
		result_span(b, word_class(k->ours), k->ours, 0);
		BLIT(b, "</td><td>");
		if (k->agree == 1)
			BLIT(b, "<span class=\"r-pass\">yes</span>");
		else if (k->agree == 0)
			BLIT(b, "<span class=\"r-fail\">no</span>");
		else
			BLIT(b, "\xe2\x80\x93");
		BLIT(b, "</td></tr>");
	}
	BLIT(b, "</table>");
	if (c->nclaims_dropped) {
		BLIT(b, "<p class=\"note\">");
		bnum(b, c->nclaims_dropped);
		BLIT(b, " more claims not shown</p>");
	}
}

static void
finding(struct report_buf *b, enum chain_sev sev, const char *code, int hop)
{
	BLIT(b, "<li class=\"s-");
	bputs(b, chain_sev_str(sev));
	BLIT(b, "\"><span class=\"sev\">");
	bputs(b, chain_sev_str(sev));
	BLIT(b, "</span> <code>");
	escs(b, code);
	BLIT(b, "</code> ");
	if (hop) {
		BLIT(b, "<span class=\"fh\">hop ");
		bnum(b, hop);
		BLIT(b, "</span> ");
	}
}

static void
findings(struct report_buf *b, const struct chain *c)
{
	int i;

	BLIT(b, "<h3>Findings</h3>");
	if (c->nf == 0) {
		BLIT(b, "<p class=\"none\">none</p>");
		return;
	}
	BLIT(b, "<ul class=\"fd\">");
	for (i = 0; i < c->nf; i++) {
		const struct chain_finding *f = &c->f[i];

		finding(b, f->sev, f->code, f->hop);
		escs(b, f->text);
		BLIT(b, "</li>");
	}
	if (c->nf_dropped) {
		finding(b, c->sev_dropped, "truncated", 0);
		bnum(b, c->nf_dropped);
		BLIT(b, " more findings not shown (the worst is this "
		    "severity)</li>");
	}
	BLIT(b, "</ul>");
}

static void
raw_fields(struct report_buf *b, const struct chain *c)
{
	int i;

	if (c->nhops == 0)
		return;
	BLIT(b, "<details><summary>Received fields as written; why each hop "
	    "is (not) trusted</summary><ol class=\"raw\">");
	for (i = 0; i < c->nhops; i++) {
		const struct chain_hop *hp = &c->hops[i];
		size_t n = hp->rawlen;

		while (n > 0 && (hp->raw[n - 1] == '\n' ||
		    hp->raw[n - 1] == '\r'))
			n--;
		BLIT(b, "<li value=\"");
		bnum(b, hp->n);
		BLIT(b, "\"><b>hop ");
		bnum(b, hp->n);
		BLIT(b, "</b> <span class=\"tr-");
		bputs(b, chain_trust_str(hp->trust));
		BLIT(b, "\">");
		bputs(b, chain_trust_str(hp->trust));
		BLIT(b, "</span> ");
		escs(b, hp->why);
		if (hp->r.tls_detail[0]) {
			BLIT(b, "; TLS ");
			escs(b, hp->r.tls_detail);
		}
		if (hp->r.note[0] && hp->r.kind != RECEIVED_UNPARSED) {
			BLIT(b, "; note: ");
			escs(b, hp->r.note);
		}
		BLIT(b, "<pre>");
		esc(b, hp->raw, n, 1);
		BLIT(b, "</pre></li>");
	}
	BLIT(b, "</ol></details>");
}

void
html_message_buf(struct report_buf *b, const char *source, long index,
    const struct chain *c)
{
	who_line(b, source, index, c);
	BLIT(b, "<dl class=\"hd\">");
	dd(b, "From", c->from);
	dd(b, "Subject", c->subject);
	dd(b, "Message-ID", c->message_id);
	BLIT(b, "</dl>");
	timeline(b, c);
	origin_para(b, c);
	dkim_table(b, c);
	arc_table(b, c);
	dmarc_block(b, c);
	claims_table(b, c);
	findings(b, c);
	raw_fields(b, c);
}

/* ------------------------------------------------------------ document */

static const char head[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
"style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<meta name=\"color-scheme\" content=\"light\">\n"
"<title>relaytrust-verify report</title>\n"
"<style>\n"
"*{box-sizing:border-box}\n"
"html{background:#fff}\n"
"body{margin:0 auto;max-width:1120px;padding:0 16px 48px;color:#1f2328;"
"font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
"\"DejaVu Sans\",Arial,sans-serif;overflow-wrap:anywhere;"
"-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
"h1{font-size:22px;margin:18px 0 2px}\n"
"h2{font-size:15px;font-weight:600;margin:0 5em 2px 0;line-height:1.6}\n"
"h3{font-size:12px;margin:14px 0 4px;text-transform:uppercase;"
"letter-spacing:.05em;color:#57606a}\n"
"code,pre,.m,.src,dd.m{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\","
"Menlo,Consolas,monospace;font-size:12.5px}\n"
"dd,td,h2 b,.m,pre{unicode-bidi:isolate}\n"
"header.top p{margin:2px 0 6px;color:#57606a}\n"
".legend{display:block;max-width:100%;height:auto;margin:4px 0 10px}\n"
".legend text{font:11.5px sans-serif;fill:#424a53}\n"
"main.report{display:flex;flex-direction:column;gap:18px}\n"
"main.report>*{min-width:0}\n"
".nosum{order:-2;margin:0;padding:10px 14px;border:2px dashed #cf222e;"
"border-radius:6px;background:#fff5f5}\n"
"main:has(>.summary)>.nosum{display:none}\n"
".summary{order:-1;border:1px solid #d0d7de;border-radius:8px;"
"padding:12px 16px;background:#f6f8fa}\n"
".summary h2{font-size:18px;margin:0 0 6px}\n"
".counts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}\n"
".cnt{cursor:pointer;display:inline-block;padding:4px 12px;border-radius:14px;"
"border:1px solid #afb8c1;background:#fff;font-size:14px}\n"
".cnt b{font-size:17px;margin-right:4px}\n"
".vbar{display:block;width:100%;height:18px;margin:4px 0 8px}\n"
".delays{display:block;max-width:100%;height:auto}\n"
".vbar .a,.bar .a{fill:#2da44e}.vbar .u{fill:#8c959f}"
".vbar .s{fill:#d4a72c}.vbar .f{fill:#cf222e}\n"
".tops{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));"
"gap:4px 24px}\n"
"table.top{border-collapse:collapse;width:100%;font-size:13px}\n"
".top td,.top th{padding:2px 6px;text-align:left;border-bottom:1px solid "
"#d8dee4;vertical-align:top}\n"
".top th{white-space:nowrap;overflow-wrap:normal}\n"
".top td.n{text-align:right;white-space:nowrap;width:5em}\n"
".top td.g{width:30%}.top td.g span{display:block;height:10px;"
"background:#8c959f;border-radius:2px;min-width:2px;margin-top:5px}\n"
".delays text{font:11px sans-serif;fill:#424a53}.delays .c{text-anchor:middle}"
".delays .b{fill:#0969da}.delays .r{fill:#cf222e}.delays .ax{stroke:#8c959f}\n"
".lo{margin:8px 0;padding:6px 10px;background:#fff8c5;border:1px solid "
"#d4a72c;border-radius:6px}\n"
".flt{position:absolute;opacity:0;pointer-events:none}\n"
"#f-authenticated:checked~main .msg:not([data-verdict=authenticated]),"
"#f-unauthenticated:checked~main .msg:not([data-verdict=unauthenticated]),"
"#f-suspicious:checked~main .msg:not([data-verdict=suspicious]),"
"#f-forged:checked~main .msg:not([data-verdict=forged]){display:none}\n"
"#f-all:checked~main label[for=f-all],"
"#f-authenticated:checked~main label[for=f-authenticated],"
"#f-unauthenticated:checked~main label[for=f-unauthenticated],"
"#f-suspicious:checked~main label[for=f-suspicious],"
"#f-forged:checked~main label[for=f-forged]{outline:3px solid #0969da;"
"outline-offset:1px}\n"
".msg{border:1px solid #d0d7de;border-left:8px solid #8c959f;"
"border-radius:6px;padding:10px 14px 8px;position:relative;background:#fff}\n"
".msg[data-verdict=authenticated]{border-left-color:#2da44e}\n"
".msg[data-verdict=suspicious]{border-left-color:#d4a72c}\n"
".msg[data-verdict=forged]{border-left-color:#cf222e}\n"
".verdict{display:inline-block;padding:0 9px;border-radius:10px;"
"border:1px solid;font-weight:700;text-transform:uppercase;font-size:12.5px;"
"letter-spacing:.03em}\n"
".v-authenticated{color:#116329;background:#dafbe1;border-color:#4ac26b}\n"
".v-unauthenticated{color:#424a53;background:#eaeef2;border-color:#afb8c1}\n"
".v-suspicious{color:#7d4e00;background:#fff8c5;border-color:#d4a72c}\n"
".v-forged{color:#a40e26;background:#ffebe9;border-color:#ff8182}\n"
".no{position:absolute;right:12px;top:10px;color:#57606a;font-size:12px;"
"text-decoration:none}\n"
".src{margin:0 0 4px;color:#57606a}\n"
".msg p{margin:4px 0}\n"
"dl.hd,dl.kv{display:grid;grid-template-columns:max-content minmax(0,1fr);"
"gap:1px 12px;margin:4px 0 6px}\n"
"dt{color:#57606a}dd{margin:0}\n"
".timeline{display:block;width:760px;max-width:100%;height:auto;margin:8px 0;"
"border:1px solid #d8dee4;border-radius:4px;break-inside:avoid}\n"
".timeline text{font:12px \"DejaVu Sans Mono\",\"Liberation Mono\",Menlo,"
"Consolas,monospace;fill:#1f2328}\n"
".timeline .h{font-weight:bold;font-size:13px}\n"
".timeline .w{fill:#57606a}\n"
".timeline .bu{fill:#f2f3f5}.timeline .bt{fill:#eaf3fd}\n"
".timeline .su{stroke:#8c959f;stroke-width:3;stroke-dasharray:5 4}\n"
".timeline .st{stroke:#0969da;stroke-width:3}\n"
".timeline .bl{stroke:#0550ae;stroke-width:2;stroke-dasharray:8 4}\n"
".timeline .rl{font:bold 11px sans-serif;fill:#0550ae;text-anchor:end}\n"
".timeline .nu{fill:#fff;stroke:#57606a;stroke-width:2}\n"
".timeline .nt{fill:#0969da;stroke:#0550ae;stroke-width:2}\n"
".timeline .ne{fill:#cf222e;stroke:#82071e;stroke-width:2}\n"
".timeline .nw{fill:#d4a72c;stroke:#7d4e00;stroke-width:2}\n"
".timeline .s0{fill:#fff;stroke:#57606a;stroke-width:2}\n"
".timeline .hn{font:bold 9.5px sans-serif;fill:#fff;text-anchor:middle}\n"
".timeline .hn.dk{fill:#1f2328}\n"
".timeline .dl{font:bold 11px sans-serif;fill:#57606a;text-anchor:end}\n"
".timeline .dl.neg{fill:#cf222e}.timeline .dl.slow{fill:#9a6700}\n"
".timeline .mk{font-size:11px}.timeline .ok{fill:#116329}"
".timeline .bad{fill:#a40e26}.timeline .og{fill:#0550ae}"
".timeline .cl{fill:#6e7781}\n"
".timeline .kb rect{fill:#fff;stroke:#8c959f}"
".timeline .kb text{font:10px sans-serif;fill:#424a53;text-anchor:middle}\n"
".timeline .ab rect{fill:#8250df}"
".timeline .ab text{font:bold 9px sans-serif;fill:#fff;text-anchor:middle}\n"
".ly{color:#1a7f37}.ln{color:#bc4c00}.lq{color:#afb8c1}\n"
".defs{position:absolute;width:0;height:0;overflow:hidden}\n"
".og{margin:4px 0}.note,.none{color:#57606a}\n"
"table.t{border-collapse:collapse;width:100%;font-size:12.5px;margin:2px 0}\n"
".t th,.t td{border:1px solid #d0d7de;padding:2px 6px;text-align:left;"
"vertical-align:top}\n"
".t th{background:#f6f8fa;font-weight:600;overflow-wrap:normal}\n"
".t tr.dt td{color:#57606a;border-top:0}\n"
".t.cd td:nth-child(-n+3){white-space:nowrap}\n"
".r-pass{color:#116329;font-weight:700}.r-fail{color:#a40e26;font-weight:700}"
".r-other{color:#7d4e00;font-weight:700}.r-none{color:#57606a}\n"
"ul.fd{list-style:none;padding:0;margin:4px 0}\n"
".fd li{padding:3px 8px;border-left:5px solid #8c959f;margin:2px 0;"
"background:#f6f8fa}\n"
".fd .s-error{border-color:#cf222e;background:#ffebe9}\n"
".fd .s-warn{border-color:#d4a72c;background:#fff8c5}\n"
".sev{font-weight:700;text-transform:uppercase;font-size:11px}\n"
".fd code{font-weight:600}.fh{color:#57606a}\n"
"details{margin:8px 0 2px}summary{cursor:pointer;color:#0550ae}\n"
"ol.raw{padding-left:2em}ol.raw li{margin:4px 0}\n"
"ol.raw pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;"
"border:1px solid #d8dee4;padding:4px 6px;margin:2px 0 6px}\n"
".tr-untrusted{color:#57606a;font-weight:700}"
".tr-trusted,.tr-boundary{color:#0550ae;font-weight:700}\n"
"footer{margin-top:24px;color:#57606a;font-size:12px}\n"
"@media print{body{max-width:none;padding:0;font-size:11pt}"
".flt,.hint,.no{display:none}.msg{break-inside:auto}"
".cnt{outline:none!important}"
"h2,h3{break-after:avoid}}\n"
"</style></head>\n"
"<body>\n";

/* The top of a run's report: the verdict filter and the title. */
static const char report_top[] =
"<input type=\"radio\" name=\"f\" id=\"f-all\" class=\"flt\" checked "
"aria-label=\"show all messages\">\n"
"<input type=\"radio\" name=\"f\" id=\"f-authenticated\" class=\"flt\" "
"aria-label=\"show authenticated messages\">\n"
"<input type=\"radio\" name=\"f\" id=\"f-unauthenticated\" class=\"flt\" "
"aria-label=\"show unauthenticated messages\">\n"
"<input type=\"radio\" name=\"f\" id=\"f-suspicious\" class=\"flt\" "
"aria-label=\"show suspicious messages\">\n"
"<input type=\"radio\" name=\"f\" id=\"f-forged\" class=\"flt\" "
"aria-label=\"show forged messages\">\n"
"<header class=\"top\"><h1>relaytrust-verify report</h1>\n";

/* The locks of the timelines, drawn once: closed (TLS) and open. */
static const char defs[] =
"<svg class=\"defs\" aria-hidden=\"true\"><symbol id=\"lk\" "
"viewBox=\"-3 -1 15 15\" width=\"15\" height=\"15\"><path d=\"M2.5 6V4a3.5 "
"3.5 0 0 1 7 0v2\" fill=\"none\" stroke=\"currentColor\" "
"stroke-width=\"1.8\"/><rect x=\"0.5\" y=\"6\" width=\"11\" height=\"8\" "
"rx=\"1.5\" fill=\"currentColor\"/></symbol><symbol id=\"lo\" "
"viewBox=\"-3 -1 15 15\" width=\"15\" height=\"15\"><path d=\"M-2.5 5V3a3.5 "
"3.5 0 0 1 7 0\" fill=\"none\" stroke=\"currentColor\" "
"stroke-width=\"1.8\"/><rect x=\"0.5\" y=\"6\" width=\"11\" height=\"8\" "
"rx=\"1.5\" fill=\"#fff\" stroke=\"currentColor\" "
"stroke-width=\"1.5\"/></symbol></svg>\n";

static const char legend[] =
"<svg class=\"legend\" width=\"760\" height=\"44\" viewBox=\"0 0 760 44\" "
"role=\"img\" aria-label=\"legend of the hop timelines\">"
"<rect x=\"0\" y=\"2\" width=\"18\" height=\"14\" fill=\"#f2f3f5\" "
"stroke=\"#8c959f\"/><text x=\"24\" y=\"13\">untrusted hops (claims "
"nobody you trust verified)</text>"
"<rect x=\"300\" y=\"2\" width=\"18\" height=\"14\" fill=\"#eaf3fd\" "
"stroke=\"#0969da\"/><text x=\"324\" y=\"13\">trusted hops (your "
"hosts)</text>"
"<line x1=\"500\" x2=\"540\" y1=\"9\" y2=\"9\" stroke=\"#0550ae\" "
"stroke-width=\"2\" stroke-dasharray=\"8 4\"/><text x=\"546\" y=\"13\">"
"trust boundary</text>"
"<use class=\"ly\" href=\"#lk\" x=\"0\" y=\"23\"/><text x=\"18\" y=\"36\">"
"TLS</text><use class=\"ln\" href=\"#lo\" x=\"60\" y=\"23\"/><text x=\"78\" "
"y=\"36\">no TLS</text>"
"<rect x=\"138\" y=\"24\" width=\"32\" height=\"14\" rx=\"3\" "
"fill=\"#8250df\"/><text x=\"176\" y=\"36\">SMTP AUTH</text>"
"<circle cx=\"262\" cy=\"31\" r=\"7\" fill=\"#cf222e\"/><text x=\"274\" "
"y=\"36\">error</text><circle cx=\"326\" cy=\"31\" r=\"7\" "
"fill=\"#d4a72c\"/><text x=\"338\" y=\"36\">warning about the hop</text>"
"<text x=\"500\" y=\"36\">2m 17s: delay from the previous hop</text>"
"</svg>\n";

static void
put_file(struct html *h, const char *s, size_t n)
{
	if (n > 0)
		fwrite(s, 1, n, h->f);
}

struct html *
html_open(const char *path, char *err, size_t errlen)
{
	struct html *h;
	FILE *f;
	char ts[48];
	struct report_buf b = { NULL, 0, 0, NULL };

	if ((f = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->f = f;
	h->fbuf = xmalloc(HTML_FILE_BUF);
	setvbuf(f, h->fbuf, _IOFBF, HTML_FILE_BUF);
	pthread_mutex_init(&h->mu, NULL);
	BLIT(&b, head);
	BLIT(&b, report_top);
	BLIT(&b, "<p>");
	date_str((int64_t)time(NULL), ts);
	BLIT(&b, "Written ");
	bputs(&b, ts);
	BLIT(&b, " by relaytrust-verify " RT_VERSION ". Each message shows "
	    "who really sent it, the path it took (oldest hop at the top), "
	    "and what its signatures and the receivers' claims prove. "
	    "<span class=\"hint\">Click a count in the summary to show only "
	    "those messages.</span></p>\n");
	BLIT(&b, defs);
	BLIT(&b, legend);
	BLIT(&b, "</header>\n<main class=\"report\">\n<p class=\"nosum\"><b>No "
	    "summary:</b> the run was interrupted (or is still going on) "
	    "before its end; the messages below are those written so "
	    "far.</p>\n");
	put_file(h, b.p, b.len);
	report_buf_free(&b);
	return h;
}

void
html_write(struct html *h, const struct chain *c, const char *sec,
    size_t len)
{
	char open[200], *p = open;
	const char *v = chain_verdict_str(c->verdict);
	unsigned long id;

	pthread_mutex_lock(&h->mu);
	id = h->nmsg++;
	if (h->nsec >= HTML_MESSAGES_MAX && c->verdict == CHAIN_AUTHENTICATED) {
		h->nleft++;
		pthread_mutex_unlock(&h->mu);
		return;
	}
	h->nsec++;
#define P(lit)	(memcpy(p, lit, sizeof(lit) - 1), p += sizeof(lit) - 1)
	P("<section class=\"msg\" id=\"m");
	p = obuf_udig(p, id);
	P("\" data-verdict=\"");
	memcpy(p, v, strlen(v));
	p += strlen(v);
	P("\"><a class=\"no\" href=\"#m");
	p = obuf_udig(p, id);
	P("\">#");
	p = obuf_udig(p, id);
	P("</a>");
#undef P
	put_file(h, open, (size_t)(p - open));
	put_file(h, sec, len);
	put_file(h, "</section>\n", 11);
	pthread_mutex_unlock(&h->mu);
}

void
html_unreadable(struct html *h, const char *source, long index,
    const char *why)
{
	struct report_buf b = { NULL, 0, 0, NULL };
	unsigned long id;

	pthread_mutex_lock(&h->mu);
	id = h->nmsg++;
	h->nsec++;
	BLIT(&b, "<section class=\"msg unreadable\" id=\"m");
	obuf_unum(&b, id);
	BLIT(&b, "\" data-verdict=\"unauthenticated\"><a class=\"no\" "
	    "href=\"#m");
	obuf_unum(&b, id);
	BLIT(&b, "\">#");
	obuf_unum(&b, id);
	BLIT(&b, "</a><h2><span class=\"verdict v-unauthenticated\">"
	    "unauthenticated</span> could not be read</h2><p class=\"src\">");
	escs(&b, source);
	bputc(&b, ':');
	bnum(&b, index);
	BLIT(&b, "</p><ul class=\"fd\">");
	finding(&b, CHAIN_ERROR, "unreadable", 0);
	escs(&b, why);
	BLIT(&b, "</li></ul></section>\n");
	put_file(h, b.p, b.len);
	pthread_mutex_unlock(&h->mu);
	report_buf_free(&b);
}

void
html_flush(struct html *h)
{
	pthread_mutex_lock(&h->mu);
	fflush(h->f);
	pthread_mutex_unlock(&h->mu);
}

/* ------------------------------------------------------------- summary */

static unsigned
pct(unsigned long n, unsigned long of)
{
	/* per mille */
	return of ? (unsigned)((n * 1000 + of / 2) / of) : 0;
}

static void
permille(struct report_buf *b, unsigned pm)
{
	bnum(b, pm / 10);
	bputc(b, '.');
	bnum(b, pm % 10);
}

static void
verdict_bar(struct report_buf *b, const struct summary *s)
{
	static const char cls[] = "ausf";
	unsigned long x = 0;
	int v;

	if (s->n == 0)
		return;
	BLIT(b, "<svg class=\"vbar\" width=\"1000\" height=\"18\" "
	    "viewBox=\"0 0 1000 18\" preserveAspectRatio=\"none\" role=\"img\" "
	    "aria-label=\"verdicts\">");
	for (v = CHAIN_AUTHENTICATED; v <= CHAIN_FORGED; v++) {
		unsigned long w = (s->nverdict[v] * 1000 + s->n / 2) / s->n;

		if (s->nverdict[v] == 0)
			continue;
		if (w == 0)
			w = 1;
		BLIT(b, "<rect class=\"");
		bputc(b, cls[v]);
		BLIT(b, "\" x=\"");
		bnum(b, (long long)x);
		BLIT(b, "\" y=\"0\" width=\"");
		bnum(b, (long long)w);
		BLIT(b, "\" height=\"18\"><title>");
		bputs(b, chain_verdict_str((enum chain_verdict)v));
		BLIT(b, ": ");
		bnum(b, (long long)s->nverdict[v]);
		BLIT(b, "</title></rect>");
		x += w;
	}
	BLIT(b, "</svg>");
}

static void
top_table(struct report_buf *b, const struct summary *s,
    enum summary_what w, const char *title, const char *col)
{
	struct summary_count top[SUMMARY_TOP_MAX];
	int i, n = summary_top(s, w, top, SUMMARY_TOP_MAX);

	BLIT(b, "<div><h3>");
	bputs(b, title);
	BLIT(b, "</h3>");
	if (n == 0) {
		BLIT(b, "<p class=\"none\">none</p></div>");
		return;
	}
	BLIT(b, "<table class=\"top\"><tr><th>");
	bputs(b, col);
	BLIT(b, "</th><th>messages</th><th></th></tr>");
	for (i = 0; i < n; i++) {
		BLIT(b, "<tr><td class=\"m\">");
		escs(b, top[i].key);
		BLIT(b, "</td><td class=\"n\">");
		bnum(b, (long long)top[i].n);
		BLIT(b, "</td><td class=\"g\"><span style=\"width:");
		permille(b, pct(top[i].n, top[0].n));
		BLIT(b, "%\"></span></td></tr>");
	}
	BLIT(b, "</table>");
	if (s->other[w]) {
		BLIT(b, "<p class=\"note\">and ");
		bnum(b, (long long)s->other[w]);
		BLIT(b, " messages past the first " );
		bnum(b, SUMMARY_KEYS_MAX);
		BLIT(b, " distinct values (not counted above)</p>");
	}
	BLIT(b, "</div>");
}

#define DC_X0	40
#define DC_SLOT	88
#define DC_BASE	128
#define DC_TALL	100

static void
delay_chart(struct report_buf *b, const struct summary *s)
{
	unsigned long max = 0, tot = 0;
	int i;

	for (i = 0; i < SUMMARY_DELAY_BUCKETS; i++) {
		tot += s->delay[i];
		if (s->delay[i] > max)
			max = s->delay[i];
	}
	BLIT(b, "<h3>Hop delays</h3>");
	if (tot == 0) {
		BLIT(b, "<p class=\"none\">no dated hop</p>");
		return;
	}
	BLIT(b, "<svg class=\"delays\" width=\"760\" height=\"170\" "
	    "viewBox=\"0 0 760 170\" role=\"img\" aria-label=\"hops per "
	    "delay from the previous hop\"><line class=\"ax\" x1=\"");
	bnum(b, DC_X0 - 8);
	BLIT(b, "\" x2=\"");
	bnum(b, DC_X0 + DC_SLOT * SUMMARY_DELAY_BUCKETS);
	BLIT(b, "\" y1=\"");
	bnum(b, DC_BASE);
	BLIT(b, "\" y2=\"");
	bnum(b, DC_BASE);
	BLIT(b, "\"/><text x=\"0\" y=\"12\">hops</text>");
	for (i = 0; i < SUMMARY_DELAY_BUCKETS; i++) {
		unsigned long n = s->delay[i];
		int hgt = (int)((n * DC_TALL + max - 1) / max);
		int x = DC_X0 + i * DC_SLOT;

		if (n > 0 && hgt < 2)
			hgt = 2;
		BLIT(b, "<g><title>");
		bnum(b, (long long)n);
		BLIT(b, " hops: ");
		bputs(b, summary_bucket_str((enum summary_bucket)i));
		BLIT(b, "</title><rect class=\"");
		bputc(b, i == SUMMARY_DELAY_NEGATIVE ? 'r' : 'b');
		BLIT(b, "\" x=\"");
		bnum(b, x + 12);
		BLIT(b, "\" y=\"");
		bnum(b, DC_BASE - hgt);
		BLIT(b, "\" width=\"");
		bnum(b, DC_SLOT - 24);
		BLIT(b, "\" height=\"");
		bnum(b, hgt);
		BLIT(b, "\"/><text class=\"c\" x=\"");
		bnum(b, x + DC_SLOT / 2);
		BLIT(b, "\" y=\"");
		bnum(b, DC_BASE - hgt - 4);
		BLIT(b, "\">");
		bnum(b, (long long)n);
		BLIT(b, "</text><text class=\"c\" x=\"");
		bnum(b, x + DC_SLOT / 2);
		BLIT(b, "\" y=\"");
		bnum(b, DC_BASE + 16);
		BLIT(b, "\">");
		bputs(b, summary_bucket_str((enum summary_bucket)i));
		BLIT(b, "</text></g>");
	}
	BLIT(b, "<text x=\"");
	bnum(b, DC_X0);
	BLIT(b, "\" y=\"");
	bnum(b, DC_BASE + 36);
	BLIT(b, "\">delay of each dated hop from the previous one (hop 1: "
	    "from Date:); reversed: dated before it</text></svg>");
}

static void
summary_html(struct report_buf *b, const struct html *h,
    const struct summary *s)
{
	int v;

	BLIT(b, "<section class=\"summary\" id=\"summary\" "
	    "aria-label=\"run summary\"><h2>Run summary</h2><p><b>");
	bnum(b, (long long)s->n);
	bputs(b, s->n == 1 ? "</b> message verified" :
	    "</b> messages verified");
	if (s->nunread) {
		BLIT(b, ", <b>");
		bnum(b, (long long)s->nunread);
		BLIT(b, "</b> messages or paths could not be read");
	}
	BLIT(b, ".</p><div class=\"counts\"><label class=\"cnt\" "
	    "for=\"f-all\"><b>");
	bnum(b, (long long)(s->n + s->nunread));
	BLIT(b, "</b>all</label>");
	for (v = CHAIN_AUTHENTICATED; v <= CHAIN_FORGED; v++) {
		const char *w = chain_verdict_str((enum chain_verdict)v);

		BLIT(b, "<label class=\"cnt v-");
		bputs(b, w);
		BLIT(b, "\" for=\"f-");
		bputs(b, w);
		BLIT(b, "\"><b>");
		bnum(b, (long long)s->nverdict[v]);
		BLIT(b, "</b>");
		bputs(b, w);
		if (s->n) {
			BLIT(b, " (");
			permille(b, pct(s->nverdict[v], s->n));
			BLIT(b, "%)");
		}
		BLIT(b, "</label>");
	}
	BLIT(b, "</div>");
	verdict_bar(b, s);
	if (h->nleft) {
		BLIT(b, "<p class=\"lo\"><b>");
		bnum(b, (long long)h->nleft);
		bputs(b, h->nleft == 1 ? " authenticated message is" :
		    " authenticated messages are");
		BLIT(b, " left out</b> of this report: past the first ");
		bnum(b, HTML_MESSAGES_MAX);
		BLIT(b, " sections only the messages that are not "
		    "authenticated are shown. They are counted in this "
		    "summary.</p>");
	}
	BLIT(b, "<div class=\"tops\">");
	top_table(b, s, SUMMARY_ORIGINS, "Origins of the non-authenticated "
	    "messages", "origin (MX entry's sender)");
	top_table(b, s, SUMMARY_DOMAINS, "From: domains of the "
	    "non-authenticated messages", "From: domain");
	BLIT(b, "</div>");
	delay_chart(b, s);
	BLIT(b, "</section>\n");
}

int
html_close(struct html *h, const struct summary *s, char *err,
    size_t errlen)
{
	struct report_buf b = { NULL, 0, 0, NULL };
	int rc = 0;

	if (h == NULL)
		return 0;
	pthread_mutex_lock(&h->mu);
	if (s != NULL)
		summary_html(&b, h, s);
	BLIT(&b, "</main>\n<footer>");
	bnum(&b, (long long)h->nsec);
	bputs(&b, h->nsec == 1 ? " section" : " sections");
	if (h->nleft) {
		BLIT(&b, ", ");
		bnum(&b, (long long)h->nleft);
		BLIT(&b, " authenticated messages left out");
	}
	BLIT(&b, ". End of the report.</footer>\n</body></html>\n");
	put_file(h, b.p, b.len);
	report_buf_free(&b);
	if (fflush(h->f) != 0 || ferror(h->f)) {
		snprintf(err, errlen, "writing the HTML report: %s",
		    strerror(errno));
		rc = -1;
	}
	if (fclose(h->f) != 0 && rc == 0) {
		snprintf(err, errlen, "closing the HTML report: %s",
		    strerror(errno));
		rc = -1;
	}
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_destroy(&h->mu);
	free(h->fbuf);
	free(h);
	return rc;
}

/* ---- relaytrust-verify --check-domain ------------------------------- */

static void
check_row(struct report_buf *b, const struct checkdom_check *c)
{
	static const char *const cls[] = { "r-pass", "r-other", "r-fail" };

	BLIT(b, "<tr><td class=\"");
	bputs(b, cls[c->status]);
	BLIT(b, "\">");
	bputs(b, checkdom_status_str(c->status));
	BLIT(b, "</td><td>");
	bputs(b, checkdom_item_str(c->item));
	BLIT(b, "</td><td>");
	if (c->target[0] != '\0')
		escs(b, c->target);
	else
		BLIT(b, "<span class=\"none\">domain</span>");
	BLIT(b, "</td><td>");
	escs(b, c->detail);
	if (c->fix[0] != '\0') {
		BLIT(b, "<br><b>Fix:</b> ");
		escs(b, c->fix);
	}
	BLIT(b, "</td></tr>\n");
}

int
html_checkdom(const char *path, const struct checkdom *cd, char *err,
    size_t errlen)
{
	struct report_buf b = { NULL, 0, 0, NULL };
	const char *verdict = cd->nfail ? "forged" : cd->nwarn ? "suspicious" :
	    "authenticated";
	char ts[48];
	size_t i;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	BLIT(&b, head);
	BLIT(&b, "<header class=\"top\"><h1>What receivers will think of ");
	escs(&b, cd->domain);
	BLIT(&b, "</h1>\n<p>Written ");
	date_str((int64_t)time(NULL), ts);
	bputs(&b, ts);
	BLIT(&b, " by relaytrust-verify " RT_VERSION " --check-domain, with "
	    "the DNS, SPF, DKIM and DMARC code that judges received mail. "
	    "The MTA-STS policy file (HTTPS) is not fetched.</p></header>\n"
	    "<main class=\"report\"><section class=\"msg\" "
	    "data-verdict=\"");
	bputs(&b, verdict);
	BLIT(&b, "\"><h2>");
	escs(&b, cd->domain);
	BLIT(&b, "</h2>\n<p><span class=\"verdict v-");
	bputs(&b, verdict);
	BLIT(&b, "\">");
	bnum(&b, cd->nfail);
	BLIT(&b, " fail</span> ");
	bnum(&b, cd->nwarn);
	BLIT(&b, " warn, ");
	bnum(&b, cd->npass);
	BLIT(&b, " pass</p>\n<table class=\"t cd\"><tr><th>status</th>"
	    "<th>item</th><th>about</th><th>detail and fix</th></tr>\n");
	for (i = 0; i < cd->n; i++)
		check_row(&b, &cd->c[i]);
	BLIT(&b, "</table></section></main>\n<footer>End of the report."
	    "</footer>\n</body></html>\n");
	if (fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "closing %s: %s", path, strerror(errno));
		rc = -1;
	}
	report_buf_free(&b);
	return rc;
}
