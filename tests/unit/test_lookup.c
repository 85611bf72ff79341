/* SPDX-License-Identifier: ISC */
/* test_lookup - DNS queries and SPF evaluations through the lookup thread:
 * answers, cancels (at once, from a sibling's callback, after the result
 * left the thread), the result cache, the counters, and lookup_free()
 * with requests in flight. A small DNS responder on loopback (a thread of
 * this test) serves the zone below; SPF workers are copies of this
 * program (spfworker_run_if_asked()). */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"
#include "shared/spfworker.h"
#include "policyd/lookup.h"

/* ---- the DNS responder -------------------------------------------------
 *
 * ok.test: A 192.0.2.1, TXT "v=spf1 ip4:192.0.2.1 -all"; nodata.test:
 * NOERROR without records; servfail.test: SERVFAIL; silent.test: no
 * answer at all; everything else NXDOMAIN. */
static int dns_fd = -1, dns_stop[2] = { -1, -1 };
static pthread_t dns_thread;

static size_t
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/* The question's name as dotted lower-case text; its end in *end. */
static int
qname(const unsigned char *b, size_t len, char *out, size_t outlen,
    size_t *end)
{
	size_t	i = 12, o = 0;

	while (i < len && b[i] != 0) {
		size_t	l = b[i++];

		if (l > 63 || i + l > len || o + l + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		while (l-- > 0) {
			unsigned char c = b[i++];

			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
	}
	if (i + 5 > len)
		return -1;
	out[o] = '\0';
	*end = i + 5;		/* the root label, type, class */
	return 0;
}

static size_t
answer(const unsigned char *q, size_t qlen, unsigned char *r)
{
	static const char txt[] = "v=spf1 ip4:192.0.2.1 -all";
	char	name[256];
	size_t	qend, n;
	unsigned type, rcode = 3, an = 0;

	if (qlen < 12 || qname(q, qlen, name, sizeof(name), &qend) < 0)
		return 0;
	type = (unsigned)q[qend - 4] << 8 | q[qend - 3];
	if (strcmp(name, "silent.test") == 0)
		return 0;
	if (strcmp(name, "ok.test") == 0) {
		rcode = 0;
		an = type == DNS_T_A || type == DNS_T_TXT;
	} else if (strcmp(name, "nodata.test") == 0)
		rcode = 0;
	else if (strcmp(name, "servfail.test") == 0)
		rcode = 2;
	memcpy(r, q, qend);
	r[2] = 0x81;			/* QR, RD */
	r[3] = (unsigned char)(0x80 | rcode);	/* RA */
	put16(r + 4, 1);
	put16(r + 6, an);
	put16(r + 8, 0);
	put16(r + 10, 0);
	n = qend;
	if (an) {
		n += put16(r + n, 0xc00c);
		n += put16(r + n, type);
		n += put16(r + n, 1);
		n += put16(r + n, 0);
		n += put16(r + n, 60);
		if (type == DNS_T_A) {
			n += put16(r + n, 4);
			memcpy(r + n, "\xc0\x00\x02\x01", 4);
			n += 4;
		} else {
			n += put16(r + n, sizeof(txt));
			r[n++] = sizeof(txt) - 1;
			memcpy(r + n, txt, sizeof(txt) - 1);
			n += sizeof(txt) - 1;
		}
	}
	return n;
}

static void *
dns_main(void *arg)
{
	struct pollfd pfd[2];
	struct sockaddr_storage from;
	unsigned char q[512], r[1024];
	socklen_t flen;
	ssize_t	n;
	size_t	rlen;

	(void)arg;
	pfd[0].fd = dns_fd;
	pfd[1].fd = dns_stop[0];
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			return NULL;
		flen = sizeof(from);
		n = recvfrom(dns_fd, q, sizeof(q), 0, (struct sockaddr *)&from,
		    &flen);
		if (n <= 0 || (rlen = answer(q, (size_t)n, r)) == 0)
			continue;
		(void)sendto(dns_fd, r, rlen, 0, (struct sockaddr *)&from,
		    flen);
	}
}

/* "127.0.0.1@PORT" of the started responder. */
static void
dns_start(char *fwd, size_t len)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(dns_fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(dns_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(dns_fd, (struct sockaddr *)&sin, &slen),
	    0);
	assert_int_equal(pipe(dns_stop), 0);
	assert_int_equal(pthread_create(&dns_thread, NULL, dns_main, NULL), 0);
	snprintf(fwd, len, "127.0.0.1@%u", ntohs(sin.sin_port));
}

static void
dns_end(void)
{
	assert_int_equal(write(dns_stop[1], "x", 1), 1);
	pthread_join(dns_thread, NULL);
	close(dns_fd);
	close(dns_stop[0]);
	close(dns_stop[1]);
}

/* ---- a lookup on a main loop --------------------------------------- */

struct env {
	struct event_base *base;
	struct lookup *lk;
	char	fwd[64];
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dns_opts d;
	struct spfpool_opts p;
	char	err[256];

	dns_start(e->fwd, sizeof(e->fwd));
	memset(&d, 0, sizeof(d));
	d.forward[0] = e->fwd;
	d.nforward = 1;
	d.query_timeout = 2;
	memset(&p, 0, sizeof(p));
	p.workers = 1;
	p.lookup_limit = 10;
	p.void_limit = 2;
	p.eval_timeout = 10;
	p.receiver = "mx.test";
	e->base = event_base_new();
	e->lk = lookup_new(e->base, &d, err, sizeof(err));
	if (e->lk == NULL)
		fail_msg("lookup_new: %s", err);
	if (lookup_start(e->lk, &p, err, sizeof(err)) != 0)
		fail_msg("lookup_start: %s", err);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	lookup_free(e->lk);
	event_base_free(e->base);
	dns_end();
	free(e);
	return 0;
}

/* Run the main loop until *done reaches *want, or for ms milliseconds
 * (done == NULL: the whole time, for callbacks that must not come). */
static void
run_until(struct event_base *base, const int *done, const int *want, int ms)
{
	static const struct timeval tick = { 0, 10000 };
	int	i;

	for (i = 0; i < ms / 10 && (done == NULL || *done < *want); i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

/* ---- answers and cancels, one row at a time ------------------------------ */

enum when { NEVER, AT_ONCE, AFTER };	/* lookup_cancel(): when */

struct got {
	int	calls;
	enum dns_status status;
	int	nrr;
	enum spf_result result;
	char	problem[SPF_TEXT_MAX];
};

/* Cancel req as the row says, run the loop until its callback came (or,
 * for a cancelled one, long enough that a wrong one would), and check
 * the count. */
static void
settle(struct event_base *base, struct lookup_req *req, enum when cancel,
    const struct got *g, int want_calls, const char *name)
{
	if (cancel == AT_ONCE)
		lookup_cancel(req);
	if (cancel == AFTER) {
		/* Let the answer reach this thread's queue, then cancel
		 * before the loop runs its callback. */
		usleep(300000);
		lookup_cancel(req);
	}
	if (want_calls)
		run_until(base, &g->calls, &want_calls, 20000);
	else
		run_until(base, NULL, NULL, 500);
	if (g->calls != want_calls)
		fail_msg("row %s: got %d callbacks, want %d", name, g->calls,
		    want_calls);
}

static void
got_dns(void *arg, const struct dns_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->status = a->status;
	g->nrr = a->nrr;
}

static void
got_spf(void *arg, const struct spf_outcome *o)
{
	struct got *g = arg;

	g->calls++;
	g->result = o->result;
	snprintf(g->problem, sizeof(g->problem), "%s", o->problem);
}

static const struct dnsrow {
	const char *name;
	const char *qname;
	enum dns_type type;
	enum when cancel;
	int	want_calls;
	enum dns_status want;
	int	want_nrr;
} dnsrows[] = {
	{ "A record", "ok.test", DNS_T_A, NEVER, 1, DNS_OK, 1 },
	{ "TXT record", "ok.test", DNS_T_TXT, NEVER, 1, DNS_OK, 1 },
	{ "trailing dot", "ok.test.", DNS_T_A, NEVER, 1, DNS_OK, 1 },
	{ "cancelled after the answer", "ok.test", DNS_T_A, AFTER, 0, 0, 0 },
	{ "cancelled at once", "ok.test", DNS_T_TXT, AT_ONCE, 0, 0, 0 },
	/* errors */
	{ "nodata", "nodata.test", DNS_T_A, NEVER, 1, DNS_NODATA, 0 },
	{ "nxdomain", "nx.test", DNS_T_A, NEVER, 1, DNS_NXDOMAIN, 0 },
	{ "servfail", "servfail.test", DNS_T_A, NEVER, 1, DNS_TEMPFAIL, 0 },
	{ "empty label", "a..test", DNS_T_A, NEVER, 1, DNS_PERMFAIL, 0 },
	{ "no name", NULL, DNS_T_A, NEVER, 1, DNS_PERMFAIL, 0 },
	{ "error cancelled at once", "a..test", DNS_T_A, AT_ONCE, 0, 0, 0 },
};

static void
test_dns_rows(void **state)
{
	struct env *e = *state;
	size_t	i;

	for (i = 0; i < sizeof(dnsrows) / sizeof(dnsrows[0]); i++) {
		const struct dnsrow *r = &dnsrows[i];
		struct got g;
		struct lookup_req *req;

		memset(&g, 0, sizeof(g));
		req = lookup_dns(e->lk, r->qname, r->type, got_dns, &g);
		settle(e->base, req, r->cancel, &g, r->want_calls, r->name);
		if (r->want_calls && (g.status != r->want || g.nrr != r->want_nrr))
			fail_msg("row %s: got %s with %d records, want %s "
			    "with %d", r->name, dns_status_str(g.status), g.nrr,
			    dns_status_str(r->want), r->want_nrr);
	}
}

static const struct spfrow {
	const char *name;
	const char *ip;
	const char *sender;
	enum when cancel;
	int	want_calls;
	enum spf_result want;
} spfrows[] = {
	{ "pass", "192.0.2.1", "a@ok.test", NEVER, 1, SPF_RES_PASS },
	{ "fail", "192.0.2.2", "b@ok.test", NEVER, 1, SPF_RES_FAIL },
	{ "no record", "192.0.2.1", "a@nx.test", NEVER, 1, SPF_RES_NONE },
	{ "cancelled at once", "192.0.2.3", "a@ok.test", AT_ONCE, 0, 0 },
	/* errors */
	{ "DNS error", "192.0.2.1", "a@servfail.test", NEVER, 1,
	  SPF_RES_TEMPERROR },
	{ "malformed domain", "192.0.2.1", "a@-bad-", NEVER, 1, SPF_RES_NONE },
	{ "error cancelled at once", "192.0.2.1", "a@servfail.test", AT_ONCE,
	  0, 0 },
	{ "error cancelled after", "192.0.2.1", "a@-bad-", AFTER, 0, 0 },
};

static void
query_set(struct spf_query *q, const char *ip, const char *sender)
{
	memset(q, 0, sizeof(*q));
	assert_int_equal(netaddr_parse(ip, &q->ip), 0);
	q->helo = "mail.ok.test";
	q->sender = sender;
	q->identity = SPF_ID_MAILFROM;
}

static void
test_spf_rows(void **state)
{
	struct env *e = *state;
	size_t	i;

	for (i = 0; i < sizeof(spfrows) / sizeof(spfrows[0]); i++) {
		const struct spfrow *r = &spfrows[i];
		struct spf_query q;
		struct got g;
		struct lookup_req *req;

		memset(&g, 0, sizeof(g));
		query_set(&q, r->ip, r->sender);
		req = lookup_spf(e->lk, &q, got_spf, &g);
		settle(e->base, req, r->cancel, &g, r->want_calls, r->name);
		if (r->want_calls && g.result != r->want)
			fail_msg("row %s: got %s (%s), want %s", r->name,
			    spf_result_str(g.result), g.problem,
			    spf_result_str(r->want));
	}
}

/* ---- the result cache, answered on this thread ----------------------- */

static const struct cacherow {
	const char *name;
	const char *ip;
	const char *sender;
	int	want_hit;
	enum spf_result want;
} cacherows[] = {
	{ "kept pass", "192.0.2.1", "x@ok.test", 1, SPF_RES_PASS },
	{ "kept fail", "192.0.2.2", "y@ok.test", 1, SPF_RES_FAIL },
	/* errors: nothing kept */
	{ "never evaluated", "192.0.2.9", "x@ok.test", 0, 0 },
	{ "temperror not kept", "192.0.2.1", "x@servfail.test", 0, 0 },
};

static void
test_spf_cached(void **state)
{
	struct env *e = *state;
	struct spfpool_stats ps0, ps1;
	struct spf_outcome out;
	struct spf_query q;
	size_t	i;
	int	hits = 0;

	/* The rows above evaluated these. */
	lookup_get_stats(e->lk, NULL, &ps0);
	for (i = 0; i < sizeof(cacherows) / sizeof(cacherows[0]); i++) {
		const struct cacherow *r = &cacherows[i];
		int	hit;

		query_set(&q, r->ip, r->sender);
		hit = lookup_spf_cached(e->lk, &q, &out);
		hits += hit;
		if (hit != r->want_hit)
			fail_msg("row %s: got hit %d, want %d", r->name, hit,
			    r->want_hit);
		if (hit && out.result != r->want)
			fail_msg("row %s: got %s, want %s", r->name,
			    spf_result_str(out.result),
			    spf_result_str(r->want));
	}
	lookup_get_stats(e->lk, NULL, &ps1);
	if (ps1.cache_hits - ps0.cache_hits != (unsigned long)hits)
		fail_msg("cache_hits: got %lu more, want %d",
		    ps1.cache_hits - ps0.cache_hits, hits);
}

/* ---- many at once, cancels from callbacks -------------------------- */

#define STRESS_N	600

struct stress {
	struct lookup_req *req[STRESS_N];
	int	calls[STRESS_N];
	int	cancelled[STRESS_N];
	int	done, want;
};

struct slot {
	struct stress *s;
	int	i;
};

static void
stress_cb(void *arg, const struct dns_answer *a)
{
	struct slot *sl = arg;
	struct stress *s = sl->s;
	int	j = sl->i + 1;

	(void)a;
	s->calls[sl->i]++;
	s->req[sl->i] = NULL;
	s->done++;
	/* Cancel the next one if it is still out: its answer may already
	 * be in this batch. */
	if (sl->i % 5 == 0 && j < STRESS_N && s->req[j] != NULL &&
	    !s->cancelled[j]) {
		lookup_cancel(s->req[j]);
		s->req[j] = NULL;
		s->cancelled[j] = 1;
		s->want--;
	}
}

static void
test_stress_cancels(void **state)
{
	static const char *const names[] = {
		"ok.test", "nodata.test", "nx.test", "a..test", "servfail.test",
	};
	struct env *e = *state;
	struct stress *s = calloc(1, sizeof(*s));
	struct slot *sl = calloc(STRESS_N, sizeof(*sl));
	struct dns_stats ds;
	int	i, bad = 0;

	s->want = STRESS_N;
	for (i = 0; i < STRESS_N; i++) {
		sl[i].s = s;
		sl[i].i = i;
		s->req[i] = lookup_dns(e->lk, names[i % 5], i % 2 ? DNS_T_A :
		    DNS_T_TXT, stress_cb, &sl[i]);
		if (i % 7 == 3) {
			lookup_cancel(s->req[i]);
			s->req[i] = NULL;
			s->cancelled[i] = 1;
			s->want--;
		}
	}
	run_until(e->base, &s->done, &s->want, 20000);
	run_until(e->base, NULL, NULL, 300);	/* late callbacks come now */
	for (i = 0; i < STRESS_N; i++)
		if (s->calls[i] != (s->cancelled[i] ? 0 : 1)) {
			print_error("request %d: got %d callbacks, want %d\n",
			    i, s->calls[i], s->cancelled[i] ? 0 : 1);
			bad++;
		}
	if (bad || s->done != s->want)
		fail_msg("got %d callbacks, want %d (%d wrong)", s->done,
		    s->want, bad);
	lookup_get_stats(e->lk, &ds, NULL);
	if (ds.answers < (unsigned long)s->done)
		fail_msg("dns answers: got %lu, want at least %d", ds.answers,
		    s->done);
	free(s);
	free(sl);
}

/* ---- lookup_free() with requests in flight ------------------------- */

static void
test_free_in_flight(void **state)
{
	struct env *e = *state;
	struct spf_query q;
	struct got g;
	int	i;

	memset(&g, 0, sizeof(g));
	for (i = 0; i < 20; i++)
		lookup_dns(e->lk, "silent.test", DNS_T_A, got_dns, &g);
	query_set(&q, "192.0.2.1", "a@silent.test");
	lookup_spf(e->lk, &q, got_spf, &g);
	lookup_cancel(lookup_dns(e->lk, "silent.test", DNS_T_TXT, got_dns,
	    &g));
	usleep(100000);
	lookup_free(e->lk);
	e->lk = NULL;
	event_base_loop(e->base, EVLOOP_NONBLOCK);
	if (g.calls != 0)
		fail_msg("got %d callbacks after lookup_free(), want 0",
		    g.calls);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_rows),
		cmocka_unit_test(test_spf_rows),
		cmocka_unit_test(test_spf_cached),
		cmocka_unit_test(test_stress_cancels),
		cmocka_unit_test(test_free_in_flight),
	};

	spfworker_run_if_asked(argc, argv);	/* a started SPF worker */
	return cmocka_run_group_tests(tests, setup, teardown);
}
