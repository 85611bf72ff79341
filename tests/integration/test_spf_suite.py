# SPDX-License-Identifier: ISC
"""The RFC 7208 and RFC 4408 SPF test suites through the real daemon.

Every case of ../shared/testdata/spf/rfc7208-tests.yml and rfc4408-tests.yml
is one pytest test (id "rfc7208::<scenario>::<test>").  Each scenario's
zonedata is served by tests/integration/dnsserver.py on loopback; the
daemon (bin/relaytrust-policyd -f -c CONFIG, SPF MAIL FROM only, every
action "accept", header "received-spf") is started once per scenario (names
collide across scenarios and its cache must start empty) and once per case
in scenarios with TIMEOUT entries (unbound remembers an unresponsive
server).  The result is read from the PREPEND Received-SPF header and must
be one the suite allows.  The last test prints "rfc7208: N/203, rfc4408:
N/191".

Zone data is converted the way the suite's own driver (pyspf testspf.py)
reads it: SPF entries are also served as TXT unless the name has TXT entries
of its own; {"TXT": "NONE"} means "no TXT"; a TIMEOUT after TXT records
times out only other types, which we never ask for, so it is dropped.

Set RT_SPF_VIA=spfq to run the cases through build/tests/spfq instead (no
daemon; a quicker check of the SPF layer alone)."""
import os
import re
import subprocess

import pytest
import yaml

from conftest import ROOT, RT_BUILD, Policyd, free_port, make_config

SUITES = ("rfc7208", "rfc4408")
DATA = os.path.join(ROOT, "..", "shared", "testdata", "spf")
VIA = os.environ.get("RT_SPF_VIA", "daemon")
HEADER_RE = re.compile(r"Received-SPF: (\w+)")

CONFIG = {
    "header": "received-spf",
    "spf": {"helo": False, "mailfrom": True, "on_fail": "accept",
            "on_softfail": "accept", "on_neutral": "accept", "on_none": "accept",
            "on_permerror": "accept", "on_temperror": "accept",
            "helo_on_fail": "accept"},
    "ptr": {"enabled": False},
    "skip": {"networks": [], "sasl_authenticated": False},
}


def convert_zone(zonedata):
    """Suite zonedata -> dnsserver zone (see the module comment)."""
    out = {}
    for name, items in (zonedata or {}).items():
        items = items if isinstance(items, list) else [items]
        has_txt = any(isinstance(i, dict) and "TXT" in i for i in items)
        res, spf, txt_seen = [], [], False
        for item in items:
            if isinstance(item, str):
                if item.upper() == "TIMEOUT" and txt_seen:
                    continue
                res.append(item)
                continue
            (rtype, value), = item.items()
            if rtype == "TXT":
                if value == "NONE":
                    continue
                txt_seen = True
            if rtype in ("TXT", "SPF") and value == []:
                value = ""
            if rtype == "SPF":
                spf.append(value)
            res.append({rtype: value})
        if not has_txt:
            res += [{"TXT": v} for v in spf]
        out[name] = res
    return out


def has_timeout(zonedata):
    return any(item == "TIMEOUT" or (isinstance(item, str) and item.upper() == "TIMEOUT")
               for items in (zonedata or {}).values()
               for item in (items if isinstance(items, list) else [items]))


def load_cases():
    cases = []
    for suite in SUITES:
        with open(os.path.join(DATA, suite + "-tests.yml"), encoding="utf-8") as f:
            for sc in yaml.safe_load_all(f):
                for name, t in sc["tests"].items():
                    cases.append(pytest.param(suite, sc, name, t,
                                              id="%s::%s::%s" % (suite, sc["description"], name)))
    return cases


CASES = load_cases()
SCORES = {s: [0, 0] for s in SUITES}


class Env:
    """The DNS server and daemon of the current scenario."""

    def __init__(self):
        self.key = None
        self.dns = None
        self.daemon = None
        self.tmpdir = None
        self.seq = 0

    def daemon_for(self, sc, tmp_path_factory, fresh):
        from dnsserver import TestDNS
        key = id(sc)
        if key != self.key:
            self.close()
            self.key = key
            self.dns = TestDNS(host="127.0.0.1", port=0)
            self.dns.set_zone(convert_zone(sc.get("zonedata")))
            self.tmpdir = tmp_path_factory.mktemp("spfsuite")
        if VIA != "daemon":
            return None
        if fresh and self.daemon is not None:
            self.daemon.stop()
            self.daemon = None
        if self.daemon is None:
            port = free_port()
            text = make_config(CONFIG, port, self.dns.port)
            self.seq += 1
            self.daemon = Policyd(self.tmpdir, "policyd%d" % self.seq, text, port)
            self.daemon.dns_port = self.dns.port
            self.daemon.wait_ready()
        return self.daemon

    def close(self):
        if self.daemon is not None:
            d, self.daemon = self.daemon, None
            d.stop()
        if self.dns is not None:
            self.dns.stop()
            self.dns = None
        self.key = None


@pytest.fixture(scope="module")
def env():
    e = Env()
    yield e
    e.close()


def evaluate(env, sc, t, tmp_path_factory):
    daemon = env.daemon_for(sc, tmp_path_factory, has_timeout(sc.get("zonedata")))
    helo = t.get("helo") or ""
    sender = t.get("mailfrom") or ""
    if daemon is None:
        p = subprocess.run([os.path.join(RT_BUILD, "tests", "spfq"), "-s",
                            "127.0.0.1@%d" % env.dns.port, t["host"], helo, sender],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        m = re.match(r"result=(\w+)", p.stdout)
        return (m.group(1) if m else None), p.stdout + p.stderr
    action = daemon.request(client_address=t["host"], helo_name=helo, sender=sender,
                            client_name="unknown", reverse_client_name="unknown")
    m = HEADER_RE.search(action)
    return (m.group(1).lower() if m else None), action


@pytest.mark.parametrize("suite,sc,name,t", CASES)
def test_spf_suite(env, tmp_path_factory, suite, sc, name, t):
    want = t["result"] if isinstance(t["result"], list) else [t["result"]]
    got, detail = evaluate(env, sc, t, tmp_path_factory)
    SCORES[suite][1] += 1
    if got in want:
        SCORES[suite][0] += 1
    assert got in want, "%s %s: got %s, want %s (%s)" % (suite, name, got, want, detail)


def test_spf_suite_summary(env, capsys):
    env.close()
    line = ", ".join("%s: %d/%d" % (s, SCORES[s][0], SCORES[s][1]) for s in SUITES)
    with capsys.disabled():
        print("\nSPF test suites: " + line)
    assert all(SCORES[s][1] > 0 for s in SUITES)
