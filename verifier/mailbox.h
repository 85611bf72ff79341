/* SPDX-License-Identifier: ISC */
#ifndef VERIFIER_MAILBOX_H
#define VERIFIER_MAILBOX_H
/* mailbox - messages, with their exact bytes, from an mbox, a Maildir, a
 * directory of .eml files, one file, or stdin. */
#include <stddef.h>
#include <stdint.h>

#define MAILBOX_MSG_MAX		(64u << 20)	/* bytes kept of one message */
#define MAILBOX_READ_BLOCK	(1u << 20)	/* bytes per read() */
#define MAILBOX_FILES_MAX	10000000	/* files listed per directory tree */
#define MAILBOX_SUBDIRS_MAX	10000		/* Maildir++ folders per Maildir */

enum mailbox_type {
	MAILBOX_MBOX,
	MAILBOX_MAILDIR,
	MAILBOX_EMLDIR,
	MAILBOX_FILE,		/* one message */
};

/* msg.flags */
#define MAILBOX_F_TRUNCATED	(1 << 0)	/* over MAILBOX_MSG_MAX: cut */
#define MAILBOX_F_NO_EOL	(1 << 1)	/* mbox ended inside a line */
#define MAILBOX_F_EMPTY		(1 << 2)	/* zero bytes */

struct mailbox_msg {
	char	*data;		/* owned by the mailbox; valid until the next call */
	size_t	len;
	const char *source;	/* the file holding it ("-" for stdin) */
	long	index;		/* position in that file (0 for one-message files) */
	int	flags;
};

struct mailbox;
struct mailbox_block;

/* path "-" is stdin. Returns NULL with a reason in err (cannot open,
 * not a mailbox). */
struct mailbox *mailbox_open(const char *path, char *err, size_t errlen);
/* Next message: 1 and *msg filled; 0 at the end; -1 with a reason in err
 * (a file of a directory could not be read: call again to go on; a read
 * error on an mbox ends it). For an mbox, "From " lines are removed and
 * mboxrd/mboxo ">From " lines unescaped; everything else is kept as is. */
int	mailbox_next(struct mailbox *, struct mailbox_msg *msg, char *err,
	    size_t errlen);
enum mailbox_type mailbox_type(const struct mailbox *);
const char *mailbox_type_str(enum mailbox_type);
/* Keep the bytes of the message mailbox_next() handed out last valid
 * after later calls and after mailbox_close(), until mailbox_release()
 * of the returned handle. Any thread may release. */
struct mailbox_block *mailbox_hold(struct mailbox *);
void	mailbox_release(struct mailbox_block *);	/* NULL: no-op */
/* For progress: bytes (mbox, file) or messages (directories) done and
 * total (0 if unknown, e.g. a pipe). *bytes is bytes read so far. */
void	mailbox_progress(const struct mailbox *, uint64_t *done,
	    uint64_t *total, uint64_t *bytes);
/* Files of a directory of .eml files that were left out (no .eml). */
size_t	mailbox_skipped(const struct mailbox *);
void	mailbox_close(struct mailbox *);	/* NULL is a no-op */

/* Undo mboxrd/mboxo escaping in place: a line ">From " loses one ">"
 * (">>From " becomes ">From "). Returns the new length. */
size_t	mailbox_unescape(char *data, size_t len);

#endif
