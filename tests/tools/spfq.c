/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spfq 1
 * SUMMARY
 *	evaluate SPF through the worker pool (test and benchmark tool)
 * SYNOPSIS
 *	spfq -s ADDR@PORT [-w WORKERS] [-n COUNT] [-t TIMEOUT] [-H]
 *		IP HELO SENDER
 * DESCRIPTION
 *	Starts an spfpool(3) with the given DNS forwarder and evaluates the
 *	MAIL FROM identity (HELO identity with -H) COUNT times (default 1)
 *	on an event loop, one at a time, then prints
 *	result=WORD queries=N voids=N died=0|1 problem="..." and, with
 *	COUNT > 1, us_per_eval=N.
 * DIAGNOSTICS
 *	Exit 0 on any SPF result, 2 on usage or setup errors.
 * LIMITS
 *	None of its own.
 *--*/
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "shared/dns.h"
#include "shared/log.h"
#include "shared/spfpool.h"

static struct spfpool *pool;
static struct spf_query query;
static struct spf_outcome last;
static int remaining;
static struct event_base *base;

static void
done(void *arg, const struct spf_outcome *out)
{
	(void)arg;
	last = *out;
	if (--remaining > 0)
		spfpool_eval(pool, &query, done, NULL);
	else
		event_base_loopbreak(base);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	struct dns_opts dopts;
	struct spfpool_opts popts;
	struct dns *dns;
	char	err[256];
	int	ch, count = 1, workers = 1, timeout = 20;
	double	t0, t1;

	memset(&dopts, 0, sizeof(dopts));
	while ((ch = getopt(argc, argv, "s:w:n:t:H")) != -1) {
		switch (ch) {
		case 's':
			dopts.forward[dopts.nforward++] = optarg;
			break;
		case 'w':
			workers = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'H':
			query.identity = SPF_ID_HELO;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || count < 1)
		goto usage;
	log_open("spfq", LOG_TO_STDERR);
	if (inet_pton(AF_INET, argv[0], query.ip.a) == 1)
		query.ip.family = AF_INET;
	else if (inet_pton(AF_INET6, argv[0], query.ip.a) == 1)
		query.ip.family = AF_INET6;
	else
		goto usage;
	query.helo = argv[1];
	query.sender = argv[2];
	dopts.query_timeout = 2;
	base = event_base_new();
	if ((dns = dns_new(base, &dopts, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spfq: %s\n", err);
		return 2;
	}
	memset(&popts, 0, sizeof(popts));
	popts.workers = workers;
	popts.lookup_limit = 10;
	popts.void_limit = 2;
	popts.eval_timeout = timeout;
	popts.receiver = "spfq.test";
	if ((pool = spfpool_new(base, dns, &popts, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spfq: %s\n", err);
		return 2;
	}
	remaining = count;
	t0 = now_us();
	spfpool_eval(pool, &query, done, NULL);
	event_base_dispatch(base);
	t1 = now_us();
	printf("result=%s queries=%u voids=%u died=%d problem=\"%s\"",
	    spf_result_str(last.result), last.queries, last.voids,
	    last.worker_died, last.problem);
	if (count > 1)
		printf(" us_per_eval=%.1f", (t1 - t0) / count);
	printf("\n");
	spfpool_free(pool);
	dns_free(dns);
	event_base_free(base);
	return 0;
usage:
	fprintf(stderr, "usage: spfq -s ADDR@PORT [-w WORKERS] [-n COUNT] "
	    "[-t TIMEOUT] [-H] IP HELO SENDER\n");
	return 2;
}
