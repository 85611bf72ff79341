/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	canon 3
 * SUMMARY
 *	DKIM header and body canonicalization
 * SYNOPSIS
 *	#include "verifier/canon.h"
 *
 *	void canon_header(enum canon c, const char *raw, size_t rawlen,
 *		struct canon_buf *out);
 *	void canon_body(enum canon c, const char *body, size_t len,
 *		struct canon_buf *out);
 *	int canon_strip_b(const char *raw, size_t rawlen,
 *		struct canon_buf *out);
 * DESCRIPTION
 *	RFC 6376 3.4. Stored mail often has LF line ends: a LF not preceded
 *	by CR is taken as CRLF, as the message had on the wire. A CR not
 *	followed by LF is kept as a byte of the line.
 *
 *	simple header: the bytes as they are, line breaks as CRLF.
 *	relaxed header: name lower-cased and stripped of white space before
 *	the colon; the value unfolded, white space runs made one SP, white
 *	space at both ends removed.
 *
 *	simple body: trailing empty lines removed, an empty body is CRLF.
 *	relaxed body: white space at line ends removed, runs made one SP,
 *	trailing empty lines removed, an empty body stays empty. Both end
 *	a non-empty body with CRLF.
 *
 *	canon_strip_b() empties the value of the b= tag, keeping every
 *	other byte, for the signature field itself (3.7).
 * DIAGNOSTICS
 *	None: every input has a canonical form.
 * LIMITS
 *	Memory only (the caller bounds the message).
 *--*/
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "verifier/canon.h"

static void
reserve(struct canon_buf *b, size_t more)
{
	size_t need = b->len + more;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 4096;
	while (b->cap < need)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

void
canon_buf_add(struct canon_buf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void
canon_buf_free(struct canon_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *
canon_str(enum canon c)
{
	return c == CANON_RELAXED ? "relaxed" : "simple";
}

#define WSP(c)	((c) == ' ' || (c) == '\t')

void
canon_header(enum canon c, const char *raw, size_t n, struct canon_buf *out)
{
	size_t i, colon, end;
	int sp, started;
	char *o;

	reserve(out, n * 2 + 3);
	o = out->p + out->len;
	if (c == CANON_SIMPLE) {
		for (i = 0; i < n; i++) {
			if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
				*o++ = '\r';
			*o++ = raw[i];
		}
		if (n == 0 || raw[n - 1] != '\n') {
			*o++ = '\r';
			*o++ = '\n';
		}
		out->len = (size_t)(o - out->p);
		return;
	}
	colon = 0;
	while (colon < n && raw[colon] != ':')
		colon++;
	end = colon;
	while (end > 0 && (WSP(raw[end - 1]) || raw[end - 1] == '\r' ||
	    raw[end - 1] == '\n'))
		end--;
	for (i = 0; i < end; i++) {
		unsigned char ch = (unsigned char)raw[i];

		*o++ = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	*o++ = ':';
	sp = 0;
	started = 0;
	for (i = colon + 1; i < n; i++) {
		char ch = raw[i];

		if (ch == '\r' || ch == '\n')
			continue;
		if (WSP(ch)) {
			sp = 1;
			continue;
		}
		if (sp && started)
			*o++ = ' ';
		sp = 0;
		started = 1;
		*o++ = ch;
	}
	*o++ = '\r';
	*o++ = '\n';
	out->len = (size_t)(o - out->p);
}

void
canon_body(enum canon c, const char *b, size_t n, struct canon_buf *out)
{
	size_t i = 0, pending = 0, e, k;
	char *o;

	out->len = 0;
	reserve(out, n + n / 2 + 4);
	o = out->p;
	while (i < n) {
		const char *nl = memchr(b + i, '\n', n - i);
		size_t lend = nl ? (size_t)(nl - b) : n;
		size_t cend = lend;
		char *start;

		if (nl && cend > i && b[cend - 1] == '\r')
			cend--;
		start = o;
		if (c == CANON_SIMPLE) {
			if (cend > i) {
				for (; pending; pending--) {
					*o++ = '\r';
					*o++ = '\n';
				}
				memcpy(o, b + i, cend - i);
				o += cend - i;
			}
		} else {
			e = cend;
			while (e > i && WSP(b[e - 1]))
				e--;
			if (e > i) {
				int sp = 0;

				for (; pending; pending--) {
					*o++ = '\r';
					*o++ = '\n';
				}
				start = o;
				for (k = i; k < e; k++) {
					if (WSP(b[k])) {
						sp = 1;
						continue;
					}
					if (sp)
						*o++ = ' ';
					sp = 0;
					*o++ = b[k];
				}
			}
		}
		if (o != start || (c == CANON_SIMPLE && cend > i)) {
			*o++ = '\r';
			*o++ = '\n';
		} else
			pending++;
		i = nl ? lend + 1 : n;
	}
	out->len = (size_t)(o - out->p);
	if (c == CANON_SIMPLE && out->len == 0) {
		out->p[0] = '\r';
		out->p[1] = '\n';
		out->len = 2;
	}
}

int
canon_strip_b(const char *raw, size_t n, struct canon_buf *out)
{
	size_t i = 0, ns, ne, vs, ve;

	out->len = 0;
	while (i < n && raw[i] != ':')
		i++;
	if (i == n)
		return -1;
	i++;
	while (i < n) {
		/* one tag-spec: [FWS] name [FWS] = value up to ; */
		ns = i;
		while (ns < n && (WSP(raw[ns]) || raw[ns] == '\r' ||
		    raw[ns] == '\n'))
			ns++;
		ne = ns;
		while (ne < n && raw[ne] != '=' && raw[ne] != ';' &&
		    !WSP(raw[ne]) && raw[ne] != '\r' && raw[ne] != '\n')
			ne++;
		vs = ne;
		while (vs < n && raw[vs] != '=' && raw[vs] != ';')
			vs++;
		ve = vs;
		while (ve < n && raw[ve] != ';')
			ve++;
		if (vs < n && raw[vs] == '=' && ne - ns == 1 && raw[ns] == 'b') {
			/* Keep the field's final line break. */
			size_t keep = ve;

			if (ve == n)
				while (keep > vs + 1 && (raw[keep - 1] == '\n' ||
				    raw[keep - 1] == '\r'))
					keep--;
			canon_buf_add(out, raw, vs + 1);
			canon_buf_add(out, raw + keep, n - keep);
			return 0;
		}
		i = ve < n ? ve + 1 : n;
	}
	return -1;
}
