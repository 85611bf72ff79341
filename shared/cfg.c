/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	cfg 3
 * SUMMARY
 *	relaytrust-policyd configuration (libconfuse)
 * SYNOPSIS
 *	#include "shared/cfg.h"
 *
 *	struct cfg *cfg_load(const char *file, char *err, size_t errlen);
 *	struct cfg *cfg_ref(struct cfg *c);
 *	void cfg_unref(struct cfg *c);
 *	const char *cfg_action_str(enum cfg_action a);
 *	void cfg_effective(const struct cfg *c, const char *policy_context,
 *		const char *recipient, struct cfg *out, char *applied,
 *		size_t applen);
 *	int cfg_name_in_domain(const char *host, const char *domain);
 * DESCRIPTION
 *	cfg_load() parses FILE with the schema of SPEC 2.2, validates every
 *	value where libconfuse reads it (so the error carries the line), and
 *	copies the result into a struct cfg that owns all its strings. The
 *	libconfuse tree is freed before cfg_load() returns: the daemon never
 *	sees a cfg_t, and a reload builds a complete new struct cfg before
 *	the old one is dropped (atomic reload, SPEC 2.1).
 *
 *	Override sections, context "NAME" { spf { } ptr { } } and
 *	domain "NAME" { ... }, hold only the keys they set (libconfuse's
 *	CFGF_MODIFIED flag tells which); cfg_effective() layers them on the
 *	top level for one request: the context section matching
 *	policy_context, then the domain section matching the recipient's
 *	domain at a label boundary (the longest such domain).
 *
 *	libconfuse's own names are cfg_t and cfg_*(); ours are the six
 *	functions above, none of which libconfuse exports.
 * DIAGNOSTICS
 *	The first error only, as "FILE:LINE: what" (or "FILE: what" when the
 *	file cannot be read): unknown keys, syntax errors, action and header
 *	words, timeouts out of range (request_timeout must stay below
 *	Postfix's smtpd_policy_service_timeout of 100 s), listen syntax
 *	(inet:HOST:PORT, inet:[V6]:PORT, unix:/ABSOLUTE/PATH), CIDRs,
 *	dns.forward (ADDR or ADDR@PORT), limits below 1, unknown user,
 *	section titles and forwarder names that are not host names, lookup
 *	limits inside an override section (they are process-wide).
 * LIMITS
 *	CFG_LISTEN_MAX listen addresses, DNS_FORWARD_MAX forwarders,
 *	NETADDR_CIDR_LIST_MAX skip networks, CFG_ERR_MAX bytes of error,
 *	CFG_OVERRIDES_MAX override sections, CFG_FWD_NAMES_MAX forwarder
 *	names, CFG_FWD_SPF_MAX forwarder SPF domains.
 *	CFG_FILE_MAX bytes of file.
 *	libconfuse keeps its state in globals: cfg_load() is not reentrant.
 * BUGS
 *	libconfuse 3.3 counts a "#" or "//" comment line as three lines in
 *	its error messages; cfg_load() blanks comments out (keeping every
 *	newline) before libconfuse sees the text, so lines are right.
 *--*/
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <confuse.h>

#include "shared/cfg.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"

#define CFG_ERR_MAX		512
#define CFG_AUTHSERV_MAX	255
#define CFG_USER_MAX		64
#define CFG_PTR_NAMES_MAX	32	/* policyd/check.c looks up no more */
#define CFG_LOOKUP_LIMIT_MAX	100
#define CFG_POSTFIX_TIMEOUT	100	/* smtpd_policy_service_timeout default */
#define CFG_TIMEOUT_MAX		3600
#define CFG_CONNECTIONS_MAX	100000
#define CFG_CONTEXT_MAX		100	/* bytes of a context section title */
#define CFG_FILE_MAX		(1024 * 1024)	/* bytes of configuration */

/* The first error of the current cfg_load(); libconfuse has no user
 * pointer on cfg_t, and cfg_load() runs in the main thread only. */
static char errbuf[CFG_ERR_MAX];
static const char *cur_file;	/* sections' cfg_t carry no file name */

static const char *const action_words[] = {
	[CFG_ACCEPT] = "accept",
	[CFG_REJECT] = "reject",
	[CFG_DEFER] = "defer",
	[CFG_WARN] = "warn",
};

static const char *const header_words[] = {
	[CFG_HDR_AR] = "authentication-results",
	[CFG_HDR_RECEIVED_SPF] = "received-spf",
	[CFG_HDR_BOTH] = "both",
	[CFG_HDR_NONE] = "none",
};

static const char *const log_format_words[] = {
	[CFG_LOG_TEXT] = "text",
	[CFG_LOG_JSON] = "json",
};

static const char *const private_words[] = {
	[CFG_PRIVATE_ACCEPT] = "accept",
	[CFG_PRIVATE_CHECK] = "check",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The keys an override section may set, in struct cfg. */
enum ofield_kind { OF_BOOL, OF_INT, OF_ACTION };

static const struct ofield {
	const char *sec, *key;
	enum ofield_kind kind;
	size_t	off;
} ofields[CFG_OVERRIDE_FIELDS] = {
	{"ptr", "enabled", OF_BOOL, offsetof(struct cfg, ptr.enabled)},
	{"ptr", "on_fail", OF_ACTION, offsetof(struct cfg, ptr.on_fail)},
	{"ptr", "on_temperror", OF_ACTION, offsetof(struct cfg, ptr.on_temperror)},
	{"ptr", "max_names", OF_INT, offsetof(struct cfg, ptr.max_names)},
	{"spf", "helo", OF_BOOL, offsetof(struct cfg, spf.helo)},
	{"spf", "mailfrom", OF_BOOL, offsetof(struct cfg, spf.mailfrom)},
	{"spf", "on_fail", OF_ACTION, offsetof(struct cfg, spf.on_fail)},
	{"spf", "on_softfail", OF_ACTION, offsetof(struct cfg, spf.on_softfail)},
	{"spf", "on_neutral", OF_ACTION, offsetof(struct cfg, spf.on_neutral)},
	{"spf", "on_none", OF_ACTION, offsetof(struct cfg, spf.on_none)},
	{"spf", "on_permerror", OF_ACTION, offsetof(struct cfg, spf.on_permerror)},
	{"spf", "on_temperror", OF_ACTION, offsetof(struct cfg, spf.on_temperror)},
	{"spf", "helo_on_fail", OF_ACTION, offsetof(struct cfg, spf.helo_on_fail)},
};

const char *
cfg_action_str(enum cfg_action a)
{
	if ((unsigned)a < NELEM(action_words))
		return action_words[a];
	return "unknown";
}

static int
word_index(const char *const *words, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s != NULL && strcmp(words[i], s) == 0)
			return (int)i;
	return -1;
}

static void errfunc(cfg_t *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

static void
errfunc(cfg_t *c, const char *fmt, va_list ap)
{
	int	n = 0;

	if (errbuf[0] != '\0')
		return;			/* keep the first error */
	if (c != NULL && c->line > 0)
		n = snprintf(errbuf, sizeof(errbuf), "%s:%d: ", cur_file,
		    c->line);
	else
		n = snprintf(errbuf, sizeof(errbuf), "%s: ", cur_file);
	if (n < 0 || (size_t)n >= sizeof(errbuf))
		n = 0;
	vsnprintf(errbuf + n, sizeof(errbuf) - (size_t)n, fmt, ap);
}

/*
 * Value checks. A non-NULL return is the reason; the validate callbacks
 * hand it to cfg_error() so that errfunc() adds file and line.
 */
static const char *
check_hostport(const char *s, const char *what, char *why, size_t len)
{
	const char *host, *colon, *port;
	char	hbuf[256];
	struct in6_addr a6;
	size_t	hlen;
	char   *end;
	long	p;

	host = s;
	if (*host == '[') {
		const char *rb = strchr(host, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hlen = (size_t)(rb - host - 1);
		if (hlen == 0 || hlen >= sizeof(hbuf))
			goto bad;
		memcpy(hbuf, host + 1, hlen);
		hbuf[hlen] = '\0';
		if (inet_pton(AF_INET6, hbuf, &a6) != 1) {
			snprintf(why, len, "%s \"%s\": bad IPv6 address", what, s);
			return why;
		}
		port = rb + 2;
	} else {
		colon = strrchr(host, ':');
		if (colon == NULL || colon == host)
			goto bad;
		hlen = (size_t)(colon - host);
		if (hlen >= sizeof(hbuf) || memchr(host, ':', hlen) != NULL)
			goto bad;	/* IPv6 must be in brackets */
		memcpy(hbuf, host, hlen);
		hbuf[hlen] = '\0';
		if (strspn(hbuf, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*") != hlen)
			goto bad;
		port = colon + 1;
	}
	if (*port < '0' || *port > '9')
		goto bad;
	p = strtol(port, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535) {
		snprintf(why, len, "%s \"%s\": port must be 1..65535", what, s);
		return why;
	}
	return NULL;
bad:
	snprintf(why, len, "%s \"%s\": want inet:HOST:PORT or inet:[IPV6]:PORT",
	    what, s);
	return why;
}

static const char *
check_listen(const char *s, char *why, size_t len)
{
	struct sockaddr_un sun;

	if (strncmp(s, "inet:", 5) == 0)
		return check_hostport(s + 5, "listen", why, len);
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/') {
			snprintf(why, len, "listen \"%s\": unix socket path "
			    "must be absolute", s);
			return why;
		}
		if (strlen(s + 5) >= sizeof(sun.sun_path)) {
			snprintf(why, len, "listen \"%s\": unix socket path "
			    "over %zu bytes", s, sizeof(sun.sun_path) - 1);
			return why;
		}
		return NULL;
	}
	snprintf(why, len, "listen \"%s\": want inet:HOST:PORT, "
	    "inet:[IPV6]:PORT or unix:/PATH", s);
	return why;
}

static const char *
check_forward(const char *s, char *why, size_t len)
{
	char	addr[NETADDR_STR_MAX];
	struct netaddr na;
	const char *at = strchr(s, '@');
	size_t	alen = at ? (size_t)(at - s) : strlen(s);
	char   *end;
	long	p;

	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (netaddr_parse(addr, &na) != 0)
		goto bad;
	if (at != NULL) {
		if (at[1] < '0' || at[1] > '9')
			goto bad;
		p = strtol(at + 1, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			goto bad;
	}
	return NULL;
bad:
	snprintf(why, len, "dns.forward \"%s\": want ADDR or ADDR@PORT", s);
	return why;
}

static int
v_listen(cfg_t *c, cfg_opt_t *opt)
{
	char	why[CFG_ERR_MAX];
	unsigned i, n = cfg_opt_size(opt);

	if (n > CFG_LISTEN_MAX) {
		cfg_error(c, "listen: more than %d addresses", CFG_LISTEN_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (check_listen(cfg_opt_getnstr(opt, i), why, sizeof(why))) {
			cfg_error(c, "%s", why);
			return -1;
		}
	return 0;
}

static int
v_stats_listen(cfg_t *c, cfg_opt_t *opt)
{
	char	why[CFG_ERR_MAX];
	const char *s = cfg_opt_getnstr(opt, 0);

	if (s == NULL)
		return 0;
	if (strncmp(s, "inet:", 5) != 0) {
		cfg_error(c, "stats_listen \"%s\": want inet:HOST:PORT", s);
		return -1;
	}
	if (check_hostport(s + 5, "stats_listen", why, sizeof(why))) {
		cfg_error(c, "%s", why);
		return -1;
	}
	return 0;
}

static int
v_forward(cfg_t *c, cfg_opt_t *opt)
{
	char	why[CFG_ERR_MAX];
	unsigned i, n = cfg_opt_size(opt);

	if (n > DNS_FORWARD_MAX) {
		cfg_error(c, "dns.forward: more than %d forwarders",
		    DNS_FORWARD_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (check_forward(cfg_opt_getnstr(opt, i), why, sizeof(why))) {
			cfg_error(c, "%s", why);
			return -1;
		}
	return 0;
}

static int
v_networks(cfg_t *c, cfg_opt_t *opt)
{
	char	why[CFG_ERR_MAX];
	struct netaddr_list *l = netaddr_list_new();
	unsigned i, n = cfg_opt_size(opt);
	int	rc = 0;

	for (i = 0; i < n; i++) {
		const char *s = cfg_opt_getnstr(opt, i);

		if (netaddr_list_add(l, s, why, sizeof(why)) != 0) {
			cfg_error(c, "%s.networks \"%s\": %s", c->name, s, why);
			rc = -1;
			break;
		}
	}
	netaddr_list_free(l);
	return rc;
}

/* A host name: LDH (and '_') labels of 1..63, 1..253 in all, no
 * leading, trailing or double dot. */
static int
is_host_name(const char *s)
{
	size_t	n = strlen(s), label = 0, i;

	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

static int
v_names(cfg_t *c, cfg_opt_t *opt, unsigned max)
{
	unsigned i, n = cfg_opt_size(opt);

	if (n > max) {
		cfg_error(c, "%s.%s: more than %u entries", c->name, opt->name,
		    max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = cfg_opt_getnstr(opt, i);

		if (!is_host_name(s)) {
			cfg_error(c, "%s.%s \"%s\": want a host or domain name "
			    "(no leading dot, no wildcard)", c->name, opt->name,
			    s);
			return -1;
		}
	}
	return 0;
}

static int
v_fwd_names(cfg_t *c, cfg_opt_t *opt)
{
	return v_names(c, opt, CFG_FWD_NAMES_MAX);
}

static int
v_fwd_spf(cfg_t *c, cfg_opt_t *opt)
{
	return v_names(c, opt, CFG_FWD_SPF_MAX);
}

static int
v_words(cfg_t *c, cfg_opt_t *opt, const char *const *words, size_t n,
    const char *want)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (word_index(words, n, s) < 0) {
		cfg_error(c, "%s \"%s\": want %s", opt->name, s ? s : "", want);
		return -1;
	}
	return 0;
}

static int
v_log_format(cfg_t *c, cfg_opt_t *opt)
{
	return v_words(c, opt, log_format_words, NELEM(log_format_words),
	    "text or json");
}

static int
v_private(cfg_t *c, cfg_opt_t *opt)
{
	return v_words(c, opt, private_words, NELEM(private_words),
	    "accept or check");
}

/* The override section just parsed: its title, and no process-wide key. */
static int
v_override(cfg_t *c, cfg_opt_t *opt)
{
	unsigned n = cfg_opt_size(opt);
	cfg_t  *sec, *spf;
	const char *title;
	size_t	len;

	if (n == 0)
		return 0;
	sec = cfg_opt_getnsec(opt, n - 1);
	title = cfg_title(sec);
	len = title ? strlen(title) : 0;
	if (strcmp(opt->name, "domain") == 0) {
		if (title == NULL || !is_host_name(title)) {
			cfg_error(c, "domain \"%s\": want a domain name (no "
			    "leading dot; subdomains match too)",
			    title ? title : "");
			return -1;
		}
	} else if (len == 0 || len > CFG_CONTEXT_MAX || strspn(title,
	    "abcdefghijklmnopqrstuvwxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:") != len) {
		cfg_error(c, "context \"%s\": want the policy_context word of "
		    "main.cf (letters, digits, '.', '-', '_', ':'; up to %d)",
		    title ? title : "", CFG_CONTEXT_MAX);
		return -1;
	}
	spf = cfg_getsec(sec, "spf");
	if (spf != NULL && ((cfg_getopt(spf, "lookup_limit")->flags |
	    cfg_getopt(spf, "void_lookup_limit")->flags) & CFGF_MODIFIED)) {
		cfg_error(c, "%s \"%s\": spf.lookup_limit and "
		    "spf.void_lookup_limit apply to the whole process; set them "
		    "at the top level", opt->name, title);
		return -1;
	}
	return 0;
}

static int
v_action(cfg_t *c, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (word_index(action_words, NELEM(action_words), s) < 0) {
		cfg_error(c, "%s.%s \"%s\": want reject, defer, accept or warn",
		    c->name, opt->name, s ? s : "");
		return -1;
	}
	return 0;
}

static int
v_header(cfg_t *c, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (word_index(header_words, NELEM(header_words), s) < 0) {
		cfg_error(c, "header \"%s\": want authentication-results, "
		    "received-spf, both or none", s ? s : "");
		return -1;
	}
	return 0;
}

static int
v_authserv(cfg_t *c, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);
	size_t	n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	/* An RFC 8601 authserv-id we emit unquoted: a dot-atom-ish token. */
	if (n == 0 || n > CFG_AUTHSERV_MAX || strspn(s,
	    "abcdefghijklmnopqrstuvwxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_") != n) {
		cfg_error(c, "authserv_id \"%s\": want a host name "
		    "(letters, digits, '.', '-', '_'; up to %d)", s,
		    CFG_AUTHSERV_MAX);
		return -1;
	}
	return 0;
}

static int
v_user(cfg_t *c, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (s == NULL)
		return 0;
	if (*s == '\0' || strlen(s) > CFG_USER_MAX) {
		cfg_error(c, "user \"%s\": bad user name", s);
		return -1;
	}
	if (getpwnam(s) == NULL) {
		cfg_error(c, "user \"%s\": no such user", s);
		return -1;
	}
	return 0;
}

static int
v_range(cfg_t *c, cfg_opt_t *opt, long lo, long hi, const char *why)
{
	long	v = cfg_opt_getnint(opt, 0);

	if (v < lo || v > hi) {
		if (strcmp(c->name, "root") == 0)
			cfg_error(c, "%s = %ld: must be %ld..%ld%s", opt->name,
			    v, lo, hi, why);
		else
			cfg_error(c, "%s.%s = %ld: must be %ld..%ld%s", c->name,
			    opt->name, v, lo, hi, why);
		return -1;
	}
	return 0;
}

static int
v_workers(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, SPFPOOL_WORKERS_MAX, "");
}

static int
v_request_timeout(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_POSTFIX_TIMEOUT - 1,
	    " (below Postfix's smtpd_policy_service_timeout, 100s)");
}

static int
v_timeout(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_TIMEOUT_MAX, "");
}

static int
v_connections(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_CONNECTIONS_MAX, "");
}

static int
v_max_names(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_PTR_NAMES_MAX, "");
}

static int
v_lookup_limit(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_LOOKUP_LIMIT_MAX, "");
}

static cfg_opt_t dns_opts[] = {
	CFG_STR_LIST("forward", "{}", CFGF_NONE),
	CFG_BOOL("dnssec", cfg_false, CFGF_NONE),
	CFG_INT("query_timeout", 3, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t skip_opts[] = {
	CFG_STR_LIST("networks", "{\"127.0.0.0/8\", \"::1/128\"}", CFGF_NONE),
	CFG_BOOL("sasl_authenticated", cfg_true, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t ptr_opts[] = {
	CFG_BOOL("enabled", cfg_true, CFGF_NONE),
	CFG_STR("on_fail", "reject", CFGF_NONE),
	CFG_STR("on_temperror", "defer", CFGF_NONE),
	CFG_INT("max_names", 10, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t spf_opts[] = {
	CFG_BOOL("helo", cfg_true, CFGF_NONE),
	CFG_BOOL("mailfrom", cfg_true, CFGF_NONE),
	CFG_STR("on_fail", "reject", CFGF_NONE),
	CFG_STR("on_softfail", "accept", CFGF_NONE),
	CFG_STR("on_neutral", "accept", CFGF_NONE),
	CFG_STR("on_none", "accept", CFGF_NONE),
	CFG_STR("on_permerror", "accept", CFGF_NONE),
	CFG_STR("on_temperror", "defer", CFGF_NONE),
	CFG_STR("helo_on_fail", "reject", CFGF_NONE),
	CFG_INT("void_lookup_limit", 2, CFGF_NONE),
	CFG_INT("lookup_limit", 10, CFGF_NONE),
	CFG_END()
};

/* Only the keys a section sets count (CFGF_MODIFIED); the defaults
 * libconfuse fills in are ignored. */
static cfg_opt_t override_opts[] = {
	CFG_SEC("spf", spf_opts, CFGF_NONE),
	CFG_SEC("ptr", ptr_opts, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t forwarders_opts[] = {
	CFG_STR_LIST("networks", "{}", CFGF_NONE),
	CFG_STR_LIST("names", "{}", CFGF_NONE),
	CFG_STR_LIST("spf_domains", "{}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR_LIST("listen", "{\"inet:127.0.0.1:10045\"}", CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_INT("workers", 1, CFGF_NONE),
	CFG_INT("request_timeout", 10, CFGF_NONE),
	CFG_INT("idle_timeout", 300, CFGF_NONE),
	CFG_INT("max_connections", 1000, CFGF_NONE),
	CFG_BOOL("report_only", cfg_false, CFGF_NONE),
	CFG_STR("authserv_id", NULL, CFGF_NODEFAULT),
	CFG_STR("header", "authentication-results", CFGF_NONE),
	CFG_STR("stats_listen", NULL, CFGF_NODEFAULT),
	CFG_STR("log_format", "text", CFGF_NONE),
	CFG_STR("private_clients", "accept", CFGF_NONE),
	CFG_SEC("dns", dns_opts, CFGF_NONE),
	CFG_SEC("skip", skip_opts, CFGF_NONE),
	CFG_SEC("ptr", ptr_opts, CFGF_NONE),
	CFG_SEC("spf", spf_opts, CFGF_NONE),
	CFG_SEC("forwarders", forwarders_opts, CFGF_NONE),
	CFG_SEC("context", override_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_SEC("domain", override_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static const struct {
	const char *name;
	cfg_validate_callback_t fn;
} validators[] = {
	{"listen", v_listen},
	{"user", v_user},
	{"workers", v_workers},
	{"request_timeout", v_request_timeout},
	{"idle_timeout", v_timeout},
	{"max_connections", v_connections},
	{"authserv_id", v_authserv},
	{"header", v_header},
	{"stats_listen", v_stats_listen},
	{"dns|forward", v_forward},
	{"dns|query_timeout", v_timeout},
	{"log_format", v_log_format},
	{"private_clients", v_private},
	{"skip|networks", v_networks},
	{"forwarders|networks", v_networks},
	{"forwarders|names", v_fwd_names},
	{"forwarders|spf_domains", v_fwd_spf},
	{"context", v_override},
	{"domain", v_override},
};

/*
 * The spf and ptr sections appear at the top level and inside every
 * override section; their validators go on the shared option arrays, so
 * that each copy libconfuse makes of them has them.
 */
static const struct {
	cfg_opt_t *opts;
	const char *name;
	cfg_validate_callback_t fn;
} shared_validators[] = {
	{ptr_opts, "on_fail", v_action},
	{ptr_opts, "on_temperror", v_action},
	{ptr_opts, "max_names", v_max_names},
	{spf_opts, "on_fail", v_action},
	{spf_opts, "on_softfail", v_action},
	{spf_opts, "on_neutral", v_action},
	{spf_opts, "on_none", v_action},
	{spf_opts, "on_permerror", v_action},
	{spf_opts, "on_temperror", v_action},
	{spf_opts, "helo_on_fail", v_action},
	{spf_opts, "void_lookup_limit", v_lookup_limit},
	{spf_opts, "lookup_limit", v_lookup_limit},
};

static void
set_shared_validators(void)
{
	size_t	i;
	cfg_opt_t *o;

	for (i = 0; i < NELEM(shared_validators); i++)
		for (o = shared_validators[i].opts; o->name != NULL; o++)
			if (strcmp(o->name, shared_validators[i].name) == 0)
				o->validcb = shared_validators[i].fn;
}

static enum cfg_action
get_action(cfg_t *sec, const char *name)
{
	int	i = word_index(action_words, NELEM(action_words),
	    cfg_getstr(sec, name));

	return i < 0 ? CFG_DEFER : (enum cfg_action)i;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The keys an override section set, by the table of ofields. */
static void
build_override(cfg_t *sec, const char *kind, struct cfg_override *o)
{
	size_t	i;

	o->name = xstrdup(cfg_title(sec));
	o->is_domain = strcmp(kind, "domain") == 0;
	if (o->is_domain)
		lower(o->name);
	o->line = sec->line;
	for (i = 0; i < NELEM(ofields); i++) {
		cfg_t  *sub = cfg_getsec(sec, ofields[i].sec);
		cfg_opt_t *opt = sub ? cfg_getopt(sub, ofields[i].key) : NULL;

		if (opt == NULL || !(opt->flags & CFGF_MODIFIED))
			continue;
		o->set |= 1UL << i;
		switch (ofields[i].kind) {
		case OF_BOOL:
			o->val[i] = cfg_opt_getnbool(opt, 0) ? 1 : 0;
			break;
		case OF_INT:
			o->val[i] = (int)cfg_opt_getnint(opt, 0);
			break;
		case OF_ACTION:
			o->val[i] = (int)get_action(sub, ofields[i].key);
			break;
		}
	}
}

/* Copy the validated libconfuse tree into our own struct. */
static struct cfg *
build(cfg_t *t, const char *file, char *err, size_t errlen)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	cfg_t  *s;
	char	host[256], why[CFG_ERR_MAX];
	unsigned i, n;
	int	h;

	c->refs = 1;
	c->file = xstrdup(file);
	c->nlisten = (int)cfg_size(t, "listen");
	for (i = 0; i < (unsigned)c->nlisten; i++)
		c->listen[i] = xstrdup(cfg_getnstr(t, "listen", i));
	c->user = xstrdup(cfg_getstr(t, "user"));
	c->workers = (int)cfg_getint(t, "workers");
	c->request_timeout = (int)cfg_getint(t, "request_timeout");
	c->idle_timeout = (int)cfg_getint(t, "idle_timeout");
	c->max_connections = (int)cfg_getint(t, "max_connections");
	c->report_only = cfg_getbool(t, "report_only") ? 1 : 0;
	if (cfg_getstr(t, "authserv_id") != NULL)
		c->authserv_id = xstrdup(cfg_getstr(t, "authserv_id"));
	else {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->authserv_id = xstrdup(host);
	}
	h = word_index(header_words, NELEM(header_words),
	    cfg_getstr(t, "header"));
	c->header = h < 0 ? CFG_HDR_AR : (enum cfg_header)h;
	c->stats_listen = xstrdup(cfg_getstr(t, "stats_listen"));

	s = cfg_getsec(t, "dns");
	c->dns.nforward = (int)cfg_size(s, "forward");
	for (i = 0; i < (unsigned)c->dns.nforward; i++)
		c->dns.forward[i] = xstrdup(cfg_getnstr(s, "forward", i));
	c->dns.dnssec = cfg_getbool(s, "dnssec") ? 1 : 0;
	c->dns.query_timeout = (int)cfg_getint(s, "query_timeout");
	c->dns.trust_anchor = NULL;

	s = cfg_getsec(t, "skip");
	c->skip_networks = netaddr_list_new();
	for (i = 0; i < cfg_size(s, "networks"); i++)
		if (netaddr_list_add(c->skip_networks,
		    cfg_getnstr(s, "networks", i), why, sizeof(why)) != 0) {
			/* Defaults never fail; validated values neither. */
			snprintf(err, errlen, "%s: skip.networks: %s", file, why);
			cfg_unref(c);
			return NULL;
		}
	c->skip_sasl = cfg_getbool(s, "sasl_authenticated") ? 1 : 0;

	s = cfg_getsec(t, "ptr");
	c->ptr.enabled = cfg_getbool(s, "enabled") ? 1 : 0;
	c->ptr.on_fail = get_action(s, "on_fail");
	c->ptr.on_temperror = get_action(s, "on_temperror");
	c->ptr.max_names = (int)cfg_getint(s, "max_names");

	s = cfg_getsec(t, "spf");
	c->spf.helo = cfg_getbool(s, "helo") ? 1 : 0;
	c->spf.mailfrom = cfg_getbool(s, "mailfrom") ? 1 : 0;
	c->spf.on_fail = get_action(s, "on_fail");
	c->spf.on_softfail = get_action(s, "on_softfail");
	c->spf.on_neutral = get_action(s, "on_neutral");
	c->spf.on_none = get_action(s, "on_none");
	c->spf.on_permerror = get_action(s, "on_permerror");
	c->spf.on_temperror = get_action(s, "on_temperror");
	c->spf.helo_on_fail = get_action(s, "helo_on_fail");
	c->spf.void_lookup_limit = (int)cfg_getint(s, "void_lookup_limit");
	c->spf.lookup_limit = (int)cfg_getint(s, "lookup_limit");

	h = word_index(log_format_words, NELEM(log_format_words),
	    cfg_getstr(t, "log_format"));
	c->log_format = h < 0 ? CFG_LOG_TEXT : (enum cfg_log_format)h;
	h = word_index(private_words, NELEM(private_words),
	    cfg_getstr(t, "private_clients"));
	c->private_clients = h < 0 ? CFG_PRIVATE_ACCEPT : (enum cfg_private)h;

	s = cfg_getsec(t, "forwarders");
	c->fwd_networks = netaddr_list_new();
	for (i = 0; i < cfg_size(s, "networks"); i++)
		if (netaddr_list_add(c->fwd_networks,
		    cfg_getnstr(s, "networks", i), why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: forwarders.networks: %s",
			    file, why);
			cfg_unref(c);
			return NULL;
		}
	for (i = 0; i < cfg_size(s, "names") && i < CFG_FWD_NAMES_MAX; i++) {
		c->fwd_names[c->nfwd_names] = xstrdup(cfg_getnstr(s, "names", i));
		lower(c->fwd_names[c->nfwd_names++]);
	}
	for (i = 0; i < cfg_size(s, "spf_domains") && i < CFG_FWD_SPF_MAX; i++) {
		c->fwd_spf_domains[c->nfwd_spf_domains] =
		    xstrdup(cfg_getnstr(s, "spf_domains", i));
		lower(c->fwd_spf_domains[c->nfwd_spf_domains++]);
	}

	n = cfg_size(t, "context") + cfg_size(t, "domain");
	if (n > CFG_OVERRIDES_MAX) {
		snprintf(err, errlen, "%s: more than %d context and domain "
		    "sections", file, CFG_OVERRIDES_MAX);
		cfg_unref(c);
		return NULL;
	}
	c->overrides = xcalloc(n ? n : 1, sizeof(*c->overrides));
	for (i = 0; i < cfg_size(t, "context"); i++)
		build_override(cfg_getnsec(t, "context", i), "context",
		    &c->overrides[c->noverrides++]);
	for (i = 0; i < cfg_size(t, "domain"); i++)
		build_override(cfg_getnsec(t, "domain", i), "domain",
		    &c->overrides[c->noverrides++]);
	return c;
}

/*
 * Read file and blank out "#" and "//" comments outside quoted strings,
 * keeping the newlines. Returns a NUL-terminated copy or NULL with err.
 */
static char *
read_config(const char *file, char *err, size_t errlen)
{
	FILE   *fp;
	char   *buf, *p;
	size_t	n;
	int	quote = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", file,
		    strerror(errno));
		return NULL;
	}
	buf = xmalloc(CFG_FILE_MAX + 2);
	n = fread(buf, 1, CFG_FILE_MAX + 1, fp);
	if (ferror(fp) || n > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", file, ferror(fp) ?
		    "cannot read" : "over CFG_FILE_MAX bytes");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: NUL byte in the file", file);
		free(buf);
		return NULL;
	}
	for (p = buf; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1] != '\0' && p[1] != '\n')
				p++;
			else if (*p == quote || *p == '\n')
				quote = 0;
			continue;
		}
		if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '#' || (*p == '/' && p[1] == '/'))
			while (*p && *p != '\n')
				*p++ = ' ';
		if (*p == '\0')
			break;
	}
	return buf;
}

struct cfg *
cfg_load(const char *file, char *err, size_t errlen)
{
	struct cfg *c;
	cfg_t  *t;
	char   *text;
	size_t	i;
	int	rc;

	errbuf[0] = '\0';
	cur_file = file;
	if (errlen > 0)
		err[0] = '\0';
	if ((text = read_config(file, err, errlen)) == NULL)
		return NULL;
	set_shared_validators();
	t = cfg_init(root_opts, CFGF_NONE);
	cfg_set_error_function(t, errfunc);
	for (i = 0; i < NELEM(validators); i++)
		cfg_set_validate_func(t, validators[i].name, validators[i].fn);
	rc = cfg_parse_buf(t, text);
	free(text);
	if (rc != CFG_SUCCESS) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, sizeof(errbuf), "%s: %s", file,
			    rc == CFG_FILE_ERROR ? "cannot read" :
			    "syntax error");
		snprintf(err, errlen, "%s", errbuf);
		cfg_free(t);
		return NULL;
	}
	c = build(t, file, err, errlen);
	cfg_free(t);
	return c;
}

struct cfg *
cfg_ref(struct cfg *c)
{
	if (c != NULL)
		c->refs++;
	return c;
}

void
cfg_unref(struct cfg *c)
{
	int	i;

	if (c == NULL || --c->refs > 0)
		return;
	free(c->file);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->user);
	free(c->authserv_id);
	free(c->stats_listen);
	for (i = 0; i < c->dns.nforward; i++)
		free((char *)c->dns.forward[i]);
	netaddr_list_free(c->skip_networks);
	netaddr_list_free(c->fwd_networks);
	for (i = 0; i < c->nfwd_names; i++)
		free(c->fwd_names[i]);
	for (i = 0; i < c->nfwd_spf_domains; i++)
		free(c->fwd_spf_domains[i]);
	for (i = 0; i < c->noverrides; i++)
		free(c->overrides[i].name);
	free(c->overrides);
	free(c);
}

int
cfg_name_in_domain(const char *host, const char *domain)
{
	size_t	hl = strlen(host), dl = strlen(domain);

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (dl == 0 || hl < dl)
		return 0;
	if (strncasecmp(host + hl - dl, domain, dl) != 0)
		return 0;
	return hl == dl || host[hl - dl - 1] == '.';
}

static void
apply(struct cfg *out, const struct cfg_override *o)
{
	size_t	i;

	for (i = 0; i < NELEM(ofields); i++) {
		char   *p = (char *)out + ofields[i].off;

		if (!(o->set & (1UL << i)))
			continue;
		if (ofields[i].kind == OF_ACTION) {
			enum cfg_action a = (enum cfg_action)o->val[i];

			memcpy(p, &a, sizeof(a));
		} else
			memcpy(p, &o->val[i], sizeof(int));
	}
}

void
cfg_effective(const struct cfg *c, const char *policy_context,
    const char *recipient, struct cfg *out, char *applied, size_t applen)
{
	const struct cfg_override *ctx = NULL, *dom = NULL;
	const char *at = recipient ? strrchr(recipient, '@') : NULL;
	const char *rdom = at ? at + 1 : "";
	int	i;

	*out = *c;
	if (applen > 0)
		applied[0] = '\0';
	for (i = 0; i < c->noverrides; i++) {
		const struct cfg_override *o = &c->overrides[i];

		if (!o->is_domain) {
			if (ctx == NULL && policy_context != NULL &&
			    strcasecmp(o->name, policy_context) == 0)
				ctx = o;
		} else if (*rdom && cfg_name_in_domain(rdom, o->name) &&
		    (dom == NULL || strlen(o->name) > strlen(dom->name)))
			dom = o;
	}
	if (ctx)
		apply(out, ctx);
	if (dom)
		apply(out, dom);
	if (applen > 0 && (ctx || dom))
		snprintf(applied, applen, "%s%s%s%s%s", ctx ? "context:" : "",
		    ctx ? ctx->name : "", ctx && dom ? "," : "",
		    dom ? "domain:" : "", dom ? dom->name : "");
}
