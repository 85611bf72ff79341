/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_KEYS_H
#define VERIFIER_KEYS_H
/* keys - the verifier's TXT records for one run (DKIM keys, DMARC
 * policies): --keys file, DNS, a cache shared by every thread, one lookup
 * per name even when several threads ask. */
#include <stddef.h>

#include "shared/dns.h"
#include "verifier/auth.h"
#include "verifier/dkim.h"

#define KEYS_RR_MAX		8	/* TXT records kept per name */
#define KEYS_FILE_MAX		(64u << 20)	/* bytes of a --keys file */
#define KEYS_BUCKETS		4096	/* hash buckets of the cache */
#define KEYS_DNS_MAX		64	/* resolver contexts (one per thread) */

struct keys_opts {
	const char *file;		/* NULL: none */
	int	offline;		/* no DNS */
	const char *forward[DNS_FORWARD_MAX];
	int	nforward;
	int	timeout;		/* seconds; 0 default */
};

enum keys_status {
	KEYS_FOUND,		/* >= 1 record */
	KEYS_NOTFOUND,		/* NXDOMAIN, NODATA, or a name DNS refuses */
	KEYS_TEMPFAIL,		/* SERVFAIL, timeout, no resolver */
	KEYS_OFFLINE,		/* --offline and not in the file */
};

struct keys_entry {
	enum keys_status status;
	enum auth_key_source source;
	int	nkeys;
	struct dkim_key key[KEYS_RR_MAX];	/* DKIM names only */
	int	ntxt;
	char	*txt[KEYS_RR_MAX];	/* the records as published (owned) */
	size_t	txtlen[KEYS_RR_MAX];
	char	why[128];
};

/* NULL with "FILE:LINE: reason" in err when the file cannot be read or
 * has a bad line. */
struct keys *keys_new(const struct keys_opts *, char *err, size_t errlen);
/* The record set of selector._domainkey.domain; never NULL, valid until
 * keys_free(). Thread-safe. */
const struct keys_entry *keys_get(struct keys *, const char *selector,
	    const char *domain);
/* The TXT records of any name (txt[], ntxt; nkeys is 0 unless the name
 * is a DKIM key's), as keys_get() finds them. Thread-safe. */
const struct keys_entry *keys_txt(struct keys *, const char *name);
/* A number no other keys_new() of this process returned (never 0): the
 * entries of a cache with the same id are still valid. */
unsigned long keys_id(const struct keys *);
/* Load zone-file text (what --keys reads). Returns 0 or -1 with
 * "LINE: reason" in err. */
int	keys_load_text(struct keys *, const char *text, size_t len,
	    char *err, size_t errlen);
void	keys_free(struct keys *);	/* NULL is a no-op */

#endif
