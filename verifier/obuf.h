/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_OBUF_H
#define VERIFIER_OBUF_H
/* obuf - the output writer of report and html: bytes appended to a
 * buffer that either grows or, given a FILE, is written out whenever it
 * fills. Small appends are inline: the JSON of a message is thousands of
 * them. */
#include <stdio.h>
#include <string.h>

#include "verifier/report.h"

/* Room for n more bytes: grown, or flushed to b->out; with a FILE, 0
 * when n does not fit even in an empty buffer. */
int	obuf_room(struct report_buf *b, size_t n);
/* Write out what a FILE-backed buffer holds (no-op when growing). */
void	obuf_flush(struct report_buf *b);
void	obuf_num(struct report_buf *b, long long v);
void	obuf_unum(struct report_buf *b, unsigned long long u);
void	obuf_printf(struct report_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

static inline void
obuf_put(struct report_buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (b->cap - b->len < n && !obuf_room(b, n)) {
		fwrite(s, 1, n, b->out);
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void
obuf_puts(struct report_buf *b, const char *s)
{
	obuf_put(b, s, strlen(s));
}

static inline void
obuf_putc(struct report_buf *b, int c)
{
	if (b->len == b->cap && !obuf_room(b, 1)) {
		putc(c, b->out);
		return;
	}
	b->p[b->len++] = (char)c;
}

/* The decimal digits of u at p (no NUL); returns their end. */
static inline char *
obuf_udig(char *p, unsigned long long u)
{
	char tmp[24], *e = tmp + sizeof(tmp), *q = e;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(p, q, (size_t)(e - q));
	return p + (e - q);
}

#define OBUF_LIT(b, lit)	obuf_put((b), (lit), sizeof(lit) - 1)

#endif
