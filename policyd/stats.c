/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	stats 3
 * SUMMARY
 *	metrics of relaytrust-policyd and their HTTP endpoint
 * SYNOPSIS
 *	#include "policyd/stats.h"
 *
 *	void stats_set_sources(struct lookup *lk);
 *	void stats_set_build(const char *version, const char *libspf2,
 *		const char *libunbound, const char *libevent);
 *	void stats_reply(const char *action);
 *	void stats_iprev(enum iprev_result r);
 *	void stats_spf(int helo, enum spf_result r);
 *	void stats_verdict_cached(void);
 *	void stats_iprev_cached(void);
 *	void stats_inflight(int delta);
 *	void stats_connections(int delta);
 *	void stats_deadline(void);
 *	void stats_nat_client(void);
 *	void stats_connection_refused(void);
 *	void stats_forwarder(enum stats_fwd by);
 *	void stats_reload(int ok);
 *	struct stats_http *stats_http_new(struct event_base *base,
 *		const char *spec, char *err, size_t errlen);
 *	void stats_http_free(struct stats_http *h);
 * DESCRIPTION
 *	The counters live in one static registry. Every update comes from
 *	the event loop of the one daemon process, so they are plain
 *	integers. DNS counters and SPF worker restarts are read from
 *	dns(3) and spfpool(3), which run on the lookup thread, through
 *	lookup_get_stats() (lookup(3)) when the metrics are rendered.
 *
 *	stats_reply() is called once for every answer the server sends:
 *	relaytrust_requests_total{action} is keyed by the action word of
 *	the log line (prepend, dunno, reject, defer: proto_action_verdict(),
 *	the one mapping both use) and
 *	relaytrust_replies_total{code} by the enhanced status code of the
 *	answer ("none" for PREPEND and DUNNO), so each sums to the number of
 *	requests answered.
 *
 *	The HTTP side is HTTP/1.0 and nothing more: one request per
 *	connection, "GET /metrics" answers 200 with the text format 0.0.4,
 *	another path 404, another method 405, a malformed or oversized head
 *	400; the connection is closed after the answer (a lingering close:
 *	we half-close and drop what the client still sends until it
 *	closes or STATS_HTTP_LINGER seconds pass).
 *
 *	Every scrape has a hard deadline: STATS_HTTP_TIMEOUT seconds from
 *	accept to the last byte of the answer written, however the bytes
 *	trickle in or out (a timeout on inactivity alone would let one
 *	byte every few seconds hold a slot for ever, and
 *	STATS_HTTP_CONNS_MAX such scrapers shut the metrics out).
 * DIAGNOSTICS
 *	stats_http_new() fails on a bad address or a bind error. Scrapers
 *	over STATS_HTTP_CONNS_MAX are closed at once; one not done within
 *	STATS_HTTP_TIMEOUT seconds of its accept is closed, with a warning
 *	(rate-limited, as are the others a peer can cause: log_warn_rl()).
 * LIMITS
 *	STATS_HTTP_REQ_MAX bytes of request head, STATS_HTTP_CONNS_MAX
 *	connections, STATS_HTTP_TIMEOUT and STATS_HTTP_LINGER seconds, STATS_CODES_MAX distinct reply codes (more are counted
 *	as "other").
 *--*/
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"
#include "policyd/lookup.h"
#include "policyd/proto.h"
#include "policyd/stats.h"

#define STATS_CODE_LEN	16
#define STATS_PEER_MAX	64		/* "[v6 address]:port" */
#define STATS_HTTP_RL_INTERVAL 10	/* seconds between repeated warnings */
#define STATS_NACTIONS	PROTO_NVERDICTS
#define STATS_NSPF	7		/* enum spf_result values */
#define STATS_NIPREV	5		/* enum iprev_result values */

static struct {
	struct lookup *lk;
	const char *version, *libspf2, *libunbound, *libevent;
	unsigned long requests[STATS_NACTIONS];
	struct {
		char	code[STATS_CODE_LEN];
		unsigned long n;
	} codes[STATS_CODES_MAX + 1];	/* the last one is "other" */
	int	ncodes;
	unsigned long iprev[STATS_NIPREV];
	unsigned long spf[2][STATS_NSPF];	/* [0] MAIL FROM, [1] HELO */
	unsigned long verdict_cached, iprev_cached, deadline, nat, fwd[3];
	unsigned long reload_ok, reload_error, conns_refused;
	long	inflight, connections;
} st;

void
stats_set_sources(struct lookup *lk)
{
	st.lk = lk;
}

void
stats_set_build(const char *version, const char *libspf2,
    const char *libunbound, const char *libevent)
{
	st.version = version;
	st.libspf2 = libspf2;
	st.libunbound = libunbound;
	st.libevent = libevent;
}

/* The log's verdict (proto_action_verdict(), the one mapping) and the
 * enhanced status code of an answer: the second word of a 4NN, 5NN or
 * DEFER/REJECT answer when it is one. */
static enum proto_verdict
classify(const char *action, char *code, size_t codelen)
{
	enum proto_verdict a = proto_action_verdict(action);
	const char *p = NULL;
	size_t	n;

	if ((a == PROTO_DEFER || a == PROTO_REJECT) &&
	    (p = strchr(action, ' ')) != NULL)
		p++;
	snprintf(code, codelen, "none");
	if (p != NULL) {
		n = strspn(p, "0123456789.");
		if (n > 0 && n < codelen) {
			memcpy(code, p, n);
			code[n] = '\0';
		}
	}
	return a;
}

void
stats_reply(const char *action)
{
	char	code[STATS_CODE_LEN];
	int	i;

	st.requests[classify(action, code, sizeof(code))]++;
	for (i = 0; i < st.ncodes; i++)
		if (strcmp(st.codes[i].code, code) == 0)
			break;
	if (i == st.ncodes) {
		if (st.ncodes < STATS_CODES_MAX) {
			snprintf(st.codes[i].code, STATS_CODE_LEN, "%s", code);
			st.ncodes++;
		} else {
			i = STATS_CODES_MAX;
			snprintf(st.codes[i].code, STATS_CODE_LEN, "other");
		}
	}
	st.codes[i].n++;
}

void
stats_iprev(enum iprev_result r)
{
	if ((unsigned)r < STATS_NIPREV)
		st.iprev[r]++;
}

void
stats_spf(int helo, enum spf_result r)
{
	if ((unsigned)r < STATS_NSPF)
		st.spf[helo ? 1 : 0][r]++;
}

void
stats_verdict_cached(void)
{
	st.verdict_cached++;
}

void
stats_iprev_cached(void)
{
	st.iprev_cached++;
}

void
stats_inflight(int delta)
{
	st.inflight += delta;
}

void
stats_connections(int delta)
{
	st.connections += delta;
}

void
stats_connection_refused(void)
{
	st.conns_refused++;
}

void
stats_deadline(void)
{
	st.deadline++;
}

void
stats_nat_client(void)
{
	st.nat++;
}

void
stats_forwarder(enum stats_fwd by)
{
	if ((unsigned)by < 3)
		st.fwd[by]++;
}

void
stats_reload(int ok)
{
	if (ok)
		st.reload_ok++;
	else
		st.reload_error++;
}

/* A label value: the text format escapes \ " and newline. */
static const char *
label(const char *in, char *out, size_t outlen)
{
	size_t	o = 0;

	for (; in && *in && o + 3 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '\\' || c == '"') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A counter with no labels: its HELP, TYPE and value. */
static void
counter(struct evbuffer *b, const char *name, const char *help,
    unsigned long v)
{
	head(b, name, "counter", help);
	evbuffer_add_printf(b, "%s %lu\n", name, v);
}

static void
render(struct evbuffer *b)
{
	static const char *const iprev_words[STATS_NIPREV] = {
		"none", "pass", "fail", "permerror", "temperror",
	};
	struct dns_stats ds;
	struct spfpool_stats ps;
	char	l1[64], l2[64], l3[64], l4[64];
	unsigned long cum;
	int	i, r;

	memset(&ds, 0, sizeof(ds));
	memset(&ps, 0, sizeof(ps));
	if (st.lk != NULL)
		lookup_get_stats(st.lk, &ds, &ps);

	head(b, "relaytrust_build_info", "gauge",
	    "Version of relaytrust-policyd and of its libraries.");
	evbuffer_add_printf(b, "relaytrust_build_info{version=\"%s\","
	    "libspf2=\"%s\",libunbound=\"%s\",libevent=\"%s\"} 1\n",
	    label(st.version, l1, sizeof(l1)), label(st.libspf2, l2, sizeof(l2)),
	    label(st.libunbound, l3, sizeof(l3)),
	    label(st.libevent, l4, sizeof(l4)));

	head(b, "relaytrust_requests_total", "counter",
	    "Policy requests answered, by the action word of the log line.");
	for (i = 0; i < STATS_NACTIONS; i++)
		evbuffer_add_printf(b, "relaytrust_requests_total{action=\"%s\"} "
		    "%lu\n", proto_verdict_str((enum proto_verdict)i),
		    st.requests[i]);

	head(b, "relaytrust_replies_total", "counter",
	    "Policy answers by enhanced status code (none: PREPEND or DUNNO).");
	if (st.ncodes == 0)
		evbuffer_add_printf(b, "relaytrust_replies_total{code=\"none\"} "
		    "0\n");
	for (i = 0; i <= STATS_CODES_MAX; i++)
		if (i < st.ncodes || (i == STATS_CODES_MAX && st.codes[i].n))
			evbuffer_add_printf(b, "relaytrust_replies_total"
			    "{code=\"%s\"} %lu\n", st.codes[i].code,
			    st.codes[i].n);

	head(b, "relaytrust_check_results_total", "counter",
	    "Checks evaluated (answers from the per-message cache excluded).");
	for (r = 1; r < STATS_NIPREV; r++)
		evbuffer_add_printf(b, "relaytrust_check_results_total{check="
		    "\"iprev\",result=\"%s\"} %lu\n", iprev_words[r],
		    st.iprev[r]);
	for (i = 1; i >= 0; i--)
		for (r = 0; r < STATS_NSPF; r++)
			evbuffer_add_printf(b, "relaytrust_check_results_total"
			    "{check=\"%s\",result=\"%s\"} %lu\n",
			    i ? "spf_helo" : "spf_mailfrom",
			    spf_result_str((enum spf_result)r), st.spf[i][r]);

	counter(b, "relaytrust_verdict_cache_hits_total",
	    "Requests answered from the results of an earlier request of the "
	    "same message.", st.verdict_cached);
	counter(b, "relaytrust_iprev_cache_hits_total",
	    "iprev checks answered from the result cache, without DNS.",
	    st.iprev_cached);

	head(b, "relaytrust_inflight_requests", "gauge",
	    "Requests being checked now.");
	evbuffer_add_printf(b, "relaytrust_inflight_requests %ld\n",
	    st.inflight);
	head(b, "relaytrust_connections", "gauge",
	    "Policy client connections open now.");
	evbuffer_add_printf(b, "relaytrust_connections %ld\n", st.connections);

	counter(b, "relaytrust_connections_refused_total",
	    "Connections closed at once: max_connections were open.",
	    st.conns_refused);

	counter(b, "relaytrust_deadline_hits_total",
	    "Requests answered at the request_timeout deadline.", st.deadline);

	counter(b, "relaytrust_nat_clients_total",
	    "Requests from private, CGNAT, ULA or link-local client addresses.",
	    st.nat);

	head(b, "relaytrust_trusted_forwarder_total", "counter",
	    "Requests from trusted forwarders, by how they were recognised.");
	evbuffer_add_printf(b, "relaytrust_trusted_forwarder_total{by="
	    "\"network\"} %lu\nrelaytrust_trusted_forwarder_total{by=\"name\"} "
	    "%lu\nrelaytrust_trusted_forwarder_total{by=\"spf\"} %lu\n",
	    st.fwd[STATS_FWD_NETWORK], st.fwd[STATS_FWD_NAME],
	    st.fwd[STATS_FWD_SPF]);

	head(b, "relaytrust_config_reloads_total", "counter",
	    "SIGHUP reloads; error: the old configuration was kept.");
	evbuffer_add_printf(b, "relaytrust_config_reloads_total{result=\"ok\"} "
	    "%lu\nrelaytrust_config_reloads_total{result=\"error\"} %lu\n",
	    st.reload_ok, st.reload_error);

	counter(b, "relaytrust_spf_evaluations_total",
	    "SPF evaluations run in a worker (not when the domain's record alone "
	    "decides: none, permerror).", ps.evals);
	counter(b, "relaytrust_spf_cache_hits_total",
	    "SPF checks answered from the result cache, without a worker.",
	    ps.cache_hits);
	counter(b, "relaytrust_spf_worker_restarts_total",
	    "SPF worker processes replaced after a crash or a timeout.",
	    ps.worker_restarts);
	counter(b, "relaytrust_spf_limit_violations_total",
	    "SPF evaluations stopped by the lookup or void-lookup limit.",
	    ps.limit_violations);

	counter(b, "relaytrust_dns_queries_total",
	    "DNS queries sent to the resolver library.", ds.queries);
	counter(b, "relaytrust_dns_cache_hits_total",
	    "DNS queries answered at once from the resolver cache (estimate).",
	    ds.cache_hits_guess);
	counter(b, "relaytrust_dns_timeouts_total",
	    "DNS queries that reached dns.query_timeout.", ds.timeouts);
	counter(b, "relaytrust_dns_resolver_unreachable_total",
	    "Windows of 10 s in which most DNS queries timed out.",
	    ds.unreachable);
	counter(b, "relaytrust_dns_tempfails_total",
	    "DNS answers that were temporary failures (timeouts included).",
	    ds.tempfails);
	head(b, "relaytrust_dns_latency_seconds", "histogram",
	    "Time from query to answer.");
	cum = 0;
	for (i = 0; i < DNS_LATENCY_BUCKETS; i++) {
		cum += ds.latency[i];
		if (i < DNS_LATENCY_BUCKETS - 1)
			evbuffer_add_printf(b, "relaytrust_dns_latency_seconds_"
			    "bucket{le=\"%g\"} %lu\n",
			    dns_latency_ms[i] / 1000.0, cum);
		else
			evbuffer_add_printf(b, "relaytrust_dns_latency_seconds_"
			    "bucket{le=\"+Inf\"} %lu\n", cum);
	}
	evbuffer_add_printf(b, "relaytrust_dns_latency_seconds_sum %.6f\n"
	    "relaytrust_dns_latency_seconds_count %lu\n", ds.latency_sum, cum);
}

/*
 * The HTTP endpoint.
 */
struct scrape {
	struct stats_http *h;
	struct bufferevent *bev;
	struct event *deadline;		/* the whole scrape, then the linger */
	char	peer[STATS_PEER_MAX];
	int	answered;
	int	lingering;
	LIST_ENTRY(scrape) entry;
};

struct stats_http {
	struct event_base *base;
	struct evconnlistener *evl;
	int	nconn;
	LIST_HEAD(, scrape) scrapes;
};

static void
scrape_free(struct scrape *s)
{
	LIST_REMOVE(s, entry);
	s->h->nconn--;
	if (s->deadline != NULL)
		event_free(s->deadline);
	bufferevent_free(s->bev);
	free(s);
}

static void
scrape_answer(struct scrape *s, int status, const char *reason)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		scrape_free(s);
		return;
	}
	if (status == 200)
		render(body);
	else
		evbuffer_add_printf(body, "%d %s\n", status, reason);
	evbuffer_add_printf(out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, reason,
	    status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
	    "text/plain; charset=utf-8", evbuffer_get_length(body));
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	s->answered = 1;
	bufferevent_enable(s->bev, EV_WRITE);
}

static void
scrape_read(struct bufferevent *bev, void *arg)
{
	struct scrape *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	char	line[STATS_HTTP_REQ_MAX + 1], *sp, *path, *ver;
	size_t	len = evbuffer_get_length(in), n;

	if (s->answered) {
		evbuffer_drain(in, len);	/* lingering close */
		return;
	}
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		if (len > STATS_HTTP_REQ_MAX)
			scrape_answer(s, 400, "Bad Request");
		return;
	}
	if ((size_t)end.pos > STATS_HTTP_REQ_MAX) {
		scrape_answer(s, 400, "Bad Request");
		return;
	}
	n = evbuffer_copyout(in, line, (size_t)end.pos);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	/* METHOD SP PATH SP HTTP/x.y */
	if ((sp = strchr(line, ' ')) == NULL) {
		scrape_answer(s, 400, "Bad Request");
		return;
	}
	*sp = '\0';
	path = sp + 1;
	if ((ver = strchr(path, ' ')) == NULL || strncmp(ver + 1, "HTTP/", 5)) {
		scrape_answer(s, 400, "Bad Request");
		return;
	}
	*ver = '\0';
	path[strcspn(path, "?")] = '\0';
	if (strcmp(line, "GET") != 0)
		scrape_answer(s, 405, "Method Not Allowed");
	else if (strcmp(path, "/metrics") != 0)
		scrape_answer(s, 404, "Not Found");
	else
		scrape_answer(s, 200, "OK");
}

static void
scrape_write(struct bufferevent *bev, void *arg)
{
	struct scrape *s = arg;

	/* Answer sent: half-close, and read (and drop) what the client
	 * still sends until it closes, so that unread bytes do not turn
	 * our close into a reset that could destroy the answer. */
	if (s->answered && !s->lingering &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		struct timeval tv = {STATS_HTTP_LINGER, 0};

		shutdown(bufferevent_getfd(bev), SHUT_WR);
		s->lingering = 1;
		evtimer_add(s->deadline, &tv);
	}
}

static void
scrape_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct scrape *s = arg;

	(void)fd;
	(void)what;
	if (!s->lingering)
		log_warn_rl("stats_slow", STATS_HTTP_RL_INTERVAL, "stats_listen: "
		    "%s: scrape not done within %d s (STATS_HTTP_TIMEOUT); "
		    "closing the connection", s->peer, STATS_HTTP_TIMEOUT);
	scrape_free(s);
}

static void
scrape_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	scrape_free(arg);
}

static void
peer_name(const struct sockaddr *sa, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "[%s]:%u", host, port);
}

static void
stats_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct stats_http *h = arg;
	struct timeval tv = {STATS_HTTP_TIMEOUT, 0};
	struct scrape *s;

	(void)evl;
	(void)salen;
	if (h->nconn >= STATS_HTTP_CONNS_MAX) {
		log_warn_rl("stats_conns", STATS_HTTP_RL_INTERVAL, "stats_listen: more than %d "
		    "scrapers at once; closing one", STATS_HTTP_CONNS_MAX);
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->h = h;
	s->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->deadline = evtimer_new(h->base, scrape_deadline, s);
	if (s->bev == NULL || s->deadline == NULL) {
		if (s->bev != NULL)
			bufferevent_free(s->bev);	/* closes fd */
		else
			close(fd);
		if (s->deadline != NULL)
			event_free(s->deadline);
		free(s);
		return;
	}
	peer_name(sa, s->peer, sizeof(s->peer));
	h->nconn++;
	LIST_INSERT_HEAD(&h->scrapes, s, entry);
	bufferevent_setcb(s->bev, scrape_read, scrape_write, scrape_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, STATS_HTTP_REQ_MAX + 4);
	evtimer_add(s->deadline, &tv);
	bufferevent_enable(s->bev, EV_READ);
}

struct stats_http *
stats_http_new(struct event_base *base, const char *spec, char *err,
    size_t errlen)
{
	struct stats_http *h;
	struct addrinfo *res;
	char	why[128];

	if (strncmp(spec, "inet:", 5) != 0) {
		snprintf(err, errlen, "stats_listen %s: want inet:HOST:PORT",
		    spec);
		return NULL;
	}
	if (netaddr_listen_spec(spec + 5, &res, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "stats_listen %s: %s", spec, why);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->base = base;
	LIST_INIT(&h->scrapes);
	h->evl = evconnlistener_new_bind(base, stats_accept, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    SOMAXCONN, res->ai_addr, (int)res->ai_addrlen);
	if (h->evl == NULL) {
		snprintf(err, errlen, "stats_listen %s: %s", spec,
		    strerror(errno));
		freeaddrinfo(res);
		free(h);
		return NULL;
	}
	freeaddrinfo(res);
	return h;
}

void
stats_http_free(struct stats_http *h)
{
	if (h == NULL)
		return;
	while (!LIST_EMPTY(&h->scrapes))
		scrape_free(LIST_FIRST(&h->scrapes));
	evconnlistener_free(h->evl);
	free(h);
}
