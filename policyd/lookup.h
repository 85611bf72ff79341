/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_LOOKUP_H
#define POLICYD_LOOKUP_H
/* lookup - DNS lookups and SPF evaluations on a second thread.
 *
 * The lookup thread owns a libevent base of its own, the dns(3) context
 * and the spfpool(3) workers. The main thread asks it through a queue
 * and gets the answers back through another one; every callback runs on
 * the main thread, from its event loop. */
#include <stddef.h>

#include "shared/dns.h"
#include "shared/spfpool.h"

struct event_base;
struct lookup;
struct lookup_req;

/* The lookup thread's base and its dns context (created here, on the
 * calling thread, so a trust anchor is read before privileges are
 * dropped). main_base: the caller's base, where callbacks run. Returns
 * NULL with a reason in err. No thread runs yet. */
struct lookup *lookup_new(struct event_base *main_base,
	    const struct dns_opts *, char *err, size_t errlen);
/* Start the SPF workers, then the thread. Returns 0, or -1 with a
 * reason in err (the lookup is then only good for lookup_free()). */
int	lookup_start(struct lookup *, const struct spfpool_opts *, char *err,
	    size_t errlen);

/* As dns_query(): the callback runs once, later, from main_base's loop
 * (never inside lookup_dns()), unless lookup_cancel() comes first; the
 * answer is valid during the callback. Never NULL. */
struct lookup_req *lookup_dns(struct lookup *, const char *name,
	    enum dns_type, dns_cb cb, void *arg);
/* As spfpool_eval(), with the same callback rules. Never NULL. */
struct lookup_req *lookup_spf(struct lookup *, const struct spf_query *,
	    spfpool_cb cb, void *arg);
/* No callback afterwards. NULL, or inside its own callback: a no-op.
 * Must not be given a request whose callback has returned. */
void	lookup_cancel(struct lookup_req *);
/* spfpool_cached(), answered on the calling thread. */
int	lookup_spf_cached(struct lookup *, const struct spf_query *,
	    struct spf_outcome *out);
/* The dns and pool counters, consistent per module (either may be NULL). */
void	lookup_get_stats(struct lookup *, struct dns_stats *,
	    struct spfpool_stats *);
/* Stops the thread (the pool and dns are freed on it) and joins it;
 * requests still in flight are dropped without callbacks. NULL: no-op. */
void	lookup_free(struct lookup *);

#endif
