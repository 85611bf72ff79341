/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_AUTHRES_H
#define VERIFIER_AUTHRES_H
/* authres - Authentication-Results (RFC 8601) and ARC-Authentication-
 * Results (RFC 8617 4.1.1) values into claims: who says what about which
 * method. No DNS, no judgement of the claims. */
#include <stddef.h>

#include "verifier/auth.h"

/* Past each limit: FIELD, an error; RESULTS and PROPS, counted in
 * truncated / props_truncated; VALUE, an authserv-id is an error and any
 * other value or note is cut and marked (AUTHRES_RF_CUT, prop.cut); WORD
 * (method, result, ptype, property), the part is unparsed. VALUE and
 * WORD count the NUL. */
#define AUTHRES_FIELD_MAX	16384	/* bytes of a value parsed */
#define AUTHRES_RESULTS_MAX	32	/* results kept per field */
#define AUTHRES_PROPS_MAX	16	/* properties kept per result */
#define AUTHRES_VALUE_MAX	256	/* bytes of a value, reason, note */
#define AUTHRES_WORD_MAX	64	/* bytes of a keyword */

/* RFC 8601 2.7 result words. "hardfail", a legacy SPF word, is kept
 * apart from "fail", not mapped; AUTHRES_OTHER is any other keyword
 * (result_word has it). */
enum authres_result {
	AUTHRES_NONE, AUTHRES_PASS, AUTHRES_FAIL, AUTHRES_SOFTFAIL,
	AUTHRES_NEUTRAL, AUTHRES_POLICY, AUTHRES_TEMPERROR, AUTHRES_PERMERROR,
	AUTHRES_HARDFAIL, AUTHRES_OTHER,
};

/* RFC 8601 2.3 ptypes. OTHER: another keyword (ptype_word has it);
 * BARE: a property without ptype, "x-bits=2048", as Fastmail and
 * Microsoft write them. */
enum authres_ptype {
	AUTHRES_PT_SMTP, AUTHRES_PT_HEADER, AUTHRES_PT_BODY, AUTHRES_PT_POLICY,
	AUTHRES_PT_OTHER, AUTHRES_PT_BARE,
};

/* authres.flags: deviations from RFC 8601 whose meaning is still clear. */
#define AUTHRES_F_NO_ID		(1 << 0)	/* results first (Microsoft 365) */
#define AUTHRES_F_EMPTY_PART	(1 << 1)	/* ";;" */
#define AUTHRES_F_TRAILING_SEMI	(1 << 2)	/* ';' with nothing after it */

/* authres_resinfo.flags */
#define AUTHRES_RF_CUT		(1 << 0)	/* a value or the note was cut */
#define AUTHRES_RF_BARE		(1 << 1)	/* a property without ptype */
#define AUTHRES_RF_PTYPE	(1 << 2)	/* a ptype not in RFC 8601 2.3 */
#define AUTHRES_RF_LATE_REASON	(1 << 3)	/* reason= after a property */

struct authres_prop {
	enum authres_ptype ptype;
	char	ptype_word[AUTHRES_WORD_MAX];	/* lower case; "" if bare */
	char	property[AUTHRES_WORD_MAX];	/* lower case */
	char	value[AUTHRES_VALUE_MAX];	/* unquoted, case kept */
	int	cut;				/* value was longer */
};

/* One resinfo: method[/version]=result [reason=value] properties. */
struct authres_resinfo {
	char	method[AUTHRES_WORD_MAX];	/* lower case */
	int	method_version;			/* 0: none written */
	enum authres_result result;
	char	result_word[AUTHRES_WORD_MAX];	/* lower case, as written */
	char	reason[AUTHRES_VALUE_MAX];	/* reason= value; "" none */
	int	has_reason;
	char	note[AUTHRES_VALUE_MAX];	/* first non-empty comment
						 * after the result; "" none */
	struct authres_prop prop[AUTHRES_PROPS_MAX];
	int	nprop;
	int	props_truncated;		/* past AUTHRES_PROPS_MAX */
	int	flags;				/* AUTHRES_RF_* */
};

struct authres {
	int	arc;			/* parsed as an AAR */
	int	instance;		/* AAR i= (1..AUTH_ARC_SETS_MAX); A-R 0 */
	char	authserv_id[AUTHRES_VALUE_MAX];	/* unquoted; "" if NO_ID */
	char	authserv_lc[AUTHRES_VALUE_MAX];	/* lower case, to compare */
	int	version;		/* authres-version: always 1 */
	int	has_version;		/* it was written */
	int	none;			/* "; none": no authentication done */
	struct authres_resinfo *res;	/* owned: authres_free() */
	int	nres;
	int	truncated;		/* results past AUTHRES_RESULTS_MAX */
	int	unparsed;		/* parts skipped: they did not parse */
	char	unparsed_why[160];	/* the first such part and why */
	int	flags;			/* AUTHRES_F_* */
};

/* Parse one unfolded value (len bytes, no NUL needed; arc = 1 for
 * ARC-Authentication-Results). Returns 0, or -1 with the reason in err
 * when the field is to be ignored (no authserv-id, authres-version not 1,
 * longer than AUTHRES_FIELD_MAX, ...). *out is overwritten, never read;
 * the caller frees it with authres_free() after either outcome. */
int	authres_parse(const char *value, size_t len, int arc,
	    struct authres *out, char *err, size_t errlen);
/* Frees out->res and empties *out (the caller's); NULL is a no-op. */
void	authres_free(struct authres *out);

/* The first result of method (any case), or NULL; points into ar. */
const struct authres_resinfo *authres_find(const struct authres *ar,
	    const char *method);
/* The next result after prev with prev's method, or NULL; into ar. */
const struct authres_resinfo *authres_find_next(const struct authres *ar,
	    const struct authres_resinfo *prev);
/* The value of "ptype.property" or of a bare property's name (any case),
 * the first one; NULL if absent. Points into r. */
const char *authres_prop(const struct authres_resinfo *r, const char *name);

const char *authres_result_str(enum authres_result);	/* "pass"; "other" */
const char *authres_ptype_str(enum authres_ptype);	/* "smtp"; "other", "" */

#endif
