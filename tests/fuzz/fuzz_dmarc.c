/* SPDX-License-Identifier: ISC */
/* fuzz_dmarc - the DMARC record parser, record selection, organizational
 * domains and alignment, and discovery over answers taken from the input.
 * First byte picks: 0 record, 1 domain (and alignment with a fixed
 * domain), 2 TXT records one per line, 3 discovery (first line the From
 * domain, each further line the answer to the next lookup: records
 * separated by tabs, "!" a temporary failure). Checks the invariants the
 * report relies on: offsets inside the record, counts within their
 * arrays, strings terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX	16

static void
terminated(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

static void
check_record(const struct dmarc_record *r)
{
	char buf[DMARC_RECORD_MAX + 1];
	int i;

	if (r->len > DMARC_RECORD_MAX || r->text[r->len] != '\0' ||
	    r->nrua < 0 || r->nrua > DMARC_URIS_MAX ||
	    r->nruf < 0 || r->nruf > DMARC_URIS_MAX ||
	    r->nrua > r->rua_total || r->nruf > r->ruf_total ||
	    r->rua_valid > r->rua_total || r->ruf_valid > r->ruf_total ||
	    r->pct < 0 || r->pct > 100)
		abort();
	for (i = 0; i < r->nrua; i++)
		if ((size_t)r->rua[i].raw.off + r->rua[i].raw.len > r->len)
			abort();
	for (i = 0; i < r->nruf; i++)
		if ((size_t)r->ruf[i].raw.off + r->ruf[i].raw.len > r->len)
			abort();
	if ((size_t)r->fo.off + r->fo.len > r->len ||
	    (size_t)r->rf.off + r->rf.len > r->len)
		abort();
	(void)dmarc_span_str(r, r->fo, buf, sizeof(buf));
	(void)dmarc_span_str(r, r->rf, buf, 8);
	terminated(r->note, sizeof(r->note));
	(void)dmarc_policy_str(r->p);
	(void)dmarc_policy_str(r->sp);
}

struct feed {
	char	*line[LINES_MAX];
	int	nline, next;
	struct dmarc_txt txt[LINES_MAX];
};

/* Each lookup gets the next line: tab-separated records, "!" tempfail,
 * "" none; past the last line, none. */
static enum dmarc_dns
feed_txt(void *arg, const char *name, const struct dmarc_txt **txt, int *n)
{
	struct feed *f = arg;
	char *p, *q;
	int k = 0;

	if (strlen(name) > DMARC_NAME_MAX || strncmp(name, "_dmarc.", 7) != 0)
		abort();
	if (f->next >= f->nline)
		return DMARC_DNS_NONE;
	p = f->line[f->next++];
	if (strcmp(p, "!") == 0)
		return DMARC_DNS_TEMPFAIL;
	if (*p == '\0')
		return DMARC_DNS_NONE;
	while (k < LINES_MAX) {
		q = strchr(p, '\t');
		f->txt[k].s = p;
		f->txt[k].len = q ? (size_t)(q - p) : strlen(p);
		k++;
		if (q == NULL)
			break;
		p = q + 1;
	}
	*txt = f->txt;
	*n = k;
	return DMARC_DNS_FOUND;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmarc_record r;
	static struct dmarc_discovery d;
	static struct dmarc_plan plan;
	struct dmarc_eval e;
	struct dmarc_txt txt[LINES_MAX];
	struct feed f;
	char out[DMARC_DOMAIN_MAX + 1], err[160], *s, *p;
	const char *dk[2];
	int rc, n, idx;

	if (size < 1 || size > 8192)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		rc = dmarc_parse(s, size - 1, &r, err, sizeof(err));
		check_record(&r);
		if (rc != 0 && rc != -1)
			abort();
		if (rc == 0 && (!dmarc_is_record(s, size - 1) ||
		    r.p == DMARC_POLICY_UNSET))
			abort();
		terminated(err, sizeof(err));
		break;
	case 1:
		rc = dmarc_org_domain(s, out, sizeof(out));
		terminated(out, sizeof(out));
		if (rc < -1 || rc > 1 || (rc < 0) != (out[0] == '\0'))
			abort();
		if (rc >= 0 && !dmarc_aligned(s, out, 0))
			abort();	/* a domain aligns with its org domain */
		(void)dmarc_aligned(s, "example.com", 1);
		(void)dmarc_aligned("mail.example.co.uk", s, 0);
		if (dmarc_plan(s, &plan) == 0 && (plan.nwalk < 1 ||
		    plan.nwalk > DMARC_WALK_MAX || plan.nnames < 1 ||
		    plan.nnames > 2))
			abort();
		break;
	case 2:
		for (n = 0, p = s; n < LINES_MAX && p != NULL; n++) {
			char *q = strchr(p, '\n');

			txt[n].s = p;
			txt[n].len = q ? (size_t)(q - p) : strlen(p);
			p = q ? q + 1 : NULL;
		}
		if (dmarc_select(txt, n, &idx) == DMARC_SEL_ONE &&
		    (idx < 0 || idx >= n ||
		    !dmarc_is_record(txt[idx].s, txt[idx].len)))
			abort();
		break;
	default:
		memset(&f, 0, sizeof(f));
		for (p = s; f.nline < LINES_MAX && p != NULL; f.nline++) {
			f.line[f.nline] = p;
			if ((p = strchr(p, '\n')) != NULL)
				*p++ = '\0';
		}
		dmarc_discover(f.line[0], feed_txt, &f, 0, &d);
		terminated(d.why, sizeof(d.why));
		terminated(d.walk_policy_domain,
		    sizeof(d.walk_policy_domain));
		if (d.lookups > 2 || d.walk_lookups > DMARC_WALK_MAX)
			abort();
		if (d.status == DMARC_DISC_RECORD)
			check_record(&d.rec);
		dk[0] = f.line[0];
		dk[1] = "example.com";
		dmarc_evaluate(&d, dk, 2, f.line[0], 1, &e);
		if ((e.result == DMARC_RESULT_PASS ||
		    e.result == DMARC_RESULT_FAIL) !=
		    (d.status == DMARC_DISC_RECORD))
			abort();
		(void)dmarc_result_str(e.result);
		break;
	}
	free(s);
	return 0;
}
