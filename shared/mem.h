/* SPDX-License-Identifier: ISC */
#ifndef SHARED_MEM_H
#define SHARED_MEM_H
/* mem - allocation that never returns NULL (out of memory is fatal here only). */
#include <stddef.h>

void	*xmalloc(size_t n);		/* never NULL; caller frees with free() */
void	*xcalloc(size_t n, size_t size);	/* never NULL, zeroed */
void	*xrealloc(void *p, size_t n);	/* never NULL */
char	*xstrdup(const char *s);	/* never NULL; xstrdup(NULL) returns NULL */
char	*xstrndup(const char *s, size_t n);	/* copies at most n bytes, NUL-terminates */

#include <string.h>
#if defined(__GLIBC__) && !__GLIBC_PREREQ(2, 38)
/* OpenBSD's strlcpy(3), which glibc has from 2.38: copies at most size - 1
 * bytes of src, terminates dst when size > 0, returns strlen(src). */
size_t	strlcpy(char *dst, const char *src, size_t size);
#endif

#endif
