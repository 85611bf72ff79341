/* SPDX-License-Identifier: ISC */
/* test_dmarc - DMARC records (RFC 7489 6.3, 6.4, appendix B), selection,
 * organizational domains against the system Public Suffix List,
 * alignment, policy discovery and the DMARCbis tree walk over a fake
 * DNS, the result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/dmarc.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

static const char *
pol(enum dmarc_policy p)
{
	return dmarc_policy_str(p) ? dmarc_policy_str(p) : "-";
}

static const char *
dash(const char *s)
{
	return s[0] ? s : "-";
}

/* A record in one line: what the rows compare. */
static const char *
rec_summary(const struct dmarc_record *r, char *buf, size_t n)
{
	static const char *const psd[] = { "", " psd=y", " psd=n", " psd=u" };
	char fo[64], rf[64], ri[32];

	fo[0] = rf[0] = ri[0] = '\0';
	if (r->fo.len) {
		strcpy(fo, " fo=");
		dmarc_span_str(r, r->fo, fo + 4, sizeof(fo) - 4);
	}
	if (r->rf.len) {
		strcpy(rf, " rf=");
		dmarc_span_str(r, r->rf, rf + 4, sizeof(rf) - 4);
	}
	if (r->ri != 86400)
		snprintf(ri, sizeof(ri), " ri=%lu", r->ri);
	if (r->nignored)
		snprintf(ri + strlen(ri), sizeof(ri) - strlen(ri),
		    " ignored=%d", r->nignored);
	snprintf(buf, n, "p=%s sp=%s adkim=%s aspf=%s pct=%d rua=%d/%d/%d "
	    "ruf=%d/%d/%d%s%s%s%s%s%s", pol(r->p), pol(r->sp),
	    dmarc_align_str(r->adkim), dmarc_align_str(r->aspf), r->pct,
	    r->nrua, r->rua_total, r->rua_valid, r->nruf, r->ruf_total,
	    r->ruf_valid,
	    r->p_fallback ? " fallback" : "", r->p_misplaced ? " misplaced" :
	    "", fo, rf, ri, psd[r->psd]);
	return buf;
}

/* -------------------------------------------------------------- records */

struct parse_row {
	const char *name, *in;
	int	ok;
	const char *want;	/* ok: rec_summary(); error: part of err */
	const char *note;	/* part of the record's note; NULL: "" */
};

#define DEF	"adkim=r aspf=r pct=100"

static const struct parse_row parse_rows[] = {
	/* RFC 7489 appendix B */
	{ "rfc-b.2.1", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com",
	  1, "p=none sp=- " DEF " rua=1/1/1 ruf=0/0/0", NULL },
	{ "rfc-b.2.2", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
	  "ruf=mailto:auth-reports@thirdparty.example.net",
	  1, "p=none sp=- " DEF " rua=1/1/1 ruf=1/1/1", NULL },
	{ "rfc-b.2.4", "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
	  "mailto:tld-test@thirdparty.example.net!10m; pct=25",
	  1, "p=quarantine sp=- adkim=r aspf=r pct=25 rua=2/2/2 ruf=0/0/0", NULL },
	{ "rfc-b.3.1", "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com",
	  1, "p=reject sp=- " DEF " rua=1/1/1 ruf=0/0/0", NULL },
	{ "minimal", "v=DMARC1; p=reject", 1, "p=reject sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "no-spaces", "v=DMARC1;p=reject;sp=none", 1,
	  "p=reject sp=none " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "spaces-tabs-everywhere", "v = DMARC1 ;\tp = reject ; sp=quarantine\t; ",
	  1, "p=reject sp=quarantine " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "names-and-words-any-case", "V=DMARC1; P=Reject; SP=NONE; ADKIM=S; Aspf=s; PCT=0",
	  1, "p=reject sp=none adkim=s aspf=s pct=0 rua=0/0/0 ruf=0/0/0", NULL },
	{ "trailing-semicolon", "v=DMARC1; p=none;", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "empty-tag-specs", "v=DMARC1;; p=none; ;\t;", 1,
	  "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "unknown-tags-ignored", "v=DMARC1; p=none; foo=bar; np=reject; t=y; x_1=caf\xc3\xa9",
	  1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "pct-100", "v=DMARC1; p=none; pct=100", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "pct-0", "v=DMARC1; p=none; pct=0", 1,
	  "p=none sp=- adkim=r aspf=r pct=0 rua=0/0/0 ruf=0/0/0", NULL },
	{ "pct-three-digits", "v=DMARC1; p=none; pct=007", 1,
	  "p=none sp=- adkim=r aspf=r pct=7 rua=0/0/0 ruf=0/0/0", NULL },
	{ "fo-rf-ri-kept", "v=DMARC1; p=none; fo=0:1:d:s; rf=afrf; ri=3600", 1,
	  "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 fo=0:1:d:s rf=afrf ri=3600", NULL },
	{ "fo-spaces", "v=DMARC1; p=none; fo=1 : D", 1,
	  "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 fo=1 : D", NULL },
	{ "ri-max", "v=DMARC1; p=none; ri=4294967295", 1,
	  "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ri=4294967295", NULL },
	{ "psd-y", "v=DMARC1; p=reject; psd=y", 1, "p=reject sp=- " DEF " rua=0/0/0 ruf=0/0/0 psd=y", NULL },
	{ "psd-n", "v=DMARC1; p=reject; psd=N", 1, "p=reject sp=- " DEF " rua=0/0/0 ruf=0/0/0 psd=n", NULL },
	{ "psd-unknown-ignored", "v=DMARC1; p=reject; psd=maybe", 1,
	  "p=reject sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "p-not-second", "v=DMARC1; sp=none; p=reject", 1,
	  "p=reject sp=none " DEF " rua=0/0/0 ruf=0/0/0 misplaced", NULL },
	{ "no-p-valid-rua", "v=DMARC1; rua=mailto:d@example.com", 1,
	  "p=none sp=- " DEF " rua=1/1/1 ruf=0/0/0 fallback", "p= is missing: read as p=none" },
	{ "bad-p-valid-rua", "v=DMARC1; p=block; sp=reject; rua=mailto:d@example.com", 1,
	  "p=none sp=- " DEF " rua=1/1/1 ruf=0/0/0 fallback", "p=block is not none" },
	{ "bad-sp-valid-rua", "v=DMARC1; p=reject; sp=deny; rua=mailto:d@example.com", 1,
	  "p=none sp=- " DEF " rua=1/1/1 ruf=0/0/0 fallback", "sp=deny is not none" },
	{ "no-p-one-of-two-rua-valid", "v=DMARC1; rua=d@example.com,mailto:d@example.com", 1,
	  "p=none sp=- " DEF " rua=2/2/1 ruf=0/0/0 fallback", "p= is missing" },
	{ "bad-two-values-and-no-p", "v=DMARC1; pct=x; adkim=y; rua=mailto:d@example.com", 1,
	  "p=none sp=- " DEF " rua=1/1/1 ruf=0/0/0 fallback ignored=2",
	  "pct=x is not 0..100; adkim=y is not r or s; p= is missing: read as p=none" },
	{ "empty-rua", "v=DMARC1; p=none; rua=", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0", NULL },
	{ "bad-ruf-uri-kept", "v=DMARC1; p=none; ruf=nope", 1,
	  "p=none sp=- " DEF " rua=0/0/0 ruf=1/1/0", NULL },
	{ "ten-uris-eight-kept", "v=DMARC1; p=none; rua=mailto:a@x.example,mailto:b@x.example,"
	  "mailto:c@x.example,mailto:d@x.example,mailto:e@x.example,mailto:f@x.example,"
	  "mailto:g@x.example,mailto:h@x.example,mailto:i@x.example,mailto:j@x.example",
	  1, "p=none sp=- " DEF " rua=8/10/10 ruf=0/0/0", NULL },

	/* errors */
	{ "err-empty", "", 0, "not a DMARC record", NULL },
	{ "err-spf-record", "v=spf1 -all", 0, "not a DMARC record", NULL },
	{ "err-v-not-first", "p=reject; v=DMARC1", 0, "not a DMARC record", NULL },
	{ "err-v-lower-case-value", "v=dmarc1; p=reject", 0, "not a DMARC record", NULL },
	{ "err-v-dmarc10", "v=DMARC10; p=reject", 0, "not a DMARC record", NULL },
	{ "err-leading-space", " v=DMARC1; p=reject", 0, "not a DMARC record", NULL },
	{ "err-no-separator-after-v", "v=DMARC1 p=reject", 0, "not a DMARC record", NULL },
	{ "err-rfc-b.2.3-authorization-only", "v=DMARC1", 0, "p= is missing", NULL },
	{ "err-no-p-no-rua", "v=DMARC1; sp=reject; adkim=s", 0, "p= is missing", NULL },
	{ "err-no-p-invalid-rua", "v=DMARC1; rua=dmarc@example.com", 0, "p= is missing", NULL },
	{ "err-no-p-rua-scheme-only", "v=DMARC1; rua=mailto:", 0, "p= is missing", NULL },
	{ "err-bad-p", "v=DMARC1; p=block", 0, "p=block is not", NULL },
	{ "err-empty-p", "v=DMARC1; p=", 0, "p= is not none", NULL },
	{ "err-p-two-words", "v=DMARC1; p=reject now", 0, "p=reject now is not", NULL },
	{ "err-bad-sp", "v=DMARC1; p=none; sp=deny", 0, "sp=deny is not", NULL },
	{ "err-bad-p-ruf-only", "v=DMARC1; p=x; ruf=mailto:d@example.com", 0, "p=x is not", NULL },
	{ "bad-pct-101", "v=DMARC1; p=none; pct=101", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct=101 is not 0..100" },
	{ "bad-pct-negative", "v=DMARC1; p=none; pct=-1", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct=-1 is not" },
	{ "bad-pct-four-digits", "v=DMARC1; p=none; pct=0100", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct=0100 is not" },
	{ "bad-pct-empty", "v=DMARC1; p=none; pct=", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct= is not" },
	{ "bad-pct-fraction", "v=DMARC1; p=none; pct=50.5", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct=50.5 is not" },
	{ "bad-pct-inner-space", "v=DMARC1; p=none; pct=1 0", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "pct=1 0 is not" },
	{ "bad-adkim", "v=DMARC1; p=reject; adkim=x; aspf=s", 1,
	  "p=reject sp=- adkim=r aspf=s pct=100 rua=0/0/0 ruf=0/0/0 ignored=1", "adkim=x is not r or s" },
	{ "bad-aspf-word", "v=DMARC1; p=none; adkim=s; aspf=strict", 1,
	  "p=none sp=- adkim=s aspf=r pct=100 rua=0/0/0 ruf=0/0/0 ignored=1", "aspf=strict is not r or s" },
	{ "err-duplicate-p", "v=DMARC1; p=none; p=reject", 0, "tag p appears twice", NULL },
	{ "err-duplicate-any-case", "v=DMARC1; p=none; P=none", 0, "appears twice", NULL },
	{ "err-duplicate-v", "v=DMARC1; v=DMARC1; p=none", 0, "tag v appears twice", NULL },
	{ "err-duplicate-unknown", "v=DMARC1; p=none; x=1; x=2", 0, "tag x appears twice", NULL },
	{ "err-tag-without-equals", "v=DMARC1; p=none; reject", 0, "tag reject: '=' expected", NULL },
	{ "err-name-digit", "v=DMARC1; p=none; 1x=2", 0, "tag name expected", NULL },
	{ "err-name-dash", "v=DMARC1; p-x=none", 0, "'=' expected", NULL },
	{ "err-cr-lf-in-value", "v=DMARC1; p=none\r\n", 0, "byte 0x0d not allowed", NULL },
	{ "bad-ri-letters", "v=DMARC1; p=none; ri=abc", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "ri=abc is not a number" },
	{ "bad-ri-too-big", "v=DMARC1; p=none; ri=4294967296", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "ri=4294967296 is not" },
	{ "bad-fo-value", "v=DMARC1; p=none; fo=2", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "fo=2 is not a list of 0, 1, d, s" },
	{ "bad-fo-empty-item", "v=DMARC1; p=none; fo=0::1", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "fo=0::1 is not" },
	{ "bad-rf-value", "v=DMARC1; p=none; rf=:afrf", 1, "p=none sp=- " DEF " rua=0/0/0 ruf=0/0/0 ignored=1",
	  "rf=:afrf is not a list of keywords" },
	{ "err-shown-cut", "v=DMARC1; p=\x01", 0, "byte 0x01 not allowed", NULL },
	{ "err-8bit-value-shown", "v=DMARC1; p=caf\xc3\xa9", 0, "p=caf?? is not", NULL },
};

static void
test_parse(void **state)
{
	struct dmarc_record r;
	char err[160], got[256];
	size_t i;
	int bad = 0, nok = 0;

	(void)state;
	for (i = 0; i < NROWS(parse_rows); i++) {
		const struct parse_row *w = &parse_rows[i];
		int rc = dmarc_parse(w->in, strlen(w->in), &r, err,
		    sizeof(err));

		nok += strncmp(w->name, "err-", 4) != 0 &&
		    strncmp(w->name, "bad-", 4) != 0;
		if ((rc == 0) != w->ok) {
			print_error("row %s: got %s (%s), want %s\n", w->name,
			    rc == 0 ? "ok" : "error", rc ? err :
			    rec_summary(&r, got, sizeof(got)), w->ok ? "ok" :
			    "error");
			bad++;
		} else if (w->ok && strcmp(rec_summary(&r, got, sizeof(got)),
		    w->want) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n", w->name,
			    got, w->want);
			bad++;
		} else if (!w->ok && strstr(err, w->want) == NULL) {
			print_error("row %s: got error \"%s\", want one with "
			    "\"%s\"\n", w->name, err, w->want);
			bad++;
		}
		if (strcmp(r.text, w->in) != 0 || r.len != strlen(w->in)) {
			print_error("row %s: text not kept\n", w->name);
			bad++;
		}
		if (rc == 0 && (w->note ? strstr(r.note, w->note) == NULL :
		    r.note[0] != '\0')) {
			print_error("row %s: got note \"%s\", want \"%s\"\n",
			    w->name, r.note, w->note ? w->note : "");
			bad++;
		}
	}
	/* as many rows of bad input ("err-", "bad-") as of good */
	assert_true((size_t)nok * 2 <= NROWS(parse_rows));
	assert_int_equal(bad, 0);
}

/* Records built to a size: the limits. */
static void
test_limits(void **state)
{
	static char buf[DMARC_RECORD_MAX * 2];
	struct dmarc_record r;
	char err[160];
	size_t n;
	int i, rc;

	(void)state;
	/* exactly DMARC_RECORD_MAX bytes: usable */
	n = (size_t)snprintf(buf, sizeof(buf), "v=DMARC1; p=reject; x=");
	memset(buf + n, 'a', DMARC_RECORD_MAX - n);
	buf[DMARC_RECORD_MAX] = '\0';
	rc = dmarc_parse(buf, DMARC_RECORD_MAX, &r, err, sizeof(err));
	if (rc != 0)
		print_error("row max-bytes: got error %s, want ok\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(r.cut, 0);

	/* one more: permerror, text kept cut */
	buf[DMARC_RECORD_MAX] = 'a';
	buf[DMARC_RECORD_MAX + 1] = '\0';
	rc = dmarc_parse(buf, DMARC_RECORD_MAX + 1, &r, err, sizeof(err));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "record too long (2049 bytes, at most 2048)"));
	assert_int_equal(r.cut, 1);
	assert_int_equal(r.len, DMARC_RECORD_MAX);

	/* DMARC_TAGS_MAX tags: usable; one more: permerror */
	n = (size_t)snprintf(buf, sizeof(buf), "v=DMARC1; p=none");
	for (i = 2; i < DMARC_TAGS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "; x%d=1", i);
	rc = dmarc_parse(buf, n, &r, err, sizeof(err));
	if (rc != 0)
		print_error("row max-tags: got error %s, want ok\n", err);
	assert_int_equal(rc, 0);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "; y=1");
	rc = dmarc_parse(buf, n, &r, err, sizeof(err));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "more than 32 tags"));

	/* a NUL inside: a control byte, not the end */
	rc = dmarc_parse("v=DMARC1; p=none\0; p=reject", 27, &r, err,
	    sizeof(err));
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "byte 0x00 not allowed"));

	/* no error buffer, NULL text */
	assert_int_equal(dmarc_parse(NULL, 0, &r, NULL, 0), -1);
	assert_int_equal(dmarc_parse("v=DMARC1; p=none", 16, &r, NULL, 0), 0);
}

struct uri_row {
	const char *name, *in;	/* the rua= value */
	int	idx;
	const char *raw;
	int	valid;
	unsigned long long size;
};

static const struct uri_row uri_rows[] = {
	{ "mailto", "mailto:d@example.com", 0, "mailto:d@example.com", 1, 0 },
	{ "size-m", "mailto:d@example.com!10m", 0, "mailto:d@example.com!10m", 1, 10485760ULL },
	{ "size-k", "mailto:d@example.com!1k", 0, "mailto:d@example.com!1k", 1, 1024 },
	{ "size-bytes", "mailto:d@example.com!5", 0, "mailto:d@example.com!5", 1, 5 },
	{ "size-upper-g", "mailto:d@example.com!2G", 0, "mailto:d@example.com!2G", 1, 2147483648ULL },
	{ "size-t", "mailto:d@example.com!1t", 0, "mailto:d@example.com!1t", 1, 1099511627776ULL },
	{ "second-spaces", " mailto:a@x.example , mailto:b@y.example ", 1, "mailto:b@y.example", 1, 0 },
	{ "https", "https://r.example/dmarc?x=1", 0, "https://r.example/dmarc?x=1", 1, 0 },
	{ "encoded-comma", "mailto:a%2Cb@x.example", 0, "mailto:a%2Cb@x.example", 1, 0 },
	{ "err-no-scheme", "d@example.com", 0, "d@example.com", 0, 0 },
	{ "err-scheme-only", "mailto:", 0, "mailto:", 0, 0 },
	{ "err-bang-no-size", "mailto:a@b.example!", 0, "mailto:a@b.example!", 0, 0 },
	{ "err-size-unit", "mailto:a@b.example!10x", 0, "mailto:a@b.example!10x", 0, 0 },
	{ "err-size-overflow", "mailto:a@b.example!99999999999999999999k", 0,
	  "mailto:a@b.example!99999999999999999999k", 0, 0 },
	{ "err-size-shift-overflow", "mailto:a@b.example!17000000t", 0,
	  "mailto:a@b.example!17000000t", 0, 0 },
	{ "err-bad-percent", "mailto:a%2", 0, "mailto:a%2", 0, 0 },
	{ "err-inner-space", "mailto:a b@x.example", 0, "mailto:a b@x.example", 0, 0 },
	{ "err-scheme-digit", "1mailto:a@x.example", 0, "1mailto:a@x.example", 0, 0 },
	{ "err-empty-item", "mailto:a@x.example,,mailto:b@x.example", 1, "", 0, 0 },
};

static void
test_uris(void **state)
{
	struct dmarc_record r;
	char in[512], err[160], raw[256];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NROWS(uri_rows); i++) {
		const struct uri_row *w = &uri_rows[i];
		const struct dmarc_uri *u;

		snprintf(in, sizeof(in), "v=DMARC1; p=none; rua=%s; ruf=%s",
		    w->in, w->in);
		if (dmarc_parse(in, strlen(in), &r, err, sizeof(err)) != 0 ||
		    r.nrua <= w->idx || r.nruf <= w->idx) {
			print_error("row %s: got error \"%s\" or %d URIs\n",
			    w->name, err, r.nrua);
			bad++;
			continue;
		}
		u = &r.rua[w->idx];
		dmarc_span_str(&r, u->raw, raw, sizeof(raw));
		if (strcmp(raw, w->raw) != 0 || u->valid != w->valid ||
		    u->max_size != w->size || u->has_size != (w->size != 0) ||
		    r.ruf[w->idx].valid != w->valid) {
			print_error("row %s: got \"%s\" valid %d size %llu, "
			    "want \"%s\" valid %d size %llu\n", w->name, raw,
			    u->valid, u->max_size, w->raw, w->valid, w->size);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ selection */

struct sel_row {
	const char *name;
	const char *txt[4];
	enum dmarc_sel want;
	int	idx;
};

static const struct sel_row sel_rows[] = {
	{ "no-records", { NULL }, DMARC_SEL_NONE, -1 },
	{ "one", { "v=DMARC1; p=none" }, DMARC_SEL_ONE, 0 },
	{ "one-among-others", { "v=spf1 -all", "google-site-verification=abc",
	  "v=DMARC1; p=reject" }, DMARC_SEL_ONE, 2 },
	{ "one-broken-still-one", { "x", "v=DMARC1; p=bogus" }, DMARC_SEL_ONE, 1 },
	{ "v-only", { "v=DMARC1" }, DMARC_SEL_ONE, 0 },
	{ "two", { "v=DMARC1; p=none", "v=DMARC1; p=reject" }, DMARC_SEL_MANY, -1 },
	{ "two-among-others", { "v=DMARC1; p=none", "hello", "v=DMARC1;p=none" },
	  DMARC_SEL_MANY, -1 },
	{ "others-only", { "v=spf1 -all", "hello world" }, DMARC_SEL_NONE, -1 },
	{ "lower-case-version", { "v=dmarc1; p=none" }, DMARC_SEL_NONE, -1 },
	{ "leading-space", { " v=DMARC1; p=none" }, DMARC_SEL_NONE, -1 },
	{ "version-not-first", { "p=none; v=DMARC1" }, DMARC_SEL_NONE, -1 },
	{ "version-prefix-only", { "v=DMARC", "v=DMARC1x" }, DMARC_SEL_NONE, -1 },
};

static void
test_select(void **state)
{
	struct dmarc_txt t[4];
	size_t i;
	int bad = 0, n, idx;

	(void)state;
	for (i = 0; i < NROWS(sel_rows); i++) {
		const struct sel_row *w = &sel_rows[i];
		enum dmarc_sel got;

		for (n = 0; n < 4 && w->txt[n] != NULL; n++) {
			t[n].s = w->txt[n];
			t[n].len = strlen(w->txt[n]);
		}
		got = dmarc_select(t, n, &idx);
		if (got != w->want || idx != w->idx) {
			print_error("row %s: got %d index %d, want %d index "
			    "%d\n", w->name, got, idx, w->want, w->idx);
			bad++;
		}
	}
	/* a length shorter than the string: only those bytes count */
	t[0].s = "v=DMARC1x";
	t[0].len = 8;
	if (dmarc_select(t, 1, &idx) != DMARC_SEL_ONE) {
		print_error("row length-bounded: got not one\n");
		bad++;
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------ organizational domains */

struct org_row {
	const char *name, *in;
	int	rc;
	const char *want;
};

static const struct org_row org_rows[] = {
	{ "example.com", "example.com", 0, "example.com" },
	{ "subdomain", "a.b.example.com", 0, "example.com" },
	{ "co.uk-registrable", "example.co.uk", 0, "example.co.uk" },
	{ "co.uk-subdomain", "a.example.co.uk", 0, "example.co.uk" },
	{ "co.uk-itself", "co.uk", 1, "co.uk" },
	{ "com-itself", "com", 1, "com" },
	{ "private-blogspot", "foo.blogspot.com", 0, "foo.blogspot.com" },
	{ "private-blogspot-sub", "a.foo.blogspot.com", 0, "foo.blogspot.com" },
	{ "private-suffix-itself", "blogspot.com", 1, "blogspot.com" },
	{ "private-s3", "s3.amazonaws.com", 1, "s3.amazonaws.com" },
	{ "private-s3-bucket", "bucket.s3.amazonaws.com", 0, "bucket.s3.amazonaws.com" },
	{ "wildcard-rule", "a.b.ck", 0, "a.b.ck" },
	{ "wildcard-exception", "mail.www.ck", 0, "www.ck" },
	{ "trailing-dot", "mail.example.com.", 0, "example.com" },
	{ "upper-case", "Mail.EXAMPLE.Co.UK.", 0, "example.co.uk" },
	{ "a-label-suffix", "mail.shop.xn--55qx5d.cn", 0, "shop.xn--55qx5d.cn" },
	{ "underscore", "_dmarc.example.com", 0, "example.com" },
	{ "label-63", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com" },
	{ "err-empty", "", -1, "" },
	{ "err-dot", ".", -1, "" },
	{ "err-two-final-dots", "example.com..", -1, "" },
	{ "err-leading-dot", ".example.com", -1, "" },
	{ "err-empty-label", "a..example.com", -1, "" },
	{ "err-space", "exa mple.com", -1, "" },
	{ "err-utf8", "caf\xc3\xa9.fr", -1, "" },
	{ "err-label-64", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  -1, "" },
	{ "err-slash", "example.com/", -1, "" },
	{ "err-at", "user@example.com", -1, "" },
	{ "err-null", NULL, -1, "" },
	{ "err-newline", "example.com\n", -1, "" },
	{ "err-tab", "exa\tmple.com", -1, "" },
	{ "err-port", "example.com:25", -1, "" },
	{ "err-literal", "[192.0.2.1]", -1, "" },
	{ "err-percent", "ex%61mple.com", -1, "" },
	{ "err-leading-space", " example.com", -1, "" },
	{ "err-trailing-space", "example.com ", -1, "" },
	{ "err-wildcard", "*.example.com", -1, "" },
	{ "err-comma", "example,com", -1, "" },
	{ "err-nul-label", "example\x01.com", -1, "" },
	{ "err-only-dots", "...", -1, "" },
};

static void
test_org_domain(void **state)
{
	char out[DMARC_DOMAIN_MAX + 1], big[300];
	size_t i;
	int bad = 0, rc;

	(void)state;
	for (i = 0; i < NROWS(org_rows); i++) {
		const struct org_row *w = &org_rows[i];

		strcpy(out, "junk");
		rc = dmarc_org_domain(w->in, out, sizeof(out));
		if (rc != w->rc || strcmp(out, w->want) != 0) {
			print_error("row %s: got %d \"%s\", want %d \"%s\"\n",
			    w->name, rc, out, w->rc, w->want);
			bad++;
		}
	}
	/* 253 bytes is a name, 254 is not; a short buffer is an error */
	memset(big, 'a', sizeof(big));
	for (i = 63; i < 253; i += 64)
		big[i] = '.';
	big[253] = '\0';
	if (dmarc_org_domain(big, out, sizeof(out)) != 0) {
		print_error("row 253-bytes: got error\n");
		bad++;
	}
	big[253] = 'a';
	big[254] = '\0';
	if (dmarc_org_domain(big, out, sizeof(out)) != -1) {
		print_error("row 254-bytes: got ok\n");
		bad++;
	}
	if (dmarc_org_domain("a.example.com", out, 8) != -1 ||
	    dmarc_domain_norm("example.com", out, 11) != -1) {
		print_error("row short-buffer: got ok\n");
		bad++;
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ alignment */

struct align_row {
	const char *name, *auth, *from;
	int	strict, want;
};

static const struct align_row align_rows[] = {
	{ "strict-same", "example.com", "example.com", 1, 1 },
	{ "strict-case-dot", "EXAMPLE.com.", "example.COM", 1, 1 },
	{ "strict-sub", "mail.example.com", "example.com", 1, 0 },
	{ "strict-parent", "example.com", "mail.example.com", 1, 0 },
	{ "strict-unrelated", "example.net", "example.com", 1, 0 },
	{ "strict-ps-sibling", "a.co.uk", "b.co.uk", 1, 0 },
	{ "relaxed-same", "example.com", "example.com", 0, 1 },
	{ "relaxed-sub", "mail.example.com", "example.com", 0, 1 },
	{ "relaxed-parent", "example.com", "child.example.com", 0, 1 },
	{ "relaxed-siblings", "a.example.com", "b.example.com", 0, 1 },
	{ "relaxed-co.uk-sub", "mail.example.co.uk", "example.co.uk", 0, 1 },
	{ "relaxed-unrelated", "example.net", "example.com", 0, 0 },
	{ "relaxed-ps-sibling", "a.co.uk", "b.co.uk", 0, 0 },
	{ "relaxed-suffix-and-child", "co.uk", "a.co.uk", 0, 0 },
	{ "relaxed-private-siblings", "a.blogspot.com", "b.blogspot.com", 0, 0 },
	{ "relaxed-suffix-itself", "co.uk", "co.uk", 0, 1 },
	{ "relaxed-case", "MAIL.Example.COM", "example.com.", 0, 1 },
	/* RFC 7489 B.1.1 (SPF) and B.1.2 (DKIM) */
	{ "rfc-b.1.1-1", "example.com", "example.com", 0, 1 },
	{ "rfc-b.1.1-2-relaxed", "child.example.com", "example.com", 0, 1 },
	{ "rfc-b.1.1-2-strict", "child.example.com", "example.com", 1, 0 },
	{ "rfc-b.1.1-3", "example.net", "child.example.com", 0, 0 },
	{ "rfc-b.1.2-2-relaxed", "example.com", "child.example.com", 0, 1 },
	{ "rfc-b.1.2-2-strict", "example.com", "child.example.com", 1, 0 },
	{ "rfc-b.1.2-3", "sample.net", "child.example.com", 0, 0 },
	{ "err-auth-empty", "", "example.com", 0, 0 },
	{ "err-auth-null", NULL, "example.com", 1, 0 },
	{ "err-from-bad", "example.com", "exa mple.com", 0, 0 },
	{ "err-both-bad-strict", "a..b", "a..b", 1, 0 },
	{ "err-both-bad-relaxed", "a..b", "a..b", 0, 0 },
	{ "err-from-empty", "example.com", "", 0, 0 },
	{ "err-from-null-strict", "example.com", NULL, 1, 0 },
	{ "err-utf8-same", "caf\xc3\xa9.fr", "caf\xc3\xa9.fr", 1, 0 },
	{ "err-two-final-dots", "example.com..", "example.com", 1, 0 },
	{ "err-space-relaxed", "mail.example.com ", "example.com", 0, 0 },
};

static void
test_aligned(void **state)
{
	size_t i;
	int bad = 0, got;

	(void)state;
	for (i = 0; i < NROWS(align_rows); i++) {
		const struct align_row *w = &align_rows[i];

		got = dmarc_aligned(w->auth, w->from, w->strict);
		if (got != w->want) {
			print_error("row %s: got %d, want %d\n", w->name, got,
			    w->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ the plan */

static void
test_plan(void **state)
{
	struct dmarc_plan p;
	char walk[1024];
	int i;

	(void)state;
	assert_int_equal(dmarc_plan("Mail.Example.COM.", &p), 0);
	assert_string_equal(p.from, "mail.example.com");
	assert_string_equal(p.org, "example.com");
	assert_int_equal(p.nnames, 2);
	assert_string_equal(p.name[0], "_dmarc.mail.example.com");
	assert_string_equal(p.name[1], "_dmarc.example.com");
	assert_int_equal(p.from_is_suffix, 0);

	assert_int_equal(dmarc_plan("example.com", &p), 0);
	assert_int_equal(p.nnames, 1);

	assert_int_equal(dmarc_plan("co.uk", &p), 0);
	assert_int_equal(p.from_is_suffix, 1);
	assert_int_equal(p.nnames, 1);

	/* 11 labels: FROM, then 7 labels down to 1 */
	assert_int_equal(dmarc_plan("a.b.c.d.e.f.g.h.i.example.com", &p), 0);
	walk[0] = '\0';
	for (i = 0; i < p.nwalk; i++) {
		strcat(walk, p.walk[i]);
		strcat(walk, " ");
	}
	assert_int_equal(p.nwalk, DMARC_WALK_MAX);
	assert_string_equal(walk, "a.b.c.d.e.f.g.h.i.example.com "
	    "e.f.g.h.i.example.com f.g.h.i.example.com g.h.i.example.com "
	    "h.i.example.com i.example.com example.com com ");

	assert_int_equal(dmarc_plan("exa mple.com", &p), -1);
	assert_string_equal(p.from, "");
}

/* ------------------------------------------------------------ discovery */

struct rr {
	const char *name;
	enum dmarc_dns st;
	const char *txt[3];
};

struct fake {
	const struct rr *zone;
	char	asked[1024];
	struct dmarc_txt out[3];
};

static enum dmarc_dns
fake_txt(void *arg, const char *name, const struct dmarc_txt **txt, int *n)
{
	struct fake *f = arg;
	const struct rr *r;
	int k;

	if (f->asked[0])
		strcat(f->asked, " ");
	strncat(f->asked, name, sizeof(f->asked) - strlen(f->asked) - 1);
	for (r = f->zone; r != NULL && r->name != NULL; r++) {
		if (strcmp(r->name, name) != 0)
			continue;
		if (r->st != DMARC_DNS_FOUND)
			return r->st;
		for (k = 0; k < 3 && r->txt[k] != NULL; k++) {
			f->out[k].s = r->txt[k];
			f->out[k].len = strlen(r->txt[k]);
		}
		*txt = f->out;
		*n = k;
		return DMARC_DNS_FOUND;
	}
	return DMARC_DNS_NONE;
}

#define FOUND	DMARC_DNS_FOUND
#define TEMP	DMARC_DNS_TEMPFAIL

static const struct rr z_none[] = { { NULL, 0, { NULL } } };
static const struct rr z_reject[] = {
	{ "_dmarc.example.com", FOUND, { "v=spf1 -all", "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_sp[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject; sp=quarantine" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_temp_from[] = {
	{ "_dmarc.mail.example.com", TEMP, { NULL } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_temp_org[] = {
	{ "_dmarc.example.com", TEMP, { NULL } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_two[] = {
	{ "_dmarc.mail.example.com", FOUND, { "v=DMARC1; p=none", "v=DMARC1; p=reject" } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_broken[] = {
	{ "_dmarc.mail.example.com", FOUND, { "v=DMARC1; p=bogus" } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_not_dmarc[] = {
	{ "_dmarc.mail.example.com", FOUND, { "v=spf1 -all" } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=quarantine" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_empty_answer[] = {
	{ "_dmarc.example.com", FOUND, { NULL } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_middle[] = {
	{ "_dmarc.b.example.com", FOUND, { "v=DMARC1; p=quarantine" } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_only_middle[] = {
	{ "_dmarc.b.example.com", FOUND, { "v=DMARC1; p=quarantine" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_org_and_psd[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ "_dmarc.com", FOUND, { "v=DMARC1; p=none; psd=y" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_psd_y[] = {
	{ "_dmarc.com", FOUND, { "v=DMARC1; p=reject; psd=y" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_psd_n[] = {
	{ "_dmarc.b.example.com", FOUND, { "v=DMARC1; p=none; psd=n" } },
	{ "_dmarc.com", FOUND, { "v=DMARC1; p=reject; psd=y" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_psd_y_self[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject; psd=y" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_walk_temp[] = {
	{ "_dmarc.mail.example.com", FOUND, { "v=DMARC1; p=none" } },
	{ "_dmarc.com", TEMP, { NULL } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_walk_two[] = {
	{ "_dmarc.b.example.com", FOUND, { "v=DMARC1; p=none", "v=DMARC1; p=none" } },
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};

struct disc_row {
	const char *name, *from;
	const struct rr *zone;
	unsigned flags;
	const char *want;	/* disc_summary() */
	const char *asked;	/* names asked, in order */
	const char *why;	/* part of why; NULL: "" */
};

static const struct disc_row disc_rows[] = {
	{ "record-at-from", "example.com", z_reject, 0,
	  "record rec=example.com sp=0 n=1 walk=done wp=example.com wo=example.com 0/0 wn=1",
	  "_dmarc.example.com _dmarc.com", NULL },
	{ "org-is-from-one-lookup", "example.com", z_reject, DMARC_NO_WALK,
	  "record rec=example.com sp=0 n=1 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.example.com", NULL },
	{ "org-record-sp", "mail.example.com", z_sp, 0,
	  "record rec=example.com sp=1 n=2 walk=done wp=example.com wo=example.com 0/0 wn=1",
	  "_dmarc.mail.example.com _dmarc.example.com _dmarc.com", NULL },
	{ "org-record-no-sp", "Mail.Example.com.", z_reject, DMARC_NO_WALK,
	  "record rec=example.com sp=1 n=2 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com _dmarc.example.com", NULL },
	{ "not-dmarc-at-from", "mail.example.com", z_not_dmarc, DMARC_NO_WALK,
	  "record rec=example.com sp=1 n=2 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com _dmarc.example.com", NULL },
	{ "no-record", "mail.example.com", z_none, 0,
	  "none rec=- sp=0 n=2 walk=done wp=- wo=mail.example.com 0/1 wn=1",
	  "_dmarc.mail.example.com _dmarc.example.com _dmarc.com",
	  "no DMARC record at _dmarc.mail.example.com or _dmarc.example.com" },
	{ "empty-answer", "example.com", z_empty_answer, DMARC_NO_WALK,
	  "none rec=- sp=0 n=1 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.example.com", "no DMARC record at _dmarc.example.com" },
	{ "temperror-first", "mail.example.com", z_temp_from, 0,
	  "temperror rec=- sp=0 n=1 walk=temperror wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com", "_dmarc.mail.example.com: temporary DNS failure" },
	{ "temperror-org", "mail.example.com", z_temp_org, DMARC_NO_WALK,
	  "temperror rec=- sp=0 n=2 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com _dmarc.example.com",
	  "_dmarc.example.com: temporary DNS failure" },
	{ "two-records-no-fallback", "mail.example.com", z_two, DMARC_NO_WALK,
	  "permerror rec=mail.example.com sp=0 n=1 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com", "_dmarc.mail.example.com: more than one DMARC record" },
	{ "broken-record-no-fallback", "mail.example.com", z_broken, DMARC_NO_WALK,
	  "permerror rec=mail.example.com sp=0 n=1 walk=skipped wp=- wo=- 0/0 wn=0",
	  "_dmarc.mail.example.com", "_dmarc.mail.example.com: p=bogus is not" },
	{ "from-not-a-domain", "exa mple.com", z_reject, 0,
	  "none rec=- sp=0 n=0 walk=skipped wp=- wo=- 0/0 wn=0",
	  "", "not a domain name" },
	{ "from-null", NULL, z_reject, 0,
	  "none rec=- sp=0 n=0 walk=skipped wp=- wo=- 0/0 wn=0",
	  "", "not a domain name" },
	{ "from-public-suffix", "co.uk", z_none, 0,
	  "none rec=- sp=0 n=1 walk=done wp=- wo=co.uk 0/0 wn=1",
	  "_dmarc.co.uk _dmarc.uk", "no DMARC record at _dmarc.co.uk" },
	/* DMARCbis tree walk */
	{ "walk-middle-record-not-policy", "a.b.example.com", z_middle, 0,
	  "record rec=example.com sp=1 n=2 walk=done wp=example.com wo=example.com 0/0 wn=2",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com _dmarc.com",
	  NULL },
	{ "walk-only-middle", "a.b.example.com", z_only_middle, 0,
	  "none rec=- sp=0 n=2 walk=done wp=b.example.com wo=b.example.com 1/1 wn=2",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com _dmarc.com",
	  "no DMARC record at" },
	{ "walk-two-at-from", "mail.example.com", z_two, 0,
	  "permerror rec=mail.example.com sp=0 n=1 walk=done wp=example.com wo=example.com 1/0 wn=2",
	  "_dmarc.mail.example.com _dmarc.example.com _dmarc.com", "more than one" },
	{ "walk-broken-at-from", "mail.example.com", z_broken, 0,
	  "permerror rec=mail.example.com sp=0 n=1 walk=done wp=example.com wo=example.com 1/0 wn=2",
	  "_dmarc.mail.example.com _dmarc.example.com _dmarc.com", "p=bogus" },
	{ "walk-org-record-before-psd", "a.b.example.com", z_org_and_psd, 0,
	  "record rec=example.com sp=1 n=2 walk=done wp=example.com wo=example.com 0/0 wn=2",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com _dmarc.com",
	  NULL },
	{ "walk-psd-y-above", "a.b.example.com", z_psd_y, 0,
	  "none rec=- sp=0 n=2 walk=done wp=com wo=example.com 1/0 wn=2",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com _dmarc.com",
	  "no DMARC record at" },
	{ "walk-psd-n-stops", "a.b.example.com", z_psd_n, 0,
	  "none rec=- sp=0 n=2 walk=done wp=b.example.com wo=b.example.com 1/1 wn=1",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com", "no DMARC record at" },
	{ "walk-psd-y-at-from", "example.com", z_psd_y_self, 0,
	  "record rec=example.com sp=0 n=1 walk=done wp=example.com wo=example.com 0/0 wn=0",
	  "_dmarc.example.com", NULL },
	{ "walk-temperror-only", "mail.example.com", z_walk_temp, 0,
	  "record rec=mail.example.com sp=0 n=1 walk=temperror wp=- wo=- 0/0 wn=2",
	  "_dmarc.mail.example.com _dmarc.example.com _dmarc.com", NULL },
	{ "walk-skips-two-records", "a.b.example.com", z_walk_two, 0,
	  "record rec=example.com sp=1 n=2 walk=done wp=example.com wo=example.com 0/0 wn=2",
	  "_dmarc.a.b.example.com _dmarc.example.com _dmarc.b.example.com _dmarc.com",
	  NULL },
	{ "walk-eight-names", "a.b.c.d.e.f.g.h.i.example.com", z_reject, 0,
	  "record rec=example.com sp=1 n=2 walk=done wp=example.com wo=example.com 0/0 wn=6",
	  "_dmarc.a.b.c.d.e.f.g.h.i.example.com _dmarc.example.com "
	  "_dmarc.e.f.g.h.i.example.com _dmarc.f.g.h.i.example.com "
	  "_dmarc.g.h.i.example.com _dmarc.h.i.example.com _dmarc.i.example.com "
	  "_dmarc.com", NULL },
};

static const char *
disc_summary(const struct dmarc_discovery *d, char *buf, size_t n)
{
	snprintf(buf, n, "%s rec=%s sp=%d n=%d walk=%s wp=%s wo=%s %d/%d wn=%d",
	    dmarc_disc_str(d->status), dash(d->record_domain), d->sp_applies,
	    d->lookups, dmarc_walk_str(d->walk), dash(d->walk_policy_domain),
	    dash(d->walk_org_domain), d->walk_policy_differs,
	    d->walk_org_differs, d->walk_lookups);
	return buf;
}

static void
test_discover(void **state)
{
	static struct dmarc_discovery d;
	struct fake f;
	char got[1024];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NROWS(disc_rows); i++) {
		const struct disc_row *w = &disc_rows[i];

		memset(&f, 0, sizeof(f));
		f.zone = w->zone;
		dmarc_discover(w->from, fake_txt, &f, w->flags, &d);
		disc_summary(&d, got, sizeof(got));
		if (strcmp(got, w->want) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n", w->name,
			    got, w->want);
			bad++;
		}
		if (strcmp(f.asked, w->asked) != 0) {
			print_error("row %s: asked \"%s\", want \"%s\"\n",
			    w->name, f.asked, w->asked);
			bad++;
		}
		if (w->why ? strstr(d.why, w->why) == NULL : d.why[0] != '\0') {
			print_error("row %s: why \"%s\", want \"%s\"\n", w->name,
			    d.why, w->why ? w->why : "");
			bad++;
		}
	}
	/* what the record-at-from row found */
	memset(&f, 0, sizeof(f));
	f.zone = z_reject;
	dmarc_discover("EXAMPLE.com", fake_txt, &f, 0, &d);
	assert_string_equal(d.from_domain, "example.com");
	assert_string_equal(d.org_domain, "example.com");
	assert_string_equal(d.rec.text, "v=DMARC1; p=reject");
	assert_int_equal(d.rec.p, DMARC_POLICY_REJECT);
	/* no lookup function: temperror, not a crash */
	dmarc_discover("example.com", NULL, NULL, 0, &d);
	assert_int_equal(d.status, DMARC_DISC_TEMPERROR);
	assert_int_equal(d.walk, DMARC_WALK_TEMPERROR);
	/* a broken record is kept for the report */
	memset(&f, 0, sizeof(f));
	f.zone = z_broken;
	dmarc_discover("mail.example.com", fake_txt, &f, 0, &d);
	assert_string_equal(d.rec.text, "v=DMARC1; p=bogus");
	assert_int_equal(d.from_is_suffix, 0);
	assert_int_equal(bad, 0);
}

/* A From domain whose _dmarc name is too long is not asked. */
static void
test_discover_long(void **state)
{
	static struct dmarc_discovery d;
	char from[DMARC_DOMAIN_MAX + 1];
	struct fake f;

	(void)state;
	/* 61 + 1 + 61 + 1 + 61 + 1 + 55 + 1 + 11 = 253 bytes */
	memset(from, 'a', sizeof(from));
	from[61] = from[123] = from[185] = '.';
	strcpy(from + 241, ".example.com");
	assert_int_equal(strlen(from), 253);
	memset(&f, 0, sizeof(f));
	f.zone = z_reject;
	dmarc_discover(from, fake_txt, &f, DMARC_NO_WALK, &d);
	assert_int_equal(d.status, DMARC_DISC_RECORD);
	assert_int_equal(d.lookups, 1);
	assert_string_equal(f.asked, "_dmarc.example.com");
	assert_int_equal(strlen(d.from_domain), 253);
}

/* ------------------------------------------------------------- evaluate */

struct eval_row {
	const char *name, *from;
	const struct rr *zone;
	const char *dkim[3];
	int	ndkim;
	const char *spf;
	int	spf_pass;
	const char *want;	/* eval_summary() */
};

static const struct rr z_strict[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=quarantine; adkim=s; aspf=s; pct=25" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_fallback[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=bogus; rua=mailto:d@example.com" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_rfc_b31[] = {
	{ "_dmarc.example.com", FOUND,
	  { "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com" } },
	{ NULL, 0, { NULL } },
};
static const struct rr z_two_at_org[] = {
	{ "_dmarc.example.com", FOUND, { "v=DMARC1; p=none", "v=DMARC1; p=reject" } },
	{ NULL, 0, { NULL } },
};

static const struct eval_row eval_rows[] = {
	{ "pass-dkim-only", "example.com", z_reject, { "example.com" }, 1,
	  "bounce.example.net", 1,
	  "pass policy=reject pct=100 dkim=example.com spf=- spfd=bounce.example.net" },
	{ "pass-spf-only", "example.com", z_reject, { "other.example" }, 1,
	  "mail.example.com", 1,
	  "pass policy=reject pct=100 dkim=- spf=mail.example.com spfd=mail.example.com" },
	{ "pass-second-dkim", "example.com", z_reject,
	  { "evil.example", "Mail.Example.COM" }, 2, NULL, 0,
	  "pass policy=reject pct=100 dkim=mail.example.com spf=- spfd=-" },
	{ "pass-null-dkim-skipped", "example.com", z_reject,
	  { NULL, "example.com" }, 2, NULL, 0,
	  "pass policy=reject pct=100 dkim=example.com spf=- spfd=-" },
	{ "rfc-b.3.1-both", "example.com", z_rfc_b31, { "example.com" }, 1,
	  "mail.example.com", 1,
	  "pass policy=reject pct=100 dkim=example.com spf=mail.example.com spfd=mail.example.com" },
	{ "pass-sp-applies-relaxed", "mail.example.com", z_sp,
	  { "example.com" }, 1, NULL, 0,
	  "pass policy=quarantine pct=100 dkim=example.com spf=- spfd=-" },
	{ "pass-strict-dkim-same", "mail.example.com", z_strict,
	  { "example.com", "mail.example.com" }, 2, NULL, 0,
	  "pass policy=quarantine pct=25 dkim=mail.example.com spf=- spfd=-" },
	{ "fail-both-unaligned", "example.com", z_reject, { "example.net" }, 1,
	  "example.net", 1,
	  "fail policy=reject pct=100 dkim=- spf=- spfd=example.net" },
	{ "fail-spf-aligned-not-pass", "example.com", z_reject, { NULL }, 0,
	  "example.com", 0,
	  "fail policy=reject pct=100 dkim=- spf=- spfd=example.com" },
	{ "fail-dkim-beyond-n", "example.com", z_reject,
	  { "example.net", "example.com" }, 1, NULL, 0,
	  "fail policy=reject pct=100 dkim=- spf=- spfd=-" },
	{ "fail-sp-applies", "mail.example.com", z_sp, { "example.net" }, 1,
	  NULL, 0, "fail policy=quarantine pct=100 dkim=- spf=- spfd=-" },
	{ "fail-no-sp-p-applies", "mail.example.com", z_reject, { NULL }, 0,
	  NULL, 0, "fail policy=reject pct=100 dkim=- spf=- spfd=-" },
	{ "fail-strict-dkim-parent", "mail.example.com", z_strict,
	  { "example.com" }, 1, NULL, 0,
	  "fail policy=quarantine pct=25 dkim=- spf=- spfd=-" },
	{ "fail-strict-spf-sub", "example.com", z_strict, { NULL }, 0,
	  "mail.example.com", 1,
	  "fail policy=quarantine pct=25 dkim=- spf=- spfd=mail.example.com" },
	{ "fail-fallback-policy-none", "example.com", z_fallback, { NULL }, 0,
	  NULL, 0, "fail policy=none pct=100 dkim=- spf=- spfd=-" },
	{ "none-no-record", "example.com", z_none, { "example.com" }, 1,
	  "example.com", 1, "none policy=- pct=100 dkim=- spf=- spfd=example.com" },
	{ "none-bad-from", "exa mple.com", z_reject, { "example.com" }, 1,
	  "bad domain", 1, "none policy=- pct=100 dkim=- spf=- spfd=-" },
	{ "temperror", "mail.example.com", z_temp_org, { "example.com" }, 1,
	  NULL, 0, "temperror policy=- pct=100 dkim=- spf=- spfd=-" },
	{ "permerror-two-records", "example.com", z_two_at_org,
	  { "example.com" }, 1, NULL, 0,
	  "permerror policy=- pct=100 dkim=- spf=- spfd=-" },
	{ "permerror-broken", "mail.example.com", z_broken, { "example.com" }, 1,
	  NULL, 0, "permerror policy=- pct=100 dkim=- spf=- spfd=-" },
};

static void
test_evaluate(void **state)
{
	static struct dmarc_discovery d;
	struct dmarc_eval e;
	struct fake f;
	char got[1024];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NROWS(eval_rows); i++) {
		const struct eval_row *w = &eval_rows[i];

		memset(&f, 0, sizeof(f));
		f.zone = w->zone;
		dmarc_discover(w->from, fake_txt, &f, DMARC_NO_WALK, &d);
		dmarc_evaluate(&d, w->dkim, w->ndkim, w->spf, w->spf_pass, &e);
		snprintf(got, sizeof(got), "%s policy=%s pct=%d dkim=%s spf=%s "
		    "spfd=%s", dmarc_result_str(e.result), pol(e.policy), e.pct,
		    dash(e.dkim_aligned), dash(e.spf_aligned),
		    dash(e.spf_domain));
		if (strcmp(got, w->want) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n", w->name,
			    got, w->want);
			bad++;
		}
	}
	/* no signature list at all */
	memset(&f, 0, sizeof(f));
	f.zone = z_reject;
	dmarc_discover("example.com", fake_txt, &f, DMARC_NO_WALK, &d);
	dmarc_evaluate(&d, NULL, 0, NULL, 1, &e);
	assert_int_equal(e.result, DMARC_RESULT_FAIL);
	assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------------- words */

static void
test_words(void **state)
{
	(void)state;
	assert_string_equal(dmarc_result_str(DMARC_RESULT_PASS), "pass");
	assert_string_equal(dmarc_result_str(DMARC_RESULT_FAIL), "fail");
	assert_string_equal(dmarc_result_str(DMARC_RESULT_NONE), "none");
	assert_string_equal(dmarc_result_str(DMARC_RESULT_TEMPERROR), "temperror");
	assert_string_equal(dmarc_result_str(DMARC_RESULT_PERMERROR), "permerror");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_NONE), "none");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_QUARANTINE), "quarantine");
	assert_string_equal(dmarc_policy_str(DMARC_POLICY_REJECT), "reject");
	assert_null(dmarc_policy_str(DMARC_POLICY_UNSET));
	assert_string_equal(dmarc_align_str(DMARC_ALIGN_RELAXED), "r");
	assert_string_equal(dmarc_align_str(DMARC_ALIGN_STRICT), "s");
	assert_string_equal(dmarc_disc_str(DMARC_DISC_NONE), "none");
	assert_string_equal(dmarc_disc_str(DMARC_DISC_RECORD), "record");
	assert_string_equal(dmarc_disc_str(DMARC_DISC_TEMPERROR), "temperror");
	assert_string_equal(dmarc_disc_str(DMARC_DISC_PERMERROR), "permerror");
	assert_string_equal(dmarc_walk_str(DMARC_WALK_SKIPPED), "skipped");
	assert_string_equal(dmarc_walk_str(DMARC_WALK_DONE), "done");
	assert_string_equal(dmarc_walk_str(DMARC_WALK_TEMPERROR), "temperror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_discover_long),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
