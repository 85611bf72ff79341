/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	spfcheck_cli 1
 * SUMMARY
 *	print spfcheck_domain()'s analysis of a domain as JSON (test tool)
 * SYNOPSIS
 *	spfcheck_cli [--dns-forward ADDR[@PORT]]... [--timeout SECONDS] DOMAIN
 * DESCRIPTION
 *	Runs spfcheck(3) on DOMAIN with a blocking resolver that forwards to
 *	the given servers (the system's resolv.conf without one) and prints
 *	one JSON object on one line: rc (spfcheck_domain()'s return), the
 *	fields of struct spfcheck ("all" is the qualifier as a string, or
 *	null), and "findings": [{"severity": N, "text": "...", "fix": "..."}].
 * DIAGNOSTICS
 *	Exit 0 when rc is 0, 1 when it is -1 (temperror), 2 on usage errors
 *	or when the resolver cannot be set up.
 * LIMITS
 *	DNS_FORWARD_MAX forwarders.
 *--*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/dns.h"
#include "verifier/report.h"
#include "verifier/spfcheck.h"

/* A JSON string, written by the verifier's own JSON writer. */
static void
jstr(const char *s)
{
	struct report_buf b = { NULL, 0, 0, NULL };

	report_json_str(&b, s, strlen(s));
	fwrite(b.p, 1, b.len, stdout);
	report_buf_free(&b);
}

static void
usage(void)
{
	fprintf(stderr, "usage: spfcheck_cli [--dns-forward ADDR[@PORT]]... "
	    "[--timeout SECONDS] DOMAIN\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct dns_opts opts;
	struct spfcheck *s;
	struct dns *dns;
	char	err[256];
	const char *domain = NULL;
	int	i, rc;

	memset(&opts, 0, sizeof(opts));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dns-forward") == 0 && i + 1 < argc) {
			if (opts.nforward == DNS_FORWARD_MAX)
				usage();
			opts.forward[opts.nforward++] = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			opts.query_timeout = atoi(argv[++i]);
		else if (argv[i][0] == '-' || domain != NULL)
			usage();
		else
			domain = argv[i];
	}
	if (domain == NULL)
		usage();
	if ((dns = dns_new(NULL, &opts, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spfcheck_cli: %s\n", err);
		return 2;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return 2;
	rc = spfcheck_domain(dns, domain, s);
	printf("{\"rc\": %d, \"domain\": ", rc);
	jstr(domain);
	printf(", \"nrecords\": %d, \"record\": ", s->nrecords);
	jstr(s->record);
	printf(", \"udp_size\": %zu, \"lookups\": %d, \"void_lookups\": %d, "
	    "\"queries\": %d, \"permerror\": %d, \"permerror_why\": ",
	    s->udp_size, s->lookups, s->void_lookups, s->queries,
	    s->permerror);
	jstr(s->permerror_why);
	if (s->all_qualifier != 0)
		printf(", \"all\": \"%c\"", s->all_qualifier);
	else
		printf(", \"all\": null");
	printf(", \"findings\": [");
	for (i = 0; i < s->nf; i++) {
		printf("%s{\"severity\": %d, \"text\": ", i ? ", " : "",
		    s->f[i].severity);
		jstr(s->f[i].text);
		printf(", \"fix\": ");
		jstr(s->f[i].fix);
		putchar('}');
	}
	printf("]}\n");
	free(s);
	dns_free(dns);
	return rc == 0 ? 0 : 1;
}
