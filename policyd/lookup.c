/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	lookup 3
 * SUMMARY
 *	DNS lookups and SPF evaluations on a second thread
 * SYNOPSIS
 *	#include "policyd/lookup.h"
 *
 *	struct lookup *lookup_new(struct event_base *main_base,
 *		const struct dns_opts *dopts, char *err, size_t errlen);
 *	int lookup_start(struct lookup *lk, const struct spfpool_opts *popts,
 *		char *err, size_t errlen);
 *	struct lookup_req *lookup_dns(struct lookup *lk, const char *name,
 *		enum dns_type type, dns_cb cb, void *arg);
 *	struct lookup_req *lookup_spf(struct lookup *lk,
 *		const struct spf_query *q, spfpool_cb cb, void *arg);
 *	void lookup_cancel(struct lookup_req *req);
 *	int lookup_spf_cached(struct lookup *lk, const struct spf_query *q,
 *		struct spf_outcome *out);
 *	void lookup_get_stats(struct lookup *lk, struct dns_stats *ds,
 *		struct spfpool_stats *ps);
 *	void lookup_free(struct lookup *lk);
 * DESCRIPTION
 *	The daemon's event loop (the main thread, MT) spends a good part
 *	of a cache miss talking to libunbound and to the SPF workers. The
 *	lookup thread (LT) takes that over: it runs an event_base of its
 *	own with the dns(3) context and the spfpool(3) workers on it. Each
 *	base is only ever used by its own thread (libevent needs no locks),
 *	except that lookup_new() and lookup_start() set LT's base up on MT
 *	before the thread exists. LT blocks every signal, so SIGHUP,
 *	SIGTERM and SIGINT reach MT's libevent signal events as before.
 *	The first workers are started by MT (lookup_start()), replacements
 *	by LT; both are children of the process and reaped with waitpid().
 *	LT runs under SCHED_BATCH, so waking it never preempts MT: the
 *	answers that need no lookup, most of them, come first.
 *
 *	Two queues carry messages, MT to LT (start a lookup, cancel one,
 *	stop) and LT to MT (a result, a cancel acknowledgement). Each is a
 *	mutex, a singly linked list and an eventfd with a persistent
 *	EV_READ event on the receiving thread's base. The sender writes the
 *	eventfd only when its message went into an empty queue; the
 *	receiver reads the eventfd, takes the whole list under the lock and
 *	handles the messages outside it.
 *
 *	A struct lookup_req is made and freed by MT; its four messages are
 *	inside it, so no message is ever allocated. Its fields belong to one
 *	thread each:
 *	- MT only: cb, arg, cancelled, in_cb, the live list;
 *	- written by MT before the start message, read-only afterwards:
 *	  lk, spf, type, name, q and its strings;
 *	- LT only: dreq, eval (NULL once the result is sent or the query
 *	  cancelled);
 *	- written by LT before the result message, read by MT after it:
 *	  ans (a dns_answer_dup() copy MT frees), out.
 *	Every hand-over passes a queue's mutex. For each request LT sends
 *	exactly one result or none, and one acknowledgement for each cancel
 *	(there is at most one). lookup_cancel() marks the request cancelled
 *	and posts the cancel; LT stops the query if it still runs and
 *	acknowledges either way, because the cancel message lives in the
 *	request: MT frees a cancelled request only on the acknowledgement,
 *	after which LT never sees it again, and drops without a callback a
 *	result that arrives for a cancelled request. A request that is not
 *	cancelled is freed after its callback.
 *
 *	lookup_spf_cached() and lookup_get_stats() run on MT against the
 *	pool and the dns context that live on LT: spfpool(3) and dns(3)
 *	lock their result cache and counters for that.
 * DIAGNOSTICS
 *	lookup_new() and lookup_start() fill err (eventfd, libevent, dns,
 *	the workers, pthread_create). Nothing else fails.
 * LIMITS
 *	None of its own: DNS_INFLIGHT_MAX and the pool's queue bound the
 *	work; the queues are as long as the requests in flight.
 *--*/
#include <sys/eventfd.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/mem.h"
#include "shared/spfpool.h"
#include "policyd/lookup.h"

enum msg_kind {
	M_DNS, M_SPF, M_CANCEL, M_STOP,	/* to LT */
	M_RESULT, M_ACK,		/* to MT */
};

struct lookup_msg {
	struct lookup_msg *next;	/* written under the queue's lock */
	struct lookup_req *req;		/* NULL for M_STOP */
	enum msg_kind kind;
};

struct lookup_queue {
	pthread_mutex_t lock;
	struct lookup_msg *head, **tail;
	int	efd;			/* eventfd: the queue stopped being empty */
	struct event *ev;		/* on the receiving thread's base */
};

struct lookup {
	struct event_base *base;	/* LT's */
	struct dns *dns;		/* LT's (set up by MT before the thread) */
	struct spfpool *pool;		/* the same */
	struct lookup_queue to_lt, to_mt;
	struct lookup_msg stop;
	pthread_t thread;
	int	started;		/* MT: the thread runs */
	struct lookup_req *live;	/* MT: every request not yet freed */
};

struct lookup_req {
	/* Set by MT before the start message; read-only afterwards. */
	struct lookup *lk;
	int	spf;			/* an evaluation, not a DNS query */
	enum dns_type type;
	char	*name;			/* DNS: the name */
	struct spf_query q;		/* SPF: the query, its strings ... */
	char	*helo, *sender;		/* ... here */
	/* MT only. */
	dns_cb	dcb;
	spfpool_cb scb;
	void	*arg;
	int	cancelled;		/* lookup_cancel() was called */
	int	in_cb;			/* its callback is running */
	struct lookup_req *prev, *next;	/* on lk->live */
	/* LT only. */
	struct dns_req *dreq;
	struct spfpool_eval *eval;
	/* Written by LT before M_RESULT, read by MT after it. */
	struct dns_answer *ans;		/* DNS: MT frees it */
	struct spf_outcome out;		/* SPF */
	/* The messages: each is in at most one queue at a time. */
	struct lookup_msg m_start, m_cancel, m_result, m_ack;
};

/* ---- the queues ------------------------------------------------------ */

static int
queue_init(struct lookup_queue *q, struct event_base *base,
    event_callback_fn fn, void *arg, char *err, size_t errlen)
{
	q->head = NULL;
	q->tail = &q->head;
	q->ev = NULL;
	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	if ((q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, fn,
	    arg)) == NULL || event_add(q->ev, NULL) != 0) {
		snprintf(err, errlen, "libevent: cannot watch an eventfd");
		return -1;
	}
	return 0;
}

/* Frees q's event: on its base's thread, or with that thread gone. */
static void
queue_fini(struct lookup_queue *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	q->ev = NULL;
	if (q->efd >= 0) {
		close(q->efd);
		pthread_mutex_destroy(&q->lock);
	}
	q->efd = -1;
}

static void
queue_put(struct lookup_queue *q, struct lookup_msg *m)
{
	static const uint64_t one = 1;
	int	was_empty;

	m->next = NULL;
	pthread_mutex_lock(&q->lock);
	was_empty = q->head == NULL;
	*q->tail = m;
	q->tail = &m->next;
	pthread_mutex_unlock(&q->lock);
	/* A receiver with a non-empty queue is already signalled. */
	if (was_empty && write(q->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so the receiver is woken. */
	}
}

/* Everything queued, in order; NULL when nothing is. */
static struct lookup_msg *
queue_take(struct lookup_queue *q)
{
	struct lookup_msg *list;
	uint64_t v;

	if (read(q->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a wake-up another take already consumed */
	}
	pthread_mutex_lock(&q->lock);
	list = q->head;
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_unlock(&q->lock);
	return list;
}

static void
post(struct lookup_queue *q, struct lookup_msg *m, struct lookup_req *req,
    enum msg_kind kind)
{
	m->req = req;
	m->kind = kind;
	queue_put(q, m);
}

/* ---- the lookup thread ------------------------------------------------- */

static void
lt_dns_cb(void *arg, const struct dns_answer *ans)
{
	struct lookup_req *req = arg;

	req->dreq = NULL;
	req->ans = dns_answer_dup(ans);
	/* MT may free req from here on. */
	post(&req->lk->to_mt, &req->m_result, req, M_RESULT);
}

static void
lt_spf_cb(void *arg, const struct spf_outcome *out)
{
	struct lookup_req *req = arg;

	req->eval = NULL;
	req->out = *out;
	post(&req->lk->to_mt, &req->m_result, req, M_RESULT);
}

/* Everything on LT's base: by LT once its loop has ended, or by MT when
 * there never was a thread. */
static void
lt_fini(struct lookup *lk)
{
	spfpool_free(lk->pool);
	lk->pool = NULL;
	dns_free(lk->dns);
	lk->dns = NULL;
	queue_fini(&lk->to_lt);
	if (lk->base != NULL)
		event_base_free(lk->base);
	lk->base = NULL;
}

static void
lt_read(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;
	struct lookup_msg *m, *next;
	struct lookup_req *req;

	(void)fd;
	(void)what;
	for (m = queue_take(&lk->to_lt); m != NULL; m = next) {
		next = m->next;		/* m may be freed once answered */
		req = m->req;
		switch (m->kind) {
		case M_DNS:
			req->dreq = dns_query(lk->dns, req->name, req->type,
			    lt_dns_cb, req);
			break;
		case M_SPF:
			req->eval = spfpool_eval(lk->pool, &req->q, lt_spf_cb,
			    req);
			break;
		case M_CANCEL:
			/* Still running unless its result went out. */
			if (req->eval != NULL)
				spfpool_cancel(req->eval);
			if (req->dreq != NULL)
				dns_cancel(req->dreq);
			req->eval = NULL;
			req->dreq = NULL;
			post(&lk->to_mt, &req->m_ack, req, M_ACK);
			break;
		case M_STOP:
			/* The last message MT sends. */
			event_base_loopbreak(lk->base);
			return;
		default:
			abort();
		}
	}
}

static void *
lt_main(void *arg)
{
	struct lookup *lk = arg;
	struct sched_param sp;

	/* Never preempt the main thread when woken: with SCHED_OTHER the
	 * scheduler ran LT (which sleeps between bursts, so it is always
	 * owed time) on MT's CPU at once, and MT then waited for a CPU
	 * 11-21 % of the time at 8 connections (schedstat); SCHED_BATCH
	 * takes the same share of CPU without wake-up preemption. Refused
	 * (a seccomp profile, say): SCHED_OTHER, which only costs speed. */
	memset(&sp, 0, sizeof(sp));
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	event_base_dispatch(lk->base);
	lt_fini(lk);
	return NULL;
}

/* ---- the main thread --------------------------------------------------- */

static void
req_free(struct lookup_req *req)
{
	struct lookup *lk = req->lk;

	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		lk->live = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	if (!req->spf)
		dns_answer_free(req->ans);
	free(req->name);
	free(req->helo);
	free(req->sender);
	free(req);
}

static void
mt_read(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *lk = arg;
	struct lookup_msg *m, *next;
	struct lookup_req *req;

	(void)fd;
	(void)what;
	for (m = queue_take(&lk->to_mt); m != NULL; m = next) {
		next = m->next;
		req = m->req;
		if (m->kind == M_ACK) {
			req_free(req);
			continue;
		}
		if (req->cancelled) {
			/* The acknowledgement follows and frees it. */
			continue;
		}
		req->in_cb = 1;
		if (req->spf)
			req->scb(req->arg, &req->out);
		else
			req->dcb(req->arg, req->ans);
		req_free(req);
	}
}

static struct lookup_req *
req_new(struct lookup *lk, void *arg)
{
	struct lookup_req *req = xcalloc(1, sizeof(*req));

	req->lk = lk;
	req->arg = arg;
	req->next = lk->live;
	if (lk->live != NULL)
		lk->live->prev = req;
	lk->live = req;
	return req;
}

struct lookup_req *
lookup_dns(struct lookup *lk, const char *name, enum dns_type type,
    dns_cb cb, void *arg)
{
	struct lookup_req *req = req_new(lk, arg);

	req->type = type;
	req->name = xstrdup(name);
	req->dcb = cb;
	post(&lk->to_lt, &req->m_start, req, M_DNS);
	return req;
}

struct lookup_req *
lookup_spf(struct lookup *lk, const struct spf_query *q, spfpool_cb cb,
    void *arg)
{
	struct lookup_req *req = req_new(lk, arg);

	req->spf = 1;
	req->q = *q;
	req->helo = xstrdup(q->helo);		/* NULL stays NULL */
	req->sender = xstrdup(q->sender);
	req->q.helo = req->helo;
	req->q.sender = req->sender;
	req->scb = cb;
	post(&lk->to_lt, &req->m_start, req, M_SPF);
	return req;
}

void
lookup_cancel(struct lookup_req *req)
{
	if (req == NULL || req->in_cb || req->cancelled)
		return;
	req->cancelled = 1;
	post(&req->lk->to_lt, &req->m_cancel, req, M_CANCEL);
}

int
lookup_spf_cached(struct lookup *lk, const struct spf_query *q,
    struct spf_outcome *out)
{
	return spfpool_cached(lk->pool, q, out);
}

void
lookup_get_stats(struct lookup *lk, struct dns_stats *ds,
    struct spfpool_stats *ps)
{
	if (ds != NULL && lk->dns != NULL)
		dns_get_stats(lk->dns, ds);
	if (ps != NULL && lk->pool != NULL)
		spfpool_get_stats(lk->pool, ps);
}

struct lookup *
lookup_new(struct event_base *main_base, const struct dns_opts *dopts,
    char *err, size_t errlen)
{
	struct lookup *lk = xcalloc(1, sizeof(*lk));

	lk->to_lt.efd = lk->to_mt.efd = -1;
	if ((lk->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "libevent: cannot create an event base");
		goto fail;
	}
	if (queue_init(&lk->to_lt, lk->base, lt_read, lk, err, errlen) < 0 ||
	    queue_init(&lk->to_mt, main_base, mt_read, lk, err, errlen) < 0)
		goto fail;
	if ((lk->dns = dns_new(lk->base, dopts, err, errlen)) == NULL)
		goto fail;
	return lk;
fail:
	lookup_free(lk);
	return NULL;
}

int
lookup_start(struct lookup *lk, const struct spfpool_opts *popts,
    char *err, size_t errlen)
{
	sigset_t all, old;
	int	rc;

	if ((lk->pool = spfpool_new(lk->base, lk->dns, popts, err,
	    errlen)) == NULL)
		return -1;
	/* LT inherits this mask: signals stay MT's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&lk->thread, NULL, lt_main, lk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		return -1;
	}
	lk->started = 1;
	return 0;
}

void
lookup_free(struct lookup *lk)
{
	if (lk == NULL)
		return;
	if (lk->started) {
		post(&lk->to_lt, &lk->stop, NULL, M_STOP);
		pthread_join(lk->thread, NULL);
	} else
		lt_fini(lk);		/* no thread: its side is ours */
	/* Results and acknowledgements still queued are dropped with
	 * their requests. */
	queue_fini(&lk->to_mt);
	while (lk->live != NULL)
		req_free(lk->live);
	free(lk);
}
