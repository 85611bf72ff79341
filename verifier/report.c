/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	report 3
 * SUMMARY
 *	JSON Lines and text output of one message
 * SYNOPSIS
 *	#include "verifier/report.h"
 *
 *	void report_message(const struct report_opts *o, const char *source,
 *		long index, const struct chain *c);
 *	void report_message_buf(const struct report_opts *o,
 *		struct report_buf *b, const char *source, long index,
 *		const struct chain *c);
 *	void report_unreadable(const struct report_opts *o,
 *		const char *source, long index, const char *why);
 *	void report_json_str(struct report_buf *b, const char *s, size_t n);
 *	void report_buf_free(struct report_buf *b);
 * DESCRIPTION
 *	Formatting only: everything shown was computed by chain and the
 *	modules before it.
 *
 *	JSON: one object per line with every field of SPEC 3.3 present
 *	(absent values are null). Extra fields an analyst needs are added
 *	beside them: per hop "kind" (relay, submission, http-submission,
 *	local, internal, delivery, fetch), "note", "via", "by_ip", "tls_detail", "trust" and
 *	"trust_why"; in "chain", "evaluated" ("now" when iprev and SPF were
 *	looked up during this run, else null) and "note".
 *
 *	Text: a header line, the hop table (date, delay, sender as
 *	HELO / rDNS / address, receiving host, protocol, TLS, auth, trust),
 *	the trust explanation of each hop, the origin with iprev and SPF
 *	(marked as evaluated now), the findings. Colours when asked.
 *
 *	Output goes through a writer of our own (struct report_buf), not
 *	stdio per key: JSON keys are literals appended with memcpy, numbers
 *	are converted by hand, strings are escaped a run of safe bytes at a
 *	time. report_message() builds in a buffer on the stack and hands it
 *	to the FILE in large pieces; report_message_buf() appends to a
 *	growing buffer (the --jobs threads write each message there and the
 *	main thread writes the buffers in order).
 * DIAGNOSTICS
 *	None; output errors are seen by the caller with ferror().
 * LIMITS
 *	Text cells are cut to their column width; JSON strings are complete.
 *--*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "shared/mem.h"
#include "shared/spf.h"
#include "verifier/dkim.h"
#include "verifier/obuf.h"
#include "verifier/report.h"

#define C_RESET	"\033[0m"
#define C_RED	"\033[31m"
#define C_YEL	"\033[33m"
#define C_GRN	"\033[32m"
#define C_DIM	"\033[2m"
#define C_BOLD	"\033[1m"

#define REPORT_STACK_BUF	16384	/* report_message()'s buffer */

/* The writer is obuf's; its short names here. */
#define bput		obuf_put
#define bputs		obuf_puts
#define bputc		obuf_putc
#define bnum		obuf_num
#define bunum		obuf_unum
#define bprintf		obuf_printf
#define flush		obuf_flush
#define BLIT		OBUF_LIT

/* ---------------------------------------------------------------- JSON */

/* Bytes copied as they are inside a JSON string: printable ASCII but
 * the quote and the backslash. */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

#define ONES	0x0101010101010101ull
#define HIGHS	0x8080808080808080ull

/* Are the 8 bytes at p all plain? A byte under 0x20 or from 0x80 up, a
 * quote or a backslash sets the high bit of its lane (the "has less" and
 * "has zero" tests of Bit Twiddling Hacks, exact for "any"). */
static int
plain8(const unsigned char *p)
{
	uint64_t w, q, k;

	memcpy(&w, p, sizeof(w));
	q = w ^ (ONES * '"');
	k = w ^ (ONES * '\\');
	return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
	    ((k - ONES) & ~k) | w) & HIGHS) == 0;
}

void
report_json_str(struct report_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start;

	bputc(b, '"');
	while (i < n) {
		unsigned c;

		start = i;
		while (n - i >= 8 && plain8(s + i))
			i += 8;
		while (i < n && plain[s[i]])
			i++;
		if (i > start)
			bput(b, str + start, i - start);
		if (i == n)
			break;
		c = s[i];
		if (c == '"' || c == '\\') {
			bputc(b, '\\');
			bputc(b, (int)c);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n':
				BLIT(b, "\\n");
				break;
			case '\r':
				BLIT(b, "\\r");
				break;
			case '\t':
				BLIT(b, "\\t");
				break;
			default: {
				static const char hex[] = "0123456789abcdef";
				char u[6] = { '\\', 'u', '0', '0',
				    hex[c >> 4], hex[c & 15] };

				bput(b, u, sizeof(u));
			}
			}
			i++;
		} else {
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
			    c >= 0xc2 ? 2 : 0;

			if (need && i + need <= n &&
			    hdr_utf8_valid((const char *)s + i, need)) {
				bput(b, str + i, need);
				i += need;
			} else {
				BLIT(b, "\\ufffd");
				i++;
			}
		}
	}
	bputc(b, '"');
}

/* A string field, null when empty; key is the literal ,"name": */
static void
jstr(struct report_buf *b, const char *key, size_t klen, const char *v)
{
	bput(b, key, klen);
	if (v == NULL || v[0] == '\0')
		BLIT(b, "null");
	else
		report_json_str(b, v, strlen(v));
}

#define JSTR(b, name, v)	jstr((b), ",\"" name "\":", \
	    sizeof(",\"" name "\":") - 1, (v))
#define JSTR0(b, name, v)	jstr((b), "\"" name "\":", \
	    sizeof("\"" name "\":") - 1, (v))

static void
jtri(struct report_buf *b, const char *key, size_t klen, int v)
{
	bput(b, key, klen);
	if (v < 0)
		BLIT(b, "null");
	else if (v)
		BLIT(b, "true");
	else
		BLIT(b, "false");
}

#define JTRI(b, name, v)	jtri((b), ",\"" name "\":", \
	    sizeof(",\"" name "\":") - 1, (v))

static void
jcheck(struct report_buf *b, const char *key, size_t klen, enum auth_check v,
    const char *yes, const char *no)
{
	bput(b, key, klen);
	if (v == AUTH_CHECK_NONE)
		BLIT(b, "null");
	else {
		bputc(b, '"');
		bputs(b, v == AUTH_CHECK_PASS ? yes : no);
		bputc(b, '"');
	}
}

#define JCHECK(b, name, v, yes, no)	jcheck((b), ",\"" name "\":", \
	    sizeof(",\"" name "\":") - 1, (v), (yes), (no))

static void
jint(struct report_buf *b, const char *key, size_t klen, long long v,
    int present)
{
	bput(b, key, klen);
	if (present)
		bnum(b, v);
	else
		BLIT(b, "null");
}

#define JINT(b, name, v, present)	jint((b), ",\"" name "\":", \
	    sizeof(",\"" name "\":") - 1, (v), (present))

/* A word of our own vocabulary (no escaping needed), quoted. */
static void
jword(struct report_buf *b, const char *key, size_t klen, const char *w)
{
	bput(b, key, klen);
	bputc(b, '"');
	bputs(b, w);
	bputc(b, '"');
}

#define JWORD(b, name, w)	jword((b), ",\"" name "\":", \
	    sizeof(",\"" name "\":") - 1, (w))

static void
json_hop(struct report_buf *b, const struct chain_hop *hp)
{
	const struct received *r = &hp->r;
	char ts[32];
	size_t rawlen = hp->rawlen;

	while (rawlen > 0 && (hp->raw[rawlen - 1] == '\n' ||
	    hp->raw[rawlen - 1] == '\r'))
		rawlen--;
	BLIT(b, "{\"n\":");
	bnum(b, hp->n);
	JSTR(b, "from_name", r->from_name);
	JSTR(b, "from_helo", r->from_helo);
	JSTR(b, "from_rdns", r->from_rdns);
	JSTR(b, "from_ip", r->from_ip);
	JSTR(b, "by_host", r->by_host);
	JSTR(b, "with", r->with);
	JTRI(b, "tls", r->kind == RECEIVED_UNPARSED ? -1 : r->tls);
	JTRI(b, "auth", r->kind == RECEIVED_UNPARSED ? -1 : r->auth);
	JSTR(b, "id", r->id);
	JSTR(b, "for", r->rcpt_for);
	if (r->has_envelope_from) {
		BLIT(b, ",\"envelope_from\":");
		report_json_str(b, r->envelope_from, strlen(r->envelope_from));
	} else
		BLIT(b, ",\"envelope_from\":null");
	JSTR(b, "date", r->has_date ? hdr_date_format(r->date, ts,
	    sizeof(ts)) : NULL);
	JINT(b, "delay_s", hp->delay_s, hp->has_delay);
	BLIT(b, ",\"parsed\":");
	if (r->kind == RECEIVED_UNPARSED)
		BLIT(b, "false");
	else
		BLIT(b, "true");
	BLIT(b, ",\"raw\":");
	report_json_str(b, hp->raw, rawlen);
	JWORD(b, "kind", received_role_str(hp->kind));
	JSTR(b, "note", r->note);
	JSTR(b, "via", r->via);
	JSTR(b, "by_ip", r->by_ip);
	JSTR(b, "tls_detail", r->tls_detail);
	JWORD(b, "trust", chain_trust_str(hp->trust));
	JSTR(b, "trust_why", hp->why);
	bputc(b, '}');
}

static void
json_dkim(struct report_buf *b, const struct dkim_result *r)
{
	JSTR0(b, "d", r->d);
	JSTR(b, "s", r->s);
	JSTR(b, "a", r->a);
	JSTR(b, "c", r->c);
	JSTR(b, "result", auth_result_str(r->result));
	JSTR(b, "reason", auth_reason_str(r->reason));
	JINT(b, "key_bits", r->key_bits, r->key_bits > 0);
	JSTR(b, "key_source", auth_key_source_str(r->key_source));
	JCHECK(b, "body_hash", r->body_hash, "match", "mismatch");
	JCHECK(b, "header_sig", r->header_sig, "pass", "fail");
	if (r->weak)
		BLIT(b, ",\"weak\":true");
	else
		BLIT(b, ",\"weak\":false");
	if (r->testing)
		BLIT(b, ",\"testing\":true");
	else
		BLIT(b, ",\"testing\":false");
	JINT(b, "hop_added", r->hop_added, r->hop_added >= 0);
	JINT(b, "hop_broken", r->hop_broken, r->hop_broken > 0);
	JINT(b, "hop_intact", r->hop_intact, r->hop_intact > 0);
	JINT(b, "hop_last", r->hop_last, r->hop_last > 0);
	if (r->unsigned_tail) {
		BLIT(b, ",\"unsigned_bytes\":");
		bunum(b, r->unsigned_tail);
	} else
		BLIT(b, ",\"unsigned_bytes\":null");
	JSTR(b, "detail", r->detail);
}

const char *
report_cv_str(int cv)
{
	return cv == 0 ? "none" : cv == 1 ? "pass" : cv == 2 ? "fail" : NULL;
}

static void
json_arc(struct report_buf *b, const struct arc_result *a)
{
	int i;

	BLIT(b, "{\"result\":\"");
	bputs(b, auth_result_str(a->result));
	BLIT(b, "\",\"sets\":[");
	for (i = 0; i < a->nsets; i++) {
		const struct arc_set *s = &a->sets[i];

		if (i)
			BLIT(b, ",{\"i\":");
		else
			BLIT(b, "{\"i\":");
		bnum(b, s->instance);
		JSTR(b, "domain", s->d);
		JSTR(b, "selector", s->s);
		JSTR(b, "result", auth_result_str(s->result));
		JCHECK(b, "ams_valid", s->ams_valid, "pass", "fail");
		JSTR(b, "ams_reason", auth_reason_str(s->ams_reason));
		JSTR(b, "as_domain", s->as_d);
		JSTR(b, "as_selector", s->as_s);
		JCHECK(b, "as_valid", s->as_valid, "pass", "fail");
		JSTR(b, "as_reason", auth_reason_str(s->as_reason));
		JSTR(b, "cv", report_cv_str(s->cv));
		JINT(b, "hop_added", s->hop_added, s->hop_added >= 0);
		JINT(b, "hop_broken", s->hop_broken, s->hop_broken > 0);
		JSTR(b, "detail", s->detail);
		bputc(b, '}');
	}
	bputc(b, ']');
	/* Extra keys only with sets: "none" stays {"result","sets"}. */
	if (a->nsets > 0 || a->result != AUTH_NONE) {
		JINT(b, "oldest_pass", a->oldest_pass, a->oldest_pass >= 0);
		JSTR(b, "detail", a->detail);
	}
	bputc(b, '}');
}

const char *
report_dmarc_record(const struct chain_dmarc *m)
{
	return (m->d.status == DMARC_DISC_RECORD ||
	    m->d.status == DMARC_DISC_PERMERROR) && m->d.record_domain[0] ?
	    m->d.rec.text : NULL;
}

static void
json_dmarc(struct report_buf *b, const struct chain_dmarc *m)
{
	const struct dmarc_discovery *d = &m->d;
	int rec = m->checked && d->status == DMARC_DISC_RECORD;

	JSTR0(b, "from_domain", m->checked ? d->from_domain : NULL);
	JSTR(b, "org_domain", m->checked ? d->org_domain : NULL);
	JSTR(b, "record", m->checked ? report_dmarc_record(m) : NULL);
	JSTR(b, "policy", m->checked ? dmarc_policy_str(m->ev.policy) : NULL);
	JWORD(b, "result", dmarc_result_str(m->checked ? m->ev.result :
	    DMARC_RESULT_NONE));
	JSTR(b, "dkim_aligned", m->checked ? m->ev.dkim_aligned : NULL);
	JSTR(b, "spf_aligned", m->checked ? m->ev.spf_aligned : NULL);
	JSTR(b, "spf_domain", m->checked ? m->ev.spf_domain : NULL);
	JSTR(b, "spf_result", m->checked ? m->spf_result : NULL);
	JSTR(b, "record_domain", m->checked ? d->record_domain : NULL);
	JSTR(b, "adkim", rec ? dmarc_align_str(d->rec.adkim) : NULL);
	JSTR(b, "aspf", rec ? dmarc_align_str(d->rec.aspf) : NULL);
	JINT(b, "pct", m->ev.pct, rec);
	JINT(b, "from_count", m->nfrom, m->checked);
	JTRI(b, "proven", m->checked ? m->ev.dkim_aligned[0] != '\0' ||
	    m->ev.spf_aligned[0] != '\0' : -1);
	JSTR(b, "bis_policy_domain", m->checked && d->walk ==
	    DMARC_WALK_DONE ? d->walk_policy_domain : NULL);
	JSTR(b, "bis_org_domain", m->checked && d->walk == DMARC_WALK_DONE ?
	    d->walk_org_domain : NULL);
	JSTR(b, "note", !m->checked ? NULL : m->note[0] ? m->note :
	    d->status != DMARC_DISC_RECORD ? d->why : NULL);
}

static void
json_claims(struct report_buf *b, const struct chain *c)
{
	int i;

	for (i = 0; i < c->nclaims; i++) {
		const struct chain_claim *k = &c->claims[i];

		if (i)
			bputc(b, ',');
		bputc(b, '{');
		JSTR0(b, "authserv_id", k->authserv_id);
		JINT(b, "hop", k->hop, k->hop >= 1);
		JTRI(b, "trusted", k->trusted);
		JSTR(b, "method", k->method);
		JSTR(b, "result", k->result);
		JSTR(b, "ours", k->ours);
		JTRI(b, "agree", k->agree);
		JSTR(b, "subject", k->subject);
		JINT(b, "arc_instance", k->arc, k->arc > 0);
		bputc(b, '}');
	}
}

static void
json_message(struct report_buf *b, const char *source, long index,
    const struct chain *c)
{
	int i;

	bputc(b, '{');
	JSTR0(b, "source", source);
	BLIT(b, ",\"index\":");
	bnum(b, index);
	JSTR(b, "message_id", c->message_id);
	JSTR(b, "from", c->from);
	JSTR(b, "subject", c->subject);
	BLIT(b, ",\"hops\":[");
	for (i = 0; i < c->nhops; i++) {
		if (i)
			bputc(b, ',');
		json_hop(b, &c->hops[i]);
	}
	BLIT(b, "],\"dkim\":[");
	for (i = 0; i < c->dkim.n; i++) {
		if (i)
			BLIT(b, ",{");
		else
			bputc(b, '{');
		json_dkim(b, &c->dkim.sig[i]);
		bputc(b, '}');
	}
	BLIT(b, "],\"arc\":");
	json_arc(b, &c->arc);
	BLIT(b, ",\"dmarc\":{");
	json_dmarc(b, &c->dmarc);
	BLIT(b, "},\"claims\":[");
	json_claims(b, c);
	BLIT(b, "],\"chain\":{\"boundary_hop\":");
	if (c->boundary_hop)
		bnum(b, c->boundary_hop);
	else
		BLIT(b, "null");
	JWORD(b, "boundary_source", c->boundary_given ? "given" :
	    "inferred");
	JSTR(b, "origin_ip", c->origin_ip);
	JSTR(b, "iprev", c->evaluated && c->iprev != CHAIN_IPREV_NOTCHECKED ?
	    chain_iprev_str(c->iprev) : NULL);
	JSTR(b, "spf", c->evaluated && c->spf >= 0 ?
	    spf_result_str((enum spf_result)c->spf) : NULL);
	JSTR(b, "evaluated", c->evaluated ? "now" : NULL);
	JSTR(b, "note", c->eval_note);
	BLIT(b, ",\"findings\":[");
	for (i = 0; i < c->nf; i++) {
		const struct chain_finding *f = &c->f[i];

		if (i)
			bputc(b, ',');
		BLIT(b, "{\"hop\":");
		if (f->hop)
			bnum(b, f->hop);
		else
			BLIT(b, "null");
		JWORD(b, "severity", chain_sev_str(f->sev));
		JWORD(b, "code", f->code);
		JSTR(b, "text", f->text);
		bputc(b, '}');
	}
	if (c->nf_dropped) {
		BLIT(b, ",{\"hop\":null");
		JWORD(b, "severity", chain_sev_str(c->sev_dropped));
		BLIT(b, ",\"code\":\"truncated\",\"text\":\"");
		bnum(b, c->nf_dropped);
		BLIT(b, " more findings not shown (the worst is this "
		    "severity)\"}");
	}
	if (c->nclaims_dropped) {
		BLIT(b, ",{\"hop\":null,\"severity\":\"info\",\"code\":"
		    "\"truncated\",\"text\":\"");
		bnum(b, c->nclaims_dropped);
		BLIT(b, " more claims not shown\"}");
	}
	BLIT(b, "]},\"verdict\":\"");
	bputs(b, chain_verdict_str(c->verdict));
	BLIT(b, "\"}\n");
}

/* ---------------------------------------------------------------- text */

/* Printable, cut to w columns (bytes; non-ASCII shown as '?'). */
static void
cell(struct report_buf *b, const char *s, int w)
{
	int i = 0, n = (int)strlen(s);

	for (; i < w && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		bputc(b, ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
	for (; i < w; i++)
		bputc(b, ' ');
}

/* The next piece of s that fits in w columns: the whole rest, else up
 * to the last blank in it, else before an address in brackets, else
 * after the last '.', '/', '-', ',' or ':', else w bytes. An address is
 * kept whole when it fits in a line. */
static size_t
piece(const char *s, size_t w)
{
	size_t n = strlen(s), i;

	if (n <= w || w == 0)
		return n;
	for (i = w; i > 0; i--)
		if (s[i - 1] == ' ' || (s[i] == '[' && i > 0))
			return i;
	for (i = w; i > w / 2; i--)
		if (strchr("./-,:", s[i - 1]) != NULL)
			return i;
	return w;
}

void
report_wrap(struct report_buf *b, const char *v, int col, int indent,
    int width)
{
	size_t n, i, w;

	for (;;) {
		w = width > col + 20 ? (size_t)(width - col) : 0;
		n = piece(v, w);
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)v[i];

			bputc(b, ch >= 0x20 && ch != 0x7f ? ch : '?');
		}
		v += n;
		while (b->len > 0 && b->p[b->len - 1] == ' ')
			b->len--;
		bputc(b, '\n');
		if (*v == '\0')
			break;
		for (i = 0; i < (size_t)indent; i++)
			bputc(b, ' ');
		col = indent;
	}
}

/* v after a prefix of indent columns, wrapped at the terminal's width
 * (continuation lines indented as much); control bytes shown as '?'. */
static void
wrap_text(const struct report_opts *o, struct report_buf *b, int indent,
    const char *v)
{
	report_wrap(b, v, indent, indent, o->width);
}

static void
text_line(const struct report_opts *o, struct report_buf *b,
    const char *label, const char *v)
{
	bprintf(b, "  %-9s ", label);
	wrap_text(o, b, 12, v);
}

static const char *
sev_color(enum chain_sev s)
{
	return s == CHAIN_ERROR ? C_RED : s == CHAIN_WARN ? C_YEL : C_DIM;
}

/* The origin as a reader names it: address and the best name known. */
static void
origin_str(const struct chain *c, char *buf, size_t len)
{
	int claimed;
	const char *name = chain_origin_name(c, &claimed);

	if (name == NULL) {
		snprintf(buf, len, c->nhops ? "a trusted host (no untrusted "
		    "hop)" : "an unknown origin (no Received)");
		return;
	}
	snprintf(buf, len, "%s%s%s%s%s", c->origin_ip[0] ? c->origin_ip :
	    "(no address)", name[0] ? " (" : "", claimed ? "says " : "",
	    name, name[0] ? ")" : "");
}

/* The first line: verdict, who sent it, for which From: domain, and
 * what DMARC says. */
static void
who_line(struct report_buf *out, const struct report_opts *o,
    const char *vc, const char *source, long index, const struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;
	const char *pol = dmarc_policy_str(m->ev.policy);
	char origin[400], dm[64];

	origin_str(c, origin, sizeof(origin));
	snprintf(dm, sizeof(dm), "DMARC %s%s%s", dmarc_result_str(
	    m->ev.result), pol ? " p=" : "", pol ? pol : "");
	bprintf(out, "%s%s:%ld%s  %s%s%s: sent by ", o->color ? C_BOLD : "",
	    source, index, o->color ? C_RESET : "", o->color ? vc : "",
	    chain_verdict_str(c->verdict), o->color && vc[0] ? C_RESET : "");
	cell(out, origin, (int)strlen(origin));
	bprintf(out, ", From: %s, %s\n", m->checked &&
	    m->d.from_domain[0] ? m->d.from_domain : "(no domain)", dm);
}

static void
text_dmarc(const struct report_opts *o, struct report_buf *out,
    const struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;
	const char *pol = dmarc_policy_str(m->ev.policy);
	char buf[1600];

	if (!m->checked || m->d.from_domain[0] == '\0') {
		text_line(o, out, "DMARC:", m->note[0] ? m->note : "none");
		return;
	}
	snprintf(buf, sizeof(buf), "%s for %s%s%s%s%s; DKIM aligned: %s; "
	    "SPF aligned: %s (SPF of %s: %s%s)",
	    dmarc_result_str(m->ev.result), m->d.from_domain,
	    pol == NULL ? "" : m->d.sp_applies && m->d.rec.sp !=
	    DMARC_POLICY_UNSET ? ", sp=" : ", p=", pol ? pol : "",
	    m->d.record_domain[0] ?
	    " from _dmarc." : "", m->d.record_domain,
	    m->ev.dkim_aligned[0] ? m->ev.dkim_aligned : "-",
	    m->ev.spf_aligned[0] ? m->ev.spf_aligned : "-",
	    m->ev.spf_domain[0] ? m->ev.spf_domain : "no domain",
	    m->spf_result[0] ? m->spf_result : "not evaluated",
	    m->spf_result[0] ? ", evaluated now" : "");
	text_line(o, out, "DMARC:", buf);
	if (m->note[0])
		text_line(o, out, "", m->note);
	else if (m->d.status != DMARC_DISC_RECORD && m->d.why[0])
		text_line(o, out, "", m->d.why);
}

static void
text_claims(const struct report_opts *o, struct report_buf *out,
    const struct chain *c)
{
	char buf[1024];
	int i;

	for (i = 0; i < c->nclaims; i++) {
		const struct chain_claim *k = &c->claims[i];

		snprintf(buf, sizeof(buf), "%s %s=%s%s%s by %s (hop %d, %s): "
		    "ours %s%s", k->arc ? "AAR" : "A-R", k->method, k->result,
		    k->subject[0] ? " " : "", k->subject,
		    k->authserv_id[0] ? k->authserv_id : "?", k->hop,
		    k->trusted ? "trusted" : "untrusted",
		    k->ours ? k->ours : "-", k->agree == 1 ? " (agrees)" :
		    k->agree == 0 ? " (differs)" : "");
		text_line(o, out, i == 0 ? "Claims:" : "", buf);
	}
	if (c->nclaims_dropped)
		bprintf(out, "  %d more claims not shown\n",
		    c->nclaims_dropped);
}

/* ---------------------------------------------------------- hop table */

enum { COL_N, COL_TRUST, COL_KIND, COL_DATE, COL_DELAY, COL_FROM, COL_BY,
	COL_WITH, COL_TLS, COL_AUTH, NCOLS };

#define CELL_MAX	600		/* bytes of a cell's text */

static const char *const col_head[NCOLS] = {
	"hop", "trust", "kind", "date (UTC)", "delay",
	"from: helo / rdns [ip]", "by", "with", "tls", "auth",
};
/* Columns that may wrap, and how narrow they may get. */
static const int col_min[NCOLS] = {
	0, 0, 0, 0, 0, 24, 16, 10, 0, 0,
};


/* The two largest units, by hand: it is written for every hop. */
const char *
report_delay_str(int64_t d, char *buf, size_t len)
{
	uint64_t a = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
	uint64_t u1, u2;
	char n1, n2, tmp[48], *p = tmp;

	if (d < 0)
		*p++ = '-';
	if (a < 60) {
		u1 = a, u2 = 0, n1 = 's', n2 = 0;
	} else if (a < 3600) {
		u1 = a / 60, u2 = a % 60, n1 = 'm', n2 = 's';
	} else if (a < 86400) {
		u1 = a / 3600, u2 = a % 3600 / 60, n1 = 'h', n2 = 'm';
	} else if (a < 365 * 86400ull) {
		u1 = a / 86400, u2 = a % 86400 / 3600, n1 = 'd', n2 = 'h';
	} else {
		u1 = a / (365 * 86400ull), u2 = a % (365 * 86400ull) / 86400,
		    n1 = 'y', n2 = 'd';
	}
	p = obuf_udig(p, u1);
	*p++ = n1;
	if (u2) {
		*p++ = ' ';
		p = obuf_udig(p, u2);
		*p++ = n2;
	}
	*p = '\0';
	snprintf(buf, len, "%s", tmp);
	return buf;
}

/* The cells of one hop, printable (control and non-ASCII bytes are '?'). */
static void
hop_cells(const struct chain_hop *hp, char cell[NCOLS][CELL_MAX])
{
	const struct received *r = &hp->r;
	char *p;
	int k;

	snprintf(cell[COL_N], CELL_MAX, "%d", hp->n);
	snprintf(cell[COL_TRUST], CELL_MAX, "%s", chain_trust_str(hp->trust));
	snprintf(cell[COL_KIND], CELL_MAX, "%s", received_role_str(hp->kind));
	if (r->has_date) {
		hdr_date_format(r->date, cell[COL_DATE], CELL_MAX);
		cell[COL_DATE][10] = ' ';
		cell[COL_DATE][19] = '\0';
	} else
		snprintf(cell[COL_DATE], CELL_MAX, "-");
	if (hp->has_delay)
		report_delay_str(hp->delay_s, cell[COL_DELAY], CELL_MAX);
	else
		snprintf(cell[COL_DELAY], CELL_MAX, "-");
	if (r->kind == RECEIVED_UNPARSED)
		snprintf(cell[COL_FROM], CELL_MAX, "(unparsed: %s)", r->note);
	else if (r->kind == RECEIVED_MARKER || (r->kind != RECEIVED_RELAY &&
	    r->from_name[0] == '\0'))
		snprintf(cell[COL_FROM], CELL_MAX, "(%s)",
		    received_kind_str(r->kind));
	else
		snprintf(cell[COL_FROM], CELL_MAX, "%s / %s [%s]",
		    r->from_helo[0] ? r->from_helo : "-",
		    r->from_rdns[0] ? r->from_rdns : "-",
		    r->from_ip[0] ? r->from_ip : "-");
	snprintf(cell[COL_BY], CELL_MAX, "%s", r->by_host[0] ? r->by_host :
	    "-");
	snprintf(cell[COL_WITH], CELL_MAX, "%s", r->with[0] ? r->with :
	    r->via[0] ? r->via : "-");
	snprintf(cell[COL_TLS], CELL_MAX, "%s", r->tls < 0 ? "?" : r->tls ?
	    "yes" : "no");
	snprintf(cell[COL_AUTH], CELL_MAX, "%s", r->auth < 0 ? "?" :
	    r->auth ? "yes" : "no");
	for (k = 0; k < NCOLS; k++)
		for (p = cell[k]; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
}

/* Column widths: each column as wide as its widest cell; when that is
 * wider than the terminal, the from, by and with columns give way (their
 * cells wrap onto continuation lines: nothing is cut). Returns 0, or -1
 * when even that does not fit (the caller stacks the cells). */
static int
col_widths(const struct report_opts *o, const struct chain *c, int w[NCOLS])
{
	char cell[NCOLS][CELL_MAX];
	int i, k, total, over, floor[NCOLS];

	memcpy(floor, col_min, sizeof(floor));
	for (k = 0; k < NCOLS; k++)
		w[k] = (int)strlen(col_head[k]);
	for (i = 0; i < c->nhops; i++) {
		hop_cells(&c->hops[i], cell);
		for (k = 0; k < NCOLS; k++)
			if ((int)strlen(cell[k]) > w[k])
				w[k] = (int)strlen(cell[k]);
		/* an address in brackets stays on one line */
		k = (int)strlen(c->hops[i].r.from_ip) + 2;
		if (k > floor[COL_FROM])
			floor[COL_FROM] = k;
	}
	for (total = 2, k = 0; k < NCOLS; k++)
		total += w[k] + 1;
	if (o->width <= 0 || total <= o->width)
		return 0;
	over = total - o->width;
	/* take from the widest wrapping column first */
	while (over > 0) {
		int best = -1;

		for (k = 0; k < NCOLS; k++)
			if (floor[k] && w[k] > floor[k] &&
			    (best < 0 || w[k] > w[best]))
				best = k;
		if (best < 0)
			return -1;
		w[best]--;
		over--;
	}
	return 0;
}

/* "  label value" wrapped at width, continuation lines indented. */
static void
stacked_field(struct report_buf *out, const char *label, const char *v,
    int width)
{
	int ind = 9 + (int)strlen(label) + 1;
	size_t n;

	obuf_printf(out, "         %s ", label);
	for (;;) {
		n = piece(v, width > ind + 16 ? (size_t)(width - ind) : 16);
		bput(out, v, n);
		v += n;
		while (out->len > 0 && out->p[out->len - 1] == ' ')
			out->len--;
		bputc(out, '\n');
		if (*v == '\0')
			break;
		obuf_printf(out, "%*s", ind, "");
	}
}

/* A terminal too narrow for the table: one line per hop with the short
 * cells, then its from, by and with, wrapped. */
static void
hop_stacked(const struct report_opts *o, struct report_buf *out,
    const struct chain *c)
{
	char cell[NCOLS][CELL_MAX];
	int i;

	for (i = 0; i < c->nhops; i++) {
		const struct chain_hop *hp = &c->hops[i];
		int red = o->color && hp->has_delay &&
		    hp->delay_s < -CHAIN_SKEW_MAX;

		hop_cells(hp, cell);
		obuf_printf(out, "  %shop %s  %s  %s  %s  delay %s  tls %s  auth "
		    "%s%s\n", red ? C_RED : "", cell[COL_N], cell[COL_TRUST],
		    cell[COL_KIND], cell[COL_DATE], cell[COL_DELAY],
		    cell[COL_TLS], cell[COL_AUTH], red ? C_RESET : "");
		stacked_field(out, "from", cell[COL_FROM], o->width);
		stacked_field(out, "by  ", cell[COL_BY], o->width);
		stacked_field(out, "with", cell[COL_WITH], o->width);
	}
}

static void
hop_row(struct report_buf *out, char cell[NCOLS][CELL_MAX],
    const int w[NCOLS], const char *color, const char *reset)
{
	const char *rest[NCOLS];
	int k, more = 1;

	for (k = 0; k < NCOLS; k++)
		rest[k] = cell[k];
	while (more) {
		more = 0;
		bputs(out, "  ");
		bputs(out, color);
		for (k = 0; k < NCOLS; k++) {
			size_t n = piece(rest[k], (size_t)w[k]);
			int pad = w[k] - (int)n;

			if (k == COL_N || k == COL_DELAY)
				for (; pad > 0; pad--)
					bputc(out, ' ');
			bput(out, rest[k], n);
			rest[k] += n;
			if (*rest[k] != '\0')
				more = 1;
			if (k == NCOLS - 1)
				break;
			for (; pad > 0; pad--)
				bputc(out, ' ');
			bputc(out, ' ');
		}
		bputs(out, reset);
		/* no trailing blanks */
		while (out->len > 0 && out->p[out->len - 1] == ' ')
			out->len--;
		bputc(out, '\n');
	}
}

static void
hop_table(const struct report_opts *o, struct report_buf *out,
    const struct chain *c)
{
	char cell[NCOLS][CELL_MAX];
	int w[NCOLS], i, k;

	if (c->nhops == 0)
		return;
	if (col_widths(o, c, w) != 0) {
		hop_stacked(o, out, c);
		return;
	}
	for (k = 0; k < NCOLS; k++)
		snprintf(cell[k], CELL_MAX, "%s", col_head[k]);
	hop_row(out, cell, w, o->color ? C_DIM : "", o->color ? C_RESET : "");
	for (i = 0; i < c->nhops; i++) {
		const struct chain_hop *hp = &c->hops[i];

		hop_cells(hp, cell);
		hop_row(out, cell, w, o->color && hp->has_delay &&
		    hp->delay_s < -CHAIN_SKEW_MAX ? C_RED : "",
		    o->color && hp->has_delay && hp->delay_s < -CHAIN_SKEW_MAX ?
		    C_RESET : "");
	}
}

static void
text_message(const struct report_opts *o, struct report_buf *out,
    const char *source, long index, const struct chain *c)
{
	const char *vc = c->verdict == CHAIN_AUTHENTICATED ? C_GRN :
	    c->verdict == CHAIN_UNAUTHENTICATED ? "" :
	    c->verdict == CHAIN_SUSPICIOUS ? C_YEL : C_RED;
	int i;
	char buf[600];

	who_line(out, o, vc, source, index, c);
	text_line(o, out, "From:", c->from[0] ? c->from : "-");
	text_line(o, out, "Subject:", c->subject[0] ? c->subject : "-");
	text_line(o, out, "Msg-ID:", c->message_id[0] ? c->message_id : "-");
	hop_table(o, out, c);
	for (i = c->nhops - 1; i >= 0; i--) {
		const struct chain_hop *hp = &c->hops[i];

		snprintf(buf, sizeof(buf), "hop %d: %s%s%s", hp->n, hp->why,
		    hp->r.tls_detail[0] ? "; TLS " : "", hp->r.tls_detail);
		text_line(o, out, i == c->nhops - 1 ? "Trust:" : "", buf);
		if (hp->trust == CHAIN_BOUNDARY)
			break;
	}
	if (c->boundary_hop) {
		snprintf(buf, sizeof(buf), "hop %d %s%s%s iprev=%s spf=%s%s",
		    c->boundary_hop, c->origin_ip[0] ? c->origin_ip :
		    "(no address)", c->origin_helo[0] ? " helo=" : "",
		    c->origin_helo, c->evaluated && c->iprev !=
		    CHAIN_IPREV_NOTCHECKED ? chain_iprev_str(c->iprev) : "-",
		    c->evaluated && c->spf >= 0 ?
		    spf_result_str((enum spf_result)c->spf) : "-",
		    c->evaluated ? " (evaluated now, not at delivery)" : "");
		text_line(o, out, "Origin:", buf);
		if (c->eval_note[0])
			text_line(o, out, "", c->eval_note);
	}
	if (c->dkim.n == 0)
		text_line(o, out, "DKIM:", "no signature");
	for (i = 0; i < c->dkim.n; i++) {
		const struct dkim_result *r = &c->dkim.sig[i];
		const char *why = auth_reason_str(r->reason);
		const char *src = auth_key_source_str(r->key_source);
		char hops[64] = "", key[32];

		if (r->hop_added == 0)
			snprintf(hops, sizeof(hops), ", added by the sender");
		else if (r->hop_added > 0)
			snprintf(hops, sizeof(hops), ", added after hop %d",
			    r->hop_added);
		if (r->hop_broken > 0)
			snprintf(hops + strlen(hops), sizeof(hops) -
			    strlen(hops), ", broken at hop %d", r->hop_broken);
		if (r->key_bits)
			snprintf(key, sizeof(key), "%s/%d", src ? src : "-",
			    r->key_bits);
		else
			snprintf(key, sizeof(key), "%s", src ? src : "-");
		snprintf(buf, sizeof(buf), "%s%s%s%s%s d=%s s=%s a=%s c=%s "
		    "body=%s sig=%s key=%s%s%s%s", o->color ? (r->result ==
		    AUTH_PASS ? C_GRN : r->result == AUTH_FAIL ? C_RED :
		    C_YEL) : "", auth_result_str(r->result), why ? " " : "",
		    why ? why : "", o->color ? C_RESET : "", r->d, r->s, r->a,
		    r->c, r->body_hash == AUTH_CHECK_NONE ? "-" :
		    r->body_hash == AUTH_CHECK_PASS ? "match" : "mismatch",
		    r->header_sig == AUTH_CHECK_NONE ? "-" : r->header_sig ==
		    AUTH_CHECK_PASS ? "pass" : "fail", key,
		    r->weak ? " weak" : "", r->testing ? " testing" : "",
		    hops);
		text_line(o, out, i == 0 ? "DKIM:" : "", buf);
		if (r->detail[0] && r->result != AUTH_PASS)
			text_line(o, out, "", r->detail);
	}
	if (c->arc.result != AUTH_NONE || c->arc.nsets) {
		snprintf(buf, sizeof(buf), "%s, %d set%s%s%s",
		    auth_result_str(c->arc.result), c->arc.nsets,
		    c->arc.nsets == 1 ? "" : "s", c->arc.detail[0] ? ": " : "",
		    c->arc.detail);
		if (c->arc.oldest_pass >= 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    ", oldest-pass %d", c->arc.oldest_pass);
		text_line(o, out, "ARC:", buf);
		for (i = 0; i < c->arc.nsets; i++) {
			const struct arc_set *s = &c->arc.sets[i];

			snprintf(buf, sizeof(buf), "i=%d d=%s s=%s AMS=%s "
			    "AS=%s cv=%s", s->instance, s->d, s->s,
			    s->ams_valid == AUTH_CHECK_PASS ? "pass" :
			    s->ams_valid == AUTH_CHECK_FAIL ? "fail" : "-",
			    s->as_valid == AUTH_CHECK_PASS ? "pass" :
			    s->as_valid == AUTH_CHECK_FAIL ? "fail" : "-",
			    report_cv_str(s->cv) ? report_cv_str(s->cv) : "-");
			if (s->hop_added >= 0)
				snprintf(buf + strlen(buf), sizeof(buf) -
				    strlen(buf), " added after hop %d",
				    s->hop_added);
			text_line(o, out, "", buf);
		}
	}
	text_dmarc(o, out, c);
	text_claims(o, out, c);
	for (i = 0; i < c->nf; i++) {
		const struct chain_finding *f = &c->f[i];

		bprintf(out, "  %s%-5s%s %-18s ", o->color ?
		    sev_color(f->sev) : "", chain_sev_str(f->sev),
		    o->color ? C_RESET : "", f->code);
		wrap_text(o, out, 27, f->text);
	}
	if (c->nf_dropped)
		bprintf(out, "  %d more findings not shown\n", c->nf_dropped);
	bputc(out, '\n');
}

/* ---------------------------------------------------------------- API */

void
report_message_buf(const struct report_opts *o, struct report_buf *b,
    const char *source, long index, const struct chain *c)
{
	if (o->json)
		json_message(b, source, index, c);
	else
		text_message(o, b, source, index, c);
}

void
report_message(const struct report_opts *o, const char *source, long index,
    const struct chain *c)
{
	char stack[REPORT_STACK_BUF];
	struct report_buf b = { stack, 0, sizeof(stack), o->out };

	report_message_buf(o, &b, source, index, c);
	flush(&b);
}

void
report_unreadable(const struct report_opts *o, const char *source,
    long index, const char *why)
{
	char stack[REPORT_STACK_BUF];
	struct report_buf b = { stack, 0, sizeof(stack), o->out };

	static const struct chain_dmarc nodmarc;

	if (!o->json) {
		bprintf(&b, "%s:%ld  unauthenticated: could not be read\n",
		    source, index);
		text_line(o, &b, "error", why);
		bputc(&b, '\n');
		flush(&b);
		return;
	}
	bputc(&b, '{');
	JSTR0(&b, "source", source);
	BLIT(&b, ",\"index\":");
	bnum(&b, index);
	BLIT(&b, ",\"message_id\":null,\"from\":null,"
	    "\"subject\":null,\"hops\":[],\"dkim\":[],\"arc\":{\"result\":"
	    "\"none\",\"sets\":[]},\"dmarc\":{");
	json_dmarc(&b, &nodmarc);
	BLIT(&b, "},\"claims\":[],\"chain\":{\"boundary_hop\":null,"
	    "\"boundary_source\":null,"
	    "\"origin_ip\":null,\"iprev\":null,\"spf\":null,\"evaluated\":"
	    "null,\"note\":null,\"findings\":[{\"hop\":null,\"severity\":"
	    "\"error\",\"code\":\"unreadable\",\"text\":");
	report_json_str(&b, why, strlen(why));
	BLIT(&b, "}]},\"verdict\":\"unauthenticated\"}\n");
	flush(&b);
}
