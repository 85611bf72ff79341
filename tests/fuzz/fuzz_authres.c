/* SPDX-License-Identifier: ISC */
/* fuzz_authres - the Authentication-Results parser (authres_parse) on
 * arbitrary bytes, as an A-R and as an AAR value, not NUL-terminated.
 * Checks that a failure empties the result and says why, that every text
 * is terminated inside its array, that counts stay in their limits, that
 * keywords are lower-case keyword bytes and enums agree with their words,
 * and that the lookups find what was parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verifier/authres.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
terminated(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

/* Lower-case keyword bytes, possibly empty. */
static void
keyword(const char *s, size_t n)
{
	terminated(s, n);
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_'))
			abort();
}

static void
check_result(const struct authres *ar, const struct authres_resinfo *r)
{
	const struct authres_resinfo *f;
	int i;

	keyword(r->method, sizeof(r->method));
	keyword(r->result_word, sizeof(r->result_word));
	if (r->method[0] == '\0' || r->result_word[0] == '\0')
		abort();
	if (r->result < AUTHRES_NONE || r->result > AUTHRES_OTHER ||
	    (r->result != AUTHRES_OTHER &&
	    strcmp(authres_result_str(r->result), r->result_word) != 0))
		abort();
	terminated(r->reason, sizeof(r->reason));
	terminated(r->note, sizeof(r->note));
	if (!r->has_reason && r->reason[0] != '\0')
		abort();
	if (r->nprop < 0 || r->nprop > AUTHRES_PROPS_MAX ||
	    r->props_truncated < 0 || r->method_version < 0)
		abort();
	for (i = 0; i < r->nprop; i++) {
		const struct authres_prop *p = &r->prop[i];
		char name[2 * AUTHRES_WORD_MAX];

		keyword(p->ptype_word, sizeof(p->ptype_word));
		keyword(p->property, sizeof(p->property));
		terminated(p->value, sizeof(p->value));
		if (p->property[0] == '\0' ||
		    (p->ptype == AUTHRES_PT_BARE) != (p->ptype_word[0] == '\0'))
			abort();
		if (p->cut && !(r->flags & AUTHRES_RF_CUT))
			abort();
		strcpy(name, p->ptype_word);
		if (p->ptype_word[0])
			strcat(name, ".");
		strcat(name, p->property);
		if (authres_prop(r, name) != p->value)	/* no duplicates */
			abort();
		(void)authres_ptype_str(p->ptype);
	}
	f = authres_find(ar, r->method);
	if (f == NULL || f > r)
		abort();
	while (f != NULL && f != r)
		f = authres_find_next(ar, f);
	if (f != r)
		abort();
}

static void
check(const struct authres *ar, int rc, const char *err, int arc)
{
	int i;

	terminated(err, 160);
	if (rc != 0) {
		if (rc != -1 || err[0] == '\0' || ar->res != NULL ||
		    ar->nres != 0 || ar->authserv_id[0] != '\0')
			abort();
		return;
	}
	if (err[0] != '\0' || ar->arc != arc || ar->version != 1)
		abort();
	if (arc ? ar->instance < 1 || ar->instance > AUTH_ARC_SETS_MAX :
	    ar->instance != 0)
		abort();
	terminated(ar->authserv_id, sizeof(ar->authserv_id));
	terminated(ar->authserv_lc, sizeof(ar->authserv_lc));
	if ((ar->flags & AUTHRES_F_NO_ID) ? ar->authserv_id[0] != '\0' :
	    ar->authserv_id[0] == '\0')
		abort();
	if (strlen(ar->authserv_id) != strlen(ar->authserv_lc) ||
	    strcasecmp(ar->authserv_id, ar->authserv_lc) != 0)
		abort();
	for (i = 0; ar->authserv_lc[i]; i++)
		if (ar->authserv_lc[i] >= 'A' && ar->authserv_lc[i] <= 'Z')
			abort();
	if (ar->nres < 0 || ar->nres > AUTHRES_RESULTS_MAX ||
	    ar->truncated < 0 || ar->unparsed < 0 ||
	    (ar->truncated > 0 && ar->nres != AUTHRES_RESULTS_MAX) ||
	    (ar->none && ar->nres + ar->truncated != 0) ||
	    ((ar->unparsed > 0) != (ar->unparsed_why[0] != '\0')))
		abort();
	terminated(ar->unparsed_why, sizeof(ar->unparsed_why));
	for (i = 0; i < ar->nres; i++)
		check_result(ar, &ar->res[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authres ar;
	char err[160], tiny[3];
	int arc, rc;

	if (size > AUTHRES_FIELD_MAX + 16)
		return 0;
	for (arc = 0; arc <= 1; arc++) {
		rc = authres_parse((const char *)data, size, arc, &ar, err,
		    sizeof(err));
		check(&ar, rc, err, arc);
		authres_free(&ar);
		if (authres_parse((const char *)data, size, arc, &ar, tiny,
		    sizeof(tiny)) != rc)
			abort();
		terminated(tiny, sizeof(tiny));
		authres_free(&ar);
	}
	return 0;
}
