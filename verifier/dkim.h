/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_DKIM_H
#define VERIFIER_DKIM_H
/* dkim - DKIM-Signature verification (RFC 6376, RFC 8301, RFC 8463):
 * tag lists, signatures, key records, body hashes, header signatures. */
#include <stddef.h>
#include <stdint.h>

#include "shared/hdr.h"
#include "verifier/auth.h"
#include "verifier/canon.h"

#define DKIM_TAGS_MAX		64	/* tags in one tag-list */
#define DKIM_H_MAX		128	/* names in h= */
#define DKIM_SIG_B_MAX		1024	/* bytes of a decoded b= (8192-bit RSA) */
#define DKIM_KEY_BITS_MIN	1024	/* RFC 8301 3.2: smaller RSA keys fail */
#define DKIM_KEY_BITS_MAX	8192	/* larger RSA keys are key-syntax */
#define DKIM_FUTURE_SLOP	300	/* seconds t= may lie in the future */
#define DKIM_BODY_CACHE_MAX	8	/* (canon, hash, l=) body hashes per message */
#define DKIM_DETAIL_MAX		160	/* bytes of a result's explanation */
#define DKIM_MEMO_MAX		256	/* keys a thread remembers (slots) */

struct dkim_tag {
	const char *name;
	size_t	nlen;
	const char *val;	/* FWS around it removed; inner FWS kept */
	size_t	vlen;
};

struct dkim_tags {
	struct dkim_tag t[DKIM_TAGS_MAX];
	int	n;
};

/* RFC 6376 3.2 tag-list. Returns 0, or -1 with the reason in err
 * (syntax, duplicate tag, more than DKIM_TAGS_MAX). Pointers refer
 * into s. */
int	dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
	    char *err, size_t errlen);
/* The same with flags, for the other tag-lists of DKIM's syntax (DMARC,
 * RFC 7489 6.4), and at most max (<= DKIM_TAGS_MAX) tags. */
#define DKIM_TAGS_EMPTY		0x1	/* skip empty tag-specs (";;") */
#define DKIM_TAGS_NOCASE	0x2	/* tag names are case-insensitive */
#define DKIM_TAGS_8BIT		0x4	/* values may hold bytes >= 0x80 */
#define DKIM_TAGS_WSP		0x8	/* white space only: no line breaks */
int	dkim_tags_parse_flags(const char *s, size_t len, unsigned flags,
	    int max, struct dkim_tags *out, char *err, size_t errlen);
/* The tag named name, or NULL. */
const struct dkim_tag *dkim_tag_get(const struct dkim_tags *, const char *name);
/* Base64 with FWS ignored. Returns the decoded length, -1 when invalid
 * or longer than outlen. */
long	dkim_b64_decode(const char *s, size_t len, unsigned char *out,
	    size_t outlen);

enum dkim_alg { DKIM_ALG_RSA_SHA256, DKIM_ALG_RSA_SHA1, DKIM_ALG_ED25519_SHA256 };
enum dkim_ktype { DKIM_K_RSA, DKIM_K_ED25519, DKIM_K_OTHER };

struct dkim_name {
	const char *p;
	size_t	n;
};

/* A parsed DKIM-Signature or ARC-Message-Signature (arc = 1: no v=,
 * i= is the instance) or ARC-Seal (arc = 2: no h=, bh=, c=). */
struct dkim_sig {
	int	arc;
	enum dkim_alg alg;
	enum canon hc, bc;
	char	d[256], s[128], a[32], c[32], i[256];
	int	instance;
	int	cv;			/* ARC-Seal: 0 none, 1 pass, 2 fail */
	struct dkim_name h[DKIM_H_MAX];
	int	nh;
	unsigned char b[DKIM_SIG_B_MAX];
	size_t	blen;
	unsigned char bh[64];
	size_t	bhlen;
	int	has_l, has_t, has_x;
	unsigned long long l;
	int64_t	t, x;
};

/* Parse a signature field's value. Returns AUTH_REASON_NONE when it can
 * be verified, else signature-syntax, unsupported-algorithm or
 * from-not-signed with a sentence in why; d, s, a, c are filled as far
 * as they were read. */
enum auth_reason dkim_sig_parse(const char *val, size_t len, int arc,
	    struct dkim_sig *sig, char *why, size_t whylen);

/* A key record (RFC 6376 3.6.1, RFC 8463 4.2). */
struct dkim_key {
	enum auth_reason err;	/* NONE: usable; key-syntax, key-revoked */
	char	why[96];
	enum dkim_ktype k;
	unsigned hashes;	/* 1 sha1, 2 sha256, 4 other; 0: h= absent */
	int	email_ok;	/* s= absent, "*" or has "email" */
	int	testing, strict;	/* t=y, t=s */
	void	*pkey;		/* EVP_PKEY, owned */
	int	bits;
};

/* Parse one TXT record into out (always filled; problems in out->err). */
void	dkim_key_parse(const char *txt, size_t len, struct dkim_key *out);
void	dkim_key_clear(struct dkim_key *);	/* frees pkey */

struct keys;
struct dkim_ctx;

/* Per-thread scratch (canonical bodies, buffers, the body-hash cache). */
struct dkim_ctx *dkim_ctx_new(void);	/* never NULL */
void	dkim_ctx_free(struct dkim_ctx *);	/* NULL is a no-op */
/* A new message: forget the canonical bodies and body hashes. dkim_verify
 * calls it; dkim_check users call it per message. */
void	dkim_ctx_begin(struct dkim_ctx *);
/* What arc_verify calls: dkim_ctx_begin() unless msg (len bytes, header
 * h) is the message dkim_verify was last called with, whose canonical
 * bodies and body hashes are then used again (once). */
void	dkim_ctx_continue(struct dkim_ctx *, const struct hdr *h,
	    const char *msg, size_t len);

/* Verify every DKIM-Signature listed in res->found (set by chain_build)
 * of the message msg (header parsed in h). when: the time the message
 * was received (x= is compared with it); now: the time of the run (t=
 * must not be later). Fills res->sig and res->n. */
void	dkim_verify(struct dkim_ctx *, struct keys *, const struct hdr *h,
	    const char *msg, size_t len, int64_t when, int64_t now,
	    struct dkim_results *res);

/* For arc.c: verify a parsed signature of field `field` (DKIM or AMS:
 * key, body hash, header signature) into r. */
void	dkim_check(struct dkim_ctx *, struct keys *, const struct hdr *h,
	    const char *msg, size_t len, int field, struct dkim_sig *sig,
	    struct dkim_result *r);
/* For arc.c: verify sig->b over data (the canonical header bytes) with
 * the key at sig->s / sig->d into r (key errors, header_sig). */
void	dkim_check_data(struct dkim_ctx *, struct keys *, const char *data,
	    size_t len, const struct dkim_sig *sig, struct dkim_result *r);

const char *dkim_alg_str(enum dkim_alg);
const char *auth_result_str(enum auth_result);	/* RFC 8601 words */
const char *auth_reason_str(enum auth_reason);	/* SPEC 3.3 codes; NULL: none */
const char *auth_key_source_str(enum auth_key_source);	/* NULL: none */

#endif
