/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spfpool 3
 * SUMMARY
 *	SPF evaluation in sandboxed libspf2 worker processes
 * SYNOPSIS
 *	#include "shared/spfpool.h"
 *
 *	struct spfpool *spfpool_new(struct event_base *base, struct dns *dns,
 *		const struct spfpool_opts *opts, char *err, size_t errlen);
 *	struct spfpool_eval *spfpool_eval(struct spfpool *pool,
 *		const struct spf_query *q, spfpool_cb cb, void *arg);
 *	void spfpool_cancel(struct spfpool_eval *e);
 *	int spfpool_cached(struct spfpool *pool, const struct spf_query *q,
 *		struct spf_outcome *out);
 *	void spfpool_free(struct spfpool *pool);
 *	void spfpool_get_stats(const struct spfpool *pool,
 *		struct spfpool_stats *out);
 * DESCRIPTION
 *	The pool lives in the event-loop process and never calls libspf2.
 *	spfpool_new() starts the workers (spfworker(3)); each runs up to
 *	SPFW_EVALS_MAX evaluations at once (an evaluation waiting for DNS
 *	costs the worker nothing), new ones go to the least busy worker,
 *	and the rest wait in a queue. Every DNS lookup a
 *	worker makes arrives here as a LOOKUP message and is answered from
 *	dns(3), so there is one cache and the budget is kept in trusted
 *	memory.
 *
 *	The record: an evaluation the cache cannot answer starts here,
 *	with the TXT lookup of the checked domain that libspf2 would make
 *	first, judged by the same rules (TXT selection below). When that
 *	decides the result (no record: none; several, or one that does
 *	not validate: permerror; a DNS error: temperror) no worker is
 *	involved at all; otherwise the rewritten record goes to the worker
 *	with the EVAL and answers libspf2's first lookup there, a round
 *	trip saved. The lookup counts as it did from the worker.
 *
 *	This is the layer of RFC 7208 rules that libspf2 gets wrong; for
 *	each, the layer decides the result and libspf2's own answer for
 *	that evaluation is ignored ("forced"):
 *	- the identity: a malformed domain (RFC 7208 4.3) gives none without
 *	  a worker; an empty local part becomes postmaster; IPv4-mapped
 *	  IPv6 clients are evaluated as IPv4 (5.6);
 *	- TXT selection (4.5): several v=spf1 records give permerror; none
 *	  gives none for the checked domain and permerror for an include:
 *	  or redirect= target (5.2, 6.1); the one record is validated and
 *	  rewritten by spf_record_rewrite() and a syntax error is permerror
 *	  (4.6; libspf2 only warns about many of them);
 *	- a DNS error on a TXT, a, exists or mx lookup is temperror (libspf2
 *	  leaves no result, research cause 1); errors on PTR lookups and on
 *	  the address lookups of PTR names are "not found" (5.5, 7.3);
 *	- the limit of lookup_limit terms that query DNS, counted across
 *	  include: and redirect= (4.6.4; libspf2 restarts the count in each
 *	  include), the void-lookup limit (libspf2 has none), more than 10
 *	  MX names (permerror, 4.6.4); PTR names beyond 10 are dropped from
 *	  the answer (4.6.4; libspf2 would give permerror);
 *	- /0 terms rewritten by spf.c: NAME.spf_cidr0_suffix() is looked up
 *	  as NAME and answered with the client's address when NAME has one.
 *	Which worker lookup belongs to which term is inferred from the
 *	lookup sequence: every TXT lookup after the first is an include: or
 *	redirect=, every MX and PTR lookup a term, an A/AAAA lookup of a name
 *	from the last MX or PTR answer belongs to that term, any other A/AAAA
 *	lookup is an a or exists term. (A %{p} macro's PTR lookup counts as
 *	a term: a conservative over-count.)
 *
 *	An evaluation keeps its identity strings, problem text and lookup
 *	names at their real length (cut where struct spf_outcome cuts
 *	them); the callback gets a struct spf_outcome on the stack.
 *
 *	An evaluation that outlives eval_timeout while it waits for DNS
 *	ends as temperror (its lookup is answered with an error, so libspf2
 *	finishes); one that outlives it while the worker computes means the
 *	worker is stuck, and the worker is killed.
 *	A worker that dies (EOF or a failed send on its socket, a bad
 *	message; then waitpid() on its pid) or is killed
 *	ends every evaluation on it as temperror with
 *	worker_died set and a log line (the callback runs from the event
 *	loop, as every callback does: never inside spfpool_eval() or
 *	spfpool_cancel(), even when the worker is found dead there), and
 *	the worker is replaced, with an
 *	exponential back-off while workers keep dying. Workers are also
 *	replaced after SPFPOOL_EVALS_PER_WORKER evaluations.
 *
 *	Cached results (up to SPFPOOL_CACHE_TTL_MAX seconds) carry the
 *	number of the worker process that computed them. When a worker dies
 *	or misbehaves (a crash, a malformed message, a timeout), its number
 *	is remembered and its results are no longer used: a worker
 *	compromised through libspf2 could have planted answers before it
 *	showed it. Residual risk: a compromised worker that keeps behaving
 *	well is believed until it is recycled (SPFPOOL_EVALS_PER_WORKER)
 *	and its results until they expire; the sandbox (spfworker(3)) is
 *	what bounds what it can do. Past SPFPOOL_TAINTED_MAX dead workers
 *	the whole cache is emptied.
 *
 *	Threads: the pool belongs to the thread that runs its event base,
 *	except spfpool_cached() and spfpool_get_stats(), which may be
 *	called from another thread at the same time: one mutex guards the
 *	result cache and the counters, and nothing else.
 * DIAGNOSTICS
 *	spfpool_new() fails on socketpair/spawn errors. Everything else is an
 *	outcome: temperror or permerror with a short problem text.
 * LIMITS
 *	SPFPOOL_WORKERS_MAX workers; SPFPOOL_QUERIES_MAX DNS queries per
 *	evaluation (the RFC's worst case is 10 mx terms of 10 names each);
 *	SPFPOOL_MX_MAX MX names, SPFPOOL_PTR_MAX PTR names.
 *--*/
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/rcache.h"
#include "shared/spf.h"
#include "shared/spfpool.h"
#include "shared/spfworker.h"

#define SPFPOOL_QUERIES_MAX(lim)	(4 + 12 * (lim))
#define SPFPOOL_MX_MAX		10
#define SPFPOOL_PTR_MAX		10
_Static_assert(SPFPOOL_PTR_MAX <= SPFPOOL_MX_MAX, "pending holds both");
#define SPFPOOL_EVALS_PER_WORKER 20000
#define SPFPOOL_BACKOFF_MAX_MS	10000
#define SPFPOOL_CACHE_MAX	65536	/* results kept (rcache entries) */
#define SPFPOOL_CACHE_TTL_MAX	3600	/* seconds, whatever the DNS TTLs */
#define SPFPOOL_TAINTED_MAX	64	/* dead workers remembered; one more
					 * empties the result cache */
/* Room of the identity strings (each with its NUL): what does not fit
 * is cut, as struct spf_outcome's arrays cut it. */
#define SPFPOOL_CHECKED_LEN	sizeof(((struct spf_outcome *)0)->checked)
#define SPFPOOL_DOMAIN_LEN	sizeof(((struct spf_outcome *)0)->domain)
#define SPFPOOL_SENDER_LEN	(SPF_LOCAL_MAX + SPF_DOMAIN_MAX + 3)
#define SPFPOOL_HELO_LEN	(SPF_DOMAIN_MAX + 3)
#define SPFPOOL_NAME_LEN	(SPF_DOMAIN_MAX + 2)	/* a lookup name kept */

static const struct timeval tv_zero = { 0, 0 };

enum kind { K_TOP, K_INCLUDE, K_A, K_MX, K_MXADDR, K_PTR, K_PTRADDR };
/* ST_RECORD: the pool looks the domain's SPF record up itself, before
 * any worker (see "The record" in the header). */
enum state { ST_RECORD, ST_QUEUED, ST_RUNNING, ST_DONE };

struct worker {
	struct spfpool *pool;
	pid_t	pid;			/* 0: not running */
	int	fd;
	struct event *rev;
	struct event *respawn;
	struct spfpool_eval *slot[SPFW_EVALS_MAX];	/* in flight, by id */
	int	nbusy;
	int	retiring;		/* evals reached the limit: no new ones */
	int	heard;			/* it sent a message */
	unsigned long evals;
	uint32_t gen;			/* this process's number (never 0) */
};

TAILQ_HEAD(evalq, spfpool_eval);

struct spfpool_eval {
	struct spfpool *pool;
	TAILQ_ENTRY(spfpool_eval) entry;
	struct evalq *list;		/* the pool's queue or side list; NULL
					 * on a worker or on none */
	enum state state;
	spfpool_cb cb;			/* NULL once cancelled */
	void	*arg;
	struct netaddr ip;
	/* The outcome, kept small: the strings at their real length. */
	enum spf_result result;
	enum spf_identity identity;
	unsigned queries, voids;
	int	worker_died;
	char	*problem;		/* NULL: none */
	char	*ids;			/* checked, domain, sender, helo: one
					 * allocation, each NUL-terminated */
	const char *checked, *domain;	/* the outcome's, in ids */
	const char *sender, *helo;	/* what the worker gets, in ids */
	struct worker *w;
	unsigned slot;			/* its id on w */
	struct event *timer;		/* eval_timeout, or the deferred callback */
	struct dns_req *dreq;
	int	qtype;
	enum kind kind;
	int	cidr0;
	char	*qname;			/* of the lookup in progress, for
					 * messages; NULL before the first */
	unsigned terms;
	int	txt_seen;
	char	**pending;		/* SPFPOOL_MX_MAX names, the array
					 * allocated on first use */
	int	npending;
	enum kind pending_kind;
	int	forced;
	uint32_t ttl;			/* least TTL of the answers used so far */
	int	macros;			/* a record had a macro: %{...} */
	char	*record;		/* queued: the rewritten record the
					 * worker gets with the EVAL */
	int	uncacheable;		/* a DNS error, or a cancel */
};

/* A cached result (rcache value); problem text follows. */
struct cached {
	uint8_t	result;			/* enum spf_result */
	uint8_t	macros;			/* the result depends on sender and HELO */
	uint16_t queries, voids;	/* (clamped) */
	uint32_t gen;			/* the worker that computed it; 0 none */
};

struct spfpool {
	struct event_base *base;
	struct dns *dns;
	struct spfpool_opts opts;
	char	receiver[SPF_DOMAIN_MAX + 1];
	struct worker w[SPFPOOL_WORKERS_MAX];
	struct evalq queue;		/* waiting for a worker */
	struct evalq side;		/* ST_RECORD, and ST_DONE waiting for
					 * their callback */
	unsigned fails;			/* consecutive worker deaths */
	int	own_copy;		/* SPFW_PROGRAM refused to serve: spawn
					 * copies of the running program */
	/* lock guards cache and stats: spfpool_cached() and
	 * spfpool_get_stats() may run on another thread. */
	pthread_mutex_t lock;
	struct rcache *cache;		/* results by client, domain, limits */
	struct spfpool_stats stats;
	uint32_t next_gen;		/* the next worker process's number */
	/* Workers that died or misbehaved: their cached results are not
	 * used (under lock). */
	uint32_t tainted[SPFPOOL_TAINTED_MAX];
	int	ntainted;
};

/* One more in a counter of p->stats. */
#define COUNT(p, field) do {					\
	pthread_mutex_lock(&(p)->lock);				\
	(p)->stats.field++;					\
	pthread_mutex_unlock(&(p)->lock);			\
} while (0)

static void dispatch(struct spfpool *);
static void worker_died(struct worker *, const char *);
static void process_answer(struct spfpool_eval *, const struct dns_answer *);
static void reply_status(struct spfpool_eval *, enum spfw_status);

/* ---- workers ------------------------------------------------------- */

static void worker_read(evutil_socket_t, short, void *);

static int
spawn(struct worker *w, char *err, size_t errlen)
{
	int	sv[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = spfworker_spawn(sv[1], w->pool->receiver,
	    w->pool->own_copy, err, errlen)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w->pid = pid;
	w->fd = sv[0];
	w->gen = ++w->pool->next_gen ? w->pool->next_gen : ++w->pool->next_gen;
	w->evals = 0;
	w->nbusy = 0;
	w->retiring = 0;
	w->heard = 0;
	memset(w->slot, 0, sizeof(w->slot));
	w->rev = event_new(w->pool->base, w->fd, EV_READ | EV_PERSIST,
	    worker_read, w);
	event_add(w->rev, NULL);
	return 0;
}

/* Kill and collect w; returns its wait status (0 if there was none). */
static int
reap(struct worker *w)
{
	int	st = 0;

	if (w->pid == 0)
		return 0;
	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	event_free(w->rev);
	w->rev = NULL;
	close(w->fd);
	w->fd = -1;
	w->pid = 0;
	return st;
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char	err[128];

	(void)fd;
	(void)what;
	if (w->pid != 0)
		return;
	if (spawn(w, err, sizeof(err)) < 0) {
		struct timeval tv = { 1, 0 };

		log_err("spf: cannot start a worker: %s", err);
		evtimer_add(w->respawn, &tv);
		return;
	}
	dispatch(w->pool);
}

static void
schedule_respawn(struct worker *w)
{
	struct spfpool *p = w->pool;
	unsigned long ms = 0;
	struct timeval tv;

	if (p->fails > 3) {
		unsigned shift = p->fails - 4 > 10 ? 10 : p->fails - 4;

		ms = 100UL << shift;
		if (ms > SPFPOOL_BACKOFF_MAX_MS)
			ms = SPFPOOL_BACKOFF_MAX_MS;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(w->respawn, &tv);
}

/* ---- the result cache ------------------------------------------------ */

#define CACHE_KEY_LEN	(4 + 17 + SPF_DOMAIN_MAX + 2 + \
	    SPFPOOL_SENDER_LEN + SPFPOOL_HELO_LEN)

/* The limits, the client and the domain; with full, also the sender and
 * HELO name (the inputs of macros). */
static size_t
cache_key(const struct spfpool_eval *e, int full, unsigned char *k)
{
	const struct spfpool_opts *o = &e->pool->opts;
	size_t	n = 0, i;

	k[n++] = (unsigned char)(o->lookup_limit >> 8);
	k[n++] = (unsigned char)o->lookup_limit;
	k[n++] = (unsigned char)(o->void_limit >> 8);
	k[n++] = (unsigned char)o->void_limit;
	k[n++] = e->ip.family == AF_INET ? 4 : 6;
	memcpy(k + n, e->ip.a, 16);
	n += 16;
	for (i = 0; e->domain[i] != '\0' && i <= SPF_DOMAIN_MAX; i++) {
		unsigned char ch = (unsigned char)e->domain[i];

		k[n++] = ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
	}
	if (full) {
		size_t	sl = strlen(e->sender) + 1, hl = strlen(e->helo);

		k[n++] = '\0';
		memcpy(k + n, e->sender, sl);
		memcpy(k + n + sl, e->helo, hl);
		n += sl + hl;
	}
	return n;
}

static void
vset_problem(struct spfpool_eval *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Keep text[0, len) as e's problem, cut to SPF_TEXT_MAX - 1 bytes; none
 * when empty. */
static void
keep_problem(struct spfpool_eval *e, const char *text, size_t len)
{
	free(e->problem);
	e->problem = len == 0 ? NULL : xstrndup(text,
	    len < SPF_TEXT_MAX ? len : SPF_TEXT_MAX - 1);
}

static void
vset_problem(struct spfpool_eval *e, const char *fmt, va_list ap)
{
	char	buf[SPF_TEXT_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	keep_problem(e, buf, strlen(buf));
}

/* The problem text of the outcome, cut to SPF_TEXT_MAX - 1 bytes. */
static void
set_problem(struct spfpool_eval *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_problem(struct spfpool_eval *e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vset_problem(e, fmt, ap);
	va_end(ap);
}

/* gen is a worker that died or misbehaved; under p->lock. */
static int
tainted(const struct spfpool *p, uint32_t gen)
{
	int i;

	for (i = 0; i < p->ntainted; i++)
		if (p->tainted[i] == gen)
			return 1;
	return 0;
}

/* Results w computed are no longer believed: it may have been
 * compromised (a crash in libspf2) before it showed it. */
static void
taint(struct worker *w)
{
	struct spfpool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	if (p->ntainted == SPFPOOL_TAINTED_MAX) {
		rcache_clear(p->cache);
		p->ntainted = 0;
	}
	p->tainted[p->ntainted++] = w->gen;
	pthread_mutex_unlock(&p->lock);
}

/* A result the cache holds for e's query: fills e's outcome, counts the
 * hit, returns 1. */
static int
cache_lookup(struct spfpool_eval *e)
{
	unsigned char key[CACHE_KEY_LEN];
	const unsigned char *v;
	struct cached c;
	size_t	klen, vlen;
	time_t	now = time(NULL);
	int	hit = 0;

	klen = cache_key(e, 0, key);
	pthread_mutex_lock(&e->pool->lock);
	v = rcache_get(e->pool->cache, key, klen, now, &vlen);
	if (v == NULL || vlen < sizeof(c))
		goto out;
	memcpy(&c, v, sizeof(c));
	if (c.macros) {
		klen = cache_key(e, 1, key);
		v = rcache_get(e->pool->cache, key, klen, now, &vlen);
		if (v == NULL || vlen < sizeof(c))
			goto out;
		memcpy(&c, v, sizeof(c));
	}
	if (c.gen != 0 && tainted(e->pool, c.gen))
		goto out;		/* from a worker that later misbehaved */
	e->result = (enum spf_result)c.result;
	e->queries = c.queries;
	e->voids = c.voids;
	keep_problem(e, (const char *)v + sizeof(c), vlen - sizeof(c));
	e->pool->stats.cache_hits++;
	hit = 1;
out:
	pthread_mutex_unlock(&e->pool->lock);
	return hit;
}

/* Keep e's result while every DNS answer it used may be reused; never a
 * temperror, a cancelled or a died evaluation. */
static void
cache_store(struct spfpool_eval *e)
{
	unsigned char key[CACHE_KEY_LEN], val[sizeof(struct cached) +
	    SPF_TEXT_MAX];
	struct cached c;
	size_t	klen, plen = e->problem != NULL ? strlen(e->problem) : 0;
	time_t	now = time(NULL);

	if (e->uncacheable || e->cb == NULL || e->worker_died ||
	    e->result == SPF_RES_TEMPERROR || e->ttl == 0)
		return;
	memset(&c, 0, sizeof(c));
	c.result = (uint8_t)e->result;
	c.queries = e->queries > UINT16_MAX ? UINT16_MAX : (uint16_t)e->queries;
	c.voids = e->voids > UINT16_MAX ? UINT16_MAX : (uint16_t)e->voids;
	c.macros = e->macros != 0;
	c.gen = e->w != NULL ? e->w->gen : 0;
	memcpy(val, &c, sizeof(c));
	if (plen > 0)
		memcpy(val + sizeof(c), e->problem, plen);
	klen = cache_key(e, 0, key);
	pthread_mutex_lock(&e->pool->lock);
	rcache_put(e->pool->cache, key, klen, val, sizeof(c) + plen, now,
	    now + (time_t)e->ttl);
	if (e->macros) {
		klen = cache_key(e, 1, key);
		rcache_put(e->pool->cache, key, klen, val, sizeof(c) + plen,
		    now, now + (time_t)e->ttl);
	}
	pthread_mutex_unlock(&e->pool->lock);
}

/* ---- evaluations ------------------------------------------------------ */

/* Put e on list (NULL: on none), off the one it was on. */
static void
listed(struct spfpool_eval *e, struct evalq *list)
{
	if (e->list != NULL)
		TAILQ_REMOVE(e->list, e, entry);
	e->list = list;
	if (list != NULL)
		TAILQ_INSERT_TAIL(list, e, entry);
}

/* e's outcome is decided; its callback runs from the loop, never from
 * here: the callers may be inside spfpool_eval() or spfpool_cancel(),
 * or still hold e. */
static void
finish_later(struct spfpool_eval *e)
{
	e->state = ST_DONE;
	listed(e, &e->pool->side);
	evtimer_del(e->timer);
	evtimer_add(e->timer, &tv_zero);
}

/* Forget the names of the last MX or PTR answer. */
static void
pending_clear(struct spfpool_eval *e)
{
	int	i;

	for (i = 0; i < e->npending; i++) {
		free(e->pending[i]);
		e->pending[i] = NULL;
	}
	e->npending = 0;
}

/* The strings of e's outcome and query (spfpool_cached() has them on
 * the stack). */
static void
eval_strings_free(struct spfpool_eval *e)
{
	pending_clear(e);
	free(e->pending);
	free(e->qname);
	free(e->problem);
	free(e->ids);
	e->pending = NULL;
	e->qname = e->problem = e->ids = NULL;
}

static void
eval_free(struct spfpool_eval *e)
{
	listed(e, NULL);
	free(e->record);
	if (e->dreq != NULL)
		dns_cancel(e->dreq);
	if (e->timer != NULL)
		event_free(e->timer);
	eval_strings_free(e);
	free(e);
}

/* The outcome as the API gives it. */
static void
outcome_fill(const struct spfpool_eval *e, struct spf_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = e->result;
	out->identity = e->identity;
	strlcpy(out->checked, e->checked != NULL ? e->checked : "",
	    sizeof(out->checked));
	strlcpy(out->domain, e->domain != NULL ? e->domain : "",
	    sizeof(out->domain));
	strlcpy(out->problem, e->problem != NULL ? e->problem : "",
	    sizeof(out->problem));
	out->queries = e->queries;
	out->voids = e->voids;
	out->worker_died = e->worker_died;
}

static void
deliver(struct spfpool_eval *e)
{
	spfpool_cb cb = e->cb;
	void	*arg = e->arg;
	struct spf_outcome out;

	outcome_fill(e, &out);
	eval_free(e);
	if (cb != NULL)
		cb(arg, &out);
}

static void
force(struct spfpool_eval *e, enum spf_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
force(struct spfpool_eval *e, enum spf_result r, const char *fmt, ...)
{
	va_list	ap;

	if (e->forced)
		return;
	e->forced = 1;
	e->result = r;
	va_start(ap, fmt);
	vset_problem(e, fmt, ap);
	va_end(ap);
	if (r == SPF_RES_PERMERROR && e->pool != NULL &&
	    e->problem != NULL && strstr(e->problem, "limit") != NULL)
		COUNT(e->pool, limit_violations);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spfpool_eval *e = arg;

	(void)fd;
	(void)what;
	if (e->state == ST_DONE) {
		deliver(e);
		return;
	}
	if (e->state == ST_RECORD) {
		if (e->dreq != NULL) {
			dns_cancel(e->dreq);
			e->dreq = NULL;
		}
		force(e, SPF_RES_TEMPERROR, "SPF evaluation timed out");
		finish_later(e);
		return;
	}
	if (e->state != ST_RUNNING || e->w == NULL)
		return;
	if (e->dreq != NULL) {
		/* Waiting for DNS: end this evaluation, not the worker. */
		dns_cancel(e->dreq);
		e->dreq = NULL;
		force(e, SPF_RES_TEMPERROR, "SPF evaluation timed out");
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	worker_died(e->w, "timed out");	/* it is stuck computing */
}

static void
send_msg(struct spfpool_eval *e, struct spfw_msg *m)
{
	struct worker *w = e->w;

	spfw_set_id(m, e->slot);
	if (spfw_finish(m) < 0 ||
	    send(w->fd, m->b, m->len, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)m->len)
		worker_died(w, "unreachable");
}

static void
reply_status(struct spfpool_eval *e, enum spfw_status st)
{
	struct spfw_msg m;

	if (e->state == ST_RECORD) {
		/* The record decided the result (every caller forced it
		 * first): no worker needed. */
		cache_store(e);
		finish_later(e);
		return;
	}
	spfw_begin(&m, SPFW_ANSWER);
	spfw_put_u32(&m, st);
	spfw_put_u16(&m, 0);
	send_msg(e, &m);
}

static int
start(struct worker *w, struct spfpool_eval *e)
{
	struct spfw_msg m;
	struct timeval tv = { e->pool->opts.eval_timeout, 0 };
	unsigned i;

	for (i = 0; w->slot[i] != NULL; i++)
		;
	e->state = ST_RUNNING;
	e->w = w;
	e->slot = i;
	w->slot[i] = e;
	w->nbusy++;
	w->evals++;
	COUNT(e->pool, evals);
	spfw_begin(&m, SPFW_EVAL);
	spfw_put_u8(&m, e->ip.family == AF_INET ? 4 : 6);
	spfw_put_bytes(&m, e->ip.a, 16);
	spfw_put_str(&m, e->helo, strlen(e->helo));
	spfw_put_str(&m, e->sender, strlen(e->sender));
	if (e->record != NULL) {
		spfw_put_str(&m, e->record, strlen(e->record));
		free(e->record);
		e->record = NULL;
	}
	if (!evtimer_pending(e->timer, NULL))
		evtimer_add(e->timer, &tv);
	send_msg(e, &m);
	return 0;
}

/* Queued evaluations go to the least busy worker with a free slot. */
static void
dispatch(struct spfpool *p)
{
	struct spfpool_eval *e;
	struct worker *w, *best;
	int	i;

	while ((e = TAILQ_FIRST(&p->queue)) != NULL) {
		best = NULL;
		for (i = 0; i < p->opts.workers; i++) {
			w = &p->w[i];
			if (w->pid == 0 || w->retiring ||
			    w->nbusy >= SPFW_EVALS_MAX)
				continue;
			if (best == NULL || w->nbusy < best->nbusy)
				best = w;
		}
		if (best == NULL)
			return;
		listed(e, NULL);
		start(best, e);
	}
}

/* An evaluation left w (result or death of the worker). */
static void
slot_free(struct worker *w, struct spfpool_eval *e)
{
	w->slot[e->slot] = NULL;
	w->nbusy--;
	e->w = NULL;
}

/* Every evaluation on w ends as temperror; w is replaced. */
static void
worker_died(struct worker *w, const char *why)
{
	struct spfpool *p = w->pool;
	struct spfpool_eval *e;
	char	how[48], dom[LOG_ESCAPE_MAX * 4 + 8];
	unsigned i, lost = 0;
	int	st;

	st = reap(w);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2 && !w->heard &&
	    !p->own_copy) {
		/* A worker program of another version (or one that cannot
		 * start): use copies of ourselves from now on. */
		p->own_copy = 1;
		log_warn("spf: %s did not start (another version?); "
		    "starting copies of this program instead", SPFW_PROGRAM);
	}
	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), ", signal %d", WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st))
		snprintf(how, sizeof(how), ", exit status %d", WEXITSTATUS(st));
	else
		how[0] = '\0';
	COUNT(p, worker_restarts);
	taint(w);
	p->fails++;
	schedule_respawn(w);
	for (i = 0; i < SPFW_EVALS_MAX; i++) {
		if ((e = w->slot[i]) == NULL)
			continue;
		slot_free(w, e);
		if (e->dreq != NULL) {
			dns_cancel(e->dreq);
			e->dreq = NULL;
		}
		e->result = SPF_RES_TEMPERROR;
		e->worker_died = 1;
		set_problem(e, "SPF evaluation %s", strcmp(why,
		    "timed out") == 0 ? "timed out" : "failed (worker died)");
		if (lost++ == 0)
			log_warn("spf: worker %s%s while checking domain %s "
			    "(queries=%u); answering temperror", why, how,
			    log_escape(e->domain, LOG_ESCAPE_MAX, dom,
			    sizeof(dom)), e->queries);
		/* Deliver from the loop, never from here: worker_died()
		 * also runs inside spfpool_eval() (start() on a worker that
		 * died unnoticed), spfpool_cancel() and the lookup
		 * handlers, whose callers still hold e. */
		finish_later(e);
	}
	if (lost == 0)
		log_warn("spf: idle worker %s%s; replacing it", why, how);
	else if (lost > 1)
		log_warn("spf: %u evaluations on that worker answer temperror",
		    lost);
	dispatch(p);
}

/* ---- the DNS proxy ------------------------------------------------- */

/* The length of name src without its trailing dot, cut to fit room
 * bytes with a NUL. */
static size_t
name_len(const char *src, size_t room)
{
	size_t	n = strlen(src);

	if (n > 0 && src[n - 1] == '.')
		n--;
	return n < room ? n : room - 1;
}

static void
name_copy(char *dst, size_t dlen, const char *src)
{
	size_t	n = name_len(src, dlen);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* name_copy() into an allocation of the name's own length. */
static char *
name_dup(const char *src)
{
	return xstrndup(src, name_len(src, SPFPOOL_NAME_LEN));
}

static void
answer_records(struct spfpool_eval *e, const struct dns_answer *a, int max)
{
	struct spfw_msg m;
	int	i, n = 0;
	size_t	countpos;

	spfw_begin(&m, SPFW_ANSWER);
	spfw_put_u32(&m, SPFW_ST_OK);
	countpos = m.len;
	spfw_put_u16(&m, 0);
	for (i = 0; i < a->nrr && n < max && n < SPFW_RR_MAX; i++) {
		const struct dns_rr *rr = &a->rr[i];

		if (rr->type != e->qtype)
			continue;
		if (e->qtype == DNS_T_A || e->qtype == DNS_T_AAAA) {
			if (rr->len != (e->qtype == DNS_T_A ? 4u : 16u))
				continue;
			if (e->cidr0) {
				/* any address: the client's own one */
				spfw_put_str(&m, e->ip.a, rr->len);
				n = 1;
				break;
			}
			spfw_put_str(&m, rr->data, rr->len);
		} else {
			char	name[SPF_DOMAIN_MAX + 3 + SPF_CIDR0_SUFFIX_LEN];

			name_copy(name, SPF_DOMAIN_MAX + 2, (const char *)rr->data);
			if (strlen(name) != strlen((const char *)rr->data) &&
			    strlen(name) + 1 != strlen((const char *)rr->data))
				continue;
			if (e->kind == K_MX && e->cidr0 && name[0] != '\0')
				strcat(strcat(name, "."), spf_cidr0_suffix());
			spfw_put_str(&m, name, strlen(name));
		}
		n++;
	}
	m.b[countpos] = (unsigned char)(n >> 8);
	m.b[countpos + 1] = (unsigned char)n;
	send_msg(e, &m);
}

static void
answer_txt(struct spfpool_eval *e, const char *rec)
{
	struct spfw_msg m;

	if (e->state == ST_RECORD) {
		/* The worker gets the record with the EVAL. */
		e->record = xstrdup(rec);
		e->state = ST_QUEUED;
		listed(e, &e->pool->queue);
		COUNT(e->pool, queued);
		dispatch(e->pool);
		return;
	}

	spfw_begin(&m, SPFW_ANSWER);
	spfw_put_u32(&m, SPFW_ST_OK);
	spfw_put_u16(&m, 1);
	spfw_put_str(&m, rec, strlen(rec));
	send_msg(e, &m);
}

static int
is_void(const struct dns_answer *a)
{
	return a->status == DNS_NXDOMAIN || a->status == DNS_NODATA ||
	    a->status == DNS_PERMFAIL || (a->status == DNS_OK && a->nrr == 0);
}

static enum spfw_status
void_status(const struct dns_answer *a)
{
	return a->status == DNS_NODATA || a->status == DNS_OK ?
	    SPFW_ST_NODATA : SPFW_ST_NXDOMAIN;
}

static void
count_void(struct spfpool_eval *e)
{
	e->voids++;
	if ((int)e->voids > e->pool->opts.void_limit)
		force(e, SPF_RES_PERMERROR, "void lookup limit of %d exceeded",
		    e->pool->opts.void_limit);
}

static void
answer_spf(struct spfpool_eval *e, const struct dns_answer *a)
{
	char	rec[SPF_REWRITE_MAX], why[96];
	const struct dns_rr *found = NULL;
	int	i, n = 0;

	if (a->status == DNS_TEMPFAIL) {
		force(e, SPF_RES_TEMPERROR, "DNS error looking up the SPF "
		    "record of %.100s", e->qname);
		reply_status(e, SPFW_ST_TRYAGAIN);
		return;
	}
	for (i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		if (a->rr[i].type != DNS_T_TXT ||
		    !spf_record_is_v1((const char *)a->rr[i].data, a->rr[i].len))
			continue;
		found = &a->rr[i];
		n++;
	}
	if (n > 1) {
		force(e, SPF_RES_PERMERROR, "%.100s has several SPF records",
		    e->qname);
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	if (n == 0) {
		if (e->kind == K_TOP)
			force(e, SPF_RES_NONE, "%s", "");
		else
			force(e, SPF_RES_PERMERROR, "no SPF record at %.100s "
			    "(include or redirect target)", e->qname);
		reply_status(e, void_status(a));
		return;
	}
	if (found->cut) {
		force(e, SPF_RES_PERMERROR, "the SPF record of %.100s is "
		    "longer than %d bytes", e->qname, DNS_TXT_MAX);
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	if (memchr(found->data, '%', found->len) != NULL)
		e->macros = 1;
	if (spf_record_rewrite((const char *)found->data, found->len,
	    e->ip.family, rec, sizeof(rec), why, sizeof(why)) < 0) {
		force(e, SPF_RES_PERMERROR, "SPF record of %.100s: %s",
		    e->qname, why);
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	answer_txt(e, rec);
}

/* The names of the last MX or PTR answer: only evaluations with such
 * terms pay for the room. */
static void
pending_alloc(struct spfpool_eval *e)
{
	pending_clear(e);
	if (e->pending == NULL)
		e->pending = xcalloc(SPFPOOL_MX_MAX, sizeof(*e->pending));
}

static void
process_answer(struct spfpool_eval *e, const struct dns_answer *a)
{
	int	i;

	if (e->forced || e->cb == NULL) {
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	switch (e->kind) {
	case K_TOP:
	case K_INCLUDE:
		answer_spf(e, a);
		return;
	case K_A:
	case K_MX:
		if (a->status == DNS_TEMPFAIL) {
			force(e, SPF_RES_TEMPERROR, "DNS error looking up "
			    "%.100s", e->qname);
			reply_status(e, SPFW_ST_TRYAGAIN);
			return;
		}
		if (is_void(a)) {
			count_void(e);
			reply_status(e, e->forced ? SPFW_ST_NORECOVERY :
			    void_status(a));
			return;
		}
		if (e->kind == K_MX) {
			if (a->nrr > SPFPOOL_MX_MAX) {
				force(e, SPF_RES_PERMERROR, "%.100s has more "
				    "than %d MX names (limit)", e->qname,
				    SPFPOOL_MX_MAX);
				reply_status(e, SPFW_ST_NORECOVERY);
				return;
			}
			pending_alloc(e);
			e->pending_kind = K_MXADDR;
			for (i = 0; i < a->nrr; i++)
				e->pending[e->npending++] =
				    name_dup((const char *)a->rr[i].data);
		}
		answer_records(e, a, SPFW_RR_MAX);
		return;
	case K_MXADDR:
		if (a->status == DNS_TEMPFAIL) {
			force(e, SPF_RES_TEMPERROR, "DNS error looking up "
			    "%.100s", e->qname);
			reply_status(e, SPFW_ST_TRYAGAIN);
			return;
		}
		break;
	case K_PTR:
		if (a->status == DNS_OK && a->nrr > 0) {
			/* RFC 7208 4.6.4: names beyond 10 are ignored */
			pending_alloc(e);
			e->pending_kind = K_PTRADDR;
			for (i = 0; i < a->nrr && i < SPFPOOL_PTR_MAX; i++)
				e->pending[e->npending++] =
				    name_dup((const char *)a->rr[i].data);
			answer_records(e, a, SPFPOOL_PTR_MAX);
			return;
		}
		/* RFC 7208 5.5: an error means no match, not temperror */
		reply_status(e, a->status == DNS_TEMPFAIL ? SPFW_ST_NODATA :
		    void_status(a));
		return;
	case K_PTRADDR:
		if (a->status == DNS_TEMPFAIL) {
			/* RFC 7208 5.5: skip this name (ptr-cname-loop) */
			reply_status(e, SPFW_ST_NODATA);
			return;
		}
		break;
	}
	if (a->status == DNS_OK && a->nrr > 0)
		answer_records(e, a, SPFW_RR_MAX);
	else
		reply_status(e, void_status(a));
}

static void
dns_done(void *arg, const struct dns_answer *a)
{
	struct spfpool_eval *e = arg;

	e->dreq = NULL;
	if (a->status == DNS_TEMPFAIL)
		e->uncacheable = 1;
	else if (a->ttl < e->ttl)
		e->ttl = a->ttl;
	process_answer(e, a);
}

static int
take_pending(struct spfpool_eval *e, const char *name)
{
	int	i;

	for (i = 0; i < e->npending; i++) {
		if (strcasecmp(e->pending[i], name) == 0) {
			/* Move the last one into the hole. */
			free(e->pending[i]);
			e->pending[i] = e->pending[e->npending - 1];
			e->pending[--e->npending] = NULL;
			return 1;
		}
	}
	return 0;
}

static void
handle_lookup(struct spfpool_eval *e, int type, const char *rawname)
{
	struct spfpool *p = e->pool;
	size_t	n, sl = SPF_CIDR0_SUFFIX_LEN;
	char	name[SPFW_NAME_MAX + 1];
	int	term = 0;

	if (e->forced || e->cb == NULL) {
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	if (type == DNS_T_SPF) {		/* R8: never on the wire */
		reply_status(e, SPFW_ST_NODATA);
		return;
	}
	strlcpy(name, rawname, sizeof(name));
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	e->cidr0 = 0;
	if (n > sl + 1 && name[n - sl - 1] == '.' &&
	    strcasecmp(name + n - sl, spf_cidr0_suffix()) == 0 &&
	    (type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_MX)) {
		e->cidr0 = 1;
		name[n - sl - 1] = '\0';
	}
	e->qtype = type;
	switch (type) {
	case DNS_T_TXT:
		e->kind = e->txt_seen ? K_INCLUDE : K_TOP;
		term = e->txt_seen;
		e->txt_seen = 1;
		pending_clear(e);
		break;
	case DNS_T_MX:
		e->kind = K_MX;
		term = 1;
		pending_clear(e);
		break;
	case DNS_T_PTR:
		e->kind = K_PTR;
		term = 1;
		pending_clear(e);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		if (take_pending(e, name))
			e->kind = e->pending_kind;
		else {
			e->kind = K_A;
			term = 1;
			pending_clear(e);
		}
		break;
	default:
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	free(e->qname);
	e->qname = name_dup(name);
	if (term && ++e->terms > (unsigned)p->opts.lookup_limit) {
		force(e, SPF_RES_PERMERROR, "more than %d DNS-querying terms "
		    "(limit)", p->opts.lookup_limit);
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	if (!spf_name_ok(name) || strlen(name) > SPF_DOMAIN_MAX) {
		/* R9: malformed or over-long names are not sent */
		struct dns_answer nx;

		memset(&nx, 0, sizeof(nx));
		nx.status = DNS_NXDOMAIN;
		process_answer(e, &nx);
		return;
	}
	if (e->queries >= SPFPOOL_QUERIES_MAX((unsigned)p->opts.lookup_limit)) {
		force(e, SPF_RES_PERMERROR, "DNS query limit reached");
		reply_status(e, SPFW_ST_NORECOVERY);
		return;
	}
	e->queries++;
	e->dreq = dns_query(p->dns, name, (enum dns_type)type, dns_done, e);
	if (e->dreq == NULL) {
		force(e, SPF_RES_TEMPERROR, "DNS unavailable");
		reply_status(e, SPFW_ST_TRYAGAIN);
	}
}

static void
worker_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct spfpool_eval *e;
	static struct spfw_msg m;
	struct spfw_rd rd;
	char	name[SPFW_NAME_MAX + 1];
	ssize_t	n;
	int	type;

	(void)what;
	n = recv(fd, m.b, sizeof(m.b), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		worker_died(w, n == 0 ? "exited" : "failed");
		return;
	}
	if ((size_t)n > sizeof(m.b)) {
		worker_died(w, "sent an oversized message");
		return;
	}
	m.len = (size_t)n;
	type = spfw_rd_begin(&rd, m.b, m.len);
	if (type < 0 || rd.id >= SPFW_EVALS_MAX ||
	    (e = w->slot[rd.id]) == NULL || e->dreq != NULL) {
		worker_died(w, "sent an unexpected message");
		return;
	}
	w->heard = 1;
	if (type == SPFW_LOOKUP) {
		int	qtype = spfw_get_u16(&rd);

		spfw_get_str(&rd, name, sizeof(name));
		if (spfw_rd_end(&rd) < 0) {
			worker_died(w, "sent a malformed lookup");
			return;
		}
		handle_lookup(e, qtype, name);
		return;
	}
	if (type == SPFW_RESULT) {
		int	res = (int)spfw_get_u32(&rd);
		int	err = (int)spfw_get_u32(&rd);

		if (spfw_rd_end(&rd) < 0) {
			worker_died(w, "sent a malformed result");
			return;
		}
		if (!e->forced) {
			e->result = spf_result_map(res, err);
			if (e->result == SPF_RES_PERMERROR)
				set_problem(e, "SPF record error (libspf2 "
				    "code %d)", err);
			else if (e->result == SPF_RES_TEMPERROR)
				set_problem(e, "DNS error (libspf2 code %d)",
				    err);
		}
		w->pool->fails = 0;
		cache_store(e);
		slot_free(w, e);
		e->state = ST_DONE;
		evtimer_del(e->timer);
		if (w->evals >= SPFPOOL_EVALS_PER_WORKER)
			w->retiring = 1;
		if (w->retiring && w->nbusy == 0) {
			reap(w);
			evtimer_add(w->respawn, &tv_zero);
		}
		deliver(e);
		dispatch(w->pool);
		return;
	}
	worker_died(w, "sent an unknown message");
}

/* ---- API ----------------------------------------------------------- */

struct spfpool *
spfpool_new(struct event_base *base, struct dns *dns,
    const struct spfpool_opts *opts, char *err, size_t errlen)
{
	struct spfpool *p;
	int	i;

	if (opts->workers < 1 || opts->workers > SPFPOOL_WORKERS_MAX) {
		snprintf(err, errlen, "workers must be 1..%d",
		    SPFPOOL_WORKERS_MAX);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->dns = dns;
	p->opts = *opts;
	if (p->opts.lookup_limit <= 0)
		p->opts.lookup_limit = 10;
	if (p->opts.void_limit < 0)
		p->opts.void_limit = 2;
	if (p->opts.eval_timeout <= 0)
		p->opts.eval_timeout = 20;
	snprintf(p->receiver, sizeof(p->receiver), "%s",
	    opts->receiver != NULL ? opts->receiver : "");
	p->opts.receiver = p->receiver;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->side);
	p->cache = rcache_new_hashed(SPFPOOL_CACHE_MAX);
	pthread_mutex_init(&p->lock, NULL);
	for (i = 0; i < SPFPOOL_WORKERS_MAX; i++) {
		p->w[i].pool = p;
		p->w[i].fd = -1;
	}
	for (i = 0; i < p->opts.workers; i++) {
		p->w[i].respawn = evtimer_new(base, respawn_cb, &p->w[i]);
		if (spawn(&p->w[i], err, errlen) < 0) {
			spfpool_free(p);
			return NULL;
		}
	}
	return p;
}

/* e's identity strings in one allocation of their real length. */
static void
ids_keep(struct spfpool_eval *e, const char *checked, const char *domain,
    const char *sender, const char *helo)
{
	size_t	cl = strlen(checked) + 1, dl = strlen(domain) + 1;
	size_t	sl = strlen(sender) + 1, hl = strlen(helo) + 1;
	char	*p;

	free(e->ids);
	p = e->ids = xmalloc(cl + dl + sl + hl);
	e->checked = memcpy(p, checked, cl);
	e->domain = memcpy(p += cl, domain, dl);
	e->sender = memcpy(p += dl, sender, sl);
	e->helo = memcpy(p + sl, helo, hl);
}

/* local[0, llen) "@" dom into out, cut to outlen - 1 bytes as snprintf()
 * would cut it. */
static void
join_at(char *out, size_t outlen, const char *local, size_t llen,
    const char *dom)
{
	size_t	dl = strlen(dom), n = 0;

	if (outlen == 0)
		return;
	if (llen > outlen - 1)
		llen = outlen - 1;
	memcpy(out, local, llen);
	n = llen;
	if (n < outlen - 1)
		out[n++] = '@';
	if (dl > outlen - 1 - n)
		dl = outlen - 1 - n;
	memcpy(out + n, dom, dl);
	out[n + dl] = '\0';
}

/* RFC 7208 4.3 and 2.4: the domain and the sender libspf2 gets. On
 * -1 (no usable identity) only the outcome's strings are set. */
static int
identity(struct spfpool_eval *e, const struct spf_query *q)
{
	const char *helo = q->helo != NULL ? q->helo : "";
	const char *sender = q->sender != NULL ? q->sender : "";
	const char *at, *local = "postmaster", *dom;
	char	checked[SPFPOOL_CHECKED_LEN], domain[SPFPOOL_DOMAIN_LEN];
	char	snd[SPFPOOL_SENDER_LEN], h[SPFPOOL_HELO_LEN];
	size_t	llen = 10, i;

	if (q->identity == SPF_ID_HELO || sender[0] == '\0') {
		dom = helo;
		if (q->identity == SPF_ID_HELO)
			strlcpy(checked, helo, sizeof(checked));
		else
			join_at(checked, sizeof(checked), "postmaster", 10,
			    helo);
	} else {
		strlcpy(checked, sender, sizeof(checked));
		if ((at = strrchr(sender, '@')) != NULL) {
			dom = at + 1;
			if (at > sender) {
				local = sender;
				llen = (size_t)(at - sender);
			}
		} else
			dom = sender;
	}
	strlcpy(domain, dom, sizeof(domain));
	snd[0] = h[0] = '\0';
	/* R10: the local part feeds %{l} and %{s} */
	if (!spf_domain_ok(dom) || llen > SPF_LOCAL_MAX)
		goto bad;
	for (i = 0; i < llen; i++)
		if ((unsigned char)local[i] < 0x20 ||
		    (unsigned char)local[i] > 0x7e)
			goto bad;
	join_at(snd, sizeof(snd), local, llen, dom);
	/* The HELO name only feeds %{h}: pass it when it is printable. */
	if (strlen(helo) <= SPF_DOMAIN_MAX) {
		for (i = 0; helo[i] != '\0'; i++)
			if ((unsigned char)helo[i] < 0x20 ||
			    (unsigned char)helo[i] > 0x7e)
				break;
		if (helo[i] == '\0')
			strlcpy(h, helo, sizeof(h));
	}
	ids_keep(e, checked, domain, snd, h);
	return 0;
bad:
	ids_keep(e, checked, domain, "", "");
	return -1;
}

/* RFC 7208 5.6 / research cause 8: ::ffff:a.b.c.d is IPv4 */
static void
unmap(struct netaddr *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (ip->family == AF_INET6 && memcmp(ip->a, mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = AF_INET;
	}
}

int
spfpool_cached(struct spfpool *p, const struct spf_query *q,
    struct spf_outcome *out)
{
	struct spfpool_eval e;
	int	hit;

	memset(&e, 0, sizeof(e));
	e.pool = p;
	e.ip = q->ip;
	unmap(&e.ip);
	e.identity = q->identity;
	hit = identity(&e, q) == 0 && cache_lookup(&e);
	if (hit)
		outcome_fill(&e, out);
	eval_strings_free(&e);
	return hit;
}

struct spfpool_eval *
spfpool_eval(struct spfpool *p, const struct spf_query *q, spfpool_cb cb,
    void *arg)
{
	struct spfpool_eval *e = xcalloc(1, sizeof(*e));
	struct timeval tv = { p->opts.eval_timeout, 0 };

	e->pool = p;
	e->cb = cb;
	e->arg = arg;
	e->ip = q->ip;
	unmap(&e->ip);
	e->identity = q->identity;
	e->result = SPF_RES_TEMPERROR;
	e->ttl = SPFPOOL_CACHE_TTL_MAX;
	e->timer = evtimer_new(p->base, timer_cb, e);
	if (identity(e, q) < 0) {
		/* RFC 7208 4.3: a malformed domain gives none (the layer
		 * decides; libspf2 would try DNS) */
		e->result = SPF_RES_NONE;
		set_problem(e, "malformed identity");
		finish_later(e);
		return e;
	}
	if (!q->cache_checked && cache_lookup(e)) {
		finish_later(e);
		return e;
	}
	e->state = ST_RECORD;
	listed(e, &p->side);
	evtimer_add(e->timer, &tv);
	handle_lookup(e, DNS_T_TXT, e->domain);
	return e;
}

void
spfpool_cancel(struct spfpool_eval *e)
{
	if (e == NULL)
		return;
	switch (e->state) {
	case ST_RECORD:
	case ST_QUEUED:
	case ST_DONE:
		eval_free(e);
		return;
	case ST_RUNNING:
		/* libspf2 cannot be stopped mid-evaluation: answer its
		 * remaining lookups at once and drop the result. */
		e->cb = NULL;
		e->forced = 1;
		if (e->dreq != NULL) {
			dns_cancel(e->dreq);
			e->dreq = NULL;
			reply_status(e, SPFW_ST_NORECOVERY);
		}
		return;
	}
}

void
spfpool_free(struct spfpool *p)
{
	struct spfpool_eval *e;
	int	i;

	if (p == NULL)
		return;
	while ((e = TAILQ_FIRST(&p->queue)) != NULL)
		eval_free(e);
	while ((e = TAILQ_FIRST(&p->side)) != NULL)
		eval_free(e);
	for (i = 0; i < SPFPOOL_WORKERS_MAX; i++) {
		struct worker *w = &p->w[i];
		unsigned j;

		for (j = 0; j < SPFW_EVALS_MAX; j++)
			if (w->slot[j] != NULL)
				eval_free(w->slot[j]);
		reap(w);
		if (w->respawn != NULL)
			event_free(w->respawn);
	}
	rcache_free(p->cache);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void
spfpool_get_stats(const struct spfpool *p, struct spfpool_stats *out)
{
	struct spfpool *mp = (struct spfpool *)p;	/* its lock only */

	pthread_mutex_lock(&mp->lock);
	*out = p->stats;
	pthread_mutex_unlock(&mp->lock);
}
