/* SPDX-License-Identifier: ISC */
/* test_netaddr - parsing, formatting, reverse names, classes, CIDR lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "shared/netaddr.h"

/* parse + format: want NULL means the text must be refused. */
static const struct prow {
	const char *in, *want, *ptr;
} prows[] = {
	{ "192.0.2.1", "192.0.2.1", "1.2.0.192.in-addr.arpa" },
	{ "0.0.0.0", "0.0.0.0", "0.0.0.0.in-addr.arpa" },
	{ "255.255.255.255", "255.255.255.255", "255.255.255.255.in-addr.arpa" },
	{ "::ffff:192.0.2.5", "192.0.2.5", "5.2.0.192.in-addr.arpa" },
	{ "IPv6:::FFFF:10.0.0.1", "10.0.0.1", "1.0.0.10.in-addr.arpa" },
	{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1",
	  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" },
	{ "ipv6:2001:db8::1", "2001:db8::1", NULL },
	{ "2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1", NULL },
	{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1", NULL },
	{ "::", "::", NULL },
	{ "::1", "::1", NULL },
	{ "fe80::1:2", "fe80::1:2", NULL },
	/* errors */
	{ "", NULL, NULL },
	{ "192.0.2", NULL, NULL },
	{ "192.0.2.256", NULL, NULL },
	{ "192.0.2.1 ", NULL, NULL },
	{ " 192.0.2.1", NULL, NULL },
	{ "0x7f.0.0.1", NULL, NULL },
	{ "1.2.3.4.5", NULL, NULL },
	{ "2001:db8::1::2", NULL, NULL },
	{ "fe80::1%eth0", NULL, NULL },
	{ "IPv6:192.0.2.1", NULL, NULL },
	{ "[2001:db8::1]", NULL, NULL },
	{ "example.com", NULL, NULL },
	{ "2001:db8:::1", NULL, NULL },
	{ "12345::", NULL, NULL },
};

static void
test_parse_format(void **state)
{
	char	buf[NETADDR_STR_MAX], ptr[NETADDR_PTR_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(prows) / sizeof(prows[0]); i++) {
		struct netaddr a;
		int	r = netaddr_parse(prows[i].in, &a);

		if (prows[i].want == NULL) {
			if (r != -1)
				fail_msg("row %zu \"%s\": got 0, want -1", i, prows[i].in);
			continue;
		}
		if (r != 0)
			fail_msg("row %zu \"%s\": got -1, want 0", i, prows[i].in);
		netaddr_format(&a, buf, sizeof(buf));
		if (strcmp(buf, prows[i].want) != 0)
			fail_msg("row %zu: got %s, want %s", i, buf, prows[i].want);
		if (prows[i].ptr != NULL) {
			if (netaddr_ptr_name(&a, ptr, sizeof(ptr)) != 0 ||
			    strcmp(ptr, prows[i].ptr) != 0)
				fail_msg("row %zu: got ptr %s, want %s", i, ptr,
				    prows[i].ptr);
		}
	}
}

static void
test_ptr_small_buffer(void **state)
{
	struct netaddr a;
	char	buf[20];

	(void)state;
	assert_int_equal(netaddr_parse("2001:db8::1", &a), 0);
	assert_int_equal(netaddr_ptr_name(&a, buf, sizeof(buf)), -1);
	assert_int_equal(netaddr_parse("192.0.2.123", &a), 0);
	assert_int_equal(netaddr_ptr_name(&a, buf, 10), -1);
	assert_int_equal(netaddr_ptr_name(&a, buf, sizeof(buf)), -1);	/* 23 bytes */
}

static const struct crow {
	const char *in;
	const char *want;
} crows[] = {
	{ "127.0.0.1", "loopback" }, { "127.255.0.9", "loopback" },
	{ "::1", "loopback" }, { "10.1.2.3", "private" },
	{ "172.16.0.1", "private" }, { "172.31.255.255", "private" },
	{ "172.32.0.1", "public" }, { "172.15.255.255", "public" },
	{ "192.168.1.1", "private" }, { "100.64.0.1", "cgnat" },
	{ "100.127.255.255", "cgnat" }, { "100.128.0.1", "public" },
	{ "169.254.1.1", "linklocal" }, { "fe80::1", "linklocal" },
	{ "febf::1", "linklocal" }, { "fec0::1", "public" },
	{ "fc00::1", "ula" }, { "fdff::1", "ula" },
	{ "0.1.2.3", "unspecified" }, { "::", "unspecified" },
	{ "192.0.2.1", "reserved" }, { "198.51.100.1", "reserved" },
	{ "203.0.113.1", "reserved" }, { "198.18.0.1", "reserved" },
	{ "198.19.255.1", "reserved" }, { "198.20.0.1", "public" },
	{ "224.0.0.1", "reserved" }, { "240.0.0.1", "reserved" },
	{ "255.255.255.255", "reserved" }, { "2001:db8::1", "reserved" },
	{ "ff02::1", "reserved" }, { "100::1", "reserved" },
	{ "100:0:0:1::1", "public" }, { "8.8.8.8", "public" },
	{ "2a00:1450::1", "public" }, { "::ffff:10.0.0.1", "private" },
};

static void
test_classify(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(crows) / sizeof(crows[0]); i++) {
		struct netaddr a;
		const char *got;

		if (netaddr_parse(crows[i].in, &a) != 0)
			fail_msg("row %zu %s: does not parse", i, crows[i].in);
		got = netaddr_class_str(netaddr_classify(&a));
		if (strcmp(got, crows[i].want) != 0)
			fail_msg("row %zu %s: got %s, want %s", i, crows[i].in, got,
			    crows[i].want);
	}
}

/* CIDR parse: want NULL = error whose text contains err. */
static const struct cidrrow {
	const char *in, *want;		/* want: "ADDR/LEN" */
	const char *err;
} cidrrows[] = {
	{ "192.0.2.0/24", "192.0.2.0/24", NULL },
	{ "192.0.2.77/24", "192.0.2.0/24", NULL },
	{ "192.0.2.77", "192.0.2.77/32", NULL },
	{ "0.0.0.0/0", "0.0.0.0/0", NULL },
	{ "10.255.255.255/9", "10.128.0.0/9", NULL },
	{ "2001:db8::1/32", "2001:db8::/32", NULL },
	{ "[2001:db8::]/48", "2001:db8::/48", NULL },
	{ "[2001:db8::5]", "2001:db8::5/128", NULL },
	{ "::/0", "::/0", NULL },
	{ "::ffff:192.0.2.0/120", "192.0.2.0/24", NULL },
	{ "2001:db8::ff/127", "2001:db8::fe/127", NULL },
	/* errors */
	{ "", NULL, "empty" },
	{ "192.0.2.0/", NULL, "prefix length" },
	{ "192.0.2.0/33", NULL, "prefix length 33" },
	{ "192.0.2.0/032", NULL, "prefix length" },
	{ "192.0.2.0/-1", NULL, "prefix length" },
	{ "192.0.2.0/+8", NULL, "prefix length" },
	{ "192.0.2.0/8x", NULL, "prefix length" },
	{ "192.0.2.0/ 8", NULL, "prefix length" },
	{ "192.0.2.0/1000", NULL, "prefix length" },
	{ "2001:db8::/129", NULL, "prefix length 129" },
	{ "192.0.2/24", NULL, "bad address" },
	{ "[192.0.2.0]/24", NULL, "bad address" },
	{ "example.com/24", NULL, "bad address" },
	{ "/24", NULL, "bad address" },
	{ "::ffff:0.0.0.0/95", NULL, "mapped" },
	{ "192.0.2.0/24/8", NULL, "prefix length" },
};

static void
test_cidr_parse(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cidrrows) / sizeof(cidrrows[0]); i++) {
		struct netaddr_cidr c;
		char	err[128] = "", buf[NETADDR_STR_MAX], got[NETADDR_STR_MAX + 8];
		int	r = netaddr_cidr_parse(cidrrows[i].in, &c, err, sizeof(err));

		if (cidrrows[i].want == NULL) {
			if (r != -1)
				fail_msg("row %zu \"%s\": got 0, want error", i,
				    cidrrows[i].in);
			if (strstr(err, cidrrows[i].err) == NULL)
				fail_msg("row %zu \"%s\": got error \"%s\", want \"%s\"",
				    i, cidrrows[i].in, err, cidrrows[i].err);
			continue;
		}
		if (r != 0)
			fail_msg("row %zu \"%s\": got error %s", i, cidrrows[i].in, err);
		snprintf(got, sizeof(got), "%s/%d",
		    netaddr_format(&c.addr, buf, sizeof(buf)), c.prefix);
		if (strcmp(got, cidrrows[i].want) != 0)
			fail_msg("row %zu: got %s, want %s", i, got, cidrrows[i].want);
	}
}

static const struct mrow {
	const char *addr;
	int	want;
} mrows[] = {
	{ "192.0.2.1", 1 }, { "192.0.2.255", 1 }, { "192.0.3.1", 0 },
	{ "10.1.2.3", 1 }, { "11.0.0.1", 0 }, { "::ffff:10.9.9.9", 1 },
	{ "2001:db8:1::1", 1 }, { "2001:db9::1", 0 }, { "127.0.0.1", 1 },
	{ "127.0.0.2", 0 }, { "::1", 0 }, { "198.51.100.7", 0 },
};

static void
test_list(void **state)
{
	static const char *const nets[] = { "192.0.2.0/24", "10.0.0.0/8",
	    "2001:db8::/32", "127.0.0.1" };
	struct netaddr_list *l = netaddr_list_new();
	char	err[128];
	size_t	i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(netaddr_list_add(l, nets[i], err, sizeof(err)), 0);
	assert_int_equal(netaddr_list_add(l, "10.0.0.0/40", err, sizeof(err)), -1);
	assert_int_equal(netaddr_list_count(l), 4);
	for (i = 0; i < sizeof(mrows) / sizeof(mrows[0]); i++) {
		struct netaddr a;
		int	got;

		assert_int_equal(netaddr_parse(mrows[i].addr, &a), 0);
		got = netaddr_list_match(l, &a);
		if (got != mrows[i].want)
			fail_msg("row %zu %s: got %d, want %d", i, mrows[i].addr, got,
			    mrows[i].want);
	}
	netaddr_list_free(l);
	netaddr_list_free(NULL);

	l = netaddr_list_new();
	for (i = 0; i < NETADDR_CIDR_LIST_MAX; i++)
		assert_int_equal(netaddr_list_add(l, "192.0.2.1", err, sizeof(err)), 0);
	assert_int_equal(netaddr_list_add(l, "192.0.2.1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	netaddr_list_free(l);
}

static void
test_equal(void **state)
{
	struct netaddr a, b;

	(void)state;
	assert_int_equal(netaddr_parse("::ffff:192.0.2.1", &a), 0);
	assert_int_equal(netaddr_parse("192.0.2.1", &b), 0);
	assert_true(netaddr_equal(&a, &b));
	assert_int_equal(netaddr_parse("::c000:201", &b), 0);	/* compat, not mapped */
	assert_false(netaddr_equal(&a, &b));
}

static void
test_listen_spec(void **state)
{
	static const struct {
		const char *spec;
		int	ok, family;
	} rows[] = {
		{"127.0.0.1:10045", 1, AF_INET},
		{"[::1]:10045", 1, AF_INET6},
		{"*:10045", 1, 0},
		{":10045", 1, 0},
		{"127.0.0.1", 0, 0},
		{"127.0.0.1:", 0, 0},
		{"[::1:10045", 0, 0},
		{"[::1]10045", 0, 0},
		{"127.0.0.1:port", 0, 0},
		{"127.0.0.1:123456789", 0, 0},
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct addrinfo *res = NULL;
		char	err[128];
		int	got = netaddr_listen_spec(rows[i].spec, &res, err,
		    sizeof(err)) == 0;

		if (got != rows[i].ok)
			fail_msg("row %s: got %s, want %s (%s)", rows[i].spec,
			    got ? "ok" : "error", rows[i].ok ? "ok" : "error",
			    got ? "" : err);
		if (got && rows[i].family && res->ai_family != rows[i].family)
			fail_msg("row %s: family %d, want %d", rows[i].spec,
			    res->ai_family, rows[i].family);
		if (res)
			freeaddrinfo(res);
	}
}

/* IPv4 is formatted by hand: it must print what inet_ntop() prints, for
 * every byte value in every position, and refuse a buffer too small. */
static void
test_format4_like_inet_ntop(void **state)
{
	char	got[NETADDR_STR_MAX], want[INET_ADDRSTRLEN];
	struct netaddr a;
	int	pos, v;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	for (pos = 0; pos < 4; pos++) {
		for (v = 0; v < 256; v++) {
			a.a[0] = 7, a.a[1] = 80, a.a[2] = 200, a.a[3] = 3;
			a.a[pos] = (unsigned char)v;
			netaddr_format(&a, got, sizeof(got));
			assert_non_null(inet_ntop(AF_INET, a.a, want,
			    sizeof(want)));
			if (strcmp(got, want) != 0)
				fail_msg("byte %d = %d: got %s, want %s", pos, v,
				    got, want);
		}
	}
	a.a[0] = 255, a.a[1] = 255, a.a[2] = 255, a.a[3] = 255;
	netaddr_format(&a, got, sizeof("255.255.255.255"));
	assert_string_equal(got, "255.255.255.255");
	netaddr_format(&a, got, sizeof("255.255.255.255") - 1);
	assert_string_equal(got, "?");
	a.a[0] = 1, a.a[1] = 2, a.a[2] = 3, a.a[3] = 4;
	netaddr_format(&a, got, sizeof("1.2.3.4"));
	assert_string_equal(got, "1.2.3.4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_ptr_small_buffer),
		cmocka_unit_test(test_format4_like_inet_ntop),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_listen_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
