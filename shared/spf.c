/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spf 3
 * SUMMARY
 *	SPF vocabulary, RFC 7208 record validation and rewriting, result map
 * SYNOPSIS
 *	#include "shared/spf.h"
 *
 *	const char *spf_result_str(enum spf_result r);
 *	const char *spf_identity_str(enum spf_identity id);
 *	int spf_record_is_v1(const char *txt, size_t len);
 *	int spf_record_rewrite(const char *txt, size_t len, int family,
 *		char *out, size_t outlen, char *why, size_t whylen);
 *	int spf_term_next(const char *txt, size_t len, size_t *pos,
 *		struct spf_term *t);
 *	int spf_domain_ok(const char *dom);
 *	int spf_name_ok(const char *name);
 *	enum spf_result spf_result_map(int libspf2_result, int errcode);
 * DESCRIPTION
 *	Pure code used by the SPF worker pool (spfpool.c) before libspf2
 *	ever sees a record.
 *
 *	spf_record_rewrite() checks a record against the RFC 7208 ABNF
 *	(sections 4.6, 5, 6, 7): terms, qualifiers, mechanism arguments,
 *	domain-spec and macro-string grammar (macro letters, transformers,
 *	delimiters, the domain-end rule with its toplabel), modifier names,
 *	duplicate redirect= and exp=, CIDR lengths (range and no leading
 *	zeros), IPv4/IPv6 literals, and the character set. It also applies
 *	the safety rules of research/libspf2-security-and-dns.md 2.2 that
 *	keep libspf2's macro compiler far from its known overflows: R1
 *	record length, R2 printable ASCII only, R3 term length, R4 escapes
 *	per term and macros per record, R6 modifiers.
 *
 *	It then writes the record libspf2 gets. The layer decides instead
 *	of libspf2 here:
 *	- exp= and unknown modifiers are dropped after their syntax was
 *	  checked (libspf2 compiles modifiers into a 4 KB stack buffer,
 *	  the CVE-2023-42118 route, and we never use a domain's exp text);
 *	- redirect= is moved to the end of the record, or dropped when the
 *	  record has an "all" mechanism (RFC 7208 6.1; libspf2 evaluates
 *	  redirect= where it stands);
 *	- /0 prefix lengths, which libspf2 refuses at compile time: ip4:X/0
 *	  becomes ip4:0.0.0.0/1 ip4:128.0.0.0/1 (ip6 alike); for a and mx
 *	  the /0 that applies to the client's family becomes a lookup of
 *	  DOMAIN.spf_cidr0_suffix(), which the pool answers with the client's
 *	  own address whenever DOMAIN has any address of that family, and a
 *	  /0 of the other family is dropped (it cannot matter).
 *
 *	spf_term_next() is the one tokenizer of record terms: the rewriter
 *	reads its terms through it, and so does the record check of
 *	relaytrust-verify --check-domain (verifier/spfcheck.c).
 *
 *	spf_result_map() is the one place where libspf2's result and error
 *	code become an RFC 7208 result.
 * DIAGNOSTICS
 *	spf_record_rewrite() returns -1 with a short reason ("unknown
 *	mechanism", "bad ip4 cidr length", ...); the caller's result is
 *	then permerror.
 * LIMITS
 *	SPF_RECORD_MAX bytes per record, SPF_TERM_MAX per term,
 *	SPF_TERM_MACROS_MAX %-escapes per term, SPF_RECORD_MACROS_MAX
 *	macros per record, transformer digits 1..128. Records beyond these
 *	are permerror although RFC 7208 has no such limits (safety).
 *	The delimiters "," and "/" are valid here but libspf2 refuses them
 *	(its compile error then gives permerror).
 *--*/
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf.h>

#include "shared/spf.h"

const char *
spf_result_str(enum spf_result r)
{
	switch (r) {
	case SPF_RES_NONE:
		return "none";
	case SPF_RES_NEUTRAL:
		return "neutral";
	case SPF_RES_PASS:
		return "pass";
	case SPF_RES_FAIL:
		return "fail";
	case SPF_RES_SOFTFAIL:
		return "softfail";
	case SPF_RES_TEMPERROR:
		return "temperror";
	case SPF_RES_PERMERROR:
		return "permerror";
	}
	return "temperror";
}

const char *
spf_identity_str(enum spf_identity id)
{
	return id == SPF_ID_HELO ? "helo" : "mailfrom";
}

enum spf_result
spf_result_map(int res, int err)
{
	switch (res) {
	case SPF_RESULT_NEUTRAL:
		return SPF_RES_NEUTRAL;
	case SPF_RESULT_PASS:
		return SPF_RES_PASS;
	case SPF_RESULT_FAIL:
		return SPF_RES_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPF_RES_SOFTFAIL;
	case SPF_RESULT_NONE:
		return SPF_RES_NONE;
	case SPF_RESULT_TEMPERROR:
		return SPF_RES_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return SPF_RES_PERMERROR;
	default:
		break;
	}
	/* SPF_RESULT_INVALID: libspf2 left no result (research cause 1). */
	switch (err) {
	case SPF_E_DNS_ERROR:
	case SPF_E_NO_MEMORY:
	case SPF_E_SUCCESS:		/* no result and no error: our bug */
		return SPF_RES_TEMPERROR;
	default:
		return SPF_RES_PERMERROR;
	}
}

int
spf_record_is_v1(const char *txt, size_t len)
{
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return 0;
	return len == 6 || txt[6] == ' ';
}

static int
label_ok(size_t n)
{
	return n >= 1 && n <= 63;
}

int
spf_name_ok(const char *name)
{
	size_t	len = strlen(name), i, start = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (!label_ok(i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int
spf_domain_ok(const char *dom)
{
	size_t	len = strlen(dom), i, start = 0, labels = 0;
	int	alldigit = 1;

	if (len > 0 && dom[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX || dom[0] == '[')
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || dom[i] == '.') {
			if (!label_ok(i - start))
				return 0;
			labels++;
			alldigit = 1;
			for (size_t k = start; k < i; k++)
				if (!isdigit((unsigned char)dom[k]))
					alldigit = 0;
			start = i + 1;
			continue;
		}
		if ((unsigned char)dom[i] <= 0x20 || (unsigned char)dom[i] >= 0x7f)
			return 0;
	}
	return labels >= 2 && !alldigit;
}

/* Validation state of one record. */
struct chk {
	char	*why;
	size_t	whylen;
	int	term_escapes;		/* % escapes in the current term */
	int	macros;			/* %{...} in the kept terms */
};

static int
bad(struct chk *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct chk *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * macro-string (RFC 7208 7.1). `domain`: letters c, r and t are only for
 * explanation text (7.2), so refused. On success *ends_macro says whether
 * the last token is a macro-expand and *lit is where the trailing literal
 * run starts.
 */
static int
macro_string(struct chk *c, const char *s, size_t n, int domain,
    int *ends_macro, size_t *lit)
{
	const char *letters = domain ? "slodiphv" : "slodiphvcrt";
	size_t	i = 0, j, d0;
	unsigned v;

	*ends_macro = 0;
	*lit = 0;
	while (i < n) {
		unsigned char ch = (unsigned char)s[i];

		if (ch != '%') {
			if (ch < 0x21 || ch > 0x7e)
				return bad(c, "invalid character");
			i++;
			*ends_macro = 0;
			continue;
		}
		c->term_escapes++;
		if (i + 1 >= n)
			return bad(c, "trailing %% in macro-string");
		if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			i += 2;
			*ends_macro = 1;
			*lit = i;
			continue;
		}
		if (s[i + 1] != '{')
			return bad(c, "invalid %% escape");
		j = i + 2;
		if (j >= n || strchr(letters, tolower((unsigned char)s[j])) ==
		    NULL || s[j] == '\0')
			return bad(c, "invalid macro letter");
		j++;
		d0 = j;
		v = 0;
		while (j < n && isdigit((unsigned char)s[j])) {
			if (j - d0 >= 3)
				return bad(c, "macro transformer too large");
			v = v * 10 + (unsigned)(s[j] - '0');
			j++;
		}
		if (j > d0 && (v == 0 || v > 128))
			return bad(c, "macro transformer out of range");
		if (j < n && (s[j] == 'r' || s[j] == 'R'))
			j++;
		while (j < n && strchr(".-+,/_=", s[j]) != NULL && s[j] != '\0')
			j++;
		if (j >= n || s[j] != '}')
			return bad(c, "unterminated macro");
		c->macros++;
		i = j + 1;
		*ends_macro = 1;
		*lit = i;
	}
	return 0;
}

/* toplabel (RFC 7208 7.1). */
static int
toplabel_ok(const char *s, size_t n)
{
	size_t	i;
	int	alpha = 0, hyphen = 0;

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			hyphen = 1;
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	if (!hyphen)
		return alpha;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

/* domain-spec = macro-string domain-end (RFC 7208 7.1). */
static int
domain_spec(struct chk *c, const char *s, size_t n)
{
	int	ends_macro;
	size_t	lit, end, dot;

	if (n == 0)
		return bad(c, "empty domain-spec");
	if (macro_string(c, s, n, 1, &ends_macro, &lit) < 0)
		return -1;
	if (ends_macro)
		return 0;
	end = n;
	if (end > lit && s[end - 1] == '.')
		end--;
	for (dot = end; dot > lit && s[dot - 1] != '.'; dot--)
		;
	if (dot == lit)
		return bad(c, "domain-spec has no top label");
	if (!toplabel_ok(s + dot, end - dot))
		return bad(c, "invalid top label in domain-spec");
	return 0;
}

/* Strict decimal: no leading zeros, 0..max. */
static int
cidr_num(const char *s, size_t n, int max)
{
	int	v = 0;
	size_t	i;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Where a dual-cidr-length starts at the end of s[0, n): returns the
 * length of what comes before it, with the digits after "/" in c4 and
 * after "//" in c6 (NULL when absent; not yet checked). */
static size_t
cidr_split(const char *s, size_t n, const char **c4, size_t *c4n,
    const char **c6, size_t *c6n)
{
	size_t	k;

	*c4 = *c6 = NULL;
	*c4n = *c6n = 0;
	for (k = n; k > 0 && isdigit((unsigned char)s[k - 1]); k--)
		;
	if (k < n && k >= 2 && s[k - 1] == '/' && s[k - 2] == '/') {
		*c6 = s + k;
		*c6n = n - k;
		n = k - 2;
		for (k = n; k > 0 && isdigit((unsigned char)s[k - 1]); k--)
			;
	}
	if (k < n && k >= 1 && s[k - 1] == '/') {
		*c4 = s + k;
		*c4n = n - k;
		n = k - 1;
	}
	return n;
}

/* Split the dual-cidr-length off the end of arg; *n is shortened. */
static int
dual_cidr(struct chk *c, const char *s, size_t *n, int *c4, int *c6)
{
	const char *s4, *s6;
	size_t	n4, n6, rest;

	*c4 = *c6 = -1;
	rest = cidr_split(s, *n, &s4, &n4, &s6, &n6);
	if (s6 != NULL && (*c6 = cidr_num(s6, n6, 128)) < 0)
		return bad(c, "bad ip6 cidr length");
	if (s4 != NULL && (*c4 = cidr_num(s4, n4, 32)) < 0)
		return bad(c, "bad ip4 cidr length");
	*n = rest;
	return 0;
}

static int
ip4_ok(const char *s, size_t n)
{
	size_t	i = 0, start;
	int	parts = 0;

	while (parts < 4) {
		start = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (cidr_num(s + start, i - start, 255) < 0)
			return 0;
		parts++;
		if (parts < 4) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == n;
}

static int
ip6_ok(const char *s, size_t n)
{
	char	buf[64];
	struct in6_addr a;
	size_t	i;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Output buffer. */
struct out {
	char	*buf;
	size_t	len, size;
	int	overflow;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->size) {
		o->overflow = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_term_start(struct out *o, char qual)
{
	puts_(o, " ");
	if (qual)
		put(o, &qual, 1);
}

static char cidr0_suffix[SPF_CIDR0_SUFFIX_LEN + 1];
static pthread_once_t cidr0_once = PTHREAD_ONCE_INIT;

static void
cidr0_init(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() ^
		    (uint64_t)(uintptr_t)&r;
	snprintf(cidr0_suffix, sizeof(cidr0_suffix), "rt-cidr0-%016llx.invalid",
	    (unsigned long long)r);
}

const char *
spf_cidr0_suffix(void)
{
	pthread_once(&cidr0_once, cidr0_init);
	return cidr0_suffix;
}

/* Indexed by enum spf_term_kind, mechanisms first. */
static const char *const term_names[] = {
	"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
	"redirect", "exp",
};

int
spf_term_next(const char *txt, size_t len, size_t *pos, struct spf_term *t)
{
	const char *p, *end = txt + len, *arg;
	size_t	n, k, i, an;

	if (*pos == 0 && spf_record_is_v1(txt, len))
		*pos = 6;
	p = txt + (*pos < len ? *pos : len);
	while (p < end && *p == ' ')
		p++;
	if (p >= end) {
		*pos = len;
		return 0;
	}
	for (n = 0; p + n < end && p[n] != ' '; n++)
		;
	*pos = (size_t)(p + n - txt);
	memset(t, 0, sizeof(*t));
	t->text = p;
	t->len = n;
	/* modifier: name "=" ... with name = ALPHA *(ALPHA/DIGIT/-/_/.) */
	k = 0;
	if (isalpha((unsigned char)p[0]))
		for (k = 1; k < n && (isalnum((unsigned char)p[k]) ||
		    p[k] == '-' || p[k] == '_' || p[k] == '.'); k++)
			;
	if (k > 0 && k < n && p[k] == '=') {
		t->name = p;
		t->namelen = k;
		t->arg = p + k + 1;
		t->arglen = n - k - 1;
		t->kind = SPF_TERM_MODIFIER;
		if (k == 8 && strncasecmp(p, "redirect", 8) == 0)
			t->kind = SPF_TERM_REDIRECT;
		else if (k == 3 && strncasecmp(p, "exp", 3) == 0)
			t->kind = SPF_TERM_EXP;
		if (t->kind != SPF_TERM_MODIFIER) {
			t->dom = t->arg;
			t->domlen = t->arglen;
		}
		return 1;
	}
	if (n > 0 && strchr("+-?~", p[0]) != NULL) {
		t->qual = p[0];
		p++;
		n--;
	}
	for (k = 0; k < n && p[k] != ':' && p[k] != '/'; k++)
		;
	t->name = p;
	t->namelen = k;
	t->arg = arg = p + k;
	t->arglen = an = n - k;
	t->kind = SPF_TERM_UNKNOWN;
	for (i = 0; i <= SPF_TERM_EXISTS; i++)
		if (strlen(term_names[i]) == k &&
		    strncasecmp(p, term_names[i], k) == 0)
			t->kind = (enum spf_term_kind)i;
	switch (t->kind) {
	case SPF_TERM_A:
	case SPF_TERM_MX: {
		const char *s4, *s6;
		size_t	n4, n6;

		an = cidr_split(arg, an, &s4, &n4, &s6, &n6);
		break;
	}
	case SPF_TERM_INCLUDE:
	case SPF_TERM_EXISTS:
	case SPF_TERM_PTR:
		break;
	default:
		return 1;
	}
	if (an > 0 && arg[0] == ':') {
		t->dom = arg + 1;
		t->domlen = an - 1;
	}
	return 1;
}

/* a / mx with a dual-cidr-length: see DESCRIPTION for the /0 rewrite. */
static void
emit_a_mx(struct out *o, char qual, const char *name, const char *dom,
    size_t dn, int c4, int c6, int family)
{
	int	mine = family == AF_INET ? c4 : c6;
	char	num[16];

	put_term_start(o, qual);
	puts_(o, name);
	if (mine == 0) {
		puts_(o, ":");
		if (dn > 0) {
			if (dom[dn - 1] == '.')
				dn--;
			put(o, dom, dn);
		} else
			puts_(o, "%{d}");
		puts_(o, ".");
		puts_(o, spf_cidr0_suffix());
		return;
	}
	if (dn > 0) {
		puts_(o, ":");
		put(o, dom, dn);
	}
	if (family == AF_INET && c4 > 0) {
		snprintf(num, sizeof(num), "/%d", c4);
		puts_(o, num);
	}
	if (family != AF_INET && c6 > 0) {
		snprintf(num, sizeof(num), "//%d", c6);
		puts_(o, num);
	}
}

/* One directive; *has_all is set for "all". */
static int
directive(struct chk *c, struct out *o, const struct spf_term *t,
    int family, int *has_all)
{
	char	qual = t->qual;
	size_t	k, an = t->arglen, dn;
	const char *arg = t->arg, *dom;
	int	m = (int)t->kind, c4, c6;

	switch (t->kind) {
	case SPF_TERM_ALL:
		if (an != 0)
			return bad(c, "all takes no argument");
		*has_all = 1;
		put_term_start(o, qual);
		puts_(o, "all");
		return 0;
	case SPF_TERM_INCLUDE:
	case SPF_TERM_EXISTS:
		if (an < 1 || arg[0] != ':')
			return bad(c, "%s needs a domain", term_names[m]);
		if (domain_spec(c, arg + 1, an - 1) < 0)
			return -1;
		put_term_start(o, qual);
		puts_(o, term_names[m]);
		put(o, arg, an);
		return 0;
	case SPF_TERM_PTR:
		if (an > 0 && (arg[0] != ':' ||
		    domain_spec(c, arg + 1, an - 1) < 0))
			return an > 0 && arg[0] != ':' ?
			    bad(c, "ptr takes no cidr length") : -1;
		put_term_start(o, qual);
		puts_(o, "ptr");
		put(o, arg, an);
		return 0;
	case SPF_TERM_A:
	case SPF_TERM_MX:
		dn = an;
		if (dual_cidr(c, arg, &dn, &c4, &c6) < 0)
			return -1;
		dom = NULL;
		if (dn > 0) {
			if (arg[0] != ':')
				return bad(c, "bad %s argument", term_names[m]);
			dom = arg + 1;
			dn--;
			if (domain_spec(c, dom, dn) < 0)
				return -1;
		}
		emit_a_mx(o, qual, term_names[m], dom, dom ? dn : 0, c4, c6,
		    family);
		if (dom == NULL && (family == AF_INET ? c4 : c6) == 0)
			c->macros++;	/* the %{d} the /0 rewrite adds */
		return 0;
	case SPF_TERM_IP4:
	case SPF_TERM_IP6:
		if (an < 1 || arg[0] != ':')
			return bad(c, "%s needs an address", term_names[m]);
		arg++;
		an--;
		for (k = 0; k < an && arg[k] != '/'; k++)
			;
		if (m == SPF_TERM_IP4 ? !ip4_ok(arg, k) : !ip6_ok(arg, k))
			return bad(c, "bad %s address", term_names[m]);
		c4 = -1;
		if (k < an && (c4 = cidr_num(arg + k + 1, an - k - 1,
		    m == SPF_TERM_IP4 ? 32 : 128)) < 0)
			return bad(c, "bad %s cidr length", term_names[m]);
		if (c4 == 0) {
			const char *halves = m == SPF_TERM_IP4 ?
			    "ip4:0.0.0.0/1" : "ip6:::/1";
			put_term_start(o, qual);
			puts_(o, halves);
			put_term_start(o, qual);
			puts_(o, m == SPF_TERM_IP4 ? "ip4:128.0.0.0/1" :
			    "ip6:8000::/1");
			return 0;
		}
		put_term_start(o, qual);
		puts_(o, term_names[m]);
		puts_(o, ":");
		put(o, arg, an);
		return 0;
	case SPF_TERM_REDIRECT:		/* modifiers do not come here */
	case SPF_TERM_EXP:
	case SPF_TERM_MODIFIER:
	case SPF_TERM_UNKNOWN:
		break;
	}
	return bad(c, "unknown mechanism");
}

int
spf_record_rewrite(const char *txt, size_t len, int family, char *outbuf,
    size_t outlen, char *why, size_t whylen)
{
	struct chk c = { why, whylen, 0, 0 };
	struct out o = { outbuf, 0, outlen, 0 };
	struct spf_term t;
	const char *redirect = NULL;
	size_t	i, n, rn = 0, pos;
	int	has_all = 0, exps = 0, redirects = 0, ends_macro;
	size_t	lit;

	if (outlen > 0)
		outbuf[0] = '\0';
	if (whylen > 0)
		why[0] = '\0';
	if (!spf_record_is_v1(txt, len))
		return bad(&c, "not an SPF record");
	if (len > SPF_RECORD_MAX)
		return bad(&c, "record too long");
	for (i = 0; i < len; i++)
		if ((unsigned char)txt[i] < 0x20 || (unsigned char)txt[i] > 0x7e)
			return bad(&c, "control or non-ASCII byte in record");
	puts_(&o, "v=spf1");
	for (pos = 0; spf_term_next(txt, len, &pos, &t); ) {
		n = t.len;
		c.term_escapes = 0;
		if (t.kind == SPF_TERM_REDIRECT) {
			if (++redirects > 1)
				return bad(&c, "duplicate redirect=");
			if (domain_spec(&c, t.arg, t.arglen) < 0)
				return -1;
			redirect = t.arg;
			rn = t.arglen;
			if (n > SPF_TERM_MAX)
				return bad(&c, "term too long");
			if (c.term_escapes > SPF_TERM_MACROS_MAX)
				return bad(&c, "too many macros in a term");
			continue;
		}
		if (t.kind == SPF_TERM_EXP || t.kind == SPF_TERM_MODIFIER) {
			int m0 = c.macros;

			if (t.kind == SPF_TERM_EXP && ++exps > 1)
				return bad(&c, "duplicate exp=");
			if (t.kind == SPF_TERM_EXP ?
			    domain_spec(&c, t.arg, t.arglen) < 0 :
			    macro_string(&c, t.arg, t.arglen, 0, &ends_macro,
			    &lit) < 0)
				return -1;
			c.macros = m0;	/* dropped: never compiled */
			continue;
		}
		if (n > SPF_TERM_MAX)
			return bad(&c, "term too long");
		if (directive(&c, &o, &t, family, &has_all) < 0)
			return -1;
		if (c.term_escapes > SPF_TERM_MACROS_MAX)
			return bad(&c, "too many macros in a term");
	}
	/* exp= macros are never compiled; redirect's were counted. */
	if (c.macros > SPF_RECORD_MACROS_MAX)
		return bad(&c, "too many macros in record");
	if (redirect != NULL && !has_all) {
		puts_(&o, " redirect=");
		put(&o, redirect, rn);
	}
	if (o.overflow)
		return bad(&c, "record too long after rewriting");
	return 0;
}
