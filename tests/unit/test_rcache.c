/* SPDX-License-Identifier: ISC */
/* test_rcache - round trips, limits, expiry, replacement, LRU and
 * segmented LRU order, scan resistance, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "shared/rcache.h"

#define T0	1000		/* "now" for most puts */
#define TLONG	2000		/* a later expiry */

/* ---- round trip ---------------------------------------------------------
 *
 * Every row is put into one cache (put != 0), then every row is looked up
 * at T0. A row with key == NULL gets klen bytes of kfill as its key, and
 * val == NULL likewise vlen bytes of vfill. Keys are distinct across rows,
 * so a hit can only come from the row's own put.
 */
static const struct rtrow {
	const char *name;
	const char *key;
	size_t	klen;
	char	kfill;
	const char *val;
	size_t	vlen;
	char	vfill;
	int	put;		/* put this row before the lookups */
	time_t	now, expires;	/* of the put */
	int	want_hit;
} rtrows[] = {
	{ "plain", "a", 1, 0, "1", 1, 0, 1, T0, TLONG, 1 },
	{ "binary key a\\0b", "a\0b", 3, 0, "x", 1, 0, 1, T0, TLONG, 1 },
	{ "binary key a\\0c", "a\0c", 3, 0, "y", 1, 0, 1, T0, TLONG, 1 },
	{ "all-NUL key", "\0\0\0\0", 4, 0, "nul", 3, 0, 1, T0, TLONG, 1 },
	{ "binary value", "bv", 2, 0, "v\0w\0", 4, 0, 1, T0, TLONG, 1 },
	{ "empty key", "", 0, 0, "empty-key", 9, 0, 1, T0, TLONG, 1 },
	{ "empty value", "ev", 2, 0, "", 0, 0, 1, T0, TLONG, 1 },
	{ "7-byte key", "seven77", 7, 0, "7", 1, 0, 1, T0, TLONG, 1 },
	{ "8-byte key", "eight888", 8, 0, "8", 1, 0, 1, T0, TLONG, 1 },
	{ "9-byte key", "nine99999", 9, 0, "9", 1, 0, 1, T0, TLONG, 1 },
	{ "value of RCACHE_VALUE_MAX", "vmax", 4, 0, NULL, RCACHE_VALUE_MAX,
	  'V', 1, T0, TLONG, 1 },
	{ "key of RCACHE_KEY_MAX", NULL, RCACHE_KEY_MAX, 'K', "kmax", 4, 0, 1,
	  T0, TLONG, 1 },
	{ "expires now+1", "soon", 4, 0, "s", 1, 0, 1, T0, T0 + 1, 1 },
	/* errors: nothing stored, or never stored */
	{ "key of RCACHE_KEY_MAX+1", NULL, RCACHE_KEY_MAX + 1, 'L', "big", 3,
	  0, 1, T0, TLONG, 0 },
	{ "key of 2*RCACHE_KEY_MAX", NULL, 2 * RCACHE_KEY_MAX, 'M', "big", 3,
	  0, 1, T0, TLONG, 0 },
	{ "value of RCACHE_VALUE_MAX+1", "vbig", 4, 0, NULL,
	  RCACHE_VALUE_MAX + 1, 'W', 1, T0, TLONG, 0 },
	{ "value of 4*RCACHE_VALUE_MAX", "vhuge", 5, 0, NULL,
	  4 * RCACHE_VALUE_MAX, 'X', 1, T0, TLONG, 0 },
	{ "expires == now", "eqnow", 5, 0, "e", 1, 0, 1, T0, T0, 0 },
	{ "expires < now", "past", 4, 0, "p", 1, 0, 1, T0, T0 - 1, 0 },
	{ "expires 0", "zero", 4, 0, "z", 1, 0, 1, T0, 0, 0 },
	{ "never put", "absent", 6, 0, NULL, 0, 0, 0, 0, 0, 0 },
	{ "prefix of a\\0b", "a\0", 2, 0, NULL, 0, 0, 0, 0, 0, 0 },
	{ "case differs from a", "A", 1, 0, NULL, 0, 0, 0, 0, 0, 0 },
	{ "a\\0b with trailing NUL", "a\0b\0", 4, 0, NULL, 0, 0, 0, 0, 0, 0 },
	{ "KEY_MAX-1 of K", NULL, RCACHE_KEY_MAX - 1, 'K', NULL, 0, 0, 0, 0,
	  0, 0 },
	{ "8 bytes, 1 differs", "eight889", 8, 0, NULL, 0, 0, 0, 0, 0, 0 },
};
#define NRT	(sizeof(rtrows) / sizeof(rtrows[0]))

static unsigned char rtkey[NRT][4 * RCACHE_KEY_MAX];
static unsigned char rtval[NRT][4 * RCACHE_VALUE_MAX];

static const void *
rt_key(size_t i)
{
	if (rtrows[i].key != NULL)
		return rtrows[i].key;
	memset(rtkey[i], rtrows[i].kfill, rtrows[i].klen);
	return rtkey[i];
}

static const void *
rt_val(size_t i)
{
	if (rtrows[i].val != NULL)
		return rtrows[i].val;
	memset(rtval[i], rtrows[i].vfill, rtrows[i].vlen);
	return rtval[i];
}

static void
walk_len(void *arg, const void *key, size_t klen, int protected)
{
	size_t *bad = arg;

	(void)key;
	(void)protected;
	if (klen != RCACHE_DIGEST_LEN)
		(*bad)++;
}

/* Every row, in a cache of whole keys and in a hashed one (which must
 * behave the same and keep RCACHE_DIGEST_LEN bytes for every key). */
static void
round_trip(int hashed)
{
	struct rcache *c = hashed ? rcache_new_hashed(100) : rcache_new(100);
	struct rcache_stats st;
	unsigned long nstored = 0;
	size_t	i, bad = 0;

	for (i = 0; i < NRT; i++) {
		if (!rtrows[i].put)
			continue;
		rcache_put(c, rt_key(i), rtrows[i].klen, rt_val(i),
		    rtrows[i].vlen, rtrows[i].now, rtrows[i].expires);
		if (rtrows[i].want_hit)
			nstored++;
	}
	rcache_get_stats(c, &st);
	if (st.entries != nstored || st.stores != nstored)
		fail_msg("after puts: got entries %lu stores %lu, want %lu %lu",
		    st.entries, st.stores, nstored, nstored);
	for (i = 0; i < NRT; i++) {
		size_t	vlen = (size_t)-1;
		const void *v = rcache_get(c, rt_key(i), rtrows[i].klen, T0,
		    &vlen);

		if ((v != NULL) != rtrows[i].want_hit)
			fail_msg("row %zu \"%s\": got %s, want %s", i,
			    rtrows[i].name, v != NULL ? "hit" : "miss",
			    rtrows[i].want_hit ? "hit" : "miss");
		if (v == NULL)
			continue;
		if (vlen != rtrows[i].vlen)
			fail_msg("row %zu \"%s\": got vlen %zu, want %zu", i,
			    rtrows[i].name, vlen, rtrows[i].vlen);
		if (memcmp(v, rt_val(i), vlen) != 0)
			fail_msg("row %zu \"%s\": got a different value", i,
			    rtrows[i].name);
	}
	if (hashed) {
		rcache_walk(c, walk_len, &bad);
		if (bad != 0)
			fail_msg("hashed: got %zu keys not of %d bytes, want 0",
			    bad, RCACHE_DIGEST_LEN);
	}
	rcache_free(c);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip(0);
}

static void
test_round_trip_hashed(void **state)
{
	(void)state;
	round_trip(1);
}

/* Keys and values are copied in: changing the caller's buffers after the
 * put changes nothing in the cache. */
static void
test_copies(void **state)
{
	struct rcache *c = rcache_new(4);
	char	key[] = "copied-key", val[] = "copied-value";
	const char *v;
	size_t	vlen = 0;

	(void)state;
	rcache_put(c, key, sizeof(key), val, sizeof(val), T0, TLONG);
	memset(val, 'x', sizeof(val));
	v = rcache_get(c, key, sizeof(key), T0, &vlen);
	if (v == NULL || vlen != sizeof(val) ||
	    memcmp(v, "copied-value", sizeof(val)) != 0)
		fail_msg("value: got %.*s, want copied-value",
		    v == NULL ? 4 : (int)vlen, v == NULL ? "NULL" : v);
	memcpy(key, "COPIED-KEY", sizeof(key));
	if (rcache_get(c, key, sizeof(key), T0, &vlen) != NULL)
		fail_msg("changed key: got hit, want miss");
	rcache_free(c);
}

/* ---- expiry ------------------------------------------------------------
 *
 * Put "k" at now=put_now until expires, then get it at get_now: want a hit
 * or a miss, and want_entries after the get (an expired entry is dropped).
 * Expiry is kept as 32 bits of seconds from HALF before the first put: a
 * later expiry is cut short, a clock outside that window finds nothing.
 */
#define HALF	((time_t)1 << 31)
static const struct exrow {
	const char *name;
	time_t	put_now, expires, get_now;
	int	want_hit;
	unsigned long want_entries;
} exrows[] = {
	{ "get at put time", 100, 101, 100, 1, 1 },
	{ "get one before expiry", 100, 200, 199, 1, 1 },
	{ "get before put time", 100, 200, 50, 1, 1 },
	{ "long ttl", 100, 100 + 86400, 100 + 86399, 1, 1 },
	{ "negative times", -10, -1, -2, 1, 1 },
	{ "crosses zero", -10, 10, 0, 1, 1 },
	{ "expiry at the window's end", 100, 100 + HALF - 1, 100 + HALF - 2, 1,
	  1 },
	{ "clock stepped back 60 years", 100, 200, 100 - 1892160000, 1, 1 },
	/* errors */
	{ "get at expiry", 100, 101, 101, 0, 0 },
	{ "get one after expiry", 100, 200, 201, 0, 0 },
	{ "get long after expiry", 100, 200, 100000, 0, 0 },
	{ "put expires == now", 100, 100, 99, 0, 0 },
	{ "put expires < now", 100, 99, 50, 0, 0 },
	{ "negative, at expiry", -10, -1, -1, 0, 0 },
	{ "expiry past the window, cut short", 100, 100 + 2 * HALF,
	  100 + HALF - 1, 0, 0 },
	{ "clock stepped back past the window", 100, 200, 100 - HALF - 1, 0,
	  0 },
};

static void
test_expiry(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(exrows) / sizeof(exrows[0]); i++) {
		const struct exrow *r = &exrows[i];
		struct rcache *c = rcache_new(8);
		struct rcache_stats st;
		size_t	vlen = 0;
		const void *v;

		rcache_put(c, "k", 1, "v", 1, r->put_now, r->expires);
		v = rcache_get(c, "k", 1, r->get_now, &vlen);
		if ((v != NULL) != r->want_hit)
			fail_msg("row %zu \"%s\": got %s, want %s", i, r->name,
			    v != NULL ? "hit" : "miss",
			    r->want_hit ? "hit" : "miss");
		rcache_get_stats(c, &st);
		if (st.entries != r->want_entries)
			fail_msg("row %zu \"%s\": got entries %lu, want %lu", i,
			    r->name, st.entries, r->want_entries);
		/* Once expired it stays gone, even looked up "earlier". */
		if (!r->want_hit &&
		    rcache_get(c, "k", 1, r->put_now - 1000, &vlen) != NULL)
			fail_msg("row %zu \"%s\": got hit after expiry, want miss",
			    i, r->name);
		rcache_free(c);
	}
}

/* An expired entry is dropped when looked up: entries 2 -> 1. */
static void
test_expiry_drops(void **state)
{
	struct rcache *c = rcache_new(8);
	struct rcache_stats st;
	size_t	vlen;

	(void)state;
	rcache_put(c, "short", 5, "s", 1, T0, T0 + 10);
	rcache_put(c, "long", 4, "l", 1, T0, T0 + 100);
	rcache_get_stats(c, &st);
	if (st.entries != 2)
		fail_msg("before: got entries %lu, want 2", st.entries);
	if (rcache_get(c, "short", 5, T0 + 10, &vlen) != NULL)
		fail_msg("short at expiry: got hit, want miss");
	rcache_get_stats(c, &st);
	if (st.entries != 1)
		fail_msg("after: got entries %lu, want 1", st.entries);
	if (rcache_get(c, "long", 4, T0 + 10, &vlen) == NULL)
		fail_msg("long: got miss, want hit");
	rcache_free(c);
}

/* ---- expiry window -----------------------------------------------------
 *
 * Put "a" at T0 until TLONG into an empty cache (the window is T0 - HALF
 * to T0 + HALF), then "b" at now until expires; get "b" at get_now.
 */
static const struct winrow {
	const char *name;
	time_t	now, expires, get_now;
	int	want_hit;
	unsigned long want_stores;
} winrows[] = {
	{ "inside the window", T0 + 10, T0 + 20, T0 + 19, 1, 2 },
	{ "at the window's start", T0 - HALF, T0 - HALF + 10, T0 - HALF, 1, 2 },
	{ "just before its end", T0 + HALF - 2, T0 + HALF + 100,
	  T0 + HALF - 2, 1, 2 },
	{ "expiry cut at its end", T0 + 5, T0 + 3 * HALF, T0 + HALF - 2, 1,
	  2 },
	/* errors */
	{ "put before the window", T0 - HALF - 1, T0 + 10, T0, 0, 1 },
	{ "put after the window", T0 + HALF, T0 + HALF + 10, T0 + HALF, 0,
	  1 },
	{ "get past the cut expiry", T0 + 5, T0 + 3 * HALF, T0 + HALF - 1, 0,
	  2 },
	{ "get before the window", T0 + 10, T0 + 20, T0 - HALF - 1, 0, 2 },
};

static void
test_window(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(winrows) / sizeof(winrows[0]); i++) {
		const struct winrow *r = &winrows[i];
		struct rcache *c = rcache_new(8);
		struct rcache_stats st;
		const void *v;
		size_t	vlen;

		rcache_put(c, "a", 1, "1", 1, T0, TLONG);
		rcache_put(c, "b", 1, "2", 1, r->now, r->expires);
		rcache_get_stats(c, &st);
		if (st.stores != r->want_stores)
			fail_msg("row %zu \"%s\": got stores %lu, want %lu", i,
			    r->name, st.stores, r->want_stores);
		v = rcache_get(c, "b", 1, r->get_now, &vlen);
		if ((v != NULL) != r->want_hit)
			fail_msg("row %zu \"%s\": got %s, want %s", i, r->name,
			    v != NULL ? "hit" : "miss",
			    r->want_hit ? "hit" : "miss");
		if (rcache_get(c, "a", 1, T0, &vlen) == NULL)
			fail_msg("row %zu \"%s\": a: got miss, want hit", i,
			    r->name);
		rcache_free(c);
	}
}

/* ---- replacement -------------------------------------------------------
 *
 * Put "k" = v1 until exp1, then put "k" = v2 (vlen2 bytes, NULL: vlen2
 * bytes of 'R') until exp2, get at get_now: want the value want (NULL:
 * a miss), want_stores and want_entries.
 */
static const struct reprow {
	const char *name;
	const char *v1;
	time_t	exp1;
	const char *v2;
	size_t	vlen2;
	time_t	exp2, get_now;
	const char *want;
	unsigned long want_stores, want_entries;
} reprows[] = {
	{ "same length", "old", TLONG, "new", 3, TLONG, T0, "new", 2, 1 },
	{ "longer", "old", TLONG, "much longer", 11, TLONG, T0, "much longer",
	  2, 1 },
	{ "shorter", "old value", TLONG, "n", 1, TLONG, T0, "n", 2, 1 },
	{ "same value", "same", TLONG, "same", 4, TLONG, T0, "same", 2, 1 },
	{ "later expiry kept", "old", T0 + 10, "new", 3, T0 + 100, T0 + 50,
	  "new", 2, 1 },
	{ "empty value", "old", TLONG, "", 0, TLONG, T0, "", 2, 1 },
	/* errors: the second put is refused (old kept) or expires sooner */
	{ "shorter expiry", "old", T0 + 100, "new", 3, T0 + 10, T0 + 50, NULL,
	  2, 1 },
	{ "second put expired", "old", TLONG, "new", 3, T0, T0, "old", 1, 1 },
	{ "second put in the past", "old", TLONG, "new", 3, T0 - 5, T0, "old",
	  1, 1 },
	{ "second value too long", "old", TLONG, NULL, RCACHE_VALUE_MAX + 1,
	  TLONG, T0, "old", 1, 1 },
	{ "first expired, second stored", "old", T0, "new", 3, TLONG, T0,
	  "new", 1, 1 },
	{ "both expired", "old", T0 - 1, "new", 3, T0, T0, NULL, 0, 0 },
};

static void
test_replace(void **state)
{
	static char big[RCACHE_VALUE_MAX + 1];
	size_t	i;

	(void)state;
	memset(big, 'R', sizeof(big));
	for (i = 0; i < sizeof(reprows) / sizeof(reprows[0]); i++) {
		const struct reprow *r = &reprows[i];
		struct rcache *c = rcache_new(4);
		struct rcache_stats st;
		size_t	vlen = 0;
		const char *v;

		rcache_put(c, "k", 1, r->v1, strlen(r->v1), T0, r->exp1);
		rcache_put(c, "k", 1, r->v2 != NULL ? r->v2 : big, r->vlen2,
		    T0, r->exp2);
		rcache_get_stats(c, &st);
		if (st.stores != r->want_stores || st.entries != r->want_entries)
			fail_msg("row %zu \"%s\": got stores %lu entries %lu, "
			    "want %lu %lu", i, r->name, st.stores, st.entries,
			    r->want_stores, r->want_entries);
		v = rcache_get(c, "k", 1, r->get_now, &vlen);
		if (r->want == NULL) {
			if (v != NULL)
				fail_msg("row %zu \"%s\": got \"%.*s\", want miss",
				    i, r->name, (int)vlen, v);
		} else if (v == NULL) {
			fail_msg("row %zu \"%s\": got miss, want \"%s\"", i,
			    r->name, r->want);
		} else if (vlen != strlen(r->want) ||
		    memcmp(v, r->want, vlen) != 0) {
			fail_msg("row %zu \"%s\": got \"%.*s\", want \"%s\"", i,
			    r->name, (int)vlen, v, r->want);
		}
		rcache_free(c);
	}
}

/* ---- LRU ---------------------------------------------------------------
 *
 * A script of two-character steps run on a cache of max entries, then
 * every key of present must hit and every key of absent must miss (the
 * evictions count is read before those lookups). Steps, with x a key:
 *	px	put x = "x" at T0 until TLONG
 *	Px	put x = "X" (upper case) at T0 until TLONG
 *	sx	put x at T0 until T0 + 10 (short)
 *	gx	get x at T0
 *	Gx	get x at T0 + 20 (after a short entry's expiry)
 *	vx	put x with a value over RCACHE_VALUE_MAX (refused)
 *	ex	put x with expires == now (refused)
 *	kx	put RCACHE_KEY_MAX + 1 bytes of x as key (refused)
 * These rows were written for plain LRU; none of them depends on what
 * the segmented LRU changes (see the SLRU rows below).
 */
static const struct lrurow {
	const char *name;
	size_t	max;
	const char *script;
	const char *present, *absent;
	unsigned long want_evictions;
} lrurows[] = {
	{ "get refreshes a", 3, "pa pb pc ga pd", "acd", "b", 1 },
	{ "no gets: oldest goes", 3, "pa pb pc pd", "bcd", "a", 1 },
	{ "two over", 3, "pa pb pc pd pe", "cde", "ab", 2 },
	{ "replace refreshes a", 3, "pa pb pc pa pd", "acd", "b", 1 },
	{ "gets reorder all", 3, "pa pb pc gc gb ga pd", "abd", "c", 1 },
	{ "fits exactly", 3, "pa pb pc", "abc", "", 0 },
	{ "max 1", 1, "pa pb", "b", "a", 1 },
	{ "max 0 behaves as 1", 0, "pa pb pc", "c", "ab", 2 },
	{ "max 0 holds one", 0, "pa", "a", "", 0 },
	/* error paths: refused puts, misses and expiry must not evict */
	{ "miss does not reorder", 3, "pa pb pc gx pd", "bcd", "ax", 1 },
	{ "too long value evicts nothing", 3, "pa pb pc vd", "abc", "d", 0 },
	{ "expired put evicts nothing", 3, "pa pb pc ed", "abc", "d", 0 },
	{ "expired drop frees a slot", 3, "pa sb pc Gb pd", "acd", "b", 0 },
	{ "replace when full evicts nothing", 3, "pa pb pc pb pb", "abc", "",
	  0 },
	{ "max 0, refused put keeps it", 0, "pa va ea", "a", "", 0 },
	{ "too long key evicts nothing", 3, "pa pb pc kd", "abc", "d", 0 },
	{ "refused put does not refresh", 3, "pa pb pc ea pd", "bcd", "a", 1 },
	{ "expired get does not refresh", 3, "sa pb pc Ga pd pe", "cde", "ab",
	  1 },
};

/* Runs script (row i) on c; val[x] becomes the value last stored under x. */
static void
run_script(struct rcache *c, size_t i, const char *script, char val[256])
{
	static char big[RCACHE_VALUE_MAX + RCACHE_KEY_MAX + 1];
	const char *s;
	size_t	vlen;
	char	up;

	for (s = script; s[0] != '\0' && s[1] != '\0'; s += 2) {
		const char *k = s + 1;

		switch (s[0]) {
		case 'p':
			rcache_put(c, k, 1, k, 1, T0, TLONG);
			val[(unsigned char)*k] = *k;
			break;
		case 'P':
			up = (char)(*k - 'a' + 'A');
			rcache_put(c, k, 1, &up, 1, T0, TLONG);
			val[(unsigned char)*k] = up;
			break;
		case 's':
			rcache_put(c, k, 1, k, 1, T0, T0 + 10);
			val[(unsigned char)*k] = *k;
			break;
		case 'g':
			(void)rcache_get(c, k, 1, T0, &vlen);
			break;
		case 'G':
			(void)rcache_get(c, k, 1, T0 + 20, &vlen);
			break;
		case 'v':
			memset(big, 'V', sizeof(big));
			rcache_put(c, k, 1, big, RCACHE_VALUE_MAX + 1, T0,
			    TLONG);
			break;
		case 'e':
			rcache_put(c, k, 1, k, 1, T0, T0);
			break;
		case 'k':
			memset(big, *k, sizeof(big));
			rcache_put(c, big, RCACHE_KEY_MAX + 1, k, 1, T0,
			    TLONG);
			break;
		default:
			fail_msg("row %zu: bad script step %c", i, s[0]);
		}
		if (s[2] == ' ')
			s++;
	}
}

static void
test_lru(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(lrurows) / sizeof(lrurows[0]); i++) {
		const struct lrurow *r = &lrurows[i];
		struct rcache *c = rcache_new(r->max);
		struct rcache_stats st;
		const char *s, *v;
		char	val[256];
		size_t	vlen;

		run_script(c, i, r->script, val);
		rcache_get_stats(c, &st);
		if (st.evictions != r->want_evictions)
			fail_msg("row %zu \"%s\": got evictions %lu, want %lu", i,
			    r->name, st.evictions, r->want_evictions);
		if (st.entries != strlen(r->present))
			fail_msg("row %zu \"%s\": got entries %lu, want %zu", i,
			    r->name, st.entries, strlen(r->present));
		for (s = r->present; *s != '\0'; s++) {
			v = rcache_get(c, s, 1, T0, &vlen);
			if (v == NULL || vlen != 1 || *v != *s)
				fail_msg("row %zu \"%s\": key %c: got %s, want hit",
				    i, r->name, *s, v == NULL ? "miss" : "bad value");
		}
		for (s = r->absent; *s != '\0'; s++)
			if (rcache_get(c, s, 1, T0, &vlen) != NULL)
				fail_msg("row %zu \"%s\": key %c: got hit, want miss",
				    i, r->name, *s);
		rcache_free(c);
	}
}

/* ---- segmented LRU: order ----------------------------------------------
 *
 * A script (steps as above) on a cache of max entries; then rcache_walk()
 * must give order, "probation/protected" with each segment's keys from
 * most to least recently used, and the counters must be exactly the want
 * ones (entries: the keys in order). Then every key in order must hit
 * with the value last stored under it. Protected holds max - max / 5:
 * 8 of 10, 4 of 5, 2 of 2, 1 of 1.
 */
static const struct orderrow {
	const char *name;
	size_t	max;
	const char *script;
	const char *order;
	unsigned long hits, misses, stores, evictions;
} orderrows[] = {
	{ "new entries enter probation", 5, "pa pb pc", "cba/", 0, 0, 3, 0 },
	{ "hit promotes", 5, "pa pb pc gb", "ca/b", 1, 0, 3, 0 },
	{ "promotions stack at protected head", 5, "pa pb pc gb ga", "c/ab",
	  2, 0, 3, 0 },
	{ "protected hit moves to head", 5, "pa pb pc gb ga gb", "c/ba", 3, 0,
	  3, 0 },
	{ "over the cap: tail demoted to probation head", 5,
	  "pa pb pc pd pe ga gb gc gd ge", "a/edcb", 5, 0, 5, 0 },
	{ "demoted entry goes before older probation", 10,
	  "pa pb pc pd pe pf pg ph ga gb gc gd ge gf gg gh pi pj gj",
	  "ai/jhgfedcb", 9, 0, 10, 0 },
	{ "demoted entry outlives older probation", 10,
	  "pa pb pc pd pe pf pg ph ga gb gc gd ge gf gg gh pi pj gj pk",
	  "ka/jhgfedcb", 9, 0, 11, 1 },
	{ "demoted entry promoted again", 5,
	  "pa pb pc pd pe ga gb gc gd ge ga", "b/aedc", 6, 0, 5, 0 },
	{ "probation tail evicted, protected kept", 5,
	  "pa pb pc pd pe ga pf pg", "gfed/a", 1, 0, 7, 2 },
	{ "demoted entry is the next victim", 5,
	  "pa pb pc pd pe ga gb gc gd ge pf", "f/edcb", 5, 0, 6, 1 },
	{ "protected tail evicted when probation empty", 2, "pa pb ga gb pc",
	  "c/b", 2, 0, 3, 1 },
	{ "max 1: a hit entry is still evicted", 1, "pa ga pb", "b/", 1, 0,
	  2, 1 },
	{ "replace in probation: its head", 5, "pa pb pc Pa", "acb/", 0, 0,
	  4, 0 },
	{ "replace in protected: its head", 5, "pa pb ga gb Pa", "/ab", 2, 0,
	  3, 0 },
	{ "replaced protected entry still counts to the cap", 5,
	  "pa pb pc pd ga gb gc gd Pa pe ge", "b/eadc", 5, 0, 6, 0 },
	{ "replace when full evicts nothing", 5, "pa pb pc pd pe ga Pa Pb",
	  "bedc/a", 1, 0, 7, 0 },
	{ "expired in probation dropped", 5, "sa pb Ga", "b/", 0, 1, 2, 0 },
	{ "expired in protected dropped", 5, "sa pb ga Ga", "b/", 1, 1, 2, 0 },
	{ "expired protected entry frees a slot", 2, "sa ga pb Ga pc", "cb/",
	  1, 1, 3, 0 },
	/* errors: misses and refused puts move nothing, evict nothing */
	{ "miss moves nothing", 5, "pa pb ga gx", "b/a", 1, 1, 2, 0 },
	{ "refused put on a probation key", 5, "pa pb ea", "ba/", 0, 0, 2, 0 },
	{ "refused put on a protected key", 5, "pa pb ga gb ea", "/ba", 2, 0,
	  2, 0 },
	{ "too long value on a protected key", 5, "pa pb ga gb va", "/ba", 2,
	  0, 2, 0 },
	{ "too long key moves nothing", 5, "pa ga kb", "/a", 1, 0, 1, 0 },
	{ "expired protected get moves no other", 5, "pa sb ga gb pc Gb",
	  "c/a", 2, 1, 3, 0 },
	{ "refused put when full evicts nothing", 2, "pa pb ga gb ec", "/ba",
	  2, 0, 2, 0 },
	{ "refused replace keeps the old value", 5, "pa ga va ea", "/a", 1, 0,
	  1, 0 },
	{ "miss on an evicted key", 1, "pa pb ga", "b/", 0, 1, 2, 1 },
	{ "get of an expired entry is no hit", 2, "sa sb Ga Gb", "/", 0, 2, 2,
	  0 },
};

struct walkbuf {
	char	prob[64], prot[64];	/* one-byte keys, in walk order */
	size_t	nprob, nprot;		/* all keys */
};

static void
walk_cb(void *arg, const void *key, size_t klen, int protected)
{
	struct walkbuf *w = arg;
	char	*buf = protected ? w->prot : w->prob;
	size_t	*n = protected ? &w->nprot : &w->nprob;

	if (klen == 1 && *n < sizeof(w->prob) - 1)
		buf[*n] = *(const char *)key;
	(*n)++;
}

static void
walk(const struct rcache *c, struct walkbuf *w)
{
	memset(w, 0, sizeof(*w));
	rcache_walk(c, walk_cb, w);
}

static void
test_slru_order(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(orderrows) / sizeof(orderrows[0]); i++) {
		const struct orderrow *r = &orderrows[i];
		struct rcache *c = rcache_new(r->max);
		struct rcache_stats st;
		struct walkbuf w;
		char	got[160], val[256];
		const char *s, *v;
		size_t	vlen;

		run_script(c, i, r->script, val);
		walk(c, &w);
		snprintf(got, sizeof(got), "%s/%s", w.prob, w.prot);
		if (strcmp(got, r->order) != 0)
			fail_msg("row %zu \"%s\": got order %s, want %s", i,
			    r->name, got, r->order);
		rcache_get_stats(c, &st);
		if (st.hits != r->hits || st.misses != r->misses ||
		    st.stores != r->stores || st.evictions != r->evictions ||
		    st.entries != strlen(r->order) - 1)
			fail_msg("row %zu \"%s\": got hits %lu misses %lu stores "
			    "%lu evictions %lu entries %lu, want %lu %lu %lu %lu "
			    "%zu", i, r->name, st.hits, st.misses, st.stores,
			    st.evictions, st.entries, r->hits, r->misses,
			    r->stores, r->evictions, strlen(r->order) - 1);
		for (s = r->order; *s != '\0'; s++) {
			if (*s == '/')
				continue;
			v = rcache_get(c, s, 1, T0, &vlen);
			if (v == NULL || vlen != 1 || *v != val[(unsigned char)*s])
				fail_msg("row %zu \"%s\": key %c: got %c, want %c",
				    i, r->name, *s, v == NULL ? '-' : *v,
				    val[(unsigned char)*s]);
		}
		rcache_free(c);
	}
}

/* ---- segmented LRU: protected cap --------------------------------------
 *
 * Put max keys, then get every key in order, reads times over: protected
 * must hold want_prot of them (max - max / 5 at most) and probation the
 * rest; nothing is evicted and every key still hits.
 */
static const struct caprow {
	const char *name;
	size_t	max;
	int	reads;
	size_t	want_prot, want_prob;
} caprows[] = {
	{ "max 1", 1, 1, 1, 0 },
	{ "max 2", 2, 1, 2, 0 },
	{ "max 4", 4, 1, 4, 0 },
	{ "max 5", 5, 1, 4, 1 },
	{ "max 9", 9, 1, 8, 1 },
	{ "max 10", 10, 1, 8, 2 },
	{ "max 11", 11, 1, 9, 2 },
	{ "max 100", 100, 1, 80, 20 },
	{ "max 1000, read twice", 1000, 2, 800, 200 },
	/* limits: never over the cap, nothing protected without a hit */
	{ "max 0 is max 1", 0, 1, 1, 0 },
	{ "max 10, read three times", 10, 3, 8, 2 },
	{ "max 100, read five times", 100, 5, 80, 20 },
	{ "max 5, never read", 5, 0, 0, 5 },
	{ "max 100, never read", 100, 0, 0, 100 },
	{ "max 1000, never read", 1000, 0, 0, 1000 },
	{ "max 3, never read", 3, 0, 0, 3 },
	{ "max 1, never read", 1, 0, 0, 1 },
	{ "max 16384", 16384, 1, 13108, 3276 },
};

static void
test_slru_cap(void **state)
{
	size_t	i, k, max;

	(void)state;
	for (i = 0; i < sizeof(caprows) / sizeof(caprows[0]); i++) {
		const struct caprow *r = &caprows[i];
		struct rcache *c = rcache_new(r->max);
		struct rcache_stats st;
		struct walkbuf w;
		char	key[32];
		size_t	vlen;
		int	n, read;

		max = r->max < 1 ? 1 : r->max;
		for (k = 0; k < max; k++) {
			n = snprintf(key, sizeof(key), "key-%zu", k);
			rcache_put(c, key, (size_t)n, "v", 1, T0, TLONG);
		}
		for (read = 0; read < r->reads; read++)
			for (k = 0; k < max; k++) {
				n = snprintf(key, sizeof(key), "key-%zu", k);
				(void)rcache_get(c, key, (size_t)n, T0, &vlen);
			}
		walk(c, &w);
		if (w.nprot != r->want_prot || w.nprob != r->want_prob)
			fail_msg("row %zu \"%s\": got protected %zu probation "
			    "%zu, want %zu %zu", i, r->name, w.nprot, w.nprob,
			    r->want_prot, r->want_prob);
		rcache_get_stats(c, &st);
		if (st.evictions != 0 || st.entries != max ||
		    st.hits != (unsigned long)r->reads * max)
			fail_msg("row %zu \"%s\": got evictions %lu entries %lu "
			    "hits %lu, want 0 %zu %zu", i, r->name, st.evictions,
			    st.entries, st.hits, max, (size_t)r->reads * max);
		for (k = 0; k < max; k++) {
			n = snprintf(key, sizeof(key), "key-%zu", k);
			if (rcache_get(c, key, (size_t)n, T0, &vlen) == NULL)
				fail_msg("row %zu \"%s\": key %zu: got miss, want "
				    "hit", i, r->name, k);
		}
		rcache_free(c);
	}
}

/* ---- segmented LRU: scan resistance ------------------------------------
 *
 * The daemon's traffic: a working set of ws keys, each put and then read
 * reads times, then a stream of one-off keys (spam bots: random address,
 * random domain), each looked up (a miss) and put, as the daemon does.
 * Afterwards want_slru working keys must still hit. The same trace run
 * on a plain LRU model must keep want_lru of them: the rows where it
 * keeps none are the ones the segmented LRU exists for.
 */
static const struct scanrow {
	const char *name;
	size_t	max, ws, reads, stream;
	size_t	want_slru, want_lru;
} scanrows[] = {
	{ "max/2 read twice, 10*max one-offs", 200, 100, 2, 2000, 100, 0 },
	{ "max/2 read once, 10*max one-offs", 200, 100, 1, 2000, 100, 0 },
	{ "80 % read twice, 10*max one-offs", 100, 80, 2, 1000, 80, 0 },
	{ "max 10: 5 read twice, 100 one-offs", 10, 5, 2, 100, 5, 0 },
	{ "max 1000: 500 read twice, 10000", 1000, 500, 2, 10000, 500, 0 },
	/* what it cannot do, and where LRU is as good */
	{ "never read: nothing protected", 200, 100, 0, 2000, 0, 0 },
	{ "working set over the cap: the cap stays", 100, 100, 2, 1000, 80,
	  0 },
	{ "working set of max: the cap stays", 10, 10, 1, 100, 8, 0 },
	{ "short stream: LRU keeps all too", 100, 50, 2, 40, 50, 50 },
	{ "stream fills probation exactly", 100, 50, 2, 50, 50, 50 },
};

/* A plain LRU of max keys, most recent first, for comparison. */
struct lrumodel {
	size_t	*id, n, max;
};

/* Looks up id (a hit moves it to the front) and, put != 0, stores it. */
static int
model_use(struct lrumodel *m, size_t id, int put)
{
	size_t	i;

	for (i = 0; i < m->n && m->id[i] != id; i++)
		;
	if (i == m->n) {
		if (!put)
			return 0;
		if (m->n < m->max)
			m->n++;
		i = m->n - 1;		/* the least recent goes */
	}
	memmove(m->id + 1, m->id, i * sizeof(*m->id));
	m->id[0] = id;
	return 1;
}

static size_t
scan_key(char *key, size_t size, size_t id, size_t ws)
{
	if (id < ws)
		return (size_t)snprintf(key, size, "%08zx" "client.example.org",
		    id);
	return (size_t)snprintf(key, size, "%08zx" "bot.random.example.net",
	    id);
}

static void
test_slru_scan(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(scanrows) / sizeof(scanrows[0]); i++) {
		const struct scanrow *r = &scanrows[i];
		struct rcache *c = rcache_new(r->max);
		struct lrumodel m = { NULL, 0, r->max };
		struct rcache_stats st;
		unsigned long whits;
		size_t	id, n, vlen, kept_slru = 0, kept_lru = 0, rd, nput;
		char	key[64];
		const char *v;

		m.id = calloc(r->max, sizeof(*m.id));
		assert_non_null(m.id);
		for (id = 0; id < r->ws; id++) {
			n = scan_key(key, sizeof(key), id, r->ws);
			rcache_put(c, key, n, "pass", 4, T0, TLONG);
			model_use(&m, id, 1);
		}
		for (rd = 0; rd < r->reads; rd++)
			for (id = 0; id < r->ws; id++) {
				n = scan_key(key, sizeof(key), id, r->ws);
				(void)rcache_get(c, key, n, T0, &vlen);
				model_use(&m, id, 0);
			}
		rcache_get_stats(c, &st);
		whits = st.hits;
		for (id = r->ws; id < r->ws + r->stream; id++) {
			n = scan_key(key, sizeof(key), id, r->ws);
			if (rcache_get(c, key, n, T0, &vlen) != NULL)
				fail_msg("row %zu \"%s\": one-off %zu: got hit, "
				    "want miss", i, r->name, id);
			rcache_put(c, key, n, "fail", 4, T0, TLONG);
			model_use(&m, id, 1);
		}
		for (id = 0; id < r->ws; id++) {
			kept_lru += model_use(&m, id, 0);
			n = scan_key(key, sizeof(key), id, r->ws);
			v = rcache_get(c, key, n, T0, &vlen);
			if (v != NULL && (vlen != 4 || memcmp(v, "pass", 4) != 0))
				fail_msg("row %zu \"%s\": key %zu: got a wrong "
				    "value", i, r->name, id);
			kept_slru += v != NULL;
		}
		if (kept_slru != r->want_slru || kept_lru != r->want_lru)
			fail_msg("row %zu \"%s\": got %zu of %zu kept (plain LRU "
			    "%zu), want %zu (%zu)", i, r->name, kept_slru, r->ws,
			    kept_lru, r->want_slru, r->want_lru);
		/* Every put is stored; a full cache evicts one per put. */
		nput = r->ws + r->stream;
		rcache_get_stats(c, &st);
		if (whits != r->ws * r->reads || st.hits != whits + kept_slru ||
		    st.misses != r->stream + r->ws - kept_slru ||
		    st.stores != nput ||
		    st.evictions != (nput > r->max ? nput - r->max : 0) ||
		    st.entries != (nput > r->max ? r->max : nput))
			fail_msg("row %zu \"%s\": got hits %lu (working set "
			    "%lu) misses %lu stores %lu evictions %lu entries %lu",
			    i, r->name, st.hits, whits, st.misses, st.stores,
			    st.evictions, st.entries);
		free(m.id);
		rcache_free(c);
	}
}

/* ---- many entries ------------------------------------------------------ */

#define MANY_KEYS	10000
#define MANY_MAX	1000

static void
many(int hashed)
{
	struct rcache *c = hashed ? rcache_new_hashed(MANY_MAX) :
	    rcache_new(MANY_MAX);
	struct rcache_stats st;
	char	key[32], val[32];
	unsigned long hits = 0, misses = 0;
	size_t	vlen;
	const char *v;
	int	i, n;

	for (i = 0; i < MANY_KEYS; i++) {
		n = snprintf(key, sizeof(key), "sender-%d.example", i);
		snprintf(val, sizeof(val), "result %d", i * 7);
		rcache_put(c, key, (size_t)n, val, strlen(val), T0, TLONG);
	}
	rcache_get_stats(c, &st);
	if (st.entries != MANY_MAX || st.stores != MANY_KEYS ||
	    st.evictions != MANY_KEYS - MANY_MAX || st.hits != 0 ||
	    st.misses != 0)
		fail_msg("after puts: got entries %lu stores %lu evictions %lu "
		    "hits %lu misses %lu, want %d %d %d 0 0", st.entries,
		    st.stores, st.evictions, st.hits, st.misses, MANY_MAX,
		    MANY_KEYS, MANY_KEYS - MANY_MAX);
	/* Misses first: they must not disturb the survivors. */
	for (i = 0; i < MANY_KEYS - MANY_MAX; i++) {
		n = snprintf(key, sizeof(key), "sender-%d.example", i);
		if (rcache_get(c, key, (size_t)n, T0, &vlen) != NULL)
			fail_msg("key %d: got hit, want miss (evicted)", i);
		misses++;
	}
	for (i = MANY_KEYS - MANY_MAX; i < MANY_KEYS; i++) {
		n = snprintf(key, sizeof(key), "sender-%d.example", i);
		snprintf(val, sizeof(val), "result %d", i * 7);
		v = rcache_get(c, key, (size_t)n, T0, &vlen);
		if (v == NULL)
			fail_msg("key %d: got miss, want hit", i);
		if (vlen != strlen(val) || memcmp(v, val, vlen) != 0)
			fail_msg("key %d: got \"%.*s\", want \"%s\"", i,
			    (int)vlen, v, val);
		hits++;
	}
	rcache_get_stats(c, &st);
	if (st.entries != MANY_MAX || st.hits != hits || st.misses != misses ||
	    st.stores != MANY_KEYS || st.evictions != MANY_KEYS - MANY_MAX)
		fail_msg("after gets: got entries %lu hits %lu misses %lu "
		    "stores %lu evictions %lu, want %d %lu %lu %d %d",
		    st.entries, st.hits, st.misses, st.stores, st.evictions,
		    MANY_MAX, hits, misses, MANY_KEYS, MANY_KEYS - MANY_MAX);
	rcache_free(c);
}

static void
test_many(void **state)
{
	(void)state;
	many(0);
}

static void
test_many_hashed(void **state)
{
	(void)state;
	many(1);
}

/* ---- clear, free ------------------------------------------------------- */

static void
test_clear(void **state)
{
	struct rcache *c = rcache_new(16);
	struct rcache_stats st;
	char	key[8];
	size_t	vlen;
	int	i;

	(void)state;
	rcache_clear(c);			/* empty: a no-op */
	rcache_get_stats(c, &st);
	if (st.entries != 0)
		fail_msg("clear empty: got entries %lu, want 0", st.entries);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		rcache_put(c, key, strlen(key), "v", 1, T0, TLONG);
	}
	rcache_clear(c);
	rcache_get_stats(c, &st);
	if (st.entries != 0 || st.evictions != 0)
		fail_msg("after clear: got entries %lu evictions %lu, want 0 0",
		    st.entries, st.evictions);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (rcache_get(c, key, strlen(key), T0, &vlen) != NULL)
			fail_msg("after clear, %s: got hit, want miss", key);
	}
	/* Still usable afterwards. */
	rcache_put(c, "again", 5, "v2", 2, T0, TLONG);
	if (rcache_get(c, "again", 5, T0, &vlen) == NULL || vlen != 2)
		fail_msg("put after clear: got miss, want hit");
	rcache_get_stats(c, &st);
	if (st.entries != 1)
		fail_msg("put after clear: got entries %lu, want 1", st.entries);
	rcache_free(c);			/* with an entry: valgrind checks */
	rcache_free(NULL);
}

/* ---- counters ----------------------------------------------------------
 *
 * One cache of 2 entries; each step runs, then the stats must be exactly
 * the cumulative want.
 */
enum { S_PUT, S_GET, S_CLEAR };

static const struct strow {
	const char *name;
	int	op;
	const char *key;		/* NULL: RCACHE_KEY_MAX + 1 bytes */
	size_t	vlen;			/* put: value length */
	time_t	now, expires;
	struct rcache_stats want;	/* hits misses stores evictions entries */
} strows[] = {
	{ "get on empty", S_GET, "a", 0, T0, 0, { 0, 1, 0, 0, 0 } },
	{ "put a", S_PUT, "a", 1, T0, TLONG, { 0, 1, 1, 0, 1 } },
	{ "get a", S_GET, "a", 0, T0, 0, { 1, 1, 1, 0, 1 } },
	{ "get a again", S_GET, "a", 0, T0 + 1, 0, { 2, 1, 1, 0, 1 } },
	{ "put b", S_PUT, "b", 1, T0, T0 + 5, { 2, 1, 2, 0, 2 } },
	{ "replace a", S_PUT, "a", 2, T0, TLONG, { 2, 1, 3, 0, 2 } },
	{ "put c evicts b", S_PUT, "c", 1, T0, TLONG, { 2, 1, 4, 1, 2 } },
	{ "get c", S_GET, "c", 0, T0, 0, { 3, 1, 4, 1, 2 } },
	{ "clear", S_CLEAR, NULL, 0, 0, 0, { 3, 1, 4, 1, 0 } },
	{ "put d short", S_PUT, "d", 1, T0, T0 + 5, { 3, 1, 5, 1, 1 } },
	/* error steps */
	{ "get b (evicted)", S_GET, "b", 0, T0, 0, { 3, 2, 5, 1, 1 } },
	{ "get long key", S_GET, NULL, 0, T0, 0, { 3, 3, 5, 1, 1 } },
	{ "put long key", S_PUT, NULL, 1, T0, TLONG, { 3, 3, 5, 1, 1 } },
	{ "put long value", S_PUT, "e", RCACHE_VALUE_MAX + 1, T0, TLONG,
	  { 3, 3, 5, 1, 1 } },
	{ "put expired", S_PUT, "e", 1, T0, T0, { 3, 3, 5, 1, 1 } },
	{ "get d expired", S_GET, "d", 0, T0 + 5, 0, { 3, 4, 5, 1, 0 } },
	{ "get d gone", S_GET, "d", 0, T0, 0, { 3, 5, 5, 1, 0 } },
	{ "get a cleared", S_GET, "a", 0, T0, 0, { 3, 6, 5, 1, 0 } },
	{ "get e never stored", S_GET, "e", 0, T0, 0, { 3, 7, 5, 1, 0 } },
};

static void
test_stats(void **state)
{
	static char big[RCACHE_KEY_MAX + RCACHE_VALUE_MAX + 2];
	struct rcache *c = rcache_new(2);
	size_t	i;

	(void)state;
	memset(big, 'B', sizeof(big));
	for (i = 0; i < sizeof(strows) / sizeof(strows[0]); i++) {
		const struct strow *r = &strows[i];
		const void *k = r->key != NULL ? r->key : big;
		size_t	klen = r->key != NULL ? strlen(r->key) :
		    RCACHE_KEY_MAX + 1;
		struct rcache_stats st;
		size_t	vlen;

		switch (r->op) {
		case S_PUT:
			rcache_put(c, k, klen, big, r->vlen, r->now, r->expires);
			break;
		case S_GET:
			(void)rcache_get(c, k, klen, r->now, &vlen);
			break;
		case S_CLEAR:
			rcache_clear(c);
			break;
		}
		memset(&st, 0xff, sizeof(st));
		rcache_get_stats(c, &st);
		if (memcmp(&st, &r->want, sizeof(st)) != 0)
			fail_msg("row %zu \"%s\": got hits %lu misses %lu stores "
			    "%lu evictions %lu entries %lu, want %lu %lu %lu %lu "
			    "%lu", i, r->name, st.hits, st.misses, st.stores,
			    st.evictions, st.entries, r->want.hits,
			    r->want.misses, r->want.stores, r->want.evictions,
			    r->want.entries);
	}
	rcache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_hashed),
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expiry_drops),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_slru_order),
		cmocka_unit_test(test_slru_cap),
		cmocka_unit_test(test_slru_scan),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_many_hashed),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
