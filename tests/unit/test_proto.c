/* SPDX-License-Identifier: ISC */
/* test_proto - the policy protocol codec: proto_parse() and
 * proto_format_reply(), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shared/mem.h"
#include "policyd/proto.h"

struct parse_row {
	const char *name;
	const char *in;			/* request bytes (NUL via in_len) */
	size_t	in_len;			/* 0: strlen(in) */
	/* wanted: NULL err means success and these field values */
	const char *err;		/* substring of the error */
	const char *request, *client_address, *sender, *helo_name,
		*instance, *recipient;
};

static const struct parse_row parse_rows[] = {
	{"full request",
	 "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n"
	 "sender=a@example.com\nhelo_name=mx.example.net\ninstance=1.2.3.4\n"
	 "recipient=b@example.org\n", 0,
	 NULL, "smtpd_access_policy", "192.0.2.1", "a@example.com", "mx.example.net",
	 "1.2.3.4", "b@example.org"},
	{"no final newline", "request=smtpd_access_policy\nclient_address=::1", 0,
	 NULL, "smtpd_access_policy", "::1", "", "", "", ""},
	{"absent fields are empty", "client_address=192.0.2.9\n", 0,
	 NULL, "", "192.0.2.9", "", "", "", ""},
	{"empty request", "", 0, NULL, "", "", "", "", "", ""},
	{"last value wins", "sender=first@x\nsender=second@x\nsender=third@x\n", 0,
	 NULL, "", "", "third@x", "", "", ""},
	{"unknown attributes ignored",
	 "ccert_subject=x+20y\nfuture_thing=1\nsender=s@x\nx=\n", 0,
	 NULL, "", "", "s@x", "", "", ""},
	{"value may hold =", "sender=a=b=c@x\n", 0, NULL, "", "", "a=b=c@x", "", "", ""},
	{"empty value", "sender=\nhelo_name=\n", 0, NULL, "", "", "", "", "", ""},
	{"CR stripped", "sender=s@x\r\nhelo_name=h\r\n", 0, NULL, "", "", "s@x", "h", "", ""},
	{"name is case sensitive", "Sender=s@x\n", 0, NULL, "", "", "", "", "", ""},
	{"prefix of a name is not the name", "send=x\nsenderx=y\n", 0,
	 NULL, "", "", "", "", "", ""},
	{"spaces kept in value", "helo_name= h \n", 0, NULL, "", "", "", " h ", "", ""},
	/* errors */
	{"NUL byte", "sender=a\0b\n", 11, "NUL byte", NULL, NULL, NULL, NULL, NULL, NULL},
	{"NUL at start", "\0", 1, "NUL byte", NULL, NULL, NULL, NULL, NULL, NULL},
	{"line without =", "request=smtpd_access_policy\nno equals\n", 0, "line 2 has no '='", NULL, NULL, NULL, NULL, NULL, NULL},
	{"only a name", "sender\n", 0, "line 1 has no '='", NULL, NULL, NULL, NULL, NULL, NULL},
	{"empty name", "=value\n", 0, "line 1 has an empty name", NULL, NULL, NULL, NULL, NULL, NULL},
	{"empty line inside", "a=b\n\nc=d\n", 0, "empty line 2 inside request", NULL, NULL, NULL, NULL, NULL, NULL},
	{"CR-only line inside", "a=b\n\r\nc=d\n", 0, "empty line 2 inside request", NULL, NULL, NULL, NULL, NULL, NULL},
	{"garbage bytes", "\xff\xfe\x01\x02\n", 0, "has no '='", NULL, NULL, NULL, NULL, NULL, NULL},
	{"trailing empty line", "a=b\n\n", 0, "empty line 2 inside request", NULL, NULL, NULL, NULL, NULL, NULL},
	{"leading newline", "\na=b\n", 0, "empty line 1 inside request", NULL, NULL, NULL, NULL, NULL, NULL},
};

static void
test_parse(void **state)
{
	char	err[128];
	size_t	i;
	int	failed = 0;

	(void)state;
	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		size_t	len = r->in_len ? r->in_len : strlen(r->in);
		struct policy_req *req;

		err[0] = '\0';
		req = proto_parse(r->in, len, err, sizeof(err));
		if (r->err != NULL) {
			if (req != NULL || strstr(err, r->err) == NULL) {
				print_error("row %s: got %s \"%s\", want error \"%s\"\n",
				    r->name, req ? "success" : "error", err, r->err);
				failed++;
			}
			proto_req_free(req);
			continue;
		}
		if (req == NULL) {
			print_error("row %s: got error \"%s\", want success\n",
			    r->name, err);
			failed++;
			continue;
		}
#define FIELD(f) \
		if (strcmp(req->f, r->f) != 0) { \
			print_error("row %s: " #f " got \"%s\", want \"%s\"\n", \
			    r->name, req->f, r->f); \
			failed++; \
		}
		FIELD(request) FIELD(client_address) FIELD(sender)
		FIELD(helo_name) FIELD(instance) FIELD(recipient)
#undef FIELD
		/* Every field is a string, never NULL. */
		if (req->stress == NULL || req->policy_context == NULL ||
		    req->sasl_username == NULL || req->server_port == NULL) {
			print_error("row %s: a field is NULL\n", r->name);
			failed++;
		}
		proto_req_free(req);
	}
	assert_int_equal(failed, 0);
}

/* Limits: built at run time because of their size. */
static void
test_limits(void **state)
{
	char	err[128], *buf;
	size_t	n, i;
	struct policy_req *req;
	int	failed = 0;

	(void)state;
	buf = xmalloc(PROTO_REQ_MAX * 2);

	/* A line of exactly PROTO_LINE_MAX bytes is fine, one more is not. */
	n = (size_t)snprintf(buf, 16, "sender=");
	memset(buf + n, 's', PROTO_LINE_MAX - n);
	buf[PROTO_LINE_MAX] = '\n';
	req = proto_parse(buf, PROTO_LINE_MAX + 1, err, sizeof(err));
	if (req == NULL || strlen(req->sender) != PROTO_LINE_MAX - n) {
		print_error("row line at limit: got %s, want success\n",
		    req ? "short value" : err);
		failed++;
	}
	proto_req_free(req);
	memset(buf + n, 's', PROTO_LINE_MAX + 1 - n);
	buf[PROTO_LINE_MAX + 1] = '\n';
	req = proto_parse(buf, PROTO_LINE_MAX + 2, err, sizeof(err));
	if (req != NULL || strstr(err, "over 8192") == NULL) {
		print_error("row line over limit: got %s, want error\n",
		    req ? "success" : err);
		failed++;
	}
	proto_req_free(req);

	/* PROTO_ATTRS_MAX lines are fine, one more is not. */
	for (i = 0; i < PROTO_ATTRS_MAX; i++)
		memcpy(buf + i * 4, "a=b\n", 4);
	req = proto_parse(buf, PROTO_ATTRS_MAX * 4, err, sizeof(err));
	if (req == NULL) {
		print_error("row attrs at limit: got \"%s\", want success\n", err);
		failed++;
	}
	proto_req_free(req);
	memcpy(buf + PROTO_ATTRS_MAX * 4, "a=b\n", 4);
	req = proto_parse(buf, PROTO_ATTRS_MAX * 4 + 4, err, sizeof(err));
	if (req != NULL || strstr(err, "more than 1024 attributes") == NULL) {
		print_error("row attrs over limit: got %s, want error\n",
		    req ? "success" : err);
		failed++;
	}
	proto_req_free(req);

	/* A request over PROTO_REQ_MAX bytes. */
	memset(buf, 'x', PROTO_REQ_MAX + 1);
	req = proto_parse(buf, PROTO_REQ_MAX + 1, err, sizeof(err));
	if (req != NULL || strstr(err, "request over 65536") == NULL) {
		print_error("row request over limit: got %s, want error\n",
		    req ? "success" : err);
		failed++;
	}
	proto_req_free(req);
	free(buf);
	proto_req_free(NULL);
	assert_int_equal(failed, 0);
}

struct reply_row {
	const char *name;
	const char *action;
	size_t	outlen;
	int	want_len;		/* -1: error */
	const char *want;
};

static void
test_format_reply(void **state)
{
	static char big[PROTO_ACTION_MAX + 2], max[PROTO_ACTION_MAX + 1];
	static char wantmax[PROTO_ACTION_MAX + 16];
	const struct reply_row rows[] = {
		{"dunno", "DUNNO", 64, 14, "action=DUNNO\n\n"},
		{"reject text", "550 5.7.23 SPF fail", 64, 28,
		 "action=550 5.7.23 SPF fail\n\n"},
		{"prepend", "PREPEND X: y", 64, 21, "action=PREPEND X: y\n\n"},
		{"exact fit", "DUNNO", 15, 14, "action=DUNNO\n\n"},
		{"action at limit", max, sizeof(wantmax), PROTO_ACTION_MAX + 9, wantmax},
		{"empty action", "", 64, -1, NULL},
		{"newline in action", "DUNNO\nx=y", 64, -1, NULL},
		{"CR in action", "DUNNO\r", 64, -1, NULL},
		{"action over limit", big, sizeof(wantmax) + 8, -1, NULL},
		{"buffer too small", "DUNNO", 14, -1, NULL},
	};
	char	out[PROTO_ACTION_MAX + 64];
	size_t	i;
	int	n, failed = 0;

	(void)state;
	memset(big, 'a', PROTO_ACTION_MAX + 1);
	memset(max, 'm', PROTO_ACTION_MAX);
	snprintf(wantmax, sizeof(wantmax), "action=%s\n\n", max);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct reply_row *r = &rows[i];

		memset(out, 0, sizeof(out));
		n = proto_format_reply(r->action, out, r->outlen);
		if (n != r->want_len || (r->want && strcmp(out, r->want) != 0)) {
			print_error("row %s: got %d \"%.40s\", want %d \"%.40s\"\n",
			    r->name, n, out, r->want_len, r->want ? r->want : "");
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* One mapping of answers to the words of the log and the metrics
 * (issue 20: the two copies disagreed on a bare 4NN). */
static void
test_action_verdict(void **state)
{
	static const struct {
		const char *name, *action, *want;
	} rows[] = {
		{"prepend", "PREPEND Authentication-Results: x", "prepend"},
		{"dunno", "DUNNO", "dunno"},
		{"ok", "OK", "dunno"},
		{"5xx text", "550 5.7.23 SPF fail", "reject"},
		{"bare 5xx", "550", "reject"},
		{"4xx text", "450 4.7.25 no", "defer"},
		{"bare 4xx", "450", "defer"},
		{"defer_if_permit", "DEFER_IF_PERMIT 4.7.24 x", "defer"},
		{"bare defer_if_permit", "DEFER_IF_PERMIT", "defer"},
		{"defer", "DEFER later", "defer"},
		{"defer_if_reject", "defer_if_reject x", "defer"},
		{"reject word", "REJECT go away", "reject"},
		/* error rows: look alike, are not */
		{"four digits", "4500 x", "dunno"},
		{"two digits", "45 x", "dunno"},
		{"3xx", "350 x", "dunno"},
		{"code glued to text", "450x", "dunno"},
		{"prepend prefix", "PREPENDX", "dunno"},
		{"defer prefix", "DEFERRED", "dunno"},
		{"reject prefix", "REJECTED", "dunno"},
		{"empty", "", "dunno"},
	};
	size_t	i;
	int	failed = 0;
	const char *got;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		got = proto_verdict_str(proto_action_verdict(rows[i].action));
		if (strcmp(got, rows[i].want) != 0) {
			print_error("row %s: got %s, want %s\n", rows[i].name,
			    got, rows[i].want);
			failed++;
		}
	}
	assert_string_equal(proto_verdict_str((enum proto_verdict)99), "dunno");
	assert_int_equal(failed, 0);
}

/* Every attribute lands in its own field, in either order, and a name
 * of the same length as one of ours (same first letter or not) is
 * ignored: the by-length lookup must find exactly the names. */
static void
test_every_attribute(void **state)
{
	static const struct {
		const char *name;
		size_t	off;
	} all[] = {
#define A(n)	{ #n, offsetof(struct policy_req, n) }
		A(request), A(protocol_state), A(protocol_name), A(helo_name),
		A(queue_id), A(sender), A(recipient), A(recipient_count),
		A(client_address), A(client_name), A(reverse_client_name),
		A(client_port), A(instance), A(sasl_method), A(sasl_username),
		A(sasl_sender), A(encryption_protocol), A(policy_context),
		A(server_address), A(server_port), A(stress),
#undef A
	};
	const size_t n = sizeof(all) / sizeof(all[0]);
	char	buf[4096], err[128], want[64];
	size_t	len, i, k;
	int	failed = 0, pass;
	struct policy_req *req;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		len = 0;
		for (k = 0; k < n; k++) {
			i = pass ? n - 1 - k : k;
			/* a decoy of the same length before each name */
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			    "%.*sX=decoy\nX%s=decoy\n%s=v-%s\n",
			    (int)strlen(all[i].name) - 1, all[i].name,
			    all[i].name + 1, all[i].name, all[i].name);
		}
		req = proto_parse(buf, len, err, sizeof(err));
		if (req == NULL) {
			print_error("pass %d: %s\n", pass, err);
			failed++;
			continue;
		}
		for (i = 0; i < n; i++) {
			const char *got = *(char **)((char *)req + all[i].off);

			snprintf(want, sizeof(want), "v-%s", all[i].name);
			if (strcmp(got, want) != 0) {
				print_error("pass %d: %s got \"%s\"\n", pass,
				    all[i].name, got);
				failed++;
			}
		}
		proto_req_free(req);
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_format_reply),
		cmocka_unit_test(test_action_verdict),
		cmocka_unit_test(test_every_attribute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
