/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	netaddr 3
 * SUMMARY
 *	IPv4/IPv6 addresses, CIDR lists, address classes, reverse names
 * SYNOPSIS
 *	#include "shared/netaddr.h"
 *
 *	int netaddr_parse(const char *text, struct netaddr *out);
 *	char *netaddr_format(const struct netaddr *a, char *buf, size_t len);
 *	int netaddr_ptr_name(const struct netaddr *a, char *buf, size_t len);
 *	int netaddr_equal(const struct netaddr *a, const struct netaddr *b);
 *	enum netaddr_class netaddr_classify(const struct netaddr *a);
 *	const char *netaddr_class_str(enum netaddr_class c);
 *	int netaddr_class_internal(enum netaddr_class c);
 *	int netaddr_classify_text(const char *text, enum netaddr_class *c);
 *	int netaddr_cidr_parse(const char *text, struct netaddr_cidr *out,
 *		char *err, size_t errlen);
 *	int netaddr_cidr_match(const struct netaddr_cidr *c,
 *		const struct netaddr *a);
 *	struct netaddr_list *netaddr_list_new(void);
 *	int netaddr_list_add(struct netaddr_list *l, const char *text,
 *		char *err, size_t errlen);
 *	int netaddr_list_match(const struct netaddr_list *l,
 *		const struct netaddr *a);
 *	size_t netaddr_list_count(const struct netaddr_list *l);
 *	void netaddr_list_free(struct netaddr_list *l);
 * DESCRIPTION
 *	Parsing is inet_pton(3): IPv4 only in dotted-quad form (no octal,
 *	no short forms), IPv6 in any RFC 4291 form.  An "IPv6:" prefix
 *	(RFC 5321 address literals, any case) is accepted.  IPv4-mapped
 *	IPv6 (::ffff:a.b.c.d) becomes AF_INET everywhere, so a client that
 *	reaches a dual-stack socket compares equal to its IPv4 form.
 *	Formatting is inet_ntop(3), which follows RFC 5952 on glibc.
 *
 *	CIDR: "ADDR" (a host route) or "ADDR/LEN"; an IPv6 address may be
 *	in brackets ("[2001:db8::]/32").  LEN is 1 to 3 decimal digits
 *	without sign or leading zero (0 itself is allowed).  Host bits
 *	are accepted and cleared: administrators write 192.0.2.1/24.
 *	A mapped IPv6 CIDR (::ffff:192.0.2.0/120) becomes IPv4 /24.
 *
 *	Classification is informational (logs, metrics): loopback, RFC
 *	1918, CGNAT 100.64/10, link-local, ULA fc00::/7, unspecified
 *	(0/8, ::) and reserved (documentation nets, benchmarking
 *	198.18/15, multicast, 240/4, broadcast, 2001:db8::/32, ff00::/8,
 *	discard 100::/64).  Everything else is public.
 * DIAGNOSTICS
 *	Parsers return -1; netaddr_cidr_parse() and netaddr_list_add()
 *	say what was wrong in err.
 * LIMITS
 *	NETADDR_CIDR_LIST_MAX entries per list (the linear match is meant
 *	for the short lists of a configuration file); text longer than
 *	NETADDR_STR_MAX is refused.  Zone ids (fe80::1%eth0) are refused.
 *--*/
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <strings.h>

#include "shared/mem.h"
#include "shared/netaddr.h"

struct netaddr_list {
	struct netaddr_cidr *v;
	size_t	n, cap;
};

static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
netaddr_parse(const char *text, struct netaddr *out)
{
	unsigned char buf[16];

	if (text == NULL || strlen(text) >= NETADDR_STR_MAX)
		return -1;
	memset(out, 0, sizeof(*out));
	if (strncasecmp(text, "IPv6:", 5) == 0) {
		text += 5;
		if (inet_pton(AF_INET6, text, buf) != 1)
			return -1;
	} else if (inet_pton(AF_INET, text, buf) == 1) {
		out->family = AF_INET;
		memcpy(out->a, buf, 4);
		return 0;
	} else if (inet_pton(AF_INET6, text, buf) != 1)
		return -1;
	if (memcmp(buf, mapped_prefix, 12) == 0) {
		out->family = AF_INET;
		memcpy(out->a, buf + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->a, buf, 16);
	}
	return 0;
}

/* Dotted quad, without inet_ntop()'s sprintf: every request prints one. */
static int
format4(const unsigned char *b, char *buf, size_t len)
{
	char	tmp[sizeof("255.255.255.255")], *p = tmp;
	int	i;

	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*p++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char)('0' + b[i] / 10 % 10);
		*p++ = (char)('0' + b[i] % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	if ((size_t)(p - tmp) > len)
		return -1;
	memcpy(buf, tmp, (size_t)(p - tmp));
	return 0;
}

char *
netaddr_format(const struct netaddr *a, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	if (a->family == AF_INET) {
		if (format4(a->a, buf, len) != 0)
			snprintf(buf, len, "?");
		return buf;
	}
	if (a->family != AF_INET6 ||
	    inet_ntop(a->family, a->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
netaddr_ptr_name(const struct netaddr *a, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t	o = 0;
	int	i, n;

	if (a->family == AF_INET) {
		n = snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a->a[3],
		    a->a[2], a->a[1], a->a[0]);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (a->family != AF_INET6 || len < 64 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		buf[o++] = hex[a->a[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hex[a->a[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

int
netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	if (a->family != b->family)
		return 0;
	return memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16) == 0;
}

/* Does a start with the first bits bits of p? */
static int
prefix_match(const unsigned char *a, const unsigned char *p, int bits)
{
	int	full = bits / 8, rest = bits % 8;

	if (memcmp(a, p, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ p[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

enum netaddr_class
netaddr_classify(const struct netaddr *a)
{
	static const struct {
		int	family;
		unsigned char p[16];
		int	bits;
		enum netaddr_class c;
	} t[] = {
		{ AF_INET, { 127 }, 8, NETADDR_LOOPBACK },
		{ AF_INET, { 10 }, 8, NETADDR_PRIVATE },
		{ AF_INET, { 172, 16 }, 12, NETADDR_PRIVATE },
		{ AF_INET, { 192, 168 }, 16, NETADDR_PRIVATE },
		{ AF_INET, { 100, 64 }, 10, NETADDR_CGNAT },
		{ AF_INET, { 169, 254 }, 16, NETADDR_LINKLOCAL },
		{ AF_INET, { 0 }, 8, NETADDR_UNSPECIFIED },
		{ AF_INET, { 192, 0, 2 }, 24, NETADDR_RESERVED },
		{ AF_INET, { 198, 51, 100 }, 24, NETADDR_RESERVED },
		{ AF_INET, { 203, 0, 113 }, 24, NETADDR_RESERVED },
		{ AF_INET, { 198, 18 }, 15, NETADDR_RESERVED },
		{ AF_INET, { 192, 0, 0 }, 24, NETADDR_RESERVED },
		{ AF_INET, { 224 }, 4, NETADDR_RESERVED },
		{ AF_INET, { 240 }, 4, NETADDR_RESERVED },
		{ AF_INET6, { 0 }, 128, NETADDR_UNSPECIFIED },
		{ AF_INET6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
		    128, NETADDR_LOOPBACK },
		{ AF_INET6, { 0xfe, 0x80 }, 10, NETADDR_LINKLOCAL },
		{ AF_INET6, { 0xfc }, 7, NETADDR_ULA },
		{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 }, 32, NETADDR_RESERVED },
		{ AF_INET6, { 0xff }, 8, NETADDR_RESERVED },
		{ AF_INET6, { 0x01, 0x00 }, 64, NETADDR_RESERVED },
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].family == a->family &&
		    prefix_match(a->a, t[i].p, t[i].bits))
			return t[i].c;
	return NETADDR_PUBLIC;
}

/* The class of an address written as text; -1 for "" or bad text. */
int
netaddr_classify_text(const char *text, enum netaddr_class *c)
{
	struct netaddr a;

	if (text[0] == '\0' || netaddr_parse(text, &a) != 0)
		return -1;
	*c = netaddr_classify(&a);
	return 0;
}

/* A network's own addresses: loopback, private, ULA, link-local, CGNAT. */
int
netaddr_class_internal(enum netaddr_class c)
{
	switch (c) {
	case NETADDR_LOOPBACK:
	case NETADDR_PRIVATE:
	case NETADDR_ULA:
	case NETADDR_LINKLOCAL:
	case NETADDR_CGNAT:
		return 1;
	default:
		return 0;
	}
}

const char *
netaddr_class_str(enum netaddr_class c)
{
	switch (c) {
	case NETADDR_PUBLIC:
		return "public";
	case NETADDR_LOOPBACK:
		return "loopback";
	case NETADDR_PRIVATE:
		return "private";
	case NETADDR_CGNAT:
		return "cgnat";
	case NETADDR_LINKLOCAL:
		return "linklocal";
	case NETADDR_ULA:
		return "ula";
	case NETADDR_UNSPECIFIED:
		return "unspecified";
	case NETADDR_RESERVED:
		return "reserved";
	}
	return "unknown";
}

int
netaddr_cidr_parse(const char *text, struct netaddr_cidr *out, char *err,
    size_t errlen)
{
	char	buf[NETADDR_STR_MAX];
	const char *slash, *p;
	size_t	alen;
	int	max, len, bracket = 0, mapped;
	unsigned char raw[16];

	if (text == NULL || *text == '\0') {
		snprintf(err, errlen, "empty network");
		return -1;
	}
	slash = strchr(text, '/');
	alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (alen >= sizeof(buf)) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	p = buf;
	if (alen >= 2 && buf[0] == '[' && buf[alen - 1] == ']') {
		buf[alen - 1] = '\0';
		p = buf + 1;
		bracket = 1;
	}
	memset(out, 0, sizeof(*out));
	if (!bracket && inet_pton(AF_INET, p, raw) == 1) {
		out->addr.family = AF_INET;
		memcpy(out->addr.a, raw, 4);
		mapped = 0;
	} else if (inet_pton(AF_INET6, p, raw) == 1) {
		out->addr.family = AF_INET6;
		memcpy(out->addr.a, raw, 16);
		mapped = memcmp(raw, mapped_prefix, 12) == 0;
	} else {
		snprintf(err, errlen, "bad address \"%s\"", p);
		return -1;
	}
	max = out->addr.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		len = max;
	} else {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3 || (d[0] == '0' && d[1] != '\0')) {
			snprintf(err, errlen, "bad prefix length \"%s\"", d);
			return -1;
		}
		for (p = d; *p != '\0'; p++)
			if (!isdigit((unsigned char)*p)) {
				snprintf(err, errlen,
				    "bad prefix length \"%s\"", d);
				return -1;
			}
		len = atoi(d);
		if (len > max) {
			snprintf(err, errlen, "prefix length %d > %d", len,
			    max);
			return -1;
		}
	}
	if (mapped) {
		if (len < 96) {
			snprintf(err, errlen, "IPv4-mapped prefix shorter "
			    "than 96");
			return -1;
		}
		out->addr.family = AF_INET;
		memmove(out->addr.a, out->addr.a + 12, 4);
		memset(out->addr.a + 4, 0, 12);
		len -= 96;
		max = 32;
	}
	out->prefix = len;
	for (int i = 0; i < 16; i++) {
		int	bits = len - i * 8;

		if (bits >= 8)
			continue;
		out->addr.a[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
	return 0;
}

int
netaddr_cidr_match(const struct netaddr_cidr *c, const struct netaddr *a)
{
	if (c->addr.family != a->family)
		return 0;
	return prefix_match(a->a, c->addr.a, c->prefix);
}

struct netaddr_list *
netaddr_list_new(void)
{
	return xcalloc(1, sizeof(struct netaddr_list));
}

int
netaddr_list_add(struct netaddr_list *l, const char *text, char *err,
    size_t errlen)
{
	struct netaddr_cidr c;

	if (netaddr_cidr_parse(text, &c, err, errlen) < 0)
		return -1;
	if (l->n >= NETADDR_CIDR_LIST_MAX) {
		snprintf(err, errlen, "more than %d networks",
		    NETADDR_CIDR_LIST_MAX);
		return -1;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = c;
	return 0;
}

int
netaddr_list_match(const struct netaddr_list *l, const struct netaddr *a)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (netaddr_cidr_match(&l->v[i], a))
			return 1;
	return 0;
}

size_t
netaddr_list_count(const struct netaddr_list *l)
{
	return l->n;
}

void
netaddr_list_free(struct netaddr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l);
}

int
netaddr_listen_spec(const char *hostport, struct addrinfo **res, char *err,
    size_t errlen)
{
	struct addrinfo hints;
	char	host[256], port[8];
	const char *h = hostport, *p;
	size_t	hlen;
	int	rc;

	if (*h == '[') {
		if ((p = strchr(h, ']')) == NULL || p[1] != ':')
			goto syntax;
		hlen = (size_t)(p - h - 1);
		h++;
		p += 2;
	} else {
		if ((p = strrchr(h, ':')) == NULL)
			goto syntax;
		hlen = (size_t)(p - h);
		p++;
	}
	if (hlen >= sizeof(host) || *p == '\0' || strlen(p) >= sizeof(port))
		goto syntax;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, sizeof(port), "%s", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(strcmp(host, "*") == 0 || host[0] == '\0' ? NULL :
	    host, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -1;
	}
	return 0;
syntax:
	snprintf(err, errlen, "want HOST:PORT or [IPV6]:PORT");
	return -1;
}
