/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	authres 3
 * SUMMARY
 *	Authentication-Results and ARC-Authentication-Results values
 * SYNOPSIS
 *	#include "verifier/authres.h"
 *
 *	int authres_parse(const char *value, size_t len, int arc,
 *		struct authres *out, char *err, size_t errlen);
 *	void authres_free(struct authres *out);
 *	const struct authres_resinfo *authres_find(const struct authres *ar,
 *		const char *method);
 *	const struct authres_resinfo *authres_find_next(
 *		const struct authres *ar, const struct authres_resinfo *prev);
 *	const char *authres_prop(const struct authres_resinfo *r,
 *		const char *name);
 *	const char *authres_result_str(enum authres_result r);
 *	const char *authres_ptype_str(enum authres_ptype p);
 * DESCRIPTION
 *	authres_parse() reads one unfolded value with the grammar of RFC 8601
 *	2.2 (and, for an AAR, RFC 8617 4.1.1's "i=N;" before it):
 *
 *	    [CFWS] authserv-id [CFWS authres-version] (";" "none" / 1*resinfo)
 *	    resinfo  = ";" method ["/" version] "=" result [reason=value]
 *	               *(ptype "." property "=" pvalue)
 *
 *	with comments (nested, with quoted-pairs) allowed wherever white
 *	space is. A tokenizer on a cursor (white space and comments, quoted
 *	strings, keywords, values) feeds one small function per rule. Method,
 *	result, ptype and property are lower-cased; values keep their case;
 *	the authserv-id is kept as written and lower-cased beside it. Values
 *	are the bytes written (8-bit ones kept, control bytes refused), so a
 *	writer escapes them. The first non-empty comment after a result word,
 *	anywhere in its resinfo, is kept as its note: "(sender IP is
 *	192.0.2.1)", "(p=REJECT sp=REJECT dis=NONE)"; in RFC 8601 B.7 it is
 *	"(A dot can go here)". Result words are mapped to an enum and nothing
 *	more: "hardfail" (RFC 5451's SPF word) stays apart from "fail", and
 *	whether a word is registered for its method is not checked.
 *
 *	Lenient where real headers deviate and the meaning is still clear:
 *	no space after ';', spaces around '=' and '.', a trailing ';' or
 *	";;" (flags), underscores in keywords ("policy.is_org"), unquoted
 *	values with characters a MIME token lacks (IPv6 addresses, base64
 *	header.b, "256/256"), properties without a ptype ("x-bits=2048",
 *	Microsoft's "action=none": AUTHRES_PT_BARE), reason= after the
 *	properties, and Microsoft 365's field that starts with a result and
 *	has no authserv-id (AUTHRES_F_NO_ID: the first word is followed by
 *	'=' or '/', which an authserv-id, a MIME token, cannot contain).
 *	Strict where the meaning would be guessed: a word after a result that
 *	is not a property ("spf=pass fail"), reason= or a property written
 *	twice, "none" beside results, and a bad byte or an unterminated
 *	comment or quoted string make their part unparsed (an unterminated
 *	one takes the rest of the field with it).
 *
 *	authres_find() and authres_find_next() walk the results of a method;
 *	authres_prop() looks a property up by "ptype.property".
 * DIAGNOSTICS
 *	authres_parse() returns -1 with a reason when the field as a whole
 *	must be ignored: empty, no authserv-id (and no result either),
 *	authres-version other than 1 (RFC 8601 2.2), an authserv-id longer
 *	than AUTHRES_VALUE_MAX - 1, anything but ';' after it, an AAR
 *	without a valid i= (1..AUTH_ARC_SETS_MAX), a value longer than
 *	AUTHRES_FIELD_MAX. A part between semicolons that does not parse is
 *	skipped and counted in out->unparsed, the first one's reason in
 *	out->unparsed_why.
 * LIMITS
 *	AUTHRES_FIELD_MAX bytes of a value (longer: error).
 *	AUTHRES_RESULTS_MAX results kept (more: parsed and counted in
 *	out->truncated). AUTHRES_PROPS_MAX properties per result (more:
 *	counted in props_truncated). AUTHRES_VALUE_MAX bytes of a value,
 *	reason or note, with its NUL (longer: cut, AUTHRES_RF_CUT; an
 *	authserv-id: error). AUTHRES_WORD_MAX bytes of a keyword (longer:
 *	the part is unparsed).
 *--*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "verifier/authres.h"

#define NUMBER_DIGITS_MAX	6	/* versions, i=: more is wrong */

static const char *const result_words[] = {
	[AUTHRES_NONE] = "none", [AUTHRES_PASS] = "pass",
	[AUTHRES_FAIL] = "fail", [AUTHRES_SOFTFAIL] = "softfail",
	[AUTHRES_NEUTRAL] = "neutral", [AUTHRES_POLICY] = "policy",
	[AUTHRES_TEMPERROR] = "temperror", [AUTHRES_PERMERROR] = "permerror",
	[AUTHRES_HARDFAIL] = "hardfail", [AUTHRES_OTHER] = "other",
};

static const char *const ptype_words[] = {
	[AUTHRES_PT_SMTP] = "smtp", [AUTHRES_PT_HEADER] = "header",
	[AUTHRES_PT_BODY] = "body", [AUTHRES_PT_POLICY] = "policy",
	[AUTHRES_PT_OTHER] = "other", [AUTHRES_PT_BARE] = "",
};

/* A bounded copy: bytes past the buffer set cut. trim drops leading
 * white space (notes). */
struct sink {
	char	*p;
	size_t	cap, n;
	int	cut, trim;
};

struct parse {
	const char *s;
	size_t	len, i;
	struct sink *note;	/* comments go here while it is empty */
	struct authres *ar;
	struct authres_resinfo scratch;	/* past AUTHRES_RESULTS_MAX */
	int	saw_none;
	int	cap;		/* results allocated in ar->res */
	char	why[120];	/* what the part (or the field) lacks */
};

static int fail(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the reason; returns -1 for "return fail(...)". */
static int
fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ps->why, sizeof(ps->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* "'x'" or "byte 0xNN" for a reason text; peer bytes are never copied raw. */
static const char *
show(int ch, char *buf, size_t len)
{
	if (ch < 0)
		snprintf(buf, len, "the end");
	else if (ch > 0x20 && ch < 0x7f)
		snprintf(buf, len, "'%c'", ch);
	else
		snprintf(buf, len, "byte 0x%02x", ch);
	return buf;
}

static void
sink_init(struct sink *k, char *p, size_t cap, int trim)
{
	k->p = p;
	k->cap = cap;
	k->n = 0;
	k->cut = 0;
	k->trim = trim;
	if (p != NULL && cap > 0)
		p[0] = '\0';
}

static void
sink_put(struct sink *k, int ch)
{
	if (k == NULL || k->p == NULL)
		return;
	if (ch == '\t' || ch == '\r' || ch == '\n')
		ch = ' ';
	if (k->trim && k->n == 0 && ch == ' ')
		return;
	if (k->n + 1 < k->cap) {
		k->p[k->n++] = (char)ch;
		k->p[k->n] = '\0';
	} else
		k->cut = 1;
}

/* Tokenizer: RFC 5322 3.2 lexical tokens on the cursor ps->i.
 * (shared/hdr.c has no CFWS helpers; these are the ones it could take.) */

static int
is_wsp(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int
is_ctl(int ch)
{
	return (ch < 0x20 && !is_wsp(ch)) || ch == 0x7f;
}

/* RFC 5321 Ldh-str, with '_' as real headers write it. */
static int
is_kw(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* RFC 2045 token: the authserv-id. '.' is in, '=' and '/' are not. */
static int
is_token(int ch)
{
	return ch > 0x20 && ch < 0x7f &&
	    strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* An unquoted value as written: to white space, ';', a comment or a quote. */
static int
is_vchar(int ch)
{
	return ch > 0x20 && ch != 0x7f && ch != ';' && ch != '(' &&
	    ch != ')' && ch != '"' && ch != '\\';
}

static int
peek(const struct parse *ps)
{
	return ps->i < ps->len ? (unsigned char)ps->s[ps->i] : -1;
}

static int
at_sep(const struct parse *ps)
{
	return ps->i >= ps->len || ps->s[ps->i] == ';';
}

/* comment at '(': nested comments and quoted-pairs; the text inside the
 * outer parentheses goes to k (may be NULL). */
static int
lex_comment(struct parse *ps, struct sink *k)
{
	int depth = 0, ch;
	char b[16];

	for (; ps->i < ps->len; ps->i++) {
		ch = (unsigned char)ps->s[ps->i];
		if (ch == '\\' && ps->i + 1 < ps->len) {
			ch = (unsigned char)ps->s[++ps->i];
			if (is_ctl(ch))
				break;
			sink_put(k, ch);
			continue;
		}
		if (is_ctl(ch))
			return fail(ps, "%s in a comment",
			    show(ch, b, sizeof(b)));
		if (ch == '(' && depth++ == 0)
			continue;
		if (ch == ')' && --depth == 0) {
			ps->i++;
			return 0;
		}
		sink_put(k, ch);
	}
	if (ps->i < ps->len)
		return fail(ps, "%s in a comment",
		    show(peek(ps), b, sizeof(b)));
	return fail(ps, "unterminated comment");
}

/* [CFWS]. The first non-empty comment fills ps->note, if set. */
static int
lex_cfws(struct parse *ps)
{
	int ch;

	while ((ch = peek(ps)) >= 0) {
		if (is_wsp(ch)) {
			ps->i++;
			continue;
		}
		if (ch != '(')
			break;
		if (lex_comment(ps, ps->note != NULL && ps->note->n == 0 ?
		    ps->note : NULL) < 0)
			return -1;
	}
	return 0;
}

/* quoted-string at '"', its content unescaped into k. */
static int
lex_quoted(struct parse *ps, struct sink *k)
{
	int ch;
	char b[16];

	for (ps->i++; ps->i < ps->len; ps->i++) {
		ch = (unsigned char)ps->s[ps->i];
		if (ch == '"') {
			ps->i++;
			return 0;
		}
		if (ch == '\\' && ps->i + 1 < ps->len)
			ch = (unsigned char)ps->s[++ps->i];
		if (is_ctl(ch))
			return fail(ps, "%s in a quoted string",
			    show(ch, b, sizeof(b)));
		sink_put(k, ch);
	}
	return fail(ps, "unterminated quoted string");
}

/* A keyword, lower-cased into out. Returns its length, 0 if none starts
 * here, -1 if it does not fit. */
static int
lex_keyword(struct parse *ps, char *out, size_t outlen)
{
	size_t n = 0;
	int ch;

	out[0] = '\0';
	while ((ch = peek(ps)) >= 0 && is_kw(ch)) {
		if (n + 1 >= outlen)
			return fail(ps, "keyword \"%.16s...\" longer than %zu "
			    "bytes", out, outlen - 1);
		out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 'a' - 'A' : ch);
		out[n] = '\0';
		ps->i++;
	}
	return (int)n;
}

/* 1*DIGIT into *v. Returns 1, 0 if no digit here, -1 if too many. */
static int
lex_number(struct parse *ps, int *v)
{
	int n = 0, ch;

	*v = 0;
	while ((ch = peek(ps)) >= '0' && ch <= '9') {
		if (++n > NUMBER_DIGITS_MAX)
			return fail(ps, "number with more than %d digits",
			    NUMBER_DIGITS_MAX);
		*v = *v * 10 + (ch - '0');
		ps->i++;
	}
	return n > 0;
}

/* A value: quoted-string, or a run of token (strict) or value
 * characters. Returns 1, 0 if none starts here, -1. */
static int
lex_value(struct parse *ps, struct sink *k, int strict)
{
	size_t start = ps->i;
	int ch;

	if (peek(ps) == '"')
		return lex_quoted(ps, k) < 0 ? -1 : 1;
	while ((ch = peek(ps)) >= 0 && (strict ? is_token(ch) : is_vchar(ch))) {
		sink_put(k, ch);
		ps->i++;
	}
	return ps->i > start;
}

/* Back to the start of a part, then past it: to the next ';' outside
 * comments and quoted strings, or the end. */
static void
skip_part(struct parse *ps, size_t start)
{
	int depth = 0, quoted = 0, ch;

	for (ps->i = start; ps->i < ps->len; ps->i++) {
		ch = (unsigned char)ps->s[ps->i];
		if (ch == '\\' && (depth > 0 || quoted)) {
			if (ps->i + 1 < ps->len)
				ps->i++;
		} else if (quoted) {
			if (ch == '"')
				quoted = 0;
		} else if (ch == '(')
			depth++;
		else if (ch == ')' && depth > 0)
			depth--;
		else if (depth == 0 && ch == '"')
			quoted = 1;
		else if (depth == 0 && ch == ';')
			return;
	}
}

/* Rules: one function per RFC 8601 / RFC 8617 production. */

static enum authres_result
result_of(const char *w)
{
	int r;

	for (r = 0; r < AUTHRES_OTHER; r++)
		if (strcmp(w, result_words[r]) == 0)
			return (enum authres_result)r;
	return AUTHRES_OTHER;
}

static enum authres_ptype
ptype_of(const char *w)
{
	int p;

	if (w[0] == '\0')
		return AUTHRES_PT_BARE;
	for (p = 0; p < AUTHRES_PT_OTHER; p++)
		if (strcmp(w, ptype_words[p]) == 0)
			return (enum authres_ptype)p;
	return AUTHRES_PT_OTHER;
}

/* RFC 8617 4.1.1: instance [CFWS] ";" before the authres-payload. */
static int
rule_instance(struct parse *ps)
{
	char w[8], b[16];
	int v, rc;

	if (lex_cfws(ps) < 0)
		return -1;
	if (lex_keyword(ps, w, sizeof(w)) <= 0 || strcmp(w, "i") != 0 ||
	    lex_cfws(ps) < 0 || peek(ps) != '=')
		return fail(ps, "no i= instance tag first (RFC 8617 4.1.1)");
	ps->i++;
	if (lex_cfws(ps) < 0 || (rc = lex_number(ps, &v)) < 0)
		return -1;
	if (rc == 0 || v < 1 || v > AUTH_ARC_SETS_MAX)
		return fail(ps, "i= is not an instance 1..%d",
		    AUTH_ARC_SETS_MAX);
	if (lex_cfws(ps) < 0)
		return -1;
	if (peek(ps) != ';')
		return fail(ps, "';' expected after i=%d, found %s", v,
		    show(peek(ps), b, sizeof(b)));
	ps->i++;
	ps->ar->instance = v;
	return 0;
}

/* authres-version after the authserv-id: only "1" is understood (RFC
 * 8601 2.2); a field of another version is ignored as a whole. */
static int
rule_version(struct parse *ps)
{
	size_t start = ps->i;
	int v, rc;

	if ((rc = lex_number(ps, &v)) < 0 || v != 1)
		return fail(ps, "authres-version %.*s%s is not 1 (RFC 8601 2.2)",
		    (int)(ps->i - start), ps->s + start, rc < 0 ? "..." : "");
	ps->ar->has_version = 1;
	return lex_cfws(ps);
}

/* authserv-id [CFWS authres-version] up to the first ';'. Returns 0, 1
 * when there is none and the field starts with a result (Microsoft 365's
 * "spf=pass ...; dkim=..."): the cursor is back at that result. */
static int
rule_authserv(struct parse *ps)
{
	struct authres *ar = ps->ar;
	struct sink k;
	size_t start = ps->i, i;
	int rc, bare = 1;
	char b[16];

	if (lex_cfws(ps) < 0)
		return -1;
	if (ps->i >= ps->len)
		return fail(ps, "no authserv-id: %s", memchr(ps->s + start, '(',
		    ps->len - start) == NULL ? "empty" : "only a comment");
	start = ps->i;
	sink_init(&k, ar->authserv_id, sizeof(ar->authserv_id), 0);
	if ((rc = lex_value(ps, &k, 1)) < 0)
		return -1;
	if (rc == 0)
		return fail(ps, "no authserv-id: %s first",
		    show(peek(ps), b, sizeof(b)));
	if (k.cut)
		return fail(ps, "authserv-id longer than %d bytes",
		    AUTHRES_VALUE_MAX - 1);
	if (k.n == 0)
		return fail(ps, "no authserv-id: \"\" first");
	for (i = start; i < ps->i; i++)
		bare &= is_kw((unsigned char)ps->s[i]);
	if (lex_cfws(ps) < 0)
		return -1;
	if (bare && (peek(ps) == '=' || peek(ps) == '/')) {
		ps->i = start;
		ar->authserv_id[0] = '\0';
		ar->flags |= AUTHRES_F_NO_ID;
		return 1;
	}
	if (peek(ps) >= '0' && peek(ps) <= '9' && rule_version(ps) < 0)
		return -1;
	if (peek(ps) != ';')
		return fail(ps, ps->i >= ps->len ? "no ';' after the authserv-id "
		    "(no result, not even \"none\")" : "';' expected after the "
		    "authserv-id, found %s", show(peek(ps), b, sizeof(b)));
	for (i = 0; ar->authserv_id[i] != '\0'; i++) {
		char ch = ar->authserv_id[i];

		ar->authserv_lc[i] = (char)(ch >= 'A' && ch <= 'Z' ?
		    ch + 'a' - 'A' : ch);
	}
	ar->authserv_lc[i] = '\0';
	return 0;
}

/* methodspec: method [[CFWS] "/" [CFWS] method-version] [CFWS] "="
 * [CFWS] result. */
static int
rule_methodspec(struct parse *ps, struct authres_resinfo *r)
{
	int n, v;
	char b[16];

	if ((n = lex_keyword(ps, r->method, sizeof(r->method))) < 0)
		return -1;
	if (n == 0)
		return fail(ps, "method expected, found %s",
		    show(peek(ps), b, sizeof(b)));
	if (lex_cfws(ps) < 0)
		return -1;
	if (peek(ps) == '/') {
		ps->i++;
		if (lex_cfws(ps) < 0 || (n = lex_number(ps, &v)) < 0)
			return -1;
		if (n == 0 || v == 0)
			return fail(ps, "%s/: version expected", r->method);
		r->method_version = v;
		if (lex_cfws(ps) < 0)
			return -1;
	}
	if (peek(ps) != '=')
		return fail(ps, "'=' expected after method %s, found %s",
		    r->method, show(peek(ps), b, sizeof(b)));
	ps->i++;
	if (lex_cfws(ps) < 0 ||
	    (n = lex_keyword(ps, r->result_word, sizeof(r->result_word))) < 0)
		return -1;
	if (n == 0)
		return fail(ps, "%s=: result expected, found %s", r->method,
		    show(peek(ps), b, sizeof(b)));
	r->result = result_of(r->result_word);
	return 0;
}

/* A reason or pvalue: value / [[local-part] "@"] domain-name (RFC 8601
 * 2.2), read leniently: an unquoted one runs to white space, ';' or '('.
 * A quoted local-part before "@domain" is kept as written. */
static int
rule_value(struct parse *ps, struct sink *k, const char *what)
{
	size_t start;
	int rc;
	char b[16];

	if (lex_cfws(ps) < 0)
		return -1;
	start = ps->i;
	if ((rc = lex_value(ps, k, 0)) < 0)
		return -1;
	if (rc == 0)
		return fail(ps, "%s=: value expected, found %s", what,
		    show(peek(ps), b, sizeof(b)));
	if (ps->s[start] == '"' && peek(ps) == '@') {
		while (peek(ps) >= 0 && is_vchar(peek(ps)))
			ps->i++;
		sink_init(k, k->p, k->cap, 0);
		for (; start < ps->i; start++)
			sink_put(k, (unsigned char)ps->s[start]);
	}
	return 0;
}

/* reasonspec: "reason" [CFWS] "=" [CFWS] value; once per result. */
static int
rule_reason(struct parse *ps, struct authres_resinfo *r)
{
	struct sink k;

	if (r->has_reason)
		return fail(ps, "%s: reason= twice", r->method);
	if (r->nprop > 0 || r->props_truncated > 0)
		r->flags |= AUTHRES_RF_LATE_REASON;
	sink_init(&k, r->reason, sizeof(r->reason), 0);
	if (rule_value(ps, &k, "reason") < 0)
		return -1;
	if (k.cut)
		r->flags |= AUTHRES_RF_CUT;
	r->has_reason = 1;
	return 0;
}

/* propspec's pvalue for ptype.property ("" ptype: a bare property).
 * The same property twice is not guessed between. */
static int
rule_prop(struct parse *ps, struct authres_resinfo *r, const char *ptype,
    const char *property)
{
	struct authres_prop spare, *p;	/* spare: past the limit */
	struct sink k;
	char name[2 * AUTHRES_WORD_MAX];
	int i;

	for (i = 0; i < r->nprop; i++)
		if (strcmp(r->prop[i].ptype_word, ptype) == 0 &&
		    strcmp(r->prop[i].property, property) == 0)
			return fail(ps, "%s: %s%s%s twice", r->method, ptype,
			    ptype[0] ? "." : "", property);
	p = r->nprop < AUTHRES_PROPS_MAX ? &r->prop[r->nprop] : &spare;
	memset(p, 0, sizeof(*p));
	p->ptype = ptype_of(ptype);
	strlcpy(p->ptype_word, ptype, sizeof(p->ptype_word));
	strlcpy(p->property, property, sizeof(p->property));
	snprintf(name, sizeof(name), "%s%s%s", ptype, ptype[0] ? "." : "",
	    property);
	sink_init(&k, p->value, sizeof(p->value), 0);
	if (rule_value(ps, &k, name) < 0)
		return -1;
	p->cut = k.cut;
	if (k.cut)
		r->flags |= AUTHRES_RF_CUT;
	if (p->ptype == AUTHRES_PT_BARE)
		r->flags |= AUTHRES_RF_BARE;
	else if (p->ptype == AUTHRES_PT_OTHER)
		r->flags |= AUTHRES_RF_PTYPE;
	if (p == &spare)
		r->props_truncated++;
	else
		r->nprop++;
	return 0;
}

/* One item after the result: reasonspec, propspec (ptype [CFWS] "."
 * [CFWS] property [CFWS] "=" pvalue) or a bare "name=value". Anything
 * else is a word whose meaning would be guessed. */
static int
rule_item(struct parse *ps, struct authres_resinfo *r)
{
	char w[AUTHRES_WORD_MAX], prop[AUTHRES_WORD_MAX], b[16];
	int n;

	if ((n = lex_keyword(ps, w, sizeof(w))) < 0)
		return -1;
	if (n == 0)
		return fail(ps, "%s=%s: %s after the result", r->method,
		    r->result_word, show(peek(ps), b, sizeof(b)));
	if (lex_cfws(ps) < 0)
		return -1;
	if (peek(ps) == '.') {
		ps->i++;
		if (lex_cfws(ps) < 0 ||
		    (n = lex_keyword(ps, prop, sizeof(prop))) < 0 ||
		    lex_cfws(ps) < 0)
			return -1;
		if (n == 0 || peek(ps) != '=')
			return fail(ps, "%s=%s: %s. is not a property",
			    r->method, r->result_word, w);
		ps->i++;
		return rule_prop(ps, r, w, prop);
	}
	if (peek(ps) != '=')
		return fail(ps, "%s=%s: \"%s\" after the result is not a "
		    "property", r->method, r->result_word, w);
	ps->i++;
	if (strcmp(w, "reason") == 0)
		return rule_reason(ps, r);
	return rule_prop(ps, r, "", w);
}

/* resinfo after its ';': methodspec, then items to the next ';'. */
static int
rule_resinfo(struct parse *ps, struct authres_resinfo *r)
{
	struct sink note;
	int rc = 0;

	if (rule_methodspec(ps, r) < 0)
		return -1;
	sink_init(&note, r->note, sizeof(r->note), 1);
	ps->note = &note;
	for (;;) {
		if ((rc = lex_cfws(ps)) < 0 || at_sep(ps))
			break;
		if ((rc = rule_item(ps, r)) < 0)
			break;
	}
	ps->note = NULL;
	while (note.n > 0 && r->note[note.n - 1] == ' ')
		r->note[--note.n] = '\0';
	if (note.cut)
		r->flags |= AUTHRES_RF_CUT;
	return rc;
}

/* no-result: "none" alone in its part. The cursor moves only if so. */
static int
rule_none(struct parse *ps)
{
	size_t start = ps->i;
	char w[8];

	if (lex_keyword(ps, w, sizeof(w)) == 4 && strcmp(w, "none") == 0 &&
	    lex_cfws(ps) == 0 && at_sep(ps))
		return 1;
	ps->i = start;
	return 0;
}

/* Where the next result goes: a new slot, or the scratch one when
 * AUTHRES_RESULTS_MAX are kept. Zeroed. */
static struct authres_resinfo *
slot(struct parse *ps)
{
	struct authres *ar = ps->ar;
	struct authres_resinfo *r = &ps->scratch;

	if (ar->nres < AUTHRES_RESULTS_MAX) {
		if (ar->nres == ps->cap) {
			ps->cap = ps->cap ? 2 * ps->cap : 4;
			if (ps->cap > AUTHRES_RESULTS_MAX)
				ps->cap = AUTHRES_RESULTS_MAX;
			ar->res = xrealloc(ar->res, (size_t)ps->cap *
			    sizeof(*ar->res));
		}
		r = &ar->res[ar->nres];
	}
	memset(r, 0, sizeof(*r));
	return r;
}

/* One part between semicolons (n counts from 1). A part that does not
 * parse is skipped and counted; the field goes on. */
static void
one_part(struct parse *ps, int n)
{
	struct authres *ar = ps->ar;
	struct authres_resinfo *r;
	size_t start = ps->i;

	if (lex_cfws(ps) < 0)
		goto bad;
	if (ps->i >= ps->len) {
		ar->flags |= AUTHRES_F_TRAILING_SEMI;
		return;
	}
	if (peek(ps) == ';') {
		ar->flags |= AUTHRES_F_EMPTY_PART;
		return;
	}
	if (rule_none(ps)) {
		ps->saw_none = 1;
		return;
	}
	r = slot(ps);
	if (rule_resinfo(ps, r) < 0)
		goto bad;
	if (r == &ps->scratch)
		ar->truncated++;
	else
		ar->nres++;
	return;
bad:
	if (ar->unparsed++ == 0)
		snprintf(ar->unparsed_why, sizeof(ar->unparsed_why),
		    "part %d: %s", n, ps->why);
	skip_part(ps, start);
}

int
authres_parse(const char *value, size_t len, int arc, struct authres *out,
    char *err, size_t errlen)
{
	struct parse *ps;
	int n, rc = -1, first;

	memset(out, 0, sizeof(*out));
	out->arc = arc;
	out->version = 1;
	/* ~7 KiB with its scratch result: kept off the caller's stack. */
	ps = xcalloc(1, sizeof(*ps));
	ps->s = value;
	ps->len = len;
	ps->ar = out;
	if (len > AUTHRES_FIELD_MAX) {
		fail(ps, "value longer than %d bytes", AUTHRES_FIELD_MAX);
		goto done;
	}
	if ((arc && rule_instance(ps) < 0) || (first = rule_authserv(ps)) < 0)
		goto done;
	for (n = 1; first || ps->i < ps->len; n++) {
		if (!first)
			ps->i++;	/* the ';' */
		first = 0;
		one_part(ps, n);
	}
	if (ps->saw_none && out->nres + out->truncated > 0 &&
	    out->unparsed++ == 0)
		snprintf(out->unparsed_why, sizeof(out->unparsed_why),
		    "\"none\" beside results");
	out->none = ps->saw_none && out->nres + out->truncated == 0;
	if ((out->flags & AUTHRES_F_NO_ID) && out->nres + out->truncated == 0) {
		fail(ps, "no authserv-id, and no result (%s)",
		    out->unparsed_why);
		goto done;
	}
	rc = 0;
done:
	if (rc < 0)
		authres_free(out);
	if (errlen > 0)
		snprintf(err, errlen, "%s", rc < 0 ? ps->why : "");
	free(ps);
	return rc;
}

void
authres_free(struct authres *out)
{
	if (out == NULL)
		return;
	free(out->res);
	memset(out, 0, sizeof(*out));
}

const struct authres_resinfo *
authres_find(const struct authres *ar, const char *method)
{
	int i;

	for (i = 0; i < ar->nres; i++)
		if (strcasecmp(ar->res[i].method, method) == 0)
			return &ar->res[i];
	return NULL;
}

const struct authres_resinfo *
authres_find_next(const struct authres *ar, const struct authres_resinfo *prev)
{
	int i;

	if (prev < ar->res || prev >= ar->res + ar->nres)
		return NULL;
	for (i = (int)(prev - ar->res) + 1; i < ar->nres; i++)
		if (strcmp(ar->res[i].method, prev->method) == 0)
			return &ar->res[i];
	return NULL;
}

const char *
authres_prop(const struct authres_resinfo *r, const char *name)
{
	const char *dot = strchr(name, '.'), *property = dot ? dot + 1 : name;
	size_t tlen = dot ? (size_t)(dot - name) : 0;
	int i;

	for (i = 0; i < r->nprop; i++) {
		const struct authres_prop *p = &r->prop[i];

		if (strlen(p->ptype_word) == tlen &&
		    strncasecmp(p->ptype_word, name, tlen) == 0 &&
		    strcasecmp(p->property, property) == 0)
			return p->value;
	}
	return NULL;
}

const char *
authres_result_str(enum authres_result r)
{
	return r >= AUTHRES_NONE && r <= AUTHRES_OTHER ? result_words[r] : "?";
}

const char *
authres_ptype_str(enum authres_ptype p)
{
	return p >= AUTHRES_PT_SMTP && p <= AUTHRES_PT_BARE ? ptype_words[p] :
	    "?";
}
