/* SPDX-License-Identifier: ISC */
/* test_spfworker - where the daemon finds its SPF worker program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shared/spfworker.h"

#define W	"/" SPFW_PROGRAM

/* want NULL: no path (-1). */
static const struct prow {
	const char *name, *exe, *want;
	size_t	len;
} prows[] = {
	{ "installed daemon", RT_SBINDIR "/relaytrust-policyd",
	  RT_LIBEXECDIR W, 4096 },
	{ "installed verifier", RT_BINDIR "/relaytrust-verify",
	  RT_LIBEXECDIR W, 4096 },
	{ "build tree", "/home/u/relaytrust/bin/relaytrust-policyd",
	  "/home/u/relaytrust/bin" W, 4096 },
	{ "below sbindir is not installed", RT_SBINDIR "/x/relaytrust-policyd",
	  RT_SBINDIR "/x" W, 4096 },
	{ "sbindir as a name prefix", RT_SBINDIR "x/relaytrust-policyd",
	  RT_SBINDIR "x" W, 4096 },
	{ "root directory", "/relaytrust-policyd", W, 4096 },
	{ "exactly fits", "/b/p", "/b" W, sizeof("/b" W) },
	/* errors */
	{ "no directory", "relaytrust-policyd", NULL, 4096 },
	{ "empty", "", NULL, 4096 },
	{ "one byte short", "/b/p", NULL, sizeof("/b" W) - 1 },
	{ "installed, buffer short", RT_SBINDIR "/relaytrust-policyd", NULL,
	  sizeof(RT_LIBEXECDIR W) - 1 },
};

static void
test_program_path(void **state)
{
	char	buf[4096];
	size_t	i;
	int	rc;

	(void)state;
	for (i = 0; i < sizeof(prows) / sizeof(prows[0]); i++) {
		const struct prow *r = &prows[i];

		memset(buf, 'x', sizeof(buf));
		rc = spfworker_program_path(r->exe, buf, r->len);
		if (r->want == NULL) {
			if (rc != -1)
				fail_msg("row %s: got %d (%s), want -1",
				    r->name, rc, buf);
			continue;
		}
		if (rc != 0 || strcmp(buf, r->want) != 0)
			fail_msg("row %s: got %d \"%.*s\", want \"%s\"",
			    r->name, rc, rc == 0 ? 4000 : 0, buf, r->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
