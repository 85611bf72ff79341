/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	dnsq 1
 * SUMMARY
 *	query DNS through shared/dns.c (test tool)
 * SYNOPSIS
 *	dnsq [-s ADDR[@PORT]]... [-t TIMEOUT] [--sync] [--dnssec] [--stats]
 *		TYPE NAME [TYPE NAME...] [-- TYPE NAME...]...
 * DESCRIPTION
 *	Issues every query at once on one event loop (or one after the
 *	other with --sync, through dns_query_sync()) and prints one line
 *	per answer, in argument order.  A "--" among the queries starts a
 *	group: each group is asked (concurrently) only after every answer
 *	of the group before it is in.  Each line is:
 *
 *	NAME TYPE STATUS n=N [secure] [why="..."] data...
 *
 *	where data is, per record: A/AAAA the address; TXT/SPF
 *	"text" with nstrings/len as [s=N,len=N] when they matter
 *	(non-printable bytes, backslash and quote escaped as \xHH);
 *	MX pref:host; PTR/CNAME/NS the host.  A TYPE of "A+A" or the same
 *	pair twice asks twice (the cache test).  "--repeat" asks every query
 *	a second time after the first round completed.  --stats prints
 *	"stats queries=N answers=N timeouts=N tempfails=N cache_hits=N".
 * DIAGNOSTICS
 *	Exit 0 when every query got an answer line, 2 on usage errors, 1
 *	when dns_new() fails (the reason on stderr).
 * LIMITS
 *	DNSQ_MAX queries per run.
 *--*/
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "shared/dns.h"

#define DNSQ_MAX	1024

struct q {
	int	group;			/* "--" between arguments starts one */
	const char *name;
	enum dns_type type;
	struct dns_answer *ans;
};

static struct q qs[DNSQ_MAX];
static int nq, pending;

static int
type_parse(const char *s, enum dns_type *t)
{
	static const enum dns_type all[] = { DNS_T_A, DNS_T_NS, DNS_T_CNAME,
	    DNS_T_PTR, DNS_T_MX, DNS_T_TXT, DNS_T_AAAA, DNS_T_SPF };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcasecmp(s, dns_type_str(all[i])) == 0) {
			*t = all[i];
			return 0;
		}
	return -1;
}

static void
print_bytes(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\' || p[i] == '"')
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
}

static void
print_answer(const struct q *q)
{
	const struct dns_answer *a = q->ans;
	char buf[INET6_ADDRSTRLEN];
	int i;

	printf("%s %s %s n=%d", q->name, dns_type_str(q->type),
	    dns_status_str(a->status), a->nrr);
	if (a->secure)
		printf(" secure");
	if (a->why[0] != '\0') {
		printf(" why=\"");
		print_bytes((const unsigned char *)a->why, strlen(a->why));
		printf("\"");
	}
	for (i = 0; i < a->nrr; i++) {
		const struct dns_rr *r = &a->rr[i];

		putchar(' ');
		switch (q->type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			inet_ntop(q->type == DNS_T_A ? AF_INET : AF_INET6,
			    r->data, buf, sizeof(buf));
			printf("%s", buf);
			break;
		case DNS_T_TXT:
		case DNS_T_SPF:
			printf("\"");
			print_bytes(r->data, r->len);
			printf("\"[s=%d,len=%zu]", r->nstrings, r->len);
			break;
		case DNS_T_MX:
			printf("%u:%s", r->pref, (const char *)r->data);
			break;
		default:
			printf("%s", (const char *)r->data);
			break;
		}
	}
	printf("\n");
}

static void
on_answer(void *arg, const struct dns_answer *ans)
{
	struct q *q = arg;

	q->ans = dns_answer_dup(ans);
	pending--;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dnsq [-s ADDR[@PORT]]... [-t TIMEOUT] "
	    "[--sync] [--dnssec] [--repeat] [--stats] TYPE NAME...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct dns_opts opts;
	struct event_base *base = NULL;
	struct dns *dns;
	struct dns_stats st;
	char	err[256];
	int	i, j, g, round, sync = 0, repeat = 0, stats = 0, group = 0;

	memset(&opts, 0, sizeof(opts));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (opts.nforward == DNS_FORWARD_MAX)
				usage();
			opts.forward[opts.nforward++] = argv[++i];
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			opts.query_timeout = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sync") == 0)
			sync = 1;
		else if (strcmp(argv[i], "--dnssec") == 0)
			opts.dnssec = 1;
		else if (strcmp(argv[i], "--repeat") == 0)
			repeat = 1;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = 1;
		else
			usage();
	}
	for (; i < argc; i += 2) {
		if (strcmp(argv[i], "--") == 0) {
			group++;
			i--;
			continue;
		}
		if (i + 1 >= argc || nq == DNSQ_MAX ||
		    type_parse(argv[i], &qs[nq].type) < 0)
			usage();
		qs[nq].group = group;
		qs[nq++].name = argv[i + 1];
	}
	if (nq == 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!sync)
		base = event_base_new();
	if ((dns = dns_new(base, &opts, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dnsq: %s\n", err);
		return 1;
	}
	for (round = 0; round < (repeat ? 2 : 1); round++) {
		if (sync) {
			for (i = 0; i < nq; i++) {
				qs[i].ans = dns_query_sync(dns, qs[i].name,
				    qs[i].type);
				print_answer(&qs[i]);
				dns_answer_free(qs[i].ans);
			}
			continue;
		}
		for (g = 0; g <= group; g++) {
			pending = 0;
			for (i = 0; i < nq; i++) {
				if (qs[i].group != g)
					continue;
				qs[i].ans = NULL;
				pending++;
				if (dns_query(dns, qs[i].name, qs[i].type,
				    on_answer, &qs[i]) == NULL) {
					fprintf(stderr, "dnsq: dns_query "
					    "failed\n");
					return 1;
				}
				if (qs[i].ans != NULL) {
					fprintf(stderr, "dnsq: callback inside "
					    "dns_query()\n");
					return 1;
				}
			}
			while (pending > 0)
				event_base_loop(base, EVLOOP_ONCE);
			for (j = 0; j < nq; j++) {
				if (qs[j].group != g)
					continue;
				print_answer(&qs[j]);
				dns_answer_free(qs[j].ans);
			}
		}
	}
	dns_get_stats(dns, &st);
	if (stats)
		printf("stats queries=%lu answers=%lu timeouts=%lu "
		    "tempfails=%lu cache_hits=%lu\n", st.queries, st.answers,
		    st.timeouts, st.tempfails, st.cache_hits_guess);
	dns_free(dns);
	if (base != NULL)
		event_base_free(base);
	return 0;
}
