/*++
 * NAME
 *	log 3
 * SUMMARY
 *	logging to syslog or stderr
 * SYNOPSIS
 *	#include "shared/log.h"
 *
 *	void log_open(const char *ident, enum log_dest dest);
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
 *	log_warn_rl() rate-limits a repeating warning per key.
 *
 *	log_plain() logs without the "warning: " tag, for the JSON
 *	decision lines (log_format = json), which must be one JSON object.
 *
 *	log_escape() makes peer-supplied text safe to log; log_json() makes
 *	it safe inside a JSON string.
 * DIAGNOSTICS
 *	None; logging never fails the caller.
 * LIMITS
 *	LOG_LINE_MAX bytes per line (longer lines are cut); LOG_RL_KEYS
 *	distinct rate-limit keys.
 *--*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"

#define LOG_LINE_MAX	2048
#define LOG_RL_KEYS	64

static enum log_dest dest = LOG_TO_STDERR;
static const char *ident = "relaytrust";
static int debug_on;
static _Thread_local pid_t my_pid;	/* 0: ask getpid() */
static int atfork_set;
static _Thread_local char stamp[32];	/* of stamp_time */
static _Thread_local time_t stamp_time = -1;

static struct {
	const char *key;
	time_t	last;
	unsigned long suppressed;
} rl[LOG_RL_KEYS];

static void
forget_pid(void)
{
	my_pid = 0;
}

void
log_open(const char *name, enum log_dest d)
{
	ident = name;
	dest = d;
	if (!atfork_set) {
		pthread_atfork(NULL, NULL, forget_pid);
		atfork_set = 1;
	}
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

static void
vlog_tag(int prio, int tagged, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	struct tm tm;
	time_t	now;
	const char *tag = !tagged ? "" : prio == LOG_ERR ? "error: " :
	    prio == LOG_WARNING ? "warning: " : "";

	vsnprintf(line, sizeof(line), fmt, ap);
	switch (dest) {
	case LOG_TO_SYSLOG:
		syslog(prio, "%s%s", tag, line);
		break;
	case LOG_TO_STDERR:
		/* One line per request: the stamp is formatted once a
		 * second and the pid asked once per process. */
		now = time(NULL);
		if (now != stamp_time) {
			localtime_r(&now, &tm);
			strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
			stamp_time = now;
		}
		if (my_pid == 0)
			my_pid = getpid();
		fprintf(stderr, "%s %s[%ld]: %s%s\n", stamp, ident,
		    (long)my_pid, tag, line);
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
