/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spfworker 3
 * SUMMARY
 *	sandboxed libspf2 worker process and its message codec
 * SYNOPSIS
 *	#include "shared/spfworker.h"
 *
 *	void spfworker_main(int fd, const char *receiver);
 *	int spfworker_sandbox(char *err, size_t errlen);
 *	int spfworker_eval_local(const struct spfw_msg *eval,
 *		const char *receiver, spfworker_ask ask, void *arg,
 *		struct spfw_msg *res);
 *	spfw_begin(), spfw_put_*(), spfw_finish(), spfw_rd_begin(),
 *	spfw_get_*(), spfw_rd_end()
 * DESCRIPTION
 *	A worker is started by spfpool(3) with posix_spawn(): the worker
 *	program, else a fresh copy of the running one (/proc/self/exe),
 *	never a fork of the threaded daemon (only under valgrind, which
 *	must follow it). It keeps only its end of the
 *	socketpair, sets resource limits, PR_SET_NO_NEW_PRIVS and a
 *	seccomp allow-list built with libseccomp for the architecture it
 *	runs on (read, write, memory, time, exit and what abort() needs;
 *	mmap/mprotect without PROT_EXEC; kill, tkill, tgkill and the
 *	sigqueue calls only at the worker itself), then evaluates
 *	EVAL requests with libspf2, up to SPFW_EVALS_MAX at once: each
 *	evaluation runs on its own stack (a ucontext coroutine with a
 *	guard page) and yields to the loop when it sends a LOOKUP; the
 *	loop resumes it when the ANSWER with its id arrives. libspf2 is
 *	single-threaded code and stays so: only one evaluation runs at a
 *	time, and they interleave only inside our lookup().
 *
 *	libspf2 gets a DNS layer of ours as its only resolver: lookup()
 *	sends (type, name) to the parent and blocks for the answer; the
 *	parent (spfpool.c) has already selected, validated and rewritten
 *	SPF records, counted the RFC 7208 limits and decided errors, so
 *	what libspf2 sees is always a record it can compile correctly.
 *	The parent looks the checked domain's record up before it sends
 *	the EVAL and sends it along: it answers libspf2's first TXT
 *	lookup of that domain without a round trip.
 *	get_exp() returns a constant: libspf2 never compiles explanation
 *	text from DNS (CVE-2023-42118 via exp=).
 *
 *	Where the rules are enforced:
 *	- record syntax, TXT selection, /0, redirect= position, the term,
 *	  void and MX limits, PTR names beyond 10, DNS errors: the parent
 *	  (the layer decides; see spfpool.c);
 *	- IPv4-mapped clients: the parent sends them as IPv4;
 *	- malformed identities: the parent answers none without a worker;
 *	- everything else (mechanism matching, macro expansion, include
 *	  and redirect semantics): libspf2 here.
 *
 *	libspf2's SPF_error() is fatal by design; our handler _exit()s and
 *	the pool answers temperror. Warnings and debug output are dropped.
 * DIAGNOSTICS
 *	The worker exits on any codec error, EOF or write error; it never
 *	writes anything but protocol messages. A system call outside the
 *	allow-list, or a signal meant for another process, kills it with
 *	SIGSYS (the pool answers temperror and starts another).
 * LIMITS
 *	SPFW_MSG_MAX bytes per message, SPFW_RR_MAX records per answer,
 *	SPFW_AS_MAX address space, SPFW_CPU_MAX CPU seconds per process;
 *	SPFW_EVALS_MAX evaluations at once, SPFW_STACK_MAX stack each.
 *--*/
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ucontext.h>
#include <unistd.h>

#include <seccomp.h>
#include <spf2/spf.h>

#include "shared/spf.h"
#include "shared/spfworker.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPFW_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPFW_SANITIZED	1
#endif
#endif
#ifndef SPFW_SANITIZED
#define SPFW_SANITIZED	0
#endif

#if SPFW_SANITIZED
/* AddressSanitizer must be told about every switch of stacks. */
void	__sanitizer_start_switch_fiber(void **, const void *, size_t);
void	__sanitizer_finish_switch_fiber(void *, const void **, size_t *);
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SPFW_VALGRIND	1
#endif
#endif

#define WORKER_FD	SPFW_FD
#define EXP_TEXT	"SPF check failed"
#define STR_MAX		(SPF_REWRITE_MAX + 16)

/* ---- codec -------------------------------------------------------- */

void
spfw_begin(struct spfw_msg *m, enum spfw_type type)
{
	m->len = 0;
	m->overflow = 0;
	spfw_put_u32(m, 0);
	spfw_put_u32(m, (uint32_t)type);
	spfw_put_u32(m, 0);
}

void
spfw_set_id(struct spfw_msg *m, uint32_t id)
{
	if (m->len < 12)
		return;
	m->b[8] = (unsigned char)(id >> 24);
	m->b[9] = (unsigned char)(id >> 16);
	m->b[10] = (unsigned char)(id >> 8);
	m->b[11] = (unsigned char)id;
}

void
spfw_put_bytes(struct spfw_msg *m, const void *p, size_t n)
{
	if (m->overflow || n > sizeof(m->b) - m->len) {
		m->overflow = 1;
		return;
	}
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

void
spfw_put_u8(struct spfw_msg *m, uint8_t v)
{
	spfw_put_bytes(m, &v, 1);
}

void
spfw_put_u16(struct spfw_msg *m, uint16_t v)
{
	unsigned char b[2] = { v >> 8, v & 0xff };

	spfw_put_bytes(m, b, 2);
}

void
spfw_put_u32(struct spfw_msg *m, uint32_t v)
{
	unsigned char b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
	    v & 0xff };

	spfw_put_bytes(m, b, 4);
}

void
spfw_put_str(struct spfw_msg *m, const void *p, size_t n)
{
	if (n > 0xffff) {
		m->overflow = 1;
		return;
	}
	spfw_put_u16(m, (uint16_t)n);
	spfw_put_bytes(m, p, n);
}

int
spfw_finish(struct spfw_msg *m)
{
	if (m->overflow || m->len < 12)
		return -1;
	m->b[0] = (unsigned char)(m->len >> 24);
	m->b[1] = (unsigned char)(m->len >> 16);
	m->b[2] = (unsigned char)(m->len >> 8);
	m->b[3] = (unsigned char)m->len;
	return 0;
}

int
spfw_get_bytes(struct spfw_rd *r, void *out, size_t n)
{
	if (r->err || n > r->left) {
		r->err = 1;
		return -1;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

uint8_t
spfw_get_u8(struct spfw_rd *r)
{
	unsigned char b[1] = { 0 };

	spfw_get_bytes(r, b, 1);
	return b[0];
}

uint16_t
spfw_get_u16(struct spfw_rd *r)
{
	unsigned char b[2] = { 0, 0 };

	spfw_get_bytes(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t
spfw_get_u32(struct spfw_rd *r)
{
	unsigned char b[4] = { 0, 0, 0, 0 };

	spfw_get_bytes(r, b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

int
spfw_get_str(struct spfw_rd *r, char *out, size_t outlen)
{
	uint16_t n = spfw_get_u16(r);

	if (r->err || (size_t)n >= outlen || n > r->left) {
		r->err = 1;
		return -1;
	}
	spfw_get_bytes(r, out, n);
	out[n] = '\0';
	if (memchr(out, '\0', n) != NULL) {
		r->err = 1;
		return -1;
	}
	return 0;
}

int
spfw_rd_begin(struct spfw_rd *r, const void *buf, size_t n)
{
	uint32_t len, type;

	r->p = buf;
	r->left = n;
	r->err = 0;
	r->id = 0;
	len = spfw_get_u32(r);
	if (r->err || len != n)
		return r->err = 1, -1;
	type = spfw_get_u32(r);
	r->id = spfw_get_u32(r);
	if (r->err || type > 0xff)
		return r->err = 1, -1;
	return (int)type;
}

int
spfw_rd_end(struct spfw_rd *r)
{
	return r->err || r->left != 0 ? -1 : 0;
}

/* ---- the proxy DNS layer ------------------------------------------ */

struct proxy {
	int	fd;			/* -1 in local mode */
	spfworker_ask ask;
	void	*arg;
};

static struct spfw_msg qmsg, amsg;	/* one lookup at a time */
static char strbuf[STR_MAX];

/* The record an EVAL brought: the answer to the evaluation's first TXT
 * lookup, when that is of the checked domain. */
struct preload {
	const char *domain;		/* NULL: none, or used */
	const char *record;
};

/* Worker mode: one coroutine per evaluation in flight (see
 * spfworker_main()). A coroutine sends its LOOKUP and yields; the loop
 * resumes it when the ANSWER with its id arrives. */
struct coro {
	struct preload pre;
	ucontext_t ctx;
	unsigned char *stack;		/* NULL until first used */
	int	busy;			/* an evaluation runs on it */
	int	waiting;		/* sent a LOOKUP, no ANSWER yet */
};

static struct coro coros[SPFW_EVALS_MAX];
static struct coro *running;		/* NULL: the loop runs */
static struct preload local_pre;	/* local mode's (one at a time) */
static ucontext_t loop_ctx;

static void
fatal(int code)
{
	_exit(code);
}

static void coro_yield(void);

static int
transact(struct proxy *px)
{
	if (px->ask != NULL)
		return px->ask(px->arg, &qmsg, &amsg);
	spfw_set_id(&qmsg, (uint32_t)(running - coros));
	if (write(px->fd, qmsg.b, qmsg.len) != (ssize_t)qmsg.len)
		return -1;
	running->waiting = 1;
	coro_yield();			/* back with amsg filled */
	return 0;
}

static SPF_dns_rr_t *
proxy_fail(struct proxy *px, SPF_dns_server_t *s, const char *domain,
    ns_type type)
{
	if (px->fd >= 0)
		fatal(3);	/* the parent is gone or spoke nonsense */
	return SPF_dns_rr_new_init(s, domain, type, 0, NO_RECOVERY);
}

/* The length of name without its trailing dot. */
static size_t
name_len(const char *name)
{
	size_t	n = strlen(name);

	return n > 0 && name[n - 1] == '.' ? n - 1 : n;
}

/* The first TXT lookup of the evaluation: when it is of the checked
 * domain, put the record the EVAL brought in amsg and return 1. */
static int
preload_take(const char *domain, ns_type type)
{
	struct preload *p = running != NULL ? &running->pre : &local_pre;
	const char *want = p->domain;
	size_t	n = name_len(domain);

	if (type != ns_t_txt || want == NULL)
		return 0;
	p->domain = NULL;
	if (n != name_len(want) || strncasecmp(domain, want, n) != 0)
		return 0;
	spfw_begin(&amsg, SPFW_ANSWER);
	spfw_put_u32(&amsg, SPFW_ST_OK);
	spfw_put_u16(&amsg, 1);
	spfw_put_str(&amsg, p->record, strlen(p->record));
	return spfw_finish(&amsg) == 0;
}

static SPF_dns_rr_t *
proxy_lookup(SPF_dns_server_t *s, const char *domain, ns_type type,
    int should_cache)
{
	static const int herr[] = { NETDB_SUCCESS, HOST_NOT_FOUND, NO_DATA,
	    TRY_AGAIN, NO_RECOVERY };
	struct proxy *px = s->hook;
	struct spfw_rd rd;
	SPF_dns_rr_t *rr;
	uint32_t st;
	uint16_t count, i;
	size_t	n;

	(void)should_cache;
	if (domain == NULL)
		domain = "";
	n = strlen(domain);
	if (!preload_take(domain, type)) {
		spfw_begin(&qmsg, SPFW_LOOKUP);
		spfw_put_u16(&qmsg, (uint16_t)type);
		spfw_put_str(&qmsg, domain, n > SPFW_NAME_MAX ?
		    SPFW_NAME_MAX : n);
		if (spfw_finish(&qmsg) < 0 || transact(px) < 0)
			return proxy_fail(px, s, domain, type);
	}
	if (spfw_rd_begin(&rd, amsg.b, amsg.len) != SPFW_ANSWER)
		return proxy_fail(px, s, domain, type);
	st = spfw_get_u32(&rd);
	count = spfw_get_u16(&rd);
	if (rd.err || st > SPFW_ST_NORECOVERY || count > SPFW_RR_MAX ||
	    (st != SPFW_ST_OK && count != 0))
		return proxy_fail(px, s, domain, type);
	rr = SPF_dns_rr_new_init(s, domain, type, 0,
	    count == 0 && st == SPFW_ST_OK ? NO_DATA : herr[st]);
	if (rr == NULL)
		fatal(4);
	for (i = 0; i < count; i++) {
		uint16_t len = spfw_get_u16(&rd);
		size_t	want = type == ns_t_a ? 4 : type == ns_t_aaaa ? 16 : 0;

		if (rd.err || (want && len != want) || len >= sizeof(strbuf) ||
		    spfw_get_bytes(&rd, strbuf, len) < 0 ||
		    (!want && memchr(strbuf, '\0', len) != NULL)) {
			SPF_dns_rr_free(rr);
			return proxy_fail(px, s, domain, type);
		}
		if (SPF_dns_rr_buf_realloc(rr, i, want ? want : len + 1u) !=
		    SPF_E_SUCCESS)
			fatal(4);
		if (type == ns_t_a)
			memcpy(&rr->rr[i]->a, strbuf, 4);
		else if (type == ns_t_aaaa)
			memcpy(&rr->rr[i]->aaaa, strbuf, 16);
		else {
			memcpy(rr->rr[i]->txt, strbuf, len);
			rr->rr[i]->txt[len] = '\0';
		}
		rr->num_rr = i + 1;
	}
	if (spfw_rd_end(&rd) < 0) {
		SPF_dns_rr_free(rr);
		return proxy_fail(px, s, domain, type);
	}
	return rr;
}

/* Never compile explanation text from DNS: a constant instead. */
static SPF_errcode_t
proxy_get_exp(SPF_server_t *srv, const char *domain, char **buf,
    size_t *buflen)
{
	(void)srv;
	(void)domain;
	if (*buf == NULL || *buflen < sizeof(EXP_TEXT)) {
		char	*n = realloc(*buf, sizeof(EXP_TEXT));

		if (n == NULL)
			return SPF_E_NO_MEMORY;
		*buf = n;
		*buflen = sizeof(EXP_TEXT);
	}
	memcpy(*buf, EXP_TEXT, sizeof(EXP_TEXT));
	return SPF_E_SUCCESS;
}

static void
proxy_destroy(SPF_dns_server_t *s)
{
	free(s);
}

static void
log_error(const char *file, int line, const char *msg)
    __attribute__((noreturn));

/* SPF_error() would abort() after this; leave quietly, the pool answers
 * temperror for the evaluation. */
static void
log_error(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
	_exit(70);
}

static void
log_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static SPF_server_t *
server_new(struct proxy *px, const char *receiver)
{
	SPF_dns_server_t *d;
	SPF_server_t *srv;

	SPF_error_handler = log_error;
	SPF_warning_handler = log_quiet;
	SPF_info_handler = log_quiet;
	SPF_debug_handler = log_quiet;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->destroy = proxy_destroy;
	d->lookup = proxy_lookup;
	d->get_exp = proxy_get_exp;
	d->name = "relaytrust-proxy";
	d->hook = px;
	if ((srv = SPF_server_new_dns(d, 0)) == NULL) {
		free(d);
		return NULL;
	}
	if (receiver != NULL && receiver[0] != '\0')
		SPF_server_set_rec_dom(srv, receiver);
	/* The pool counts the RFC 7208 limits across the whole evaluation;
	 * these per-record limits of libspf2 are never the tighter ones. */
	SPF_server_set_max_dns_mech(srv, 10);
	SPF_server_set_max_dns_mx(srv, 10);
	SPF_server_set_max_dns_ptr(srv, 10);
	return srv;
}

/* EVAL in, RESULT out. */
static int
evaluate(SPF_server_t *srv, const struct spfw_msg *in, struct spfw_msg *out)
{
	struct spfw_rd rd;
	unsigned char addr[16];
	char	helo[SPF_DOMAIN_MAX + 3], sender[SPF_LOCAL_MAX +
	    SPF_DOMAIN_MAX + 3], *record = NULL;
	/* Read before the first yield; the copy lives on the heap, not on
	 * each of SPFW_EVALS_MAX stacks. */
	static char rbuf[SPF_REWRITE_MAX + 1];
	struct preload *pre = running != NULL ? &running->pre : &local_pre;
	uint8_t	family;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	int	result;

	if (spfw_rd_begin(&rd, in->b, in->len) != SPFW_EVAL)
		return -1;
	family = spfw_get_u8(&rd);
	spfw_get_bytes(&rd, addr, sizeof(addr));
	spfw_get_str(&rd, helo, sizeof(helo));
	spfw_get_str(&rd, sender, sizeof(sender));
	/* optional: the domain's SPF record */
	if (rd.left > 0 && spfw_get_str(&rd, rbuf, sizeof(rbuf)) == 0 &&
	    rbuf[0] != '\0' && (record = strdup(rbuf)) == NULL)
		fatal(4);
	pre->domain = NULL;
	pre->record = record;
	if (spfw_rd_end(&rd) < 0 || (family != 4 && family != 6)) {
		free(record);
		return -1;
	}
	if ((req = SPF_request_new(srv)) == NULL)
		fatal(4);
	if (family == 4) {
		struct in_addr a4;

		memcpy(&a4, addr, 4);
		err = SPF_request_set_ipv4(req, a4);
	} else {
		struct in6_addr a6;

		memcpy(&a6, addr, 16);
		err = SPF_request_set_ipv6(req, a6);
	}
	if (err == SPF_E_SUCCESS && helo[0] != '\0')
		err = SPF_request_set_helo_dom(req, helo);
	if (err == SPF_E_SUCCESS && SPF_request_set_env_from(req, sender) != 0)
		err = SPF_E_INVALID_CHAR;
	if (err == SPF_E_SUCCESS) {
		/* SPF_request_query_mailfrom() without its "localhost always
		 * passes" shortcut for 127.0.0.0/8 and ::1. */
		SPF_record_t *rec = NULL;

		if ((resp = SPF_response_new(req)) == NULL)
			fatal(4);
		req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
		if (record != NULL && req->cur_dom != NULL)
			pre->domain = req->cur_dom;
		err = SPF_server_get_record(srv, req, resp, &rec);
		if (err != SPF_E_SUCCESS) {
			if (rec != NULL)
				SPF_record_free(rec);
			SPF_i_done(resp, resp->result, resp->reason, resp->err);
		} else {
			resp->spf_record_exp = rec;
			err = SPF_record_interpret(rec, req, resp, 0);
			resp->spf_record_exp = NULL;
			SPF_record_free(rec);
		}
	}
	pre->domain = NULL;
	pre->record = NULL;
	free(record);
	result = resp != NULL ? (int)SPF_response_result(resp) : 0;
	if (err == SPF_E_SUCCESS && resp != NULL)
		err = SPF_response_errcode(resp);
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	spfw_begin(out, SPFW_RESULT);
	spfw_put_u32(out, (uint32_t)result);
	spfw_put_u32(out, (uint32_t)err);
	return spfw_finish(out);
}

int
spfworker_eval_local(const struct spfw_msg *eval, const char *receiver,
    spfworker_ask ask, void *arg, struct spfw_msg *res)
{
	static struct proxy px;
	static SPF_server_t *srv;

	px.fd = -1;
	px.ask = ask;
	px.arg = arg;
	if (srv == NULL && (srv = server_new(&px, receiver)) == NULL)
		return -1;
	return evaluate(srv, eval, res);
}

/* ---- sandbox ------------------------------------------------------ */

/* The allow-list, by name: libseccomp resolves each name for the
 * architecture we run on, so one list serves every Debian port. A name
 * the architecture lacks (time on arm64, mmap2 on 64-bit ports) is
 * skipped; a name every port has must resolve. What the worker needs
 * after setup: read and write on its socket, memory, time, exit, and
 * what abort() needs to deliver SIGABRT to itself. */
#define SB_ANY		0	/* any arguments */
#define SB_NOEXEC	1	/* args[2] (prot) without PROT_EXEC */
#define SB_SELF		2	/* args[0] is our pid (kill, sigqueue) */
#define SB_SELF_TID	3	/* args[0] is our tid (tkill) */
#define SB_SELF_PTID	4	/* args[0] our pid, args[1] our tid */

static const struct sb_rule {
	const char *name;
	int	args;		/* SB_* */
	int	optional;	/* absent on some architectures */
} sb_rules[] = {
	{ "read", SB_ANY, 0 }, { "write", SB_ANY, 0 },
	{ "brk", SB_ANY, 0 }, { "munmap", SB_ANY, 0 },
	{ "mremap", SB_ANY, 0 }, { "madvise", SB_ANY, 0 },
	{ "mmap", SB_NOEXEC, 1 }, { "mmap2", SB_NOEXEC, 1 },
	{ "mprotect", SB_NOEXEC, 0 },
	{ "futex", SB_ANY, 0 }, { "futex_time64", SB_ANY, 1 },
	{ "clock_gettime", SB_ANY, 0 }, { "clock_gettime64", SB_ANY, 1 },
	{ "gettimeofday", SB_ANY, 1 }, { "time", SB_ANY, 1 },
	{ "rt_sigreturn", SB_ANY, 0 }, { "sigreturn", SB_ANY, 1 },
	{ "exit", SB_ANY, 0 }, { "exit_group", SB_ANY, 0 },
	/* abort(): tgkill(getpid(), gettid(), SIGABRT); a signal to any
	 * other process (the daemon, a sibling worker) kills the worker */
	{ "rt_sigprocmask", SB_ANY, 0 }, { "rt_sigaction", SB_ANY, 0 },
	{ "getpid", SB_ANY, 0 }, { "gettid", SB_ANY, 0 },
	{ "tgkill", SB_SELF_PTID, 0 }, { "tkill", SB_SELF_TID, 0 },
	{ "kill", SB_SELF, 0 }, { "rt_sigqueueinfo", SB_SELF, 0 },
	{ "rt_tgsigqueueinfo", SB_SELF_PTID, 0 },
#if SPFW_SANITIZED
	/* make asan: the sanitizer runtime asks for its signal stack */
	{ "sigaltstack", SB_ANY, 0 },
#endif
};

/* One argument comparison, every field set (the SCMP_Ax() macros leave
 * datum_b to the compiler). */
static struct scmp_arg_cmp
arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

/* Add one rule of sb_rules to ctx. Returns 0 (also for an optional name
 * this architecture lacks), or -1 with a reason in err. */
static int
sb_add(scmp_filter_ctx ctx, const struct sb_rule *r, char *err,
    size_t errlen)
{
	scmp_datum_t pid = (scmp_datum_t)getpid();
	scmp_datum_t tid = (scmp_datum_t)gettid();
	int	nr = seccomp_syscall_resolve_name(r->name);
	int	rc = -EINVAL;

	/* __NR_SCMP_ERROR, or a pseudo number: not on this architecture */
	if (nr < 0) {
		if (r->optional)
			return 0;
		snprintf(err, errlen, "seccomp: no system call %s here",
		    r->name);
		return -1;
	}
	switch (r->args) {
	case SB_ANY:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case SB_NOEXEC:
		/* s390's mmap takes its arguments in memory, where a filter
		 * cannot look: there only mprotect is checked */
		if (strcmp(r->name, "mmap") == 0 &&
		    (seccomp_arch_native() == SCMP_ARCH_S390X ||
		    seccomp_arch_native() == SCMP_ARCH_S390)) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
			break;
		}
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case SB_SELF:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)pid, 0));
		break;
	case SB_SELF_TID:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)tid, 0));
		break;
	case SB_SELF_PTID:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
		    arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)pid, 0),
		    arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)tid, 0));
		break;
	}
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: rule for %s: %s", r->name,
		    strerror(-rc));
		return -1;
	}
	return 0;
}

int
spfworker_sandbox(char *err, size_t errlen)
{
	static const struct {
		int	res;
		rlim_t	v;
	} lim[] = {
		{ RLIMIT_AS, SPFW_AS_MAX }, { RLIMIT_CORE, 0 },
		{ RLIMIT_CPU, SPFW_CPU_MAX }, { RLIMIT_NOFILE, 8 },
		{ RLIMIT_NPROC, 0 }, { RLIMIT_FSIZE, 0 },
	};
	scmp_filter_ctx ctx;
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit rl = { lim[i].v, lim[i].v };

		/* AddressSanitizer's shadow memory is terabytes of address
		 * space: under make asan a size limit would starve it. */
		if (lim[i].res == RLIMIT_AS && SPFW_SANITIZED)
			continue;

		if (setrlimit(lim[i].res, &rl) < 0) {
			snprintf(err, errlen, "setrlimit: %s", strerror(errno));
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* Everything not allowed, another architecture's system calls
	 * (x32 on x86-64, say) included, kills the whole worker. */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0) {
		snprintf(err, errlen, "seccomp: bad-arch action: %s",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	for (i = 0; i < sizeof(sb_rules) / sizeof(sb_rules[0]); i++) {
		if (sb_add(ctx, &sb_rules[i], err, errlen) < 0) {
			seccomp_release(ctx);
			return -1;
		}
	}
	rc = seccomp_load(ctx);
	/* after the load: free() needs only munmap, madvise and brk */
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* ---- the worker process ------------------------------------------- */

static struct proxy wpx;
static SPF_server_t *wsrv;		/* static: reachable until _exit */
static struct spfw_msg win, wout;
#if SPFW_SANITIZED
static const void *loop_stack;		/* the loop's stack, for ASan */
static size_t loop_stack_size;
#endif

/* The body of a coroutine: the EVAL is in win (parsed before the first
 * yield), the RESULT goes out with the coroutine's id. */
static void
coro_main(void)
{
	struct coro *c = running;

#if SPFW_SANITIZED
	__sanitizer_finish_switch_fiber(NULL, &loop_stack, &loop_stack_size);
#endif
	if (evaluate(wsrv, &win, &wout) < 0)
		fatal(3);
	spfw_set_id(&wout, (uint32_t)(c - coros));
	if (write(WORKER_FD, wout.b, wout.len) != (ssize_t)wout.len)
		fatal(1);
	c->busy = 0;
#if SPFW_SANITIZED
	__sanitizer_start_switch_fiber(NULL, loop_stack, loop_stack_size);
#endif
	/* returning resumes uc_link: the loop */
}

static void
coro_yield(void)
{
	struct coro *c = running;
#if SPFW_SANITIZED
	void	*fake = NULL;

	__sanitizer_start_switch_fiber(&fake, loop_stack, loop_stack_size);
#endif
	if (swapcontext(&c->ctx, &loop_ctx) < 0)
		fatal(4);
#if SPFW_SANITIZED
	__sanitizer_finish_switch_fiber(fake, &loop_stack, &loop_stack_size);
#endif
}

/* Run c until it yields or ends. */
static void
coro_resume(struct coro *c)
{
#if SPFW_SANITIZED
	void	*fake = NULL;

	__sanitizer_start_switch_fiber(&fake, c->stack + getpagesize(),
	    SPFW_STACK_MAX - (size_t)getpagesize());
#endif
	running = c;
	if (swapcontext(&loop_ctx, &c->ctx) < 0)
		fatal(4);
	running = NULL;
#if SPFW_SANITIZED
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* A new evaluation on slot c: a fresh context on its stack, whose lowest
 * page is a guard. */
static void
coro_start(struct coro *c)
{
	if (c->stack == NULL) {
		c->stack = mmap(NULL, SPFW_STACK_MAX, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (c->stack == MAP_FAILED ||
		    mprotect(c->stack, (size_t)getpagesize(), PROT_NONE) < 0)
			fatal(4);
#ifdef SPFW_VALGRIND
		VALGRIND_STACK_REGISTER(c->stack, c->stack + SPFW_STACK_MAX);
#endif
	}
	if (getcontext(&c->ctx) < 0)
		fatal(4);
	c->ctx.uc_stack.ss_sp = c->stack + getpagesize();
	c->ctx.uc_stack.ss_size = SPFW_STACK_MAX - (size_t)getpagesize();
	c->ctx.uc_link = &loop_ctx;
	makecontext(&c->ctx, coro_main, 0);
	c->busy = 1;
	c->waiting = 0;
	coro_resume(c);
}

void
spfworker_run_if_asked(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], SPFW_ARGV0) == 0)
		spfworker_main(WORKER_FD, argv[1]);
}

/* Under valgrind (RT_VALGRIND=1 test runs) the worker is a forked
 * copy, so valgrind follows it, and has no sandbox: valgrind's own
 * system calls would trip the filter. Everywhere else both, always. */
static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* Sanitizer settings pass to the worker; nothing else of the daemon's
 * environment does (LD_PRELOAD included). */
static int
env_keep(const char *v)
{
	return strncmp(v, "ASAN_OPTIONS=", 13) == 0 ||
	    strncmp(v, "UBSAN_OPTIONS=", 14) == 0 ||
	    strncmp(v, "LSAN_OPTIONS=", 13) == 0;
}

int
spfworker_program_path(const char *exe, char *buf, size_t len)
{
	const char *slash = strrchr(exe, '/');
	size_t	dirlen;
	int	n;

	if (slash == NULL)
		return -1;
	dirlen = (size_t)(slash - exe);
	if ((strlen(RT_SBINDIR) == dirlen &&
	    strncmp(exe, RT_SBINDIR, dirlen) == 0) ||
	    (strlen(RT_BINDIR) == dirlen && strncmp(exe, RT_BINDIR, dirlen) == 0))
		n = snprintf(buf, len, "%s/%s", RT_LIBEXECDIR, SPFW_PROGRAM);
	else
		n = snprintf(buf, len, "%.*s/%s", (int)dirlen, exe,
		    SPFW_PROGRAM);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The worker program for the running one, unless the running program
 * was replaced since it started (an upgrade: a copy of ourselves speaks
 * our protocol for sure). */
static int
worker_program(char *buf, size_t len)
{
	char	exe[4096];
	ssize_t	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return -1;
	exe[n] = '\0';
	if (strstr(exe, " (deleted)") != NULL ||
	    spfworker_program_path(exe, buf, len) != 0)
		return -1;
	return access(buf, X_OK);
}

pid_t
spfworker_spawn(int fd, const char *receiver, int own_copy, char *err,
    size_t errlen)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	char	*argv[4], *envp[4], prog[4096];
	size_t	i, n = 0;
	pid_t	pid;
	int	rc = ENOENT, sig, tmp = -1;

	if (fd == WORKER_FD) {
		/* dup2 onto itself would keep close-on-exec */
		if ((tmp = fcntl(fd, F_DUPFD_CLOEXEC, WORKER_FD + 1)) < 0) {
			snprintf(err, errlen, "fcntl: %s", strerror(errno));
			return -1;
		}
		fd = tmp;
	}
	for (i = 0; environ != NULL && environ[i] != NULL && n < 3; i++)
		if (env_keep(environ[i]))
			envp[n++] = environ[i];
	envp[n] = NULL;
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, WORKER_FD);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	/* vfork-like: no copy of the daemon's page tables, and a fresh
	 * small process instead of a copy of its grown caches */
	argv[1] = (char *)receiver;
	if (!own_copy && !under_valgrind() &&
	    worker_program(prog, sizeof(prog)) == 0) {
		argv[0] = (char *)SPFW_PROGRAM;
		argv[2] = (char *)RT_VERSION;
		argv[3] = NULL;
		rc = posix_spawn(&pid, prog, &fa, &attr, argv, envp);
	}
	if (rc != 0 && !under_valgrind()) {
		argv[0] = (char *)SPFW_ARGV0;
		argv[2] = NULL;
		rc = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv,
		    envp);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0 && !under_valgrind()) {
		/* No worker program and no /proc/self/exe: no worker. A
		 * forked copy of this (threaded) process would set libspf2
		 * up in a child that inherited other threads' locks. */
		snprintf(err, errlen, "cannot start the SPF worker: %s",
		    strerror(rc));
		pid = -1;
	} else if (rc != 0) {
		/* valgrind: a forked copy, so that valgrind follows it */
		if ((pid = fork()) < 0) {
			snprintf(err, errlen, "fork: %s", strerror(errno));
		} else if (pid == 0) {
			for (sig = 1; sig < NSIG; sig++)
				if (sig != SIGKILL && sig != SIGSTOP)
					signal(sig, SIG_DFL);
			sigprocmask(SIG_SETMASK, &none, NULL);
			spfworker_main(fd, receiver);
		}
	}
	if (tmp >= 0)
		close(tmp);
	return pid;
}

void
spfworker_main(int fd, const char *receiver)
{
	struct spfw_rd rd;
	struct coro *c;
	char	err[128];
	ssize_t	n;
	int	type;

	if (fd != WORKER_FD) {
		if (dup2(fd, WORKER_FD) < 0)
			_exit(2);
	}
	close(0);
	close(1);
	close(2);
	close_range(WORKER_FD + 1, ~0U, 0);
	wpx.fd = WORKER_FD;
	/* All setup that needs more than the allow-list happens first
	 * (SPF_server_new_dns calls gethostname). */
	if ((wsrv = server_new(&wpx, receiver)) == NULL)
		_exit(2);
	if (!under_valgrind() && spfworker_sandbox(err, sizeof(err)) < 0)
		_exit(2);
	for (;;) {
		do
			n = read(WORKER_FD, win.b, sizeof(win.b));
		while (n < 0 && errno == EINTR);
		if (n == 0)
			_exit(0);
		if (n < 0)
			_exit(1);
		win.len = (size_t)n;
		type = spfw_rd_begin(&rd, win.b, win.len);
		if (type < 0 || rd.id >= SPFW_EVALS_MAX)
			_exit(3);
		c = &coros[rd.id];
		if (type == SPFW_EVAL && !c->busy)
			coro_start(c);
		else if (type == SPFW_ANSWER && c->busy && c->waiting) {
			memcpy(amsg.b, win.b, win.len);
			amsg.len = win.len;
			c->waiting = 0;
			coro_resume(c);
		} else
			_exit(3);
	}
}
