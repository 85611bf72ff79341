/* SPDX-License-Identifier: ISC */
/* test_align - DMARC of one message (align.c). align_from_domains() on
 * RFC 5322 address-lists: display names, comments, quoted local parts,
 * groups, routes, limits. align_check() end to end without DNS: the
 * policies come from zone-file text (keys_load_text, --offline), the
 * DKIM results and the origin's SPF are set by hand, and each row says
 * what DMARC, its findings and the verdict must be: the identifier
 * alignment table of RFC 7489 3.1, p= and sp=, no record, temporary
 * errors, several From: domains, a From: without a domain, a public
 * suffix of two labels. The expectations are RFC 7489's, whatever the
 * code says. */
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
#include "verifier/align.h"
#include "verifier/chain.h"
#include "verifier/keys.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------- align_from_domains */

/* Labels for names near DMARC_DOMAIN_MAX (253) bytes. */
#define L60	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D253	L60 "." L60 "." L60 "." L60 "bb.example"
#define D254	L60 "." L60 "." L60 "." L60 "bbb.example"

struct dom_row {
	const char *name;
	const char *value;	/* an unfolded From: value */
	int	max;		/* room for domains */
	const char *want;	/* "N:" addresses, then " domain" each */
};

static const struct dom_row dom_rows[] = {
	{ "plain", "a@example.com", 4, "1: example.com" },
	{ "display-name-quoted-comma", "\"Doe, John\" <j@Example.COM>", 4,
	    "1: example.com" },
	{ "display-name-atoms", "John Q. Public <jqp@example.com>", 4,
	    "1: example.com" },
	{ "display-name-quoted-at", "\"a@evil.example\" <b@example.com>", 4,
	    "1: example.com" },
	{ "comment-after", "a@example.com (x@evil.example)", 4,
	    "1: example.com" },
	{ "comment-nested", "(Joe (x@evil.example, boss) \"y\") a@example.com",
	    4, "1: example.com" },
	{ "comment-escaped-paren", "a@example.com (x \\) b@evil.example, c)",
	    4, "1: example.com" },
	{ "comment-inside-angle", "Joe <a(c@evil.example)@example.com>", 4,
	    "1: example.com" },
	{ "quoted-local-at-comma", "\"a@b,c\"@example.com", 4,
	    "1: example.com" },
	{ "quoted-local-escaped-quote", "\"a\\\"@evil.example,\"@example.com",
	    4, "1: example.com" },
	{ "two-same-domain", "a@example.com, b@EXAMPLE.com", 4,
	    "2: example.com" },
	{ "two-domains", "a@example.com, Bob <b@example.org>", 4,
	    "2: example.com example.org" },
	{ "group-empty", "undisclosed-recipients:;", 4, "0:" },
	{ "group-members", "team: a@x.example, b@y.example;", 4,
	    "2: x.example y.example" },
	{ "group-then-address", "team: Ann <a@x.example>;, b@y.example", 4,
	    "2: x.example y.example" },
	{ "no-at", "postmaster", 4, "1:" },
	{ "no-at-angle", "Joe <postmaster>", 4, "1:" },
	{ "route", "<@relay.example:a@example.com>", 4, "1: example.com" },
	{ "route-two-hops", "Joe <@r1.example,@r2.example:a@example.com>", 4,
	    "1: example.com" },
	{ "empty", "", 4, "0:" },
	{ "empty-list-elements", ", a@example.com, ,", 4, "1: example.com" },
	{ "more-than-max", "a@one.example, b@two.example, c@three.example", 2,
	    "3: one.example two.example" },
	{ "domain-253", "a@" D253, 4, "1: " D253 },
	{ "domain-254-not-kept", "a@" D254, 4, "1:" },
	/* A final dot names the same DNS domain (RFC 1034 3.1): one
	 * domain, written as DMARC compares it (dmarc_domain_norm). */
	{ "trailing-dot", "a@example.com.", 4, "1: example.com" },
	{ "trailing-dot-same-domain", "a@Example.COM., b@example.com", 4,
	    "2: example.com" },
};

static void
test_from_domains(void **state)
{
	char dom[8][DMARC_DOMAIN_MAX + 1], got[2048];
	size_t i;
	int bad = 0, j, n, nd;

	(void)state;
	for (i = 0; i < NROWS(dom_rows); i++) {
		const struct dom_row *r = &dom_rows[i];

		memset(dom, 0, sizeof(dom));
		nd = -1;
		n = align_from_domains(r->value, dom, r->max, &nd);
		snprintf(got, sizeof(got), "%d:", n);
		for (j = 0; j < nd && j < 8; j++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    " %s", dom[j]);
		if (nd < 0 || nd > r->max)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    " [ndom %d]", nd);
		if (strcmp(got, r->want) != 0) {
			print_error("row %s: got \"%s\", want \"%s\"\n",
			    r->name, got, r->want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* -------------------------------------------------------- align_check */

/* 2024-04-01T12:00:00Z: the time of the run. */
#define NOW	((int64_t)1711972800)

/* The policies: names not here are "not looked up" (--offline). A TXT
 * record that is not a DMARC one stands for "no DMARC record here". */
static const char zone[] =
    "_dmarc.relaxed.example.        TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.news.relaxed.example.   TXT \"v=spf1 -all\"\n"
    "_dmarc.strict.example.         TXT \"v=DMARC1; p=reject; adkim=s; "
	"aspf=s\"\n"
    "_dmarc.news.strict.example.    TXT \"v=spf1 -all\"\n"
    "_dmarc.none.example.           TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.quarantine.example.     TXT \"v=DMARC1; p=quarantine\"\n"
    "_dmarc.sp.example.             TXT \"v=DMARC1; p=none; sp=reject\"\n"
    "_dmarc.news.sp.example.        TXT \"v=spf1 -all\"\n"
    "_dmarc.own.sp.example.         TXT \"v=DMARC1; p=quarantine\"\n"
    "_dmarc.norecord.example.       TXT \"v=spf1 -all\"\n"
    "_dmarc.news.norecord.example.  TXT \"google-site-verification=x\"\n"
    "_dmarc.two.example.            TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.two.example.            TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.pct.example.            TXT \"v=DMARC1; p=reject; pct=50\"\n"
    "_dmarc.example.com.            TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.example.co.uk.          TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.mail.example.co.uk.     TXT \"v=spf1 -all\"\n";

/* A Postfix Received field; t is "hh:mm:ss" on 2024-04-01 (UTC). */
#define RCV(from, rdns, ip, by, t) \
	"Received: from " from " (" rdns " [" ip "])\n" \
	"\tby " by " (Postfix) with ESMTP id Q1\n" \
	"\tfor <u@example.org>; Mon, 01 Apr 2024 " t " +0000\n"
/* Our MX received from s.example.com (the origin, HELO s.example.com),
 * then handed the message to the mailbox host: a clean chain. */
#define HOPS \
	RCV("mx.example.net", "mx.example.net", "10.0.0.2", \
	"inbox.example.org", "10:00:09") \
	RCV("s.example.com", "s.example.com", "93.184.216.34", \
	"mx.example.net", "10:00:05")
#define TAIL \
	"Subject: s\nDate: Mon, 01 Apr 2024 10:00:00 +0000\n" \
	"Message-ID: <1@example.com>\n\nbody\n"

#define NOSPF	(-1)
#define HELO	NULL		/* no envelope sender: the HELO is used */

struct sig {
	const char *d;
	enum auth_result result;
};

struct check_row {
	const char *name;
	const char *from;	/* the From: field(s), whole lines */
	struct sig sig[3];	/* DKIM results; d NULL ends */
	int	spf;		/* enum spf_result; NOSPF: not evaluated */
	const char *sender;	/* envelope sender; HELO: none known */
	enum dmarc_result result;
	enum dmarc_policy policy;
	const char *dkim_aligned;	/* "" null */
	const char *spf_aligned;	/* "" null */
	const char *findings;	/* "code/sev" of every finding, in order */
	enum chain_verdict verdict;
};

#define PASS		DMARC_RESULT_PASS
#define FAIL		DMARC_RESULT_FAIL
#define NONE		DMARC_RESULT_NONE
#define TEMPERROR	DMARC_RESULT_TEMPERROR
#define PERMERROR	DMARC_RESULT_PERMERROR
#define P_UNSET		DMARC_POLICY_UNSET
#define P_NONE		DMARC_POLICY_NONE
#define P_QUAR		DMARC_POLICY_QUARANTINE
#define P_REJECT	DMARC_POLICY_REJECT
#define NOSIG		{ { NULL, AUTH_NONE } }

static const struct check_row check_rows[] = {
	/* RFC 7489 3.1.1: DKIM, relaxed (adkim=r, the default). */
	{ "dkim-r-same", "From: a@relaxed.example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "relaxed.example", "", "", CHAIN_AUTHENTICATED },
	{ "dkim-r-subdomain", "From: a@relaxed.example\n",
	    { { "mail.relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "mail.relaxed.example", "", "",
	    CHAIN_AUTHENTICATED },
	{ "dkim-r-parent", "From: a@news.relaxed.example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "relaxed.example", "", "", CHAIN_AUTHENTICATED },
	{ "dkim-r-sibling", "From: a@news.relaxed.example\n",
	    { { "mail.relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "mail.relaxed.example", "", "",
	    CHAIN_AUTHENTICATED },
	{ "dkim-r-unrelated", "From: a@relaxed.example\n",
	    { { "relaxed.example.net", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "dkim-r-same-but-failed", "From: a@relaxed.example\n",
	    { { "relaxed.example", AUTH_FAIL } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	/* RFC 7489 3.1.1: DKIM, strict (adkim=s). */
	{ "dkim-s-same", "From: a@strict.example\n",
	    { { "Strict.Example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "strict.example", "", "", CHAIN_AUTHENTICATED },
	{ "dkim-s-subdomain", "From: a@strict.example\n",
	    { { "mail.strict.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "dkim-s-parent", "From: a@news.strict.example\n",
	    { { "strict.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "dkim-s-sibling", "From: a@news.strict.example\n",
	    { { "mail.strict.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "dkim-s-unrelated", "From: a@strict.example\n",
	    { { "other.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "dkim-s-one-of-two", "From: a@strict.example\n",
	    { { "mail.strict.example", AUTH_PASS },
	    { "strict.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "strict.example", "", "", CHAIN_AUTHENTICATED },

	/* RFC 7489 3.1.2: SPF, relaxed (aspf=r). */
	{ "spf-r-same", "From: a@relaxed.example\n", NOSIG, SPF_RES_PASS,
	    "b@relaxed.example",
	    PASS, P_REJECT, "", "relaxed.example", "", CHAIN_AUTHENTICATED },
	{ "spf-r-subdomain", "From: a@relaxed.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.relaxed.example",
	    PASS, P_REJECT, "", "bounce.relaxed.example", "",
	    CHAIN_AUTHENTICATED },
	{ "spf-r-parent", "From: a@news.relaxed.example\n", NOSIG,
	    SPF_RES_PASS, "b@relaxed.example",
	    PASS, P_REJECT, "", "relaxed.example", "", CHAIN_AUTHENTICATED },
	{ "spf-r-sibling", "From: a@news.relaxed.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.relaxed.example",
	    PASS, P_REJECT, "", "bounce.relaxed.example", "",
	    CHAIN_AUTHENTICATED },
	{ "spf-r-unrelated", "From: a@relaxed.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.example.net",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "spf-r-aligned-but-fail", "From: a@relaxed.example\n", NOSIG,
	    SPF_RES_FAIL, "b@relaxed.example",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	/* RFC 7489 3.1.2: SPF, strict (aspf=s). */
	{ "spf-s-same", "From: a@strict.example\n", NOSIG, SPF_RES_PASS,
	    "b@strict.example",
	    PASS, P_REJECT, "", "strict.example", "", CHAIN_AUTHENTICATED },
	{ "spf-s-subdomain", "From: a@strict.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.strict.example",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "spf-s-parent", "From: a@news.strict.example\n", NOSIG,
	    SPF_RES_PASS, "b@strict.example",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "spf-s-sibling", "From: a@news.strict.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.strict.example",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "spf-s-unrelated", "From: a@strict.example\n", NOSIG,
	    SPF_RES_PASS, "b@other.example",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	/* A null reverse-path: SPF's identity is the HELO (RFC 7208 2.4),
	 * s.example.com, aligned with example.com. */
	{ "spf-null-sender-helo", "From: a@example.com\n", NOSIG,
	    SPF_RES_PASS, "",
	    PASS, P_REJECT, "", "s.example.com", "", CHAIN_AUTHENTICATED },

	/* p= with no aligned pass: none warns, quarantine and reject are
	 * errors. */
	{ "p-none-fail", "From: a@none.example\n",
	    { { "other.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_NONE, "", "", "dmarc-fail/warn", CHAIN_SUSPICIOUS },
	{ "p-quarantine-fail", "From: a@quarantine.example\n",
	    { { "other.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_QUAR, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "p-reject-fail-unsigned", "From: a@relaxed.example\n", NOSIG,
	    NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "p-none-pass", "From: a@none.example\n",
	    { { "none.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_NONE, "none.example", "", "", CHAIN_AUTHENTICATED },
	/* sp= applies to a subdomain that has no record of its own. */
	{ "sp-subdomain-fail", "From: a@news.sp.example\n", NOSIG, NOSPF,
	    HELO, FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "sp-org-itself-fail", "From: a@sp.example\n", NOSIG, NOSPF, HELO,
	    FAIL, P_NONE, "", "", "dmarc-fail/warn", CHAIN_SUSPICIOUS },
	{ "sp-subdomain-own-record", "From: a@own.sp.example\n", NOSIG, NOSPF,
	    HELO, FAIL, P_QUAR, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "sp-subdomain-pass", "From: a@news.sp.example\n",
	    { { "sp.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "sp.example", "", "", CHAIN_AUTHENTICATED },
	/* pct= (RFC 7489 6.3, 6.6.4): the policy is applied to that share
	 * of the mail that fails, so it is worth a note when DMARC fails. */
	{ "pct-fail", "From: a@pct.example\n", NOSIG, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error dmarc-pct/info",
	    CHAIN_FORGED },

	{ "pct-pass", "From: a@pct.example\n",
	    { { "pct.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "pct.example", "", "dmarc-pct/info",
	    CHAIN_AUTHENTICATED },

	/* No record: none; an aligned (relaxed) pass still proves the
	 * From: domain. */
	{ "norecord-unsigned", "From: a@norecord.example\n", NOSIG, NOSPF,
	    HELO, NONE, P_UNSET, "", "", "dmarc-none/info",
	    CHAIN_UNAUTHENTICATED },
	{ "norecord-unaligned-pass", "From: a@norecord.example\n",
	    { { "other.example", AUTH_PASS } }, NOSPF, HELO,
	    NONE, P_UNSET, "", "", "dmarc-none/info", CHAIN_UNAUTHENTICATED },
	{ "norecord-dkim-aligned", "From: a@news.norecord.example\n",
	    { { "norecord.example", AUTH_PASS } }, NOSPF, HELO,
	    NONE, P_UNSET, "norecord.example", "", "dmarc-none/info",
	    CHAIN_AUTHENTICATED },
	{ "norecord-spf-aligned", "From: a@norecord.example\n", NOSIG,
	    SPF_RES_PASS, "b@bounce.norecord.example",
	    NONE, P_UNSET, "", "bounce.norecord.example", "dmarc-none/info",
	    CHAIN_AUTHENTICATED },
	/* Two DMARC records: permerror (RFC 7489 6.6.3 step 5). */
	{ "two-records", "From: a@two.example\n", NOSIG, NOSPF, HELO,
	    PERMERROR, P_UNSET, "", "", "dmarc-permerror/info",
	    CHAIN_UNAUTHENTICATED },

	/* --offline and not in the file: not looked up, temperror. */
	{ "offline-unsigned", "From: a@offline.example\n", NOSIG, NOSPF, HELO,
	    TEMPERROR, P_UNSET, "", "", "dmarc-temperror/info",
	    CHAIN_UNAUTHENTICATED },
	{ "offline-dkim-aligned", "From: a@offline.example\n",
	    { { "mail.offline.example", AUTH_PASS } }, NOSPF, HELO,
	    TEMPERROR, P_UNSET, "mail.offline.example", "",
	    "dmarc-temperror/info", CHAIN_AUTHENTICATED },
	/* A fail that an unchecked aligned identity could have turned. */
	{ "fail-to-temperror-dkim-key", "From: a@relaxed.example\n",
	    { { "other.example", AUTH_PASS },
	    { "mail.relaxed.example", AUTH_TEMPERROR } }, NOSPF, HELO,
	    TEMPERROR, P_REJECT, "", "", "dmarc-temperror/info",
	    CHAIN_UNAUTHENTICATED },
	{ "fail-stays-unaligned-temperror", "From: a@strict.example\n",
	    { { "mail.strict.example", AUTH_TEMPERROR } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "fail-to-temperror-spf", "From: a@relaxed.example\n", NOSIG,
	    SPF_RES_TEMPERROR, "b@relaxed.example",
	    TEMPERROR, P_REJECT, "", "", "dmarc-temperror/info",
	    CHAIN_UNAUTHENTICATED },
	{ "fail-to-temperror-helo-not-evaluated", "From: a@example.com\n",
	    NOSIG, NOSPF, HELO,
	    TEMPERROR, P_REJECT, "", "", "dmarc-temperror/info",
	    CHAIN_UNAUTHENTICATED },

	/* Several From: domains (RFC 7489 6.6.1): each is evaluated, the
	 * worst result is reported. */
	{ "from-two-domains-worst-none-policy",
	    "From: a@relaxed.example, b@none.example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_NONE, "", "", "from-domains/warn dmarc-fail/warn",
	    CHAIN_SUSPICIOUS },
	{ "from-two-domains-worst-reject",
	    "From: a@none.example, b@strict.example\n",
	    { { "none.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "from-domains/warn dmarc-fail/error",
	    CHAIN_FORGED },
	{ "from-two-domains-both-pass",
	    "From: a@relaxed.example, b@none.example\n",
	    { { "relaxed.example", AUTH_PASS }, { "none.example", AUTH_PASS } },
	    NOSPF, HELO, PASS, P_REJECT, "relaxed.example", "",
	    "from-domains/warn", CHAIN_AUTHENTICATED },
	{ "from-two-fields",
	    "From: a@relaxed.example\nFrom: b@none.example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_NONE, "", "", "multiple-from/warn from-domains/warn "
	    "dmarc-fail/warn", CHAIN_SUSPICIOUS },
	{ "from-one-domain-twice",
	    "From: a@relaxed.example, b@Relaxed.Example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "relaxed.example", "", "", CHAIN_AUTHENTICATED },

	/* A final dot: the same domain (RFC 1034 3.1), not a second one. */
	{ "from-trailing-dot", "From: a@relaxed.example.\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "relaxed.example", "", "", CHAIN_AUTHENTICATED },
	{ "from-trailing-dot-same-domain",
	    "From: a@relaxed.example., b@relaxed.example\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "relaxed.example", "", "", CHAIN_AUTHENTICATED },

	/* No From: address with a domain (RFC 7489 6.6.1). */
	{ "from-group-empty", "From: undisclosed-recipients:;\n",
	    { { "relaxed.example", AUTH_PASS } }, NOSPF, HELO,
	    NONE, P_UNSET, "", "", "dmarc-no-from/warn", CHAIN_SUSPICIOUS },
	{ "from-no-domain", "From: Joe <postmaster>\n", NOSIG, NOSPF, HELO,
	    NONE, P_UNSET, "", "", "dmarc-no-from/warn", CHAIN_SUSPICIOUS },

	/* A public suffix of two labels (co.uk): the organizational domain
	 * is example.co.uk, and co.uk aligns with nothing. */
	{ "psl-subdomain-pass", "From: a@mail.example.co.uk\n",
	    { { "example.co.uk", AUTH_PASS } }, NOSPF, HELO,
	    PASS, P_REJECT, "example.co.uk", "", "", CHAIN_AUTHENTICATED },
	{ "psl-sibling-registrant", "From: a@example.co.uk\n",
	    { { "evil.co.uk", AUTH_PASS } }, NOSPF, HELO,
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
	{ "psl-suffix-itself", "From: a@example.co.uk\n",
	    { { "co.uk", AUTH_PASS } }, SPF_RES_PASS, "b@co.uk",
	    FAIL, P_REJECT, "", "", "dmarc-fail/error", CHAIN_FORGED },
};

static const char *
policy_str(enum dmarc_policy p)
{
	return dmarc_policy_str(p) ? dmarc_policy_str(p) : "unset";
}

static void
findings_str(const struct chain *c, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < c->nf; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s/%s",
		    i ? " " : "", c->f[i].code, chain_sev_str(c->f[i].sev));
}

static void
dump(const struct chain *c)
{
	int i;

	print_error("    dmarc: from %s record %s why \"%s\" note \"%s\"\n",
	    c->dmarc.d.from_domain, c->dmarc.d.record_domain,
	    c->dmarc.d.why, c->dmarc.note);
	for (i = 0; i < c->nf; i++)
		print_error("    finding hop %d %s %s: %s\n", c->f[i].hop,
		    chain_sev_str(c->f[i].sev), c->f[i].code, c->f[i].text);
}

static int
check_str(const char *row, const char *what, const char *got,
    const char *want)
{
	if (strcmp(got, want) == 0)
		return 0;
	print_error("row %s: %s: got \"%s\", want \"%s\"\n", row, what, got,
	    want);
	return 1;
}

static void
test_check(void **state)
{
	static struct chain c;
	struct keys_opts ko;
	struct keys *k;
	struct chain_cfg cfg;
	struct hdr h;
	char err[200], msg[2048], got[1024];
	size_t i;
	int bad = 0, j;

	(void)state;
	memset(&ko, 0, sizeof(ko));
	ko.offline = 1;
	k = keys_new(&ko, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(keys_load_text(k, zone, strlen(zone), err,
	    sizeof(err)), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.nets = netaddr_list_new();
	assert_int_equal(netaddr_list_add(cfg.nets, "10.0.0.0/8", err,
	    sizeof(err)), 0);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < NROWS(check_rows); i++) {
		const struct check_row *r = &check_rows[i];
		int b0 = bad;

		snprintf(msg, sizeof(msg), "%s%s%s", HOPS, r->from, TAIL);
		hdr_parse(&h, msg, strlen(msg));
		chain_build(&c, &cfg, &h, 0, NOW);
		for (j = 0; r->sig[j].d != NULL; j++) {
			struct dkim_result *s = &c.dkim.sig[j];

			memset(s, 0, sizeof(*s));
			snprintf(s->d, sizeof(s->d), "%s", r->sig[j].d);
			snprintf(s->s, sizeof(s->s), "s1");
			s->result = r->sig[j].result;
			s->reason = r->sig[j].result == AUTH_TEMPERROR ?
			    AUTH_REASON_DNS_ERROR : r->sig[j].result ==
			    AUTH_FAIL ? AUTH_REASON_BODY_HASH :
			    AUTH_REASON_NONE;
		}
		c.dkim.n = j;
		if (r->spf != NOSPF) {
			c.evaluated = 1;
			c.iprev = CHAIN_IPREV_PASS;
			c.spf = r->spf;
		}
		if (r->sender != HELO) {
			c.has_origin_sender = 1;
			snprintf(c.origin_sender, sizeof(c.origin_sender), "%s",
			    r->sender);
		}
		align_check(&c, &h, k);
		chain_finish(&c);

		if (!c.dmarc.checked) {
			print_error("row %s: dmarc not checked\n", r->name);
			bad++;
		}
		bad += check_str(r->name, "result",
		    dmarc_result_str(c.dmarc.ev.result),
		    dmarc_result_str(r->result));
		bad += check_str(r->name, "policy",
		    policy_str(c.dmarc.ev.policy), policy_str(r->policy));
		bad += check_str(r->name, "dkim_aligned",
		    c.dmarc.ev.dkim_aligned, r->dkim_aligned);
		bad += check_str(r->name, "spf_aligned", c.dmarc.ev.spf_aligned,
		    r->spf_aligned);
		findings_str(&c, got, sizeof(got));
		bad += check_str(r->name, "findings", got, r->findings);
		bad += check_str(r->name, "verdict",
		    chain_verdict_str(c.verdict),
		    chain_verdict_str(r->verdict));
		if (bad != b0)
			dump(&c);
	}
	chain_free(&c);
	hdr_free(&h);
	netaddr_list_free(cfg.nets);
	keys_free(k);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_domains),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
