/* SPDX-License-Identifier: ISC */
/* test_dkim - tag lists, canonicalization, signatures, key records, the
 * RFC 6376 appendix A and RFC 8463 examples, message mutations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/canon.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

/* ------------------------------------------------------------- tag lists */

struct tag_row {
	const char *name, *in;
	int	ok;		/* 1 parses */
	int	n;		/* tags */
	const char *tag, *val;	/* optional: this tag has this value */
};

static const struct tag_row tag_rows[] = {
	{ "simple", "v=1; a=rsa-sha256", 1, 2, "a", "rsa-sha256" },
	{ "trailing-semicolon", "v=1; a=x;", 1, 2, "v", "1" },
	{ "fws-around", " v = 1 ;\r\n\ta =\r\n b ", 1, 2, "a", "b" },
	{ "lf-fws", "v=1;\n a=2", 1, 2, "a", "2" },
	{ "empty-value", "p=; k=rsa", 1, 2, "p", "" },
	{ "inner-fws-kept", "b=abc\r\n def", 1, 1, "b", "abc\r\n def" },
	{ "equals-in-value", "bh=abc==; x=1", 1, 2, "bh", "abc==" },
	{ "underscore-name", "a_b1=x", 1, 1, "a_b1", "x" },
	{ "empty-list", "", 1, 0, NULL, NULL },
	{ "only-fws", "  \r\n ", 1, 0, NULL, NULL },
	{ "err-duplicate", "v=1; v=1", 0, 0, NULL, NULL },
	{ "err-no-equals", "v=1; a", 0, 0, NULL, NULL },
	{ "err-empty-spec", "v=1;; a=2", 0, 0, NULL, NULL },
	{ "err-name-digit", "1a=2", 0, 0, NULL, NULL },
	{ "err-name-dash", "a-b=2", 0, 0, NULL, NULL },
	{ "err-bare-lf", "a=1\nb", 0, 0, NULL, NULL },
	{ "err-ctl-in-value", "a=1\001", 0, 0, NULL, NULL },
	{ "err-8bit-value", "a=\xc3\xa9", 0, 0, NULL, NULL },
	{ "err-space-in-name", "a b=1", 0, 0, NULL, NULL },
	{ "err-leading-semicolon", ";a=1", 0, 0, NULL, NULL },
};

static void
test_tags(void **state)
{
	struct dkim_tags t;
	char err[128];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(tag_rows) / sizeof(tag_rows[0]); i++) {
		const struct tag_row *r = &tag_rows[i];
		int rc = dkim_tags_parse(r->in, strlen(r->in), &t, err,
		    sizeof(err));

		if ((rc == 0) != r->ok) {
			print_error("row %s: got %s (%s), want %s\n", r->name,
			    rc == 0 ? "ok" : "error", rc ? err : "",
			    r->ok ? "ok" : "error");
			bad++;
			continue;
		}
		if (!r->ok)
			continue;
		if (t.n != r->n) {
			print_error("row %s: got %d tags, want %d\n", r->name,
			    t.n, r->n);
			bad++;
		}
		if (r->tag) {
			const struct dkim_tag *g = dkim_tag_get(&t, r->tag);

			if (g == NULL || g->vlen != strlen(r->val) ||
			    memcmp(g->val, r->val, g->vlen) != 0) {
				print_error("row %s: got %s=%.*s, want %s\n",
				    r->name, r->tag, g ? (int)g->vlen : 0,
				    g ? g->val : "", r->val);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------- canonicalization */

struct canon_row {
	const char *name;
	enum canon c;
	const char *in, *want;
};

static const struct canon_row body_rows[] = {
	{ "simple-crlf", CANON_SIMPLE, "a\r\nb\r\n", "a\r\nb\r\n" },
	{ "simple-lf", CANON_SIMPLE, "a\nb\n", "a\r\nb\r\n" },
	{ "simple-trailing-blank", CANON_SIMPLE, "a\r\n\r\n\r\n", "a\r\n" },
	{ "simple-empty", CANON_SIMPLE, "", "\r\n" },
	{ "simple-only-blank", CANON_SIMPLE, "\r\n\r\n", "\r\n" },
	{ "simple-no-final-eol", CANON_SIMPLE, "a\r\nb", "a\r\nb\r\n" },
	{ "simple-keeps-wsp", CANON_SIMPLE, "a  b \r\n", "a  b \r\n" },
	{ "simple-inner-blank", CANON_SIMPLE, "a\n\nb\n", "a\r\n\r\nb\r\n" },
	{ "simple-wsp-line-kept", CANON_SIMPLE, "a\n \n", "a\r\n \r\n" },
	{ "relaxed-wsp", CANON_RELAXED, "a \t b  \r\n", "a b\r\n" },
	{ "relaxed-lf", CANON_RELAXED, "a\tb\n", "a b\r\n" },
	{ "relaxed-empty", CANON_RELAXED, "", "" },
	{ "relaxed-only-blank", CANON_RELAXED, "\r\n \r\n\t\r\n", "" },
	{ "relaxed-trailing-wsp-lines", CANON_RELAXED, "a\r\n  \r\n", "a\r\n" },
	{ "relaxed-no-final-eol", CANON_RELAXED, "a  b", "a b\r\n" },
	{ "relaxed-leading-wsp", CANON_RELAXED, "  a\r\n", " a\r\n" },
	{ "relaxed-inner-blank", CANON_RELAXED, "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "relaxed-bare-cr-kept", CANON_RELAXED, "a\rb\r\n", "a\rb\r\n" },
};

static const struct canon_row header_rows[] = {
	{ "simple-as-is", CANON_SIMPLE, "SubJect :  A  b\r\n", "SubJect :  A  b\r\n" },
	{ "simple-lf", CANON_SIMPLE, "Subject: a\n\tb\n", "Subject: a\r\n\tb\r\n" },
	{ "simple-no-eol", CANON_SIMPLE, "Subject: a", "Subject: a\r\n" },
	{ "relaxed-lower", CANON_RELAXED, "SubJect: A\r\n", "subject:A\r\n" },
	{ "relaxed-unfold", CANON_RELAXED, "Subject: a\r\n\tb  c \r\n", "subject:a b c\r\n" },
	{ "relaxed-colon-wsp", CANON_RELAXED, "Subject \t:  x\r\n", "subject:x\r\n" },
	{ "relaxed-lf-fold", CANON_RELAXED, "To: a,\n b\n", "to:a, b\r\n" },
	{ "relaxed-empty-value", CANON_RELAXED, "X-A:   \r\n", "x-a:\r\n" },
};

static int
canon_table(const struct canon_row *rows, size_t n, int body)
{
	struct canon_buf b = { NULL, 0, 0 };
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		const struct canon_row *r = &rows[i];

		b.len = 0;
		if (body)
			canon_body(r->c, r->in, strlen(r->in), &b);
		else
			canon_header(r->c, r->in, strlen(r->in), &b);
		if (b.len != strlen(r->want) || memcmp(b.p, r->want,
		    b.len) != 0) {
			print_error("row %s: got \"%.*s\", want \"%s\"\n",
			    r->name, (int)b.len, b.p ? b.p : "", r->want);
			bad++;
		}
	}
	canon_buf_free(&b);
	return bad;
}

static void
test_canon(void **state)
{
	struct canon_buf b = { NULL, 0, 0 };
	const char *f = "DKIM-Signature: v=1; b=abc\r\n def; bh=xyz\r\n";
	const char *g = "DKIM-Signature: v=1; bh=xyz; b=abc\r\n def\r\n";

	(void)state;
	assert_int_equal(canon_table(body_rows, sizeof(body_rows) /
	    sizeof(body_rows[0]), 1), 0);
	assert_int_equal(canon_table(header_rows, sizeof(header_rows) /
	    sizeof(header_rows[0]), 0), 0);
	assert_int_equal(canon_strip_b(f, strlen(f), &b), 0);
	assert_int_equal(b.len, strlen("DKIM-Signature: v=1; b=; bh=xyz\r\n"));
	assert_memory_equal(b.p, "DKIM-Signature: v=1; b=; bh=xyz\r\n", b.len);
	assert_int_equal(canon_strip_b(g, strlen(g), &b), 0);
	assert_memory_equal(b.p, "DKIM-Signature: v=1; bh=xyz; b=\r\n", b.len);
	assert_int_equal(canon_strip_b("X: bh=1\r\n", 9, &b), -1);
	canon_buf_free(&b);
}

/* ------------------------------------------------------------ signatures */

#define BH256 "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"
#define BSIG "b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB;"

struct sig_row {
	const char *name, *in;
	enum auth_reason want;
};

static const struct sig_row sig_rows[] = {
	{ "ok", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; " BH256 BSIG, AUTH_REASON_NONE },
	{ "ok-ed25519", "v=1; a=ed25519-sha256; d=e.com; s=s; h=From; " BH256
	    "b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==", AUTH_REASON_NONE },
	{ "ok-sha1", "v=1; a=rsa-sha1; d=e.com; s=s; h=from; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAA=; " BSIG, AUTH_REASON_NONE },
	{ "ok-i-subdomain", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=u@a.e.com; " BH256 BSIG, AUTH_REASON_NONE },
	{ "ok-l-t-x", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; l=10; t=1; x=2; " BH256 BSIG, AUTH_REASON_NONE },
	{ "ok-c-relaxed", "v=1; a=rsa-sha256; c=relaxed; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_NONE },
	{ "ok-q", "v=1; a=rsa-sha256; q=dns/txt; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_NONE },
	{ "ok-folded-h", "v=1; a=rsa-sha256; d=e.com; s=s; h=from :\r\n to ; " BH256 BSIG, AUTH_REASON_NONE },
	{ "no-from", "v=1; a=rsa-sha256; d=e.com; s=s; h=to:subject; " BH256 BSIG, AUTH_REASON_FROM_NOT_SIGNED },
	{ "err-v2", "v=2; a=rsa-sha256; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-no-bh", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; " BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-no-d", "v=1; a=rsa-sha256; s=s; h=from; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-no-h", "v=1; a=rsa-sha256; d=e.com; s=s; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-empty-b", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; " BH256 "b=", AUTH_REASON_SIG_SYNTAX },
	{ "err-bad-b64", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; " BH256 "b=a*b=", AUTH_REASON_SIG_SYNTAX },
	{ "err-i-outside", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=u@other.com; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-l-alpha", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; l=1x; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-t-alpha", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; t=soon; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-alg", "v=1; a=rsa-md5; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_UNSUPPORTED_ALG },
	{ "err-canon", "v=1; a=rsa-sha256; c=fancy/simple; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_UNSUPPORTED_ALG },
	{ "err-q", "v=1; a=rsa-sha256; q=http; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_UNSUPPORTED_ALG },
	{ "err-bh-length", "v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=AAAA; " BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-ed-siglen", "v=1; a=ed25519-sha256; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-empty-h-name", "v=1; a=rsa-sha256; d=e.com; s=s; h=from::to; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-bad-domain", "v=1; a=rsa-sha256; d=e..com; s=s; h=from; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "err-dup-tag", "v=1; a=rsa-sha256; d=e.com; d=e.com; s=s; h=from; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
};

/* Rows of sig_row parsed as arc (0: DKIM-Signature, 1: AMS); the
 * number of rows that did not give their reason. */
static int
sig_rows_failed(const struct sig_row *rows, size_t n, int arc)
{
	static struct dkim_sig sig;
	char why[160];
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		const struct sig_row *r = &rows[i];
		enum auth_reason got;

		why[0] = '\0';
		got = dkim_sig_parse(r->in, strlen(r->in), arc, &sig, why,
		    sizeof(why));
		if (got != r->want) {
			print_error("row %s: got %s (%s), want %s\n", r->name,
			    auth_reason_str(got) ? auth_reason_str(got) : "ok",
			    why, auth_reason_str(r->want) ?
			    auth_reason_str(r->want) : "ok");
			bad++;
		}
	}
	return bad;
}

static void
test_sig_parse(void **state)
{
	(void)state;
	assert_int_equal(sig_rows_failed(sig_rows,
	    sizeof(sig_rows) / sizeof(sig_rows[0]), 0), 0);
}

/* ARC-Message-Signatures (dkim_sig_parse with arc = 1). */
static const struct sig_row ams_rows[] = {
	{ "ams-ok", "i=1; a=rsa-sha256; d=e.com; s=s; h=from:to:arc-authentication-results; "
	    BH256 BSIG, AUTH_REASON_NONE },
	{ "ams-no-from-is-fine", "i=1; a=rsa-sha256; d=e.com; s=s; h=to; " BH256 BSIG,
	    AUTH_REASON_NONE },
	{ "ams-name-like-arc-seal", "i=1; a=rsa-sha256; d=e.com; s=s; h=from:arc-sealed; "
	    BH256 BSIG, AUTH_REASON_NONE },
	{ "ams-signs-arc-seal", "i=1; a=rsa-sha256; d=e.com; s=s; h=from:arc-seal; " BH256
	    BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "ams-signs-ARC-SEAL", "i=2; a=rsa-sha256; d=e.com; s=s; h=ARC-SEAL:from; " BH256
	    BSIG, AUTH_REASON_SIG_SYNTAX },
	{ "ams-signs-arc-seal-folded", "i=1; a=rsa-sha256; d=e.com; s=s; h=from :\r\n "
	    "Arc-Seal ; " BH256 BSIG, AUTH_REASON_SIG_SYNTAX },
};

static void
test_ams_parse(void **state)
{
	(void)state;
	assert_int_equal(sig_rows_failed(ams_rows,
	    sizeof(ams_rows) / sizeof(ams_rows[0]), 1), 0);
}

/* ------------------------------------------------------------ key records */

#define ED_P "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"

struct key_row {
	const char *name, *in;
	enum auth_reason want;
	int	bits;
	int	flags;		/* 1 testing, 2 strict, 4 no email, 8 k=other */
};

static const struct key_row key_rows[] = {
	{ "rsa", "v=DKIM1; " RSA_P, AUTH_REASON_NONE, 1024, 0 },
	{ "rsa-no-v", "k=rsa; " RSA_P, AUTH_REASON_NONE, 1024, 0 },
	{ "ed25519", "v=DKIM1; k=ed25519; " ED_P, AUTH_REASON_NONE, 256, 0 },
	{ "testing", "v=DKIM1; t=y; " RSA_P, AUTH_REASON_NONE, 1024, 1 },
	{ "strict", "v=DKIM1; t=s:y; " RSA_P, AUTH_REASON_NONE, 1024, 3 },
	{ "service-other", "v=DKIM1; s=tlsrpt; " RSA_P, AUTH_REASON_NONE, 1024, 4 },
	{ "service-star", "v=DKIM1; s=*; " RSA_P, AUTH_REASON_NONE, 1024, 0 },
	{ "k-other", "v=DKIM1; k=dsa; " RSA_P, AUTH_REASON_NONE, 0, 8 },
	{ "rsa-pkcs1", "v=DKIM1; p=MIGJAoGBAPAhE/9QLdIGwSYapn1klbf8OQygZ4udCDV9afv/Ni0jE3ZKcUKPE4Iob2/dviNh9xM2HmKNKyrrfW4Ei0truh36/9G10LZTMnWVZP3jupH5FxpzaBu2j80yonR/N9WMfg64qGK11j21/qZzAaNo0FxZOggyY9I8N1A81RhyRxDZAgMBAAE=",
	    AUTH_REASON_NONE, 1024, 0 },
	{ "revoked", "v=DKIM1; p=", AUTH_REASON_KEY_REVOKED, 0, 0 },
	{ "err-spki-not-rsa-oid", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBCwUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
	    AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-trailing-bytes", "v=DKIM1; p=MIGJAoGBAPAhE/9QLdIGwSYapn1klbf8OQygZ4udCDV9afv/Ni0jE3ZKcUKPE4Iob2/dviNh9xM2HmKNKyrrfW4Ei0truh36/9G10LZTMnWVZP3jupH5FxpzaBu2j80yonR/N9WMfg64qGK11j21/qZzAaNo0FxZOggyY9I8N1A81RhyRxDZAgMBAAEAAA==",
	    AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-no-p", "v=DKIM1; k=rsa", AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-v-not-first", "k=rsa; v=DKIM1; " RSA_P, AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-v-wrong", "v=DKIM2; " RSA_P, AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-bad-b64", "v=DKIM1; p=MIGf*MA0", AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-not-der", "v=DKIM1; p=AAAAAAAA", AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-ed-length", "v=DKIM1; k=ed25519; p=AAAAAAAA", AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-rsa-as-ed", "v=DKIM1; k=ed25519; " RSA_P, AUTH_REASON_KEY_SYNTAX, 0, 0 },
	{ "err-tags", "v=DKIM1; p", AUTH_REASON_KEY_SYNTAX, 0, 0 },
};

static void
test_key_parse(void **state)
{
	struct dkim_key k;
	size_t i;
	int bad = 0, fl;

	(void)state;
	for (i = 0; i < sizeof(key_rows) / sizeof(key_rows[0]); i++) {
		const struct key_row *r = &key_rows[i];

		dkim_key_parse(r->in, strlen(r->in), &k);
		fl = (k.testing ? 1 : 0) | (k.strict ? 2 : 0) |
		    (k.email_ok ? 0 : 4) | (k.k == DKIM_K_OTHER ? 8 : 0);
		if (k.err != r->want || (r->want == AUTH_REASON_NONE &&
		    (k.bits != r->bits || fl != r->flags))) {
			print_error("row %s: got %s bits %d flags %d (%s), "
			    "want %s bits %d flags %d\n", r->name,
			    auth_reason_str(k.err) ? auth_reason_str(k.err) :
			    "ok", k.bits, fl, k.why, auth_reason_str(r->want) ?
			    auth_reason_str(r->want) : "ok", r->bits, r->flags);
			bad++;
		}
		dkim_key_clear(&k);
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------ whole messages (RFCs) */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	b = malloc(1 << 20);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

struct msg_row {
	const char *name, *file, *keys;
	const char *edit_from, *edit_to;	/* optional change to the message */
	int	nsig;
	const char *want[2];	/* "result reason body header" per signature */
};

#define D "tests/data/dkim/"
static const struct msg_row msg_rows[] = {
	{ "rfc8463", D "rfc8463.eml", D "rfc8463.keys", NULL, NULL, 2,
	    { "pass - match pass", "pass - match pass" } },
	{ "rfc6376-errata", D "rfc6376-errata.eml", D "rfc6376.keys", NULL,
	    NULL, 1, { "pass - match pass" } },
	{ "rfc6376-lf", D "rfc6376-errata.eml", D "rfc6376.keys", "\r\n",
	    "\n", 1, { "pass - match pass" } },
	{ "rfc8463-lf", D "rfc8463.eml", D "rfc8463.keys", "\r\n", "\n", 2,
	    { "pass - match pass", "pass - match pass" } },
	{ "rfc6376-printed", D "rfc6376-printed.eml", D "rfc6376.keys", NULL,
	    NULL, 1, { "fail body-hash-mismatch mismatch pass" } },
	{ "rfc6376-reindented", D "rfc6376-reindented.eml", D "rfc6376.keys",
	    NULL, NULL, 1, { "fail signature-mismatch match fail" } },
	{ "rfc8463-body", D "rfc8463.eml", D "rfc8463.keys", "Joe.", "Jim.",
	    2, { "fail body-hash-mismatch mismatch pass",
	    "fail body-hash-mismatch mismatch pass" } },
	{ "rfc8463-relaxed-wsp", D "rfc8463.eml", D "rfc8463.keys",
	    "lost the", "lost \t the", 2, { "pass - match pass",
	    "pass - match pass" } },
	{ "rfc8463-subject", D "rfc8463.eml", D "rfc8463.keys",
	    "dinner ready", "lunch ready", 2, {
	    "fail signature-mismatch match fail",
	    "fail signature-mismatch match fail" } },
	{ "rfc6376-simple-subject-wsp", D "rfc6376-errata.eml",
	    D "rfc6376.keys", "Subject: Is", "Subject:  Is", 1,
	    { "fail signature-mismatch match fail" } },
	{ "rfc6376-no-key", D "rfc6376-errata.eml", D "rfc8463.keys", NULL,
	    NULL, 1, { "temperror key-not-found match -" } },
	/* The body alone proves a changed body: no key needed. */
	{ "rfc6376-no-key-body-changed", D "rfc6376-printed.eml",
	    D "rfc8463.keys", NULL, NULL, 1,
	    { "fail body-hash-mismatch mismatch -" } },
	{ "rfc8463-no-key-body-changed", D "rfc8463.eml", D "rfc6376.keys",
	    "Joe.", "Jim.", 2, { "fail body-hash-mismatch mismatch -",
	    "fail body-hash-mismatch mismatch -" } },
	{ "rfc8463-sel-swapped", D "rfc8463.eml", D "rfc8463.keys",
	    "s=brisbane", "s=test", 2, {
	    "permerror key-type-mismatch match -",
	    "pass - match pass" } },
	{ "rfc8463-trailing-blank", D "rfc8463.eml", D "rfc8463.keys",
	    "Joe.\r\n", "Joe.\r\n\r\n\r\n", 2, { "pass - match pass",
	    "pass - match pass" } },
	{ "rfc6376-added-line", D "rfc6376-errata.eml", D "rfc6376.keys",
	    "Joe.\r\n", "Joe.\r\nP.S.\r\n", 1,
	    { "fail body-hash-mismatch mismatch pass" } },
};

static void
test_messages(void **state)
{
	size_t i, len, klen;
	int bad = 0, k;
	struct dkim_ctx *x = dkim_ctx_new();
	static struct dkim_results res;
	struct hdr h;
	char got[200], err[200];

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 0; i < sizeof(msg_rows) / sizeof(msg_rows[0]); i++) {
		const struct msg_row *r = &msg_rows[i];
		struct keys_opts ko;
		struct keys *keys;
		char *m = slurp(r->file, &len), *kt = slurp(r->keys, &klen);

		memset(&ko, 0, sizeof(ko));
		ko.offline = 1;
		keys = keys_new(&ko, err, sizeof(err));
		assert_non_null(keys);
		assert_int_equal(keys_load_text(keys, kt, klen, err,
		    sizeof(err)), 0);
		if (r->edit_from) {
			/* replace every occurrence */
			char *o = malloc(len * 4 + 64), *p = m, *q;
			size_t nf = strlen(r->edit_from), nt = strlen(r->edit_to);
			size_t ol = 0;

			while ((q = memmem(p, len - (size_t)(p - m),
			    r->edit_from, nf)) != NULL) {
				memcpy(o + ol, p, (size_t)(q - p));
				ol += (size_t)(q - p);
				memcpy(o + ol, r->edit_to, nt);
				ol += nt;
				p = q + nf;
			}
			memcpy(o + ol, p, len - (size_t)(p - m));
			ol += len - (size_t)(p - m);
			free(m);
			m = o;
			len = ol;
		}
		hdr_parse(&h, m, len);
		res.nfound = 0;
		for (k = 0; k < h.nf; k++)
			if (hdr_is(&h.f[k], "DKIM-Signature")) {
				res.found[res.nfound].field = k;
				res.found[res.nfound++].received_above = 0;
			}
		dkim_verify(x, keys, &h, m, len, 1600000000, 1600000000, &res);
		if (res.n != r->nsig) {
			print_error("row %s: got %d signatures, want %d\n",
			    r->name, res.n, r->nsig);
			bad++;
		}
		for (k = 0; k < res.n && k < r->nsig; k++) {
			const struct dkim_result *d = &res.sig[k];

			snprintf(got, sizeof(got), "%s %s %s %s",
			    auth_result_str(d->result),
			    auth_reason_str(d->reason) ?
			    auth_reason_str(d->reason) : "-",
			    d->body_hash == AUTH_CHECK_NONE ? "-" :
			    d->body_hash == AUTH_CHECK_PASS ? "match" :
			    "mismatch", d->header_sig == AUTH_CHECK_NONE ?
			    "-" : d->header_sig == AUTH_CHECK_PASS ? "pass" :
			    "fail");
			if (strcmp(got, r->want[k]) != 0) {
				print_error("row %s sig %d: got \"%s\" (%s), "
				    "want \"%s\"\n", r->name, k, got,
				    d->detail, r->want[k]);
				bad++;
			}
		}
		keys_free(keys);
		free(m);
		free(kt);
	}
	hdr_free(&h);
	dkim_ctx_free(x);
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ zone files */

struct zone_row {
	const char *name, *in;
	int	ok;
	const char *sel, *dom;	/* must be found with this many keys */
	int	nkeys;
};

static const struct zone_row zone_rows[] = {
	{ "one-line", "s._domainkey.e.com. 300 IN TXT \"v=DKIM1; k=ed25519; " ED_P "\"\n",
	    1, "s", "e.com", 1 },
	{ "split-strings", "s._domainkey.e.com TXT \"v=DKIM1; k=ed25519; \" \"" ED_P "\"\n",
	    1, "s", "e.com", 1 },
	{ "parens", "; c\ns._domainkey.e.com IN TXT (\n \"v=DKIM1; k=ed25519; \"\n \"" ED_P "\" )\n",
	    1, "s", "e.com", 1 },
	{ "two-records", "s._domainkey.e.com TXT \"v=DKIM1; p=\"\ns._domainkey.e.com TXT \"k=ed25519; " ED_P "\"\n",
	    1, "s", "e.com", 2 },
	{ "case", "S._DomainKey.E.COM TXT \"" ED_P "\"\n", 1, "s", "e.com", 1 },
	{ "origin", "$TTL 300\n$ORIGIN e.com.\ns._domainkey IN TXT \"" ED_P "\"\n",
	    1, "s", "e.com", 1 },
	{ "origin-at", "$ORIGIN s._domainkey.e.com.\n@ 60 TXT \"" ED_P "\"\n",
	    1, "s", "e.com", 1 },
	{ "origin-absolute", "$ORIGIN x.org.\ns._domainkey.e.com. TXT \"" ED_P "\"\n",
	    1, "s", "e.com", 1 },
	{ "err-directive", "$INCLUDE other.zone\n", 0, NULL, NULL, 0 },
	{ "err-origin-empty", "$ORIGIN\n", 0, NULL, NULL, 0 },
	{ "err-type", "s._domainkey.e.com IN A 192.0.2.1\n", 0, NULL, NULL, 0 },
	{ "err-unterminated", "s._domainkey.e.com TXT \"v=DKIM1\n", 0, NULL, NULL, 0 },
	{ "err-no-data", "s._domainkey.e.com TXT (\n", 0, NULL, NULL, 0 },
	{ "err-name-only", "s._domainkey.e.com\n", 0, NULL, NULL, 0 },
	{ "err-parens-open", "s._domainkey.e.com TXT ( \"a\"\n", 0, NULL, NULL, 0 },
};

static void
test_zone(void **state)
{
	size_t i;
	int bad = 0;
	char err[200];

	(void)state;
	for (i = 0; i < sizeof(zone_rows) / sizeof(zone_rows[0]); i++) {
		const struct zone_row *r = &zone_rows[i];
		struct keys_opts ko;
		struct keys *k;
		int rc;

		memset(&ko, 0, sizeof(ko));
		ko.offline = 1;
		k = keys_new(&ko, err, sizeof(err));
		rc = keys_load_text(k, r->in, strlen(r->in), err, sizeof(err));
		if ((rc == 0) != r->ok) {
			print_error("row %s: got %s (%s), want %s\n", r->name,
			    rc ? "error" : "ok", rc ? err : "", r->ok ? "ok" :
			    "error");
			bad++;
		} else if (r->ok) {
			const struct keys_entry *e = keys_get(k, r->sel,
			    r->dom);

			if (e->status != KEYS_FOUND || e->nkeys != r->nkeys ||
			    e->source != AUTH_KEY_FILE) {
				print_error("row %s: got status %d with %d "
				    "keys, want found with %d\n", r->name,
				    e->status, e->nkeys, r->nkeys);
				bad++;
			}
		}
		keys_free(k);
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_ams_parse),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_zone),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
