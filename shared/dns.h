/* SPDX-License-Identifier: ISC */
#ifndef SHARED_DNS_H
#define SHARED_DNS_H
/* dns - every DNS lookup of both programs, on libunbound.
 *
 * One struct dns owns one ub_ctx (one cache). Created with an event_base
 * it resolves asynchronously on that loop (ub_ctx_create_event); created
 * with base == NULL it is for blocking use by tools (dns_query_sync). */
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define DNS_NAME_MAX		253	/* longer names are refused without a query */
#define DNS_RR_MAX		64	/* records kept per answer; more are dropped */
#define DNS_TXT_MAX		8192	/* bytes of one joined TXT record */
#define DNS_FORWARD_MAX		8
#define DNS_INFLIGHT_MAX	256	/* queries at unbound at once; more wait
					 * in line (unbound's state per query
					 * is kilobytes) */

/* RR types we ask for (values are the wire codes). */
enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_PTR = 12, DNS_T_MX = 15,
	DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SPF = 99,
};

enum dns_status {
	DNS_OK,			/* NOERROR with >= 1 record of the asked type */
	DNS_NODATA,		/* NOERROR, no record of that type */
	DNS_NXDOMAIN,
	DNS_TEMPFAIL,		/* SERVFAIL, REFUSED, any rcode but 0/3, timeout, bogus */
	DNS_PERMFAIL,		/* malformed name (empty label, > 63/253); no query */
};

struct dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t pref;		/* MX preference */
	size_t	len;		/* bytes in data, excluding the terminating NUL */
	/* A: 4 bytes; AAAA: 16 bytes; TXT: the character-strings joined without
	 * separator, NUL-terminated (may contain NUL: compare len with strlen);
	 * PTR, CNAME, MX, NS: the host name as text, no trailing dot,
	 * NUL-terminated. */
	unsigned char *data;
	int	nstrings;	/* TXT only: how many character-strings were joined */
	int	cut;		/* TXT only: longer than DNS_TXT_MAX; data holds
				 * its first DNS_TXT_MAX bytes (the consumer
				 * decides: SPF permerror, DKIM key-syntax) */
};

struct dns_answer {
	enum dns_status status;
	int	secure;		/* DNSSEC validated (only with dnssec on) */
	int	nrr;
	struct dns_rr *rr;	/* only records of the asked type (CNAMEs followed) */
	uint32_t ttl;		/* seconds it may be reused: the least record TTL,
				 * for NXDOMAIN/NODATA the SOA's negative TTL
				 * (RFC 2308), 0 without one or on errors */
	char	why[128];	/* for TEMPFAIL/PERMFAIL: short reason for logs */
};

struct dns_opts {
	const char *forward[DNS_FORWARD_MAX];	/* "ADDR" or "ADDR@PORT" */
	int	nforward;			/* 0: the system's resolv.conf */
	int	dnssec;				/* validate with the root trust anchor */
	int	query_timeout;			/* seconds; 0 = default 3 */
	const char *trust_anchor;		/* file; NULL = Debian's root key */
};

struct dns;
struct dns_req;

/* Answer is owned by the dns module and valid only during the callback. */
typedef void (*dns_cb)(void *arg, const struct dns_answer *ans);

/* Returns NULL with a reason in err (bad forwarder, unbound failure). */
struct dns *dns_new(struct event_base *base, const struct dns_opts *opts,
	    char *err, size_t errlen);
void	dns_free(struct dns *);			/* cancels queries without callbacks */

/* Start an async query. The callback runs later, from the event loop,
 * exactly once unless dns_cancel() is called first; never from inside
 * dns_query() itself. Returns NULL only for a dns made without base. */
struct dns_req *dns_query(struct dns *, const char *name, enum dns_type type,
	    dns_cb cb, void *arg);
void	dns_cancel(struct dns_req *);		/* no callback afterwards */

/* Blocking query (dns made with base == NULL, or a tool's own loop).
 * Returns an answer the caller frees with dns_answer_free(); never NULL. */
struct dns_answer *dns_query_sync(struct dns *, const char *name,
	    enum dns_type type);
void	dns_answer_free(struct dns_answer *);	/* NULL is a no-op */
/* Deep copy (for callers that keep an answer past the callback). */
struct dns_answer *dns_answer_dup(const struct dns_answer *);
/* Parse a wire answer (len bytes) as a query's callback would get it;
 * never NULL (unparseable: DNS_TEMPFAIL); the caller frees it. */
struct dns_answer *dns_answer_parse(enum dns_type type,
	    const unsigned char *pkt, int len);

const char *dns_status_str(enum dns_status);	/* "ok", "nodata", ... */
const char *dns_type_str(enum dns_type);	/* "A", "TXT", ... */

/* Counters for metrics and tests. latency[i] counts the answers to sent
 * queries that took at most dns_latency_ms[i] ms (and more than bucket
 * i - 1's); the last bucket is everything slower. */
#define DNS_LATENCY_BUCKETS	12
extern const unsigned dns_latency_ms[DNS_LATENCY_BUCKETS - 1];
/* Resolver health: a window of answers mostly timeouts is "unreachable". */
#define DNS_HEALTH_WINDOW	10	/* seconds */
#define DNS_HEALTH_MIN		10	/* answers in a window to judge it */
#define DNS_HEALTH_PCT		80	/* % of them timeouts */
#define DNS_HEALTH_RL_INTERVAL	60	/* seconds between the warnings */

struct dns_stats {
	unsigned long queries, answers, timeouts, tempfails, cache_hits_guess;
	unsigned long unreachable;	/* windows judged unreachable */
	unsigned long latency[DNS_LATENCY_BUCKETS];
	double	latency_sum;		/* seconds, over the same answers */
};
void	dns_get_stats(const struct dns *, struct dns_stats *out);

#endif
