/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	cfgscan 3
 * SUMMARY
 *	what libconfuse lets through in a configuration file
 * SYNOPSIS
 *	#include "shared/cfgscan.h"
 *
 *	int cfgscan(const char *text, char *why, size_t whylen);
 *	char *cfgscan_shown(const char *s, char *buf, size_t len);
 * DESCRIPTION
 *	cfgscan() reads the text of a configuration file (comments already
 *	blanked) with libconfuse's own lexer and grammar, for what
 *	libconfuse accepts without a word: a key given twice in one section
 *	(the second wins), a section given twice (merged, or the second
 *	wins), a quoted string that does not close on its line (libconfuse
 *	runs it on across lines and complains lines later, or not at all),
 *	and a section left open at the end of the file. libconfuse's parse
 *	callbacks cannot see these: a key is marked set before its callback
 *	runs, an empty list calls none, and a repeated section leaves
 *	cfg_size() at 1. "+=" on a list is not a repeat.
 *
 *	cfgscan_shown() makes a value printable for a message.
 * DIAGNOSTICS
 *	cfgscan() returns the line of the first problem, with why, or 0.
 *	Text whose grammar it cannot follow ends the repeat checks, not the
 *	quote check: libconfuse then reports it.
 * LIMITS
 *	SCAN_NEST sections deep, SCAN_NAMES names remembered;
 *	CFGSCAN_SHOW_LEN bytes of a value in a message.
 *--*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cfgscan.h"
#include "shared/mem.h"

char *
cfgscan_shown(const char *s, char *buf, size_t len)
{
	size_t	i, max = len < CFGSCAN_SHOW_LEN ? len : CFGSCAN_SHOW_LEN;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && i + 1 < max; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	return buf;
}

/*
 * The pre-scan (see DESCRIPTION). The lexer follows libconfuse 3.3's:
 * '#' and '//' comments to the end of the line, C comments, double- and
 * single-quoted strings with backslash escapes and backslash-newline
 * continuations, ${VAR}, the punctuation { } ( ) = += , and unquoted
 * words; '*' and a lone '+' are skipped. The grammar is libconfuse's:
 * KEY = VALUE, KEY = { VALUE, ... }, KEY += ..., NAME { ... },
 * NAME TITLE { ... }, NAME ( ... ). Text it cannot follow ends the
 * duplicate checks, not the quote check; libconfuse then reports it.
 */
#define SCAN_NEST	8	/* sections deep followed (ours nest 3) */
#define SCAN_NAMES	1024	/* names of open sections remembered */

enum scan_tok {
	T_END, T_STR, T_OPEN_STR, T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN,
	T_EQ, T_APPEND, T_COMMA,
};

struct scan_name {
	const char *name, *title;	/* into the text; title NULL: none */
	size_t	nlen, tlen;
	int	line;
};

enum scan_state {
	S_KEY, S_AFTER, S_VALUE, S_LIST, S_LIST_SEP, S_TITLE, S_FUNC,
};

struct scan {
	const char *p;			/* the next byte */
	int	line;
	const char *tok;		/* a string's text (no quotes) */
	size_t	toklen;
	int	tokline;
	enum scan_state st;		/* where in a statement */
	const char *key, *title;	/* of the statement, into the text */
	size_t	klen, tlen;
	int	kline;			/* the key's line */
	int	prev;			/* the key's earlier name, or -1 */
	struct scan_name *names;	/* of the open sections, in order */
	int	nnames;
	int	scope[SCAN_NEST + 1];	/* first name of each open section */
	int	open[SCAN_NEST + 1];	/* each open section's own name */
	int	depth;
	int	lost;			/* the grammar is not followed */
	int	bad_line;		/* the first problem; 0: none */
	char	why[CFGSCAN_WHY_MAX];
};

static enum scan_tok
scan_string(struct scan *s, char quote)
{
	const char *q = s->p + 1;

	for (;;) {
		if (*q == '\0' || *q == '\n') {
			s->tok = s->p + 1;
			s->toklen = (size_t)(q - s->tok);
			s->p = q;
			return T_OPEN_STR;
		}
		if (*q == '\\' && q[1] == '\n') {
			s->line++;
			q += 2;
		} else if (*q == '\\' && q[1] != '\0')
			q += 2;
		else if (*q == quote)
			break;
		else
			q++;
	}
	s->tok = s->p + 1;
	s->toklen = (size_t)(q - s->tok);
	s->p = q + 1;
	return T_STR;
}

static enum scan_tok
scan_lex(struct scan *s)
{
	static const char punct[] = "{}()=,";
	static const enum scan_tok ptok[] = {
		T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_EQ, T_COMMA,
	};
	const char *q, *e;

	for (;;) {
		const char *p = s->p;

		s->tokline = s->line;
		if (*p == '\0')
			return T_END;
		if (*p == '\n') {
			s->line++;
			s->p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '*')
			s->p++;
		else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (*s->p != '\0' && *s->p != '\n')
				s->p++;
		} else if (*p == '/' && p[1] == '*') {
			for (s->p += 2; *s->p != '\0' &&
			    !(s->p[0] == '*' && s->p[1] == '/'); s->p++)
				if (*s->p == '\n')
					s->line++;
			if (*s->p != '\0')
				s->p += 2;
		} else if (*p == '+') {
			s->p += p[1] == '=' ? 2 : 1;
			if (p[1] == '=')
				return T_APPEND;
		} else if ((q = strchr(punct, *p)) != NULL) {
			s->p++;
			return ptok[q - punct];
		} else if (*p == '"' || *p == '\'')
			return scan_string(s, *p);
		else if (*p == '$' && p[1] == '{' &&
		    (e = strchr(p, '}')) != NULL) {
			s->tok = p;
			s->toklen = (size_t)(e + 1 - p);
			for (; p < e; p++)
				if (*p == '\n')
					s->line++;
			s->p = e + 1;
			return T_STR;
		} else {
			for (q = p; *q != '\0' && strchr(" \t\r\n#\"'={}()+,*",
			    *q) == NULL && !(*q == '/' && (q[1] == '/' ||
			    q[1] == '*')); q++)
				continue;
			s->tok = p;
			s->toklen = (size_t)(q - p);
			s->p = q;
			return T_STR;
		}
	}
}

/* The open section's name of this key, or -1. */
static int
scan_find(const struct scan *s, const char *name, size_t nlen,
    const char *title, size_t tlen)
{
	int	i;

	for (i = s->scope[s->depth]; i < s->nnames; i++) {
		const struct scan_name *n = &s->names[i];

		if (n->nlen != nlen || memcmp(n->name, name, nlen) != 0 ||
		    (n->title == NULL) != (title == NULL))
			continue;
		if (title == NULL || (n->tlen == tlen &&
		    strncasecmp(n->title, title, tlen) == 0))
			return i;
	}
	return -1;
}

static int
scan_add(struct scan *s, const char *name, size_t nlen, const char *title,
    size_t tlen, int line)
{
	struct scan_name *n;

	if (s->nnames >= SCAN_NAMES) {
		s->lost = 1;
		return -1;
	}
	n = &s->names[s->nnames];
	n->name = name;
	n->nlen = nlen;
	n->title = title;
	n->tlen = tlen;
	n->line = line;
	return s->nnames++;
}

/* Text from the file for a message (cut, control characters as '?'). */
static char *
scan_text(const char *text, size_t tlen, char *buf, size_t len)
{
	char	tmp[CFGSCAN_SHOW_LEN + 1];
	size_t	n = tlen < sizeof(tmp) ? tlen : sizeof(tmp) - 1;

	memcpy(tmp, text, n);
	tmp[n] = '\0';
	return cfgscan_shown(tmp, buf, len);
}

/* The text of name n for a message: dns, domain "example.org". */
static void
scan_name_str(const struct scan_name *n, char *buf, size_t len)
{
	char	a[CFGSCAN_SHOW_LEN], b[CFGSCAN_SHOW_LEN];

	scan_text(n->name, n->nlen, a, sizeof(a));
	if (n->title == NULL) {
		snprintf(buf, len, "%s", a);
		return;
	}
	snprintf(buf, len, "%s \"%s\"", a, scan_text(n->title, n->tlen, b,
	    sizeof(b)));
}

/* "spf.on_fail", "domain \"example.org\" ptr.on_fail": key within the
 * open sections; key NULL: the innermost open section. */
static void
scan_path(const struct scan *s, const char *key, size_t klen, char *buf,
    size_t len)
{
	char	part[CFGSCAN_PATH_LEN], k[CFGSCAN_SHOW_LEN];
	size_t	n = 0;
	int	d;

	buf[0] = '\0';
	for (d = 1; d <= s->depth; d++) {
		scan_name_str(&s->names[s->open[d]], part, sizeof(part));
		n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n == 0 ? "" :
		    buf[n - 1] == '"' ? " " : ".", part);
	}
	if (key == NULL)
		return;
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s%s", n == 0 ? "" : buf[n - 1] == '"' ?
	    " " : ".", scan_text(key, klen, k, sizeof(k)));
}

static void scan_bad(struct scan *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
scan_bad(struct scan *s, int line, const char *fmt, ...)
{
	va_list	ap;

	if (s->bad_line != 0)
		return;
	s->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* A section opens: its name goes into the enclosing one. */
static void
scan_push(struct scan *s, const char *name, size_t nlen, const char *title,
    size_t tlen, int line)
{
	char	what[CFGSCAN_PATH_LEN], in[CFGSCAN_PATH_LEN];
	struct scan_name tmp;
	int	prev = scan_find(s, name, nlen, title, tlen), i;

	if (prev >= 0) {
		tmp = s->names[prev];
		tmp.title = title;
		tmp.tlen = tlen;
		scan_name_str(&tmp, what, sizeof(what));
		scan_path(s, NULL, 0, in, sizeof(in));
		scan_bad(s, line, "section %s%s%s appears twice (first on "
		    "line %d)%s", in, in[0] ? " " : "", what,
		    s->names[prev].line, title == NULL ?
		    ": put its keys in one block" :
		    memcmp(s->names[prev].title, title, tlen) != 0 ?
		    "; case does not matter" : "");
		return;
	}
	if ((i = scan_add(s, name, nlen, title, tlen, line)) < 0)
		return;
	if (s->depth == SCAN_NEST) {
		s->lost = 1;
		return;
	}
	s->depth++;
	s->scope[s->depth] = s->nnames;
	s->open[s->depth] = i;
}

/* A quote not closed on its line: reported where it opens, with the key
 * it is the value (or title) of. */
static void
scan_unclosed(struct scan *s)
{
	char	path[CFGSCAN_PATH_LEN], v[CFGSCAN_SHOW_LEN];

	path[0] = '\0';
	if (!s->lost && s->st != S_KEY && s->st != S_FUNC)
		scan_path(s, s->key, s->klen, path, sizeof(path));
	scan_bad(s, s->tokline, "%s%sunterminated string \"%s (no closing "
	    "quote on this line)", path, path[0] ? ": " : "",
	    scan_text(s->tok, s->toklen, v, sizeof(v)));
}

/* KEY = VALUE of a key set before in this section ("+=" adds). */
static void
scan_repeat(struct scan *s, enum scan_tok t)
{
	char	path[CFGSCAN_PATH_LEN], v[CFGSCAN_SHOW_LEN];
	int	first = s->names[s->prev].line;

	scan_path(s, s->key, s->klen, path, sizeof(path));
	if (t == T_STR)
		scan_bad(s, s->kline, "%s = \"%s\": set twice in one section "
		    "(first on line %d)", path, scan_text(s->tok, s->toklen, v,
		    sizeof(v)), first);
	else if (t == T_LBRACE)
		scan_bad(s, s->kline, "%s = { ... }: set twice in one section "
		    "(first on line %d); \"+=\" adds to a list", path, first);
}

/* After KEY: "=", "+=", "{", a title or "(". */
static enum scan_state
scan_after_key(struct scan *s, enum scan_tok t)
{
	switch (t) {
	case T_EQ:
	case T_APPEND:
		s->prev = scan_find(s, s->key, s->klen, NULL, 0);
		if (s->prev < 0)
			scan_add(s, s->key, s->klen, NULL, 0, s->kline);
		else if (t == T_APPEND)
			s->prev = -1;
		return S_VALUE;
	case T_LBRACE:
		scan_push(s, s->key, s->klen, NULL, 0, s->kline);
		return S_KEY;
	case T_STR:
		s->title = s->tok;
		s->tlen = s->toklen;
		return S_TITLE;
	case T_LPAREN:
		return S_FUNC;
	default:
		s->lost = 1;
		return S_KEY;
	}
}

/* One token of libconfuse's grammar; the next state. */
static enum scan_state
scan_step(struct scan *s, enum scan_tok t)
{
	switch (s->st) {
	case S_KEY:
		if (t == T_STR) {
			s->key = s->tok;
			s->klen = s->toklen;
			s->kline = s->tokline;
			return S_AFTER;
		}
		if (t == T_RBRACE && s->depth > 0)
			s->nnames = s->scope[s->depth--];
		else
			s->lost = 1;
		return S_KEY;
	case S_AFTER:
		return scan_after_key(s, t);
	case S_TITLE:
		if (t == T_LBRACE)
			scan_push(s, s->key, s->klen, s->title, s->tlen,
			    s->kline);
		else
			s->lost = 1;
		return S_KEY;
	case S_VALUE:
		if (s->prev >= 0)
			scan_repeat(s, t);
		if (t == T_LBRACE)
			return S_LIST;
		if (t != T_STR)
			s->lost = 1;
		return S_KEY;
	case S_LIST:
		if (t == T_STR)
			return S_LIST_SEP;
		break;
	case S_LIST_SEP:
		if (t == T_COMMA)
			return S_LIST;
		break;
	case S_FUNC:
		return t == T_RPAREN ? S_KEY : S_FUNC;
	}
	if (t != T_RBRACE)
		s->lost = 1;
	return S_KEY;			/* the end of a list */
}

static void
scan(const char *text, struct scan *s)
{
	char	path[CFGSCAN_PATH_LEN];
	enum scan_tok t;

	memset(s, 0, sizeof(*s));
	s->p = text;
	s->line = 1;
	s->st = S_KEY;
	s->prev = -1;
	s->names = xcalloc(SCAN_NAMES, sizeof(*s->names));
	while (s->bad_line == 0 && (t = scan_lex(s)) != T_END) {
		if (t == T_OPEN_STR)
			scan_unclosed(s);
		else if (!s->lost)
			s->st = scan_step(s, t);
	}
	/* libconfuse takes the end of the file for the missing braces. */
	if (!s->lost && s->depth > 0) {
		scan_name_str(&s->names[s->open[1]], path, sizeof(path));
		scan_bad(s, s->names[s->open[1]].line, "section %s is not "
		    "closed: a \"}\" is missing", path);
	}
	free(s->names);
	s->names = NULL;
}

int
cfgscan(const char *text, char *why, size_t whylen)
{
	struct scan s;

	scan(text, &s);
	if (s.bad_line > 0)
		snprintf(why, whylen, "%s", s.why);
	return s.bad_line;
}
