/*++
 * NAME
 *	server 3
 * SUMMARY
 *	listeners, connections and request framing of relaytrust-policyd
 * SYNOPSIS
 *	#include "policyd/server.h"
 *
 *	struct server *server_new(struct event_base *base, struct cfg *cfg);
 *	int server_listen(struct server *srv, char *err, size_t errlen);
 *	void server_start(struct server *srv, struct checker *ck);
 *	int server_stdio(struct server *srv, struct checker *ck,
 *		void (*done)(void *), void *arg, char *err, size_t errlen);
 *	void server_set_cfg(struct server *srv, struct cfg *cfg);
 *	void server_shutdown(struct server *srv, void (*done)(void *),
 *		void *arg);
 *	void server_free(struct server *srv);
 * DESCRIPTION
 *	server_listen() binds every listen address of the configuration:
 *	inet:HOST:PORT (every address HOST resolves to; "*" for all),
 *	inet:[V6]:PORT, and unix:/PATH. A stale unix socket (nobody
 *	accepting on it) is removed first; the new one gets mode 0666, so
 *	access to it is what its directory allows: put it in a directory
 *	only Postfix can enter (e.g. the queue directory's private/).
 *
 *	Each connection is a bufferevent with its own check session. The
 *	input is framed here, where the bytes arrive: lines are scanned in
 *	place and their lengths checked before anything is copied. A
 *	complete request goes to proto_parse() and check_start(); while it
 *	is in flight the connection reads (to notice a disconnect) but
 *	starts no other request, and pipelined requests wait in the input
 *	buffer, bounded by its read watermark. The reply is the only thing
 *	ever written. A request without client_address, or whose request
 *	attribute is not smtpd_access_policy, is answered DUNNO without
 *	checks.
 *
 *	Under --stdio, server_stdio() serves fds 0 and 1 (one socket when
 *	spawn(8) passes one; two pipes otherwise); end of input still lets
 *	the requests already read be answered.
 *
 *	server_shutdown() closes the listeners and idle connections; busy
 *	connections close after their answer (which check(3) guarantees
 *	within request_timeout), then done() runs.
 * DIAGNOSTICS
 *	A line over PROTO_LINE_MAX, a request over PROTO_REQ_MAX, a NUL
 *	byte, or a request proto_parse() refuses: a warning naming the peer
 *	and the limit, and that connection is closed. Connections over
 *	max_connections are closed at once with a warning. Warnings of one
 *	kind are rate-limited to one per SERVER_RL_INTERVAL seconds.
 *	Idle connections are closed after idle_timeout with an info line.
 * LIMITS
 *	PROTO_LINE_MAX, PROTO_REQ_MAX, SERVER_LISTENERS_MAX,
 *	SERVER_OUTPUT_MAX, max_connections, idle_timeout.
 *--*/
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "shared/cfg.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "policyd/check.h"
#include "policyd/proto.h"
#include "policyd/server.h"
#include "policyd/stats.h"

#define SERVER_PEER_MAX		128
#define SERVER_DRAIN_GRACE	5	/* seconds past request_timeout */
#define SERVER_TRIM_CONNS	256	/* a burst over this many returns memory after */

struct server;

struct listener {
	struct server *srv;
	int	fd;
	char	name[128];		/* for logs: "inet:127.0.0.1:10045" */
	char   *unix_path;		/* removed on close; NULL for inet */
	struct evconnlistener *evl;
};

struct conn {
	struct server *srv;
	struct bufferevent *in;		/* reads (and writes, for sockets) */
	struct bufferevent *out;	/* == in, except stdio with pipes */
	struct check_session *sess;
	char	peer[SERVER_PEER_MAX];
	size_t	scanned;		/* bytes of whole lines of this request */
	int	busy;			/* a check is in flight */
	int	closing;		/* close once the output is written */
	int	eof;			/* stdio: input ended */
	int	stdio;
	int	sync_rfd;		/* stdio fd epoll cannot watch (a file) */
	int	sync_wfd;		/* read/written directly; -1 if unused */
	struct event *kick;		/* starts reading a sync_rfd */
	LIST_ENTRY(conn) entry;
};

struct server {
	struct event_base *base;
	struct cfg *cfg;
	struct checker *checker;
	struct listener lst[SERVER_LISTENERS_MAX];
	int	nlst;
	LIST_HEAD(, conn) conns;
	int	nconn;
	int	trim_due;		/* a burst of connections has passed */
	int	draining;
	void	(*done)(void *);
	void   *done_arg;
	struct event *done_ev;		/* runs done() from the loop */
	struct event *grace_ev;		/* shutdown deadline */
	struct event *resume_ev;	/* re-enable accepting after EMFILE */
	void	(*stdio_done)(void *);
	void   *stdio_arg;
};

static void conn_process(struct conn *);

/*
 * Listening sockets.
 */
static int
bind_inet(struct server *srv, const char *spec, char *err, size_t errlen)
{
	char	why[128];
	struct addrinfo *res, *ai;
	int	fd, on = 1;

	if (netaddr_listen_spec(spec + 5, &res, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "listen %s: %s", spec, why);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct listener *l;

		if (srv->nlst >= SERVER_LISTENERS_MAX) {
			snprintf(err, errlen, "listen %s: more than %d sockets",
			    spec, SERVER_LISTENERS_MAX);
			goto fail;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: socket: %s", spec,
			    strerror(errno));
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, SOMAXCONN) != 0) {
			snprintf(err, errlen, "listen %s: %s", spec,
			    strerror(errno));
			close(fd);
			goto fail;
		}
		l = &srv->lst[srv->nlst++];
		l->srv = srv;
		l->fd = fd;
		snprintf(l->name, sizeof(l->name), "%s", spec);
		l->unix_path = NULL;
		l->evl = NULL;
	}
	freeaddrinfo(res);
	return 0;
fail:
	freeaddrinfo(res);
	return -1;
}

static int
bind_unix(struct server *srv, const char *spec, char *err, size_t errlen)
{
	const char *path = spec + 5;
	struct sockaddr_un sun;
	struct listener *l;
	struct stat st;
	int	fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen %s: path too long", spec);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (srv->nlst >= SERVER_LISTENERS_MAX) {
		snprintf(err, errlen, "listen %s: more than %d sockets", spec,
		    SERVER_LISTENERS_MAX);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		int	probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "listen %s: exists and is not "
			    "a socket", spec);
			goto fail;
		}
		/* Remove it only when nobody accepts on it. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "listen %s: another server is "
			    "listening there", spec);
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) != 0) {
			snprintf(err, errlen, "listen %s: remove stale socket: "
			    "%s", spec, strerror(errno));
			goto fail;
		}
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0666) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
		unlink(path);
		goto fail;
	}
	l = &srv->lst[srv->nlst++];
	l->srv = srv;
	l->fd = fd;
	snprintf(l->name, sizeof(l->name), "%s", spec);
	l->unix_path = xstrdup(path);
	l->evl = NULL;
	return 0;
fail:
	close(fd);
	return -1;
}

static void
close_listeners(struct server *srv)
{
	int	i;

	for (i = 0; i < srv->nlst; i++) {
		struct listener *l = &srv->lst[i];

		if (l->evl != NULL)
			evconnlistener_free(l->evl);	/* closes fd */
		else if (l->fd >= 0)
			close(l->fd);
		if (l->unix_path != NULL) {
			if (unlink(l->unix_path) != 0 && errno != ENOENT)
				log_debug("cannot remove %s: %s", l->unix_path,
				    strerror(errno));
			free(l->unix_path);
		}
	}
	srv->nlst = 0;
}

/*
 * Connections.
 */
static void
schedule_done(struct server *srv)
{
	struct timeval zero = {0, 0};

	if (srv->draining && srv->nconn == 0 && srv->done_ev != NULL)
		event_add(srv->done_ev, &zero);
}

static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;
	int	stdio = c->stdio;

	LIST_REMOVE(c, entry);
	srv->nconn--;
	stats_connections(-1);
	if (c->kick != NULL)
		event_free(c->kick);
	check_session_free(c->sess);
	if (c->out != c->in)
		bufferevent_free(c->out);
	bufferevent_free(c->in);
	free(c);
	/* After a burst of thousands of connections glibc keeps the pages;
	 * give them back once the burst is over. */
	if (srv->nconn == 0 && srv->trim_due) {
		malloc_trim(0);
		srv->trim_due = 0;
	}
	if (stdio && srv->stdio_done != NULL)
		srv->stdio_done(srv->stdio_arg);
	schedule_done(srv);
}

/* Close after the output is on its way; free now if nothing is left. */
static void
conn_close_soon(struct conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->in, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->out)) == 0)
		conn_free(c);
}

static void
set_idle_timeout(struct conn *c, int on)
{
	struct timeval tv = {c->srv->cfg->idle_timeout, 0};

	bufferevent_set_timeouts(c->in, on ? &tv : NULL, on ? &tv : NULL);
	if (c->out != c->in)
		bufferevent_set_timeouts(c->out, NULL, on ? &tv : NULL);
}

/* stdout that epoll cannot watch (a regular file): plain writes. */
static int
write_sync(struct conn *c, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(c->sync_wfd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct timeval tv = {0, 10000};

				select(0, NULL, NULL, NULL, &tv);
				continue;
			}
			log_info("%s: write: %s", c->peer, strerror(errno));
			conn_free(c);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * An answer goes straight to the socket when nothing is queued before it
 * (the usual case: one request at a time), saving the bufferevent's
 * write-event round trip; whatever does not fit is queued as usual, and
 * errors are left for the bufferevent to find and report.
 */
static void
write_now(struct conn *c, const char *buf, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->out);
	evutil_socket_t fd = bufferevent_getfd(c->out);
	ssize_t	n = 0;

	if (fd >= 0 && evbuffer_get_length(out) == 0) {
		do
			n = write(fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		bufferevent_write(c->out, buf + n, len - (size_t)n);
}

/* Returns 0, or -1 when c was closed and freed. */
static int
reply(struct conn *c, const char *action)
{
	char	buf[PROTO_ACTION_MAX + 16];
	char	esc[LOG_ESCAPE_MAX * 4 + 8];
	int	n;

	n = proto_format_reply(action, buf, sizeof(buf));
	if (n < 0) {
		/* Our own bug. Postfix retries a connection that closes
		 * without an answer, then applies its default_action. */
		log_err("%s: internal error: cannot send action \"%s\"; "
		    "closing the connection", c->peer,
		    log_escape(action, LOG_ESCAPE_MAX, esc, sizeof(esc)));
		conn_free(c);
		return -1;
	}
	stats_reply(action);
	if (c->sync_wfd >= 0)
		return write_sync(c, buf, (size_t)n);
	write_now(c, buf, (size_t)n);
	return 0;
}

static void
on_action(void *arg, const char *action)
{
	struct conn *c = arg;

	c->busy = 0;
	set_idle_timeout(c, 1);
	if (reply(c, action) < 0 || c->closing)
		return;
	if (c->srv->draining) {
		conn_close_soon(c);
		return;
	}
	conn_process(c);
}

/* Returns 1 when the request started a check (or closed c). */
static int
handle_request(struct conn *c, size_t reqlen)
{
	struct evbuffer *in = bufferevent_get_input(c->in);
	struct policy_req *req;
	char	err[128], esc[LOG_ESCAPE_MAX * 4 + 8];
	const char *p = "";

	if (reqlen > 0)
		p = (const char *)evbuffer_pullup(in, (ssize_t)reqlen);
	req = proto_parse(p, reqlen, err, sizeof(err));
	if (req == NULL) {
		log_warn_rl("proto", SERVER_RL_INTERVAL, "%s: malformed request: "
		    "%s; closing the connection", c->peer, err);
		conn_free(c);
		return 1;
	}
	if (strcmp(req->request, "smtpd_access_policy") != 0) {
		log_warn_rl("request", SERVER_RL_INTERVAL, "%s: request=\"%s\" "
		    "is not smtpd_access_policy; answering DUNNO", c->peer,
		    log_escape(req->request, LOG_ESCAPE_MAX, esc, sizeof(esc)));
		proto_req_free(req);
		return reply(c, "DUNNO") < 0;
	}
	if (req->client_address[0] == '\0') {
		log_warn_rl("client_address", SERVER_RL_INTERVAL, "%s: request "
		    "without client_address; answering DUNNO", c->peer);
		proto_req_free(req);
		return reply(c, "DUNNO") < 0;
	}
	c->busy = 1;
	set_idle_timeout(c, 0);
	check_start(c->sess, req, on_action, c);
	return 0;
}

static void
conn_abort(struct conn *c, const char *key, const char *what)
{
	log_warn_rl(key, SERVER_RL_INTERVAL, "%s: %s; closing the connection",
	    c->peer, what);
	conn_free(c);
}

/*
 * Frame the buffered input: scan whole lines, check the limits, and hand
 * each complete request on, one at a time.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->in);
	const char *data, *eol;
	size_t	len, off, linelen;
	char	what[128];

	for (;;) {
		if (c->busy || c->closing)
			return;
		if (evbuffer_get_length(bufferevent_get_output(c->out)) >
		    SERVER_OUTPUT_MAX)
			return;		/* the write callback resumes */
		/* The input is bounded by the read watermark, so one
		 * contiguous view of it is cheap (usually no copy). */
		len = evbuffer_get_length(in);
		off = c->scanned;
		data = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
		eol = off < len ? memchr(data + off, '\n', len - off) : NULL;
		if (eol == NULL) {
			if (off < len && memchr(data + off, '\0', len - off)) {
				conn_abort(c, "nul", "NUL byte in request");
				return;
			}
			if (len - off > PROTO_LINE_MAX) {
				snprintf(what, sizeof(what), "line over %d "
				    "bytes (PROTO_LINE_MAX)", PROTO_LINE_MAX);
				conn_abort(c, "line", what);
				return;
			}
			if (len > PROTO_REQ_MAX + 2) {
				snprintf(what, sizeof(what), "request over %d "
				    "bytes (PROTO_REQ_MAX)", PROTO_REQ_MAX);
				conn_abort(c, "req", what);
				return;
			}
			if (c->sync_rfd >= 0 && !c->eof) {
				char	chunk[16384];
				ssize_t	n = read(c->sync_rfd, chunk,
				    sizeof(chunk));

				if (n > 0)
					evbuffer_add(in, chunk, (size_t)n);
				else if (n == 0 || errno != EINTR)
					c->eof = 1;
				continue;
			}
			if (c->eof) {
				if (len > 0)
					log_info("%s: input ended inside a "
					    "request", c->peer);
				conn_close_soon(c);
			}
			return;
		}
		linelen = (size_t)(eol - data) - off;
		if (linelen > PROTO_LINE_MAX) {
			snprintf(what, sizeof(what), "line over %d bytes "
			    "(PROTO_LINE_MAX)", PROTO_LINE_MAX);
			conn_abort(c, "line", what);
			return;
		}
		if (memchr(data + off, '\0', linelen) != NULL) {
			conn_abort(c, "nul", "NUL byte in request");
			return;
		}
		if (linelen == 0 || (linelen == 1 && data[off] == '\r')) {
			/* The empty line: request is [0, off). */
			c->scanned = 0;
			if (handle_request(c, off))
				return;
			evbuffer_drain(in, off + linelen + 1);
			continue;
		}
		c->scanned = (size_t)(eol - data) + 1;
		if (c->scanned > PROTO_REQ_MAX) {
			snprintf(what, sizeof(what), "request over %d bytes "
			    "(PROTO_REQ_MAX)", PROTO_REQ_MAX);
			conn_abort(c, "req", what);
			return;
		}
	}
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void
writecb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(c->out)) == 0)
			conn_free(c);
		return;
	}
	conn_process(c);
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	int	err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && !c->busy) {
			log_info("%s: idle for %d s, closing the connection",
			    c->peer, c->srv->cfg->idle_timeout);
			conn_free(c);
		} else if (what & BEV_EVENT_WRITING) {
			log_warn_rl("write", SERVER_RL_INTERVAL, "%s: client "
			    "does not read its answers; closing the "
			    "connection", c->peer);
			conn_free(c);
		} else
			bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->stdio && bev == c->in && !c->closing) {
		/* Answer what was asked before the input ended. */
		c->eof = 1;
		bufferevent_disable(c->in, EV_READ);
		if (!c->busy)
			conn_process(c);
		return;
	}
	if (c->busy)
		log_info("%s: client closed the connection during a request%s%s",
		    c->peer, what & BEV_EVENT_ERROR ? ": " : "",
		    what & BEV_EVENT_ERROR ?
		    evutil_socket_error_to_string(err) : "");
	else if (what & BEV_EVENT_ERROR)
		log_info("%s: connection error: %s", c->peer,
		    evutil_socket_error_to_string(err));
	conn_free(c);
}

/* Can the event loop watch fd? Regular files and /dev/null it cannot. */
static int
pollable(int fd, unsigned events)
{
	struct epoll_event ev;
	int	ep, ok;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
	close(ep);
	return ok;
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_process(arg);
}

static struct conn *
conn_new(struct server *srv, int rfd, int wfd, const char *peer, int stdio)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->stdio = stdio;
	c->sync_rfd = c->sync_wfd = -1;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	if (stdio && !pollable(rfd, EPOLLIN)) {
		c->sync_rfd = rfd;
		rfd = -1;		/* the bufferevent only holds bytes */
	}
	if (stdio && !pollable(wfd, EPOLLOUT))
		c->sync_wfd = wfd;
	c->in = bufferevent_socket_new(srv->base, rfd, rfd >= 0 ?
	    BEV_OPT_CLOSE_ON_FREE : 0);
	c->out = c->in;
	if (c->in == NULL)
		goto fail;
	if (c->sync_rfd >= 0) {
		/* A socket bufferevent freezes the end of its input for
		 * everyone but itself; this one never reads, we add. */
		evbuffer_unfreeze(bufferevent_get_input(c->in), 0);
		c->kick = event_new(srv->base, -1, 0, kick_cb, c);
		event_active(c->kick, 0, 0);
	}
	if (c->sync_wfd < 0 && (wfd != rfd || rfd < 0)) {
		c->out = bufferevent_socket_new(srv->base, wfd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->out == NULL) {
			bufferevent_free(c->in);
			goto fail;
		}
		bufferevent_setcb(c->out, NULL, writecb, eventcb, c);
		bufferevent_enable(c->out, EV_WRITE);
		bufferevent_setcb(c->in, readcb, NULL, eventcb, c);
	} else
		bufferevent_setcb(c->in, readcb, writecb, eventcb, c);
	/* Reading pauses when a whole request and then some are buffered;
	 * conn_process() closes the connection before that if the bytes
	 * break a limit. */
	bufferevent_setwatermark(c->in, EV_READ, 0,
	    PROTO_REQ_MAX + PROTO_LINE_MAX);
	c->sess = check_session_new(srv->checker);
	LIST_INSERT_HEAD(&srv->conns, c, entry);
	srv->nconn++;
	if (srv->nconn > SERVER_TRIM_CONNS)
		srv->trim_due = 1;
	stats_connections(1);
	set_idle_timeout(c, 1);
	if (c->sync_rfd < 0)
		bufferevent_enable(c->in, EV_READ);
	if (c->sync_wfd < 0 && c->out == c->in)
		bufferevent_enable(c->in, EV_WRITE);
	return c;
fail:
	log_err("%s: cannot set up the connection", peer);
	free(c);
	return NULL;
}

static void
format_peer(const struct sockaddr *sa, const struct listener *l, char *buf,
    size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "%s", l->name);
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	char	peer[SERVER_PEER_MAX];

	(void)evl;
	(void)salen;
	format_peer(sa, l, peer, sizeof(peer));
	if (srv->draining) {
		close(fd);
		return;
	}
	if (srv->nconn >= srv->cfg->max_connections) {
		log_warn_rl("max_connections", SERVER_RL_INTERVAL,
		    "%s: refusing the connection: max_connections (%d) "
		    "reached", peer, srv->cfg->max_connections);
		close(fd);
		return;
	}
	if (conn_new(srv, fd, fd, peer, 0) == NULL)
		close(fd);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	int	i;

	(void)fd;
	(void)what;
	for (i = 0; i < srv->nlst; i++)
		if (srv->lst[i].evl != NULL)
			evconnlistener_enable(srv->lst[i].evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	struct timeval tv = {1, 0};
	int	err = EVUTIL_SOCKET_ERROR();
	int	i;

	(void)evl;
	log_warn_rl("accept", SERVER_RL_INTERVAL, "%s: accept: %s; pausing "
	    "for 1 s", l->name, evutil_socket_error_to_string(err));
	/* Out of descriptors: stop the busy loop, try again later. */
	for (i = 0; i < srv->nlst; i++)
		if (srv->lst[i].evl != NULL)
			evconnlistener_disable(srv->lst[i].evl);
	event_add(srv->resume_ev, &tv);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	void	(*done)(void *) = srv->done;

	(void)fd;
	(void)what;
	if (done == NULL)
		return;
	srv->done = NULL;
	if (srv->grace_ev != NULL)
		event_del(srv->grace_ev);
	done(srv->done_arg);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	log_warn("%d connection(s) still busy at the shutdown deadline; "
	    "exiting anyway", srv->nconn);
	done_cb(fd, what, arg);
}

/*
 * Public interface.
 */
struct server *
server_new(struct event_base *base, struct cfg *cfg)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->cfg = cfg_ref(cfg);
	LIST_INIT(&srv->conns);
	srv->done_ev = event_new(base, -1, 0, done_cb, srv);
	srv->grace_ev = event_new(base, -1, 0, grace_cb, srv);
	srv->resume_ev = event_new(base, -1, 0, resume_cb, srv);
	if (srv->done_ev == NULL || srv->grace_ev == NULL ||
	    srv->resume_ev == NULL) {
		log_err("libevent: cannot create server events");
		abort();
	}
	return srv;
}

int
server_listen(struct server *srv, char *err, size_t errlen)
{
	int	i, rc;

	for (i = 0; i < srv->cfg->nlisten; i++) {
		const char *spec = srv->cfg->listen[i];

		if (strncmp(spec, "inet:", 5) == 0)
			rc = bind_inet(srv, spec, err, errlen);
		else if (strncmp(spec, "unix:", 5) == 0)
			rc = bind_unix(srv, spec, err, errlen);
		else {
			snprintf(err, errlen, "listen %s: unknown type", spec);
			rc = -1;
		}
		if (rc != 0) {
			close_listeners(srv);
			return -1;
		}
	}
	return 0;
}

void
server_start(struct server *srv, struct checker *ck)
{
	int	i;

	srv->checker = ck;
	for (i = 0; i < srv->nlst; i++) {
		struct listener *l = &srv->lst[i];

		l->evl = evconnlistener_new(srv->base, accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
		if (l->evl == NULL) {
			log_err("%s: cannot watch the listening socket",
			    l->name);
			continue;
		}
		evconnlistener_set_error_cb(l->evl, accept_error_cb);
	}
}

int
server_stdio(struct server *srv, struct checker *ck, void (*done)(void *),
    void *arg, char *err, size_t errlen)
{
	struct stat st;
	int	wfd = 1;

	srv->checker = ck;
	srv->stdio_done = done;
	srv->stdio_arg = arg;
	if (fstat(0, &st) != 0 || fstat(1, &st) != 0) {
		snprintf(err, errlen, "stdin/stdout: %s", strerror(errno));
		return -1;
	}
	/* spawn(8) passes one socket as 0, 1 and 2. */
	if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode))
		wfd = 0;
	if (evutil_make_socket_nonblocking(0) != 0 ||
	    (wfd != 0 && evutil_make_socket_nonblocking(wfd) != 0)) {
		snprintf(err, errlen, "stdin/stdout: cannot make non-blocking");
		return -1;
	}
	if (conn_new(srv, 0, wfd, "stdio", 1) == NULL) {
		snprintf(err, errlen, "stdin/stdout: cannot set up");
		return -1;
	}
	return 0;
}

void
server_set_cfg(struct server *srv, struct cfg *cfg)
{
	struct cfg *old = srv->cfg;

	srv->cfg = cfg_ref(cfg);
	cfg_unref(old);
}

void
server_shutdown(struct server *srv, void (*done)(void *), void *arg)
{
	struct conn *c, *next;
	struct timeval tv = {srv->cfg->request_timeout + SERVER_DRAIN_GRACE, 0};

	srv->done = done;
	srv->done_arg = arg;
	if (srv->draining)
		return;
	srv->draining = 1;
	close_listeners(srv);
	event_del(srv->resume_ev);
	for (c = LIST_FIRST(&srv->conns); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (!c->busy && !c->closing)
			conn_close_soon(c);
	}
	if (srv->nconn > 0)
		event_add(srv->grace_ev, &tv);
	schedule_done(srv);
}

void
server_free(struct server *srv)
{
	struct conn *c;

	if (srv == NULL)
		return;
	srv->stdio_done = NULL;
	if (srv->done_ev != NULL)
		event_free(srv->done_ev);
	srv->done_ev = NULL;
	while ((c = LIST_FIRST(&srv->conns)) != NULL)
		conn_free(c);
	close_listeners(srv);
	if (srv->grace_ev != NULL)
		event_free(srv->grace_ev);
	if (srv->resume_ev != NULL)
		event_free(srv->resume_ev);
	cfg_unref(srv->cfg);
	free(srv);
}
