/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_SMTPPROBE_H
#define VERIFIER_SMTPPROBE_H
/* smtpprobe - the SMTP transport of one MX host and address: banner, EHLO,
 * STARTTLS, the TLS version and cipher, the certificate chain and name
 * (OpenSSL). No DNS: the caller resolves MX names to addresses. */
#include <stddef.h>

#define SMTPPROBE_REPLY_MAX	8192	/* bytes of one reply (banner, EHLO) */
#define SMTPPROBE_LINES_MAX	100	/* lines of one reply */
#define SMTPPROBE_LINE_MAX	1000	/* bytes of a reply line with CRLF */
#define SMTPPROBE_PARALLEL_MAX	16	/* hosts at once in smtpprobe_many() */
#define SMTPPROBE_TIMEOUT_DEFAULT 10000	/* ms per host when timeout_ms <= 0 */
#define SMTPPROBE_QUIT_WAIT_MS	500	/* longest wait for the reply to QUIT */
#define SMTPPROBE_NAME_MAX	253	/* bytes of an MX name (RFC 1035) */

struct smtpprobe_target {
	const char *mx;		/* MX host name: SNI and the name checked */
	const char *addr;	/* IPv4 or IPv6 text */
	int	port;		/* 25, or --smtp-port for tests */
};

/* Every string is printable ASCII, NUL-terminated, cut to fit ("..." at
 * the end when cut). A field that was not reached is 0 or "". */
struct smtpprobe_result {
	int	connected;		/* TCP connect worked */
	char	error[160];		/* what first went wrong, "" if none */
	char	banner[256];		/* first banner line */
	int	ehlo_ok;		/* 250 to EHLO */
	int	starttls_offered;	/* STARTTLS among the EHLO keywords */
	int	tls_ok;			/* the TLS handshake completed */
	char	tls_version[32];	/* SSL_get_version(): "TLSv1.3" */
	char	tls_cipher[64];		/* SSL_get_cipher_name() */
	int	chain_ok;		/* SSL_get_verify_result() X509_V_OK */
	char	chain_error[160];	/* X509_verify_cert_error_string() */
	int	name_ok;		/* X509_check_host() of the MX name */
	int	expired;		/* leaf notAfter in the past */
	long long not_after;		/* leaf notAfter, Unix s; 0 unknown */
	char	subject_cn[128];	/* leaf subject CN */
	char	names[512];		/* leaf subjectAltNames, ", " between */
	int	elapsed_ms;		/* wall time of this probe */
};

/* Probe one target within timeout_ms (<= 0: SMTPPROBE_TIMEOUT_DEFAULT),
 * saying EHLO helo (NULL or unusable: "localhost"). Never fails as a
 * call: what went wrong is in out->error. out is the caller's. */
void	smtpprobe_run(const struct smtpprobe_target *t, const char *helo,
	    int timeout_ms, struct smtpprobe_result *out);
/* Probe n targets in parallel (at most SMTPPROBE_PARALLEL_MAX at once),
 * each with its own timeout_ms from when its probe starts; out[i] is the
 * result of t[i]. out has n elements, the caller's. */
void	smtpprobe_many(const struct smtpprobe_target *t, size_t n,
	    const char *helo, int timeout_ms, struct smtpprobe_result *out);

#endif
