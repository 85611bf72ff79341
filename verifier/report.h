#ifndef VERIFIER_REPORT_H
#define VERIFIER_REPORT_H
/* report - one message's results as a JSON line (SPEC 3.3) or text. */
#include <stdio.h>

#include "verifier/chain.h"

struct report_opts {
	FILE	*out;
	int	json;		/* JSON Lines, else text */
	int	color;		/* ANSI colours in text */
};

void	report_message(const struct report_opts *, const char *source,
	    long index, const struct chain *c);
/* A message that could not be read: an object with a finding, verdict
 * fail. */
void	report_unreadable(const struct report_opts *, const char *source,
	    long index, const char *why);
/* JSON string (with quotes) of n bytes: control characters escaped,
 * invalid UTF-8 replaced by U+FFFD. */
void	report_json_str(FILE *out, const char *s, size_t n);

#endif
