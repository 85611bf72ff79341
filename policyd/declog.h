/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_DECLOG_H
#define POLICYD_DECLOG_H
/* declog - the decision log line of a request (SPEC 2.5). */
#include "policyd/checks.h"
#include "policyd/decide.h"

#define DECLOG_LINE_MAX	4096	/* one decision log line */

/* Log chk's decision d (NULL: none was made), its action word and whether
 * it came from cached results alone. Never fails. */
void	declog_write(const struct check *chk, const struct decision *d,
	    const char *action_word, int cached);

#endif
