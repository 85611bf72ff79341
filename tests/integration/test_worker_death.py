# SPDX-License-Identifier: ISC
"""SPF workers that die at awkward moments (found by `make soak`, phase 5).

A worker killed while idle is only noticed when the event loop reads its
end of the socket pair. If a request arrives first, the pool hands the new
evaluation to the dead worker, send() fails, and the evaluation ends as
temperror. That ending must come from the event loop like every other
one: before the fix it was delivered (and freed) inside spfpool_eval(),
so check.c kept a dangling pointer and the daemon crashed (SIGSEGV, or an
AddressSanitizer heap-use-after-free with the asan build) on the next
cancel.

The ordering is made deterministic with SIGSTOP: the request is queued on
the daemon's socket, then the worker is killed, then the daemon resumes
and sees the request first."""
import os
import signal
import time

import pytest

from conftest import ReplyReader, encode_request, policy_request

ZONE = {
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    "mail.example.net": [{"A": "192.0.2.1"}, {"TXT": "v=spf1 a -all"}],
    "example.com": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
}
ACCEPTED = "PREPEND Authentication-Results:"
WORKER_DIED = "DEFER_IF_PERMIT 4.7.24 "


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            kids.append(int(d))
    return kids


def wait_dead(pid, timeout=10):
    """Until pid is a zombie or gone (its parent is stopped: not reaped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError("worker %d did not die" % pid)


def wait_workers(pid, n, timeout=15):
    deadline = time.monotonic() + timeout
    while len(children(pid)) != n:
        assert time.monotonic() < deadline, "want %d workers, have %r" % (n, children(pid))
        time.sleep(0.02)
    return children(pid)


# Which evaluations a request starts: HELO and MAIL FROM (two), or MAIL
# FROM alone (a null sender's HELO identity is the only one).
CASES = [
    ("helo_and_mailfrom", {}),
    ("mailfrom_only", {"sender": ""}),
]


@pytest.mark.parametrize("name,attrs", CASES, ids=[c[0] for c in CASES])
def test_request_meets_an_idle_worker_killed_unnoticed(policyd, dns, name, attrs):
    dns.set_zone(ZONE)
    d = policyd({"workers": 1})
    s = d.connect()
    reader = ReplyReader(s)
    s.sendall(encode_request(policy_request(**attrs)))
    first = reader.read()
    assert first.startswith(ACCEPTED), "row %s: warm-up got %r" % (name, first)
    worker = wait_workers(d.pid, 1)[0]

    os.kill(d.pid, signal.SIGSTOP)
    try:
        s.sendall(encode_request(policy_request(**attrs)))
        time.sleep(0.3)         # the request is in the daemon's socket first
        os.kill(worker, signal.SIGKILL)
        wait_dead(worker)
    finally:
        os.kill(d.pid, signal.SIGCONT)
    got = reader.read()
    assert got.startswith((WORKER_DIED, ACCEPTED)), \
        "row %s: got %r, want %r or %r" % (name, got, WORKER_DIED, ACCEPTED)

    # The pool replaced the worker and the daemon carries on.
    wait_workers(d.pid, 1)
    for _ in range(3):
        s.sendall(encode_request(policy_request(**attrs)))
        got = reader.read()
        assert got.startswith(ACCEPTED), "row %s: after: got %r" % (name, got)
    s.close()
    assert d.proc.poll() is None, "row %s: daemon died: %s" % (name, d.log()[-2000:])
    d.stop()        # exit 0, no sanitizer report in its log


def test_idle_workers_killed_repeatedly_between_requests(policyd, dns):
    """Every worker killed while idle, again and again, each kill noticed
    or not before the next request: every request answered, accepted or
    with the temperror action, never anything else."""
    dns.set_zone(ZONE)
    d = policyd({"workers": 2})
    s = d.connect()
    reader = ReplyReader(s)
    for rnd in range(6):
        wait_workers(d.pid, 2)
        os.kill(d.pid, signal.SIGSTOP)
        try:
            s.sendall(encode_request(policy_request()))
            time.sleep(0.1)
            for w in children(d.pid):
                os.kill(w, signal.SIGKILL)
                wait_dead(w)
        finally:
            os.kill(d.pid, signal.SIGCONT)
        got = reader.read()
        assert got.startswith((WORKER_DIED, ACCEPTED)), \
            "round %d: got %r, want %r or %r" % (rnd, got, WORKER_DIED, ACCEPTED)
    wait_workers(d.pid, 2)
    s.sendall(encode_request(policy_request()))
    got = reader.read()
    assert got.startswith(ACCEPTED), "after: got %r" % got
    s.close()
    d.stop()


def test_one_worker_runs_other_evaluations_while_one_waits_for_dns(policyd, dns):
    """A worker runs many evaluations at once: one whose SPF record never
    arrives does not hold up the others on the same worker, and its
    request still gets the temperror action by the deadline without
    the worker being killed."""
    zone = dict(ZONE)
    zone["silent.example"] = "TIMEOUT"
    dns.set_zone(zone)
    d = policyd({"workers": 1, "request_timeout": 4})
    worker = wait_workers(d.pid, 1)[0]
    slow = d.connect()
    slow_reader = ReplyReader(slow)
    slow.sendall(encode_request(policy_request(sender="a@silent.example")))
    # Wait until the silent evaluation is on the worker, waiting for DNS.
    deadline = time.monotonic() + 10
    while ("silent.example", "TXT", "udp") not in dns.queries:
        assert time.monotonic() < deadline, "the silent lookup never started"
        time.sleep(0.01)
    fast = d.connect()
    fast_reader = ReplyReader(fast)
    for i in range(5):
        fast.sendall(encode_request(policy_request(instance="fast%d" % i)))
        got = fast_reader.read()
        assert got.startswith(ACCEPTED), "fast %d: got %r" % (i, got)
        assert slow_reader.pending() == b"", \
            "fast %d answered after the silent one: %r" % (i, slow_reader.pending())
    got = slow_reader.read()
    assert got.startswith("DEFER_IF_PERMIT"), "silent: got %r" % got
    assert children(d.pid) == [worker], "the worker was replaced"
    slow.close()
    fast.close()
    d.stop()


def worker_cmdlines(pid):
    out = []
    for w in children(pid):
        with open("/proc/%d/cmdline" % w, "rb") as f:
            out.append(f.read().split(b"\0")[0].decode())
    return out


@pytest.mark.parametrize("case", ["program", "missing", "other_version"])
def test_worker_program_and_fallbacks(policyd, dns, tmp_path, monkeypatch, case):
    """Workers are relaytrust-spf-worker from the daemon's directory;
    without it, copies of the daemon itself; and when it refuses to start
    (another version), copies of the daemon from then on. SPF works in
    every case."""
    import shutil

    import conftest
    if conftest.VALGRIND:
        pytest.skip("under valgrind the worker is always a forked copy (spfworker.c)")
    dns.set_zone(ZONE)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(conftest.POLICYD, bindir / "relaytrust-policyd")
    prog = os.path.join(os.path.dirname(conftest.POLICYD), "relaytrust-spf-worker")
    want = {"program": "relaytrust-spf-worker",
            "missing": "relaytrust-spf-worker:",
            "other_version": "relaytrust-spf-worker:"}[case]
    if case == "program":
        shutil.copy(prog, bindir / "relaytrust-spf-worker")
    elif case == "other_version":
        fake = bindir / "relaytrust-spf-worker"
        fake.write_text("#!/bin/sh\nexit 2\n")
        fake.chmod(0o755)
    monkeypatch.setattr(conftest, "POLICYD", str(bindir / "relaytrust-policyd"))
    d = policyd({"workers": 1})
    s = d.connect()
    reader = ReplyReader(s)
    for i in range(3):
        s.sendall(encode_request(policy_request()))
        got = reader.read()
        if case == "other_version" and i == 0:
            # the first evaluation may meet the refusing worker
            assert got.startswith((ACCEPTED, WORKER_DIED)), "row %s: got %r" % (case, got)
            continue
        assert got.startswith(ACCEPTED), "row %s, request %d: got %r" % (case, i, got)
    assert worker_cmdlines(d.pid) == [want], \
        "row %s: workers %r, want [%r]" % (case, worker_cmdlines(d.pid), want)
    if case == "other_version":
        d.wait_log(r"did not start \(another version\?\)")
    s.close()
    d.stop()
