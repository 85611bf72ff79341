/* SPDX-License-Identifier: ISC */
/* test_spf - table-driven tests of spf.c (validator, rewriter, identity
 * checks, libspf2 result map) and of the worker sandbox (spfworker.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <spf2/spf.h>

#include "shared/spf.h"
#include "shared/spfworker.h"

#define OK	NULL		/* want: accepted, rewritten as `out` */

static const struct {
	const char *name, *rec;
	int	family;
	const char *out;	/* rewritten record; NULL with err set */
	const char *err;	/* substring of the reason, or NULL */
} rows[] = {
	/* accepted */
	{ "empty", "v=spf1", AF_INET, "v=spf1", NULL },
	{ "caps version", "V=SpF1 -all", AF_INET, "v=spf1 -all", NULL },
	{ "two spaces", "v=spf1 a  -all", AF_INET, "v=spf1 a -all", NULL },
	{ "trailing space", "v=spf1 a -all ", AF_INET, "v=spf1 a -all", NULL },
	{ "ip4 cidr", "v=spf1 ip4:192.0.2.0/24 -all", AF_INET,
	  "v=spf1 ip4:192.0.2.0/24 -all", NULL },
	{ "ip6", "v=spf1 ip6:2001:db8::/32 ~all", AF_INET6,
	  "v=spf1 ip6:2001:db8::/32 ~all", NULL },
	{ "ip6 mapped literal", "v=spf1 ip6:::FFFF:1.2.3.4", AF_INET,
	  "v=spf1 ip6:::FFFF:1.2.3.4", NULL },
	{ "ip4 /0", "v=spf1 ip4:1.1.1.1/0 -all", AF_INET,
	  "v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all", NULL },
	{ "ip6 /0", "v=spf1 -ip6:::1/0", AF_INET6,
	  "v=spf1 -ip6:::/1 -ip6:8000::/1", NULL },
	{ "a/0 v4", "v=spf1 a/0 -all", AF_INET,
	  "v=spf1 a:%{d}.@0 -all", NULL },
	{ "a//0 v4 dropped", "v=spf1 a//0 -all", AF_INET, "v=spf1 a -all", NULL },
	{ "a//0 v6", "v=spf1 a:x.example.com.//0", AF_INET6,
	  "v=spf1 a:x.example.com.@0", NULL },
	{ "mx/0", "v=spf1 ?mx:ex.com/0//64", AF_INET,
	  "v=spf1 ?mx:ex.com.@0", NULL },
	{ "dual cidr", "v=spf1 a/24//64 -all", AF_INET6, "v=spf1 a//64 -all", NULL },
	{ "redirect last", "v=spf1 redirect=_spf.ex.com ip4:1.2.3.4", AF_INET,
	  "v=spf1 ip4:1.2.3.4 redirect=_spf.ex.com", NULL },
	{ "redirect with all", "v=spf1 redirect=x.ex.com ~all", AF_INET,
	  "v=spf1 ~all", NULL },
	{ "exp dropped", "v=spf1 -all exp=e.%{d}", AF_INET, "v=spf1 -all", NULL },
	{ "unknown mod", "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4",
	  AF_INET, "v=spf1 ip4:1.2.3.4", NULL },
	{ "macros", "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}", AF_INET,
	  "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}", NULL },
	{ "escapes", "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
	  AF_INET, "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
	  NULL },
	{ "upper macro", "v=spf1 a:%{H} -all", AF_INET, "v=spf1 a:%{H} -all",
	  NULL },
	{ "colon domain", "v=spf1 a:foo:bar/baz.example.com", AF_INET,
	  "v=spf1 a:foo:bar/baz.example.com", NULL },
	{ "dash toplabel", "v=spf1 a:foo.example.xn--zckzah", AF_INET,
	  "v=spf1 a:foo.example.xn--zckzah", NULL },
	{ "trailing dot", "v=spf1 include:o.spf.example.com.", AF_INET,
	  "v=spf1 include:o.spf.example.com.", NULL },
	{ "default= obsolete", "v=spf1 default=pass", AF_INET, "v=spf1", NULL },
	{ "ptr domain", "v=spf1 ptr:example.com -all", AF_INET,
	  "v=spf1 ptr:example.com -all", NULL },
	/* refused: RFC 7208 syntax */
	{ "not spf", "v=spf10", AF_INET, NULL, "not an SPF" },
	{ "unknown mech", "v=spf1 ip4:1.2.3.4 -all moo", AF_INET, NULL, "unknown" },
	{ "bad modifier name", "v=spf1 moo.cow/far_out=man:dog/cat", AF_INET,
	  NULL, "unknown" },
	{ "digit modifier", "v=spf1 1up=foo", AF_INET, NULL, "unknown" },
	{ "empty modifier name", "v=spf1 =all", AF_INET, NULL, "unknown" },
	{ "redirect colon", "v=spf1 redirect:t2.example.com", AF_INET, NULL,
	  "unknown" },
	{ "all dot", "v=spf1 -all.", AF_INET, NULL, "unknown" },
	{ "all arg", "v=spf1 -all:foobar", AF_INET, NULL, "all" },
	{ "all cidr", "v=spf1 -all/8", AF_INET, NULL, "all" },
	{ "ptr cidr", "v=spf1 ptr/0 -all", AF_INET, NULL, "ptr" },
	{ "ptr empty", "v=spf1 ptr:", AF_INET, NULL, "empty" },
	{ "a empty", "v=spf1 a:", AF_INET, NULL, "empty" },
	{ "a no dot", "v=spf1 a:foo-bar -all", AF_INET, NULL, "top label" },
	{ "a numeric", "v=spf1 a:111.222.33.44", AF_INET, NULL, "top label" },
	{ "a numeric top", "v=spf1 a:abc.123", AF_INET, NULL, "top label" },
	{ "a single label", "v=spf1 a:museum", AF_INET, NULL, "top label" },
	{ "a single label dot", "v=spf1 a:museum.", AF_INET, NULL, "top label" },
	{ "a bad toplabel", "v=spf1 a:example.-com", AF_INET, NULL, "top label" },
	{ "a port", "v=spf1 a:example.com:8080", AF_INET, NULL, "top label" },
	{ "a cidr 33", "v=spf1 a/33 -all", AF_INET, NULL, "ip4 cidr" },
	{ "a cidr6 129", "v=spf1 a//129 -all", AF_INET, NULL, "ip6 cidr" },
	{ "a bad dual", "v=spf1 a/24/64 -all", AF_INET, NULL, "ip4 cidr" },
	{ "cidr leading zero", "v=spf1 ip4:1.2.3.4/032 -all", AF_INET, NULL,
	  "cidr" },
	{ "ip4 bare", "v=spf1 ip4", AF_INET, NULL, "address" },
	{ "ip4 dual", "v=spf1 ip4:1.2.3.4//32", AF_INET, NULL, "cidr" },
	{ "ip4 port", "v=spf1 ip4:1.2.3.4:8080", AF_INET, NULL, "address" },
	{ "ip4 short", "v=spf1 ip4:1.2.3", AF_INET, NULL, "address" },
	{ "ip4 leading zero", "v=spf1 ip4:01.2.3.4", AF_INET, NULL, "address" },
	{ "ip6 bad", "v=spf1 ip6::CAFE::BABE", AF_INET, NULL, "address" },
	{ "ip6 129", "v=spf1 ip6:::1.1.1.1/129", AF_INET, NULL, "cidr" },
	{ "include none", "v=spf1 include +all", AF_INET, NULL, "domain" },
	{ "include cidr", "v=spf1 include:ip5.example.com/24", AF_INET, NULL,
	  "top label" },
	{ "exists cidr", "v=spf1 exists:mail.example.com/24", AF_INET, NULL,
	  "top label" },
	{ "exists bare", "v=spf1 exists", AF_INET, NULL, "domain" },
	{ "redirect twice", "v=spf1 redirect=a.example.com redirect=a.example.com",
	  AF_INET, NULL, "duplicate redirect" },
	{ "exp twice", "v=spf1 exp=a.example.com -all exp=b.example.com",
	  AF_INET, NULL, "duplicate exp" },
	{ "exp empty", "v=spf1 exp= -all", AF_INET, NULL, "empty" },
	{ "exp syntax", "v=spf1 exp=-all", AF_INET, NULL, "top label" },
	{ "redirect empty", "v=spf1 ?all redirect=", AF_INET, NULL, "empty" },
	{ "redirect syntax", "v=spf1 redirect=-all ?all", AF_INET, NULL,
	  "top label" },
	{ "unknown mod syntax", "v=spf1 -all foo=%abc", AF_INET, NULL, "escape" },
	{ "macro letter", "v=spf1 a:%{a}.example.com", AF_INET, NULL, "letter" },
	{ "exp-only letter", "v=spf1 -all exp=%{r}.example.com", AF_INET, NULL,
	  "letter" },
	{ "bad escape", "v=spf1 -exists:%(ir).sbl.example.com", AF_INET, NULL,
	  "escape" },
	{ "trailing percent", "v=spf1 exists:foo%", AF_INET, NULL, "trailing" },
	{ "unterminated", "v=spf1 exists:%{d.example.com", AF_INET, NULL,
	  "unterminated" },
	{ "transformer zero", "v=spf1 exists:%{d0}.x.com", AF_INET, NULL,
	  "transformer" },
	{ "control char", "v=spf1 a:ctrl.example.com\rptr -all", AF_INET, NULL,
	  "control" },
	{ "newline", "v=spf1 ip4:192.0.2.5\n include:x.com ~all", AF_INET, NULL,
	  "control" },
	{ "non-ascii", "v=spf1 \x80" "a:example.net -all", AF_INET, NULL,
	  "non-ASCII" },
	/* refused: safety rules R3/R4 */
	{ "five escapes", "v=spf1 exists:%{d}%{d}%{d}%{d}%{d}.x.com", AF_INET,
	  NULL, "too many macros" },
};

/* "@0" in a wanted output stands for this process's /0 suffix. */
static void
want_out(const char *pat, char *buf, size_t len)
{
	const char *at = strstr(pat, "@0");

	if (at == NULL)
		snprintf(buf, len, "%s", pat);
	else
		snprintf(buf, len, "%.*s%s%s", (int)(at - pat), pat,
		    spf_cidr0_suffix(), at + 2);
}

/* The /0 marker: fixed length, random hex, the same all process long. */
static void
test_cidr0_suffix(void **state)
{
	const char *x = spf_cidr0_suffix();
	size_t	i;

	(void)state;
	if (strlen(x) != SPF_CIDR0_SUFFIX_LEN || strncmp(x, "rt-cidr0-", 9) != 0 ||
	    strcmp(x + 25, ".invalid") != 0)
		fail_msg("suffix \"%s\": want rt-cidr0-<16 hex>.invalid", x);
	for (i = 9; i < 25; i++)
		if (!isxdigit((unsigned char)x[i]))
			fail_msg("suffix \"%s\": byte %zu is not hex", x, i);
	if (spf_cidr0_suffix() != x || strcmp(spf_cidr0_suffix(), x) != 0)
		fail_msg("suffix changed within the process");
	if (strcmp(x, "rt-cidr0-0000000000000000.invalid") == 0)
		fail_msg("suffix is not random");
}

static void
test_rewrite(void **state)
{
	char	out[SPF_REWRITE_MAX], why[128], want[SPF_REWRITE_MAX];
	size_t	i;
	int	r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = spf_record_rewrite(rows[i].rec, strlen(rows[i].rec),
		    rows[i].family, out, sizeof(out), why, sizeof(why));
		if (rows[i].out != NULL) {
			want_out(rows[i].out, want, sizeof(want));
			if (r != 0 || strcmp(out, want) != 0)
				fail_msg("row %s: got %d \"%s\" (%s), want \"%s\"",
				    rows[i].name, r, out, why, want);
		} else if (r != -1 || strstr(why, rows[i].err) == NULL)
			fail_msg("row %s: got %d \"%s\", want error \"%s\"",
			    rows[i].name, r, r == 0 ? out : why, rows[i].err);
	}
}

static void
test_limits(void **state)
{
	char	rec[SPF_RECORD_MAX + 64], out[SPF_REWRITE_MAX], why[128];
	size_t	n;
	int	i;

	(void)state;
	/* a NUL inside a record (a-null) */
	assert_int_equal(spf_record_rewrite("v=spf1 a:foo.example.com\0", 25,
	    AF_INET, out, sizeof(out), why, sizeof(why)), -1);
	/* a term over SPF_TERM_MAX */
	n = (size_t)snprintf(rec, sizeof(rec), "v=spf1 a:");
	memset(rec + n, 'x', 300);
	strcpy(rec + n + 300, ".example.com");
	assert_int_equal(spf_record_rewrite(rec, strlen(rec), AF_INET, out,
	    sizeof(out), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "term too long"));
	/* a record over SPF_RECORD_MAX */
	n = (size_t)snprintf(rec, sizeof(rec), "v=spf1");
	while (n < SPF_RECORD_MAX + 10)
		n += (size_t)snprintf(rec + n, sizeof(rec) - n, " ip4:1.2.3.4");
	assert_int_equal(spf_record_rewrite(rec, n, AF_INET, out, sizeof(out),
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "record too long"));
	/* more than SPF_RECORD_MACROS_MAX macros */
	n = (size_t)snprintf(rec, sizeof(rec), "v=spf1");
	for (i = 0; i < 11; i++)
		n += (size_t)snprintf(rec + n, sizeof(rec) - n,
		    " exists:%%{i}.x%d.com", i);
	assert_int_equal(spf_record_rewrite(rec, n, AF_INET, out, sizeof(out),
	    why, sizeof(why)), -1);
	/* the CVE-2023-42118 shape: over-long term refused */
	n = (size_t)snprintf(rec, sizeof(rec), "v=spf1 x=");
	memset(rec + n, 'A', 248);
	n += 248;
	n += (size_t)snprintf(rec + n, sizeof(rec) - n, "%%{d}");
	memset(rec + n, 'B', 244);
	n += 244;
	n += (size_t)snprintf(rec + n, sizeof(rec) - n, "%%{d}CCCC -all");
	assert_int_equal(spf_record_rewrite(rec, n, AF_INET, out, sizeof(out),
	    why, sizeof(why)), 0);	/* unknown modifier: dropped */
	assert_string_equal(out, "v=spf1 -all");
}

static const struct {
	const char *dom;
	int	want;
} domains[] = {
	{ "example.com", 1 }, { "mail.example.com.", 1 }, { "a.b", 1 },
	{ "A12345678901234567890123456789012345678901234567890123456789012."
	  "example.com", 1 },
	{ "xn--zckzah.example", 1 },
	{ "", 0 }, { "A2345678", 0 }, { "[1.2.3.5]", 0 }, { "A...example.com", 0 },
	{ "A123456789012345678901234567890123456789012345678901234567890123."
	  "example.com", 0 },
	{ "1.2.3.4", 0 }, { "a b.example.com", 0 }, { ".example.com", 0 },
};

static void
test_domains(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		if (spf_domain_ok(domains[i].dom) != domains[i].want)
			fail_msg("row %s: got %d, want %d", domains[i].dom,
			    !domains[i].want, domains[i].want);
	assert_int_equal(spf_name_ok("mail.example...com"), 0);
	assert_int_equal(spf_name_ok(""), 0);
	assert_int_equal(spf_name_ok("x.example.com."), 1);
}

static const struct {
	int	res, err;
	enum spf_result want;
} maps[] = {
	{ SPF_RESULT_PASS, 0, SPF_RES_PASS },
	{ SPF_RESULT_FAIL, 0, SPF_RES_FAIL },
	{ SPF_RESULT_SOFTFAIL, 0, SPF_RES_SOFTFAIL },
	{ SPF_RESULT_NEUTRAL, 0, SPF_RES_NEUTRAL },
	{ SPF_RESULT_NONE, SPF_E_NOT_SPF, SPF_RES_NONE },
	{ SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, SPF_RES_TEMPERROR },
	{ SPF_RESULT_PERMERROR, SPF_E_BIG_DNS, SPF_RES_PERMERROR },
	{ SPF_RESULT_INVALID, SPF_E_DNS_ERROR, SPF_RES_TEMPERROR },
	{ SPF_RESULT_INVALID, SPF_E_NOT_SPF, SPF_RES_PERMERROR },
	{ SPF_RESULT_INVALID, SPF_E_SYNTAX, SPF_RES_PERMERROR },
	{ SPF_RESULT_INVALID, SPF_E_INVALID_CIDR, SPF_RES_PERMERROR },
	{ SPF_RESULT_INVALID, SPF_E_NO_MEMORY, SPF_RES_TEMPERROR },
	{ SPF_RESULT_INVALID, SPF_E_SUCCESS, SPF_RES_TEMPERROR },
	{ 99, SPF_E_RECURSIVE, SPF_RES_PERMERROR },
};

static void
test_map(void **state)
{
	size_t	i;
	enum spf_result got;

	(void)state;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		got = spf_result_map(maps[i].res, maps[i].err);
		if (got != maps[i].want)
			fail_msg("row %zu: got %s, want %s", i,
			    spf_result_str(got), spf_result_str(maps[i].want));
	}
	assert_string_equal(spf_result_str(SPF_RES_PERMERROR), "permerror");
	assert_string_equal(spf_identity_str(SPF_ID_HELO), "helo");
}

static void
test_codec(void **state)
{
	struct spfw_msg m;
	struct spfw_rd rd;
	char	s[16];

	(void)state;
	spfw_begin(&m, SPFW_LOOKUP);
	spfw_put_u16(&m, 16);
	spfw_put_str(&m, "a.example", 9);
	assert_int_equal(spfw_finish(&m), 0);
	assert_int_equal(spfw_rd_begin(&rd, m.b, m.len), SPFW_LOOKUP);
	assert_int_equal(spfw_get_u16(&rd), 16);
	assert_int_equal(spfw_get_str(&rd, s, sizeof(s)), 0);
	assert_string_equal(s, "a.example");
	assert_int_equal(spfw_rd_end(&rd), 0);
	/* leftover byte, short packet, wrong length field, long string */
	assert_int_equal(spfw_rd_begin(&rd, m.b, m.len - 1), -1);
	m.b[m.len] = 0;
	assert_int_equal(spfw_rd_begin(&rd, m.b, m.len), SPFW_LOOKUP);
	spfw_get_u16(&rd);
	assert_int_equal(spfw_get_str(&rd, s, 4), -1);
	assert_int_equal(spfw_rd_end(&rd), -1);
}

/* The sandbox really kills a process that makes a forbidden syscall. */
static void
test_sandbox(void **state)
{
	char	err[128];
	pid_t	pid;
	int	st;

	(void)state;
	/* valgrind cannot run seccomp-filtered code (the worker skips its
	 * filter there too); make asan covers this test. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		skip();
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (spfworker_sandbox(err, sizeof(err)) < 0)
			_exit(2);
		if (write(1, "", 0) < 0)	/* allowed */
			_exit(3);
		(void)socket(AF_INET, SOCK_DGRAM, 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("got status %#x, want death by SIGSYS", st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr0_suffix),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
