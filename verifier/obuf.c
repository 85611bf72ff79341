/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	obuf 3
 * SUMMARY
 *	output buffer of the reports
 * SYNOPSIS
 *	#include "verifier/obuf.h"
 * DESCRIPTION
 *	A struct report_buf with out NULL grows (xrealloc) and is freed with
 *	report_buf_free(); with out set it is the caller's buffer of cap
 *	bytes, written to out whenever it fills. Numbers are converted by
 *	hand; obuf_printf() formats in place when the text fits.
 * DIAGNOSTICS
 *	None; write errors are seen by the caller with ferror().
 *--*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "verifier/obuf.h"

void
obuf_flush(struct report_buf *b)
{
	if (b->out == NULL)
		return;
	if (b->len > 0)
		fwrite(b->p, 1, b->len, b->out);
	b->len = 0;
}

int
obuf_room(struct report_buf *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len >= n)
		return 1;
	if (b->out != NULL) {
		obuf_flush(b);
		return b->cap >= n;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
	return 1;
}

void
obuf_num(struct report_buf *b, long long v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v :
	    (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	obuf_put(b, p, (size_t)(e - p));
}

void
obuf_unum(struct report_buf *b, unsigned long long u)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	obuf_put(b, p, (size_t)(e - p));
}

void
obuf_printf(struct report_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *big;

	(void)obuf_room(b, 256);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	obuf_put(b, big, (size_t)n);
	free(big);
}

void
report_buf_free(struct report_buf *b)
{
	if (b == NULL || b->out != NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
