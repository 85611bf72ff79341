/* SPDX-License-Identifier: ISC */
/* test_mailbox - mbox splitting (LF, CRLF, mboxrd/mboxo escapes, truncated),
 * Maildir with Maildir++ folders, .eml directories, single files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verifier/mailbox.h"

struct mbox_row {
	const char *name, *in;
	int	n;		/* messages; -1: open must fail */
	const char *want[3];	/* bytes of the first messages */
	int	flags_last;
};

static const struct mbox_row rows[] = {
	{ "two-lf", "From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\ny\n", 2,
	    { "A: 1\n\nx\n", "B: 2\n\ny\n" }, 0 },
	{ "crlf", "From a\r\nA: 1\r\n\r\nx\r\n\r\nFrom b\r\nB: 2\r\n\r\ny\r\n", 2,
	    { "A: 1\r\n\r\nx\r\n", "B: 2\r\n\r\ny\r\n" }, 0 },
	{ "mboxrd", "From a\nA: 1\n\n>From x\n>>From y\n>Fromage\n", 1,
	    { "A: 1\n\nFrom x\n>From y\n>Fromage\n" }, 0 },
	{ "from-in-body-no-blank", "From a\nA: 1\n\ntext\nFrom here\n", 1,
	    { "A: 1\n\ntext\nFrom here\n" }, 0 },
	{ "truncated", "From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\nhalf", 2,
	    { "A: 1\n\nx\n", "B: 2\n\nhalf" }, MAILBOX_F_NO_EOL },
	{ "empty-msg", "From a\n\nFrom b\nB: 1\n", 2, { "", "B: 1\n" }, 0 },
	{ "single-message", "A: 1\n\nbody\n", 1, { "A: 1\n\nbody\n" }, 0 },
	/* An empty input holds no message (an empty mbox message does). */
	{ "empty-file", "", 0, { "" }, 0 },
	{ "from-line-only", "From a", 1, { "" }, MAILBOX_F_EMPTY },
	{ "three", "From a\n1: a\n\nFrom b\n2: b\n\nFrom c\n3: c\n", 3,
	    { "1: a\n", "2: b\n", "3: c\n" }, 0 },
	/* A CRLF empty line right after the From_ line ends an empty
	 * message, as an LF one does ("empty-msg"). */
	{ "empty-msg-crlf", "From a\r\n\r\nFrom b\r\nB: 1\r\n", 2,
	    { "", "B: 1\r\n" }, 0 },
	{ "escape-first-line-kept", "From a\n>From x\n\nb\n", 1,
	    { ">From x\n\nb\n" }, 0 },
	{ "escape-only-after-break", "From a\nA: 1\n\nx >From y\n>From z", 1,
	    { "A: 1\n\nx >From y\nFrom z" }, MAILBOX_F_NO_EOL },
	{ "from-line-crlf-blank-before", "From a\nA: 1\r\n\r\nb\r\n\r\n"
	    "From b\nB: 2\n", 2, { "A: 1\r\n\r\nb\r\n", "B: 2\n" }, 0 },
	{ "fromage-is-no-separator", "From a\nA: 1\n\nFromage\n\nFrom\n",
	    1, { "A: 1\n\nFromage\n\nFrom\n" }, 0 },
};

static char dir[] = "/tmp/test_mailbox.XXXXXX";

static void
writef(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void
test_mbox(void **state)
{
	size_t i;
	int bad = 0;
	char path[256], err[256];

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mbox_row *r = &rows[i];
		struct mailbox *mb;
		struct mailbox_msg m;
		int k = 0, rc, lastflags = 0;

		snprintf(path, sizeof(path), "%s/mbox%zu", dir, i);
		writef(path, r->in, strlen(r->in));
		mb = mailbox_open(path, err, sizeof(err));
		assert_non_null(mb);
		while ((rc = mailbox_next(mb, &m, err, sizeof(err))) == 1) {
			if (k < 3 && r->want[k] != NULL && (m.len !=
			    strlen(r->want[k]) || memcmp(m.data, r->want[k],
			    m.len) != 0)) {
				print_error("row %s: message %d: got \"%.*s\", "
				    "want \"%s\"\n", r->name, k, (int)m.len,
				    m.data, r->want[k]);
				bad++;
			}
			if (m.index != k) {
				print_error("row %s: index %ld, want %d\n",
				    r->name, m.index, k);
				bad++;
			}
			lastflags = m.flags;
			k++;
		}
		if (rc < 0 || k != r->n || lastflags != r->flags_last) {
			print_error("row %s: got %d messages flags %#x rc %d, "
			    "want %d flags %#x\n", r->name, k, lastflags, rc,
			    r->n, r->flags_last);
			bad++;
		}
		mailbox_close(mb);
		unlink(path);
	}
	assert_int_equal(bad, 0);
}

static void
test_dirs(void **state)
{
	char p[512], err[256];
	struct mailbox *mb;
	struct mailbox_msg m;
	int n = 0;
	const char *sub[] = { "md", "md/cur", "md/new", "md/tmp", "md/.Sent",
	    "md/.Sent/cur", "md/.Sent/new", "eml", "empty" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof(p), "%s/md/cur/1:2,S", dir);
	writef(p, "A: 1\n\n", 6);
	snprintf(p, sizeof(p), "%s/md/new/2", dir);
	writef(p, "A: 2\n\n", 6);
	snprintf(p, sizeof(p), "%s/md/tmp/3", dir);
	writef(p, "A: 3\n\n", 6);		/* tmp/ is not read */
	snprintf(p, sizeof(p), "%s/md/.Sent/cur/4", dir);
	writef(p, "A: 4\n\n", 6);
	snprintf(p, sizeof(p), "%s/eml/a.eml", dir);
	writef(p, "A: 5\n\n", 6);
	snprintf(p, sizeof(p), "%s/eml/b.txt", dir);
	writef(p, "A: 6\n\n", 6);

	snprintf(p, sizeof(p), "%s/md", dir);
	mb = mailbox_open(p, err, sizeof(err));
	assert_non_null(mb);
	assert_int_equal(mailbox_type(mb), MAILBOX_MAILDIR);
	while (mailbox_next(mb, &m, err, sizeof(err)) == 1)
		n++;
	assert_int_equal(n, 3);
	mailbox_close(mb);

	snprintf(p, sizeof(p), "%s/eml", dir);
	mb = mailbox_open(p, err, sizeof(err));
	assert_non_null(mb);
	n = 0;
	while (mailbox_next(mb, &m, err, sizeof(err)) == 1) {
		assert_memory_equal(m.data, "A: 5\n\n", 6);
		n++;
	}
	assert_int_equal(n, 1);
	mailbox_close(mb);

	snprintf(p, sizeof(p), "%s/empty", dir);
	assert_null(mailbox_open(p, err, sizeof(err)));
	snprintf(p, sizeof(p), "%s/does-not-exist", dir);
	assert_null(mailbox_open(p, err, sizeof(err)));
	snprintf(p, sizeof(p), "rm -rf %s/md %s/eml %s/empty", dir, dir, dir);
	assert_int_equal(system(p), 0);
}

static void
test_unescape(void **state)
{
	char b[64];

	(void)state;
	strcpy(b, "x\n>From a\n>>>From b\n>From");
	assert_int_equal(mailbox_unescape(b, strlen(b)), strlen(b) - 2);
	assert_memory_equal(b, "x\nFrom a\n>>From b\n>From", strlen(b) - 2);
}

/* Messages around MAILBOX_MSG_MAX, read across many MAILBOX_READ_BLOCK
 * reads: one exactly at the limit is whole; a longer one is cut there and
 * flagged, its dropped tail (with a "From " line that follows no empty
 * line, and escaped lines) is not taken for a separator, and the next
 * message is whole and unescaped. */
static void
test_limit(void **state)
{
	static const char hdr[] = "From a\nA: 1\n\n";
	static const char next[] = "From b\nB: 2\n\n>From x\nend\n";
	char path[256], err[256], *big, line[100];
	struct mailbox *mb;
	struct mailbox_msg m;
	FILE *f;
	size_t body, n, i;
	int k;

	(void)state;
	memset(line, 'y', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	snprintf(path, sizeof(path), "%s/big", dir);
	for (k = 0; k < 2; k++) {
		/* k 0: exactly MAILBOX_MSG_MAX bytes; k 1: 3 MB more. */
		body = MAILBOX_MSG_MAX - (sizeof(hdr) - 1 - 7) +
		    (k ? 3u << 20 : 0);
		assert_non_null(f = fopen(path, "wb"));
		fputs(hdr, f);
		for (n = 0; n + sizeof(line) <= body; n += sizeof(line)) {
			if (k && n > MAILBOX_MSG_MAX && n % 50000 == 0)
				fputs(">From escaped\nFrom not-a-separator\n", f);
			fwrite(line, 1, sizeof(line), f);
		}
		while (n++ < body)
			fputc(n == body ? '\n' : 'z', f);
		fputs("\n", f);	/* the mbox's empty line */
		fputs(next, f);
		fclose(f);
		assert_non_null(mb = mailbox_open(path, err, sizeof(err)));
		assert_int_equal(mailbox_next(mb, &m, err, sizeof(err)), 1);
		if (k == 0) {
			if (m.flags != 0 || m.len != MAILBOX_MSG_MAX)
				print_error("row exact: got len %zu flags %#x, "
				    "want %u and 0\n", m.len, m.flags,
				    MAILBOX_MSG_MAX);
			assert_int_equal(m.flags, 0);
		} else {
			if (m.flags != MAILBOX_F_TRUNCATED)
				print_error("row over: got flags %#x, want "
				    "%#x\n", m.flags, MAILBOX_F_TRUNCATED);
			assert_int_equal(m.flags, MAILBOX_F_TRUNCATED);
		}
		assert_int_equal(m.len, MAILBOX_MSG_MAX);
		assert_memory_equal(m.data, "A: 1\n\nyyy", 9);
		big = m.data;
		for (i = 6; i < m.len; i++)
			if (big[i] != 'y' && big[i] != '\n' && big[i] != 'z')
				break;
		assert_int_equal(i, m.len);
		assert_int_equal(mailbox_next(mb, &m, err, sizeof(err)), 1);
		assert_int_equal(m.index, 1);
		assert_int_equal(m.flags, 0);
		assert_int_equal(m.len, strlen("B: 2\n\nFrom x\nend\n"));
		assert_memory_equal(m.data, "B: 2\n\nFrom x\nend\n", m.len);
		assert_int_equal(mailbox_next(mb, &m, err, sizeof(err)), 0);
		mailbox_close(mb);
	}
	unlink(path);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbox),
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
