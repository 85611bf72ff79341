/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	dkim 3
 * SUMMARY
 *	DKIM-Signature verification
 * SYNOPSIS
 *	#include "verifier/dkim.h"
 *
 *	int dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
 *		char *err, size_t errlen);
 *	enum auth_reason dkim_sig_parse(const char *val, size_t len, int arc,
 *		struct dkim_sig *sig, char *why, size_t whylen);
 *	void dkim_key_parse(const char *txt, size_t len,
 *		struct dkim_key *out);
 *	void dkim_ctx_begin(struct dkim_ctx *x);
 *	void dkim_ctx_continue(struct dkim_ctx *x, const struct hdr *h,
 *		const char *msg, size_t len);
 *	void dkim_verify(struct dkim_ctx *x, struct keys *k,
 *		const struct hdr *h, const char *msg, size_t len,
 *		int64_t when, int64_t now, struct dkim_results *res);
 * DESCRIPTION
 *	Every DKIM-Signature of a message is verified on its own, and the
 *	two halves of each are reported separately: the body hash (bh=)
 *	and the header signature (b=). Verification goes on after a
 *	failure, so a signature whose key is too small, whose time has
 *	expired or whose body was changed still says whether the rest
 *	holds.
 *
 *	The result and reason (SPEC 3.3) come from the first problem in
 *	this order: the signature's syntax (signature-syntax,
 *	unsupported-algorithm), From not in h= (from-not-signed), t= in the
 *	future or x= before t= (signature-syntax), x= before the time the
 *	message was received (signature-expired), the body hash (fail
 *	body-hash-mismatch: the body alone proves the signature can never
 *	verify, so it wins over everything about the key), the key lookup
 *	(key-not-found permerror; dns-error temperror; --offline without
 *	the key: temperror key-not-found), the key record (key-revoked,
 *	key-syntax), k= against a= and s= not allowing email
 *	(key-type-mismatch), the key's h= (hash-not-allowed), t=s with an
 *	i= below d= (signature-syntax), an RSA key under 1024 bits
 *	(key-too-small), then the header signature (fail
 *	signature-mismatch). A valid rsa-sha1
 *	signature is "policy" and marked weak (RFC 8301 forbids it).
 *
 *	Keys: RSA as SubjectPublicKeyInfo or RSAPublicKey, Ed25519 as the
 *	raw 32 bytes (RFC 8463). With several TXT records the first that
 *	parses as a key is used.
 *
 *	Body hashes are computed once per message for each (canonicalization,
 *	hash, l=) and canonical bodies once per canonicalization; the
 *	ARC-Message-Signatures of the message use them too (arc_verify
 *	after dkim_verify of the same message: dkim_ctx_continue).
 *
 *	Each thread's dkim_ctx remembers the keys it has looked up
 *	(DKIM_MEMO_MAX slots, by selector and domain) with the OpenSSL
 *	verification contexts made for them (Ed25519 ones only if a probe
 *	at the first Ed25519 signature shows a context can verify again),
 *	and hashes with one reused EVP_MD_CTX, so a signature by a known key
 *	takes no lock and allocates no OpenSSL context.
 * DIAGNOSTICS
 *	Every problem is a result with a reason and a sentence (detail).
 * LIMITS
 *	DKIM_TAGS_MAX tags, DKIM_H_MAX names in h=, DKIM_SIG_B_MAX bytes of
 *	signature, RSA keys of DKIM_KEY_BITS_MIN..DKIM_KEY_BITS_MAX bits.
 *--*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "shared/hdr.h"
#include "shared/mem.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

#define WSP(c)	((c) == ' ' || (c) == '\t')
#define FWSC(c)	(WSP(c) || (c) == '\r' || (c) == '\n')

struct body_hash {
	int	bc;
	int	alg_md;			/* 1 sha1, 2 sha256 */
	unsigned long long limit;	/* ULLONG_MAX: whole body */
	unsigned char md[64];
	unsigned mdlen;
	unsigned long long canon_len;
};

/* A key this thread has looked up (selector, domain), with its entry in
 * the shared cache and the verification contexts made for its key. */
struct kmemo {
	char	*sd;			/* "selector\0domain", NULL: empty */
	size_t	sdlen;
	const struct keys_entry *e;
	EVP_PKEY_CTX *rsa[2];		/* rsa-sha1, rsa-sha256; NULL: not yet */
	EVP_MD_CTX *ed;			/* ed25519-sha256 (when ed_reuse) */
};

struct dkim_ctx {
	struct canon_buf body[2];	/* simple, relaxed */
	int	body_ok[2];
	struct body_hash bh[DKIM_BODY_CACHE_MAX];
	int	nbh;
	/* the message whose body hashes arc_verify may still use */
	const char *mark_msg;
	size_t	mark_len, mark_body;
	struct canon_buf hdata, tmp;
	unsigned char *used;
	int	usedcap;
	EVP_MD_CTX *mdc;		/* for every hash (reset, not remade) */
	unsigned long keys_id;		/* of the keys the memo refers to */
	struct kmemo memo[DKIM_MEMO_MAX];
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t ed_once = PTHREAD_ONCE_INIT;
static int ed_reuse;		/* an Ed25519 EVP_MD_CTX verifies again */

static void
md_init(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
alg_md(enum dkim_alg a)
{
	pthread_once(&md_once, md_init);
	return a == DKIM_ALG_RSA_SHA1 ? md_sha1 : md_sha256;
}

/* ---------------------------------------------------------------- tags */

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void key_err(struct dkim_key *, enum auth_reason, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void detail(struct dkim_result *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out, char *err,
    size_t errlen)
{
	return dkim_tags_parse_flags(s, len, 0, DKIM_TAGS_MAX, out, err,
	    errlen);
}

static int
same_name(const struct dkim_tag *t, const char *name, size_t n,
    unsigned flags)
{
	return t->nlen == n && ((flags & DKIM_TAGS_NOCASE) ?
	    strncasecmp(t->name, name, n) == 0 :
	    memcmp(t->name, name, n) == 0);
}

int
dkim_tags_parse_flags(const char *s, size_t len, unsigned flags, int max,
    struct dkim_tags *out, char *err, size_t errlen)
{
	size_t i = 0, ns, ne, vs, ve;
	int k;

	if (max > DKIM_TAGS_MAX)
		max = DKIM_TAGS_MAX;
	out->n = 0;
	for (;;) {
		/* [FWS] */
		while (i < len && (FWSC(s[i]) && (WSP(s[i]) ||
		    !(flags & DKIM_TAGS_WSP))))
			i++;
		if (i == len)
			return 0;	/* empty list, or after a final ';' */
		if (s[i] == ';' && (flags & DKIM_TAGS_EMPTY)) {
			i++;
			continue;
		}
		ns = i;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z'))) {
			seterr(err, errlen, "tag name expected at byte %zu", i);
			return -1;
		}
		while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '_'))
			i++;
		ne = i;
		while (i < len && FWSC(s[i]))
			i++;
		if (i == len || s[i] != '=') {
			seterr(err, errlen, "tag %.*s: '=' expected",
			    (int)(ne - ns > 32 ? 32 : ne - ns), s + ns);
			return -1;
		}
		i++;
		while (i < len && FWSC(s[i]))
			i++;
		vs = i;
		while (i < len && s[i] != ';') {
			unsigned char c = (unsigned char)s[i];

			if ((c == '\r' || c == '\n') &&
			    !(flags & DKIM_TAGS_WSP)) {
				/* FWS: a line break must be followed by WSP */
				size_t j = i;

				if (c == '\r' && j + 1 < len && s[j + 1] == '\n')
					j++;
				j++;
				if (j < len && !WSP(s[j])) {
					seterr(err, errlen, "tag %.*s: line "
					    "break not followed by white space",
					    (int)(ne - ns > 32 ? 32 : ne - ns),
					    s + ns);
					return -1;
				}
				i = j;
				continue;
			}
			if (!(WSP(c) || (c >= 0x21 && c <= 0x7e) ||
			    (c >= 0x80 && (flags & DKIM_TAGS_8BIT)))) {
				seterr(err, errlen, "tag %.*s: byte 0x%02x not "
				    "allowed in a value", (int)(ne - ns > 32 ?
				    32 : ne - ns), s + ns, c);
				return -1;
			}
			i++;
		}
		ve = i;
		while (ve > vs && FWSC(s[ve - 1]))
			ve--;
		for (k = 0; k < out->n; k++)
			if (same_name(&out->t[k], s + ns, ne - ns, flags)) {
				seterr(err, errlen, "tag %.*s appears twice",
				    (int)(ne - ns > 32 ? 32 : ne - ns), s + ns);
				return -1;
			}
		if (out->n >= max) {
			seterr(err, errlen, "more than %d tags", max);
			return -1;
		}
		out->t[out->n].name = s + ns;
		out->t[out->n].nlen = ne - ns;
		out->t[out->n].val = s + vs;
		out->t[out->n].vlen = ve - vs;
		out->n++;
		if (i == len)
			return 0;
		i++;			/* ';' */
	}
}

const struct dkim_tag *
dkim_tag_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < t->n; i++)
		if (t->t[i].nlen == n && memcmp(t->t[i].name, name, n) == 0)
			return &t->t[i];
	return NULL;
}

long
dkim_b64_decode(const char *s, size_t len, unsigned char *out, size_t outlen)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int q = 0, pad = 0, v;

	/* four digits make three bytes; FWS may come anywhere */
	for (i = 0; i < len; i++) {
		v = hdr_b64digit[(unsigned char)s[i]];
		if (v >= 0) {
			if (pad)
				return -1;
			acc = (acc << 6) | (unsigned long)v;
			if (++q == 4) {
				if (outlen - o < 3)
					return -1;
				out[o++] = (unsigned char)(acc >> 16);
				out[o++] = (unsigned char)(acc >> 8);
				out[o++] = (unsigned char)acc;
				acc = 0;
				q = 0;
			}
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n')
			continue;		/* FWS */
		if (s[i] != '=')
			return -1;
		pad++;
	}
	/* a last group of 2 or 3 digits padded to 4, its spare bits zero */
	if (pad > 2 || (q + pad) % 4 != 0 || (pad && q == 0))
		return -1;
	if (q == 2) {
		if ((acc & 0xf) != 0 || o >= outlen)
			return -1;
		out[o++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		if ((acc & 0x3) != 0 || outlen - o < 2)
			return -1;
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	return (long)o;
}

/* ------------------------------------------------------------ signature */

static int
tag_is(const struct dkim_tag *t, const char *v)
{
	size_t n = strlen(v);

	return t->vlen == n && strncasecmp(t->val, v, n) == 0;
}

static void
copy_val(char *dst, size_t dstlen, const struct dkim_tag *t)
{
	size_t n = t->vlen < dstlen - 1 ? t->vlen : dstlen - 1;
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (!FWSC(t->val[i]))
			dst[o++] = t->val[i];
	dst[o] = '\0';
}

/* A domain name: labels of letters, digits, '-' and '_', no empty label. */
static int
domain_ok(const char *d)
{
	size_t n = strlen(d), i, lab = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (lab == 0 || lab > 63)
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		lab++;
	}
	return lab > 0 && lab <= 63;
}

/* a is b or a subdomain of b. */
static int
under(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na == nb)
		return strcasecmp(a, b) == 0;
	return na > nb && a[na - nb - 1] == '.' &&
	    strcasecmp(a + na - nb, b) == 0;
}

static int
num_tag(const struct dkim_tag *t, int maxdigits, unsigned long long *v)
{
	size_t i;
	unsigned long long r = 0;

	if (t->vlen == 0 || t->vlen > (size_t)maxdigits)
		return -1;
	for (i = 0; i < t->vlen; i++) {
		if (t->val[i] < '0' || t->val[i] > '9')
			return -1;
		r = r * 10 + (unsigned long long)(t->val[i] - '0');
	}
	*v = r;
	return 0;
}

/* Does h= name the field? */
static int
signs(const struct dkim_sig *sig, const char *name)
{
	size_t	n = strlen(name);
	int	i;

	for (i = 0; i < sig->nh; i++)
		if (sig->h[i].n == n && strncasecmp(sig->h[i].p, name, n) == 0)
			return 1;
	return 0;
}

enum auth_reason
dkim_sig_parse(const char *val, size_t len, int arc, struct dkim_sig *sig,
    char *why, size_t whylen)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char err[128];
	long n;
	unsigned long long v;
	static const char *req_dkim[] = { "v", "a", "b", "bh", "d", "h", "s",
	    NULL };
	static const char *req_ams[] = { "i", "a", "b", "bh", "d", "h", "s",
	    NULL };
	static const char *req_as[] = { "i", "a", "b", "d", "s", "cv", NULL };
	const char **req = arc == 0 ? req_dkim : arc == 1 ? req_ams : req_as;
	int i, from = 0;

	memset(sig, 0, offsetof(struct dkim_sig, h));
	sig->arc = arc;
	sig->nh = 0;
	sig->blen = sig->bhlen = 0;
	sig->has_l = sig->has_t = sig->has_x = 0;
	sig->hc = sig->bc = CANON_SIMPLE;
	sig->cv = -1;
	if (dkim_tags_parse(val, len, &tags, err, sizeof(err)) != 0) {
		seterr(why, whylen, "tag list: %s", err);
		return AUTH_REASON_SIG_SYNTAX;
	}
	if ((t = dkim_tag_get(&tags, "d")) != NULL)
		copy_val(sig->d, sizeof(sig->d), t);
	if ((t = dkim_tag_get(&tags, "s")) != NULL)
		copy_val(sig->s, sizeof(sig->s), t);
	if ((t = dkim_tag_get(&tags, "a")) != NULL)
		copy_val(sig->a, sizeof(sig->a), t);
	if (arc != 2) {
		if ((t = dkim_tag_get(&tags, "c")) != NULL)
			copy_val(sig->c, sizeof(sig->c), t);
		else
			snprintf(sig->c, sizeof(sig->c), "simple/simple");
	}
	for (i = 0; req[i]; i++)
		if (dkim_tag_get(&tags, req[i]) == NULL) {
			seterr(why, whylen, "required tag %s= is missing",
			    req[i]);
			return AUTH_REASON_SIG_SYNTAX;
		}
	if (arc == 0 && !tag_is(dkim_tag_get(&tags, "v"), "1")) {
		seterr(why, whylen, "v= is not 1");
		return AUTH_REASON_SIG_SYNTAX;
	}
	if (arc) {
		t = dkim_tag_get(&tags, "i");
		if (num_tag(t, 2, &v) != 0 || v < 1 || v > AUTH_ARC_SETS_MAX) {
			seterr(why, whylen, "i= is not an instance 1..%d",
			    AUTH_ARC_SETS_MAX);
			return AUTH_REASON_SIG_SYNTAX;
		}
		sig->instance = (int)v;
	}
	if (arc == 2) {
		t = dkim_tag_get(&tags, "cv");
		if (tag_is(t, "none"))
			sig->cv = 0;
		else if (tag_is(t, "pass"))
			sig->cv = 1;
		else if (tag_is(t, "fail"))
			sig->cv = 2;
		else {
			seterr(why, whylen, "cv= is not none, pass or fail");
			return AUTH_REASON_SIG_SYNTAX;
		}
		if (dkim_tag_get(&tags, "h") != NULL) {
			seterr(why, whylen, "h= is not allowed in ARC-Seal");
			return AUTH_REASON_SIG_SYNTAX;
		}
	}
	if (!domain_ok(sig->d)) {
		seterr(why, whylen, "d= is not a domain name");
		return AUTH_REASON_SIG_SYNTAX;
	}
	if (!domain_ok(sig->s)) {
		seterr(why, whylen, "s= is not a selector");
		return AUTH_REASON_SIG_SYNTAX;
	}
	t = dkim_tag_get(&tags, "b");
	n = dkim_b64_decode(t->val, t->vlen, sig->b, sizeof(sig->b));
	if (n <= 0) {
		seterr(why, whylen, "b= is not base64 (or empty, or over %d "
		    "bytes)", DKIM_SIG_B_MAX);
		return AUTH_REASON_SIG_SYNTAX;
	}
	sig->blen = (size_t)n;
	if (arc != 2) {
		t = dkim_tag_get(&tags, "bh");
		n = dkim_b64_decode(t->val, t->vlen, sig->bh, sizeof(sig->bh));
		if (n <= 0) {
			seterr(why, whylen, "bh= is not base64 or empty");
			return AUTH_REASON_SIG_SYNTAX;
		}
		sig->bhlen = (size_t)n;
	}
	if ((t = dkim_tag_get(&tags, "l")) != NULL) {
		if (num_tag(t, 76, &v) != 0 || t->vlen > 19) {
			seterr(why, whylen, "l= is not a decimal length");
			return AUTH_REASON_SIG_SYNTAX;
		}
		sig->has_l = 1;
		sig->l = v;
	}
	if ((t = dkim_tag_get(&tags, "t")) != NULL) {
		if (num_tag(t, 12, &v) != 0) {
			seterr(why, whylen, "t= is not a timestamp");
			return AUTH_REASON_SIG_SYNTAX;
		}
		sig->has_t = 1;
		sig->t = (int64_t)v;
	}
	if ((t = dkim_tag_get(&tags, "x")) != NULL && arc != 2) {
		if (num_tag(t, 12, &v) != 0) {
			seterr(why, whylen, "x= is not a timestamp");
			return AUTH_REASON_SIG_SYNTAX;
		}
		sig->has_x = 1;
		sig->x = (int64_t)v;
	}
	if (arc == 0 && (t = dkim_tag_get(&tags, "i")) != NULL) {
		const char *at;

		copy_val(sig->i, sizeof(sig->i), t);
		at = strrchr(sig->i, '@');
		if (at == NULL || !domain_ok(at + 1)) {
			seterr(why, whylen, "i= is not an identity");
			return AUTH_REASON_SIG_SYNTAX;
		}
		if (!under(at + 1, sig->d)) {
			seterr(why, whylen, "i= domain %.80s is not d= or below "
			    "it", at + 1);
			return AUTH_REASON_SIG_SYNTAX;
		}
	}
	if (arc != 2) {
		/* h=: colon-separated names */
		const char *p, *e;
		size_t k;

		t = dkim_tag_get(&tags, "h");
		p = t->val;
		e = t->val + t->vlen;
		while (p <= e) {
			const char *q = memchr(p, ':', (size_t)(e - p));
			const char *ne = q ? q : e, *ns = p;

			while (ns < ne && FWSC(*ns))
				ns++;
			while (ne > ns && FWSC(ne[-1]))
				ne--;
			if (ne == ns) {
				seterr(why, whylen, "h= has an empty name");
				return AUTH_REASON_SIG_SYNTAX;
			}
			for (k = 0; k < (size_t)(ne - ns); k++)
				if ((unsigned char)ns[k] <= 0x20 ||
				    (unsigned char)ns[k] >= 0x7f) {
					seterr(why, whylen, "h= has a bad "
					    "field name");
					return AUTH_REASON_SIG_SYNTAX;
				}
			if (sig->nh >= DKIM_H_MAX) {
				seterr(why, whylen, "more than %d names in h=",
				    DKIM_H_MAX);
				return AUTH_REASON_SIG_SYNTAX;
			}
			sig->h[sig->nh].p = ns;
			sig->h[sig->nh++].n = (size_t)(ne - ns);
			if (ne - ns == 4 && strncasecmp(ns, "from", 4) == 0)
				from = 1;
			if (q == NULL)
				break;
			p = q + 1;
		}
	}
	if ((t = dkim_tag_get(&tags, "q")) != NULL) {
		/* a colon list that must hold dns/txt */
		if (!(t->vlen >= 7 && strncasecmp(t->val, "dns/txt", 7) == 0 &&
		    (t->vlen == 7 || t->val[7] == ':'))) {
			seterr(why, whylen, "q= does not offer dns/txt");
			return AUTH_REASON_UNSUPPORTED_ALG;
		}
	}
	t = dkim_tag_get(&tags, "a");
	if (tag_is(t, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (tag_is(t, "rsa-sha1") && arc == 0)
		sig->alg = DKIM_ALG_RSA_SHA1;
	else if (tag_is(t, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else {
		seterr(why, whylen, "a=%.40s is not supported", sig->a);
		return AUTH_REASON_UNSUPPORTED_ALG;
	}
	if (arc != 2) {
		const char *c = sig->c, *sl = strchr(c, '/');
		size_t hl = sl ? (size_t)(sl - c) : strlen(c);
		const char *bs = sl ? sl + 1 : "simple";

		if (hl == 6 && strncasecmp(c, "simple", 6) == 0)
			sig->hc = CANON_SIMPLE;
		else if (hl == 7 && strncasecmp(c, "relaxed", 7) == 0)
			sig->hc = CANON_RELAXED;
		else
			goto badc;
		if (strcasecmp(bs, "simple") == 0)
			sig->bc = CANON_SIMPLE;
		else if (strcasecmp(bs, "relaxed") == 0)
			sig->bc = CANON_RELAXED;
		else
			goto badc;
		if (sl == NULL)
			snprintf(sig->c, sizeof(sig->c), "%s/simple",
			    canon_str(sig->hc));
	}
	if (sig->alg == DKIM_ALG_ED25519_SHA256 && sig->blen != 64) {
		seterr(why, whylen, "an Ed25519 signature has 64 bytes, not "
		    "%zu", sig->blen);
		return AUTH_REASON_SIG_SYNTAX;
	}
	if (arc != 2 && sig->bhlen != (sig->alg == DKIM_ALG_RSA_SHA1 ?
	    20u : 32u)) {
		seterr(why, whylen, "bh= has %zu bytes, not a %s hash",
		    sig->bhlen, sig->alg == DKIM_ALG_RSA_SHA1 ? "SHA-1" :
		    "SHA-256");
		return AUTH_REASON_SIG_SYNTAX;
	}
	if (arc == 0 && !from) {
		seterr(why, whylen, "From is not in h=");
		return AUTH_REASON_FROM_NOT_SIGNED;
	}
	if (arc == 1 && signs(sig, "ARC-Seal")) {
		/* RFC 8617 4.1.2: an AMS must not sign ARC-Seal fields
		 * (the seal covers the AMS, not the other way round). */
		seterr(why, whylen, "h= signs ARC-Seal, which an "
		    "ARC-Message-Signature must not (RFC 8617 4.1.2)");
		return AUTH_REASON_SIG_SYNTAX;
	}
	return AUTH_REASON_NONE;
badc:
	seterr(why, whylen, "c=%.40s is not a known canonicalization", sig->c);
	return AUTH_REASON_UNSUPPORTED_ALG;
}

/* ------------------------------------------------------------------ key */

void
dkim_key_clear(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

static void
key_err(struct dkim_key *k, enum auth_reason r, const char *fmt, ...)
{
	va_list ap;

	k->err = r;
	va_start(ap, fmt);
	vsnprintf(k->why, sizeof(k->why), fmt, ap);
	va_end(ap);
}

/* One DER tag-length at *p; returns the content length or -1. */
static long
der_hdr(const unsigned char **p, const unsigned char *e, int tag)
{
	const unsigned char *q = *p;
	size_t n = 0;
	int k;

	if (e - q < 2 || *q++ != tag)
		return -1;
	if (*q < 0x80)
		n = *q++;
	else {
		k = *q++ & 0x7f;
		if (k == 0 || k > 3 || e - q < k)
			return -1;
		while (k--)
			n = (n << 8) | *q++;
	}
	if ((size_t)(e - q) < n)
		return -1;
	*p = q;
	return (long)n;
}

/* The RSAPublicKey inside an rsaEncryption SubjectPublicKeyInfo, found
 * by hand: OpenSSL 3's generic d2i_PUBKEY goes through the decoder
 * framework, about a hundred times slower than reading the key itself. */
static int
spki_rsa(const unsigned char *der, long n, const unsigned char **in,
    long *inlen)
{
	static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
	    0x0d, 0x01, 0x01, 0x01 };
	const unsigned char *p = der, *e = der + n, *ae;
	long l;

	if ((l = der_hdr(&p, e, 0x30)) < 0 || p + l != e)
		return -1;
	if ((l = der_hdr(&p, e, 0x30)) < 0)
		return -1;
	ae = p + l;
	if ((l = der_hdr(&p, ae, 0x06)) != (long)sizeof(rsa_oid) ||
	    memcmp(p, rsa_oid, sizeof(rsa_oid)) != 0)
		return -1;
	p = ae;
	if ((l = der_hdr(&p, e, 0x03)) < 1 || p + l != e || *p != 0)
		return -1;
	*in = p + 1;
	*inlen = l - 1;
	return 0;
}

/* The next item of a colon-separated key tag value (h=, s=, t=), FWS
 * trimmed; 0 when the value is used up (an empty value has no item). */
static int
key_list_item(const char **p, const char *e, const char **item, size_t *n)
{
	const char *q, *ne;

	if (*p >= e)
		return 0;
	q = memchr(*p, ':', (size_t)(e - *p));
	ne = q ? q : e;
	*item = *p;
	while (*item < ne && FWSC(**item))
		(*item)++;
	while (ne > *item && FWSC(ne[-1]))
		ne--;
	*n = (size_t)(ne - *item);
	*p = q ? q + 1 : e;
	return 1;
}

void
dkim_key_parse(const char *txt, size_t len, struct dkim_key *k)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	char err[128];
	unsigned char *der;
	const unsigned char *dp;
	long n;

	memset(k, 0, sizeof(*k));
	k->k = DKIM_K_RSA;
	k->email_ok = 1;
	if (dkim_tags_parse(txt, len, &tags, err, sizeof(err)) != 0) {
		key_err(k, AUTH_REASON_KEY_SYNTAX, "key record: %s", err);
		return;
	}
	if ((t = dkim_tag_get(&tags, "v")) != NULL) {
		if (tags.t[0].val != t->val || !(t->vlen == 5 &&
		    memcmp(t->val, "DKIM1", 5) == 0)) {
			key_err(k, AUTH_REASON_KEY_SYNTAX, "v= must come first "
			    "and be DKIM1");
			return;
		}
	}
	if ((t = dkim_tag_get(&tags, "k")) != NULL) {
		if (tag_is(t, "rsa"))
			k->k = DKIM_K_RSA;
		else if (tag_is(t, "ed25519"))
			k->k = DKIM_K_ED25519;
		else
			k->k = DKIM_K_OTHER;
	}
	if ((t = dkim_tag_get(&tags, "h")) != NULL) {
		const char *p = t->val, *e = t->val + t->vlen, *ns;
		size_t	ilen;

		while (key_list_item(&p, e, &ns, &ilen)) {
			if (ilen == 4 && strncasecmp(ns, "sha1", 4) == 0)
				k->hashes |= 1;
			else if (ilen == 6 && strncasecmp(ns, "sha256",
			    6) == 0)
				k->hashes |= 2;
			else
				k->hashes |= 4;
		}
	}
	if ((t = dkim_tag_get(&tags, "s")) != NULL) {
		const char *p = t->val, *e = t->val + t->vlen, *ns;
		size_t	ilen;

		k->email_ok = 0;
		while (key_list_item(&p, e, &ns, &ilen)) {
			if ((ilen == 1 && *ns == '*') || (ilen == 5 &&
			    strncasecmp(ns, "email", 5) == 0))
				k->email_ok = 1;
		}
	}
	if ((t = dkim_tag_get(&tags, "t")) != NULL) {
		const char *p = t->val, *e = t->val + t->vlen, *ns;
		size_t	ilen;

		while (key_list_item(&p, e, &ns, &ilen)) {
			if (ilen == 1 && (*ns == 'y' || *ns == 'Y'))
				k->testing = 1;
			if (ilen == 1 && (*ns == 's' || *ns == 'S'))
				k->strict = 1;
		}
	}
	if ((t = dkim_tag_get(&tags, "p")) == NULL) {
		key_err(k, AUTH_REASON_KEY_SYNTAX, "no p= in the key record");
		return;
	}
	if (t->vlen == 0) {
		key_err(k, AUTH_REASON_KEY_REVOKED, "p= is empty: the key was "
		    "revoked");
		return;
	}
	der = xmalloc(t->vlen);
	n = dkim_b64_decode(t->val, t->vlen, der, t->vlen);
	if (n <= 0) {
		free(der);
		key_err(k, AUTH_REASON_KEY_SYNTAX, "p= is not base64");
		return;
	}
	if (k->k == DKIM_K_ED25519) {
		if (n != 32)
			key_err(k, AUTH_REASON_KEY_SYNTAX, "an Ed25519 key has "
			    "32 bytes, not %ld", n);
		else if ((k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, der, 32)) == NULL)
			key_err(k, AUTH_REASON_KEY_SYNTAX, "not an Ed25519 key");
		k->bits = 256;
	} else if (k->k == DKIM_K_RSA) {
		const unsigned char *in = der;
		long inlen = n;

		/* SubjectPublicKeyInfo (what everyone publishes) or a bare
		 * RSAPublicKey (what RFC 6376 3.6.1 literally says) */
		(void)spki_rsa(der, n, &in, &inlen);
		dp = in;
		k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, inlen);
		if (k->pkey != NULL && dp != in + inlen) {
			EVP_PKEY_free(k->pkey);
			k->pkey = NULL;
		}
		if (k->pkey == NULL || EVP_PKEY_get_base_id(k->pkey) !=
		    EVP_PKEY_RSA) {
			EVP_PKEY_free(k->pkey);
			k->pkey = NULL;
			key_err(k, AUTH_REASON_KEY_SYNTAX, "p= is not an RSA "
			    "public key");
		} else {
			k->bits = EVP_PKEY_get_bits(k->pkey);
			if (k->bits > DKIM_KEY_BITS_MAX) {
				EVP_PKEY_free(k->pkey);
				k->pkey = NULL;
				key_err(k, AUTH_REASON_KEY_SYNTAX, "RSA key of "
				    "%d bits (limit %d)", k->bits,
				    DKIM_KEY_BITS_MAX);
			}
		}
	}
	/* k= other: kept as syntactically fine; a= cannot match it. */
	free(der);
}

/* ---------------------------------------------------------- verification */

struct dkim_ctx *
dkim_ctx_new(void)
{
	return xcalloc(1, sizeof(struct dkim_ctx));
}

void
dkim_ctx_begin(struct dkim_ctx *x)
{
	x->body_ok[0] = x->body_ok[1] = 0;
	x->nbh = 0;
	x->mark_msg = NULL;
}

void
dkim_ctx_continue(struct dkim_ctx *x, const struct hdr *h, const char *msg,
    size_t len)
{
	if (x->mark_msg == NULL || x->mark_msg != msg || x->mark_len != len ||
	    x->mark_body != h->body_off)
		dkim_ctx_begin(x);
	x->mark_msg = NULL;
}

static void
memo_clear(struct kmemo *m)
{
	EVP_PKEY_CTX_free(m->rsa[0]);
	EVP_PKEY_CTX_free(m->rsa[1]);
	EVP_MD_CTX_free(m->ed);
	free(m->sd);
	memset(m, 0, sizeof(*m));
}

/* The cache entry of selector s, domain d: from this thread's memo, else
 * from the shared cache (then remembered, in place of the key that had
 * its slot). */
static struct kmemo *
memo_get(struct dkim_ctx *x, struct keys *keys, const char *s, const char *d)
{
	size_t sl = strlen(s), dl = strlen(d), i;
	unsigned h = 2166136261u;
	struct kmemo *m;

	if (x->keys_id != keys_id(keys)) {
		for (i = 0; i < DKIM_MEMO_MAX; i++)
			memo_clear(&x->memo[i]);
		x->keys_id = keys_id(keys);
	}
	for (i = 0; i < sl; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	h *= 16777619u;			/* the NUL between them */
	for (i = 0; i < dl; i++)
		h = (h ^ (unsigned char)d[i]) * 16777619u;
	m = &x->memo[h % DKIM_MEMO_MAX];
	if (m->sd != NULL && m->sdlen == sl + 1 + dl &&
	    memcmp(m->sd, s, sl + 1) == 0 && memcmp(m->sd + sl + 1, d, dl) == 0)
		return m;
	memo_clear(m);
	m->e = keys_get(keys, s, d);
	m->sdlen = sl + 1 + dl;
	m->sd = xmalloc(m->sdlen + 1);
	memcpy(m->sd, s, sl + 1);
	memcpy(m->sd + sl + 1, d, dl + 1);
	return m;
}

void
dkim_ctx_free(struct dkim_ctx *x)
{
	int i;

	if (x == NULL)
		return;
	for (i = 0; i < DKIM_MEMO_MAX; i++)
		memo_clear(&x->memo[i]);
	EVP_MD_CTX_free(x->mdc);
	canon_buf_free(&x->body[0]);
	canon_buf_free(&x->body[1]);
	canon_buf_free(&x->hdata);
	canon_buf_free(&x->tmp);
	free(x->used);
	free(x);
}

static void
detail(struct dkim_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->detail[0])
		return;			/* the first problem explains */
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void
set_res(struct dkim_result *r, enum auth_result res, enum auth_reason why)
{
	if (r->reason != AUTH_REASON_NONE || r->result == AUTH_TEMPERROR)
		return;			/* the first problem wins */
	r->result = res;
	r->reason = why;
}

static int digest(struct dkim_ctx *, const EVP_MD *, const void *, size_t,
    unsigned char *, unsigned *);

static const struct body_hash *
body_hash(struct dkim_ctx *x, const char *body, size_t blen,
    const struct dkim_sig *sig)
{
	int i, mdk = sig->alg == DKIM_ALG_RSA_SHA1 ? 1 : 2;
	unsigned long long lim = sig->has_l ? sig->l : ~0ull;
	struct body_hash *e;
	struct canon_buf *cb = &x->body[sig->bc];
	size_t n;

	for (i = 0; i < x->nbh; i++)
		if (x->bh[i].bc == (int)sig->bc && x->bh[i].alg_md == mdk &&
		    x->bh[i].limit == lim)
			return &x->bh[i];
	if (!x->body_ok[sig->bc]) {
		canon_body(sig->bc, body, blen, cb);
		x->body_ok[sig->bc] = 1;
	}
	e = &x->bh[x->nbh < DKIM_BODY_CACHE_MAX ? x->nbh++ :
	    DKIM_BODY_CACHE_MAX - 1];
	e->bc = (int)sig->bc;
	e->alg_md = mdk;
	e->limit = lim;
	e->canon_len = cb->len;
	n = lim < cb->len ? (size_t)lim : cb->len;
	if (digest(x, alg_md(sig->alg), cb->p, n, e->md, &e->mdlen) != 1)
		e->mdlen = 0;			/* matches no bh= */
	return e;
}

/* Select the h= fields bottom-up (RFC 6376 5.4.2), canonicalize them and
 * the signature field without its b= value into x->hdata. */
static void
header_data(struct dkim_ctx *x, const struct hdr *h, int field,
    const struct dkim_sig *sig)
{
	int i, j;

	if (x->usedcap < h->nf) {
		x->usedcap = h->nf + 64;
		x->used = xrealloc(x->used, (size_t)x->usedcap);
	}
	memset(x->used, 0, (size_t)h->nf);
	x->used[field] = 1;
	x->hdata.len = 0;
	for (i = 0; i < sig->nh; i++) {
		for (j = h->nf - 1; j >= 0; j--) {
			const struct hdr_field *f = &h->f[j];

			if (x->used[j] || f->namelen != sig->h[i].n ||
			    strncasecmp(f->name, sig->h[i].p, f->namelen) != 0)
				continue;
			x->used[j] = 1;
			canon_header(sig->hc, f->raw, f->rawlen, &x->hdata);
			break;
		}
	}
	canon_strip_b(h->f[field].raw, h->f[field].rawlen, &x->tmp);
	canon_header(sig->hc, x->tmp.p, x->tmp.len, &x->hdata);
	x->hdata.len -= 2;		/* no CRLF after the signature field */
}

/* Does an Ed25519 EVP_MD_CTX verify again after EVP_DigestVerify()? It
 * does in OpenSSL 3.0 (the one-shot call keeps no state), but that is not
 * documented, so a key of our own is asked once: a good signature, a bad
 * one, the good one again, on one context. */
static void
ed_probe(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
	static const unsigned char msg[] = "relaytrust: may a context verify "
	    "twice?";
	unsigned char sig[64];
	size_t slen = sizeof(sig);

	if (k != NULL && s != NULL && v != NULL &&
	    EVP_DigestSignInit(s, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(s, sig, &slen, msg, sizeof(msg)) == 1 &&
	    slen == sizeof(sig) &&
	    EVP_DigestVerifyInit(v, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(v, sig, slen, msg, sizeof(msg)) == 1) {
		sig[7] ^= 0x10;
		if (EVP_DigestVerify(v, sig, slen, msg, sizeof(msg)) != 1) {
			sig[7] ^= 0x10;
			ed_reuse = EVP_DigestVerify(v, sig, slen, msg,
			    sizeof(msg)) == 1;
		}
	}
	ERR_clear_error();
	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(v);
	EVP_PKEY_free(k);
}

/* A one-shot hash with the thread's context, re-initialised in place (no
 * allocation, no reference counting on the shared EVP_MD). */
static int
digest(struct dkim_ctx *x, const EVP_MD *md, const void *data, size_t len,
    unsigned char *out, unsigned *outlen)
{
	if (x->mdc == NULL && (x->mdc = EVP_MD_CTX_new()) == NULL)
		return 0;
	return EVP_DigestInit_ex(x->mdc, md, NULL) == 1 &&
	    EVP_DigestUpdate(x->mdc, data, len) == 1 &&
	    EVP_DigestFinal_ex(x->mdc, out, outlen) == 1;
}

/* The contexts made for a key the first time are used again: an
 * initialised RSA EVP_PKEY_CTX may verify any number of times with the
 * same parameters, an Ed25519 EVP_MD_CTX when ed_probe() says so. That
 * saves OpenSSL 3's provider fetches, and their locks, per signature. */
static int
crypto_verify(struct dkim_ctx *x, struct kmemo *m, const struct dkim_key *k,
    enum dkim_alg alg, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	int ok = 0;

	if (digest(x, alg_md(alg), data, len, md, &mdlen) != 1)
		return 0;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *mc;

		pthread_once(&ed_once, ed_probe);
		if (ed_reuse) {
			if (m->ed == NULL && (m->ed = EVP_MD_CTX_new()) !=
			    NULL && EVP_DigestVerifyInit(m->ed, NULL, NULL,
			    NULL, k->pkey) != 1) {
				EVP_MD_CTX_free(m->ed);
				m->ed = NULL;
			}
			return m->ed != NULL && EVP_DigestVerify(m->ed, sig,
			    siglen, md, mdlen) == 1;
		}
		mc = EVP_MD_CTX_new();
		if (mc != NULL && EVP_DigestVerifyInit(mc, NULL, NULL, NULL,
		    k->pkey) == 1)
			ok = EVP_DigestVerify(mc, sig, siglen, md, mdlen) == 1;
		EVP_MD_CTX_free(mc);
	} else {
		EVP_PKEY_CTX **c = &m->rsa[alg == DKIM_ALG_RSA_SHA1 ? 0 : 1];

		if (*c == NULL && (*c = EVP_PKEY_CTX_new(k->pkey, NULL)) !=
		    NULL && (EVP_PKEY_verify_init(*c) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(*c, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(*c, alg_md(alg)) != 1)) {
			EVP_PKEY_CTX_free(*c);
			*c = NULL;
		}
		if (*c != NULL)
			ok = EVP_PKEY_verify(*c, sig, siglen, md, mdlen) == 1;
	}
	return ok;
}

/* Look the key up and check it against the signature; returns the key to
 * verify with (its memo in *mp) or NULL. Problems are set in r. */
static const struct dkim_key *
get_key(struct dkim_ctx *x, struct keys *keys, const struct dkim_sig *sig,
    struct dkim_result *r, struct kmemo **mp)
{
	struct kmemo *m = memo_get(x, keys, sig->s, sig->d);
	const struct keys_entry *e = m->e;
	const struct dkim_key *k = NULL;
	int i;
	enum dkim_ktype want = sig->alg == DKIM_ALG_ED25519_SHA256 ?
	    DKIM_K_ED25519 : DKIM_K_RSA;

	r->key_source = e->status == KEYS_OFFLINE ? AUTH_KEY_NONE : e->source;
	switch (e->status) {
	case KEYS_NOTFOUND:
		set_res(r, AUTH_PERMERROR, AUTH_REASON_KEY_NOT_FOUND);
		detail(r, "no key at %.60s._domainkey.%.100s (%s)", sig->s,
		    sig->d, e->why);
		return NULL;
	case KEYS_TEMPFAIL:
		set_res(r, AUTH_TEMPERROR, AUTH_REASON_DNS_ERROR);
		detail(r, "key lookup failed: %s", e->why);
		return NULL;
	case KEYS_OFFLINE:
		set_res(r, AUTH_TEMPERROR, AUTH_REASON_KEY_NOT_FOUND);
		detail(r, "offline and %.60s._domainkey.%.100s is not in "
		    "--keys", sig->s, sig->d);
		return NULL;
	case KEYS_FOUND:
		break;
	}
	for (i = 0; i < e->nkeys; i++)
		if (e->key[i].err == AUTH_REASON_NONE) {
			k = &e->key[i];
			break;
		}
	if (k == NULL) {
		set_res(r, AUTH_PERMERROR, e->key[0].err);
		detail(r, "%s", e->key[0].why);
		return NULL;
	}
	r->key_bits = k->bits;
	r->testing = k->testing;
	if (k->k != want) {
		set_res(r, AUTH_PERMERROR, AUTH_REASON_KEY_TYPE);
		detail(r, "the key is not of the type a=%s needs", sig->a);
		return NULL;
	}
	if (!k->email_ok) {
		set_res(r, AUTH_PERMERROR, AUTH_REASON_KEY_TYPE);
		detail(r, "the key's s= does not allow email");
		return NULL;
	}
	if (k->hashes && !(k->hashes & (sig->alg == DKIM_ALG_RSA_SHA1 ?
	    1u : 2u))) {
		set_res(r, AUTH_PERMERROR, AUTH_REASON_HASH_NOT_ALLOWED);
		detail(r, "the key's h= does not allow %s",
		    sig->alg == DKIM_ALG_RSA_SHA1 ? "sha1" : "sha256");
		/* go on: the signature can still be checked */
	}
	if (k->strict && sig->i[0]) {
		const char *at = strrchr(sig->i, '@');

		if (at && strcasecmp(at + 1, sig->d) != 0) {
			set_res(r, AUTH_PERMERROR, AUTH_REASON_SIG_SYNTAX);
			detail(r, "the key has t=s but i= is below d=");
		}
	}
	if (k->k == DKIM_K_RSA && k->bits < DKIM_KEY_BITS_MIN) {
		set_res(r, AUTH_PERMERROR, AUTH_REASON_KEY_TOO_SMALL);
		detail(r, "RSA key of %d bits (RFC 8301: at least %d)",
		    k->bits, DKIM_KEY_BITS_MIN);
	}
	*mp = m;
	return k;
}

void
dkim_check_data(struct dkim_ctx *x, struct keys *keys, const char *data,
    size_t len, const struct dkim_sig *sig, struct dkim_result *r)
{
	struct kmemo *m = NULL;
	const struct dkim_key *k = get_key(x, keys, sig, r, &m);

	if (k == NULL)
		return;
	if (crypto_verify(x, m, k, sig->alg, (const unsigned char *)data, len,
	    sig->b, sig->blen))
		r->header_sig = AUTH_CHECK_PASS;
	else {
		r->header_sig = AUTH_CHECK_FAIL;
		set_res(r, AUTH_FAIL, AUTH_REASON_SIGNATURE);
		detail(r, "the signature does not verify with the key");
	}
}

void
dkim_check(struct dkim_ctx *x, struct keys *keys, const struct hdr *h,
    const char *msg, size_t len, int field, struct dkim_sig *sig,
    struct dkim_result *r)
{
	const struct body_hash *bh;
	const struct dkim_key *k;
	struct kmemo *m = NULL;
	const char *body = msg + h->body_off;
	size_t blen = h->body_off <= len ? len - h->body_off : 0;

	/* The body hash first: a mismatch proves the signature can never
	 * verify, whatever the key lookup says (RFC 6376 6.1.3). */
	bh = body_hash(x, body, blen, sig);
	if (bh->mdlen == sig->bhlen && memcmp(bh->md, sig->bh,
	    sig->bhlen) == 0)
		r->body_hash = AUTH_CHECK_PASS;
	else
		r->body_hash = AUTH_CHECK_FAIL;
	if (sig->has_l && bh->canon_len > sig->l)
		r->unsigned_tail = bh->canon_len - sig->l;
	if (r->body_hash == AUTH_CHECK_FAIL) {
		set_res(r, AUTH_FAIL, AUTH_REASON_BODY_HASH);
		if (sig->has_l && sig->l > bh->canon_len)
			detail(r, "body hash mismatch: l=%llu is longer than "
			    "the body (%llu bytes)", sig->l, bh->canon_len);
		else
			detail(r, "body hash mismatch: the body was changed "
			    "after signing");
	}
	k = get_key(x, keys, sig, r, &m);
	if (k != NULL) {
		header_data(x, h, field, sig);
		if (crypto_verify(x, m, k, sig->alg,
		    (const unsigned char *)x->hdata.p, x->hdata.len, sig->b,
		    sig->blen))
			r->header_sig = AUTH_CHECK_PASS;
		else
			r->header_sig = AUTH_CHECK_FAIL;
	}
	if (r->header_sig == AUTH_CHECK_FAIL) {
		set_res(r, AUTH_FAIL, AUTH_REASON_SIGNATURE);
		detail(r, "the header signature does not verify: a signed "
		    "field was changed, added or removed");
	}
	if (r->result == AUTH_NONE && r->reason == AUTH_REASON_NONE &&
	    r->header_sig == AUTH_CHECK_PASS) {
		if (sig->alg == DKIM_ALG_RSA_SHA1 && !sig->arc) {
			r->result = AUTH_POLICY;
			detail(r, "valid, but rsa-sha1 is not acceptable "
			    "(RFC 8301)");
		} else
			r->result = AUTH_PASS;
	}
}

/* snprintf(dst, len, "%s", src) without the formatting machinery. */
static void
scopy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
result_init(struct dkim_result *r, struct auth_pos pos)
{
	memset(r, 0, offsetof(struct dkim_result, detail));
	r->pos = pos;
	r->detail[0] = '\0';
	r->hop_added = -1;
	r->result = AUTH_NONE;
	r->reason = AUTH_REASON_NONE;
}

void
dkim_verify(struct dkim_ctx *x, struct keys *keys, const struct hdr *h,
    const char *msg, size_t len, int64_t when, int64_t now,
    struct dkim_results *res)
{
	static _Thread_local struct dkim_sig sig;
	int n;
	char why[DKIM_DETAIL_MAX];
	enum auth_reason pr;

	dkim_ctx_begin(x);
	x->mark_msg = msg;		/* arc_verify may use the body hashes */
	x->mark_len = len;
	x->mark_body = h->body_off;
	res->n = 0;
	for (n = 0; n < res->nfound; n++) {
		struct dkim_result *r = &res->sig[res->n++];
		const struct hdr_field *f = &h->f[res->found[n].field];

		result_init(r, res->found[n]);
		why[0] = '\0';
		pr = dkim_sig_parse(f->val, f->vallen, 0, &sig, why,
		    sizeof(why));
		scopy(r->d, sizeof(r->d), sig.d);
		scopy(r->s, sizeof(r->s), sig.s);
		scopy(r->a, sizeof(r->a), sig.a);
		scopy(r->c, sizeof(r->c), sig.c);
		r->has_t = sig.has_t;
		r->t = sig.t;
		r->has_x = sig.has_x;
		r->x = sig.x;
		if (pr == AUTH_REASON_SIG_SYNTAX ||
		    pr == AUTH_REASON_UNSUPPORTED_ALG) {
			set_res(r, AUTH_PERMERROR, pr);
			detail(r, "%s", why);
			continue;
		}
		r->weak = sig.alg == DKIM_ALG_RSA_SHA1;
		if (pr == AUTH_REASON_FROM_NOT_SIGNED) {
			set_res(r, AUTH_PERMERROR, pr);
			detail(r, "%s", why);
		}
		if (sig.has_t && sig.t > now + DKIM_FUTURE_SLOP) {
			set_res(r, AUTH_PERMERROR, AUTH_REASON_SIG_SYNTAX);
			detail(r, "t=%lld is in the future", (long long)sig.t);
		}
		if (sig.has_t && sig.has_x && sig.x < sig.t) {
			set_res(r, AUTH_PERMERROR, AUTH_REASON_SIG_SYNTAX);
			detail(r, "x= is before t=");
		}
		if (sig.has_x && sig.x < when) {
			set_res(r, AUTH_PERMERROR, AUTH_REASON_EXPIRED);
			detail(r, "x=%lld: expired %lld s before the message "
			    "was received", (long long)sig.x,
			    (long long)(when - sig.x));
		}
		dkim_check(x, keys, h, msg, len, res->found[n].field, &sig, r);
		if (r->result == AUTH_NONE)
			r->result = AUTH_PERMERROR;	/* not reached */
	}
}

/* ---------------------------------------------------------------- words */

const char *
dkim_alg_str(enum dkim_alg a)
{
	switch (a) {
	case DKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA256:
		break;
	}
	return "rsa-sha256";
}

const char *
auth_result_str(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:
		return "pass";
	case AUTH_FAIL:
		return "fail";
	case AUTH_NEUTRAL:
		return "neutral";
	case AUTH_POLICY:
		return "policy";
	case AUTH_TEMPERROR:
		return "temperror";
	case AUTH_PERMERROR:
		return "permerror";
	case AUTH_NONE:
		break;
	}
	return "none";
}

const char *
auth_reason_str(enum auth_reason r)
{
	switch (r) {
	case AUTH_REASON_BODY_HASH:
		return "body-hash-mismatch";
	case AUTH_REASON_SIGNATURE:
		return "signature-mismatch";
	case AUTH_REASON_KEY_NOT_FOUND:
		return "key-not-found";
	case AUTH_REASON_KEY_REVOKED:
		return "key-revoked";
	case AUTH_REASON_KEY_SYNTAX:
		return "key-syntax";
	case AUTH_REASON_KEY_TOO_SMALL:
		return "key-too-small";
	case AUTH_REASON_KEY_TYPE:
		return "key-type-mismatch";
	case AUTH_REASON_HASH_NOT_ALLOWED:
		return "hash-not-allowed";
	case AUTH_REASON_EXPIRED:
		return "signature-expired";
	case AUTH_REASON_SIG_SYNTAX:
		return "signature-syntax";
	case AUTH_REASON_UNSUPPORTED_ALG:
		return "unsupported-algorithm";
	case AUTH_REASON_FROM_NOT_SIGNED:
		return "from-not-signed";
	case AUTH_REASON_DNS_ERROR:
		return "dns-error";
	case AUTH_REASON_NONE:
		break;
	}
	return NULL;
}

const char *
auth_key_source_str(enum auth_key_source s)
{
	switch (s) {
	case AUTH_KEY_DNS:
		return "dns";
	case AUTH_KEY_FILE:
		return "file";
	case AUTH_KEY_NONE:
		break;
	}
	return NULL;
}
