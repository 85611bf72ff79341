# SPDX-License-Identifier: ISC
"""shared/dns.c through the dnsq tool ($RT_BUILD/tests/dnsq) against the
test DNS server (dnsserver.TestDNS) on loopback."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from dnsserver import TestDNS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BUILD = os.environ.get("RT_BUILD", os.path.join(ROOT, "build"))
DNSQ = os.path.join(RT_BUILD, "tests", "dnsq")

BIG = ["x" * 250, "y" * 250, "z" * 250]

ZONE = {
    "example.com": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"},
                    {"MX": [10, "mx1.example.com"]}, {"MX": [20, "mx2.example.com"]}],
    "multi.example.com": [{"TXT": ["v=spf1 ", "ip4:192.0.2.0/24", " -all"]}],
    "nul.example.com": [{"TXT": "a\0b"}],
    "v6.example.com": [{"AAAA": "2001:db8::1"}],
    "spf.example.com": [{"SPF": "v=spf1 +all"}],
    "alias.example.com": [{"CNAME": "example.com"}],
    "5.0.0.127.in-addr.arpa": [{"PTR": "five.example.com"}],
    "1.0.0.127.in-addr.arpa": [{"PTR": "one.example.com"}],
    "1.0.0.10.in-addr.arpa": [{"PTR": "ten.example.com"}],
    "host.test": [{"A": "192.0.2.7"}],
    "slow.example.com": ["TIMEOUT"],
    "broken.example.com": ["SERVFAIL"],
    "big.example.com": [{"TXT": BIG}],
    "n1.example.com": [{"A": "192.0.2.11"}],
}

pytestmark = pytest.mark.skipif(not os.access(DNSQ, os.X_OK),
                                reason="dnsq not built (%s)" % DNSQ)


@pytest.fixture
def srv():
    s = TestDNS(host="127.0.0.1", port=0)
    s.set_zone(ZONE)
    yield s
    s.stop()


def dnsq(srv, *args, timeout=3, sync=False):
    cmd = [DNSQ, "-s", "127.0.0.1@%d" % srv.port, "-t", str(timeout), "--stats"]
    if sync:
        cmd.append("--sync")
    p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines and lines[-1].startswith("stats "), p.stdout
    return lines[:-1], dict(kv.split("=") for kv in lines[-1].split()[1:])


def one(srv, qtype, name, **kw):
    lines, _ = dnsq(srv, qtype, name, **kw)
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("sync", [False, True])
def test_records(srv, sync):
    lines, _ = dnsq(srv, "A", "example.com", "AAAA", "v6.example.com",
                    "TXT", "multi.example.com", "MX", "example.com",
                    "TXT", "nul.example.com", "SPF", "spf.example.com",
                    "A", "alias.example.com", sync=sync)
    # unbound may rotate the records of an RRset: compare MX as a set
    mx = lines[3].split()
    assert mx[:4] == ["example.com", "MX", "ok", "n=2"], lines[3]
    assert sorted(mx[4:]) == ["10:mx1.example.com", "20:mx2.example.com"], lines[3]
    lines[3] = "MX"
    assert lines == [
        "example.com A ok n=1 192.0.2.1",
        "v6.example.com AAAA ok n=1 2001:db8::1",
        'multi.example.com TXT ok n=1 "v=spf1 ip4:192.0.2.0/24 -all"[s=3,len=28]',
        "MX",
        'nul.example.com TXT ok n=1 "a\\x00b"[s=1,len=3]',
        'spf.example.com SPF ok n=1 "v=spf1 +all"[s=1,len=11]',
        "alias.example.com A ok n=1 192.0.2.1",
    ]


def test_local_zones_reach_the_server(srv):
    srv.clear_queries()
    lines, _ = dnsq(srv, "PTR", "5.0.0.127.in-addr.arpa", "PTR", "1.0.0.127.in-addr.arpa",
                    "PTR", "1.0.0.10.in-addr.arpa", "A", "host.test")
    assert lines == [
        "5.0.0.127.in-addr.arpa PTR ok n=1 five.example.com",
        "1.0.0.127.in-addr.arpa PTR ok n=1 one.example.com",
        "1.0.0.10.in-addr.arpa PTR ok n=1 ten.example.com",
        "host.test A ok n=1 192.0.2.7",
    ]
    seen = {(q[0], q[1]) for q in srv.queries}
    for want in [("5.0.0.127.in-addr.arpa", "PTR"), ("1.0.0.127.in-addr.arpa", "PTR"),
                 ("host.test", "A")]:
        assert want in seen, "%s not seen by the server: %s" % (want, srv.queries)


def test_nxdomain_nodata(srv):
    lines, _ = dnsq(srv, "TXT", "nope.example.com", "AAAA", "example.com",
                    "TXT", "nope.test")
    assert lines == ["nope.example.com TXT nxdomain n=0",
                     "example.com AAAA nodata n=0",
                     "nope.test TXT nxdomain n=0"]


def test_servfail_is_tempfail(srv):
    assert one(srv, "TXT", "broken.example.com") == \
        'broken.example.com TXT tempfail n=0 why="servfail"'


@pytest.mark.parametrize("sync", [False, True])
def test_timeout(srv, sync):
    lines, st = dnsq(srv, "TXT", "slow.example.com", timeout=1, sync=sync)
    assert lines == ['slow.example.com TXT tempfail n=0 why="timeout"']
    assert st["timeouts"] == "1"


def test_timeout_does_not_poison_later_queries(srv):
    # unbound keeps per-server RTT state: rounds of dropped queries, each
    # sent after the round before timed out, used to mark the forwarder
    # down (SERVFAIL or timeouts for every later name; seen with unbound's
    # defaults).  Normal names asked afterwards must still be answered.
    names = ["s%d.slow.example.com" % i for i in range(8)]
    for n in names:
        srv.add(n, "TIMEOUT")
    args = []
    for t in ("TXT", "MX", "AAAA"):
        for n in names:
            args += [t, n]
        args.append("--")
    args += ["A", "n1.example.com", "--", "TXT", "example.com", "--",
             "AAAA", "v6.example.com"]
    lines, _ = dnsq(srv, *args, timeout=3)
    assert lines[-3:] == ["n1.example.com A ok n=1 192.0.2.11",
                          'example.com TXT ok n=1 "v=spf1 -all"[s=1,len=11]',
                          "v6.example.com AAAA ok n=1 2001:db8::1"], lines
    for ln in lines[:-3]:
        assert " tempfail " in ln, ln


def test_truncated_udp_retries_over_tcp(srv):
    srv.clear_queries()
    line = one(srv, "TXT", "big.example.com")
    assert line == 'big.example.com TXT ok n=1 "%s"[s=3,len=750]' % "".join(BIG)
    assert ("big.example.com", "TXT", "udp") in srv.queries
    assert ("big.example.com", "TXT", "tcp") in srv.queries


def test_cache(srv):
    srv.clear_queries()
    lines, st = dnsq(srv, "TXT", "example.com", "--", "TXT", "example.com")
    assert lines == ['example.com TXT ok n=1 "v=spf1 -all"[s=1,len=11]'] * 2
    assert [q for q in srv.queries if q[:2] == ("example.com", "TXT")] == \
        [("example.com", "TXT", "udp")]
    assert st["cache_hits"] == "1"


@pytest.mark.parametrize("name,why", [
    ("a..b.example.com", "empty label"),
    (".example.com", "empty label"),
    ("x" * 64 + ".example.com", "label longer than 63"),
    (".".join(["abcdefghi"] * 26), "longer than 253"),
    ("", "empty"),
    ("..", "empty"),
])
def test_invalid_name_is_permfail_without_query(srv, name, why):
    srv.clear_queries()
    line = one(srv, "TXT", name)
    assert line.startswith("%s TXT permfail n=0 why=\"invalid name: %s" % (name, why)), line
    assert srv.queries == []


def test_odd_bytes_reach_the_server_verbatim(srv):
    srv.clear_queries()
    line = one(srv, "TXT", "a b\\c.example.com")
    assert line == "a b\\c.example.com TXT nxdomain n=0"
    assert srv.queries[0][:2] == ("a b\\c.example.com", "TXT")


def test_more_queries_than_unbound_takes_at_once_all_answered(srv):
    """Over DNS_INFLIGHT_MAX (256) queries at once: the rest wait in our
    queue and go as answers come in; every one is answered, in order,
    and a silent name among them times out without holding up the
    others."""
    n = 700
    srv.set_zone(dict(ZONE, **{"q%d.many.test" % i: [{"A": "192.0.2.%d" % (i % 250 + 1)}]
                               for i in range(n)}))
    args = []
    for i in range(n):
        args += ["A", "q%d.many.test" % i]
        if i == 300:
            args += ["A", "slow.example.com"]
    lines, st = dnsq(srv, *args, timeout=2)
    want = []
    for i in range(n):
        want.append("q%d.many.test A ok n=1 192.0.2.%d" % (i, i % 250 + 1))
        if i == 300:
            # ours ("timeout") or unbound's own giving up ("servfail"),
            # whichever comes first: a temporary failure either way
            want.append('slow.example.com A tempfail n=0 why=')
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(lines, want))
           if g != w and not (w.endswith("why=") and g.startswith(w))]
    assert len(lines) == len(want) and not bad, "first differences: %r" % bad[:3]
    assert st["answers"] == str(n + 1) and st["tempfails"] == "1", st
