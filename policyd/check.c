/*++
 * NAME
 *	check 3
 * SUMMARY
 *	run the iprev and SPF checks of one policy request
 * SYNOPSIS
 *	#include "policyd/check.h"
 *
 *	struct checker *checker_new(struct event_base *base, struct dns *dns,
 *		struct spfpool *pool, struct cfg *cfg);
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
 *	spfpool(3)), and hands the results to decide(3) when the last one
 *	is in or when the deadline fires, whichever comes first. A check
 *	that did not finish by the deadline counts as temperror.
 *
 *	iprev (RFC 8601 2.7.3): PTR of the client, then A (IPv4 client) or
 *	AAAA (IPv6 client) of up to ptr.max_names of the names, all in
 *	parallel; pass as soon as one name resolves back; permerror when
 *	there is no PTR record; temperror when a lookup failed temporarily
 *	and no name passed; fail otherwise.
 *
 *	A session remembers the decision for the current instance: later
 *	recipients of the same message get the same reject or defer, or
 *	DUNNO after the header was prepended once (with header = both, the
 *	second header goes out with the next request of the message).
 * DIAGNOSTICS
 *	One log line per request (SPEC 2.5), at warning level for a
 *	"warn" action. A request whose client_address is not an address
 *	is answered DUNNO with a warning.
 * LIMITS
 *	CHECK_PTR_NAMES_MAX PTR names are looked up at most; the answer
 *	comes CHECK_DEADLINE_MARGIN_MS before request_timeout.
 *--*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"
#include "policyd/check.h"
#include "policyd/decide.h"

#define CHECK_PTR_NAMES_MAX		32
#define CHECK_DEADLINE_MARGIN_MS	250

struct checker {
	struct event_base *base;
	struct dns *dns;
	struct spfpool *pool;
	struct cfg *cfg;
};

struct check;

struct check_session {
	struct checker *ck;
	struct check *inflight;
	/* The decision for the current instance. */
	char	*instance;
	int	decided;
	enum decide_verdict verdict;
	char	*action;		/* repeated for reject/defer */
	char	*pending;		/* a header still to prepend */
};

enum step { STEP_OFF, STEP_RUNNING, STEP_DONE };

struct iprev_lookup {
	struct check *chk;
	struct dns_req *req;
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
	struct event *deadline;
	struct event *kick;		/* answers that need no lookup */
	char	*ready_action;		/* what the kick answers */

	struct netaddr client;
	int	header_ok;
	const char *skip_reason;
	char	skip_text[128];

	/* iprev */
	enum step iprev_step;
	struct iprev_outcome iprev;
	struct dns_req *ptr_req;
	struct iprev_lookup fwd[CHECK_PTR_NAMES_MAX];
	char	*names[CHECK_PTR_NAMES_MAX];
	int	nnames;
	int	fwd_pending;
	int	fwd_temp;

	/* SPF */
	enum step helo_step, mf_step;
	struct spfpool_eval *helo_eval, *mf_eval;
	struct spf_outcome helo, mailfrom;
};

static void check_finish(struct check *);

struct checker *
checker_new(struct event_base *base, struct dns *dns, struct spfpool *pool,
    struct cfg *cfg)
{
	struct checker *ck = xcalloc(1, sizeof(*ck));

	ck->base = base;
	ck->dns = dns;
	ck->pool = pool;
	ck->cfg = cfg_ref(cfg);
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
	if (ck == NULL)
		return;
	cfg_unref(ck->cfg);
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
	free(sess->action);
	free(sess->pending);
	sess->instance = sess->action = sess->pending = NULL;
	sess->decided = 0;
}

/* Stop every lookup still running; no callbacks come afterwards. */
static void
check_stop_lookups(struct check *chk)
{
	int	i;

	if (chk->ptr_req) {
		dns_cancel(chk->ptr_req);
		chk->ptr_req = NULL;
	}
	for (i = 0; i < chk->nnames; i++)
		if (chk->fwd[i].req) {
			dns_cancel(chk->fwd[i].req);
			chk->fwd[i].req = NULL;
		}
	if (chk->helo_eval) {
		spfpool_cancel(chk->helo_eval);
		chk->helo_eval = NULL;
	}
	if (chk->mf_eval) {
		spfpool_cancel(chk->mf_eval);
		chk->mf_eval = NULL;
	}
}

static void
check_free(struct check *chk)
{
	int	i;

	check_stop_lookups(chk);
	if (chk->deadline)
		event_free(chk->deadline);
	if (chk->kick)
		event_free(chk->kick);
	for (i = 0; i < chk->nnames; i++)
		free(chk->names[i]);
	free(chk->ready_action);
	proto_req_free(chk->req);
	cfg_unref(chk->cfg);
	free(chk);
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
	char	*copy = xstrdup(action);

	chk->sess->inflight = NULL;
	check_free(chk);
	cb(arg, copy);
	free(copy);
}

/* The decision log line (SPEC 2.5). */
static void
check_log(struct check *chk, const struct decision *d, const char *action_word,
    int cached)
{
	const struct policy_req *r = chk->req;
	char	name[LOG_ESCAPE_MAX * 4 + 8], helo[LOG_ESCAPE_MAX * 4 + 8];
	char	from[LOG_ESCAPE_MAX * 4 + 8], ip[NETADDR_STR_MAX];
	char	iprev[32] = "", spf_helo[32] = "", spf_mf[32] = "", extra[64] = "";
	const char *queue = r->queue_id[0] ? r->queue_id : "NOQUEUE";

	log_escape(r->client_name[0] ? r->client_name : "unknown",
	    LOG_ESCAPE_MAX, name, sizeof(name));
	log_escape(r->helo_name, LOG_ESCAPE_MAX, helo, sizeof(helo));
	log_escape(r->sender, LOG_ESCAPE_MAX, from, sizeof(from));
	log_escape(r->client_address, LOG_ESCAPE_MAX, ip, sizeof(ip));
	if (chk->iprev_step != STEP_OFF)
		snprintf(iprev, sizeof(iprev), " iprev=%s",
		    iprev_result_str(chk->iprev.result));
	if (chk->helo_step != STEP_OFF)
		snprintf(spf_helo, sizeof(spf_helo), " spf_helo=%s",
		    spf_result_str(chk->helo.result));
	if (chk->mf_step != STEP_OFF)
		snprintf(spf_mf, sizeof(spf_mf), " spf_mailfrom=%s",
		    spf_result_str(chk->mailfrom.result));
	if (d && d->would != d->verdict)
		snprintf(extra, sizeof(extra), " would=%s",
		    decide_verdict_str(d->would));
	if (chk->skip_reason)
		snprintf(extra, sizeof(extra), " skip=%s", chk->skip_reason);
	(d && d->would == DECIDE_REJECT && d->verdict == DECIDE_ACCEPT &&
	    !chk->cfg->report_only ? log_warn : log_info)(
	    "%s: client=%s[%s] helo=<%s> from=<%s>%s%s%s action=%s"
	    "%s%s%s%s ms=%ld", queue, name, ip, helo, from,
	    iprev, spf_helo, spf_mf, action_word,
	    d && d->code[0] ? " code=" : "", d && d->code[0] ? d->code : "",
	    extra, cached ? " cached=yes" : "", elapsed_ms(&chk->start));
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

static void
check_finish(struct check *chk)
{
	struct check_session *sess = chk->sess;
	struct decide_in in;
	struct decision d;

	check_stop_lookups(chk);
	memset(&in, 0, sizeof(in));
	in.req = chk->req;
	in.client = &chk->client;
	in.skip_reason = chk->skip_reason;
	in.header_ok = chk->header_ok;
	in.iprev = chk->iprev;
	in.helo = chk->helo_step == STEP_OFF ? NULL : &chk->helo;
	in.mailfrom = chk->mf_step == STEP_OFF ? NULL : &chk->mailfrom;
	decide(chk->cfg, &in, &d);

	if (chk->req->instance[0] && chk->header_ok) {
		session_forget(sess);
		sess->instance = xstrdup(chk->req->instance);
		sess->decided = 1;
		sess->verdict = d.verdict;
		sess->action = xstrdup(d.action);
		if (d.verdict == DECIDE_ACCEPT && d.nheaders > 1)
			sess->pending = xstrdup(d.headers[1]);
	}
	check_log(chk, &d, action_word(d.action), 0);
	check_reply(chk, d.action);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct check *chk = arg;

	(void)fd;
	(void)what;
	if (chk->iprev_step == STEP_RUNNING) {
		chk->iprev.result = IPREV_TEMPERROR;
		chk->iprev_step = STEP_DONE;
	}
	if (chk->helo_step == STEP_RUNNING) {
		chk->helo.result = SPF_RES_TEMPERROR;
		snprintf(chk->helo.problem, sizeof(chk->helo.problem),
		    "no answer before the deadline");
	}
	if (chk->mf_step == STEP_RUNNING) {
		chk->mailfrom.result = SPF_RES_TEMPERROR;
		snprintf(chk->mailfrom.problem, sizeof(chk->mailfrom.problem),
		    "no answer before the deadline");
	}
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
	    chk->mf_step != STEP_RUNNING)
		check_finish(chk);
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
			snprintf(chk->iprev.name, sizeof(chk->iprev.name), "%s",
			    chk->names[lk->idx]);
			break;
		}
	}
	if (chk->iprev.result == IPREV_PASS || chk->fwd_pending == 0) {
		if (chk->iprev.result != IPREV_PASS)
			chk->iprev.result = chk->fwd_temp ? IPREV_TEMPERROR :
			    IPREV_FAIL;
		chk->iprev_step = STEP_DONE;
		for (i = 0; i < chk->nnames; i++)
			if (chk->fwd[i].req) {
				dns_cancel(chk->fwd[i].req);
				chk->fwd[i].req = NULL;
			}
		maybe_finish(chk);
	}
}

static void
iprev_ptr_cb(void *arg, const struct dns_answer *ans)
{
	struct check *chk = arg;
	int	i, j, max = chk->cfg->ptr.max_names;

	chk->ptr_req = NULL;
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		chk->iprev.result = IPREV_PERMERROR;
		chk->iprev_step = STEP_DONE;
		maybe_finish(chk);
		return;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
		chk->iprev.result = IPREV_TEMPERROR;
		chk->iprev_step = STEP_DONE;
		maybe_finish(chk);
		return;
	}
	if (max > CHECK_PTR_NAMES_MAX)
		max = CHECK_PTR_NAMES_MAX;
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
		chk->iprev_step = STEP_DONE;
		maybe_finish(chk);
		return;
	}
	snprintf(chk->iprev.name, sizeof(chk->iprev.name), "%s",
	    chk->names[0]);
	/* Start all before any can answer: callbacks never run inside
	 * dns_query(), so fwd_pending is complete first. */
	chk->fwd_pending = chk->nnames;
	for (i = 0; i < chk->nnames; i++) {
		chk->fwd[i].chk = chk;
		chk->fwd[i].idx = i;
		chk->fwd[i].req = dns_query(chk->ck->dns, chk->names[i],
		    chk->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
		    iprev_fwd_cb, &chk->fwd[i]);
	}
}

static void
iprev_start(struct check *chk)
{
	char	name[NETADDR_PTR_MAX];

	if (netaddr_ptr_name(&chk->client, name, sizeof(name)) < 0) {
		chk->iprev.result = IPREV_TEMPERROR;
		chk->iprev_step = STEP_DONE;
		return;
	}
	chk->iprev_step = STEP_RUNNING;
	chk->ptr_req = dns_query(chk->ck->dns, name, DNS_T_PTR, iprev_ptr_cb,
	    chk);
}

static void
helo_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->helo_eval = NULL;
	chk->helo = *out;
	chk->helo.identity = SPF_ID_HELO;
	chk->helo_step = STEP_DONE;
	maybe_finish(chk);
}

static void
mailfrom_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->mf_eval = NULL;
	chk->mailfrom = *out;
	/* RFC 7208 2.4: the null sender is checked as postmaster@HELO. */
	chk->mailfrom.identity = chk->req->sender[0] ? SPF_ID_MAILFROM :
	    SPF_ID_HELO;
	chk->mf_step = STEP_DONE;
	maybe_finish(chk);
}

static void
spf_start(struct check *chk, int helo_identity)
{
	struct spf_query q;
	struct spf_outcome *o = helo_identity ? &chk->helo : &chk->mailfrom;

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
	if (helo_identity) {
		chk->helo_step = STEP_RUNNING;
		chk->helo_eval = spfpool_eval(chk->ck->pool, &q, helo_cb, chk);
	} else {
		chk->mf_step = STEP_RUNNING;
		chk->mf_eval = spfpool_eval(chk->ck->pool, &q, mailfrom_cb, chk);
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

/* A later request of a message already decided. */
static int
check_from_cache(struct check *chk)
{
	struct check_session *sess = chk->sess;
	const char *action = "DUNNO";
	char	buf[PROTO_ACTION_MAX];

	if (!sess->decided || !chk->req->instance[0] ||
	    strcmp(sess->instance, chk->req->instance) != 0)
		return 0;
	if (sess->verdict != DECIDE_ACCEPT)
		action = sess->action;
	else if (sess->pending && chk->header_ok) {
		snprintf(buf, sizeof(buf), "PREPEND %s", sess->pending);
		free(sess->pending);
		sess->pending = NULL;
		action = buf;
	}
	check_log(chk, NULL, action_word(action), 1);
	check_answer_soon(chk, action);
	return 1;
}

static int
state_is(const char *state, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(state, *list) == 0)
			return 1;
	return 0;
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
	struct check *chk = xcalloc(1, sizeof(*chk));
	const struct cfg *cfg;
	struct timeval tv;
	long	ms;
	int	is_early, is_message;

	chk->sess = sess;
	chk->ck = ck;
	chk->cfg = cfg_ref(ck->cfg);
	chk->req = req;
	chk->cb = cb;
	chk->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &chk->start);
	chk->kick = event_new(ck->base, -1, 0, kick_cb, chk);
	sess->inflight = chk;
	cfg = chk->cfg;

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
	if (req->instance[0] && sess->instance &&
	    strcmp(sess->instance, req->instance) != 0)
		session_forget(sess);
	if (check_from_cache(chk))
		return;

	if (netaddr_list_match(cfg->skip_networks, &chk->client)) {
		char	ip[NETADDR_STR_MAX];

		snprintf(chk->skip_text, sizeof(chk->skip_text),
		    "client %s is in skip.networks, not checked",
		    netaddr_format(&chk->client, ip, sizeof(ip)));
		chk->skip_reason = chk->skip_text;
	} else if (cfg->skip_sasl && req->sasl_username[0]) {
		snprintf(chk->skip_text, sizeof(chk->skip_text),
		    "SASL-authenticated client, not checked");
		chk->skip_reason = chk->skip_text;
	}
	if (chk->skip_reason) {
		check_answer_soon(chk, NULL);
		return;
	}

	if (cfg->ptr.enabled)
		iprev_start(chk);
	if (cfg->spf.helo && (is_early ? req->helo_name[0] != '\0' :
	    req->sender[0] != '\0' || !cfg->spf.mailfrom))
		spf_start(chk, 1);
	if (cfg->spf.mailfrom && is_message)
		spf_start(chk, 0);

	ms = (long)cfg->request_timeout * 1000 - CHECK_DEADLINE_MARGIN_MS;
	if (ms < CHECK_DEADLINE_MARGIN_MS)
		ms = CHECK_DEADLINE_MARGIN_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	chk->deadline = evtimer_new(ck->base, deadline_cb, chk);
	evtimer_add(chk->deadline, &tv);
	/* Nothing started (all disabled or answered locally): decide now,
	 * from the loop. */
	if (chk->iprev_step != STEP_RUNNING && chk->helo_step != STEP_RUNNING &&
	    chk->mf_step != STEP_RUNNING)
		check_answer_soon(chk, NULL);
}
