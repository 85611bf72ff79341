/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	chain 3
 * SUMMARY
 *	relay chain analysis of one message
 * SYNOPSIS
 *	#include "verifier/chain.h"
 *
 *	void chain_build(struct chain *c, const struct chain_cfg *cfg,
 *		const struct hdr *h, int mflags, int64_t now);
 *	void chain_set_origin(struct chain *c, enum chain_iprev iprev,
 *		int spf, const char *note);
 *	void chain_finish(struct chain *c);
 * DESCRIPTION
 *	chain_build() parses every Received field (newest first in the
 *	header) into hops numbered oldest first, and checks:
 *
 *	delays and time order: each hop's date against the previous dated
 *	hop (hop 1 against Date:); a hop dated more than CHAIN_SKEW_MAX
 *	seconds before its predecessor is "time-reversed", a date more than
 *	CHAIN_FUTURE_MAX seconds after the run is "future-date".
 *
 *	continuity: the host that received hop N (by) should be the sender
 *	of hop N+1 (from name, HELO, rDNS or address; a short name matches
 *	the first label of a full one). A gap among trusted hops is a
 *	warning (a header was removed or inserted), elsewhere information.
 *
 *	the trust boundary: the newest Received was written by the host
 *	holding the mailbox, which is trusted. Walking to older hops, a hop
 *	whose sender is on loopback, in a --trusted network, or has an rDNS
 *	name at or under a --trusted host name was sent by a trusted relay,
 *	so the next older header is trusted too. The first other sender is
 *	the boundary: its address is the origin whose iprev and SPF are
 *	evaluated (by the caller, now, not at delivery time). Hops older
 *	than the boundary are claims nobody we trust has verified. Local,
 *	marker and fetch lines pass trust through; an unparsable line stops
 *	it. Each hop says why.
 *
 *	addresses: a private address at the boundary is a warning (an
 *	internal relay missing from --trusted, or a forgery); reserved
 *	addresses (documentation, multicast, 0/8, 240/4) outside the trusted
 *	part are warnings.
 *
 *	the message: no header, no From, bytes over the limits, NUL bytes,
 *	invalid UTF-8, a truncated mbox.
 *
 *	chain_finish() sets the verdict (SPEC 3.2 step 7): forged with an
 *	error finding, authenticated when the From: domain is proven
 *	(chain_from_proven), suspicious with a warning, else
 *	unauthenticated.
 * DIAGNOSTICS
 *	Everything is a finding (code, severity, text); nothing fails.
 * LIMITS
 *	RECEIVED_MAX hops (the newest are kept), CHAIN_FINDINGS_MAX findings
 *	(more are counted in nf_dropped and reported as one).
 *--*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spf.h"
#include "verifier/mailbox.h"
#include "verifier/chain.h"
#include "verifier/dkim.h"

void
chain_add(struct chain *c, int hop, enum chain_sev sev, const char *code,
    const char *fmt, ...)
{
	struct chain_finding *f;
	va_list ap;

	if (c->nf >= CHAIN_FINDINGS_MAX) {
		if (c->nf_dropped++ == 0 || sev > c->sev_dropped)
			c->sev_dropped = sev;
		return;
	}
	f = &c->f[c->nf++];
	f->hop = hop;
	f->sev = sev;
	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

int
chain_cfg_add_host(struct chain_cfg *cfg, const char *name)
{
	char *h;
	size_t n;

	if (cfg->nhosts >= CHAIN_TRUSTED_MAX)
		return -1;
	h = xstrdup(name);
	for (n = 0; h[n]; n++)
		h[n] = (char)tolower((unsigned char)h[n]);
	if (n > 1 && h[n - 1] == '.')
		h[n - 1] = '\0';
	cfg->hosts[cfg->nhosts++] = h;
	return 0;
}

/* name equals a trusted host or is below it; returns the host or NULL. */
static const char *
host_trusted(const struct chain_cfg *cfg, const char *name)
{
	size_t n = strlen(name), k, i;

	if (cfg == NULL || n == 0)
		return NULL;
	if (name[n - 1] == '.')
		n--;
	for (i = 0; i < (size_t)cfg->nhosts; i++) {
		k = strlen(cfg->hosts[i]);
		if (n == k && strncasecmp(name, cfg->hosts[i], k) == 0)
			return cfg->hosts[i];
		if (n > k && name[n - k - 1] == '.' &&
		    strncasecmp(name + n - k, cfg->hosts[i], k) == 0)
			return cfg->hosts[i];
	}
	return NULL;
}

static int
ip_trusted(const struct chain_cfg *cfg, const char *ip)
{
	struct netaddr a;

	return cfg != NULL && cfg->nets != NULL && ip[0] != '\0' &&
	    netaddr_parse(ip, &a) == 0 && netaddr_list_match(cfg->nets, &a);
}

/* Same host? Full names, or a short name against the first label. */
static int
name_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	const char *da, *db;

	if (na && a[na - 1] == '.')
		na--;
	if (nb && b[nb - 1] == '.')
		nb--;
	if (na == 0 || nb == 0)
		return 0;
	if (na == nb && strncasecmp(a, b, na) == 0)
		return 1;
	da = memchr(a, '.', na);
	db = memchr(b, '.', nb);
	if (da == NULL && db != NULL)
		return (size_t)(db - b) == na && strncasecmp(a, b, na) == 0;
	if (db == NULL && da != NULL)
		return (size_t)(da - a) == nb && strncasecmp(a, b, nb) == 0;
	return 0;
}

static int
continuous(const struct received *older, const struct received *newer)
{
	const char *by = older->by_host;
	enum netaddr_class cls;

	if (by[0] == '\0')
		return 1;		/* nothing to compare */
	if (name_eq(by, newer->from_name) || name_eq(by, newer->from_helo) ||
	    name_eq(by, newer->from_rdns))
		return 1;
	if (newer->from_ip[0] != '\0' && (strcmp(older->by_ip,
	    newer->from_ip) == 0 || strcasecmp(by, newer->from_ip) == 0))
		return 1;
	/* over loopback: the sender is the receiving machine itself (a
	 * content filter reinjecting), the host that received the older hop */
	if ((strncasecmp(by, "localhost", 9) == 0 ||
	    name_eq(by, newer->by_host)) &&
	    netaddr_classify_text(newer->from_ip, &cls) == 0 &&
	    cls == NETADDR_LOOPBACK)
		return 1;
	return 0;
}

static void
display(const struct hdr *h, int i, char *out, size_t outlen, int decode)
{
	static _Thread_local char buf[HDR_FIELD_MAX];
	const struct hdr_field *f = &h->f[i];

	hdr_unfold(f->val, f->vallen, buf, sizeof(buf));
	if (decode)
		hdr_decode_2047(buf, out, outlen);
	else {
		size_t n = strlen(buf);

		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, buf, n);
		out[n] = '\0';
	}
}

static void
message_checks(struct chain *c, const struct hdr *h, int mflags)
{
	if (mflags & MAILBOX_F_EMPTY)
		chain_add(c, 0, CHAIN_ERROR, "empty-message",
		    "the message has no bytes");
	else if (h->nf == 0)
		chain_add(c, 0, CHAIN_ERROR, "no-headers",
		    "the message has no header fields");
	if (mflags & MAILBOX_F_TRUNCATED)
		chain_add(c, 0, CHAIN_WARN, "truncated",
		    "message larger than %u bytes: analysed up to there",
		    MAILBOX_MSG_MAX);
	if (mflags & MAILBOX_F_NO_EOL)
		chain_add(c, 0, CHAIN_WARN, "mbox-truncated",
		    "the mailbox ends inside a line of this message");
	if (h->flags & HDR_F_TRUNCATED)
		chain_add(c, 0, CHAIN_WARN, "truncated",
		    "more than %d header fields: the rest are ignored",
		    HDR_FIELDS_MAX);
	if (h->nf > 0 && (h->flags & HDR_F_NO_SEP))
		chain_add(c, 0, CHAIN_WARN, "no-body",
		    "no empty line ends the header (message cut short?)");
	if (h->flags & HDR_F_BADLINE)
		chain_add(c, 0, CHAIN_WARN, "malformed-header",
		    "a line that is not a header field ends the header early");
	if (h->flags & HDR_F_NUL)
		chain_add(c, 0, CHAIN_WARN, "nul-bytes",
		    "NUL bytes in the header");
	if (h->flags & HDR_F_BADUTF8)
		chain_add(c, 0, CHAIN_WARN, "invalid-utf8",
		    "header bytes that are neither ASCII nor UTF-8");
	if (h->longest_line > HDR_FIELD_MAX)
		chain_add(c, 0, CHAIN_WARN, "long-line",
		    "a header line of %zu bytes (limit %d): cut when read",
		    h->longest_line, HDR_FIELD_MAX);
	else if (h->flags & HDR_F_LONGLINE)
		chain_add(c, 0, CHAIN_INFO, "long-line",
		    "a header line over 998 bytes (RFC 5322 2.1.1)");
	if (h->flags & HDR_F_BARECR)
		chain_add(c, 0, CHAIN_INFO, "bare-cr",
		    "a CR not followed by LF in the header");
}

/* An address inside a network (SPEC 3.2 step 4). */
static int
ip_inside(const char *ip, enum netaddr_class *cls)
{
	return netaddr_classify_text(ip, cls) == 0 &&
	    netaddr_class_internal(*cls);
}

static void
add_hop(struct chain *c, const struct hdr *h, int field)
{
	static _Thread_local char buf[HDR_FIELD_MAX];
	const struct hdr_field *f = &h->f[field];
	struct chain_hop *hp;
	size_t n;

	if (c->nhops == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->hops = xrealloc(c->hops, c->cap * sizeof(*c->hops));
	}
	hp = &c->hops[c->nhops++];
	memset(hp, 0, sizeof(*hp));
	n = hdr_unfold(f->val, f->vallen, buf, sizeof(buf));
	received_parse(buf, &hp->r);
	if (n >= sizeof(buf))
		chain_add(c, 0, CHAIN_WARN, "truncated",
		    "a Received field of %zu bytes was cut at %d", n,
		    HDR_FIELD_MAX);
	hp->field = field;
	hp->raw = f->raw;
	hp->rawlen = f->rawlen;
	hp->kind = hp->r.role;
}

static void
set_origin_fields(struct chain *c, const struct hdr *h,
    const struct chain_hop *hp)
{
	int i;

	snprintf(c->origin_ip, sizeof(c->origin_ip), "%s", hp->r.from_ip);
	snprintf(c->origin_helo, sizeof(c->origin_helo), "%s",
	    hp->r.from_helo);
	if (hp->r.has_envelope_from) {
		snprintf(c->origin_sender, sizeof(c->origin_sender), "%s",
		    hp->r.envelope_from);
		c->has_origin_sender = 1;
	} else if ((i = hdr_find(h, "Return-Path", 0)) >= 0) {
		char v[RECEIVED_NAME_MAX];

		display(h, i, v, sizeof(v), 0);
		if (hdr_addr(v, c->origin_sender,
		    sizeof(c->origin_sender)) == 0)
			c->has_origin_sender = 1;
	}
}

static int
cfg_given(const struct chain_cfg *cfg)
{
	return cfg != NULL && (cfg->nhosts > 0 || (cfg->nets != NULL &&
	    netaddr_list_count(cfg->nets) > 0));
}

/* Without --trusted: delivery hops and senders inside a network are
 * inside the boundary (SPEC 3.2 step 4). 1 with why filled. */
static int
inferred_inside(struct chain_hop *hp)
{
	const struct received *r = &hp->r;
	enum netaddr_class cls;

	if (hp->kind == RECEIVED_ROLE_DELIVERY) {
		snprintf(hp->why, sizeof(hp->why), "delivery hop (%.40s) "
		    "written by a trusted host (inferred)", r->with);
		return 1;
	}
	if (ip_inside(r->from_ip, &cls)) {
		snprintf(hp->why, sizeof(hp->why), "sender %s is %s: inside "
		    "the receiving network (inferred)", r->from_ip,
		    netaddr_class_str(cls));
		return 1;
	}
	return 0;
}

static void
trust_walk(struct chain *c, const struct chain_cfg *cfg, const struct hdr *h)
{
	int j, given = cfg_given(cfg);
	const char *t;

	c->boundary_given = given;

	for (j = c->nhops - 1; j >= 0; j--) {
		struct chain_hop *hp = &c->hops[j];
		const struct received *r = &hp->r;
		enum netaddr_class cls;

		if (c->boundary_hop) {
			hp->trust = CHAIN_UNTRUSTED;
			snprintf(hp->why, sizeof(hp->why), "older than the "
			    "boundary: written by an untrusted host, not "
			    "verified");
			continue;
		}
		hp->trust = CHAIN_TRUSTED;
		switch (r->kind) {
		case RECEIVED_LOCAL:
		case RECEIVED_MARKER:
		case RECEIVED_FETCH:
			snprintf(hp->why, sizeof(hp->why), "%s line written "
			    "by a trusted host: no network sender",
			    received_kind_str(r->kind));
			continue;
		case RECEIVED_UNPARSED:
			hp->trust = CHAIN_BOUNDARY;
			c->boundary_hop = hp->n;
			snprintf(hp->why, sizeof(hp->why), "cannot be parsed: "
			    "the chain cannot be followed past it");
			continue;
		case RECEIVED_RELAY:
			break;
		}
		if (netaddr_classify_text(r->from_ip, &cls) == 0 &&
		    cls == NETADDR_LOOPBACK) {
			snprintf(hp->why, sizeof(hp->why), "sender %s is "
			    "loopback (same host)", r->from_ip);
			continue;
		}
		if (!given && inferred_inside(hp))
			continue;
		if (ip_trusted(cfg, r->from_ip)) {
			snprintf(hp->why, sizeof(hp->why), "sender %s is in "
			    "--trusted networks", r->from_ip);
			continue;
		}
		if ((t = host_trusted(cfg, r->from_rdns)) != NULL) {
			snprintf(hp->why, sizeof(hp->why), "sender rDNS %.100s "
			    "(recorded by a trusted host) is under --trusted "
			    "%.80s", r->from_rdns, t);
			continue;
		}
		if (r->from_ip[0] == '\0' && r->from_rdns[0] == '\0' &&
		    ((t = host_trusted(cfg, r->from_helo)) != NULL ||
		    (t = host_trusted(cfg, r->from_name)) != NULL)) {
			snprintf(hp->why, sizeof(hp->why), "sender name %.100s is "
			    "under --trusted %.80s (no address recorded)",
			    r->from_name, t);
			continue;
		}
		hp->trust = CHAIN_BOUNDARY;
		c->boundary_hop = hp->n;
		set_origin_fields(c, h, hp);
		snprintf(hp->why, sizeof(hp->why), "first untrusted sender: "
		    "%s%s%s", r->from_ip[0] ? r->from_ip : "(no address)",
		    given ? " is not in --trusted" : " (inferred: the first "
		    "public sender counting from the newest hop, the MX "
		    "entry)", r->auth > 0 ? "; it authenticated" : "");
	}
}

static void
address_checks(struct chain *c)
{
	int i;

	for (i = 0; i < c->nhops; i++) {
		struct chain_hop *hp = &c->hops[i];
		enum netaddr_class cls;

		if (hp->trust == CHAIN_TRUSTED ||
		    netaddr_classify_text(hp->r.from_ip, &cls) != 0)
			continue;
		switch (cls) {
		case NETADDR_PUBLIC:
			break;
		case NETADDR_RESERVED:
		case NETADDR_UNSPECIFIED:
			chain_add(c, hp->n, CHAIN_WARN, "reserved-ip",
			    "hop %d claims sender address %s, which is %s "
			    "and cannot send mail", hp->n, hp->r.from_ip,
			    netaddr_class_str(cls));
			break;
		default:
			if (hp->trust == CHAIN_BOUNDARY)
				chain_add(c, hp->n, CHAIN_WARN, "private-ip",
				    "the first untrusted sender %s is %s: an "
				    "internal relay missing from --trusted, "
				    "or a forged header", hp->r.from_ip,
				    netaddr_class_str(cls));
			else
				chain_add(c, hp->n, CHAIN_INFO, "private-ip",
				    "hop %d (untrusted) claims %s address %s",
				    hp->n, netaddr_class_str(cls),
				    hp->r.from_ip);
			break;
		}
	}
}

static void
time_checks(struct chain *c, const struct hdr *h, int64_t now)
{
	int i, k, has_prev = 0;
	int64_t prev = 0;
	char dbuf[HDR_DATE_MAX + 1], err[64], ts[32];

	if ((k = hdr_find(h, "Date", 0)) >= 0) {
		display(h, k, dbuf, sizeof(dbuf), 0);
		if (hdr_date_parse(dbuf, strlen(dbuf), &prev, err,
		    sizeof(err)) == 0) {
			has_prev = 1;
			c->has_date = 1;
			c->date = prev;
			if (prev > now + CHAIN_FUTURE_MAX)
				chain_add(c, 0, CHAIN_WARN, "future-date",
				    "Date: %s is in the future",
				    hdr_date_format(prev, ts, sizeof(ts)));
		} else
			chain_add(c, 0, CHAIN_INFO, "bad-date",
			    "Date: cannot be parsed (%s)", err);
	} else if (h->nf > 0)
		chain_add(c, 0, CHAIN_INFO, "no-date", "no Date: field");
	for (i = 0; i < c->nhops; i++) {
		struct chain_hop *hp = &c->hops[i];

		if (!hp->r.has_date)
			continue;
		if (has_prev) {
			hp->has_delay = 1;
			hp->delay_s = hp->r.date - prev;
			if (hp->delay_s < -CHAIN_SKEW_MAX)
				chain_add(c, hp->n, CHAIN_WARN,
				    "time-reversed", "hop %d is dated %lld s "
				    "before %s", hp->n, (long long)-hp->delay_s,
				    i == 0 ? "the Date: field" :
				    "the previous hop");
		}
		if (hp->r.date > now + CHAIN_FUTURE_MAX)
			chain_add(c, hp->n, CHAIN_WARN, "future-date",
			    "hop %d is dated %s, in the future", hp->n,
			    hdr_date_format(hp->r.date, ts, sizeof(ts)));
		prev = hp->r.date;
		has_prev = 1;
	}
}

static void
continuity_checks(struct chain *c)
{
	int i;

	for (i = 0; i + 1 < c->nhops; i++) {
		const struct chain_hop *a = &c->hops[i], *b = &c->hops[i + 1];

		if (a->r.kind != RECEIVED_RELAY && a->r.kind != RECEIVED_LOCAL)
			continue;
		if (b->r.kind != RECEIVED_RELAY)
			continue;
		if (continuous(&a->r, &b->r))
			continue;
		chain_add(c, b->n, b->trust == CHAIN_TRUSTED ? CHAIN_WARN :
		    CHAIN_INFO, "chain-gap", "hop %d was received by %s, but "
		    "hop %d says it came from %s%s%s%s%s%s", a->n, a->r.by_host,
		    b->n, b->r.from_name[0] ? b->r.from_name : "(no name)",
		    b->r.from_rdns[0] ? " rDNS " : "", b->r.from_rdns,
		    b->r.from_ip[0] ? " [" : "", b->r.from_ip,
		    b->r.from_ip[0] ? "]" : "");
	}
}

void
chain_build(struct chain *c, const struct chain_cfg *cfg,
    const struct hdr *h, int mflags, int64_t now)
{
	int i, nrec = 0, first = -1, over = 0;

	c->nhops = 0;
	c->boundary_hop = 0;
	c->boundary_given = 0;
	c->dmarc.checked = 0;
	c->nclaims = c->nclaims_dropped = 0;
	c->origin_ip[0] = c->origin_helo[0] = c->origin_sender[0] = '\0';
	c->has_origin_sender = 0;
	c->evaluated = 0;
	c->iprev = CHAIN_IPREV_NOTCHECKED;
	c->spf = -1;
	c->eval_note[0] = '\0';
	c->message_id[0] = c->from[0] = c->subject[0] = '\0';
	c->has_date = 0;
	c->dkim.n = c->dkim.nfound = c->dkim.nunchecked = 0;
	c->arc.result = AUTH_NONE;
	c->arc.nsets = 0;
	c->nf = c->nf_dropped = 0;
	c->verdict = CHAIN_UNAUTHENTICATED;

	message_checks(c, h, mflags);
	if ((i = hdr_find(h, "Message-ID", 0)) >= 0)
		display(h, i, c->message_id, sizeof(c->message_id), 0);
	if ((i = hdr_find(h, "From", 0)) >= 0) {
		display(h, i, c->from, sizeof(c->from), 1);
		if (hdr_find(h, "From", i + 1) >= 0)
			chain_add(c, 0, CHAIN_WARN, "multiple-from",
			    "more than one From: field");
	} else if (h->nf > 0)
		chain_add(c, 0, CHAIN_WARN, "no-from", "no From: field");
	if ((i = hdr_find(h, "Subject", 0)) >= 0)
		display(h, i, c->subject, sizeof(c->subject), 1);

	/* Received fields, newest first; keep the newest RECEIVED_MAX. */
	for (i = 0; i < h->nf; i++) {
		if (hdr_is(&h->f[i], "Received")) {
			if (nrec < RECEIVED_MAX) {
				if (first < 0)
					first = i;
				add_hop(c, h, i);
			} else
				over++;
			nrec++;
		} else if (hdr_is(&h->f[i], "DKIM-Signature")) {
			if (c->dkim.nfound == AUTH_SIGS_MAX) {
				c->dkim.nunchecked++;
				continue;
			}
			c->dkim.found[c->dkim.nfound].field = i;
			c->dkim.found[c->dkim.nfound++].received_above = nrec;
		}
	}
	if (c->dkim.nunchecked)
		chain_add(c, 0, CHAIN_WARN, "truncated", "%d DKIM-Signature "
		    "fields: the %d below the first %d are not verified",
		    c->dkim.nfound + c->dkim.nunchecked, c->dkim.nunchecked,
		    AUTH_SIGS_MAX);
	if (over)
		chain_add(c, 0, CHAIN_WARN, "truncated", "%d Received fields: "
		    "the oldest %d are not analysed (limit %d)", nrec, over,
		    RECEIVED_MAX);
	/* Oldest first. */
	for (i = 0; i < c->nhops / 2; i++) {
		struct chain_hop t = c->hops[i];

		c->hops[i] = c->hops[c->nhops - 1 - i];
		c->hops[c->nhops - 1 - i] = t;
	}
	for (i = 0; i < c->nhops; i++)
		c->hops[i].n = i + 1;
	if (c->nhops == 0 && h->nf > 0)
		chain_add(c, 0, CHAIN_WARN, "no-received",
		    "no Received: field: where the message came from is "
		    "unknown");
	for (i = 0; i < c->nhops; i++)
		if (c->hops[i].r.kind == RECEIVED_UNPARSED)
			chain_add(c, c->hops[i].n, CHAIN_WARN,
			    "unparsed-received", "hop %d cannot be parsed: %s",
			    c->hops[i].n, c->hops[i].r.note);
	trust_walk(c, cfg, h);
	if (c->nhops > 0 && c->boundary_hop == 0)
		chain_add(c, 0, CHAIN_INFO, "no-boundary", "every hop is "
		    "trusted: the message started inside");
	time_checks(c, h, now);
	continuity_checks(c);
	address_checks(c);
}

void
chain_set_origin(struct chain *c, enum chain_iprev iprev, int spf,
    const char *note)
{
	c->evaluated = 1;
	c->iprev = iprev;
	c->spf = spf;
	snprintf(c->eval_note, sizeof(c->eval_note), "%s", note ? note : "");
	if (iprev == CHAIN_IPREV_FAIL || iprev == CHAIN_IPREV_PERMERROR)
		chain_add(c, c->boundary_hop, CHAIN_INFO, "iprev-fail",
		    "origin %s has no forward-confirmed reverse DNS "
		    "(iprev=%s, evaluated now, not at delivery time)",
		    c->origin_ip, chain_iprev_str(iprev));
	if (spf == SPF_RES_FAIL)
		chain_add(c, c->boundary_hop, CHAIN_WARN, "spf-fail",
		    "SPF fail for %s from %s (evaluated now, not at "
		    "delivery time)", c->origin_sender[0] ? c->origin_sender :
		    c->origin_helo, c->origin_ip);
	else if (spf == SPF_RES_SOFTFAIL)
		chain_add(c, c->boundary_hop, CHAIN_INFO, "spf-softfail",
		    "SPF softfail for %s from %s (evaluated now)",
		    c->origin_sender[0] ? c->origin_sender : c->origin_helo,
		    c->origin_ip);
}

int64_t
chain_received_time(const struct chain *c, int64_t now)
{
	int i;

	for (i = c->nhops - 1; i >= 0; i--)
		if (c->hops[i].r.has_date)
			return c->hops[i].r.date;
	return c->has_date ? c->date : now;
}

/* The hop after which a field with `above` Received fields above it was
 * added: 0 before the first hop, -1 unknown (older than the hops kept). */
static int
hop_of(const struct chain *c, int above)
{
	int n = c->nhops - above;

	return n < 0 ? -1 : n;
}

static int
domain_related(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na == 0 || nb == 0)
		return 0;
	if (na == nb)
		return strcasecmp(a, b) == 0;
	if (na > nb)
		return a[na - nb - 1] == '.' && strcasecmp(a + na - nb, b) == 0;
	return b[nb - na - 1] == '.' && strcasecmp(b + nb - na, a) == 0;
}

static const char *
hop_host(const struct chain *c, int n)
{
	if (n < 1 || n > c->nhops || c->hops[n - 1].r.by_host[0] == '\0')
		return "?";
	return c->hops[n - 1].r.by_host;
}

/* A failing signature that a sealed ARC set, added after hop h, saw
 * pass (its AAR says dkim=pass for that d=) was intact up to hop h: the
 * first hop that could have broken it is h + 1. */
static void
arc_narrow(struct chain *c, struct dkim_result *r)
{
	int i, k;

	for (i = 0; i < c->arc.nsets; i++) {
		const struct arc_set *s = &c->arc.sets[i];

		if (s->as_valid != AUTH_CHECK_PASS || s->hop_added < 0 ||
		    s->hop_added < r->hop_added || s->hop_added >= c->nhops)
			continue;
		for (k = 0; k < s->naar_dkim_pass; k++)
			if (strcasecmp(s->aar_dkim_pass[k], r->d) == 0 &&
			    s->hop_added >= r->hop_intact) {
				r->hop_intact = s->hop_added;
				r->hop_broken = s->hop_added + 1;
			}
	}
	/* A body that no longer matches bh= but does match a later AMS's
	 * body hash was changed before that AMS was added. */
	if (r->reason != AUTH_REASON_BODY_HASH || r->hop_broken == 0)
		return;
	for (i = 0; i < c->arc.nsets; i++) {
		const struct arc_set *s = &c->arc.sets[i];

		if (s->ams_valid == AUTH_CHECK_PASS && s->hop_added >=
		    r->hop_broken && (r->hop_last == 0 ||
		    s->hop_added < r->hop_last))
			r->hop_last = s->hop_added;
	}
}

static void
dkim_findings(struct chain *c, const char *from_dom, int64_t now)
{
	int i;
	char ts[32], where[64];

	for (i = 0; i < c->dkim.n; i++) {
		struct dkim_result *r = &c->dkim.sig[i];
		const char *why = auth_reason_str(r->reason);

		r->hop_added = hop_of(c, r->pos.received_above);
		r->finding = r->result == AUTH_FAIL && c->nf < CHAIN_FINDINGS_MAX ?
		    c->nf : -1;
		r->hop_broken = 0;
		r->hop_intact = 0;
		r->hop_last = 0;
		if (r->hop_added < 0)
			snprintf(where, sizeof(where), "before the hops kept");
		else if (r->hop_added == 0)
			snprintf(where, sizeof(where), "by the sender");
		else
			snprintf(where, sizeof(where), "after hop %d (%.40s)",
			    r->hop_added, hop_host(c, r->hop_added));
		if (r->result == AUTH_FAIL) {
			if (r->hop_added >= 0 && r->hop_added < c->nhops)
				r->hop_broken = r->hop_added + 1;
			arc_narrow(c, r);
			if (r->hop_broken && r->hop_last == r->hop_broken)
				chain_add(c, r->hop_broken, CHAIN_WARN,
				    "dkim-fail", "DKIM d=%s s=%s added %s "
				    "fails (%s): hop %d (%.60s) changed the body: "
				    "%s, and a valid ARC-Message-Signature "
				    "added after hop %d still covers the body as "
				    "it is", r->d, r->s, where, why, r->hop_broken,
				    hop_host(c, r->hop_broken), r->hop_intact ?
				    "a sealed ARC set saw DKIM pass before it" :
				    "it was signed before that hop", r->hop_last);
			else if (r->hop_broken && r->hop_intact)
				chain_add(c, r->hop_broken, CHAIN_WARN,
				    "dkim-fail", "DKIM d=%s s=%s added %s "
				    "fails (%s): it still verified after hop %d "
				    "(a sealed ARC set says so), so hop %d "
				    "(%.60s) or a later one broke it", r->d, r->s,
				    where, why, r->hop_intact, r->hop_broken,
				    hop_host(c, r->hop_broken));
			else if (r->hop_broken)
				chain_add(c, r->hop_broken, CHAIN_WARN,
				    "dkim-fail", "DKIM d=%s s=%s added %s "
				    "fails (%s): first hop that could have "
				    "broken it is hop %d (%.60s)", r->d, r->s,
				    where, why, r->hop_broken,
				    hop_host(c, r->hop_broken));
			else
				chain_add(c, 0, CHAIN_WARN, "dkim-fail",
				    "DKIM d=%s s=%s added %s fails (%s): "
				    "changed here, after the last hop", r->d,
				    r->s, where, why);
		} else if (r->result == AUTH_PERMERROR)
			chain_add(c, 0, CHAIN_INFO, "dkim-permerror",
			    "DKIM d=%s s=%s cannot be verified (%s): %s",
			    r->d, r->s, why ? why : "?", r->detail);
		else if (r->result == AUTH_TEMPERROR)
			chain_add(c, 0, CHAIN_INFO, "dkim-temperror",
			    "DKIM d=%s s=%s: key not available (%s): %s",
			    r->d, r->s, why ? why : "?", r->detail);
		else if (r->result == AUTH_POLICY && r->weak)
			chain_add(c, 0, CHAIN_INFO, "dkim-weak", "DKIM d=%s "
			    "s=%s uses rsa-sha1 (RFC 8301: not acceptable)",
			    r->d, r->s);
		if (r->has_x && r->x < now && r->reason !=
		    AUTH_REASON_EXPIRED && r->reason != AUTH_REASON_SIG_SYNTAX)
			chain_add(c, 0, CHAIN_INFO, "dkim-expired-since",
			    "DKIM d=%s s=%s expired at %s, after the message "
			    "was received: judged at delivery time", r->d,
			    r->s, hdr_date_format(r->x, ts, sizeof(ts)));
		if (r->testing)
			chain_add(c, 0, CHAIN_INFO, "dkim-testing", "DKIM "
			    "d=%s s=%s: the key is in testing mode (t=y)",
			    r->d, r->s);
		if (r->unsigned_tail > 0 && r->body_hash == AUTH_CHECK_PASS)
			chain_add(c, 0, CHAIN_WARN, "dkim-l-tail", "DKIM d=%s "
			    "s=%s signs only part of the body (l=): %llu "
			    "bytes after it are not covered and may have been "
			    "added", r->d, r->s, r->unsigned_tail);
		if (r->d[0] && from_dom[0] && !domain_related(r->d, from_dom))
			chain_add(c, 0, CHAIN_INFO, "dkim-unrelated-domain",
			    "DKIM d=%s is not the From: domain %s nor a "
			    "parent or child of it", r->d, from_dom);
		if (r->has_t && r->hop_added >= 0 &&
		    r->hop_added < c->nhops &&
		    c->hops[r->hop_added].r.has_date &&
		    r->t > c->hops[r->hop_added].r.date + CHAIN_SKEW_MAX)
			chain_add(c, r->hop_added + 1, CHAIN_WARN,
			    "dkim-t-after-hop", "DKIM d=%s s=%s has t=%s, "
			    "later than hop %d that received it (%s)", r->d,
			    r->s, hdr_date_format(r->t, ts, sizeof(ts)),
			    r->hop_added + 1, hdr_date_format(
			    c->hops[r->hop_added].r.date, where,
			    sizeof(where)));
	}
}

static void
arc_hops(struct chain *c)
{
	int i;

	for (i = 0; i < c->arc.nsets; i++) {
		struct arc_set *s = &c->arc.sets[i];

		s->hop_added = hop_of(c, s->seal.received_above);
		s->hop_broken = 0;
		if (s->ams_valid == AUTH_CHECK_FAIL && s->hop_added >= 0 &&
		    s->hop_added < c->nhops)
			s->hop_broken = s->hop_added + 1;
	}
}

static void
arc_findings(struct chain *c)
{
	int i;

	if (c->arc.result == AUTH_FAIL)
		chain_add(c, 0, CHAIN_WARN, "arc-fail", "ARC chain fails: %s",
		    c->arc.detail[0] ? c->arc.detail : "a set does not verify");
	else if (c->arc.result == AUTH_TEMPERROR)
		chain_add(c, 0, CHAIN_INFO, "arc-temperror", "ARC chain not "
		    "verified: %s", c->arc.detail);
	for (i = 0; i < c->arc.nsets; i++) {
		const struct arc_set *s = &c->arc.sets[i];

		if (s->ams_valid == AUTH_CHECK_FAIL && s->hop_broken)
			chain_add(c, s->hop_broken, CHAIN_INFO, "arc-ams-fail",
			    "ARC-Message-Signature i=%d (d=%s) added after "
			    "hop %d no longer verifies: first hop that could "
			    "have changed the message is hop %d (%.60s)",
			    s->instance, s->d, s->hop_added, s->hop_broken,
			    hop_host(c, s->hop_broken));
	}
}

void
chain_auth(struct chain *c, int64_t now)
{
	char addr[CHAIN_DISPLAY_MAX], dom[CHAIN_DISPLAY_MAX] = "";
	const char *at;

	if (c->from[0] && hdr_addr(c->from, addr, sizeof(addr)) == 0 &&
	    (at = strrchr(addr, '@')) != NULL)
		snprintf(dom, sizeof(dom), "%s", at + 1);
	arc_hops(c);
	dkim_findings(c, dom, now);
	arc_findings(c);
}

const char *
chain_origin_name(const struct chain *c, int *claimed)
{
	const struct received *r;

	*claimed = 0;
	if (c->boundary_hop == 0)
		return NULL;
	r = &c->hops[c->boundary_hop - 1].r;
	if (r->from_rdns[0])
		return r->from_rdns;
	*claimed = r->from_helo[0] || r->from_name[0];
	return r->from_helo[0] ? r->from_helo : r->from_name;
}

int
chain_from_proven(const struct chain *c)
{
	const struct chain_dmarc *m = &c->dmarc;

	return m->checked && (m->ev.result == DMARC_RESULT_PASS ||
	    (m->ev.result != DMARC_RESULT_FAIL && (m->ev.dkim_aligned[0] ||
	    m->ev.spf_aligned[0])));
}

void
chain_finish(struct chain *c)
{
	int i, error, warn;

	error = c->nf_dropped && c->sev_dropped == CHAIN_ERROR;
	warn = c->nf_dropped && c->sev_dropped == CHAIN_WARN;
	for (i = 0; i < c->nf; i++) {
		if (c->f[i].sev == CHAIN_ERROR)
			error = 1;
		else if (c->f[i].sev == CHAIN_WARN)
			warn = 1;
	}
	if (error)
		c->verdict = CHAIN_FORGED;
	else if (chain_from_proven(c))
		c->verdict = CHAIN_AUTHENTICATED;
	else if (warn)
		c->verdict = CHAIN_SUSPICIOUS;
	else
		c->verdict = CHAIN_UNAUTHENTICATED;
}

void
chain_free(struct chain *c)
{
	if (c == NULL)
		return;
	free(c->hops);
	c->hops = NULL;
	c->nhops = c->cap = 0;
}

const char *
chain_sev_str(enum chain_sev s)
{
	switch (s) {
	case CHAIN_INFO:
		return "info";
	case CHAIN_WARN:
		return "warn";
	case CHAIN_ERROR:
		break;
	}
	return "error";
}

const char *
chain_verdict_str(enum chain_verdict v)
{
	switch (v) {
	case CHAIN_AUTHENTICATED:
		return "authenticated";
	case CHAIN_SUSPICIOUS:
		return "suspicious";
	case CHAIN_FORGED:
		return "forged";
	case CHAIN_UNAUTHENTICATED:
		break;
	}
	return "unauthenticated";
}


const char *
chain_iprev_str(enum chain_iprev r)
{
	switch (r) {
	case CHAIN_IPREV_PASS:
		return "pass";
	case CHAIN_IPREV_FAIL:
		return "fail";
	case CHAIN_IPREV_PERMERROR:
		return "permerror";
	case CHAIN_IPREV_TEMPERROR:
		return "temperror";
	case CHAIN_IPREV_NOTCHECKED:
		break;
	}
	return "none";
}

const char *
chain_trust_str(enum chain_trust t)
{
	switch (t) {
	case CHAIN_TRUSTED:
		return "trusted";
	case CHAIN_BOUNDARY:
		return "boundary";
	case CHAIN_UNTRUSTED:
		break;
	}
	return "untrusted";
}
