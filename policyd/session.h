/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_SESSION_H
#define POLICYD_SESSION_H
/* session - what one connection keeps of the current message (instance):
 * the check results, whether its header went out, an accepted recipient. */
#include "policyd/checks.h"
#include "policyd/proto.h"

struct check_session {
	struct checker *ck;
	struct check *inflight;
	/* The results of the current instance, and what they were for:
	 * one allocation at instance, the other three point into it. */
	char	*instance;
	const char *client, *helo_name, *sender;
	unsigned have;			/* bit i: res[i] is kept */
	struct kept *res;		/* CHECK_NCHECKS, NULL until a result
					 * is kept: an idle connection holds
					 * no room */
	int	header_sent;		/* a header went out for this message */
	int	accepted_rcpt;		/* a recipient of it was accepted */
	char	*pending;		/* a header still to prepend */
};

/* Drop everything kept of the message. */
void	session_forget(struct check_session *);
/* Forget a message other than r's (another instance, client, HELO name or
 * sender); then give step[i] the kept results, marked cached. */
void	session_load(struct check_session *, const struct policy_req *r,
	    struct check_step *step);
/* Keep what r's request computed (step[i] done and not cached) for the
 * next requests of the message; nothing without an instance. */
void	session_store(struct check_session *, const struct policy_req *r,
	    const struct check_step *step);

#endif
