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

#endif
