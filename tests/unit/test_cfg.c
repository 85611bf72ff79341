/* SPDX-License-Identifier: ISC */
/* test_cfg - configuration loading: defaults, every key, notes, and
 * errors that name FILE:LINE, section.key and the value (duplicates,
 * unclosed quotes, timeouts), override precedence and skip.recipients,
 * table-driven over temporary files. */
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
	assert_int_equal(c->nskip_recipients, 2);
	assert_string_equal(c->skip_recipients[0], "postmaster@");
	assert_string_equal(c->skip_recipients[1], "abuse@");
	assert_int_equal(c->nskip_client_names, 0);
	assert_int_equal(c->nskip_helo_names, 0);
	assert_int_equal(c->ptr.enabled, 1);
	assert_int_equal(c->ptr.on_missing, CFG_REJECT);
	assert_int_equal(c->ptr.on_fail, CFG_ACCEPT);
	assert_int_equal(c->ptr.on_temperror, CFG_DEFER);
	assert_int_equal(c->ptr.unless_spf_pass, 1);
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
	assert_int_equal(c->noverrides, 0);
	assert_null(c->notes);
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
	    "       sasl_authenticated = false\n"
	    "       recipients = { \"hostmaster@\", \"@Example.ORG\" }\n"
	    "       client_names = { \"relay.example.net\" }\n"
	    "       helo_names = { \"a.example\", \"b.example\" } }\n"
	    "ptr { enabled = false on_missing = \"defer\" on_fail = \"warn\"\n"
	    "      on_temperror = \"accept\" unless_spf_pass = no max_names = 1 }\n"
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
	assert_int_equal(c->nskip_recipients, 2);
	assert_string_equal(c->skip_recipients[0], "hostmaster@");
	assert_string_equal(c->skip_recipients[1], "@example.org");
	assert_int_equal(c->nskip_client_names, 1);
	assert_string_equal(c->skip_client_names[0], "relay.example.net");
	assert_int_equal(c->nskip_helo_names, 2);
	assert_string_equal(c->skip_helo_names[1], "b.example");
	assert_int_equal(c->ptr.enabled, 0);
	assert_int_equal(c->ptr.on_missing, CFG_DEFER);
	assert_int_equal(c->ptr.on_fail, CFG_WARN);
	assert_int_equal(c->ptr.on_temperror, CFG_ACCEPT);
	assert_int_equal(c->ptr.unless_spf_pass, 0);
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
	assert_null(c->notes);
	cfg_unref(c);
}

struct good_row {
	const char *name;
	const char *text;
	enum cfg_header header;
	int	nlisten;
	const char *notes;		/* NULL: none; else after "FILE" */
};

static void
test_good(void **state)
{
	static const struct good_row rows[] = {
		{"header received-spf", "header = \"received-spf\"\n", CFG_HDR_RECEIVED_SPF, 1, NULL},
		{"header none", "header = \"none\"\n", CFG_HDR_NONE, 1, NULL},
		{"header authentication-results", "header = \"authentication-results\"\n",
		 CFG_HDR_AR, 1, NULL},
		{"comments and blank lines", "# c\n\n  // c2\n/* c3 */\nworkers = 1\n", CFG_HDR_AR, 1, NULL},
		{"sixteen listeners",
		 "listen = { \"inet:127.0.0.1:1\", \"inet:127.0.0.1:2\", \"inet:127.0.0.1:3\","
		 "\"inet:127.0.0.1:4\", \"inet:127.0.0.1:5\", \"inet:127.0.0.1:6\","
		 "\"inet:127.0.0.1:7\", \"inet:127.0.0.1:8\", \"inet:127.0.0.1:9\","
		 "\"inet:127.0.0.1:10\", \"inet:127.0.0.1:11\", \"inet:127.0.0.1:12\","
		 "\"inet:127.0.0.1:13\", \"inet:127.0.0.1:14\", \"inet:127.0.0.1:15\","
		 "\"inet:127.0.0.1:16\" }\n", CFG_HDR_AR, 16, NULL},
		{"empty skip list", "skip { networks = { } }\n", CFG_HDR_AR, 1, NULL},
		/* Allowed for --stdio; the daemon refuses to start without. */
		{"empty listen list", "listen = { }\n", CFG_HDR_AR, 0, NULL},
		{"port 65535", "listen = { \"inet:[::]:65535\" }\n", CFG_HDR_AR, 1, NULL},
		{"unquoted words", "header = none\nspf { on_fail = warn }\n", CFG_HDR_NONE, 1, NULL},
		/* Not repeats. */
		{"+= adds to a list", "skip { networks = { \"10.0.0.0/8\" }\n"
		 " networks += { \"::1\" } }\n", CFG_HDR_AR, 1, NULL},
		{"one key in two sections", "spf { on_fail = reject }\n"
		 "ptr { on_fail = reject on_missing = reject }\n", CFG_HDR_AR, 1, NULL},
		{"one section in two overrides", "domain \"a.org\" { spf { helo = no } }\n"
		 "domain \"b.org\" { spf { helo = no } }\n", CFG_HDR_AR, 1, NULL},
		{"a section's names stay in it", "domain \"a.org\" { spf { helo = no } }\n"
		 "spf { helo = no }\n", CFG_HDR_AR, 1, NULL},
		{"domain and sender share a title", "domain \"a.org\" { }\nsender \"a.org\" { }\n"
		 "context \"a.org\" { }\n", CFG_HDR_AR, 1, NULL},
		{"key names in values", "header = \"none\"\nauthserv_id = header\n", CFG_HDR_NONE, 1, NULL},
		/* Quotes the pre-scan must not take for unclosed ones. */
		{"continued string", "authserv_id = \"mx.\\\nexample\"\nheader = none\n",
		 CFG_HDR_NONE, 1, NULL},
		{"quotes in comments", "# it's \"x\n/* it's\n \" */ header = none // it's\n",
		 CFG_HDR_NONE, 1, NULL},
		{"single quotes", "header = 'none'\n", CFG_HDR_NONE, 1, NULL},
		{"query_timeout below request_timeout",
		 "request_timeout = 4\ndns { query_timeout = 3 }\n", CFG_HDR_AR, 1, NULL},
		{"names with a final dot", "skip { client_names = { \"Example.ORG.\" }\n"
		 " helo_names = { \"a.b.\" } recipients = { \"@Example.ORG.\" } }\n"
		 "forwarders { names = { \"fwd.example.\" } }\n", CFG_HDR_AR, 1, NULL},
		/* Notes: allowed, but said. */
		{"host bits", "\nskip { networks = { \"10.0.0.0/8\",\n \"10.1.2.3/8\" } }\n",
		 CFG_HDR_AR, 1, ":3: skip.networks: 10.1.2.3/8 has host bits set; it means "
		 "10.0.0.0/8\n"},
		{"host bits v6", "forwarders { networks = { \"[2001:db8::1]/32\" } }\n",
		 CFG_HDR_AR, 1, ":1: forwarders.networks: [2001:db8::1]/32 has host bits set; "
		 "it means 2001:db8::/32\n"},
		{"host bits mapped", "skip { networks += { \"::ffff:192.0.2.1/120\" } }\n",
		 CFG_HDR_AR, 1, ":1: skip.networks: ::ffff:192.0.2.1/120 has host bits set; "
		 "it means 192.0.2.0/24\n"},
		{"no host bits", "skip { networks = { \"192.0.2.0/24\", \"192.0.2.1\" } }\n",
		 CFG_HDR_AR, 1, NULL},
		{"old ptr.on_fail", "workers = 1\nptr {\n on_fail = \"warn\" }\n", CFG_HDR_AR, 1,
		 ":3: ptr.on_fail also applies to a missing PTR record, as before 0.2: set "
		 "ptr.on_missing to choose (see relaytrust-policyd.conf(5))\n"},
		{"old ptr.on_fail in a section", "sender \"Example.org\" {\n"
		 " ptr { on_fail = reject } }\n", CFG_HDR_AR, 1,
		 ":2: sender \"Example.org\" ptr.on_fail also applies to a missing PTR record"},
		{"ptr.on_missing set too", "ptr { on_fail = warn on_missing = reject }\n"
		 "domain \"x.org\" { ptr { on_missing = warn on_fail = warn } }\n", CFG_HDR_AR, 1, NULL},
	};
	char	err[512], want[512];
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
		snprintf(want, sizeof(want), "%s%s", path, rows[i].notes ?
		    rows[i].notes : "");
		if (rows[i].notes ? c->notes == NULL ||
		    strncmp(c->notes, want, strlen(want)) != 0 :
		    c->notes != NULL) {
			print_error("row %s: got notes \"%s\", want \"%s\"\n",
			    rows[i].name, c->notes ? c->notes : "(none)",
			    rows[i].notes ? want : "(none)");
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
	 "no such option 'spf.hello'"},
	{"unknown section", "dkim { x = 1 }\n", 1, "no such option 'dkim'"},
	{"syntax error", "workers = \n", 2, "premature end of file"},
	{"not a number", "workers = many\n", 1, "workers = \"many\": want a whole number"},
	{"bad bool", "report_only = perhaps\n", 1,
	 "report_only = \"perhaps\": want true or false (or yes, no, on, off)"},
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
	/* Messages name section.key and the value. */
	{"integer in a section", "dns {\n query_timeout = abc\n}\n", 2,
	 "dns.query_timeout = \"abc\": want a whole number"},
	{"integer out of range", "workers = 99999999999999999999\n", 1,
	 "workers = 99999999999999999999: out of range"},
	{"integer over int", "ptr { max_names = 4294967297 }\n", 1,
	 "ptr.max_names = 4294967297: out of range"},
	{"boolean in a section", "ptr { unless_spf_pass = maybe }\n", 1,
	 "ptr.unless_spf_pass = \"maybe\": want true or false"},
	{"boolean in an override", "domain \"x.org\" {\n ptr { enabled = perhaps } }\n", 2,
	 "domain \"x.org\" ptr.enabled = \"perhaps\": want true or false"},
	{"action in an override", "domain \"x.org\" { ptr { on_missing = \"drop\" } }\n", 1,
	 "domain \"x.org\" ptr.on_missing \"drop\": want reject, defer, accept or warn"},
	{"range in an override", "sender \"x.org\" { ptr {\n max_names = 0 } }\n", 2,
	 "sender \"x.org\" ptr.max_names = 0: must be 1..32"},
	{"unknown key in an override", "domain \"a.org\" { bogus = 1 }\n", 1,
	 "no such option 'domain \"a.org\" bogus'"},
	{"unknown key in an override's spf", "context \"c\" { spf {\n bogus = 1 } }\n", 2,
	 "no such option 'context \"c\" spf.bogus'"},
	{"unexpected token", "spf { on_fail = reject , }\n", 1,
	 "unexpected \",\" in section spf"},
	{"unexpected brace", "workers = 1\n}\n", 2,
	 "unexpected \"}\" at the top level: no section is open"},
	{"premature end of file", "header = none\nworkers =\n", 3,
	 "premature end of file: a value is missing"},
	{"premature end in a section", "spf {\n on_fail =\n", 1,
	 "section spf is not closed: a \"}\" is missing"},
	{"missing equal sign", "ptr { on_fail warn }\n", 1, "missing \"=\" after ptr.on_fail"},
	{"append to a word", "workers += 2\n", 1,
	 "workers is not a list: \"+=\" appends to lists only"},
	{"section without brace", "ptr on_fail = warn }\n", 1,
	 "ptr is a section: want \"{\" after its name"},
	{"section without title", "domain { }\n", 1, "section domain needs a title"},
	{"control character", "spf { on_fail = \"a\\nb\" }\n", 1, "spf.on_fail \"a?b\""},
	/* Said twice: libconfuse would keep one silently. */
	{"key twice", "workers = 2\nworkers = 3\n", 2,
	 "workers = \"3\": set twice in one section (first on line 1)"},
	{"key twice on one line", "header = none header = both\n", 1,
	 "header = \"both\": set twice in one section (first on line 1)"},
	{"key twice in a section", "spf {\n on_fail = reject\n on_fail = warn\n}\n", 3,
	 "spf.on_fail = \"warn\": set twice in one section (first on line 2)"},
	{"list twice", "skip { networks = { \"10.0.0.0/8\" }\n networks = { } }\n", 2,
	 "skip.networks = { ... }: set twice in one section (first on line 1); "
	 "\"+=\" adds to a list"},
	{"list after +=", "skip { recipients += { \"a@\" }\n recipients = { \"b@\" } }\n", 2,
	 "skip.recipients = { ... }: set twice"},
	{"key twice in an override", "sender \"a.org\" { ptr { on_fail = warn\n"
	 " on_fail = accept } }\n", 2,
	 "sender \"a.org\" ptr.on_fail = \"accept\": set twice in one section (first on line 1)"},
	{"section twice", "dns { query_timeout = 2 }\n\ndns { dnssec = true }\n", 3,
	 "section dns appears twice (first on line 1): put its keys in one block"},
	{"section twice in an override", "domain \"a.org\" { spf { helo = false }\n"
	 " spf { } }\n", 2, "section domain \"a.org\" spf appears twice (first on line 1)"},
	{"domain twice", "domain \"x.org\" { }\ndomain \"x.org\" { }\n", 2,
	 "section domain \"x.org\" appears twice (first on line 1)"},
	{"domain twice, case", "domain \"X.org\" { }\ndomain x.ORG { }\n", 2,
	 "section domain \"x.ORG\" appears twice (first on line 1); case does not matter"},
	{"context twice, case", "context \"Sub\" { }\ncontext \"sub\" { }\n", 2,
	 "section context \"sub\" appears twice"},
	{"sender twice", "sender \"x.org\" { }\nsender \"x.org\" { }\n", 2,
	 "section sender \"x.org\" appears twice"},
	{"section not closed", "workers = 1\nspf {\n on_fail = reject\n", 2,
	 "section spf is not closed: a \"}\" is missing"},
	/* A quote not closed: where it starts, not lines later. */
	{"unclosed quote", "workers = 2\nspf {\n on_fail = \"reject\n on_softfail = \"accept\"\n}\n"
	 "ptr { on_fail = \"defer\" }\n", 3,
	 "spf.on_fail: unterminated string \"reject (no closing quote on this line)"},
	{"unclosed quote at the end", "workers = 2\nauthserv_id = \"mx\n\nheader = none\n", 2,
	 "authserv_id: unterminated string \"mx (no closing quote on this line)"},
	{"unclosed single quote", "user = 'abc\n", 1, "user: unterminated string \"abc"},
	{"unclosed quote in a list", "skip { networks = { \"10.0.0.0/8\", \"::1 } }\n", 1,
	 "skip.networks: unterminated string \"::1 } }"},
	{"unclosed title", "domain \"x.org { }\n", 1, "domain: unterminated string \"x.org { }"},
	{"lines after a continued string", "authserv_id = \"mx.\\\nexample\"\nworkers = 1\n"
	 "workers = 2\n", 4, "workers = \"2\": set twice in one section (first on line 3)"},
	{"lines after a comment", "/* a\n b */ workers = 1\n# c\nworkers = 2\n", 4,
	 "(first on line 2)"},
	/* The earlier error wins. */
	{"error before a quote", "bogus = 1\nuser = \"abc\n", 1, "no such option 'bogus'"},
	{"error before a repeat", "bogus = 1\nworkers = 1\nworkers = 2\n", 1,
	 "no such option 'bogus'"},
	{"repeat before an error", "workers = 1\nworkers = 2\nbogus = 1\n", 2, "set twice"},
	/* Timeouts. */
	{"query_timeout = request_timeout", "request_timeout = 5\ndns {\n query_timeout = 5\n}\n",
	 3, "dns.query_timeout (5) must be below request_timeout (5): a lookup could never "
	 "finish before the answer is due"},
	{"request_timeout below default query", "\nrequest_timeout = 2\n", 2,
	 "dns.query_timeout (3) must be below request_timeout (2)"},
	{"query_timeout over default request", "dns { query_timeout = 11 }\n", 1,
	 "dns.query_timeout (11) must be below request_timeout (10)"},
	/* skip.* and sender. */
	{"recipient @", "skip { recipients = { \"@\" } }\n", 1,
	 "skip.recipients \"@\": want \"local@\" (any domain), \"@domain\" or \"local@domain\""},
	{"recipient two @", "skip { recipients = { \"a@b@c\" } }\n", 1,
	 "skip.recipients \"a@b@c\": want"},
	{"recipient no @", "skip { recipients = { \"postmaster\" } }\n", 1,
	 "skip.recipients \"postmaster\": want"},
	{"recipient bad domain", "skip { recipients = { \"@exa mple.org\" } }\n", 1,
	 "skip.recipients \"@exa mple.org\": want"},
	{"recipient space", "skip { recipients = { \"a b@x.org\" } }\n", 1,
	 "skip.recipients \"a b@x.org\": want"},
	{"client name wildcard", "skip { client_names = { \"*.example.org\" } }\n", 1,
	 "skip.client_names \"*.example.org\": want a host or domain name"},
	{"helo name leading dot", "skip { helo_names = { \".example.org\" } }\n", 1,
	 "skip.helo_names \".example.org\": want a host or domain name"},
	{"forwarder name two dots", "forwarders { names = { \"a..b\" } }\n", 1,
	 "forwarders.names \"a..b\""},
	{"sender title", "sender \".x.org\" { }\n", 1,
	 "sender \".x.org\": want a domain name (no leading dot; subdomains match too)"},
	{"sender lookup_limit", "sender \"x.org\" { spf { lookup_limit = 3 } }\n", 1,
	 "sender \"x.org\": spf.lookup_limit and spf.void_lookup_limit apply to the whole process"},
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
	/* Top level < context < domain (recipient) < sender, key by key. */
	static const struct {
		const char *name, *context, *rcpt, *sender;
		enum cfg_action spf_fail, ptr_fail, ptr_missing;
		int	mailfrom, unless;
		const char *applied;
	} rows[] = {
		{"top level", "", "r@example.org", NULL, CFG_REJECT, CFG_REJECT, CFG_REJECT,
		 1, 1, ""},
		{"context", "submission", "r@example.org", NULL, CFG_WARN, CFG_REJECT,
		 CFG_REJECT, 1, 1, "context:submission"},
		{"context case", "SUBMISSION", "r@other.example", NULL, CFG_WARN, CFG_REJECT,
		 CFG_REJECT, 1, 1, "context:submission"},
		{"domain", "", "r@Relaxed.Example", NULL, CFG_ACCEPT, CFG_DEFER, CFG_ACCEPT,
		 1, 1, "domain:relaxed.example"},
		{"subdomain", "", "r@a.relaxed.example", NULL, CFG_ACCEPT, CFG_DEFER,
		 CFG_ACCEPT, 1, 1, "domain:relaxed.example"},
		{"longest domain only", "", "r@x.strict.relaxed.example", NULL, CFG_REJECT,
		 CFG_REJECT, CFG_REJECT, 0, 1, "domain:strict.relaxed.example"},
		{"domain over context", "submission", "r@relaxed.example", NULL, CFG_ACCEPT,
		 CFG_DEFER, CFG_ACCEPT, 1, 1, "context:submission,domain:relaxed.example"},
		{"no label boundary", "", "r@notrelaxed.example", NULL, CFG_REJECT, CFG_REJECT,
		 CFG_REJECT, 1, 1, ""},
		{"unknown context", "port25", "r@example.org", NULL, CFG_REJECT, CFG_REJECT,
		 CFG_REJECT, 1, 1, ""},
		{"no recipient", "", "", NULL, CFG_REJECT, CFG_REJECT, CFG_REJECT, 1, 1, ""},
		{"sender", "", "r@example.net", "u@Example.ORG", CFG_REJECT, CFG_REJECT,
		 CFG_REJECT, 1, 0, "sender:example.org"},
		{"sender over domain", "", "r@relaxed.example", "u@example.org", CFG_REJECT,
		 CFG_DEFER, CFG_ACCEPT, 1, 0, "domain:relaxed.example,sender:example.org"},
		{"all three", "submission", "r@relaxed.example", "u@a.lists.example.org",
		 CFG_WARN, CFG_DEFER, CFG_ACCEPT, 1, 1,
		 "context:submission,domain:relaxed.example,sender:lists.example.org"},
		{"longest sender only", "", "r@example.net", "u@lists.example.org", CFG_WARN,
		 CFG_REJECT, CFG_REJECT, 1, 1, "sender:lists.example.org"},
		{"null sender", "", "r@example.net", "", CFG_REJECT, CFG_REJECT, CFG_REJECT,
		 1, 1, ""},
		{"sender without domain", "", "r@example.net", "example.org", CFG_REJECT,
		 CFG_REJECT, CFG_REJECT, 1, 1, ""},
		{"sender no label boundary", "", "r@example.net", "u@badexample.org", CFG_REJECT,
		 CFG_REJECT, CFG_REJECT, 1, 1, ""},
		{"sender domain is not a recipient domain", "", "r@example.org", "u@example.net",
		 CFG_REJECT, CFG_REJECT, CFG_REJECT, 1, 1, ""},
		{"recipient domain is not a sender domain", "", "r@x.org", "u@relaxed.example",
		 CFG_REJECT, CFG_REJECT, CFG_REJECT, 1, 1, ""},
	};
	char	err[512], applied[256];
	struct cfg *c, eff;
	size_t	i;

	(void)state;
	c = load("spf { on_fail = \"reject\" }\n"
	    "ptr { on_fail = \"reject\" on_missing = \"reject\" }\n"
	    "context \"submission\" { spf { on_fail = \"warn\" } }\n"
	    "domain \"relaxed.example\" { spf { on_fail = \"accept\" }\n"
	    "  ptr { on_fail = \"defer\" on_missing = \"accept\" } }\n"
	    "domain \"strict.relaxed.example\" { spf { on_fail = \"reject\"\n"
	    "  mailfrom = false } }\n"
	    "sender \"example.org\" { spf { on_fail = \"reject\" }\n"
	    "  ptr { unless_spf_pass = false } }\n"
	    "sender \"lists.example.org\" { spf { on_fail = \"warn\" } }\n",
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("load: %s", err);
	assert_int_equal(c->noverrides, 5);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg_effective(c, rows[i].context, rows[i].rcpt, rows[i].sender,
		    &eff, applied, sizeof(applied));
		if (eff.spf.on_fail != rows[i].spf_fail ||
		    eff.ptr.on_fail != rows[i].ptr_fail ||
		    eff.ptr.on_missing != rows[i].ptr_missing ||
		    eff.spf.mailfrom != rows[i].mailfrom ||
		    eff.ptr.unless_spf_pass != rows[i].unless ||
		    strcmp(applied, rows[i].applied) != 0)
			fail_msg("row %s: got spf.on_fail %s ptr.on_fail %s "
			    "on_missing %s mailfrom %d unless %d applied \"%s\", "
			    "want %s %s %s %d %d \"%s\"", rows[i].name,
			    cfg_action_str(eff.spf.on_fail),
			    cfg_action_str(eff.ptr.on_fail),
			    cfg_action_str(eff.ptr.on_missing), eff.spf.mailfrom,
			    eff.ptr.unless_spf_pass, applied,
			    cfg_action_str(rows[i].spf_fail),
			    cfg_action_str(rows[i].ptr_fail),
			    cfg_action_str(rows[i].ptr_missing), rows[i].mailfrom,
			    rows[i].unless, rows[i].applied);
		/* Keys no section sets keep the top-level value. */
		assert_int_equal(eff.spf.on_temperror, CFG_DEFER);
		assert_ptr_equal(eff.skip_networks, c->skip_networks);
	}
	/* applied is cut, never overrun. */
	cfg_effective(c, "submission", "r@relaxed.example", "u@example.org",
	    &eff, applied, 10);
	assert_string_equal(applied, "context:s");
	cfg_unref(c);
}

/* The upgrade rule: ptr.on_fail set without ptr.on_missing covers both,
 * at the top level and per section. */
static void
test_upgrade(void **state)
{
	static const struct {
		const char *name, *text, *rcpt;
		enum cfg_action missing, fail;
		int	nnotes;
	} rows[] = {
		{"defaults", "", "r@x.org", CFG_REJECT, CFG_ACCEPT, 0},
		{"on_fail only", "ptr { on_fail = warn }\n", "r@x.org", CFG_WARN, CFG_WARN, 1},
		{"on_fail accept only", "ptr { on_fail = accept }\n", "r@x.org", CFG_ACCEPT,
		 CFG_ACCEPT, 1},
		{"both", "ptr { on_fail = warn on_missing = defer }\n", "r@x.org", CFG_DEFER,
		 CFG_WARN, 0},
		{"on_missing only", "ptr { on_missing = warn }\n", "r@x.org", CFG_WARN,
		 CFG_ACCEPT, 0},
		{"section on_fail only", "ptr { on_missing = accept }\n"
		 "domain \"x.org\" { ptr { on_fail = defer } }\n", "r@x.org", CFG_DEFER, CFG_DEFER,
		 1},
		{"section elsewhere", "ptr { on_missing = accept }\n"
		 "domain \"x.org\" { ptr { on_fail = defer } }\n", "r@y.org", CFG_ACCEPT,
		 CFG_ACCEPT, 1},
		{"section with both", "domain \"x.org\" { ptr { on_fail = defer\n"
		 " on_missing = warn } }\n", "r@x.org", CFG_WARN, CFG_DEFER, 0},
		{"section on_missing only", "ptr { on_fail = warn }\n"
		 "domain \"x.org\" { ptr { on_missing = accept } }\n", "r@x.org", CFG_ACCEPT,
		 CFG_WARN, 1},
		{"two sections", "context \"c\" { ptr { on_fail = warn } }\n"
		 "sender \"x.org\" { ptr { on_fail = defer } }\n", "r@x.org", CFG_REJECT,
		 CFG_ACCEPT, 2},
	};
	char	err[512], applied[128];
	struct cfg *c, eff;
	const char *p;
	size_t	i;
	int	n;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if ((c = load(rows[i].text, err, sizeof(err))) == NULL)
			fail_msg("row %s: %s", rows[i].name, err);
		cfg_effective(c, NULL, rows[i].rcpt, NULL, &eff, applied,
		    sizeof(applied));
		for (n = 0, p = c->notes; p != NULL && (p = strchr(p, '\n'));
		    p++)
			n++;
		if (eff.ptr.on_missing != rows[i].missing ||
		    eff.ptr.on_fail != rows[i].fail || n != rows[i].nnotes)
			fail_msg("row %s: got on_missing %s on_fail %s, %d notes; "
			    "want %s %s %d", rows[i].name,
			    cfg_action_str(eff.ptr.on_missing),
			    cfg_action_str(eff.ptr.on_fail), n,
			    cfg_action_str(rows[i].missing),
			    cfg_action_str(rows[i].fail), rows[i].nnotes);
		cfg_unref(c);
	}
}

/* Notes are bounded: CFG_NOTES_MAX, then one line saying how many more. */
static void
test_notes_max(void **state)
{
	char	err[512], text[8192], last[128];
	struct cfg *c;
	const char *p;
	size_t	len = 0;
	int	i, n = 0;

	(void)state;
	len += (size_t)snprintf(text, sizeof(text), "skip { networks = {");
	for (i = 0; i < CFG_NOTES_MAX + 5; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s\"10.%d.0.1/16\"", i ? ", " : " ", i);
	snprintf(text + len, sizeof(text) - len, " } }\n");
	if ((c = load(text, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	for (p = c->notes; p != NULL && (p = strchr(p, '\n')); p++)
		n++;
	assert_int_equal(n, CFG_NOTES_MAX + 1);
	snprintf(last, sizeof(last), "%s: 5 more notes not shown\n", path);
	assert_non_null(strstr(c->notes, last));
	cfg_unref(c);
}

/* Lists of names and recipients: lower case, no final dot. */
static void
test_skip_values(void **state)
{
	char	err[512];
	struct cfg *c;

	(void)state;
	c = load("skip { recipients = { \"PostMaster@\", \"@Example.ORG.\",\n"
	    "  \"Abuse@Mail.Example.\" }\n"
	    "  client_names = { \"Relay.Example.NET.\" }\n"
	    "  helo_names = { \"a.b\", \"C.D.\" } }\n"
	    "forwarders { names = { \"Fwd.Example.\" } spf_domains = { \"S.Example.\" } }\n",
	    err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nskip_recipients, 3);
	assert_string_equal(c->skip_recipients[0], "postmaster@");
	assert_string_equal(c->skip_recipients[1], "@example.org");
	assert_string_equal(c->skip_recipients[2], "abuse@mail.example");
	assert_int_equal(c->nskip_client_names, 1);
	assert_string_equal(c->skip_client_names[0], "relay.example.net");
	assert_int_equal(c->nskip_helo_names, 2);
	assert_string_equal(c->skip_helo_names[0], "a.b");
	assert_string_equal(c->skip_helo_names[1], "c.d");
	assert_string_equal(c->fwd_names[0], "fwd.example");
	assert_string_equal(c->fwd_spf_domains[0], "s.example");
	cfg_unref(c);
}

static void
test_recipient_skipped(void **state)
{
	static const struct {
		const char *name, *rcpt;
		int	want;
	} rows[] = {
		{"local@ any domain", "postmaster@example.org", 1},
		{"local@ case", "PostMaster@Example.ORG", 1},
		{"local@ without domain", "postmaster", 1},
		{"local@ no subaddress", "postmaster+x@example.org", 0},
		{"local@ exact", "xpostmaster@example.org", 0},
		{"local@ prefix", "post@example.org", 0},
		{"@domain", "anyone@whole.example", 1},
		{"@domain case and dot", "Anyone@WHOLE.Example.", 1},
		{"@domain not a subdomain", "anyone@sub.whole.example", 0},
		{"@domain not a suffix", "anyone@notwhole.example", 0},
		{"@domain needs a domain", "whole.example", 0},
		{"local@domain", "abuse@one.example", 1},
		{"local@domain case", "ABUSE@ONE.EXAMPLE", 1},
		{"local@domain other domain", "abuse@two.example", 0},
		{"local@domain other local", "hostmaster@one.example", 0},
		{"local@domain without domain", "abuse", 0},
		{"last @ counts", "\"a@b\"@whole.example", 1},
		{"empty", "", 0},
		{"NULL", NULL, 0},
	};
	char	err[512];
	struct cfg *c;
	size_t	i;
	int	bad = 0;

	(void)state;
	c = load("skip { recipients = { \"postmaster@\", \"@whole.example\",\n"
	    "  \"abuse@one.example\" } }\n", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int	got = cfg_recipient_skipped(c, rows[i].rcpt);

		if (got != rows[i].want) {
			print_error("row %s: got %d, want %d\n", rows[i].name, got,
			    rows[i].want);
			bad++;
		}
	}
	cfg_unref(c);
	/* The defaults: postmaster@ and abuse@; an empty list: nobody. */
	c = load("", err, sizeof(err));
	assert_int_equal(cfg_recipient_skipped(c, "abuse@example.org"), 1);
	assert_int_equal(cfg_recipient_skipped(c, "Postmaster@example.org"), 1);
	assert_int_equal(cfg_recipient_skipped(c, "user@example.org"), 0);
	cfg_unref(c);
	c = load("skip { recipients = { } }\n", err, sizeof(err));
	assert_int_equal(cfg_recipient_skipped(c, "postmaster@example.org"), 0);
	cfg_unref(c);
	assert_int_equal(bad, 0);
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
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_notes_max),
		cmocka_unit_test(test_skip_values),
		cmocka_unit_test(test_recipient_skipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
