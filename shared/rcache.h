/* SPDX-License-Identifier: ISC */
#ifndef SHARED_RCACHE_H
#define SHARED_RCACHE_H
/* rcache - a bounded cache of check results with expiry times.
 *
 * Keys and values are byte strings, copied in. Lookups hash the key with
 * a per-cache random SipHash key (keys come from the network), entries
 * expire at the time given when stored, and when the cache is full a
 * segmented LRU picks the victim: keys never hit again (probation) go
 * before keys that were hit (protected, at most 80 % of the entries). */
#include <stddef.h>
#include <time.h>

#define RCACHE_KEY_MAX		1024	/* bytes of a key; longer: not cached */
#define RCACHE_VALUE_MAX	1024	/* bytes of a value; longer: not cached */
#define RCACHE_ENTRIES_MAX	(1UL << 24)	/* max_entries is capped here */
#define RCACHE_DIGEST_LEN	16	/* bytes of a key's digest (hashed) */

struct rcache;

struct rcache *rcache_new(size_t max_entries);	/* never NULL */
/* The same, keeping each key as its RCACHE_DIGEST_LEN-byte SipHash-2-4
 * digest under a secret random key instead of in full: an entry costs 64
 * bytes whatever the key's length. Two keys with one digest are one
 * entry: with 128 bits and a key no client knows, that does not happen. */
struct rcache *rcache_new_hashed(size_t max_entries);	/* never NULL */
void	rcache_free(struct rcache *);		/* NULL is a no-op */

/* The value stored under key and not expired at now, or NULL. The value
 * is valid until the next rcache_put() or rcache_clear(). */
const void *rcache_get(struct rcache *, const void *key, size_t klen,
	    time_t now, size_t *vlen);
/* Store (replacing) key until expires; expires <= now stores nothing. */
void	rcache_put(struct rcache *, const void *key, size_t klen,
	    const void *val, size_t vlen, time_t now, time_t expires);
void	rcache_clear(struct rcache *);

struct rcache_stats {
	unsigned long hits, misses, stores, evictions, entries;
};
void	rcache_get_stats(const struct rcache *, struct rcache_stats *out);

/* Calls fn for every entry without touching its place or expiry: the
 * probation segment from most to least recently used (protected == 0),
 * then the protected one (protected == 1). For tests and debugging; fn
 * must not change the cache. */
typedef void (*rcache_walk_fn)(void *arg, const void *key, size_t klen,
	    int protected);
void	rcache_walk(const struct rcache *, rcache_walk_fn fn, void *arg);

#endif
