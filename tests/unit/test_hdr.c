/* SPDX-License-Identifier: ISC */
/* test_hdr - dates, unfolding, RFC 2047, header splitting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "shared/hdr.h"

struct date_row {
	const char *name, *in, *want;	/* want NULL: must fail */
};

static const struct date_row dates[] = {
	{ "rfc5322", "Mon, 1 Apr 2024 10:00:00 +0000", "2024-04-01T10:00:00Z" },
	{ "zone-minus", "Tue, 29 Aug 2023 09:20:10 -0700 (PDT)", "2023-08-29T16:20:10Z" },
	{ "no-weekday", "02 Sep 2023 04:24:06 +0200", "2023-09-02T02:24:06Z" },
	{ "two-digit-year", "Mon, 7 Oct 91 10:00:00 GMT", "1991-10-07T10:00:00Z" },
	{ "two-digit-2000s", "Wed, 26 Mar 03 20:43:24 -0600", "2003-03-27T02:43:24Z" },
	{ "zone-name-pst", "Wed, 12 Feb 2003 14:22:21 PST", "2003-02-12T22:22:21Z" },
	{ "zone-name-ut", "3 Jul 2002 15:43:50 UT", "2002-07-03T15:43:50Z" },
	{ "zone-eire", "Mon, 1 Apr 2024 10:00:00 Eire", "2024-04-01T10:00:00Z" },
	{ "asctime-zone", "Fri Feb 07 10:18:12 2003 -0800", "2003-02-07T18:18:12Z" },
	{ "asctime", "Sun Nov 13 14:50:12 2005", "2005-11-13T14:50:12Z" },
	{ "date1", "Thu Jul 24 00:07:39 PDT 2003", "2003-07-24T07:07:39Z" },
	{ "sendgrid-go", "2018-04-22 02:54:17.02 +0000 UTC m=+1420.5", "2018-04-22T02:54:17Z" },
	{ "fraction", "Thu, 02 Apr 2020 07:53:55.516 +0000 (UTC)", "2020-04-02T07:53:55Z" },
	{ "iso8601", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z" },
	{ "iso-offset", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z" },
	{ "gmt-offset", "Mon, 1 Apr 2024 12:00:00 GMT+0200", "2024-04-01T10:00:00Z" },
	{ "no-seconds", "1 Apr 2024 10:00 +0000", "2024-04-01T10:00:00Z" },
	{ "leap-day", "29 Feb 2024 00:00:00 +0000", "2024-02-29T00:00:00Z" },
	{ "leap-second", "30 Jun 2015 23:59:60 +0000", "2015-06-30T23:59:59Z" },
	{ "full-month", "1 April 2024 10:00:00 +0000", "2024-04-01T10:00:00Z" },
	{ "dmy-dash", "1-Apr-2024 10:00:00 +0000", "2024-04-01T10:00:00Z" },
	{ "err-empty", "", NULL },
	{ "err-garbage", "yesterday at noon", NULL },
	{ "err-no-time", "Mon, 1 Apr 2024", NULL },
	{ "err-no-year", "14:47:44 +0000", NULL },
	{ "err-bad-month", "1 Foo 2024 10:00:00 +0000", NULL },
	{ "err-feb-30", "30 Feb 2024 10:00:00 +0000", NULL },
	{ "err-hour-25", "1 Apr 2024 25:00:00 +0000", NULL },
	{ "err-min-60", "1 Apr 2024 10:60:00 +0000", NULL },
	{ "err-zone", "1 Apr 2024 10:00:00 +9999", NULL },
	{ "err-two-times", "1 Apr 2024 10:00:00 11:00:00", NULL },
	{ "err-long-number", "1 Apr 202400 10:00:00", NULL },
	{ "err-iso-bad", "2024-13-45T10:00:00Z", NULL },
	{ "err-year-1900", "1 Apr 1900 10:00:00 +0000", NULL },
	{ "err-words", "1 Apr 2024 10:00:00 +0000 foo bar baz", NULL },
	{ "err-day-0", "0 Apr 2024 10:00:00 +0000", NULL },
	{ "err-only-zone", "+0000", NULL },
	{ "err-numbers", "1 2 3 4", NULL },
	{ "err-iso-tz", "2024-05-01T10:00:00Q5", NULL },
	{ "err-day-32", "32 Jan 2024 10:00:00 +0000", NULL },
	{ "err-semicolon-junk", "with;ESMTP", NULL },
	{ "err-month-only", "April", NULL },
};

static void
test_dates(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		const struct date_row *d = &dates[i];
		int64_t t;
		char err[64], got[96];
		int rc = hdr_date_parse(d->in, strlen(d->in), &t, err,
		    sizeof(err));

		if (rc == 0)
			hdr_date_format(t, got, sizeof(got));
		else
			snprintf(got, sizeof(got), "error (%s)", err);
		if ((d->want == NULL) != (rc != 0) || (rc == 0 &&
		    strcmp(got, d->want) != 0)) {
			print_error("row %s: got %s, want %s\n", d->name, got,
			    d->want ? d->want : "an error");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_unfold_2047(void **state)
{
	char out[128];
	const char *v = " a\r\n\tb\r\n c \r\n";

	(void)state;
	assert_int_equal(hdr_unfold(v, strlen(v), out, sizeof(out)), 5);
	assert_string_equal(out, "a\tb c");
	assert_true(hdr_unfold("abcdef", 6, out, 4) >= 4);
	assert_string_equal(out, "abc");
	hdr_decode_2047("=?utf-8?q?J=C3=B6rg?= <j@x>", out, sizeof(out));
	assert_string_equal(out, "J\xc3\xb6rg <j@x>");
	hdr_decode_2047("=?ISO-8859-1?B?SvZyZw==?= =?us-ascii?q?_x?=", out,
	    sizeof(out));
	assert_string_equal(out, "J\xc3\xb6rg x");
	hdr_decode_2047("=?bad =?x?Z?y?= plain", out, sizeof(out));
	assert_string_equal(out, "=?bad =?x?Z?y?= plain");
	assert_int_equal(hdr_addr(" <a@b> x", out, sizeof(out)), 0);
	assert_string_equal(out, "a@b");
	assert_int_equal(hdr_addr("<>", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(hdr_utf8_valid("\xc3\xb6", 2), 1);
	assert_int_equal(hdr_utf8_valid("\xc3", 1), 0);
	assert_int_equal(hdr_utf8_valid("\xed\xa0\x80", 3), 0);
	assert_int_equal(hdr_utf8_valid("\xc0\xaf", 2), 0);
}

struct split_row {
	const char *name, *msg;
	int	nf, flags;
	const char *first_name;
};

static const struct split_row splits[] = {
	{ "simple", "A: 1\nB: 2\n\nbody", 2, 0, "A" },
	{ "crlf-folded", "A: 1\r\n 2\r\nB: x\r\n\r\nbody", 2, 0, "A" },
	{ "from-line", "From x Mon\nA: 1\n\n", 1, HDR_F_FROMLINE, "A" },
	{ "no-sep", "A: 1\nB: 2\n", 2, HDR_F_NO_SEP, "A" },
	{ "no-headers", "hello world\n\nbody\n", 0, HDR_F_BADLINE, NULL },
	{ "badline-mid", "A: 1\nnot a header\nB: 2\n\n", 1, HDR_F_BADLINE, "A" },
	{ "space-colon", "Subject : x\n\n", 1, 0, "Subject" },
	{ "nul", "A: \0x\n\n", 1, HDR_F_NUL, "A" },
	{ "badutf8", "A: \xff\n\n", 1, HDR_F_8BIT | HDR_F_BADUTF8, "A" },
	{ "utf8", "A: \xc3\xb6\n\n", 1, HDR_F_8BIT, "A" },
	{ "empty", "", 0, HDR_F_NO_SEP, NULL },
	{ "leading-space", " A: 1\n\n", 0, HDR_F_BADLINE, NULL },
	/* fuzz_hdr: a name of white space only was a field with namelen 0. */
	{ "space-only-name", " :1\nX: 1\n\n", 0, HDR_F_BADLINE, NULL },
	{ "tab-only-name", "X: 1\n\t: 2\n\n", 1, 0, "X" },
};

static void
test_split(void **state)
{
	struct hdr h;
	size_t i;
	int bad = 0;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		const struct split_row *s = &splits[i];
		size_t len = strlen(s->msg);

		if (strcmp(s->name, "nul") == 0)
			len = 8;
		hdr_parse(&h, s->msg, len);
		if (h.nf != s->nf || h.flags != s->flags) {
			print_error("row %s: got nf=%d flags=%#x, want nf=%d "
			    "flags=%#x\n", s->name, h.nf, h.flags, s->nf,
			    s->flags);
			bad++;
		} else if (s->first_name && !hdr_is(&h.f[0], s->first_name)) {
			print_error("row %s: first field %.*s\n", s->name,
			    (int)h.f[0].namelen, h.f[0].name);
			bad++;
		}
	}
	/* Too many fields. */
	{
		static char big[(HDR_FIELDS_MAX + 10) * 5 + 2];
		size_t k;

		for (k = 0; k < HDR_FIELDS_MAX + 10; k++)
			memcpy(big + k * 5, "A: 1\n", 5);
		big[(HDR_FIELDS_MAX + 10) * 5] = '\n';
		hdr_parse(&h, big, sizeof(big) - 1);
		assert_int_equal(h.nf, HDR_FIELDS_MAX);
		assert_true(h.flags & HDR_F_TRUNCATED);
	}
	hdr_free(&h);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_unfold_2047),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
