/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_HTML_H
#define VERIFIER_HTML_H
/* html - the self-contained HTML report of a run (SPEC 3.5): one section
 * per message, written as it comes, and the run summary, written last and
 * shown first (CSS order). No script needed, no external resource. */
#include <stdio.h>

#include "verifier/chain.h"
#include "verifier/report.h"
#include "verifier/summary.h"

#define HTML_MESSAGES_MAX	1000	/* messages shown in full; past it
					 * only the non-authenticated ones */

struct html;

/* Create path and write the document head. NULL with the reason in err. */
struct html *html_open(const char *path, char *err, size_t errlen);
/* Format one message's section into b (a growing buffer). Thread-safe:
 * the --jobs threads call it; it keeps no state. */
void	html_message_buf(struct report_buf *b, const char *source,
	    long index, const struct chain *c);
/* Write a section formatted by html_message_buf() for message c, in
 * input order, unless HTML_MESSAGES_MAX sections were written and c is
 * authenticated (then it is only counted as left out). */
void	html_write(struct html *, const struct chain *c, const char *sec,
	    size_t len);
/* A path or message that could not be read. */
void	html_unreadable(struct html *, const char *source, long index,
	    const char *why);
/* Write what is buffered to the file (the flusher thread calls it). */
void	html_flush(struct html *);
/* Write the summary and the end of the document, close the file.
 * Returns 0, or -1 with the reason in err (a write error). Frees h. */
int	html_close(struct html *, const struct summary *s, char *err,
	    size_t errlen);

struct checkdom;
/* The --check-domain report (SPEC 3.4) as one self-contained file at
 * path, in the same style. Returns 0, or -1 with the reason in err. */
int	html_checkdom(const char *path, const struct checkdom *cd, char *err,
	    size_t errlen);

#endif
