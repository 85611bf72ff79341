# SPDX-License-Identifier: ISC
"""verifier/spfcheck.c (the SPF record analysis of --check-domain) through
the spfcheck_cli tool ($RT_BUILD/tests/spfcheck_cli) against the test DNS
server on loopback.

One zone holds every scenario, each under its own name.  Counts are
exact: a limit reached one lookup early or late is a bug.  The last test
evaluates some scenarios through the daemon's SPF pool (spfq) and asks
that both agree on permerror."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
from dnslib import QTYPE, RR, TXT, DNSRecord  # noqa: E402

from dnsserver import TestDNS, _strings  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BUILD = os.environ.get("RT_BUILD", os.path.join(ROOT, "build"))
CLI = os.path.join(RT_BUILD, "tests", "spfcheck_cli")

pytestmark = pytest.mark.skipif(not os.access(CLI, os.X_OK),
                                reason="spfcheck_cli not built (%s)" % CLI)

INFO, WARN, FAIL = 0, 1, 2
V4, V6 = "192.0.2.10", "2001:db8::10"
# 700 bytes of record in three character-strings.
BIG = "v=spf1 " + " ".join("ip4:10.0.0.%d" % i for i in range(40))
BIG = BIG + " " + "x" * (700 - len(BIG) - len(" =y -all")) + "=y -all"
BIG_TXT = [BIG[0:250], BIG[250:500], BIG[500:]]
OTHER_TXT = "google-site-verification=0123456789abcdef"


def host(v4=V4, v6=V6):
    return [{"A": v4}, {"AAAA": v6}]


def chain(zone, top, n):
    """top includes c1.top, which includes c2.top ... n includes in all."""
    name = top
    for i in range(1, n + 1):
        nxt = "c%d.%s" % (i, top)
        zone[name] = [{"TXT": "v=spf1 include:%s -all" % nxt}]
        name = nxt
    zone[name] = [{"TXT": "v=spf1 ip4:198.51.100.0/24 -all"}]


def zone():
    z = {
        "good.test": [{"TXT": "v=spf1 ip4:192.0.2.0/24 include:_spf.good.test "
                              "a mx -all"}, {"TXT": OTHER_TXT},
                      {"MX": [10, "mx.good.test"]}] + host(),
        "_spf.good.test": [{"TXT": "v=spf1 ip6:2001:db8::/32 -all"}],
        "mx.good.test": host(),
        "none.test": host(),
        "loopa.test": [{"TXT": "v=spf1 include:loopb.test -all"}],
        "loopb.test": [{"TXT": "v=spf1 include:loopa.test -all"}],
        "two.test": [{"TXT": "v=spf1 ip4:192.0.2.1 -all"},
                     {"TXT": "v=spf1 ip4:192.0.2.2 -all"}],
        "big.test": [{"TXT": BIG_TXT}, {"TXT": OTHER_TXT}],
        "plusall.test": [{"TXT": "v=spf1 ip4:192.0.2.1 +all"}],
        "bareall.test": [{"TXT": "v=spf1 ip4:192.0.2.1 all"}],
        "qall.test": [{"TXT": "v=spf1 ip4:192.0.2.1 ?all"}],
        "noall.test": [{"TXT": "v=spf1 ip4:192.0.2.1"}],
        "redir.test": [{"TXT": "v=spf1 redirect=r1.redir.test"}],
        "r1.redir.test": [{"TXT": "v=spf1 ip4:192.0.2.1 redirect=r2.redir.test"}],
        "r2.redir.test": [{"TXT": "v=spf1 include:_i.redir.test ~all"}],
        "_i.redir.test": [{"TXT": "v=spf1 ip4:192.0.2.2 -all"}],
        "ignored.test": [{"TXT": "v=spf1 redirect=nowhere.test -all"}],
        "rloop.test": [{"TXT": "v=spf1 redirect=rloop2.test"}],
        "rloop2.test": [{"TXT": "v=spf1 redirect=rloop.test"}],
        "mx10.test": [{"TXT": "v=spf1 mx -all"}],
        "mx11.test": [{"TXT": "v=spf1 mx -all"}],
        "ptr.test": [{"TXT": "v=spf1 ptr -all"}],
        "macro.test": [{"TXT": "v=spf1 exists:%{i}._spf.macro.test "
                               "include:%{d}.x.macro.test a:%{l}.macro.test -all"}],
        "sf.test": [{"TXT": "v=spf1 include:broken.sf.test -all"}],
        "broken.sf.test": ["SERVFAIL"],
        "sftop.test": ["SERVFAIL"],
        "permfirst.test": [{"TXT": "v=spf1 include:nothing.test "
                                   "include:broken.sf.test -all"}],
        "nothing.test": host(),
        "plusinc.test": [{"TXT": "v=spf1 include:_p.plusinc.test -all"}],
        "_p.plusinc.test": [{"TXT": "v=spf1 +all"}],
        "syntax.test": [{"TXT": "v=spf1 ip4:192.0.2.1 ip4:300.1.1.1 -all"}],
        "v6only.test": [{"TXT": "v=spf1 a:h1.v6only.test a:h2.v6only.test "
                                "a:h3.v6only.test -all"}],
    }
    z["mxmany.test"] = [{"TXT": "v=spf1 " + "mx:mx10.test " * 4 + "a:x.mxmany.test -all"}]
    z["ptr40.test"] = [{"TXT": "v=spf1 " + "ptr " * 40 + "-all"}]
    z["voidmany.test"] = [{"TXT": "v=spf1 " + " ".join(
        "a:n%d.voidmany.test" % i for i in range(6)) + " -all"}]
    for i in range(1, 4):
        z["h%d.v6only.test" % i] = [{"AAAA": "2001:db8::%d" % i}]
    chain(z, "chain10.test", 10)
    chain(z, "chain11.test", 11)
    for n in (2, 3):
        z["void%d.test" % n] = [{"TXT": "v=spf1 " + " ".join(
            "a:n%d.void%d.test" % (i, n) for i in range(n)) + " ip4:192.0.2.1 -all"}]
    for n in (10, 11):
        for i in range(n):
            z["mx%d.test" % n].append({"MX": [i, "m%d.mx%d.test" % (i, n)]})
            z["m%d.mx%d.test" % (i, n)] = host()
    return z


@pytest.fixture(scope="module")
def server():
    s = TestDNS(host="127.0.0.1", port=0, zone=zone())
    try:
        yield s
    finally:
        s.stop()


def check(server, domain, want_rc=0):
    server.clear_queries()
    p = subprocess.run([CLI, "--dns-forward", "127.0.0.1@%d" % server.port,
                        "--timeout", "2", domain],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == (0 if want_rc == 0 else 1), (p.returncode, p.stderr)
    out = json.loads(p.stdout.decode())
    assert out["rc"] == want_rc, out
    return out


def severe(out, sev):
    return [f for f in out["findings"] if f["severity"] == sev]


def has(out, sev, text):
    return any(text in f["text"] for f in severe(out, sev)), out["findings"]


def test_good(server):
    out = check(server, "good.test")
    assert out["nrecords"] == 1          # the other TXT is not a record
    assert out["record"].startswith("v=spf1 ip4:192.0.2.0/24")
    assert (out["lookups"], out["void_lookups"], out["permerror"]) == (3, 0, 0)
    assert out["all"] == "-"
    assert severe(out, WARN) == [] and severe(out, FAIL) == [], out["findings"]
    # TXT good, TXT _spf.good, A+AAAA good, MX good, A+AAAA mx.good
    assert out["queries"] == 7 == len(server.queries)


def test_no_record(server):
    out = check(server, "none.test")
    assert (out["nrecords"], out["permerror"], out["lookups"]) == (0, 0, 0)
    assert out["record"] == "" and out["all"] is None
    assert severe(out, WARN) == [] and severe(out, FAIL) == []


def test_nxdomain_is_no_record(server):
    out = check(server, "absent.test")
    assert (out["nrecords"], out["permerror"]) == (0, 0)


def test_include_loop(server):
    out = check(server, "loopa.test")
    assert out["permerror"] == 1
    assert "loop" in out["permerror_why"] and "loopa.test" in out["permerror_why"]
    assert out["lookups"] == 2
    assert out["findings"][0]["severity"] == FAIL
    assert "include:loopa.test" in out["findings"][0]["fix"]


def test_redirect_loop(server):
    out = check(server, "rloop.test")
    assert out["permerror"] == 1 and "redirect loop" in out["permerror_why"]
    assert out["lookups"] == 2


@pytest.mark.parametrize("domain,n,perm", [("chain10.test", 10, 0),
                                           ("chain11.test", 11, 1)])
def test_lookup_limit_nested(server, domain, n, perm):
    out = check(server, domain)
    assert (out["lookups"], out["permerror"]) == (n, perm)
    if perm:
        f = out["findings"][0]
        assert f["severity"] == FAIL
        assert "needs 11 DNS lookups, 10 are allowed" in f["text"]
        assert out["permerror_why"] == f["text"]
        assert "replace include:c1.chain11.test (11 lookups)" in f["fix"]
    else:
        assert severe(out, FAIL) == [] and severe(out, WARN) == []
        assert out["queries"] == 11      # the domain's TXT and 10 includes


@pytest.mark.parametrize("domain,n,perm", [("void2.test", 2, 0),
                                           ("void3.test", 3, 1)])
def test_void_limit(server, domain, n, perm):
    out = check(server, domain)
    assert (out["void_lookups"], out["lookups"], out["permerror"]) == (n, n, perm)
    assert len([f for f in severe(out, WARN) if "void lookup" in f["text"]]) == n
    if perm:
        f = out["findings"][0]
        assert "3 void lookups, 2 are allowed" in f["text"], f
        assert "a:n0.void3.test, a:n1.void3.test, a:n2.void3.test" in f["fix"]


def test_void_findings_bounded(server):
    """Six void lookups: three named, the permerror says there are more."""
    out = check(server, "voidmany.test")
    assert (out["void_lookups"], out["lookups"], out["permerror"]) == (6, 6, 1)
    assert "6 void lookups" in out["permerror_why"]
    assert out["findings"][0]["fix"].endswith("a:n2.voidmany.test, ...")
    assert len([f for f in severe(out, WARN) if "void lookup" in f["text"]]) == 3


def test_void_one_family(server):
    """a: names with AAAA only: three voids for IPv4 clients."""
    out = check(server, "v6only.test")
    assert (out["void_lookups"], out["permerror"]) == (3, 1)
    assert "for IPv4 clients" in out["permerror_why"]


def test_two_records(server):
    out = check(server, "two.test")
    assert (out["nrecords"], out["permerror"]) == (2, 1)
    assert "2 SPF records" in out["permerror_why"]
    assert "remove one of the two SPF records of two.test" in out["findings"][0]["fix"]


def dnslib_size(name, txts):
    """The wire size of dnslib's answer to name TXT with these records."""
    q = DNSRecord.question(name, "TXT")
    r = q.reply()
    for t in txts:
        r.add_answer(RR(name, QTYPE.TXT, rdata=TXT(_strings(t)), ttl=300))
    return len(r.pack())


def test_udp_size(server):
    assert len(BIG) == 700
    out = check(server, "big.test")
    assert out["permerror"] == 0 and out["nrecords"] == 1
    want = dnslib_size("big.test", [BIG_TXT, OTHER_TXT])
    assert out["udp_size"] == want > 512
    # The server truncated the UDP answer: the resolver asked over TCP.
    assert ("big.test", "TXT", "tcp") in server.queries
    assert has(out, WARN, "is %d bytes, over 512" % want)


def test_udp_size_small(server):
    out = check(server, "good.test")
    assert out["udp_size"] == dnslib_size(
        "good.test", ["v=spf1 ip4:192.0.2.0/24 include:_spf.good.test a mx -all",
                      OTHER_TXT])


@pytest.mark.parametrize("domain,q,sev,text", [
    ("plusall.test", "+", FAIL, "+all"),
    ("bareall.test", "+", FAIL, "+all"),
    ("qall.test", "?", WARN, "?all"),
    ("noall.test", None, WARN, "no all"),
])
def test_all(server, domain, q, sev, text):
    out = check(server, domain)
    assert out["all"] == q and out["permerror"] == 0
    assert has(out, sev, text)


def test_include_plus_all(server):
    out = check(server, "plusinc.test")
    assert out["all"] == "-"
    assert has(out, FAIL, "_p.plusinc.test ends in +all")


def test_redirect_chain(server):
    out = check(server, "redir.test")
    # redirect=r1, redirect=r2, include:_i
    assert (out["lookups"], out["permerror"], out["all"]) == (3, 0, "~")
    assert severe(out, WARN) == [] and severe(out, FAIL) == []


def test_redirect_ignored_with_all(server):
    out = check(server, "ignored.test")
    assert (out["lookups"], out["permerror"], out["all"]) == (0, 0, "-")
    assert has(out, INFO, "is ignored")
    assert out["queries"] == 1


def test_mx_ten_names(server):
    out = check(server, "mx10.test")
    assert (out["lookups"], out["permerror"], out["void_lookups"]) == (1, 0, 0)
    assert out["queries"] == 2 + 20          # TXT, MX, A+AAAA of ten names


def test_mx_eleven_names(server):
    out = check(server, "mx11.test")
    assert (out["lookups"], out["permerror"]) == (1, 1)
    assert "11 MX names" in out["permerror_why"]
    assert out["queries"] == 2               # no address looked up


def test_query_budget(server):
    """Three mx terms of ten names take 63 queries after the TXT one (the
    resolver's cache answers the repeats: the budget counts what we ask);
    the fourth mx is counted but not asked, and so is the a term after it."""
    out = check(server, "mxmany.test")
    assert out["queries"] == 64
    assert len(server.queries) == 22
    assert (out["lookups"], out["permerror"], out["all"]) == (5, 0, "-")
    assert has(out, WARN, "stopped after 64 DNS queries")


def test_findings_bounded(server):
    out = check(server, "ptr40.test")
    assert (out["lookups"], out["permerror"], out["queries"]) == (40, 1, 1)
    assert len(out["findings"]) == 32
    assert "needs 40 DNS lookups" in out["findings"][0]["text"]
    assert "remove ptr" in out["findings"][0]["fix"]


def test_ptr(server):
    out = check(server, "ptr.test")
    assert (out["lookups"], out["permerror"]) == (1, 0)
    assert has(out, WARN, "do not use ptr")
    assert out["queries"] == 1


def test_macros(server):
    out = check(server, "macro.test")
    assert (out["lookups"], out["permerror"], out["void_lookups"]) == (3, 0, 0)
    assert len([f for f in severe(out, INFO) if "contains macros" in f["text"]]) == 3
    assert out["queries"] == 1 == len(server.queries)


def test_servfail_is_temperror(server):
    out = check(server, "sf.test", want_rc=-1)
    assert out["permerror"] == 0
    assert "broken.sf.test" in out["permerror_why"]
    assert "DNS error" in out["permerror_why"]


def test_servfail_at_the_domain(server):
    out = check(server, "sftop.test", want_rc=-1)
    assert (out["nrecords"], out["permerror"]) == (0, 0)
    assert "TXT record of sftop.test" in out["permerror_why"]


def test_permerror_before_servfail(server):
    """include: of a name without record is permerror (RFC 7208 5.2); the
    evaluation ends there, so the later DNS error is not a temperror."""
    out = check(server, "permfirst.test")
    assert out["permerror"] == 1
    assert "no SPF record at nothing.test" in out["permerror_why"]
    assert has(out, WARN, "DNS error")


def test_syntax(server):
    out = check(server, "syntax.test")
    assert out["permerror"] == 1
    assert "bad ip4 address" in out["permerror_why"]
    assert "ip4:300.1.1.1" in out["findings"][0]["fix"]


def test_bad_domain(server):
    out = check(server, "bad..name")
    assert (out["nrecords"], out["permerror"], out["queries"]) == (0, 0, 0)


DAEMON_CONFIG = {
    "header": "received-spf",
    "spf": {"helo": False, "mailfrom": True, "on_fail": "accept",
            "on_softfail": "accept", "on_neutral": "accept", "on_none": "accept",
            "on_permerror": "accept", "on_temperror": "accept"},
    "ptr": {"enabled": False},
    "skip": {"networks": [], "sasl_authenticated": False},
}
AGREE = ["good.test", "loopa.test", "rloop.test", "chain10.test", "chain11.test",
         "void2.test", "void3.test", "two.test", "mx10.test", "mx11.test",
         "redir.test", "plusinc.test", "syntax.test", "permfirst.test",
         "v6only.test"]


@pytest.mark.skipif(not os.access(os.path.join(ROOT, "bin", "relaytrust-policyd"),
                                  os.X_OK), reason="relaytrust-policyd not built")
def test_agrees_with_the_daemon(server, policyd):
    """For a client that matches nothing, the daemon's evaluation ends in
    permerror exactly when the check says it will (v6only.test: its voids
    are IPv4 ones, so an IPv6 client gets fail)."""
    daemon = policyd(DAEMON_CONFIG, dns=server)
    wrong = []
    for domain in AGREE:
        out = check(server, domain)
        for ip in ("203.0.113.9", "2001:db8:ffff::9"):
            action = daemon.request(client_address=ip, helo_name="helo.test",
                                    sender="postmaster@" + domain)
            m = re.search(r"Received-SPF: (\w+)", action)
            got = m.group(1).lower() if m else action
            want_perm = out["permerror"] and not (domain == "v6only.test" and ":" in ip)
            if (got == "permerror") != bool(want_perm):
                wrong.append((domain, ip, got, out["permerror_why"]))
    assert wrong == []
