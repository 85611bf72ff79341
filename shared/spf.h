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
