/* SPDX-License-Identifier: ISC */
#ifndef SHARED_NETADDR_H
#define SHARED_NETADDR_H
/* netaddr - IPv4/IPv6 addresses, CIDR lists, address classes, reverse names. */
#include <stddef.h>
#include <sys/socket.h>

#define NETADDR_STR_MAX		64	/* textual address incl. NUL */
#define NETADDR_PTR_MAX		80	/* reverse name (ip6.arpa is 73) incl. NUL */
#define NETADDR_CIDR_LIST_MAX	4096	/* entries in one list */

struct netaddr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char a[16];		/* network order; IPv4 uses a[0..3] */
};

struct netaddr_cidr {
	struct netaddr addr;		/* host bits cleared */
	int	prefix;			/* 0..32 or 0..128 */
};

struct netaddr_list;			/* opaque list of CIDRs */

enum netaddr_class {
	NETADDR_PUBLIC,
	NETADDR_LOOPBACK,		/* 127/8, ::1 */
	NETADDR_PRIVATE,		/* RFC 1918 */
	NETADDR_CGNAT,			/* 100.64/10 */
	NETADDR_LINKLOCAL,		/* 169.254/16, fe80::/10 */
	NETADDR_ULA,			/* fc00::/7 */
	NETADDR_UNSPECIFIED,		/* 0.0.0.0/8, :: */
	NETADDR_RESERVED,		/* documentation, multicast, 240/4, ... */
};

/* Parse IPv4 or IPv6 text (an "IPv6:" prefix is accepted); IPv4-mapped IPv6
 * (::ffff:a.b.c.d) becomes AF_INET. Returns 0, or -1 on bad text. */
int	netaddr_parse(const char *text, struct netaddr *out);
/* Canonical text (RFC 5952 for IPv6) into buf; returns buf. */
char	*netaddr_format(const struct netaddr *, char *buf, size_t len);
/* Reverse name without trailing dot (4.3.2.1.in-addr.arpa / nibbles.ip6.arpa);
 * returns 0, or -1 if buf is too small. */
int	netaddr_ptr_name(const struct netaddr *, char *buf, size_t len);
int	netaddr_equal(const struct netaddr *, const struct netaddr *);
enum netaddr_class netaddr_classify(const struct netaddr *);
const char *netaddr_class_str(enum netaddr_class);	/* "public", "loopback", ... */
/* The class of text (as netaddr_parse reads it) in *c: 0, or -1 for
 * "" or text that is no address. */
int	netaddr_classify_text(const char *text, enum netaddr_class *c);
/* 1 for loopback, private, ULA, link-local and CGNAT addresses. */
int	netaddr_class_internal(enum netaddr_class);

/* "ADDR" or "ADDR/LEN" (v6 may be in brackets). Returns 0, or -1 with a
 * reason in err. */
int	netaddr_cidr_parse(const char *text, struct netaddr_cidr *out,
	    char *err, size_t errlen);
int	netaddr_cidr_match(const struct netaddr_cidr *, const struct netaddr *);

struct addrinfo;
/* Resolve a listening address "HOST:PORT", "[V6]:PORT" or "*:PORT" (the
 * part after "inet:") for a passive TCP socket. Returns 0 with *res to be
 * freed with freeaddrinfo(), or -1 with a reason in err. */
int	netaddr_listen_spec(const char *hostport, struct addrinfo **res,
	    char *err, size_t errlen);

struct netaddr_list *netaddr_list_new(void);	/* never NULL */
/* Returns 0, or -1 with a reason in err (bad CIDR, list full). */
int	netaddr_list_add(struct netaddr_list *, const char *text,
	    char *err, size_t errlen);
int	netaddr_list_match(const struct netaddr_list *, const struct netaddr *);
size_t	netaddr_list_count(const struct netaddr_list *);
void	netaddr_list_free(struct netaddr_list *);	/* NULL is a no-op */

#endif
