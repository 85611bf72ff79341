/* SPDX-License-Identifier: ISC */
/* test_log - stderr lines buffered per event-loop pass (log_buffer(),
 * log_flush()) against the unbuffered path: same bytes, in order, once;
 * the pending callback; LOG_BUFFER_MAX overflow; other threads, fork,
 * exit() and a full or closed stderr pipe. The same lines for journald
 * ("<N>text" when JOURNAL_STREAM names fd 2), and the JOURNAL_STREAM
 * values that must not count. Also log_escape(), log_json().
 *
 * fd 2 is pointed at a temporary file (or a pipe) while a row runs and
 * put back before anything is asserted, so cmocka's messages are seen. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/log.h"

#define IDENT		"test_log"
#define LINE_CUT	2047	/* LOG_LINE_MAX - 1 of shared/log.c */
#define STAMP_LEN	15	/* "Jan  2 15:04:05" */
#define CAP_MAX		(1 << 20)

/* ---- capture of fd 2 ---------------------------------------------------- */

static int cap_fd = -1, saved_fd = -1;
static char cap[CAP_MAX + 1];

static void
cap_start(void)
{
	char	path[] = "/tmp/test_log.XXXXXX";

	fflush(stderr);
	saved_fd = dup(2);
	cap_fd = mkstemp(path);
	assert_true(saved_fd >= 0 && cap_fd >= 0);
	unlink(path);
	dup2(cap_fd, 2);
}

/* Everything written to fd 2 since cap_start(). */
static const char *
cap_read(void)
{
	ssize_t	n, len = 0;

	while (len < CAP_MAX && (n = pread(cap_fd, cap + len,
	    (size_t)(CAP_MAX - len), len)) > 0)
		len += n;
	cap[len] = '\0';
	return cap;
}

static void
cap_end(void)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	close(cap_fd);
	saved_fd = cap_fd = -1;
}

/*
 * Each line with its time stamp checked and taken off, so that lines of
 * different seconds compare; a line without a stamp is kept whole with a
 * "NOSTAMP:" mark so that it never matches. Returns a malloc'd string.
 */
static char *
unstamp(const char *s)
{
	char   *out = malloc(9 * strlen(s) + 1), *o;
	const char *nl;
	size_t	n;

	assert_non_null(out);
	o = out;
	while (*s != '\0') {
		nl = strchr(s, '\n');
		n = nl ? (size_t)(nl - s) + 1 : strlen(s);
		if (n > STAMP_LEN && s[STAMP_LEN] == ' ' && s[3] == ' ' &&
		    s[9] == ':' && s[12] == ':') {
			memcpy(o, s + STAMP_LEN + 1, n - STAMP_LEN - 1);
			o += n - STAMP_LEN - 1;
		} else {
			memcpy(o, "NOSTAMP:", 8);
			memcpy(o + 8, s, n);
			o += 8 + n;
		}
		s += n;
	}
	*o = '\0';
	return out;
}

static size_t
count_lines(const char *s)
{
	size_t	n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* "ident[pid]: " of this process */
static const char *
me(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s[%ld]: ", IDENT, (long)getpid());
	return buf;
}

/* Log as under systemd: JOURNAL_STREAM names the file fd 2 is now. */
static void
journal_on(void)
{
	struct stat st;
	char	v[64];

	assert_int_equal(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	log_open(IDENT, LOG_TO_STDERR);
}

/* Back to time stamps: log_open() decides, whatever fd 2 is by now. */
static void
journal_off(void)
{
	unsetenv("JOURNAL_STREAM");
	log_open(IDENT, LOG_TO_STDERR);
}

/* ---- the pending callback ------------------------------------------------ */

#define PEND_MAX	256

static int npend;
static size_t pend_size[PEND_MAX];	/* of the file at each call */

static void
pending(void *arg)
{
	(void)arg;
	if (npend < PEND_MAX)
		pend_size[npend] = strlen(cap_read());
	npend++;
}

static void
buffer_on(void)
{
	npend = 0;
	log_buffer(pending, NULL);
}

/* ---- one line of each kind, buffered and not ---------------------------- */

enum kind { K_INFO, K_WARN, K_ERR, K_PLAIN_W, K_PLAIN_I, K_FMT, K_DEBUG,
	K_DEBUG_ON, K_RL };

/* Each row is run four ways: buffered or not, with time stamps or for
 * journald. */
enum pass { P_BUF, P_UNBUF, P_JOURNAL_BUF, P_JOURNAL_UNBUF, P_N };

static const char *const pass_name[P_N] = {
	"buffered", "unbuffered", "journal, buffered", "journal, unbuffered"
};

static const struct lrow {
	const char *name;
	enum kind kind;
	const char *msg;	/* NULL: len bytes of fill */
	size_t	len;
	char	fill;
	const char *rlkey[P_N];	/* K_RL: a key per pass */
	int	pri;		/* "<N>" for journald */
	const char *want;	/* after "ident[pid]: " or "<N>"; NULL: no line */
	size_t	wantfill;	/* then this many fill bytes */
} lrows[] = {
	{ "info", K_INFO, "hello", 0, 0, {0}, 6, "hello", 0 },
	{ "warning tag", K_WARN, "disk full", 0, 0, {0}, 4,
	  "warning: disk full", 0 },
	{ "error tag", K_ERR, "cannot bind", 0, 0, {0}, 3,
	  "error: cannot bind", 0 },
	{ "plain warning, no tag", K_PLAIN_W, "{\"a\":1}", 0, 0, {0}, 4,
	  "{\"a\":1}", 0 },
	{ "plain info", K_PLAIN_I, "{\"b\":2}", 0, 0, {0}, 6, "{\"b\":2}",
	  0 },
	{ "format arguments", K_FMT, "x", 0, 0, {0}, 6,
	  "n=42 s=<x> f=3.1 u=18446744073709551615", 0 },
	{ "debug on", K_DEBUG_ON, "dbg", 0, 0, {0}, 7, "dbg", 0 },
	{ "empty message", K_INFO, "", 0, 0, {0}, 6, "", 0 },
	{ "percent in argument", K_INFO, "100% %s %n", 0, 0, {0}, 6,
	  "100% %s %n", 0 },
	{ "rate-limited, first", K_RL, "first", 0, 0,
	  {"rl-a", "rl-b", "rl-e", "rl-f"}, 4, "warning: first", 0 },
	{ "LOG_LINE_MAX-1 bytes, kept", K_WARN, NULL, LINE_CUT, 'a', {0}, 4,
	  "warning: ", LINE_CUT },
	/* cut, suppressed or not logged */
	{ "debug off", K_DEBUG, "nothing", 0, 0, {0}, 7, NULL, 0 },
	{ "rate-limited, repeat", K_RL, "second", 0, 0,
	  {"rl-a", "rl-b", "rl-e", "rl-f"}, 4, NULL, 0 },
	{ "LOG_LINE_MAX bytes, cut", K_INFO, NULL, LINE_CUT + 1, 'b', {0}, 6,
	  "", LINE_CUT },
	{ "3*LOG_LINE_MAX bytes, cut", K_INFO, NULL, 3 * (LINE_CUT + 1), 'c',
	  {0}, 6, "", LINE_CUT },
	{ "long error, cut after the tag", K_ERR, NULL, 5000, 'd', {0}, 3,
	  "error: ", LINE_CUT },
	{ "long plain, cut", K_PLAIN_W, NULL, 4096, 'e', {0}, 4, "",
	  LINE_CUT },
	{ "long rate-limited, cut", K_RL, NULL, 3000, 'f',
	  {"rl-c", "rl-d", "rl-g", "rl-h"}, 4, "warning: ", LINE_CUT },
	{ "LOG_BUFFER_MAX bytes, cut", K_WARN, NULL, LOG_BUFFER_MAX, 'g',
	  {0}, 4, "warning: ", LINE_CUT },
	{ "2*LOG_BUFFER_MAX bytes, cut", K_ERR, NULL, 2 * LOG_BUFFER_MAX, 'h',
	  {0}, 3, "error: ", LINE_CUT },
	{ "long formatted, cut", K_FMT, NULL, 3000, 'i', {0}, 6,
	  "n=42 s=<", LINE_CUT - 8 },
};
#define NL	(sizeof(lrows) / sizeof(lrows[0]))

static char bigmsg[2 * LOG_BUFFER_MAX + 1];

static const char *
row_msg(const struct lrow *r)
{
	if (r->msg != NULL)
		return r->msg;
	memset(bigmsg, r->fill, r->len);
	bigmsg[r->len] = '\0';
	return bigmsg;
}

static void
emit(const struct lrow *r, enum pass pass)
{
	const char *m = row_msg(r);

	switch (r->kind) {
	case K_INFO:
		log_info("%s", m);
		break;
	case K_WARN:
		log_warn("%s", m);
		break;
	case K_ERR:
		log_err("%s", m);
		break;
	case K_PLAIN_W:
		log_plain(1, "%s", m);
		break;
	case K_PLAIN_I:
		log_plain(0, "%s", m);
		break;
	case K_FMT:
		log_info("n=%d s=<%s> f=%.1f u=%llu", 42, m, 3.14159,
		    (unsigned long long)-1);
		break;
	case K_DEBUG:
		log_debug("%s", m);
		break;
	case K_DEBUG_ON:
		log_set_debug(1);
		log_debug("%s", m);
		log_set_debug(0);
		break;
	case K_RL:
		log_warn_rl(r->rlkey[pass], 3600, "%s", m);
		break;
	}
}

static char *
want_text(const struct lrow *r, int journal)
{
	char   *w, pri[8];
	const char *pfx = me();
	size_t	n;

	if (r->want == NULL)
		return strdup("");
	if (journal) {
		snprintf(pri, sizeof(pri), "<%d>", r->pri);
		pfx = pri;
	}
	n = strlen(pfx) + strlen(r->want);
	w = malloc(n + r->wantfill + 2);
	assert_non_null(w);
	snprintf(w, n + 1, "%s%s", pfx, r->want);
	memset(w + n, r->fill, r->wantfill);
	w[n + r->wantfill] = '\n';
	w[n + r->wantfill + 1] = '\0';
	return w;
}

static void
test_lines(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NL * P_N; i++) {
		const struct lrow *r = &lrows[i / P_N];
		enum pass pass = (enum pass)(i % P_N);
		int	buffered = pass == P_BUF || pass == P_JOURNAL_BUF;
		int	journal = pass == P_JOURNAL_BUF || pass == P_JOURNAL_UNBUF;
		char   *before, *got, *want;
		int	pend;

		cap_start();
		if (journal)
			journal_on();
		npend = 0;
		if (buffered)
			buffer_on();
		emit(r, pass);
		before = strdup(buffered ? cap_read() : "");
		log_flush();
		/* journald's lines have no stamp to take off: compared whole */
		got = journal ? strdup(cap_read()) : unstamp(cap_read());
		pend = npend;
		log_buffer(NULL, NULL);
		cap_end();
		journal_off();

		want = want_text(r, journal);
		if (strcmp(before, "") != 0)
			fail_msg("row %s, %s: got %zu bytes before log_flush(), "
			    "want 0", r->name, pass_name[pass], strlen(before));
		if (strcmp(got, want) != 0)
			fail_msg("row %s, %s: got \"%.80s\" (%zu bytes), want "
			    "\"%.80s\" (%zu bytes)", r->name, pass_name[pass],
			    got, strlen(got), want, strlen(want));
		if (pend != (buffered && r->want != NULL))
			fail_msg("row %s, %s: got %d pending calls, want %d",
			    r->name, pass_name[pass], pend,
			    buffered && r->want != NULL);
		free(before);
		free(got);
		free(want);
	}
}

/* ---- many lines: past LOG_BUFFER_MAX, in order, once -------------------- */

static const struct mrow {
	const char *name;
	int	nlines;
	size_t	len;		/* message bytes after "NNNNN " */
	int	want_min_pend[2];	/* at least this many empty->non-empty:
					 * stamped, journal (shorter lines) */
} mrows[] = {
	{ "one line", 1, 10, {1, 1} },
	{ "fits easily", 20, 100, {1, 1} },
	{ "short lines, several buffers", 4000, 10, {3, 3} },
	{ "100-byte lines", 1000, 100, {3, 3} },
	{ "LOG_LINE_MAX lines", 40, LINE_CUT - 6, {3, 3} },
	{ "over LOG_LINE_MAX, cut", 40, 3000, {3, 3} },
	{ "empty messages", 3000, 0, {2, 1} },
};
#define NM	(sizeof(mrows) / sizeof(mrows[0]))

static void
test_many(void **state)
{
	static char msg[4096];
	size_t	i, k, wlen;
	int	j;

	(void)state;
	/* each row with time stamps, then for journald */
	for (i = 0; i < 2 * NM; i++) {
		const struct mrow *r = &mrows[i / 2];
		int	journal = (int)(i % 2);
		const char *how = journal ? "journal" : "time stamps";
		const char *pfx = journal ? "<6>" : me();
		char   *got, *p, *line;
		size_t	before, nbefore;
		int	pend, bad = -1, nonmono = -1;

		memset(msg, 'm', r->len);
		msg[r->len] = '\0';
		cap_start();
		if (journal)
			journal_on();
		buffer_on();
		for (j = 0; j < r->nlines; j++)
			log_info("%05d %s", j, msg);
		before = strlen(cap_read());
		log_flush();
		got = journal ? strdup(cap_read()) : unstamp(cap_read());
		pend = npend;
		for (j = 1; j < npend && j < PEND_MAX; j++)
			if (pend_size[j] <= pend_size[j - 1] && nonmono < 0)
				nonmono = j;
		nbefore = npend > 0 && npend <= PEND_MAX ?
		    pend_size[npend - 1] : (size_t)-1;
		log_buffer(NULL, NULL);
		cap_end();
		journal_off();

		/* line j is pfx "jjjjj mmm...\n", cut at LINE_CUT */
		wlen = strlen(pfx) + (6 + r->len > LINE_CUT ? LINE_CUT :
		    6 + r->len) + 1;
		line = malloc(wlen + 1);
		assert_non_null(line);
		p = got;
		for (j = 0; j < r->nlines && bad < 0; j++) {
			k = (size_t)snprintf(line, wlen + 1, "%s%05d %s", pfx,
			    j, msg);
			if (k > wlen - 1)
				k = wlen - 1;
			line[k] = '\n';
			line[k + 1] = '\0';
			if (strncmp(p, line, k + 1) != 0)
				bad = j;
			else
				p += k + 1;
		}
		if (bad >= 0)
			fail_msg("row %s, %s: line %d: got \"%.60s\", want "
			    "\"%.60s\"", r->name, how, bad, p, line);
		if (*p != '\0')
			fail_msg("row %s, %s: got %zu more lines, want %d "
			    "lines", r->name, how, count_lines(p), r->nlines);
		if (pend < r->want_min_pend[journal])
			fail_msg("row %s, %s: got %d pending calls, want >= %d",
			    r->name, how, pend, r->want_min_pend[journal]);
		if (nonmono >= 0)
			fail_msg("row %s, %s: pending call %d saw no flush "
			    "since call %d, want one flush between", r->name,
			    how, nonmono, nonmono - 1);
		if (before != nbefore)
			fail_msg("row %s, %s: got %zu bytes written before the "
			    "last flush, want %zu (those of the last pending "
			    "call)", r->name, how, before, nbefore);
		free(line);
		free(got);
	}
}

/* ---- pending once per empty -> non-empty -------------------------------- */

static const struct prow {
	const char *name;
	const char *steps;	/* L log, D debug (off: no line), F flush */
	const char *want;	/* npend after each step */
} prows[] = {
	{ "one line", "LF", "11" },
	{ "two lines, one call", "LLF", "111" },
	{ "line, flush, line", "LFLF", "1122" },
	{ "three passes", "LLFLFLLLF", "111223333" },
	/* no call */
	{ "flush of nothing", "F", "0" },
	{ "flushes of nothing", "FFF", "000" },
	{ "debug off is no line", "DF", "00" },
	{ "flush twice, then a line", "LFFLF", "11122" },
	{ "debug off between", "LFDLF", "11122" },
	{ "debug off first", "DLDF", "0111" },
};
#define NP	(sizeof(prows) / sizeof(prows[0]))

static void
test_pending(void **state)
{
	size_t	i, j;

	(void)state;
	for (i = 0; i < NP; i++) {
		const struct prow *r = &prows[i];
		char	got[32];
		size_t	nlog = 0, nout;

		cap_start();
		buffer_on();
		for (j = 0; r->steps[j] != '\0'; j++) {
			switch (r->steps[j]) {
			case 'L':
				log_info("step %zu", j);
				nlog++;
				break;
			case 'D':
				log_debug("step %zu", j);
				break;
			case 'F':
				log_flush();
				break;
			}
			got[j] = (char)('0' + npend);
		}
		got[j] = '\0';
		nout = count_lines(cap_read());
		log_buffer(NULL, NULL);
		cap_end();
		if (strcmp(got, r->want) != 0)
			fail_msg("row %s: got pending counts %s, want %s",
			    r->name, got, r->want);
		if (nout != nlog)
			fail_msg("row %s: got %zu lines, want %zu", r->name,
			    nout, nlog);
	}
}

/* ---- other threads, fork, exit ------------------------------------------ */

static void *
thread_main(void *arg)
{
	log_flush();		/* not its buffer: must write nothing */
	*(size_t *)arg = strlen(cap_read());
	log_info("from the thread");
	return NULL;
}

/* Another thread's line is written at once, after the lines the owner
 * buffered before it: the log keeps the order of logging. */
static void
test_thread(void **state)
{
	pthread_t th;
	size_t	before_line = 1;
	char   *during, *after, want1[256], want2[384];

	(void)state;
	cap_start();
	buffer_on();
	log_info("from main");
	assert_int_equal(pthread_create(&th, NULL, thread_main, &before_line),
	    0);
	pthread_join(th, NULL);
	during = unstamp(cap_read());
	log_info("main again");
	log_flush();
	after = unstamp(cap_read());
	log_buffer(NULL, NULL);
	cap_end();
	snprintf(want1, sizeof(want1), "%sfrom main\n%sfrom the thread\n",
	    me(), me());
	snprintf(want2, sizeof(want2), "%s%smain again\n", want1, me());
	if (before_line != 0)
		fail_msg("row thread: its log_flush() wrote %zu bytes, want 0",
		    before_line);
	if (strcmp(during, want1) != 0)
		fail_msg("row thread: got \"%s\" before the flush, want \"%s\"",
		    during, want1);
	if (strcmp(after, want2) != 0)
		fail_msg("row thread: got \"%s\" after the flush, want \"%s\"",
		    after, want2);
	free(during);
	free(after);
}

/* Rows: what the child does, what fd 2 holds after it exits and after
 * the parent's flush. */
enum child { C_LOG_EXIT, C_EXIT, C_BUFFER_LOG_EXIT, C_BUFFER_LOG_RETURN };

static const struct frow {
	const char *name;
	enum child child;
	const char *want_child;		/* lines after "ident[pid]: " */
	const char *want_after;
} frows[] = {
	{ "child logs at once, not the parent's line", C_LOG_EXIT,
	  "child line\n", "child line\nparent line\n" },
	{ "child buffers, exit() flushes", C_BUFFER_LOG_EXIT,
	  "child buffered\n", "child buffered\nparent line\n" },
	{ "child buffers, return from flush", C_BUFFER_LOG_RETURN,
	  "child buffered\n", "child buffered\nparent line\n" },
	/* the parent's line must never come from the child */
	{ "child exits at once", C_EXIT, "", "parent line\n" },
};
#define NF	(sizeof(frows) / sizeof(frows[0]))

/* "ident[*]: x\n..." with the pids taken out */
static char *
unpid(const char *s)
{
	char   *out = malloc(strlen(s) + 1), *o = out;
	const char *b, *e;

	assert_non_null(out);
	while (*s != '\0') {
		b = strchr(s, '[');
		e = b ? strstr(b, "]: ") : NULL;
		if (b == NULL || e == NULL || memchr(s, '\n',
		    (size_t)(b - s)) != NULL) {
			strcpy(o, s);
			return out;
		}
		s = e + 3;
		e = strchr(s, '\n');
		if (e == NULL)
			e = s + strlen(s) - 1;
		memcpy(o, s, (size_t)(e - s) + 1);
		o += e - s + 1;
		s = e + 1;
	}
	*o = '\0';
	return out;
}

static void
test_fork(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NF; i++) {
		const struct frow *r = &frows[i];
		char   *child, *after, *tmp;
		pid_t	pid;
		int	status = -1;

		cap_start();
		buffer_on();
		log_info("parent line");
		fflush(stdout);
		if ((pid = fork()) == 0) {
			switch (r->child) {
			case C_LOG_EXIT:
				log_info("child line");
				exit(0);
			case C_EXIT:
				exit(0);
			case C_BUFFER_LOG_EXIT:
				log_buffer(pending, NULL);
				log_info("child buffered");
				exit(0);
			case C_BUFFER_LOG_RETURN:
				log_buffer(pending, NULL);
				log_info("child buffered");
				log_flush();
				_exit(0);
			}
			_exit(1);
		}
		assert_true(pid > 0);
		waitpid(pid, &status, 0);
		tmp = unstamp(cap_read());
		child = unpid(tmp);
		free(tmp);
		log_flush();
		tmp = unstamp(cap_read());
		after = unpid(tmp);
		free(tmp);
		log_buffer(NULL, NULL);
		cap_end();
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("row %s: child status %d, want exit 0",
			    r->name, status);
		if (strcmp(child, r->want_child) != 0)
			fail_msg("row %s: got \"%s\" after the child, want "
			    "\"%s\"", r->name, child, r->want_child);
		if (strcmp(after, r->want_after) != 0)
			fail_msg("row %s: got \"%s\" after the flush, want "
			    "\"%s\"", r->name, after, r->want_after);
		free(child);
		free(after);
	}
}

/* ---- stderr a full or closed non-blocking pipe --------------------------- */

static const struct srow {
	const char *name;
	int	fill;		/* fill the pipe before the first flush */
	int	close_reader;	/* no reader at all */
	int	want_first;	/* first line read back */
} srows[] = {
	{ "empty pipe", 0, 0, 1 },
	{ "full pipe: dropped, next flush fine", 1, 0, 0 },
	{ "reader gone: dropped, no SIGPIPE death", 0, 1, 0 },
	{ "full pipe, again", 1, 0, 0 },
};
#define NS	(sizeof(srows) / sizeof(srows[0]))

static void
test_pipe(void **state)
{
	static char junk[65536], got[1 << 18];
	void	(*old)(int);
	size_t	i;

	(void)state;
	old = signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < NS; i++) {
		const struct srow *r = &srows[i];
		int	p[2], saved, has1, has2;
		ssize_t	n, len = 0;

		assert_int_equal(pipe(p), 0);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		fflush(stderr);
		saved = dup(2);
		dup2(p[1], 2);
		if (r->fill)
			while (write(p[1], junk, sizeof(junk)) > 0)
				;
		if (r->close_reader)
			close(p[0]);
		buffer_on();
		log_info("first line");
		log_flush();	/* must come back, whatever the pipe */
		if (r->close_reader) {
			/* a new reader for the next line */
			close(p[1]);
			assert_int_equal(pipe(p), 0);
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			fcntl(p[1], F_SETFL, O_NONBLOCK);
			dup2(p[1], 2);
		} else if (r->fill)
			while (read(p[0], junk, sizeof(junk)) > 0)
				;
		log_info("second line");
		log_flush();
		log_buffer(NULL, NULL);
		dup2(saved, 2);
		close(saved);
		close(p[1]);
		while (len < (ssize_t)sizeof(got) - 1 &&
		    (n = read(p[0], got + len, sizeof(got) - 1 - (size_t)len)) > 0)
			len += n;
		close(p[0]);
		got[len] = '\0';
		has1 = strstr(got, "first line\n") != NULL;
		has2 = strstr(got, "second line\n") != NULL;
		if (has1 != r->want_first)
			fail_msg("row %s: got first line %d, want %d", r->name,
			    has1, r->want_first);
		if (!has2)
			fail_msg("row %s: got no second line, want it",
			    r->name);
	}
	signal(SIGPIPE, old);
}

/* ---- which JOURNAL_STREAM counts ---------------------------------------- */

/*
 * JOURNAL_STREAM of a row: in text, D and I stand for the device and
 * inode (decimal) of fd 2, or of another open file; d and i for the same
 * plus one.
 */
enum jfd { J_FILE, J_SOCKET, J_PIPE };

static const struct jrow {
	const char *name;
	enum jfd fd2;		/* what fd 2 is while the row runs */
	int	other;		/* D and I of another file than fd 2 */
	const char *text;	/* NULL: unset */
	int	want_journal;	/* "<N>text", else "time ident[pid]: text" */
} jrows[] = {
	{ "fd 2, a file", J_FILE, 0, "D:I", 1 },
	{ "fd 2, a socket (journald's)", J_SOCKET, 0, "D:I", 1 },
	{ "fd 2, a pipe", J_PIPE, 0, "D:I", 1 },
	{ "leading zeros, still decimal", J_FILE, 0, "00D:0I", 1 },
	/* time stamps kept */
	{ "unset", J_FILE, 0, NULL, 0 },
	{ "empty", J_FILE, 0, "", 0 },
	{ "garbage", J_FILE, 0, "journal", 0 },
	{ "another file's (inherited, stderr redirected)", J_FILE, 1, "D:I",
	  0 },
	{ "fd 2 a socket, another file's", J_SOCKET, 1, "D:I", 0 },
	{ "another inode", J_FILE, 0, "D:i", 0 },
	{ "another device", J_FILE, 0, "d:I", 0 },
	{ "swapped", J_FILE, 0, "I:D", 0 },
	{ "device only", J_FILE, 0, "D", 0 },
	{ "no inode", J_FILE, 0, "D:", 0 },
	{ "no device", J_FILE, 0, ":I", 0 },
	{ "only a colon", J_FILE, 0, ":", 0 },
	{ "no colon", J_FILE, 0, "D I", 0 },
	{ "other separator", J_FILE, 0, "D/I", 0 },
	{ "third field", J_FILE, 0, "D:I:0", 0 },
	{ "trailing blank", J_FILE, 0, "D:I ", 0 },
	{ "trailing newline", J_FILE, 0, "D:I\n", 0 },
	{ "leading blank", J_FILE, 0, " D:I", 0 },
	{ "blank after colon", J_FILE, 0, "D: I", 0 },
	{ "signs", J_FILE, 0, "+D:+I", 0 },
	{ "hexadecimal", J_FILE, 0, "0x0:I", 0 },
	{ "device past 64 bits", J_FILE, 0, "99999999999999999999999:I", 0 },
	{ "inode past 64 bits", J_FILE, 0, "D:18446744073709551616", 0 },
};
#define NJ	(sizeof(jrows) / sizeof(jrows[0]))

/* The lines each row logs, in order: unbuffered, then buffered with a
 * line of another thread between. */
static const struct jline {
	int	pri;
	const char *text;
} jlines[] = {
	{ 4, "warning: disk full" },
	{ 6, "hello" },
	{ 3, "error: cannot bind" },
	{ 4, "warning: held" },
	{ 3, "error: from a thread" },
	{ 6, "held again" },
};
#define NJL	(sizeof(jlines) / sizeof(jlines[0]))

static void
stream_text(const char *t, const struct stat *st, char *out, size_t len)
{
	unsigned long long v;
	size_t	o = 0;

	for (; *t != '\0' && o + 24 < len; t++) {
		switch (*t) {
		case 'D':
		case 'd':
			v = (unsigned long long)st->st_dev + (*t == 'd');
			break;
		case 'I':
		case 'i':
			v = (unsigned long long)st->st_ino + (*t == 'i');
			break;
		default:
			out[o++] = *t;
			continue;
		}
		o += (size_t)snprintf(out + o, len - o, "%llu", v);
	}
	out[o] = '\0';
}

static void *
jthread_main(void *arg)
{
	(void)arg;
	log_err("from a thread");
	return NULL;
}

/* Everything that can be read from a socket or pipe without waiting. */
static char *
drain(int fd)
{
	static char buf[65536];
	ssize_t	n, len = 0;

	while (len < (ssize_t)sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	return strdup(buf);
}

static void
test_journal(void **state)
{
	size_t	i, j, o;

	(void)state;
	for (i = 0; i < NJ; i++) {
		const struct jrow *r = &jrows[i];
		char	v[128], want[512], *raw, *got;
		struct stat st;
		pthread_t th;
		int	p[2] = {-1, -1}, other = -1;
		char	path[] = "/tmp/test_log.XXXXXX";

		/* fd 2 and its reader */
		if (r->fd2 == J_FILE) {
			cap_start();
		} else {
			if (r->fd2 == J_SOCKET)
				assert_int_equal(socketpair(AF_UNIX,
				    SOCK_STREAM, 0, p), 0);
			else
				assert_int_equal(pipe(p), 0);
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			fflush(stderr);
			saved_fd = dup(2);
			assert_true(saved_fd >= 0);
			dup2(p[1], 2);
		}
		if (r->other) {
			/* kept open, so that fd 2 cannot get its inode */
			other = mkstemp(path);
			assert_true(other >= 0);
			unlink(path);
		}
		assert_int_equal(fstat(r->other ? other : 2, &st), 0);
		if (r->text != NULL) {
			stream_text(r->text, &st, v, sizeof(v));
			setenv("JOURNAL_STREAM", v, 1);
		} else
			unsetenv("JOURNAL_STREAM");
		log_open(IDENT, LOG_TO_STDERR);

		log_warn("disk full");
		log_info("hello");
		log_err("cannot bind");
		buffer_on();
		log_warn("held");
		assert_int_equal(pthread_create(&th, NULL, jthread_main, NULL),
		    0);
		pthread_join(th, NULL);
		log_info("held again");
		log_flush();
		log_buffer(NULL, NULL);

		if (r->fd2 == J_FILE) {
			raw = strdup(cap_read());
			cap_end();
		} else {
			fflush(stderr);
			dup2(saved_fd, 2);
			close(saved_fd);
			saved_fd = -1;
			close(p[1]);
			raw = drain(p[0]);
			close(p[0]);
		}
		if (other >= 0)
			close(other);
		journal_off();

		for (j = 0, o = 0; j < NJL && o < sizeof(want); j++) {
			if (r->want_journal)
				o += (size_t)snprintf(want + o, sizeof(want) - o,
				    "<%d>%s\n", jlines[j].pri, jlines[j].text);
			else
				o += (size_t)snprintf(want + o, sizeof(want) - o,
				    "%s%s\n", me(), jlines[j].text);
		}
		got = r->want_journal ? strdup(raw) : unstamp(raw);
		if (strcmp(got, want) != 0)
			fail_msg("row %s: JOURNAL_STREAM=%s: got \"%s\", want "
			    "\"%s\"", r->name, r->text != NULL ? v : "(unset)",
			    raw, want);
		free(raw);
		free(got);
	}
}

/* ---- log_escape(), log_json() -------------------------------------------- */

static const struct erow {
	const char *name;
	const char *in;
	size_t	max, outlen;
	const char *want_escape, *want_json;
} erows[] = {
	{ "plain", "mx.example.net", 100, 64, "mx.example.net",
	  "mx.example.net" },
	{ "quote and backslash", "a\"b\\c", 100, 64, "a\"b\\x5cc",
	  "a\\\"b\\\\c" },
	{ "empty", "", 100, 64, "", "" },
	{ "cut at max", "abcdef", 3, 64, "abc...", "abc..." },
	/* hostile bytes */
	{ "control bytes", "a\r\nb", 100, 64, "a\\x0d\\x0ab",
	  "a\\u000d\\u000ab" },
	{ "high bytes", "\xc3\xa9", 100, 64, "\\xc3\\xa9", "\\u00c3\\u00a9" },
	{ "tab", "\t", 100, 64, "\\x09", "\\u0009" },
	{ "NULL input", NULL, 100, 64, "", "" },
};
#define NE	(sizeof(erows) / sizeof(erows[0]))

static void
test_escape(void **state)
{
	char	out[256];
	size_t	i;

	(void)state;
	for (i = 0; i < NE; i++) {
		const struct erow *r = &erows[i];

		log_escape(r->in, r->max, out, r->outlen);
		if (strcmp(out, r->want_escape) != 0)
			fail_msg("row %s: log_escape got \"%s\", want \"%s\"",
			    r->name, out, r->want_escape);
		log_json(r->in, r->max, out, r->outlen);
		if (strcmp(out, r->want_json) != 0)
			fail_msg("row %s: log_json got \"%s\", want \"%s\"",
			    r->name, out, r->want_json);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_escape),
	};

	/* Run from a systemd unit, the rows must still start from time
	 * stamps: each one sets JOURNAL_STREAM itself. */
	unsetenv("JOURNAL_STREAM");
	log_open(IDENT, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
