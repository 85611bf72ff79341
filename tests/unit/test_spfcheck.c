/* SPDX-License-Identifier: ISC */
/* test_spfcheck - the pure parts of --check-domain's SPF record check:
 * spf_term_next() (shared/spf.c, the tokenizer spf_record_rewrite() and
 * spfcheck.c share) and spfcheck_udp_size(). The DNS walk is tested
 * against a DNS server in tests/integration/test_spfcheck.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "shared/dns.h"
#include "shared/spf.h"
#include "verifier/spfcheck.h"

static const char *const kinds[] = {
	"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
	"redirect", "exp", "mod", "unknown",
};

/* Each term as KIND, its qualifier, <domain-spec> and, for other
 * modifiers, =value; terms separated by one space. */
static const struct {
	const char *name, *rec, *want;
} rows[] = {
	{ "empty", "v=spf1", "" },
	{ "plain", "v=spf1 a mx -all", "a mx all-" },
	{ "a/mx domains and cidrs", "v=spf1 +a:ex.com/24//64 mx/0 "
	  "~mx:m.ex.com//64", "a+<ex.com> mx mx~<m.ex.com>" },
	{ "domain terms", "v=spf1 include:_spf.ex.com ?exists:%{i}.ex.com "
	  "ptr ptr:ex.com", "include<_spf.ex.com> exists?<%{i}.ex.com> ptr "
	  "ptr<ex.com>" },
	{ "addresses", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32",
	  "ip4 ip6" },
	{ "modifiers", "v=spf1 redirect=_spf.ex.com exp=e.ex.com foo=bar",
	  "redirect<_spf.ex.com> exp<e.ex.com> mod=bar" },
	{ "case and spaces", "V=SPF1   A   -ALL  ", "a all-" },
	{ "no version", "a:x.com -all", "a<x.com> all-" },
	{ "cidr on a domain", "v=spf1 a:x.com/32 mx:y.com//128",
	  "a<x.com> mx<y.com>" },
	/* terms spf_record_rewrite() refuses, read as written */
	{ "unknown mechanism", "v=spf1 foo", "unknown" },
	{ "qualified modifier", "v=spf1 +redirect=x.com", "unknown+" },
	{ "empty domain", "v=spf1 a:", "a<>" },
	{ "bad cidr still split", "v=spf1 a/33 mx//129", "a mx" },
	{ "qualifier alone", "v=spf1 -", "unknown-" },
	{ "modifier name digit", "v=spf1 1x=y", "unknown" },
	{ "modifier without name", "v=spf1 =x", "unknown" },
	{ "slashes only", "v=spf1 a//", "a" },
	{ "slash without digits", "v=spf1 mx:ex.com/", "mx<ex.com/>" },
	{ "include without domain", "v=spf1 include", "include" },
	{ "other version", "v=spf10 a", "mod=spf10 a" },
};

static void
render(const char *rec, char *out, size_t outlen)
{
	struct spf_term t;
	size_t	pos = 0, n = 0;

	out[0] = '\0';
	while (spf_term_next(rec, strlen(rec), &pos, &t) && n < outlen) {
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " " : "",
		    kinds[t.kind]);
		if (t.qual && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "%c", t.qual);
		if (t.dom != NULL && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "<%.*s>",
			    (int)t.domlen, t.dom);
		if (t.kind == SPF_TERM_MODIFIER && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "=%.*s",
			    (int)t.arglen, t.arg);
	}
}

static void
test_terms(void **state)
{
	char	got[512];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		render(rows[i].rec, got, sizeof(got));
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %s: got \"%s\", want \"%s\"", rows[i].name,
			    got, rows[i].want);
	}
}

/* The pieces cover the term, and *pos ends at the record's end. */
static void
test_term_bounds(void **state)
{
	const char *rec = "v=spf1 -include:x.org  ?mx:m.org/24 redirect=r.org ";
	struct spf_term t;
	size_t	pos = 0;
	int	n = 0;

	(void)state;
	while (spf_term_next(rec, strlen(rec), &pos, &t)) {
		assert_true(t.text >= rec);
		assert_true(t.text + t.len <= rec + strlen(rec));
		assert_true(t.arg + t.arglen == t.text + t.len);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(pos, strlen(rec));
	assert_int_equal(spf_term_next(rec, strlen(rec), &pos, &t), 0);
}

static struct dns_rr rr_txt[3] = {
	{ .type = DNS_T_TXT, .len = 10, .nstrings = 1 },
	{ .type = DNS_T_TXT, .len = 700, .nstrings = 3 },
	{ .type = DNS_T_TXT, .len = 0, .nstrings = 1 },	/* "" */
};

static const struct {
	const char *name, *qname;
	enum dns_status status;
	int	first, nrr;		/* rows of rr_txt */
	size_t	want;
} sizes[] = {
	/* header 12, question "example.org" 13 + 4 */
	{ "nodata", "example.org", DNS_NODATA, 0, 0, 29 },
	{ "nxdomain", "example.org", DNS_NXDOMAIN, 0, 0, 29 },
	{ "trailing dot", "example.org.", DNS_NODATA, 0, 0, 29 },
	{ "root", ".", DNS_NODATA, 0, 0, 17 },
	/* each RR: pointer 2, type, class, TTL, rdlength 10, rdata */
	{ "one string", "example.org", DNS_OK, 0, 1, 29 + 12 + 11 },
	{ "three strings", "example.org", DNS_OK, 1, 1, 29 + 12 + 703 },
	{ "every TXT", "example.org", DNS_OK, 0, 3,
	  29 + (12 + 11) + (12 + 703) + (12 + 1) },
	{ "tempfail: question only", "example.org", DNS_TEMPFAIL, 0, 3, 29 },
};

static void
test_udp_size(void **state)
{
	struct dns_answer a;
	size_t	i, got;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.status = sizes[i].status;
		a.rr = &rr_txt[sizes[i].first];
		a.nrr = sizes[i].nrr;
		got = spfcheck_udp_size(sizes[i].qname, &a);
		if (got != sizes[i].want)
			fail_msg("row %s: got %zu, want %zu", sizes[i].name, got,
			    sizes[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_term_bounds),
		cmocka_unit_test(test_udp_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
