/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	check_fwd 3
 * SUMMARY
 *	the forwarder SPF check: does the client SPF-pass for a forwarder?
 * SYNOPSIS
 *	#include "policyd/checks.h"
 *
 *	extern const struct check_ops check_fwd_spf_ops;
 * DESCRIPTION
 *	SPF of postmaster@DOMAIN against the client, for every
 *	forwarders.spf_domains entry at once; the first pass wins and
 *	cancels the rest. The result is pass with the domain, or none.
 *	check(3) then reports the client's SPF MAIL FROM result without
 *	enforcing it.
 *
 *	Wanted when MAIL FROM is checked, forwarder domains are set and
 *	the client is not already a forwarder by its network.
 * LIMITS
 *	CFG_FWD_SPF_MAX evaluations per message.
 *--*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "shared/spfpool.h"
#include "policyd/checks.h"
#include "policyd/lookup.h"

struct fwd_run;

struct fwd_eval {
	struct fwd_run *run;
	struct lookup_req *eval;
	int	idx;
};

struct fwd_run {
	struct check *chk;
	struct check_step *st;
	int	pending;
	int	nevals;
	struct fwd_eval evals[];
};

static void
fwd_cancel(struct fwd_run *run)
{
	int	i;

	for (i = 0; i < run->nevals; i++)
		if (run->evals[i].eval) {
			lookup_cancel(run->evals[i].eval);
			run->evals[i].eval = NULL;
		}
}

static void
fwd_spf_cb(void *arg, const struct spf_outcome *out)
{
	struct fwd_eval *fe = arg;
	struct fwd_run *run = fe->run;
	struct kept *res = &run->st->res;
	const char *domain = run->chk->cfg->fwd_spf_domains[fe->idx];
	const size_t max = DNS_NAME_MAX;

	fe->eval = NULL;
	run->pending--;
	if (out->result == SPF_RES_PASS && res->result != SPF_RES_PASS &&
	    domain[0] != '\0') {
		res->result = SPF_RES_PASS;
		kept_set_strs(res, 1, &domain, &max);
	}
	if (res->result == SPF_RES_PASS || run->pending == 0) {
		run->st->state = CHECK_DONE;
		fwd_cancel(run);
		check_step_done(run->chk);
	}
}

static int
fwd_wanted(const struct check *chk)
{
	return check_spf_mailfrom_ops.wanted(chk) &&
	    chk->cfg->nfwd_spf_domains > 0 && chk->fwd_by == NULL;
}

static void
fwd_start(struct check *chk, struct check_step *st)
{
	const struct cfg *cfg = chk->cfg;
	char	sender[DNS_NAME_MAX + 16];
	struct fwd_run *run;
	struct spf_query q;
	int	i, n = cfg->nfwd_spf_domains;

	run = st->run = xcalloc(1, sizeof(*run) + (size_t)n *
	    sizeof(run->evals[0]));
	run->chk = chk;
	run->st = st;
	run->nevals = run->pending = n;
	st->res.result = SPF_RES_NONE;
	st->state = CHECK_RUNNING;
	for (i = 0; i < n; i++) {
		memset(&q, 0, sizeof(q));
		snprintf(sender, sizeof(sender), "postmaster@%s",
		    cfg->fwd_spf_domains[i]);
		q.ip = chk->client;
		q.helo = chk->req->helo_name;
		q.sender = sender;
		q.identity = SPF_ID_MAILFROM;
		run->evals[i].run = run;
		run->evals[i].idx = i;
		run->evals[i].eval = lookup_spf(chk->ck->lk, &q, fwd_spf_cb,
		    &run->evals[i]);
	}
}

static void
fwd_stop(struct check *chk, struct check_step *st)
{
	(void)chk;
	if (st->run == NULL)
		return;
	fwd_cancel(st->run);
	free(st->run);
	st->run = NULL;
}

static const char *
fwd_word(const struct check_step *st)
{
	return spf_result_str((enum spf_result)st->res.result);
}

const struct check_ops check_fwd_spf_ops = {
	.log_key = NULL,		/* logged as forwarder=spf */
	.wanted = fwd_wanted,
	.start = fwd_start,
	.stop = fwd_stop,
	.deadline = NULL,
	.word = fwd_word,
	.count = NULL,
};
