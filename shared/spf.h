/* SPDX-License-Identifier: ISC */
#ifndef SHARED_SPF_H
#define SHARED_SPF_H
/* spf - SPF vocabulary, RFC 7208 record validation, libspf2 result mapping.
 *
 * Pure code: no I/O, no libspf2 state. The evaluation itself runs in
 * sandboxed workers (spfpool.h, spfworker.c). */
#include <stddef.h>

#define SPF_RECORD_MAX		2048	/* joined TXT bytes of one SPF record (R1) */
#define SPF_TERM_MAX		255	/* bytes of one term (R3) */
#define SPF_TERM_MACROS_MAX	4	/* % escapes per term (R4) */
#define SPF_RECORD_MACROS_MAX	10	/* macros per record (R4) */
#define SPF_TEXT_MAX		200	/* our explanation / problem text */

enum spf_result {
	SPF_RES_NONE,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
};

enum spf_identity {
	SPF_ID_MAILFROM,
	SPF_ID_HELO,
};

/* RFC 7208 words: "none", "neutral", "pass", "fail", "softfail",
 * "temperror", "permerror". */
const char *spf_result_str(enum spf_result);
const char *spf_identity_str(enum spf_identity);	/* "mailfrom", "helo" */

/* Record validation and rewriting for libspf2 (spf.c). */
/* Marks rewritten /0 terms: the pool answers NAME.SUFFIX lookups with
 * the client address when NAME has any address (spf.c). The suffix is
 * "rt-cidr0-" and 16 random hex digits under .invalid, drawn once per
 * process, so no record, macro or sender can spell it. */
#define SPF_CIDR0_SUFFIX_LEN	33
const char *spf_cidr0_suffix(void);
#define SPF_REWRITE_MAX		(SPF_RECORD_MAX + 512)	/* rewritten record */
#define SPF_LOCAL_MAX		64	/* local-part bytes (R10) */
#define SPF_DOMAIN_MAX		253

/* 1 if txt is an SPF version 1 record ("v=spf1" then SP or end, any case;
 * RFC 7208 4.5), else 0. txt may contain NUL bytes. */
int	spf_record_is_v1(const char *txt, size_t len);
/* Check one SPF record against the RFC 7208 ABNF and the safety rules
 * (R1-R6) and write the form libspf2 gets into out (SPF_REWRITE_MAX):
 * exp= and unknown modifiers dropped, redirect= last (or dropped when the
 * record has "all"), /0 rewritten for a client of `family` (AF_INET or
 * AF_INET6). Returns 0, or -1 with the reason in why (permerror). */
int	spf_record_rewrite(const char *txt, size_t len, int family,
	    char *out, size_t outlen, char *why, size_t whylen);
/* The terms of a record, as spf_record_rewrite() reads them (RFC 7208
 * 4.6.1: terms split at spaces; a term whose name is followed by "=" is a
 * modifier, else a directive: qualifier, mechanism). */
enum spf_term_kind {
	SPF_TERM_ALL, SPF_TERM_INCLUDE, SPF_TERM_A, SPF_TERM_MX, SPF_TERM_PTR,
	SPF_TERM_IP4, SPF_TERM_IP6, SPF_TERM_EXISTS,	/* mechanisms */
	SPF_TERM_REDIRECT, SPF_TERM_EXP,		/* known modifiers */
	SPF_TERM_MODIFIER,	/* any other name=value */
	SPF_TERM_UNKNOWN,	/* no known mechanism: the record is permerror */
};
struct spf_term {
	enum spf_term_kind kind;
	const char *text;	/* the whole term, len bytes */
	size_t	len;
	char	qual;		/* '+', '-', '~', '?' as written, or 0 */
	const char *name;	/* mechanism or modifier name as written */
	size_t	namelen;
	const char *arg;	/* what follows the name: for a mechanism ":..."
				 * or "/..." as written, for a modifier the
				 * value after "=" */
	size_t	arglen;
	const char *dom;	/* include, exists, ptr, a, mx, redirect, exp:
				 * the domain-spec (a and mx without their
				 * cidr lengths), NULL when the term has none */
	size_t	domlen;
};
/* Split the next term of txt[0, len) from *pos on (start with *pos = 0:
 * a leading "v=spf1" is skipped) into t, pointing into txt, and advance
 * *pos. Returns 1, or 0 after the last term. Lexical only: whether the
 * term is valid is spf_record_rewrite()'s question. */
int	spf_term_next(const char *txt, size_t len, size_t *pos,
	    struct spf_term *t);
/* 1 if dom is a usable identity domain (RFC 7208 4.3: <= 253 bytes,
 * labels 1..63, at least two labels, printable ASCII, not a literal,
 * top label not all-numeric), else 0 (the result is then "none"). */
int	spf_domain_ok(const char *dom);
/* 1 if name can be sent to DNS (<= 253 bytes, labels 1..63 bytes, one
 * trailing dot allowed), else 0 (answered "not found" without a query). */
int	spf_name_ok(const char *name);
/* Map libspf2's SPF_result_t and SPF_errcode_t (as ints) to a result:
 * every libspf2 error becomes temperror (DNS) or permerror (the rest). */
enum spf_result spf_result_map(int libspf2_result, int libspf2_errcode);

#endif
