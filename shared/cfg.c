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
 * DESCRIPTION
 *	cfg_load() parses FILE with the schema of SPEC 2.2, validates every
 *	value where libconfuse reads it (so the error carries the line), and
 *	copies the result into a struct cfg that owns all its strings. The
 *	libconfuse tree is freed before cfg_load() returns: the daemon never
 *	sees a cfg_t, and a reload builds a complete new struct cfg before
 *	the old one is dropped (atomic reload, SPEC 2.1).
 *
 *	libconfuse's own names are cfg_t and cfg_*(); ours are the four
 *	functions above, none of which libconfuse exports.
 * DIAGNOSTICS
 *	The first error only, as "FILE:LINE: what" (or "FILE: what" when the
 *	file cannot be read): unknown keys, syntax errors, action and header
 *	words, timeouts out of range (request_timeout must stay below
 *	Postfix's smtpd_policy_service_timeout of 100 s), listen syntax
 *	(inet:HOST:PORT, inet:[V6]:PORT, unix:/ABSOLUTE/PATH), CIDRs,
 *	dns.forward (ADDR or ADDR@PORT), limits below 1, unknown user.
 * LIMITS
 *	CFG_LISTEN_MAX listen addresses, DNS_FORWARD_MAX forwarders,
 *	NETADDR_CIDR_LIST_MAX skip networks, CFG_ERR_MAX bytes of error.
 *	libconfuse keeps its state in globals: cfg_load() is not reentrant.
 *--*/
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

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
			cfg_error(c, "skip.networks \"%s\": %s", s, why);
			rc = -1;
			break;
		}
	}
	netaddr_list_free(l);
	return rc;
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

static cfg_opt_t root_opts[] = {
	CFG_STR_LIST("listen", "{\"inet:127.0.0.1:10045\"}", CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_INT("workers", 4, CFGF_NONE),
	CFG_INT("request_timeout", 10, CFGF_NONE),
	CFG_INT("idle_timeout", 300, CFGF_NONE),
	CFG_INT("max_connections", 1000, CFGF_NONE),
	CFG_BOOL("report_only", cfg_false, CFGF_NONE),
	CFG_STR("authserv_id", NULL, CFGF_NODEFAULT),
	CFG_STR("header", "authentication-results", CFGF_NONE),
	CFG_STR("stats_listen", NULL, CFGF_NODEFAULT),
	CFG_SEC("dns", dns_opts, CFGF_NONE),
	CFG_SEC("skip", skip_opts, CFGF_NONE),
	CFG_SEC("ptr", ptr_opts, CFGF_NONE),
	CFG_SEC("spf", spf_opts, CFGF_NONE),
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
	{"skip|networks", v_networks},
	{"ptr|on_fail", v_action},
	{"ptr|on_temperror", v_action},
	{"ptr|max_names", v_max_names},
	{"spf|on_fail", v_action},
	{"spf|on_softfail", v_action},
	{"spf|on_neutral", v_action},
	{"spf|on_none", v_action},
	{"spf|on_permerror", v_action},
	{"spf|on_temperror", v_action},
	{"spf|helo_on_fail", v_action},
	{"spf|void_lookup_limit", v_lookup_limit},
	{"spf|lookup_limit", v_lookup_limit},
};

static enum cfg_action
get_action(cfg_t *sec, const char *name)
{
	int	i = word_index(action_words, NELEM(action_words),
	    cfg_getstr(sec, name));

	return i < 0 ? CFG_DEFER : (enum cfg_action)i;
}

/* Copy the validated libconfuse tree into our own struct. */
static struct cfg *
build(cfg_t *t, const char *file, char *err, size_t errlen)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	cfg_t  *s;
	char	host[256], why[CFG_ERR_MAX];
	unsigned i;
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
	return c;
}

struct cfg *
cfg_load(const char *file, char *err, size_t errlen)
{
	struct cfg *c;
	cfg_t  *t;
	FILE   *fp;
	size_t	i;
	int	rc;

	errbuf[0] = '\0';
	cur_file = file;
	if (errlen > 0)
		err[0] = '\0';
	/* cfg_parse() says only CFG_FILE_ERROR; open it first for errno. */
	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", file,
		    strerror(errno));
		return NULL;
	}
	fclose(fp);
	t = cfg_init(root_opts, CFGF_NONE);
	cfg_set_error_function(t, errfunc);
	for (i = 0; i < NELEM(validators); i++)
		cfg_set_validate_func(t, validators[i].name, validators[i].fn);
	rc = cfg_parse(t, file);
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
	free(c);
}
