/* SPDX-License-Identifier: ISC */
/* test_sandbox - the SPF worker's seccomp filter (spfworker_sandbox()):
 * what a sandboxed process may still do, and that it can signal no
 * process but itself (issue 20, finding 1). Each row runs in a forked
 * child, in its own process group, that sandboxes itself first; a
 * sibling process stands in for the daemon and must survive every row. */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/spfworker.h"

static int pfd[2];		/* made before the sandbox, like the socket */

/* Row actions: each returns only if the call was let through (or
 * failed without killing the process). */
static void
act_work(pid_t sib)
{
	struct timespec ts;
	char	*p, c = 0;
	void	*m;

	(void)sib;
	/* what a worker needs after setup: memory, time, I/O, signals
	 * at itself */
	if ((p = malloc(1 << 20)) == NULL)
		_exit(11);
	memset(p, 'x', 1 << 20);
	free(p);
	m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, 4096, PROT_NONE) < 0 ||
	    munmap(m, 65536) < 0)
		_exit(12);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0 || time(NULL) == -1)
		_exit(13);
	if (write(pfd[1], "x", 1) != 1 || read(pfd[0], &c, 1) != 1 || c != 'x')
		_exit(14);
	if (kill(getpid(), 0) < 0 || getpid() != (pid_t)gettid())
		_exit(15);
}

static void
act_abort(pid_t sib)
{
	(void)sib;
	abort();
}

static void
act_raise(pid_t sib)
{
	(void)sib;
	raise(SIGABRT);
}

static void
act_kill_self(pid_t sib)
{
	(void)sib;
	kill(getpid(), SIGTERM);
}

static void
act_tgkill_self(pid_t sib)
{
	(void)sib;
	syscall(SYS_tgkill, getpid(), gettid(), SIGTERM);
}

static void
act_tkill_self(pid_t sib)
{
	(void)sib;
	syscall(SYS_tkill, gettid(), SIGTERM);
}

/* The system calls themselves: glibc's sigqueue() also calls getuid(),
 * which the sandbox does not allow. */
static void
sigqueue_at(pid_t pid, pid_t tid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGTERM;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	if (tid == 0)
		syscall(SYS_rt_sigqueueinfo, pid, SIGTERM, &si);
	else
		syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGTERM, &si);
}

static void
act_sigqueue_self(pid_t sib)
{
	(void)sib;
	sigqueue_at(getpid(), 0);
}

static void
act_tgsigqueue_self(pid_t sib)
{
	(void)sib;
	sigqueue_at(getpid(), gettid());
}

static void
act_kill_sibling(pid_t sib)
{
	kill(sib, SIGTERM);
}

static void
act_kill_parent(pid_t sib)
{
	(void)sib;
	kill(getppid(), 0);	/* a probe: harmless should it get through */
}

static void
act_kill_group(pid_t sib)
{
	(void)sib;
	kill(0, SIGTERM);	/* our own group: the child only */
}

static void
act_tgkill_sibling(pid_t sib)
{
	syscall(SYS_tgkill, sib, sib, SIGTERM);
}

static void
act_tgkill_other_tid(pid_t sib)
{
	syscall(SYS_tgkill, getpid(), sib, SIGTERM);
}

static void
act_tkill_sibling(pid_t sib)
{
	syscall(SYS_tkill, sib, SIGTERM);
}

static void
act_sigqueue_sibling(pid_t sib)
{
	sigqueue_at(sib, 0);
}

static void
act_tgsigqueue_sibling(pid_t sib)
{
	sigqueue_at(sib, sib);
}

static void
act_mmap_exec(pid_t sib)
{
	(void)sib;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void
act_mprotect_exec(pid_t sib)
{
	void	*m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)sib;
	if (m == MAP_FAILED)
		_exit(10);
	(void)mprotect(m, 4096, PROT_READ | PROT_EXEC);
}

static void
act_open(pid_t sib)
{
	(void)sib;
	(void)open("/etc/passwd", O_RDONLY);
}

static void
act_socket(pid_t sib)
{
	(void)sib;
	(void)socket(AF_INET, SOCK_DGRAM, 0);
}

/* want: the signal that ends the child, 0 for exit status 0. */
static const struct row {
	const char *name;
	void	(*act)(pid_t sibling);
	int	want;
} rows[] = {
	{ "normal work", act_work, 0 },
	{ "abort()", act_abort, SIGABRT },
	{ "raise(SIGABRT)", act_raise, SIGABRT },
	{ "kill self", act_kill_self, SIGTERM },
	{ "tgkill self", act_tgkill_self, SIGTERM },
	{ "tkill self", act_tkill_self, SIGTERM },
	{ "rt_sigqueueinfo self", act_sigqueue_self, SIGTERM },
	{ "rt_tgsigqueueinfo self", act_tgsigqueue_self, SIGTERM },
	/* errors: a signal for anyone else, and the old denials */
	{ "kill sibling", act_kill_sibling, SIGSYS },
	{ "kill parent (signal 0)", act_kill_parent, SIGSYS },
	{ "kill own process group", act_kill_group, SIGSYS },
	{ "tgkill sibling", act_tgkill_sibling, SIGSYS },
	{ "tgkill own pid, sibling's tid", act_tgkill_other_tid, SIGSYS },
	{ "tkill sibling", act_tkill_sibling, SIGSYS },
	{ "rt_sigqueueinfo sibling", act_sigqueue_sibling, SIGSYS },
	{ "rt_tgsigqueueinfo sibling", act_tgsigqueue_sibling, SIGSYS },
	{ "mmap PROT_EXEC", act_mmap_exec, SIGSYS },
	{ "mprotect PROT_EXEC", act_mprotect_exec, SIGSYS },
	{ "open", act_open, SIGSYS },
	{ "socket", act_socket, SIGSYS },
};

static void
status_str(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status %#x", st);
}

static pid_t
run_row(const struct row *r, pid_t sib)
{
	char	err[128];
	pid_t	pid = fork();

	if (pid != 0)
		return pid;
	/* its own group, so that a filter letting kill(0) through hits
	 * nobody else; cmocka's handlers must not hide the signals */
	setpgid(0, 0);
	signal(SIGABRT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (pipe(pfd) < 0)
		_exit(3);
	if (spfworker_sandbox(err, sizeof(err)) < 0)
		_exit(2);
	r->act(sib);
	_exit(0);
}

static void
test_rows(void **state)
{
	char	got[64];
	size_t	i;
	pid_t	sib, pid;
	int	st;

	(void)state;
	/* valgrind cannot run seccomp-filtered code (the worker skips its
	 * filter there too); make asan covers this test. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		skip();
		return;
	}
	/* the stand-in for the daemon or a sibling worker */
	sib = fork();
	assert_true(sib >= 0);
	if (sib == 0) {
		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		for (;;)
			pause();
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		pid = run_row(r, sib);
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		status_str(st, got, sizeof(got));
		if (r->want == 0 ? !WIFEXITED(st) || WEXITSTATUS(st) != 0 :
		    !WIFSIGNALED(st) || WTERMSIG(st) != r->want) {
			kill(sib, SIGKILL);
			waitpid(sib, NULL, 0);
			fail_msg("row %s: got %s, want %s %d", r->name, got,
			    r->want == 0 ? "exit" : "signal", r->want);
		}
		if (waitpid(sib, &st, WNOHANG) != 0) {
			status_str(st, got, sizeof(got));
			fail_msg("row %s: the sibling died: %s", r->name, got);
		}
	}
	assert_int_equal(kill(sib, SIGKILL), 0);
	assert_int_equal(waitpid(sib, &st, 0), sib);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
		status_str(st, got, sizeof(got));
		fail_msg("sibling: got %s, want signal %d", got, SIGKILL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
