/* SPDX-License-Identifier: ISC */
/* test_received - the Received tokenizer against the corpus of real lines
 * in tests/data/received/corpus.tsv (source and license per row).
 * Runs with cwd = the repo root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/received.h"

#define CORPUS	"tests/data/received/corpus.tsv"
#define NCOL	17

static int
check(const char *row, const char *what, const char *got, const char *want,
    int *bad)
{
	if (strcmp(want, "-") == 0)
		want = "";
	if (strcmp(got, want) != 0) {
		print_error("row %s: %s: got \"%s\", want \"%s\"\n", row, what,
		    got, want);
		(*bad)++;
		return 1;
	}
	return 0;
}

static const char *
tri(int v)
{
	return v < 0 ? "" : v ? "1" : "0";
}

static void
test_corpus(void **state)
{
	FILE *f = fopen(CORPUS, "r");
	static char line[70000];
	int rows = 0, bad = 0, unparsed = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *col[NCOL], *p = line, ts[32];
		struct received r;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || strncmp(line, "name\t", 5) == 0)
			continue;
		while (n < NCOL) {
			col[n++] = p;
			if ((p = strchr(p, '\t')) == NULL)
				break;
			*p++ = '\0';
		}
		if (n != NCOL) {
			print_error("corpus line with %d columns\n", n);
			bad++;
			continue;
		}
		rows++;
		received_parse(col[16], &r);
		check(col[0], "kind", received_kind_str(r.kind), col[3], &bad);
		check(col[0], "role", received_role_str(r.role), col[4], &bad);
		if (r.kind == RECEIVED_UNPARSED)
			unparsed++;
		check(col[0], "from_name", r.from_name, col[5], &bad);
		check(col[0], "from_helo", r.from_helo, col[6], &bad);
		check(col[0], "from_rdns", r.from_rdns, col[7], &bad);
		check(col[0], "from_ip", r.from_ip, col[8], &bad);
		check(col[0], "by_host", r.by_host, col[9], &bad);
		check(col[0], "with", r.with, col[10], &bad);
		if (r.kind != RECEIVED_UNPARSED) {
			check(col[0], "tls", tri(r.tls), col[11], &bad);
			check(col[0], "auth", tri(r.auth), col[12], &bad);
		}
		check(col[0], "id", r.id, col[13], &bad);
		check(col[0], "for", r.rcpt_for, col[14], &bad);
		check(col[0], "date", r.has_date ? hdr_date_format(r.date, ts,
		    sizeof(ts)) : "", col[15], &bad);
	}
	fclose(f);
	print_message("corpus: %d rows (%d unparsed), %d mismatches\n", rows,
	    unparsed, bad);
	assert_true(rows >= 150);
	assert_true(unparsed >= 5);
	assert_int_equal(bad, 0);
}

/* Details the corpus columns do not show. */
struct row {
	const char *name, *line, *envfrom, *tls_detail, *note_has;
	const char *ident;	/* NULL: not checked */
};

static const struct row rows[] = {
	/* issue 21: the clauses and comments of less common MTAs */
	{ "xmail-envfrom", "from out.example.net (192.0.2.61:40001) by "
	    "mx.example.org with [XMail 1.27 ESMTP Server] id <S1A2B3> for "
	    "<u@example.org> from <bounce@example.net>; Mon, 6 May 2024 "
	    "10:00:09 +0200", "bounce@example.net", "", "", NULL },
	{ "exim-tls-words", "from c.example.net ([198.51.100.31]:50999 "
	    "helo=c.example.net) by mx.example.org with esmtps (TLS1.3) tls "
	    "TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1; Mon, 06 May 2024 "
	    "10:00:01 +0200", "", "TLS1.3 TLS_AES_256_GCM_SHA384", "", NULL },
	{ "encrypted-words", "from a.example.net (HELO b) (203.0.113.70) by "
	    "c.example.com with AES256-GCM-SHA384 encrypted SMTP; 6 May 2024 "
	    "08:00:10 -0000", "", "AES256-GCM-SHA384", "", NULL },
	{ "encrypted-comment", "from a.example.org (HELO b) (203.0.113.71) by "
	    "c.example.com with (DHE-RSA-AES256-SHA encrypted) SMTP; 6 May "
	    "2024 08:00:11 -0000", "", "DHE-RSA-AES256-SHA", "", NULL },
	{ "tls-slash", "from unknown (HELO MX1.EXAMPLE.DE) () by "
	    "mx2.example.de with ESMTP/TLS/ECDHE-RSA-AES256-GCM-SHA384; 06 May "
	    "2024 10:00:12 +0200", "", "ECDHE-RSA-AES256-GCM-SHA384", "",
	    NULL },
	{ "as-user", "from 203.0.113.50 ( [203.0.113.50]) as user "
	    "carol@localhost by webmail.example.org with HTTP; Mon, 6 May 2024 "
	    "10:00:05 -0400", "", "", "", "carol@localhost" },
	{ "cgp-account", "from [203.0.113.42] (account alice@example.org HELO "
	    "laptop.example.org) by mail.example.org (CommuniGate Pro SMTP "
	    "6.3.14) with ESMTP id 1; Mon, 06 May 2024 10:00:04 +0200", "", "",
	    "", "alice@example.org" },
	{ "squirrelmail", "from 203.0.113.82 (SquirrelMail authenticated user "
	    "dave) by webmail.example.org with HTTP; Mon, 6 May 2024 10:00:13 "
	    "+0200", "", "", "", "dave" },
	{ "qmail-ident", "from host.example.com (HELO host) "
	    "(jdoe@198.51.100.22) by mx.example.org with SMTP; 6 May 2024 "
	    "08:00:02 -0000", "", "", "", "jdoe" },
	{ "stray-not-name", "from build.example.com (jdoe@build [192.0.2.77]) "
	    "k7LAbC123456verify=FAIL); Mon, 6 May 2024 10:00:07 -0700", "", "",
	    "", NULL },
	{ "postfix-tls", "from a.example (a.example [192.0.2.1]) (using TLSv1.3 "
	    "with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)) by mx (Postfix) "
	    "with ESMTPS id X; Mon, 1 Apr 2024 10:00:00 +0000", "",
	    "TLSv1.3 TLS_AES_256_GCM_SHA384", "", NULL },
	{ "exim-envfrom", "from a ([192.0.2.1]:25 helo=b) by c with esmtp "
	    "(Exim 4.96) (envelope-from <s@a.example>) id 1; Mon, 1 Apr 2024 "
	    "10:00:00 +0000", "s@a.example", "", "", NULL },
	{ "powermta-envfrom-after-date", "from a (192.0.2.1) by b id c; Mon, 1 "
	    "Apr 2024 10:00:00 +0000 (envelope-from <x@y.example>)",
	    "x@y.example", "", "", NULL },
	{ "qmail-envsender", "from unknown (HELO h) (u@[192.0.2.1]) "
	    "(envelope-sender <e@f.example>) by m with SMTP; 1 Apr 2024 "
	    "10:00:00 -0000", "e@f.example", "", "", NULL },
	{ "null-sender", "from a (a [192.0.2.1]) by b with ESMTP id c "
	    "envelope-from <>; Mon, 1 Apr 2024 10:00:00 +0000", "", "", "", NULL },
	{ "sendmail-tls", "from a (b [192.0.2.1]) by c (8.14.4/8.14.4) with "
	    "ESMTP id d (version=TLSv1/SSLv3 cipher=DHE-RSA-AES256-SHA "
	    "bits=256 verify=NO); Mon, 1 Apr 2024 10:00:00 +0000", "",
	    "TLSv1/SSLv3 DHE-RSA-AES256-SHA", "", NULL },
	{ "bad-date", "from a by b; Mon, 1 Foo 2024 10:00:00 +0000", "", "",
	    "bad date", NULL },
	{ "no-date", "from a by b", "", "", "no date", NULL },
	{ "unbalanced", "from a (b [192.0.2.1] by c; Mon, 1 Apr 2024 10:00:00 "
	    "+0000", "", "", "unbalanced", NULL },
	{ "forged", "from a (b [192.0.2.1] (may be forged)) by c; Mon, 1 Apr "
	    "2024 10:00:00 +0000", "", "", "may be forged", NULL },
	{ "qmail-marker", "(qmail 1 invoked from network); 1 Apr 2024 10:00:00 "
	    "-0000", "", "", "marker: qmail 1 invoked from network", NULL },
	{ "no-clause", "hello world; 1 Apr 2024 10:00:00 -0000", "", "",
	    "no from or by clause", NULL },
};

static void
test_details(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct received r;

		received_parse(rows[i].line, &r);
		check(rows[i].name, "envelope_from", r.envelope_from,
		    rows[i].envfrom[0] ? rows[i].envfrom : "-", &bad);
		check(rows[i].name, "tls_detail", r.tls_detail,
		    rows[i].tls_detail[0] ? rows[i].tls_detail : "-", &bad);
		if (rows[i].ident != NULL)
			check(rows[i].name, "ident", r.ident, rows[i].ident,
			    &bad);
		if (strstr(r.note, rows[i].note_has) == NULL) {
			print_error("row %s: note: got \"%s\", want it to "
			    "contain \"%s\"\n", rows[i].name, r.note,
			    rows[i].note_has);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Hostile input: long, many tokens, NUL-free junk; must not crash. */
static void
test_hostile(void **state)
{
	static char big[HDR_FIELD_MAX];
	struct received r;
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(big); i++)
		big[i] = "from (x) by [y] ;"[i % 17];
	big[sizeof(big) - 1] = '\0';
	received_parse(big, &r);
	assert_true(strstr(r.note, "too many tokens") != NULL);
	memset(big, '(', sizeof(big) - 1);
	received_parse(big, &r);
	assert_int_equal(r.kind, RECEIVED_UNPARSED);
	memset(big, 'a', sizeof(big) - 1);
	received_parse(big, &r);
	assert_int_equal(r.kind, RECEIVED_UNPARSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
