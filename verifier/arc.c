/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	arc 3
 * SUMMARY
 *	ARC chain verification
 * SYNOPSIS
 *	#include "verifier/arc.h"
 *
 *	void arc_verify(struct dkim_ctx *x, struct keys *k,
 *		const struct hdr *h, const char *msg, size_t len,
 *		struct arc_result *out);
 * DESCRIPTION
 *	RFC 8617 5.2. The ARC fields are grouped into sets by i=; every
 *	instance from 1 to the highest must have exactly one
 *	ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal.
 *	Each AMS is verified like a DKIM signature (dkim_check) and each AS
 *	over the relaxed AAR, AMS and AS of every set up to its own (its own
 *	b= emptied). Every set is verified and reported, not only the ones
 *	the RFC needs, so an analyst sees which hop's AMS stopped holding.
 *
 *	The chain is "fail" when the sets are incomplete or duplicated, the
 *	newest cv= is fail, a cv= is wrong for its place (i=1 none, later
 *	pass), the newest AMS or any AS does not verify; "temperror" when a
 *	key could not be fetched and nothing failed; else "pass". oldest_pass
 *	is RFC 8617's oldest-pass: the lowest instance from which every AMS
 *	up to the newest verifies, 0 when all do.
 * DIAGNOSTICS
 *	The first reason the chain fails is in out->detail.
 * LIMITS
 *	AUTH_ARC_SETS_MAX instances; more is a failing chain.
 *--*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "verifier/arc.h"
#include "verifier/authres.h"
#include "verifier/canon.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

enum { F_AAR, F_AMS, F_AS };

struct arc_fields {
	int	field[AUTH_ARC_SETS_MAX + 1][3];	/* -1: missing */
	int	above[AUTH_ARC_SETS_MAX + 1][3];
	int	dup;
	int	bad;			/* an ARC field without a usable i= */
	int	max;
};

static void fail(struct arc_result *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct arc_result *out, const char *fmt, ...)
{
	va_list ap;

	if (out->result != AUTH_FAIL) {
		out->result = AUTH_FAIL;
		va_start(ap, fmt);
		vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
		va_end(ap);
	}
}

/* i= of an ARC field: the first tag of an AAR, a tag of the others. */
static int
instance(const struct hdr_field *f, int kind)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char err[64];
	size_t len = f->vallen, k;
	int v = 0;

	if (kind == F_AAR) {
		const char *semi = memchr(f->val, ';', f->vallen);

		if (semi == NULL)
			return -1;
		len = (size_t)(semi - f->val);
	}
	if (dkim_tags_parse(f->val, len, &tags, err, sizeof(err)) != 0 ||
	    (t = dkim_tag_get(&tags, "i")) == NULL || t->vlen == 0 ||
	    t->vlen > 2)
		return -1;
	for (k = 0; k < t->vlen; k++) {
		if (t->val[k] < '0' || t->val[k] > '9')
			return -1;
		v = v * 10 + (t->val[k] - '0');
	}
	return v >= 1 && v <= AUTH_ARC_SETS_MAX ? v : -1;
}

static void
collect(const struct hdr *h, struct arc_fields *af)
{
	int i, j, kind, inst, nrec = 0;

	memset(af, 0, sizeof(*af));
	for (i = 0; i <= AUTH_ARC_SETS_MAX; i++)
		for (j = 0; j < 3; j++)
			af->field[i][j] = -1;
	for (i = 0; i < h->nf; i++) {
		const struct hdr_field *f = &h->f[i];

		if (hdr_is(f, "Received")) {
			nrec++;
			continue;
		}
		if (hdr_is(f, "ARC-Authentication-Results"))
			kind = F_AAR;
		else if (hdr_is(f, "ARC-Message-Signature"))
			kind = F_AMS;
		else if (hdr_is(f, "ARC-Seal"))
			kind = F_AS;
		else
			continue;
		if ((inst = instance(f, kind)) < 0) {
			af->bad++;
			continue;
		}
		if (af->field[inst][kind] >= 0)
			af->dup = inst;
		af->field[inst][kind] = i;
		af->above[inst][kind] = nrec;
		if (inst > af->max)
			af->max = inst;
	}
}

/* The dkim=pass results of an ARC-Authentication-Results field, with
 * their header.d (authres: RFC 8601 grammar). */
static void
aar_claims(const struct hdr_field *f, struct arc_set *s)
{
	static _Thread_local char buf[HDR_FIELD_MAX];
	const struct authres_resinfo *r;
	const char *d;
	struct authres ar;
	size_t n;

	s->naar_dkim_pass = 0;
	n = hdr_unfold(f->val, f->vallen, buf, sizeof(buf));
	if (authres_parse(buf, n, 1, &ar, NULL, 0) == 0)
		for (r = authres_find(&ar, "dkim"); r != NULL &&
		    s->naar_dkim_pass < AUTH_AAR_DKIM_MAX;
		    r = authres_find_next(&ar, r)) {
			if (r->result != AUTHRES_PASS)
				continue;
			d = authres_prop(r, "header.d");
			snprintf(s->aar_dkim_pass[s->naar_dkim_pass++],
			    sizeof(s->aar_dkim_pass[0]), "%s", d ? d : "");
		}
	authres_free(&ar);
}

static void
set_reason(const struct dkim_result *r, enum auth_check *valid,
    enum auth_reason *reason)
{
	*valid = r->result == AUTH_PASS ? AUTH_CHECK_PASS :
	    r->result == AUTH_TEMPERROR ? AUTH_CHECK_NONE : AUTH_CHECK_FAIL;
	*reason = r->reason;
}

void
arc_verify(struct dkim_ctx *x, struct keys *keys, const struct hdr *h,
    const char *msg, size_t len, struct arc_result *out)
{
	static _Thread_local struct arc_fields af;
	static _Thread_local struct dkim_sig sig;
	static _Thread_local struct dkim_result r;
	struct canon_buf data = { NULL, 0, 0 }, tmp = { NULL, 0, 0 };
	char why[DKIM_DETAIL_MAX];
	int i, j, n, temp = 0;

	dkim_ctx_continue(x, h, msg, len);
	out->result = AUTH_NONE;
	out->nsets = 0;
	out->oldest_pass = -1;
	out->detail[0] = '\0';
	collect(h, &af);
	if (af.max == 0 && af.bad == 0)
		return;
	n = af.max;
	for (i = 1; i <= n; i++) {
		struct arc_set *s = &out->sets[out->nsets++];

		memset(s, 0, sizeof(*s));
		s->instance = i;
		s->cv = -1;
		s->hop_added = -1;
		s->aar.field = af.field[i][F_AAR];
		s->aar.received_above = af.above[i][F_AAR];
		s->ams.field = af.field[i][F_AMS];
		s->ams.received_above = af.above[i][F_AMS];
		s->seal.field = af.field[i][F_AS];
		s->seal.received_above = af.above[i][F_AS];
		s->result = AUTH_FAIL;
		if (s->aar.field < 0 || s->ams.field < 0 || s->seal.field < 0) {
			snprintf(s->detail, sizeof(s->detail), "set i=%d lacks "
			    "its %s", i, s->aar.field < 0 ?
			    "ARC-Authentication-Results" : s->ams.field < 0 ?
			    "ARC-Message-Signature" : "ARC-Seal");
			fail(out, "%s", s->detail);
		}
		if (s->aar.field >= 0)
			aar_claims(&h->f[s->aar.field], s);
		/* the AMS */
		if (s->ams.field >= 0) {
			const struct hdr_field *f = &h->f[s->ams.field];
			enum auth_reason pr;

			memset(&r, 0, sizeof(r));
			r.hop_added = -1;
			pr = dkim_sig_parse(f->val, f->vallen, 1, &sig, why,
			    sizeof(why));
			snprintf(s->d, sizeof(s->d), "%s", sig.d);
			snprintf(s->s, sizeof(s->s), "%s", sig.s);
			if (pr != AUTH_REASON_NONE) {
				r.result = AUTH_PERMERROR;
				r.reason = pr;
				snprintf(r.detail, sizeof(r.detail), "%s", why);
			} else {
				dkim_check(x, keys, h, msg, len, s->ams.field,
				    &sig, &r);
			}
			set_reason(&r, &s->ams_valid, &s->ams_reason);
			if (r.result == AUTH_TEMPERROR)
				temp = 1;
			if (s->ams_valid == AUTH_CHECK_FAIL)
				snprintf(s->detail, sizeof(s->detail), "AMS: %.150s",
				    r.detail);
		}
		/* the AS */
		if (s->seal.field >= 0) {
			const struct hdr_field *f = &h->f[s->seal.field];
			enum auth_reason pr;
			int ok = 1;

			memset(&r, 0, sizeof(r));
			r.hop_added = -1;
			pr = dkim_sig_parse(f->val, f->vallen, 2, &sig, why,
			    sizeof(why));
			snprintf(s->as_d, sizeof(s->as_d), "%s", sig.d);
			snprintf(s->as_s, sizeof(s->as_s), "%s", sig.s);
			s->cv = sig.cv;
			if (pr != AUTH_REASON_NONE) {
				r.result = AUTH_PERMERROR;
				r.reason = pr;
				snprintf(r.detail, sizeof(r.detail), "%s", why);
			} else {
				data.len = 0;
				for (j = 1; j <= i && ok; j++) {
					int k;

					for (k = 0; k < 3; k++) {
						int fi = af.field[j][k];

						if (fi < 0) {
							ok = 0;
							break;
						}
						if (j == i && k == F_AS) {
							canon_strip_b(h->f[fi].raw,
							    h->f[fi].rawlen, &tmp);
							canon_header(CANON_RELAXED,
							    tmp.p, tmp.len, &data);
							data.len -= 2;
						} else
							canon_header(CANON_RELAXED,
							    h->f[fi].raw,
							    h->f[fi].rawlen, &data);
					}
				}
				if (ok)
					dkim_check_data(x, keys, data.p,
					    data.len, &sig, &r);
				else
					r.result = AUTH_PERMERROR;
				if (r.result == AUTH_NONE &&
				    r.header_sig == AUTH_CHECK_PASS &&
				    r.reason == AUTH_REASON_NONE)
					r.result = AUTH_PASS;
			}
			set_reason(&r, &s->as_valid, &s->as_reason);
			if (r.result == AUTH_TEMPERROR)
				temp = 1;
			if (s->as_valid == AUTH_CHECK_FAIL && !s->detail[0])
				snprintf(s->detail, sizeof(s->detail), "AS: %.150s",
				    r.detail[0] ? r.detail : "does not verify");
		}
		if (s->ams_valid == AUTH_CHECK_PASS &&
		    s->as_valid == AUTH_CHECK_PASS)
			s->result = AUTH_PASS;
		else if (s->ams_valid != AUTH_CHECK_FAIL &&
		    s->as_valid != AUTH_CHECK_FAIL && temp)
			s->result = AUTH_TEMPERROR;
	}
	canon_buf_free(&data);
	canon_buf_free(&tmp);

	if (af.bad)
		fail(out, "%d ARC field%s without a valid i= (1..%d)", af.bad,
		    af.bad == 1 ? "" : "s", AUTH_ARC_SETS_MAX);
	if (af.dup)
		fail(out, "set i=%d has a field twice", af.dup);
	if (n > 0 && out->sets[n - 1].cv == 2)
		fail(out, "the newest seal (i=%d) says cv=fail", n);
	for (i = 0; i < out->nsets; i++) {
		const struct arc_set *s = &out->sets[i];

		if (s->seal.field >= 0 && s->cv >= 0 &&
		    s->cv != (s->instance == 1 ? 0 : 1))
			fail(out, "set i=%d has cv=%s", s->instance,
			    s->cv == 0 ? "none" : s->cv == 1 ? "pass" : "fail");
	}
	if (n > 0 && out->sets[n - 1].ams_valid == AUTH_CHECK_FAIL)
		fail(out, "the newest ARC-Message-Signature (i=%d) does not "
		    "verify", n);
	for (i = out->nsets - 1; i >= 0; i--)
		if (out->sets[i].as_valid == AUTH_CHECK_FAIL)
			fail(out, "ARC-Seal i=%d does not verify",
			    out->sets[i].instance);
	if (n > 0 && out->sets[n - 1].ams_valid == AUTH_CHECK_PASS) {
		out->oldest_pass = 0;
		for (i = n - 2; i >= 0; i--)
			if (out->sets[i].ams_valid != AUTH_CHECK_PASS) {
				out->oldest_pass = i + 2;
				break;
			}
	}
	if (out->result == AUTH_FAIL)
		return;
	if (temp) {
		out->result = AUTH_TEMPERROR;
		snprintf(out->detail, sizeof(out->detail), "a key could not "
		    "be fetched");
		return;
	}
	out->result = AUTH_PASS;
}
