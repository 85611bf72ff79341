/* SPDX-License-Identifier: ISC */
#ifndef SHARED_LOG_H
#define SHARED_LOG_H
/* log - syslog (facility mail) or stderr; one line per event. */
#include <stddef.h>

enum log_dest { LOG_TO_SYSLOG, LOG_TO_STDERR, LOG_TO_NOWHERE };

/* Start logging as "ident[pid]: ...". LOG_TO_NOWHERE also stays silent on stderr.
 * LOG_TO_STDERR when JOURNAL_STREAM names fd 2 (systemd): "<N>..." lines,
 * N the syslog priority, no time stamp or ident (journald adds them). */
void	log_open(const char *ident, enum log_dest dest);
/* 1 when fd 2 is journald's stream (as log_open() decides), else 0: for
 * messages a program prints to stderr itself before log_open(). */
int	log_stderr_journal(void);
void	log_set_debug(int on);
/* Buffer stderr lines of the calling thread (LOG_TO_STDERR only) until
 * log_flush(); pending(arg) is called each time the buffer stops being
 * empty, so the caller can schedule the flush. log_buffer(NULL, NULL)
 * flushes and returns to one write per line. Other threads are never
 * buffered. Also flushed at exit(); a forked child drops the buffer. */
#define LOG_BUFFER_MAX	32768
void	log_buffer(void (*pending)(void *), void *arg);
/* Write the buffered lines to fd 2; gives up on them rather than block. */
void	log_flush(void);
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning at most once per `interval` seconds per `key` (a static string);
 * suppressed repeats are counted and reported with the next one. */
void	log_warn_rl(const char *key, int interval, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* One line as is, at warning (warning != 0) or info level, without the
 * "warning: " tag: for lines that must stay one machine-readable object. */
void	log_plain(int warning, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Copy peer text for logging: printable ASCII kept, everything else as \xHH,
 * cut at `max` input bytes with "..." appended. Returns out (always terminated). */
#define LOG_ESCAPE_MAX	100
char	*log_escape(const char *in, size_t max, char *out, size_t outlen);
/* The same for the inside of a JSON string: " \ and control bytes
 * escaped, bytes over 0x7e as \u00HH (so the line is ASCII and valid
 * JSON whatever the peer sent), cut at `max` input bytes with "...".
 * Returns out (always terminated; outlen >= 7 * max + 4 never cuts). */
char	*log_json(const char *in, size_t max, char *out, size_t outlen);

#endif
