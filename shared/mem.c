/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	mem 3
 * SUMMARY
 *	memory allocation wrappers
 * SYNOPSIS
 *	#include "shared/mem.h"
 *
 *	void *xmalloc(size_t n);
 *	void *xcalloc(size_t n, size_t size);
 *	void *xrealloc(void *p, size_t n);
 *	char *xstrdup(const char *s);
 *	char *xstrndup(const char *s, size_t n);
 *	size_t strlcpy(char *dst, const char *src, size_t size);
 * DESCRIPTION
 *	These succeed or do not return at all, so no caller carries a NULL
 *	path for allocation failure (Postfix mymalloc(3)).
 *
 *	strlcpy() is OpenBSD's, for a C library without it (glibc before
 *	2.38): the bounded copy that costs less than snprintf("%s").
 * DIAGNOSTICS
 *	Out of memory: a message on stderr and abort().
 * LIMITS
 *	None of their own; every caller bounds what it allocates.
 *--*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

static void
oom(size_t n)
{
	fprintf(stderr, "relaytrust: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

char *
xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

#if defined(__GLIBC__) && !__GLIBC_PREREQ(2, 38)
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	n = strlen(src);

	if (size > 0) {
		size_t	k = n < size - 1 ? n : size - 1;

		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}
#endif
