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
 *	void report_unreadable(const struct report_opts *o,
 *		const char *source, long index, const char *why);
 *	void report_json_str(FILE *out, const char *s, size_t n);
 * DESCRIPTION
 *	Formatting only: everything shown was computed by chain and the
 *	modules before it.
 *
 *	JSON: one object per line with every field of SPEC 3.3 present
 *	(absent values are null). Extra fields an analyst needs are added
 *	beside them: per hop "kind" (relay, local, marker, fetch,
 *	unparsed), "note", "via", "by_ip", "tls_detail", "trust" and
 *	"trust_why"; in "chain", "evaluated" ("now" when iprev and SPF were
 *	looked up during this run, else null) and "note".
 *
 *	Text: a header line, the hop table (date, delay, sender as
 *	HELO / rDNS / address, receiving host, protocol, TLS, auth, trust),
 *	the trust explanation of each hop, the origin with iprev and SPF
 *	(marked as evaluated now), the findings. Colours when asked.
 * DIAGNOSTICS
 *	None; output errors are seen by the caller with ferror().
 * LIMITS
 *	Text cells are cut to their column width; JSON strings are complete.
 *--*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shared/hdr.h"
#include "shared/spf.h"
#include "verifier/dkim.h"
#include "verifier/report.h"

#define C_RESET	"\033[0m"
#define C_RED	"\033[31m"
#define C_YEL	"\033[33m"
#define C_GRN	"\033[32m"
#define C_DIM	"\033[2m"
#define C_BOLD	"\033[1m"

void
report_json_str(FILE *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	putc_unlocked('"', out);
	while (i < n) {
		unsigned c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			run++;
			i++;
			continue;
		}
		if (run) {
			fwrite(s + i - run, 1, run, out);
			run = 0;
		}
		if (c == '"' || c == '\\') {
			putc_unlocked('\\', out);
			putc_unlocked((int)c, out);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			default:
				fprintf(out, "\\u%04x", c);
			}
			i++;
		} else {
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
			    c >= 0xc2 ? 2 : 0;

			if (need && i + need <= n &&
			    hdr_utf8_valid((const char *)s + i, need)) {
				fwrite(s + i, 1, need, out);
				i += need;
			} else {
				fputs("\\ufffd", out);
				i++;
			}
		}
	}
	if (run)
		fwrite(s + i - run, 1, run, out);
	putc_unlocked('"', out);
}

/* A string field, null when empty. */
static void
jstr(FILE *out, const char *key, const char *v, int comma)
{
	fprintf(out, "%s\"%s\":", comma ? "," : "", key);
	if (v == NULL || v[0] == '\0')
		fputs("null", out);
	else
		report_json_str(out, v, strlen(v));
}

static void
jtri(FILE *out, const char *key, int v)
{
	fprintf(out, ",\"%s\":%s", key, v < 0 ? "null" : v ? "true" : "false");
}

static void
json_hop(FILE *out, const struct chain_hop *hp)
{
	const struct received *r = &hp->r;
	char ts[32];
	size_t rawlen = hp->rawlen;

	while (rawlen > 0 && (hp->raw[rawlen - 1] == '\n' ||
	    hp->raw[rawlen - 1] == '\r'))
		rawlen--;
	fprintf(out, "{\"n\":%d", hp->n);
	jstr(out, "from_name", r->from_name, 1);
	jstr(out, "from_helo", r->from_helo, 1);
	jstr(out, "from_rdns", r->from_rdns, 1);
	jstr(out, "from_ip", r->from_ip, 1);
	jstr(out, "by_host", r->by_host, 1);
	jstr(out, "with", r->with, 1);
	jtri(out, "tls", r->kind == RECEIVED_UNPARSED ? -1 : r->tls);
	jtri(out, "auth", r->kind == RECEIVED_UNPARSED ? -1 : r->auth);
	jstr(out, "id", r->id, 1);
	jstr(out, "for", r->rcpt_for, 1);
	if (r->has_envelope_from) {
		fputs(",\"envelope_from\":", out);
		report_json_str(out, r->envelope_from, strlen(r->envelope_from));
	} else
		fputs(",\"envelope_from\":null", out);
	jstr(out, "date", r->has_date ? hdr_date_format(r->date, ts,
	    sizeof(ts)) : NULL, 1);
	if (hp->has_delay)
		fprintf(out, ",\"delay_s\":%" PRId64, hp->delay_s);
	else
		fputs(",\"delay_s\":null", out);
	fprintf(out, ",\"parsed\":%s", r->kind == RECEIVED_UNPARSED ?
	    "false" : "true");
	fputs(",\"raw\":", out);
	report_json_str(out, hp->raw, rawlen);
	fprintf(out, ",\"kind\":\"%s\"", received_kind_str(r->kind));
	jstr(out, "note", r->note, 1);
	jstr(out, "via", r->via, 1);
	jstr(out, "by_ip", r->by_ip, 1);
	jstr(out, "tls_detail", r->tls_detail, 1);
	fprintf(out, ",\"trust\":\"%s\"", chain_trust_str(hp->trust));
	jstr(out, "trust_why", hp->why, 1);
	putc_unlocked('}', out);
}

static void
jcheck(FILE *out, const char *key, enum auth_check v, const char *yes,
    const char *no)
{
	fprintf(out, ",\"%s\":", key);
	if (v == AUTH_CHECK_NONE)
		fputs("null", out);
	else
		fprintf(out, "\"%s\"", v == AUTH_CHECK_PASS ? yes : no);
}

static void
jint(FILE *out, const char *key, int v, int present)
{
	if (present)
		fprintf(out, ",\"%s\":%d", key, v);
	else
		fprintf(out, ",\"%s\":null", key);
}

static void
json_dkim(FILE *out, const struct dkim_result *r)
{
	jstr(out, "d", r->d, 0);
	jstr(out, "s", r->s, 1);
	jstr(out, "a", r->a, 1);
	jstr(out, "c", r->c, 1);
	jstr(out, "result", auth_result_str(r->result), 1);
	jstr(out, "reason", auth_reason_str(r->reason), 1);
	jint(out, "key_bits", r->key_bits, r->key_bits > 0);
	jstr(out, "key_source", auth_key_source_str(r->key_source), 1);
	jcheck(out, "body_hash", r->body_hash, "match", "mismatch");
	jcheck(out, "header_sig", r->header_sig, "pass", "fail");
	fprintf(out, ",\"weak\":%s,\"testing\":%s", r->weak ? "true" :
	    "false", r->testing ? "true" : "false");
	jint(out, "hop_added", r->hop_added, r->hop_added >= 0);
	jint(out, "hop_broken", r->hop_broken, r->hop_broken > 0);
	jint(out, "hop_intact", r->hop_intact, r->hop_intact > 0);
	jint(out, "hop_last", r->hop_last, r->hop_last > 0);
	if (r->unsigned_tail)
		fprintf(out, ",\"unsigned_bytes\":%llu", r->unsigned_tail);
	else
		fputs(",\"unsigned_bytes\":null", out);
	jstr(out, "detail", r->detail, 1);
}

static const char *
cv_str(int cv)
{
	return cv == 0 ? "none" : cv == 1 ? "pass" : cv == 2 ? "fail" : NULL;
}

static void
json_arc(FILE *out, const struct arc_result *a)
{
	int i;

	fprintf(out, "{\"result\":\"%s\",\"sets\":[",
	    auth_result_str(a->result));
	for (i = 0; i < a->nsets; i++) {
		const struct arc_set *s = &a->sets[i];

		fprintf(out, "%s{\"i\":%d", i ? "," : "", s->instance);
		jstr(out, "domain", s->d, 1);
		jstr(out, "selector", s->s, 1);
		jstr(out, "result", auth_result_str(s->result), 1);
		jcheck(out, "ams_valid", s->ams_valid, "pass", "fail");
		jstr(out, "ams_reason", auth_reason_str(s->ams_reason), 1);
		jstr(out, "as_domain", s->as_d, 1);
		jstr(out, "as_selector", s->as_s, 1);
		jcheck(out, "as_valid", s->as_valid, "pass", "fail");
		jstr(out, "as_reason", auth_reason_str(s->as_reason), 1);
		jstr(out, "cv", cv_str(s->cv), 1);
		jint(out, "hop_added", s->hop_added, s->hop_added >= 0);
		jint(out, "hop_broken", s->hop_broken, s->hop_broken > 0);
		jstr(out, "detail", s->detail, 1);
		putc_unlocked('}', out);
	}
	fputs("]", out);
	/* Extra keys only with sets: "none" stays {"result","sets"}. */
	if (a->nsets > 0 || a->result != AUTH_NONE) {
		jint(out, "oldest_pass", a->oldest_pass, a->oldest_pass >= 0);
		jstr(out, "detail", a->detail, 1);
	}
	putc_unlocked('}', out);
}

static void
json_message(FILE *out, const char *source, long index, const struct chain *c)
{
	int i;

	fputs("{", out);
	jstr(out, "source", source, 0);
	fprintf(out, ",\"index\":%ld", index);
	jstr(out, "message_id", c->message_id, 1);
	jstr(out, "from", c->from, 1);
	jstr(out, "subject", c->subject, 1);
	fputs(",\"hops\":[", out);
	for (i = 0; i < c->nhops; i++) {
		if (i)
			putc_unlocked(',', out);
		json_hop(out, &c->hops[i]);
	}
	fputs("],\"dkim\":[", out);
	for (i = 0; i < c->dkim.n; i++) {
		fputs(i ? ",{" : "{", out);
		json_dkim(out, &c->dkim.sig[i]);
		putc_unlocked('}', out);
	}
	fputs("],\"arc\":", out);
	json_arc(out, &c->arc);
	fputs(",\"chain\":{", out);
	if (c->boundary_hop)
		fprintf(out, "\"boundary_hop\":%d", c->boundary_hop);
	else
		fputs("\"boundary_hop\":null", out);
	jstr(out, "origin_ip", c->origin_ip, 1);
	jstr(out, "iprev", c->evaluated && c->iprev != CHAIN_IPREV_NOTCHECKED ?
	    chain_iprev_str(c->iprev) : NULL, 1);
	jstr(out, "spf", c->evaluated && c->spf >= 0 ?
	    spf_result_str((enum spf_result)c->spf) : NULL, 1);
	jstr(out, "evaluated", c->evaluated ? "now" : NULL, 1);
	jstr(out, "note", c->eval_note, 1);
	fputs(",\"findings\":[", out);
	for (i = 0; i < c->nf; i++) {
		const struct chain_finding *f = &c->f[i];

		if (i)
			putc_unlocked(',', out);
		if (f->hop)
			fprintf(out, "{\"hop\":%d", f->hop);
		else
			fputs("{\"hop\":null", out);
		fprintf(out, ",\"severity\":\"%s\",\"code\":\"%s\"",
		    chain_sev_str(f->sev), f->code);
		jstr(out, "text", f->text, 1);
		putc_unlocked('}', out);
	}
	if (c->nf_dropped)
		fprintf(out, ",{\"hop\":null,\"severity\":\"info\",\"code\":"
		    "\"truncated\",\"text\":\"%d more findings not shown\"}",
		    c->nf_dropped);
	fprintf(out, "]},\"verdict\":\"%s\"}\n", chain_verdict_str(c->verdict));
}

/* Printable, cut to w columns (bytes; non-ASCII shown as '?'). */
static void
cell(FILE *out, const char *s, int w)
{
	int i = 0, n = (int)strlen(s);

	for (; i < w && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		putc_unlocked(ch >= 0x20 && ch < 0x7f ? ch : '?', out);
	}
	if (n > w && w > 0) {
		/* mark the cut */
	}
	for (; i < w; i++)
		putc_unlocked(' ', out);
}

static void
text_line(FILE *out, const char *label, const char *v)
{
	int i;

	fprintf(out, "  %-9s ", label);
	for (i = 0; v[i]; i++) {
		unsigned char ch = (unsigned char)v[i];

		putc_unlocked(ch >= 0x20 && ch != 0x7f ? ch : '?', out);
	}
	putc_unlocked('\n', out);
}

static const char *
sev_color(enum chain_sev s)
{
	return s == CHAIN_ERROR ? C_RED : s == CHAIN_WARN ? C_YEL : C_DIM;
}

static void
text_message(const struct report_opts *o, const char *source, long index,
    const struct chain *c)
{
	FILE *out = o->out;
	const char *vc = c->verdict == CHAIN_PASS ? C_GRN :
	    c->verdict == CHAIN_SUSPICIOUS ? C_YEL : C_RED;
	int i;
	char ts[32], buf[600];

	fprintf(out, "%s%s:%ld%s  verdict: %s%s%s\n", o->color ? C_BOLD : "",
	    source, index, o->color ? C_RESET : "", o->color ? vc : "",
	    chain_verdict_str(c->verdict), o->color ? C_RESET : "");
	text_line(out, "From:", c->from[0] ? c->from : "-");
	text_line(out, "Subject:", c->subject[0] ? c->subject : "-");
	text_line(out, "Msg-ID:", c->message_id[0] ? c->message_id : "-");
	if (c->nhops > 0) {
		fprintf(out, "  %s%3s %-9s %-19s %7s  %-44s %-26s %-10s %-4s "
		    "%-4s%s\n", o->color ? C_DIM : "", "hop", "trust",
		    "date (UTC)", "delay", "from: helo / rdns [ip]", "by",
		    "with", "tls", "auth", o->color ? C_RESET : "");
	}
	for (i = 0; i < c->nhops; i++) {
		const struct chain_hop *hp = &c->hops[i];
		const struct received *r = &hp->r;

		fprintf(out, "  %3d ", hp->n);
		cell(out, chain_trust_str(hp->trust), 9);
		putc_unlocked(' ', out);
		if (r->has_date) {
			hdr_date_format(r->date, ts, sizeof(ts));
			ts[10] = ' ';
			ts[19] = '\0';
		} else
			snprintf(ts, sizeof(ts), "-");
		cell(out, ts, 19);
		if (hp->has_delay) {
			snprintf(buf, sizeof(buf), "%" PRId64 "s", hp->delay_s);
			fprintf(out, " %s%7s%s  ", o->color && hp->delay_s < 0 ?
			    C_RED : "", buf, o->color && hp->delay_s < 0 ?
			    C_RESET : "");
		} else
			fprintf(out, " %7s  ", "-");
		if (r->kind == RECEIVED_UNPARSED)
			snprintf(buf, sizeof(buf), "(unparsed: %s)", r->note);
		else if (r->kind == RECEIVED_MARKER || (r->kind !=
		    RECEIVED_RELAY && r->from_name[0] == '\0'))
			snprintf(buf, sizeof(buf), "(%s)", received_kind_str(
			    r->kind));
		else
			snprintf(buf, sizeof(buf), "%s / %s [%s]",
			    r->from_helo[0] ? r->from_helo : "-",
			    r->from_rdns[0] ? r->from_rdns : "-",
			    r->from_ip[0] ? r->from_ip : "-");
		cell(out, buf, 44);
		putc_unlocked(' ', out);
		cell(out, r->by_host[0] ? r->by_host : "-", 26);
		putc_unlocked(' ', out);
		cell(out, r->with[0] ? r->with : r->via[0] ? r->via : "-", 10);
		putc_unlocked(' ', out);
		cell(out, r->tls < 0 ? "?" : r->tls ? "yes" : "no", 4);
		putc_unlocked(' ', out);
		cell(out, r->auth < 0 ? "?" : r->auth ? "yes" : "no", 4);
		putc_unlocked('\n', out);
	}
	for (i = c->nhops - 1; i >= 0; i--) {
		const struct chain_hop *hp = &c->hops[i];

		snprintf(buf, sizeof(buf), "hop %d: %s%s%s", hp->n, hp->why,
		    hp->r.tls_detail[0] ? "; TLS " : "", hp->r.tls_detail);
		text_line(out, i == c->nhops - 1 ? "Trust:" : "", buf);
		if (hp->trust == CHAIN_BOUNDARY)
			break;
	}
	if (c->boundary_hop) {
		snprintf(buf, sizeof(buf), "hop %d %s%s%s iprev=%s spf=%s%s%s",
		    c->boundary_hop, c->origin_ip[0] ? c->origin_ip :
		    "(no address)", c->origin_helo[0] ? " helo=" : "",
		    c->origin_helo, c->evaluated && c->iprev !=
		    CHAIN_IPREV_NOTCHECKED ? chain_iprev_str(c->iprev) : "-",
		    c->evaluated && c->spf >= 0 ?
		    spf_result_str((enum spf_result)c->spf) : "-",
		    c->evaluated ? " (evaluated now, not at delivery)" : "",
		    c->eval_note[0] ? "" : "");
		text_line(out, "Origin:", buf);
		if (c->eval_note[0])
			text_line(out, "", c->eval_note);
	}
	if (c->dkim.n == 0)
		text_line(out, "DKIM:", "no signature");
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
		text_line(out, i == 0 ? "DKIM:" : "", buf);
		if (r->detail[0] && r->result != AUTH_PASS)
			text_line(out, "", r->detail);
	}
	if (c->arc.result != AUTH_NONE || c->arc.nsets) {
		snprintf(buf, sizeof(buf), "%s, %d set%s%s%s",
		    auth_result_str(c->arc.result), c->arc.nsets,
		    c->arc.nsets == 1 ? "" : "s", c->arc.detail[0] ? ": " : "",
		    c->arc.detail);
		if (c->arc.oldest_pass >= 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    ", oldest-pass %d", c->arc.oldest_pass);
		text_line(out, "ARC:", buf);
		for (i = 0; i < c->arc.nsets; i++) {
			const struct arc_set *s = &c->arc.sets[i];

			snprintf(buf, sizeof(buf), "i=%d d=%s s=%s AMS=%s "
			    "AS=%s cv=%s%s", s->instance, s->d, s->s,
			    s->ams_valid == AUTH_CHECK_PASS ? "pass" :
			    s->ams_valid == AUTH_CHECK_FAIL ? "fail" : "-",
			    s->as_valid == AUTH_CHECK_PASS ? "pass" :
			    s->as_valid == AUTH_CHECK_FAIL ? "fail" : "-",
			    cv_str(s->cv) ? cv_str(s->cv) : "-",
			    s->hop_added >= 0 ? "" : "");
			if (s->hop_added >= 0)
				snprintf(buf + strlen(buf), sizeof(buf) -
				    strlen(buf), " added after hop %d",
				    s->hop_added);
			text_line(out, "", buf);
		}
	}
	for (i = 0; i < c->nf; i++) {
		const struct chain_finding *f = &c->f[i];

		fprintf(out, "  %s%-5s%s %-18s %s%s\n", o->color ?
		    sev_color(f->sev) : "", chain_sev_str(f->sev),
		    o->color ? C_RESET : "", f->code, f->hop ? "" : "",
		    f->text);
	}
	if (c->nf_dropped)
		fprintf(out, "  %d more findings not shown\n", c->nf_dropped);
	putc_unlocked('\n', out);
}

void
report_message(const struct report_opts *o, const char *source, long index,
    const struct chain *c)
{
	if (o->json)
		json_message(o->out, source, index, c);
	else
		text_message(o, source, index, c);
}

void
report_unreadable(const struct report_opts *o, const char *source,
    long index, const char *why)
{
	FILE *out = o->out;

	if (!o->json) {
		fprintf(out, "%s:%ld  verdict: fail\n", source, index);
		text_line(out, "error", why);
		putc_unlocked('\n', out);
		return;
	}
	fputs("{", out);
	jstr(out, "source", source, 0);
	fprintf(out, ",\"index\":%ld,\"message_id\":null,\"from\":null,"
	    "\"subject\":null,\"hops\":[],\"dkim\":[],\"arc\":{\"result\":"
	    "\"none\",\"sets\":[]},\"chain\":{\"boundary_hop\":null,"
	    "\"origin_ip\":null,\"iprev\":null,\"spf\":null,\"evaluated\":"
	    "null,\"note\":null,\"findings\":[{\"hop\":null,\"severity\":"
	    "\"error\",\"code\":\"unreadable\",\"text\":", index);
	report_json_str(out, why, strlen(why));
	fputs("}]},\"verdict\":\"fail\"}\n", out);
}
