/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	benchdns 1
 * SUMMARY
 *	fast synthetic authoritative DNS responder for the benchmark
 * SYNOPSIS
 *	benchdns [-a ADDR] [-p PORT] [-l DELAY_MS] [-x DROP_PERMILLE] [-v]
 * DESCRIPTION
 *	Answers UDP queries on ADDR:PORT (default 127.0.0.1, port 0 = any
 *	free one) from the rules of benchzone.h, so tens of thousands of
 *	distinct names cost nothing.  Prints "port N" on stdout when it is
 *	listening.  -l holds every answer DELAY_MS milliseconds (without
 *	blocking: the answers wait in a queue, so thousands of queries are
 *	in flight at once).  -x never answers names whose hash modulo 1000
 *	is below DROP_PERMILLE (the same names every time, every type).
 *	-v logs every query ("query NAME TYPE") on stderr.
 *	SIGUSR1 prints "stats queries=N answered=N dropped=N" on stdout;
 *	SIGTERM/SIGINT print it and exit.
 * DIAGNOSTICS
 *	Packets that do not parse are dropped.  Exit 2 on usage errors, 1
 *	when the socket cannot be bound.
 * LIMITS
 *	UDP only; answers stay under 512 bytes.  BENCHDNS_QUEUE_MAX answers
 *	waiting at once (more are dropped and counted).
 *--*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/benchzone.h"

#define BENCHDNS_QUEUE_MAX	65536
#define BENCHDNS_PKT_MAX	512
#define BENCHDNS_TTL		3600
#define BENCHDNS_NEG_TTL	600

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15,
	T_TXT = 16, T_AAAA = 28, T_SPF = 99 };

struct pending {
	uint64_t due_ns;
	struct sockaddr_in6 peer;
	socklen_t peerlen;
	uint16_t len;
	unsigned char pkt[BENCHDNS_PKT_MAX];
};

static volatile sig_atomic_t got_usr1, got_term;
static unsigned long long n_queries, n_answered, n_dropped;
static int verbose;

/* An answer being built. */
struct ans {
	unsigned char *p;
	size_t len;
	int rcode;
	int nan;
	int nns;
	const char *soa_zone;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static int
put(struct ans *a, const void *data, size_t n)
{
	if (a->len + n > BENCHDNS_PKT_MAX)
		return -1;
	memcpy(a->p + a->len, data, n);
	a->len += n;
	return 0;
}

static int
put16(struct ans *a, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	return put(a, b, 2);
}

static int
put32(struct ans *a, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v };

	return put(a, b, 4);
}

/* Uncompressed wire form of a dotted name. */
static int
put_name(struct ans *a, const char *name)
{
	const char *s = name, *dot;
	size_t n;

	while (*s) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63)
			return -1;
		if (put(a, (unsigned char[]){ (unsigned char)n }, 1) < 0 ||
		    put(a, s, n) < 0)
			return -1;
		s += n;
		if (*s == '.')
			s++;
	}
	return put(a, "", 1);
}

/* Answer RR header at the question name (compression pointer 12). */
static int
rr_begin(struct ans *a, int type, size_t *rdlen_at)
{
	if (put16(a, 0xc00c) < 0 || put16(a, (unsigned)type) < 0 ||
	    put16(a, 1) < 0 || put32(a, BENCHDNS_TTL) < 0)
		return -1;
	*rdlen_at = a->len;
	if (put16(a, 0) < 0)
		return -1;
	return 0;
}

static void
rr_end(struct ans *a, size_t rdlen_at)
{
	size_t n = a->len - rdlen_at - 2;

	a->p[rdlen_at] = (unsigned char)(n >> 8);
	a->p[rdlen_at + 1] = (unsigned char)n;
	a->nan++;
}

static void
add_a(struct ans *a, unsigned o1, unsigned o2, unsigned o3, unsigned o4)
{
	size_t at;
	unsigned char ip[4] = { (unsigned char)o1, (unsigned char)o2,
	    (unsigned char)o3, (unsigned char)o4 };

	if (rr_begin(a, T_A, &at) == 0 && put(a, ip, 4) == 0)
		rr_end(a, at);
}

static void
add_txt(struct ans *a, int type, const char *text)
{
	size_t at, n = strlen(text);

	if (n > 255)
		return;
	if (rr_begin(a, type, &at) == 0 &&
	    put(a, (unsigned char[]){ (unsigned char)n }, 1) == 0 &&
	    put(a, text, n) == 0)
		rr_end(a, at);
}

static void
add_name(struct ans *a, int type, int pref, const char *target)
{
	size_t at;

	if (rr_begin(a, type, &at) < 0)
		return;
	if (type == T_MX && put16(a, (unsigned)pref) < 0)
		return;
	if (put_name(a, target) == 0)
		rr_end(a, at);
}

/* Parse "<prefix><number>" exactly; -1 if not. */
static long
numlabel(const char *label, size_t len, char prefix)
{
	long v = 0;
	size_t i;

	if (len < 2 || len > 9 || label[0] != prefix)
		return -1;
	for (i = 1; i < len; i++) {
		if (label[i] < '0' || label[i] > '9')
			return -1;
		v = v * 10 + (label[i] - '0');
	}
	return v;
}

/* "hA-B-C" -> 1 and the three numbers. */
static int
hostlabel(const char *label, size_t len, unsigned o[3])
{
	char buf[32];

	if (len >= sizeof(buf) || label[0] != 'h')
		return 0;
	memcpy(buf, label, len);
	buf[len] = 0;
	if (sscanf(buf, "h%u-%u-%u", &o[0], &o[1], &o[2]) != 3)
		return 0;
	return o[0] < 256 && o[1] < 256 && o[2] < 256;
}

static int
ends_with(const char *s, size_t n, const char *suffix, size_t *head)
{
	size_t m = strlen(suffix);

	if (n < m + 1 || s[n - m - 1] != '.' || memcmp(s + n - m, suffix, m) != 0)
		return 0;
	*head = n - m - 1;
	return 1;
}

static void
spf_domain(struct ans *a, uint32_t n, int qtype)
{
	char txt[256], name[128];
	unsigned na, nb, m = n % BENCHZONE_PROVIDERS;
	int kind = (int)(n % BENCHZONE_KINDS);

	benchzone_domain_net(n, &na, &nb);
	if (kind == 7) {
		a->rcode = 3;
		return;
	}
	switch (qtype) {
	case T_A:
		add_a(a, BENCHZONE_NET, na, nb, 1);
		return;
	case T_MX:
		snprintf(name, sizeof(name), "mx.d%u.%s", n, BENCHZONE_SUFFIX);
		add_name(a, T_MX, 10, name);
		return;
	case T_TXT:
		break;
	default:
		return;
	}
	switch (kind) {
	case 0:
		snprintf(txt, sizeof(txt), "v=spf1 ip4:44.%u.%u.0/24 -all", na, nb);
		break;
	case 1:
		snprintf(txt, sizeof(txt), "v=spf1 a mx -all");
		break;
	case 2:
		snprintf(txt, sizeof(txt), "v=spf1 include:p%u.prov.%s -all", m,
		    BENCHZONE_SUFFIX);
		break;
	case 3:
		snprintf(txt, sizeof(txt), "v=spf1 include:p%u.prov.%s "
		    "include:i%u.own.%s ~all", m, BENCHZONE_SUFFIX, n,
		    BENCHZONE_SUFFIX);
		break;
	case 4:
		snprintf(txt, sizeof(txt), "v=spf1 redirect=p%u.prov.%s", m,
		    BENCHZONE_SUFFIX);
		break;
	case 5:
		snprintf(txt, sizeof(txt), "v=spf1 ip4:44.%u.%u.0/24 "
		    "ip6:2001:db8:%x::/48 ~all", na, nb, n & 0xffff);
		break;
	case 6:
		return;
	case 8:
		snprintf(txt, sizeof(txt), "v=spf1 mx include:p%u.prov.%s -all",
		    m, BENCHZONE_SUFFIX);
		break;
	default:
		snprintf(txt, sizeof(txt), "v=spf1 include:i%u.own.%s -all", n,
		    BENCHZONE_SUFFIX);
		break;
	}
	add_txt(a, T_TXT, txt);
}

/* The synthetic zone (benchzone.h). */
static void
lookup(struct ans *a, const char *q, int qtype)
{
	size_t n = strlen(q), head, llen;
	const char *dot;
	char txt[256];
	unsigned o[4], na, nb;
	long v;

	a->rcode = 0;
	if (ends_with(q, n, "44.in-addr.arpa", &head)) {
		a->soa_zone = "in-addr.arpa";
		if (sscanf(q, "%u.%u.%u.44.in-addr.arpa", &o[2], &o[1], &o[0]) != 3 ||
		    o[0] > 255 || o[1] > 255 || o[2] > 255) {
			a->rcode = 3;
			return;
		}
		switch (benchzone_ptr_class(o[0], o[1], o[2])) {
		case 7:
			snprintf(txt, sizeof(txt), "h%u-%u-%u.bad.%s", o[0], o[1],
			    o[2], BENCHZONE_SUFFIX);
			break;
		case 8:
			snprintf(txt, sizeof(txt), "h%u-%u-%u.nx.%s", o[0], o[1],
			    o[2], BENCHZONE_SUFFIX);
			break;
		case 9:
			a->rcode = 3;
			return;
		default:
			snprintf(txt, sizeof(txt), "h%u-%u-%u.rdns.%s", o[0], o[1],
			    o[2], BENCHZONE_SUFFIX);
			break;
		}
		if (qtype == T_PTR)
			add_name(a, T_PTR, 0, txt);
		return;
	}
	a->soa_zone = BENCHZONE_SUFFIX;
	if (!ends_with(q, n, BENCHZONE_SUFFIX, &head)) {
		if (strcmp(q, BENCHZONE_SUFFIX) != 0)
			a->rcode = 3;
		return;
	}
	dot = memchr(q, '.', head);
	llen = dot ? (size_t)(dot - q) : head;
	/* dN.bench.test */
	if (dot == NULL) {
		if ((v = numlabel(q, llen, 'd')) >= 0)
			spf_domain(a, (uint32_t)v, qtype);
		else if (strncmp(q, "prov", head) != 0 &&
		    strncmp(q, "own", head) != 0 && strncmp(q, "rdns", head) != 0)
			a->rcode = 3;
		return;
	}
	dot++;
	if ((size_t)(q + head - dot) > 0 && strncmp(dot, "prov.", 5) == 0 &&
	    dot + 4 == q + head) {
		if ((v = numlabel(q, llen, 'p')) >= 0 && v < BENCHZONE_PROVIDERS) {
			if (qtype == T_TXT) {
				snprintf(txt, sizeof(txt), "v=spf1 ip4:44.%u.0.0/16 "
				    "include:q%ld.prov.%s ~all",
				    benchzone_provider_net((uint32_t)v), v,
				    BENCHZONE_SUFFIX);
				add_txt(a, T_TXT, txt);
			}
		} else if ((v = numlabel(q, llen, 'q')) >= 0 &&
		    v < BENCHZONE_PROVIDERS) {
			if (qtype == T_TXT) {
				snprintf(txt, sizeof(txt), "v=spf1 ip4:172.16.%ld.0/24 "
				    "ip6:2001:db8:ffff:%lx::/64 -all", v, v);
				add_txt(a, T_TXT, txt);
			}
		} else
			a->rcode = 3;
		return;
	}
	if (strncmp(dot, "own.", 4) == 0 && dot + 3 == q + head) {
		long i = numlabel(q, llen, 'i'), j = numlabel(q, llen, 'j'),
		    k = numlabel(q, llen, 'k');

		v = i >= 0 ? i : j >= 0 ? j : k;
		if (v < 0) {
			a->rcode = 3;
			return;
		}
		if (qtype != T_TXT)
			return;
		benchzone_domain_net((uint32_t)v, &na, &nb);
		if (i >= 0)
			snprintf(txt, sizeof(txt), "v=spf1 include:j%ld.own.%s -all",
			    v, BENCHZONE_SUFFIX);
		else if (j >= 0 && v % BENCHZONE_KINDS == 9)
			snprintf(txt, sizeof(txt), "v=spf1 ip4:44.%u.%u.128/25 "
			    "include:k%ld.own.%s -all", na, nb, v, BENCHZONE_SUFFIX);
		else
			snprintf(txt, sizeof(txt), "v=spf1 ip4:44.%u.%u.0/24 -all",
			    na, nb);
		add_txt(a, T_TXT, txt);
		return;
	}
	if (strncmp(dot, "d", 1) == 0 && numlabel(dot, (size_t)(q + head - dot),
	    'd') >= 0 && llen == 2 && memcmp(q, "mx", 2) == 0) {
		v = numlabel(dot, (size_t)(q + head - dot), 'd');
		benchzone_domain_net((uint32_t)v, &na, &nb);
		if (v % BENCHZONE_KINDS == 7)
			a->rcode = 3;
		else if (qtype == T_A)
			add_a(a, BENCHZONE_NET, na, nb, 2);
		return;
	}
	if (hostlabel(q, llen, o)) {
		if (strncmp(dot, "rdns.", 5) == 0 && dot + 4 == q + head) {
			if (qtype == T_A)
				add_a(a, BENCHZONE_NET, o[0], o[1], o[2]);
			else if (qtype == T_TXT)
				add_txt(a, T_TXT, "v=spf1 a -all");
			return;
		}
		if (strncmp(dot, "bad.", 4) == 0 && dot + 3 == q + head) {
			if (qtype == T_A)
				add_a(a, 192, 0, 2, o[2]);
			return;
		}
	}
	a->rcode = 3;
}

/* Query in q/qlen -> answer in out; 0 = send, -1 = drop. */
static int
respond(const unsigned char *q, size_t qlen, unsigned char *out, size_t *outlen,
    unsigned drop_permille)
{
	char name[256];
	size_t off = 12, nl = 0;
	unsigned qtype, qclass, i;
	struct ans a;

	if (qlen < 12 || (q[2] & 0x80) || ((q[4] << 8) | q[5]) != 1)
		return -1;
	while (off < qlen && q[off] != 0) {
		unsigned l = q[off++];

		if (l > 63 || off + l > qlen || nl + l + 1 >= sizeof(name))
			return -1;
		if (nl)
			name[nl++] = '.';
		for (i = 0; i < l; i++) {
			unsigned char c = q[off + i];

			name[nl++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		}
		off += l;
	}
	name[nl] = 0;
	if (off + 5 > qlen)
		return -1;
	off++;
	qtype = (unsigned)((q[off] << 8) | q[off + 1]);
	qclass = (unsigned)((q[off + 2] << 8) | q[off + 3]);
	off += 4;
	n_queries++;
	if (verbose)
		fprintf(stderr, "query %s %u\n", name, qtype);
	if (drop_permille && benchzone_hash(name) % 1000 < drop_permille) {
		n_dropped++;
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.p = out;
	memcpy(out, q, off);
	a.len = off;
	if (qclass == 1)
		lookup(&a, name, (int)qtype);
	else
		a.rcode = 5;
	if (a.nan == 0 && (a.rcode == 3 || a.rcode == 0) && a.soa_zone) {
		size_t at;

		if (put_name(&a, a.soa_zone) == 0 && put16(&a, T_SOA) == 0 &&
		    put16(&a, 1) == 0 && put32(&a, BENCHDNS_NEG_TTL) == 0) {
			at = a.len;
			if (put16(&a, 0) == 0 && put_name(&a, "ns.bench.test") == 0 &&
			    put_name(&a, "hostmaster.bench.test") == 0 &&
			    put32(&a, 1) == 0 && put32(&a, 3600) == 0 &&
			    put32(&a, 600) == 0 && put32(&a, 86400) == 0 &&
			    put32(&a, BENCHDNS_NEG_TTL) == 0) {
				a.p[at] = (unsigned char)((a.len - at - 2) >> 8);
				a.p[at + 1] = (unsigned char)(a.len - at - 2);
				a.nns = 1;
			}
		}
	}
	out[2] = (unsigned char)(0x84 | (q[2] & 0x01));	/* QR AA, RD copied */
	out[3] = (unsigned char)(0x80 | a.rcode);	/* RA */
	out[6] = (unsigned char)(a.nan >> 8);
	out[7] = (unsigned char)a.nan;
	out[8] = (unsigned char)(a.nns >> 8);
	out[9] = (unsigned char)a.nns;
	out[10] = out[11] = 0;
	*outlen = a.len;
	return 0;
}

static void
print_stats(void)
{
	printf("stats queries=%llu answered=%llu dropped=%llu\n", n_queries,
	    n_answered, n_dropped);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 0, delay_ms = 0, ch, fd, ep;
	unsigned drop = 0;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct epoll_event ev;
	struct pending *queue = NULL;
	size_t qhead = 0, qcount = 0;
	struct sigaction sa;

	while ((ch = getopt(argc, argv, "a:p:l:vx:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'l':
			delay_ms = atoi(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'x':
			drop = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: benchdns [-a ADDR] [-p PORT] "
			    "[-l DELAY_MS] [-x DROP_PERMILLE] [-v]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "benchdns: bad address %s\n", addr);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "benchdns: bind %s:%d: %s\n", addr, port,
		    strerror(errno));
		return 1;
	}
	{
		int sz = 8 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	getsockname(fd, (struct sockaddr *)&sin, &slen);
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	if (delay_ms > 0)
		queue = calloc(BENCHDNS_QUEUE_MAX, sizeof(*queue));
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);

	while (!got_term) {
		unsigned char in[1500], out[BENCHDNS_PKT_MAX];
		struct sockaddr_in6 peer;
		socklen_t plen;
		ssize_t r;
		size_t olen;
		int timeout = -1;
		uint64_t now;

		if (got_usr1) {
			got_usr1 = 0;
			print_stats();
		}
		if (qcount) {
			uint64_t due = queue[qhead].due_ns;

			now = now_ns();
			timeout = due > now ? (int)((due - now + 999999) / 1000000) : 0;
		}
		if (epoll_wait(ep, &ev, 1, timeout) < 0 && errno != EINTR)
			break;
		for (;;) {
			plen = sizeof(peer);
			r = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&peer,
			    &plen);
			if (r < 0)
				break;
			if (respond(in, (size_t)r, out, &olen, drop) < 0)
				continue;
			if (queue == NULL) {
				if (sendto(fd, out, olen, 0, (struct sockaddr *)&peer,
				    plen) >= 0)
					n_answered++;
				continue;
			}
			if (qcount == BENCHDNS_QUEUE_MAX) {
				n_dropped++;
				continue;
			}
			{
				struct pending *p = &queue[(qhead + qcount) %
				    BENCHDNS_QUEUE_MAX];

				p->due_ns = now_ns() + (uint64_t)delay_ms * 1000000u;
				p->peer = peer;
				p->peerlen = plen;
				p->len = (uint16_t)olen;
				memcpy(p->pkt, out, olen);
				qcount++;
			}
		}
		if (qcount) {
			now = now_ns();
			while (qcount && queue[qhead].due_ns <= now) {
				struct pending *p = &queue[qhead];

				if (sendto(fd, p->pkt, p->len, 0,
				    (struct sockaddr *)&p->peer, p->peerlen) >= 0)
					n_answered++;
				qhead = (qhead + 1) % BENCHDNS_QUEUE_MAX;
				qcount--;
			}
		}
	}
	print_stats();
	free(queue);
	close(fd);
	return 0;
}
