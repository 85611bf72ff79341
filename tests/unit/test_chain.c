/* SPDX-License-Identifier: ISC */
/* test_chain - the relay chain (chain_build, chain_set_origin,
 * chain_finish) on small header blocks: continuity, time order and skew
 * tolerance, future dates, private and reserved addresses outside the
 * trusted part, the trust boundary from --trusted CIDRs and host names,
 * and the verdict. Table-driven: each row is a header block, the --trusted
 * list, and what the chain must say. As many rows with findings as
 * clean rows. */
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

/* 2024-04-01T12:00:00Z: the time of the run. */
#define NOW	((int64_t)1711972800)

/* A Postfix Received field; t is "hh:mm:ss" on 2024-04-01 (UTC). */
#define RCV(from, rdns, ip, by, t) \
	"Received: from " from " (" rdns " [" ip "])\n" \
	"\tby " by " (Postfix) with ESMTP id Q1\n" \
	"\tfor <u@example.org>; Mon, 01 Apr 2024 " t " +0000\n"
#define TAIL \
	"From: a@example.com\nSubject: s\n" \
	"Date: Mon, 01 Apr 2024 10:00:00 +0000\n" \
	"Message-ID: <1@example.com>\n\nbody\n"
/* The usual pair: the Internet sender, then our MX to the mailbox host. */
#define OUTER(t) RCV("s.example.com", "s.example.com", "93.184.216.34", \
	"mx.example.net", t)
#define INNER(t) RCV("mx.example.net", "mx.example.net", "10.0.0.2", \
	"inbox.example.org", t)

struct row {
	const char *name;
	const char *msg;
	const char *trusted;	/* --trusted values, space separated */
	int	boundary;	/* want c->boundary_hop */
	const char *origin;	/* want c->origin_ip ("" none) */
	enum chain_verdict verdict;
	const char *has;	/* a finding code that must be there, or NULL */
	const char *hasnt;	/* one that must not be there, or NULL */
};

static const struct row rows[] = {
	/* Clean rows. */
	{ "clean-cidr", INNER("10:00:09") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL, "chain-gap" },
	{ "clean-hostname",
	    RCV("mx.example.net", "mx.example.net", "81.2.69.142",
	    "inbox.example.org", "10:00:09") OUTER("10:00:05") TAIL,
	    "example.net", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL, "chain-gap" },
	{ "clean-subdomain-trusted",
	    RCV("a.b.example.net", "a.b.example.net", "81.2.69.142",
	    "inbox.example.org", "10:00:09")
	    RCV("s.example.com", "s.example.com", "93.184.216.34",
	    "a.b.example.net", "10:00:05") TAIL,
	    "EXAMPLE.NET.", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL,
	    "private-ip" },
	{ "clean-no-trusted-one-hop",
	    RCV("s.example.com", "s.example.com", "93.184.216.34",
	    "inbox.example.org", "10:00:05") TAIL,
	    "", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL, "no-boundary" },
	{ "clean-loopback-passes-trust",
	    RCV("mx.example.org", "localhost", "127.0.0.1",
	    "mx.example.org", "10:00:09")
	    RCV("s.example.com", "s.example.com", "93.184.216.34",
	    "mx.example.org", "10:00:05") TAIL,
	    "", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL, "chain-gap" },
	{ "clean-skew-within-tolerance",
	    INNER("09:57:00") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL,
	    "time-reversed" },
	{ "clean-future-within-tolerance",
	    INNER("12:10:00") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL,
	    "future-date" },
	{ "clean-ipv6-trusted-cidr",
	    RCV("mx.example.net", "mx.example.net", "IPv6:2001:db8::25",
	    "inbox.example.org", "10:00:09")
	    RCV("s.example.com", "s.example.com", "IPv6:2a00:1450:4001::1a",
	    "mx.example.net", "10:00:05") TAIL,
	    "2001:db8::/32", 1, "2a00:1450:4001::1a", CHAIN_UNAUTHENTICATED, NULL,
	    "reserved-ip" },
	{ "clean-private-inside-trusted",
	    INNER("10:00:09")
	    RCV("mx.example.net", "relay.example.net", "192.168.1.5",
	    "mx.example.net", "10:00:07")
	    OUTER("10:00:05") TAIL,
	    "10.0.0.0/8 192.168.0.0/16", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL,
	    "private-ip" },
	{ "clean-local-submission-passes-trust",
	    "Received: by inbox.example.org (Postfix, from userid 1000)\n"
	    "\tid 4TxY2; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\n"
	    RCV("s.example.com", "s.example.com", "93.184.216.34",
	    "inbox.example.org", "10:00:05") TAIL,
	    "", 1, "93.184.216.34", CHAIN_UNAUTHENTICATED, NULL, "unparsed-received" },
	{ "clean-trusted-multiple-cidrs",
	    INNER("10:00:09") OUTER("10:00:05") TAIL,
	    "192.0.2.0/24 10.0.0.2/32 example.org", 1, "93.184.216.34",
	    CHAIN_UNAUTHENTICATED, NULL, "no-boundary" },

	/* Rows with findings. */
	{ "gap-among-trusted",
	    RCV("other.example.com", "other.example.com", "10.0.0.3",
	    "inbox.example.org", "10:00:09") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS, "chain-gap",
	    NULL },
	{ "time-reversed",
	    INNER("09:50:00") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS,
	    "time-reversed", NULL },
	{ "time-reversed-against-date",
	    INNER("10:00:09") OUTER("09:40:00") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS,
	    "time-reversed", NULL },
	{ "future-hop",
	    INNER("14:00:00") OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS, "future-date",
	    NULL },
	{ "future-date-field",
	    INNER("10:00:09") OUTER("10:00:05")
	    "From: a@example.com\nDate: Tue, 02 Apr 2024 10:00:00 +0000\n\n",
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS, "future-date",
	    NULL },
	{ "private-ip-at-boundary",
	    INNER("10:00:09")
	    RCV("s.example.com", "s.example.com", "192.168.1.5",
	    "mx.example.net", "10:00:05") TAIL,
	    "10.0.0.0/8", 1, "192.168.1.5", CHAIN_SUSPICIOUS, "private-ip",
	    NULL },
	{ "private-ip-older-than-boundary",
	    INNER("10:00:09") OUTER("10:00:05")
	    RCV("pc.example.com", "pc.example.com", "172.16.0.9",
	    "s.example.com", "10:00:01") TAIL,
	    "10.0.0.0/8", 2, "93.184.216.34", CHAIN_UNAUTHENTICATED, "private-ip",
	    NULL },
	{ "reserved-ip-at-boundary",
	    INNER("10:00:09")
	    RCV("s.example.com", "s.example.com", "192.0.2.1",
	    "mx.example.net", "10:00:05") TAIL,
	    "10.0.0.0/8", 1, "192.0.2.1", CHAIN_SUSPICIOUS, "reserved-ip",
	    NULL },
	{ "untrusted-hostname-is-boundary",
	    RCV("mx.example.net", "mx.example.net.evil.example",
	    "81.2.69.142", "inbox.example.org", "10:00:09")
	    OUTER("10:00:05") TAIL,
	    "example.net", 2, "81.2.69.142", CHAIN_UNAUTHENTICATED, NULL, NULL },
	{ "unparsed-received",
	    "Received: garbage without clauses\n" INNER("10:00:09")
	    OUTER("10:00:05") TAIL,
	    "10.0.0.0/8", 3, "", CHAIN_SUSPICIOUS, "unparsed-received",
	    NULL },
	{ "no-received", TAIL, "", 0, "", CHAIN_SUSPICIOUS, "no-received",
	    NULL },
	{ "no-headers", "\nbody only\n", "", 0, "", CHAIN_FORGED, "no-headers",
	    NULL },
	{ "no-from", INNER("10:00:09") OUTER("10:00:05")
	    "Date: Mon, 01 Apr 2024 10:00:00 +0000\n\n",
	    "10.0.0.0/8", 1, "93.184.216.34", CHAIN_SUSPICIOUS, "no-from",
	    NULL },
	{ "all-trusted-no-boundary", INNER("10:00:09") TAIL,
	    "10.0.0.0/8", 0, "", CHAIN_UNAUTHENTICATED, "no-boundary", NULL },
};

static void
load_trusted(struct chain_cfg *cfg, const char *list)
{
	char buf[256], *w, *save = NULL, err[128];
	struct netaddr_cidr cidr;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(buf, sizeof(buf), "%s", list);
	for (w = strtok_r(buf, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (netaddr_cidr_parse(w, &cidr, err, sizeof(err)) == 0) {
			if (cfg->nets == NULL)
				cfg->nets = netaddr_list_new();
			assert_int_equal(netaddr_list_add(cfg->nets, w, err,
			    sizeof(err)), 0);
		} else
			assert_int_equal(chain_cfg_add_host(cfg, w), 0);
	}
}

static void
free_trusted(struct chain_cfg *cfg)
{
	int i;

	for (i = 0; i < cfg->nhosts; i++)
		free(cfg->hosts[i]);
	netaddr_list_free(cfg->nets);
}

static int
has_code(const struct chain *c, const char *code)
{
	int i;

	for (i = 0; i < c->nf; i++)
		if (strcmp(c->f[i].code, code) == 0)
			return 1;
	return 0;
}

static void
dump(const struct chain *c)
{
	int i;

	for (i = 0; i < c->nf; i++)
		print_error("    finding hop %d %s %s: %s\n", c->f[i].hop,
		    chain_sev_str(c->f[i].sev), c->f[i].code, c->f[i].text);
}

static void
test_rows(void **state)
{
	static struct chain c;
	struct hdr h;
	struct chain_cfg cfg;
	size_t i;
	int bad = 0, nclean = 0, nfind = 0;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		int b0 = bad;

		if (strncmp(r->name, "clean-", 6) == 0)
			nclean++;
		else
			nfind++;
		load_trusted(&cfg, r->trusted);
		hdr_parse(&h, r->msg, strlen(r->msg));
		chain_build(&c, &cfg, &h, 0, NOW);
		chain_finish(&c);
		if (c.boundary_hop != r->boundary) {
			print_error("row %s: boundary: got %d, want %d\n",
			    r->name, c.boundary_hop, r->boundary);
			bad++;
		}
		if (strcmp(c.origin_ip, r->origin) != 0) {
			print_error("row %s: origin: got \"%s\", want \"%s\"\n",
			    r->name, c.origin_ip, r->origin);
			bad++;
		}
		if (c.verdict != r->verdict) {
			print_error("row %s: verdict: got %s, want %s\n",
			    r->name, chain_verdict_str(c.verdict),
			    chain_verdict_str(r->verdict));
			bad++;
		}
		if (r->has != NULL && !has_code(&c, r->has)) {
			print_error("row %s: finding %s: got none, want one\n",
			    r->name, r->has);
			bad++;
		}
		if (r->hasnt != NULL && has_code(&c, r->hasnt)) {
			print_error("row %s: finding %s: got one, want none\n",
			    r->name, r->hasnt);
			bad++;
		}
		if (bad != b0)
			dump(&c);
		free_trusted(&cfg);
	}
	chain_free(&c);
	hdr_free(&h);
	assert_int_equal(bad, 0);
	/* The house rule: as many rows with findings as clean ones. */
	assert_true(nfind >= nclean);
}

/* Trust walk details: each hop's trust and the order of the hops. */
static void
test_trust_states(void **state)
{
	static struct chain c;
	struct hdr h;
	struct chain_cfg cfg;
	const char *msg = INNER("10:00:09") OUTER("10:00:05")
	    RCV("pc.example.com", "pc.example.com", "198.51.100.9",
	    "s.example.com", "10:00:01") TAIL;
	static const enum chain_trust want[] = { CHAIN_UNTRUSTED,
	    CHAIN_BOUNDARY, CHAIN_TRUSTED };
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	load_trusted(&cfg, "10.0.0.0/8");
	hdr_parse(&h, msg, strlen(msg));
	chain_build(&c, &cfg, &h, 0, NOW);
	assert_int_equal(c.nhops, 3);
	for (i = 0; i < 3; i++) {
		if (c.hops[i].n != i + 1 || c.hops[i].trust != want[i])
			print_error("hop %d: got n %d trust %s, want %s\n", i,
			    c.hops[i].n, chain_trust_str(c.hops[i].trust),
			    chain_trust_str(want[i]));
		assert_int_equal(c.hops[i].n, i + 1);
		assert_int_equal(c.hops[i].trust, want[i]);
	}
	/* Oldest first: hop 1 is the one nearest the sender. */
	assert_string_equal(c.hops[0].r.from_ip, "198.51.100.9");
	assert_string_equal(c.hops[2].r.from_ip, "10.0.0.2");
	assert_int_equal(c.hops[2].delay_s, 4);
	/* The origin's sender for SPF comes from the boundary hop's for/
	 * Return-Path; here there is none, HELO is the fallback. */
	assert_string_equal(c.origin_helo, "s.example.com");
	free_trusted(&cfg);
	chain_free(&c);
	hdr_free(&h);
}

struct origin_row {
	const char *name;
	enum chain_iprev iprev;
	int	spf;
	enum chain_verdict verdict;
	const char *has;
};

static const struct origin_row orows[] = {
	{ "pass-pass", CHAIN_IPREV_PASS, SPF_RES_PASS, CHAIN_UNAUTHENTICATED, NULL },
	{ "pass-none", CHAIN_IPREV_PASS, SPF_RES_NONE, CHAIN_UNAUTHENTICATED, NULL },
	{ "spf-fail", CHAIN_IPREV_PASS, SPF_RES_FAIL, CHAIN_SUSPICIOUS,
	    "spf-fail" },
	{ "iprev-fail", CHAIN_IPREV_FAIL, SPF_RES_PASS, CHAIN_UNAUTHENTICATED,
	    "iprev-fail" },
	{ "spf-softfail", CHAIN_IPREV_PASS, SPF_RES_SOFTFAIL, CHAIN_UNAUTHENTICATED,
	    "spf-softfail" },
	{ "not-evaluated", CHAIN_IPREV_NOTCHECKED, -1, CHAIN_UNAUTHENTICATED, NULL },
};

/* chain_set_origin(): evaluated-now results become findings. */
static void
test_origin(void **state)
{
	static struct chain c;
	struct hdr h;
	struct chain_cfg cfg;
	const char *msg = INNER("10:00:09") OUTER("10:00:05") TAIL;
	size_t i;
	int bad = 0;

	(void)state;
	memset(&h, 0, sizeof(h));
	load_trusted(&cfg, "10.0.0.0/8");
	hdr_parse(&h, msg, strlen(msg));
	for (i = 0; i < sizeof(orows) / sizeof(orows[0]); i++) {
		const struct origin_row *r = &orows[i];

		chain_build(&c, &cfg, &h, 0, NOW);
		chain_set_origin(&c, r->iprev, r->spf, "evaluated now");
		chain_finish(&c);
		if (!c.evaluated || c.iprev != r->iprev || c.spf != r->spf) {
			print_error("row %s: got evaluated %d iprev %d spf %d\n",
			    r->name, c.evaluated, c.iprev, c.spf);
			bad++;
		}
		if (c.verdict != r->verdict) {
			print_error("row %s: verdict: got %s, want %s\n",
			    r->name, chain_verdict_str(c.verdict),
			    chain_verdict_str(r->verdict));
			bad++;
		}
		if (r->has != NULL && !has_code(&c, r->has)) {
			print_error("row %s: finding %s: got none, want one\n",
			    r->name, r->has);
			bad++;
		}
	}
	free_trusted(&cfg);
	chain_free(&c);
	hdr_free(&h);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_trust_states),
		cmocka_unit_test(test_origin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
