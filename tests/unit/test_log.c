/* test_log - stderr lines buffered per event-loop pass (log_buffer(),
 * log_flush()) against the unbuffered path: same bytes, in order, once;
 * the pending callback; LOG_BUFFER_MAX overflow; other threads, fork,
 * exit() and a full or closed stderr pipe. Also log_escape(), log_json().
 *
 * fd 2 is pointed at a temporary file (or a pipe) while a row runs and
 * put back before anything is asserted, so cmocka's messages are seen. */
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

static const struct lrow {
	const char *name;
	enum kind kind;
	const char *msg;	/* NULL: len bytes of fill */
	size_t	len;
	char	fill;
	const char *rlkey[2];	/* K_RL: key when buffered, when not */
	const char *want;	/* after "ident[pid]: "; NULL: no line */
	size_t	wantfill;	/* then this many fill bytes */
} lrows[] = {
	{ "info", K_INFO, "hello", 0, 0, {0, 0}, "hello", 0 },
	{ "warning tag", K_WARN, "disk full", 0, 0, {0, 0},
	  "warning: disk full", 0 },
	{ "error tag", K_ERR, "cannot bind", 0, 0, {0, 0},
	  "error: cannot bind", 0 },
	{ "plain warning, no tag", K_PLAIN_W, "{\"a\":1}", 0, 0, {0, 0},
	  "{\"a\":1}", 0 },
	{ "plain info", K_PLAIN_I, "{\"b\":2}", 0, 0, {0, 0}, "{\"b\":2}", 0 },
	{ "format arguments", K_FMT, "x", 0, 0, {0, 0},
	  "n=42 s=<x> f=3.1 u=18446744073709551615", 0 },
	{ "debug on", K_DEBUG_ON, "dbg", 0, 0, {0, 0}, "dbg", 0 },
	{ "empty message", K_INFO, "", 0, 0, {0, 0}, "", 0 },
	{ "percent in argument", K_INFO, "100% %s %n", 0, 0, {0, 0},
	  "100% %s %n", 0 },
	{ "rate-limited, first", K_RL, "first", 0, 0, {"rl-a", "rl-b"},
	  "warning: first", 0 },
	{ "LOG_LINE_MAX-1 bytes, kept", K_WARN, NULL, LINE_CUT, 'a', {0, 0},
	  "warning: ", LINE_CUT },
	/* cut, suppressed or not logged */
	{ "debug off", K_DEBUG, "nothing", 0, 0, {0, 0}, NULL, 0 },
	{ "rate-limited, repeat", K_RL, "second", 0, 0, {"rl-a", "rl-b"},
	  NULL, 0 },
	{ "LOG_LINE_MAX bytes, cut", K_INFO, NULL, LINE_CUT + 1, 'b', {0, 0},
	  "", LINE_CUT },
	{ "3*LOG_LINE_MAX bytes, cut", K_INFO, NULL, 3 * (LINE_CUT + 1), 'c',
	  {0, 0}, "", LINE_CUT },
	{ "long error, cut after the tag", K_ERR, NULL, 5000, 'd', {0, 0},
	  "error: ", LINE_CUT },
	{ "long plain, cut", K_PLAIN_W, NULL, 4096, 'e', {0, 0}, "", LINE_CUT },
	{ "long rate-limited, cut", K_RL, NULL, 3000, 'f', {"rl-c", "rl-d"},
	  "warning: ", LINE_CUT },
	{ "LOG_BUFFER_MAX bytes, cut", K_WARN, NULL, LOG_BUFFER_MAX, 'g',
	  {0, 0}, "warning: ", LINE_CUT },
	{ "2*LOG_BUFFER_MAX bytes, cut", K_ERR, NULL, 2 * LOG_BUFFER_MAX, 'h',
	  {0, 0}, "error: ", LINE_CUT },
	{ "long formatted, cut", K_FMT, NULL, 3000, 'i', {0, 0},
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
emit(const struct lrow *r, int buffered)
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
		log_warn_rl(r->rlkey[buffered ? 0 : 1], 3600, "%s", m);
		break;
	}
}

static char *
want_text(const struct lrow *r)
{
	char   *w;
	size_t	n;

	if (r->want == NULL)
		return strdup("");
	n = strlen(me()) + strlen(r->want);
	w = malloc(n + r->wantfill + 2);
	assert_non_null(w);
	snprintf(w, n + 1, "%s%s", me(), r->want);
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
	for (i = 0; i < NL; i++) {
		const struct lrow *r = &lrows[i];
		char   *before, *after, *unbuf, *want;
		int	pend;

		cap_start();
		buffer_on();
		emit(r, 1);
		before = strdup(cap_read());
		log_flush();
		after = unstamp(cap_read());
		pend = npend;
		log_buffer(NULL, NULL);
		cap_end();

		cap_start();
		emit(r, 0);
		unbuf = unstamp(cap_read());
		cap_end();

		want = want_text(r);
		if (strcmp(before, "") != 0)
			fail_msg("row %s: got %zu bytes before log_flush(), "
			    "want 0", r->name, strlen(before));
		if (strcmp(after, want) != 0)
			fail_msg("row %s: buffered got \"%.80s\" (%zu bytes), "
			    "want \"%.80s\" (%zu bytes)", r->name, after,
			    strlen(after), want, strlen(want));
		if (strcmp(unbuf, want) != 0)
			fail_msg("row %s: unbuffered got \"%.80s\" (%zu bytes), "
			    "want \"%.80s\" (%zu bytes)", r->name, unbuf,
			    strlen(unbuf), want, strlen(want));
		if (pend != (r->want != NULL))
			fail_msg("row %s: got %d pending calls, want %d",
			    r->name, pend, r->want != NULL);
		free(before);
		free(after);
		free(unbuf);
		free(want);
	}
}

/* ---- many lines: past LOG_BUFFER_MAX, in order, once -------------------- */

static const struct mrow {
	const char *name;
	int	nlines;
	size_t	len;		/* message bytes after "NNNNN " */
	int	want_min_pend;	/* at least this many empty->non-empty */
} mrows[] = {
	{ "one line", 1, 10, 1 },
	{ "fits easily", 20, 100, 1 },
	{ "short lines, several buffers", 4000, 10, 3 },
	{ "100-byte lines", 1000, 100, 3 },
	{ "LOG_LINE_MAX lines", 40, LINE_CUT - 6, 3 },
	{ "over LOG_LINE_MAX, cut", 40, 3000, 3 },
	{ "empty messages", 3000, 0, 2 },
};
#define NM	(sizeof(mrows) / sizeof(mrows[0]))

static void
test_many(void **state)
{
	static char msg[4096];
	size_t	i, k, wlen;
	int	j;

	(void)state;
	for (i = 0; i < NM; i++) {
		const struct mrow *r = &mrows[i];
		char   *got, *p, *line;
		size_t	before, nbefore;
		int	pend, bad = -1, nonmono = -1;

		memset(msg, 'm', r->len);
		msg[r->len] = '\0';
		cap_start();
		buffer_on();
		for (j = 0; j < r->nlines; j++)
			log_info("%05d %s", j, msg);
		before = strlen(cap_read());
		log_flush();
		got = unstamp(cap_read());
		pend = npend;
		for (j = 1; j < npend && j < PEND_MAX; j++)
			if (pend_size[j] <= pend_size[j - 1] && nonmono < 0)
				nonmono = j;
		nbefore = npend > 0 && npend <= PEND_MAX ?
		    pend_size[npend - 1] : (size_t)-1;
		log_buffer(NULL, NULL);
		cap_end();

		/* line j is "ident[pid]: jjjjj mmm...\n", cut at LINE_CUT */
		wlen = strlen(me()) + (6 + r->len > LINE_CUT ? LINE_CUT :
		    6 + r->len) + 1;
		line = malloc(wlen + 1);
		assert_non_null(line);
		p = got;
		for (j = 0; j < r->nlines && bad < 0; j++) {
			k = (size_t)snprintf(line, wlen + 1, "%s%05d %s", me(),
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
			fail_msg("row %s: line %d: got \"%.60s\", want \"%.60s\"",
			    r->name, bad, p, line);
		if (*p != '\0')
			fail_msg("row %s: got %zu more lines, want %d lines",
			    r->name, count_lines(p), r->nlines);
		if (pend < r->want_min_pend)
			fail_msg("row %s: got %d pending calls, want >= %d",
			    r->name, pend, r->want_min_pend);
		if (nonmono >= 0)
			fail_msg("row %s: pending call %d saw no flush since "
			    "call %d, want one flush between", r->name,
			    nonmono, nonmono - 1);
		if (before != nbefore)
			fail_msg("row %s: got %zu bytes written before the "
			    "last flush, want %zu (those of the last pending "
			    "call)", r->name, before, nbefore);
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
		cmocka_unit_test(test_escape),
	};

	log_open(IDENT, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
