/* SPDX-License-Identifier: ISC */
/* test_cfg - configuration loading: defaults, every key, and errors that
 * name FILE:LINE, table-driven over temporary files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/cfg.h"
#include "shared/netaddr.h"

static char path[64];

static int
setup(void **state)
{
	int	fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_cfg.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void
write_file(const char *text)
{
	FILE   *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static struct cfg *
load(const char *text, char *err, size_t errlen)
{
	write_file(text);
	return cfg_load(path, err, errlen);
}

static void
test_defaults(void **state)
{
	char	err[512], host[256];
	struct cfg *c;
	struct netaddr a;

	(void)state;
	c = load("# nothing set\n", err, sizeof(err));
	if (c == NULL)
		fail_msg("empty file: %s", err);
	assert_int_equal(c->refs, 1);
	assert_string_equal(c->file, path);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0], "inet:127.0.0.1:10045");
	assert_null(c->user);
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->request_timeout, 10);
	assert_int_equal(c->idle_timeout, 300);
	assert_int_equal(c->max_connections, 1000);
	assert_int_equal(c->report_only, 0);
	gethostname(host, sizeof(host));
	assert_string_equal(c->authserv_id, host);
	assert_int_equal(c->header, CFG_HDR_AR);
	assert_null(c->stats_listen);
	assert_int_equal(c->dns.nforward, 0);
	assert_int_equal(c->dns.dnssec, 0);
	assert_int_equal(c->dns.query_timeout, 3);
	assert_int_equal(netaddr_list_count(c->skip_networks), 2);
	netaddr_parse("127.1.2.3", &a);
	assert_true(netaddr_list_match(c->skip_networks, &a));
	netaddr_parse("::1", &a);
	assert_true(netaddr_list_match(c->skip_networks, &a));
	netaddr_parse("192.0.2.1", &a);
	assert_false(netaddr_list_match(c->skip_networks, &a));
	assert_int_equal(c->skip_sasl, 1);
	assert_int_equal(c->ptr.enabled, 1);
	assert_int_equal(c->ptr.on_fail, CFG_REJECT);
	assert_int_equal(c->ptr.on_temperror, CFG_DEFER);
	assert_int_equal(c->ptr.max_names, 10);
	assert_int_equal(c->spf.helo, 1);
	assert_int_equal(c->spf.mailfrom, 1);
	assert_int_equal(c->spf.on_fail, CFG_REJECT);
	assert_int_equal(c->spf.on_softfail, CFG_ACCEPT);
	assert_int_equal(c->spf.on_neutral, CFG_ACCEPT);
	assert_int_equal(c->spf.on_none, CFG_ACCEPT);
	assert_int_equal(c->spf.on_permerror, CFG_ACCEPT);
	assert_int_equal(c->spf.on_temperror, CFG_DEFER);
	assert_int_equal(c->spf.helo_on_fail, CFG_REJECT);
	assert_int_equal(c->spf.void_lookup_limit, 2);
	assert_int_equal(c->spf.lookup_limit, 10);
	/* Reference counting. */
	assert_ptr_equal(cfg_ref(c), c);
	assert_int_equal(c->refs, 2);
	cfg_unref(c);
	assert_int_equal(c->refs, 1);
	cfg_unref(c);
	cfg_unref(NULL);
}

static void
test_every_key(void **state)
{
	char	err[512];
	struct cfg *c;
	struct netaddr a;

	(void)state;
	c = load(
	    "listen = { \"inet:127.0.0.1:10045\", \"inet:[::1]:10045\",\n"
	    "           \"unix:/run/relaytrust/policy.sock\", \"inet:*:25000\",\n"
	    "           \"inet:localhost:1\" }\n"
	    "user = \"root\"\n"
	    "workers = 64\n"
	    "request_timeout = 99\n"
	    "idle_timeout = 3600\n"
	    "max_connections = 1\n"
	    "report_only = true\n"
	    "authserv_id = \"mx.example.org\"\n"
	    "header = \"both\"\n"
	    "stats_listen = \"inet:127.0.0.1:10046\"\n"
	    "dns { forward = { \"127.0.0.1@5353\", \"::1\", \"192.0.2.53\" }\n"
	    "      dnssec = true  query_timeout = 1 }\n"
	    "skip { networks = { \"10.0.0.0/8\", \"[2001:db8::]/32\" }\n"
	    "       sasl_authenticated = false }\n"
	    "ptr { enabled = false on_fail = \"warn\" on_temperror = \"accept\"\n"
	    "      max_names = 1 }\n"
	    "spf { helo = false mailfrom = false on_fail = \"defer\"\n"
	    "      on_softfail = \"reject\" on_neutral = \"warn\" on_none = \"defer\"\n"
	    "      on_permerror = \"reject\" on_temperror = \"accept\"\n"
	    "      helo_on_fail = \"warn\" void_lookup_limit = 1 lookup_limit = 100 }\n",
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("every key: %s", err);
	assert_int_equal(c->nlisten, 5);
	assert_string_equal(c->listen[1], "inet:[::1]:10045");
	assert_string_equal(c->listen[2], "unix:/run/relaytrust/policy.sock");
	assert_string_equal(c->user, "root");
	assert_int_equal(c->workers, 64);
	assert_int_equal(c->request_timeout, 99);
	assert_int_equal(c->idle_timeout, 3600);
	assert_int_equal(c->max_connections, 1);
	assert_int_equal(c->report_only, 1);
	assert_string_equal(c->authserv_id, "mx.example.org");
	assert_int_equal(c->header, CFG_HDR_BOTH);
	assert_string_equal(c->stats_listen, "inet:127.0.0.1:10046");
	assert_int_equal(c->dns.nforward, 3);
	assert_string_equal(c->dns.forward[0], "127.0.0.1@5353");
	assert_string_equal(c->dns.forward[1], "::1");
	assert_int_equal(c->dns.dnssec, 1);
	assert_int_equal(c->dns.query_timeout, 1);
	assert_int_equal(netaddr_list_count(c->skip_networks), 2);
	netaddr_parse("127.0.0.1", &a);
	assert_false(netaddr_list_match(c->skip_networks, &a));
	netaddr_parse("10.9.8.7", &a);
	assert_true(netaddr_list_match(c->skip_networks, &a));
	assert_int_equal(c->skip_sasl, 0);
	assert_int_equal(c->ptr.enabled, 0);
	assert_int_equal(c->ptr.on_fail, CFG_WARN);
	assert_int_equal(c->ptr.on_temperror, CFG_ACCEPT);
	assert_int_equal(c->ptr.max_names, 1);
	assert_int_equal(c->spf.helo, 0);
	assert_int_equal(c->spf.mailfrom, 0);
	assert_int_equal(c->spf.on_fail, CFG_DEFER);
	assert_int_equal(c->spf.on_softfail, CFG_REJECT);
	assert_int_equal(c->spf.on_neutral, CFG_WARN);
	assert_int_equal(c->spf.on_none, CFG_DEFER);
	assert_int_equal(c->spf.on_permerror, CFG_REJECT);
	assert_int_equal(c->spf.on_temperror, CFG_ACCEPT);
	assert_int_equal(c->spf.helo_on_fail, CFG_WARN);
	assert_int_equal(c->spf.void_lookup_limit, 1);
	assert_int_equal(c->spf.lookup_limit, 100);
	cfg_unref(c);
}

struct good_row {
	const char *name;
	const char *text;
	enum cfg_header header;
	int	nlisten;
};

static void
test_good(void **state)
{
	static const struct good_row rows[] = {
		{"header received-spf", "header = \"received-spf\"\n", CFG_HDR_RECEIVED_SPF, 1},
		{"header none", "header = \"none\"\n", CFG_HDR_NONE, 1},
		{"header authentication-results", "header = \"authentication-results\"\n",
		 CFG_HDR_AR, 1},
		{"comments and blank lines", "# c\n\n  // c2\n/* c3 */\nworkers = 1\n", CFG_HDR_AR, 1},
		{"sixteen listeners",
		 "listen = { \"inet:127.0.0.1:1\", \"inet:127.0.0.1:2\", \"inet:127.0.0.1:3\","
		 "\"inet:127.0.0.1:4\", \"inet:127.0.0.1:5\", \"inet:127.0.0.1:6\","
		 "\"inet:127.0.0.1:7\", \"inet:127.0.0.1:8\", \"inet:127.0.0.1:9\","
		 "\"inet:127.0.0.1:10\", \"inet:127.0.0.1:11\", \"inet:127.0.0.1:12\","
		 "\"inet:127.0.0.1:13\", \"inet:127.0.0.1:14\", \"inet:127.0.0.1:15\","
		 "\"inet:127.0.0.1:16\" }\n", CFG_HDR_AR, 16},
		{"empty skip list", "skip { networks = { } }\n", CFG_HDR_AR, 1},
		/* Allowed for --stdio; the daemon refuses to start without. */
		{"empty listen list", "listen = { }\n", CFG_HDR_AR, 0},
		{"port 65535", "listen = { \"inet:[::]:65535\" }\n", CFG_HDR_AR, 1},
		{"unquoted words", "header = none\nspf { on_fail = warn }\n", CFG_HDR_NONE, 1},
	};
	char	err[512];
	size_t	i;
	int	failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cfg *c = load(rows[i].text, err, sizeof(err));

		if (c == NULL) {
			print_error("row %s: got error \"%s\", want success\n",
			    rows[i].name, err);
			failed++;
			continue;
		}
		if (c->header != rows[i].header || c->nlisten != rows[i].nlisten) {
			print_error("row %s: got header %d nlisten %d, want %d %d\n",
			    rows[i].name, c->header, c->nlisten, rows[i].header,
			    rows[i].nlisten);
			failed++;
		}
		cfg_unref(c);
	}
	assert_int_equal(failed, 0);
}

struct bad_row {
	const char *name;
	const char *text;
	int	line;			/* 0: no line in the message */
	const char *want;		/* substring after "FILE:LINE: " */
};

static const struct bad_row bad_rows[] = {
	{"unknown key", "workers = 2\nbogus = 1\n", 2, "no such option 'bogus'"},
	{"unknown key in section", "spf {\n  helo = true\n  hello = 1\n}\n", 3,
	 "no such option 'hello'"},
	{"unknown section", "dkim { x = 1 }\n", 1, "no such option 'dkim'"},
	{"syntax error", "workers = \n", 2, "premature end of file"},
	{"not a number", "workers = many\n", 1, "workers"},
	{"bad bool", "report_only = perhaps\n", 1, "report_only"},
	{"workers zero", "workers = 0\n", 1, "workers = 0: must be 1..64"},
	{"workers over", "\nworkers = 65\n", 2, "workers = 65: must be 1..64"},
	{"request_timeout 100", "request_timeout = 100\n", 1,
	 "request_timeout = 100: must be 1..99"},
	{"request_timeout 0", "request_timeout = 0\n", 1, "request_timeout = 0"},
	{"idle_timeout over", "idle_timeout = 3601\n", 1, "idle_timeout = 3601: must be 1..3600"},
	{"negative timeout", "idle_timeout = -1\n", 1, "idle_timeout = -1"},
	{"query_timeout zero", "dns {\n query_timeout = 0\n}\n", 2,
	 "dns.query_timeout = 0: must be 1..3600"},
	{"max_connections zero", "max_connections = 0\n", 1, "max_connections = 0"},
	{"max_names zero", "ptr { max_names = 0 }\n", 1, "ptr.max_names = 0: must be 1..32"},
	{"lookup_limit zero", "spf {\n\n lookup_limit = 0\n}\n", 3, "spf.lookup_limit = 0"},
	{"void limit zero", "spf { void_lookup_limit = 0 }\n", 1, "spf.void_lookup_limit = 0"},
	{"bad action", "spf {\n on_fail = \"bounce\"\n}\n", 2,
	 "spf.on_fail \"bounce\": want reject, defer, accept or warn"},
	{"action case", "ptr { on_fail = \"REJECT\" }\n", 1, "ptr.on_fail \"REJECT\""},
	{"bad helo action", "spf { helo_on_fail = \"drop\" }\n", 1, "spf.helo_on_fail"},
	{"bad header", "header = \"dkim\"\n", 1, "header \"dkim\": want authentication-results"},
	{"listen no type", "listen = { \"127.0.0.1:25\" }\n", 1, "listen \"127.0.0.1:25\""},
	{"listen no port", "listen = { \"inet:127.0.0.1\" }\n", 1, "want inet:HOST:PORT"},
	{"listen port 0", "listen = { \"inet:127.0.0.1:0\" }\n", 1, "port must be 1..65535"},
	{"listen port big", "listen = { \"inet:127.0.0.1:65536\" }\n", 1, "port must be 1..65535"},
	{"listen v6 no brackets", "listen = { \"inet:::1:25\" }\n", 1, "want inet:HOST:PORT"},
	{"listen bad v6", "listen = { \"inet:[::g]:25\" }\n", 1, "bad IPv6 address"},
	{"listen relative unix", "listen = { \"unix:private/policy\" }\n", 1, "must be absolute"},
	{"listen seventeen",
	 "listen = { \"inet:127.0.0.1:1\", \"inet:127.0.0.1:2\", \"inet:127.0.0.1:3\","
	 "\"inet:127.0.0.1:4\", \"inet:127.0.0.1:5\", \"inet:127.0.0.1:6\","
	 "\"inet:127.0.0.1:7\", \"inet:127.0.0.1:8\", \"inet:127.0.0.1:9\","
	 "\"inet:127.0.0.1:10\", \"inet:127.0.0.1:11\", \"inet:127.0.0.1:12\","
	 "\"inet:127.0.0.1:13\", \"inet:127.0.0.1:14\", \"inet:127.0.0.1:15\","
	 "\"inet:127.0.0.1:16\", \"inet:127.0.0.1:17\" }\n", 1, "more than 16"},
	{"stats_listen unix", "stats_listen = \"unix:/x\"\n", 1, "stats_listen \"unix:/x\""},
	{"bad cidr", "skip {\n networks = { \"10.0.0.0/33\" }\n}\n", 2,
	 "skip.networks \"10.0.0.0/33\""},
	{"cidr not an address", "skip { networks = { \"example.com\" } }\n", 1,
	 "skip.networks \"example.com\""},
	{"forward bad port", "dns { forward = { \"127.0.0.1@99999\" } }\n", 1,
	 "dns.forward \"127.0.0.1@99999\": want ADDR or ADDR@PORT"},
	{"forward host name", "dns { forward = { \"resolver.example\" } }\n", 1, "dns.forward"},
	{"forward empty port", "dns { forward = { \"127.0.0.1@\" } }\n", 1, "dns.forward"},
	{"authserv_id with space", "authserv_id = \"mx example\"\n", 1, "authserv_id \"mx example\""},
	{"authserv_id with semicolon", "authserv_id = \"mx;x\"\n", 1, "authserv_id"},
	{"authserv_id empty", "authserv_id = \"\"\n", 1, "authserv_id"},
	{"no such user", "user = \"no-such-user-relaytrust\"\n", 1, "no such user"},
};

static void
test_bad(void **state)
{
	char	err[512], want[512];
	size_t	i;
	int	failed = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		struct cfg *c;

		err[0] = '\0';
		c = load(r->text, err, sizeof(err));
		if (r->line)
			snprintf(want, sizeof(want), "%s:%d: ", path, r->line);
		else
			snprintf(want, sizeof(want), "%s: ", path);
		if (c != NULL || strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, r->want) == NULL || strchr(err, '\n') != NULL) {
			print_error("row %s: got %s \"%s\", want \"%s...%s\"\n",
			    r->name, c ? "success" : "error", err, want, r->want);
			failed++;
		}
		cfg_unref(c);
	}
	assert_int_equal(failed, 0);
}

static void
test_missing_file(void **state)
{
	char	err[512];
	struct cfg *c;

	(void)state;
	c = cfg_load("/nonexistent/relaytrust.conf", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "/nonexistent/relaytrust.conf: cannot open: "
	    "No such file or directory");
}

static void
test_action_str(void **state)
{
	static const struct {
		enum cfg_action a;
		const char *want;
	} rows[] = {
		{CFG_ACCEPT, "accept"}, {CFG_REJECT, "reject"},
		{CFG_DEFER, "defer"}, {CFG_WARN, "warn"},
		{(enum cfg_action)99, "unknown"},
	};
	size_t	i;
	int	failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(cfg_action_str(rows[i].a), rows[i].want) != 0) {
			print_error("row %s: got %s\n", rows[i].want,
			    cfg_action_str(rows[i].a));
			failed++;
		}
	assert_int_equal(failed, 0);
}

static void
test_name_in_domain(void **state)
{
	static const struct {
		const char *name, *host, *domain;
		int	want;
	} rows[] = {
		{"equal", "fwd.example.net", "fwd.example.net", 1},
		{"subdomain", "mx.fwd.example.net", "fwd.example.net", 1},
		{"deep subdomain", "a.b.fwd.example.net", "fwd.example.net", 1},
		{"case", "MX.Fwd.Example.NET", "fwd.example.net", 1},
		{"trailing dot", "mx.fwd.example.net.", "fwd.example.net", 1},
		{"no label boundary", "evilfwd.example.net", "fwd.example.net", 0},
		{"suffix inside", "mx.fwd.example.net.evil.example", "fwd.example.net", 0},
		{"shorter", "example.net", "fwd.example.net", 0},
		{"empty host", "", "fwd.example.net", 0},
		{"empty domain", "fwd.example.net", "", 0},
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int	got = cfg_name_in_domain(rows[i].host, rows[i].domain);

		if (got != rows[i].want)
			fail_msg("row %s: got %d, want %d", rows[i].name, got,
			    rows[i].want);
	}
}

static void
test_effective(void **state)
{
	static const struct {
		const char *name, *context, *rcpt;
		enum cfg_action spf_fail, ptr_fail;
		int	mailfrom;
		const char *applied;
	} rows[] = {
		{"top level", "", "r@example.org", CFG_REJECT, CFG_REJECT, 1, ""},
		{"context", "submission", "r@example.org", CFG_WARN, CFG_REJECT, 1,
		 "context:submission"},
		{"context case", "SUBMISSION", "r@other.example", CFG_WARN, CFG_REJECT, 1,
		 "context:submission"},
		{"domain", "", "r@Relaxed.Example", CFG_ACCEPT, CFG_DEFER, 1,
		 "domain:relaxed.example"},
		{"subdomain", "", "r@a.relaxed.example", CFG_ACCEPT, CFG_DEFER, 1,
		 "domain:relaxed.example"},
		{"longest domain only", "", "r@x.strict.relaxed.example", CFG_REJECT, CFG_REJECT, 0,
		 "domain:strict.relaxed.example"},
		{"domain over context", "submission", "r@relaxed.example", CFG_ACCEPT, CFG_DEFER,
		 1, "context:submission,domain:relaxed.example"},
		{"no label boundary", "", "r@notrelaxed.example", CFG_REJECT, CFG_REJECT, 1, ""},
		{"unknown context", "port25", "r@example.org", CFG_REJECT, CFG_REJECT, 1, ""},
		{"no recipient", "", "", CFG_REJECT, CFG_REJECT, 1, ""},
	};
	char	err[512], applied[256];
	struct cfg *c, eff;
	size_t	i;

	(void)state;
	c = load("spf { on_fail = \"reject\" }\n"
	    "context \"submission\" { spf { on_fail = \"warn\" } }\n"
	    "domain \"relaxed.example\" { spf { on_fail = \"accept\" }\n"
	    "  ptr { on_fail = \"defer\" } }\n"
	    "domain \"strict.relaxed.example\" { spf { on_fail = \"reject\"\n"
	    "  mailfrom = false } }\n", err, sizeof(err));
	if (c == NULL)
		fail_msg("load: %s", err);
	assert_int_equal(c->noverrides, 3);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg_effective(c, rows[i].context, rows[i].rcpt, &eff, applied,
		    sizeof(applied));
		if (eff.spf.on_fail != rows[i].spf_fail ||
		    eff.ptr.on_fail != rows[i].ptr_fail ||
		    eff.spf.mailfrom != rows[i].mailfrom ||
		    strcmp(applied, rows[i].applied) != 0)
			fail_msg("row %s: got spf.on_fail %s ptr.on_fail %s "
			    "mailfrom %d applied \"%s\", want %s %s %d \"%s\"",
			    rows[i].name, cfg_action_str(eff.spf.on_fail),
			    cfg_action_str(eff.ptr.on_fail), eff.spf.mailfrom,
			    applied, cfg_action_str(rows[i].spf_fail),
			    cfg_action_str(rows[i].ptr_fail), rows[i].mailfrom,
			    rows[i].applied);
		/* Keys no section sets keep the top-level value. */
		assert_int_equal(eff.spf.on_temperror, CFG_DEFER);
		assert_ptr_equal(eff.skip_networks, c->skip_networks);
	}
	cfg_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_action_str),
		cmocka_unit_test(test_name_in_domain),
		cmocka_unit_test(test_effective),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
