/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	check_spf 3
 * SUMMARY
 *	the SPF checks: the HELO identity and the MAIL FROM identity
 * SYNOPSIS
 *	#include "policyd/checks.h"
 *
 *	extern const struct check_ops check_spf_helo_ops,
 *		check_spf_mailfrom_ops;
 *	void check_spf_fill(const struct kept *k, struct spf_outcome *out);
 * DESCRIPTION
 *	Each evaluates one identity through spfpool(3) on the lookup
 *	thread (lookup(3)), or answers from the pool's result cache at
 *	once. RFC 7208 2.4: the null sender is checked as
 *	postmaster@HELO, and its result has the HELO identity. Without a
 *	HELO name there is nothing to check for the HELO identity nor for
 *	the null sender: none.
 *
 *	The HELO identity is wanted with spf.helo: at CONNECT/EHLO when a
 *	HELO name is known, later when there is a sender (or when MAIL FROM
 *	is not checked, so the HELO result is all there is). MAIL FROM is
 *	wanted with spf.mailfrom from the MAIL state on.
 * DIAGNOSTICS
 *	A worker or DNS failure is a result (temperror), never an error.
 *--*/
#include <stdio.h>
#include <string.h>

#include "shared/mem.h"
#include "shared/spfpool.h"
#include "policyd/checks.h"
#include "policyd/lookup.h"
#include "policyd/stats.h"

/* Keep *o (its strings at their length; each of them fits o's arrays). */
static void
spf_keep(struct kept *k, const struct spf_outcome *o)
{
	const char *s[3] = { o->checked, o->domain, o->problem };
	const size_t max[3] = { sizeof(o->checked) - 1,
	    sizeof(o->domain) - 1, sizeof(o->problem) - 1 };

	kept_set_strs(k, 3, s, max);
	k->result = o->result;
	k->identity = o->identity;
	k->queries = o->queries;
	k->voids = o->voids;
	k->worker_died = o->worker_died;
}

void
check_spf_fill(const struct kept *k, struct spf_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = (enum spf_result)k->result;
	out->identity = k->identity;
	strlcpy(out->checked, kept_str(k, 0), sizeof(out->checked));
	strlcpy(out->domain, kept_str(k, 1), sizeof(out->domain));
	strlcpy(out->problem, kept_str(k, 2), sizeof(out->problem));
	out->queries = k->queries;
	out->voids = k->voids;
	out->worker_died = k->worker_died;
}

/* An outcome is in (from a worker or the result cache). */
static void
spf_store(struct check *chk, int helo_identity, const struct spf_outcome *out)
{
	struct check_step *st = &chk->step[helo_identity ? CHECK_SPF_HELO :
	    CHECK_SPF_MAILFROM];

	spf_keep(&st->res, out);
	if (helo_identity)
		st->res.identity = SPF_ID_HELO;
	else
		st->res.identity = chk->req->sender[0] ? SPF_ID_MAILFROM :
		    SPF_ID_HELO;
	st->state = CHECK_DONE;
}

static void
helo_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->step[CHECK_SPF_HELO].run = NULL;
	spf_store(chk, 1, out);
	check_step_done(chk);
}

static void
mailfrom_cb(void *arg, const struct spf_outcome *out)
{
	struct check *chk = arg;

	chk->step[CHECK_SPF_MAILFROM].run = NULL;
	spf_store(chk, 0, out);
	check_step_done(chk);
}

static void
spf_start(struct check *chk, struct check_step *st, int helo_identity)
{
	struct spf_query q;
	struct spf_outcome cached;

	memset(&q, 0, sizeof(q));
	q.ip = chk->client;
	q.helo = chk->req->helo_name;
	q.sender = chk->req->sender;
	q.identity = helo_identity ? SPF_ID_HELO : SPF_ID_MAILFROM;
	if (chk->req->helo_name[0] == '\0' && (helo_identity ||
	    chk->req->sender[0] == '\0')) {
		/* Nothing to check: no HELO name and no sender. */
		st->res.result = SPF_RES_NONE;
		st->res.identity = SPF_ID_HELO;
		st->state = CHECK_DONE;
		return;
	}
	if (lookup_spf_cached(chk->ck->lk, &q, &cached)) {
		/* check_start() answers from the loop */
		spf_store(chk, helo_identity, &cached);
		return;
	}
	q.cache_checked = 1;
	st->state = CHECK_RUNNING;
	st->run = lookup_spf(chk->ck->lk, &q, helo_identity ? helo_cb :
	    mailfrom_cb, chk);
}

static void
helo_start(struct check *chk, struct check_step *st)
{
	spf_start(chk, st, 1);
}

static void
mailfrom_start(struct check *chk, struct check_step *st)
{
	spf_start(chk, st, 0);
}

static void
spf_stop(struct check *chk, struct check_step *st)
{
	(void)chk;
	if (st->run != NULL) {
		lookup_cancel(st->run);
		st->run = NULL;
	}
}

/* The deadline came first: temperror, with a problem text. */
static void
spf_deadline(struct check *chk, struct check_step *st)
{
	struct spf_outcome o;

	(void)chk;
	check_spf_fill(&st->res, &o);
	o.result = SPF_RES_TEMPERROR;
	snprintf(o.problem, sizeof(o.problem), "no answer before the "
	    "deadline");
	spf_keep(&st->res, &o);
}

static int
helo_wanted(const struct check *chk)
{
	const struct policy_req *r = chk->req;

	return chk->eff->spf.helo && (chk->is_early ? r->helo_name[0] != '\0' :
	    r->sender[0] != '\0' || !chk->eff->spf.mailfrom);
}

static int
mailfrom_wanted(const struct check *chk)
{
	return chk->eff->spf.mailfrom && !chk->is_early;
}

static const char *
spf_word(const struct check_step *st)
{
	return spf_result_str((enum spf_result)st->res.result);
}

static void
helo_count(const struct check_step *st)
{
	stats_spf(1, (enum spf_result)st->res.result);
}

static void
mailfrom_count(const struct check_step *st)
{
	stats_spf(0, (enum spf_result)st->res.result);
}

const struct check_ops check_spf_helo_ops = {
	.log_key = "spf_helo",
	.wanted = helo_wanted,
	.start = helo_start,
	.stop = spf_stop,
	.deadline = spf_deadline,
	.word = spf_word,
	.count = helo_count,
};

const struct check_ops check_spf_mailfrom_ops = {
	.log_key = "spf_mailfrom",
	.wanted = mailfrom_wanted,
	.start = mailfrom_start,
	.stop = spf_stop,
	.deadline = spf_deadline,
	.word = spf_word,
	.count = mailfrom_count,
};
