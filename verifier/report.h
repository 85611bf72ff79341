/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_REPORT_H
#define VERIFIER_REPORT_H
/* report - one message's results as a JSON line (SPEC 3.3) or text. */
#include <stdint.h>
#include <stdio.h>

#include "verifier/chain.h"

struct report_opts {
	FILE	*out;
	int	json;		/* JSON Lines, else text */
	int	color;		/* ANSI colours in text */
	int	width;		/* text columns; 0: no limit (not a terminal) */
};

/* Output being built. With out NULL, p grows as needed (xrealloc) and is
 * the caller's to free with report_buf_free(); with out set, p is the
 * caller's buffer of cap bytes, written to out whenever it fills (the
 * caller writes the last len bytes). */
struct report_buf {
	char	*p;
	size_t	len, cap;
	FILE	*out;
};

/* Write the message's report to o->out. */
void	report_message(const struct report_opts *, const char *source,
	    long index, const struct chain *c);
/* Append the message's report to b (o->out is not used). */
void	report_message_buf(const struct report_opts *, struct report_buf *b,
	    const char *source, long index, const struct chain *c);
/* A message that could not be read: an object with a finding, verdict
 * fail. */
void	report_unreadable(const struct report_opts *, const char *source,
	    long index, const char *why);
/* Append the JSON string (with quotes) of n bytes to b: control
 * characters escaped, invalid UTF-8 replaced by U+FFFD. */
void	report_json_str(struct report_buf *b, const char *s, size_t n);
/* v appended to b, which is at column col of a line, wrapped at width
 * columns (0: never) at blanks (an address in brackets kept whole),
 * continuation lines indented by indent; control bytes shown as '?';
 * ends with a newline. */
void	report_wrap(struct report_buf *b, const char *v, int col, int indent,
	    int width);
/* A delay as a reader says it: "17s", "2m 17s", "3h 4m", "3d 4h",
 * "1y 42d" (a zero second unit left out: "2m"), with "-" before a
 * reversed one. Returns buf. */
const char *report_delay_str(int64_t s, char *buf, size_t len);
/* An ARC-Seal cv= as a word: "none", "pass", "fail"; NULL when absent. */
const char *report_cv_str(int cv);
/* The DMARC record that decided (or the unusable one), as published;
 * NULL when there was none. */
const char *report_dmarc_record(const struct chain_dmarc *m);
/* Frees a growing buffer's memory (not one with out set); NULL: no-op. */
void	report_buf_free(struct report_buf *);

#endif
