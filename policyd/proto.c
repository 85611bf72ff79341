/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	proto 3
 * SUMMARY
 *	Postfix policy delegation protocol codec
 * SYNOPSIS
 *	#include "policyd/proto.h"
 *
 *	struct policy_req *proto_parse(const char *buf, size_t len,
 *		char *err, size_t errlen);
 *	void proto_req_free(struct policy_req *req);
 *	int proto_format_reply(const char *action, char *out, size_t outlen);
 *	enum proto_verdict proto_action_verdict(const char *action);
 *	const char *proto_verdict_str(enum proto_verdict v);
 * DESCRIPTION
 *	proto_parse() decodes one request (SMTPD_POLICY_README): the
 *	name=value lines before the empty line that ends it. The framing,
 *	and the byte limits where the bytes arrive, are server(3)'s; this
 *	decoder checks them again so that it is safe on any buffer. Names
 *	are the part before the first '='; a value may contain '='.
 *	Unknown names are ignored; when a name repeats, the last value
 *	wins. One trailing carriage return per line is dropped (telnet).
 *	The request is one allocation: the struct followed by a copy of
 *	the bytes, split in place.
 *
 *	proto_format_reply() writes "action=VALUE\n\n".
 *
 *	proto_action_verdict() says what an answer does, the way Postfix
 *	reads it (access(5), case-insensitive): a three-digit 4NN code,
 *	alone or followed by a space, or DEFER, DEFER_IF_PERMIT or
 *	DEFER_IF_REJECT defers; 5NN or REJECT rejects; PREPEND prepends;
 *	anything else (DUNNO, OK, WARN) lets the mail on. The decision
 *	log's action= and relaytrust_requests_total{action} both use it,
 *	through proto_verdict_str(), so they cannot disagree.
 * DIAGNOSTICS
 *	proto_parse() returns NULL with the reason for: a NUL byte, a line
 *	without '=' or with an empty name, an empty line inside the
 *	request, a line over PROTO_LINE_MAX, a request over PROTO_REQ_MAX,
 *	more than PROTO_ATTRS_MAX lines. proto_format_reply() returns -1
 *	for an action holding CR, LF or NUL, empty, or over
 *	PROTO_ACTION_MAX, or when out is too small.
 * LIMITS
 *	PROTO_LINE_MAX, PROTO_REQ_MAX, PROTO_ATTRS_MAX, PROTO_ACTION_MAX.
 *--*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/mem.h"
#include "policyd/proto.h"

static const struct {
	const char *name;
	size_t	len;
	size_t	off;
} attrs[] = {
#define A(n)	{ #n, sizeof(#n) - 1, offsetof(struct policy_req, n) }
	A(request), A(protocol_state), A(protocol_name), A(helo_name),
	A(queue_id), A(sender), A(recipient), A(recipient_count),
	A(client_address), A(client_name), A(reverse_client_name),
	A(client_port), A(instance), A(sasl_method), A(sasl_username),
	A(sasl_sender), A(encryption_protocol), A(policy_context),
	A(server_address), A(server_port), A(stress),
#undef A
};

#define NATTRS	(sizeof(attrs) / sizeof(attrs[0]))
#define NAME_LEN	20	/* longer names are none of ours */
#define PER_LEN		6	/* names of one length, at most */

/* The attributes by name length, each list ended by NATTRS: a request's
 * unknown names (a third of Postfix's) cost a look at a few entries, not
 * at all of them. Built at the first call. */
static unsigned char bylen[NAME_LEN][PER_LEN + 1];
static int bylen_done;

_Static_assert(NATTRS < 256, "attribute indexes are bytes");

static void
bylen_init(void)
{
	size_t	i, k;

	memset(bylen, NATTRS, sizeof(bylen));
	for (i = 0; i < NATTRS; i++) {
		if (attrs[i].len >= NAME_LEN)
			abort();	/* NAME_LEN is too small */
		for (k = 0; bylen[attrs[i].len][k] != NATTRS; k++)
			;
		if (k >= PER_LEN)
			abort();	/* PER_LEN is too small */
		bylen[attrs[i].len][k] = (unsigned char)i;
	}
	bylen_done = 1;
}

/* The index of attribute name[0, n), or NATTRS. */
static size_t
attr_find(const char *name, size_t n)
{
	const unsigned char *c;

	if (n >= NAME_LEN)
		return NATTRS;
	for (c = bylen[n]; *c != NATTRS; c++)
		if (attrs[*c].name[0] == name[0] &&
		    memcmp(attrs[*c].name, name, n) == 0)
			return *c;
	return NATTRS;
}

static char **
field(struct policy_req *req, size_t i)
{
	return (char **)((char *)req + attrs[i].off);
}

struct policy_req *
proto_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct policy_req *req;
	char   *copy, *line, *nl, *eq, *empty, *end;
	size_t	i, n, nlines = 0;

	if (!bylen_done)
		bylen_init();
	if (len > PROTO_REQ_MAX) {
		snprintf(err, errlen, "request over %d bytes", PROTO_REQ_MAX);
		return NULL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in request");
		return NULL;
	}
	req = xmalloc(sizeof(*req) + len + 2);
	copy = (char *)(req + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	empty = copy + len + 1;
	*empty = '\0';
	for (i = 0; i < NATTRS; i++)
		*field(req, i) = empty;

	/* A final newline ends the last line; it does not start another. */
	if (len > 0 && copy[len - 1] == '\n')
		copy[--len] = '\0';
	end = copy + len;
	for (line = copy; len > 0 && line != NULL; line = nl) {
		/* One scan per line: its end, then its '='. */
		if ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
			n = (size_t)(nl - line);
			*nl++ = '\0';
		} else
			n = (size_t)(end - line);
		if (n > PROTO_LINE_MAX) {
			snprintf(err, errlen, "line %zu over %d bytes",
			    nlines + 1, PROTO_LINE_MAX);
			goto bad;
		}
		if (++nlines > PROTO_ATTRS_MAX) {
			snprintf(err, errlen, "more than %d attributes",
			    PROTO_ATTRS_MAX);
			goto bad;
		}
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0) {
			snprintf(err, errlen, "empty line %zu inside request",
			    nlines);
			goto bad;
		}
		/* The '=' ends a name: a few bytes in, not worth a call. */
		for (eq = line; eq < line + n && *eq != '='; eq++)
			;
		if (eq == line + n) {
			snprintf(err, errlen, "line %zu has no '='", nlines);
			goto bad;
		}
		if (eq == line) {
			snprintf(err, errlen, "line %zu has an empty name",
			    nlines);
			goto bad;
		}
		*eq = '\0';
		if ((i = attr_find(line, (size_t)(eq - line))) < NATTRS)
			*field(req, i) = eq + 1;
	}
	return req;
bad:
	free(req);
	return NULL;
}

void
proto_req_free(struct policy_req *req)
{
	free(req);
}

int
proto_format_reply(const char *action, char *out, size_t outlen)
{
	size_t	n = strlen(action);

	if (n == 0 || n > PROTO_ACTION_MAX || strpbrk(action, "\r\n") != NULL ||
	    outlen < n + sizeof("action=\n\n"))
		return -1;
	memcpy(out, "action=", 7);
	memcpy(out + 7, action, n);
	memcpy(out + 7 + n, "\n\n", 3);
	return (int)(n + 9);
}

/* Does action start with word, followed by its end or a space? */
static int
starts_word(const char *action, const char *word)
{
	size_t	n = strlen(word);

	return strncasecmp(action, word, n) == 0 &&
	    (action[n] == '\0' || action[n] == ' ' || action[n] == '\t');
}

enum proto_verdict
proto_action_verdict(const char *action)
{
	if ((action[0] == '4' || action[0] == '5') &&
	    action[1] >= '0' && action[1] <= '9' &&
	    action[2] >= '0' && action[2] <= '9' &&
	    (action[3] == '\0' || action[3] == ' ' || action[3] == '\t'))
		return action[0] == '4' ? PROTO_DEFER : PROTO_REJECT;
	if (starts_word(action, "PREPEND"))
		return PROTO_PREPEND;
	if (starts_word(action, "REJECT"))
		return PROTO_REJECT;
	if (starts_word(action, "DEFER") ||
	    starts_word(action, "DEFER_IF_PERMIT") ||
	    starts_word(action, "DEFER_IF_REJECT"))
		return PROTO_DEFER;
	return PROTO_DUNNO;
}

const char *
proto_verdict_str(enum proto_verdict v)
{
	static const char *const words[PROTO_NVERDICTS] = {
		"prepend", "dunno", "reject", "defer",
	};

	return (unsigned)v < PROTO_NVERDICTS ? words[v] : "dunno";
}
