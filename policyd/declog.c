/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	declog 3
 * SUMMARY
 *	the decision log line of a request
 * SYNOPSIS
 *	#include "policyd/declog.h"
 *
 *	void declog_write(const struct check *chk, const struct decision *d,
 *		const char *action_word, int cached);
 * DESCRIPTION
 *	One line per request (SPEC 2.5), key=value in Postfix's style or,
 *	with log_format = json, one JSON object: who (queue id, client,
 *	HELO, sender, the recipient of this request and Postfix's
 *	instance, so the line can be matched with Postfix's own NOQUEUE
 *	or queue-id lines), the word of every check that ran (in check_table
 *	order, under its log_key), the action, and why when it is not the
 *	obvious one (code, would, skip, policy, forwarder, nat), whether
 *	the results were cached, and the milliseconds taken. At warning
 *	level for a "warn" action. Text from the request is escaped for
 *	the format (log_escape(3), log_json(3)).
 * LIMITS
 *	DECLOG_LINE_MAX bytes per line; a longer one is cut.
 *--*/
#include <string.h>
#include <time.h>

#include "shared/log.h"
#include "policyd/checks.h"
#include "policyd/declog.h"

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The decision log line as it is built: one buffer, appended to. */
struct line {
	char	b[DECLOG_LINE_MAX];
	size_t	n;
	char	*(*esc)(const char *, size_t, char *, size_t);
};

/* Append s, cut where the buffer ends. */
static void
line_put(struct line *l, const char *s)
{
	size_t	k = strnlen(s, sizeof(l->b) - 1 - l->n);

	memcpy(l->b + l->n, s, k);
	l->n += k;
	l->b[l->n] = '\0';
}

/* Append s escaped for the log format (LOG_ESCAPE_MAX bytes of it). */
static void
line_esc(struct line *l, const char *s)
{
	l->esc(s, LOG_ESCAPE_MAX, l->b + l->n, sizeof(l->b) - l->n);
	l->n += strlen(l->b + l->n);
}

/* Append " key=value" (text) or ",\"key\":\"value\"" (JSON); value
 * is ours (a word), or escaped when esc. */
static void
line_kv(struct line *l, int json, const char *key, const char *value,
    int esc)
{
	line_put(l, json ? ",\"" : " ");
	line_put(l, key);
	line_put(l, json ? "\":\"" : "=");
	if (esc)
		line_esc(l, value);
	else
		line_put(l, value);
	if (json)
		line_put(l, "\"");
}

/* ms in decimal (it is never negative: a monotonic clock). */
static void
fmt_ms(long ms, char *out, size_t outlen)
{
	char	rev[24];
	size_t	n = 0, i;

	if (ms < 0)
		ms = 0;
	do {
		rev[n++] = (char)('0' + ms % 10);
		ms /= 10;
	} while (ms > 0 && n < sizeof(rev));
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = rev[n - 1 - i];
	out[i] = '\0';
}

void
declog_write(const struct check *chk, const struct decision *d,
    const char *action_word, int cached)
{
	const struct policy_req *r = chk->req;
	const char *code = d && d->code[0] ? d->code : "";
	const char *would = d && d->would != d->verdict ?
	    decide_verdict_str(d->would) : NULL;
	int	warn = d && d->would == DECIDE_REJECT &&
	    d->verdict == DECIDE_ACCEPT && !chk->cfg->report_only &&
	    !d->relaxed && !d->exempt;
	int	have_applied = chk->applied != NULL && chk->applied[0];
	int	json = chk->cfg->log_format == CFG_LOG_JSON;
	char	ms[24];
	struct line l;
	int	i;

	l.n = 0;
	l.b[0] = '\0';
	l.esc = json ? log_json : log_escape;
	fmt_ms(elapsed_ms(&chk->start), ms, sizeof(ms));
	if (json) {
		line_put(&l, "{\"level\":\"");
		line_put(&l, warn ? "warning\"" : "info\"");
		line_kv(&l, 1, "queue_id", r->queue_id[0] ? r->queue_id :
		    "NOQUEUE", 1);
		line_kv(&l, 1, "client_name", r->client_name[0] ?
		    r->client_name : "unknown", 1);
		line_kv(&l, 1, "client_address", r->client_address, 1);
		line_kv(&l, 1, "helo", r->helo_name, 1);
		line_kv(&l, 1, "from", r->sender, 1);
		line_kv(&l, 1, "to", r->recipient, 1);
		line_kv(&l, 1, "instance", r->instance, 1);
	} else {
		line_esc(&l, r->queue_id[0] ? r->queue_id : "NOQUEUE");
		line_put(&l, ": client=");
		line_esc(&l, r->client_name[0] ? r->client_name : "unknown");
		line_put(&l, "[");
		line_esc(&l, r->client_address);
		line_put(&l, "] helo=<");
		line_esc(&l, r->helo_name);
		line_put(&l, "> from=<");
		line_esc(&l, r->sender);
		line_put(&l, "> to=<");
		line_esc(&l, r->recipient);
		line_put(&l, "> instance=");
		line_esc(&l, r->instance);
	}
	for (i = 0; i < CHECK_NCHECKS; i++)
		if (check_table[i]->log_key != NULL &&
		    chk->step[i].state != CHECK_OFF)
			line_kv(&l, json, check_table[i]->log_key,
			    check_table[i]->word(&chk->step[i]), 0);
	line_kv(&l, json, "action", action_word, 0);
	if (code[0])
		line_kv(&l, json, "code", code, 0);
	/* In text a skip reason stands where "would" does. */
	if (would && (json || !chk->skip_reason))
		line_kv(&l, json, "would", would, 0);
	if (chk->skip_reason)
		line_kv(&l, json, "skip", chk->skip_reason, 0);
	else if (d && d->exempt)
		line_kv(&l, json, "skip", d->exempt, 0);
	if (have_applied)
		line_kv(&l, json, "policy", chk->applied, 1);
	if (chk->fwd_by) {
		line_kv(&l, json, "forwarder", chk->fwd_by, 0);
		if (json)
			line_kv(&l, json, "forwarder_match", chk->fwd_text ?
			    chk->fwd_text : "", 1);
	}
	if (chk->nat)
		line_kv(&l, json, "nat", chk->nat, 0);
	if (json) {
		line_put(&l, ",\"cached\":");
		line_put(&l, cached ? "true" : "false");
		line_put(&l, ",\"ms\":");
		line_put(&l, ms);
		line_put(&l, "}");
		log_plain(warn, "%s", l.b);
		return;
	}
	if (cached)
		line_put(&l, " cached=yes");
	line_put(&l, " ms=");
	line_put(&l, ms);
	(warn ? log_warn : log_info)("%s", l.b);
}

