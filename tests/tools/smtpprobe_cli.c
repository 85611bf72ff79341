/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	smtpprobe_cli 1
 * SUMMARY
 *	probe SMTP/STARTTLS targets through verifier/smtpprobe.c (test tool)
 * SYNOPSIS
 *	smtpprobe_cli [--timeout MS] [--helo NAME] MX ADDR PORT
 *		[MX ADDR PORT ...]
 * DESCRIPTION
 *	Probes every target at once with smtpprobe_many() and prints one
 *	JSON object per target on standard output, in argument order, with
 *	every field of struct smtpprobe_result plus "mx", "addr" and "port".
 *	The trust store is OpenSSL's default: set SSL_CERT_FILE to use a
 *	test CA.
 * DIAGNOSTICS
 *	Exit 0 when every target has its line (whatever the results), 2 on
 *	usage errors.
 * LIMITS
 *	CLI_TARGETS_MAX targets per run.
 *--*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/report.h"
#include "verifier/smtpprobe.h"

#define CLI_TARGETS_MAX	64

static void
usage(void)
{
	fprintf(stderr, "usage: smtpprobe_cli [--timeout MS] [--helo NAME] "
	    "MX ADDR PORT [MX ADDR PORT ...]\n");
	exit(2);
}

static int
number(const char *s, long lo, long hi)
{
	char	*end;
	long	v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return (int)v;
}

/* "key": "s", the string written by the verifier's own JSON writer. */
static void
jstr(const char *key, const char *s, int comma)
{
	struct report_buf b = { NULL, 0, 0, NULL };

	report_json_str(&b, s, strlen(s));
	printf("\"%s\": %.*s%s", key, (int)b.len, b.p, comma ? ", " : "");
	report_buf_free(&b);
}

static void
jbool(const char *key, int v)
{
	printf("\"%s\": %s, ", key, v ? "true" : "false");
}

int
main(int argc, char **argv)
{
	struct smtpprobe_target t[CLI_TARGETS_MAX];
	struct smtpprobe_result r[CLI_TARGETS_MAX];
	const char *helo = "probe.test.example";
	int	timeout = 0, i, n = 0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = number(argv[++i], 1, 3600000);
		else if (strcmp(argv[i], "--helo") == 0 && i + 1 < argc)
			helo = argv[++i];
		else
			usage();
	}
	n = argc - i;
	if (n == 0 || n % 3 != 0 || n / 3 > CLI_TARGETS_MAX)
		usage();
	n = 0;
	for (; i < argc; i += 3, n++) {
		t[n].mx = argv[i];
		t[n].addr = argv[i + 1];
		t[n].port = number(argv[i + 2], 0, 65535);
	}
	smtpprobe_many(t, (size_t)n, helo, timeout, r);
	for (i = 0; i < n; i++) {
		printf("{");
		jstr("mx", t[i].mx, 1);
		jstr("addr", t[i].addr, 1);
		printf("\"port\": %d, ", t[i].port);
		jbool("connected", r[i].connected);
		jstr("error", r[i].error, 1);
		jstr("banner", r[i].banner, 1);
		jbool("ehlo_ok", r[i].ehlo_ok);
		jbool("starttls_offered", r[i].starttls_offered);
		jbool("tls_ok", r[i].tls_ok);
		jstr("tls_version", r[i].tls_version, 1);
		jstr("tls_cipher", r[i].tls_cipher, 1);
		jbool("chain_ok", r[i].chain_ok);
		jstr("chain_error", r[i].chain_error, 1);
		jbool("name_ok", r[i].name_ok);
		jbool("expired", r[i].expired);
		printf("\"not_after\": %lld, ", r[i].not_after);
		jstr("subject_cn", r[i].subject_cn, 1);
		jstr("names", r[i].names, 1);
		printf("\"elapsed_ms\": %d}\n", r[i].elapsed_ms);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
