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
	size_t	i, k, n, nlines = 0, hint = 0;

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
		if ((eq = memchr(line, '=', n)) == NULL) {
			snprintf(err, errlen, "line %zu has no '='", nlines);
			goto bad;
		}
		if (eq == line) {
			snprintf(err, errlen, "line %zu has an empty name",
			    nlines);
			goto bad;
		}
		*eq = '\0';
		/* Postfix sends the attributes in one order: look from
		 * the one after the last match first. */
		for (k = 0; k < NATTRS; k++) {
			i = (hint + k) % NATTRS;
			if (attrs[i].len == (size_t)(eq - line) &&
			    memcmp(attrs[i].name, line, attrs[i].len) == 0) {
				*field(req, i) = eq + 1;
				hint = i + 1;
				break;
			}
		}
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
	int	len;

	if (n == 0 || n > PROTO_ACTION_MAX || strpbrk(action, "\r\n") != NULL)
		return -1;
	len = snprintf(out, outlen, "action=%s\n\n", action);
	if (len < 0 || (size_t)len >= outlen)
		return -1;
	return len;
}
