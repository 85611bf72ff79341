/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_CANON_H
#define VERIFIER_CANON_H
/* canon - DKIM canonicalization (RFC 6376 3.4) of header fields and
 * bodies, for CRLF or LF-only input. */
#include <stddef.h>

enum canon { CANON_SIMPLE, CANON_RELAXED };

/* A growable byte buffer; owned by the caller, freed with canon_buf_free. */
struct canon_buf {
	char	*p;
	size_t	len, cap;
};

void	canon_buf_add(struct canon_buf *, const char *s, size_t n);
void	canon_buf_free(struct canon_buf *);	/* NULL p is a no-op */

/* Append the canonical form of one whole field (name, colon, folded
 * value, line break or not) to out, ending in CRLF. */
void	canon_header(enum canon, const char *raw, size_t rawlen,
	    struct canon_buf *out);
/* Replace out's contents with the canonical body. */
void	canon_body(enum canon, const char *body, size_t len,
	    struct canon_buf *out);
/* raw with the value of tag "b" emptied (RFC 6376 3.7), into out
 * (replacing its contents). Returns 0, -1 when there is no b= tag. */
int	canon_strip_b(const char *raw, size_t rawlen, struct canon_buf *out);

const char *canon_str(enum canon);		/* "simple", "relaxed" */

#endif
