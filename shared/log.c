/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	log 3
 * SUMMARY
 *	logging to syslog or stderr
 * SYNOPSIS
 *	#include "shared/log.h"
 *
 *	void log_open(const char *ident, enum log_dest dest);
 *	void log_buffer(void (*pending)(void *), void *arg);
 *	void log_flush(void);
 *	void log_info(fmt, ...); log_warn(...); log_err(...); log_debug(...);
 *	void log_warn_rl(const char *key, int interval, fmt, ...);
 *	void log_plain(int warning, fmt, ...);
 *	char *log_escape(const char *in, size_t max, char *out, size_t outlen);
 *	char *log_json(const char *in, size_t max, char *out, size_t outlen);
 * DESCRIPTION
 *	Daemons log to syslog with facility mail, as Postfix does; with -f
 *	the same lines go to stderr with a time stamp.  Under --stdio the
 *	destination is syslog and nothing ever reaches stderr, because
 *	spawn(8) joins stderr to the policy socket.
 *
 *	Under systemd, stderr is a stream to journald, which adds the
 *	time, the name (SyslogIdentifier=) and the pid itself, and stores
 *	a line without a priority at info, so no warning would reach
 *	"journalctl -p warning".  There each line is "<N>text" instead,
 *	N its syslog priority (3 error, 4 warning, 6 info, 7 debug), which
 *	journald takes off and keeps as the priority (SyslogLevelPrefix=,
 *	on by default).  N is the level alone: journald would keep a
 *	"<22>" with a facility in the text; the facility is the unit's
 *	(SyslogFacility=mail).  The "warning: " and "error: " tags stay in
 *	the text, as Postfix writes them.  log_open() decides this once, as
 *	systemd.exec(5) says to: JOURNAL_STREAM is set and its "DEV:INO"
 *	(decimal) is the device and inode of fd 2.  A child whose stderr
 *	was redirected inherits the variable, not the stream, and keeps
 *	the time stamp.
 *
 *	On stderr each line is one write(2) unless the thread that runs
 *	the event loop calls log_buffer(): then its lines are formatted
 *	once, straight into one buffer, and written together by
 *	log_flush(), one write(2) for many requests instead of one per
 *	request.  pending(arg) is called whenever the buffer stops being
 *	empty, so the caller can schedule that flush (policyd arms a timer
 *	of MAIN_LOG_FLUSH_MS, 10 ms; under load the buffer fills first).  A
 *	line that might not fit flushes the buffer first.  A line of another
 *	thread is written at once, after the buffered lines, so the log keeps
 *	the order in which lines were logged.  log_flush() is also run
 *	at exit(), so lines logged just before it are not lost; a child
 *	forked without exec drops the parent's buffered lines (they are
 *	the parent's to write) and logs unbuffered.  log_buffer(NULL,
 *	NULL) flushes and turns buffering off.  Syslog is never buffered.
 *
 *	log_warn_rl() rate-limits a repeating warning per key.
 *
 *	log_plain() logs without the "warning: " tag, for the JSON
 *	decision lines (log_format = json), which must be one JSON object.
 *
 *	log_escape() makes peer-supplied text safe to log; log_json() makes
 *	it safe inside a JSON string.
 * DIAGNOSTICS
 *	None; logging never fails the caller.  log_flush() never blocks
 *	for long: when stderr is a full non-blocking pipe it waits at most
 *	LOG_STALL_MS for the reader, then drops the rest of the buffer;
 *	after such a drop it does not wait again until a flush gets
 *	everything out.  Other write errors drop the buffer at once.
 *	A process killed by a signal or abort() loses its buffered lines
 *	(those of the last flush interval); flush before abort().
 *	A JOURNAL_STREAM that is not two decimal numbers joined by ":"
 *	(no sign, no blanks, each fitting an unsigned long long), or that
 *	names another file than fd 2, or an fd 2 that fstat() refuses,
 *	means no journal: the lines keep their time stamp.
 * LIMITS
 *	LOG_LINE_MAX bytes per line (longer lines are cut, the same way
 *	buffered or not); LOG_RL_KEYS distinct rate-limit keys;
 *	LOG_BUFFER_MAX bytes of buffered lines; a "time ident[pid]: "
 *	prefix over LOG_PREFIX_MAX bytes is written unbuffered.
 *--*/
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"

#define LOG_LINE_MAX	2048
#define LOG_RL_KEYS	64
#define LOG_PREFIX_MAX	256	/* "time ident[pid]: " of a buffered line */
#define LOG_STALL_MS	100	/* longest wait for a full stderr pipe */

static enum log_dest dest = LOG_TO_STDERR;
static const char *ident = "relaytrust";
static int debug_on;
static int journal;		/* "<N>text" for journald: see log_open() */
static _Thread_local pid_t my_pid;	/* 0: ask getpid() */
static int atfork_set;
static _Thread_local char stamp[32];	/* of stamp_time */
static _Thread_local time_t stamp_time = -1;

/*
 * The buffered lines belong to the thread that called log_buffer() (the
 * event loop's); only it sees obuf_mine set and adds to the buffer.
 * obuf_lock guards the buffer and the writes to stderr: another thread
 * writes the buffered lines out before its own line.
 */
static pthread_mutex_t obuf_lock = PTHREAD_MUTEX_INITIALIZER;
static char obuf[LOG_BUFFER_MAX];
static size_t obuf_len;
static void (*obuf_pending)(void *);
static void *obuf_arg;
static int obuf_stalled;		/* last flush gave up on a full pipe */
static int atexit_set;
static _Thread_local int obuf_mine;
static char prefix[LOG_PREFIX_MAX];	/* of the owner: of prefix_time, */
static size_t prefix_len;		/* prefix_pid and prefix_ident */
static time_t prefix_time = -1;
static pid_t prefix_pid;
static const char *prefix_ident;

static struct {
	const char *key;
	time_t	last;
	unsigned long suppressed;
} rl[LOG_RL_KEYS];

/* No thread holds obuf_lock across fork(): the child's copy is usable. */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&obuf_lock);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&obuf_lock);
}

static void
fork_child(void)
{
	my_pid = 0;
	/* The parent writes its buffered lines; a child that exits without
	 * exec must not write them a second time. */
	obuf_len = 0;
	obuf_mine = 0;
	obuf_pending = NULL;
	obuf_arg = NULL;
	pthread_mutex_unlock(&obuf_lock);
}

static void
atfork_once(void)
{
	if (!atfork_set) {
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		atfork_set = 1;
	}
}

/* One decimal number, digits only (strtoull() would take a sign or
 * blanks); *end is left after it. Returns 0, or -1 when there is none
 * or it does not fit. */
static int
stream_num(const char *s, char **end, unsigned long long *v)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno == 0 ? 0 : -1;
}

/*
 * Is fd 2 journald's stream? systemd sets JOURNAL_STREAM to "DEV:INO"
 * of the stream it connected; a child inherits the variable even when
 * its stderr goes elsewhere, so only the same device and inode count.
 */
int
log_stderr_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	char   *p;
	struct stat st;
	unsigned long long dev, ino;

	if (v == NULL || stream_num(v, &p, &dev) != 0 || *p != ':' ||
	    stream_num(p + 1, &p, &ino) != 0 || *p != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_open(const char *name, enum log_dest d)
{
	ident = name;
	dest = d;
	/* Once: an fstat() per line would be a system call for nothing,
	 * as nothing points fd 2 elsewhere once logging has started. */
	journal = dest == LOG_TO_STDERR && log_stderr_journal();
	atfork_once();
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(int on)
{
	debug_on = on;
}

static void vlog_tag(int, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));
static void vlog(int, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

/* One line per request: the stamp is formatted once a second and the
 * pid asked once per process. Returns the time of the stamp. */
static time_t
stamp_now(void)
{
	struct tm tm;
	time_t	now = time(NULL);

	if (now != stamp_time) {
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		stamp_time = now;
	}
	if (my_pid == 0)
		my_pid = getpid();
	return now;
}

/* Write all of p to stderr, or give up: see DIAGNOSTICS. */
static void
write_all(const char *p, size_t len)
{
	struct pollfd pfd;
	struct timespec t0, t;
	ssize_t	n;
	long	ms;
	int	waiting = 0;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, p, len)) > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
		    obuf_stalled)
			break;
		/* A full non-blocking pipe: wait a little for its reader,
		 * LOG_STALL_MS in all, however often it makes room. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (!waiting) {
			t0 = t;
			waiting = 1;
		}
		ms = LOG_STALL_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms <= 0) {
			obuf_stalled = 1;
			break;
		}
		pfd.fd = STDERR_FILENO;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)ms) < 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLERR | POLLNVAL))
			break;
	}
	if (len == 0)
		obuf_stalled = 0;
}

/* Write the buffered lines out; obuf_lock held. */
static void
flush_locked(void)
{
	size_t	len = obuf_len;

	if (len == 0)
		return;
	obuf_len = 0;
	write_all(obuf, len);
}

void
log_flush(void)
{
	if (!obuf_mine)
		return;
	pthread_mutex_lock(&obuf_lock);
	flush_locked();
	pthread_mutex_unlock(&obuf_lock);
}

void
log_buffer(void (*pending)(void *), void *arg)
{
	if (pending == NULL) {
		log_flush();
		obuf_mine = 0;
		obuf_pending = NULL;
		obuf_arg = NULL;
		return;
	}
	atfork_once();
	if (!atexit_set && atexit(log_flush) == 0)
		atexit_set = 1;
	obuf_pending = pending;
	obuf_arg = arg;
	obuf_mine = 1;
}

static int buffer_line(int, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/*
 * Format the line once, straight into the buffer; obuf_lock held. Returns
 * 1 when the buffer was empty before (the caller tells obuf_pending, with
 * the lock released), 0 when not, or -1, with the buffer flushed and ap
 * untouched, when even an empty buffer could not hold it; the caller then
 * writes the line unbuffered.
 */
static int
buffer_line(int prio, const char *tag, const char *fmt, va_list ap)
{
	size_t	tlen = strlen(tag), plen;
	char   *p, pri[3];
	const char *pfx;
	time_t	now;
	int	n, was_empty;

	if (journal) {
		/* "<N>", N one digit: no stamp to keep up to date */
		pri[0] = '<';
		pri[1] = (char)('0' + LOG_PRI(prio));
		pri[2] = '>';
		pfx = pri;
		plen = sizeof(pri);
	} else {
		now = stamp_now();
		if (now != prefix_time || my_pid != prefix_pid ||
		    ident != prefix_ident) {
			n = snprintf(prefix, sizeof(prefix), "%s %s[%ld]: ",
			    stamp, ident, (long)my_pid);
			prefix_len = n > 0 && (size_t)n < sizeof(prefix) ?
			    (size_t)n : 0;
			prefix_time = now;
			prefix_pid = my_pid;
			prefix_ident = ident;
		}
		pfx = prefix;
		plen = prefix_len;
	}
	/* The room a line may need: the message is cut as in vlog_tag(). */
	if (plen == 0 || plen + tlen + LOG_LINE_MAX > sizeof(obuf)) {
		flush_locked();
		return -1;
	}
	if (sizeof(obuf) - obuf_len < plen + tlen + LOG_LINE_MAX)
		flush_locked();
	was_empty = obuf_len == 0;
	p = obuf + obuf_len;
	memcpy(p, pfx, plen);
	memcpy(p + plen, tag, tlen);
	p += plen + tlen;
	if (strcmp(fmt, "%s") == 0) {
		/* A line made by the caller (the decision log): copied. */
		va_list	cp;
		const char *s;

		va_copy(cp, ap);
		s = va_arg(cp, const char *);
		va_end(cp);
		n = (int)strnlen(s, LOG_LINE_MAX - 1);
		memcpy(p, s, (size_t)n);
	} else if ((n = vsnprintf(p, LOG_LINE_MAX, fmt, ap)) < 0)
		n = 0;
	else if (n >= LOG_LINE_MAX)
		n = LOG_LINE_MAX - 1;
	p[n] = '\n';
	obuf_len += plen + tlen + (size_t)n + 1;
	return was_empty;
}

static void
vlog_tag(int prio, int tagged, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	const char *tag = !tagged ? "" : prio == LOG_ERR ? "error: " :
	    prio == LOG_WARNING ? "warning: " : "";

	if (dest == LOG_TO_STDERR && obuf_mine) {
		int	r;

		pthread_mutex_lock(&obuf_lock);
		r = buffer_line(prio, tag, fmt, ap);
		pthread_mutex_unlock(&obuf_lock);
		if (r == 1 && obuf_pending != NULL)
			obuf_pending(obuf_arg);
		if (r >= 0)
			return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	switch (dest) {
	case LOG_TO_SYSLOG:
		syslog(prio, "%s%s", tag, line);
		break;
	case LOG_TO_STDERR:
		if (!journal)
			stamp_now();
		pthread_mutex_lock(&obuf_lock);
		flush_locked();		/* lines logged before this one */
		if (journal)
			fprintf(stderr, "<%d>%s%s\n", LOG_PRI(prio), tag,
			    line);
		else
			fprintf(stderr, "%s %s[%ld]: %s%s\n", stamp, ident,
			    (long)my_pid, tag, line);
		pthread_mutex_unlock(&obuf_lock);
		break;
	case LOG_TO_NOWHERE:
		break;
	}
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	vlog_tag(prio, 1, fmt, ap);
}

void
log_plain(int warning, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_tag(warning ? LOG_WARNING : LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

#define LOGFN(name, prio) \
void name(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	vlog(prio, fmt, ap); \
	va_end(ap); \
}
LOGFN(log_info, LOG_INFO)
LOGFN(log_warn, LOG_WARNING)
LOGFN(log_err, LOG_ERR)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_warn_rl(const char *key, int interval, const char *fmt, ...)
{
	char	buf[LOG_LINE_MAX];
	va_list ap;
	time_t	now = time(NULL);
	int	i, slot = -1;

	for (i = 0; i < LOG_RL_KEYS; i++) {
		if (rl[i].key == key || (rl[i].key && strcmp(rl[i].key, key) == 0)) {
			slot = i;
			break;
		}
		if (rl[i].key == NULL && slot < 0)
			slot = i;
	}
	if (slot >= 0 && rl[slot].key != NULL && now - rl[slot].last < interval) {
		rl[slot].suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (slot >= 0 && rl[slot].suppressed)
		log_warn("%s (%lu similar warnings suppressed)", buf,
		    rl[slot].suppressed);
	else
		log_warn("%s", buf);
	if (slot >= 0) {
		rl[slot].key = key;
		rl[slot].last = now;
		rl[slot].suppressed = 0;
	}
}

char *
log_escape(const char *in, size_t max, char *out, size_t outlen)
{
	size_t	i, o = 0;

	if (outlen == 0)
		return out;
	for (i = 0; in && in[i] && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i >= max) {
			if (o + 4 < outlen)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

char *
log_json(const char *in, size_t max, char *out, size_t outlen)
{
	size_t	i, o = 0;

	if (outlen == 0)
		return out;
	for (i = 0; in && in[i] && o + 7 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i >= max) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
	}
	out[o] = '\0';
	return out;
}
