/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	summary 3
 * SUMMARY
 *	aggregates of a run
 * SYNOPSIS
 *	#include "verifier/summary.h"
 *
 *	void summary_init(struct summary *s);
 *	void summary_add(struct summary *s, const struct chain *c);
 *	int summary_top(const struct summary *s, enum summary_what w,
 *		struct summary_count *out, int max);
 *	void summary_free(struct summary *s);
 * DESCRIPTION
 *	Counts per verdict; among the messages that are not authenticated,
 *	how often each origin (the MX entry's sender address, or "(none)")
 *	and each From: domain appears; every dated hop's delay in a bucket.
 *	The main thread calls summary_add() once per message, in order.
 * LIMITS
 *	SUMMARY_KEYS_MAX distinct keys per table, counted; more are added to
 *	"other" (the top list is then of the keys seen first).
 *--*/
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "verifier/summary.h"

#define BUCKETS	8192		/* hash buckets: > SUMMARY_KEYS_MAX */

struct entry {
	char	key[SUMMARY_KEY_MAX];
	unsigned long n;
	int	order;		/* first seen */
	int	next;		/* in its bucket; -1 end */
};

struct summary_table {
	struct entry *e;	/* grows up to SUMMARY_KEYS_MAX */
	int	n, cap;
	int	head[BUCKETS];
};

static struct summary_table *
table_new(void)
{
	struct summary_table *t = xcalloc(1, sizeof(*t));

	memset(t->head, 0xff, sizeof(t->head));
	return t;
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

/* 0, or -1 when the table is full and key is new. */
static int
table_count(struct summary_table *t, const char *key)
{
	unsigned h = hash(key);
	int i;
	size_t n;

	for (i = t->head[h]; i >= 0; i = t->e[i].next)
		if (strcmp(t->e[i].key, key) == 0) {
			t->e[i].n++;
			return 0;
		}
	if (t->n == SUMMARY_KEYS_MAX)
		return -1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->e = xrealloc(t->e, (size_t)t->cap * sizeof(*t->e));
	}
	i = t->n++;
	n = strlen(key);
	if (n >= SUMMARY_KEY_MAX)
		n = SUMMARY_KEY_MAX - 1;
	memcpy(t->e[i].key, key, n);
	t->e[i].key[n] = '\0';
	t->e[i].n = 1;
	t->e[i].order = i;
	t->e[i].next = t->head[h];
	t->head[h] = i;
	return 0;
}

void
summary_init(struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->t[SUMMARY_ORIGINS] = table_new();
	s->t[SUMMARY_DOMAINS] = table_new();
}

enum summary_bucket
summary_bucket_of(long long d)
{
	if (d < 0)
		return SUMMARY_DELAY_NEGATIVE;
	if (d < 1)
		return SUMMARY_DELAY_1S;
	if (d < 10)
		return SUMMARY_DELAY_10S;
	if (d < 60)
		return SUMMARY_DELAY_1M;
	if (d < 600)
		return SUMMARY_DELAY_10M;
	if (d < 3600)
		return SUMMARY_DELAY_1H;
	if (d < 86400)
		return SUMMARY_DELAY_1D;
	return SUMMARY_DELAY_MORE;
}

void
summary_add(struct summary *s, const struct chain *c)
{
	const char *dom;
	int i;

	s->n++;
	s->nverdict[c->verdict]++;
	for (i = 0; i < c->nhops; i++)
		if (c->hops[i].has_delay)
			s->delay[summary_bucket_of(c->hops[i].delay_s)]++;
	if (c->verdict == CHAIN_AUTHENTICATED)
		return;
	if (table_count(s->t[SUMMARY_ORIGINS], c->origin_ip[0] ?
	    c->origin_ip : "(none)") != 0)
		s->other[SUMMARY_ORIGINS]++;
	dom = c->dmarc.checked && c->dmarc.d.from_domain[0] ?
	    c->dmarc.d.from_domain : "(none)";
	if (table_count(s->t[SUMMARY_DOMAINS], dom) != 0)
		s->other[SUMMARY_DOMAINS]++;
}

static int
better(const struct entry *a, const struct entry *b)
{
	return a->n > b->n || (a->n == b->n && a->order < b->order);
}

int
summary_top(const struct summary *s, enum summary_what w,
    struct summary_count *out, int max)
{
	const struct summary_table *t = s->t[w];
	const struct entry *top[SUMMARY_TOP_MAX];
	int i, k, n = 0;

	if (max > SUMMARY_TOP_MAX)
		max = SUMMARY_TOP_MAX;
	for (i = 0; t != NULL && i < t->n; i++) {
		const struct entry *e = &t->e[i];

		if (n == max && (max == 0 || !better(e, top[n - 1])))
			continue;
		if (n < max)
			n++;
		for (k = n - 1; k > 0 && better(e, top[k - 1]); k--)
			top[k] = top[k - 1];
		top[k] = e;
	}
	for (i = 0; i < n; i++) {
		out[i].key = top[i]->key;
		out[i].n = top[i]->n;
	}
	return n;
}

const char *
summary_bucket_str(enum summary_bucket b)
{
	static const char *const w[SUMMARY_DELAY_BUCKETS] = {
		"reversed", "< 1 s", "1-10 s", "10 s-1 min", "1-10 min",
		"10 min-1 h", "1 h-1 day", "> 1 day",
	};

	return b < SUMMARY_DELAY_BUCKETS ? w[b] : "?";
}

void
summary_free(struct summary *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (s->t[i] != NULL)
			free(s->t[i]->e);
		free(s->t[i]);
		s->t[i] = NULL;
	}
}
