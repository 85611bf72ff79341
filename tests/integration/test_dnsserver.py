# SPDX-License-Identifier: ISC
"""Tests of the test DNS server itself (tests/integration/dnsserver.py),
with dnslib's own client over UDP and TCP."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
from dnslib import QTYPE, RCODE, DNSRecord  # noqa: E402

from dnsserver import TestDNS  # noqa: E402

ZONE = {
    "example.com": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"},
                    {"MX": [10, "mx.example.com"]}],
    "Multi.Example.com.": [{"TXT": ["v=spf1 ", "ip4:192.0.2.0/24", " -all"]}],
    "empty.example.com": [{"TXT": ""}],
    "v6.example.com": [{"AAAA": "2001:db8::1"}],
    "spf.example.com": [{"SPF": "v=spf1 +all"}],
    "nul.example.com": [{"TXT": "a\0b\xe9"}],
    "alias.example.com": [{"CNAME": "example.com"}],
    "chain.example.com": [{"CNAME": "alias.example.com"}],
    "loop1.example.com": [{"CNAME": "loop2.example.com"}],
    "loop2.example.com": [{"CNAME": "loop1.example.com"}],
    "dangling.example.com": [{"CNAME": "nowhere.example.com"}],
    "slow.example.com": ["TIMEOUT"],
    "broken.example.com": ["SERVFAIL"],
    "big.example.com": [{"TXT": ["x" * 250, "y" * 250, "z" * 250]}],
    "5.0.0.127.in-addr.arpa": [{"PTR": "host.example.com"}],
    "a.b.deep.example.com": [{"A": "192.0.2.9"}],
}


@pytest.fixture
def srv():
    s = TestDNS(host="127.0.0.1", port=0)
    s.set_zone(ZONE)
    yield s
    s.stop()


def ask(srv, name, qtype, tcp=False, timeout=3):
    q = DNSRecord.question(name, qtype)
    return DNSRecord.parse(q.send("127.0.0.1", srv.port, tcp=tcp, timeout=timeout))


@pytest.mark.parametrize("tcp", [False, True])
def test_answers(srv, tcp):
    r = ask(srv, "EXAMPLE.com", "TXT", tcp)
    assert r.header.rcode == RCODE.NOERROR and r.header.aa == 1
    assert [rr.rdata.data for rr in r.rr] == [[b"v=spf1 -all"]]
    r = ask(srv, "multi.example.com", "TXT", tcp)
    assert r.rr[0].rdata.data == [b"v=spf1 ", b"ip4:192.0.2.0/24", b" -all"]
    r = ask(srv, "example.com", "MX", tcp)
    assert r.rr[0].rdata.preference == 10
    assert str(r.rr[0].rdata.label) == "mx.example.com."
    r = ask(srv, "v6.example.com", "AAAA", tcp)
    assert str(r.rr[0].rdata) == "2001:db8::1"
    r = ask(srv, "spf.example.com", "SPF", tcp)
    assert r.rr[0].rtype == 99 and r.rr[0].rdata.data == b"\x0bv=spf1 +all"  # raw rdata
    r = ask(srv, "5.0.0.127.in-addr.arpa", "PTR", tcp)
    assert str(r.rr[0].rdata) == "host.example.com."
    r = ask(srv, "empty.example.com", "TXT", tcp)
    assert r.rr[0].rdata.data == [b""]
    r = ask(srv, "nul.example.com", "TXT", tcp)
    assert r.rr[0].rdata.data == ["a\0b\xe9".encode()]


def test_nxdomain_vs_nodata(srv):
    r = ask(srv, "example.com", "AAAA")
    assert r.header.rcode == RCODE.NOERROR and not r.rr
    r = ask(srv, "nope.example.com", "TXT")
    assert r.header.rcode == RCODE.NXDOMAIN and not r.rr
    # an empty non-terminal exists (RFC 8020): NODATA, not NXDOMAIN
    r = ask(srv, "b.deep.example.com", "A")
    assert r.header.rcode == RCODE.NOERROR and not r.rr


def test_servfail(srv):
    r = ask(srv, "broken.example.com", "A")
    assert r.header.rcode == RCODE.SERVFAIL


@pytest.mark.parametrize("tcp", [False, True])
def test_timeout_drops(srv, tcp):
    with pytest.raises(socket.timeout):
        ask(srv, "SLOW.example.com", "TXT", tcp, timeout=0.5)
    assert ("slow.example.com", "TXT", "tcp" if tcp else "udp") in srv.queries
    # the server still answers afterwards
    assert ask(srv, "example.com", "A", tcp).header.rcode == RCODE.NOERROR


def test_truncation(srv):
    q = DNSRecord.question("big.example.com", "TXT")
    r = DNSRecord.parse(q.send("127.0.0.1", srv.port, timeout=3))
    assert r.header.tc == 1 and not r.rr
    assert str(r.q.qname) == "big.example.com."
    r = ask(srv, "big.example.com", "TXT", tcp=True)
    assert r.header.tc == 0
    assert b"".join(r.rr[0].rdata.data) == b"x" * 250 + b"y" * 250 + b"z" * 250


def test_cname(srv):
    r = ask(srv, "chain.example.com", "A")
    assert r.header.rcode == RCODE.NOERROR
    assert [QTYPE[rr.rtype] for rr in r.rr] == ["CNAME", "CNAME", "A"]
    assert str(r.rr[-1].rdata) == "192.0.2.1"
    assert str(r.rr[-1].rname) == "example.com."
    r = ask(srv, "alias.example.com", "CNAME")
    assert [QTYPE[rr.rtype] for rr in r.rr] == ["CNAME"]
    r = ask(srv, "loop1.example.com", "A")
    assert [QTYPE[rr.rtype] for rr in r.rr] == ["CNAME", "CNAME"]
    r = ask(srv, "dangling.example.com", "TXT")
    assert r.header.rcode == RCODE.NXDOMAIN and len(r.rr) == 1


def test_queries_and_zone_changes(srv):
    srv.clear_queries()
    ask(srv, "Example.COM.", "TXT")
    ask(srv, "x.example.com", "A", tcp=True)
    assert srv.queries == [("example.com", "TXT", "udp"), ("x.example.com", "A", "tcp")]
    srv.add("x.example.com.", {"A": "192.0.2.7"})
    assert str(ask(srv, "x.example.com", "A").rr[0].rdata) == "192.0.2.7"
    srv.set_zone({"only.test": [{"A": "192.0.2.8"}]})
    assert ask(srv, "example.com", "TXT").header.rcode == RCODE.NXDOMAIN
    assert ask(srv, "only.test", "A").rr


def test_weird_queries_do_not_kill_it(srv):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    for junk in (b"", b"\x00", b"\xff" * 40, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00"
                 b"\x00\x00\x3f" + b"a" * 63 + b"\x00\x00\x10\x00\x01"):
        s.sendto(junk, ("127.0.0.1", srv.port))
        try:
            s.recv(4096)
        except socket.timeout:
            pass
    s.close()
    r = ask(srv, "example.com", "A")
    assert r.header.rcode == RCODE.NOERROR


def test_delay(srv):
    srv.delay = 0.2
    r = ask(srv, "example.com", "A")
    assert r.rr
