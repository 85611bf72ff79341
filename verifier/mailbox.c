/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	mailbox 3
 * SUMMARY
 *	read messages from mbox, Maildir, .eml directories, files, stdin
 * SYNOPSIS
 *	#include "verifier/mailbox.h"
 *
 *	struct mailbox *mailbox_open(const char *path, char *err,
 *		size_t errlen);
 *	int mailbox_next(struct mailbox *mb, struct mailbox_msg *msg,
 *		char *err, size_t errlen);
 *	void mailbox_progress(const struct mailbox *mb, uint64_t *done,
 *		uint64_t *total, uint64_t *bytes);
 *	void mailbox_close(struct mailbox *mb);
 *	size_t mailbox_unescape(char *data, size_t len);
 * DESCRIPTION
 *	A path is a Maildir when it has cur/ or new/ (Maildir++ folders
 *	".name" below it are read too), another directory is read for its
 *	*.eml files, a file starting with "From " is an mbox, any other file
 *	is one message; "-" is stdin, an mbox or one message by the same test.
 *	Files of a directory are read in name order.
 *
 *	An mbox is streamed: one buffer, filled by MAILBOX_READ_BLOCK
 *	read()s, holds the current message and what follows it. Its lines are
 *	walked once, one memchr() per line and a look at the line's first
 *	bytes, which finds both the separator, a "From " line that follows an
 *	empty line (RFC 4155; LF or CRLF), and the first mboxrd/mboxo
 *	">From " line; unescaping then starts there, so a message without
 *	one is not touched again. The message handed out points into that
 *	buffer (its bytes are copied by read() only); handed-out bytes are
 *	dropped, by one memmove() of the unread rest, only when a read needs
 *	the room. Memory is bounded by MAILBOX_MSG_MAX plus two blocks
 *	whatever the size of the mailbox.
 *
 *	mailbox_hold() keeps the buffer of the message just handed out
 *	alive past the next call and past mailbox_close(), until
 *	mailbox_release(): the --jobs threads verify messages in place
 *	instead of copies. A held buffer is not moved; the reader takes a
 *	new one and the old one is freed with its last release.
 * DIAGNOSTICS
 *	mailbox_open() and mailbox_next() return the reason (strerror, "not a
 *	mailbox"); a message over MAILBOX_MSG_MAX is cut there and flagged
 *	MAILBOX_F_TRUNCATED; an mbox that ends inside a line is flagged
 *	MAILBOX_F_NO_EOL.
 * LIMITS
 *	MAILBOX_MSG_MAX bytes per message, MAILBOX_FILES_MAX files per
 *	directory tree, MAILBOX_SUBDIRS_MAX Maildir++ folders.
 *--*/
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "shared/mem.h"
#include "verifier/mailbox.h"

/* The buffer of a mailbox, kept alive while messages in it are held. */
struct mailbox_block {
	unsigned refs;		/* messages handed out and held */
	int	retired;	/* the mailbox moved on: freed at refs 0 */
	char	data[];
};

struct mailbox {
	enum mailbox_type type;
	char	*path;
	int	fd;
	int	eof;
	int	started;
	/* mbox / single file */
	struct mailbox_block *blk;	/* buf is its data */
	char	*buf;
	size_t	cap, len;	/* buf[0, len) read, not yet dropped */
	size_t	off;		/* first byte still needed: the message */
	size_t	consumed;	/* where the next "From " line starts */
	/* The line scan of the current mbox message; offsets in buf. */
	size_t	scan;		/* start of the line being looked at */
	size_t	lscan;		/* its end is searched from here */
	int	checked;	/* the start of the line at scan was examined */
	int	cur_blank;	/* ... and it is an empty line */
	int	prev_blank;	/* the line before scan is empty */
	size_t	blank_start;	/* start of that empty line */
	size_t	esc_at;		/* first ">From " line, SIZE_MAX if none */
	int	discard;	/* message over the cap: bytes past it dropped */
	long	index;
	uint64_t bytes, total;
	/* directories */
	char	**files;
	size_t	nfiles, nalloc, next;
	size_t	skipped;	/* files without the .eml suffix */
};

static void
add_file(struct mailbox *mb, const char *dir, const char *name)
{
	size_t n;
	char *p;

	if (mb->nfiles >= MAILBOX_FILES_MAX)
		return;
	if (mb->nfiles == mb->nalloc) {
		mb->nalloc = mb->nalloc ? mb->nalloc * 2 : 256;
		mb->files = xrealloc(mb->files, mb->nalloc * sizeof(char *));
	}
	n = strlen(dir) + strlen(name) + 2;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	mb->files[mb->nfiles++] = p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir/name into out; -1 if it does not fit. */
static int
join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Files of dir (not starting with "."), with suffix if given. */
static int
list_dir(struct mailbox *mb, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t sl = suffix ? strlen(suffix) : 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* readdir's type saves a stat() per message; links and
		 * file systems that do not say are asked */
		if (join(path, sizeof(path), dir, de->d_name) < 0 ||
		    (de->d_type != DT_REG && (stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))))
			continue;
		if (suffix && (n < sl || strcasecmp(de->d_name + n - sl,
		    suffix) != 0)) {
			mb->skipped++;
			continue;
		}
		add_file(mb, dir, de->d_name);
	}
	closedir(d);
	return 0;
}

static void
list_maildir(struct mailbox *mb, const char *top, int subfolders)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	int nsub = 0;

	if (join(path, sizeof(path), top, "cur") == 0)
		list_dir(mb, path, NULL);
	if (join(path, sizeof(path), top, "new") == 0)
		list_dir(mb, path, NULL);
	if (!subfolders || (d = opendir(top)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && nsub < MAILBOX_SUBDIRS_MAX) {
		char cur[4096], nw[4096];

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (join(path, sizeof(path), top, de->d_name) < 0 ||
		    join(cur, sizeof(cur), path, "cur") < 0 ||
		    join(nw, sizeof(nw), path, "new") < 0)
			continue;
		if (is_dir(cur) || is_dir(nw)) {
			nsub++;
			list_maildir(mb, path, 0);
		}
	}
	closedir(d);
}

/* Make room for one read: drop the bytes before mb->off (the messages
 * handed out), then grow the buffer if that is not enough. */
/* Offsets after the first d bytes of buf were dropped. */
static void
shift(struct mailbox *mb, size_t d)
{
	mb->len -= d;
	mb->off = 0;
	mb->scan = mb->scan > d ? mb->scan - d : 0;
	mb->lscan = mb->lscan > d ? mb->lscan - d : 0;
	mb->blank_start = mb->blank_start > d ? mb->blank_start - d : 0;
	if (mb->esc_at != SIZE_MAX)
		mb->esc_at = mb->esc_at > d ? mb->esc_at - d : 0;
}

/* Holds are released by whichever thread writes the message out. */
static pthread_mutex_t block_mu = PTHREAD_MUTEX_INITIALIZER;

static int
block_held(struct mailbox_block *b)
{
	int held;

	pthread_mutex_lock(&block_mu);
	held = b != NULL && b->refs > 0;
	pthread_mutex_unlock(&block_mu);
	return held;
}

static void
block_free(struct mailbox_block *b)
{
	int held;

	if (b == NULL)
		return;
	pthread_mutex_lock(&block_mu);
	held = b->refs > 0;
	b->retired = 1;		/* the last mailbox_release() frees it */
	pthread_mutex_unlock(&block_mu);
	if (!held)
		free(b);
}

static size_t
block_want(const struct mailbox *mb, size_t keep)
{
	size_t want = mb->cap ? mb->cap : 2 * MAILBOX_READ_BLOCK;

	if (want < keep + MAILBOX_READ_BLOCK)
		want = mb->cap ? mb->cap * 2 : 2 * MAILBOX_READ_BLOCK;
	if (want > MAILBOX_MSG_MAX + 2 * MAILBOX_READ_BLOCK)
		want = MAILBOX_MSG_MAX + 2 * MAILBOX_READ_BLOCK;
	if (want < keep + MAILBOX_READ_BLOCK)
		want = keep + MAILBOX_READ_BLOCK;
	return want;
}

/* Room for a read. Handed-out bytes are dropped by one memmove() of the
 * unread rest; when messages in the buffer are held (mailbox_hold), the
 * rest goes to a new buffer instead and the old one stays theirs. */
static void
make_room(struct mailbox *mb)
{
	size_t d = mb->off, keep = mb->len - mb->off, want;
	struct mailbox_block *nb;

	if (mb->cap - mb->len >= MAILBOX_READ_BLOCK)
		return;
	if (block_held(mb->blk)) {
		want = block_want(mb, keep);
		nb = xmalloc(sizeof(*nb) + want + 1);
		nb->refs = 0;
		nb->retired = 0;
		memcpy(nb->data, mb->buf + d, keep);
		block_free(mb->blk);
		mb->blk = nb;
		mb->buf = nb->data;
		mb->cap = want;
		shift(mb, d);
		return;
	}
	if (d > 0) {
		memmove(mb->buf, mb->buf + d, keep);
		shift(mb, d);
	}
	if (mb->cap - mb->len >= MAILBOX_READ_BLOCK)
		return;
	want = block_want(mb, mb->len);
	mb->blk = xrealloc(mb->blk, sizeof(*mb->blk) + want + 1);
	if (mb->cap == 0)
		mb->blk->refs = mb->blk->retired = 0;
	mb->buf = mb->blk->data;
	mb->cap = want;
}

struct mailbox_block *
mailbox_hold(struct mailbox *mb)
{
	pthread_mutex_lock(&block_mu);
	mb->blk->refs++;
	pthread_mutex_unlock(&block_mu);
	return mb->blk;
}

void
mailbox_release(struct mailbox_block *b)
{
	int last;

	if (b == NULL)
		return;
	pthread_mutex_lock(&block_mu);
	last = --b->refs == 0 && b->retired;
	pthread_mutex_unlock(&block_mu);
	if (last)
		free(b);
}

/* Fill the buffer: returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
fill(struct mailbox *mb, char *err, size_t errlen)
{
	ssize_t n;

	make_room(mb);
	do {
		n = read(mb->fd, mb->buf + mb->len, MAILBOX_READ_BLOCK);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		mb->eof = 1;
	mb->len += (size_t)n;
	mb->bytes += (uint64_t)n;
	return n;
}

static int
open_stream(struct mailbox *mb, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		mb->fd = 0;
	else if ((mb->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(mb->fd, &st) == 0 && S_ISREG(st.st_mode))
		mb->total = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(mb->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	/* Enough bytes to tell an mbox from a message. */
	while (!mb->eof && mb->len < 5)
		if (fill(mb, err, errlen) < 0)
			return -1;
	mb->type = mb->len >= 5 && memcmp(mb->buf, "From ", 5) == 0 ?
	    MAILBOX_MBOX : MAILBOX_FILE;
	return 0;
}

size_t
mailbox_skipped(const struct mailbox *mb)
{
	return mb->skipped;
}

struct mailbox *
mailbox_open(const char *path, char *err, size_t errlen)
{
	struct mailbox *mb = xcalloc(1, sizeof(*mb));
	char sub[4096];

	mb->path = xstrdup(path);
	mb->fd = -1;
	if (strcmp(path, "-") != 0 && is_dir(path)) {
		if ((join(sub, sizeof(sub), path, "cur") == 0 && is_dir(sub)) ||
		    (join(sub, sizeof(sub), path, "new") == 0 && is_dir(sub))) {
			mb->type = MAILBOX_MAILDIR;
			list_maildir(mb, path, 1);
		} else {
			mb->type = MAILBOX_EMLDIR;
			if (list_dir(mb, path, ".eml") < 0) {
				snprintf(err, errlen, "%s", strerror(errno));
				mailbox_close(mb);
				return NULL;
			}
			if (mb->nfiles == 0) {
				snprintf(err, errlen, "not a Maildir (no cur/ "
				    "or new/) and no .eml files");
				mailbox_close(mb);
				return NULL;
			}
		}
		qsort(mb->files, mb->nfiles, sizeof(char *), cmp_str);
		mb->total = mb->nfiles;
		return mb;
	}
	if (open_stream(mb, path, err, errlen) < 0) {
		mailbox_close(mb);
		return NULL;
	}
	return mb;
}

size_t
mailbox_unescape(char *d, size_t len)
{
	size_t w = 0, r = 0, s = 0, i, j;
	char *q;

	/* One memchr() per line: a two-byte memmem() goes byte by byte. */
	while (s < len && (q = memchr(d + s, '\n', len - s)) != NULL) {
		i = (size_t)(q - d) + 1;
		if (i >= len || d[i] != '>') {
			s = i;
			continue;
		}
		for (j = i; j < len && d[j] == '>'; j++)
			;
		if (len - j >= 5 && memcmp(d + j, "From ", 5) == 0) {
			if (w != r)
				memmove(d + w, d + r, i - r);
			w += i - r;
			r = i + 1;
		}
		s = j;
	}
	if (w != r)
		memmove(d + w, d + r, len - r);
	return w + (len - r);
}

/* Skip the "From " line at mb->consumed; mb->off is then the first byte
 * of the message. */
static int
mbox_from_line(struct mailbox *mb, char *err, size_t errlen)
{
	char *nl;

	mb->off = mb->consumed;
	for (;;) {
		mb->scan = mb->lscan = mb->blank_start = mb->off;
		mb->esc_at = SIZE_MAX;
		nl = memchr(mb->buf + mb->off, '\n', mb->len - mb->off);
		if (nl != NULL) {
			mb->off = (size_t)(nl - mb->buf) + 1;
			break;
		}
		if (mb->eof) {
			mb->off = mb->len;
			break;
		}
		if (mb->len - mb->off > MAILBOX_READ_BLOCK)
			mb->len = mb->off;	/* an absurd From_ line: drop it */
		if (fill(mb, err, errlen) < 0)
			return -1;
	}
	mb->scan = mb->lscan = mb->blank_start = mb->off;
	mb->esc_at = SIZE_MAX;
	return 0;
}

enum line_state { LINE_MORE, LINE_SEP, LINE_END };

/*
 * Walk the lines of the message from mb->scan: one memchr() per line and a
 * look at its first bytes, which tells a separator ("From " after an empty
 * line, RFC 4155) and an escaped ">From " line in one pass. The state is
 * kept in mb so that the walk resumes after a read. Returns LINE_SEP with
 * mb->scan at the separator, LINE_MORE when bytes are missing, LINE_END at
 * the end of the input.
 */
static enum line_state
mbox_lines(struct mailbox *mb)
{
	const char *b = mb->buf;
	size_t kept_end = mb->discard ? mb->off + MAILBOX_MSG_MAX : SIZE_MAX;
	char *nl;

	for (;;) {
		size_t l = mb->scan, avail = mb->len - l, k;

		if (!mb->checked) {
			if (avail == 0)
				return mb->eof ? LINE_END : LINE_MORE;
			mb->cur_blank = 0;
			switch (b[l]) {
			case 'F':
				if (avail < 5) {
					if (!mb->eof)
						return LINE_MORE;
					break;
				}
				if (mb->prev_blank && memcmp(b + l, "From ",
				    5) == 0)
					return LINE_SEP;
				break;
			case '>':
				if (l >= kept_end)
					break;	/* dropped anyway */
				for (k = l; k < mb->len && b[k] == '>'; k++)
					;
				if (mb->len - k < 5 && !mb->eof)
					return LINE_MORE;
				if (mb->len - k >= 5 && memcmp(b + k, "From ",
				    5) == 0 && mb->esc_at == SIZE_MAX)
					mb->esc_at = l;
				break;
			case '\n':
				mb->cur_blank = 1;
				break;
			case '\r':
				if (avail < 2 && !mb->eof)
					return LINE_MORE;
				mb->cur_blank = avail >= 2 && b[l + 1] == '\n';
				break;
			}
			mb->checked = 1;
			mb->lscan = l;
		}
		nl = memchr(b + mb->lscan, '\n', mb->len - mb->lscan);
		if (nl == NULL) {
			mb->lscan = mb->len;
			return mb->eof ? LINE_END : LINE_MORE;
		}
		mb->prev_blank = mb->cur_blank;
		if (mb->cur_blank)
			mb->blank_start = l;
		mb->scan = (size_t)(nl - b) + 1;
		mb->checked = 0;
	}
}

/* Over MAILBOX_MSG_MAX: keep that many bytes of the message; of the rest
 * keep only what the line walk still has to look at. */
static void
mbox_discard(struct mailbox *mb)
{
	size_t kept_end = mb->off + MAILBOX_MSG_MAX, n;

	mb->discard = 1;
	if (!mb->checked && mb->scan < kept_end) {
		/* A line start whose first bytes cross the cut: an escape
		 * there is left to mailbox_unescape(), which sees the cut. */
		if (mb->buf[mb->scan] == '>' && mb->esc_at == SIZE_MAX)
			mb->esc_at = mb->scan;
		if (mb->buf[mb->scan] != 'F') {
			mb->checked = 1;
			mb->cur_blank = 0;
		}
	}
	if (mb->checked) {
		if (mb->len > kept_end)
			mb->len = kept_end;
		mb->lscan = mb->len;
	} else if (mb->scan > kept_end + 1) {
		/* Fewer than 5 bytes of an unexamined line start; it stays
		 * after kept_end so that an empty line there is not taken
		 * for the end of the kept bytes. */
		n = mb->len - mb->scan;
		memmove(mb->buf + kept_end + 1, mb->buf + mb->scan, n);
		mb->len = kept_end + 1 + n;
		mb->scan = mb->lscan = kept_end + 1;
	}
}

static int
mbox_next(struct mailbox *mb, struct mailbox_msg *msg, char *err,
    size_t errlen)
{
	enum line_state st;
	size_t end, esc;

	if (!mb->started) {
		mb->started = 1;
		mb->consumed = 0;
		if (mbox_from_line(mb, err, errlen) < 0)
			return -1;
	} else {
		if (mb->eof && mb->consumed >= mb->len)
			return 0;
		if (mbox_from_line(mb, err, errlen) < 0)
			return -1;
		if (mb->eof && mb->off >= mb->len)
			return 0;
	}
	memset(msg, 0, sizeof(*msg));
	mb->checked = mb->cur_blank = mb->prev_blank = 0;
	mb->discard = 0;
	for (;;) {
		st = mbox_lines(mb);
		if (st == LINE_SEP) {
			mb->consumed = mb->scan;
			end = mb->blank_start;
			break;
		}
		if (st == LINE_END) {
			end = mb->len;
			if (mb->discard)
				;
			else if (end > mb->off && mb->buf[end - 1] != '\n')
				msg->flags |= MAILBOX_F_NO_EOL;
			else if (end >= mb->off + 2 && mb->buf[end - 2] == '\n')
				end--;		/* the mbox's blank line */
			else if (end >= mb->off + 4 && memcmp(mb->buf +
			    end - 4, "\r\n\r\n", 4) == 0)
				end -= 2;
			mb->consumed = mb->len;
			break;
		}
		if (mb->discard || mb->len - mb->off > MAILBOX_MSG_MAX)
			mbox_discard(mb);
		if (fill(mb, err, errlen) < 0)
			return -1;
	}
	/* Past the cut, offsets only say that bytes were dropped. */
	if ((st == LINE_END && mb->discard) ||
	    end - mb->off > MAILBOX_MSG_MAX) {
		msg->flags |= MAILBOX_F_TRUNCATED;
		end = mb->off + MAILBOX_MSG_MAX;
	}
	msg->data = mb->buf + mb->off;
	msg->len = end - mb->off;
	if (mb->esc_at != SIZE_MAX && mb->esc_at < end) {
		/* From the line break before the first escaped line. */
		esc = mb->esc_at > mb->off ? mb->esc_at - 1 - mb->off : 0;
		msg->len = esc + mailbox_unescape(msg->data + esc,
		    msg->len - esc);
	}
	/* The message ends here: the next one starts at consumed. */
	mb->off = mb->consumed;
	msg->source = mb->path;
	msg->index = mb->index++;
	if (msg->len == 0)
		msg->flags |= MAILBOX_F_EMPTY;
	return 1;
}

/* One message from an open fd: up to MAILBOX_MSG_MAX bytes. */
static int
read_whole(struct mailbox *mb, struct mailbox_msg *msg, char *err,
    size_t errlen)
{
	memset(msg, 0, sizeof(*msg));
	while (!mb->eof && mb->len <= MAILBOX_MSG_MAX)
		if (fill(mb, err, errlen) < 0)
			return -1;
	msg->data = mb->buf;
	msg->len = mb->len;
	if (mb->len > MAILBOX_MSG_MAX) {
		msg->len = MAILBOX_MSG_MAX;
		msg->flags |= MAILBOX_F_TRUNCATED;
	}
	if (msg->len == 0)
		msg->flags |= MAILBOX_F_EMPTY;
	msg->index = 0;
	return 1;
}

int
mailbox_next(struct mailbox *mb, struct mailbox_msg *msg, char *err,
    size_t errlen)
{
	if (mb->type == MAILBOX_MBOX)
		return mbox_next(mb, msg, err, errlen);
	if (mb->type == MAILBOX_FILE) {
		if (mb->started)
			return 0;
		mb->started = 1;
		if (read_whole(mb, msg, err, errlen) < 0)
			return -1;
		if (msg->len == 0)
			return 0;	/* an empty input holds no message */
		msg->source = mb->path;
		return 1;
	}
	/* Directories: one file per message. */
	while (mb->next < mb->nfiles) {
		const char *f = mb->files[mb->next++];

		if (mb->fd > 0)
			close(mb->fd);
		if (block_held(mb->blk)) {
			block_free(mb->blk);	/* held: the next file needs
						 * a buffer of its own */
			mb->blk = NULL;
			mb->buf = NULL;
			mb->cap = 0;
		}
		mb->len = 0;
		mb->eof = 0;
		if ((mb->fd = open(f, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(err, errlen, "%s: %s", f, strerror(errno));
			return -1;
		}
		if (read_whole(mb, msg, err, errlen) < 0) {
			char tmp[256];

			snprintf(tmp, sizeof(tmp), "%s", err);
			snprintf(err, errlen, "%s: %s", f, tmp);
			return -1;
		}
		close(mb->fd);
		mb->fd = -1;
		msg->source = f;
		return 1;
	}
	return 0;
}

enum mailbox_type
mailbox_type(const struct mailbox *mb)
{
	return mb->type;
}

const char *
mailbox_type_str(enum mailbox_type t)
{
	switch (t) {
	case MAILBOX_MBOX:
		return "mbox";
	case MAILBOX_MAILDIR:
		return "maildir";
	case MAILBOX_EMLDIR:
		return "eml directory";
	case MAILBOX_FILE:
		break;
	}
	return "message";
}

void
mailbox_progress(const struct mailbox *mb, uint64_t *done, uint64_t *total,
    uint64_t *bytes)
{
	if (mb->type == MAILBOX_MAILDIR || mb->type == MAILBOX_EMLDIR) {
		*done = mb->next;
		*total = mb->nfiles;
	} else {
		*done = mb->bytes;
		*total = mb->total;
	}
	*bytes = mb->bytes;
}

void
mailbox_close(struct mailbox *mb)
{
	size_t i;

	if (mb == NULL)
		return;
	if (mb->fd > 0)
		close(mb->fd);
	for (i = 0; i < mb->nfiles; i++)
		free(mb->files[i]);
	free(mb->files);
	block_free(mb->blk);
	free(mb->path);
	free(mb);
}
