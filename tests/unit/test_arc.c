/* SPDX-License-Identifier: ISC */
/* test_arc - ARC chain validation on fixtures made by our own signer
 * (tests/integration/dkimgen.py) and edits of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/hdr.h"
#include "verifier/arc.h"
#include "verifier/dkim.h"
#include "verifier/keys.h"

#define D "tests/data/dkim/"

struct arc_row {
	const char *name, *file;
	const char *edit_from, *edit_to;	/* every occurrence */
	const char *want;	/* result */
	int	oldest;		/* -1: null */
	const char *sets;	/* "ams/as cv|..." oldest first; NULL: not checked */
};

static const struct arc_row rows[] = {
	{ "pass", D "arc-pass.eml", NULL, NULL, "pass", 0,
	    "pass/pass none|pass/pass pass" },
	{ "pass-lf", D "arc-pass.eml", "\r\n", "\n", "pass", 0,
	    "pass/pass none|pass/pass pass" },
	{ "pass-relaxed-aar", D "arc-pass.eml", "ARC-Authentication-Results: i=1; mx1",
	    "ARC-Authentication-Results:   i=1;   mx1", "pass", 0,
	    "pass/pass none|pass/pass pass" },
	{ "body-changed-after-1", D "arc-modified-after-1.eml", NULL, NULL,
	    "pass", 2, "fail/pass none|pass/pass pass" },
	{ "no-arc", D "rfc8463.eml", NULL, NULL, "none", -1, "" },
	{ "err-seal-broken", D "arc-seal-broken.eml", NULL, NULL, "fail", 0,
	    "pass/pass none|pass/fail pass" },
	{ "err-cv-wrong", D "arc-cv-wrong.eml", NULL, NULL, "fail", 0,
	    "pass/pass none|pass/pass none" },
	{ "err-missing-aar", D "arc-pass.eml", "ARC-Authentication-Results: i=1;",
	    "X-Removed: i=1;", "fail", -1, NULL },
	{ "err-instance-51", D "arc-pass.eml", "ARC-Seal: i=2;", "ARC-Seal: i=51;",
	    "fail", -1, NULL },
	{ "err-duplicate", D "arc-pass.eml", "ARC-Authentication-Results: i=2;",
	    "ARC-Authentication-Results: i=2; x; dkim=none\r\n"
	    "ARC-Authentication-Results: i=2;", "fail", -1, NULL },
	{ "err-newest-cv-fail", D "arc-pass.eml", "cv=pass", "cv=fail", "fail",
	    -1, NULL },
	{ "err-subject-changed", D "arc-pass.eml", "Subject: message",
	    "Subject: massage", "fail", -1, "fail/pass none|fail/pass pass" },
	{ "err-body-changed-last", D "arc-pass.eml", "Hello Bob", "Hello Eve",
	    "fail", -1, "fail/pass none|fail/pass pass" },
	{ "err-gap", D "arc-pass.eml", "i=1;", "i=3;", "fail", -1, NULL },
};

static char *
slurp_edit(const char *path, const char *from, const char *to, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b, *o, *p, *q;
	size_t n, nf, nt, ol = 0;

	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	b = malloc(1 << 20);
	n = fread(b, 1, 1 << 20, f);
	fclose(f);
	if (from == NULL) {
		*len = n;
		return b;
	}
	nf = strlen(from);
	nt = strlen(to);
	o = malloc(n * 4 + 256);
	p = b;
	while ((q = memmem(p, n - (size_t)(p - b), from, nf)) != NULL) {
		memcpy(o + ol, p, (size_t)(q - p));
		ol += (size_t)(q - p);
		memcpy(o + ol, to, nt);
		ol += nt;
		p = q + nf;
	}
	memcpy(o + ol, p, n - (size_t)(p - b));
	ol += n - (size_t)(p - b);
	free(b);
	*len = ol;
	return o;
}

static const char *
chk(enum auth_check c)
{
	return c == AUTH_CHECK_PASS ? "pass" : c == AUTH_CHECK_FAIL ? "fail" :
	    "-";
}

static void
test_chains(void **state)
{
	static struct arc_result out;
	struct dkim_ctx *x = dkim_ctx_new();
	struct keys_opts ko;
	struct keys *keys;
	struct hdr h;
	char err[200], sets[400];
	size_t i, len, klen;
	int bad = 0, k;
	char *kt;

	(void)state;
	memset(&ko, 0, sizeof(ko));
	ko.offline = 1;
	keys = keys_new(&ko, err, sizeof(err));
	kt = slurp_edit(D "arc.keys", NULL, NULL, &klen);
	assert_int_equal(keys_load_text(keys, kt, klen, err, sizeof(err)), 0);
	free(kt);
	memset(&h, 0, sizeof(h));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct arc_row *r = &rows[i];
		char *m = slurp_edit(r->file, r->edit_from, r->edit_to, &len);

		hdr_parse(&h, m, len);
		arc_verify(x, keys, &h, m, len, &out);
		sets[0] = '\0';
		for (k = 0; k < out.nsets; k++) {
			const struct arc_set *s = &out.sets[k];

			snprintf(sets + strlen(sets), sizeof(sets) -
			    strlen(sets), "%s%s/%s %s", k ? "|" : "",
			    chk(s->ams_valid), chk(s->as_valid), s->cv == 0 ?
			    "none" : s->cv == 1 ? "pass" : s->cv == 2 ? "fail" :
			    "-");
		}
		if (strcmp(auth_result_str(out.result), r->want) != 0 ||
		    (r->oldest >= 0 && out.oldest_pass != r->oldest) ||
		    (r->sets && strcmp(sets, r->sets) != 0)) {
			print_error("row %s: got %s oldest %d sets \"%s\" (%s), "
			    "want %s oldest %d sets \"%s\"\n", r->name,
			    auth_result_str(out.result), out.oldest_pass, sets,
			    out.detail, r->want, r->oldest, r->sets ? r->sets :
			    "*");
			bad++;
		}
		free(m);
	}
	hdr_free(&h);
	keys_free(keys);
	dkim_ctx_free(x);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
