/* SPDX-License-Identifier: ISC */
/* test_claims - receivers' Authentication-Results and ARC-Authentication-
 * Results against our results (claims.c). Each row puts A-R and AAR fields
 * at chosen places of a three-hop header (above the newest Received, between
 * Received fields, below all of them), sets our DKIM results and the
 * origin's SPF and iprev by hand, and says what every claim must be (hop,
 * trusted, method, result, ours, agree) and which findings claims_check()
 * adds. The whole list is compared, so a row fails on any field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "shared/netaddr.h"
#include "shared/spf.h"
#include "verifier/chain.h"
#include "verifier/claims.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* 2024-04-01T12:00:00Z: the time of the run. */
#define NOW	((int64_t)1711972800)

/* A Postfix Received field; t is "hh:mm:ss" on 2024-04-01 (UTC). */
#define RCV(from, rdns, ip, by, t) \
	"Received: from " from " (" rdns " [" ip "])\n" \
	"\tby " by " (Postfix) with ESMTP id Q1\n" \
	"\tfor <u@example.org>; Mon, 01 Apr 2024 " t " +0000\n"
/* With --trusted 10.0.0.0/8: hop 3 (mx to the mailbox host) trusted,
 * hop 2 (s.example.com to our MX) the boundary, hop 1 (pc to
 * s.example.com) untrusted. */
#define HOP3	RCV("mx.example.net", "mx.example.net", "10.0.0.2", \
	"inbox.example.org", "10:00:09")
#define HOP2	RCV("s.example.com", "s.example.com", "93.184.216.34", \
	"mx.example.net", "10:00:05")
#define HOP1	RCV("pc.example.com", "pc.example.com", "81.2.69.160", \
	"s.example.com", "10:00:01")
#define TAIL \
	"From: a@example.com\nSubject: s\n" \
	"Date: Mon, 01 Apr 2024 10:00:00 +0000\n" \
	"Message-ID: <1@example.com>\n\nbody\n"

#define AR	"Authentication-Results: "
#define AAR	"ARC-Authentication-Results: "

struct sig {
	const char *d, *s;
	enum auth_result result;
	enum auth_reason reason;
};

struct row {
	const char *name;
	/* fields above HOP3 (hop 3), between HOP3 and HOP2 (hop 2), between
	 * HOP2 and HOP1 (hop 1), below HOP1 (hop 0); whole lines or "" */
	const char *at3, *at2, *at1, *at0;
	struct sig sig[3];	/* our DKIM results; d NULL ends */
	int	spf;		/* enum spf_result, -1: not evaluated */
	enum chain_iprev iprev;
	int	dmarc;		/* our enum dmarc_result for example.com;
				 * NODMARC: not checked */
	/* every claim, in header order: "[aarI ]hHOP{t|u} method=result
	 * ours=WORD|null agree=N", "; " between */
	const char *claims;
	/* the findings claims_check() adds: "code/sev@hop", " " between */
	const char *findings;
};

#define NOSIG	{ { NULL, NULL, AUTH_NONE, AUTH_REASON_NONE } }
#define BH	AUTH_REASON_BODY_HASH
#define NOREASON AUTH_REASON_NONE
#define NOSPF	(-1)
#define NOIPREV	CHAIN_IPREV_NOTCHECKED
#define NODMARC	(-1)

static const struct row rows[] = {
	/* dkim, compared with our signature of the same header.d */
	{ "dkim-trusted-agrees",
	    AR "inbox.example.org; dkim=pass header.d=example.com "
	    "header.s=s1\n", "", "", "",
	    { { "example.com", "s1", AUTH_PASS, NOREASON } }, NOSPF, NOIPREV,
	    NODMARC, "h3t dkim=pass ours=pass agree=1", "" },
	{ "dkim-broken-inside-body-hash", "",
	    AR "mx.example.net; dkim=pass header.d=example.com\n", "", "",
	    { { "example.com", "s1", AUTH_FAIL, BH } }, NOSPF, NOIPREV,
	    NODMARC, "h2t dkim=pass ours=fail agree=0",
	    "dkim-broken-inside/error@2" },
	{ "dkim-broken-inside-signature",
	    AR "inbox.example.org; dkim=pass header.d=EXAMPLE.COM.\n", "", "",
	    "",
	    { { "example.com", "s1", AUTH_FAIL, AUTH_REASON_SIGNATURE } },
	    NOSPF, NOIPREV, NODMARC, "h3t dkim=pass ours=fail agree=0",
	    "dkim-broken-inside/error@3" },
	{ "dkim-broken-inside-aar",
	    AAR "i=1; mx.example.net; dkim=pass header.d=example.com "
	    "header.s=s1\n", "", "", "",
	    { { "example.com", "s1", AUTH_FAIL, BH } }, NOSPF, NOIPREV,
	    NODMARC, "aar1 h3t dkim=pass ours=fail agree=0",
	    "dkim-broken-inside/error@3" },
	{ "dkim-pass-signature-gone", "",
	    AR "mx.example.net; dkim=pass header.d=example.com\n", "", "",
	    NOSIG, NOSPF, NOIPREV, NODMARC,
	    "h2t dkim=pass ours=none agree=0", "claim-contradicted/warn@2" },
	{ "dkim-pass-other-selector", "",
	    AR "mx.example.net; dkim=pass header.d=example.com "
	    "header.s=s2\n", "", "",
	    { { "example.com", "s1", AUTH_PASS, NOREASON } }, NOSPF, NOIPREV,
	    NODMARC, "h2t dkim=pass ours=none agree=0",
	    "claim-contradicted/warn@2" },
	{ "dkim-fail-but-passes", "",
	    AR "mx.example.net; dkim=fail header.d=example.com\n", "", "",
	    { { "example.com", "s1", AUTH_PASS, NOREASON } }, NOSPF, NOIPREV,
	    NODMARC, "h2t dkim=fail ours=pass agree=0",
	    "claim-contradicted/warn@2" },
	{ "dkim-key-gone-not-a-finding", "",
	    AR "mx.example.net; dkim=pass header.d=example.com\n", "", "",
	    { { "example.com", "s1", AUTH_PERMERROR,
	    AUTH_REASON_KEY_NOT_FOUND } }, NOSPF, NOIPREV, NODMARC,
	    "h2t dkim=pass ours=permerror agree=0", "" },
	{ "dkim-lookup-fails-not-a-finding", "",
	    AR "mx.example.net; dkim=pass header.d=example.com\n", "", "",
	    { { "example.com", "s1", AUTH_TEMPERROR, AUTH_REASON_DNS_ERROR } },
	    NOSPF, NOIPREV, NODMARC, "h2t dkim=pass ours=temperror agree=0",
	    "" },
	{ "dkim-one-of-two-passes",
	    AR "inbox.example.org; dkim=pass header.d=example.com\n", "", "",
	    "",
	    { { "example.com", "s1", AUTH_FAIL, BH },
	    { "example.com", "s2", AUTH_PASS, NOREASON } }, NOSPF, NOIPREV,
	    NODMARC, "h3t dkim=pass ours=pass agree=1", "" },
	/* header.i (RFC 8601 2.7.1, RFC 6376 3.5 i=): the signing domain
	 * is the i= domain or a parent of it, so the claim is about the
	 * example.com signature, not other.example's. */
	{ "dkim-header-i",
	    AR "inbox.example.org; dkim=pass header.i=@example.com\n", "",
	    "", "",
	    { { "other.example", "s1", AUTH_PASS, NOREASON },
	    { "example.com", "s1", AUTH_FAIL, BH } }, NOSPF, NOIPREV,
	    NODMARC, "h3t dkim=pass ours=fail agree=0",
	    "dkim-broken-inside/error@3" },

	/* Untrusted claims: compared, never a finding. */
	{ "untrusted-hop-broken", "", "",
	    AR "s.example.com; dkim=pass header.d=example.com\n", "",
	    { { "example.com", "s1", AUTH_FAIL, BH } }, NOSPF, NOIPREV,
	    NODMARC, "h1u dkim=pass ours=fail agree=0", "" },
	{ "untrusted-hop-contradicted", "", "",
	    AR "s.example.com; dkim=fail header.d=example.com\n", "",
	    { { "example.com", "s1", AUTH_PASS, NOREASON } }, NOSPF, NOIPREV,
	    NODMARC, "h1u dkim=fail ours=pass agree=0", "" },
	{ "sender-written-below-all", "", "", "",
	    AR "inbox.example.org; dkim=pass header.d=example.com\n",
	    { { "example.com", "s1", AUTH_FAIL, BH } }, NOSPF, NOIPREV,
	    NODMARC, "h0u dkim=pass ours=fail agree=0", "" },

	/* spf and iprev: only the boundary hop's receiver, evaluated now. */
	{ "spf-boundary-agrees", "",
	    AR "mx.example.net; spf=pass smtp.mailfrom=b@example.com\n", "",
	    "", NOSIG, SPF_RES_PASS, CHAIN_IPREV_PASS, NODMARC,
	    "h2t spf=pass ours=pass agree=1", "" },
	{ "spf-boundary-contradicted", "",
	    AR "mx.example.net; spf=pass smtp.mailfrom=b@example.com\n", "",
	    "", NOSIG, SPF_RES_FAIL, CHAIN_IPREV_PASS, NODMARC,
	    "h2t spf=pass ours=fail agree=0", "claim-contradicted/warn@2" },
	{ "spf-hardfail-is-fail", "",
	    AR "mx.example.net; spf=hardfail smtp.mailfrom=b@example.com\n",
	    "", "", NOSIG, SPF_RES_FAIL, CHAIN_IPREV_PASS, NODMARC,
	    "h2t spf=hardfail ours=fail agree=1", "" },
	{ "spf-softfail-vs-fail", "",
	    AR "mx.example.net; spf=softfail smtp.mailfrom=b@example.com\n",
	    "", "", NOSIG, SPF_RES_FAIL, CHAIN_IPREV_PASS, NODMARC,
	    "h2t spf=softfail ours=fail agree=0", "" },
	{ "spf-not-evaluated", "",
	    AR "mx.example.net; spf=pass smtp.mailfrom=b@example.com\n", "",
	    "", NOSIG, NOSPF, NOIPREV, NODMARC,
	    "h2t spf=pass ours=null agree=-1", "" },
	{ "spf-other-hop",
	    AR "inbox.example.org; spf=fail smtp.mailfrom=b@example.com\n",
	    "", "", "", NOSIG, SPF_RES_PASS, CHAIN_IPREV_PASS, NODMARC,
	    "h3t spf=fail ours=null agree=-1", "" },
	{ "iprev-boundary-contradicted", "",
	    AR "mx.example.net; iprev=pass policy.iprev=93.184.216.34\n", "",
	    "", NOSIG, SPF_RES_PASS, CHAIN_IPREV_FAIL, NODMARC,
	    "h2t iprev=pass ours=fail agree=0", "claim-contradicted/warn@2" },

	/* dmarc: ours for the same header.from; arc: ours; others: null. */
	{ "dmarc-agrees",
	    AR "inbox.example.org; dmarc=pass header.from=example.com\n", "",
	    "", "", NOSIG, NOSPF, NOIPREV, DMARC_RESULT_PASS,
	    "h3t dmarc=pass ours=pass agree=1", "" },
	{ "dmarc-contradicted",
	    AR "inbox.example.org; dmarc=pass header.from=example.com\n", "",
	    "", "", NOSIG, NOSPF, NOIPREV, DMARC_RESULT_FAIL,
	    "h3t dmarc=pass ours=fail agree=0", "claim-contradicted/warn@3" },
	{ "dmarc-other-from",
	    AR "inbox.example.org; dmarc=fail header.from=other.example\n", "",
	    "", "", NOSIG, NOSPF, NOIPREV, DMARC_RESULT_PASS,
	    "h3t dmarc=fail ours=null agree=-1", "" },
	{ "arc-pass-sets-gone",
	    AR "inbox.example.org; arc=pass\n", "", "", "", NOSIG, NOSPF,
	    NOIPREV, NODMARC, "h3t arc=pass ours=none agree=0",
	    "claim-contradicted/warn@3" },
	{ "other-method-null",
	    AR "inbox.example.org; auth=pass smtp.auth=u@example.com\n", "",
	    "", "", NOSIG, NOSPF, NOIPREV, NODMARC,
	    "h3t auth=pass ours=null agree=-1", "" },

	/* Several fields and results, in header order. */
	{ "several",
	    AAR "i=1; inbox.example.org; dkim=pass header.d=example.com; "
	    "spf=pass smtp.mailfrom=b@example.com\n",
	    AR "mx.example.net; dkim=pass header.d=example.com; spf=pass "
	    "smtp.mailfrom=b@example.com\n",
	    AR "s.example.com; dkim=none\n", "",
	    { { "example.com", "s1", AUTH_FAIL, BH } }, SPF_RES_PASS,
	    CHAIN_IPREV_PASS, NODMARC,
	    "aar1 h3t dkim=pass ours=fail agree=0; "
	    "aar1 h3t spf=pass ours=null agree=-1; "
	    "h2t dkim=pass ours=fail agree=0; "
	    "h2t spf=pass ours=pass agree=1; "
	    "h1u dkim=none ours=fail agree=0",
	    "dkim-broken-inside/error@3 dkim-broken-inside/error@2" },

	/* A field that does not parse. */
	{ "unparsed-trusted", AR "(only a comment)\n", "", "", "", NOSIG,
	    NOSPF, NOIPREV, NODMARC, "", "claim-unparsed/info@3" },
	{ "unparsed-aar-no-instance", "", AAR "mx.example.net; dkim=pass\n",
	    "", "", NOSIG, NOSPF, NOIPREV, NODMARC, "",
	    "claim-unparsed/info@2" },
	{ "unparsed-below-all", "", "", "", AR "\n", NOSIG, NOSPF, NOIPREV,
	    NODMARC, "", "claim-unparsed/info@0" },
};

static void
describe_claims(const struct chain *c, char *buf, size_t len)
{
	const struct chain_claim *k;
	int i;

	buf[0] = '\0';
	for (i = 0; i < c->nclaims; i++) {
		char arc[16] = "";

		k = &c->claims[i];
		if (k->arc)
			snprintf(arc, sizeof(arc), "aar%d ", k->arc);
		snprintf(buf + strlen(buf), len - strlen(buf),
		    "%s%sh%d%s %s=%s ours=%s agree=%d", i ? "; " : "", arc,
		    k->hop, k->trusted ? "t" : "u", k->method, k->result,
		    k->ours ? k->ours : "null", k->agree);
	}
}

static void
describe_findings(const struct chain *c, int from, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = from; i < c->nf; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s/%s@%d",
		    i > from ? " " : "", c->f[i].code,
		    chain_sev_str(c->f[i].sev), c->f[i].hop);
}

static void
test_rows(void **state)
{
	static struct chain c;
	struct chain_cfg cfg;
	struct hdr h;
	char err[128], msg[4096], got[2048];
	size_t i;
	int bad = 0, j, nf0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.nets = netaddr_list_new();
	assert_int_equal(netaddr_list_add(cfg.nets, "10.0.0.0/8", err,
	    sizeof(err)), 0);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < NROWS(rows); i++) {
		const struct row *r = &rows[i];
		int b0 = bad;

		snprintf(msg, sizeof(msg), "%s" HOP3 "%s" HOP2 "%s" HOP1 "%s"
		    TAIL, r->at3, r->at2, r->at1, r->at0);
		hdr_parse(&h, msg, strlen(msg));
		chain_build(&c, &cfg, &h, 0, NOW);
		/* The layout the rows rely on. */
		if (c.nhops != 3 || c.boundary_hop != 2 ||
		    c.hops[0].trust != CHAIN_UNTRUSTED ||
		    c.hops[2].trust != CHAIN_TRUSTED) {
			print_error("row %s: got %d hops, boundary %d\n",
			    r->name, c.nhops, c.boundary_hop);
			bad++;
			continue;
		}
		for (j = 0; r->sig[j].d != NULL; j++) {
			struct dkim_result *s = &c.dkim.sig[j];

			memset(s, 0, sizeof(*s));
			snprintf(s->d, sizeof(s->d), "%s", r->sig[j].d);
			snprintf(s->s, sizeof(s->s), "%s", r->sig[j].s);
			s->result = r->sig[j].result;
			s->reason = r->sig[j].reason;
		}
		c.dkim.n = j;
		if (r->spf != NOSPF) {
			c.evaluated = 1;
			c.spf = r->spf;
			c.iprev = r->iprev;
		}
		if (r->dmarc != NODMARC) {
			memset(&c.dmarc, 0, sizeof(c.dmarc));
			c.dmarc.checked = 1;
			snprintf(c.dmarc.d.from_domain,
			    sizeof(c.dmarc.d.from_domain), "example.com");
			c.dmarc.ev.result = (enum dmarc_result)r->dmarc;
		}
		nf0 = c.nf;
		claims_check(&c, &h);

		describe_claims(&c, got, sizeof(got));
		if (strcmp(got, r->claims) != 0) {
			print_error("row %s: claims:\n    got  \"%s\"\n"
			    "    want \"%s\"\n", r->name, got, r->claims);
			bad++;
		}
		describe_findings(&c, nf0, got, sizeof(got));
		if (strcmp(got, r->findings) != 0) {
			print_error("row %s: findings: got \"%s\", "
			    "want \"%s\"\n", r->name, got, r->findings);
			bad++;
		}
		if (bad != b0)
			for (j = nf0; j < c.nf; j++)
				print_error("    finding hop %d %s %s: %s\n",
				    c.f[j].hop, chain_sev_str(c.f[j].sev),
				    c.f[j].code, c.f[j].text);
	}
	chain_free(&c);
	hdr_free(&h);
	netaddr_list_free(cfg.nets);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
