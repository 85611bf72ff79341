/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_AUTH_H
#define VERIFIER_AUTH_H
/* auth - DKIM and ARC results of one message, as chain and report see them.
 *
 * dkim.c and arc.c fill these, chain.c ties them to hops. Every
 * DKIM-Signature and ARC set is recorded with its place in the header, so
 * the hop that added it can be computed (SPEC 3.2 step 4). */
#include <stddef.h>
#include <stdint.h>

#define AUTH_SIGS_MAX		32	/* DKIM-Signature fields verified per message */
#define AUTH_ARC_SETS_MAX	50	/* RFC 8617 5.1.1.1: i= is 1..50 */
#define AUTH_AAR_DKIM_MAX	4	/* dkim=pass results kept per AAR */

/* RFC 8601 words */
enum auth_result {
	AUTH_NONE, AUTH_PASS, AUTH_FAIL, AUTH_NEUTRAL, AUTH_POLICY,
	AUTH_TEMPERROR, AUTH_PERMERROR,
};

/* SPEC 3.3 reason codes; AUTH_REASON_NONE is JSON null. */
enum auth_reason {
	AUTH_REASON_NONE, AUTH_REASON_BODY_HASH, AUTH_REASON_SIGNATURE,
	AUTH_REASON_KEY_NOT_FOUND, AUTH_REASON_KEY_REVOKED,
	AUTH_REASON_KEY_SYNTAX, AUTH_REASON_KEY_TOO_SMALL,
	AUTH_REASON_KEY_TYPE, AUTH_REASON_HASH_NOT_ALLOWED,
	AUTH_REASON_EXPIRED, AUTH_REASON_SIG_SYNTAX,
	AUTH_REASON_UNSUPPORTED_ALG, AUTH_REASON_FROM_NOT_SIGNED,
	AUTH_REASON_DNS_ERROR,
};

enum auth_key_source { AUTH_KEY_NONE, AUTH_KEY_DNS, AUTH_KEY_FILE };

/* One half of a signature check: not done (null), pass, fail. */
enum auth_check { AUTH_CHECK_NONE, AUTH_CHECK_PASS, AUTH_CHECK_FAIL };

/* Where a signature sits: field index in the header and how many
 * Received fields are above it (newer than it). */
struct auth_pos {
	int	field;
	int	received_above;
};

struct dkim_result {
	struct auth_pos pos;
	char	d[256], s[128], a[32], c[32];
	enum auth_result result;
	enum auth_reason reason;
	int	key_bits;		/* 0: unknown (JSON null) */
	enum auth_key_source key_source;
	enum auth_check body_hash;	/* bh= against the body */
	enum auth_check header_sig;	/* b= against the header and key */
	int	weak;			/* rsa-sha1 (RFC 8301) */
	int	testing;		/* key t=y */
	int	has_t, has_x;
	int64_t	t, x;			/* t=, x= */
	unsigned long long unsigned_tail;	/* body bytes after l= */
	int	hop_added;		/* added after this hop; -1 unknown */
	int	hop_broken;		/* failing: first hop that could; 0 none */
	int	hop_intact;		/* failing: an ARC set shows it intact
					 * at this hop (0 unknown) */
	int	hop_last;		/* failing: a valid ARC AMS shows the
					 * body unchanged after this hop, so it
					 * broke at or before it (0 unknown) */
	char	detail[160];		/* why, in a sentence; "" none */
	int	finding;		/* its dkim-fail finding; -1 none */
};

struct dkim_results {
	struct dkim_result sig[AUTH_SIGS_MAX];
	int	n;			/* verified results (JSON "dkim") */
	struct auth_pos found[AUTH_SIGS_MAX];	/* every DKIM-Signature seen */
	int	nfound;
	int	nunchecked;		/* more than AUTH_SIGS_MAX: not verified */
};

struct arc_set {
	int	instance;
	struct auth_pos seal, ams, aar;
	enum auth_result result;	/* of this set: AMS and AS both valid */
	char	d[256], s[128];		/* of the AMS */
	char	as_d[256], as_s[128];	/* of the AS */
	enum auth_check ams_valid, as_valid;
	enum auth_reason ams_reason, as_reason;
	int	cv;			/* -1 absent, 0 none, 1 pass, 2 fail */
	int	hop_added;		/* -1 unknown */
	int	hop_broken;		/* AMS fails: first hop that could; 0 none */
	char	detail[160];
	/* What this set's ARC-Authentication-Results claims about DKIM:
	 * d= of up to AUTH_AAR_DKIM_MAX "dkim=pass" results ("" when the
	 * result names no header.d). */
	char	aar_dkim_pass[AUTH_AAR_DKIM_MAX][256];
	int	naar_dkim_pass;
};

struct arc_result {
	enum auth_result result;	/* chain validation status */
	struct arc_set sets[AUTH_ARC_SETS_MAX];
	int	nsets;			/* verified sets (JSON "sets") */
	int	oldest_pass;		/* RFC 8617 5.2: 0 all AMS valid; -1 n/a */
	char	detail[160];		/* why the chain fails; "" none */
};

#endif
