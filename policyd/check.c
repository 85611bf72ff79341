/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	check 3
 * SUMMARY
 *	run the iprev and SPF checks of one policy request
 * SYNOPSIS
 *	#include "policyd/check.h"
 *
 *	struct checker *checker_new(struct event_base *base,
 *		struct lookup *lk, struct cfg *cfg);
 *	void checker_set_cfg(struct checker *ck, struct cfg *cfg);
 *	void checker_free(struct checker *ck);
 *
 *	struct check_session *check_session_new(struct checker *ck);
 *	void check_session_free(struct check_session *sess);
 *	void check_start(struct check_session *sess, struct policy_req *req,
 *		check_cb cb, void *arg);
 * DESCRIPTION
 *	check_start() decides what the request needs from its protocol
 *	state, starts the lookups at once and in parallel (iprev through
 *	dns(3), SPF for the HELO and MAIL FROM identities through
 *	spfpool(3), both on the lookup thread, lookup(3)), and hands the results to decide(3) when the last one
 *	is in or when the deadline fires, whichever comes first. A check
 *	that did not finish by the deadline counts as temperror.
 *
 *	iprev (RFC 8601 2.7.3): PTR of the client, then A (IPv4 client) or
 *	AAAA (IPv6 client) of up to ptr.max_names of the names, all in
 *	parallel; pass as soon as one name resolves back; permerror when
 *	there is no PTR record; temperror when a lookup failed temporarily
 *	and no name passed; fail otherwise.
 *
 *	The configuration in effect for a request is the top level with
 *	the context section of its policy_context and the domain section of
 *	its recipient layered on (cfg_effective()); it decides which checks
 *	are needed and what their results ask for.
 *
 *	A session remembers the check RESULTS of the current instance (and
 *	the client, HELO name and sender they were computed for), not a
 *	verdict: every later request of the message runs decide(3) again
 *	from the cached results under its own effective configuration, so
 *	two recipients with different policies get their own answers, and
 *	a check only the second policy needs is run then. The header is
 *	prepended once per message (with header = both, the second header
 *	goes out with the next request of the message). A request without
 *	a recipient (DATA, END-OF-MESSAGE) after an accepted recipient of
 *	the same message is never refused.
 *
 *	Trusted forwarders: a client in forwarders.networks, one whose
 *	forward-confirmed PTR name (iprev pass) is in forwarders.names at a
 *	label boundary, or one that SPF-passes for postmaster@ one of
 *	forwarders.spf_domains (one extra SPF evaluation per domain, in
 *	parallel with the other checks, cached per instance) has its SPF
 *	MAIL FROM result reported but not enforced. iprev is looked up
 *	whenever forwarders.names is set, even with ptr.enabled = false
 *	(its result then asks for nothing).
 *
 *	A request holds the configuration it started with (a reference)
 *	and a copy of it only when a context or domain section overrides
 *	a key; texts and forwarder state are allocated when used.
 *
 *	Clients whose address is private, CGNAT, ULA or link-local are
 *	clients Postfix sees through NAT or a container bridge: a warning
 *	(rate-limited) says so, and decide(3) does not refuse them unless
 *	private_clients = check.
 * DIAGNOSTICS
 *	One log line per request (SPEC 2.5), at warning level for a
 *	"warn" action; one JSON object instead with log_format = json. A request whose client_address is not an address
 *	is answered DUNNO with a warning.
 * LIMITS
 *	CHECK_PTR_NAMES_MAX PTR names are looked up at most; the answer
 *	comes CHECK_DEADLINE_MARGIN_MS before request_timeout;
 *	CFG_FWD_SPF_MAX forwarder SPF evaluations per message;
 *	CHECK_NAT_RL_INTERVAL seconds between NAT warnings.
 *--*/
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/rcache.h"
#include "shared/spfpool.h"
#include "policyd/check.h"
#include "policyd/decide.h"
#include "policyd/lookup.h"
#include "policyd/stats.h"

#define CHECK_PTR_NAMES_MAX		32
#define CHECK_DEADLINE_MARGIN_MS	250
#define CHECK_NAT_RL_INTERVAL		60
#define CHECK_APPLIED_LEN		(2 * DNS_NAME_MAX + 24)
#define CHECK_LINE_LEN			4096	/* a decision log line */
#define CHECK_IPREV_CACHE_MAX		32768	/* iprev results kept */
#define CHECK_IPREV_TTL_MAX		3600	/* seconds, whatever the TTLs */
#define CHECK_IPREV_KEY_LEN		18
#define CHECK_SKIP_TEXT_LEN		128
#define CHECK_FWD_TEXT_LEN		(DNS_NAME_MAX + 64)
#define CHECK_SPARES			64	/* finished checks kept */

struct checker {
	struct event_base *base;
	struct lookup *lk;		/* DNS and SPF, on the lookup thread */
	struct cfg *cfg;
	struct rcache *iprev_cache;	/* by client address and max_names */
	struct check *spare;		/* finished checks, with their events,
					 * for the next requests */
	int	nspare;
};

struct check;

/* Results as a request and a session keep them: the strings at their
 * real length, in an immutable block (struct kept_str) that the request
 * and its session share by count, so passing a result between them costs
 * no copy. decide(3) gets struct iprev_outcome and struct spf_outcome
 * filled from them on the stack: a request in flight or a connection
 * between messages holds no worst-case arrays. Everything here runs on
 * the main thread. */
struct kept_str {
	unsigned refs;
	char	s[];			/* iprev: the name; SPF: checked,
					 * domain, problem, each
					 * NUL-terminated */
};

struct iprev_kept {
	enum iprev_result result;
	struct kept_str *name;		/* NULL: none; at most DNS_NAME_MAX */
};

struct spf_kept {
	enum spf_result result;
	enum spf_identity identity;
	unsigned queries, voids;
	int	worker_died;
	struct kept_str *strs;		/* NULL: all three empty */
};

struct check_session {
	struct checker *ck;
	struct check *inflight;
	/* The results of the current instance, and what they were for:
	 * one allocation at instance, the other three point into it. */
	char	*instance;
	const char *client, *helo_name, *sender;
	int	have_iprev, have_helo, have_mf, have_fwd_spf;
	struct sess_results *res;	/* NULL until a result is kept: an
					 * idle connection holds no room */
	char	*fwd_spf;		/* forwarder domain that passed, or
					 * NULL */
	int	header_sent;		/* a header went out for this message */
	int	accepted_rcpt;		/* a recipient of it was accepted */
	char	*pending;		/* a header still to prepend */
};

struct sess_results {
	struct iprev_kept iprev;
	struct spf_kept helo, mailfrom;
};

enum step { STEP_OFF, STEP_RUNNING, STEP_DONE };

struct iprev_lookup {
	struct check *chk;
	struct lookup_req *req;
	int	idx;
};

struct fwd_eval {
	struct check *chk;
	struct lookup_req *eval;
	int	idx;
};

struct check {
	struct check_session *sess;
	struct checker *ck;
	struct cfg *cfg;
	struct policy_req *req;
	check_cb cb;
	void	*arg;
	struct timespec start;
	struct event *deadline;		/* armed while a check runs */
	struct event *kick;		/* answers that need no lookup */
	struct check *next_spare;	/* on ck->spare */
	char	*ready_action;		/* what the kick answers */

	struct netaddr client;
	const struct cfg *eff;		/* cfg, or eff_copy when a section
					 * overrides a key */
	struct cfg *eff_copy;		/* NULL, or cfg with the overrides
					 * (borrows cfg's pointers) */
	char	*applied;		/* overrides in effect, or NULL */
	int	header_ok;
	const char *skip_reason;
	char	*skip_text;		/* what skip_reason may point to */
	const char *nat;		/* address class, or NULL */
	const char *fwd_by;		/* "network", "name", "spf", or NULL */
	char	*fwd_text;		/* set with fwd_by */
	int	used_cache, ran;	/* results reused / checks started */
	int	iprev_cached, helo_cached, mf_cached, fwd_cached;

	/* iprev */
	enum step iprev_step;
	struct iprev_kept iprev;
	struct lookup_req *ptr_req;
	struct iprev_lookup *fwd;	/* nnames of each, from the PTR */
	char	**names;		/* answer (at most CHECK_PTR_NAMES_MAX) */
	int	nnames;
	int	fwd_pending;
	int	fwd_temp;
	uint32_t iprev_ttl;		/* least TTL of the answers used */

	/* SPF */
	enum step helo_step, mf_step;
	struct lookup_req *helo_eval, *mf_eval;
	struct spf_kept helo, mailfrom;

	/* Forwarder SPF: postmaster@DOMAIN for each forwarders.spf_domains. */
	enum step fwd_step;
	struct fwd_eval *fwd_evals;	/* nfwd_evals, allocated when started */
	int	nfwd_evals, fwdspf_pending;
	char	*fwd_spf;		/* the domain that passed, or NULL */
};

static void check_finish(struct check *);
static void kick_cb(evutil_socket_t, short, void *);
static void deadline_cb(evutil_socket_t, short, void *);

/* ---- kept results ----------------------------------------------------- */

static struct kept_str *
kept_new(size_t len)
{
	struct kept_str *k = xmalloc(sizeof(*k) + len);

	k->refs = 1;
	return k;
}

static void
kept_drop(struct kept_str *k)
{
	if (k != NULL && --k->refs == 0)
		free(k);
}

/* *dst holds what src holds (dst == src is fine). */
static void
kept_share(struct kept_str **dst, struct kept_str *src)
{
	if (src != NULL)
		src->refs++;
	kept_drop(*dst);
	*dst = src;
}

static void
iprev_kept_clear(struct iprev_kept *k)
{
	kept_drop(k->name);
	k->name = NULL;
	k->result = IPREV_NOTCHECKED;
}

static const char *
iprev_kept_str(const struct iprev_kept *k)
{
	return k->name != NULL ? k->name->s : "";
}

/* The name, cut to DNS_NAME_MAX bytes as struct iprev_outcome cuts it. */
static void
iprev_kept_name(struct iprev_kept *k, const char *name)
{
	size_t	n = strnlen(name, DNS_NAME_MAX);

	kept_drop(k->name);
	k->name = NULL;
	if (n > 0) {
		k->name = kept_new(n + 1);
		memcpy(k->name->s, name, n);
		k->name->s[n] = '\0';
	}
}

static void
iprev_kept_copy(struct iprev_kept *dst, const struct iprev_kept *src)
{
	dst->result = src->result;
	kept_share(&dst->name, src->name);
}

static void
iprev_kept_fill(const struct iprev_kept *k, struct iprev_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = k->result;
	strlcpy(out->name, iprev_kept_str(k), sizeof(out->name));
}

static void
spf_kept_clear(struct spf_kept *k)
{
	kept_drop(k->strs);
	memset(k, 0, sizeof(*k));
}

/* Keep *o (its strings at their length; each of them fits o's arrays). */
static void
spf_kept_set(struct spf_kept *k, const struct spf_outcome *o)
{
	size_t	cl = strnlen(o->checked, sizeof(o->checked) - 1);
	size_t	dl = strnlen(o->domain, sizeof(o->domain) - 1);
	size_t	pl = strnlen(o->problem, sizeof(o->problem) - 1);
	struct kept_str *ks = NULL;
	char	*p;

	if (cl + dl + pl > 0) {
		ks = kept_new(cl + dl + pl + 3);
		p = ks->s;
		memcpy(p, o->checked, cl);
		p[cl] = '\0';
		memcpy(p + cl + 1, o->domain, dl);
		p[cl + 1 + dl] = '\0';
		memcpy(p + cl + dl + 2, o->problem, pl);
		p[cl + dl + 2 + pl] = '\0';
	}
	kept_drop(k->strs);
	k->strs = ks;
	k->result = o->result;
	k->identity = o->identity;
	k->queries = o->queries;
	k->voids = o->voids;
	k->worker_died = o->worker_died;
}

static void
spf_kept_fill(const struct spf_kept *k, struct spf_outcome *out)
{
	const char *c = k->strs != NULL ? k->strs->s : "";
	const char *d = k->strs != NULL ? c + strlen(c) + 1 : "";
	const char *pr = k->strs != NULL ? d + strlen(d) + 1 : "";

	memset(out, 0, sizeof(*out));
	out->result = k->result;
	out->identity = k->identity;
	strlcpy(out->checked, c, sizeof(out->checked));
	strlcpy(out->domain, d, sizeof(out->domain));
	strlcpy(out->problem, pr, sizeof(out->problem));
	out->queries = k->queries;
	out->voids = k->voids;
	out->worker_died = k->worker_died;
}

/* *dst as *src, sharing its strings (dst == src is fine). */
static void
spf_kept_copy(struct spf_kept *dst, const struct spf_kept *src)
{
	struct kept_str *strs = dst->strs;	/* to drop after the copy */

	*dst = *src;
	dst->strs = strs;
	kept_share(&dst->strs, src->strs);
}

/* The deadline came first: temperror, with a problem text. */
static void
spf_kept_deadline(struct spf_kept *k)
{
	struct spf_outcome o;

	spf_kept_fill(k, &o);
	o.result = SPF_RES_TEMPERROR;
	snprintf(o.problem, sizeof(o.problem), "no answer before the "
	    "deadline");
	spf_kept_set(k, &o);
}

struct checker *
checker_new(struct event_base *base, struct lookup *lk, struct cfg *cfg)
{
	struct checker *ck = xcalloc(1, sizeof(*ck));

	ck->base = base;
	ck->lk = lk;
	ck->cfg = cfg_ref(cfg);
	ck->iprev_cache = rcache_new_hashed(CHECK_IPREV_CACHE_MAX);
	return ck;
}

void
checker_set_cfg(struct checker *ck, struct cfg *cfg)
{
	struct cfg *old = ck->cfg;

	ck->cfg = cfg_ref(cfg);
	cfg_unref(old);
}

void
checker_free(struct checker *ck)
{
	struct check *chk;

	if (ck == NULL)
		return;
	while ((chk = ck->spare) != NULL) {
		ck->spare = chk->next_spare;
		event_free(chk->deadline);
		event_free(chk->kick);
		free(chk);
	}
	cfg_unref(ck->cfg);
	rcache_free(ck->iprev_cache);
	free(ck);
}

struct check_session *
check_session_new(struct checker *ck)
{
	struct check_session *sess = xcalloc(1, sizeof(*sess));

	sess->ck = ck;
	return sess;
}

static void
session_forget(struct check_session *sess)
{
	free(sess->instance);
	free(sess->pending);
	sess->instance = NULL;
	sess->client = sess->helo_name = sess->sender = NULL;
	sess->pending = NULL;
	if (sess->res != NULL) {
		iprev_kept_clear(&sess->res->iprev);
		spf_kept_clear(&sess->res->helo);
		spf_kept_clear(&sess->res->mailfrom);
		free(sess->res);
		sess->res = NULL;
	}
	sess->have_iprev = sess->have_helo = sess->have_mf = 0;
	sess->have_fwd_spf = sess->header_sent = sess->accepted_rcpt = 0;
	free(sess->fwd_spf);
	sess->fwd_spf = NULL;
}

/* Stop every lookup still running; no callbacks come afterwards. */
static void
check_stop_lookups(struct check *chk)
{
	int	i;

	if (chk->ptr_req) {
		lookup_cancel(chk->ptr_req);
		chk->ptr_req = NULL;
	}
	for (i = 0; i < chk->nnames; i++)
		if (chk->fwd[i].req) {
			lookup_cancel(chk->fwd[i].req);
			chk->fwd[i].req = NULL;
		}
	if (chk->helo_eval) {
		lookup_cancel(chk->helo_eval);
		chk->helo_eval = NULL;
	}
	if (chk->mf_eval) {
		lookup_cancel(chk->mf_eval);
		chk->mf_eval = NULL;
	}
	for (i = 0; i < chk->nfwd_evals; i++)
		if (chk->fwd_evals[i].eval) {
			lookup_cancel(chk->fwd_evals[i].eval);
			chk->fwd_evals[i].eval = NULL;
		}
}

/* A check for sess: a finished one with its events when one is kept
 * (the events' argument is the check itself, so they stay valid), else
 * a new one. */
static struct check *
check_new(struct check_session *sess)
{
	struct checker *ck = sess->ck;
	struct check *chk = ck->spare;

	if (chk != NULL) {
		ck->spare = chk->next_spare;
		ck->nspare--;
		chk->next_spare = NULL;
	} else {
		chk = xcalloc(1, sizeof(*chk));
		chk->kick = event_new(ck->base, -1, 0, kick_cb, chk);
		chk->deadline = evtimer_new(ck->base, deadline_cb, chk);
		if (chk->kick == NULL || chk->deadline == NULL) {
			log_err("out of memory for a request's events");
			log_flush();
			abort();
		}
	}
	chk->sess = sess;
	chk->ck = ck;
	return chk;
}

static void
check_free(struct check *chk)
{
	struct checker *ck = chk->ck;
	struct event *kick = chk->kick, *deadline = chk->deadline;
	int	i;

	check_stop_lookups(chk);
	event_del(kick);
	event_del(deadline);
	for (i = 0; i < chk->nnames; i++)
		free(chk->names[i]);
	free(chk->names);
	free(chk->fwd);
	free(chk->fwd_evals);
	free(chk->ready_action);
	iprev_kept_clear(&chk->iprev);
	spf_kept_clear(&chk->helo);
	spf_kept_clear(&chk->mailfrom);
	free(chk->eff_copy);
	free(chk->applied);
	free(chk->skip_text);
	free(chk->fwd_text);
	free(chk->fwd_spf);
	proto_req_free(chk->req);
	cfg_unref(chk->cfg);
	stats_inflight(-1);
	if (ck->nspare >= CHECK_SPARES) {
		event_free(kick);
		event_free(deadline);
		free(chk);
		return;
	}
	memset(chk, 0, sizeof(*chk));
	chk->kick = kick;
	chk->deadline = deadline;
	chk->ck = ck;
	chk->next_spare = ck->spare;
	ck->spare = chk;
	ck->nspare++;
}

void
check_session_free(struct check_session *sess)
{
	if (sess == NULL)
		return;
	if (sess->inflight)
		check_free(sess->inflight);
	session_forget(sess);
	free(sess);
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Hand the action to the caller. The session is free for the next
 * request before the callback runs, since the callback may start it. */
static void
check_reply(struct check *chk, const char *action)
{
	check_cb cb = chk->cb;
	void	*arg = chk->arg;
	char	copy[PROTO_ACTION_MAX + 1];

	strlcpy(copy, action, sizeof(copy));
	chk->sess->inflight = NULL;
	check_free(chk);
	cb(arg, copy);
}

/* The decision log line as it is built: one buffer, appended to. */
struct line {
	char	b[CHECK_LINE_LEN];
	size_t	n;
	char	*(*esc)(const char *, size_t, char *, size_t);
};

/* Append s, cut where the buffer ends. */
static void
line_put(struct line *l, const char *s)
{
	size_t	k = strnlen(s, sizeof(l->b) - 1 - l->n);

	memcpy(l->b + l->n, s, k);
	l->n += k;
	l->b[l->n] = '\0';
}

/* Append s escaped for the log format (LOG_ESCAPE_MAX bytes of it). */
static void
line_esc(struct line *l, const char *s)
{
	l->esc(s, LOG_ESCAPE_MAX, l->b + l->n, sizeof(l->b) - l->n);
	l->n += strlen(l->b + l->n);
}

/* Append " key=value" (text) or ",\"key\":\"value\"" (JSON); value
 * is ours (a word), or escaped when esc. */
static void
line_kv(struct line *l, int json, const char *key, const char *value,
    int esc)
{
	line_put(l, json ? ",\"" : " ");
	line_put(l, key);
	line_put(l, json ? "\":\"" : "=");
	if (esc)
		line_esc(l, value);
	else
		line_put(l, value);
	if (json)
		line_put(l, "\"");
}

/* ms in decimal (it is never negative: a monotonic clock). */
static void
fmt_ms(long ms, char *out, size_t outlen)
{
	char	rev[24];
	size_t	n = 0, i;

	if (ms < 0)
		ms = 0;
	do {
		rev[n++] = (char)('0' + ms % 10);
		ms /= 10;
	} while (ms > 0 && n < sizeof(rev));
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = rev[n - 1 - i];
	out[i] = '\0';
}

/* The decision log line (SPEC 2.5), key=value or one JSON object. */
static void
check_log(struct check *chk, const struct decision *d, const char *action_word,
    int cached)
{
	const struct policy_req *r = chk->req;
	const char *code = d && d->code[0] ? d->code : "";
	const char *would = d && d->would != d->verdict ?
	    decide_verdict_str(d->would) : NULL;
	int	warn = d && d->would == DECIDE_REJECT &&
	    d->verdict == DECIDE_ACCEPT && !chk->cfg->report_only &&
	    !d->relaxed;
	int	have_applied = chk->applied != NULL && chk->applied[0];
	int	json = chk->cfg->log_format == CFG_LOG_JSON;
	char	ms[24];
	struct line l;

	l.n = 0;
	l.b[0] = '\0';
	l.esc = json ? log_json : log_escape;
	fmt_ms(elapsed_ms(&chk->start), ms, sizeof(ms));
	if (json) {
		line_put(&l, "{\"level\":\"");
		line_put(&l, warn ? "warning\"" : "info\"");
		line_kv(&l, 1, "queue_id", r->queue_id[0] ? r->queue_id :
		    "NOQUEUE", 1);
		line_kv(&l, 1, "client_name", r->client_name[0] ?
		    r->client_name : "unknown", 1);
		line_kv(&l, 1, "client_address", r->client_address, 1);
		line_kv(&l, 1, "helo", r->helo_name, 1);
		line_kv(&l, 1, "from", r->sender, 1);
	} else {
		line_esc(&l, r->queue_id[0] ? r->queue_id : "NOQUEUE");
		line_put(&l, ": client=");
		line_esc(&l, r->client_name[0] ? r->client_name : "unknown");
		line_put(&l, "[");
		line_esc(&l, r->client_address);
		line_put(&l, "] helo=<");
		line_esc(&l, r->helo_name);
		line_put(&l, "> from=<");
		line_esc(&l, r->sender);
		line_put(&l, ">");
	}
	if (chk->iprev_step != STEP_OFF)
		line_kv(&l, json, "iprev", iprev_result_str(chk->iprev.result),
		    0);
	if (chk->helo_step != STEP_OFF)
		line_kv(&l, json, "spf_helo", spf_result_str(chk->helo.result),
		    0);
	if (chk->mf_step != STEP_OFF)
		line_kv(&l, json, "spf_mailfrom",
		    spf_result_str(chk->mailfrom.result), 0);
	line_kv(&l, json, "action", action_word, 0);
	if (code[0])
		line_kv(&l, json, "code", code, 0);
	/* In text a skip reason stands where "would" does. */
	if (would && (json || !chk->skip_reason))
		line_kv(&l, json, "would", would, 0);
	if (chk->skip_reason)
		line_kv(&l, json, "skip", chk->skip_reason, 0);
	if (have_applied)
		line_kv(&l, json, "policy", chk->applied, 1);
	if (chk->fwd_by) {
		line_kv(&l, json, "forwarder", chk->fwd_by, 0);
		if (json)
			line_kv(&l, json, "forwarder_match", chk->fwd_text ?
			    chk->fwd_text : "", 1);
	}
	if (chk->nat)
		line_kv(&l, json, "nat", chk->nat, 0);
	if (json) {
		line_put(&l, ",\"cached\":");
		line_put(&l, cached ? "true" : "false");
		line_put(&l, ",\"ms\":");
		line_put(&l, ms);
		line_put(&l, "}");
		log_plain(warn, "%s", l.b);
		return;
	}
	if (cached)
		line_put(&l, " cached=yes");
	line_put(&l, " ms=");
	line_put(&l, ms);
	(warn ? log_warn : log_info)("%s", l.b);
}

static const char *
action_word(const char *action)
{
	if (strncmp(action, "PREPEND ", 8) == 0)
		return "prepend";
	if (strncmp(action, "DEFER_IF_PERMIT ", 16) == 0)
		return "defer";
	if (action[0] == '5' || action[0] == '4')
		return "reject";
	return "dunno";
}

/* Is the client a trusted forwarder? Sets fwd_by and fwd_text. */
static void
check_forwarder(struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	const char *name = iprev_kept_str(&chk->iprev);
	char	ip[NETADDR_STR_MAX], text[CHECK_FWD_TEXT_LEN];
	int	i;

	if (chk->fwd_by)
		return;
	if (netaddr_list_match(cfg->fwd_networks, &chk->client)) {
		chk->fwd_by = "network";
		snprintf(text, sizeof(text), "%s",
		    netaddr_format(&chk->client, ip, sizeof(ip)));
		chk->fwd_text = xstrdup(text);
		return;
	}
	if (chk->iprev_step != STEP_OFF && chk->iprev.result == IPREV_PASS)
		for (i = 0; i < cfg->nfwd_names; i++)
			if (cfg_name_in_domain(name, cfg->fwd_names[i])) {
				chk->fwd_by = "name";
				snprintf(text, sizeof(text), "%s", name);
				chk->fwd_text = xstrdup(text);
				return;
			}
	if (chk->fwd_spf != NULL && chk->fwd_spf[0]) {
		chk->fwd_by = "spf";
		snprintf(text, sizeof(text), "%s (SPF pass for %s)",
		    netaddr_format(&chk->client, ip, sizeof(ip)), chk->fwd_spf);
		chk->fwd_text = xstrdup(text);
	}
}

/* Note which message the kept results are for, in one allocation. */
static void
session_ids(struct check_session *sess, const struct policy_req *r)
{
	const char *from[4] = { r->instance, r->client_address, r->helo_name,
	    r->sender };
	const char **to[4] = { NULL, &sess->client, &sess->helo_name,
	    &sess->sender };
	size_t	len[4], total = 0;
	char	*p;
	int	i;

	for (i = 0; i < 4; i++)
		total += (len[i] = strlen(from[i])) + 1;
	p = sess->instance = xmalloc(total);
	for (i = 0; i < 4; i++) {
		memcpy(p, from[i], len[i] + 1);
		if (to[i] != NULL)
			*to[i] = p;
		p += len[i] + 1;
	}
}

/* Keep what this request computed for the next requests of the message. */
static void
session_store(struct check *chk)
{
	struct check_session *sess = chk->sess;
	const struct policy_req *r = chk->req;

	if (!r->instance[0])
		return;
	if (sess->instance == NULL)
		session_ids(sess, r);
	if (sess->res == NULL)
		sess->res = xcalloc(1, sizeof(*sess->res));
	if (chk->iprev_step == STEP_DONE && !chk->iprev_cached) {
		iprev_kept_copy(&sess->res->iprev, &chk->iprev);
		sess->have_iprev = 1;
	}
	if (chk->helo_step == STEP_DONE && !chk->helo_cached) {
		spf_kept_copy(&sess->res->helo, &chk->helo);
		sess->have_helo = 1;
	}
	if (chk->mf_step == STEP_DONE && !chk->mf_cached) {
		spf_kept_copy(&sess->res->mailfrom, &chk->mailfrom);
		sess->have_mf = 1;
	}
	if (chk->fwd_step == STEP_DONE && !chk->fwd_cached) {
		free(sess->fwd_spf);
		sess->fwd_spf = xstrdup(chk->fwd_spf);
		sess->have_fwd_spf = 1;
	}
}

static void
count_results(const struct check *chk)
{
	if (chk->iprev_step == STEP_DONE && !chk->iprev_cached)
		stats_iprev(chk->iprev.result);
	if (chk->helo_step == STEP_DONE && !chk->helo_cached)
		stats_spf(1, chk->helo.result);
	if (chk->mf_step == STEP_DONE && !chk->mf_cached)
		stats_spf(0, chk->mailfrom.result);
}

static void
check_finish(struct check *chk)
{
	struct check_session *sess = chk->sess;
	struct decide_in in;
	struct decision d;
	struct spf_outcome helo, mailfrom;
	const char *action;
	char	buf[PROTO_ACTION_MAX];
	int	message_state;

	check_stop_lookups(chk);
	/* Unfinished steps (deadline) count as done with what they have. */
	if (chk->iprev_step == STEP_RUNNING)
		chk->iprev_step = STEP_DONE;
	if (chk->helo_step == STEP_RUNNING)
		chk->helo_step = STEP_DONE;
	if (chk->mf_step == STEP_RUNNING)
		chk->mf_step = STEP_DONE;
	if (chk->fwd_step == STEP_RUNNING)
		chk->fwd_step = STEP_DONE;
	if (!chk->skip_reason)
		check_forwarder(chk);

	memset(&in, 0, sizeof(in));
	in.req = chk->req;
	in.client = &chk->client;
	in.skip_reason = chk->skip_reason;
	in.header_ok = chk->header_ok;
	if (chk->eff->ptr.enabled && chk->iprev_step != STEP_OFF)
		iprev_kept_fill(&chk->iprev, &in.iprev);
	else
		in.iprev.result = IPREV_NOTCHECKED;
	if (chk->helo_step != STEP_OFF) {
		spf_kept_fill(&chk->helo, &helo);
		in.helo = &helo;
	}
	if (chk->mf_step != STEP_OFF) {
		spf_kept_fill(&chk->mailfrom, &mailfrom);
		in.mailfrom = &mailfrom;
	}
	in.forwarder = chk->fwd_by ? chk->fwd_text : NULL;
	in.nat = chk->nat;
	session_store(chk);
	message_state = chk->req->instance[0] && sess->instance != NULL;
	/* The header goes out once per message. */
	if (chk->header_ok && message_state && sess->header_sent)
		in.header_ok = 0;
	decide(chk->eff, &in, &d);
	action = d.action;

	if (message_state) {
		if (d.verdict == DECIDE_ACCEPT && chk->req->recipient[0])
			sess->accepted_rcpt = 1;
		if (d.verdict != DECIDE_ACCEPT && !chk->req->recipient[0] &&
		    sess->accepted_rcpt) {
			/* DATA or END-OF-MESSAGE of a message that has an
			 * accepted recipient: that recipient's policy said
			 * yes; this request has no recipient to refuse. */
			d.verdict = DECIDE_ACCEPT;
			action = "DUNNO";
		}
		if (d.verdict == DECIDE_ACCEPT && chk->header_ok) {
			if (!sess->header_sent && d.nheaders > 0) {
				sess->header_sent = 1;
				free(sess->pending);
				sess->pending = d.nheaders > 1 ?
				    xstrdup(d.headers[1]) : NULL;
			} else if (sess->pending) {
				snprintf(buf, sizeof(buf), "PREPEND %s",
				    sess->pending);
				free(sess->pending);
				sess->pending = NULL;
				action = buf;
			}
		}
	}
	count_results(chk);
	if (chk->used_cache && !chk->ran)
		stats_verdict_cached();
	if (chk->nat)
		stats_nat_client();
	if (chk->fwd_by)
		stats_forwarder(chk->fwd_by[0] == 'n' ? (chk->fwd_by[1] == 'e' ?
		    STATS_FWD_NETWORK : STATS_FWD_NAME) : STATS_FWD_SPF);
	check_log(chk, &d, action_word(action), chk->used_cache && !chk->ran);
	check_reply(chk, action);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct check *chk = arg;

	(void)fd;
	(void)what;
	stats_deadline();
	if (chk->iprev_step == STEP_RUNNING) {
		chk->iprev.result = IPREV_TEMPERROR;
		chk->iprev_step = STEP_DONE;
	}
	if (chk->helo_step == STEP_RUNNING)
		spf_kept_deadline(&chk->helo);
	if (chk->mf_step == STEP_RUNNING)
		spf_kept_deadline(&chk->mailfrom);
	log_warn("%s: deadline of %d s reached for client %s; unfinished "
	    "checks count as temperror", chk->req->queue_id[0] ?
	    chk->req->queue_id : "NOQUEUE", chk->cfg->request_timeout,
	    chk->req->client_address);
	check_finish(chk);
}

static void
maybe_finish(struct check *chk)
{
	if (chk->iprev_step != STEP_RUNNING && chk->helo_step != STEP_RUNNING &&
	    chk->mf_step != STEP_RUNNING && chk->fwd_step != STEP_RUNNING)
		check_finish(chk);
}

/* iprev results are kept while the PTR and address answers they came
 * from may be reused; a temperror never. */
static size_t
iprev_key(const struct check *chk, unsigned char *k)
{
	k[0] = chk->client.family == AF_INET ? 4 : 6;
	memcpy(k + 1, chk->client.a, 16);
	k[17] = (unsigned char)chk->cfg->ptr.max_names;
	return CHECK_IPREV_KEY_LEN;
}

static void
iprev_note_ttl(struct check *chk, const struct dns_answer *ans)
{
	if (ans->status != DNS_TEMPFAIL && ans->ttl < chk->iprev_ttl)
		chk->iprev_ttl = ans->ttl;
}

/* iprev is done: keep its result, then see whether the check is. */
static void
iprev_done(struct check *chk)
{
	unsigned char key[CHECK_IPREV_KEY_LEN];
	struct iprev_outcome o;
	time_t	now = time(NULL);

	chk->iprev_step = STEP_DONE;
	if (chk->iprev.result != IPREV_TEMPERROR) {
		iprev_kept_fill(&chk->iprev, &o);
		rcache_put(chk->ck->iprev_cache, key, iprev_key(chk, key),
		    &o, offsetof(struct iprev_outcome, name) +
		    strlen(o.name) + 1, now, now + (time_t)chk->iprev_ttl);
	}
	maybe_finish(chk);
}

/* From the cache: 1 and chk->iprev filled, or 0. */
static int
iprev_cached(struct check *chk)
{
	unsigned char key[CHECK_IPREV_KEY_LEN];
	struct iprev_outcome o;
	const void *v;
	size_t	vlen;

	v = rcache_get(chk->ck->iprev_cache, key, iprev_key(chk, key),
	    time(NULL), &vlen);
	if (v == NULL || vlen <= offsetof(struct iprev_outcome, name) ||
	    vlen > sizeof(o))
		return 0;
	memcpy(&o, v, vlen);
	o.name[vlen - offsetof(struct iprev_outcome, name) - 1] = '\0';
	chk->iprev.result = o.result;
	iprev_kept_name(&chk->iprev, o.name);
	return 1;
}

/* iprev: forward lookups of the PTR names. */
static void
iprev_fwd_cb(void *arg, const struct dns_answer *ans)
{
	struct iprev_lookup *lk = arg;
	struct check *chk = lk->chk;
	int	i;

	lk->req = NULL;
	chk->fwd_pending--;
	if (ans->status == DNS_TEMPFAIL)
		chk->fwd_temp++;
	iprev_note_ttl(chk, ans);
	for (i = 0; ans->status == DNS_OK && i < ans->nrr; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		struct netaddr a;

		memset(&a, 0, sizeof(a));
		a.family = rr->len == 4 ? AF_INET : AF_INET6;
		if (rr->len != 4 && rr->len != 16)
			continue;
		memcpy(a.a, rr->data, rr->len);
		if (netaddr_equal(&a, &chk->client)) {
			chk->iprev.result = IPREV_PASS;
			iprev_kept_name(&chk->iprev, chk->names[lk->idx]);
			break;
		}
	}
	if (chk->iprev.result == IPREV_PASS || chk->fwd_pending == 0) {
		if (chk->iprev.result != IPREV_PASS)
			chk->iprev.result = chk->fwd_temp ? IPREV_TEMPERROR :
			    IPREV_FAIL;
		for (i = 0; i < chk->nnames; i++)
			if (chk->fwd[i].req) {
				lookup_cancel(chk->fwd[i].req);
				chk->fwd[i].req = NULL;
			}
		iprev_done(chk);
	}
}

static void
iprev_ptr_cb(void *arg, const struct dns_answer *ans)
{
	struct check *chk = arg;
	int	i, j, max = chk->cfg->ptr.max_names;

	chk->ptr_req = NULL;
	iprev_note_ttl(chk, ans);
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		chk->iprev.result = IPREV_PERMERROR;
		iprev_done(chk);
		return;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
		chk->iprev.result = IPREV_TEMPERROR;
		iprev_done(chk);
		return;
	}
	if (max > CHECK_PTR_NAMES_MAX)
		max = CHECK_PTR_NAMES_MAX;
	if (max > ans->nrr)
		max = ans->nrr;
	chk->names = xcalloc((size_t)max + 1, sizeof(*chk->names));
	chk->fwd = xcalloc((size_t)max + 1, sizeof(*chk->fwd));
	for (i = 0; i < ans->nrr && chk->nnames < max; i++) {
		const char *name = (const char *)ans->rr[i].data;

		for (j = 0; j < chk->nnames; j++)
			if (strcasecmp(chk->names[j], name) == 0)
				break;
		if (j == chk->nnames)
			chk->names[chk->nnames++] = xstrdup(name);
	}
	if (chk->nnames == 0) {
		chk->iprev.result = IPREV_PERMERROR;
		iprev_done(chk);
		return;
	}
	iprev_kept_name(&chk->iprev, chk->names[0]);
	/* Start all before any can answer: callbacks never run inside
	 * lookup_dns(), so fwd_pending is complete first. */
	chk->fwd_pending = chk->nnames;
	for (i = 0; i < chk->nnames; i++) {
		chk->fwd[i].chk = chk;
		chk->fwd[i].idx = i;
		chk->fwd[i].req = lookup_dns(chk->ck->lk, chk->names[i],
		    chk->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
		    iprev_fwd_cb, &chk->fwd[i]);
	}
}

static void
iprev_start(struct check *chk)
{
	char	name[NETADDR_PTR_MAX];

	if (iprev_cached(chk)) {
		/* check_start() answers from the loop */
		stats_iprev_cached();
		chk->iprev_step = STEP_DONE;
		return;
	}
	if (netaddr_ptr_name(&chk->client, name, sizeof(name)) < 0) {
		chk->iprev.result = IPREV_TEMPERROR;
		chk->iprev_step = STEP_DONE;
		return;
	}
	chk->iprev_ttl = CHECK_IPREV_TTL_MAX;
	chk->iprev_step = STEP_RUNNING;
	chk->ptr_req = lookup_dns(chk->ck->lk, name, DNS_T_PTR, iprev_ptr_cb,
	    chk);
}

/* An SPF outcome is in (from a worker or the result cache). */
static void
spf_store(struct check *chk, int helo_identity, const struct spf_outcome *out)
{
	if (helo_identity) {
		spf_kept_set(&chk->helo, out);
		chk->helo.identity = SPF_ID_HELO;
		chk->helo_step = STEP_DONE;
		return;
	}
	spf_kept_set(&chk->mailfrom, out);
	/* RFC 7208 2.4: the null sender is checked as postmaster@HELO. */
	chk->mailfrom.identity = chk->req->sender[0] ? SPF_ID_MAILFROM :
	    SPF_ID_HELO;
	chk->mf_step = STEP_DONE;
}

static void
helo_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->helo_eval = NULL;
	spf_store(chk, 1, out);
	maybe_finish(chk);
}

static void
mailfrom_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->mf_eval = NULL;
	spf_store(chk, 0, out);
	maybe_finish(chk);
}

static void
spf_start(struct check *chk, int helo_identity)
{
	struct spf_query q;
	struct spf_kept *o = helo_identity ? &chk->helo : &chk->mailfrom;
	struct spf_outcome cached;

	memset(&q, 0, sizeof(q));
	q.ip = chk->client;
	q.helo = chk->req->helo_name;
	q.sender = chk->req->sender;
	q.identity = helo_identity ? SPF_ID_HELO : SPF_ID_MAILFROM;
	if (chk->req->helo_name[0] == '\0' && (helo_identity ||
	    chk->req->sender[0] == '\0')) {
		/* Nothing to check: no HELO name and no sender. */
		o->result = SPF_RES_NONE;
		o->identity = SPF_ID_HELO;
		if (helo_identity)
			chk->helo_step = STEP_DONE;
		else
			chk->mf_step = STEP_DONE;
		return;
	}
	if (lookup_spf_cached(chk->ck->lk, &q, &cached)) {
		/* check_start() answers from the loop */
		spf_store(chk, helo_identity, &cached);
		return;
	}
	q.cache_checked = 1;
	if (helo_identity) {
		chk->helo_step = STEP_RUNNING;
		chk->helo_eval = lookup_spf(chk->ck->lk, &q, helo_cb, chk);
	} else {
		chk->mf_step = STEP_RUNNING;
		chk->mf_eval = lookup_spf(chk->ck->lk, &q, mailfrom_cb, chk);
	}
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct check *chk = arg;

	(void)fd;
	(void)what;
	if (chk->ready_action)
		check_reply(chk, chk->ready_action);
	else
		maybe_finish(chk);
}

/* Answer without lookups, from the event loop. */
static void
check_answer_soon(struct check *chk, const char *action)
{
	free(chk->ready_action);
	chk->ready_action = action ? xstrdup(action) : NULL;
	event_active(chk->kick, 0, 0);
}

static void
fwd_spf_cb(void *arg, const struct spf_outcome *out)
{
	struct fwd_eval *fe = arg;
	struct check *chk = fe->chk;
	int	i;

	fe->eval = NULL;
	chk->fwdspf_pending--;
	if (out->result == SPF_RES_PASS && chk->fwd_spf == NULL &&
	    chk->cfg->fwd_spf_domains[fe->idx][0] != '\0')
		chk->fwd_spf = xstrndup(chk->cfg->fwd_spf_domains[fe->idx],
		    DNS_NAME_MAX);
	if (chk->fwd_spf != NULL || chk->fwdspf_pending == 0) {
		chk->fwd_step = STEP_DONE;
		for (i = 0; i < chk->nfwd_evals; i++)
			if (chk->fwd_evals[i].eval) {
				lookup_cancel(chk->fwd_evals[i].eval);
				chk->fwd_evals[i].eval = NULL;
			}
		maybe_finish(chk);
	}
}

/* SPF of postmaster@DOMAIN against the client, for every forwarder
 * domain at once; the first pass wins. */
static void
fwd_spf_start(struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	char	sender[DNS_NAME_MAX + 16];
	struct spf_query q;
	int	i;

	chk->fwd_step = STEP_RUNNING;
	chk->nfwd_evals = cfg->nfwd_spf_domains;
	chk->fwdspf_pending = chk->nfwd_evals;
	chk->fwd_evals = xcalloc((size_t)chk->nfwd_evals + 1,
	    sizeof(*chk->fwd_evals));
	for (i = 0; i < chk->nfwd_evals; i++) {
		memset(&q, 0, sizeof(q));
		snprintf(sender, sizeof(sender), "postmaster@%s",
		    cfg->fwd_spf_domains[i]);
		q.ip = chk->client;
		q.helo = chk->req->helo_name;
		q.sender = sender;
		q.identity = SPF_ID_MAILFROM;
		chk->fwd_evals[i].chk = chk;
		chk->fwd_evals[i].idx = i;
		chk->fwd_evals[i].eval = lookup_spf(chk->ck->lk, &q,
		    fwd_spf_cb, &chk->fwd_evals[i]);
	}
}

/* Reuse what earlier requests of the same message computed. */
static void
session_load(struct check *chk)
{
	struct check_session *sess = chk->sess;
	const struct policy_req *r = chk->req;

	if (sess->instance != NULL && (!r->instance[0] ||
	    strcmp(sess->instance, r->instance) != 0 ||
	    strcmp(sess->client, r->client_address) != 0 ||
	    strcmp(sess->helo_name, r->helo_name) != 0 ||
	    strcmp(sess->sender, r->sender) != 0))
		session_forget(sess);
	if (sess->instance == NULL)
		return;
	if (sess->have_iprev) {
		iprev_kept_copy(&chk->iprev, &sess->res->iprev);
		chk->iprev_cached = 1;
	}
	if (sess->have_helo) {
		spf_kept_copy(&chk->helo, &sess->res->helo);
		chk->helo_cached = 1;
	}
	if (sess->have_mf) {
		spf_kept_copy(&chk->mailfrom, &sess->res->mailfrom);
		chk->mf_cached = 1;
	}
	if (sess->have_fwd_spf) {
		free(chk->fwd_spf);
		chk->fwd_spf = xstrdup(sess->fwd_spf);
		chk->fwd_cached = 1;
	}
}

static int
state_is(const char *state, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(state, *list) == 0)
			return 1;
	return 0;
}

/* The client's address class when it is one NAT or containers use. */
static const char *
nat_class(const struct netaddr *a)
{
	enum netaddr_class c = netaddr_classify(a);

	switch (c) {
	case NETADDR_PRIVATE:
	case NETADDR_CGNAT:
	case NETADDR_ULA:
	case NETADDR_LINKLOCAL:
		return netaddr_class_str(c);
	default:
		return NULL;
	}
}

void
check_start(struct check_session *sess, struct policy_req *req, check_cb cb,
    void *arg)
{
	static const char *const early[] = {"CONNECT", "EHLO", "HELO", NULL};
	static const char *const message[] = {"MAIL", "RCPT", "DATA",
	"END-OF-MESSAGE", NULL};
	static const char *const prepend_ok[] = {"MAIL", "RCPT", "DATA", NULL};
	struct checker *ck = sess->ck;
	struct check *chk = check_new(sess);
	const struct cfg *cfg, *eff;
	struct cfg effective;
	struct timeval tv;
	char	ip[NETADDR_STR_MAX], applied[CHECK_APPLIED_LEN];
	char	text[CHECK_SKIP_TEXT_LEN];
	long	ms;
	int	is_early, is_message, want_iprev, want_helo, want_mf, want_fwd;

	stats_inflight(1);
	chk->cfg = cfg_ref(ck->cfg);
	chk->req = req;
	chk->cb = cb;
	chk->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &chk->start);
	sess->inflight = chk;
	cfg = chk->cfg;
	/* Most requests match no section: they use cfg itself, and only
	 * those that do pay for a copy. */
	cfg_effective(cfg, req->policy_context, req->recipient, &effective,
	    applied, sizeof(applied));
	if (applied[0] != '\0') {
		chk->eff_copy = xmalloc(sizeof(*chk->eff_copy));
		*chk->eff_copy = effective;
		chk->eff = chk->eff_copy;
		chk->applied = xstrdup(applied);
	} else
		chk->eff = cfg;
	eff = chk->eff;

	is_early = state_is(req->protocol_state, early);
	is_message = state_is(req->protocol_state, message);
	chk->header_ok = state_is(req->protocol_state, prepend_ok);

	if (!is_early && !is_message) {
		check_answer_soon(chk, "DUNNO");
		return;
	}
	if (netaddr_parse(req->client_address, &chk->client) < 0) {
		char	esc[LOG_ESCAPE_MAX * 4 + 8];

		log_warn("%s: client_address \"%s\" is not an IP address; "
		    "answering DUNNO", req->queue_id[0] ? req->queue_id :
		    "NOQUEUE", log_escape(req->client_address, LOG_ESCAPE_MAX,
		    esc, sizeof(esc)));
		check_answer_soon(chk, "DUNNO");
		return;
	}
	session_load(chk);

	if (netaddr_list_match(cfg->skip_networks, &chk->client)) {
		snprintf(text, sizeof(text),
		    "client %s is in skip.networks, not checked",
		    netaddr_format(&chk->client, ip, sizeof(ip)));
		chk->skip_reason = chk->skip_text = xstrdup(text);
	} else if (cfg->skip_sasl && req->sasl_username[0])
		chk->skip_reason = "SASL-authenticated client, not checked";
	if (chk->skip_reason) {
		check_answer_soon(chk, NULL);
		return;
	}
	if ((chk->nat = nat_class(&chk->client)) != NULL)
		log_warn_rl("nat", CHECK_NAT_RL_INTERVAL, "client %s is a %s "
		    "address: Postfix sees a NAT gateway or a container "
		    "bridge, not the sending host, so iprev and SPF results "
		    "for it mean nothing; %s. Publish the port without NAT "
		    "(e.g. Docker's host network) or list the network in "
		    "skip.networks", netaddr_format(&chk->client, ip,
		    sizeof(ip)), chk->nat, cfg->private_clients ==
		    CFG_PRIVATE_ACCEPT ? "not refusing it" :
		    "private_clients = check: applying the actions anyway");
	if (netaddr_list_match(cfg->fwd_networks, &chk->client))
		check_forwarder(chk);

	want_iprev = eff->ptr.enabled || cfg->nfwd_names > 0;
	want_helo = eff->spf.helo && (is_early ? req->helo_name[0] != '\0' :
	    req->sender[0] != '\0' || !eff->spf.mailfrom);
	want_mf = eff->spf.mailfrom && is_message;
	want_fwd = want_mf && cfg->nfwd_spf_domains > 0 && chk->fwd_by == NULL;

	if (want_iprev) {
		if (chk->iprev_cached) {
			chk->iprev_step = STEP_DONE;
			chk->used_cache = 1;
		} else {
			chk->ran = 1;
			iprev_start(chk);
		}
	}
	if (want_helo) {
		if (chk->helo_cached) {
			chk->helo_step = STEP_DONE;
			chk->used_cache = 1;
		} else {
			chk->ran = 1;
			spf_start(chk, 1);
		}
	}
	if (want_mf) {
		if (chk->mf_cached) {
			chk->mf_step = STEP_DONE;
			chk->used_cache = 1;
		} else {
			chk->ran = 1;
			spf_start(chk, 0);
		}
	}
	if (want_fwd) {
		if (chk->fwd_cached)
			chk->fwd_step = STEP_DONE;
		else
			fwd_spf_start(chk);
	}

	/* Nothing started (all disabled, cached or answered locally):
	 * decide now, from the loop. */
	if (chk->iprev_step != STEP_RUNNING && chk->helo_step != STEP_RUNNING &&
	    chk->mf_step != STEP_RUNNING && chk->fwd_step != STEP_RUNNING) {
		check_answer_soon(chk, NULL);
		return;
	}
	ms = (long)cfg->request_timeout * 1000 - CHECK_DEADLINE_MARGIN_MS;
	if (ms < CHECK_DEADLINE_MARGIN_MS)
		ms = CHECK_DEADLINE_MARGIN_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(chk->deadline, &tv);
}
