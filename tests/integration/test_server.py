# SPDX-License-Identifier: ISC
"""relaytrust-policyd as a server: protocol framing, limits, signals,
listeners and the command line, through the real daemon (conftest.py).

Where the answer itself does not matter, the client is in skip.networks
(SKIP), so no DNS is needed and every request is answered at once."""
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (POLICYD, encode_request, policy_request, read_reply, run_policyd,
                      make_config, free_port, ReplyReader, UNPRIV_USER)

SKIP = {"skip": {"networks": ["127.0.0.0/8", "::1/128"]}}
LOCAL = {"client_address": "127.0.0.1", "client_name": "localhost",
         "reverse_client_name": "localhost", "helo_name": "localhost"}


def is_answer(action):
    return re.match(r"^(DUNNO|PREPEND [A-Za-z-]+: |[45]\d\d [45]\.\d+\.\d+ |"
                    r"DEFER_IF_PERMIT |OK|WARN )", action) is not None


def closed_by_peer(sock, timeout=10):
    """True when the daemon closes sock (EOF or reset) without sending an
    action; fails if it answers instead."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            got += data
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert b"action=" not in got, "daemon answered %r" % got
    return True


def send_all_ignoring_reset(sock, data):
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass


# ---------------------------------------------------------------- protocol

def test_persistent_connection_many_requests(policyd):
    d = policyd(SKIP)
    s = d.connect()
    reader = ReplyReader(s)
    answers = []
    for i in range(100):
        s.sendall(encode_request(policy_request(**LOCAL)))
        answers.append(reader.read())
    s.close()
    for i, a in enumerate(answers):
        assert is_answer(a), "request %d: got %r" % (i, a)


def test_pipelined_requests_answered_in_order(policyd):
    d = policyd(SKIP)
    s = d.connect()
    n = 20
    data = b"".join(encode_request(policy_request(**LOCAL)) for _ in range(n))
    s.sendall(data)
    reader = ReplyReader(s)
    answers = [reader.read() for _ in range(n)]
    assert all(is_answer(a) for a in answers), answers
    # Nothing beyond the n answers: the daemon never writes unasked.
    s.settimeout(0.3)
    with pytest.raises(socket.timeout):
        extra = s.recv(100)
        assert extra == b"", extra
    s.close()


def test_split_writes_one_byte_at_a_time(policyd):
    d = policyd(SKIP)
    s = d.connect()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in encode_request(policy_request(**LOCAL)):
        s.send(bytes([b]))
    assert is_answer(read_reply(s))
    s.close()


def test_unknown_attributes_ignored(policyd):
    d = policyd(SKIP)
    plain = d.request(**LOCAL)
    extra = d.request(**LOCAL, ccert_subject="x+20y", etrn_domain="", tls_sni="mx",
                      some_future_attribute="a=b=c", x="")
    assert plain == extra


def test_crlf_lines_accepted(policyd):
    d = policyd(SKIP)
    s = d.connect()
    req = encode_request(policy_request(**LOCAL)).replace(b"\n", b"\r\n")
    s.sendall(req)
    assert is_answer(read_reply(s))
    s.close()


@pytest.mark.parametrize("name,attrs,logged", [
    ("no client_address", {"client_address": None}, "without client_address"),
    ("empty client_address", {"client_address": ""}, "without client_address"),
    ("other request type", {"request": "junk_policy"}, "is not smtpd_access_policy"),
    ("no request attribute", {"request": None}, "is not smtpd_access_policy"),
])
def test_incomplete_request_answers_dunno(policyd, name, attrs, logged):
    d = policyd(SKIP)
    assert d.request(**attrs) == "DUNNO", name
    d.wait_log(re.escape(logged))
    # The connection stays usable.
    assert is_answer(d.request(**LOCAL))


def test_empty_request_answers_dunno(policyd):
    d = policyd(SKIP)
    s = d.connect()
    s.sendall(b"\n")
    assert read_reply(s) == "DUNNO"
    s.close()


# ------------------------------------------------------------- bad input

def test_line_at_limit_is_accepted(policyd):
    d = policyd(SKIP)
    # "x=" + value + "\n": the line without its newline is exactly 8192 bytes.
    assert is_answer(d.request(**LOCAL, x="v" * (8192 - 2)))


def test_line_over_8k_closes_that_connection_only(policyd):
    d = policyd(SKIP)
    other = d.connect()
    other_reader = ReplyReader(other)
    other.sendall(encode_request(policy_request(**LOCAL)))
    assert is_answer(other_reader.read())

    s = d.connect()
    send_all_ignoring_reset(s, b"request=smtpd_access_policy\nx=" + b"v" * 8191 + b"\n\n")
    assert closed_by_peer(s)
    d.wait_log(r"line over 8192 bytes")
    s.close()

    # A line that never ends is refused as soon as it passes the limit.
    s = d.connect()
    send_all_ignoring_reset(s, b"x=" + b"v" * 20000)
    assert closed_by_peer(s)
    s.close()

    other.sendall(encode_request(policy_request(**LOCAL)))
    assert is_answer(other_reader.read())
    other.close()


def test_request_over_64k_closes_connection(policyd):
    d = policyd(SKIP)
    s = d.connect()
    line = b"x_attribute=" + b"v" * 100 + b"\n"     # 113 bytes
    data = b"request=smtpd_access_policy\n" + line * (65536 // len(line) + 10) + b"\n"
    send_all_ignoring_reset(s, data)
    assert closed_by_peer(s)
    d.wait_log(r"request over 65536 bytes")
    s.close()
    assert is_answer(d.request(**LOCAL))


def test_many_attributes_under_64k_closes_connection(policyd):
    """Over PROTO_ATTRS_MAX (1024) short lines, far below 64 KiB."""
    d = policyd(SKIP)
    s = d.connect()
    data = b"request=smtpd_access_policy\n" + b"a=b\n" * 2000 + b"\n"
    send_all_ignoring_reset(s, data)
    assert closed_by_peer(s)
    d.wait_log(r"malformed request: more than 1024 attributes")
    s.close()


@pytest.mark.parametrize("name,data,logged", [
    ("NUL in a value", b"request=smtpd_access_policy\nsender=a\x00b\n\n", "NUL byte"),
    ("NUL in an unfinished line", b"\x00\x01\x02\xff\xfe binary", "NUL byte"),
    ("binary with NUL and newlines", bytes(range(256)) * 4, "NUL byte"),
    ("line without =", b"request=smtpd_access_policy\nno equals sign\n\n",
     "malformed request: line 2 has no '='"),
    ("empty name", b"=value\n\n", "malformed request: line 1 has an empty name"),
])
def test_garbage_closes_connection(policyd, name, data, logged):
    d = policyd(SKIP)
    s = d.connect()
    send_all_ignoring_reset(s, data)
    assert closed_by_peer(s), name
    d.wait_log(re.escape(logged))
    s.close()
    assert is_answer(d.request(**LOCAL))


def test_idle_connection_closed_after_idle_timeout(policyd):
    d = policyd(dict(SKIP, idle_timeout=1))
    s = d.connect()
    assert closed_by_peer(s, timeout=30)
    d.wait_log(r"idle for 1 s")
    s.close()
    # An idle connection that was used is closed too, after its answer.
    s = d.connect()
    s.sendall(encode_request(policy_request(**LOCAL)))
    assert is_answer(read_reply(s))
    assert closed_by_peer(s, timeout=30)
    s.close()
    assert is_answer(d.request(**LOCAL))


def test_client_disconnects_mid_request(policyd, dns):
    d = policyd({}, dns=dns)
    # Half a request, then gone.
    s = d.connect()
    s.sendall(b"request=smtpd_access_policy\nclient_addr")
    s.close()
    # A whole request whose check is still running (slow DNS), then gone.
    dns.delay = 1.0
    s = d.connect()
    s.sendall(encode_request(policy_request(client_address="192.0.2.7")))
    deadline = time.monotonic() + 10
    while not dns.queries and time.monotonic() < deadline:
        time.sleep(0.01)
    in_flight = bool(dns.queries)
    s.close()
    dns.delay = 0
    if in_flight:
        d.wait_log(r"closed the connection during a request")
    assert is_answer(d.request(client_address="192.0.2.8"))


def test_200_concurrent_connections(policyd):
    d = policyd(SKIP)
    nconn, nreq = 200, 10
    errors = []
    counts = [0] * nconn
    barrier = threading.Barrier(nconn)

    def client(i):
        try:
            s = d.connect(timeout=30)
            barrier.wait(timeout=60)
            reader = ReplyReader(s)
            for _ in range(nreq):
                s.sendall(encode_request(policy_request(**LOCAL)))
                a = reader.read()
                if not is_answer(a):
                    errors.append("conn %d: got %r" % (i, a))
                counts[i] += 1
            s.close()
        except Exception as e:     # noqa: BLE001 - reported below
            errors.append("conn %d: %r" % (i, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    assert sum(counts) == nconn * nreq


def test_max_connections(policyd):
    d = policyd(dict(SKIP, max_connections=3))
    conns = []
    for _ in range(3):
        s = d.connect()
        s.sendall(encode_request(policy_request(**LOCAL)))
        assert is_answer(read_reply(s))
        conns.append(s)
    extra = d.connect()
    send_all_ignoring_reset(extra, encode_request(policy_request(**LOCAL)))
    assert closed_by_peer(extra)
    extra.close()
    d.wait_log(r"max_connections \(3\) reached")
    # The three accepted ones still work.
    for s in conns:
        s.sendall(encode_request(policy_request(**LOCAL)))
        assert is_answer(read_reply(s))
    # Closing one makes room (the daemon notices the close asynchronously).
    conns.pop().close()
    deadline = time.monotonic() + 10
    while True:
        s = d.connect()
        try:
            s.sendall(encode_request(policy_request(**LOCAL)))
            assert is_answer(read_reply(s))
            conns.append(s)
            break
        except (ConnectionError, OSError):
            s.close()
            assert time.monotonic() < deadline, "no room after a close"
            time.sleep(0.05)
    for s in conns:
        s.close()


# --------------------------------------------------------------- listeners

def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no ::1")
def test_ipv6_listener(policyd):
    port6 = free_port(socket.AF_INET6, "::1")
    d = policyd(dict(SKIP, listen=["inet:127.0.0.1:{port}", "inet:[::1]:%d" % port6]))
    s = socket.create_connection(("::1", port6), timeout=10)
    s.sendall(encode_request(policy_request(**dict(LOCAL, client_address="::1"))))
    assert is_answer(read_reply(s))
    s.close()
    assert is_answer(d.request(**LOCAL))


def test_unix_socket_listener(policyd, tmp_path):
    # The daemon removes its socket at exit after dropping to `user`: the
    # directory is that user's, as /run/relaytrust is under systemd.
    sdir = tmp_path / "run"
    sdir.mkdir()
    if UNPRIV_USER is not None:
        pw = pwd.getpwnam(UNPRIV_USER)
        os.chown(sdir, pw.pw_uid, pw.pw_gid)
    path = str(sdir / "policy.sock")
    # A stale socket from a crashed run is replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    assert os.path.exists(path)
    d = policyd(dict(SKIP, listen=["inet:127.0.0.1:{port}", "unix:" + path]))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    for _ in range(3):
        s.sendall(encode_request(policy_request(**LOCAL)))
        assert is_answer(read_reply(s))
    s.close()
    d.stop()
    assert not os.path.exists(path), "socket left behind after stop"


def test_unix_socket_in_use_is_refused(policyd, tmp_path):
    path = str(tmp_path / "busy.sock")
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    busy.bind(path)
    busy.listen(1)
    try:
        d = policyd(dict(SKIP, listen=["unix:" + path]), wait_ready=False)
        assert d.proc.wait(timeout=20) == 1
        assert "another server is listening there" in d.log()
        d.stopped = True
    finally:
        busy.close()


def test_port_in_use_fails_start(policyd):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        d = policyd(dict(SKIP, listen=["inet:127.0.0.1:%d" % port]), wait_ready=False)
        assert d.proc.wait(timeout=20) == 1
        assert re.search(r"listen inet:127\.0\.0\.1:%d: Address already in use" % port,
                         d.log()), d.log()
        d.stopped = True
    finally:
        blocker.close()


# ----------------------------------------------------------------- signals

def test_sigterm_exits_zero_and_answers_in_flight(policyd, dns):
    d = policyd({}, dns=dns)
    dns.delay = 1.0
    s = d.connect()
    s.sendall(encode_request(policy_request(client_address="192.0.2.9")))
    deadline = time.monotonic() + 10
    while not dns.queries and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(d.pid, signal.SIGTERM)
    reply = read_reply(s)           # answered, not dropped
    assert is_answer(reply), reply
    assert closed_by_peer(s)        # and then the connection is closed
    s.close()
    assert d.proc.wait(timeout=20) == 0
    d.stop()
    # No new connections after the stop.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", d.port), timeout=2).close()


def test_sigint_exits_zero(policyd):
    d = policyd(SKIP)
    assert is_answer(d.request(**LOCAL))
    d.stop(sig=signal.SIGINT)


def test_sighup_bad_config_keeps_old(policyd):
    d = policyd({"skip": {"networks": []}})
    before = d.request(**LOCAL)
    assert before.startswith("550 5.7.25"), before     # 127.0.0.1 has no PTR
    line = d.reload("workers = 2\nspf {\n\ton_fail = \"explode\"\n}\n")
    assert "keeping the old configuration" in line
    assert re.search(r"policyd0\.conf:\d+: spf\.on_fail \"explode\"", line), line
    assert d.request(**LOCAL) == before
    # A good file takes effect for new requests on the same connection.
    line = d.reload(SKIP)
    assert "configuration reloaded" in line, line
    after = d.request(**LOCAL)
    assert not after.startswith("5"), after
    d.stop()


def test_sighup_listen_change_needs_restart(policyd):
    d = policyd(SKIP)
    line = d.reload(dict(SKIP, listen=["inet:127.0.0.1:{port}", "inet:127.0.0.1:%d"
                                       % free_port()]))
    assert "configuration reloaded" in line
    d.wait_log(r"listen changed; that needs a restart")
    assert is_answer(d.request(**LOCAL))


# ------------------------------------------------------------ command line

def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_check_config_good(tmp_path):
    path = write(tmp_path, "good.conf", make_config(SKIP, 10045, 53))
    p = run_policyd(["-t", "-c", path])
    assert p.returncode == 0, p.stderr
    assert b"configuration OK" in p.stdout
    assert p.stderr == b""


def test_check_config_shipped_sample():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = run_policyd(["-t", "-c", os.path.join(root, "conf", "policyd.conf")])
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("name,text,want", [
    ("unknown key", "workers = 2\nbogus = 1\n", r":2: no such option 'bogus'"),
    ("bad action", "spf {\n  helo = true\n  on_fail = \"bounce\"\n}\n",
     r":3: spf\.on_fail \"bounce\""),
    ("timeout too big", "\n\nrequest_timeout = 100\n", r":3: request_timeout = 100"),
    ("bad listen", "listen = { \"tcp:1.2.3.4:5\" }\n", r":1: listen \"tcp:1\.2\.3\.4:5\""),
    ("bad cidr", "skip {\n networks = { \"10.0.0.0/33\" }\n}\n", r":2: skip\.networks"),
    ("bad forwarder", "dns {\n\n forward = { \"1.2.3.4@99999\" }\n}\n", r":3: dns\.forward"),
    ("syntax error", "workers = \n", r":\d+: "),
    ("zero lookup limit", "spf { lookup_limit = 0 }\n", r":1: spf\.lookup_limit = 0"),
])
def test_check_config_bad(tmp_path, name, text, want):
    path = write(tmp_path, "bad.conf", text)
    p = run_policyd(["-t", "-c", path])
    assert p.returncode == 1, name
    err = p.stderr.decode()
    assert re.search(re.escape(path) + want, err), "%s: stderr %r" % (name, err)
    assert err.count("\n") == 1, "%s: want one line, got %r" % (name, err)


def test_check_config_missing_file(tmp_path):
    p = run_policyd(["-t", "-c", str(tmp_path / "nope.conf")])
    assert p.returncode == 1
    assert b"nope.conf: cannot open" in p.stderr


def test_version():
    p = run_policyd(["-V"])
    assert p.returncode == 0
    out = p.stdout.decode()
    assert re.match(r"relaytrust-policyd \d+\.\d+\.\d+\n", out), out
    for lib in ("libevent", "libunbound", "libspf2", "OpenSSL", "libconfuse"):
        assert re.search(r"(?m)^%s \S+" % lib, out), (lib, out)


def test_usage_error():
    p = run_policyd(["--no-such-option"])
    assert p.returncode == 2
    assert b"usage:" in p.stderr


def test_daemon_start_failure_with_bad_config_says_where(tmp_path):
    path = write(tmp_path, "bad.conf", "workers = 0\n")
    p = run_policyd(["-f", "-c", path])
    assert p.returncode == 1
    assert re.search(re.escape(path) + r":1: workers = 0", p.stderr.decode())


# --------------------------------------------------------------- --stdio

def stdio_config(tmp_path, dns_port):
    return write(tmp_path, "stdio.conf", make_config(SKIP, free_port(), dns_port))


def test_stdio_pipes(tmp_path, dns):
    path = stdio_config(tmp_path, dns.port)
    data = (encode_request(policy_request(**LOCAL)) +
            encode_request(policy_request(**dict(LOCAL, client_address=None))))
    p = run_policyd(["--stdio", "-c", path], input=data)
    assert p.returncode == 0, p.stderr
    assert p.stderr == b""
    replies = p.stdout.split(b"\n\n")
    assert replies[-1] == b"" and len(replies) == 3, p.stdout
    assert is_answer(replies[0].decode()[len("action="):])
    assert replies[1] == b"action=DUNNO"


def test_stdio_socket_like_spawn(tmp_path, dns):
    """spawn(8): one socket on stdin, stdout and stderr."""
    path = stdio_config(tmp_path, dns.port)
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([POLICYD, "--stdio", "-c", path], stdin=theirs, stdout=theirs,
                            stderr=theirs)
    theirs.close()
    try:
        ours.settimeout(15)
        reader = ReplyReader(ours)
        for _ in range(2):
            ours.sendall(encode_request(policy_request(**LOCAL)))
            assert is_answer(reader.read())
        # A bad request: only an action or nothing, never a diagnostic.
        ours.sendall(b"garbage without equals\n\n")
        rest = b""
        while True:
            chunk = ours.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert rest == b"", rest
        assert proc.wait(timeout=20) == 0
    finally:
        ours.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_stdio_bad_config_stays_silent(tmp_path):
    path = write(tmp_path, "bad.conf", "workers = 0\n")
    p = run_policyd(["--stdio", "-c", path], input=b"")
    assert p.returncode == 1
    assert p.stderr == b"" and p.stdout == b""


def test_stdio_regular_files(tmp_path, dns):
    """stdin and stdout that the event loop cannot poll (files)."""
    path = stdio_config(tmp_path, dns.port)
    reqs = tmp_path / "requests.txt"
    reqs.write_bytes(encode_request(policy_request(**LOCAL)) +
                     encode_request(policy_request(**dict(LOCAL, client_address=None))))
    out = tmp_path / "answers.txt"
    with open(reqs, "rb") as fin, open(out, "wb") as fout:
        p = subprocess.run([POLICYD, "--stdio", "-c", path], stdin=fin, stdout=fout,
                           stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0 and p.stderr == b""
    replies = out.read_bytes().split(b"\n\n")
    assert len(replies) == 3 and replies[1] == b"action=DUNNO", replies


def stdio_flood(path, n):
    """Start --stdio on pipes and write n pipelined requests from a
    thread (the pipe blocks while the daemon pauses reading)."""
    proc = subprocess.Popen([POLICYD, "--stdio", "-c", path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    one = encode_request(policy_request(**LOCAL))

    def feed():
        try:
            for _ in range(n):
                proc.stdin.write(one)
            proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return proc, t


def test_stdio_slow_reader_gets_every_answer_in_order(tmp_path, dns):
    """Answers beyond what the pipe takes wait in the daemon, reading
    pauses while they wait, and nothing is lost or reordered."""
    path = stdio_config(tmp_path, dns.port)
    n = 20000
    proc, t = stdio_flood(path, n)
    try:
        time.sleep(1.5)             # the reader is slow: the pipe fills
        out = proc.stdout.read()
        t.join(30)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    replies = out.split(b"\n\n")
    assert replies[-1] == b"", out[-200:]
    replies = replies[:-1]
    assert len(replies) == n, "got %d answers, want %d" % (len(replies), n)
    bad = [r for r in replies if not is_answer(r.decode()[len("action="):])]
    assert not bad, bad[:3]


def test_stdio_reader_that_never_reads_is_dropped(tmp_path, dns):
    """A client that does not read its answers for idle_timeout is
    dropped; the daemon does not wait for it forever."""
    path = write(tmp_path, "stdio.conf",
                 make_config(dict(SKIP, idle_timeout=1), free_port(), dns.port))
    proc, t = stdio_flood(path, 20000)
    try:
        # stdout is never read; the daemon must give up and exit.
        rc = proc.wait(timeout=60)
        assert rc == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
