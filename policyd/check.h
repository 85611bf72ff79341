/* SPDX-License-Identifier: ISC */
#ifndef POLICYD_CHECK_H
#define POLICYD_CHECK_H
/* check - run the checks for one request and produce its action.
 *
 * One check_session per client connection holds the per-instance verdict
 * (a message is checked once however many recipients it has); it is
 * dropped when the connection moves to the next instance or closes. */
#include "shared/cfg.h"
#include "policyd/proto.h"

struct event_base;
struct lookup;
struct checker;
struct check_session;

/* action: the complete action= value, e.g. "DUNNO" or "550 5.7.23 ...".
 * Valid during the callback only. Never called from inside check_start(). */
typedef void (*check_cb)(void *arg, const char *action);

/* Never NULL. Takes a reference on cfg. Lookups go through lk. */
struct checker *checker_new(struct event_base *, struct lookup *,
	    struct cfg *);
/* After a reload: new requests use the new configuration. */
void	checker_set_cfg(struct checker *, struct cfg *);
void	checker_free(struct checker *);

struct check_session *check_session_new(struct checker *);	/* never NULL */
/* Cancels an in-flight check (its callback is not called). NULL: no-op. */
void	check_session_free(struct check_session *);

/* Start the checks for req (ownership passes to the session). One check
 * at a time per session: the caller waits for the callback before the
 * next check_start() on the same session. The callback always comes,
 * within cfg->request_timeout seconds. */
void	check_start(struct check_session *, struct policy_req *req,
	    check_cb cb, void *arg);

#endif
