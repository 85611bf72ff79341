/* SPDX-License-Identifier: ISC */
/*++
 * NAME
 *	relaytrust-spf-worker 8
 * SUMMARY
 *	the sandboxed SPF worker process of relaytrust-policyd
 * SYNOPSIS
 *	relaytrust-spf-worker RECEIVER VERSION	(fd 3: the socket)
 * DESCRIPTION
 *	Started by spfpool(3) in relaytrust-policyd and relaytrust-verify,
 *	never by hand: spfworker_main() on descriptor SPFW_FD. It is its own
 *	small program so that the sandboxed process maps libspf2, libseccomp
 *	and libc and nothing else (no resolver, TLS or event library: less
 *	memory, less code in reach of hostile SPF records).
 * DIAGNOSTICS
 *	Exit 2 when started with other arguments or by another version of
 *	relaytrust (the daemon then uses a copy of itself instead).
 *--*/
#include <stdio.h>
#include <string.h>

#include "shared/spfworker.h"

int
main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[2], RT_VERSION) != 0) {
		fprintf(stderr, "relaytrust-spf-worker is started by "
		    "relaytrust-policyd (version %s), not by hand\n",
		    RT_VERSION);
		return 2;
	}
	spfworker_main(SPFW_FD, argv[1]);
}
