/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_DMARC_H
#define VERIFIER_DMARC_H
/* dmarc - DMARC (RFC 7489): the record, policy discovery through a
 * caller's TXT lookup, organizational domains (Public Suffix List,
 * libpsl), identifier alignment and the result; the DMARCbis DNS tree
 * walk is computed beside it for the report. No I/O of its own. */
#include <stddef.h>

/* Past a limit: see LIMITS in dmarc.c. */
#define DMARC_RECORD_MAX	2048	/* bytes of a record */
#define DMARC_TAGS_MAX		32	/* tag-specs in a record */
#define DMARC_URIS_MAX		8	/* URIs kept per rua= and ruf= */
#define DMARC_DOMAIN_MAX	253	/* bytes of a domain, no final dot */
#define DMARC_NAME_MAX		253	/* bytes of "_dmarc.DOMAIN" */
#define DMARC_WALK_MAX		8	/* names in the DMARCbis walk */
#define DMARC_WHY_MAX		160	/* bytes of an explanation */

/* dmarc.result (SPEC 3.3). */
enum dmarc_result {
	DMARC_RESULT_NONE, DMARC_RESULT_PASS, DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR, DMARC_RESULT_PERMERROR,
};

/* p=, sp=; UNSET is JSON null (sp=: p applies). */
enum dmarc_policy {
	DMARC_POLICY_UNSET, DMARC_POLICY_NONE, DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align { DMARC_ALIGN_RELAXED, DMARC_ALIGN_STRICT };

/* DMARCbis psd=; absent or an unknown value: ABSENT. */
enum dmarc_psd { DMARC_PSD_ABSENT, DMARC_PSD_Y, DMARC_PSD_N, DMARC_PSD_U };

/* A piece of dmarc_record.text: len bytes at text + off. */
struct dmarc_span {
	unsigned short off, len;
};

struct dmarc_uri {
	struct dmarc_span raw;		/* as written, "!size" included */
	int	valid;			/* scheme ":" text ["!" size] */
	int	has_size;		/* valid, with "!size" */
	unsigned long long max_size;	/* "!10m": 10485760 (bytes) */
};

struct dmarc_record {
	/* as published, NUL-terminated: its first DMARC_RECORD_MAX bytes */
	char	text[DMARC_RECORD_MAX + 1];
	size_t	len;			/* bytes in text */
	int	cut;			/* the record was longer */
	enum dmarc_policy p;		/* NONE when p_fallback */
	enum dmarc_policy sp;		/* UNSET: absent, p applies */
	/* p= missing or bad, or sp= bad, and rua= has a valid URI: read
	 * as p=none (RFC 7489 6.6.3 step 6) */
	int	p_fallback;
	int	p_misplaced;		/* p= not second (accepted) */
	enum dmarc_align adkim, aspf;	/* default relaxed */
	int	pct;			/* 0..100 (100); not applied */
	struct dmarc_uri rua[DMARC_URIS_MAX], ruf[DMARC_URIS_MAX];
	int	nrua, nruf;		/* kept */
	int	rua_total, ruf_total;	/* listed (more than kept: cut) */
	int	rua_valid, ruf_valid;	/* valid among all listed */
	struct dmarc_span fo, rf;	/* len 0: absent (fo=0, rf=afrf) */
	unsigned long ri;		/* default 86400 */
	enum dmarc_psd psd;		/* DMARCbis; RFC 7489 ignores it */
	int	nignored;		/* bad adkim, aspf, pct, ri, fo, rf
					 * values dropped for the default */
	/* what p_fallback and nignored are about ("; " between, cut) */
	char	note[256];
};

/* 1 when txt starts with a v=DMARC1 tag (RFC 7489 6.6.3 step 2: what
 * makes a TXT record a DMARC record), else 0. */
int	dmarc_is_record(const char *txt, size_t len);
/* Parse a record (RFC 7489 6.3, 6.4, 6.6.3 step 6). Returns 0 when it
 * can be used (out filled), -1 when it cannot (permerror) with the
 * reason in err (may be NULL); out->text holds the record either way. */
int	dmarc_parse(const char *txt, size_t len, struct dmarc_record *out,
	    char *err, size_t errlen);
/* The span s of r's text as a C string in buf (cut to buflen - 1);
 * returns buf ("" when buflen is 0). */
const char *dmarc_span_str(const struct dmarc_record *r,
	    struct dmarc_span s, char *buf, size_t buflen);

/* One TXT record (its strings joined; may hold any byte). */
struct dmarc_txt {
	const char *s;
	size_t	len;
};

enum dmarc_sel { DMARC_SEL_NONE, DMARC_SEL_ONE, DMARC_SEL_MANY };

/* RFC 7489 6.6.3 steps 2 and 5 over one name's n TXT records: ONE with
 * *idx its index when exactly one starts with v=DMARC1, NONE when none
 * does, MANY when several do (*idx -1 then; idx may be NULL). */
enum dmarc_sel dmarc_select(const struct dmarc_txt *txt, int n, int *idx);

/* Lower-cased, one final dot removed, into out. Returns 0, or -1 (out
 * "") when domain is NULL or not a name of A-labels (a byte other than
 * a letter, digit, "-", "_" or ".", an empty label, a label over 63 or
 * a name over DMARC_DOMAIN_MAX bytes), or outlen is too small. */
int	dmarc_domain_norm(const char *domain, char *out, size_t outlen);
/* The organizational domain (RFC 7489 3.2) of domain, normalized, into
 * out. Returns 0; 1 when domain is itself a public suffix (out is the
 * domain); -1 (out "") when dmarc_domain_norm() refuses it, out is too
 * small or no PSL could be loaded. Thread-safe. */
int	dmarc_org_domain(const char *domain, char *out, size_t outlen);
/* 1 when auth_domain is aligned with from_domain (RFC 7489 3.1):
 * strict, the same name; relaxed, the same organizational domain.
 * 0 otherwise, and when either is not a domain name. */
int	dmarc_aligned(const char *auth_domain, const char *from_domain,
	    int strict);

/* What policy discovery asks about a From domain, in order. */
struct dmarc_plan {
	char	from[DMARC_DOMAIN_MAX + 1];	/* normalized */
	char	org[DMARC_DOMAIN_MAX + 1];	/* organizational domain */
	int	from_is_suffix;		/* from is a public suffix */
	/* RFC 7489 6.6.3: "_dmarc.FROM", then "_dmarc.ORG" when ORG is
	 * not FROM; "" for a name over DMARC_NAME_MAX (not asked) */
	char	name[2][DMARC_NAME_MAX + 1];
	int	nnames;
	/* DMARCbis tree walk: FROM, then FROM cut to min(labels - 1, 7)
	 * labels, then one label less down to 1 (domains, no "_dmarc.") */
	char	walk[DMARC_WALK_MAX][DMARC_DOMAIN_MAX + 1];
	int	nwalk;
};

/* Returns 0, or -1 (p->from "") when from is not a domain name or no
 * PSL could be loaded. */
int	dmarc_plan(const char *from, struct dmarc_plan *p);

/* One TXT lookup's answer, as the caller maps its DNS: FOUND with the
 * records; NONE for NXDOMAIN, NODATA or a name DNS refuses; TEMPFAIL
 * for SERVFAIL, timeouts and every other failure. */
enum dmarc_dns { DMARC_DNS_FOUND, DMARC_DNS_NONE, DMARC_DNS_TEMPFAIL };

/* Look up name's TXT records: set *txt to an array of *n records. The
 * function's owner owns them; they need to stay valid only until its
 * next call or until dmarc_discover() returns. */
typedef enum dmarc_dns (*dmarc_txt_fn)(void *arg, const char *name,
	    const struct dmarc_txt **txt, int *n);

/* Where the policy came from. */
enum dmarc_disc {
	DMARC_DISC_NONE,	/* no record, or From not a domain name */
	DMARC_DISC_RECORD,	/* rec is the policy record */
	DMARC_DISC_TEMPERROR,	/* a lookup failed for now */
	DMARC_DISC_PERMERROR,	/* several records, or an unusable one */
};

enum dmarc_walk {
	DMARC_WALK_SKIPPED,	/* not done (DMARC_NO_WALK, bad From) */
	DMARC_WALK_DONE,
	DMARC_WALK_TEMPERROR,	/* a lookup of the walk failed: no answer */
};

#define DMARC_NO_WALK	0x1	/* dmarc_discover(): skip the tree walk */

struct dmarc_discovery {
	char	from_domain[DMARC_DOMAIN_MAX + 1];	/* "": bad */
	char	org_domain[DMARC_DOMAIN_MAX + 1];	/* RFC 7489 3.2 */
	int	from_is_suffix;
	enum dmarc_disc status;
	/* whose record(s) decided RECORD or PERMERROR; "" otherwise */
	char	record_domain[DMARC_DOMAIN_MAX + 1];
	int	sp_applies;		/* the record is the org domain's */
	struct dmarc_record rec;	/* RECORD; PERMERROR: the bad one */
	int	lookups;		/* RFC 7489 lookups made: 0..2 */
	char	why[DMARC_WHY_MAX];	/* why not RECORD */
	/* DMARCbis tree walk, for the report (RFC 7489 decides) */
	enum dmarc_walk walk;
	char	walk_policy_domain[DMARC_DOMAIN_MAX + 1]; /* "": none */
	char	walk_org_domain[DMARC_DOMAIN_MAX + 1];
	int	walk_policy_differs;	/* from record_domain (RECORD) */
	int	walk_org_differs;	/* from org_domain */
	int	walk_lookups;		/* lookups only the walk made */
};

/* RFC 7489 6.6.3 policy discovery for from (the RFC5322.From domain),
 * then the tree walk unless flags has DMARC_NO_WALK; fn is called at
 * most once per name (fn NULL: every lookup is a temporary failure).
 * Always fills out; out owns nothing. */
void	dmarc_discover(const char *from, dmarc_txt_fn fn, void *arg,
	    unsigned flags, struct dmarc_discovery *out);

/* The SPEC 3.3 dmarc fields discovery does not give. */
struct dmarc_eval {
	enum dmarc_result result;
	enum dmarc_policy policy;	/* p or sp; UNSET (null): no record */
	int	pct;			/* the record's; 100 without one */
	char	dkim_aligned[DMARC_DOMAIN_MAX + 1];	/* d=; "": null */
	char	spf_aligned[DMARC_DOMAIN_MAX + 1];	/* "": null */
	char	spf_domain[DMARC_DOMAIN_MAX + 1];	/* "": null */
};

/* The result for discovery d: pass when one of the n domains in
 * dkim_pass (d= of the signatures that passed; NULL entries skipped)
 * or spf_domain with spf_pass is aligned, fail when a record was used
 * and none is; none, temperror, permerror from d. spf_domain may be
 * NULL. Always fills out. */
void	dmarc_evaluate(const struct dmarc_discovery *d,
	    const char *const *dkim_pass, int n, const char *spf_domain,
	    int spf_pass, struct dmarc_eval *out);

const char *dmarc_result_str(enum dmarc_result);	/* SPEC 3.3 words */
const char *dmarc_policy_str(enum dmarc_policy);	/* NULL: unset */
const char *dmarc_align_str(enum dmarc_align);		/* "r", "s" */
const char *dmarc_disc_str(enum dmarc_disc);	/* "none", "record", ... */
const char *dmarc_walk_str(enum dmarc_walk);	/* "skipped", "done", ... */

#endif
