/* SPDX-License-Identifier: ISC */
#ifndef SHARED_SPFWORKER_H
#define SHARED_SPFWORKER_H
/* spfworker - the child side of spfpool: libspf2 in a sandboxed process
 * whose only DNS is the parent, over a SOCK_SEQPACKET socketpair; plus
 * the message codec both sides use.
 *
 * Messages (one per packet): u32 total length, u32 type, u32 id, fields.
 * The id names one of the worker's SPFW_EVALS_MAX evaluation slots: a
 * worker runs that many evaluations at once, each on its own stack,
 * switching to another whenever one waits for a DNS answer; every
 * message about an evaluation carries its slot.
 *   EVAL    parent->worker  u8 family, 16 bytes address, str helo,
 *                           str sender (local@domain), and optionally
 *                           str record: the checked domain's SPF record,
 *                           the answer to the first TXT lookup of it
 *   LOOKUP  worker->parent  u16 rr type, str name
 *   ANSWER  parent->worker  u32 status (SPFW_ST_*), u16 count, count x str
 *                           (A: 4 bytes, AAAA: 16, else text)
 *   RESULT  worker->parent  i32 libspf2 result, i32 libspf2 error code
 * str = u16 length + bytes (no NUL). Every field is read; leftover bytes
 * are an error. */
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define SPFW_MSG_MAX		16384	/* bytes of one message */
#define SPFW_RR_MAX		64	/* records in one ANSWER */
#define SPFW_NAME_MAX		1024	/* bytes of a LOOKUP name */
#define SPFW_AS_MAX		(256UL << 20)	/* RLIMIT_AS of a worker */
#define SPFW_CPU_MAX		30	/* RLIMIT_CPU seconds */
#define SPFW_EVALS_MAX		128	/* evaluations at once in one worker */
#define SPFW_STACK_MAX		(256UL << 10)	/* stack of one evaluation */

enum spfw_type { SPFW_EVAL = 1, SPFW_LOOKUP, SPFW_ANSWER, SPFW_RESULT };

enum spfw_status {		/* ANSWER status, libspf2's herrno words */
	SPFW_ST_OK,		/* NETDB_SUCCESS */
	SPFW_ST_NXDOMAIN,	/* HOST_NOT_FOUND */
	SPFW_ST_NODATA,		/* NO_DATA */
	SPFW_ST_TRYAGAIN,	/* TRY_AGAIN */
	SPFW_ST_NORECOVERY,	/* NO_RECOVERY: the layer gave up */
};

struct spfw_msg {
	unsigned char b[SPFW_MSG_MAX];
	size_t	len;
	int	overflow;
};

/* Writer: spfw_begin() then spfw_put_*(), spfw_finish() sets the length.
 * Returns -1 from spfw_finish() if a field did not fit. */
void	spfw_begin(struct spfw_msg *, enum spfw_type);	/* id 0 */
void	spfw_set_id(struct spfw_msg *, uint32_t);
void	spfw_put_u8(struct spfw_msg *, uint8_t);
void	spfw_put_u16(struct spfw_msg *, uint16_t);
void	spfw_put_u32(struct spfw_msg *, uint32_t);
void	spfw_put_bytes(struct spfw_msg *, const void *, size_t);
void	spfw_put_str(struct spfw_msg *, const void *, size_t);
int	spfw_finish(struct spfw_msg *);

/* Strict reader over one received packet. */
struct spfw_rd {
	const unsigned char *p;
	size_t	left;
	int	err;
	uint32_t id;		/* from the header */
};
/* Checks the length field against n; returns the type (and sets id),
 * or -1. */
int	spfw_rd_begin(struct spfw_rd *, const void *buf, size_t n);
uint8_t	spfw_get_u8(struct spfw_rd *);
uint16_t spfw_get_u16(struct spfw_rd *);
uint32_t spfw_get_u32(struct spfw_rd *);
int	spfw_get_bytes(struct spfw_rd *, void *out, size_t n);
/* Copies a str into out (NUL-terminated); -1 if longer than outlen-1 or
 * it contains NUL. */
int	spfw_get_str(struct spfw_rd *, char *out, size_t outlen);
int	spfw_rd_end(struct spfw_rd *);		/* 0, or -1: error/leftover */

/* Limits, no-new-privs and the seccomp allow-list (libseccomp, this
 * architecture's system calls; signals only to the caller itself) for
 * the calling process, which must be single-threaded. Returns 0, or -1
 * with a reason in err. */
int	spfworker_sandbox(char *err, size_t errlen);

/* The worker: serves EVAL requests on fd until EOF, then _exit(0).
 * Closes every other descriptor and sandboxes itself first. */
void	spfworker_main(int fd, const char *receiver) __attribute__((noreturn));

/* spfpool starts a worker as a fresh process, never a copy of a daemon
 * whose caches have grown: SPFW_PROGRAM (libspf2, libseccomp and libc
 * only), from RT_LIBEXECDIR when the running program is the installed
 * one (it runs from RT_SBINDIR or RT_BINDIR), else from the running
 * program's own directory (the build tree), argv { SPFW_PROGRAM,
 * receiver, RT_VERSION }; where that is missing, the running program
 * again with argv { SPFW_ARGV0, receiver }, the socket on fd SPFW_FD
 * either way.
 * Every main() that may run spfpool calls spfworker_run_if_asked()
 * first: it becomes the worker in that case and returns otherwise. */
#define SPFW_PROGRAM	"relaytrust-spf-worker"
#define SPFW_ARGV0	"relaytrust-spf-worker:"
#define SPFW_FD		3
void	spfworker_run_if_asked(int argc, char **argv);
/* The path of SPFW_PROGRAM for the program at exe (an absolute path) as
 * above, in buf. Returns 0, or -1 when exe has no directory or buf is
 * too small. */
int	spfworker_program_path(const char *exe, char *buf, size_t len);
/* Start a worker on fd (the worker's end of the socketpair; the caller
 * closes its copy afterwards): posix_spawn of SPFW_PROGRAM (unless
 * own_copy), else of the running program, else fork() with this
 * process's copy serving. Returns the pid, or -1 with a reason in err. */
pid_t	spfworker_spawn(int fd, const char *receiver, int own_copy, char *err,
	    size_t errlen);

/* In-process evaluation for the fuzzer and tools: one EVAL message,
 * answers from ask() (which gets a LOOKUP and fills an ANSWER); returns
 * 0 and the RESULT message in res, or -1 on a codec error. */
typedef int (*spfworker_ask)(void *arg, const struct spfw_msg *lookup,
	    struct spfw_msg *answer);
int	spfworker_eval_local(const struct spfw_msg *eval, const char *receiver,
	    spfworker_ask ask, void *arg, struct spfw_msg *res);

#endif
