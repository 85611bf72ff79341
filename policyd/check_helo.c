/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	check_helo 3
 * SUMMARY
 *	the HELO address check: does the HELO name resolve to the client?
 * SYNOPSIS
 *	#include "policyd/checks.h"
 *
 *	extern const struct check_ops check_helo_addr_ops;
 * DESCRIPTION
 *	A (IPv4 client) or AAAA (IPv6 client) of the HELO name: pass when
 *	one address is the client's, fail when none is (or the name does
 *	not exist), temperror when the lookup failed temporarily or the
 *	deadline came first. The result uses iprev's words.
 *
 *	Wanted only when the HELO name is in skip.helo_names (at a label
 *	boundary): a client that names a whitelisted host must also be
 *	that host before check(3) skips its checks, so a HELO name alone,
 *	which any client can send, whitelists nothing.
 * DIAGNOSTICS
 *	A DNS failure is a result (temperror), never an error.
 *--*/
#include <string.h>

#include "shared/dns.h"
#include "shared/netaddr.h"
#include "policyd/checks.h"
#include "policyd/lookup.h"

/* The skip.helo_names entry the HELO name is in, or NULL. */
static const char *
helo_listed(const struct check *chk)
{
	const struct cfg *cfg = chk->cfg;
	int	i;

	if (chk->req->helo_name[0] == '\0')
		return NULL;
	for (i = 0; i < cfg->nskip_helo_names; i++)
		if (cfg_name_in_domain(chk->req->helo_name,
		    cfg->skip_helo_names[i]))
			return cfg->skip_helo_names[i];
	return NULL;
}

static void
helo_addr_cb(void *arg, const struct dns_answer *ans)
{
	struct check *chk = arg;
	struct check_step *st = &chk->step[CHECK_HELO_ADDR];

	st->run = NULL;
	if (check_answer_has(ans, &chk->client))
		st->res.result = IPREV_PASS;
	else
		st->res.result = ans->status == DNS_TEMPFAIL ||
		    ans->status == DNS_PERMFAIL ? IPREV_TEMPERROR : IPREV_FAIL;
	st->state = CHECK_DONE;
	check_step_done(chk);
}

static int
helo_addr_wanted(const struct check *chk)
{
	return helo_listed(chk) != NULL;
}

static void
helo_addr_start(struct check *chk, struct check_step *st)
{
	st->state = CHECK_RUNNING;
	st->run = lookup_dns(chk->ck->lk, chk->req->helo_name,
	    chk->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
	    helo_addr_cb, chk);
}

static void
helo_addr_stop(struct check *chk, struct check_step *st)
{
	(void)chk;
	if (st->run != NULL) {
		lookup_cancel(st->run);
		st->run = NULL;
	}
}

static void
helo_addr_deadline(struct check *chk, struct check_step *st)
{
	(void)chk;
	st->res.result = IPREV_TEMPERROR;
}

static const char *
helo_addr_word(const struct check_step *st)
{
	return iprev_result_str((enum iprev_result)st->res.result);
}

const struct check_ops check_helo_addr_ops = {
	.log_key = "helo_addr",
	.wanted = helo_addr_wanted,
	.start = helo_addr_start,
	.stop = helo_addr_stop,
	.deadline = helo_addr_deadline,
	.word = helo_addr_word,
	.count = NULL,
};
