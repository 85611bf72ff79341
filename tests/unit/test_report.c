/* SPDX-License-Identifier: ISC */
/* test_report - the JSON writer of report: string escaping (control
 * characters, quotes, UTF-8 kept or replaced), and the same report built
 * three ways (report_message to a FILE, report_message_buf into a growing
 * buffer, and into a FILE through a buffer small enough to be flushed in
 * the middle of every message) must be the same bytes, a JSON object per
 * line for every kind of chain. Table-driven; as many rows with bytes to
 * escape or replace as plain rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/chain.h"
#include "verifier/report.h"

struct str_row {
	const char *name;
	const char *in;
	size_t	len;		/* 0: strlen(in) */
	const char *want;
};

static const struct str_row str_rows[] = {
	/* kept as they are */
	{ "empty", "", 0, "\"\"" },
	{ "ascii", "mx.example.net", 0, "\"mx.example.net\"" },
	{ "printable", "a b~c!#$%&'()*+,-./:;<=>?@[]^_`{|}", 0,
	    "\"a b~c!#$%&'()*+,-./:;<=>?@[]^_`{|}\"" },
	{ "del-kept", "a\x7f" "b", 0, "\"a\x7f" "b\"" },
	{ "utf8-2", "caf\xc3\xa9", 0, "\"caf\xc3\xa9\"" },
	{ "utf8-3", "\xe2\x82\xac 5", 0, "\"\xe2\x82\xac 5\"" },
	{ "utf8-4", "\xf0\x9f\x93\xa7", 0, "\"\xf0\x9f\x93\xa7\"" },
	{ "long-run", "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
	    "klmnopqrstuvwxyz", 0, "\"0123456789abcdefghijklmnopqrstuvwxyz"
	    "0123456789abcdefghijklmnopqrstuvwxyz\"" },
	/* escaped or replaced */
	{ "quote", "say \"hi\"", 0, "\"say \\\"hi\\\"\"" },
	{ "backslash", "a\\b", 0, "\"a\\\\b\"" },
	{ "crlf-tab", "a\r\n\tb", 0, "\"a\\r\\n\\tb\"" },
	{ "control", "\x01x\x1f", 0, "\"\\u0001x\\u001f\"" },
	{ "nul", "a\0b", 3, "\"a\\u0000b\"" },
	{ "latin1", "caf\xe9", 0, "\"caf\\ufffd\"" },
	{ "overlong", "\xc0\xaf", 0, "\"\\ufffd\\ufffd\"" },
	{ "cut-utf8", "ab\xe2\x82", 0, "\"ab\\ufffd\\ufffd\"" },
};

static void
test_json_str(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(str_rows) / sizeof(str_rows[0]); i++) {
		const struct str_row *r = &str_rows[i];
		struct report_buf b = { NULL, 0, 0, NULL };

		report_json_str(&b, r->in, r->len ? r->len : strlen(r->in));
		if (b.len != strlen(r->want) ||
		    memcmp(b.p, r->want, b.len) != 0) {
			print_error("row %s: got %.*s, want %s\n", r->name,
			    (int)b.len, b.p, r->want);
			bad++;
		}
		report_buf_free(&b);
	}
	assert_int_equal(bad, 0);
}

struct msg_row {
	const char *name;
	const char *msg;
	int	json;
	int	nlines;		/* lines of output (JSON: 1) */
};

#define RCV(ip, t) \
	"Received: from s.example.com (s.example.com [" ip "])\n" \
	"\tby mx.example.net (Postfix) with ESMTPS id Q1\n" \
	"\tfor <u@example.org>; Mon, 01 Apr 2024 " t " +0000\n"

static const struct msg_row msg_rows[] = {
	{ "json-plain", RCV("93.184.216.34", "10:00:05")
	    "From: a@example.com\nSubject: s\n"
	    "Date: Mon, 01 Apr 2024 10:00:00 +0000\n"
	    "Message-ID: <1@example.com>\n\nbody\n", 1, 1 },
	{ "json-hostile", RCV("10.0.0.1", "09:00:05")
	    "Received: garbage \"quoted\" \\ \x01\xff\n"
	    "From: \"Eve \\\"x\\\"\" <e@example.com>\n"
	    "Subject: caf\xe9 \xe2\x82\xac\n\nbody\n", 1, 1 },
	{ "json-empty", "", 1, 1 },
	{ "text-plain", RCV("93.184.216.34", "10:00:05")
	    "From: a@example.com\n\nbody\n", 0, 0 },
	{ "text-hostile", "Received: from \x01\xff (x [1.2.3.4])\n"
	    "\tby y; Mon, 01 Apr 2024 10:00:05 +0000\nFrom: x\n\n", 0, 0 },
	{ "text-empty", "", 0, 0 },
};

/* The report of c as report_message writes it to a FILE. */
static char *
via_file(const struct report_opts *ro, const struct chain *c, size_t *len)
{
	struct report_opts o = *ro;
	char *p = NULL;

	o.out = open_memstream(&p, len);
	assert_non_null(o.out);
	report_message(&o, "box", 7, c);
	fclose(o.out);
	return p;
}

/* The same through a FILE buffer of 37 bytes: flushed inside fields. */
static char *
via_small(const struct report_opts *ro, const struct chain *c, size_t *len)
{
	char small[37], *p = NULL;
	struct report_buf b = { small, 0, sizeof(small), NULL };

	b.out = open_memstream(&p, len);
	assert_non_null(b.out);
	report_message_buf(ro, &b, "box", 7, c);
	fwrite(b.p, 1, b.len, b.out);
	fclose(b.out);
	return p;
}

static void
test_same_bytes(void **state)
{
	static struct chain c;
	struct chain_cfg cfg;
	struct hdr h;
	size_t i, k;
	int bad = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&h, 0, sizeof(h));
	for (i = 0; i < sizeof(msg_rows) / sizeof(msg_rows[0]); i++) {
		const struct msg_row *r = &msg_rows[i];
		struct report_opts ro = { NULL, r->json, 0, 0 };
		struct report_buf grow = { NULL, 0, 0, NULL };
		char *a, *s, first[64];
		size_t alen, slen;
		int lines = 0;

		hdr_parse(&h, r->msg, strlen(r->msg));
		chain_build(&c, &cfg, &h, 0, (int64_t)1711972800);
		chain_finish(&c);
		a = via_file(&ro, &c, &alen);
		s = via_small(&ro, &c, &slen);
		report_message_buf(&ro, &grow, "box", 7, &c);
		if (grow.len != alen || memcmp(grow.p, a, alen) != 0) {
			print_error("row %s: growing buffer: got %zu bytes, "
			    "want %zu\n", r->name, grow.len, alen);
			bad++;
		}
		if (slen != alen || memcmp(s, a, alen) != 0) {
			print_error("row %s: small buffer: got %zu bytes, "
			    "want %zu\n", r->name, slen, alen);
			bad++;
		}
		for (k = 0; k < alen; k++)
			lines += a[k] == '\n';
		if (r->json && (lines != 1 || alen < 2 || a[0] != '{' ||
		    strncmp(a + alen - 2, "}\n", 2) != 0 ||
		    strstr(a, "\"source\":\"box\",\"index\":7,") == NULL)) {
			print_error("row %s: got %.*s, want one JSON object "
			    "line\n", r->name, (int)alen, a);
			bad++;
		}
		snprintf(first, sizeof(first), "box:7  %s: sent by ",
		    chain_verdict_str(c.verdict));
		if (!r->json && strncmp(a, first, strlen(first)) != 0) {
			print_error("row %s: got %.60s, want %s\n", r->name,
			    a, first);
			bad++;
		}
		free(a);
		free(s);
		report_buf_free(&grow);
	}
	chain_free(&c);
	hdr_free(&h);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_same_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
