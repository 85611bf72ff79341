/* SPDX-License-Identifier: ISC */
/* test_decide - the action table of SPEC 2.3 and the header syntax;
 * ptr.on_missing, ptr.on_fail and ptr.unless_spf_pass, skip.recipients,
 * the report_only comments, and reply texts of unfinished SPF checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shared/cfg.h"
#include "shared/netaddr.h"
#include "policyd/decide.h"

enum { NA = -1 };			/* check not run */

struct row {
	const char *name;
	const char *ip;
	const char *helo;
	const char *sender;
	const char *skip;
	int	header_ok;
	enum iprev_result iprev;
	const char *iprev_name;
	int	helo_res;		/* enum spf_result or NA */
	int	mf_res;			/* enum spf_result or NA */
	/* configuration changes */
	enum cfg_header header;
	int	report_only;
	int	on_fail, on_permerror, on_temperror, helo_on_fail, ptr_on_fail;
	/* wanted */
	const char *action;
	const char *header2;		/* second header, or NULL */
	enum decide_verdict would;
	const char *code;
};

#define D	-1			/* keep the default */

static const struct row rows[] = {
	{"all pass, AR", "192.0.2.1", "mail.example.net", "user@example.com", NULL, 1,
	 IPREV_PASS, "mail.example.net", SPF_RES_PASS, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(mail.example.net); spf=pass smtp.mailfrom=user@example.com", NULL, DECIDE_ACCEPT, ""},
	{"spf fail rejects", "192.0.2.1", "mail.example.net", "user@example.com", NULL, 1,
	 IPREV_PASS, "mail.example.net", SPF_RES_PASS, SPF_RES_FAIL, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.23 SPF fail: user@example.com does not designate 192.0.2.1 as permitted sender",
	 NULL, DECIDE_REJECT, "5.7.23"},
	{"softfail accepted by default", "192.0.2.1", "mail.example.net", "user@example.com", NULL, 1,
	 IPREV_PASS, "mail.example.net", NA, SPF_RES_SOFTFAIL, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(mail.example.net); spf=softfail smtp.mailfrom=user@example.com", NULL, DECIDE_ACCEPT, ""},
	{"permerror rejected when configured", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_PERMERROR, CFG_HDR_AR, 0, D, CFG_REJECT, D, D, D,
	 "550 5.7.24 SPF permerror: the SPF record of example.com is invalid", NULL,
	 DECIDE_REJECT, "5.7.24"},
	{"temperror deferred", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_TEMPERROR, CFG_HDR_AR, 0, D, D, D, D, D,
	 "DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary DNS failure checking u@example.com, "
	 "try again later", NULL, DECIDE_DEFER, "4.7.24"},
	{"temperror is never a 5xx", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_TEMPERROR, CFG_HDR_AR, 0, D, D, CFG_REJECT, D, D,
	 "DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary DNS failure checking u@example.com, "
	 "try again later", NULL, DECIDE_DEFER, "4.7.24"},
	{"iprev fail rejects", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_FAIL, "other.example", NA, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.25 Reverse DNS validation failed: no PTR name of 192.0.2.1 resolves back to it",
	 NULL, DECIDE_REJECT, "5.7.25"},
	{"no PTR rejects", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PERMERROR, "", NA, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.25 Reverse DNS validation failed: 192.0.2.1 has no PTR record",
	 NULL, DECIDE_REJECT, "5.7.25"},
	{"iprev temperror defers", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_TEMPERROR, "", NA, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "DEFER_IF_PERMIT 4.7.25 Reverse DNS validation error: temporary DNS failure for "
	 "192.0.2.1, try again later", NULL, DECIDE_DEFER, "4.7.25"},
	{"reject beats defer", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_FAIL, "x.example", NA, SPF_RES_TEMPERROR, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.25 Reverse DNS validation failed: no PTR name of 192.0.2.1 resolves back to it",
	 NULL, DECIDE_REJECT, "5.7.25"},
	{"spf fail before iprev fail", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_FAIL, "x.example", NA, SPF_RES_FAIL, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.23 SPF fail: u@example.com does not designate 192.0.2.1 as permitted sender",
	 NULL, DECIDE_REJECT, "5.7.23"},
	{"report_only answers accept", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_FAIL, CFG_HDR_AR, 1, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(h.example); spf=fail smtp.mailfrom=u@example.com (would reject: 5.7.23)", NULL,
	 DECIDE_REJECT, "5.7.23"},
	{"warn answers accept", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_FAIL, CFG_HDR_AR, 0, CFG_WARN, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(h.example); spf=fail smtp.mailfrom=u@example.com", NULL, DECIDE_REJECT, "5.7.23"},
	{"helo fail rejects", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", SPF_RES_FAIL, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "550 5.7.23 SPF fail: HELO h.example does not designate 192.0.2.1 as permitted sender",
	 NULL, DECIDE_REJECT, "5.7.23"},
	{"helo fail accepted when configured", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", SPF_RES_FAIL, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, CFG_ACCEPT, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(h.example); spf=pass smtp.mailfrom=u@example.com", NULL, DECIDE_ACCEPT, ""},
	{"helo pass alone is smtp.helo", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_NOTCHECKED, "", SPF_RES_PASS, NA, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; spf=pass smtp.helo=h.example", NULL,
	 DECIDE_ACCEPT, ""},
	{"skipped network", "127.0.0.1", "h.example", "u@example.com",
	 "client 127.0.0.1 is in skip.networks, not checked", 1,
	 IPREV_NOTCHECKED, "", NA, NA, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; none (client 127.0.0.1 is in skip.networks, "
	 "not checked)", NULL, DECIDE_ACCEPT, ""},
	{"skipped, received-spf only", "127.0.0.1", "h.example", "u@example.com", "skipped", 1,
	 IPREV_NOTCHECKED, "", NA, NA, CFG_HDR_RECEIVED_SPF, 0, D, D, D, D, D,
	 "DUNNO", NULL, DECIDE_ACCEPT, ""},
	{"header none", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "h.example", NA, SPF_RES_PASS, CFG_HDR_NONE, 0, D, D, D, D, D,
	 "DUNNO", NULL, DECIDE_ACCEPT, ""},
	{"no header at this state", "192.0.2.1", "h.example", "u@example.com", NULL, 0,
	 IPREV_PASS, "h.example", NA, SPF_RES_PASS, CFG_HDR_AR, 0, D, D, D, D, D,
	 "DUNNO", NULL, DECIDE_ACCEPT, ""},
	{"received-spf, exact syntax", "192.0.2.1", "mail.example.net", "user@example.com", NULL, 1,
	 IPREV_NOTCHECKED, "", NA, SPF_RES_PASS, CFG_HDR_RECEIVED_SPF, 0, D, D, D, D, D,
	 "PREPEND Received-SPF: pass (mx.test: domain of user@example.com designates 192.0.2.1 "
	 "as permitted sender) client-ip=192.0.2.1; envelope-from=\"user@example.com\"; "
	 "helo=mail.example.net; receiver=mx.test; identity=mailfrom", NULL, DECIDE_ACCEPT, ""},
	{"null sender is the helo identity", "192.0.2.1", "mail.example.net", "", NULL, 1,
	 IPREV_NOTCHECKED, "", NA, SPF_RES_PASS, CFG_HDR_BOTH, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; spf=pass smtp.helo=mail.example.net",
	 "Received-SPF: pass (mx.test: domain of postmaster@mail.example.net designates "
	 "192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"\"; "
	 "helo=mail.example.net; receiver=mx.test; identity=helo", DECIDE_ACCEPT, ""},
	{"ipv6 values are quoted", "2001:db8::25", "mail.example.net", "u@example.com", NULL, 1,
	 IPREV_PASS, "mail.example.net", NA, SPF_RES_NEUTRAL, CFG_HDR_BOTH, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=\"2001:db8::25\" "
	 "(mail.example.net); spf=neutral smtp.mailfrom=u@example.com",
	 "Received-SPF: neutral (mx.test: 2001:db8::25 is neither permitted nor denied by "
	 "domain of u@example.com) client-ip=\"2001:db8::25\"; envelope-from=\"u@example.com\"; "
	 "helo=mail.example.net; receiver=mx.test; identity=mailfrom", DECIDE_ACCEPT, ""},
	{"hostile text is escaped", "192.0.2.1", "evil\"; x=(y)", "a b\"c@example.com", NULL, 1,
	 IPREV_PASS, "ptr(with)paren\\.example", NA, SPF_RES_FAIL, CFG_HDR_RECEIVED_SPF, 0,
	 CFG_ACCEPT, D, D, D, D,
	 "PREPEND Received-SPF: fail (mx.test: domain of a b\"c@example.com does not designate "
	 "192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"a b\\\"c@example.com\"; "
	 "helo=\"evil\\\"; x=(y)\"; receiver=mx.test; identity=mailfrom", NULL, DECIDE_ACCEPT, ""},
	{"hostile ptr name in a comment", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_PASS, "ptr(with)paren\\.example", NA, NA, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; iprev=pass policy.iprev=192.0.2.1 "
	 "(ptr\\(with\\)paren\\\\.example)", NULL, DECIDE_ACCEPT, ""},
	{"nothing checked", "192.0.2.1", "h.example", "u@example.com", NULL, 1,
	 IPREV_NOTCHECKED, "", NA, NA, CFG_HDR_AR, 0, D, D, D, D, D,
	 "PREPEND Authentication-Results: mx.test; none", NULL, DECIDE_ACCEPT, ""},
};

static void
base_cfg(struct cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->authserv_id = "mx.test";
	cfg->ptr.enabled = 1;
	cfg->ptr.on_missing = CFG_REJECT;
	cfg->ptr.on_fail = CFG_REJECT;
	cfg->ptr.on_temperror = CFG_DEFER;
	cfg->ptr.max_names = 10;
	cfg->spf.helo = cfg->spf.mailfrom = 1;
	cfg->spf.on_fail = CFG_REJECT;
	cfg->spf.on_softfail = cfg->spf.on_neutral = cfg->spf.on_none = CFG_ACCEPT;
	cfg->spf.on_permerror = CFG_ACCEPT;
	cfg->spf.on_temperror = CFG_DEFER;
	cfg->spf.helo_on_fail = CFG_REJECT;
}

static void
fill_outcome(struct spf_outcome *o, int res, enum spf_identity id,
    const char *checked)
{
	const char *at = strrchr(checked, '@');

	memset(o, 0, sizeof(*o));
	o->result = (enum spf_result)res;
	o->identity = id;
	snprintf(o->checked, sizeof(o->checked), "%s", checked);
	snprintf(o->domain, sizeof(o->domain), "%s", at ? at + 1 : checked);
}

static void
test_table(void **state)
{
	size_t	i;
	int	bad = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct cfg cfg;
		struct policy_req req;
		struct netaddr ip;
		struct spf_outcome helo, mf;
		struct decide_in in;
		struct decision d;
		char	pm[320];

		base_cfg(&cfg);
		cfg.header = r->header;
		cfg.report_only = r->report_only;
		if (r->on_fail != D)
			cfg.spf.on_fail = r->on_fail;
		if (r->on_permerror != D)
			cfg.spf.on_permerror = r->on_permerror;
		if (r->on_temperror != D)
			cfg.spf.on_temperror = r->on_temperror;
		if (r->helo_on_fail != D)
			cfg.spf.helo_on_fail = r->helo_on_fail;
		if (r->ptr_on_fail != D)
			cfg.ptr.on_fail = r->ptr_on_fail;

		memset(&req, 0, sizeof(req));
		req.helo_name = (char *)r->helo;
		req.sender = (char *)r->sender;
		assert_int_equal(netaddr_parse(r->ip, &ip), 0);
		memset(&in, 0, sizeof(in));
		in.req = &req;
		in.client = &ip;
		in.skip_reason = r->skip;
		in.header_ok = r->header_ok;
		in.iprev.result = r->iprev;
		snprintf(in.iprev.name, sizeof(in.iprev.name), "%s", r->iprev_name);
		if (r->helo_res != NA) {
			fill_outcome(&helo, r->helo_res, SPF_ID_HELO, r->helo);
			in.helo = &helo;
		}
		if (r->mf_res != NA) {
			if (r->sender[0] == '\0') {
				snprintf(pm, sizeof(pm), "postmaster@%s", r->helo);
				fill_outcome(&mf, r->mf_res, SPF_ID_HELO, pm);
			} else
				fill_outcome(&mf, r->mf_res, SPF_ID_MAILFROM, r->sender);
			in.mailfrom = &mf;
		}
		decide(&cfg, &in, &d);
		if (strcmp(d.action, r->action) != 0) {
			print_error("row %s: action\n got  %s\n want %s\n", r->name,
			    d.action, r->action);
			bad++;
		}
		if (r->header2 && (d.nheaders < 2 || strcmp(d.headers[1], r->header2))) {
			print_error("row %s: second header\n got  %s\n want %s\n",
			    r->name, d.nheaders > 1 ? d.headers[1] : "(none)", r->header2);
			bad++;
		}
		if (d.would != r->would) {
			print_error("row %s: would got %s, want %s\n", r->name,
			    decide_verdict_str(d.would), decide_verdict_str(r->would));
			bad++;
		}
		if (strcmp(d.code, r->code) != 0 && r->code[0]) {
			print_error("row %s: code got %s, want %s\n", r->name, d.code,
			    r->code);
			bad++;
		}
		if (strchr(d.action, '\n') || strchr(d.action, '\r')) {
			print_error("row %s: newline in action\n", r->name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_quote(void **state)
{
	static const struct {
		const char *in, *want;
	} q[] = {
		{"example.com", "example.com"},
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "\"2001:db8::1\""},
		{"", "\"\""},
		{"a..b", "\"a..b\""},
		{".a", "\".a\""},
		{"a\"b", "\"a\\\"b\""},
		{"a\\b", "\"a\\\\b\""},
		{"tab\there", "\"tab?here\""},
		{"user@example.com", "\"user@example.com\""},
	};
	size_t	i;
	char	out[64];

	(void)state;
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		decide_quote(q[i].in, out, sizeof(out));
		if (strcmp(out, q[i].want) != 0)
			fail_msg("row %zu (%s): got %s, want %s", i, q[i].in, out,
			    q[i].want);
	}
	/* Truncation keeps the quotes balanced. */
	decide_quote("a\"very long string that will not fit", out, 12);
	assert_int_equal(out[0], '"');
	assert_int_equal(out[strlen(out) - 1], '"');
	assert_true(strlen(out) < 12);
}

static void
test_comment(void **state)
{
	char	out[64];

	(void)state;
	assert_string_equal(decide_comment("a(b)c\\d", 80, out, sizeof(out)),
	    "a\\(b\\)c\\\\d");
	assert_string_equal(decide_comment("x\r\ny", 80, out, sizeof(out)), "x??y");
	assert_string_equal(decide_comment("abcdef", 3, out, sizeof(out)), "abc");
}

/* Trusted forwarders and private clients: rows of name, forwarder, nat,
 * private_clients, wanted verdict, would, and the header's end. */
static void
test_forwarder_nat(void **state)
{
	static const struct {
		const char *name, *forwarder, *nat;
		enum cfg_private priv;
		enum decide_verdict verdict, would;
		int	relaxed;
		const char *tail;
	} frows[] = {
		{"plain fail", NULL, NULL, CFG_PRIVATE_ACCEPT, DECIDE_REJECT, DECIDE_REJECT, 0,
		 NULL},
		{"forwarder", "mx.fwd.example", NULL, CFG_PRIVATE_ACCEPT, DECIDE_ACCEPT,
		 DECIDE_ACCEPT, 0, "spf=fail smtp.mailfrom=u@example.com (trusted forwarder "
		 "mx.fwd.example: not enforced)"},
		{"nat accept", NULL, "private", CFG_PRIVATE_ACCEPT, DECIDE_ACCEPT, DECIDE_REJECT, 1,
		 "spf=fail smtp.mailfrom=u@example.com (private client address 10.1.2.3: NAT or "
		 "container? not enforced)"},
		{"nat check", NULL, "private", CFG_PRIVATE_CHECK, DECIDE_REJECT, DECIDE_REJECT, 0,
		 NULL},
		{"comment escaped", "a(b)", NULL, CFG_PRIVATE_ACCEPT, DECIDE_ACCEPT, DECIDE_ACCEPT,
		 0, "(trusted forwarder a\\(b\\): not enforced)"},
		{"both", "mx.fwd.example", "cgnat", CFG_PRIVATE_ACCEPT, DECIDE_ACCEPT,
		 DECIDE_ACCEPT, 0, "not enforced) (cgnat client address 10.1.2.3: NAT or "
		 "container? not enforced)"},
	};
	struct policy_req req;
	struct netaddr client;
	struct spf_outcome mf;
	struct decide_in in;
	struct decision d;
	struct cfg c;
	size_t	i, tl;

	(void)state;
	for (i = 0; i < sizeof(frows) / sizeof(frows[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.authserv_id = (char *)"mx.test";
		c.header = CFG_HDR_AR;
		c.spf.on_fail = CFG_REJECT;
		c.ptr.on_fail = CFG_REJECT;
		c.private_clients = frows[i].priv;
		memset(&req, 0, sizeof(req));
		req.helo_name = req.sender = (char *)"";
		memset(&mf, 0, sizeof(mf));
		mf.result = SPF_RES_FAIL;
		mf.identity = SPF_ID_MAILFROM;
		snprintf(mf.checked, sizeof(mf.checked), "u@example.com");
		snprintf(mf.domain, sizeof(mf.domain), "example.com");
		netaddr_parse("10.1.2.3", &client);
		memset(&in, 0, sizeof(in));
		in.req = &req;
		in.client = &client;
		in.header_ok = 1;
		in.iprev.result = IPREV_NOTCHECKED;
		in.mailfrom = &mf;
		in.forwarder = frows[i].forwarder;
		in.nat = frows[i].nat;
		decide(&c, &in, &d);
		if (d.verdict != frows[i].verdict || d.would != frows[i].would ||
		    d.relaxed != frows[i].relaxed)
			fail_msg("row %s: got verdict %s would %s relaxed %d, "
			    "want %s %s %d", frows[i].name,
			    decide_verdict_str(d.verdict),
			    decide_verdict_str(d.would), d.relaxed,
			    decide_verdict_str(frows[i].verdict),
			    decide_verdict_str(frows[i].would), frows[i].relaxed);
		if (frows[i].tail == NULL)
			continue;
		tl = strlen(frows[i].tail);
		if (strlen(d.action) < tl ||
		    strcmp(d.action + strlen(d.action) - tl, frows[i].tail) != 0)
			fail_msg("row %s: got \"%s\", want it to end in \"%s\"",
			    frows[i].name, d.action, frows[i].tail);
	}
}

/*
 * The newer rules, one row each: a request (client 192.0.2.1, HELO
 * mail.example.net), its results, the configuration that differs from
 * base_cfg(), and what decide() answers. Outcomes name their identity
 * unless "unnamed" (a check cut short by the deadline).
 */
struct xrow {
	const char *name;
	const char *sender;		/* NULL: "u@example.com" */
	const char *rcpt;		/* NULL: "r@example.org" */
	int	iprev;			/* SET(enum iprev_result); 0: pass */
	int	helo_res, mf_res;	/* SET(enum spf_result); 0: not run */
	int	unnamed;		/* outcomes without checked/domain */
	/* configuration */
	int	on_missing, on_fail, on_temperror, unless, report_only;
	int	spf_on_permerror;
	enum cfg_header header;
	const char *nat;
	const char **skip_rcpt;		/* NULL: none */
	/* wanted */
	enum decide_verdict verdict, would;
	const char *exempt;
	const char *action;		/* the whole action */
	const char *header2;		/* NULL: not checked */
};

#define SET(x)	((int)(x) + 1)		/* a value; 0 keeps the default */

static const char *postmaster[] = {"postmaster@", "@whole.example", NULL};

static const struct xrow xrows[] = {
	/* ptr.on_missing for permerror, ptr.on_fail for fail. */
	{.name = "no PTR: on_missing", .iprev = SET(IPREV_PERMERROR),
	 .on_missing = SET(CFG_REJECT), .on_fail = SET(CFG_ACCEPT),
	 .verdict = DECIDE_REJECT, .would = DECIDE_REJECT,
	 .action = "550 5.7.25 Reverse DNS validation failed: 192.0.2.1 has no PTR record"},
	{.name = "no PTR: on_fail does not count", .iprev = SET(IPREV_PERMERROR),
	 .on_missing = SET(CFG_ACCEPT), .on_fail = SET(CFG_REJECT),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=permerror "
	 "policy.iprev=192.0.2.1"},
	{.name = "no PTR: defer", .iprev = SET(IPREV_PERMERROR),
	 .on_missing = SET(CFG_DEFER), .verdict = DECIDE_DEFER, .would = DECIDE_DEFER,
	 .action = "DEFER_IF_PERMIT 4.7.25 Reverse DNS validation failed: 192.0.2.1 has "
	 "no PTR record"},
	{.name = "no PTR: warn", .iprev = SET(IPREV_PERMERROR),
	 .on_missing = SET(CFG_WARN), .on_fail = SET(CFG_REJECT), .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .action = "PREPEND Authentication-Results: mx.test; "
	 "iprev=permerror policy.iprev=192.0.2.1"},
	{.name = "fail: on_fail", .iprev = SET(IPREV_FAIL),
	 .on_missing = SET(CFG_ACCEPT), .on_fail = SET(CFG_REJECT),
	 .verdict = DECIDE_REJECT, .would = DECIDE_REJECT,
	 .action = "550 5.7.25 Reverse DNS validation failed: no PTR name of 192.0.2.1 "
	 "resolves back to it"},
	{.name = "fail: on_missing does not count", .iprev = SET(IPREV_FAIL),
	 .on_missing = SET(CFG_REJECT), .on_fail = SET(CFG_ACCEPT),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=fail policy.iprev=192.0.2.1 "
	 "(ptr.example)"},
	/* unless_spf_pass. */
	{.name = "no PTR, SPF pass", .iprev = SET(IPREV_PERMERROR), .mf_res = SET(SPF_RES_PASS),
	 .unless = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=permerror "
	 "policy.iprev=192.0.2.1; spf=pass smtp.mailfrom=u@example.com"},
	{.name = "fail, SPF pass", .iprev = SET(IPREV_FAIL), .mf_res = SET(SPF_RES_PASS),
	 .unless = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=fail policy.iprev=192.0.2.1 "
	 "(ptr.example); spf=pass smtp.mailfrom=u@example.com"},
	{.name = "temperror, SPF pass", .iprev = SET(IPREV_TEMPERROR), .mf_res = SET(SPF_RES_PASS),
	 .unless = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=temperror "
	 "policy.iprev=192.0.2.1; spf=pass smtp.mailfrom=u@example.com"},
	{.name = "warn, SPF pass", .iprev = SET(IPREV_PERMERROR), .mf_res = SET(SPF_RES_PASS),
	 .on_missing = SET(CFG_WARN), .unless = SET(1), .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_ACCEPT, .action = NULL},
	{.name = "SPF pass, unless_spf_pass off", .iprev = SET(IPREV_PERMERROR),
	 .mf_res = SET(SPF_RES_PASS), .unless = SET(0), .verdict = DECIDE_REJECT,
	 .would = DECIDE_REJECT, .action = "550 5.7.25 Reverse DNS validation failed: "
	 "192.0.2.1 has no PTR record"},
	{.name = "SPF softfail does not disarm", .iprev = SET(IPREV_FAIL),
	 .mf_res = SET(SPF_RES_SOFTFAIL), .unless = SET(1), .verdict = DECIDE_REJECT,
	 .would = DECIDE_REJECT, .action = "550 5.7.25 Reverse DNS validation failed: "
	 "no PTR name of 192.0.2.1 resolves back to it"},
	{.name = "HELO pass does not disarm", .iprev = SET(IPREV_PERMERROR),
	 .helo_res = SET(SPF_RES_PASS), .mf_res = SET(SPF_RES_NONE), .unless = SET(1),
	 .verdict = DECIDE_REJECT, .would = DECIDE_REJECT, .action = "550 5.7.25 Reverse "
	 "DNS validation failed: 192.0.2.1 has no PTR record"},
	{.name = "null sender: HELO identity pass", .sender = "", .iprev = SET(IPREV_PERMERROR), .mf_res = SET(SPF_RES_PASS), .unless = SET(1),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=permerror "
	 "policy.iprev=192.0.2.1; spf=pass smtp.helo=mail.example.net"},
	{.name = "null sender: HELO check only", .sender = "", .iprev = SET(IPREV_FAIL),
	 .helo_res = SET(SPF_RES_PASS), .unless = SET(1),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT, .action = NULL},
	{.name = "SPF fail still rejects", .iprev = SET(IPREV_PERMERROR), .mf_res = SET(SPF_RES_FAIL),
	 .unless = SET(1), .verdict = DECIDE_REJECT, .would = DECIDE_REJECT,
	 .action = "550 5.7.23 SPF fail: u@example.com does not designate 192.0.2.1 as "
	 "permitted sender"},
	/* skip.recipients. */
	{.name = "postmaster not refused", .rcpt = "postmaster@example.org",
	 .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_FAIL), .skip_rcpt = postmaster,
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT, .exempt = "recipient",
	 .action = "PREPEND Authentication-Results: mx.test; iprev=pass "
	 "policy.iprev=192.0.2.1 (ptr.example); spf=fail smtp.mailfrom=u@example.com"},
	{.name = "postmaster case", .rcpt = "PostMaster@Example.ORG", .iprev = SET(IPREV_FAIL), .skip_rcpt = postmaster, .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .exempt = "recipient", .action = NULL},
	{.name = "whole domain, defer", .rcpt = "x@whole.example", .iprev = SET(IPREV_TEMPERROR), .skip_rcpt = postmaster, .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_DEFER, .exempt = "recipient", .action = NULL},
	{.name = "other recipient refused", .rcpt = "user@example.org", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_FAIL), .skip_rcpt = postmaster, .verdict = DECIDE_REJECT,
	 .would = DECIDE_REJECT, .action = NULL},
	{.name = "subaddress refused", .rcpt = "postmaster+x@example.org",
	 .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_FAIL), .skip_rcpt = postmaster,
	 .verdict = DECIDE_REJECT, .would = DECIDE_REJECT, .action = NULL},
	{.name = "no recipient (DATA)", .rcpt = "", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_FAIL), .skip_rcpt = postmaster, .verdict = DECIDE_REJECT,
	 .would = DECIDE_REJECT, .action = NULL},
	{.name = "nothing to exempt", .rcpt = "postmaster@example.org", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_PASS), .skip_rcpt = postmaster, .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_ACCEPT, .action = NULL},
	{.name = "exempt under report_only", .rcpt = "postmaster@example.org",
	 .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_FAIL), .skip_rcpt = postmaster,
	 .report_only = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT,
	 .exempt = "recipient", .action = "PREPEND Authentication-Results: mx.test; "
	 "iprev=pass policy.iprev=192.0.2.1 (ptr.example); spf=fail "
	 "smtp.mailfrom=u@example.com"},
	/* report_only: what would have been done, next to its result. */
	{.name = "report iprev", .iprev = SET(IPREV_FAIL), .mf_res = SET(SPF_RES_PASS),
	 .report_only = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=fail "
	 "policy.iprev=192.0.2.1 (ptr.example) (would reject: 5.7.25); spf=pass "
	 "smtp.mailfrom=u@example.com"},
	{.name = "report iprev defer", .iprev = SET(IPREV_TEMPERROR),
	 .report_only = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_DEFER,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=temperror "
	 "policy.iprev=192.0.2.1 (would defer: 4.7.25)"},
	{.name = "report spf mailfrom", .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_PERMERROR),
	 .spf_on_permerror = SET(CFG_REJECT), .report_only = SET(1),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=pass "
	 "policy.iprev=192.0.2.1 (ptr.example); spf=permerror smtp.mailfrom=u@example.com "
	 "(would reject: 5.7.24)"},
	{.name = "report spf helo, not shown", .iprev = SET(IPREV_PASS), .helo_res = SET(SPF_RES_FAIL),
	 .mf_res = SET(SPF_RES_PASS), .report_only = SET(1), .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .action = "PREPEND Authentication-Results: mx.test; "
	 "iprev=pass policy.iprev=192.0.2.1 (ptr.example); spf=pass "
	 "smtp.mailfrom=u@example.com (would reject: 5.7.23 spf_helo)"},
	{.name = "report spf helo, shown", .iprev = SET(IPREV_NOTCHECKED),
	 .helo_res = SET(SPF_RES_FAIL), .report_only = SET(1),
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT,
	 .action = "PREPEND Authentication-Results: mx.test; spf=fail "
	 "smtp.helo=mail.example.net (would reject: 5.7.23)"},
	{.name = "report in both headers", .iprev = SET(IPREV_FAIL), .mf_res = SET(SPF_RES_PASS),
	 .report_only = SET(1), .header = CFG_HDR_BOTH, .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .action = NULL,
	 .header2 = "Received-SPF: pass (mx.test: domain of u@example.com designates "
	 "192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	 "envelope-from=\"u@example.com\"; helo=mail.example.net; receiver=mx.test; "
	 "identity=mailfrom (would reject: 5.7.25 iprev)"},
	{.name = "report received-spf, own result", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_FAIL), .report_only = SET(1), .header = CFG_HDR_RECEIVED_SPF,
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_REJECT,
	 .action = "PREPEND Received-SPF: fail (mx.test: domain of u@example.com does not "
	 "designate 192.0.2.1 as permitted sender) client-ip=192.0.2.1; "
	 "envelope-from=\"u@example.com\"; helo=mail.example.net; receiver=mx.test; "
	 "identity=mailfrom (would reject: 5.7.23)"},
	{.name = "report, nothing refused", .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_PASS),
	 .report_only = SET(1), .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=pass "
	 "policy.iprev=192.0.2.1 (ptr.example); spf=pass smtp.mailfrom=u@example.com"},
	{.name = "report, warn only", .iprev = SET(IPREV_FAIL),
	 .on_fail = SET(CFG_WARN), .report_only = SET(1), .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .action = "PREPEND Authentication-Results: mx.test; "
	 "iprev=fail policy.iprev=192.0.2.1 (ptr.example)"},
	{.name = "report, private client", .iprev = SET(IPREV_FAIL),
	 .report_only = SET(1), .nat = "private", .verdict = DECIDE_ACCEPT,
	 .would = DECIDE_REJECT, .action = "PREPEND Authentication-Results: mx.test; "
	 "iprev=fail policy.iprev=192.0.2.1 (ptr.example) (private client address "
	 "192.0.2.1: NAT or container? not enforced)"},
	{.name = "no report without report_only", .iprev = SET(IPREV_FAIL),
	 .on_fail = SET(CFG_ACCEPT), .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=fail "
	 "policy.iprev=192.0.2.1 (ptr.example)"},
	/* An SPF check cut short: the identity from the request. */
	{.name = "deadline: sender", .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_TEMPERROR),
	 .unnamed = 1, .verdict = DECIDE_DEFER, .would = DECIDE_DEFER,
	 .action = "DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary DNS failure checking "
	 "u@example.com, try again later"},
	{.name = "deadline: null sender", .sender = "", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_TEMPERROR), .unnamed = 1, .verdict = DECIDE_DEFER,
	 .would = DECIDE_DEFER, .action = "DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary "
	 "DNS failure checking postmaster@mail.example.net, try again later"},
	{.name = "deadline: HELO fail", .iprev = SET(IPREV_PASS), .helo_res = SET(SPF_RES_FAIL), .unnamed = 1, .verdict = DECIDE_REJECT, .would = DECIDE_REJECT,
	 .action = "550 5.7.23 SPF fail: HELO mail.example.net does not designate "
	 "192.0.2.1 as permitted sender"},
	{.name = "deadline: permerror domain", .iprev = SET(IPREV_PASS),
	 .mf_res = SET(SPF_RES_PERMERROR), .unnamed = 1, .spf_on_permerror = SET(CFG_REJECT),
	 .verdict = DECIDE_REJECT, .would = DECIDE_REJECT,
	 .action = "550 5.7.24 SPF permerror: the SPF record of example.com is invalid"},
	{.name = "deadline: header", .iprev = SET(IPREV_PASS), .mf_res = SET(SPF_RES_TEMPERROR),
	 .unnamed = 1, .on_temperror = SET(CFG_ACCEPT), .header = CFG_HDR_BOTH,
	 .verdict = DECIDE_ACCEPT, .would = DECIDE_ACCEPT,
	 .action = "PREPEND Authentication-Results: mx.test; iprev=pass "
	 "policy.iprev=192.0.2.1 (ptr.example); spf=temperror smtp.mailfrom=u@example.com",
	 .header2 = "Received-SPF: temperror (mx.test: temporary error checking "
	 "u@example.com) client-ip=192.0.2.1; envelope-from=\"u@example.com\"; "
	 "helo=mail.example.net; receiver=mx.test; identity=mailfrom"},
};

static void
test_rules(void **state)
{
	size_t	i;
	int	bad = 0;

	(void)state;
	for (i = 0; i < sizeof(xrows) / sizeof(xrows[0]); i++) {
		const struct xrow *r = &xrows[i];
		const char *sender = r->sender ? r->sender : "u@example.com";
		const char *checked = sender;
		struct cfg cfg;
		struct policy_req req;
		struct netaddr ip;
		struct spf_outcome helo, mf;
		struct decide_in in;
		struct decision d;
		char	pm[320];
		int	n;

		base_cfg(&cfg);
		cfg.header = r->header;
		if (r->on_missing)
			cfg.ptr.on_missing = r->on_missing - 1;
		if (r->on_fail)
			cfg.ptr.on_fail = r->on_fail - 1;
		if (r->on_temperror)
			cfg.spf.on_temperror = r->on_temperror - 1;
		if (r->unless)
			cfg.ptr.unless_spf_pass = r->unless - 1;
		if (r->report_only)
			cfg.report_only = r->report_only - 1;
		if (r->spf_on_permerror)
			cfg.spf.on_permerror = r->spf_on_permerror - 1;
		for (n = 0; r->skip_rcpt && r->skip_rcpt[n]; n++)
			cfg.skip_recipients[n] = (char *)r->skip_rcpt[n];
		cfg.nskip_recipients = n;

		memset(&req, 0, sizeof(req));
		req.helo_name = (char *)"mail.example.net";
		req.sender = (char *)sender;
		req.recipient = (char *)(r->rcpt ? r->rcpt : "r@example.org");
		assert_int_equal(netaddr_parse("192.0.2.1", &ip), 0);
		memset(&in, 0, sizeof(in));
		in.req = &req;
		in.client = &ip;
		in.header_ok = 1;
		in.iprev.result = r->iprev ? (enum iprev_result)(r->iprev - 1) :
		    IPREV_PASS;
		snprintf(in.iprev.name, sizeof(in.iprev.name), "%s",
		    in.iprev.result == IPREV_PASS || in.iprev.result == IPREV_FAIL ?
		    "ptr.example" : "");
		in.nat = r->nat;
		if (r->helo_res) {
			fill_outcome(&helo, r->helo_res - 1, SPF_ID_HELO,
			    r->unnamed ? "" : "mail.example.net");
			if (r->unnamed)
				helo.domain[0] = '\0';
			in.helo = &helo;
		}
		if (r->mf_res) {
			if (sender[0] == '\0') {
				snprintf(pm, sizeof(pm), "postmaster@mail.example.net");
				checked = pm;
			}
			fill_outcome(&mf, r->mf_res - 1, sender[0] ? SPF_ID_MAILFROM :
			    SPF_ID_HELO, r->unnamed ? "" : checked);
			if (r->unnamed)
				mf.domain[0] = '\0';
			in.mailfrom = &mf;
		}
		decide(&cfg, &in, &d);
		if (d.verdict != r->verdict || d.would != r->would ||
		    (d.exempt == NULL) != (r->exempt == NULL) ||
		    (d.exempt && strcmp(d.exempt, r->exempt) != 0)) {
			print_error("row %s: got verdict %s would %s exempt %s, "
			    "want %s %s %s\n", r->name,
			    decide_verdict_str(d.verdict),
			    decide_verdict_str(d.would),
			    d.exempt ? d.exempt : "-",
			    decide_verdict_str(r->verdict),
			    decide_verdict_str(r->would),
			    r->exempt ? r->exempt : "-");
			bad++;
		}
		if (r->action && strcmp(d.action, r->action) != 0) {
			print_error("row %s: action\n got  %s\n want %s\n", r->name,
			    d.action, r->action);
			bad++;
		}
		if (r->header2 && (d.nheaders < 2 ||
		    strcmp(d.headers[1], r->header2) != 0)) {
			print_error("row %s: second header\n got  %s\n want %s\n",
			    r->name, d.nheaders > 1 ? d.headers[1] : "(none)",
			    r->header2);
			bad++;
		}
		/* A reply or header never names an empty identity. */
		if (strstr(d.action, "checking ,") || strstr(d.action, "of  ") ||
		    strstr(d.action, "smtp.mailfrom=\"\"") ||
		    (d.nheaders > 1 && strstr(d.headers[1], "checking )"))) {
			print_error("row %s: empty identity in \"%s\"\n", r->name,
			    d.action);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The report_only comment is whole or absent, and the header stays
 * within DECIDE_HEADER_MAX, however long the other parts are: every
 * authserv-id length, with the comment after a result and at the end. */
static void
test_report_bounded(void **state)
{
	char	authserv[256], fwd[200], sender[300], want[64];
	struct cfg cfg;
	struct policy_req req;
	struct netaddr ip;
	struct spf_outcome mf, helo;
	struct decide_in in;
	struct decision d;
	size_t	len;
	int	kind, at_end, seen_whole = 0, seen_none = 0;

	(void)state;
	memset(fwd, 'f', sizeof(fwd) - 1);
	fwd[sizeof(fwd) - 1] = '\0';
	memset(sender, 'x', sizeof(sender) - 1);
	snprintf(sender + 250, sizeof(sender) - 250, " \"q\"@example.com");
	for (len = 0; len < sizeof(authserv) - 3; len++)
		for (kind = 0; kind < 2; kind++)
			for (at_end = 0; at_end < 2; at_end++) {
				base_cfg(&cfg);
				memset(authserv, 'a', len);
				snprintf(authserv + len, sizeof(authserv) - len, "mx");
				cfg.authserv_id = authserv;
				cfg.report_only = 1;
				cfg.header = kind ? CFG_HDR_RECEIVED_SPF : CFG_HDR_AR;
				memset(&req, 0, sizeof(req));
				req.helo_name = (char *)"mail.example.net";
				req.sender = sender;
				req.recipient = (char *)"r@example.org";
				netaddr_parse("2001:db8::1", &ip);
				fill_outcome(&mf, SPF_RES_PERMERROR, SPF_ID_MAILFROM,
				    sender);
				memset(mf.problem, 'p', sizeof(mf.problem) - 1);
				mf.problem[sizeof(mf.problem) - 1] = '\0';
				fill_outcome(&helo, SPF_RES_FAIL, SPF_ID_HELO,
				    "mail.example.net");
				memset(&in, 0, sizeof(in));
				in.req = &req;
				in.client = &ip;
				in.header_ok = 1;
				in.iprev.result = at_end ? IPREV_PASS : IPREV_FAIL;
				memset(in.iprev.name, 'n', sizeof(in.iprev.name) - 1);
				in.mailfrom = &mf;
				in.helo = at_end ? &helo : NULL;
				in.forwarder = fwd;
				decide(&cfg, &in, &d);
				snprintf(want, sizeof(want), "(would reject: %s)",
				    at_end ? "5.7.23 spf_helo" : kind ?
				    "5.7.25 iprev" : "5.7.25");
				if (strlen(d.headers[0]) >= DECIDE_HEADER_MAX)
					fail_msg("len %zu: header too long", len);
				if (strstr(d.headers[0], "(would") == NULL)
					seen_none++;
				else if (strstr(d.headers[0], want) != NULL)
					seen_whole++;
				else
					fail_msg("len %zu %s: comment cut: %s", len,
					    kind ? "received-spf" : "ar", d.headers[0]);
				if (len == 0 && strstr(d.headers[0], want) == NULL)
					fail_msg("no comment \"%s\" in %s", want,
					    d.headers[0]);
			}
	/* Both sides of the bound were reached. */
	assert_true(seen_whole > 0);
	assert_true(seen_none > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_forwarder_nat),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_report_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
