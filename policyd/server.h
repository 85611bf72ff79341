/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_SERVER_H
#define POLICYD_SERVER_H
/* server - listeners, connections and request framing of relaytrust-policyd.
 *
 * Bytes → framing (PROTO_LINE_MAX, PROTO_REQ_MAX) → proto_parse() →
 * check_start() → proto_format_reply() → bytes. One request at a time per
 * connection; pipelined requests wait in the input buffer. */
#include <stddef.h>

#include "shared/cfg.h"

struct event_base;
struct checker;
struct server;

#define SERVER_LISTENERS_MAX	64	/* sockets (a host name may give several) */
#define SERVER_OUTPUT_MAX	65536	/* unread reply bytes before we stop reading */
#define SERVER_RL_INTERVAL	10	/* seconds between repeated warnings */

/* Never NULL. Takes a reference on cfg. */
struct server *server_new(struct event_base *, struct cfg *);
/* Bind and listen on every cfg->listen address (before privileges are
 * dropped). Returns 0, or -1 with "listen ADDR: why" in err. */
int	server_listen(struct server *, char *err, size_t errlen);
/* -t: could every cfg->listen address be bound now? Returns 0 (note may
 * then say why one could not be bound as this user), or -1 with
 * "listen ADDR: why" in err. Binds nothing that stays. */
int	server_check_listen(const struct cfg *, char *err, size_t errlen,
	    char *note, size_t notelen);
/* Start accepting on the bound sockets; requests go to checker. */
void	server_start(struct server *, struct checker *);
/* Serve one connection on fds 0 (read) and 1 (write); done(arg) runs
 * when it has closed. Returns 0, or -1 with a reason in err. */
int	server_stdio(struct server *, struct checker *, void (*done)(void *),
	    void *arg, char *err, size_t errlen);
/* Answer every policy request with action (copied), without checks. */
void	server_answer_all(struct server *, const char *action);
/* After a reload: new timeouts and limits (listen changes need a restart). */
void	server_set_cfg(struct server *, struct cfg *);
/* Close the listeners and idle connections, let in-flight requests be
 * answered, then run done(arg) once (from the event loop). */
void	server_shutdown(struct server *, void (*done)(void *), void *arg);
void	server_free(struct server *);		/* NULL is a no-op */

#endif
