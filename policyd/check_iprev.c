/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	check_iprev 3
 * SUMMARY
 *	the iprev check: forward-confirmed reverse DNS of the client
 * SYNOPSIS
 *	#include "policyd/checks.h"
 *
 *	extern const struct check_ops check_iprev_ops;
 *	void check_iprev_fill(const struct kept *k, struct iprev_outcome *out);
 * DESCRIPTION
 *	RFC 8601 2.7.3: PTR of the client, then A (IPv4 client) or AAAA
 *	(IPv6 client) of up to ptr.max_names of the names, all in parallel;
 *	pass as soon as one name resolves back; permerror when there is no
 *	PTR record; temperror when a lookup failed temporarily and no name
 *	passed; fail otherwise. The kept name is the verified one (pass) or
 *	the first PTR name.
 *
 *	Wanted when ptr.enabled, or when a name list needs the verified
 *	name (forwarders.names, skip.client_names); decide(3) only acts on
 *	it with ptr.enabled.
 *
 *	Results other than temperror are kept in the checker's cache for
 *	the least TTL of the answers they came from (CHECK_IPREV_TTL_MAX at
 *	most), by client address and ptr.max_names.
 * DIAGNOSTICS
 *	A DNS failure is a result (temperror), never an error.
 * LIMITS
 *	CHECK_PTR_NAMES_MAX PTR names are looked up at most;
 *	CHECK_IPREV_CACHE_MAX results are cached.
 *--*/
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "shared/dns.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/rcache.h"
#include "policyd/checks.h"
#include "policyd/lookup.h"
#include "policyd/stats.h"

#define CHECK_PTR_NAMES_MAX	32
#define CHECK_IPREV_TTL_MAX	3600	/* seconds, whatever the TTLs */
#define CHECK_IPREV_KEY_LEN	18

struct iprev_run;

struct iprev_fwd {
	struct iprev_run *run;
	struct lookup_req *req;
	int	idx;
};

struct iprev_run {
	struct check *chk;
	struct check_step *st;
	struct lookup_req *ptr_req;
	struct iprev_fwd *fwd;		/* nnames of each, from the PTR */
	char	**names;		/* answer (at most CHECK_PTR_NAMES_MAX) */
	int	nnames;
	int	fwd_pending;
	int	fwd_temp;
	uint32_t ttl;			/* least TTL of the answers used */
};

/* The name, cut to DNS_NAME_MAX bytes as struct iprev_outcome cuts it. */
static void
iprev_set_name(struct kept *k, const char *name)
{
	const size_t max = DNS_NAME_MAX;

	kept_set_strs(k, 1, &name, &max);
}

void
check_iprev_fill(const struct kept *k, struct iprev_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = (enum iprev_result)k->result;
	strlcpy(out->name, kept_str(k, 0), sizeof(out->name));
}

/* Results are kept while the PTR and address answers they came from may
 * be reused; a temperror never. */
static size_t
iprev_key(const struct check *chk, unsigned char *k)
{
	k[0] = chk->client.family == AF_INET ? 4 : 6;
	memcpy(k + 1, chk->client.a, 16);
	k[17] = (unsigned char)chk->cfg->ptr.max_names;
	return CHECK_IPREV_KEY_LEN;
}

static void
iprev_note_ttl(struct iprev_run *run, const struct dns_answer *ans)
{
	if (ans->status != DNS_TEMPFAIL && ans->ttl < run->ttl)
		run->ttl = ans->ttl;
}

/* iprev is done: keep its result, then see whether the request is. */
static void
iprev_done(struct iprev_run *run)
{
	struct check *chk = run->chk;
	unsigned char key[CHECK_IPREV_KEY_LEN];
	struct iprev_outcome o;
	time_t	now = time(NULL);

	run->st->state = CHECK_DONE;
	if (run->st->res.result != IPREV_TEMPERROR) {
		check_iprev_fill(&run->st->res, &o);
		rcache_put(chk->ck->iprev_cache, key, iprev_key(chk, key),
		    &o, offsetof(struct iprev_outcome, name) +
		    strlen(o.name) + 1, now, now + (time_t)run->ttl);
	}
	check_step_done(chk);
}

/* From the cache: 1 and the result kept, or 0. */
static int
iprev_cached(struct check *chk, struct check_step *st)
{
	unsigned char key[CHECK_IPREV_KEY_LEN];
	struct iprev_outcome o;
	const void *v;
	size_t	vlen;

	v = rcache_get(chk->ck->iprev_cache, key, iprev_key(chk, key),
	    time(NULL), &vlen);
	if (v == NULL || vlen <= offsetof(struct iprev_outcome, name) ||
	    vlen > sizeof(o))
		return 0;
	memcpy(&o, v, vlen);
	o.name[vlen - offsetof(struct iprev_outcome, name) - 1] = '\0';
	st->res.result = o.result;
	iprev_set_name(&st->res, o.name);
	return 1;
}

static void
iprev_cancel_fwd(struct iprev_run *run)
{
	int	i;

	for (i = 0; i < run->nnames; i++)
		if (run->fwd[i].req) {
			lookup_cancel(run->fwd[i].req);
			run->fwd[i].req = NULL;
		}
}

/* The forward lookups of the PTR names. */
static void
iprev_fwd_cb(void *arg, const struct dns_answer *ans)
{
	struct iprev_fwd *f = arg;
	struct iprev_run *run = f->run;
	struct kept *res = &run->st->res;

	f->req = NULL;
	run->fwd_pending--;
	if (ans->status == DNS_TEMPFAIL)
		run->fwd_temp++;
	iprev_note_ttl(run, ans);
	if (check_answer_has(ans, &run->chk->client)) {
		res->result = IPREV_PASS;
		iprev_set_name(res, run->names[f->idx]);
	}
	if (res->result == IPREV_PASS || run->fwd_pending == 0) {
		if (res->result != IPREV_PASS)
			res->result = run->fwd_temp ? IPREV_TEMPERROR :
			    IPREV_FAIL;
		iprev_cancel_fwd(run);
		iprev_done(run);
	}
}

static void
iprev_ptr_cb(void *arg, const struct dns_answer *ans)
{
	struct iprev_run *run = arg;
	struct check *chk = run->chk;
	struct kept *res = &run->st->res;
	int	i, j, max = chk->cfg->ptr.max_names;

	run->ptr_req = NULL;
	iprev_note_ttl(run, ans);
	switch (ans->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		res->result = IPREV_PERMERROR;
		iprev_done(run);
		return;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
		res->result = IPREV_TEMPERROR;
		iprev_done(run);
		return;
	}
	if (max > CHECK_PTR_NAMES_MAX)
		max = CHECK_PTR_NAMES_MAX;
	if (max > ans->nrr)
		max = ans->nrr;
	run->names = xcalloc((size_t)max + 1, sizeof(*run->names));
	run->fwd = xcalloc((size_t)max + 1, sizeof(*run->fwd));
	for (i = 0; i < ans->nrr && run->nnames < max; i++) {
		const char *name = (const char *)ans->rr[i].data;

		for (j = 0; j < run->nnames; j++)
			if (strcasecmp(run->names[j], name) == 0)
				break;
		if (j == run->nnames)
			run->names[run->nnames++] = xstrdup(name);
	}
	if (run->nnames == 0) {
		res->result = IPREV_PERMERROR;
		iprev_done(run);
		return;
	}
	iprev_set_name(res, run->names[0]);
	/* Start all before any can answer: callbacks never run inside
	 * lookup_dns(), so fwd_pending is complete first. */
	run->fwd_pending = run->nnames;
	for (i = 0; i < run->nnames; i++) {
		run->fwd[i].run = run;
		run->fwd[i].idx = i;
		run->fwd[i].req = lookup_dns(chk->ck->lk, run->names[i],
		    chk->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
		    iprev_fwd_cb, &run->fwd[i]);
	}
}

static int
iprev_wanted(const struct check *chk)
{
	return chk->eff->ptr.enabled || chk->cfg->nfwd_names > 0 ||
	    chk->cfg->nskip_client_names > 0;
}

static void
iprev_start(struct check *chk, struct check_step *st)
{
	struct iprev_run *run;
	char	name[NETADDR_PTR_MAX];

	if (iprev_cached(chk, st)) {
		/* check_start() answers from the loop */
		stats_iprev_cached();
		st->state = CHECK_DONE;
		return;
	}
	if (netaddr_ptr_name(&chk->client, name, sizeof(name)) < 0) {
		st->res.result = IPREV_TEMPERROR;
		st->state = CHECK_DONE;
		return;
	}
	run = st->run = xcalloc(1, sizeof(*run));
	run->chk = chk;
	run->st = st;
	run->ttl = CHECK_IPREV_TTL_MAX;
	st->state = CHECK_RUNNING;
	run->ptr_req = lookup_dns(chk->ck->lk, name, DNS_T_PTR, iprev_ptr_cb,
	    run);
}

static void
iprev_stop(struct check *chk, struct check_step *st)
{
	struct iprev_run *run = st->run;
	int	i;

	(void)chk;
	if (run == NULL)
		return;
	if (run->ptr_req)
		lookup_cancel(run->ptr_req);
	iprev_cancel_fwd(run);
	for (i = 0; i < run->nnames; i++)
		free(run->names[i]);
	free(run->names);
	free(run->fwd);
	free(run);
	st->run = NULL;
}

static void
iprev_deadline(struct check *chk, struct check_step *st)
{
	(void)chk;
	st->res.result = IPREV_TEMPERROR;
}

static const char *
iprev_word(const struct check_step *st)
{
	return iprev_result_str((enum iprev_result)st->res.result);
}

static void
iprev_count(const struct check_step *st)
{
	stats_iprev((enum iprev_result)st->res.result);
}

const struct check_ops check_iprev_ops = {
	.log_key = "iprev",
	.wanted = iprev_wanted,
	.start = iprev_start,
	.stop = iprev_stop,
	.deadline = iprev_deadline,
	.word = iprev_word,
	.count = iprev_count,
};
