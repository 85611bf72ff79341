# SPDX-License-Identifier: ISC
"""policyload and benchdns (the benchmark tools, tests/tools/) against the
real daemon: functional only, no timing.  The load generator must complete
every request it is asked for with no errors on a healthy daemon, over TCP
and a unix socket, with reconnects; it must count errors when the server
misbehaves and fail when nothing listens.  benchdns must answer the
synthetic zone the generator's requests use (benchzone.h)."""
import json
import os
import socket
import subprocess
import threading

import pytest

from conftest import RT_BUILD

LOAD = os.path.join(RT_BUILD, "tests", "policyload")
BENCHDNS = os.path.join(RT_BUILD, "tests", "benchdns")
DNSQ = os.path.join(RT_BUILD, "tests", "dnsq")


@pytest.fixture
def benchdns():
    proc = subprocess.Popen([BENCHDNS, "-a", "127.0.0.1", "-p", "0"], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert line.startswith("port "), "benchdns said %r" % line
    try:
        yield int(line.split()[1])
    finally:
        proc.terminate()
        proc.wait(10)


def run_load(*args, timeout=120):
    p = subprocess.run([LOAD, "-q", "-T", "30"] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        raise AssertionError("policyload exit %d, stdout %r, stderr %r"
                             % (p.returncode, p.stdout, p.stderr))
    return p.returncode, result


# name, qtype, want (substring of the dnsq line)
ZONE_ROWS = [
    ("d0.bench.test", "TXT", '"v=spf1 ip4:44.1.0.0/24 -all"'),
    ("d2.bench.test", "TXT", '"v=spf1 include:p2.prov.bench.test -all"'),
    ("d4.bench.test", "TXT", '"v=spf1 redirect=p4.prov.bench.test"'),
    ("p2.prov.bench.test", "TXT", "ip4:44.203.0.0/16 include:q2.prov.bench.test"),
    ("i9.own.bench.test", "TXT", "include:j9.own.bench.test"),
    ("j9.own.bench.test", "TXT", "include:k9.own.bench.test"),
    ("mx.d1.bench.test", "A", "44.2.0.2"),
    ("d1.bench.test", "MX", "10:mx.d1.bench.test"),
    ("1.1.1.44.in-addr.arpa", "PTR", "h1-1-1.rdns.bench.test"),
    ("h1-1-1.rdns.bench.test", "A", "44.1.1.1"),
    # error rows: nonexistent names and types without data
    ("d7.bench.test", "TXT", "nxdomain"),
    ("d6.bench.test", "TXT", "nodata"),
    ("nope.bench.test", "A", "nxdomain"),
    ("x.y.bench.test", "TXT", "nxdomain"),
    ("1.1.1.11.in-addr.arpa", "PTR", "nxdomain"),
    ("h1-1-1.rdns.bench.test", "AAAA", "nodata"),
    ("q99.prov.bench.test", "TXT", "nxdomain"),
    ("example.com", "A", "nxdomain"),
]


def test_benchdns_zone(benchdns):
    args = [DNSQ, "-s", "127.0.0.1@%d" % benchdns]
    for name, qtype, _ in ZONE_ROWS:
        args += [qtype, name]
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=60).stdout
    lines = out.splitlines()
    assert len(lines) == len(ZONE_ROWS), out
    for (name, qtype, want), line in zip(ZONE_ROWS, lines):
        assert line.startswith("%s %s " % (name, qtype)) and want in line, \
            "row %s %s: got %r, want %r" % (name, qtype, line, want)


def test_load_tcp_completes_without_errors(policyd, benchdns):
    d = policyd(dns=benchdns)
    rc, r = run_load("-p", d.port, "-c", 4, "-n", 300, "-D", 20)
    assert rc == 0, r
    assert r["requests"] == 300 and r["errors"] == 0, r
    acts = r["actions"]
    assert acts["other"] == 0, r
    # The stream has accepted messages, later recipients and rejections.
    assert acts["prepend"] > 0 and acts["dunno"] > 0 and acts["reject"] > 0, r
    assert r["first_ms"]["n"] == 4, r


def test_load_unix_reconnect_messages(policyd, benchdns, tmp_path):
    path = str(tmp_path / "p.sock")
    d = policyd({"listen": ["inet:127.0.0.1:{port}", "unix:" + path]}, dns=benchdns)
    assert d
    rc, r = run_load("-u", path, "-c", 3, "-m", 40, "-R", 5, "-D", 10)
    assert rc == 0, r
    assert r["errors"] == 0 and r["messages"] >= 40, r
    assert r["connects"] > 3 and r["first_ms"]["n"] == r["connects"], r


def test_load_local_probe(policyd, benchdns):
    d = policyd({"skip": {"networks": ["127.0.0.0/8"]}}, dns=benchdns)
    rc, r = run_load("-p", d.port, "-c", 1, "-n", 10, "-R", 1, "-L")
    assert rc == 0 and r["requests"] == 10 and r["connects"] >= 10, r


def _bad_server(reply):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                buf = b""
                while b"\n\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        break
                    buf += data
                c.sendall(reply)
            except OSError:
                pass
            finally:
                c.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv


@pytest.mark.parametrize("reply", [b"hello\n\n", b"action=DUNNO\naction=DUNNO\n\n",
                                   b"action=DUNNO\n\naction=DUNNO\n\n", b""])
def test_load_counts_errors(reply):
    srv = _bad_server(reply)
    try:
        rc, r = run_load("-p", srv.getsockname()[1], "-c", 2, "-n", 6)
    finally:
        srv.close()
    assert rc == 1 and r["errors"] > 0, "reply %r: %r" % (reply, r)


def test_load_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.run([LOAD, "-q", "-p", str(port), "-c", "2", "-d", "5"],
                       stdout=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 2, p.stdout
    assert json.loads(p.stdout)["connect_errors"] >= 20, p.stdout
