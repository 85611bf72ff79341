/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	origin 3
 * SUMMARY
 *	evaluate-now iprev and SPF of the first untrusted hop
 * SYNOPSIS
 *	#include "verifier/origin.h"
 *
 *	struct origin *origin_new(const struct origin_opts *o, char *err,
 *		size_t errlen);
 *	void origin_check(struct origin *o, struct chain *c);
 *	void origin_iprev(struct origin *o, const char *ip,
 *		struct origin_iprev *out);
 *	int origin_spf(struct origin *o, const char *ip, const char *helo,
 *		const char *sender);
 *	struct dns *origin_dns(struct origin *o);
 *	void origin_free(struct origin *o);
 * DESCRIPTION
 *	iprev follows RFC 8601 2.7.3 as the daemon does (SPEC 2.4): PTR of
 *	the address, then A (IPv4) or AAAA (IPv6) of up to ORIGIN_NAMES_MAX
 *	names; pass when one name leads back to the address, fail when none
 *	does, permerror without PTR, temperror on a temporary DNS failure.
 *	Lookups are blocking (dns_query_sync).
 *
 *	SPF runs in the daemon's sandboxed libspf2 workers (spfpool), on an
 *	event base of our own that is run until the answer comes. The
 *	identity is the envelope sender the boundary hop recorded (or
 *	Return-Path:), else the HELO name.
 *
 *	Results are cached by address, HELO and sender for the run, because
 *	a mailbox holds many messages from the same relay.
 *
 *	The results are of today's DNS, not of the delivery time: the chain
 *	says "evaluated now".
 * DIAGNOSTICS
 *	origin_new() returns the resolver's or the pool's reason.
 * LIMITS
 *	ORIGIN_NAMES_MAX PTR names, ORIGIN_CACHE_MAX cached results.
 *--*/
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spf.h"
#include "shared/spfpool.h"
#include "verifier/origin.h"

struct cache_ent {
	char	*key;
	enum chain_iprev iprev;
	int	spf;
};

struct origin {
	struct dns *sync;
	struct dns *async;
	struct event_base *base;
	struct spfpool *pool;
	struct cache_ent cache[ORIGIN_CACHE_MAX];
};

struct origin *
origin_new(const struct origin_opts *oo, char *err, size_t errlen)
{
	struct origin *o = xcalloc(1, sizeof(*o));
	struct dns_opts dopts;
	struct spfpool_opts popts;
	int i;

	memset(&dopts, 0, sizeof(dopts));
	for (i = 0; i < oo->nforward && i < DNS_FORWARD_MAX; i++)
		dopts.forward[i] = oo->forward[i];
	dopts.nforward = i;
	dopts.query_timeout = oo->timeout;
	if ((o->sync = dns_new(NULL, &dopts, err, errlen)) == NULL)
		goto fail;
	if ((o->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		goto fail;
	}
	if ((o->async = dns_new(o->base, &dopts, err, errlen)) == NULL)
		goto fail;
	memset(&popts, 0, sizeof(popts));
	popts.workers = 1;
	popts.lookup_limit = 10;
	popts.void_limit = 2;
	popts.eval_timeout = 20;
	popts.receiver = "relaytrust-verify";
	if ((o->pool = spfpool_new(o->base, o->async, &popts, err,
	    errlen)) == NULL)
		goto fail;
	return o;
fail:
	origin_free(o);
	return NULL;
}

void
origin_iprev(struct origin *o, const char *ip, struct origin_iprev *out)
{
	struct netaddr a, b;
	struct dns_answer *ptr, *fw;
	char name[NETADDR_PTR_MAX];
	int i, k, temp = 0;

	memset(out, 0, sizeof(*out));
	out->res = CHAIN_IPREV_PERMERROR;
	out->confirmed = -1;
	if (netaddr_parse(ip, &a) != 0 ||
	    netaddr_ptr_name(&a, name, sizeof(name)) != 0)
		return;
	ptr = dns_query_sync(o->sync, name, DNS_T_PTR);
	if (ptr->status == DNS_TEMPFAIL) {
		dns_answer_free(ptr);
		out->res = CHAIN_IPREV_TEMPERROR;
		return;
	}
	if (ptr->status != DNS_OK || ptr->nrr == 0) {
		dns_answer_free(ptr);
		return;
	}
	out->res = CHAIN_IPREV_FAIL;
	for (i = 0; i < ptr->nrr && i < ORIGIN_NAMES_MAX &&
	    out->confirmed < 0; i++) {
		snprintf(out->names[out->nnames++], sizeof(out->names[0]), "%s",
		    (const char *)ptr->rr[i].data);
		fw = dns_query_sync(o->sync, (const char *)ptr->rr[i].data,
		    a.family == AF_INET ? DNS_T_A : DNS_T_AAAA);
		if (fw->status == DNS_TEMPFAIL)
			temp = 1;
		for (k = 0; fw->status == DNS_OK && k < fw->nrr; k++) {
			memset(&b, 0, sizeof(b));
			b.family = a.family;
			if (fw->rr[k].len != (a.family == AF_INET ? 4u : 16u))
				continue;
			memcpy(b.a, fw->rr[k].data, fw->rr[k].len);
			if (netaddr_equal(&a, &b))
				out->confirmed = i;
		}
		dns_answer_free(fw);
	}
	dns_answer_free(ptr);
	if (out->confirmed >= 0)
		out->res = CHAIN_IPREV_PASS;
	else if (temp)
		out->res = CHAIN_IPREV_TEMPERROR;
}

static enum chain_iprev
iprev(struct origin *o, const char *ip)
{
	struct origin_iprev d;

	origin_iprev(o, ip, &d);
	return d.res;
}

struct dns *
origin_dns(struct origin *o)
{
	return o->sync;
}

struct spf_wait {
	int	done;
	int	result;
	struct event_base *base;
};

static void
spf_done(void *arg, const struct spf_outcome *out)
{
	struct spf_wait *w = arg;

	w->done = 1;
	w->result = (int)out->result;
	event_base_loopbreak(w->base);
}

int
origin_spf(struct origin *o, const char *ip, const char *helo,
    const char *sender)
{
	struct spf_query q;
	struct spf_wait w = { 0, -1, o->base };

	memset(&q, 0, sizeof(q));
	if (netaddr_parse(ip, &q.ip) != 0)
		return -1;
	q.helo = helo;
	q.sender = sender;
	q.identity = sender[0] ? SPF_ID_MAILFROM : SPF_ID_HELO;
	if (!sender[0] && !helo[0])
		return -1;
	spfpool_eval(o->pool, &q, spf_done, &w);
	while (!w.done)
		if (event_base_loop(o->base, EVLOOP_ONCE) < 0)
			break;
	return w.result;
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

void
origin_check(struct origin *o, struct chain *c)
{
	char key[RECEIVED_IP_MAX + 2 * RECEIVED_NAME_MAX + 4];
	struct cache_ent *e;
	char note[CHAIN_TEXT_MAX];
	const char *sender = c->has_origin_sender ? c->origin_sender : "";

	if (c->origin_ip[0] == '\0')
		return;
	snprintf(key, sizeof(key), "%s|%s|%s", c->origin_ip, c->origin_helo,
	    sender);
	e = &o->cache[hash(key) % ORIGIN_CACHE_MAX];
	if (e->key == NULL || strcmp(e->key, key) != 0) {
		free(e->key);
		e->key = xstrdup(key);
		e->iprev = iprev(o, c->origin_ip);
		e->spf = origin_spf(o, c->origin_ip, c->origin_helo, sender);
	}
	snprintf(note, sizeof(note), "iprev and SPF (%s %.120s) evaluated now, "
	    "not at delivery time", sender[0] ? "mailfrom" : "helo",
	    sender[0] ? sender : c->origin_helo[0] ? c->origin_helo : "-");
	chain_set_origin(c, e->iprev, e->spf, note);
}

void
origin_free(struct origin *o)
{
	int i;

	if (o == NULL)
		return;
	if (o->pool)
		spfpool_free(o->pool);
	if (o->async)
		dns_free(o->async);
	if (o->sync)
		dns_free(o->sync);
	if (o->base)
		event_base_free(o->base);
	for (i = 0; i < ORIGIN_CACHE_MAX; i++)
		free(o->cache[i].key);
	free(o);
}
