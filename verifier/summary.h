/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_SUMMARY_H
#define VERIFIER_SUMMARY_H
/* summary - aggregates of a run for its summary (text and HTML): counts
 * per verdict, the most frequent origins and From: domains among the
 * messages that are not authenticated, a histogram of hop delays. Memory
 * is bounded whatever the number of messages. */
#include <stddef.h>

#include "verifier/chain.h"

#define SUMMARY_KEYS_MAX	4096	/* distinct origins (and domains) counted */
#define SUMMARY_KEY_MAX		256	/* bytes of one, with the NUL */
#define SUMMARY_TOP_MAX		10	/* listed by summary_top() at most */

/* Hop delay buckets: reversed, then up to 1 s, 10 s, 1 min, 10 min, 1 h,
 * 1 day, more. */
enum summary_bucket {
	SUMMARY_DELAY_NEGATIVE, SUMMARY_DELAY_1S, SUMMARY_DELAY_10S,
	SUMMARY_DELAY_1M, SUMMARY_DELAY_10M, SUMMARY_DELAY_1H,
	SUMMARY_DELAY_1D, SUMMARY_DELAY_MORE, SUMMARY_DELAY_BUCKETS,
};

enum summary_what { SUMMARY_ORIGINS, SUMMARY_DOMAINS };

struct summary_count {
	const char *key;		/* into the summary */
	unsigned long n;
};

struct summary_table;

struct summary {
	unsigned long n;			/* messages */
	unsigned long nverdict[CHAIN_FORGED + 1];
	unsigned long nunread;			/* not readable (not in n) */
	unsigned long delay[SUMMARY_DELAY_BUCKETS];	/* hops per bucket */
	struct summary_table *t[2];		/* SUMMARY_ORIGINS, _DOMAINS */
	unsigned long other[2];		/* past SUMMARY_KEYS_MAX distinct */
};

void	summary_init(struct summary *);
/* Count one message. */
void	summary_add(struct summary *, const struct chain *c);
/* The n most frequent origins or From: domains among non-authenticated
 * messages, most frequent first (ties: first seen first), into out
 * (at most max, <= SUMMARY_TOP_MAX); returns how many. Valid until the
 * next summary_add() or summary_free(). */
int	summary_top(const struct summary *, enum summary_what,
	    struct summary_count *out, int max);
/* "< 1 s", "reversed", ... */
const char *summary_bucket_str(enum summary_bucket);
/* The bucket of a delay in seconds. */
enum summary_bucket summary_bucket_of(long long delay_s);
void	summary_free(struct summary *);

#endif
