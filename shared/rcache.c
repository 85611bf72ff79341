/*++
 * NAME
 *	rcache 3
 * SUMMARY
 *	bounded cache of check results with expiry times
 * SYNOPSIS
 *	#include "shared/rcache.h"
 *
 *	struct rcache *rcache_new(size_t max_entries);
 *	void rcache_free(struct rcache *c);
 *	const void *rcache_get(struct rcache *c, const void *key, size_t klen,
 *		time_t now, size_t *vlen);
 *	void rcache_put(struct rcache *c, const void *key, size_t klen,
 *		const void *val, size_t vlen, time_t now, time_t expires);
 *	void rcache_clear(struct rcache *c);
 *	void rcache_get_stats(const struct rcache *c,
 *		struct rcache_stats *out);
 * DESCRIPTION
 *	The daemon keeps the results of its checks (an SPF evaluation, an
 *	iprev lookup) for as long as the DNS data they came from may be
 *	reused, so a busy sender costs one evaluation per TTL instead of
 *	one per message. The caller computes the expiry; this module only
 *	stores.
 *
 *	One allocation per entry holds the key and the value. A chained
 *	hash table with twice as many buckets as entries finds them; the
 *	hash is SipHash-2-4 under a random key drawn at rcache_new(), so
 *	a sender who picks the names cannot pile them into one chain. A
 *	doubly linked list in use order gives the victim when the cache is
 *	full; an expired entry found on the way is dropped at once.
 * DIAGNOSTICS
 *	None: a key or value over the limits is not cached.
 * LIMITS
 *	max_entries entries (1 to RCACHE_ENTRIES_MAX); RCACHE_KEY_MAX bytes of key and
 *	RCACHE_VALUE_MAX bytes of value.
 *--*/
#include <sys/queue.h>
#include <sys/random.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/mem.h"
#include "shared/rcache.h"

struct entry {
	struct entry *next;		/* hash chain */
	TAILQ_ENTRY(entry) lru;		/* head: most recently used */
	uint64_t hash;
	time_t	expires;
	size_t	klen, vlen;
	unsigned char data[];		/* key, then value */
};

TAILQ_HEAD(lru, entry);

struct rcache {
	struct entry **bucket;
	size_t	nbucket;		/* a power of two */
	size_t	max, count;
	struct lru lru;
	uint64_t k0, k1;		/* SipHash key */
	struct rcache_stats stats;
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), 64-bit output ---------- */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int	i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t	i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (m = 0; tail > 0; tail--)
		m = m << 8 | in[i + tail - 1];
	b |= m;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the cache ------------------------------------------------------ */

struct rcache *
rcache_new(size_t max_entries)
{
	struct rcache *c = xcalloc(1, sizeof(*c));
	unsigned char seed[16];

	if (max_entries < 1)
		max_entries = 1;
	if (max_entries > RCACHE_ENTRIES_MAX)
		max_entries = RCACHE_ENTRIES_MAX;
	c->max = max_entries;
	for (c->nbucket = 16; c->nbucket < 2 * max_entries; c->nbucket *= 2)
		;
	c->bucket = xcalloc(c->nbucket, sizeof(*c->bucket));
	TAILQ_INIT(&c->lru);
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		/* No entropy (never on Linux >= 3.17): still a good hash. */
		uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;

		memcpy(seed, &t, 8);
		memcpy(seed + 8, &t, 8);
	}
	c->k0 = le64(seed);
	c->k1 = le64(seed + 8);
	return c;
}

static void
unlink_entry(struct rcache *c, struct entry *e)
{
	struct entry **pp = &c->bucket[e->hash & (c->nbucket - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	TAILQ_REMOVE(&c->lru, e, lru);
	c->count--;
	free(e);
}

static struct entry *
find(struct rcache *c, uint64_t h, const void *key, size_t klen)
{
	struct entry *e;

	for (e = c->bucket[h & (c->nbucket - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->data, key, klen) == 0)
			return e;
	return NULL;
}

const void *
rcache_get(struct rcache *c, const void *key, size_t klen, time_t now,
    size_t *vlen)
{
	struct entry *e;

	if (klen > RCACHE_KEY_MAX) {
		c->stats.misses++;
		return NULL;
	}
	e = find(c, siphash(c->k0, c->k1, key, klen), key, klen);
	if (e != NULL && e->expires <= now) {
		unlink_entry(c, e);
		e = NULL;
	}
	if (e == NULL) {
		c->stats.misses++;
		return NULL;
	}
	c->stats.hits++;
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	*vlen = e->vlen;
	return e->data + e->klen;
}

void
rcache_put(struct rcache *c, const void *key, size_t klen, const void *val,
    size_t vlen, time_t now, time_t expires)
{
	uint64_t h;
	struct entry *e;

	if (klen > RCACHE_KEY_MAX || vlen > RCACHE_VALUE_MAX || expires <= now)
		return;
	h = siphash(c->k0, c->k1, key, klen);
	if ((e = find(c, h, key, klen)) != NULL)
		unlink_entry(c, e);
	while (c->count >= c->max) {
		unlink_entry(c, TAILQ_LAST(&c->lru, lru));
		c->stats.evictions++;
	}
	e = xmalloc(sizeof(*e) + klen + vlen);
	e->hash = h;
	e->expires = expires;
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, val, vlen);
	e->next = c->bucket[h & (c->nbucket - 1)];
	c->bucket[h & (c->nbucket - 1)] = e;
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->count++;
	c->stats.stores++;
}

void
rcache_clear(struct rcache *c)
{
	while (!TAILQ_EMPTY(&c->lru))
		unlink_entry(c, TAILQ_FIRST(&c->lru));
}

void
rcache_free(struct rcache *c)
{
	if (c == NULL)
		return;
	rcache_clear(c);
	free(c->bucket);
	free(c);
}

void
rcache_get_stats(const struct rcache *c, struct rcache_stats *out)
{
	*out = c->stats;
	out->entries = c->count;
}
