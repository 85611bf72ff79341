/* SPDX-License-Identifier: ISC */
/* fuzz_mbox - the mbox splitter: the input is written to a memfd and read
 * as a mailbox through mailbox_open("/proc/self/fd/N") and mailbox_next(),
 * each message then through hdr_parse(). Checks that the messages, after
 * ">From " unescaping, never hold more bytes than the input and that each
 * is inside its limit. */
#include <sys/mman.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/hdr.h"
#include "verifier/mailbox.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static struct hdr h;
	struct mailbox *mb;
	struct mailbox_msg msg;
	char err[256];
	size_t total = 0;
	long n = 0;
	int rc;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_mbox", 0)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	if ((mb = mailbox_open(path, err, sizeof(err))) == NULL)
		abort();
	while ((rc = mailbox_next(mb, &msg, err, sizeof(err))) == 1) {
		if (msg.len > MAILBOX_MSG_MAX || msg.index != n++ ||
		    ((msg.flags & MAILBOX_F_EMPTY) != 0) != (msg.len == 0))
			abort();
		total += msg.len;
		if (total > size)
			abort();
		hdr_parse(&h, msg.data, msg.len);
		if (h.header_len > msg.len)
			abort();
	}
	if (rc < 0)
		abort();
	mailbox_close(mb);
	return 0;
}
