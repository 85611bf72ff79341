/* SPDX-License-Identifier: ISC */
/*
 * test_dns_answer - dns_answer_parse() on hand-made packets: a record of
 * the asked type that does not parse makes the answer a temporary error,
 * never "no such record" (the hostile-resolver soak found A records of 3
 * bytes and TXT strings running past their rdata read as NODATA, which
 * turned into SPF fail and DKIM key-not-found). Table-driven: each row is
 * a packet and the status and record count it must give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "shared/dns.h"

/* Header (id 1, QR RD RA, rcode), question a.example/type, one answer
 * a.example (pointer to the question) of type with rdlen bytes of rd. */
static size_t
packet(unsigned char *p, int rcode, int type, int nan, int rrtype,
    const unsigned char *rd, int rdlen)
{
	static const unsigned char q[] = {
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	};
	size_t n = 0;

	p[n++] = 0; p[n++] = 1;			/* id */
	p[n++] = 0x81; p[n++] = (unsigned char)(0x80 | rcode);
	p[n++] = 0; p[n++] = 1;			/* qdcount */
	p[n++] = 0; p[n++] = (unsigned char)nan;	/* ancount */
	p[n++] = 0; p[n++] = 0; p[n++] = 0; p[n++] = 0;
	memcpy(p + n, q, sizeof(q));
	n += sizeof(q);
	p[n++] = 0; p[n++] = (unsigned char)type; p[n++] = 0; p[n++] = 1;
	if (nan == 0)
		return n;
	p[n++] = 0xc0; p[n++] = 12;		/* the question's name */
	p[n++] = 0; p[n++] = (unsigned char)rrtype; p[n++] = 0; p[n++] = 1;
	p[n++] = 0; p[n++] = 0; p[n++] = 1; p[n++] = 0;	/* ttl 256 */
	p[n++] = (unsigned char)(rdlen >> 8); p[n++] = (unsigned char)rdlen;
	memcpy(p + n, rd, (size_t)rdlen);
	return n + (size_t)rdlen;
}

struct row {
	const char *name;
	enum dns_type type;
	int	rcode, nan, rrtype;
	const char *rd;
	int	rdlen;
	enum dns_status want;
	int	nrr;
};

static const struct row rows[] = {
	{ "a-ok", DNS_T_A, 0, 1, 1, "\xc0\x00\x02\x01", 4, DNS_OK, 1 },
	{ "a-3-bytes", DNS_T_A, 0, 1, 1, "\xc0\x00\x02", 3, DNS_TEMPFAIL, 0 },
	{ "a-5-bytes", DNS_T_A, 0, 1, 1, "\xc0\x00\x02\x01\x00", 5,
	    DNS_TEMPFAIL, 0 },
	{ "aaaa-4-bytes", DNS_T_AAAA, 0, 1, 28, "\x20\x01\x0d\xb8", 4,
	    DNS_TEMPFAIL, 0 },
	{ "txt-ok", DNS_T_TXT, 0, 1, 16, "\x06v=spf1", 7, DNS_OK, 1 },
	{ "txt-string-past-rdata", DNS_T_TXT, 0, 1, 16, "\x09v=spf1", 7,
	    DNS_TEMPFAIL, 0 },
	{ "nodata", DNS_T_A, 0, 0, 0, "", 0, DNS_NODATA, 0 },
	{ "other-type-only", DNS_T_TXT, 0, 1, 1, "\xc0\x00\x02\x01", 4,
	    DNS_NODATA, 0 },
	{ "nxdomain", DNS_T_A, 3, 0, 0, "", 0, DNS_NXDOMAIN, 0 },
	{ "servfail", DNS_T_A, 2, 0, 0, "", 0, DNS_TEMPFAIL, 0 },
};

static void
test_rows(void **state)
{
	unsigned char p[512];
	size_t i, n;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct dns_answer *a;

		n = packet(p, r->rcode, (int)r->type, r->nan, r->rrtype,
		    (const unsigned char *)r->rd, r->rdlen);
		a = dns_answer_parse(r->type, p, (int)n);
		if (a->status != r->want || a->nrr != r->nrr) {
			print_error("row %s: got %s with %d records, want %s "
			    "with %d\n", r->name, dns_status_str(a->status),
			    a->nrr, dns_status_str(r->want), r->nrr);
			bad++;
		}
		dns_answer_free(a);
	}
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
