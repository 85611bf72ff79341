#ifndef VERIFIER_AUTH_H
#define VERIFIER_AUTH_H
/* auth - DKIM and ARC results of one message, as chain and report see them.
 *
 * The verification itself (dkim.c, arc.c) fills these; until then each
 * message carries an empty list and ARC "none". Every DKIM-Signature and
 * ARC set is recorded with its place in the header, so the hop that added
 * it can be computed (SPEC 3.2 step 4). */
#include <stddef.h>

#define AUTH_SIGS_MAX		32	/* DKIM-Signature fields verified per message */
#define AUTH_ARC_SETS_MAX	50	/* RFC 8617 5.1.1.1: i= is 1..50 */

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
	int	hop;			/* hop that added it; 0 unknown */
};

struct dkim_results {
	struct dkim_result sig[AUTH_SIGS_MAX];
	int	n;			/* verified results (JSON "dkim") */
	struct auth_pos found[AUTH_SIGS_MAX];	/* every DKIM-Signature seen */
	int	nfound;
};

struct arc_set {
	int	instance;
	struct auth_pos seal, ams, aar;
	enum auth_result result;
};

struct arc_result {
	enum auth_result result;	/* "none" until arc.c exists */
	struct arc_set sets[AUTH_ARC_SETS_MAX];
	int	nsets;			/* verified sets (JSON "sets") */
};

#endif
