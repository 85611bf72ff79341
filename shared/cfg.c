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
 *		const char *recipient, const char *sender, struct cfg *out,
 *		char *applied, size_t applen);
 *	int cfg_recipient_skipped(const struct cfg *c, const char *recipient);
 *	int cfg_name_in_domain(const char *host, const char *domain);
 * DESCRIPTION
 *	cfg_load() parses FILE with the schema of SPEC 2.2, validates every
 *	value where libconfuse reads it (so the error carries the line), and
 *	copies the result into a struct cfg that owns all its strings. The
 *	libconfuse tree is freed before cfg_load() returns: the daemon never
 *	sees a cfg_t, and a reload builds a complete new struct cfg before
 *	the old one is dropped (atomic reload, SPEC 2.1).
 *
 *	libconfuse does not say everything that goes wrong: the last of two
 *	values of one key wins, two blocks of one section are merged, and a
 *	quote that is not closed makes a string of the following lines.
 *	cfgscan(3) reads the text first and finds these; a quoted string
 *	never spans lines in this file. libconfuse's own
 *	messages are rewritten in errfunc() to name the section and the
 *	value, and integers and booleans are parsed by our callbacks for the
 *	same reason.
 *
 *	Override sections, context "NAME" { spf { } ptr { } },
 *	domain "NAME" { ... } and sender "NAME" { ... }, hold only the keys
 *	they set (libconfuse's CFGF_MODIFIED flag tells which);
 *	cfg_effective() layers them on the top level for one request, a
 *	later one winning key by key: the context section matching
 *	policy_context, then the domain section matching the recipient's
 *	domain, then the sender section matching the MAIL FROM domain (for
 *	both at a label boundary, the longest such title). So a sender
 *	section that demands an SPF pass for one's own domain is not undone
 *	by a recipient's section.
 *
 *	Before 0.2, ptr.on_fail also covered a client without any PTR
 *	record; ptr.on_missing now does. A file, or a section, that sets
 *	ptr.on_fail but not ptr.on_missing keeps the old meaning, and the
 *	result's notes say so.
 *
 *	libconfuse's own names are cfg_t and cfg_*(); ours are the eight
 *	functions above, none of which libconfuse exports.
 * DIAGNOSTICS
 *	The first error only, as "FILE:LINE: what" (or "FILE: what" when the
 *	file cannot be read), naming the key as section.key (in an override
 *	section: domain "example.org" ptr.on_fail) and the value: unknown
 *	keys, syntax errors, a key or section given twice, a section not
 *	closed, a quote not closed on its line (reported on that line; of
 *	cfgscan(3)'s and libconfuse's errors the earlier line's is
 *	reported), integers and booleans,
 *	action and header words, timeouts out of range (request_timeout must
 *	stay below Postfix's smtpd_policy_service_timeout of 100 s, and
 *	dns.query_timeout below request_timeout), listen syntax
 *	(inet:HOST:PORT, inet:[V6]:PORT, unix:/ABSOLUTE/PATH), CIDRs,
 *	dns.forward (ADDR or ADDR@PORT), limits below 1, unknown user,
 *	section titles, forwarder and skip names that are not host names,
 *	skip.recipients entries without exactly one '@', lookup limits
 *	inside an override section (they are process-wide). Control
 *	characters in a message become '?'.
 *
 *	Notes, not errors: a CIDR with host bits set (10.1.2.3/8 means
 *	10.0.0.0/8), and ptr.on_fail standing in for ptr.on_missing.
 * LIMITS
 *	CFG_LISTEN_MAX listen addresses, DNS_FORWARD_MAX forwarders,
 *	NETADDR_CIDR_LIST_MAX skip networks, CFG_ERR_MAX bytes of error,
 *	CFG_OVERRIDES_MAX override sections, CFG_FWD_NAMES_MAX forwarder
 *	names, CFG_FWD_SPF_MAX forwarder SPF domains, CFG_SKIP_NAMES_MAX
 *	skip.client_names and skip.helo_names each, CFG_SKIP_RCPT_MAX
 *	skip.recipients with local parts of CFG_LOCAL_MAX bytes,
 *	CFG_NOTES_MAX notes, CFG_FILE_MAX bytes of file. Values in
 *	messages are cut to CFG_SHOW_LEN bytes.
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
#include "shared/cfgscan.h"
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
#define CFG_LOCAL_MAX		64	/* local part in skip.recipients */
#define CFG_SHOW_LEN		CFGSCAN_SHOW_LEN
#define CFG_PATH_LEN		CFGSCAN_PATH_LEN

/* The state of the current cfg_load(); libconfuse has no user pointer
 * on cfg_t, and cfg_load() runs in the main thread only. */
static struct {
	char	errbuf[CFG_ERR_MAX];	/* the first error */
	int	errline;		/* its line; 0: none */
	const char *file;		/* sections' cfg_t carry no file name */
	cfg_t  *root;			/* for the section path of a message */
	char   *notes;			/* "FILE:LINE: text\n" lines */
	size_t	notes_len;
	int	nnotes, notes_dropped;
	int	line_request_timeout, line_query_timeout;	/* 0: unset */
	struct {
		const cfg_t *ptr;	/* a ptr section */
		int	line;		/* where its on_fail is set */
	}	on_fail[CFG_OVERRIDES_MAX + 1];
	int	non_fail;
	const cfg_opt_t *hb_opt;	/* the list entry last checked for */
	unsigned hb_n;			/* host bits (see v_networks()) */
} ls;

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

static const char *const override_words[] = {
	[CFG_OV_CONTEXT] = "context",
	[CFG_OV_DOMAIN] = "domain",
	[CFG_OV_SENDER] = "sender",
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
	{"ptr", "on_missing", OF_ACTION, offsetof(struct cfg, ptr.on_missing)},
	{"ptr", "on_fail", OF_ACTION, offsetof(struct cfg, ptr.on_fail)},
	{"ptr", "on_temperror", OF_ACTION, offsetof(struct cfg, ptr.on_temperror)},
	{"ptr", "unless_spf_pass", OF_BOOL,
	    offsetof(struct cfg, ptr.unless_spf_pass)},
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

/* Where section c is, for a message: "" at the top level, "spf", or
 * "domain \"example.org\" spf" inside an override section. */
static char *
sec_path(const cfg_t *c, char *buf, size_t len)
{
	char	t[CFG_SHOW_LEN];
	unsigned i;
	size_t	k;

	buf[0] = '\0';
	if (c == NULL || c == ls.root)
		return buf;
	for (k = 0; ls.root != NULL && k < NELEM(override_words); k++)
		for (i = 0; i < cfg_size(ls.root, override_words[k]); i++) {
			cfg_t  *sec = cfg_getnsec(ls.root, override_words[k],
			    i);

			if (sec != c && cfg_getsec(sec, "spf") != c &&
			    cfg_getsec(sec, "ptr") != c)
				continue;
			snprintf(buf, len, "%s \"%s\"%s%s", override_words[k],
			    cfgscan_shown(cfg_title(sec), t, sizeof(t)),
			    sec == c ? "" : " ", sec == c ? "" : c->name);
			return buf;
		}
	snprintf(buf, len, "%s", c->name);
	return buf;
}

/* "key", "spf.key", "domain \"example.org\" spf.key". Returns buf. */
static char *
keypath(const cfg_t *c, const char *key, char *buf, size_t len)
{
	char	p[CFG_PATH_LEN - CFG_SHOW_LEN - 1], k[CFG_SHOW_LEN];
	size_t	n;

	sec_path(c, p, sizeof(p));
	cfgscan_shown(key, k, sizeof(k));
	if ((n = strlen(p)) == 0)
		snprintf(buf, len, "%s", k);
	else
		snprintf(buf, len, "%s%s%s", p, p[n - 1] == '"' ? " " : ".", k);
	return buf;
}

/* One line of notes, as it is. */
static void
note_add(const char *text)
{
	size_t	n = strlen(text);

	ls.notes = xrealloc(ls.notes, ls.notes_len + n + 2);
	memcpy(ls.notes + ls.notes_len, text, n);
	ls.notes_len += n;
	ls.notes[ls.notes_len++] = '\n';
	ls.notes[ls.notes_len] = '\0';
}

static void note(int, const char *, ...) __attribute__((format(printf, 2, 3)));

/* A note for the result of this cfg_load() (struct cfg's notes). */
static void
note(int line, const char *fmt, ...)
{
	char	text[CFG_ERR_MAX];
	va_list	ap;
	int	n;

	if (ls.nnotes >= CFG_NOTES_MAX) {
		ls.notes_dropped++;
		return;
	}
	if (line > 0)
		n = snprintf(text, sizeof(text), "%s:%d: ", ls.file, line);
	else
		n = snprintf(text, sizeof(text), "%s: ", ls.file);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	note_add(text);
	ls.nnotes++;
}

/*
 * libconfuse's messages, rewritten to name the section and the value
 * (their format strings are compared: the daemon never calls
 * setlocale(), so libconfuse's gettext returns them as they are).
 * Anything else is printed as it comes.
 */
static void libconfuse_msg(cfg_t *, const char *, va_list, char *, size_t)
	    __attribute__((format(printf, 2, 0)));

static void
libconfuse_msg(cfg_t *c, const char *fmt, va_list ap, char *out,
    size_t outlen)
{
	char	where[CFG_PATH_LEN], key[CFG_PATH_LEN], v[CFG_SHOW_LEN];
	const char *arg;

	sec_path(c, where, sizeof(where));
	if (strcmp(fmt, "no such option '%s'") == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "no such option '%s'",
		    keypath(c, arg, key, sizeof(key)));
	} else if (strcmp(fmt, "unexpected token '%s'") == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "unexpected \"%s\" %s%s",
		    cfgscan_shown(arg, v, sizeof(v)), where[0] ? "in section " :
		    "at the top level", where);
	} else if (strcmp(fmt, "unexpected closing brace") == 0) {
		snprintf(out, outlen, "unexpected \"}\" %s%s", where[0] ?
		    "in section " : "at the top level: no section is open",
		    where);
	} else if (strcmp(fmt, "premature end of file") == 0) {
		if (where[0])
			snprintf(out, outlen, "premature end of file: section "
			    "%s is not closed", where);
		else
			snprintf(out, outlen, "premature end of file: a value "
			    "is missing");
	} else if (strcmp(fmt, "missing equal sign after option '%s'") == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "missing \"=\" after %s",
		    keypath(c, arg, key, sizeof(key)));
	} else if (strcmp(fmt, "attempt to append to non-list option '%s'")
	    == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "%s is not a list: \"+=\" appends to "
		    "lists only", keypath(c, arg, key, sizeof(key)));
	} else if (strcmp(fmt, "missing opening brace for section '%s'") ==
	    0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "%s is a section: want \"{\" after its "
		    "name", keypath(c, arg, key, sizeof(key)));
	} else if (strcmp(fmt, "missing title for section '%s'") == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "section %s needs a title in quotes "
		    "before its \"{\"", keypath(c, arg, key, sizeof(key)));
	} else if (strcmp(fmt, "found duplicate title '%s'") == 0) {
		arg = va_arg(ap, const char *);
		snprintf(out, outlen, "a section titled \"%s\" comes earlier",
		    cfgscan_shown(arg, v, sizeof(v)));
	} else if (strcmp(fmt, "unterminated string constant") == 0) {
		snprintf(out, outlen, "unterminated string%s%s", where[0] ?
		    " in section " : "", where);
	} else
		vsnprintf(out, outlen, fmt, ap);
}

static void errfunc(cfg_t *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

static void
errfunc(cfg_t *c, const char *fmt, va_list ap)
{
	char	msg[CFG_ERR_MAX / 2];

	if (ls.errbuf[0] != '\0')
		return;			/* keep the first error */
	libconfuse_msg(c, fmt, ap, msg, sizeof(msg));
	if (c != NULL && c->line > 0) {
		ls.errline = c->line;
		snprintf(ls.errbuf, sizeof(ls.errbuf), "%s:%d: %s", ls.file,
		    c->line, msg);
	} else
		snprintf(ls.errbuf, sizeof(ls.errbuf), "%s: %s", ls.file, msg);
}

/* Integers and booleans: libconfuse's own messages name neither the
 * section nor the value. Decimal, or 0x hex and 0 octal as libconfuse. */
static int
p_int(cfg_t *c, cfg_opt_t *opt, const char *value, void *result)
{
	char	key[CFG_PATH_LEN], v[CFG_SHOW_LEN];
	char   *end;
	long	n;

	if (value == NULL)
		value = "";
	errno = 0;
	n = strtol(value, &end, 0);
	if (*value == '\0' || *end != '\0') {
		cfg_error(c, "%s = \"%s\": want a whole number",
		    keypath(c, opt->name, key, sizeof(key)),
		    cfgscan_shown(value, v, sizeof(v)));
		return -1;
	}
	if (errno == ERANGE || n < INT_MIN || n > INT_MAX) {
		cfg_error(c, "%s = %s: out of range",
		    keypath(c, opt->name, key, sizeof(key)),
		    cfgscan_shown(value, v, sizeof(v)));
		return -1;
	}
	*(long *)result = n;
	return 0;
}

static int
p_bool(cfg_t *c, cfg_opt_t *opt, const char *value, void *result)
{
	char	key[CFG_PATH_LEN], v[CFG_SHOW_LEN];
	int	b = value != NULL ? cfg_parse_boolean(value) : -1;

	if (b < 0) {
		cfg_error(c, "%s = \"%s\": want true or false (or yes, no, "
		    "on, off)", keypath(c, opt->name, key, sizeof(key)),
		    cfgscan_shown(value, v, sizeof(v)));
		return -1;
	}
	*(int *)result = b;
	return 0;
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

/* A note when s, parsed as cidr, has host bits set. */
static void
host_bits(const cfg_t *c, const char *key, const char *s,
    const struct netaddr_cidr *cidr)
{
	struct netaddr_cidr host;
	char	addr[NETADDR_STR_MAX], why[CFG_ERR_MAX], v[CFG_SHOW_LEN];
	const char *slash = strchr(s, '/');
	size_t	alen, blen;

	if (slash == NULL || (alen = (size_t)(slash - s)) >= sizeof(addr))
		return;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	/* The address alone, parsed the same way (brackets, mapped). */
	if (netaddr_cidr_parse(addr, &host, why, sizeof(why)) != 0)
		return;
	blen = host.addr.family == AF_INET ? 4 : 16;
	if (host.addr.family == cidr->addr.family &&
	    memcmp(host.addr.a, cidr->addr.a, blen) == 0)
		return;
	note(c->line, "%s: %s has host bits set; it means %s/%d", key,
	    cfgscan_shown(s, v, sizeof(v)), netaddr_format(&cidr->addr, addr,
	    sizeof(addr)), cidr->prefix);
}

/*
 * libconfuse calls a list's validator after each entry it adds and
 * again at the closing brace, so the entry to check is the last one;
 * the host-bits note is made once per entry.
 */
static int
v_networks(cfg_t *c, cfg_opt_t *opt)
{
	char	why[CFG_ERR_MAX], key[CFG_PATH_LEN];
	struct netaddr_cidr cidr;
	unsigned n = cfg_opt_size(opt);
	const char *s;

	if (n == 0)
		return 0;
	keypath(c, opt->name, key, sizeof(key));
	if (n > NETADDR_CIDR_LIST_MAX) {
		cfg_error(c, "%s: more than %d networks", key,
		    NETADDR_CIDR_LIST_MAX);
		return -1;
	}
	s = cfg_opt_getnstr(opt, n - 1);
	if (netaddr_cidr_parse(s, &cidr, why, sizeof(why)) != 0) {
		cfg_error(c, "%s \"%s\": %s", key, s, why);
		return -1;
	}
	if (opt != ls.hb_opt || n != ls.hb_n) {
		ls.hb_opt = opt;
		ls.hb_n = n;
		host_bits(c, key, s, &cidr);
	}
	return 0;
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

/* A host name as written in a list: one final dot is allowed. */
static int
is_list_name(const char *s)
{
	char	buf[DNS_NAME_MAX + 2];
	size_t	n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return is_host_name(buf);
}

/* A list of host or domain names: forwarders.names,
 * forwarders.spf_domains, skip.client_names, skip.helo_names. */
static int
v_names(cfg_t *c, cfg_opt_t *opt, unsigned max)
{
	char	key[CFG_PATH_LEN];
	unsigned i, n = cfg_opt_size(opt);

	keypath(c, opt->name, key, sizeof(key));
	if (n > max) {
		cfg_error(c, "%s: more than %u entries", key, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = cfg_opt_getnstr(opt, i);

		if (!is_list_name(s)) {
			cfg_error(c, "%s \"%s\": want a host or domain name "
			    "(no leading dot, no wildcard)", key, s);
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
v_skip_names(cfg_t *c, cfg_opt_t *opt)
{
	return v_names(c, opt, CFG_SKIP_NAMES_MAX);
}

/* "local@", "@domain" or "local@domain": one '@'; a local part of
 * printable ASCII without space; a domain that is a host name. */
static int
is_recipient_entry(const char *s)
{
	const char *at = strchr(s, '@');
	size_t	i;

	if (at == NULL || strchr(at + 1, '@') != NULL ||
	    (at == s && at[1] == '\0') || at - s > CFG_LOCAL_MAX)
		return 0;
	for (i = 0; s + i < at; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return at[1] == '\0' || is_list_name(at + 1);
}

static int
v_recipients(cfg_t *c, cfg_opt_t *opt)
{
	char	key[CFG_PATH_LEN];
	unsigned i, n = cfg_opt_size(opt);

	keypath(c, opt->name, key, sizeof(key));
	if (n > CFG_SKIP_RCPT_MAX) {
		cfg_error(c, "%s: more than %d entries", key,
		    CFG_SKIP_RCPT_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = cfg_opt_getnstr(opt, i);

		if (!is_recipient_entry(s)) {
			cfg_error(c, "%s \"%s\": want \"local@\" (any domain), "
			    "\"@domain\" or \"local@domain\", with one '@'",
			    key, s);
			return -1;
		}
	}
	return 0;
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
	if (strcmp(opt->name, "context") != 0) {
		if (title == NULL || !is_host_name(title)) {
			cfg_error(c, "%s \"%s\": want a domain name (no "
			    "leading dot; subdomains match too)", opt->name,
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
	char	key[CFG_PATH_LEN];
	const char *s = cfg_opt_getnstr(opt, 0);

	if (word_index(action_words, NELEM(action_words), s) < 0) {
		cfg_error(c, "%s \"%s\": want reject, defer, accept or warn",
		    keypath(c, opt->name, key, sizeof(key)), s ? s : "");
		return -1;
	}
	return 0;
}

/* ptr.on_fail, and where it is set: the note of the upgrade rule
 * (build_ptr()) names that line. */
static int
v_ptr_on_fail(cfg_t *c, cfg_opt_t *opt)
{
	int	i;

	if (v_action(c, opt) != 0)
		return -1;
	for (i = 0; i < ls.non_fail && ls.on_fail[i].ptr != c; i++)
		continue;
	if (i < (int)NELEM(ls.on_fail)) {
		ls.on_fail[i].ptr = c;
		ls.on_fail[i].line = c->line;
		if (i == ls.non_fail)
			ls.non_fail++;
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
	char	key[CFG_PATH_LEN];
	long	v = cfg_opt_getnint(opt, 0);

	if (v < lo || v > hi) {
		cfg_error(c, "%s = %ld: must be %ld..%ld%s",
		    keypath(c, opt->name, key, sizeof(key)), v, lo, hi, why);
		return -1;
	}
	return 0;
}

static int
v_workers(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, SPFPOOL_WORKERS_MAX, "");
}

/* The two timeouts remember their lines for check_timeouts(). */
static int
v_request_timeout(cfg_t *c, cfg_opt_t *o)
{
	ls.line_request_timeout = c->line;
	return v_range(c, o, 1, CFG_POSTFIX_TIMEOUT - 1,
	    " (below Postfix's smtpd_policy_service_timeout, 100s)");
}

static int
v_timeout(cfg_t *c, cfg_opt_t *o)
{
	return v_range(c, o, 1, CFG_TIMEOUT_MAX, "");
}

static int
v_query_timeout(cfg_t *c, cfg_opt_t *o)
{
	ls.line_query_timeout = c->line;
	return v_timeout(c, o);
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
	CFG_STR_LIST("recipients", "{\"postmaster@\", \"abuse@\"}", CFGF_NONE),
	CFG_STR_LIST("client_names", "{}", CFGF_NONE),
	CFG_STR_LIST("helo_names", "{}", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t ptr_opts[] = {
	CFG_BOOL("enabled", cfg_true, CFGF_NONE),
	CFG_STR("on_missing", "reject", CFGF_NONE),
	CFG_STR("on_fail", "accept", CFGF_NONE),
	CFG_STR("on_temperror", "defer", CFGF_NONE),
	CFG_BOOL("unless_spf_pass", cfg_true, CFGF_NONE),
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
	CFG_SEC("sender", override_opts, CFGF_MULTI | CFGF_TITLE |
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
	{"dns|query_timeout", v_query_timeout},
	{"log_format", v_log_format},
	{"private_clients", v_private},
	{"skip|networks", v_networks},
	{"skip|recipients", v_recipients},
	{"skip|client_names", v_skip_names},
	{"skip|helo_names", v_skip_names},
	{"forwarders|networks", v_networks},
	{"forwarders|names", v_fwd_names},
	{"forwarders|spf_domains", v_fwd_spf},
	{"context", v_override},
	{"domain", v_override},
	{"sender", v_override},
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
	{ptr_opts, "on_missing", v_action},
	{ptr_opts, "on_fail", v_ptr_on_fail},
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

/* Every option array of the schema, for prepare_schema(). */
static cfg_opt_t *const all_opts[] = {
	root_opts, dns_opts, skip_opts, ptr_opts, spf_opts, override_opts,
	forwarders_opts,
};

/* The shared validators, and our parsers of integers and booleans on
 * every such key (for messages that name the section and the value). */
static void
prepare_schema(void)
{
	size_t	i;
	cfg_opt_t *o;

	for (i = 0; i < NELEM(shared_validators); i++)
		for (o = shared_validators[i].opts; o->name != NULL; o++)
			if (strcmp(o->name, shared_validators[i].name) == 0)
				o->validcb = shared_validators[i].fn;
	for (i = 0; i < NELEM(all_opts); i++)
		for (o = all_opts[i]; o->name != NULL; o++)
			if (o->type == CFGT_INT)
				o->parsecb = p_int;
			else if (o->type == CFGT_BOOL)
				o->parsecb = p_bool;
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

/* Where ptr section sec sets on_fail (v_ptr_on_fail()), or 0. */
static int
on_fail_line(const cfg_t *sec)
{
	int	i;

	for (i = 0; i < ls.non_fail; i++)
		if (ls.on_fail[i].ptr == sec)
			return ls.on_fail[i].line;
	return 0;
}

/* The upgrade rule: a ptr section that sets on_fail and not on_missing
 * means what on_fail meant before 0.2, both. Returns 1 when it applies
 * (the caller copies the value), with a note. */
static int
ptr_upgrade(cfg_t *ptr)
{
	char	key[CFG_PATH_LEN];

	if (ptr == NULL || !(cfg_getopt(ptr, "on_fail")->flags &
	    CFGF_MODIFIED) || (cfg_getopt(ptr, "on_missing")->flags &
	    CFGF_MODIFIED))
		return 0;
	note(on_fail_line(ptr) ? on_fail_line(ptr) : ptr->line, "%s also "
	    "applies to a missing PTR record, as before 0.2: set "
	    "ptr.on_missing to choose (see relaytrust-policyd.conf(5))",
	    keypath(ptr, "on_fail", key, sizeof(key)));
	return 1;
}

static size_t
ofield_index(const char *sec, const char *key)
{
	size_t	i;

	for (i = 0; i < NELEM(ofields); i++)
		if (strcmp(ofields[i].sec, sec) == 0 &&
		    strcmp(ofields[i].key, key) == 0)
			break;
	return i;
}

/* The keys an override section set, by the table of ofields. */
static void
build_override(cfg_t *sec, enum cfg_override_kind kind,
    struct cfg_override *o)
{
	size_t	i, fail, missing;

	o->name = xstrdup(cfg_title(sec));
	o->kind = kind;
	if (kind != CFG_OV_CONTEXT)
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
	if (ptr_upgrade(cfg_getsec(sec, "ptr"))) {
		fail = ofield_index("ptr", "on_fail");
		missing = ofield_index("ptr", "on_missing");
		o->set |= 1UL << missing;
		o->val[missing] = o->val[fail];
	}
}

/* Validated names of list key into out[], lower case, without a final
 * dot. Returns how many. */
static int
copy_names(cfg_t *sec, const char *key, char **out, int max)
{
	int	i, n = (int)cfg_size(sec, key);
	size_t	len;

	for (i = 0; i < n && i < max; i++) {
		out[i] = xstrdup(cfg_getnstr(sec, key, (unsigned)i));
		lower(out[i]);
		if ((len = strlen(out[i])) > 1 && out[i][len - 1] == '.')
			out[i][len - 1] = '\0';
	}
	return i;
}

/* dns.query_timeout below request_timeout: one lookup must be able to
 * finish before the answer is due. Returns 0, or -1 with err. */
static int
check_timeouts(cfg_t *t, const char *file, char *err, size_t errlen)
{
	long	q = cfg_getint(cfg_getsec(t, "dns"), "query_timeout");
	long	r = cfg_getint(t, "request_timeout");
	int	line = ls.line_query_timeout ? ls.line_query_timeout :
	    ls.line_request_timeout;

	if (q < r)
		return 0;
	if (line > 0)
		snprintf(err, errlen, "%s:%d: ", file, line);
	else
		snprintf(err, errlen, "%s: ", file);
	snprintf(err + strlen(err), errlen - strlen(err), "dns.query_timeout "
	    "(%ld) must be below request_timeout (%ld): a lookup could never "
	    "finish before the answer is due", q, r);
	return -1;
}

/* Copy the validated libconfuse tree into our own struct. */
static struct cfg *
build(cfg_t *t, const char *file, char *err, size_t errlen)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	cfg_t  *s;
	char	host[256], why[CFG_ERR_MAX];
	unsigned i, n;
	size_t	k;
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
	c->nskip_recipients = copy_names(s, "recipients", c->skip_recipients,
	    CFG_SKIP_RCPT_MAX);
	c->nskip_client_names = copy_names(s, "client_names",
	    c->skip_client_names, CFG_SKIP_NAMES_MAX);
	c->nskip_helo_names = copy_names(s, "helo_names", c->skip_helo_names,
	    CFG_SKIP_NAMES_MAX);

	s = cfg_getsec(t, "ptr");
	c->ptr.enabled = cfg_getbool(s, "enabled") ? 1 : 0;
	c->ptr.on_missing = get_action(s, "on_missing");
	c->ptr.on_fail = get_action(s, "on_fail");
	c->ptr.on_temperror = get_action(s, "on_temperror");
	c->ptr.unless_spf_pass = cfg_getbool(s, "unless_spf_pass") ? 1 : 0;
	c->ptr.max_names = (int)cfg_getint(s, "max_names");
	if (ptr_upgrade(s))
		c->ptr.on_missing = c->ptr.on_fail;

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
	c->nfwd_names = copy_names(s, "names", c->fwd_names,
	    CFG_FWD_NAMES_MAX);
	c->nfwd_spf_domains = copy_names(s, "spf_domains", c->fwd_spf_domains,
	    CFG_FWD_SPF_MAX);

	for (n = 0, k = 0; k < NELEM(override_words); k++)
		n += cfg_size(t, override_words[k]);
	if (n > CFG_OVERRIDES_MAX) {
		snprintf(err, errlen, "%s: more than %d context, domain and "
		    "sender sections", file, CFG_OVERRIDES_MAX);
		cfg_unref(c);
		return NULL;
	}
	c->overrides = xcalloc(n ? n : 1, sizeof(*c->overrides));
	for (k = 0; k < NELEM(override_words); k++)
		for (i = 0; i < cfg_size(t, override_words[k]); i++)
			build_override(cfg_getnsec(t, override_words[k], i),
			    (enum cfg_override_kind)k,
			    &c->overrides[c->noverrides++]);
	if (ls.notes_dropped > 0) {
		snprintf(why, sizeof(why), "%s: %d more notes not shown", file,
		    ls.notes_dropped);
		note_add(why);
	}
	c->notes = ls.notes;
	ls.notes = NULL;
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

/* err's control characters (from escapes in a value) as '?'. */
static void
err_clean(char *err)
{
	for (; *err != '\0'; err++)
		if ((unsigned char)*err < 0x20 || *err == 0x7f)
			*err = '?';
}

struct cfg *
cfg_load(const char *file, char *err, size_t errlen)
{
	struct cfg *c = NULL;
	char	why[CFGSCAN_WHY_MAX];
	cfg_t  *t;
	char   *text;
	size_t	i;
	int	rc, bad_line;

	free(ls.notes);
	memset(&ls, 0, sizeof(ls));
	ls.file = file;
	if (errlen > 0)
		err[0] = '\0';
	if ((text = read_config(file, err, errlen)) == NULL)
		return NULL;
	bad_line = cfgscan(text, why, sizeof(why));
	prepare_schema();
	t = cfg_init(root_opts, CFGF_NONE);
	ls.root = t;
	cfg_set_error_function(t, errfunc);
	for (i = 0; i < NELEM(validators); i++)
		cfg_set_validate_func(t, validators[i].name, validators[i].fn);
	rc = cfg_parse_buf(t, text);
	free(text);
	/* The earlier of the two errors; the scan's on the same line (an
	 * unclosed quote confuses libconfuse from there on). */
	if (bad_line > 0 && (rc == CFG_SUCCESS || ls.errline == 0 ||
	    bad_line <= ls.errline))
		snprintf(err, errlen, "%s:%d: %s", file, bad_line, why);
	else if (rc != CFG_SUCCESS) {
		if (ls.errbuf[0] == '\0')
			snprintf(ls.errbuf, sizeof(ls.errbuf), "%s: %s", file,
			    rc == CFG_FILE_ERROR ? "cannot read" :
			    "syntax error");
		snprintf(err, errlen, "%s", ls.errbuf);
	} else if (check_timeouts(t, file, err, errlen) == 0)
		c = build(t, file, err, errlen);
	cfg_free(t);
	ls.root = NULL;
	free(ls.notes);
	ls.notes = NULL;
	if (c == NULL && errlen > 0)
		err_clean(err);
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
	for (i = 0; i < c->nskip_recipients; i++)
		free(c->skip_recipients[i]);
	for (i = 0; i < c->nskip_client_names; i++)
		free(c->skip_client_names[i]);
	for (i = 0; i < c->nskip_helo_names; i++)
		free(c->skip_helo_names[i]);
	netaddr_list_free(c->fwd_networks);
	for (i = 0; i < c->nfwd_names; i++)
		free(c->fwd_names[i]);
	for (i = 0; i < c->nfwd_spf_domains; i++)
		free(c->fwd_spf_domains[i]);
	for (i = 0; i < c->noverrides; i++)
		free(c->overrides[i].name);
	free(c->overrides);
	free(c->notes);
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

int
cfg_recipient_skipped(const struct cfg *c, const char *rcpt)
{
	const char *at, *dom;
	size_t	llen, dlen;
	int	i;

	if (rcpt == NULL || rcpt[0] == '\0')
		return 0;
	at = strrchr(rcpt, '@');
	llen = at != NULL ? (size_t)(at - rcpt) : strlen(rcpt);
	dom = at != NULL ? at + 1 : "";
	dlen = strlen(dom);
	if (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;
	for (i = 0; i < c->nskip_recipients; i++) {
		const char *e = c->skip_recipients[i];
		const char *eat = strchr(e, '@');
		size_t	elen = (size_t)(eat - e);

		if (elen > 0 && (elen != llen ||
		    strncasecmp(e, rcpt, llen) != 0))
			continue;
		if (eat[1] != '\0' && (strlen(eat + 1) != dlen ||
		    strncasecmp(eat + 1, dom, dlen) != 0))
			continue;
		return 1;
	}
	return 0;
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

/* The section of this kind whose title is the domain of addr or a
 * parent of it (the longest), or NULL. */
static const struct cfg_override *
by_domain(const struct cfg *c, enum cfg_override_kind kind,
    const char *addr)
{
	const struct cfg_override *best = NULL;
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	const char *dom = at != NULL ? at + 1 : "";
	int	i;

	if (*dom == '\0')
		return NULL;
	for (i = 0; i < c->noverrides; i++) {
		const struct cfg_override *o = &c->overrides[i];

		if (o->kind == kind && cfg_name_in_domain(dom, o->name) &&
		    (best == NULL || strlen(o->name) > strlen(best->name)))
			best = o;
	}
	return best;
}

void
cfg_effective(const struct cfg *c, const char *policy_context,
    const char *recipient, const char *sender, struct cfg *out,
    char *applied, size_t applen)
{
	const struct cfg_override *use[3] = {NULL, NULL, NULL};
	size_t	n = 0, i;
	int	k;

	*out = *c;
	if (applen > 0)
		applied[0] = '\0';
	for (k = 0; k < c->noverrides && policy_context != NULL; k++)
		if (c->overrides[k].kind == CFG_OV_CONTEXT &&
		    strcasecmp(c->overrides[k].name, policy_context) == 0) {
			use[0] = &c->overrides[k];
			break;
		}
	use[1] = by_domain(c, CFG_OV_DOMAIN, recipient);
	use[2] = by_domain(c, CFG_OV_SENDER, sender);
	/* Later wins: context, then recipient domain, then sender. */
	for (i = 0; i < NELEM(use); i++) {
		if (use[i] == NULL)
			continue;
		apply(out, use[i]);
		if (n < applen)
			n += (size_t)snprintf(applied + n, applen - n,
			    "%s%s:%s", n > 0 ? "," : "",
			    override_words[use[i]->kind], use[i]->name);
	}
}

