/* SPDX-License-Identifier: ISC */
/* test_authres - the Authentication-Results parser. Each row's parse is
 * written out in one canonical line (describe()) and compared with the
 * row's want: every field of the result is in that line, so a row fails
 * when any of them is wrong. RFC 8601 Appendix B's fields come from its
 * examples B.2-B.7 (B.1 is a message without the field), unfolded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "verifier/authres.h"

struct sbuf {
	char	p[8192];
	size_t	n;
};

static void add(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->n >= sizeof(b->p))
		return;
	va_start(ap, fmt);
	b->n += (size_t)vsnprintf(b->p + b->n, sizeof(b->p) - b->n, fmt, ap);
	va_end(ap);
}

/* The ptype enum must agree with the word it was read from. */
static int
ptype_consistent(const struct authres_prop *p)
{
	static const char *const known[] = { "smtp", "header", "body", "policy" };
	size_t i;

	if (p->ptype_word[0] == '\0')
		return p->ptype == AUTHRES_PT_BARE;
	for (i = 0; i < 4; i++)
		if (strcmp(p->ptype_word, known[i]) == 0)
			return strcmp(authres_ptype_str(p->ptype), known[i]) == 0;
	return p->ptype == AUTHRES_PT_OTHER;
}

static void
describe_result(struct sbuf *b, const struct authres_resinfo *r)
{
	int i;

	add(b, "; %s", r->method);
	if (r->method_version)
		add(b, "/%d", r->method_version);
	add(b, "=%s", authres_result_str(r->result));
	if (r->result == AUTHRES_OTHER)
		add(b, "(%s)", r->result_word);
	else if (strcmp(r->result_word, authres_result_str(r->result)) != 0)
		add(b, "[word %s]", r->result_word);
	if (r->has_reason)
		add(b, " reason=\"%s\"", r->reason);
	if (r->note[0])
		add(b, " note=\"%s\"", r->note);
	for (i = 0; i < r->nprop; i++) {
		const struct authres_prop *p = &r->prop[i];

		add(b, " %s%s%s=%s%s%s", p->ptype_word, p->ptype_word[0] ?
		    "." : "", p->property, p->value, p->cut ? "[cut]" : "",
		    ptype_consistent(p) ? "" : "[ptype enum]");
	}
	if (r->props_truncated)
		add(b, " props_truncated=%d", r->props_truncated);
	if (r->flags & AUTHRES_RF_CUT)
		add(b, " +cut");
	if (r->flags & AUTHRES_RF_BARE)
		add(b, " +bare");
	if (r->flags & AUTHRES_RF_PTYPE)
		add(b, " +ptype");
	if (r->flags & AUTHRES_RF_LATE_REASON)
		add(b, " +late");
}

/* One line for everything a parse produced. */
static const char *
describe(int rc, const struct authres *ar, const char *err, struct sbuf *b)
{
	int i;

	b->n = 0;
	b->p[0] = '\0';
	if (rc != 0) {
		add(b, "error: %s", err);
		if (ar->nres != 0 || ar->res != NULL || ar->authserv_id[0])
			add(b, " [not emptied]");
		return b->p;
	}
	if (err[0])
		add(b, "[err set: %s] ", err);
	if (ar->flags & AUTHRES_F_NO_ID)
		add(b, "noid%s", ar->authserv_id[0] ? "[id set]" : "");
	else
		add(b, "id=%s", ar->authserv_id);
	if (strcmp(ar->authserv_id, ar->authserv_lc) != 0)
		add(b, " lc=%s", ar->authserv_lc);
	if (ar->arc)
		add(b, " i=%d", ar->instance);
	else if (ar->instance)
		add(b, " [instance %d]", ar->instance);
	if (ar->has_version)
		add(b, " v=%d", ar->version);
	else if (ar->version != 1)
		add(b, " [version %d]", ar->version);
	if (ar->none)
		add(b, " none");
	if (ar->flags & AUTHRES_F_EMPTY_PART)
		add(b, " +empty");
	if (ar->flags & AUTHRES_F_TRAILING_SEMI)
		add(b, " +trailing");
	if (ar->truncated)
		add(b, " truncated=%d", ar->truncated);
	if (ar->unparsed)
		add(b, " unparsed=%d (%s)", ar->unparsed, ar->unparsed_why);
	for (i = 0; i < ar->nres; i++)
		describe_result(b, &ar->res[i]);
	return b->p;
}

struct row {
	const char *name;
	int	arc;
	const char *in, *want;
};

static const struct row rows[] = {
	/* RFC 8601 Appendix B */
	{ "B.2", 0, "example.org 1; none", "id=example.org v=1 none" },
	{ "B.3", 0, "example.com;\r\n          spf=pass smtp.mailfrom=example.net",
	    "id=example.com; spf=pass smtp.mailfrom=example.net" },
	{ "B.4-auth-spf", 0, "example.com;          auth=pass (cram-md5) "
	    "smtp.auth=sender@example.net;          spf=pass "
	    "smtp.mailfrom=example.net",
	    "id=example.com; auth=pass note=\"cram-md5\" "
	    "smtp.auth=sender@example.net; spf=pass smtp.mailfrom=example.net" },
	{ "B.4-iprev", 0, "example.com; iprev=pass          policy.iprev=192.0.2.200",
	    "id=example.com; iprev=pass policy.iprev=192.0.2.200" },
	{ "B.5-dkim", 0, "example.com;          dkim=pass (good signature) "
	    "header.d=example.com",
	    "id=example.com; dkim=pass note=\"good signature\" "
	    "header.d=example.com" },
	{ "B.5-auth-spf-fail", 0, "example.com;          auth=pass (cram-md5) "
	    "smtp.auth=sender@example.com;          spf=fail "
	    "smtp.mailfrom=example.com",
	    "id=example.com; auth=pass note=\"cram-md5\" "
	    "smtp.auth=sender@example.com; spf=fail smtp.mailfrom=example.com" },
	{ "B.5-rfc7601-sender-id", 0, "example.com;          sender-id=fail "
	    "header.from=example.com;          dkim=pass (good signature) "
	    "header.d=example.com",
	    "id=example.com; sender-id=fail header.from=example.com; dkim=pass "
	    "note=\"good signature\" header.d=example.com" },
	{ "B.6-two-dkim", 0, "example.com;      dkim=pass reason=\"good "
	    "signature\"        header.i=@mail-router.example.net;      "
	    "dkim=fail reason=\"bad signature\"        "
	    "header.i=@newyork.example.com",
	    "id=example.com; dkim=pass reason=\"good signature\" "
	    "header.i=@mail-router.example.net; dkim=fail reason=\"bad "
	    "signature\" header.i=@newyork.example.com" },
	{ "B.6-second-mta", 0, "example.net;      dkim=pass (good signature) "
	    "header.i=@newyork.example.com",
	    "id=example.net; dkim=pass note=\"good signature\" "
	    "header.i=@newyork.example.com" },
	{ "B.7-comment-heavy", 0, "foo.example.net (foobar) 1 (baz);    dkim "
	    "(Because I like it) / 1 (One yay) = (wait for it) fail      policy "
	    "(A dot can go here) . (like that) expired      (this surprised me) "
	    "= (as I wasn't expecting it) 1362471462",
	    "id=foo.example.net v=1; dkim/1=fail note=\"A dot can go here\" "
	    "policy.expired=1362471462" },
	/* ARC-Authentication-Results (RFC 8617 4.1.1) */
	{ "aar-google", 1, "i=1; mx.google.com; dkim=pass "
	    "header.i=@example.org header.s=s1 header.b=Xy12AbCd; spf=pass "
	    "(google.com: domain of a@example.org designates 192.0.2.1 as "
	    "permitted sender) smtp.mailfrom=a@example.org; dmarc=pass (p=NONE "
	    "sp=NONE dis=NONE) header.from=example.org",
	    "id=mx.google.com i=1; dkim=pass header.i=@example.org header.s=s1 "
	    "header.b=Xy12AbCd; spf=pass note=\"google.com: domain of "
	    "a@example.org designates 192.0.2.1 as permitted sender\" "
	    "smtp.mailfrom=a@example.org; dmarc=pass note=\"p=NONE sp=NONE "
	    "dis=NONE\" header.from=example.org" },
	{ "aar-microsoft", 1, "i=2; mx.microsoft.com 1; spf=pass "
	    "smtp.mailfrom=example.com; dmarc=pass action=none "
	    "header.from=example.com; dkim=pass header.d=example.com; arc=none",
	    "id=mx.microsoft.com i=2 v=1; spf=pass smtp.mailfrom=example.com; "
	    "dmarc=pass action=none header.from=example.com +bare; dkim=pass "
	    "header.d=example.com; arc=none" },
	{ "aar-fastmail", 1, "i=1; mx3.messagingengine.com; x-csa=none; "
	    "x-me-sender=none; x-ptr=pass smtp.helo=mail.example.com "
	    "policy.ptr=mail.example.com",
	    "id=mx3.messagingengine.com i=1; x-csa=none; x-me-sender=none; "
	    "x-ptr=pass smtp.helo=mail.example.com policy.ptr=mail.example.com" },
	{ "aar-spaces-around-i", 1, " i = 50 ; mx.example.net; none",
	    "id=mx.example.net i=50 none" },
	/* real-world shapes */
	{ "gmail", 0, "mx.google.com; dkim=pass header.i=@example.com "
	    "header.s=20230601 header.b=AbCdEf12; spf=pass (google.com: domain "
	    "of x@y designates 1.2.3.4 as permitted sender) smtp.mailfrom=x@y; "
	    "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com",
	    "id=mx.google.com; dkim=pass header.i=@example.com header.s=20230601 "
	    "header.b=AbCdEf12; spf=pass note=\"google.com: domain of x@y "
	    "designates 1.2.3.4 as permitted sender\" smtp.mailfrom=x@y; "
	    "dmarc=pass note=\"p=REJECT sp=REJECT dis=NONE\" "
	    "header.from=example.com" },
	{ "microsoft-no-authserv-id", 0, "spf=pass (sender IP is 1.2.3.4) "
	    "smtp.mailfrom=example.com; dkim=none (message not signed) "
	    "header.d=none;dmarc=none action=none "
	    "header.from=example.com;compauth=pass reason=100",
	    "noid; spf=pass note=\"sender IP is 1.2.3.4\" "
	    "smtp.mailfrom=example.com; dkim=none note=\"message not signed\" "
	    "header.d=none; dmarc=none action=none header.from=example.com "
	    "+bare; compauth=pass reason=\"100\"" },
	{ "fastmail", 0, "mx4.messagingengine.com; dkim=pass (2048-bit rsa key "
	    "sha256) header.d=github.com header.i=@github.com header.b=Ab1/cD+e "
	    "header.a=rsa-sha256 header.s=pf2023 x-bits=2048; dmarc=pass "
	    "policy.published-domain-policy=reject "
	    "policy.evaluated-disposition=none (p=reject,sp=reject,d=none) "
	    "policy.policy-from=p header.from=github.com; iprev=pass "
	    "smtp.remote-ip=2001:db8::25 (out-18.smtp.github.com); x-return-mx=pass "
	    "header.domain=github.com policy.is_org=yes (MX Records found: "
	    "aspmx.l.google.com); x-tls=pass smtp.version=TLSv1.3 "
	    "smtp.bits=256/256; x-vs=clean score=40 state=0",
	    "id=mx4.messagingengine.com; dkim=pass note=\"2048-bit rsa key "
	    "sha256\" header.d=github.com header.i=@github.com header.b=Ab1/cD+e "
	    "header.a=rsa-sha256 header.s=pf2023 x-bits=2048 +bare; dmarc=pass "
	    "note=\"p=reject,sp=reject,d=none\" "
	    "policy.published-domain-policy=reject "
	    "policy.evaluated-disposition=none policy.policy-from=p "
	    "header.from=github.com; iprev=pass note=\"out-18.smtp.github.com\" "
	    "smtp.remote-ip=2001:db8::25; x-return-mx=pass note=\"MX Records "
	    "found: aspmx.l.google.com\" header.domain=github.com "
	    "policy.is_org=yes; x-tls=pass smtp.version=TLSv1.3 "
	    "smtp.bits=256/256; x-vs=other(clean) score=40 state=0 +bare" },
	/* syntax */
	{ "quoted-semicolon", 0, "example.com; dkim=fail reason=\"bad; really "
	    "bad\" header.d=example.com; spf=pass smtp.mailfrom=a@example.com",
	    "id=example.com; dkim=fail reason=\"bad; really bad\" "
	    "header.d=example.com; spf=pass smtp.mailfrom=a@example.com" },
	{ "quoted-escapes", 0, "example.com; dkim=fail reason=\"say \\\"no\\\" "
	    "\\\\ here\"", "id=example.com; dkim=fail reason=\"say \"no\" \\ "
	    "here\"" },
	{ "quoted-authserv-id", 0, "\"mx.example.com\"; none",
	    "id=mx.example.com none" },
	{ "quoted-local-part", 0, "example.com; spf=pass "
	    "smtp.mailfrom=\"john doe\"@example.com",
	    "id=example.com; spf=pass smtp.mailfrom=\"john doe\"@example.com" },
	{ "quoted-pvalue", 0, "example.net; dkim=pass header.d=\"github.com\" "
	    "header.i=\"dkim+foo-bar@example.github.com\"",
	    "id=example.net; dkim=pass header.d=github.com "
	    "header.i=dkim+foo-bar@example.github.com" },
	{ "nested-comment", 0, "example.com; dkim=pass (good (really \\) good) "
	    "signature) header.d=example.com",
	    "id=example.com; dkim=pass note=\"good (really ) good) signature\" "
	    "header.d=example.com" },
	{ "first-comment-only", 0, "example.com (one) ; spf=pass () (  two ) "
	    "smtp.mailfrom=example.net (three)",
	    "id=example.com; spf=pass note=\"two\" smtp.mailfrom=example.net" },
	{ "upper-case", 0, "MX.Example.COM; DKIM=PASS Header.D=Example.COM; "
	    "SPF=SoftFail smtp.MailFrom=a@B.example",
	    "id=MX.Example.COM lc=mx.example.com; dkim=pass "
	    "header.d=Example.COM; spf=softfail smtp.mailfrom=a@B.example" },
	{ "method-version", 0, "example.com 1; dkim/1=pass header.d=example.com; "
	    "spf / 2 = neutral",
	    "id=example.com v=1; dkim/1=pass header.d=example.com; "
	    "spf/2=neutral" },
	{ "none-with-comments", 0, "example.org (no checks) ; NONE (nothing)",
	    "id=example.org none" },
	{ "spaces-around-equals", 0, "example.com; spf = pass "
	    "smtp . mailfrom = example.net",
	    "id=example.com; spf=pass smtp.mailfrom=example.net" },
	{ "no-space-trailing-semi", 0, "example.com;spf=pass "
	    "smtp.mailfrom=example.net;dkim=pass header.d=example.net;",
	    "id=example.com +trailing; spf=pass smtp.mailfrom=example.net; "
	    "dkim=pass header.d=example.net" },
	{ "empty-part", 0, "example.com; spf=pass;; dkim=permerror",
	    "id=example.com +empty; spf=pass; dkim=permerror" },
	{ "result-words", 0, "example.com; spf=hardfail; dkim=temperror; "
	    "dmarc=policy; x=neutral; y=signed",
	    "id=example.com; spf=hardfail; dkim=temperror; dmarc=policy; "
	    "x=neutral; y=other(signed)" },
	{ "late-reason-other-ptype", 0, "example.com; dkim=fail "
	    "header.d=example.com reason=\"body hash\" x-p.q=1 body.l=10",
	    "id=example.com; dkim=fail reason=\"body hash\" header.d=example.com "
	    "x-p.q=1 body.l=10 +ptype +late" },
	{ "utf8-pvalue", 0, "example.net; dkim=pass header.i=Pel\xc3\xa9@example.com",
	    "id=example.net; dkim=pass header.i=Pel\xc3\xa9@example.com" },
	{ "crlf-left-in", 0, "example.com;\r\n\tspf=pass\r\n "
	    "smtp.mailfrom=example.net (a\r\n b)",
	    "id=example.com; spf=pass note=\"a   b\" smtp.mailfrom=example.net" },
	/* parts that do not parse: skipped, counted, the field goes on */
	{ "garbage-after-result", 0, "example.com; spf=pass fail "
	    "smtp.mailfrom=example.net; dkim=pass header.d=example.net",
	    "id=example.com unparsed=1 (part 1: spf=pass: \"fail\" after the "
	    "result is not a property); dkim=pass header.d=example.net" },
	{ "junk-byte-after-result", 0, "example.com; spf=pass/x; dkim=none",
	    "id=example.com unparsed=1 (part 1: spf=pass: '/' after the "
	    "result); dkim=none" },
	{ "unterminated-comment-in-part", 0, "example.com; spf=pass "
	    "smtp.mailfrom=example.net; dkim=pass (unterminated; header.d=x",
	    "id=example.com unparsed=1 (part 2: unterminated comment); spf=pass "
	    "smtp.mailfrom=example.net" },
	{ "unterminated-quote-in-part", 0, "example.com; dkim=fail "
	    "reason=\"oops; spf=pass",
	    "id=example.com unparsed=1 (part 1: unterminated quoted string)" },
	{ "missing-equals", 0, "example.com; spf pass; dkim=pass",
	    "id=example.com unparsed=1 (part 1: '=' expected after method spf, "
	    "found 'p'); dkim=pass" },
	{ "missing-result", 0, "example.com; dkim=; spf=pass",
	    "id=example.com unparsed=1 (part 1: dkim=: result expected, found "
	    "';'); spf=pass" },
	{ "missing-method", 0, "example.com; =pass; spf=pass",
	    "id=example.com unparsed=1 (part 1: method expected, found '='); "
	    "spf=pass" },
	{ "missing-method-version", 0, "example.com; dkim/=pass",
	    "id=example.com unparsed=1 (part 1: dkim/: version expected)" },
	{ "reason-twice", 0, "example.com; dkim=fail reason=a reason=b; spf=none",
	    "id=example.com unparsed=1 (part 1: dkim: reason= twice); spf=none" },
	{ "property-twice", 0, "example.com; dkim=pass header.d=a.example "
	    "header.d=b.example; spf=none",
	    "id=example.com unparsed=1 (part 1: dkim: header.d twice); "
	    "spf=none" },
	{ "ptype-without-property", 0, "example.com; dkim=pass header.=x",
	    "id=example.com unparsed=1 (part 1: dkim=pass: header. is not a "
	    "property)" },
	{ "property-without-value", 0, "example.com; dkim=pass header.d=; "
	    "spf=pass", "id=example.com unparsed=1 (part 1: header.d=: value "
	    "expected, found ';'); spf=pass" },
	{ "none-beside-results", 0, "example.com; none; spf=pass",
	    "id=example.com unparsed=1 (\"none\" beside results); spf=pass" },
	{ "control-byte-in-value", 0, "example.com; spf=pass "
	    "smtp.mailfrom=a\x01" "b; dkim=none",
	    "id=example.com unparsed=1 (part 1: spf=pass: byte 0x01 after the "
	    "result); dkim=none" },
	{ "control-byte-in-comment", 0, "example.com; spf=pass (a\x7f) x.y=1; "
	    "dkim=none", "id=example.com unparsed=1 (part 1: byte 0x7f in a "
	    "comment); dkim=none" },
	{ "stray-paren", 0, "example.com; spf=pass) smtp.mailfrom=x; dkim=none",
	    "id=example.com unparsed=1 (part 1: spf=pass: ')' after the "
	    "result); dkim=none" },
	{ "8bit-method", 0, "example.com; dk\xc3\xafm=pass; spf=none",
	    "id=example.com unparsed=1 (part 1: '=' expected after method dk, "
	    "found byte 0xc3); spf=none" },
	{ "keyword-too-long", 0, "example.com; "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "=pass; spf=none", "id=example.com unparsed=1 (part 1: keyword "
	    "\"aaaaaaaaaaaaaaaa...\" longer than 63 bytes); spf=none" },
	{ "two-bad-parts", 0, "example.com; a; b=; c=pass",
	    "id=example.com unparsed=2 (part 1: '=' expected after method a, "
	    "found ';'); c=pass" },
	/* fields that are ignored as a whole */
	{ "empty", 0, "", "error: no authserv-id: empty" },
	{ "blank", 0, " \t ", "error: no authserv-id: empty" },
	{ "only-a-comment", 0, " (just a comment) ",
	    "error: no authserv-id: only a comment" },
	{ "unterminated-comment", 0, "example.com (oops; spf=pass",
	    "error: unterminated comment" },
	{ "unterminated-quote", 0, "\"example.com; spf=pass",
	    "error: unterminated quoted string" },
	{ "no-authserv-id", 0, "; spf=pass smtp.mailfrom=example.net",
	    "error: no authserv-id: ';' first" },
	{ "authserv-id-empty-quotes", 0, "\"\" ; none",
	    "error: no authserv-id: \"\" first" },
	{ "authserv-id-not-a-token", 0, "@example.com; none",
	    "error: no authserv-id: '@' first" },
	{ "version-2", 0, "example.org 2; none",
	    "error: authres-version 2 is not 1 (RFC 8601 2.2)" },
	{ "version-long", 0, "example.org 1234567; none",
	    "error: authres-version 123456... is not 1 (RFC 8601 2.2)" },
	{ "no-semicolon", 0, "example.com",
	    "error: no ';' after the authserv-id (no result, not even \"none\")" },
	{ "junk-after-id", 0, "example.com foo; spf=pass",
	    "error: ';' expected after the authserv-id, found 'f'" },
	{ "dotted-id-then-equals", 0, "mx.example.com=pass; none",
	    "error: ';' expected after the authserv-id, found '='" },
	{ "control-byte-in-id", 0, "exa\x01mple.com; none",
	    "error: ';' expected after the authserv-id, found byte 0x01" },
	{ "no-id-no-result", 0, "spf=; dkim",
	    "error: no authserv-id, and no result (part 1: spf=: result "
	    "expected, found ';')" },
	{ "aar-without-i", 1, "mx.example.com; none",
	    "error: no i= instance tag first (RFC 8617 4.1.1)" },
	{ "aar-i-0", 1, "i=0; mx.example.com; none",
	    "error: i= is not an instance 1..50" },
	{ "aar-i-51", 1, "i=51; mx.example.com; none",
	    "error: i= is not an instance 1..50" },
	{ "aar-i-no-semicolon", 1, "i=1 mx.example.com; none",
	    "error: ';' expected after i=1, found 'm'" },
	{ "aar-no-authserv-id", 1, "i=1;  ",
	    "error: no authserv-id: empty" },
};

static void
test_rows(void **state)
{
	struct sbuf b;
	size_t i;
	int bad = 0, errors = 0, successes = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct authres ar;
		char err[160] = "stale";
		int rc;

		rc = authres_parse(w->in, strlen(w->in), w->arc, &ar, err,
		    sizeof(err));
		describe(rc, &ar, err, &b);
		if (strcmp(b.p, w->want) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n", w->name,
			    b.p, w->want);
			bad++;
		}
		if (strncmp(w->want, "error:", 6) == 0 ||
		    strstr(w->want, "unparsed=") != NULL)
			errors++;
		else
			successes++;
		authres_free(&ar);
	}
	print_message("%d success rows, %d error rows\n", successes, errors);
	assert_true(errors >= successes);
	assert_int_equal(bad, 0);
}

/* A value made of a head, n copies of a unit and a tail. */
static char *
build(const char *head, const char *unit, int n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * (size_t)n + tl + 1), *p = s;
	int i;

	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

struct limit_row {
	const char *name, *head, *unit;
	int	n;
	const char *tail;
	int	rc, nres, truncated, nprop, props_truncated, unparsed, flags;
};

#define V	(AUTHRES_VALUE_MAX - 1)	/* the longest value kept whole */

static const struct limit_row limit_rows[] = {
	{ "results-at-max", "mx.example;", " spf=pass;", AUTHRES_RESULTS_MAX,
	    "", 0, AUTHRES_RESULTS_MAX, 0, 0, 0, 0, AUTHRES_F_TRAILING_SEMI },
	{ "results-past-max", "mx.example", "; dkim=pass header.d=a",
	    AUTHRES_RESULTS_MAX + 3, "", 0, AUTHRES_RESULTS_MAX, 3, 1, 0, 0, 0 },
	{ "no-id-results-past-max", "a=b", "; c=d", AUTHRES_RESULTS_MAX + 1,
	    "", 0, AUTHRES_RESULTS_MAX, 2, 0, 0, 0, AUTHRES_F_NO_ID },
	{ "id-at-max", "", "a", V, "; none", 0, 0, 0, 0, 0, 0, 0 },
	{ "id-past-max", "", "a", V + 1, "; none", -1, 0, 0, 0, 0, 0, 0 },
	{ "pvalue-past-max-is-cut", "mx.example; dkim=pass header.b=", "A",
	    V + 100, " header.d=example.com", 0, 1, 0, 2, 0, 0, 0 },
	{ "field-at-max", "mx.example; x=pass (", "c", AUTHRES_FIELD_MAX - 21,
	    ")", 0, 1, 0, 0, 0, 0, 0 },
	{ "field-past-max", "mx.example; x=pass (", "c", AUTHRES_FIELD_MAX - 20,
	    ")", -1, 0, 0, 0, 0, 0, 0 },
	{ "many-bad-parts", "mx.example", "; a", 4000, "", 0, 0, 0, 0, 0,
	    4000, 0 },
	{ "deep-comment", "mx.example; x=pass ", "(", 8000, "", 0, 0, 0, 0, 0,
	    1, 0 },
	{ "many-semicolons", "mx.example", ";", 10000, "", 0, 0, 0, 0, 0, 0,
	    AUTHRES_F_EMPTY_PART | AUTHRES_F_TRAILING_SEMI },
};

static void
check_int(const char *row, const char *what, int got, int want, int *bad)
{
	if (got != want) {
		print_error("row %s: %s: got %d, want %d\n", row, what, got, want);
		(*bad)++;
	}
}

static void
test_limits(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(limit_rows) / sizeof(limit_rows[0]); i++) {
		const struct limit_row *w = &limit_rows[i];
		struct authres ar;
		char err[160], *in;
		int rc;

		in = build(w->head, w->unit, w->n, w->tail);
		rc = authres_parse(in, strlen(in), 0, &ar, err, sizeof(err));
		check_int(w->name, "rc", rc, w->rc, &bad);
		check_int(w->name, "nres", ar.nres, w->nres, &bad);
		check_int(w->name, "truncated", ar.truncated, w->truncated, &bad);
		check_int(w->name, "unparsed", ar.unparsed, w->unparsed, &bad);
		check_int(w->name, "flags", ar.flags, w->flags, &bad);
		if (ar.nres > 0)
			check_int(w->name, "nprop", ar.res[0].nprop, w->nprop,
			    &bad);
		authres_free(&ar);
		free(in);
	}
	assert_int_equal(bad, 0);
}

/* Properties: AUTHRES_PROPS_MAX kept, the next ones counted; a
 * duplicate of a kept one still makes the part unparsed. */
static void
test_props_limit(void **state)
{
	static const struct {
		const char *name;
		int	n, nprop, truncated;
	} w[] = {
		{ "props-below-max", AUTHRES_PROPS_MAX - 1, AUTHRES_PROPS_MAX - 1, 0 },
		{ "props-at-max", AUTHRES_PROPS_MAX, AUTHRES_PROPS_MAX, 0 },
		{ "props-past-max", AUTHRES_PROPS_MAX + 2, AUTHRES_PROPS_MAX, 2 },
	};
	char in[2048], unit[32];
	size_t i;
	int k, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct authres ar;
		char err[160];

		snprintf(in, sizeof(in), "mx; dkim=pass");
		for (k = 0; k < w[i].n; k++) {
			snprintf(unit, sizeof(unit), " x.p%d=%d", k, k);
			strcat(in, unit);
		}
		strcat(in, "; spf=pass");
		check_int(w[i].name, "rc", authres_parse(in, strlen(in), 0, &ar,
		    err, sizeof(err)), 0, &bad);
		check_int(w[i].name, "nres", ar.nres, 2, &bad);
		check_int(w[i].name, "nprop", ar.res[0].nprop, w[i].nprop, &bad);
		check_int(w[i].name, "props_truncated", ar.res[0].props_truncated,
		    w[i].truncated, &bad);
		check_int(w[i].name, "last kept", ar.res[0].nprop > 0 &&
		    strcmp(ar.res[0].prop[ar.res[0].nprop - 1].value, "15") == 0,
		    w[i].nprop == AUTHRES_PROPS_MAX, &bad);
		authres_free(&ar);
	}
	assert_int_equal(bad, 0);
}

/* What the limit rows do not show: the texts at and past the limits. */
static void
test_limit_texts(void **state)
{
	struct authres ar;
	char err[160], *in;
	const char *v;

	(void)state;
	in = build("", "a", V, "; none");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(ar.authserv_id), V);
	authres_free(&ar);
	free(in);

	in = build("", "a", V + 1, "; none");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "authserv-id longer than 255 bytes");
	free(in);

	in = build("mx; dkim=pass header.b=", "A", V + 100, " header.d=x.example");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(ar.nres, 1);
	v = authres_prop(&ar.res[0], "header.b");
	assert_non_null(v);
	assert_int_equal(strlen(v), V);
	assert_int_equal(ar.res[0].prop[0].cut, 1);
	assert_int_equal(ar.res[0].prop[1].cut, 0);
	assert_true(ar.res[0].flags & AUTHRES_RF_CUT);
	assert_string_equal(authres_prop(&ar.res[0], "header.d"), "x.example");
	authres_free(&ar);
	free(in);

	/* A value exactly at the limit is whole, not cut. */
	in = build("mx; dkim=pass header.b=", "A", V, "");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(ar.res[0].prop[0].cut, 0);
	assert_int_equal(ar.res[0].flags & AUTHRES_RF_CUT, 0);
	authres_free(&ar);
	free(in);

	in = build("mx; dkim=fail reason=\"", "r", V + 1, "\" (note)");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(ar.res[0].reason), V);
	assert_true(ar.res[0].flags & AUTHRES_RF_CUT);
	assert_string_equal(ar.res[0].note, "note");
	authres_free(&ar);
	free(in);

	in = build("mx; dkim=fail (", "n", V + 1, ")");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(ar.res[0].note), V);
	assert_true(ar.res[0].flags & AUTHRES_RF_CUT);
	authres_free(&ar);
	free(in);

	in = build("mx.example; x=pass (", "c", AUTHRES_FIELD_MAX - 20, ")");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "value longer than 16384 bytes");
	free(in);

	/* Deep nesting, closed: one comment, no recursion to run out of. */
	in = xmalloc(2 * 5000 + 64);
	strcpy(in, "mx; x=pass ");
	memset(in + 11, '(', 5000);
	memset(in + 11 + 5000, ')', 5000);
	strcpy(in + 11 + 10000, " y.z=1; w=none");
	assert_int_equal(authres_parse(in, strlen(in), 0, &ar, err,
	    sizeof(err)), 0);
	assert_int_equal(ar.nres, 2);
	assert_int_equal(ar.unparsed, 0);
	assert_string_equal(authres_prop(&ar.res[0], "y.z"), "1");
	authres_free(&ar);
	free(in);
}

static void
test_find(void **state)
{
	static const char in[] = "mx.example; dkim=pass header.d=a.example; "
	    "spf=fail smtp.mailfrom=b@c.example; DKIM=fail header.d=d.example "
	    "x-bits=1024; dkim=none";
	struct authres ar;
	const struct authres_resinfo *r;
	char err[160];

	(void)state;
	assert_int_equal(authres_parse(in, sizeof(in) - 1, 0, &ar, err,
	    sizeof(err)), 0);
	r = authres_find(&ar, "DKIM");
	assert_ptr_equal(r, &ar.res[0]);
	assert_string_equal(authres_prop(r, "Header.D"), "a.example");
	assert_null(authres_prop(r, "header.i"));
	assert_null(authres_prop(r, "d"));
	r = authres_find_next(&ar, r);
	assert_ptr_equal(r, &ar.res[2]);
	assert_int_equal(r->result, AUTHRES_FAIL);
	assert_string_equal(authres_prop(r, "x-bits"), "1024");
	assert_null(authres_prop(r, "header.x-bits"));
	r = authres_find_next(&ar, r);
	assert_ptr_equal(r, &ar.res[3]);
	assert_null(authres_find_next(&ar, r));
	r = authres_find(&ar, "spf");
	assert_string_equal(authres_prop(r, "smtp.mailfrom"), "b@c.example");
	assert_null(authres_find_next(&ar, r));
	assert_null(authres_find(&ar, "dmarc"));
	assert_null(authres_find_next(&ar, NULL));
	authres_free(&ar);
	assert_null(authres_find(&ar, "dkim"));
}

static void
test_words(void **state)
{
	static const struct {
		enum authres_result r;
		const char *word;
	} res[] = {
		{ AUTHRES_NONE, "none" }, { AUTHRES_PASS, "pass" },
		{ AUTHRES_FAIL, "fail" }, { AUTHRES_SOFTFAIL, "softfail" },
		{ AUTHRES_NEUTRAL, "neutral" }, { AUTHRES_POLICY, "policy" },
		{ AUTHRES_TEMPERROR, "temperror" },
		{ AUTHRES_PERMERROR, "permerror" },
		{ AUTHRES_HARDFAIL, "hardfail" }, { AUTHRES_OTHER, "other" },
		{ (enum authres_result)99, "?" },
	};
	static const struct {
		enum authres_ptype p;
		const char *word;
	} pt[] = {
		{ AUTHRES_PT_SMTP, "smtp" }, { AUTHRES_PT_HEADER, "header" },
		{ AUTHRES_PT_BODY, "body" }, { AUTHRES_PT_POLICY, "policy" },
		{ AUTHRES_PT_OTHER, "other" }, { AUTHRES_PT_BARE, "" },
		{ (enum authres_ptype)99, "?" },
	};
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (strcmp(authres_result_str(res[i].r), res[i].word) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n",
			    res[i].word, authres_result_str(res[i].r),
			    res[i].word);
			bad++;
		}
	for (i = 0; i < sizeof(pt) / sizeof(pt[0]); i++)
		if (strcmp(authres_ptype_str(pt[i].p), pt[i].word) != 0) {
			print_error("row ptype %s: got \"%s\", want \"%s\"\n",
			    pt[i].word, authres_ptype_str(pt[i].p), pt[i].word);
			bad++;
		}
	assert_int_equal(bad, 0);
}

/* Error buffers of every size, a struct reused after free, free(NULL),
 * a value not NUL-terminated. */
static void
test_api(void **state)
{
	static const char twice[] = "mx.example; spf=pass; dkim=pass";
	struct authres ar;
	char small[8], one[1];

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(authres_parse("", 0, 0, &ar, small, sizeof(small)), -1);
	assert_string_equal(small, "no auth");
	one[0] = 'x';
	assert_int_equal(authres_parse("", 0, 0, &ar, one, sizeof(one)), -1);
	assert_int_equal(one[0], '\0');
	assert_int_equal(authres_parse("a; none", 7, 0, &ar, NULL, 0), 0);
	assert_int_equal(ar.none, 1);
	authres_free(&ar);
	authres_free(&ar);
	authres_free(NULL);
	/* Only the first len bytes count. */
	assert_int_equal(authres_parse(twice, 20, 0, &ar, small, sizeof(small)),
	    0);
	assert_int_equal(ar.nres, 1);
	assert_string_equal(small, "");
	authres_free(&ar);
	assert_int_equal(authres_parse(twice, sizeof(twice) - 1, 0, &ar, small,
	    sizeof(small)), 0);
	assert_int_equal(ar.nres, 2);
	authres_free(&ar);
	/* NUL bytes are bytes, not the end. */
	assert_int_equal(authres_parse("mx; a=pass\0; b=pass", 19, 0, &ar,
	    small, sizeof(small)), 0);
	assert_int_equal(ar.nres, 1);
	assert_int_equal(ar.unparsed, 1);
	assert_string_equal(ar.res[0].method, "b");
	authres_free(&ar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_props_limit),
		cmocka_unit_test(test_limit_texts),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
