/* SPDX-License-Identifier: ISC */
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
 *	int server_check_listen(const struct cfg *cfg, char *err,
 *		size_t errlen, char *note, size_t notelen);
 *	void server_start(struct server *srv, struct checker *ck);
 *	int server_stdio(struct server *srv, struct checker *ck,
 *		void (*done)(void *), void *arg, char *err, size_t errlen);
 *	void server_answer_all(struct server *srv, const char *action);
 *	void server_set_cfg(struct server *srv, struct cfg *cfg);
 *	void server_shutdown(struct server *srv, void (*done)(void *),
 *		void *arg);
 *	void server_free(struct server *srv);
 * DESCRIPTION
 *	server_listen() binds every listen address of the configuration:
 *	inet:HOST:PORT (every address HOST resolves to; "*" for all),
 *	inet:[V6]:PORT, and unix:/PATH. A stale unix socket (nobody
 *	accepting on it, and ours) is removed first; the new one is
 *	created with mode 0666 by bind() under SERVER_UNIX_UMASK (no
 *	chmod() by name after it), so access to it is what its directory
 *	allows: put it in a directory only Postfix can enter (e.g. the
 *	queue directory's private/). A directory everybody may write
 *	without the sticky bit is refused: anybody could swap the socket.
 *
 *	server_check_listen() is -t's test of the same addresses: each
 *	inet address is bound and closed at once (in use counts as good:
 *	the running daemon holds it when systemctl reload runs -t; not
 *	allowed as a non-root user is a note), a unix socket's directory
 *	must exist.
 *
 *	Each connection is a socket with its own check session, read and
 *	written directly (no buffering layer). A read goes into one scratch
 *	buffer of the server, and the input is framed there, where the
 *	bytes arrive: lines are scanned in place and their lengths checked
 *	before anything is copied, and only the bytes of an unfinished or a
 *	pipelined request are kept with the connection (none while it is
 *	idle). A complete request goes to proto_parse() and check_start();
 *	while it is in flight the connection reads (to notice a
 *	disconnect) but starts no other request, and pipelined requests
 *	wait, up to SERVER_INPUT_MAX bytes, where reading pauses. The
 *	reply is the only thing ever written: at once, and what the socket
 *	does not take waits for it to become writable. A request without
 *	client_address, or whose request attribute is not
 *	smtpd_access_policy, is answered DUNNO without checks.
 *
 *	Under --stdio, server_stdio() serves fds 0 and 1 (one socket when
 *	spawn(8) passes one; two pipes otherwise); end of input still lets
 *	the requests already read be answered.
 *
 *	server_answer_all() makes every policy request get one fixed
 *	action without checks: what --stdio answers when its configuration
 *	cannot be loaded (the framing and its limits stay the same).
 *
 *	server_shutdown() closes the listeners and idle connections; busy
 *	connections close after their answer (which check(3) guarantees
 *	within request_timeout), then done() runs.
 * DIAGNOSTICS
 *	A line over PROTO_LINE_MAX, a request over PROTO_REQ_MAX, a NUL
 *	byte, or a request proto_parse() refuses: a warning naming the peer
 *	and the limit, and that connection is closed. Connections over
 *	max_connections are closed at once and counted
 *	(relaytrust_connections_refused_total): the first of a burst is
 *	logged at once, the others in one line when SERVER_RL_INTERVAL
 *	seconds have passed. Other warnings of one kind are rate-limited to
 *	one per SERVER_RL_INTERVAL seconds.
 *	Idle connections are closed after idle_timeout with an info line;
 *	a client that has not taken all its answers idle_timeout after
 *	the last one, with a warning. A request must be complete
 *	request_timeout seconds after its first byte was kept (a timeout
 *	on silence alone lets one byte every few seconds hold a
 *	max_connections slot for ever): past it the connection is closed
 *	with a rate-limited warning.
 * LIMITS
 *	PROTO_LINE_MAX, PROTO_REQ_MAX, SERVER_INPUT_MAX, SERVER_LISTENERS_MAX,
 *	SERVER_OUTPUT_MAX, max_connections, idle_timeout, request_timeout
 *	(also the time a request has to arrive).
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
#include <time.h>
#include <unistd.h>

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
/* Input a connection holds at most: a whole request and a line more
 * (reading pauses there; the limits are broken before). */
#define SERVER_INPUT_MAX	(PROTO_REQ_MAX + PROTO_LINE_MAX)
#define SERVER_UNIX_UMASK	0111	/* a unix socket is made 0666 */

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
	int	rfd, wfd;		/* the same socket, or stdio's two */
	struct event *rev;		/* readable; NULL: rfd is a file */
	struct event *wev;		/* writable; NULL: wfd is a file */
	struct event *timer;		/* idle time */
	struct event *kick;		/* starts reading a file on stdin */
	struct check_session *sess;
	char   *in;			/* input not yet framed; NULL if none */
	size_t	inlen, incap;
	size_t	scanned;		/* bytes of whole lines of this request */
	size_t	nulfree;		/* bytes of it known to hold no NUL */
	char   *out;			/* answers the socket did not take */
	size_t	outlen;
	time_t	active;			/* last read or answer (mono_now) */
	time_t	req_start;		/* an unfinished request's bytes kept since; 0: none */
	int	busy;			/* a check is in flight */
	int	closing;		/* close once the output is written */
	int	eof;			/* stdio: input ended */
	int	stdio;
	char	peer[SERVER_PEER_MAX];
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
	char	*answer_all;		/* every request's action, or NULL */
	struct event *refused_ev;	/* the end of a refusal window */
	unsigned long refused;		/* refusals not logged yet */
	char	scratch[SERVER_INPUT_MAX];	/* the bytes of one read */
};

static void conn_process(struct conn *);

/*
 * Listening sockets.
 */
/* A socket of ai's kind as every listener of ours has it (SO_REUSEADDR;
 * IPv6 only for an IPv6 address), or -1 with errno. */
static int
inet_socket(const struct addrinfo *ai, int flags)
{
	int	fd, on = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | flags,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	return fd;
}

static int
bind_inet(struct server *srv, const char *spec, char *err, size_t errlen)
{
	char	why[128];
	struct addrinfo *res, *ai;
	int	fd;

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
		if ((fd = inet_socket(ai, SOCK_NONBLOCK)) < 0) {
			snprintf(err, errlen, "listen %s: socket: %s", spec,
			    strerror(errno));
			goto fail;
		}
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

/* The directory of a unix:PATH listener: it must exist, and if anybody
 * may create files in it, only their owners may remove or rename them
 * (the sticky bit); else another user could replace our socket between
 * its removal and our bind, or take it away afterwards. Returns 0, or -1
 * with "listen SPEC: why" in err. */
static int
unix_dir_check(const char *spec, char *err, size_t errlen)
{
	const char *path = spec + 5, *slash = strrchr(path, '/');
	struct sockaddr_un sun;
	struct stat st;
	char	dir[sizeof(sun.sun_path)];

	snprintf(dir, sizeof(dir), "%.*s", slash == NULL || slash == path ?
	    1 : (int)(slash - path), slash == NULL ? "." : path);
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "listen %s: directory %s: %s", spec, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "listen %s: directory %s: not a "
		    "directory", spec, dir);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0) {
		snprintf(err, errlen, "listen %s: directory %s is writable by "
		    "everybody and has no sticky bit; put the socket in a "
		    "directory only Postfix can enter (e.g. the queue "
		    "directory's private/)", spec, dir);
		return -1;
	}
	return 0;
}

static int
bind_unix(struct server *srv, const char *spec, char *err, size_t errlen)
{
	const char *path = spec + 5;
	struct sockaddr_un sun;
	struct listener *l;
	struct stat st;
	mode_t	mask;
	int	fd, rc, saved;

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
	if (unix_dir_check(spec, err, errlen) != 0)
		goto fail;
	if (lstat(path, &st) == 0) {
		int	probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "listen %s: exists and is not "
			    "a socket", spec);
			goto fail;
		}
		if (st.st_uid != geteuid()) {
			snprintf(err, errlen, "listen %s: the existing socket "
			    "belongs to uid %ld, not to us; not removing it",
			    spec, (long)st.st_uid);
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
	/* The socket is created 0666 by bind() itself: no window in which
	 * another mode shows, and no chmod() by name that a rename in the
	 * directory could point elsewhere. */
	mask = umask(SERVER_UNIX_UMASK);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	umask(mask);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, strerror(saved));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) != 0) {
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

/* Could spec be bound? EADDRINUSE counts as yes: -t runs beside the
 * daemon that holds the address (systemctl reload). */
static int
check_inet(const char *spec, char *err, size_t errlen, char *note,
    size_t notelen)
{
	char	why[128];
	struct addrinfo *res, *ai;
	int	fd, rc = 0;

	if (netaddr_listen_spec(spec + 5, &res, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "listen %s: %s", spec, why);
		return -1;
	}
	for (ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
		if ((fd = inet_socket(ai, 0)) < 0) {
			snprintf(err, errlen, "listen %s: socket: %s", spec,
			    strerror(errno));
			rc = -1;
			break;
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno == EACCES && geteuid() != 0)
				snprintf(note, notelen, "listen %s: %s as this "
				    "user (the daemon must start as root)",
				    spec, strerror(errno));
			else if (errno != EADDRINUSE) {
				snprintf(err, errlen, "listen %s: cannot be "
				    "bound: %s", spec, strerror(errno));
				rc = -1;
			}
		}
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

static int
check_unix(const char *spec, char *err, size_t errlen)
{
	const char *path = spec + 5;
	struct sockaddr_un sun;
	struct stat st;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen %s: path too long", spec);
		return -1;
	}
	if (unix_dir_check(spec, err, errlen) != 0)
		return -1;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "listen %s: exists and is not a socket",
		    spec);
		return -1;
	}
	return 0;
}

int
server_check_listen(const struct cfg *cfg, char *err, size_t errlen,
    char *note, size_t notelen)
{
	int	i, rc;

	note[0] = '\0';
	for (i = 0; i < cfg->nlisten; i++) {
		const char *spec = cfg->listen[i];

		if (strncmp(spec, "inet:", 5) == 0)
			rc = check_inet(spec, err, errlen, note, notelen);
		else if (strncmp(spec, "unix:", 5) == 0)
			rc = check_unix(spec, err, errlen);
		else {
			snprintf(err, errlen, "listen %s: unknown type", spec);
			rc = -1;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
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

/* Seconds on a clock that never jumps (for idle times; vDSO, no
 * system call). */
static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static void
conn_events_free(struct conn *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->kick != NULL)
		event_free(c->kick);
}

static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;
	int	stdio = c->stdio;

	LIST_REMOVE(c, entry);
	srv->nconn--;
	stats_connections(-1);
	conn_events_free(c);
	check_session_free(c->sess);
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	free(c->in);
	free(c->out);
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

static void
reading(struct conn *c, int on)
{
	if (c->rev == NULL || (event_pending(c->rev, EV_READ, NULL) != 0) == on)
		return;
	if (on)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
}

/* Close after the output is on its way; free now if nothing is left. */
static void
conn_close_soon(struct conn *c)
{
	c->closing = 1;
	reading(c, 0);
	if (c->outlen == 0)
		conn_free(c);
}

/* The peer went away or the socket failed (err 0: end of input). */
static void
conn_lost(struct conn *c, int err)
{
	if (c->busy)
		log_info("%s: client closed the connection during a request%s%s",
		    c->peer, err ? ": " : "", err ? strerror(err) : "");
	else if (err)
		log_info("%s: connection error: %s", c->peer, strerror(err));
	conn_free(c);
}

/* stdout that epoll cannot watch (a regular file): plain writes. */
static int
write_sync(struct conn *c, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(c->wfd, buf, len)) < 0) {
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
 * (the usual case: one request at a time); what the socket does not take
 * waits in c->out for the write event (the idle timer drops a client
 * that stops reading). Returns -1 when c was closed.
 */
static int
conn_write(struct conn *c, const char *buf, size_t len)
{
	ssize_t	n = 0;

	if (c->wev == NULL)
		return write_sync(c, buf, len);
	if (c->outlen == 0) {
		do
			n = write(c->wfd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_lost(c, errno);
			return -1;
		}
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len) {
		c->out = xrealloc(c->out, c->outlen + len - (size_t)n);
		memcpy(c->out + c->outlen, buf + n, len - (size_t)n);
		c->outlen += len - (size_t)n;
		event_add(c->wev, NULL);
	}
	return 0;
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
	return conn_write(c, buf, (size_t)n);
}

static void
on_action(void *arg, const char *action)
{
	struct conn *c = arg;

	c->busy = 0;
	c->req_start = 0;		/* what waited starts its deadline now */
	c->active = mono_now();
	if (reply(c, action) < 0 || c->closing)
		return;
	if (c->srv->draining) {
		conn_close_soon(c);
		return;
	}
	conn_process(c);
}

/* The request is req[0, reqlen). Returns 0, or -1 when c was closed. */
static int
handle_request(struct conn *c, const char *p, size_t reqlen)
{
	struct policy_req *req;
	char	err[128], esc[LOG_ESCAPE_MAX * 4 + 8];

	req = proto_parse(p, reqlen, err, sizeof(err));
	if (req == NULL) {
		log_warn_rl("proto", SERVER_RL_INTERVAL, "%s: malformed request: "
		    "%s; closing the connection", c->peer, err);
		conn_free(c);
		return -1;
	}
	if (strcmp(req->request, "smtpd_access_policy") != 0) {
		log_warn_rl("request", SERVER_RL_INTERVAL, "%s: request=\"%s\" "
		    "is not smtpd_access_policy; answering DUNNO", c->peer,
		    log_escape(req->request, LOG_ESCAPE_MAX, esc, sizeof(esc)));
		proto_req_free(req);
		return reply(c, "DUNNO");
	}
	if (c->srv->answer_all != NULL) {
		proto_req_free(req);
		return reply(c, c->srv->answer_all);
	}
	if (req->client_address[0] == '\0') {
		log_warn_rl("client_address", SERVER_RL_INTERVAL, "%s: request "
		    "without client_address; answering DUNNO", c->peer);
		proto_req_free(req);
		return reply(c, "DUNNO");
	}
	c->busy = 1;
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
 * Frame data[0, len), the connection's unconsumed input: scan whole
 * lines (c->scanned bytes of them are known), check the limits, and hand
 * each complete request on, one at a time. Returns the bytes consumed,
 * or -1 when c was closed and freed.
 */
static ssize_t
frame(struct conn *c, const char *data, size_t len)
{
	const char *p, *eol;
	size_t	done = 0, rest, off, linelen;
	char	what[128];

	for (;;) {
		if (c->busy || c->closing || c->outlen > SERVER_OUTPUT_MAX)
			return (ssize_t)done;
		p = data + done;
		rest = len - done;
		off = c->scanned;
		eol = off < rest ? memchr(p + off, '\n', rest - off) : NULL;
		if (eol == NULL) {
			/* A NUL is looked for once per byte: in a complete
			 * request by proto_parse(), here in what waits. */
			if (c->nulfree < rest && memchr(p + c->nulfree, '\0',
			    rest - c->nulfree)) {
				conn_abort(c, "nul", "NUL byte in request");
				return -1;
			}
			c->nulfree = rest;
			if (rest - off > PROTO_LINE_MAX) {
				snprintf(what, sizeof(what), "line over %d "
				    "bytes (PROTO_LINE_MAX)", PROTO_LINE_MAX);
				conn_abort(c, "line", what);
				return -1;
			}
			if (rest > PROTO_REQ_MAX + 2) {
				snprintf(what, sizeof(what), "request over %d "
				    "bytes (PROTO_REQ_MAX)", PROTO_REQ_MAX);
				conn_abort(c, "req", what);
				return -1;
			}
			return (ssize_t)done;
		}
		linelen = (size_t)(eol - p) - off;
		if (linelen > PROTO_LINE_MAX) {
			snprintf(what, sizeof(what), "line over %d bytes "
			    "(PROTO_LINE_MAX)", PROTO_LINE_MAX);
			conn_abort(c, "line", what);
			return -1;
		}
		if (linelen == 0 || (linelen == 1 && p[off] == '\r')) {
			/* The empty line: the request is p[0, off). */
			c->scanned = c->nulfree = 0;
			c->req_start = 0;
			done += off + linelen + 1;
			if (handle_request(c, p, off) < 0)
				return -1;
			continue;
		}
		c->scanned = (size_t)(eol - p) + 1;
		if (c->scanned > PROTO_REQ_MAX) {
			snprintf(what, sizeof(what), "request over %d bytes "
			    "(PROTO_REQ_MAX)", PROTO_REQ_MAX);
			conn_abort(c, "req", what);
			return -1;
		}
	}
}

/* Keep data[0, len) after what c->in holds (bounded by SERVER_INPUT_MAX:
 * reading stops there). */
static void
in_append(struct conn *c, const char *data, size_t len)
{
	if (len == 0)
		return;
	if (c->inlen + len > c->incap) {
		c->incap = c->inlen + len;
		c->in = xrealloc(c->in, c->incap);
	}
	memcpy(c->in + c->inlen, data, len);
	c->inlen += len;
}

/* Drop the first n bytes of c->in; an empty buffer is given back. */
static void
in_consume(struct conn *c, size_t n)
{
	if (n == 0)
		return;
	c->inlen -= n;
	if (c->inlen == 0) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	} else
		memmove(c->in, c->in + n, c->inlen);
}

/* One read(2) into the server's scratch buffer. Returns the bytes read,
 * 0 at the end of input, -1 for nothing now (EAGAIN) and -2 when c was
 * closed and freed (an error). */
static ssize_t
conn_read(struct conn *c)
{
	size_t	room = SERVER_INPUT_MAX - c->inlen;
	ssize_t	n;

	if (room == 0)			/* reading pauses before this */
		return -1;
	do
		n = read(c->rfd, c->srv->scratch, room);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (n < 0) {
		conn_lost(c, errno);
		return -2;
	}
	return n;
}

/* Input of an unfinished request is kept: from now on it has
 * request_timeout to be completed, however slowly its bytes come (the
 * idle timer alone would let one byte per idle_timeout hold the
 * connection for ever). Only when bytes are kept, so a request read
 * whole costs no timer operation. */
static void
deadline_arm(struct conn *c)
{
	struct timeval tv = {c->srv->cfg->request_timeout, 0};

	if (c->inlen == 0 || c->req_start != 0 || c->busy || c->rev == NULL)
		return;
	c->req_start = mono_now();
	if (tv.tv_sec < c->srv->cfg->idle_timeout)
		evtimer_add(c->timer, &tv);
}

/*
 * Frame the kept input; read a file on stdin on when no request is left;
 * close at the end of input once everything is answered.
 */
static void
conn_process(struct conn *c)
{
	ssize_t	n;

	for (;;) {
		if ((n = frame(c, c->in, c->inlen)) < 0)
			return;
		in_consume(c, (size_t)n);
		if (c->busy || c->closing || c->outlen > SERVER_OUTPUT_MAX)
			break;
		if (c->rev == NULL && !c->eof) {
			/* stdin epoll cannot watch: a blocking read */
			if ((n = conn_read(c)) == -2)
				return;
			if (n > 0)
				in_append(c, c->srv->scratch, (size_t)n);
			else
				c->eof = 1;
			continue;
		}
		if (c->eof) {
			if (c->inlen > 0)
				log_info("%s: input ended inside a request",
				    c->peer);
			conn_close_soon(c);
			return;
		}
		break;
	}
	deadline_arm(c);
	if (!c->eof && !c->closing)
		reading(c, c->inlen < SERVER_INPUT_MAX);
}

/*
 * Readable: the bytes go to the scratch buffer, and when nothing was
 * kept before them they are framed there, so that a whole request costs
 * no copy and no allocation; only a remainder is kept.
 */
static void
readcb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char   *scratch = c->srv->scratch;
	ssize_t	n, used;

	(void)fd;
	(void)what;
	if ((n = conn_read(c)) == -1 || n == -2)
		return;
	if (n == 0) {
		if (!c->stdio) {
			conn_lost(c, 0);
			return;
		}
		/* Answer what was asked before the input ended. */
		c->eof = 1;
		reading(c, 0);
		if (!c->busy)
			conn_process(c);
		return;
	}
	c->active = mono_now();
	if (c->inlen == 0) {
		if ((used = frame(c, scratch, (size_t)n)) < 0)
			return;
		in_append(c, scratch + used, (size_t)(n - used));
	} else
		in_append(c, scratch, (size_t)n);
	conn_process(c);
}

static void
writecb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t	n;

	(void)fd;
	(void)what;
	do
		n = write(c->wfd, c->out, c->outlen);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_lost(c, errno);
		return;
	}
	if (n > 0) {
		c->outlen -= (size_t)n;
		memmove(c->out, c->out + n, c->outlen);
	}
	if (c->outlen > 0) {
		/* Not "active" yet: a client that reads a byte at a time
		 * still has idle_timeout from the answer to take it all. */
		event_add(c->wev, NULL);
		return;
	}
	free(c->out);
	c->out = NULL;
	c->active = mono_now();
	if (c->closing)
		conn_free(c);
	else
		conn_process(c);
}

/* Idle: nothing read, answered or written for idle_timeout while no
 * request is in flight (check(3) answers every request within
 * request_timeout); a client whose answers wait that long does not read
 * them. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int	idle = c->srv->cfg->idle_timeout;
	int	rt = c->srv->cfg->request_timeout;
	time_t	now = mono_now(), quiet = now - c->active;
	struct timeval tv = {idle, 0};

	(void)fd;
	(void)what;
	if (!c->busy && c->req_start != 0 && c->inlen > 0 &&
	    now - c->req_start >= rt) {
		log_warn_rl("slow", SERVER_RL_INTERVAL, "%s: request not "
		    "complete %d s after its first byte (request_timeout); "
		    "closing the connection", c->peer, rt);
		conn_free(c);
		return;
	}
	if (!c->busy && quiet >= idle) {
		if (c->outlen > 0)
			log_warn_rl("write", SERVER_RL_INTERVAL, "%s: client "
			    "does not read its answers; closing the "
			    "connection", c->peer);
		else
			log_info("%s: idle for %d s, closing the connection",
			    c->peer, idle);
		conn_free(c);
		return;
	}
	if (!c->busy && quiet > 0)
		tv.tv_sec = idle - quiet;
	if (!c->busy && c->req_start != 0 && c->inlen > 0 &&
	    c->req_start + rt - now < tv.tv_sec)
		tv.tv_sec = c->req_start + rt - now;
	evtimer_add(c->timer, &tv);
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

/* On success the connection owns rfd and wfd (closed with it). */
static struct conn *
conn_new(struct server *srv, int rfd, int wfd, const char *peer, int stdio)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {srv->cfg->idle_timeout, 0};

	c->srv = srv;
	c->stdio = stdio;
	c->rfd = rfd;
	c->wfd = wfd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->timer = evtimer_new(srv->base, timer_cb, c);
	if (c->timer == NULL)
		goto fail;
	if (!stdio || pollable(rfd, EPOLLIN)) {
		c->rev = event_new(srv->base, rfd, EV_READ | EV_PERSIST,
		    readcb, c);
		if (c->rev == NULL)
			goto fail;
	} else {
		c->kick = event_new(srv->base, -1, 0, kick_cb, c);
		if (c->kick == NULL)
			goto fail;
		event_active(c->kick, 0, 0);
	}
	if (!stdio || pollable(wfd, EPOLLOUT)) {
		c->wev = event_new(srv->base, wfd, EV_WRITE, writecb, c);
		if (c->wev == NULL)
			goto fail;
	}
	c->sess = check_session_new(srv->checker);
	LIST_INSERT_HEAD(&srv->conns, c, entry);
	srv->nconn++;
	if (srv->nconn > SERVER_TRIM_CONNS)
		srv->trim_due = 1;
	stats_connections(1);
	c->active = mono_now();
	evtimer_add(c->timer, &tv);
	reading(c, 1);
	return c;
fail:
	log_err("%s: cannot set up the connection", peer);
	conn_events_free(c);
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

/* Refusals over max_connections: the first of a burst is logged at once,
 * the rest are counted and summed up when SERVER_RL_INTERVAL has passed,
 * whether or not another refusal comes. */
static void
refused_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { SERVER_RL_INTERVAL, 0 };

	(void)fd;
	(void)what;
	if (srv->refused == 0)
		return;
	log_warn("%lu more connections refused in the last %d s: "
	    "max_connections (%d) reached", srv->refused, SERVER_RL_INTERVAL,
	    srv->cfg->max_connections);
	srv->refused = 0;
	evtimer_add(srv->refused_ev, &tv);
}

static void
refuse(struct server *srv, const char *peer)
{
	struct timeval tv = { SERVER_RL_INTERVAL, 0 };

	stats_connection_refused();
	if (evtimer_pending(srv->refused_ev, NULL)) {
		srv->refused++;
		return;
	}
	log_warn("%s: refusing the connection: max_connections (%d) reached",
	    peer, srv->cfg->max_connections);
	evtimer_add(srv->refused_ev, &tv);
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
		refuse(srv, peer);
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
	srv->refused_ev = evtimer_new(base, refused_cb, srv);
	if (srv->done_ev == NULL || srv->grace_ev == NULL ||
	    srv->resume_ev == NULL || srv->refused_ev == NULL) {
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
server_answer_all(struct server *srv, const char *action)
{
	free(srv->answer_all);
	srv->answer_all = xstrdup(action);
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
	event_del(srv->refused_ev);
	refused_cb(-1, 0, srv);		/* the count, then no new window */
	event_del(srv->refused_ev);
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
	if (srv->refused_ev != NULL)
		event_free(srv->refused_ev);
	cfg_unref(srv->cfg);
	free(srv->answer_all);
	free(srv);
}
