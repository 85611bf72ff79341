/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	policyload 1
 * SUMMARY
 *	load generator for Postfix policy servers
 * SYNOPSIS
 *	policyload (-H HOST -p PORT | -u PATH) [-c CONNS] [-n REQUESTS]
 *		[-d SECONDS] [-w WARMUP_SECONDS] [-s SEED] [-D DOMAINS]
 *		[-o DOMAIN_OFFSET] [-T TIMEOUT_S] [-R REQS_PER_CONN]
 *		[-m MESSAGES] [-O OVER_MS] [-L] [-q]
 * DESCRIPTION
 *	Opens CONNS persistent connections (TCP or a unix socket) and keeps
 *	one request outstanding on each, as Postfix's smtpd does, until
 *	REQUESTS requests were answered or SECONDS passed (after WARMUP
 *	seconds whose requests are not counted).  The request stream is
 *	generated from SEED over the synthetic zone of benchzone.h: DOMAINS
 *	sender domains dN.bench.test (N from DOMAIN_OFFSET), clients whose
 *	reverse DNS is good, bad or absent, 1..5 recipients per message
 *	(one request each, same instance), 5 % null senders, 20 % clients
 *	outside the sender's SPF record.  -R reconnects each connection
 *	after that many requests (0: never; a reopened connection sends
 *	at least one request, even past -n or -m).  -m stops after MESSAGES
 *	messages (all their recipients) instead of a request count.  -L
 *	sends every request from client 127.0.0.1 (HELO localhost), which
 *	every server under test skips without DNS: it measures the cost of
 *	a new connection (-R 1) rather than of the checks.  The warm-up
 *	lasts WARMUP seconds and at least until every connection has had
 *	its first answer.  -O counts the answers slower than OVER_MS
 *	("over" in the output).
 *
 *	At the end one JSON object is printed on stdout: requests,
 *	seconds, rps, p50_ms, p90_ms, p99_ms, max_ms, mean_ms, errors
 *	(timeouts + closed + bad), over, timeouts, closed, bad, connections,
 *	connects, connect_errors, messages, first_ms {n, p50, p99, max} (connect to first
 *	answer, for every connection made, warm-up included), actions {dunno, prepend, reject, defer, other}.
 *	-q: no progress line on stderr each second.
 * DIAGNOSTICS
 *	Exit 0 when every counted request was answered, 1 when any errors
 *	were counted, 2 on usage errors or when connections failed and no
 *	request was answered.  A connection that cannot be made is retried,
 *	up to 10 failures per connection in all.
 * LIMITS
 *	POLICYLOAD_CONNS_MAX connections; POLICYLOAD_REPLY_MAX bytes per reply.
 *--*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/benchzone.h"

#define POLICYLOAD_CONNS_MAX	20000
#define POLICYLOAD_REPLY_MAX	4096
#define POLICYLOAD_REQ_MAX	2048

/* Latency histogram: microseconds, 32 sub-buckets per power of two. */
#define HIST_SUB	32
#define HIST_N		(64 + 40 * HIST_SUB)

struct hist {
	uint64_t b[HIST_N];
	uint64_t n;
	uint64_t max;
	double sum;
};

static unsigned
hist_idx(uint64_t v)
{
	unsigned e;

	if (v < 64)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	if (e > 45)
		e = 45;
	return 64 + (e - 6) * HIST_SUB + (unsigned)((v >> (e - 5)) & (HIST_SUB - 1));
}

static uint64_t
hist_val(unsigned i)
{
	unsigned e, sub;

	if (i < 64)
		return i;
	e = (i - 64) / HIST_SUB + 6;
	sub = (i - 64) % HIST_SUB;
	return (((uint64_t)HIST_SUB + sub + 1) << (e - 5)) - 1;
}

static void
hist_add(struct hist *h, uint64_t us)
{
	h->b[hist_idx(us)]++;
	h->n++;
	h->sum += (double)us;
	if (us > h->max)
		h->max = us;
}

static double
hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen > want) {
			uint64_t v = hist_val(i);

			return (double)(v > h->max ? h->max : v) / 1000.0;
		}
	}
	return (double)h->max / 1000.0;
}

struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}

static unsigned
rng_below(struct rng *r, unsigned n)
{
	return (unsigned)((rng_next(r) >> 32) % n);
}

enum cstate { C_IDLE, C_CONNECTING, C_WAIT, C_DONE };

struct conn {
	int fd;
	int id;
	enum cstate state;
	struct rng rng;
	unsigned msg;		/* message counter on this connection */
	unsigned rcpt_left;	/* more requests of the current message */
	int	reopened;	/* reconnected by -R, no request sent yet */
	uint32_t want;		/* the epoll events registered for fd */
	char client[16], ptrname[64], helo[64], sender[64], inst[48];
	unsigned rcpt_n;
	char out[POLICYLOAD_REQ_MAX];
	size_t outlen, outoff;
	char in[POLICYLOAD_REPLY_MAX];
	size_t inlen;
	uint64_t sent_ns, connect_ns;
	int answered;		/* replies on this TCP connection */
	int counted;		/* request belongs to the measured phase */
};

static struct {
	const char *host, *upath;
	int port, nconn, quiet, reconnect_every, local;
	long long limit, msg_limit;
	double duration, warmup, timeout, over_ms;
	uint64_t seed;
	unsigned ndom, dom_offset;
} opt = { .host = "127.0.0.1", .nconn = 1, .duration = 10, .timeout = 30,
	.seed = 1, .ndom = 5000 };

static struct conn *conns;
static int ep;
static struct hist lat, first;
static long long n_connfail, n_over, n_done, n_issued, n_msgs, n_timeouts, n_closed, n_bad, n_connects;
static long long act_dunno, act_prepend, act_reject, act_defer, act_other;
static int measuring, stopping;
static uint64_t t_measure;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A new message: client, HELO, sender, recipients (benchzone.h rules). */
static void
new_message(struct conn *c)
{
	struct rng *r = &c->rng;
	uint32_t n = opt.dom_offset + rng_below(r, opt.ndom);
	unsigned kind = n % BENCHZONE_KINDS, na, nb, a, b, cc, h, cls;

	benchzone_domain_net(n, &na, &nb);
	h = rng_below(r, 4);
	if (measuring)
		n_msgs++;
	if (opt.local) {
		snprintf(c->client, sizeof(c->client), "127.0.0.1");
		snprintf(c->ptrname, sizeof(c->ptrname), "localhost");
		snprintf(c->helo, sizeof(c->helo), "localhost");
		snprintf(c->sender, sizeof(c->sender), "u@d%u.%s", n,
		    BENCHZONE_SUFFIX);
		goto rcpt;
	}
	if (rng_below(r, 100) < 20) {
		/* Outside every record: a pool as large as the domain list. */
		unsigned idx = rng_below(r, opt.ndom);

		a = 251 + idx % 4;
		b = (idx / 4) % 256;
		cc = 1 + (idx / 1024) % 254;
	} else if (kind == 2 || kind == 4 ||
	    ((kind == 3 || kind == 8) && rng_below(r, 2))) {
		a = benchzone_provider_net(n % BENCHZONE_PROVIDERS);
		b = (n / BENCHZONE_PROVIDERS) % 256;
		cc = 1 + h;
	} else if (kind == 1 || kind == 8) {
		/* 1: "a mx" (the A is .1, the MX host .2); 8: "mx". */
		a = na;
		b = nb;
		cc = kind == 8 ? 2 : 1 + h % 2;
	} else {
		a = na;
		b = nb;
		cc = 1 + h;
	}
	snprintf(c->client, sizeof(c->client), "44.%u.%u.%u", a, b, cc);
	cls = benchzone_ptr_class(a, b, cc);
	if (cls <= 6)
		snprintf(c->ptrname, sizeof(c->ptrname), "h%u-%u-%u.rdns.%s", a, b,
		    cc, BENCHZONE_SUFFIX);
	else
		snprintf(c->ptrname, sizeof(c->ptrname), "unknown");
	if (cls <= 6 && rng_below(r, 100) < 80)
		snprintf(c->helo, sizeof(c->helo), "%s", c->ptrname);
	else if (cls >= 8)
		snprintf(c->helo, sizeof(c->helo), "h%u-%u-%u.nx.%s", a, b, cc,
		    BENCHZONE_SUFFIX);
	else
		snprintf(c->helo, sizeof(c->helo), "d%u.%s", n, BENCHZONE_SUFFIX);
	if (rng_below(r, 100) < 5)
		c->sender[0] = 0;
	else
		snprintf(c->sender, sizeof(c->sender), "u%u@d%u.%s",
		    rng_below(r, 1000), n, BENCHZONE_SUFFIX);
rcpt:
	c->msg++;
	snprintf(c->inst, sizeof(c->inst), "%llx.%x.%x",
	    (unsigned long long)(opt.seed & 0xffffffff), c->id, c->msg);
	c->rcpt_n = 1 + rng_below(r, 5);
	c->rcpt_left = c->rcpt_n;
}

/* Request text without printf: the load generator's own CPU competes
 * with the server it measures on this 2-core machine. */
static char *
put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *
put_u(char *p, unsigned v)
{
	char tmp[12];
	int i = 0;

	do
		tmp[i++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (i > 0)
		*p++ = tmp[--i];
	return p;
}

static void
build_request(struct conn *c)
{
	char *p = c->out;

	if (c->rcpt_left == 0)
		new_message(c);
	/* Bounded: the fields are at most 16+64+64+64+64+48 bytes and the
	 * text under 1 KB, against POLICYLOAD_REQ_MAX. */
	p = put(p, "request=smtpd_access_policy\n"
	    "protocol_state=RCPT\n"
	    "protocol_name=ESMTP\n"
	    "client_address=");
	p = put(p, c->client);
	p = put(p, "\nclient_name=");
	p = put(p, c->ptrname);
	p = put(p, "\nclient_port=");
	p = put_u(p, 1024 + (c->msg % 60000));
	p = put(p, "\nreverse_client_name=");
	p = put(p, c->ptrname);
	p = put(p, "\nserver_address=203.0.113.25\n"
	    "server_port=25\n"
	    "helo_name=");
	p = put(p, c->helo);
	p = put(p, "\nsender=");
	p = put(p, c->sender);
	p = put(p, "\nrecipient=r");
	p = put_u(p, c->rcpt_n - c->rcpt_left);
	p = put(p, "@local.test\n"
	    "recipient_count=0\n"
	    "queue_id=\n"
	    "instance=");
	p = put(p, c->inst);
	p = put(p, "\nsize=");
	p = put_u(p, 1000 + (c->msg * 7919) % 100000);
	p = put(p, "\netrn_domain=\n"
	    "stress=\n"
	    "sasl_method=\n"
	    "sasl_username=\n"
	    "sasl_sender=\n"
	    "ccert_subject=\n"
	    "ccert_issuer=\n"
	    "ccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\n"
	    "encryption_protocol=TLSv1.3\n"
	    "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	    "encryption_keysize=256\n"
	    "policy_context=\n"
	    "compatibility_level=3.6\n"
	    "mail_version=3.7.11\n"
	    "\n");
	c->outlen = (size_t)(p - c->out);
	c->outoff = 0;
	c->rcpt_left--;
}

static void conn_start(struct conn *);

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_IDLE;
}

/* Failure on c: count it, and reconnect unless stopping. */
static void
conn_fail(struct conn *c, long long *counter)
{
	if (c->counted)
		(*counter)++;
	conn_close(c);
	c->rcpt_left = 0;
	if (!stopping)
		conn_start(c);
	else
		c->state = C_DONE;
}

static void
conn_want(struct conn *c, uint32_t events)
{
	struct epoll_event ev;

	if (c->want == events)
		return;		/* one syscall less per request */
	c->want = events;
	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
conn_send(struct conn *c)
{
	ssize_t w;

	while (c->outoff < c->outlen) {
		w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				conn_want(c, EPOLLIN | EPOLLOUT);
				return 0;
			}
			return -1;
		}
		c->outoff += (size_t)w;
	}
	conn_want(c, EPOLLIN);
	return 0;
}

/* Issue the next request on c, or retire it. */
static void
conn_next(struct conn *c)
{
	/* A connection -R reopened sends its request even when the limit
	 * was reached while it connected: every connection made is used
	 * (and has a first answer). */
	if (!c->reopened && (stopping ||
	    (opt.limit > 0 && n_issued >= opt.limit) ||
	    (opt.msg_limit > 0 && c->rcpt_left == 0 &&
	    n_msgs >= opt.msg_limit))) {
		conn_close(c);
		c->state = C_DONE;
		return;
	}
	if (opt.reconnect_every > 0 && c->answered >= opt.reconnect_every) {
		conn_close(c);
		c->rcpt_left = 0;
		c->reopened = 1;
		conn_start(c);
		return;
	}
	c->reopened = 0;
	build_request(c);
	c->counted = measuring;
	if (measuring)
		n_issued++;
	c->sent_ns = now_ns();
	c->state = C_WAIT;
	if (conn_send(c) < 0)
		conn_fail(c, &n_closed);
}

static void
conn_start(struct conn *c)
{
	struct epoll_event ev;
	int fd, one = 1;

	c->inlen = 0;
	c->answered = 0;
	c->counted = 0;
	c->connect_ns = now_ns();
	n_connects++;
	if (opt.upath) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", opt.upath);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto fail;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
		    errno != EINPROGRESS && errno != EAGAIN) {
			close(fd);
			goto fail;
		}
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)opt.port);
		inet_pton(AF_INET, opt.host, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto fail;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
		    errno != EINPROGRESS) {
			close(fd);
			goto fail;
		}
	}
	c->fd = fd;
	c->state = C_CONNECTING;
	c->want = EPOLLOUT;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return;
fail:
	c->fd = -1;
	c->state = C_DONE;
	n_connfail++;
}

static void
classify(const char *reply)
{
	const char *a = reply + 7;

	if (strncmp(a, "DUNNO", 5) == 0)
		act_dunno++;
	else if (strncmp(a, "PREPEND", 7) == 0)
		act_prepend++;
	else if (a[0] == '5' || strncasecmp(a, "REJECT", 6) == 0)
		act_reject++;
	else if (a[0] == '4' || strncasecmp(a, "DEFER", 5) == 0)
		act_defer++;
	else
		act_other++;
}

static void
conn_read(struct conn *c)
{
	ssize_t r;
	char *end;

	for (;;) {
		if (c->inlen >= sizeof(c->in) - 1) {
			conn_fail(c, &n_bad);
			return;
		}
		r = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_fail(c, &n_closed);
			return;
		}
		if (r == 0) {
			conn_fail(c, &n_closed);
			return;
		}
		c->inlen += (size_t)r;
		c->in[c->inlen] = 0;
		if ((end = strstr(c->in, "\n\n")) == NULL)
			continue;
		if (c->state != C_WAIT || end + 2 != c->in + c->inlen ||
		    strncmp(c->in, "action=", 7) != 0 ||
		    memchr(c->in, '\n', (size_t)(end - c->in)) != NULL) {
			/* Unasked bytes, two replies, or not one action line. */
			conn_fail(c, &n_bad);
			return;
		}
		{
			uint64_t t = now_ns();

			if (c->answered == 0)
				hist_add(&first, (t - c->connect_ns) / 1000);
			c->answered++;
			if (c->counted) {
				hist_add(&lat, (t - c->sent_ns) / 1000);
				if (opt.over_ms > 0 &&
				    (double)(t - c->sent_ns) / 1e6 > opt.over_ms)
					n_over++;
				n_done++;
				*end = 0;
				classify(c->in);
			}
		}
		c->inlen = 0;
		c->state = C_IDLE;
		conn_next(c);
		return;
	}
}

static void
on_event(struct conn *c, uint32_t events)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			/* Retried, but not forever: nothing may be listening. */
			n_connfail++;
			conn_close(c);
			if (!stopping && n_connfail < 10LL * opt.nconn)
				conn_start(c);
			else
				c->state = C_DONE;
			return;
		}
		c->state = C_IDLE;
		conn_next(c);
		return;
	}
	if (events & EPOLLOUT) {
		if (conn_send(c) < 0) {
			conn_fail(c, &n_closed);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

static void
usage(void)
{
	fprintf(stderr, "usage: policyload (-H HOST -p PORT | -u PATH) [-c CONNS] "
	    "[-n REQUESTS] [-d SECONDS] [-w WARMUP] [-s SEED] [-D DOMAINS] "
	    "[-o OFFSET] [-T TIMEOUT] [-R REQS_PER_CONN] [-m MESSAGES] [-O MS] "
	    "[-L] [-q]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;
	uint64_t t0, t_end_warm, last_print, last_scan = 0, t_now;
	long long last_done = 0;
	int ch, i, active;
	double secs;

	while ((ch = getopt(argc, argv, "H:p:u:c:n:d:w:s:D:o:T:R:m:O:Lq")) != -1) {
		switch (ch) {
		case 'H':
			opt.host = optarg;
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'u':
			opt.upath = optarg;
			break;
		case 'c':
			opt.nconn = atoi(optarg);
			break;
		case 'n':
			opt.limit = atoll(optarg);
			break;
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'w':
			opt.warmup = atof(optarg);
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'D':
			opt.ndom = (unsigned)atoi(optarg);
			break;
		case 'o':
			opt.dom_offset = (unsigned)atoi(optarg);
			break;
		case 'T':
			opt.timeout = atof(optarg);
			break;
		case 'R':
			opt.reconnect_every = atoi(optarg);
			break;
		case 'm':
			opt.msg_limit = atoll(optarg);
			break;
		case 'O':
			opt.over_ms = atof(optarg);
			break;
		case 'L':
			opt.local = 1;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		default:
			usage();
		}
	}
	if ((opt.upath == NULL && opt.port <= 0) || opt.nconn < 1 ||
	    opt.nconn > POLICYLOAD_CONNS_MAX || opt.ndom < 1 ||
	    opt.ndom > (1u << 23) || opt.timeout <= 0)
		usage();
	if ((opt.limit > 0 || opt.msg_limit > 0) && opt.duration == 10)
		opt.duration = 1e9;	/* -n alone: run until the count */
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)opt.nconn + 64) {
		rl.rlim_cur = (rlim_t)opt.nconn + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(0);
	conns = calloc((size_t)opt.nconn, sizeof(*conns));
	if (conns == NULL || ep < 0) {
		fprintf(stderr, "policyload: %s\n", strerror(errno));
		return 2;
	}
	measuring = opt.warmup <= 0;
	t0 = now_ns();
	t_end_warm = t0 + (uint64_t)(opt.warmup * 1e9);
	t_measure = measuring ? t0 : 0;
	last_print = t0;
	for (i = 0; i < opt.nconn; i++) {
		conns[i].id = i;
		conns[i].fd = -1;
		conns[i].rng.s = (opt.seed + 1) * 0x9e3779b97f4a7c15ull +
		    (uint64_t)i * 0xbf58476d1ce4e5b9ull;
		if (conns[i].rng.s == 0)
			conns[i].rng.s = 1;
		conn_start(&conns[i]);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 50);

		for (i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		t_now = now_ns();
		if (!measuring && t_now >= t_end_warm &&
		    first.n >= (uint64_t)opt.nconn) {
			measuring = 1;
			t_measure = t_now;
		}
		if (measuring && !stopping &&
		    (t_now - t_measure >= (uint64_t)(opt.duration * 1e9) ||
		    (opt.limit > 0 && n_issued >= opt.limit) ||
		    (opt.msg_limit > 0 && n_msgs >= opt.msg_limit))) {
			stopping = 1;
		}
		if (!stopping && t_now - last_scan < 10000000u)
			continue;
		last_scan = t_now;
		active = 0;
		for (i = 0; i < opt.nconn; i++) {
			struct conn *c = &conns[i];

			if (c->state == C_DONE)
				continue;
			if (c->state == C_WAIT &&
			    t_now - c->sent_ns > (uint64_t)(opt.timeout * 1e9)) {
				conn_fail(c, &n_timeouts);
				if (c->state == C_DONE)
					continue;
			}
			if (stopping && c->state != C_WAIT &&
			    c->state != C_CONNECTING) {
				conn_close(c);
				c->state = C_DONE;
				continue;
			}
			active++;
		}
		if (active == 0)
			break;
		if (!opt.quiet && t_now - last_print >= 1000000000u) {
			fprintf(stderr, "policyload: %s %.0f req/s, %lld done, "
			    "%lld errors\n", measuring ? "measuring" : "warm-up",
			    (double)(n_done - last_done) * 1e9 /
			    (double)(t_now - last_print), n_done,
			    n_timeouts + n_closed + n_bad);
			last_done = n_done;
			last_print = t_now;
		}
	}
	/* The measured interval ends when the last counted answer came. */
	t_now = now_ns();
	secs = (double)(t_now - t_measure) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	printf("{\"requests\": %lld, \"seconds\": %.3f, \"rps\": %.1f, "
	    "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
	    "\"max_ms\": %.3f, \"mean_ms\": %.3f, \"errors\": %lld, "
	    "\"over\": %lld, \"timeouts\": %lld, \"closed\": %lld, \"bad\": %lld, "
	    "\"connections\": %d, \"connects\": %lld, \"connect_errors\": %lld, \"messages\": %lld, "
	    "\"first_ms\": {\"n\": %llu, \"p50\": %.3f, \"p99\": %.3f, "
	    "\"max\": %.3f}, "
	    "\"actions\": {\"dunno\": %lld, \"prepend\": %lld, \"reject\": %lld, "
	    "\"defer\": %lld, \"other\": %lld}}\n",
	    n_done, secs, (double)n_done / secs, hist_pct(&lat, 50),
	    hist_pct(&lat, 90), hist_pct(&lat, 99), (double)lat.max / 1000.0,
	    lat.n ? lat.sum / (double)lat.n / 1000.0 : 0.0,
	    n_timeouts + n_closed + n_bad, n_over, n_timeouts, n_closed, n_bad,
	    opt.nconn, n_connects, n_connfail, n_msgs, (unsigned long long)first.n,
	    hist_pct(&first, 50), hist_pct(&first, 99),
	    (double)first.max / 1000.0,
	    act_dunno, act_prepend, act_reject, act_defer, act_other);
	if (n_done == 0 && n_connfail > 0)
		return 2;
	return n_timeouts + n_closed + n_bad > 0 ? 1 : 0;
}
