/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_STATS_H
#define POLICYD_STATS_H
/* stats - the metrics of relaytrust-policyd and their HTTP endpoint.
 *
 * One registry per process: plain counters, updated from the event loop
 * only (no locks). stats_http_new() serves them in the Prometheus text
 * format at GET /metrics. */
#include <stddef.h>

#include "shared/spf.h"
#include "policyd/decide.h"

struct event_base;
struct lookup;
struct stats_http;

#define STATS_HTTP_REQ_MAX	4096	/* bytes of one HTTP request head */
#define STATS_HTTP_CONNS_MAX	16	/* scrapers connected at once */
#define STATS_HTTP_TIMEOUT	10	/* seconds from accept to the answer sent */
#define STATS_HTTP_LINGER	2	/* seconds of lingering close after it */
#define STATS_CODES_MAX		16	/* distinct reply codes counted */

enum stats_fwd { STATS_FWD_NETWORK, STATS_FWD_NAME, STATS_FWD_SPF };

/* Where the DNS and SPF worker counters come from (NULL: none). */
void	stats_set_sources(struct lookup *);
/* Versions for relaytrust_build_info; the strings must outlive the
 * process's use of stats (string literals or static buffers). */
void	stats_set_build(const char *version, const char *libspf2,
	    const char *libunbound, const char *libevent);

void	stats_reply(const char *action);	/* one answer sent (proto_action_verdict()) */
void	stats_iprev(enum iprev_result);		/* one iprev check done */
void	stats_spf(int helo, enum spf_result);	/* one SPF check done */
void	stats_verdict_cached(void);	/* answered from the instance cache */
void	stats_iprev_cached(void);	/* iprev from the result cache */
void	stats_inflight(int delta);
void	stats_connections(int delta);
void	stats_connection_refused(void);	/* over max_connections */
void	stats_deadline(void);
void	stats_nat_client(void);
void	stats_forwarder(enum stats_fwd);
void	stats_reload(int ok);

/* Bind spec ("inet:HOST:PORT") and serve /metrics on base. Returns NULL
 * with "stats_listen SPEC: why" in err. */
struct stats_http *stats_http_new(struct event_base *, const char *spec,
	    char *err, size_t errlen);
void	stats_http_free(struct stats_http *);	/* NULL is a no-op */

#endif
