# SPDX-License-Identifier: ISC
"""relaytrust-verify with DNS (issue 4, item 4): the first untrusted hop's
address gets iprev and SPF evaluated now, through the daemon's shared DNS
(dns.c) and SPF (spfpool.c) code, against the loopback test DNS server.
The JSON says chain.iprev, chain.spf and chain.evaluated == "now"."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from dnsserver import TestDNS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")

ZONE = {
    # 81.2.69.142: PTR and A agree (iprev pass).
    "142.69.2.81.in-addr.arpa": [{"PTR": "mx.pass.example"}],
    "mx.pass.example": [{"A": "81.2.69.142"}],
    # 81.2.69.143: the PTR name leads elsewhere (iprev fail).
    "143.69.2.81.in-addr.arpa": [{"PTR": "mx.other.example"}],
    "mx.other.example": [{"A": "81.2.69.200"}],
    # 81.2.69.144: no PTR at all (iprev permerror).
    "pass.example": [{"TXT": "v=spf1 ip4:81.2.69.142 -all"}],
    "fail.example": [{"TXT": "v=spf1 ip4:198.51.100.0/24 -all"}],
    "soft.example": [{"TXT": "v=spf1 ~all"}],
    "nospf.example": [{"A": "81.2.69.1"}],
}

# (name, origin ip, envelope sender, want iprev, want spf, finding code or None)
CASES = [
    ("pass-pass", "81.2.69.142", "a@pass.example", "pass", "pass", None),
    ("spf-fail", "81.2.69.142", "a@fail.example", "pass", "fail", "spf-fail"),
    ("spf-softfail", "81.2.69.142", "a@soft.example", "pass", "softfail",
     "spf-softfail"),
    ("iprev-fail", "81.2.69.143", "a@pass.example", "fail", "fail", "iprev-fail"),
    ("no-ptr-no-spf", "81.2.69.144", "a@nospf.example", "permerror", "none",
     "iprev-fail"),
]


def message(ip, sender, i):
    return ("Return-Path: <%s>\n"
            "Received: from mx.example.net (mx.example.net [10.0.0.2])\n"
            "\tby inbox.example.org (Postfix) with ESMTP id A%d\n"
            "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\n"
            "Received: from mx.sender.example (mx.sender.example [%s])\n"
            "\tby mx.example.net (Postfix) with ESMTP id B%d\n"
            "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:05 +0000 (UTC)\n"
            "From: <%s>\nTo: u@example.org\nSubject: live %d\n"
            "Date: Mon, 01 Apr 2024 10:00:00 +0000\n"
            "Message-ID: <%d@example.com>\n\nbody\n" % (sender, i, ip, i, sender, i, i))


@pytest.fixture(scope="module")
def dns():
    d = TestDNS(host="127.0.0.1", port=0)
    d.set_zone(ZONE)
    yield d
    d.stop()


def verify(dns, data, *extra):
    p = subprocess.run([VERIFY, "--json", "--no-progress", "--jobs", "1",
                        "--dns-forward", "127.0.0.1@%d" % dns.port,
                        "--trusted", "10.0.0.0/8"] + list(extra) + ["-"],
                       input=data.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert b"Sanitizer" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), p.stderr
    return p, [json.loads(line) for line in p.stdout.decode().splitlines()]


@pytest.mark.parametrize("name,ip,sender,iprev,spf,code", CASES,
                         ids=[c[0] for c in CASES])
def test_evaluated_now(dns, name, ip, sender, iprev, spf, code):
    p, out = verify(dns, message(ip, sender, 0))
    assert len(out) == 1, p.stderr
    ch = out[0]["chain"]
    assert ch["boundary_hop"] == 1
    assert ch["origin_ip"] == ip
    assert ch["evaluated"] == "now", ch
    assert "evaluated now" in (ch["note"] or ""), ch
    assert ch["iprev"] == iprev, "row %s: iprev got %s, want %s (%s)" % (
        name, ch["iprev"], iprev, p.stderr.decode())
    assert ch["spf"] == spf, "row %s: spf got %s, want %s (%s)" % (
        name, ch["spf"], spf, p.stderr.decode())
    codes = [f["code"] for f in ch["findings"]]
    if code is None:
        assert not [c for c in codes if c.startswith(("spf-", "iprev-"))], codes
        # No _dmarc record, but the SPF pass (now) of the aligned envelope
        # domain proves the From: domain.
        d = out[0]["dmarc"]
        assert d["result"] == "none" and d["spf_aligned"] == "pass.example", d
        assert d["spf_result"] == "pass" and d["spf_domain"] == "pass.example", d
        assert out[0]["verdict"] == "authenticated", ch["findings"]
        assert p.returncode == 0
    else:
        assert code in codes, codes
        texts = [f["text"] for f in ch["findings"] if f["code"] == code]
        assert "evaluated now" in texts[0], texts
    if spf == "fail":
        assert out[0]["verdict"] == "suspicious"
        assert p.returncode == 1


def test_many_messages_one_mailbox(dns):
    """Every case in one mbox, in one run: results per message (the origin
    cache keys on address, HELO and sender, so none leaks into another)."""
    data = "".join("From x Mon Apr  1 10:00:00 2024\n" + message(ip, s, i) + "\n"
                   for i, (_, ip, s, _, _, _) in enumerate(CASES * 2))
    p, out = verify(dns, data)
    assert len(out) == 2 * len(CASES), p.stderr
    for o, (name, ip, _, iprev, spf, _) in zip(out, CASES * 2):
        ch = o["chain"]
        assert (ch["origin_ip"], ch["iprev"], ch["spf"], ch["evaluated"]) == \
            (ip, iprev, spf, "now"), name


def test_dns_queries_went_to_the_test_server(dns):
    dns.clear_queries()
    verify(dns, message("81.2.69.142", "a@pass.example", 9))
    names = [q[0].lower().rstrip(".") if isinstance(q, (tuple, list)) else str(q)
             for q in dns.queries]
    assert any("142.69.2.81.in-addr.arpa" in n for n in names), dns.queries
    assert any("pass.example" in n for n in names), dns.queries


def test_offline_says_not_evaluated(dns):
    p = subprocess.run([VERIFY, "--json", "--no-progress", "--offline",
                        "--trusted", "10.0.0.0/8", "-"],
                       input=message("81.2.69.142", "a@pass.example", 0).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    ch = json.loads(p.stdout.decode().splitlines()[0])["chain"]
    assert ch["evaluated"] is None and ch["iprev"] is None and ch["spf"] is None
    assert ch["origin_ip"] == "81.2.69.142"
    assert "offline" in (ch["note"] or "")
