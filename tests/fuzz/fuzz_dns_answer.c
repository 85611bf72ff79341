/* SPDX-License-Identifier: ISC */
/* fuzz_dns_answer - the DNS answer parser (dns_answer_parse: the wire
 * packet as unbound hands it over: header, counts, rdlength, name
 * expansion and compression pointers, TXT character-strings, the SOA's
 * negative TTL). First byte picks the type asked for; the rest is the
 * packet. Checks what consumers rely on: a status with records exactly
 * when DNS_OK, at most DNS_RR_MAX of the asked type, each the size its
 * type promises, NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_PTR, DNS_T_MX, DNS_T_CNAME,
	DNS_T_NS, DNS_T_SPF,
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

/* Backslashes right before r->data[end]. */
static size_t
trailing_backslashes(const struct dns_rr *r, size_t end)
{
	size_t n = 0;

	while (end > 0 && r->data[--end] == '\\')
		n++;
	return n;
}

static void
check_rr(enum dns_type type, const struct dns_rr *r)
{
	if (r->type != (uint16_t)type || r->data == NULL ||
	    r->data[r->len] != '\0')
		abort();
	switch (type) {
	case DNS_T_A:
		if (r->len != 4)
			abort();
		break;
	case DNS_T_AAAA:
		if (r->len != 16)
			abort();
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		if (r->len > DNS_TXT_MAX || (r->cut && r->len != DNS_TXT_MAX) ||
		    r->nstrings < 0)
			abort();
		break;
	default:
		/* a host name as text: no NUL inside, no trailing root dot
		 * (an escaped "\." ending the last label stays), no escape
		 * left dangling at the end */
		if (strlen((const char *)r->data) != r->len ||
		    trailing_backslashes(r, r->len) % 2 == 1 ||
		    (r->len > 0 && r->data[r->len - 1] == '.' &&
		    trailing_backslashes(r, r->len - 1) % 2 == 0))
			abort();
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer *a, *d;
	enum dns_type type;
	int i;

	if (size < 1 || size > 65536)
		return 0;
	type = types[data[0] % NTYPES];
	a = dns_answer_parse(type, data + 1, (int)(size - 1));
	if (a == NULL || memchr(a->why, '\0', sizeof(a->why)) == NULL)
		abort();
	if ((a->status == DNS_OK) != (a->nrr > 0) || a->nrr > DNS_RR_MAX)
		abort();
	if (a->status == DNS_TEMPFAIL && a->why[0] == '\0')
		abort();
	for (i = 0; i < a->nrr; i++)
		check_rr(type, &a->rr[i]);
	d = dns_answer_dup(a);
	if (d->nrr != a->nrr || (a->nrr > 0 &&
	    memcmp(d->rr[0].data, a->rr[0].data, a->rr[0].len + 1) != 0))
		abort();
	(void)dns_status_str(a->status);
	(void)dns_type_str(type);
	dns_answer_free(d);
	dns_answer_free(a);
	return 0;
}
