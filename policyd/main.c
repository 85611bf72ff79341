/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	relaytrust-policyd 8
 * SUMMARY
 *	Postfix policy server: iprev and SPF
 * SYNOPSIS
 *	relaytrust-policyd [-c FILE] [-f] [-t] [--stdio] [-V] [-h]
 * DESCRIPTION
 *	Start-up order: arguments, configuration, logging, listening
 *	sockets (while still root, for low ports and protected socket
 *	directories), daemon(3)-style detach unless -f, the DNS resolver
 *	(lookup_new(): the lookup thread's base and dns context, no thread
 *	yet), privilege drop to `user`, the SPF worker pool and the lookup
 *	thread (lookup_start(): the workers inherit the unprivileged uid),
 *	the checker, the "ready" log line, then the event loop. At exit the
 *	lookup thread is stopped after the server has answered.
 *
 *	-c FILE	configuration (default RT_SYSCONFDIR/policyd.conf).
 *	-f	stay in the foreground and log to stderr. Without -f the
 *		daemon detaches (fork, setsid, chdir /, stdio on /dev/null)
 *		and logs to syslog, facility mail. With -f the lines are
 *		written together, at most MAIN_LOG_FLUSH_MS after the
 *		first of them (log_buffer(3)); under systemd, stderr being
 *		the journal's stream (JOURNAL_STREAM), each starts with
 *		its syslog priority instead of the time and name (log(3)).
 *	-t	load the configuration; print "FILE:LINE: error" on stderr
 *		and exit 1, or "FILE: configuration OK" on stdout and exit 0.
 *	--stdio	serve one connection on stdin/stdout (spawn(8)) and exit
 *		when it closes. Logs go to syslog; stderr is pointed at
 *		/dev/null first, because spawn(8) joins it to the socket.
 *	-V	print the version and the versions of the linked libraries.
 *
 *	SIGHUP re-reads the configuration: a bad file is logged with its
 *	line and the old configuration stays; listen, stats_listen, user,
 *	workers and dns changes need a restart (logged). Each reload is
 *	counted in relaytrust_config_reloads_total{result}. A request in
 *	flight keeps the configuration it started with (a reference).
 *
 *	stats_listen is bound with the policy sockets, before privileges
 *	are dropped; stats(3) serves it. SIGTERM and SIGINT stop
 *	accepting, let in-flight requests be answered, and exit 0; a second
 *	one exits at once.
 *	Started as root (euid 0) without `user`, the daemon refuses to
 *	start, as Postfix refuses a root mail_owner: it, its SPF workers
 *	and libspf2 would read the network as root. -t run as root says
 *	so as a configuration error; --stdio as root without `user` (which
 *	spawn(8) never does: master.cf user= may not be root) answers as
 *	for any configuration error.
 * DIAGNOSTICS
 *	Exit 0 on a clean stop, 1 on a configuration or start-up error
 *	(root without user included), 2 on a usage error.
 * LIMITS
 *	See server(3), proto(3), cfg(3).
 *--*/
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <spf2/spf_lib_version.h>
#include <unbound.h>

#include "shared/cfg.h"
#include "shared/dns.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/spfpool.h"
#include "shared/spfworker.h"
#include "policyd/check.h"
#include "policyd/lookup.h"
#include "policyd/server.h"
#include "policyd/stats.h"

#define MAIN_FD_RESERVE	4200	/* descriptors beyond connections: DNS, workers */

#define MAIN_ERR_MAX	512
#define MAIN_READY_MAX	1024
#define MAIN_LOG_FLUSH_MS 10	/* a -f log line waits at most this long */
#define MAIN_CONFIG_ERROR_ACTION "DEFER_IF_PERMIT 4.3.5 policy service configuration error"

static const char *progname = "relaytrust-policyd";

struct daemon {
	struct event_base *base;
	struct cfg *cfg;
	struct lookup *lookup;		/* dns and the SPF pool, their thread */
	struct checker *checker;
	struct server *server;
	struct stats_http *stats;
	int	stopping;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-c FILE] [-f] [-t] [--stdio] [-V]\n"
	    "  -c FILE   configuration (default: %s/policyd.conf)\n"
	    "  -f        stay in the foreground, log to stderr\n"
	    "  -t        check the configuration, print the first error "
	    "with its line, exit 0/1\n"
	    "  --stdio   serve one connection on stdin/stdout (Postfix "
	    "spawn(8)); never write to stderr\n"
	    "  -V        print version and linked library versions\n",
	    progname, RT_SYSCONFDIR);
}

static void
version(void)
{
	printf("%s %s\n", progname, RT_VERSION);
	printf("libevent %s\n", event_get_version());
	printf("libunbound %s\n", ub_version());
	printf("libspf2 %d.%d.%d\n", SPF_LIB_VERSION_MAJOR,
	    SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libconfuse %s\n", confuse_version);
}

/* With -f the log lines go out together: the first line into an empty
 * buffer arms log_ev, which writes them MAIN_LOG_FLUSH_MS later (a full
 * buffer is written at once by log(3)). Under load that is one write per
 * 32 KB of lines instead of one per event-loop pass. */
static void
log_pending(void *arg)
{
	static const struct timeval tv = { 0, MAIN_LOG_FLUSH_MS * 1000 };

	evtimer_add(arg, &tv);
}

static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

static void
event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_err("libevent: %s", msg);
	else if (severity == EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static int
detach(char *err, size_t errlen)
{
	int	fd;

	switch (fork()) {
	case -1:
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") != 0) {
		snprintf(err, errlen, "chdir /: %s", strerror(errno));
		return -1;
	}
	if ((fd = open("/dev/null", O_RDWR)) < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

static int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			log_warn("not started as root: keeping uid %ld instead "
			    "of user %s", (long)geteuid(), user);
		return 0;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s: refusing to run as root", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "dropping privileges to %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getuid() != pw->pw_uid ||
	    geteuid() != pw->pw_uid || getgid() != pw->pw_gid) {
		snprintf(err, errlen, "dropping privileges to %s did not "
		    "stick", user);
		return -1;
	}
	return 0;
}

/* Started as root (euid 0) without `user`: the daemon, its SPF workers
 * and libspf2 would all stay root, reading the network. Refused, as
 * Postfix refuses a root mail_owner. Returns 0, or -1 with the reason. */
static int
root_without_user(const struct cfg *c, char *err, size_t errlen)
{
	if (geteuid() != 0 || (c->user != NULL && c->user[0] != '\0'))
		return 0;
	snprintf(err, errlen, "%s: running as root and user is not set: "
	    "refusing to run the daemon and its SPF workers as root; set "
	    "user to an unprivileged account (e.g. user = \"relaytrust\")",
	    c->file);
	return -1;
}

static int
same_list(char *const *a, int na, char *const *b, int nb)
{
	int	i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A loaded file's notes (the upgrade rule, host bits; each line ends in a
 * newline): to stderr for -t (with its priority under journald), else to
 * the log as warnings. */
static void
show_notes(const char *notes, int to_stderr)
{
	const char *p, *nl;

	for (p = notes; p != NULL && (nl = strchr(p, '\n')) != NULL;
	    p = nl + 1) {
		if (to_stderr)
			fprintf(stderr, "%s%.*s\n", log_stderr_journal() ?
			    "<4>" : "", (int)(nl - p), p);
		else
			log_warn("%.*s", (int)(nl - p), p);
	}
}

/* What the administrator should know of a loaded file: its notes, and
 * that report_only refuses nothing. */
static void
log_cfg_notes(const struct cfg *c)
{
	show_notes(c->notes, 0);
	if (c->report_only)
		log_info("%s: report_only = true: every decision is logged "
		    "(would=) and put in the header, and nothing is refused; "
		    "set report_only = false to enforce", c->file);
}

static void
reload(struct daemon *d)
{
	char	err[MAIN_ERR_MAX];
	struct cfg *old = d->cfg, *c;

	if ((c = cfg_load(old->file, err, sizeof(err))) == NULL) {
		stats_reload(0);
		log_err("%s; keeping the old configuration", err);
		return;
	}
	stats_reload(1);
	if (!same_list(old->listen, old->nlisten, c->listen, c->nlisten) ||
	    !str_eq(old->stats_listen, c->stats_listen))
		log_warn("%s: listen or stats_listen changed; that needs a "
		    "restart", c->file);
	if (!str_eq(old->user, c->user) || old->workers != c->workers ||
	    !same_list((char *const *)old->dns.forward, old->dns.nforward,
	    (char *const *)c->dns.forward, c->dns.nforward) ||
	    old->dns.dnssec != c->dns.dnssec ||
	    old->dns.query_timeout != c->dns.query_timeout ||
	    old->spf.lookup_limit != c->spf.lookup_limit ||
	    old->spf.void_lookup_limit != c->spf.void_lookup_limit)
		log_warn("%s: user, workers, dns or SPF lookup limits "
		    "changed; those need a restart", c->file);
	checker_set_cfg(d->checker, c);
	server_set_cfg(d->server, c);
	d->cfg = c;
	if (c->report_only != old->report_only || !str_eq(c->notes, old->notes))
		log_cfg_notes(c);
	cfg_unref(old);
	log_info("configuration reloaded from %s", c->file);
}

static void
stopped(void *arg)
{
	struct daemon *d = arg;

	event_base_loopexit(d->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	if (d->stopping) {
		log_warn("second %s: exiting now", strsignal((int)sig));
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->stopping = 1;
	log_info("%s: stopping", strsignal((int)sig));
	server_shutdown(d->server, stopped, d);
}

/*
 * --stdio with a configuration that cannot be loaded. A policy server
 * that exits makes Postfix apply default_action (usually DUNNO), and
 * every check would be off without a word in Postfix's log. Answer every
 * request of the connection with a deferral instead (Postfix's own words
 * for a broken policy service), with the built-in defaults for the
 * connection's limits, and exit 1 so spawn(8) logs the exit status too.
 */
static int
serve_config_error(void)
{
	struct daemon d;
	char	err[MAIN_ERR_MAX];

	memset(&d, 0, sizeof(d));
	if ((d.cfg = cfg_load("/dev/null", err, sizeof(err))) == NULL ||
	    (d.base = event_base_new()) == NULL) {
		log_err("cannot serve even the configuration error: %s",
		    d.cfg == NULL ? err : "libevent: no event base");
		cfg_unref(d.cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d.server = server_new(d.base, d.cfg);
	server_answer_all(d.server, MAIN_CONFIG_ERROR_ACTION);
	if (server_stdio(d.server, NULL, stopped, &d, err, sizeof(err)) != 0)
		log_err("%s", err);
	else {
		log_warn("answering every request \"%s\" until the "
		    "configuration is fixed", MAIN_CONFIG_ERROR_ACTION);
		event_base_dispatch(d.base);
	}
	server_free(d.server);
	event_base_free(d.base);
	cfg_unref(d.cfg);
	libevent_global_shutdown();
	return 1;
}

/* Each connection and each DNS query in flight is a descriptor: raise the
 * soft limit toward the hard one so max_connections can be reached. */
static void
raise_fd_limit(int max_connections)
{
	struct rlimit rl;
	rlim_t	want = (rlim_t)max_connections + MAIN_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		log_warn("open files limit %llu is below max_connections + %d; "
		    "raise it (LimitNOFILE= in the unit, ulimit -n)",
		    (unsigned long long)rl.rlim_cur, MAIN_FD_RESERVE);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stdio", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct spfpool_opts po;
	struct event *sigs[3] = {NULL, NULL, NULL};
	struct event *log_ev = NULL;
	static const int signums[3] = {SIGHUP, SIGTERM, SIGINT};
	const char *file = RT_SYSCONFDIR "/policyd.conf";
	char	err[MAIN_ERR_MAX], ready[MAIN_READY_MAX];
	char	absfile[PATH_MAX], libspf2[32];
	int	ch, foreground = 0, test = 0, stdio = 0, i, n, rc = 1;

	spfworker_run_if_asked(argc, argv);	/* a started SPF worker */
	while ((ch = getopt_long(argc, argv, "c:ftVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'S':
			stdio = 1;
			break;
		case 'V':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (!stdio)
				usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		if (!stdio)
			usage(stderr);
		return 2;
	}

	if (stdio) {
		/* spawn(8) joins stderr to the policy socket. */
		int	fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 2);
			if (fd != 2)
				close(fd);
		}
		foreground = 0;
	}
	/* A daemon chdirs to /; reloads need the file's absolute name. */
	if (!foreground && !stdio && !test && realpath(file, absfile) != NULL)
		file = absfile;

	memset(&d, 0, sizeof(d));
	if ((d.cfg = cfg_load(file, err, sizeof(err))) == NULL) {
		if (stdio) {
			log_open(progname, LOG_TO_SYSLOG);
			log_err("%s", err);
			return serve_config_error();
		} else	/* -t under systemctl reload: an error in the journal */
			fprintf(stderr, "%s%s\n", log_stderr_journal() ?
			    "<3>" : "", err);
		return 1;
	}
	if (stdio && root_without_user(d.cfg, err, sizeof(err)) != 0) {
		/* spawn(8) never runs a command as root (master.cf user=
		 * must be unprivileged): euid 0 here is a hand-made setup,
		 * and it is a configuration error like any other. */
		log_open(progname, LOG_TO_SYSLOG);
		log_err("%s", err);
		cfg_unref(d.cfg);
		return serve_config_error();
	}
	if (test) {
		if (server_check_listen(d.cfg, err, sizeof(err), ready,
		    sizeof(ready)) != 0) {
			fprintf(stderr, "%s%s: %s\n", log_stderr_journal() ?
			    "<3>" : "", file, err);
			cfg_unref(d.cfg);
			return 1;
		}
		if (root_without_user(d.cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s%s\n", log_stderr_journal() ?
			    "<3>" : "", err);
			cfg_unref(d.cfg);
			return 1;
		}
		if (ready[0] != '\0')
			fprintf(stderr, "%s%s: %s\n", log_stderr_journal() ?
			    "<4>" : "", file, ready);
		show_notes(d.cfg->notes, 1);
		printf("%s: configuration OK\n", file);
		cfg_unref(d.cfg);
		return 0;
	}

	log_open(progname, foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG);
	if (root_without_user(d.cfg, err, sizeof(err)) != 0) {
		log_err("%s", err);
		if (!foreground)
			fprintf(stderr, "%s: %s\n", progname, err);
		goto out;
	}
	if (!stdio)
		raise_fd_limit(d.cfg->max_connections);
	event_set_log_callback(event_log);
	signal(SIGPIPE, SIG_IGN);
	/* One malloc arena for both threads: a second one, the lookup
	 * thread's, kept its own free memory (RSS 31.0 MB at 1000
	 * connections against 29.1 MB with one; the threads rarely
	 * allocate at the same moment). */
	mallopt(M_ARENA_MAX, 1);
	if ((d.base = event_base_new()) == NULL) {
		log_err("libevent: cannot create the event base");
		goto out;
	}
	d.server = server_new(d.base, d.cfg);
	if (!stdio && d.cfg->nlisten == 0) {
		log_err("%s: listen is empty; nothing to serve", d.cfg->file);
		if (!foreground)
			fprintf(stderr, "%s: %s: listen is empty\n", progname,
			    d.cfg->file);
		goto out;
	}
	if (!stdio && server_listen(d.server, err, sizeof(err)) != 0) {
		log_err("%s", err);
		if (!foreground)
			fprintf(stderr, "%s: %s\n", progname, err);
		goto out;
	}
	if (!stdio && d.cfg->stats_listen != NULL &&
	    (d.stats = stats_http_new(d.base, d.cfg->stats_listen, err,
	    sizeof(err))) == NULL) {
		log_err("%s", err);
		if (!foreground)
			fprintf(stderr, "%s: %s\n", progname, err);
		goto out;
	}
	if (!foreground && !stdio) {
		if (detach(err, sizeof(err)) != 0) {
			log_err("%s", err);
			goto out;
		}
		if (event_reinit(d.base) != 0) {
			log_err("libevent: event_reinit failed");
			goto out;
		}
	}
	if (foreground &&
	    (log_ev = event_new(d.base, -1, 0, log_flush_cb, NULL)) != NULL)
		log_buffer(log_pending, log_ev);
	snprintf(libspf2, sizeof(libspf2), "%d.%d.%d", SPF_LIB_VERSION_MAJOR,
	    SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
	stats_set_build(RT_VERSION, libspf2, ub_version(),
	    event_get_version());

	if ((d.lookup = lookup_new(d.base, &d.cfg->dns, err, sizeof(err))) ==
	    NULL) {
		log_err("dns: %s", err);
		goto out;
	}
	if (drop_privileges(d.cfg->user, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.workers = d.cfg->workers;
	po.lookup_limit = d.cfg->spf.lookup_limit;
	po.void_limit = d.cfg->spf.void_lookup_limit;
	po.eval_timeout = d.cfg->request_timeout;
	po.receiver = d.cfg->authserv_id;
	if (lookup_start(d.lookup, &po, err, sizeof(err)) != 0) {
		log_err("spf workers: %s", err);
		goto out;
	}
	d.checker = checker_new(d.base, d.lookup, d.cfg);
	stats_set_sources(d.lookup);

	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signums[i], signal_cb, &d);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0) {
			log_err("libevent: cannot watch signal %d", signums[i]);
			goto out;
		}
	}

	if (stdio) {
		if (server_stdio(d.server, d.checker, stopped, &d, err,
		    sizeof(err)) != 0) {
			log_err("%s", err);
			goto out;
		}
		log_info("%s ready: serving stdin/stdout", progname);
	} else {
		server_start(d.server, d.checker);
		n = snprintf(ready, sizeof(ready), "%s ready: listening on",
		    progname);
		for (i = 0; i < d.cfg->nlisten && n > 0 &&
		    (size_t)n < sizeof(ready); i++)
			n += snprintf(ready + n, sizeof(ready) - (size_t)n,
			    "%s %s", i ? "," : "", d.cfg->listen[i]);
		if (d.stats != NULL && n > 0 && (size_t)n < sizeof(ready))
			snprintf(ready + n, sizeof(ready) - (size_t)n,
			    "; metrics at %s/metrics", d.cfg->stats_listen);
		log_cfg_notes(d.cfg);
		log_info("%s", ready);
	}

	event_base_dispatch(d.base);
	rc = 0;
out:
	stats_set_sources(NULL);
	stats_http_free(d.stats);
	server_free(d.server);
	checker_free(d.checker);
	lookup_free(d.lookup);
	for (i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	/* Unbuffered from here: nothing may activate log_ev once freed. */
	log_buffer(NULL, NULL);
	if (log_ev != NULL)
		event_free(log_ev);
	if (d.base != NULL)
		event_base_free(d.base);
	if (rc == 0)
		log_info("stopped");
	cfg_unref(d.cfg);
	libevent_global_shutdown();
	return rc;
}
