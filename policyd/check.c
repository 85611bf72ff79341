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
 *	state and its effective configuration, asks every row of
 *	check_table (checks(3): iprev, SPF HELO, SPF MAIL FROM, forwarder
 *	SPF, HELO address, each its own file) whether it is wanted, starts the wanted
 *	ones at once and in parallel (their lookups run on the lookup
 *	thread, lookup(3)), and hands the results to decide(3) when the
 *	last one is in or when the deadline fires, whichever comes first.
 *	A check that did not finish by the deadline counts as what its
 *	row's deadline() makes of it (temperror for iprev and SPF).
 *
 *	The configuration in effect for a request is the top level with
 *	the context section of its policy_context, the domain section of
 *	its recipient and the sender section of its MAIL FROM domain
 *	layered on (cfg_effective()); it decides which checks are needed
 *	and what their results ask for.
 *
 *	Skipped clients: skip.networks and SASL clients are answered at
 *	once; a client whose forward-confirmed PTR name is in
 *	skip.client_names, or whose HELO name is in skip.helo_names and
 *	resolves to its address, is known only once those checks are in,
 *	and is then decided as skipped whatever the other results say.
 *
 *	A session (session(3)) remembers the check RESULTS of the current
 *	instance, not a verdict: every later request of the message runs
 *	decide(3) again from the cached results under its own effective
 *	configuration, so two recipients with different policies get their
 *	own answers, and a check only the second policy needs is run then.
 *	The header is
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
 *	One log line per request (declog(3)). A request whose
 *	client_address is not an address is answered DUNNO with a warning.
 * LIMITS
 *	The answer comes CHECK_DEADLINE_MARGIN_MS before request_timeout;
 *	CHECK_NAT_RL_INTERVAL seconds between NAT warnings,
 *	CHECK_WARN_RL_INTERVAL between deadline or bad client_address
 *	warnings (log_warn_rl(3): the next one says how many were
 *	suppressed); CHECK_SPARES
 *	finished requests are kept for reuse.
 *--*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/rcache.h"
#include "policyd/check.h"
#include "policyd/checks.h"
#include "policyd/decide.h"
#include "policyd/declog.h"
#include "policyd/session.h"
#include "policyd/stats.h"

#define CHECK_DEADLINE_MARGIN_MS	250
#define CHECK_NAT_RL_INTERVAL		60
#define CHECK_WARN_RL_INTERVAL		10	/* other warnings a peer can cause */
#define CHECK_APPLIED_LEN		(2 * DNS_NAME_MAX + 24)
#define CHECK_IPREV_CACHE_MAX		32768	/* iprev results kept */
#define CHECK_SKIP_TEXT_LEN		(DNS_NAME_MAX + 96)
#define CHECK_FWD_TEXT_LEN		(DNS_NAME_MAX + 64)
#define CHECK_SPARES			64	/* finished checks kept */

/* The checks, in enum check_id order: they start and are logged so. */
const struct check_ops *const check_table[CHECK_NCHECKS] = {
	[CHECK_IPREV] = &check_iprev_ops,
	[CHECK_SPF_HELO] = &check_spf_helo_ops,
	[CHECK_SPF_MAILFROM] = &check_spf_mailfrom_ops,
	[CHECK_FWD_SPF] = &check_fwd_spf_ops,
	[CHECK_HELO_ADDR] = &check_helo_addr_ops,
};

static void check_finish(struct check *);
static const char *check_skipped_late(struct check *);
static void kick_cb(evutil_socket_t, short, void *);
static void deadline_cb(evutil_socket_t, short, void *);

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

/* Stop every check still running; no callbacks come afterwards. */
static void
check_stop_all(struct check *chk)
{
	int	i;

	for (i = 0; i < CHECK_NCHECKS; i++)
		check_table[i]->stop(chk, &chk->step[i]);
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

	check_stop_all(chk);
	event_del(kick);
	event_del(deadline);
	for (i = 0; i < CHECK_NCHECKS; i++)
		kept_clear(&chk->step[i].res);
	free(chk->ready_action);
	free(chk->eff_copy);
	free(chk->applied);
	free(chk->skip_text);
	free(chk->fwd_text);
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

/* Is the client a trusted forwarder? Sets fwd_by and fwd_text. */
static void
check_forwarder(struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	const struct check_step *iprev = &chk->step[CHECK_IPREV];
	const char *name = kept_str(&iprev->res, 0);
	const char *fwd_spf = kept_str(&chk->step[CHECK_FWD_SPF].res, 0);
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
	if (iprev->state != CHECK_OFF && iprev->res.result == IPREV_PASS)
		for (i = 0; i < cfg->nfwd_names; i++)
			if (cfg_name_in_domain(name, cfg->fwd_names[i])) {
				chk->fwd_by = "name";
				snprintf(text, sizeof(text), "%s", name);
				chk->fwd_text = xstrdup(text);
				return;
			}
	if (fwd_spf[0]) {
		chk->fwd_by = "spf";
		snprintf(text, sizeof(text), "%s (SPF pass for %s)",
		    netaddr_format(&chk->client, ip, sizeof(ip)), fwd_spf);
		chk->fwd_text = xstrdup(text);
	}
}

static void
count_results(const struct check *chk)
{
	int	i;

	for (i = 0; i < CHECK_NCHECKS; i++)
		if (check_table[i]->count != NULL &&
		    chk->step[i].state == CHECK_DONE && !chk->step[i].cached)
			check_table[i]->count(&chk->step[i]);
}

static void
check_finish(struct check *chk)
{
	struct check_session *sess = chk->sess;
	const struct check_step *st = chk->step;
	struct decide_in in;
	struct decision d;
	struct spf_outcome helo, mailfrom;
	const char *action;
	char	buf[PROTO_ACTION_MAX];
	int	message_state, i;

	check_stop_all(chk);
	/* Unfinished checks (deadline) count as done with what they have. */
	for (i = 0; i < CHECK_NCHECKS; i++)
		if (chk->step[i].state == CHECK_RUNNING)
			chk->step[i].state = CHECK_DONE;
	if (!chk->skip_reason)
		chk->skip_reason = check_skipped_late(chk);
	if (!chk->skip_reason)
		check_forwarder(chk);

	memset(&in, 0, sizeof(in));
	in.req = chk->req;
	in.client = &chk->client;
	in.skip_reason = chk->skip_reason;
	in.header_ok = chk->header_ok;
	if (chk->eff->ptr.enabled && st[CHECK_IPREV].state != CHECK_OFF)
		check_iprev_fill(&st[CHECK_IPREV].res, &in.iprev);
	else
		in.iprev.result = IPREV_NOTCHECKED;
	if (st[CHECK_SPF_HELO].state != CHECK_OFF) {
		check_spf_fill(&st[CHECK_SPF_HELO].res, &helo);
		in.helo = &helo;
	}
	if (st[CHECK_SPF_MAILFROM].state != CHECK_OFF) {
		check_spf_fill(&st[CHECK_SPF_MAILFROM].res, &mailfrom);
		in.mailfrom = &mailfrom;
	}
	in.forwarder = chk->fwd_by ? chk->fwd_text : NULL;
	in.nat = chk->nat;
	session_store(sess, chk->req, chk->step);
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
	declog_write(chk, &d,
	    proto_verdict_str(proto_action_verdict(action)), chk->used_cache && !chk->ran);
	check_reply(chk, action);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct check *chk = arg;
	int	i;

	(void)fd;
	(void)what;
	stats_deadline();
	for (i = 0; i < CHECK_NCHECKS; i++)
		if (chk->step[i].state == CHECK_RUNNING &&
		    check_table[i]->deadline != NULL)
			check_table[i]->deadline(chk, &chk->step[i]);
	/* Slow DNS is the sender's to arrange: rate-limited. */
	log_warn_rl("deadline", CHECK_WARN_RL_INTERVAL, "%s: deadline of %d "
	    "s reached for client %s; unfinished checks count as temperror", chk->req->queue_id[0] ?
	    chk->req->queue_id : "NOQUEUE", chk->cfg->request_timeout,
	    chk->req->client_address);
	check_finish(chk);
}

static int
check_running(const struct check *chk)
{
	int	i;

	for (i = 0; i < CHECK_NCHECKS; i++)
		if (chk->step[i].state == CHECK_RUNNING)
			return 1;
	return 0;
}

int
check_answer_has(const struct dns_answer *ans, const struct netaddr *addr)
{
	struct netaddr a;
	int	i;

	for (i = 0; ans->status == DNS_OK && i < ans->nrr; i++) {
		const struct dns_rr *rr = &ans->rr[i];

		if (rr->len != 4 && rr->len != 16)
			continue;
		memset(&a, 0, sizeof(a));
		a.family = rr->len == 4 ? AF_INET : AF_INET6;
		memcpy(a.a, rr->data, rr->len);
		if (netaddr_equal(&a, addr))
			return 1;
	}
	return 0;
}

void
check_step_done(struct check *chk)
{
	if (!check_running(chk))
		check_finish(chk);
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
		check_step_done(chk);
}

/* Answer without lookups, from the event loop. */
static void
check_answer_soon(struct check *chk, const char *action)
{
	free(chk->ready_action);
	chk->ready_action = action ? xstrdup(action) : NULL;
	event_active(chk->kick, 0, 0);
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

/* The configuration in effect: most requests match no section and use
 * cfg itself; only those that do pay for a copy. */
static void
check_effective(struct check *chk)
{
	const struct policy_req *req = chk->req;
	struct cfg effective;
	char	applied[CHECK_APPLIED_LEN];

	cfg_effective(chk->cfg, req->policy_context, req->recipient,
	    req->sender, &effective, applied, sizeof(applied));
	if (applied[0] != '\0') {
		chk->eff_copy = xmalloc(sizeof(*chk->eff_copy));
		*chk->eff_copy = effective;
		chk->eff = chk->eff_copy;
		chk->applied = xstrdup(applied);
	} else
		chk->eff = chk->cfg;
}

/* Why the client is not checked at all, or NULL. */
static const char *
check_skipped(struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	char	ip[NETADDR_STR_MAX], text[CHECK_SKIP_TEXT_LEN];

	if (netaddr_list_match(cfg->skip_networks, &chk->client)) {
		snprintf(text, sizeof(text),
		    "client %s is in skip.networks, not checked",
		    netaddr_format(&chk->client, ip, sizeof(ip)));
		return chk->skip_text = xstrdup(text);
	}
	if (cfg->skip_sasl && chk->req->sasl_username[0])
		return "SASL-authenticated client, not checked";
	return NULL;
}

/* Why the client is not checked after all, from the checks' results, or
 * NULL: its forward-confirmed PTR name is in skip.client_names, or its
 * HELO name is in skip.helo_names and resolves to the client. */
static const char *
check_skipped_late(struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	const struct check_step *iprev = &chk->step[CHECK_IPREV];
	const struct check_step *helo = &chk->step[CHECK_HELO_ADDR];
	const char *name = kept_str(&iprev->res, 0);
	char	text[CHECK_SKIP_TEXT_LEN];
	int	i;

	if (iprev->state != CHECK_OFF && iprev->res.result == IPREV_PASS)
		for (i = 0; i < cfg->nskip_client_names; i++)
			if (cfg_name_in_domain(name, cfg->skip_client_names[i])) {
				snprintf(text, sizeof(text), "client name %s is "
				    "in skip.client_names, not checked", name);
				return chk->skip_text = xstrdup(text);
			}
	if (helo->state != CHECK_OFF && helo->res.result == IPREV_PASS) {
		snprintf(text, sizeof(text), "HELO name %.*s resolves to the "
		    "client and is in skip.helo_names, not checked",
		    DNS_NAME_MAX, chk->req->helo_name);
		return chk->skip_text = xstrdup(text);
	}
	return NULL;
}

static void
check_warn_nat(const struct check *chk)
{
	char	ip[NETADDR_STR_MAX];

	log_warn_rl("nat", CHECK_NAT_RL_INTERVAL, "client %s is a %s "
	    "address: Postfix sees a NAT gateway or a container "
	    "bridge, not the sending host, so iprev and SPF results "
	    "for it mean nothing; %s. Publish the port without NAT "
	    "(e.g. Docker's host network) or list the network in "
	    "skip.networks", netaddr_format(&chk->client, ip,
	    sizeof(ip)), chk->nat, chk->cfg->private_clients ==
	    CFG_PRIVATE_ACCEPT ? "not refusing it" :
	    "private_clients = check: applying the actions anyway");
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
	struct check_step *st;
	struct timeval tv;
	long	ms;
	int	i;

	stats_inflight(1);
	chk->cfg = cfg_ref(ck->cfg);
	chk->req = req;
	chk->cb = cb;
	chk->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &chk->start);
	sess->inflight = chk;
	check_effective(chk);

	chk->is_early = state_is(req->protocol_state, early);
	chk->header_ok = state_is(req->protocol_state, prepend_ok);
	if (!chk->is_early && !state_is(req->protocol_state, message)) {
		check_answer_soon(chk, "DUNNO");
		return;
	}
	if (netaddr_parse(req->client_address, &chk->client) < 0) {
		char	esc[LOG_ESCAPE_MAX * 4 + 8];

		log_warn_rl("client_ip", CHECK_WARN_RL_INTERVAL, "%s: "
		    "client_address \"%s\" is not an IP address; answering "
		    "DUNNO", req->queue_id[0] ? req->queue_id :
		    "NOQUEUE", log_escape(req->client_address, LOG_ESCAPE_MAX,
		    esc, sizeof(esc)));
		check_answer_soon(chk, "DUNNO");
		return;
	}
	session_load(sess, req, chk->step);
	if ((chk->skip_reason = check_skipped(chk)) != NULL) {
		check_answer_soon(chk, NULL);
		return;
	}
	if ((chk->nat = nat_class(&chk->client)) != NULL)
		check_warn_nat(chk);
	if (netaddr_list_match(chk->cfg->fwd_networks, &chk->client))
		check_forwarder(chk);

	for (i = 0; i < CHECK_NCHECKS; i++) {
		st = &chk->step[i];
		if (!check_table[i]->wanted(chk))
			continue;
		if (st->cached) {
			st->state = CHECK_DONE;
			chk->used_cache = 1;
		} else {
			chk->ran = 1;
			check_table[i]->start(chk, st);
		}
	}

	/* Nothing started (all disabled, cached or answered locally):
	 * decide now, from the loop. */
	if (!check_running(chk)) {
		check_answer_soon(chk, NULL);
		return;
	}
	ms = (long)chk->cfg->request_timeout * 1000 - CHECK_DEADLINE_MARGIN_MS;
	if (ms < CHECK_DEADLINE_MARGIN_MS)
		ms = CHECK_DEADLINE_MARGIN_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(chk->deadline, &tv);
}
