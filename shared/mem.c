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
 * DESCRIPTION
 *	These succeed or do not return at all, so no caller carries a NULL
 *	path for allocation failure (Postfix mymalloc(3)).
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
