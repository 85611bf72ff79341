/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_PROTO_H
#define POLICYD_PROTO_H
/* proto - Postfix policy delegation protocol codec (SMTPD_POLICY_README). */
#include <stddef.h>

#define PROTO_LINE_MAX	8192	/* bytes of one name=value line (SPEC 4) */
#define PROTO_REQ_MAX	65536	/* bytes of one request (SPEC 4) */
#define PROTO_ATTRS_MAX	1024	/* attributes in one request */
#define PROTO_ACTION_MAX 2048	/* bytes of one action= value (a PREPEND header) */

/* One request, decoded once. Every field is a NUL-terminated string owned
 * by the struct ("" when absent). */
struct policy_req {
	char	*request;		/* "smtpd_access_policy" */
	char	*protocol_state;
	char	*protocol_name;
	char	*helo_name;
	char	*queue_id;
	char	*sender;
	char	*recipient;
	char	*recipient_count;
	char	*client_address;
	char	*client_name;
	char	*reverse_client_name;
	char	*client_port;
	char	*instance;
	char	*sasl_method;
	char	*sasl_username;
	char	*sasl_sender;
	char	*encryption_protocol;
	char	*policy_context;
	char	*server_address;
	char	*server_port;
	char	*stress;
};

/* Decode one request: the bytes up to, not including, the empty line.
 * Returns a new request, or NULL with a reason in err (line without '=',
 * NUL byte, too many attributes). Unknown attributes are ignored; for a
 * repeated name the last value wins. Caller frees with proto_req_free(). */
struct policy_req *proto_parse(const char *buf, size_t len, char *err,
	    size_t errlen);
void	proto_req_free(struct policy_req *);	/* NULL is a no-op */

/* What an answer does, as the decision log and the metrics name it. */
enum proto_verdict {
	PROTO_PREPEND,		/* PREPEND header: accepted, with a header */
	PROTO_DUNNO,		/* DUNNO, OK and anything else that accepts */
	PROTO_REJECT,		/* 5NN [text], REJECT [text] */
	PROTO_DEFER,		/* 4NN [text], DEFER, DEFER_IF_PERMIT, ... */
};
#define PROTO_NVERDICTS	4

/* The verdict of action (a reply's action= value); never fails. */
enum proto_verdict proto_action_verdict(const char *action);
/* "prepend", "dunno", "reject" or "defer": a static string. */
const char *proto_verdict_str(enum proto_verdict);

/* "action=VALUE\n\n" into out; returns its length, or -1 if VALUE holds a
 * newline or is over PROTO_ACTION_MAX. */
int	proto_format_reply(const char *action, char *out, size_t outlen);

#endif
