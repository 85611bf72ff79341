/* SPDX-License-Identifier: ISC */
/* fuzz_cfg - cfg_load() on arbitrary bytes: the input is written to one
 * temp file (mkstemp, made once) and loaded (libconfuse and the pre-scan
 * of repeated keys and unclosed quotes). A failure must say where
 * (FILE:LINE) or why, on one line; a loaded configuration is asked for
 * its effective settings and skip.recipients once and released. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/cfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_cfg.XXXXXX";
static int fd = -1;

static void
cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c, eff;
	char err[512], applied[128];

	if (size > 65536)
		return 0;
	if (fd < 0) {
		if ((fd = mkstemp(path)) < 0)
			abort();
		atexit(cleanup);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	err[0] = '\0';
	if ((c = cfg_load(path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	if (c->notes != NULL && c->notes[strlen(c->notes) - 1] != '\n')
		abort();
	cfg_effective(c, "submission", "user@example.org",
	    "sender@lists.example.net", &eff, applied, sizeof(applied));
	(void)cfg_recipient_skipped(c, "Postmaster@example.org");
	cfg_unref(c);
	return 0;
}
