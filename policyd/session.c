/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	session 3
 * SUMMARY
 *	kept check results, and what a connection keeps of its message
 * SYNOPSIS
 *	#include "policyd/session.h"
 *
 *	void kept_clear(struct kept *k);
 *	void kept_copy(struct kept *dst, const struct kept *src);
 *	void kept_set_strs(struct kept *k, int n, const char *const *s,
 *		const size_t *max);
 *	const char *kept_str(const struct kept *k, int i);
 *
 *	void session_forget(struct check_session *sess);
 *	void session_load(struct check_session *sess,
 *		const struct policy_req *r, struct check_step *step);
 *	void session_store(struct check_session *sess,
 *		const struct policy_req *r, const struct check_step *step);
 * DESCRIPTION
 *	A kept result holds its strings in one immutable block (struct
 *	kept_str) that a request and its session share by count, so
 *	passing a result between them costs no copy; decide(3) gets its
 *	fixed-size outcomes filled from them on the stack. A request in
 *	flight or a connection between messages holds no worst-case arrays.
 *
 *	A session remembers the check RESULTS of the current instance
 *	(and the client, HELO name and sender they were computed for), not
 *	a verdict: every later request of the message decides again from
 *	them under its own effective configuration, and a check only a
 *	later policy needs is run then.
 *
 *	Everything here runs on the main thread: counts need no atomics.
 *--*/
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "policyd/session.h"

static struct kept_str *
kept_new(size_t len)
{
	struct kept_str *k = xmalloc(sizeof(*k) + len);

	k->refs = 1;
	return k;
}

static void
kept_drop(struct kept_str *k)
{
	if (k != NULL && --k->refs == 0)
		free(k);
}

void
kept_clear(struct kept *k)
{
	kept_drop(k->strs);
	memset(k, 0, sizeof(*k));
}

void
kept_copy(struct kept *dst, const struct kept *src)
{
	struct kept_str *old = dst->strs;	/* dropped after the copy */

	if (src->strs != NULL)
		src->strs->refs++;
	*dst = *src;
	kept_drop(old);
}

void
kept_set_strs(struct kept *k, int n, const char *const *s, const size_t *max)
{
	size_t	len[KEPT_STRS_MAX], total = 0;
	struct kept_str *ks = NULL;
	char	*p;
	int	i;

	if (n > KEPT_STRS_MAX)
		n = KEPT_STRS_MAX;
	for (i = 0; i < n; i++)
		total += len[i] = strnlen(s[i], max[i]);
	if (total > 0) {
		ks = kept_new(total + (size_t)n);
		p = ks->s;
		for (i = 0; i < n; i++) {
			memcpy(p, s[i], len[i]);
			p[len[i]] = '\0';
			p += len[i] + 1;
		}
	}
	kept_drop(k->strs);
	k->strs = ks;
}

const char *
kept_str(const struct kept *k, int i)
{
	const char *p;

	if (k->strs == NULL)
		return "";
	for (p = k->strs->s; i > 0; i--)
		p += strlen(p) + 1;
	return p;
}

void
session_forget(struct check_session *sess)
{
	int	i;

	free(sess->instance);
	free(sess->pending);
	sess->instance = NULL;
	sess->client = sess->helo_name = sess->sender = NULL;
	sess->pending = NULL;
	if (sess->res != NULL) {
		for (i = 0; i < CHECK_NCHECKS; i++)
			kept_clear(&sess->res[i]);
		free(sess->res);
		sess->res = NULL;
	}
	sess->have = 0;
	sess->header_sent = sess->accepted_rcpt = 0;
}

/* Note which message the kept results are for, in one allocation. */
static void
session_ids(struct check_session *sess, const struct policy_req *r)
{
	const char *from[4] = { r->instance, r->client_address, r->helo_name,
	    r->sender };
	const char **to[4] = { NULL, &sess->client, &sess->helo_name,
	    &sess->sender };
	size_t	len[4], total = 0;
	char	*p;
	int	i;

	for (i = 0; i < 4; i++)
		total += (len[i] = strlen(from[i])) + 1;
	p = sess->instance = xmalloc(total);
	for (i = 0; i < 4; i++) {
		memcpy(p, from[i], len[i] + 1);
		if (to[i] != NULL)
			*to[i] = p;
		p += len[i] + 1;
	}
}

void
session_store(struct check_session *sess, const struct policy_req *r,
    const struct check_step *step)
{
	int	i;

	if (!r->instance[0])
		return;
	if (sess->instance == NULL)
		session_ids(sess, r);
	if (sess->res == NULL)
		sess->res = xcalloc(CHECK_NCHECKS, sizeof(*sess->res));
	for (i = 0; i < CHECK_NCHECKS; i++)
		if (step[i].state == CHECK_DONE && !step[i].cached) {
			kept_copy(&sess->res[i], &step[i].res);
			sess->have |= 1u << i;
		}
}

void
session_load(struct check_session *sess, const struct policy_req *r,
    struct check_step *step)
{
	int	i;

	if (sess->instance != NULL && (!r->instance[0] ||
	    strcmp(sess->instance, r->instance) != 0 ||
	    strcmp(sess->client, r->client_address) != 0 ||
	    strcmp(sess->helo_name, r->helo_name) != 0 ||
	    strcmp(sess->sender, r->sender) != 0))
		session_forget(sess);
	if (sess->instance == NULL)
		return;
	for (i = 0; i < CHECK_NCHECKS; i++)
		if (sess->have & (1u << i)) {
			kept_copy(&step[i].res, &sess->res[i]);
			step[i].cached = 1;
		}
}
