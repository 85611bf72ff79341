/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	rcache 3
 * SUMMARY
 *	bounded, scan-resistant cache of check results with expiry times
 * SYNOPSIS
 *	#include "shared/rcache.h"
 *
 *	struct rcache *rcache_new(size_t max_entries);
 *	struct rcache *rcache_new_hashed(size_t max_entries);
 *	void rcache_free(struct rcache *c);
 *	const void *rcache_get(struct rcache *c, const void *key, size_t klen,
 *		time_t now, size_t *vlen);
 *	void rcache_put(struct rcache *c, const void *key, size_t klen,
 *		const void *val, size_t vlen, time_t now, time_t expires);
 *	void rcache_clear(struct rcache *c);
 *	void rcache_get_stats(const struct rcache *c,
 *		struct rcache_stats *out);
 *	void rcache_walk(const struct rcache *c, rcache_walk_fn fn,
 *		void *arg);
 * DESCRIPTION
 *	The daemon keeps the results of its checks (an SPF evaluation, an
 *	iprev lookup) for as long as the DNS data they came from may be
 *	reused, so a busy sender costs one evaluation per TTL instead of
 *	one per message. The caller computes the expiry; this module only
 *	stores.
 *
 *	Replacement is a segmented LRU, because a fifth of the traffic is
 *	spam bots pairing random addresses with random sender domains: keys
 *	seen once, which under plain LRU push out the clients and domains
 *	that do recur. A new entry enters the probation segment; a hit there
 *	promotes it to the protected segment, and a hit in protected moves
 *	it to protected's head. Protected holds at most max_entries -
 *	max_entries / 5 entries (80 %, rounded up); past that its least
 *	recently used entry is demoted to the head of probation. A full
 *	cache evicts the tail of probation, or the tail of protected only
 *	when probation is empty. So one-off keys churn through probation
 *	and never displace an entry that has been hit. A put on a key that
 *	is present replaces it at the head of the segment it was in.
 *
 *	A chained hash table with at least as many buckets as entries finds
 *	the entries; the hash is SipHash-2-4 under a random key drawn at
 *	rcache_new(), so a sender who picks the names cannot pile them into
 *	one chain. Lookups compare the whole key. An expired entry found on
 *	the way is dropped at once.
 *
 *	One allocation per entry holds a 32-byte header (chain pointer,
 *	segment list links, expiry, 11-bit key and value lengths, segment
 *	bit), the key and the value. The hash is not stored: chains are
 *	short, so lookups compare lengths and keys directly, and unlinking
 *	an evicted entry hashes its key again. Expiry times are 32-bit
 *	offsets from a base 2^31 seconds before the first put into an empty
 *	cache, so the clock may step 68 years either way; an expiry further
 *	out is cut to the end of that window (the entry goes early, never
 *	late). Cost, measured with glibc malloc on x86-64 for a 40-byte key
 *	and a 16-byte value (malloc_usable_size of the entry plus its share
 *	of the bucket array, 16384 entries):
 *
 *	before (56-byte header, 2 to 4 bucket pointers per entry):
 *		120 + 16 = 136 bytes (a 128-byte malloc chunk)
 *	now (32-byte header, 1 to 2 bucket pointers per entry):
 *		 88 +  8 =  96 bytes (a 96-byte malloc chunk)
 *
 *	Storing a 32-bit hash as well would push that entry into the next
 *	chunk size (112 bytes), so the header stays at 32 bytes.
 *
 *	rcache_new_hashed() makes a cache that keeps, instead of each key,
 *	its 128-bit SipHash-2-4 digest under a second secret key drawn
 *	there: every key then costs RCACHE_DIGEST_LEN bytes, which for the
 *	daemon's SPF results (key: limits, address, domain) makes an entry
 *	80 bytes instead of 96 to 112. Two keys with one digest would share
 *	an entry; for a sender who does not know the key, finding such a
 *	pair takes about 2^64 tries against the live cache. Without entropy
 *	for the key, whole keys are kept.
 *
 *	rcache_walk() calls fn for each entry, probation from head to tail
 *	then protected from head to tail, changing nothing; it is for tests
 *	and debugging.
 * DIAGNOSTICS
 *	None: a key or value over the limits is not cached, nor is an entry
 *	that expires before now.
 * LIMITS
 *	max_entries entries (1 to RCACHE_ENTRIES_MAX); RCACHE_KEY_MAX bytes
 *	of key and RCACHE_VALUE_MAX bytes of value.
 *--*/
#include <sys/queue.h>
#include <sys/random.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/mem.h"
#include "shared/rcache.h"

#define LEN_BITS	11	/* holds RCACHE_KEY_MAX, RCACHE_VALUE_MAX */
_Static_assert(RCACHE_KEY_MAX < 1 << LEN_BITS, "key length bits");
_Static_assert(RCACHE_VALUE_MAX < 1 << LEN_BITS, "value length bits");

#define WINDOW_HALF	((uint64_t)1 << 31)	/* see the expiry base */

struct entry {
	struct entry *next;		/* hash chain */
	TAILQ_ENTRY(entry) lru;	/* its segment; head: most recent */
	uint32_t expires;		/* seconds after c->base */
	unsigned int klen : LEN_BITS, vlen : LEN_BITS, prot : 1;
	unsigned char data[];		/* key, then value */
};

TAILQ_HEAD(lru, entry);

struct rcache {
	struct entry **bucket;
	size_t	nbucket;		/* a power of two */
	size_t	max, count;
	size_t	protmax, nprot;	/* protected: cap, size */
	struct lru prob, prot;		/* probation, protected */
	uint64_t base;			/* (uint64_t)time_t of offset 0 */
	uint64_t k0, k1;		/* SipHash key */
	int	hashed;			/* keys kept as their digest */
	uint64_t d0, d1;		/* its SipHash key */
	struct rcache_stats stats;
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), 64- and 128-bit output -- */

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

/* SipHash-2-4 of in; with hi != NULL the 128-bit variant, whose second
 * half goes to *hi. */
static uint64_t
sip(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len,
    uint64_t *hi)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1 ^ (hi != NULL ? 0xee : 0);
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
	v2 ^= hi != NULL ? 0xee : 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	b = v0 ^ v1 ^ v2 ^ v3;
	if (hi != NULL) {
		v1 ^= 0xdd;
		SIPROUND;
		SIPROUND;
		SIPROUND;
		SIPROUND;
		*hi = v0 ^ v1 ^ v2 ^ v3;
	}
	return b;
}

static uint64_t
siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	return sip(k0, k1, in, len, NULL);
}

/* The 128-bit digest that stands for a key in a hashed cache. */
static void
digest(const struct rcache *c, const void *key, size_t klen,
    unsigned char out[RCACHE_DIGEST_LEN])
{
	uint64_t lo, hi;
	int	i;

	lo = sip(c->d0, c->d1, key, klen, &hi);
	for (i = 0; i < 8; i++) {
		out[i] = (unsigned char)(lo >> (8 * i));
		out[8 + i] = (unsigned char)(hi >> (8 * i));
	}
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
	c->protmax = max_entries - max_entries / 5;
	for (c->nbucket = 16; c->nbucket < max_entries; c->nbucket *= 2)
		;
	c->bucket = xcalloc(c->nbucket, sizeof(*c->bucket));
	TAILQ_INIT(&c->prob);
	TAILQ_INIT(&c->prot);
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

struct rcache *
rcache_new_hashed(size_t max_entries)
{
	struct rcache *c = rcache_new(max_entries);
	unsigned char seed[16];

	/* Without a secret key a digest could be made to collide: then the
	 * cache keeps whole keys. */
	if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed)) {
		c->d0 = le64(seed);
		c->d1 = le64(seed + 8);
		c->hashed = 1;
	}
	return c;
}

static uint64_t
hash(const struct rcache *c, const void *key, size_t klen)
{
	/* A hashed cache's keys are digests under a secret key already. */
	if (c->hashed && klen == RCACHE_DIGEST_LEN)
		return le64(key);
	return siphash(c->k0, c->k1, key, klen);
}

/* The key as the cache keeps it: key itself, or its digest in dg (and
 * *klen set to its length) for a hashed cache. */
static const void *
stored_key(const struct rcache *c, const void *key, size_t *klen,
    unsigned char dg[RCACHE_DIGEST_LEN])
{
	if (!c->hashed)
		return key;
	digest(c, key, *klen, dg);
	*klen = RCACHE_DIGEST_LEN;
	return dg;
}

/* Seconds from c->base to t; out of the window: more than UINT32_MAX. */
static uint64_t
offset(const struct rcache *c, time_t t)
{
	return (uint64_t)t - c->base;
}

static struct lru *
segment(struct rcache *c, const struct entry *e)
{
	return e->prot ? &c->prot : &c->prob;
}

/* Takes e, whose key hashes to h, out of the cache and frees it. */
static void
drop(struct rcache *c, struct entry *e, uint64_t h)
{
	struct entry **pp = &c->bucket[h & (c->nbucket - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	TAILQ_REMOVE(segment(c, e), e, lru);
	if (e->prot)
		c->nprot--;
	c->count--;
	free(e);
}

static struct entry *
find(struct rcache *c, uint64_t h, const void *key, size_t klen)
{
	struct entry *e;

	for (e = c->bucket[h & (c->nbucket - 1)]; e != NULL; e = e->next)
		if (e->klen == klen && memcmp(e->data, key, klen) == 0)
			return e;
	return NULL;
}

/* A hit: into protected at its head; an overflow goes back to probation. */
static void
promote(struct rcache *c, struct entry *e)
{
	struct entry *old;

	TAILQ_REMOVE(segment(c, e), e, lru);
	if (!e->prot)
		c->nprot++;
	e->prot = 1;
	TAILQ_INSERT_HEAD(&c->prot, e, lru);
	if (c->nprot > c->protmax) {
		old = TAILQ_LAST(&c->prot, lru);
		TAILQ_REMOVE(&c->prot, old, lru);
		old->prot = 0;
		c->nprot--;
		TAILQ_INSERT_HEAD(&c->prob, old, lru);
	}
}

const void *
rcache_get(struct rcache *c, const void *key, size_t klen, time_t now,
    size_t *vlen)
{
	unsigned char dg[RCACHE_DIGEST_LEN];
	uint64_t h;
	struct entry *e;

	if (klen > RCACHE_KEY_MAX) {
		c->stats.misses++;
		return NULL;
	}
	key = stored_key(c, key, &klen, dg);
	h = hash(c, key, klen);
	e = find(c, h, key, klen);
	if (e != NULL && offset(c, now) >= e->expires) {
		drop(c, e, h);
		e = NULL;
	}
	if (e == NULL) {
		c->stats.misses++;
		return NULL;
	}
	c->stats.hits++;
	promote(c, e);
	*vlen = e->vlen;
	return e->data + e->klen;
}

void
rcache_put(struct rcache *c, const void *key, size_t klen, const void *val,
    size_t vlen, time_t now, time_t expires)
{
	unsigned char dg[RCACHE_DIGEST_LEN];
	uint64_t h, off, ttl;
	struct entry *e, *victim;
	int	prot = 0;

	if (klen > RCACHE_KEY_MAX || vlen > RCACHE_VALUE_MAX || expires <= now)
		return;
	key = stored_key(c, key, &klen, dg);
	if (c->count == 0)
		c->base = (uint64_t)now - WINDOW_HALF;
	if ((off = offset(c, now)) > UINT32_MAX)
		return;			/* the clock left the window */
	ttl = (uint64_t)expires - (uint64_t)now;
	h = hash(c, key, klen);
	if ((e = find(c, h, key, klen)) != NULL) {
		prot = e->prot;
		drop(c, e, h);
	}
	while (c->count >= c->max) {
		if ((victim = TAILQ_LAST(&c->prob, lru)) == NULL)
			victim = TAILQ_LAST(&c->prot, lru);
		drop(c, victim, hash(c, victim->data, victim->klen));
		c->stats.evictions++;
	}
	e = xmalloc(sizeof(*e) + klen + vlen);
	e->expires = ttl > UINT32_MAX - off ? UINT32_MAX :
	    (uint32_t)(off + ttl);
	e->klen = klen;
	e->vlen = vlen;
	e->prot = prot;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, val, vlen);
	e->next = c->bucket[h & (c->nbucket - 1)];
	c->bucket[h & (c->nbucket - 1)] = e;
	TAILQ_INSERT_HEAD(segment(c, e), e, lru);
	c->nprot += prot;
	c->count++;
	c->stats.stores++;
}

void
rcache_clear(struct rcache *c)
{
	struct entry *e;

	while ((e = TAILQ_FIRST(&c->prob)) != NULL) {
		TAILQ_REMOVE(&c->prob, e, lru);
		free(e);
	}
	while ((e = TAILQ_FIRST(&c->prot)) != NULL) {
		TAILQ_REMOVE(&c->prot, e, lru);
		free(e);
	}
	memset(c->bucket, 0, c->nbucket * sizeof(*c->bucket));
	c->count = c->nprot = 0;
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

void
rcache_walk(const struct rcache *c, rcache_walk_fn fn, void *arg)
{
	const struct entry *e;

	TAILQ_FOREACH(e, &c->prob, lru)
		fn(arg, e->data, e->klen, 0);
	TAILQ_FOREACH(e, &c->prot, lru)
		fn(arg, e->data, e->klen, 1);
}
