/* SPDX-License-Identifier: ISC */
#ifndef SHARED_CFGSCAN_H
#define SHARED_CFGSCAN_H
/* cfgscan - repeated keys and sections, unterminated strings: what
 * libconfuse accepts without a word. */
#include <stddef.h>

#define CFGSCAN_WHY_MAX		512	/* bytes of a problem's text */
#define CFGSCAN_SHOW_LEN	64	/* bytes of a value in a message */
#define CFGSCAN_PATH_LEN	256	/* "domain \"TITLE\" spf.on_fail" */

/* The line of the first problem of text (NUL-terminated, comments
 * blanked) with its text in why, or 0. */
int	cfgscan(const char *text, char *why, size_t whylen);
/* s (NULL: "") with control characters as '?', cut to CFGSCAN_SHOW_LEN
 * bytes (and len) with "..." at the cut. Returns buf. */
char	*cfgscan_shown(const char *s, char *buf, size_t len);

#endif
