/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_CHECKS_H
#define POLICYD_CHECKS_H
/*
 * checks - the interface between check(3), which runs a request, and the
 * checks it runs (check_iprev.c, check_spf.c, check_fwd.c, ...).
 *
 * A check is a row of check_table[]: when it is wanted, how it starts and
 * stops, what a deadline makes of it, and the word it logs. check.c knows
 * no check by its insides: it asks each row, starts the wanted ones in
 * table order, and when none runs any more (or the deadline fired) hands
 * the results to decide(3). A new check is a new file and a new row.
 *
 * Everything here runs on the main thread.
 */
#include <stdint.h>
#include <time.h>

#include "shared/cfg.h"
#include "shared/dns.h"
#include "shared/netaddr.h"
#include "shared/spfpool.h"
#include "policyd/decide.h"
#include "policyd/proto.h"

struct event;
struct lookup;
struct rcache;

/* The checks, in the order they start and are logged. */
enum check_id {
	CHECK_IPREV,		/* forward-confirmed PTR (RFC 8601 2.7.3) */
	CHECK_SPF_HELO,		/* SPF of the HELO identity */
	CHECK_SPF_MAILFROM,	/* SPF of MAIL FROM (postmaster@HELO for <>) */
	CHECK_FWD_SPF,		/* the client SPF-passes for a forwarder domain */
	CHECK_HELO_ADDR,	/* the HELO name resolves to the client */
	CHECK_NCHECKS
};

/* An immutable string block shared by count (a request and its session
 * hold the same results without copies). */
struct kept_str {
	unsigned refs;
	char	s[];			/* nstr NUL-terminated strings */
};

#define KEPT_STRS_MAX	8	/* strings in one kept result */

/* A check's result as requests and sessions keep it: the strings at their
 * real length. iprev: result (enum iprev_result), string 0 the name;
 * SPF: result (enum spf_result), identity, counts, strings checked,
 * domain, problem; forwarder SPF: result (pass or none), string 0 the
 * domain; HELO address: result (enum iprev_result words). */
struct kept {
	int	result;
	enum spf_identity identity;
	unsigned queries, voids;
	int	worker_died;
	struct kept_str *strs;		/* NULL: every string empty */
};

void	kept_clear(struct kept *);
/* *dst as *src, sharing its strings (dst == src is fine). */
void	kept_copy(struct kept *dst, const struct kept *src);
/* Replace the strings by the n given, each cut at max[i] bytes. */
void	kept_set_strs(struct kept *, int n, const char *const *s,
	    const size_t *max);
/* String i, or "" (i beyond the block, or no block). */
const char *kept_str(const struct kept *, int i);

enum check_state { CHECK_OFF, CHECK_RUNNING, CHECK_DONE };

struct check_step {
	enum check_state state;
	int	cached;			/* the result came from the session */
	struct kept res;
	void	*run;			/* the check's in-flight state */
};

struct checker {
	struct event_base *base;
	struct lookup *lk;		/* DNS and SPF, on the lookup thread */
	struct cfg *cfg;
	struct rcache *iprev_cache;	/* by client address and max_names */
	struct check *spare;		/* finished checks, with their events,
					 * for the next requests */
	int	nspare;
};

/* One request being checked. */
struct check {
	struct check_session *sess;
	struct checker *ck;
	struct cfg *cfg;		/* a reference: the top level */
	struct policy_req *req;
	void	(*cb)(void *, const char *);
	void	*arg;
	struct timespec start;
	struct event *deadline;		/* armed while a check runs */
	struct event *kick;		/* answers that need no lookup */
	struct check *next_spare;	/* on ck->spare */
	char	*ready_action;		/* what the kick answers */

	struct netaddr client;
	const struct cfg *eff;		/* cfg, or eff_copy when a section
					 * overrides a key */
	struct cfg *eff_copy;		/* NULL, or cfg with the overrides
					 * (borrows cfg's pointers) */
	char	*applied;		/* overrides in effect, or NULL */
	int	is_early;		/* CONNECT, EHLO, HELO */
	int	header_ok;
	const char *skip_reason;
	char	*skip_text;		/* what skip_reason may point to */
	const char *nat;		/* address class, or NULL */
	const char *fwd_by;		/* "network", "name", "spf", or NULL */
	char	*fwd_text;		/* set with fwd_by */
	int	used_cache, ran;	/* results reused / checks started */

	struct check_step step[CHECK_NCHECKS];
};

struct check_ops {
	const char *log_key;		/* its log field, or NULL: none */
	/* Is it needed for this request? Earlier rows have been asked. */
	int	(*wanted)(const struct check *);
	/* Start it: step->state becomes CHECK_RUNNING (a lookup is out;
	 * check_step_done() follows) or CHECK_DONE (answered at once). */
	void	(*start)(struct check *, struct check_step *);
	/* Cancel its lookups and free step->run; no callback afterwards.
	 * Called for every row, running or not. */
	void	(*stop)(struct check *, struct check_step *);
	/* The deadline came first: the result it counts as. NULL: keep. */
	void	(*deadline)(struct check *, struct check_step *);
	/* Its log value. */
	const char *(*word)(const struct check_step *);
	/* Count a result computed for this request (metrics). NULL: none. */
	void	(*count)(const struct check_step *);
};

extern const struct check_ops check_iprev_ops, check_spf_helo_ops,
	check_spf_mailfrom_ops, check_fwd_spf_ops, check_helo_addr_ops;
extern const struct check_ops *const check_table[CHECK_NCHECKS];

/* A check's lookup finished: the step is CHECK_DONE; finish the request
 * when nothing runs any more. */
void	check_step_done(struct check *);

/* 1 when an A or AAAA answer holds the address a, else 0 (check.c). */
int	check_answer_has(const struct dns_answer *, const struct netaddr *a);
/* The SPF outcome of a kept result, for decide(3) (check_spf.c). */
void	check_spf_fill(const struct kept *, struct spf_outcome *out);
/* The iprev outcome of a kept result, for decide(3) (check_iprev.c). */
void	check_iprev_fill(const struct kept *, struct iprev_outcome *out);

#endif
