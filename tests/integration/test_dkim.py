# SPDX-License-Identifier: ISC
"""DKIM and ARC end to end: a corpus made by our own signer (dkimgen.py),
every expected result from how the message was built. Keys served by
TestDNS on loopback (--dns-forward), from --keys FILE, and --offline
without keys; mbox (LF) and Maildir (CRLF); one and two threads. Every
result and reason in the JSON is checked, and the text output shows them."""
import json
import os
import subprocess

import pytest

import dkimgen
from dnsserver import TestDNS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")
DKIM_KEYS = ["d", "s", "a", "c", "result", "reason", "key_bits", "key_source"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("dkimcorpus")
    keys = dkimgen.Keys()
    cases = dkimgen.corpus(keys)
    dkimgen.write_mbox(str(d / "corpus.mbox"), [c.msg for c in cases])
    dkimgen.write_maildir(str(d / "Maildir"), [c.msg for c in cases])
    (d / "keys.zone").write_text(dkimgen.zone_file(cases))
    return d, cases


def run(args, timeout=300):
    p = subprocess.run([VERIFY, "--json", "--no-progress"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    assert b"Sanitizer" not in p.stderr and p.returncode in (0, 1), p.stderr
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def check(cases, out, mode):
    """mode: "dns", "file" or "offline"."""
    assert len(out) == len(cases)
    errors = []
    for c, o in zip(cases, out):
        assert o["message_id"] is not None
        if len(o["dkim"]) != len(c.sigs):
            errors.append("%s: %d signatures, want %d" % (c.name, len(o["dkim"]), len(c.sigs)))
            continue
        for k, (want, got) in enumerate(zip(c.sigs, o["dkim"])):
            assert list(got.keys())[:len(DKIM_KEYS)] == DKIM_KEYS
            res, why = want["result"], want["reason"]
            body, header, src = want["body_hash"], want["header_sig"], mode
            pre_key = why in ("signature-syntax", "unsupported-algorithm", "from-not-signed",
                              "signature-expired") and c.name != "key-t-s-subdomain"
            if mode == "offline" or (mode == "file" and want["dns_only"]):
                # no key: what is decided before the key stays, and so does a
                # changed body (the body alone proves it); the rest waits for it
                header, src = None, None
                if not pre_key and body != "mismatch":
                    res, why = "temperror", "key-not-found"
                elif not pre_key:
                    res, why = "fail", "body-hash-mismatch"
            if mode == "file" and want["dns_only"]:
                src = None
            if why in ("signature-syntax", "unsupported-algorithm") and not want["body_hash"]:
                src = None
            if want["dns_only"] and mode == "dns" and why == "key-not-found":
                pass
            got_t = (got["result"], got["reason"], got["body_hash"], got["header_sig"])
            want_t = (res, why, body, header)
            if got_t != want_t:
                errors.append("%s sig %d: got %s (%s), want %s" % (c.name, k, got_t,
                                                                  got["detail"], want_t))
            if src and res != "temperror" and want["key_bits"] and got["key_bits"] != want["key_bits"]:
                errors.append("%s sig %d: key_bits %s, want %s" % (c.name, k, got["key_bits"],
                                                                  want["key_bits"]))
            if got["key_source"] != src and not (src == "dns" and got["result"] == "permerror"
                                                  and got["reason"] in ("signature-syntax",
                                                                        "unsupported-algorithm")
                                                  and got["key_source"] is None):
                errors.append("%s sig %d: key_source %s, want %s" % (c.name, k,
                                                                     got["key_source"], src))
            if got["weak"] != want["weak"]:
                errors.append("%s sig %d: weak %s" % (c.name, k, got["weak"]))
            for hk in ("hop_broken", "hop_last"):
                if hk in want and mode == "dns" and got[hk] != want[hk]:
                    errors.append("%s sig %d: %s %s, want %s" % (c.name, k, hk, got[hk], want[hk]))
            if mode == "dns" and got["result"] == "fail" and "hop_broken" not in want and \
                    (got["hop_added"], got["hop_broken"]) != (0, 1):
                errors.append("%s sig %d: hops %s/%s, want 0/1 (signed by the sender, broken "
                              "at the first hop)" % (c.name, k, got["hop_added"], got["hop_broken"]))
            if got["result"] == "fail":
                # signed by the sender (under both Received) and broken after
                if got["hop_broken"] is None or got["hop_added"] is None:
                    errors.append("%s sig %d: fail without hops" % (c.name, k))
        if mode == "dns" or mode == "file":
            codes = {f["code"] for f in o["chain"]["findings"]}
            for f in c.findings:
                if f not in codes:
                    errors.append("%s: finding %s missing (%s)" % (c.name, f, sorted(codes)))
        if c.arc and mode != "offline":
            if o["arc"]["result"] != c.arc:
                errors.append("%s: arc %s (%s), want %s" % (c.name, o["arc"]["result"],
                                                            o["arc"].get("detail"), c.arc))
            if c.arc_oldest is not None and o["arc"]["oldest_pass"] != c.arc_oldest:
                errors.append("%s: oldest_pass %s, want %s" % (c.name, o["arc"]["oldest_pass"],
                                                              c.arc_oldest))
    assert not errors, "\n".join(errors)


def assert_one_lookup_per_name(dns, cases):
    """The key cache holds for the run and lookups in flight are shared:
    one UDP query per name (a TC=1 answer adds its TCP retry; unbound may
    retry a SERVFAIL itself)."""
    servfail = {n for c in cases for n, v in c.records.items() if v == "SERVFAIL"}
    udp = [q[0] for q in dns.queries if "_domainkey" in q[0] and q[2] == "udp"
           and q[0] not in servfail]
    names = set(udp)
    # every name serves many messages and the mailbox is given twice, so
    # without the cache nearly every name would be asked many times; allow
    # two for unbound's own retransmissions on a loaded machine
    dup = sorted({n for n in udp if udp.count(n) > 1})
    assert len(names) >= 10 and len(dup) <= 2, dup


def test_corpus_covers_the_brief(corpus):
    _, cases = corpus
    reasons = {s["reason"] for c in cases for s in c.sigs}
    for r in ("body-hash-mismatch", "signature-mismatch", "key-not-found", "key-revoked",
              "key-syntax", "key-too-small", "key-type-mismatch", "hash-not-allowed",
              "signature-expired", "signature-syntax", "unsupported-algorithm",
              "from-not-signed", "dns-error", None):
        assert r in reasons, r
    assert len(cases) > 60


def test_dns(corpus):
    d, cases = corpus
    dns = TestDNS(host="127.0.0.1", port=0)
    try:
        dns.set_zone(dkimgen.zone(cases))
        out = run(["--dns-forward", "127.0.0.1@%d" % dns.port, "--jobs", "1",
                   str(d / "corpus.mbox"), str(d / "corpus.mbox")])
        check(cases + cases, out, "dns")
        assert_one_lookup_per_name(dns, cases)
    finally:
        dns.stop()


def test_dns_two_threads_maildir(corpus):
    d, cases = corpus
    dns = TestDNS(host="127.0.0.1", port=0)
    try:
        dns.set_zone(dkimgen.zone(cases))
        out = run(["--dns-forward", "127.0.0.1@%d" % dns.port, "--jobs", "2",
                   str(d / "Maildir"), str(d / "Maildir")])
        # Maildir order is the file names' order, which is the cases' order
        check(cases + cases, out, "dns")
        assert_one_lookup_per_name(dns, cases)
    finally:
        dns.stop()


def test_keys_file(corpus):
    d, cases = corpus
    out = run(["--offline", "--keys", str(d / "keys.zone"), "--jobs", "2",
               str(d / "corpus.mbox")])
    check(cases, out, "file")


def test_offline_without_keys(corpus):
    d, cases = corpus
    out = run(["--offline", "--jobs", "1", str(d / "corpus.mbox")])
    check(cases, out, "offline")


def test_lookup_in_flight_is_shared(corpus, tmp_path):
    """Many messages signed with one key, verified by two threads while the
    DNS server is slow: the second thread waits for the first one's lookup
    instead of asking again."""
    d, cases = corpus
    same = [c for c in cases if c.name.startswith("pass-rsa2048-")]
    assert len(same) == 4 and len({n for c in same for n in c.records}) == 1
    mbox = tmp_path / "same.mbox"
    dkimgen.write_mbox(str(mbox), [c.msg for c in same] * 8)
    dns = TestDNS(host="127.0.0.1", port=0)
    try:
        dns.set_zone(dkimgen.zone(same))
        dns.delay = 0.2      # below unbound's first retransmission (376 ms)
        out = run(["--dns-forward", "127.0.0.1@%d" % dns.port, "--jobs", "2", str(mbox)])
        assert [o["dkim"][0]["result"] for o in out] == ["pass"] * 32
        name = next(iter(same[0].records))
        asked = [q for q in dns.queries if q[0] == name]
        assert len(asked) == 1, asked
    finally:
        dns.stop()


def test_timeout_is_temperror(corpus, tmp_path):
    d, cases = corpus
    c = next(x for x in cases if x.name == "pass-rsa2048-relaxed-relaxed")
    (tmp_path / "m.eml").write_bytes(c.msg)
    dns = TestDNS(host="127.0.0.1", port=0)
    try:
        dns.set_zone({n: ["TIMEOUT"] for n in c.records})
        out = run(["--dns-forward", "127.0.0.1@%d" % dns.port, str(tmp_path / "m.eml")])
        assert (out[0]["dkim"][0]["result"], out[0]["dkim"][0]["reason"]) == \
            ("temperror", "dns-error")
        assert out[0]["dkim"][0]["body_hash"] == "match"
    finally:
        dns.stop()


def test_text_output(corpus):
    d, cases = corpus
    p = subprocess.run([VERIFY, "--no-progress", "--offline", "--keys", str(d / "keys.zone"),
                        str(d / "corpus.mbox")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    text = p.stdout.decode()
    assert "DKIM:" in text and "pass d=example.com" in text
    assert "fail body-hash-mismatch" in text and "body=mismatch" in text
    assert "permerror key-too-small" in text and "ARC:" in text
    assert "not verified in this version" not in text


def test_rfc_fixtures_cli():
    dd = os.path.join(ROOT, "tests", "data", "dkim")
    out = run(["--offline", "--keys", os.path.join(dd, "rfc8463.keys"),
               os.path.join(dd, "rfc8463.eml")])
    assert [(s["a"], s["result"], s["key_bits"], s["key_source"]) for s in out[0]["dkim"]] == \
        [("ed25519-sha256", "pass", 256, "file"), ("rsa-sha256", "pass", 1024, "file")]
    out = run(["--offline", "--keys", os.path.join(dd, "rfc6376.keys"),
               os.path.join(dd, "rfc6376-printed.eml"), os.path.join(dd, "rfc6376-errata.eml")])
    assert [(o["dkim"][0]["result"], o["dkim"][0]["reason"]) for o in out] == \
        [("fail", "body-hash-mismatch"), ("pass", None)]
