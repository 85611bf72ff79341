/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	smtpprobe 3
 * SUMMARY
 *	the SMTP and STARTTLS transport of MX hosts
 * SYNOPSIS
 *	#include "verifier/smtpprobe.h"
 *
 *	void smtpprobe_run(const struct smtpprobe_target *t, const char *helo,
 *		int timeout_ms, struct smtpprobe_result *out);
 *	void smtpprobe_many(const struct smtpprobe_target *t, size_t n,
 *		const char *helo, int timeout_ms, struct smtpprobe_result *out);
 * DESCRIPTION
 *	smtpprobe_run() connects to one MX address over TCP, reads the
 *	banner (RFC 5321 4.2: multi-line replies "220-..." / "220 ..." with
 *	the same code on every line), says EHLO (HELO when EHLO is refused:
 *	no STARTTLS is possible then), looks for the STARTTLS keyword
 *	(case-insensitive, a whole keyword, on the lines after the first),
 *	says STARTTLS and does the TLS handshake with SNI set to the MX
 *	name. After the handshake it sends QUIT, waits briefly for any
 *	answer and closes. No mail is sent.
 *
 *	One deadline per host covers connect, banner, EHLO, STARTTLS, the
 *	handshake and QUIT: the socket is non-blocking, every wait is a
 *	poll() until the deadline. OpenSSL works on memory BIOs and this
 *	file moves the bytes with send(MSG_NOSIGNAL) and recv(), so a peer
 *	that goes away never raises SIGPIPE and no SSL call blocks.
 *
 *	The certificate is reported, not enforced: the handshake runs with
 *	SSL_VERIFY_NONE and OpenSSL's security level 0 from TLS 1.0 up, so
 *	that an old or misconfigured server is still described; chain_ok is
 *	SSL_get_verify_result() against the system trust store
 *	(SSL_CTX_set_default_verify_paths(), hence SSL_CERT_FILE and
 *	SSL_CERT_DIR), name_ok is X509_check_host() of the MX name without
 *	partial wildcards (X509_check_ip_asc() when the "name" is an address
 *	literal, which gets no SNI), expired compares the leaf's notAfter with
 *	the clock. The caller decides what is a warning or a failure.
 *
 *	smtpprobe_many() probes n targets with up to SMTPPROBE_PARALLEL_MAX
 *	threads (the caller's among them) sharing one SSL_CTX; each target's
 *	deadline starts when its probe does, so n targets take at most
 *	ceil(n / SMTPPROBE_PARALLEL_MAX) timeouts. Thread-safe: no static
 *	mutable state; OpenSSL's error queue is per thread.
 * DIAGNOSTICS
 *	out->error holds the first thing that went wrong, in plain words:
 *	"connection refused", "no TCP connection within 10 s", "no banner
 *	within 10 s", "connection closed instead of the banner", "banner
 *	over 8192 bytes", "banner over 100 lines", "banner line over 1000
 *	bytes", "malformed banner: \"...\"", "not 220: 554 go away", "EHLO
 *	refused: 500 ...; HELO accepted, no STARTTLS without EHLO" (or
 *	"; HELO refused too"), "EHLO reply over 100 lines", "STARTTLS
 *	refused: 454 ...", "data after the STARTTLS reply", "TLS handshake
 *	failed: wrong version number", "TLS handshake not done within 10 s",
 *	"bad address: \"...\"", "bad MX name: \"...\"", "bad port: 0".
 *	The time named is the whole per-host timeout. A server that offers
 *	no STARTTLS is not an error: starttls_offered is 0 and error is "".
 *	Certificate findings are in chain_ok/chain_error, name_ok and
 *	expired, never in error. The banner's first line is kept even when
 *	the banner then broke a bound. Peer text in the result is printable
 *	ASCII (other bytes become '?') and cut.
 * LIMITS
 *	SMTPPROBE_REPLY_MAX bytes and SMTPPROBE_LINES_MAX lines per reply,
 *	SMTPPROBE_LINE_MAX bytes per line, SMTPPROBE_NAME_MAX bytes of an MX
 *	or HELO name, SMTPPROBE_PARALLEL_MAX hosts at once,
 *	SMTPPROBE_QUIT_WAIT_MS for the answer to QUIT; the certificate chain
 *	is bounded by OpenSSL's max_cert_list (100 KB). The strings of the
 *	result have fixed sizes.
 *
 *	Out of scope: DANE (TLSA records), the MTA-STS policy fetch and its
 *	mx patterns, revocation (OCSP, CRLs), judging key sizes and
 *	signature algorithms (security level 0 lets them through), client
 *	certificates, SMTPUTF8 or IDN U-labels (MX names are taken as the
 *	A-labels DNS gave), delivery of any message.
 *--*/
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "verifier/smtpprobe.h"

#define HELO_DEFAULT	"localhost"
#define IN_SIZE		(4 * SMTPPROBE_LINE_MAX)	/* > one line */
#define TLS_CHUNK	16384				/* one TLS record */

struct conn {
	int	fd;
	long long deadline;		/* CLOCK_MONOTONIC ms */
	int	timeout_ms;
	int	closing;		/* QUIT sent: errors are not recorded */
	struct smtpprobe_result *res;
	SSL	*ssl;
	BIO	*rbio, *wbio;		/* owned by ssl */
	size_t	inlen;
	char	in[IN_SIZE];		/* plaintext read, not yet parsed */
};

struct reply {
	int	code;
	int	nlines;
	size_t	bytes;
	int	starttls;		/* an EHLO keyword line says STARTTLS */
	size_t	firstlen;
	char	first[SMTPPROBE_LINE_MAX];	/* first line, CRLF cut, raw */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append len bytes of s to the string dst of size bytes, printable ASCII
 * only; -1 when cut, with "..." at the end. */
static int
append(char *dst, size_t size, const char *s, size_t len)
{
	size_t	at = strlen(dst), i;
	unsigned char ch;

	for (i = 0; i < len; i++) {
		if (at + 1 >= size) {
			if (size >= 4)
				memcpy(dst + size - 4, "...", 4);
			return -1;
		}
		ch = (unsigned char)s[i];
		dst[at++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[at] = '\0';
	return 0;
}

static void
put(char *dst, size_t size, const char *s, size_t len)
{
	dst[0] = '\0';
	(void)append(dst, size, s, len);
}

static void
puts0(char *dst, size_t size, const char *s)
{
	put(dst, size, s ? s : "", s ? strlen(s) : 0);
}

static int fail(struct conn *, const char *, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the first thing that went wrong; always -1. */
static int
fail(struct conn *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->closing || c->res->error[0] != '\0')
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->res->error, sizeof(c->res->error), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
span(char *buf, size_t len, int ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%d s", ms / 1000);
	else
		snprintf(buf, len, "%d ms", ms);
	return buf;
}

static const char *
errno_words(int e, char *buf, size_t len)
{
	switch (e) {
	case ECONNREFUSED:	return "connection refused";
	case ECONNRESET:	return "connection reset";
	case ECONNABORTED:	return "connection aborted";
	case EPIPE:		return "connection closed";
	case ETIMEDOUT:		return "connection timed out";
	case EHOSTUNREACH:	return "host unreachable";
	case ENETUNREACH:	return "network unreachable";
	case EADDRNOTAVAIL:	return "address not available";
	case EAFNOSUPPORT:	return "address family not supported";
	}
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(e, buf, len);
#else
	return strerror_r(e, buf, len) == 0 ? buf : "system error";
#endif
}

/* 1 when fd has events before the deadline, 0 at the deadline, -1 on a
 * poll() error. POLLERR and POLLHUP count as ready: the next call says
 * what happened. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p;
	long long left;
	int	r;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
send_all(struct conn *c, const void *buf, size_t len, const char *what)
{
	const char *p = buf;
	char	eb[64], sb[32];
	ssize_t	n;
	int	r;

	while (len > 0) {
		if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(c, "sending %s: %s", what,
			    errno_words(errno, eb, sizeof(eb)));
		if ((r = wait_fd(c->fd, POLLOUT, c->deadline)) == 0)
			return fail(c, "%s not sent within %s", what,
			    span(sb, sizeof(sb), c->timeout_ms));
		if (r < 0)
			return fail(c, "poll: %s",
			    errno_words(errno, eb, sizeof(eb)));
	}
	return 0;
}

/* Read what the peer sent into buf (at most len bytes): the count; 0 on
 * EOF, with *eof set; -1 on an error or at the deadline (recorded). */
static ssize_t
recv_some(struct conn *c, char *buf, size_t len, const char *what, int *eof)
{
	char	eb[64], sb[32];
	ssize_t	n;
	int	r;

	*eof = 0;
	for (;;) {
		if ((r = wait_fd(c->fd, POLLIN, c->deadline)) == 0)
			return fail(c, "no %s within %s", what,
			    span(sb, sizeof(sb), c->timeout_ms));
		if (r < 0)
			return fail(c, "poll: %s",
			    errno_words(errno, eb, sizeof(eb)));
		if ((n = recv(c->fd, buf, len, 0)) > 0)
			return n;
		if (n == 0) {
			*eof = 1;
			return 0;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(c, "reading the %s: %s", what,
			    errno_words(errno, eb, sizeof(eb)));
	}
}

/* The EHLO keyword at the start of an ehlo-line (RFC 5321 4.1.1.1),
 * compared as a whole word. */
static int
is_keyword(const char *s, size_t len, const char *kw)
{
	size_t	n = strlen(kw);

	return len >= n && strncasecmp(s, kw, n) == 0 &&
	    (len == n || s[n] == ' ' || s[n] == '\t' || s[n] == '=');
}

/* One reply line without its CRLF: "NNN", "NNN text" or "NNN-text". */
static int
reply_line(struct conn *c, const char *what, struct reply *r,
    const char *s, size_t len, int *last)
{
	char	clean[96];
	int	code;

	if (len < 3 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    (len > 3 && s[3] != ' ' && s[3] != '-')) {
		put(clean, sizeof(clean), s, len);
		return fail(c, "malformed %s: \"%s\"", what, clean);
	}
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (r->nlines == 1) {
		r->code = code;
		memcpy(r->first, s, len);
		r->firstlen = len;
	} else if (code != r->code) {
		return fail(c, "malformed %s: code %d after %d", what, code,
		    r->code);
	} else if (len > 4 && is_keyword(s + 4, len - 4, "STARTTLS")) {
		r->starttls = 1;
	}
	*last = len == 3 || s[3] == ' ';
	return 0;
}

/* One whole reply, every line of it, within the bounds. */
static int
read_reply(struct conn *c, const char *what, struct reply *r)
{
	char	*lf;
	size_t	n, len;
	ssize_t	got;
	int	last, eof;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((lf = memchr(c->in, '\n', c->inlen)) == NULL) {
			if (c->inlen >= SMTPPROBE_LINE_MAX)
				return fail(c, "%s line over %d bytes", what,
				    SMTPPROBE_LINE_MAX);
			if (r->bytes + c->inlen > SMTPPROBE_REPLY_MAX)
				return fail(c, "%s over %d bytes", what,
				    SMTPPROBE_REPLY_MAX);
			got = recv_some(c, c->in + c->inlen,
			    sizeof(c->in) - c->inlen, what, &eof);
			if (got < 0)
				return -1;
			if (eof)
				return fail(c, r->nlines == 0 && c->inlen == 0 ?
				    "connection closed instead of the %s" :
				    "connection closed in the middle of the %s",
				    what);
			c->inlen += (size_t)got;
			continue;
		}
		n = (size_t)(lf - c->in) + 1;
		if (n > SMTPPROBE_LINE_MAX)
			return fail(c, "%s line over %d bytes", what,
			    SMTPPROBE_LINE_MAX);
		if ((r->bytes += n) > SMTPPROBE_REPLY_MAX)
			return fail(c, "%s over %d bytes", what,
			    SMTPPROBE_REPLY_MAX);
		if (++r->nlines > SMTPPROBE_LINES_MAX)
			return fail(c, "%s over %d lines", what,
			    SMTPPROBE_LINES_MAX);
		len = n - 1;
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		if (reply_line(c, what, r, c->in, len, &last) < 0)
			return -1;
		memmove(c->in, c->in + n, c->inlen - n);
		c->inlen -= n;
		if (last)
			return 0;
	}
}

static int
command(struct conn *c, const char *cmd, const char *arg, const char *what,
    struct reply *r)
{
	char	line[SMTPPROBE_NAME_MAX + 16];
	int	n;

	n = snprintf(line, sizeof(line), "%s%s%s\r\n", cmd, arg ? " " : "",
	    arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return fail(c, "%s command too long", cmd);
	if (send_all(c, line, (size_t)n, cmd) < 0)
		return -1;
	return read_reply(c, what, r);
}

/* QUIT in clear, a short wait for the 221 or the close, no error kept. */
static void
quit_plain(struct conn *c)
{
	long long d = now_ms() + SMTPPROBE_QUIT_WAIT_MS;

	c->closing = 1;
	if (d < c->deadline)
		c->deadline = d;
	if (send_all(c, "QUIT\r\n", 6, "QUIT") == 0 &&
	    wait_fd(c->fd, POLLIN, c->deadline) == 1)
		(void)recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
}

static int
tcp_connect(struct conn *c, const struct smtpprobe_target *t)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl, el = sizeof(int);
	char	clean[64], eb[64], sb[32];
	int	err = 0, r;

	memset(&ss, 0, sizeof(ss));
	if (t->addr != NULL &&
	    inet_pton(AF_INET, t->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)t->port);
		sl = sizeof(*s4);
	} else if (t->addr != NULL &&
	    inet_pton(AF_INET6, t->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)t->port);
		sl = sizeof(*s6);
	} else {
		puts0(clean, sizeof(clean), t->addr);
		return fail(c, "bad address: \"%s\"", clean);
	}
	if (t->port < 1 || t->port > 65535)
		return fail(c, "bad port: %d", t->port);
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd < 0)
		return fail(c, "socket: %s",
		    errno_words(errno, eb, sizeof(eb)));
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return fail(c, "%s",
			    errno_words(errno, eb, sizeof(eb)));
		if ((r = wait_fd(c->fd, POLLOUT, c->deadline)) == 0)
			return fail(c, "no TCP connection within %s",
			    span(sb, sizeof(sb), c->timeout_ms));
		if (r < 0)
			return fail(c, "poll: %s",
			    errno_words(errno, eb, sizeof(eb)));
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err != 0)
			return fail(c, "%s", errno_words(err, eb, sizeof(eb)));
	}
	c->res->connected = 1;
	return 0;
}

/* OpenSSL's reason for the failure on this thread's error queue. */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *s;

	if (e == 0)
		return "no reason given";
	if ((s = ERR_reason_error_string(e)) != NULL)
		return s;
	ERR_error_string_n(e, buf, len);
	return buf;
}

static SSL_CTX *
ctx_new(char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char	rb[128];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "%s", ssl_reason(rb, sizeof(rb)));
		ERR_clear_error();
		return NULL;
	}
	/* Describe old servers rather than refuse them (see DESCRIPTION). */
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "no trust store: %.100s",
		    ssl_reason(rb, sizeof(rb)));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	ERR_clear_error();
	return ctx;
}

/* Send what OpenSSL wrote to its memory BIO. */
static int
tls_flush(struct conn *c)
{
	char	buf[TLS_CHUNK];
	int	n;

	while (BIO_ctrl_pending(c->wbio) > 0) {
		if ((n = BIO_read(c->wbio, buf, sizeof(buf))) <= 0)
			break;
		if (send_all(c, buf, (size_t)n, "TLS data") < 0)
			return -1;
	}
	return 0;
}

/* Give OpenSSL what the peer sent. */
static int
tls_fill(struct conn *c)
{
	char	buf[TLS_CHUNK], sb[32];
	ssize_t	n;
	int	eof;

	if (wait_fd(c->fd, POLLIN, c->deadline) == 0)
		return fail(c, "TLS handshake not done within %s",
		    span(sb, sizeof(sb), c->timeout_ms));
	if ((n = recv_some(c, buf, sizeof(buf), "TLS handshake", &eof)) < 0)
		return -1;
	if (eof)
		return fail(c, "TLS handshake failed: connection closed");
	if (BIO_write(c->rbio, buf, (int)n) != (int)n)
		return fail(c, "TLS handshake failed: out of memory");
	return 0;
}

static int
tls_handshake(struct conn *c, SSL_CTX *ctx, const char *name, int name_is_ip)
{
	char	rb[128];
	int	r, e;

	ERR_clear_error();
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    (c->rbio = BIO_new(BIO_s_mem())) == NULL ||
	    (c->wbio = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(c->rbio);
		c->rbio = NULL;
		return fail(c, "TLS setup failed: %s",
		    ssl_reason(rb, sizeof(rb)));
	}
	/* An empty read BIO means "more to come", not EOF. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	if (!name_is_ip && SSL_set_tlsext_host_name(c->ssl, name) != 1)
		return fail(c, "TLS setup failed: SNI: %s",
		    ssl_reason(rb, sizeof(rb)));
	for (;;) {
		ERR_clear_error();
		r = SSL_do_handshake(c->ssl);
		if (tls_flush(c) < 0)
			return -1;
		if (r == 1)
			return 0;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			if (tls_fill(c) < 0)
				return -1;
			continue;
		}
		if (e == SSL_ERROR_WANT_WRITE)	/* memory BIO: flushed above */
			continue;
		return fail(c, "TLS handshake failed: %s",
		    ssl_reason(rb, sizeof(rb)));
	}
}

static void
cert_names(X509 *cert, struct smtpprobe_result *res)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	const unsigned char *d;
	char	ip[INET6_ADDRSTRLEN];
	int	i, n, len;

	res->names[0] = '\0';
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return;
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
		} else if (g->type == GEN_IPADD &&
		    (ASN1_STRING_length(g->d.iPAddress) == 4 ||
		    ASN1_STRING_length(g->d.iPAddress) == 16)) {
			inet_ntop(ASN1_STRING_length(g->d.iPAddress) == 4 ?
			    AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(g->d.iPAddress), ip,
			    sizeof(ip));
			d = (const unsigned char *)ip;
			len = (int)strlen(ip);
		} else {
			continue;
		}
		if ((res->names[0] != '\0' &&
		    append(res->names, sizeof(res->names), ", ", 2) < 0) ||
		    append(res->names, sizeof(res->names), (const char *)d,
		    len < 0 ? 0 : (size_t)len) < 0)
			break;
	}
	GENERAL_NAMES_free(gens);
}

static void
cert_check(struct conn *c, const char *name, int name_is_ip)
{
	struct smtpprobe_result *res = c->res;
	X509	*cert;
	X509_NAME *sn;
	X509_NAME_ENTRY *e;
	ASN1_STRING *cn;
	const ASN1_TIME *na;
	unsigned char *u = NULL;
	struct tm tm;
	long	v;
	int	i, n;

	if ((cert = SSL_get1_peer_certificate(c->ssl)) == NULL) {
		puts0(res->chain_error, sizeof(res->chain_error),
		    "no certificate");
		return;
	}
	v = SSL_get_verify_result(c->ssl);
	if (!(res->chain_ok = v == X509_V_OK))
		puts0(res->chain_error, sizeof(res->chain_error),
		    X509_verify_cert_error_string(v));
	if (name_is_ip)
		res->name_ok = X509_check_ip_asc(cert, name, 0) == 1;
	else
		res->name_ok = X509_check_host(cert, name, strlen(name),
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	if ((na = X509_get0_notAfter(cert)) != NULL &&
	    ASN1_TIME_to_tm(na, &tm) == 1) {
		res->not_after = (long long)timegm(&tm);
		res->expired = X509_cmp_current_time(na) < 0;
	}
	sn = X509_get_subject_name(cert);
	if ((i = X509_NAME_get_index_by_NID(sn, NID_commonName, -1)) >= 0 &&
	    (e = X509_NAME_get_entry(sn, i)) != NULL &&
	    (cn = X509_NAME_ENTRY_get_data(e)) != NULL &&
	    (n = ASN1_STRING_to_UTF8(&u, cn)) >= 0)
		put(res->subject_cn, sizeof(res->subject_cn), (char *)u,
		    (size_t)n);
	OPENSSL_free(u);
	cert_names(cert, res);
	X509_free(cert);
	ERR_clear_error();
}

/* QUIT inside TLS, a short wait for the answer, then close_notify. */
static void
quit_tls(struct conn *c)
{
	long long d = now_ms() + SMTPPROBE_QUIT_WAIT_MS;
	char	buf[TLS_CHUNK];

	c->closing = 1;
	if (d < c->deadline)
		c->deadline = d;
	/* The 221 is read (not decrypted) so that the close is not a reset. */
	if (SSL_write(c->ssl, "QUIT\r\n", 6) == 6 && tls_flush(c) == 0 &&
	    wait_fd(c->fd, POLLIN, c->deadline) == 1)
		(void)recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	(void)SSL_shutdown(c->ssl);
	(void)tls_flush(c);
	ERR_clear_error();
}

/* A name usable as SNI and for the name check: letters, digits, '-',
 * '_', '.', ':' (an address literal); one trailing dot dropped. */
static int
name_copy(const char *s, char *out, size_t outlen)
{
	size_t	len, i;

	if (s == NULL || (len = strlen(s)) == 0 || len > SMTPPROBE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("-_.:", s[i]) == NULL)
			return 0;
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len >= outlen)
		return 0;
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

/* Banner and EHLO (HELO when EHLO is refused). Returns 1 when STARTTLS
 * can be tried, 0 when the session ended here (QUIT sent or an error
 * recorded). */
static int
smtp_hello(struct conn *c, const char *helo)
{
	struct smtpprobe_result *res = c->res;
	struct reply r;
	char	clean[128];
	size_t	at;
	int	rc;

	rc = read_reply(c, "banner", &r);
	/* Even a banner that broke a bound says who is talking. */
	put(res->banner, sizeof(res->banner), r.first, r.firstlen);
	if (rc < 0)
		return 0;
	if (r.code != 220) {
		put(clean, sizeof(clean), r.first, r.firstlen);
		fail(c, "not 220: %s", clean);
		quit_plain(c);
		return 0;
	}
	if (command(c, "EHLO", helo, "EHLO reply", &r) < 0)
		return 0;
	if (r.code != 250) {
		put(clean, sizeof(clean), r.first, r.firstlen);
		fail(c, "EHLO refused: %.100s", clean);
		if (command(c, "HELO", helo, "HELO reply", &r) == 0) {
			at = strlen(res->error);
			snprintf(res->error + at, sizeof(res->error) - at,
			    "; %s", r.code == 250 ? "HELO accepted, no "
			    "STARTTLS without EHLO" : "HELO refused too");
			quit_plain(c);
		}
		return 0;
	}
	res->ehlo_ok = 1;
	res->starttls_offered = r.starttls;
	if (!res->starttls_offered) {
		quit_plain(c);
		return 0;
	}
	return 1;
}

/* STARTTLS, the handshake (ctx, or one made here when there is none and
 * no reason why), the certificate, QUIT inside TLS. */
static void
smtp_starttls(struct conn *c, SSL_CTX *ctx, const char *ctx_err,
    const char *mx, int is_ip)
{
	struct smtpprobe_result *res = c->res;
	struct reply r;
	SSL_CTX *own = NULL;
	char	clean[128], err[128];

	if (command(c, "STARTTLS", NULL, "STARTTLS reply", &r) < 0)
		return;
	if (r.code != 220) {
		put(clean, sizeof(clean), r.first, r.firstlen);
		fail(c, "STARTTLS refused: %s", clean);
		quit_plain(c);
		return;
	}
	/* Bytes sent before the handshake would be taken for TLS (or be an
	 * injection, CVE-2011-0411 style): never. */
	if (c->inlen > 0) {
		fail(c, "data after the STARTTLS reply");
		return;
	}
	if (ctx == NULL && ctx_err == NULL)
		ctx = own = ctx_new(err, sizeof(err));
	if (ctx == NULL)
		fail(c, "TLS setup failed: %s", ctx_err ? ctx_err : err);
	else if (tls_handshake(c, ctx, mx, is_ip) == 0) {
		res->tls_ok = 1;
		puts0(res->tls_version, sizeof(res->tls_version),
		    SSL_get_version(c->ssl));
		puts0(res->tls_cipher, sizeof(res->tls_cipher),
		    SSL_get_cipher_name(c->ssl));
		cert_check(c, mx, is_ip);
		quit_tls(c);
	}
	/* the SSL (freed by probe()) holds its own reference to ctx */
	SSL_CTX_free(own);
}

static void
probe(const struct smtpprobe_target *t, const char *helo_in, int timeout_ms,
    SSL_CTX *shared, const char *ctx_err, struct smtpprobe_result *res)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char	mx[SMTPPROBE_NAME_MAX + 1], helo[SMTPPROBE_NAME_MAX + 1];
	char	clean[128];
	unsigned char ab[16];
	long long start = now_ms();

	memset(res, 0, sizeof(*res));
	c->fd = -1;
	c->res = res;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : SMTPPROBE_TIMEOUT_DEFAULT;
	c->deadline = start + c->timeout_ms;
	if (!name_copy(helo_in, helo, sizeof(helo)) || strchr(helo, ':'))
		strlcpy(helo, HELO_DEFAULT, sizeof(helo));
	if (!name_copy(t->mx, mx, sizeof(mx))) {
		puts0(clean, sizeof(clean), t->mx);
		fail(c, "bad MX name: \"%s\"", clean);
	} else if (tcp_connect(c, t) == 0 && smtp_hello(c, helo))
		smtp_starttls(c, shared, ctx_err, mx,
		    inet_pton(AF_INET, mx, ab) == 1 ||
		    inet_pton(AF_INET6, mx, ab) == 1);
	SSL_free(c->ssl);		/* frees the BIOs */
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	res->elapsed_ms = (int)(now_ms() - start);
}

void
smtpprobe_run(const struct smtpprobe_target *t, const char *helo,
    int timeout_ms, struct smtpprobe_result *out)
{
	probe(t, helo, timeout_ms, NULL, NULL, out);
}

struct many {
	const struct smtpprobe_target *t;
	struct smtpprobe_result *out;
	size_t	n, next;
	const char *helo;
	int	timeout_ms;
	SSL_CTX	*ctx;
	const char *ctx_err;		/* NULL when ctx was made */
	pthread_mutex_t lock;
};

static void *
many_worker(void *arg)
{
	struct many *m = arg;
	size_t	i;

	for (;;) {
		pthread_mutex_lock(&m->lock);
		i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (i >= m->n)
			return NULL;
		probe(&m->t[i], m->helo, m->timeout_ms, m->ctx, m->ctx_err,
		    &m->out[i]);
	}
}

void
smtpprobe_many(const struct smtpprobe_target *t, size_t n, const char *helo,
    int timeout_ms, struct smtpprobe_result *out)
{
	pthread_t tid[SMTPPROBE_PARALLEL_MAX - 1];
	struct many m;
	char	err[128];
	size_t	k, started = 0;

	if (n == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.t = t;
	m.out = out;
	m.n = n;
	m.helo = helo;
	m.timeout_ms = timeout_ms;
	/* One trust store load for every host. */
	if ((m.ctx = ctx_new(err, sizeof(err))) == NULL)
		m.ctx_err = err;
	pthread_mutex_init(&m.lock, NULL);
	k = n < SMTPPROBE_PARALLEL_MAX ? n : SMTPPROBE_PARALLEL_MAX;
	/* The caller's thread is one of the k; a thread that cannot be made
	 * leaves its share to the others. */
	while (started + 1 < k &&
	    pthread_create(&tid[started], NULL, many_worker, &m) == 0)
		started++;
	many_worker(&m);
	while (started > 0)
		pthread_join(tid[--started], NULL);
	pthread_mutex_destroy(&m.lock);
	SSL_CTX_free(m.ctx);
}
