/* SPDX-License-Identifier: ISC */
#ifndef SHARED_SPFPOOL_H
#define SHARED_SPFPOOL_H
/* spfpool - SPF evaluation in sandboxed libspf2 worker processes.
 *
 * The pool lives in the event-loop process. Each worker runs libspf2 with
 * a proxy DNS layer that asks the pool, over a socketpair, for every
 * lookup; the pool answers through dns.h (one cache), validates SPF
 * records (spf.h) and counts the RFC 7208 lookup and void limits across
 * the whole evaluation. A worker that dies is replaced; its evaluation
 * ends as temperror with worker_died set. */
#include "shared/netaddr.h"
#include "shared/spf.h"

struct event_base;
struct dns;

#define SPFPOOL_WORKERS_MAX	64

struct spfpool_opts {
	int	workers;		/* processes; 1..SPFPOOL_WORKERS_MAX */
	int	lookup_limit;		/* RFC 7208 4.6.4: 10 */
	int	void_limit;		/* RFC 7208 4.6.4: 2 */
	int	eval_timeout;		/* seconds of wall clock per evaluation */
	const char *receiver;		/* our host name (libspf2 rec_dom) */
};

struct spf_query {
	struct netaddr ip;		/* client address */
	const char *helo;		/* HELO/EHLO name; may be empty */
	const char *sender;		/* MAIL FROM without <>; empty = null sender */
	enum spf_identity identity;	/* HELO: evaluate postmaster@helo's domain;
					 * MAILFROM: the sender (or postmaster@helo
					 * when the sender is empty) */
	int	cache_checked;		/* 1: spfpool_cached() just missed it, so
					 * spfpool_eval() does not look again */
};

struct spf_outcome {
	enum spf_result result;
	enum spf_identity identity;
	char	checked[320];		/* the identity checked: user@dom or helo name */
	char	domain[256];		/* its domain */
	char	problem[SPF_TEXT_MAX];	/* why permerror/temperror (our words) */
	unsigned queries;		/* DNS lookups made */
	unsigned voids;			/* void lookups seen */
	int	worker_died;		/* worker crashed or timed out */
};

struct spfpool;
struct spfpool_eval;

/* Outcome is valid during the callback only. Never called from inside
 * spfpool_eval(). */
typedef void (*spfpool_cb)(void *arg, const struct spf_outcome *out);

/* Forks the workers. Returns NULL with a reason in err. */
struct spfpool *spfpool_new(struct event_base *, struct dns *,
	    const struct spfpool_opts *, char *err, size_t errlen);
/* Queue or start an evaluation; never NULL. */
struct spfpool_eval *spfpool_eval(struct spfpool *, const struct spf_query *,
	    spfpool_cb cb, void *arg);
void	spfpool_cancel(struct spfpool_eval *);	/* no callback afterwards */
/* The result cache alone: 1 and *out filled when q's result is kept
 * (the caller then needs no evaluation), else 0. */
int	spfpool_cached(struct spfpool *, const struct spf_query *,
	    struct spf_outcome *out);
void	spfpool_free(struct spfpool *);		/* kills and reaps workers */

struct spfpool_stats {
	unsigned long evals, worker_restarts, limit_violations, queued;
	unsigned long cache_hits;	/* answered from the result cache */
};
void	spfpool_get_stats(const struct spfpool *, struct spfpool_stats *out);

#endif
