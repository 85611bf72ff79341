/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	dns 3
 * SUMMARY
 *	DNS lookups on libunbound and libevent
 * SYNOPSIS
 *	#include "shared/dns.h"
 *
 *	struct dns *dns_new(struct event_base *base,
 *		const struct dns_opts *opts, char *err, size_t errlen);
 *	void dns_free(struct dns *dns);
 *	struct dns_req *dns_query(struct dns *dns, const char *name,
 *		enum dns_type type, dns_cb cb, void *arg);
 *	void dns_cancel(struct dns_req *req);
 *	struct dns_answer *dns_query_sync(struct dns *dns, const char *name,
 *		enum dns_type type);
 *	void dns_answer_free(struct dns_answer *ans);
 *	struct dns_answer *dns_answer_dup(const struct dns_answer *ans);
 *	struct dns_answer *dns_answer_parse(enum dns_type type,
 *		const unsigned char *pkt, int len);
 *	const char *dns_status_str(enum dns_status status);
 *	const char *dns_type_str(enum dns_type type);
 *	void dns_get_stats(const struct dns *dns, struct dns_stats *out);
 * DESCRIPTION
 *	One struct dns owns one libunbound context (one cache), always
 *	created with ub_ctx_create_event().  With a caller's event_base the
 *	queries run on that loop.  With base == NULL the module makes a
 *	private event_base and dns_query_sync() runs it until its answer is
 *	in, so the blocking path shares every line of the async one
 *	(including the timeout).
 *
 *	Each request has one timer event.  It first counts the query
 *	timeout; when unbound answers, the answer is parsed at once (the
 *	packet lives only during unbound's callback) and the timer is re-armed
 *	with a zero timeout, so the caller's callback always runs from the
 *	event loop: never inside dns_query() (unbound answers from its cache
 *	or local data synchronously inside ub_resolve_event()), and never
 *	inside unbound's own callback (so a callback may call dns_free()).
 *	On timeout the unbound query is cancelled (ub_cancel; unbound keeps
 *	the upstream query running internally until its own retries end,
 *	but never calls us again).
 *
 *	Answers are read from the wire packet with libresolv: only records
 *	of the asked type and class IN are kept (CNAME chains are followed
 *	by unbound; the chain records are skipped).  RCODE mapping:
 *	NOERROR with records: DNS_OK; NOERROR without: DNS_NODATA; NXDOMAIN:
 *	DNS_NXDOMAIN (also at the end of a CNAME chain); every other rcode
 *	(SERVFAIL, REFUSED, FORMERR, NOTIMP, ...) and a DNSSEC bogus answer:
 *	DNS_TEMPFAIL, because RFC 7208 section 5 makes any RCODE other than
 *	0 and 3 a temperror, and unbound itself turns an upstream REFUSED
 *	into SERVFAIL anyway.  DNS_PERMFAIL is reserved for names that are
 *	not valid DNS names; those are refused without a query.
 *
 *	Names are passed to unbound byte-exact: every byte other than a
 *	letter, digit, '-' or '_' is written as \DDD, so a name built from
 *	SPF macros cannot inject unbound's text escapes.
 *
 *	Unbound configuration (and why):
 *	do-not-query-localhost: no	a loopback forwarder must work.
 *	Default local zones		unbound answers RFC 6761/6303 names
 *		itself (localhost., 127.in-addr.arpa., test., invalid.,
 *		onion., 10.in-addr.arpa. and the other RFC 1918/AS112 reverse
 *		zones, ...).  Measured on 1.17.1 against tests/integration/
 *		dnsserver.py: "local-zone: X nodefault" through
 *		ub_ctx_set_option() is ignored (1.0.0.127.in-addr.arpa PTR
 *		still answers "localhost", 5.0.0.127 and host.test NXDOMAIN);
 *		"X transparent" does forward.  We use unblock-lan-zones: yes
 *		(the RFC 1918/AS112 reverse zones are not made at all) and
 *		ub_ctx_zone_remove() of every other default zone once the
 *		context is finalised (dns_default_zones below): measured to
 *		forward 127.0.0.1/127.0.0.5/10.0.0.1 PTR, host.test, localhost
 *		and foo.example to the forwarder, as SPF and iprev need.
 *	infra-host-ttl: 0, infra-keep-probing: yes
 *		unbound keeps per-server RTT state; a name that is never
 *		answered backs the forwarder's RTO off, and after a few
 *		timeouts in a row the forwarder is "down": later queries
 *		get SERVFAIL without being sent, or wait behind a single
 *		probe and time out.  Measured: with the defaults, or with
 *		keep-probing alone, 24 dropped queries made the next normal
 *		queries fail; a lower infra-cache-max-rtt makes it worse
 *		(the cap itself counts as down).  infra-host-ttl: 0 makes
 *		the state expire within a second, and an expired entry is
 *		always tried again, so the next query is sent and answered.
 *		The cost: no RTT-based choice between several forwarders.
 *	qname-minimisation: no, harden-referral-path: no,
 *	target-fetch-policy: "0 0 0 0 0", aggressive-nsec: no,
 *	prefetch: no, serve-expired: no	send the forwarder exactly the
 *		asked queries, nothing else, and never stale data.
 *	module-config: "iterator"	unless opts->dnssec, then
 *		"validator iterator" with ub_ctx_add_ta_file() of
 *		opts->trust_anchor or DNS_TRUST_ANCHOR.
 *	No /etc/hosts: SPF and iprev are DNS only.
 * DIAGNOSTICS
 *	dns_new() fills err with the bad forwarder or the unbound error.
 *	When at least DNS_HEALTH_PCT % of the answers (DNS_HEALTH_MIN or
 *	more) of a DNS_HEALTH_WINDOW-second window were timeouts, a
 *	"resolver unreachable" warning (one per DNS_HEALTH_RL_INTERVAL
 *	seconds) and the unreachable counter.
 *	Answers carry a short reason in why: "timeout", "servfail",
 *	"rcode 5", "dnssec bogus", "invalid name: ...", "unbound: ...".
 * LIMITS
 *	DNS_NAME_MAX (253) bytes per name and 63 per label; DNS_RR_MAX
 *	records kept per answer (more are dropped); a joined TXT record is
 *	cut at DNS_TXT_MAX bytes and marked (dns_rr.cut); DNS_FORWARD_MAX forwarders.  At most
 *	DNS_INFLIGHT_MAX queries are at unbound at once (its state per
 *	query is kilobytes); more wait in a FIFO of ours, their timeout
 *	already running, and go as answers come back.  Class IN
 *	only.  dns_cancel() must not be given a request whose callback
 *	has returned (the request is freed then); inside the callback it
 *	is a no-op.  Everything but dns_get_stats() runs on the thread of
 *	the dns's event base; dns_get_stats() may run on another one at the
 *	same time (a mutex guards the counters).  dns_query_sync() on a dns
 *	made with a caller's base
 *	runs that loop, so it must not be called from one of its callbacks
 *	(it then answers DNS_TEMPFAIL "event loop").
 *
 *	dns_answer_parse() reads a wire answer without a query, as the
 *	callback of one would see it (for tests and the fuzzer); the rcode
 *	is the packet's own.
 *--*/
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <unbound.h>
#include <unbound-event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"

#define DNS_TRUST_ANCHOR	"/usr/share/dns/root.key"
#define DNS_TIMEOUT_DEFAULT	3
#define DNS_ESCAPED_MAX		(DNS_NAME_MAX * 4 + 2)

/* Default local zones of unbound 1.17 that unblock-lan-zones does not
 * already drop; removed so that every name is forwarded. */
static const char *const dns_default_zones[] = {
	"localhost.", "127.in-addr.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"home.arpa.", "resolver.arpa.", "service.arpa.", "onion.", "test.",
	"invalid.", "local.", "example.", "localhost.localdomain.",
	"10.in-addr.arpa.", "0.in-addr.arpa.", "254.169.in-addr.arpa.",
	"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
	"168.192.in-addr.arpa.", "d.f.ip6.arpa.", "8.e.f.ip6.arpa.",
	"9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
	NULL
};

struct dns {
	struct event_base *base;
	int	own_base;		/* made with base == NULL */
	struct ub_ctx *ub;
	struct timeval timeout;
	struct dns_req *reqs;		/* live requests, for dns_free() */
	int	live;			/* queries unbound is working on */
	TAILQ_HEAD(, dns_req) waiting;	/* queries over DNS_INFLIGHT_MAX */
	struct event *pump;		/* starts waiting queries */
	pthread_mutex_t stats_lock;	/* dns_get_stats() may run on another
					 * thread */
	struct dns_stats stats;
	/* Resolver health: answers and timeouts of the current window. */
	time_t	win_start;
	unsigned win_answers, win_timeouts;
};

/* One more in a counter of dns->stats. */
#define COUNT(dns, field) do {					\
	pthread_mutex_lock(&(dns)->stats_lock);			\
	(dns)->stats.field++;					\
	pthread_mutex_unlock(&(dns)->stats_lock);		\
} while (0)

struct dns_req {
	struct dns *dns;
	struct dns_req *prev, *next;
	enum dns_type type;
	dns_cb	cb;
	void	*arg;
	struct event *ev;		/* timeout, then delivery */
	struct dns_answer *ans;		/* set once the outcome is known */
	int	ub_id;
	int	ub_live;		/* unbound will still call us */
	int	starting;		/* inside ub_resolve_event() */
	int	in_cb;			/* caller's callback is running */
	int	sent;			/* went to unbound: count its latency */
	int	timed_out;		/* answered by our own deadline */
	struct timespec started;
	char	*qname;			/* escaped name, while waiting */
	TAILQ_ENTRY(dns_req) wq;
};

const unsigned dns_latency_ms[DNS_LATENCY_BUCKETS - 1] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

static void
count_latency(struct dns *dns, const struct timespec *started)
{
	struct timespec now;
	double	ms;
	int	i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - started->tv_sec) * 1000.0 +
	    (double)(now.tv_nsec - started->tv_nsec) / 1e6;
	for (i = 0; i < DNS_LATENCY_BUCKETS - 1; i++)
		if (ms <= dns_latency_ms[i])
			break;
	dns->stats.latency[i]++;
	dns->stats.latency_sum += ms / 1000.0;
}

/*
 * Is the resolver answering? When most answers of a window were our own
 * timeouts, every check that needs DNS answers temperror (a deferral),
 * and one line per request would not say why: say it, once a while.
 * Called with stats_lock held.
 */
static void
note_health(struct dns *dns, int timed_out)
{
	time_t	now = time(NULL);
	unsigned n = dns->win_answers, t = dns->win_timeouts;

	if (now - dns->win_start >= DNS_HEALTH_WINDOW) {
		if (n >= DNS_HEALTH_MIN && t * 100 >= n * DNS_HEALTH_PCT) {
			dns->stats.unreachable++;
			log_warn_rl("dns-unreachable", DNS_HEALTH_RL_INTERVAL,
			    "resolver unreachable: %u of %u DNS queries timed "
			    "out in %d s (dns.forward, or /etc/resolv.conf "
			    "when it is empty); checks that need DNS count "
			    "as temperror and are deferred", t, n,
			    DNS_HEALTH_WINDOW);
		}
		dns->win_start = now;
		dns->win_answers = dns->win_timeouts = 0;
	}
	dns->win_answers++;
	if (timed_out)
		dns->win_timeouts++;
}

/* The counters of one answer delivered. */
static void
count_answer(struct dns_req *req)
{
	struct dns *dns = req->dns;

	pthread_mutex_lock(&dns->stats_lock);
	dns->stats.answers++;
	if (req->sent)
		count_latency(dns, &req->started);
	if (req->ans->status == DNS_TEMPFAIL)
		dns->stats.tempfails++;
	note_health(dns, req->timed_out);
	pthread_mutex_unlock(&dns->stats_lock);
}

static struct dns_answer *
answer_new(enum dns_status status, const char *why)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->status = status;
	if (why != NULL)
		snprintf(a->why, sizeof(a->why), "%s", why);
	return a;
}

void
dns_answer_free(struct dns_answer *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nrr; i++)
		free(a->rr[i].data);
	free(a->rr);
	free(a);
}

struct dns_answer *
dns_answer_dup(const struct dns_answer *a)
{
	struct dns_answer *d;
	int i;

	if (a == NULL)
		return NULL;
	d = xmalloc(sizeof(*d));
	*d = *a;
	d->rr = NULL;
	if (a->nrr > 0) {
		d->rr = xcalloc((size_t)a->nrr, sizeof(*d->rr));
		for (i = 0; i < a->nrr; i++) {
			d->rr[i] = a->rr[i];
			d->rr[i].data = xmalloc(a->rr[i].len + 1);
			memcpy(d->rr[i].data, a->rr[i].data, a->rr[i].len + 1);
		}
	}
	return d;
}

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "nodata";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "unknown";
}

const char *
dns_type_str(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_SPF:
		return "SPF";
	}
	return "UNKNOWN";
}

void
dns_get_stats(const struct dns *dns, struct dns_stats *out)
{
	struct dns *md = (struct dns *)dns;	/* its lock only */

	pthread_mutex_lock(&md->stats_lock);
	*out = dns->stats;
	pthread_mutex_unlock(&md->stats_lock);
}

/*
 * Check a name and write it in unbound's text form with every unusual
 * byte escaped.  Returns 0, or -1 with the reason in why.
 */
static int
name_escape(const char *name, char *out, size_t outlen, char *why,
    size_t whylen)
{
	size_t n = strlen(name), i, o = 0, label = 0;

	if (n > 1 && name[n - 1] == '.')
		n--;			/* one final dot: fully qualified */
	if (n == 0 || (n == 1 && name[0] == '.')) {
		snprintf(why, whylen, "invalid name: empty");
		return -1;
	}
	if (n > DNS_NAME_MAX) {
		snprintf(why, whylen, "invalid name: longer than %d bytes",
		    DNS_NAME_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (o + 5 >= outlen) {
			snprintf(why, whylen, "invalid name: too long");
			return -1;
		}
		if (c == '.') {
			if (label == 0) {
				snprintf(why, whylen,
				    "invalid name: empty label");
				return -1;
			}
			label = 0;
			out[o++] = '.';
			continue;
		}
		if (++label > 63) {
			snprintf(why, whylen,
			    "invalid name: label longer than 63 bytes");
			return -1;
		}
		if (isascii(c) && (isalnum(c) || c == '-' || c == '_'))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
	}
	out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* Store one character-string-joined TXT rdata; -1 if malformed. */
static int
rr_txt(struct dns_rr *rr, const unsigned char *rd, size_t rdlen)
{
	const unsigned char *end = rd + rdlen;
	unsigned char *buf = xmalloc(rdlen + 1);
	size_t len = 0;
	int n = 0;

	while (rd < end) {
		size_t l = *rd++;

		if (l > (size_t)(end - rd)) {
			free(buf);
			return -1;
		}
		memcpy(buf + len, rd, l);
		len += l;
		rd += l;
		n++;
	}
	rr->cut = len > DNS_TXT_MAX;
	if (rr->cut)
		len = DNS_TXT_MAX;
	buf[len] = '\0';
	rr->data = buf;
	rr->len = len;
	rr->nstrings = n;
	return 0;
}

/* 1 when name[i] is escaped: an odd number of backslashes before it
 * (dn_expand() writes a dot inside a label as "\."). */
static int
escaped(const char *name, size_t i)
{
	size_t n = 0;

	while (i > 0 && name[--i] == '\\')
		n++;
	return n % 2 == 1;
}

/* Store a domain name found at p as text without the trailing dot. */
static int
rr_name(struct dns_rr *rr, const ns_msg *msg, const unsigned char *p)
{
	char name[NS_MAXDNAME];

	if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), p, name,
	    sizeof(name)) < 0)
		return -1;
	rr->len = strlen(name);
	if (rr->len > 0 && name[rr->len - 1] == '.' &&
	    !escaped(name, rr->len - 1))
		name[--rr->len] = '\0';
	rr->data = (unsigned char *)xstrdup(name);
	return 0;
}

/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA minimum) from
 * the SOA in its authority section; without one it is not cacheable. */
static uint32_t
negative_ttl(ns_msg *msg)
{
	ns_rr	rr;
	int	i, n = ns_msg_count(*msg, ns_s_ns);

	for (i = 0; i < n; i++) {
		uint32_t min;

		if (ns_parserr(msg, ns_s_ns, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 20)
			continue;
		min = ns_get32(ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4);
		return min < ns_rr_ttl(rr) ? min : ns_rr_ttl(rr);
	}
	return 0;
}

static void
parse_packet(struct dns_answer *a, enum dns_type type,
    const unsigned char *pkt, int len)
{
	ns_msg	msg;
	ns_rr	rr;
	int	i, n, rcode, malformed = 0;

	if (pkt == NULL || len <= 0 || ns_initparse(pkt, len, &msg) < 0) {
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "unparseable answer");
		return;
	}
	rcode = ns_msg_getflag(msg, ns_f_rcode);
	if (rcode == ns_r_nxdomain) {
		a->status = DNS_NXDOMAIN;
		a->ttl = negative_ttl(&msg);
		return;
	}
	if (rcode != ns_r_noerror) {
		a->status = DNS_TEMPFAIL;
		if (rcode == ns_r_servfail)
			snprintf(a->why, sizeof(a->why), "servfail");
		else
			snprintf(a->why, sizeof(a->why), "rcode %d", rcode);
		return;
	}
	n = ns_msg_count(msg, ns_s_an);
	if (n > 0)
		a->rr = xcalloc(n < DNS_RR_MAX ? (size_t)n : DNS_RR_MAX,
		    sizeof(*a->rr));
	for (i = 0; i < n && a->nrr < DNS_RR_MAX && !malformed; i++) {
		struct dns_rr *r = &a->rr[a->nrr];
		const unsigned char *rd;
		size_t	rdlen;
		int	bad = 0;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			malformed = 1;
			break;
		}
		if ((unsigned)ns_rr_type(rr) != (unsigned)type ||
		    ns_rr_class(rr) != ns_c_in)
			continue;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		memset(r, 0, sizeof(*r));
		r->type = (uint16_t)type;
		r->ttl = ns_rr_ttl(rr);
		if (a->nrr == 0 || r->ttl < a->ttl)
			a->ttl = r->ttl;
		switch (type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			if (rdlen != (type == DNS_T_A ? 4u : 16u)) {
				bad = 1;
				break;
			}
			r->data = xmalloc(rdlen + 1);
			memcpy(r->data, rd, rdlen);
			r->data[rdlen] = '\0';
			r->len = rdlen;
			break;
		case DNS_T_TXT:
		case DNS_T_SPF:
			bad = rr_txt(r, rd, rdlen) < 0;
			break;
		case DNS_T_MX:
			if (rdlen < 3) {
				bad = 1;
				break;
			}
			r->pref = (uint16_t)ns_get16(rd);
			bad = rr_name(r, &msg, rd + 2) < 0;
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
		case DNS_T_NS:
			bad = rr_name(r, &msg, rd) < 0;
			break;
		default:
			bad = 1;
			break;
		}
		if (bad) {
			free(r->data);
			r->data = NULL;
			malformed = 1;
		} else
			a->nrr++;
	}
	if (malformed) {
		/* A record of the asked type that does not parse is not "no
		 * such record": what it said is unknown (an SPF record, a
		 * key, the client's address), so the answer is an error. */
		for (i = 0; i < a->nrr; i++)
			free(a->rr[i].data);
		a->nrr = 0;
		a->ttl = 0;
		a->status = DNS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "malformed answer");
		return;
	}
	a->status = a->nrr > 0 ? DNS_OK : DNS_NODATA;
	if (a->status == DNS_NODATA)
		a->ttl = negative_ttl(&msg);
}

static void
req_unlink(struct dns_req *req)
{
	struct dns *dns = req->dns;

	if (req->prev != NULL)
		req->prev->next = req->next;
	else if (dns->reqs == req)
		dns->reqs = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

/* unbound is done with req (answer, cancel or failure): a waiting
 * query may go. */
static void
req_unlive(struct dns_req *req)
{
	if (!req->ub_live)
		return;
	req->ub_live = 0;
	if (req->dns->live-- == DNS_INFLIGHT_MAX &&
	    !TAILQ_EMPTY(&req->dns->waiting))
		event_active(req->dns->pump, 0, 0);
}

static void
req_unwait(struct dns_req *req)
{
	if (req->qname == NULL)
		return;
	TAILQ_REMOVE(&req->dns->waiting, req, wq);
	free(req->qname);
	req->qname = NULL;
}

static void
req_free(struct dns_req *req)
{
	req_unwait(req);
	if (req->ub_live) {
		(void)ub_cancel(req->dns->ub, req->ub_id);
		req_unlive(req);
	}
	event_free(req->ev);
	dns_answer_free(req->ans);
	free(req);
}

/* Run the caller's callback from the event loop. */
static void
req_deliver(struct dns_req *req)
{
	req_unlink(req);
	count_answer(req);
	req->in_cb = 1;
	req->cb(req->arg, req->ans);
	req->in_cb = 0;
	req_free(req);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_req *req = arg;

	(void)fd;
	(void)what;
	if (req->ans == NULL) {
		/* Our own deadline: stop waiting for unbound. */
		req_unwait(req);
		if (req->ub_live) {
			(void)ub_cancel(req->dns->ub, req->ub_id);
			req_unlive(req);
		}
		COUNT(req->dns, timeouts);
		req->timed_out = 1;
		req->ans = answer_new(DNS_TEMPFAIL, "timeout");
	}
	req_deliver(req);
}

static void
req_finish_soon(struct dns_req *req)
{
	static const struct timeval now = { 0, 0 };

	event_del(req->ev);
	evtimer_add(req->ev, &now);
}

static void
on_unbound(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int ratelimited)
{
	struct dns_req *req = arg;
	struct dns_answer *a;

	(void)ratelimited;
	(void)why_bogus;
	req_unlive(req);
	if (req->ans != NULL)		/* cannot happen: we cancelled */
		return;
	a = answer_new(DNS_TEMPFAIL, NULL);
	if (sec == 1) {
		snprintf(a->why, sizeof(a->why), "dnssec bogus");
	} else if (rcode == ns_r_nxdomain) {
		ns_msg	msg;

		/* the SOA's negative TTL, from a packet that agrees */
		if (packet != NULL && len > 0 &&
		    ns_initparse(packet, len, &msg) == 0 &&
		    ns_msg_getflag(msg, ns_f_rcode) == ns_r_nxdomain)
			a->ttl = negative_ttl(&msg);
		a->status = DNS_NXDOMAIN;
		a->secure = (sec == 2);
	} else if (rcode != ns_r_noerror) {
		/* On its own failures unbound passes the rcode and a stale
		 * buffer (seen: a NOERROR packet with rcode SERVFAIL), so
		 * the rcode argument wins over the packet. */
		if (rcode == ns_r_servfail)
			snprintf(a->why, sizeof(a->why), "servfail");
		else
			snprintf(a->why, sizeof(a->why), "rcode %d", rcode);
	} else if (packet == NULL || len <= 0) {
		snprintf(a->why, sizeof(a->why), "no answer");
	} else {
		parse_packet(a, req->type, packet, len);
		a->secure = (sec == 2);
	}
	req->ans = a;
	if (req->starting)
		COUNT(req->dns, cache_hits_guess);
	req_finish_soon(req);
}

/* The answer on_unbound() makes of a NOERROR/NXDOMAIN packet, without a
 * query: the packet's rcode, no DNSSEC. */
struct dns_answer *
dns_answer_parse(enum dns_type type, const unsigned char *pkt, int len)
{
	struct dns_answer *a = answer_new(DNS_TEMPFAIL, NULL);

	if (pkt == NULL || len <= 0)
		snprintf(a->why, sizeof(a->why), "no answer");
	else
		parse_packet(a, type, pkt, len);
	return a;
}

static void req_send(struct dns_req *, const char *);

/* Start a query on dns->base; the callback always runs later. */
static struct dns_req *
req_start(struct dns *dns, const char *name, enum dns_type type, dns_cb cb,
    void *arg)
{
	struct dns_req *req = xcalloc(1, sizeof(*req));
	char	escaped[DNS_ESCAPED_MAX], why[sizeof(req->ans->why)];

	req->dns = dns;
	req->type = type;
	req->cb = cb;
	req->arg = arg;
	req->ev = evtimer_new(dns->base, on_timer, req);
	if (req->ev == NULL) {
		/* libevent only fails on memory; treat as fatal. */
		free(req);
		abort();
	}
	req->next = dns->reqs;
	if (dns->reqs != NULL)
		dns->reqs->prev = req;
	dns->reqs = req;

	if (name == NULL || name_escape(name, escaped, sizeof(escaped), why,
	    sizeof(why)) < 0) {
		req->ans = answer_new(DNS_PERMFAIL,
		    name == NULL ? "invalid name: none" : why);
		req_finish_soon(req);
		return req;
	}
	evtimer_add(req->ev, &dns->timeout);	/* waiting counts too */
	COUNT(dns, queries);
	if (dns->live >= DNS_INFLIGHT_MAX) {
		req->qname = xstrdup(escaped);
		TAILQ_INSERT_TAIL(&dns->waiting, req, wq);
		return req;
	}
	req_send(req, escaped);
	return req;
}

/* Hand req to unbound. */
static void
req_send(struct dns_req *req, const char *escaped)
{
	struct dns *dns = req->dns;
	char	why[sizeof(req->ans->why)];
	int	r;

	req->sent = 1;
	clock_gettime(CLOCK_MONOTONIC, &req->started);
	req->starting = 1;
	req->ub_live = 1;
	dns->live++;
	r = ub_resolve_event(dns->ub, escaped, (int)req->type, ns_c_in, req,
	    on_unbound, &req->ub_id);
	req->starting = 0;
	if (r != 0) {
		req_unlive(req);
		if (req->ans == NULL) {
			snprintf(why, sizeof(why), "unbound: %s",
			    ub_strerror(r));
			req->ans = answer_new(DNS_TEMPFAIL, why);
			req_finish_soon(req);
		}
	} else if (req->ans != NULL) {
		req_unlive(req);	/* answered inside ub_resolve_event */
	}
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;
	struct dns_req *req;
	char	*name;

	(void)fd;
	(void)what;
	while (dns->live < DNS_INFLIGHT_MAX &&
	    (req = TAILQ_FIRST(&dns->waiting)) != NULL) {
		name = req->qname;
		TAILQ_REMOVE(&dns->waiting, req, wq);
		req->qname = NULL;
		req_send(req, name);
		free(name);
	}
}

struct dns_req *
dns_query(struct dns *dns, const char *name, enum dns_type type, dns_cb cb,
    void *arg)
{
	if (dns->own_base)
		return NULL;
	return req_start(dns, name, type, cb, arg);
}

void
dns_cancel(struct dns_req *req)
{
	if (req == NULL || req->in_cb)
		return;
	req_unlink(req);
	req_free(req);
}

struct sync_wait {
	struct dns_answer *ans;
};

static void
on_sync(void *arg, const struct dns_answer *ans)
{
	struct sync_wait *w = arg;

	w->ans = dns_answer_dup(ans);
}

struct dns_answer *
dns_query_sync(struct dns *dns, const char *name, enum dns_type type)
{
	struct sync_wait w = { NULL };
	struct dns_req *req;

	req = req_start(dns, name, type, on_sync, &w);
	while (w.ans == NULL) {
		if (event_base_loop(dns->base, EVLOOP_ONCE) < 0) {
			dns_cancel(req);
			return answer_new(DNS_TEMPFAIL, "event loop");
		}
	}
	return w.ans;
}

static int
set_opt(struct ub_ctx *ub, const char *opt, const char *val, char *err,
    size_t errlen)
{
	int r = ub_ctx_set_option(ub, opt, val);

	if (r != 0)
		snprintf(err, errlen, "unbound option %s %s: %s", opt, val,
		    ub_strerror(r));
	return r ? -1 : 0;
}

struct dns *
dns_new(struct event_base *base, const struct dns_opts *opts, char *err,
    size_t errlen)
{
	static const char *const fixed[][2] = {
		{ "do-not-query-localhost:", "no" },
		{ "unblock-lan-zones:", "yes" },
		{ "insecure-lan-zones:", "yes" },
		{ "qname-minimisation:", "no" },
		{ "harden-referral-path:", "no" },
		{ "target-fetch-policy:", "0 0 0 0 0" },
		{ "aggressive-nsec:", "no" },
		{ "prefetch:", "no" },
		{ "serve-expired:", "no" },
		{ "infra-keep-probing:", "yes" },
		{ "infra-host-ttl:", "0" },
		/* Many lookups in flight at once (the daemon's whole point):
		 * the defaults queue them; measured with tests/bench/run,
		 * 200 concurrent queries at 20 ms took 290 ms, now 49 ms.
		 * 1024 ports, not more: each costs memory up front. */
		{ "outgoing-range:", "1024" },
		{ "num-queries-per-thread:", "2048" },
		/* Behind our result caches (spfpool, check), which answer
		 * repeats, these hold what new evaluations need: the sender
		 * domains' records, and answers (negative ones too: only
		 * the message cache keeps those) for new clients. Measured
		 * with the bench's 5,000-domain stream and 1000 connections
		 * (tests/bench/run): 1m/3m sent 0.08 queries per request to
		 * the server (31.5k req/s), 3m/3m 0.001 (45k req/s) for 2.4
		 * MB more at peak, within the daemon's 32 MB. */
		{ "msg-cache-size:", "3m" },
		{ "rrset-cache-size:", "3m" },
		/* we only ever talk to the forwarders (or resolv.conf servers) */
		{ "infra-cache-numhosts:", "1000" },
		{ NULL, NULL }
	};
	struct dns *dns = xcalloc(1, sizeof(*dns));
	int	i, r, timeout;

	if (base == NULL) {
		dns->base = event_base_new();
		dns->own_base = 1;
		if (dns->base == NULL) {
			snprintf(err, errlen, "cannot create an event base");
			free(dns);
			return NULL;
		}
	} else
		dns->base = base;
	TAILQ_INIT(&dns->waiting);
	pthread_mutex_init(&dns->stats_lock, NULL);
	dns->pump = event_new(dns->base, -1, 0, pump_cb, dns);
	timeout = opts != NULL && opts->query_timeout > 0 ?
	    opts->query_timeout : DNS_TIMEOUT_DEFAULT;
	dns->timeout.tv_sec = timeout;
	dns->ub = ub_ctx_create_event(dns->base);
	if (dns->ub == NULL) {
		snprintf(err, errlen, "cannot create the unbound context");
		goto fail;
	}
	for (i = 0; fixed[i][0] != NULL; i++)
		if (set_opt(dns->ub, fixed[i][0], fixed[i][1], err, errlen) < 0)
			goto fail;
	if (set_opt(dns->ub, "module-config:", opts != NULL && opts->dnssec ?
	    "validator iterator" : "iterator", err, errlen) < 0)
		goto fail;
	if (opts != NULL && opts->dnssec) {
		const char *ta = opts->trust_anchor != NULL ?
		    opts->trust_anchor : DNS_TRUST_ANCHOR;

		if ((r = ub_ctx_add_ta_file(dns->ub, ta)) != 0) {
			snprintf(err, errlen, "trust anchor %s: %s", ta,
			    ub_strerror(r));
			goto fail;
		}
	}
	if (opts != NULL && opts->nforward > DNS_FORWARD_MAX) {
		snprintf(err, errlen, "more than %d forwarders",
		    DNS_FORWARD_MAX);
		goto fail;
	}
	if (opts != NULL && opts->nforward > 0) {
		for (i = 0; i < opts->nforward; i++) {
			const char *f = opts->forward[i];

			if (f == NULL || *f == '\0' ||
			    (r = ub_ctx_set_fwd(dns->ub, f)) != 0) {
				snprintf(err, errlen, "bad DNS forwarder \"%s\"",
				    f != NULL ? f : "");
				goto fail;
			}
		}
	} else if ((r = ub_ctx_resolvconf(dns->ub, NULL)) != 0) {
		snprintf(err, errlen, "/etc/resolv.conf: %s", ub_strerror(r));
		goto fail;
	}
	/* Finalises the context; options above this line only. */
	for (i = 0; dns_default_zones[i] != NULL; i++)
		if ((r = ub_ctx_zone_remove(dns->ub, dns_default_zones[i])) != 0) {
			snprintf(err, errlen, "unbound: %s", ub_strerror(r));
			goto fail;
		}
	return dns;
fail:
	if (dns->ub != NULL)
		ub_ctx_delete(dns->ub);
	if (dns->own_base)
		event_base_free(dns->base);
	pthread_mutex_destroy(&dns->stats_lock);
	free(dns);
	return NULL;
}

void
dns_free(struct dns *dns)
{
	struct dns_req *req;

	if (dns == NULL)
		return;
	while ((req = dns->reqs) != NULL) {
		req_unlink(req);
		req_free(req);
	}
	if (dns->pump != NULL)
		event_free(dns->pump);
	ub_ctx_delete(dns->ub);
	if (dns->own_base)
		event_base_free(dns->base);
	pthread_mutex_destroy(&dns->stats_lock);
	free(dns);
}
