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
 *	An mbox is streamed: one buffer holds the current message, filled by
 *	MAILBOX_READ_BLOCK read()s and searched with memmem() for a "From "
 *	line that follows an empty line (RFC 4155; LF or CRLF). The message
 *	handed out is that buffer, so its bytes are copied once, by read().
 *	Memory is bounded by MAILBOX_MSG_MAX plus two blocks whatever the size
 *	of the mailbox.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "shared/mem.h"
#include "verifier/mailbox.h"

#define SEP		"\nFrom "
#define SEP_LEN		6

struct mailbox {
	enum mailbox_type type;
	char	*path;
	int	fd;
	int	eof;
	int	started;
	/* mbox / single file */
	char	*buf;
	size_t	cap, len;
	size_t	consumed;	/* bytes of buf handed out last time */
	size_t	scan;		/* search resumes here */
	int	discard;	/* message over the cap: bytes past it dropped */
	long	index;
	uint64_t bytes, total;
	/* directories */
	char	**files;
	size_t	nfiles, nalloc, next;
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
		if (suffix && (n < sl || strcasecmp(de->d_name + n - sl,
		    suffix) != 0))
			continue;
		if (join(path, sizeof(path), dir, de->d_name) < 0 ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
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

/* Fill the buffer: returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
fill(struct mailbox *mb, char *err, size_t errlen)
{
	ssize_t n;

	if (mb->cap - mb->len < MAILBOX_READ_BLOCK) {
		mb->cap = mb->cap ? mb->cap * 2 : 2 * MAILBOX_READ_BLOCK;
		if (mb->cap > MAILBOX_MSG_MAX + 2 * MAILBOX_READ_BLOCK)
			mb->cap = MAILBOX_MSG_MAX + 2 * MAILBOX_READ_BLOCK;
		mb->buf = xrealloc(mb->buf, mb->cap + 1);
	}
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

	while (s < len && (q = memmem(d + s, len - s, "\n>", 2)) != NULL) {
		i = (size_t)(q - d) + 1;
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

/* Drop the bytes handed out last time and the next "From " line. */
static int
mbox_advance(struct mailbox *mb, char *err, size_t errlen)
{
	char *nl;

	if (mb->consumed > 0) {
		memmove(mb->buf, mb->buf + mb->consumed, mb->len - mb->consumed);
		mb->len -= mb->consumed;
		mb->consumed = 0;
	}
	for (;;) {
		nl = memchr(mb->buf, '\n', mb->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - mb->buf) + 1;

			memmove(mb->buf, mb->buf + n, mb->len - n);
			mb->len -= n;
			return 0;
		}
		if (mb->eof) {
			mb->len = 0;
			return 0;
		}
		if (mb->len > MAILBOX_READ_BLOCK)
			mb->len = 0;	/* an absurd From_ line: drop it */
		if (fill(mb, err, errlen) < 0)
			return -1;
	}
}

static int
mbox_next(struct mailbox *mb, struct mailbox_msg *msg, char *err,
    size_t errlen)
{
	size_t limit;
	char *q;

	if (!mb->started) {
		mb->started = 1;
		mb->consumed = 0;
		if (mbox_advance(mb, err, errlen) < 0)
			return -1;
	} else {
		if (mb->eof && mb->consumed >= mb->len)
			return 0;
		if (mbox_advance(mb, err, errlen) < 0)
			return -1;
		if (mb->eof && mb->len == 0)
			return 0;
	}
	mb->scan = 0;
	mb->discard = 0;
	memset(msg, 0, sizeof(*msg));
	for (;;) {
		size_t from = mb->scan;

		q = mb->len > from ? memmem(mb->buf + from, mb->len - from,
		    SEP, SEP_LEN) : NULL;
		while (q != NULL) {
			size_t p = (size_t)(q - mb->buf);

			/* Only after an empty line (RFC 4155). */
			if ((p >= 1 && mb->buf[p - 1] == '\n') || (p >= 2 &&
			    mb->buf[p - 1] == '\r' && mb->buf[p - 2] == '\n') ||
			    (p == 0 && !mb->discard))
				break;
			q = memmem(q + 1, mb->len - p - 1, SEP, SEP_LEN);
		}
		if (q != NULL) {
			size_t p = (size_t)(q - mb->buf), end = p;

			if (p >= 1 && mb->buf[p - 1] == '\r')
				end = p - 1;	/* CRLF blank line */
			mb->consumed = p + 1;
			msg->len = mb->discard ? MAILBOX_MSG_MAX : end;
			if (!mb->discard && p == 0)
				msg->len = 0;
			break;
		}
		if (mb->eof) {
			size_t end = mb->len;

			if (mb->discard)
				end = MAILBOX_MSG_MAX;
			else if (end > 0 && mb->buf[end - 1] != '\n')
				msg->flags |= MAILBOX_F_NO_EOL;
			else if (end >= 2 && mb->buf[end - 1] == '\n' &&
			    mb->buf[end - 2] == '\n')
				end--;		/* the mbox's blank line */
			else if (end >= 4 && memcmp(mb->buf + end - 4,
			    "\r\n\r\n", 4) == 0)
				end -= 2;
			mb->consumed = mb->len;
			msg->len = end;
			break;
		}
		mb->scan = mb->len >= SEP_LEN ? mb->len - SEP_LEN + 1 : 0;
		limit = MAILBOX_MSG_MAX + MAILBOX_READ_BLOCK;
		if (mb->len + MAILBOX_READ_BLOCK > limit) {
			/* Over the cap: keep MAILBOX_MSG_MAX bytes, drop the
			 * rest, keep a few bytes to find the separator. */
			size_t keep = SEP_LEN + 2;

			msg->flags |= MAILBOX_F_TRUNCATED;
			if (!mb->discard)
				mb->discard = 1;
			memmove(mb->buf + MAILBOX_MSG_MAX, mb->buf + mb->len -
			    keep, keep);
			mb->len = MAILBOX_MSG_MAX + keep;
			mb->scan = MAILBOX_MSG_MAX;
		}
		if (fill(mb, err, errlen) < 0)
			return -1;
	}
	if (msg->len > MAILBOX_MSG_MAX)
		msg->len = MAILBOX_MSG_MAX;
	msg->data = mb->buf;
	msg->len = mailbox_unescape(msg->data, msg->len);
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
		msg->source = mb->path;
		return 1;
	}
	/* Directories: one file per message. */
	while (mb->next < mb->nfiles) {
		const char *f = mb->files[mb->next++];

		if (mb->fd > 0)
			close(mb->fd);
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
	free(mb->buf);
	free(mb->path);
	free(mb);
}
