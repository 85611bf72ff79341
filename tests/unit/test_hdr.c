/* SPDX-License-Identifier: ISC */
/* test_hdr - dates, unfolding, RFC 2047, header splitting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shared/hdr.h"

/* Dates. A row gives the instant it must parse to (UTC, compared as
 * seconds since the epoch via timegm(3), which is not the code under test)
 * or, with want NULL, the reason it must fail with. */
struct date_row {
	const char *name, *in;
	const char *want;	/* "YYYY-MM-DDThh:mm:ssZ"; NULL: must fail */
	const char *err;	/* the reason, when want is NULL */
};

static const struct date_row dates[] = {
	/* The forms hdr.h lists. */
	{ "rfc5322", "Mon, 1 Apr 2024 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "zone-minus", "Tue, 29 Aug 2023 09:20:10 -0700 (PDT)", "2023-08-29T16:20:10Z", NULL },
	{ "no-weekday", "02 Sep 2023 04:24:06 +0200", "2023-09-02T02:24:06Z", NULL },
	{ "two-digit-year", "Mon, 7 Oct 91 10:00:00 GMT", "1991-10-07T10:00:00Z", NULL },
	{ "two-digit-2000s", "Wed, 26 Mar 03 20:43:24 -0600", "2003-03-27T02:43:24Z", NULL },
	{ "zone-name-pst", "Wed, 12 Feb 2003 14:22:21 PST", "2003-02-12T22:22:21Z", NULL },
	{ "zone-name-ut", "3 Jul 2002 15:43:50 UT", "2002-07-03T15:43:50Z", NULL },
	{ "zone-eire", "Mon, 1 Apr 2024 10:00:00 Eire", "2024-04-01T10:00:00Z", NULL },
	{ "asctime-zone", "Fri Feb 07 10:18:12 2003 -0800", "2003-02-07T18:18:12Z", NULL },
	{ "asctime", "Sun Nov 13 14:50:12 2005", "2005-11-13T14:50:12Z", NULL },
	{ "asctime-two-spaces", "Mon Jan  1 12:00:00 2024", "2024-01-01T12:00:00Z", NULL },
	{ "asctime-two-digit-year", "Mon Jan 1 12:00:00 24", "2024-01-01T12:00:00Z", NULL },
	{ "date1", "Thu Jul 24 00:07:39 PDT 2003", "2003-07-24T07:07:39Z", NULL },
	{ "date1-zone-last", "Mon Jan 1 12:00:00 2024 PST", "2024-01-01T20:00:00Z", NULL },
	{ "sendgrid-go", "2018-04-22 02:54:17.02 +0000 UTC m=+1420.5", "2018-04-22T02:54:17Z", NULL },
	{ "go-pdt", "2018-04-22 02:54:17.02 -0700 PDT m=+1420.5", "2018-04-22T09:54:17Z", NULL },
	{ "go-trailing-word", "2018-04-22 02:54:17.02 +0000 UTC m=+1420.5 x1", "2018-04-22T02:54:17Z", NULL },
	{ "fraction", "Thu, 02 Apr 2020 07:53:55.516 +0000 (UTC)", "2020-04-02T07:53:55Z", NULL },
	{ "iso8601", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", NULL },
	{ "iso-offset", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z", NULL },
	{ "iso-lower-t-z", "2024-01-01t12:00:00z", "2024-01-01T12:00:00Z", NULL },
	{ "iso-no-zone", "2024-01-01T12:00:00", "2024-01-01T12:00:00Z", NULL },
	{ "iso-fraction-offset", "2024-01-01T12:00:00.5+05:30", "2024-01-01T06:30:00Z", NULL },
	{ "iso-offset-hhmm", "2024-01-01T12:00:00+0530", "2024-01-01T06:30:00Z", NULL },
	{ "iso-offset-hh", "2024-01-01T12:00:00+05", "2024-01-01T07:00:00Z", NULL },
	{ "iso-no-seconds", "2024-01-01T12:00", "2024-01-01T12:00:00Z", NULL },
	{ "iso-space", "2024-01-01 12:00:00", "2024-01-01T12:00:00Z", NULL },
	{ "iso-space-zone", "2024-01-01 12:00:00 +0100", "2024-01-01T11:00:00Z", NULL },
	{ "gmt-offset", "Mon, 1 Apr 2024 12:00:00 GMT+0200", "2024-04-01T10:00:00Z", NULL },
	{ "utc-offset-colon", "1 Jan 2024 12:00:00 UTC-05:00", "2024-01-01T17:00:00Z", NULL },
	{ "gmt-offset-hh", "1 Jan 2024 12:00:00 gmt+02", "2024-01-01T10:00:00Z", NULL },
	{ "no-seconds", "1 Apr 2024 10:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "full-month", "1 April 2024 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "dmy-dash", "1-Apr-2024 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "dmy-two-digit-year", "1-Apr-24 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "dmy-99", "1-Apr-99 10:00:00 +0000", "1999-04-01T10:00:00Z", NULL },
	{ "dmy-full-month", "01-April-2024 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "year-month-day", "2024 Jan 1 12:00:00", "2024-01-01T12:00:00Z", NULL },
	{ "month-day-year", "Jan 1 2024 12:00:00", "2024-01-01T12:00:00Z", NULL },
	{ "day-year-month", "1 2024 Jan 12:00:00", "2024-01-01T12:00:00Z", NULL },
	{ "commas-tabs", " \t,,1,Apr,2024,10:00:00,+0000,, ", "2024-04-01T10:00:00Z", NULL },
	{ "comma-after-year", "1 Apr 2024, 10:00:00 +0000", "2024-04-01T10:00:00Z", NULL },
	{ "err-empty", "", NULL, "no time" },
	{ "err-garbage", "yesterday at noon", NULL, "unknown word" },
	{ "err-no-time", "Mon, 1 Apr 2024", NULL, "no time" },
	{ "err-no-year", "14:47:44 +0000", NULL, "no year" },
	{ "err-no-month", "1 2024 10:00:00", NULL, "no month" },
	{ "err-no-day", "Apr 2024 10:00:00", NULL, "no day" },
	{ "err-bad-month", "1 Foo 2024 10:00:00 +0000", NULL, "unknown word" },
	{ "err-two-times", "1 Apr 2024 10:00:00 11:00:00", NULL, "two times" },
	{ "err-long-number", "1 Apr 202400 10:00:00", NULL, "number too long" },
	{ "err-iso-bad", "2024-13-45T10:00:00Z", NULL, "day out of range" },
	{ "err-iso-month-0", "2024-00-10T00:00:00Z", NULL, "no month" },
	{ "err-iso-feb-30", "2024-02-30T00:00:00Z", NULL, "day out of range" },
	{ "err-iso-no-time", "2024-01-01T", NULL, "bad ISO time" },
	{ "err-iso-hour-only", "2024-01-01T12", NULL, "bad ISO time" },
	{ "err-iso-zz", "2024-01-01T12:00:00ZZ", NULL, "bad ISO zone" },
	{ "err-iso-tz", "2024-05-01T10:00:00Q5", NULL, "bad ISO zone" },
	{ "err-iso-zone-2400", "2024-01-01T12:00:00+2400", NULL, "bad ISO zone" },
	{ "err-iso-suffix", "2024-01-01X", NULL, "bad ISO date" },
	{ "err-words", "1 Apr 2024 10:00:00 +0000 foo bar baz", NULL, "unknown word" },
	{ "err-only-zone", "+0000", NULL, "no time" },
	{ "err-numbers", "1 2 3 4", NULL, "too many numbers" },
	{ "err-semicolon-junk", "with;ESMTP", NULL, "unknown word" },
	{ "err-month-only", "April", NULL, "no time" },
	{ "err-dmy-no-year", "1-Apr 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-dmy-bad-month", "1-Foo-2024 10:00:00 +0000", NULL, "bad number" },
	{ "err-second-month", "1 Apr Apr 2024 10:00:00 +0000", NULL, "unknown word" },
	{ "err-month-dot", "1 Apr. 2024 10:00:00 +0000", NULL, "unknown word" },
	{ "err-time-first", "10:00:00 1 Apr 2024", NULL, "too many numbers" },
	{ "err-number-junk", "1 Apr 2024x 10:00:00", NULL, "bad number" },

	/* RFC 5322 4.3 years: 00-49 are 2000-2049, 50-99 1950-1999 (and so
	 * before 1970: out of range), three digits add 1900, one digit is a
	 * two-digit year, four are taken as they are. */
	{ "year-49", "1 Jan 49 00:00:00 +0000", "2049-01-01T00:00:00Z", NULL },
	{ "year-49-end", "31 Dec 49 23:59:59 +0000", "2049-12-31T23:59:59Z", NULL },
	{ "err-year-50", "1 Jan 50 00:00:00 +0000", NULL, "year out of range" },
	{ "err-year-69", "31 Dec 69 23:59:59 +0000", NULL, "year out of range" },
	{ "year-70", "1 Jan 70 00:00:00 +0000", "1970-01-01T00:00:00Z", NULL },
	{ "year-99", "31 Dec 99 23:59:59 +0000", "1999-12-31T23:59:59Z", NULL },
	{ "year-00", "1 Jan 00 00:00:00 +0000", "2000-01-01T00:00:00Z", NULL },
	{ "year-one-digit", "1 Jan 5 00:00:00 +0000", "2005-01-01T00:00:00Z", NULL },
	{ "year-100", "1 Jan 100 00:00:00 +0000", "2000-01-01T00:00:00Z", NULL },
	{ "year-070", "1 Jan 070 00:00:00 +0000", "1970-01-01T00:00:00Z", NULL },
	{ "err-year-069", "1 Jan 069 00:00:00 +0000", NULL, "year out of range" },
	{ "year-999", "31 Dec 999 00:00:00 +0000", "2899-12-31T00:00:00Z", NULL },
	{ "err-year-0049", "1 Jan 0049 00:00:00 +0000", NULL, "year out of range" },
	{ "year-1970", "1 Jan 1970 00:00:00 +0000", "1970-01-01T00:00:00Z", NULL },
	/* The range is the year as written; the zone may move it before. */
	{ "year-1970-east", "1 Jan 1970 00:00:00 +0100", "1969-12-31T23:00:00Z", NULL },
	{ "err-year-1969", "31 Dec 1969 23:59:59 -0100", NULL, "year out of range" },
	{ "err-year-1900", "1 Apr 1900 10:00:00 +0000", NULL, "year out of range" },
	{ "year-9999", "31 Dec 9999 23:59:59 +0000", "9999-12-31T23:59:59Z", NULL },
	{ "err-year-5-digits", "1 Jan 10000 00:00:00 +0000", NULL, "number too long" },

	/* Days, with February in leap and common years. */
	{ "err-day-0", "0 Apr 2024 10:00:00 +0000", NULL, "day out of range" },
	{ "day-1", "1 Jan 2024 00:00:00 +0000", "2024-01-01T00:00:00Z", NULL },
	{ "day-31", "31 Jan 2024 00:00:00 +0000", "2024-01-31T00:00:00Z", NULL },
	{ "err-day-32", "32 Jan 2024 10:00:00 +0000", NULL, "day out of range" },
	{ "day-30-apr", "30 Apr 2024 00:00:00 +0000", "2024-04-30T00:00:00Z", NULL },
	{ "err-day-31-apr", "31 Apr 2024 00:00:00 +0000", NULL, "day out of range" },
	{ "leap-day", "29 Feb 2024 00:00:00 +0000", "2024-02-29T00:00:00Z", NULL },
	{ "err-feb-29-2023", "29 Feb 2023 00:00:00 +0000", NULL, "day out of range" },
	{ "feb-29-2000", "29 Feb 2000 00:00:00 +0000", "2000-02-29T00:00:00Z", NULL },
	{ "feb-29-00", "29 Feb 00 00:00:00 +0000", "2000-02-29T00:00:00Z", NULL },
	{ "err-feb-29-2100", "29 Feb 2100 00:00:00 +0000", NULL, "day out of range" },
	{ "err-feb-29-1900", "29 Feb 1900 00:00:00 +0000", NULL, "year out of range" },
	{ "err-feb-30", "30 Feb 2024 10:00:00 +0000", NULL, "day out of range" },

	/* Times. A leap second (60) is read as 59, at any minute. */
	{ "hour-23", "1 Jan 2024 23:59:59 +0000", "2024-01-01T23:59:59Z", NULL },
	{ "err-hour-24", "1 Jan 2024 24:00:00 +0000", NULL, "bad time" },
	{ "err-hour-25", "1 Apr 2024 25:00:00 +0000", NULL, "bad time" },
	{ "minute-59", "1 Jan 2024 00:59:00 +0000", "2024-01-01T00:59:00Z", NULL },
	{ "err-min-60", "1 Apr 2024 10:60:00 +0000", NULL, "bad time" },
	{ "leap-second", "30 Jun 2015 23:59:60 +0000", "2015-06-30T23:59:59Z", NULL },
	{ "second-60-any", "1 Jan 2024 10:00:60 +0000", "2024-01-01T10:00:59Z", NULL },
	{ "err-second-61", "1 Jan 2024 10:00:61 +0000", NULL, "bad time" },
	{ "time-one-digit", "1 Jan 2024 1:2:3 +0000", "2024-01-01T01:02:03Z", NULL },
	{ "time-dot-no-digits", "1 Jan 2024 10:00. +0000", "2024-01-01T10:00:00Z", NULL },
	{ "time-nanoseconds", "1 Jan 2024 10:00:00.123456789 +0000", "2024-01-01T10:00:00Z", NULL },
	{ "err-time-fraction-junk", "1 Jan 2024 10:00:00.5x +0000", NULL, "bad time" },
	{ "err-time-colon-end", "1 Jan 2024 10:00:00: +0000", NULL, "bad time" },
	{ "err-time-hour-only", "1 Jan 2024 10: +0000", NULL, "bad time" },
	{ "err-time-four-parts", "1 Jan 2024 10:00:00:00 +0000", NULL, "bad time" },
	{ "err-time-3-digits", "1 Jan 2024 100:00 +0000", NULL, "bad time" },
	{ "err-time-in-dmy", "1-Apr-2024:10:00 +0000", NULL, "bad time" },

	/* Numeric zones: hh 00-23, mm 00-59; the first zone wins. */
	{ "zone-2359", "1 Jan 2024 12:00:00 +2359", "2023-12-31T12:01:00Z", NULL },
	{ "zone-minus-2359", "1 Jan 2024 12:00:00 -2359", "2024-01-02T11:59:00Z", NULL },
	{ "zone-minus-0000", "1 Jan 2024 12:00:00 -0000", "2024-01-01T12:00:00Z", NULL },
	{ "zone-colon", "1 Jan 2024 12:00:00 +01:30", "2024-01-01T10:30:00Z", NULL },
	{ "zone-hours", "1 Jan 2024 12:00:00 +01", "2024-01-01T11:00:00Z", NULL },
	{ "err-zone-2400", "1 Jan 2024 12:00:00 +2400", NULL, "bad numeric zone" },
	{ "err-zone-0060", "1 Jan 2024 12:00:00 +0060", NULL, "bad numeric zone" },
	{ "err-zone", "1 Apr 2024 10:00:00 +9999", NULL, "bad numeric zone" },
	{ "err-zone-1-digit", "1 Jan 2024 12:00:00 +1", NULL, "bad numeric zone" },
	{ "err-zone-5-digits", "1 Jan 2024 12:00:00 +12345", NULL, "bad numeric zone" },
	{ "err-zone-garbage", "1 Jan 2024 12:00:00 +01x0", NULL, "bad numeric zone" },
	{ "zone-first-wins", "1 Jan 2024 12:00:00 +0100 +0200", "2024-01-01T11:00:00Z", NULL },
	{ "zone-name-then-number", "1 Jan 2024 12:00:00 PST +0200", "2024-01-01T20:00:00Z", NULL },
	{ "zone-number-then-name", "1 Jan 2024 12:00:00 +0200 PST", "2024-01-01T10:00:00Z", NULL },
	/* One word no rule knows is forgiven after the time (it reads as no
	 * zone when it stands where the zone would). */
	{ "zone-unknown-name", "1 Jan 2024 12:00:00 XYZ", "2024-01-01T12:00:00Z", NULL },
	{ "zone-sign-alone", "1 Jan 2024 12:00:00 +", "2024-01-01T12:00:00Z", NULL },
	{ "zone-gmt-bad-offset", "1 Jan 2024 12:00:00 GMT+2400", "2024-01-01T12:00:00Z", NULL },
	{ "zone-ut-offset-unknown", "1 Jan 2024 12:00:00 UT+0200", "2024-01-01T12:00:00Z", NULL },
	{ "err-zone-unknown-two", "1 Jan 2024 12:00:00 GMT+ XYZ", NULL, "unknown word" },

	/* Weekdays are not checked against the date; after the time a
	 * weekday's name is the forgiven unknown word. */
	{ "wday-wrong", "Tue, 1 Jan 2024 12:00:00 +0000", "2024-01-01T12:00:00Z", NULL },
	{ "wday-long", "Monday, 1 Jan 2024 12:00:00 +0000", "2024-01-01T12:00:00Z", NULL },
	{ "err-wday-unknown", "Xyz, 1 Jan 2024 12:00:00 +0000", NULL, "unknown word" },
	{ "wday-after-time", "1 Jan 2024 12:00:00 +0000 Mon", "2024-01-01T12:00:00Z", NULL },
	{ "err-wday-after-time-two", "1 Jan 2024 12:00:00 +0000 Mon Tue", NULL, "unknown word" },

	/* Comments. */
	{ "comment-unclosed", "1 Jan 2024 12:00:00 -0700 (PDT", "2024-01-01T19:00:00Z", NULL },
	{ "comment-nested", "1 Jan 2024 12:00:00 -0700 (a (b) c) foo", "2024-01-01T19:00:00Z", NULL },
	{ "comment-extra-paren", "1 Jan 2024 12:00:00 -0700 (PDT))", "2024-01-01T19:00:00Z", NULL },
	{ "comment-first", "(x) Mon, 1 Jan 2024 12:00:00 +0000", "2024-01-01T12:00:00Z", NULL },
	{ "comment-inside", "1 Jan(c)2024 12:00:00 +0000", "2024-01-01T12:00:00Z", NULL },
	{ "err-comment-hides-time", "1 Jan 2024 (12:00:00) +0000", NULL, "no time" },
	{ "comment-then-word", "1 Apr 2024 10:00:00 +0000 (comment) trailing", "2024-04-01T10:00:00Z", NULL },

	/* Trailing words. */
	{ "trailing-word", "1 Apr 2024 10:00:00 +0000 foo", "2024-04-01T10:00:00Z", NULL },
	{ "trailing-semicolon", "1 Apr 2024 10:00:00 +0000 ;", "2024-04-01T10:00:00Z", NULL },
	{ "trailing-month", "1 Apr 2024 10:00:00 +0000 Apr", "2024-04-01T10:00:00Z", NULL },
	{ "trailing-military", "1 Apr 2024 10:00:00 +0000 x y", "2024-04-01T10:00:00Z", NULL },
	{ "trailing-go-clock", "1 Apr 2024 10:00:00 +0000 m=+3", "2024-04-01T10:00:00Z", NULL },
	{ "err-trailing-words", "1 Apr 2024 10:00:00 +0000 from mx.example.com", NULL, "unknown word" },
	{ "err-trailing-number", "1 Apr 2024 10:00:00 +0000 12", NULL, "too many numbers" },
	{ "err-leading-word", "foo 1 Jan 2024 12:00:00", NULL, "unknown word" },

	/* Bugs fixed in the split (issue 21): these were accepted. */
	{ "err-dmy-empty-year", "1-Apr- 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-dmy-year-junk", "1-Apr-2024xyz 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-dmy-day-junk", "1a-Apr-2024 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-dmy-month-junk", "1-Apr.-2024 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-dmy-year-5-digits", "1-Apr-20240 10:00:00 +0000", NULL, "bad d-mon-y date" },
	{ "err-iso-day-junk", "2024-05-7x 10:00:00 +0000", NULL, "bad ISO date" },
	{ "err-iso-month-sign", "2024-+5-07 10:00:00 +0000", NULL, "bad ISO date" },
	{ "err-iso-after-time", "10:00:00 2024-05-01T11:00:00Z", NULL, "two times" },
	{ "err-iso-after-date", "1 Apr 2024 2024-05-01T11:00:00Z", NULL, "two dates" },
	{ "err-dmy-after-date", "1 Apr 2024 1-May-2024 10:00:00", NULL, "two dates" },
};

/* Every zone name the parser knows, with the offset it stands for. */
static const struct zone_row {
	const char *name, *off;
} zone_rows[] = {
	/* RFC 5322 4.3 */
	{ "UT", "+0000" }, { "GMT", "+0000" }, { "EST", "-0500" },
	{ "EDT", "-0400" }, { "CST", "-0600" }, { "CDT", "-0500" },
	{ "MST", "-0700" }, { "MDT", "-0600" }, { "PST", "-0800" },
	{ "PDT", "-0700" },
	/* seen in real Received fields */
	{ "UTC", "+0000" }, { "Z", "+0000" }, { "WET", "+0000" },
	{ "AKST", "-0900" }, { "AKDT", "-0800" }, { "HST", "-1000" },
	{ "AST", "-0400" }, { "ADT", "-0300" }, { "NST", "-0330" },
	{ "NDT", "-0230" }, { "BST", "+0100" }, { "IST", "+0100" },
	{ "WEST", "+0100" }, { "CET", "+0100" }, { "MET", "+0100" },
	{ "CEST", "+0200" }, { "MEST", "+0200" }, { "MESZ", "+0200" },
	{ "MEZ", "+0100" }, { "EET", "+0200" }, { "EEST", "+0300" },
	{ "MSK", "+0300" }, { "JST", "+0900" }, { "KST", "+0900" },
	{ "HKT", "+0800" }, { "SGT", "+0800" }, { "AWST", "+0800" },
	{ "ACST", "+0930" }, { "AEST", "+1000" }, { "AEDT", "+1100" },
	{ "NZST", "+1200" }, { "NZDT", "+1300" }, { "EIRE", "+0000" },
	/* names are matched without regard to case */
	{ "pdt", "-0700" }, { "Edt", "-0400" }, { "z", "+0000" },
};

static int64_t
row_epoch(const char *want)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(want, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		fail_msg("bad want %s", want);
	tm.tm_year -= 1900;
	tm.tm_mon--;
	return (int64_t)timegm(&tm);
}

/* 1 if in parses as the row says; else prints why and returns 0. */
static int
date_ok(const char *name, const char *in, size_t len, const char *want,
    const char *want_err)
{
	int64_t t = 0;
	char err[64], got[96], ts[32];
	int rc = hdr_date_parse(in, len, &t, err, sizeof(err));

	if (rc == 0)
		snprintf(got, sizeof(got), "%lld (%s)", (long long)t,
		    hdr_date_format(t, ts, sizeof(ts)));
	else
		snprintf(got, sizeof(got), "error \"%s\"", err);
	if (want != NULL && rc == 0 && err[0] == '\0' && t == row_epoch(want))
		return 1;
	if (want == NULL && rc == -1 && strcmp(err, want_err) == 0)
		return 1;
	if (want != NULL)
		print_error("row %s: got %s, want %lld (%s)\n", name, got,
		    (long long)row_epoch(want), want);
	else
		print_error("row %s: got %s, want error \"%s\"\n", name, got,
		    want_err);
	return 0;
}

static void
test_dates(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		const struct date_row *d = &dates[i];

		bad += !date_ok(d->name, d->in, strlen(d->in), d->want, d->err);
	}
	assert_int_equal(bad, 0);
}

/* Each name alone, and followed by a word no rule knows: a name that is
 * not a zone would be that forgiven word, and the second one would fail. */
static void
test_date_zones(void **state)
{
	char in[64], name[32], want[32];
	size_t i, f;
	int bad = 0, c;

	(void)state;
	for (i = 0; i < sizeof(zone_rows) / sizeof(zone_rows[0]); i++) {
		const struct zone_row *z = &zone_rows[i];
		int sign = z->off[0] == '-' ? -1 : 1;
		int mins = ((z->off[1] - '0') * 10 + (z->off[2] - '0')) * 60 +
		    (z->off[3] - '0') * 10 + (z->off[4] - '0');
		struct tm tm;
		time_t t = 1704110400 - sign * mins * 60;	/* 12:00 UTC */

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		for (f = 0; f < 2; f++) {
			snprintf(in, sizeof(in), "1 Jan 2024 12:00:00 %s%s",
			    z->name, f ? " foo" : "");
			snprintf(name, sizeof(name), "zone %s/%zu", z->name, f);
			bad += !date_ok(name, in, strlen(in), want, NULL);
		}
	}
	/* Military zones (RFC 5322 4.3): any letter but J, as -0000. */
	for (c = 'A'; c <= 'z'; c++) {
		if (c > 'Z' && c < 'a')
			continue;
		snprintf(in, sizeof(in), "1 Jan 2024 12:00:00 %c foo", c);
		snprintf(name, sizeof(name), "military %c", c);
		if (c == 'J' || c == 'j')
			bad += !date_ok(name, in, strlen(in), NULL,
			    "unknown word");
		else
			bad += !date_ok(name, in, strlen(in),
			    "2024-01-01T12:00:00Z", NULL);
	}
	assert_int_equal(bad, 0);
}

/* The value is counted, not terminated, and only its first HDR_DATE_MAX
 * bytes are read; err may be absent. */
static void
test_date_limits(void **state)
{
	static const char d[] = "1 Apr 2024 10:00:00 +0000";
	char buf[HDR_DATE_MAX + 64];
	int64_t t;
	char err[8] = "x";
	int bad = 0;

	(void)state;
	bad += !date_ok("counted", "1 Apr 2024 10:00:00 +0000 foo bar", 25,
	    "2024-04-01T10:00:00Z", NULL);
	bad += !date_ok("counted-cut", d, 14, NULL, "bad time");
	/* the time starts at byte HDR_DATE_MAX: not read */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf + HDR_DATE_MAX - 11, d, strlen(d));
	bad += !date_ok("past-max", buf, sizeof(buf), NULL, "no time");
	/* junk past HDR_DATE_MAX is not read either */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, d, strlen(d));
	memcpy(buf + HDR_DATE_MAX, "foo bar", 7);
	bad += !date_ok("junk-past-max", buf, sizeof(buf),
	    "2024-04-01T10:00:00Z", NULL);
	assert_int_equal(bad, 0);
	/* a short err buffer is cut, and cleared on success */
	assert_int_equal(hdr_date_parse("Apr", 3, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "no time");
	assert_int_equal(hdr_date_parse("1 2 3 4", 7, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "too man");
	assert_int_equal(hdr_date_parse(d, strlen(d), &t, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(hdr_date_parse(d, strlen(d), &t, NULL, 0), 0);
	assert_int_equal(hdr_date_parse("x", 1, &t, NULL, 0), -1);
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
		cmocka_unit_test(test_date_zones),
		cmocka_unit_test(test_date_limits),
		cmocka_unit_test(test_unfold_2047),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
