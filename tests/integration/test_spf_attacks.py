# SPDX-License-Identifier: ISC
"""Records that crash or amplify the installed libspf2, through the real daemon.

research/libspf2-security-and-dns.md: a macro compile buffer filled to
within a few bytes of its end followed by a long literal (CVE-2023-42118) in
an exp= TXT and in the SPF record itself, a 10x10x10 include tree (1111
queries with plain libspf2) and six void lookups.  For each: the daemon
answers within its deadline, the test DNS server sees no more queries than
RFC 7208 allows, and the daemon still answers a normal request afterwards.
Also: a worker killed with SIGKILL mid-evaluation gives that request the
temperror action; the next requests work."""
import os
import re
import signal
import threading
import time

import pytest

CONFIG = {
    "header": "received-spf",
    "request_timeout": 5,
    "spf": {"helo": False, "mailfrom": True, "on_fail": "accept",
            "on_softfail": "accept", "on_neutral": "accept", "on_none": "accept",
            "on_permerror": "accept", "on_temperror": "accept"},
    "ptr": {"enabled": False},
    "skip": {"networks": [], "sasl_authenticated": False},
}
HEADER_RE = re.compile(r"Received-SPF: (\w+)")
CLIENT = "192.0.2.1"


def underflow(tail):
    """lit(248) %{d} lit(244) %{d} lit(tail): 508 of 511 bytes used."""
    return "A" * 248 + "%{d}" + "B" * 244 + "%{d}" + "C" * tail


def zone():
    z = {
        "ok.test": [{"TXT": "v=spf1 ip4:%s -all" % CLIENT}],
        # The pool looks the record up itself; host.slow.test, which
        # never answers, is the worker's own lookup, during which the
        # worker is killed.
        "slow.test": [{"TXT": "v=spf1 a:host.slow.test ip4:%s -all" % CLIENT}],
        "host.slow.test": ["TIMEOUT"],
        "victim.test": [{"TXT": "v=spf1 -all exp=e.victim.test"}],
        "e.victim.test": [{"TXT": underflow(3000)}],
        "mod.test": [{"TXT": "v=spf1 x=" + underflow(5000) + " -all"}],
        "mech.test": [{"TXT": "v=spf1 a:" + underflow(3) + ".example -all"}],
        # Over DNS_TXT_MAX (8192) joined bytes, over TCP: cut and marked by
        # dns.c, permerror whatever its first 8192 bytes say.
        "huge.test": [{"TXT": "v=spf1 ip4:%s " % CLIENT + "x" * 9000 + " -all"}],
        "void.test": [{"TXT": "v=spf1 " + " ".join("a:n%d.void.test" % i
                                                  for i in range(6)) + " -all"}],
        "amp.test": [{"TXT": "v=spf1 " + " ".join("include:i%d.amp.test" % i
                                                 for i in range(10)) + " -all"}],
    }
    # Three %{d} in one include: target: the name grows threefold per
    # level (the fuzzer found libspf2 allocating gigabytes for it when
    # nothing stops the growth); the third level is over 253 bytes and
    # is answered NXDOMAIN without a query (R9).
    # A name that looks like the /0 rewrite's marker: the marker has a
    # random part per process, so this is an ordinary name (NXDOMAIN
    # here), not "any address of ok.test" (which would pass the client).
    z["literal.test"] = [{"TXT": "v=spf1 a:ok.test.rt-cidr0.invalid "
                                 "a:ok.test.rt-cidr0-0000000000000000.invalid -all"}]
    z["ok.test"].append({"A": CLIENT})
    grow = "v=spf1 include:g.%{d}.%{d}.%{d} -all"
    name = "grow.test"
    for _ in range(3):
        z[name] = [{"TXT": grow}]
        name = "g." + ".".join([name] * 3)
    for i in range(10):
        z["i%d.amp.test" % i] = [{"TXT": "v=spf1 " + " ".join(
            "include:i%d.i%d.amp.test" % (j, i) for j in range(10)) + " ?all"}]
        for j in range(10):
            z["i%d.i%d.amp.test" % (j, i)] = [{"TXT": "v=spf1 " + " ".join(
                "include:leaf%d.i%d.i%d.amp.test" % (k, j, i) for k in range(10)) + " ?all"}]
            for k in range(10):
                z["leaf%d.i%d.i%d.amp.test" % (k, j, i)] = [{"TXT": "v=spf1 ?all"}]
    return z


def spf_result(action):
    m = HEADER_RE.search(action)
    assert m, "no Received-SPF header in %r" % action
    return m.group(1).lower()


def check(daemon, sender):
    return spf_result(daemon.request(client_address=CLIENT, helo_name="mail.example.net",
                                     sender=sender))


@pytest.fixture
def setup(dns, policyd):
    dns.set_zone(zone())
    return dns, policyd(CONFIG, dns=dns)


# max_queries: at most that many DNS queries; exact: exactly that many (a
# limit reached one lookup early or late is a bug too).
@pytest.mark.parametrize("sender,want,max_queries,exact", [
    ("a@victim.test", "fail", 1, False),          # exp= attack: exp never fetched
    ("a@mod.test", "permerror", 1, False),        # 5.5 KB record: refused (R1)
    ("a@mech.test", "permerror", 1, False),       # over-long term: refused (R3)
    ("a@huge.test", "permerror", 1, False),       # 9 KB TXT: cut, refused
    # TXT + 3 void A lookups: RFC 7208 4.6.4 allows 2 voids, the third
    # is the permerror; giving up after the second is wrong as well.
    ("a@void.test", "permerror", 4, True),
    ("a@amp.test", "permerror", 11, True),        # TXT + 10 includes, then the limit
    ("a@grow.test", "permerror", 3, False),       # 3 levels, the 4th name too long
    ("a@literal.test", "fail", 3, True),          # TXT + two A lookups, no match
])
def test_attack_record(setup, sender, want, max_queries, exact):
    dns, daemon = setup
    dns.clear_queries()
    got = check(daemon, sender)
    assert got == want, "%s: got %s, want %s" % (sender, got, want)
    n = lookups(dns.queries)
    print("%s: %d DNS queries" % (sender, n))
    assert n <= max_queries, "%s: %d DNS queries, at most %d allowed: %r" % (
        sender, n, max_queries, dns.queries)
    if exact:
        assert n == max_queries, "%s: %d DNS queries, want exactly %d: %r" % (
            sender, n, max_queries, dns.queries)
    assert "worker" not in daemon.log() or "died" not in daemon.log()
    assert check(daemon, "a@ok.test") == "pass"


def lookups(queries):
    """Queries on the wire, a TCP retry after a truncated UDP answer not
    counted again."""
    n, udp = 0, set()
    for name, qtype, proto in queries:
        if proto == "tcp" and (name, qtype) in udp:
            udp.discard((name, qtype))
            continue
        udp.add((name, qtype))
        n += 1
    return n


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_worker_killed_mid_evaluation(setup):
    dns, daemon = setup
    assert check(daemon, "a@ok.test") == "pass"
    dns.clear_queries()
    result = {}

    def ask():
        result["got"] = check(daemon, "b@slow.test")

    t = threading.Thread(target=ask)
    t.start()
    deadline = time.time() + 15

    def worker_waits():
        return any(q[0] == "host.slow.test" for q in list(dns.queries))
    while not worker_waits() and time.time() < deadline:
        time.sleep(0.01)
    assert worker_waits(), "the worker never asked for host.slow.test"
    workers = children(daemon.pid)
    assert workers, "no worker processes"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    t.join(15)
    assert result.get("got") == "temperror", result
    daemon.wait_log(r"spf: worker")
    for _ in range(3):
        assert check(daemon, "c@ok.test") == "pass"
