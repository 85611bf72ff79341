/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	relaytrust-verify 1
 * SUMMARY
 *	rebuild and check the relay chain of stored mail
 * SYNOPSIS
 *	relaytrust-verify [--json] [--dns-forward ADDR[@PORT]] [--keys FILE]
 *		[--offline] [--trusted CIDR|HOSTNAME] [--at TIME] [--jobs N]
 *		[--progress|--no-progress] [-V] [PATH...]
 * DESCRIPTION
 *	Each PATH is an mbox, a Maildir, a directory of .eml files or one
 *	message; no PATH or "-" reads stdin (SPEC 3.1). For every message the
 *	header is parsed (hdr), the Received fields become hops (received),
 *	the chain is checked (chain), the first untrusted hop's address gets
 *	iprev and SPF evaluated now (origin) unless --offline, and the result
 *	is written (report): text, or JSON Lines with --json.
 *
 *	Every DKIM-Signature and ARC set is verified (dkim, arc) with keys
 *	from --keys, then DNS unless --offline (keys); the results are tied
 *	to the hops (chain_auth). Expiry is judged at --at TIME, else at the
 *	newest hop's date, else Date:, else the time of the run. Then DMARC for the From: domain
 *	(align, with the same TXT cache as the keys), the receivers' claims
 *	(claims), and the verdict (chain_finish).
 *
 *	--jobs N verifies with N threads (default: the number of CPUs). The
 *	main thread reads the mailbox into a ring of RING_PER_JOB slots per
 *	thread (32 to RING_MSGS; at most RING_BYTES bytes of mail beyond
 *	one message); the other threads take the next unclaimed slot as
 *	soon as it is filled, verify it and format its report into the
 *	slot's own buffer. The main thread writes the finished slots at the
 *	head of the ring in order, refills them, and while the ring is full
 *	verifies slots too. Nothing waits for a whole batch or a whole PATH
 *	(a slot has its own copy of the file name), and the reading and
 *	writing overlap the verification. Memory is bounded by the ring,
 *	not by the mailbox. The key cache is shared by all threads (each
 *	keeps a memo of the keys it has seen); the origin's iprev/SPF
 *	evaluation is serialised.
 *
 *	Output is flushed every FLUSH_MS by a thread of its own (stdio locks
 *	the FILEs), which also writes the finished slots at the head of the
 *	ring (write_done; the main thread does after each message it
 *	queues): what is done is out, in order, even while a later message
 *	waits for DNS or the input pipe is slow, and a killed run keeps it. With --html FILE
 *	each message's section is formatted beside its report (html) and
 *	written in the same order; the run summary (summary) ends the file.
 *
 *	A progress line (messages, MB, rate, percent and ETA when the size
 *	is known) is written to stderr when it is a terminal or with
 *	--progress; a summary line always, and with several messages in
 *	text a summary on stdout (counts per verdict, most frequent origins
 *	and From: domains of the mail not authenticated).
 * DIAGNOSTICS
 *	"relaytrust-verify: FILE:INDEX: text" on stderr for a message that
 *	could not be read or has an error finding; "relaytrust-verify: PATH:
 *	text" for a path that cannot be opened.
 *	Exit status: 0 every message is authenticated, 1 at least one is not,
 *	2 usage or I/O error.
 * LIMITS
 *	See mailbox.h, hdr.h, received.h, chain.h: MAILBOX_MSG_MAX,
 *	HDR_FIELD_MAX, HDR_FIELDS_MAX, RECEIVED_MAX, CHAIN_FINDINGS_MAX.
 *--*/
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpsl.h>
#include <openssl/crypto.h>
#include <spf2/spf.h>
#include <unbound.h>

#include "shared/hdr.h"
#include "shared/mem.h"
#include "shared/netaddr.h"
#include "shared/spfworker.h"
#include "verifier/align.h"
#include "verifier/arc.h"
#include "verifier/chain.h"
#include "verifier/checkdom.h"
#include "verifier/claims.h"
#include "verifier/dkim.h"
#include "verifier/html.h"
#include "verifier/keys.h"
#include "verifier/mailbox.h"
#include "verifier/origin.h"
#include "verifier/report.h"
#include "verifier/summary.h"

#define PROG		"relaytrust-verify"
#define JOBS_MAX	256
#define RING_MSGS	512		/* messages in the ring (--jobs > 1) */
#define RING_PER_JOB	32		/* ring slots per thread, at least 32 */
#define RING_BYTES	(32u << 20)	/* bytes in the ring, beyond one message */
#define FLUSH_MS	100		/* output is flushed this often */

struct slot {
	const char *data;		/* the message, in the mailbox's buffer */
	size_t	len;
	struct mailbox_block *hold;	/* that buffer, held until written */
	char	*source;		/* owned copy of its file's name */
	size_t	srccap;
	long	index;
	int	flags;
	int	done;			/* verified (under run.mu) */
	struct hdr h;
	struct chain c;
	struct report_buf out;		/* the report, to be written */
	struct report_buf hsec;		/* its HTML section (--html) */
};

struct run {
	struct chain_cfg cfg;
	struct origin_opts oopts;
	struct origin *origin;
	int	offline;
	int	progress;
	int	dns_failed;
	char	dns_note[CHAIN_TEXT_MAX];
	const char *keys;
	int	jobs;
	struct report_opts ro;
	unsigned long n;		/* written (under wmu) */
	unsigned long nqueued;		/* read (main thread) */
	struct summary sum;		/* counts per verdict, top origins */
	struct html *html;		/* --html */
	const char *html_path;
	struct report_buf hbuf;		/* a section (--jobs 1) */
	atomic_int dirty;		/* written since the last flush */
	pthread_mutex_t flush_mu;
	pthread_cond_t flush_cv;
	int	flush_quit;
	unsigned long nunread;		/* paths or messages not read */
	uint64_t bytes;
	int	io_error;
	struct timespec t0, last;
	struct keys *keys_db;
	int64_t	now;
	int	has_at;			/* --at TIME */
	int64_t	at;
	pthread_mutex_t origin_mu;
	/* the ring: slot i % nring; head <= claim <= tail */
	struct slot *slots;
	unsigned long nring;
	unsigned long head;		/* next to write (main thread) */
	unsigned long claim;		/* next to verify */
	unsigned long tail;		/* next to fill (main thread) */
	size_t	ring_bytes;		/* of the slots not yet written */
	int	waiting;		/* the main thread waits for fin */
	int	quit;
	pthread_mutex_t mu;
	pthread_cond_t go, fin;		/* a slot filled; a slot verified */
	pthread_mutex_t wmu;		/* one writer of finished slots */
};

static _Thread_local struct dkim_ctx *tctx;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [--json] [--dns-forward ADDR[@PORT]] "
	    "[--keys FILE] [--offline]\n"
	    "       [--trusted CIDR|HOSTNAME] [--at TIME] [--html FILE] [--jobs N] "
	    "[--progress|--no-progress] [-V] [PATH...]\n"
	    "       %s --check-domain DOMAIN [--ip ADDR]... [--selector S]... "
	    "[--json] [--html FILE]\n"
	    "       [--dns-forward ADDR[@PORT]] [--smtp-port N]\n", PROG, PROG);
	exit(2);
}

static int	valid_ip(const char *);
static int	text_width(void);

/* --check-domain's options (SPEC 3.4). */
static void
checkdom_opt(struct checkdom_opts *o, int ch, const char *arg)
{
	char *end;
	long v;

	switch (ch) {
	case 'C':
		o->domain = arg;
		return;
	case 'I':
		if (o->nips == CHECKDOM_IPS_MAX || strlen(arg) >= 64 ||
		    !valid_ip(arg)) {
			fprintf(stderr, "%s: --ip %s: want an IPv4 or IPv6 "
			    "address (at most %d)\n", PROG, arg,
			    CHECKDOM_IPS_MAX);
			exit(2);
		}
		o->ips[o->nips++] = arg;
		return;
	case 'S':
		if (o->nselectors == CHECKDOM_SELECTORS_MAX || arg[0] == '\0' ||
		    strlen(arg) > 63 || strspn(arg, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(arg)) {
			fprintf(stderr, "%s: --selector %s: want a selector "
			    "(letters, digits, '-', '_', '.'; at most %d)\n",
			    PROG, arg, CHECKDOM_SELECTORS_MAX);
			exit(2);
		}
		o->selectors[o->nselectors++] = arg;
		return;
	case 'M':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v < 1 || v > 65535) {
			fprintf(stderr, "%s: --smtp-port %s: want 1..65535\n",
			    PROG, arg);
			exit(2);
		}
		o->smtp_port = (int)v;
		return;
	}
}

static int
valid_ip(const char *s)
{
	struct netaddr a;

	return netaddr_parse(s, &a) == 0;
}

/* relaytrust-verify --check-domain: exit 0 when nothing fails, 1 when
 * something does, 2 on a usage error. */
static int
check_domain(struct checkdom_opts *o, const struct run *r, int npaths)
{
	static char buf[1 << 16];
	struct report_buf b = { buf, 0, sizeof(buf), stdout };
	struct checkdom cd;
	char err[256];
	int i;

	if (o->domain == NULL || npaths > 0 || r->offline || r->keys ||
	    r->cfg.nets != NULL || r->cfg.nhosts > 0 || r->has_at) {
		fprintf(stderr, "%s: --ip, --selector and --smtp-port go with "
		    "--check-domain DOMAIN, which takes no PATH, --offline, "
		    "--keys, --trusted or --at\n", PROG);
		exit(2);
	}
	for (i = 0; i < r->oopts.nforward; i++)
		o->forward[i] = r->oopts.forward[i];
	o->nforward = r->oopts.nforward;
	o->timeout = r->oopts.timeout;
	if (checkdom_run(o, &cd, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: --check-domain %s\n", PROG, err);
		exit(2);
	}
	if (r->ro.json)
		checkdom_json(&cd, &b);
	else
		checkdom_text(&cd, &b, text_width());
	fwrite(b.p, 1, b.len, stdout);
	if (r->html_path != NULL && html_checkdom(r->html_path, &cd, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: --html %s\n", PROG, err);
		exit(2);
	}
	i = cd.nfail > 0;
	checkdom_free(&cd);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: writing the report: %s\n", PROG,
		    strerror(errno));
		return 2;
	}
	return i;
}

static double
secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
progress(struct run *r, const struct mailbox *mb, int force)
{
	struct timespec now;
	uint64_t done, total, bytes;
	unsigned long n;
	double el, rate, mbs;
	char eta[32] = "";

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && secs(&r->last, &now) < 0.25)
		return;
	r->last = now;
	el = secs(&r->t0, &now);
	if (el <= 0)
		return;
	mailbox_progress(mb, &done, &total, &bytes);
	pthread_mutex_lock(&r->wmu);
	n = r->n;
	pthread_mutex_unlock(&r->wmu);
	rate = (double)n / el;
	mbs = (double)(r->bytes + bytes) / el / 1e6;
	if (total > 0 && done > 0 && done <= total) {
		double left = (double)(total - done) * (el / (double)done);

		snprintf(eta, sizeof(eta), ", %.0f%%, ETA %.0fs",
		    100.0 * (double)done / (double)total, left);
	}
	fprintf(stderr, "\r%s: %lu messages, %.1f MB, %.0f msg/s, %.1f MB/s%s"
	    "\033[K", PROG, n, (double)(r->bytes + bytes) / 1e6, rate, mbs,
	    eta);
}

static void
origin_for(struct run *r, struct chain *c)
{
	char err[256];

	if (c->boundary_hop == 0 || c->origin_ip[0] == '\0')
		return;
	if (r->offline) {
		snprintf(c->eval_note, sizeof(c->eval_note), "offline: iprev "
		    "and SPF of the origin not evaluated");
		return;
	}
	if (r->origin == NULL && !r->dns_failed) {
		r->origin = origin_new(&r->oopts, err, sizeof(err));
		if (r->origin == NULL) {
			r->dns_failed = 1;
			snprintf(r->dns_note, sizeof(r->dns_note), "no DNS "
			    "(%.200s): iprev and SPF not evaluated", err);
			fprintf(stderr, "%s: DNS unavailable: %s\n", PROG, err);
		}
	}
	if (r->origin == NULL) {
		snprintf(c->eval_note, sizeof(c->eval_note), "%s", r->dns_note);
		return;
	}
	origin_check(r->origin, c);
}

/* Everything but the output: thread-safe. */
static void
verify(struct run *r, struct hdr *h, struct chain *c, const char *data,
    size_t len, int flags)
{
	if (tctx == NULL)
		tctx = dkim_ctx_new();
	hdr_parse(h, data, len);
	chain_build(c, &r->cfg, h, flags, r->now);
	dkim_verify(tctx, r->keys_db, h, data, len, r->has_at ? r->at :
	    chain_received_time(c, r->now), r->now, &c->dkim);
	arc_verify(tctx, r->keys_db, h, data, len, &c->arc);
	chain_auth(c, r->has_at ? r->at : r->now);
	pthread_mutex_lock(&r->origin_mu);
	origin_for(r, c);
	pthread_mutex_unlock(&r->origin_mu);
	align_check(c, h, r->keys_db);
	claims_check(c, h);
	chain_finish(c);
}

static void
count(struct run *r, const struct chain *c, const char *source, long index)
{
	int i;

	for (i = 0; i < c->nf; i++)
		if (c->f[i].sev == CHAIN_ERROR)
			fprintf(stderr, "%s: %s:%ld: %s\n", PROG, source,
			    index, c->f[i].text);
	r->n++;
	summary_add(&r->sum, c);
	atomic_store(&r->dirty, 1);
}

/* Verify a claimed slot and format its report; without r->mu. */
static void
verify_slot(struct run *r, struct slot *s)
{
	verify(r, &s->h, &s->c, s->data, s->len, s->flags);
	s->out.len = 0;
	report_message_buf(&r->ro, &s->out, s->source, s->index, &s->c);
	if (r->html != NULL) {
		s->hsec.len = 0;
		html_message_buf(&s->hsec, s->source, s->index, &s->c);
	}
}

/* Claim the next filled slot, verify it, mark it done; r->mu is held on
 * entry and on return. */
static void
claim_one(struct run *r)
{
	struct slot *s = &r->slots[r->claim++ % r->nring];

	pthread_mutex_unlock(&r->mu);
	verify_slot(r, s);
	pthread_mutex_lock(&r->mu);
	s->done = 1;
	if (r->waiting)
		pthread_cond_signal(&r->fin);
}

static void *
worker(void *arg)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->claim == r->tail && !r->quit)
			pthread_cond_wait(&r->go, &r->mu);
		if (r->claim == r->tail)
			break;			/* quit, and nothing left */
		claim_one(r);
	}
	pthread_mutex_unlock(&r->mu);
	dkim_ctx_free(tctx);
	tctx = NULL;
	return NULL;
}

static int
ring_full(const struct run *r)
{
	return r->tail - r->head == r->nring || r->ring_bytes >= RING_BYTES;
}

/* Write the verified slots at the head of the ring, in order, and no
 * more: the main thread between messages, the flusher thread every
 * FLUSH_MS (a slot finished while the main thread reads a slow pipe or
 * verifies a slow message is not held back). r->wmu makes one writer at
 * a time; r->mu is taken only to look at the ring. */
static void
write_done(struct run *r)
{
	struct slot *s;

	pthread_mutex_lock(&r->wmu);
	pthread_mutex_lock(&r->mu);
	while (r->head < r->tail &&
	    (s = &r->slots[r->head % r->nring])->done) {
		pthread_mutex_unlock(&r->mu);
		fwrite(s->out.p, 1, s->out.len, r->ro.out);
		if (r->html != NULL)
			html_write(r->html, &s->c, s->hsec.p, s->hsec.len);
		count(r, &s->c, s->source, s->index);
		mailbox_release(s->hold);
		s->hold = NULL;
		pthread_mutex_lock(&r->mu);
		r->ring_bytes -= s->len;
		r->head++;
		if (r->waiting)
			pthread_cond_signal(&r->fin);	/* room in the ring */
	}
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_unlock(&r->wmu);
}

/* Write what is done, then until the ring is empty (all), else until it
 * has room for one more message: the main thread verifies the slots no
 * thread has claimed, and waits only when every slot is being verified. */
static void
drain(struct run *r, int all)
{
	for (;;) {
		write_done(r);
		pthread_mutex_lock(&r->mu);
		if (all ? r->head == r->tail : !ring_full(r))
			break;
		if (r->claim < r->tail)
			claim_one(r);
		else if (!(r->head < r->tail &&
		    r->slots[r->head % r->nring].done)) {
			r->waiting = 1;
			pthread_cond_wait(&r->fin, &r->mu);
			r->waiting = 0;
		}
		pthread_mutex_unlock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
}

/* The next slot to fill, once the ring has room. */
static struct slot *
ring_slot(struct run *r)
{
	int full;

	pthread_mutex_lock(&r->mu);
	full = ring_full(r);
	pthread_mutex_unlock(&r->mu);
	if (full)
		drain(r, 0);
	return &r->slots[r->tail % r->nring];
}

/* Hand the filled slot to the threads. */
static void
ring_push(struct run *r, struct slot *s)
{
	s->done = 0;
	pthread_mutex_lock(&r->mu);
	r->ring_bytes += s->len;
	r->tail++;
	pthread_cond_signal(&r->go);
	pthread_mutex_unlock(&r->mu);
}

static void
one_message(struct run *r, struct hdr *h, struct chain *c,
    const struct mailbox_msg *msg, int64_t now)
{
	(void)now;
	verify(r, h, c, msg->data, msg->len, msg->flags);
	report_message(&r->ro, msg->source, msg->index, c);
	if (r->html != NULL) {
		r->hbuf.len = 0;
		html_message_buf(&r->hbuf, msg->source, msg->index, c);
		html_write(r->html, c, r->hbuf.p, r->hbuf.len);
	}
	count(r, c, msg->source, msg->index);
}

/* The message into the ring: its bytes where the mailbox read them (held
 * until the slot is written), a copy of its file's name (the mailbox may
 * be closed before). */
static void
queue_message(struct run *r, struct mailbox *mb,
    const struct mailbox_msg *msg)
{
	struct slot *s = ring_slot(r);
	size_t n;

	s->hold = mailbox_hold(mb);
	s->data = msg->data;
	s->len = msg->len;
	n = strlen(msg->source) + 1;
	if (s->srccap < n) {
		free(s->source);
		s->srccap = n + 64;
		s->source = xmalloc(s->srccap);
	}
	memcpy(s->source, msg->source, n);
	s->index = msg->index;
	s->flags = msg->flags;
	ring_push(r, s);
	write_done(r);
}

static void
one_path(struct run *r, const char *path, struct hdr *h, struct chain *c,
    int64_t now)
{
	struct mailbox *mb;
	struct mailbox_msg msg;
	char err[512];
	uint64_t done, total, bytes;
	long bad = 0;
	int rc;

	if ((mb = mailbox_open(path, err, sizeof(err))) == NULL) {
		if (r->jobs > 1)
			drain(r, 1);	/* in order after what came before */
		fprintf(stderr, "%s: %s: %s\n", PROG, path, err);
		report_unreadable(&r->ro, path, 0, err);
		atomic_store(&r->dirty, 1);
		if (r->html != NULL)
			html_unreadable(r->html, path, 0, err);
		r->io_error = 1;
		r->nunread++;
		return;
	}
	while ((rc = mailbox_next(mb, &msg, err, sizeof(err))) != 0) {
		if (rc < 0) {
			if (r->jobs > 1)
				drain(r, 1);	/* in order, as below */
			fprintf(stderr, "%s: %s:%ld: %s\n", PROG, path, bad,
			    err);
			r->io_error = 1;
			report_unreadable(&r->ro, path, bad, err);
			atomic_store(&r->dirty, 1);
			if (r->html != NULL)
				html_unreadable(r->html, path, bad, err);
			bad++;
			r->nunread++;
			if (mailbox_type(mb) == MAILBOX_MBOX ||
			    mailbox_type(mb) == MAILBOX_FILE)
				break;
			continue;
		}
		if (r->jobs > 1)
			queue_message(r, mb, &msg);
		else
			one_message(r, h, c, &msg, now);
		if (r->progress && (++r->nqueued & 63) == 0)
			progress(r, mb, 0);
	}
	if (r->progress)
		progress(r, mb, 1);
	mailbox_progress(mb, &done, &total, &bytes);
	r->bytes += bytes;
	if (mailbox_skipped(mb) > 0)
		fprintf(stderr, "%s: %s: %zu files left out: only *.eml files "
		    "of a directory are read\n", PROG, path,
		    mailbox_skipped(mb));
	mailbox_close(mb);
}

static void
add_trusted(struct run *r, const char *arg)
{
	char err[256];
	struct netaddr_cidr cidr;

	if (netaddr_cidr_parse(arg, &cidr, err, sizeof(err)) == 0) {
		if (r->cfg.nets == NULL)
			r->cfg.nets = netaddr_list_new();
		if (netaddr_list_add(r->cfg.nets, arg, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: --trusted %s: %s\n", PROG, arg,
			    err);
			exit(2);
		}
		return;
	}
	if (strchr(arg, '/') != NULL || arg[0] == '\0' ||
	    strlen(arg) > DNS_NAME_MAX) {
		fprintf(stderr, "%s: --trusted %s: not a CIDR or host name\n",
		    PROG, arg);
		exit(2);
	}
	if (chain_cfg_add_host(&r->cfg, arg) != 0) {
		fprintf(stderr, "%s: --trusted: more than %d host names\n",
		    PROG, CHAIN_TRUSTED_MAX);
		exit(2);
	}
}

/* The terminal's width for the text output; $COLUMNS when stdout is not
 * a terminal; else 0: no limit (a file keeps every line whole). */
static int
text_width(void)
{
	struct winsize ws;
	const char *e;
	long v;

	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if ((e = getenv("COLUMNS")) != NULL && (v = strtol(e, NULL, 10)) > 0 &&
	    v < 10000)
		return (int)v;
	return 0;
}

/* Every FLUSH_MS, write out what the main thread wrote since: a slow
 * message (a resolver that does not answer) holds back nothing before it,
 * and a run killed halfway keeps what was done. stdio locks the FILEs. */
static void *
flusher(void *arg)
{
	struct run *r = arg;
	struct timespec t;

	pthread_mutex_lock(&r->flush_mu);
	while (!r->flush_quit) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += FLUSH_MS * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->flush_cv, &r->flush_mu, &t);
		if (r->jobs > 1 && !r->flush_quit)
			write_done(r);
		if (atomic_exchange(&r->dirty, 0)) {
			fflush(r->ro.out);
			if (r->html != NULL)
				html_flush(r->html);
		}
	}
	pthread_mutex_unlock(&r->flush_mu);
	return NULL;
}

/* The end of a text run of several messages: counts per verdict, where
 * the mail that is not authenticated comes from. */
static void
text_summary(struct run *r)
{
	struct summary_count top[SUMMARY_TOP_MAX];
	const struct summary *s = &r->sum;
	static const char *const what[2] = {
		"origins", "From: domains",
	};
	int i, k, n;

	printf("Summary: %lu messages: %lu authenticated, %lu "
	    "unauthenticated, %lu suspicious, %lu forged\n", s->n,
	    s->nverdict[CHAIN_AUTHENTICATED],
	    s->nverdict[CHAIN_UNAUTHENTICATED],
	    s->nverdict[CHAIN_SUSPICIOUS], s->nverdict[CHAIN_FORGED]);
	if (s->nverdict[CHAIN_AUTHENTICATED] == s->n)
		return;
	for (k = 0; k < 2; k++) {
		n = summary_top(s, (enum summary_what)k, top, 5);
		printf("  most frequent %s of mail not authenticated:", what[k]);
		for (i = 0; i < n; i++)
			printf("%s %s (%lu)", i ? "," : "", top[i].key,
			    top[i].n);
		if (s->other[k])
			printf(", %lu more not counted", s->other[k]);
		putchar('\n');
	}
}

/* --at: "2024-05-01T10:00:00Z" (any RFC 3339 offset, or a date alone:
 * midnight UTC) or Unix seconds. */
static int
parse_at(const char *s, int64_t *t)
{
	struct tm tm;
	char *end;
	long long v;
	int off = 0, oh, om;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0 && v >= 0) {
		*t = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*end == 'T' || *end == 't' || *end == ' ') {
		if ((end = strptime(end + 1, "%H:%M", &tm)) == NULL)
			return -1;
		if (*end == ':' && (end = strptime(end + 1, "%S", &tm)) ==
		    NULL)
			return -1;
		if (*end == 'Z' || *end == 'z')
			end++;
		else if ((*end == '+' || *end == '-') && strlen(end) == 6 &&
		    isdigit((unsigned char)end[1]) &&
		    isdigit((unsigned char)end[2]) && end[3] == ':' &&
		    isdigit((unsigned char)end[4]) &&
		    isdigit((unsigned char)end[5])) {
			oh = (end[1] - '0') * 10 + (end[2] - '0');
			om = (end[4] - '0') * 10 + (end[5] - '0');
			if (oh > 23 || om > 59)
				return -1;
			off = (oh * 60 + om) * 60 * (*end == '-' ? -1 : 1);
			end += 6;
		}
	}
	if (*end != '\0')
		return -1;
	*t = (int64_t)timegm(&tm) - off;
	return 0;
}

/* -V: ours, and the libraries' as linked (SPEC 3.1). */
static void
version(void)
{
	printf("%s %s\n", PROG, RT_VERSION);
	printf("libevent %s\n", event_get_version());
	printf("libunbound %s\n", ub_version());
	printf("libspf2 %d.%d.%d\n", SPF_LIB_VERSION_MAJOR,
	    SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libpsl %s\n", psl_get_version());
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dns-forward", required_argument, NULL, 'd' },
		{ "keys", required_argument, NULL, 'k' },
		{ "offline", no_argument, NULL, 'o' },
		{ "trusted", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "at", required_argument, NULL, 'a' },
		{ "html", required_argument, NULL, 'H' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-domain", required_argument, NULL, 'C' },
		{ "ip", required_argument, NULL, 'I' },
		{ "selector", required_argument, NULL, 'S' },
		{ "smtp-port", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	static struct checkdom_opts cdo;
	static struct run r;
	static struct chain c;
	struct hdr h;
	struct timespec t1;
	int ch, i, progress_set = -1;
	char *end;
	double el;
	static char outbuf[1 << 20];
	int64_t now = (int64_t)time(NULL);
	struct keys_opts ko;
	char kerr[512];
	pthread_t *th = NULL, flush_th;

	spfworker_run_if_asked(argc, argv);	/* a started SPF worker */
	memset(&h, 0, sizeof(h));
	r.jobs = 0;
	while ((ch = getopt_long(argc, argv, "Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			r.ro.json = 1;
			break;
		case 'd':
			if (r.oopts.nforward >= DNS_FORWARD_MAX) {
				fprintf(stderr, "%s: more than %d "
				    "--dns-forward\n", PROG, DNS_FORWARD_MAX);
				exit(2);
			}
			r.oopts.forward[r.oopts.nforward++] = optarg;
			break;
		case 'k':
			if (access(optarg, R_OK) != 0) {
				fprintf(stderr, "%s: --keys %s: %s\n", PROG,
				    optarg, strerror(errno));
				exit(2);
			}
			r.keys = optarg;
			break;
		case 'o':
			r.offline = 1;
			break;
		case 't':
			add_trusted(&r, optarg);
			break;
		case 'J':
			errno = 0;
			r.jobs = (int)strtol(optarg, &end, 10);
			if (errno || *end || r.jobs < 1 || r.jobs > JOBS_MAX) {
				fprintf(stderr, "%s: --jobs %s: want 1..%d\n",
				    PROG, optarg, JOBS_MAX);
				exit(2);
			}
			break;
		case 'a':
			if (parse_at(optarg, &r.at) != 0) {
				fprintf(stderr, "%s: --at %s: want an ISO 8601 "
				    "time (2024-05-01T10:00:00Z) or a Unix "
				    "time\n", PROG, optarg);
				exit(2);
			}
			r.has_at = 1;
			break;
		case 'H':
			r.html_path = optarg;
			break;
		case 'p':
			progress_set = 1;
			break;
		case 'P':
			progress_set = 0;
			break;
		case 'V':
			version();
			return 0;
		case 'C':
		case 'I':
		case 'S':
		case 'M':
			checkdom_opt(&cdo, ch, optarg);
			break;
		default:
			usage();
		}
	}
	if (cdo.domain != NULL || cdo.nips > 0 || cdo.nselectors > 0 ||
	    cdo.smtp_port > 0)
		return check_domain(&cdo, &r, argc - optind);
	if (r.offline && r.oopts.nforward > 0) {
		fprintf(stderr, "%s: --offline and --dns-forward contradict each "
		    "other: --offline makes no DNS query\n", PROG);
		exit(2);
	}
	if (r.jobs == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		r.jobs = ncpu < 1 ? 1 : ncpu > JOBS_MAX ? JOBS_MAX : (int)ncpu;
	}
	memset(&ko, 0, sizeof(ko));
	ko.file = r.keys;
	ko.offline = r.offline;
	for (i = 0; i < r.oopts.nforward; i++)
		ko.forward[i] = r.oopts.forward[i];
	ko.nforward = r.oopts.nforward;
	ko.timeout = r.oopts.timeout;
	if ((r.keys_db = keys_new(&ko, kerr, sizeof(kerr))) == NULL) {
		fprintf(stderr, "%s: --keys %s\n", PROG, kerr);
		exit(2);
	}
	r.now = now;
	summary_init(&r.sum);
	if (r.html_path != NULL &&
	    (r.html = html_open(r.html_path, kerr, sizeof(kerr))) == NULL) {
		fprintf(stderr, "%s: --html %s\n", PROG, kerr);
		exit(2);
	}
	pthread_mutex_init(&r.origin_mu, NULL);
	pthread_mutex_init(&r.mu, NULL);
	pthread_mutex_init(&r.wmu, NULL);
	pthread_cond_init(&r.go, NULL);
	pthread_cond_init(&r.fin, NULL);
	if (r.jobs > 1) {
		r.nring = (unsigned long)r.jobs * RING_PER_JOB;
		if (r.nring < 32)
			r.nring = 32;
		if (r.nring > RING_MSGS)
			r.nring = RING_MSGS;
		r.slots = xcalloc(r.nring, sizeof(*r.slots));
		th = xcalloc((size_t)r.jobs - 1, sizeof(*th));
		for (i = 0; i < r.jobs - 1; i++)
			if (pthread_create(&th[i], NULL, worker, &r) != 0) {
				fprintf(stderr, "%s: cannot start threads\n",
				    PROG);
				exit(2);
			}
	}
	r.progress = progress_set >= 0 ? progress_set : isatty(2);
	r.ro.out = stdout;
	r.ro.color = !r.ro.json && isatty(1) && getenv("NO_COLOR") == NULL;
	r.ro.width = text_width();
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	r.last = r.t0;
	pthread_mutex_init(&r.flush_mu, NULL);
	pthread_cond_init(&r.flush_cv, NULL);
	if (pthread_create(&flush_th, NULL, flusher, &r) != 0) {
		fprintf(stderr, "%s: cannot start threads\n", PROG);
		exit(2);
	}

	if (optind == argc)
		one_path(&r, "-", &h, &c, now);
	for (i = optind; i < argc; i++)
		one_path(&r, argv[i], &h, &c, now);
	if (r.jobs > 1)
		drain(&r, 1);
	pthread_mutex_lock(&r.flush_mu);
	r.flush_quit = 1;
	pthread_cond_signal(&r.flush_cv);
	pthread_mutex_unlock(&r.flush_mu);
	pthread_join(flush_th, NULL);

	if (r.jobs > 1) {
		pthread_mutex_lock(&r.mu);
		r.quit = 1;
		pthread_cond_broadcast(&r.go);
		pthread_mutex_unlock(&r.mu);
		for (i = 0; i < r.jobs - 1; i++)
			pthread_join(th[i], NULL);
		free(th);
		for (i = 0; i < (int)r.nring; i++) {
			free(r.slots[i].source);
			report_buf_free(&r.slots[i].out);
			report_buf_free(&r.slots[i].hsec);
			hdr_free(&r.slots[i].h);
			chain_free(&r.slots[i].c);
		}
		free(r.slots);
	}
	dkim_ctx_free(tctx);
	tctx = NULL;
	report_buf_free(&r.hbuf);
	if (!r.ro.json && r.n > 1)
		text_summary(&r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: writing output: %s\n", PROG,
		    strerror(errno));
		r.io_error = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = secs(&r.t0, &t1);
	if (r.progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s: %lu messages: %lu authenticated, %lu "
	    "unauthenticated, %lu suspicious, %lu forged; %.1f MB in %.2f s "
	    "(%.0f msg/s, %.1f MB/s)\n", PROG, r.n,
	    r.sum.nverdict[CHAIN_AUTHENTICATED],
	    r.sum.nverdict[CHAIN_UNAUTHENTICATED],
	    r.sum.nverdict[CHAIN_SUSPICIOUS], r.sum.nverdict[CHAIN_FORGED],
	    (double)r.bytes / 1e6, el,
	    el > 0 ? (double)r.n / el : 0.0,
	    el > 0 ? (double)r.bytes / el / 1e6 : 0.0);
	if (r.nunread > 0)
		fprintf(stderr, "%s: %lu messages or paths could not be read "
		    "(above)\n", PROG, r.nunread);
	if (r.n == 0 && !r.io_error) {
		fprintf(stderr, "%s: no message in the input\n", PROG);
		r.io_error = 1;
	}
	r.sum.nunread = r.nunread;
	if (r.html != NULL && html_close(r.html, &r.sum, kerr,
	    sizeof(kerr)) != 0) {
		fprintf(stderr, "%s: --html %s: %s\n", PROG, r.html_path, kerr);
		r.io_error = 1;
	}

	origin_free(r.origin);
	keys_free(r.keys_db);
	chain_free(&c);
	hdr_free(&h);
	for (i = 0; i < r.cfg.nhosts; i++)
		free(r.cfg.hosts[i]);
	netaddr_list_free(r.cfg.nets);
	i = r.sum.nverdict[CHAIN_AUTHENTICATED] == r.n ? 0 : 1;
	summary_free(&r.sum);
	return r.io_error ? 2 : i;
}
