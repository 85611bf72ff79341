# SPDX-License-Identifier: ISC
"""relaytrust-verify --check-domain (issue 22, SPEC 3.4) over the loopback
DNS test server: a good domain, the typical mistakes and hostile input.

Every zone is written here.  MX hosts point at 127.0.0.x addresses; the
STARTTLS side of them has its own tests (test_smtpprobe.py, and with a
real Postfix tests/e2e/test_starttls_postfix.py); here an MX on a port
nothing listens on shows what a refused connection gives, and a server
that accepts and stays silent shows that the check is bounded.

Keys for the DKIM rows are made with openssl at test time (RSA 512, 1024,
2048, Ed25519)."""
import base64
import json
import os
import subprocess
import threading
import time

import pytest

import conftest
from dnsserver import TestDNS

VERIFY = os.path.join(conftest.RT_BIN, "relaytrust-verify")


def pubkey_b64(kind, tmp):
    """A fresh public key as DKIM's p= (base64 of the DER
    SubjectPublicKeyInfo; for Ed25519 the raw 32 bytes, RFC 8463)."""
    key = os.path.join(tmp, "k-%s.pem" % kind)
    if kind == "ed25519":
        gen = ["openssl", "genpkey", "-algorithm", "ed25519", "-out", key]
    else:
        gen = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
               "rsa_keygen_bits:%s" % kind, "-out", key]
    subprocess.run(gen, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, stdout=subprocess.PIPE, timeout=60).stdout
    if kind == "ed25519":
        der = der[-32:]
    return base64.b64encode(der).decode()


def ptr(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("keys"))
    return {k: pubkey_b64(k, tmp) for k in ("512", "1024", "2048", "ed25519")}


@pytest.fixture(scope="module")
def dns(keys):
    d = TestDNS(host="127.0.0.1", port=0)
    z = {
        # good.example: everything right (the MX port is closed: see
        # test_good_domain)
        "good.example": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"},
                         {"MX": [10, "mx1.good.example"]}],
        "mx1.good.example": [{"A": "127.0.0.11"}],
        "sel1._domainkey.good.example": [{"TXT": "v=DKIM1; k=rsa; p=" + keys["2048"]}],
        "ed._domainkey.good.example": [{"TXT": "v=DKIM1; k=ed25519; p=" + keys["ed25519"]}],
        "_dmarc.good.example": [{"TXT": "v=DMARC1; p=reject; rua=mailto:d@good.example"}],
        "_mta-sts.good.example": [{"TXT": "v=STSv1; id=20240501T1"}],
        "_smtp._tls.good.example": [{"TXT": "v=TLSRPTv1; rua=mailto:tls@good.example"}],
        ptr("192.0.2.10"): [{"PTR": "mail.good.example"}],
        "mail.good.example": [{"A": "192.0.2.10"}],
        # iprev mistakes
        ptr("192.0.2.11"): [{"PTR": "192-0-2-11.dyn.isp.example"}],
        "192-0-2-11.dyn.isp.example": [{"A": "192.0.2.11"}],
        ptr("192.0.2.12"): [{"PTR": "nowhere.good.example"}],
        ptr("192.0.2.14"): [{"PTR": "out.provider.example"}],
        "out.provider.example": [{"A": "192.0.2.14"}],
        # typical mistakes
        "two.example": [{"TXT": "v=spf1 -all"}, {"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
        "plus.example": [{"TXT": "v=spf1 +all"}],
        "big.example": [{"TXT": ["v=spf1 " + " ".join(
            "ip4:198.51.100.%d" % i for i in range(1, 41)), " -all"]}],
        "loop.example": [{"TXT": "v=spf1 include:loop2.example -all"}],
        "loop2.example": [{"TXT": "v=spf1 include:loop.example -all"}],
        "eleven.example": [{"TXT": "v=spf1 " + " ".join(
            "a:h%d.eleven.example" % i for i in range(11)) + " -all"}],
        "keys.example": [{"TXT": "v=spf1 -all"}],
        "s512._domainkey.keys.example": [{"TXT": "v=DKIM1; k=rsa; p=" + keys["512"]}],
        "s1024._domainkey.keys.example": [{"TXT": "v=DKIM1; k=rsa; p=" + keys["1024"]}],
        "revoked._domainkey.keys.example": [{"TXT": "v=DKIM1; k=rsa; p="}],
        "testing._domainkey.keys.example": [{"TXT": "v=DKIM1; t=y; k=rsa; p=" + keys["2048"]}],
        "junk._domainkey.keys.example": [{"TXT": "v=DKIM1; k=rsa; p=!!notbase64"}],
        "_dmarc.keys.example": [{"TXT": "v=DMARC1; p=none; pct=50; "
                                        "rua=mailto:r@reports.example,mailto:r@ok.example"}],
        "keys.example._report._dmarc.ok.example": [{"TXT": "v=DMARC1"}],
        "sub.keys.example": [{"TXT": "v=spf1 -all"}],
        "_mta-sts.keys.example": [{"TXT": "v=STSv1; id=not valid!"}],
        "_smtp._tls.keys.example": [{"TXT": "v=TLSRPTv1; rua=ftp://x"}],
        "nomx.example": [{"TXT": "v=spf1 -all"}, {"MX": [10, "gone.nomx.example"]}],
        # MX hosts with fake STARTTLS servers (test_starttls_items)
        "tls.example": [{"TXT": "v=spf1 mx -all"}, {"MX": [10, "mx1.tls.example"]},
                        {"MX": [20, "mx2.tls.example"]}, {"MX": [30, "mx3.tls.example"]},
                        {"MX": [40, "mx4.tls.example"]}],
        "mx1.tls.example": [{"A": "127.0.0.21"}],
        "mx2.tls.example": [{"A": "127.0.0.22"}],
        "mx3.tls.example": [{"A": "127.0.0.23"}],
        "mx4.tls.example": [{"A": "127.0.0.24"}],
        "broken.example": "SERVFAIL",
        # hostile: control bytes, huge and odd records everywhere
        "hostile.example": [{"TXT": "v=spf1 ip4:1.2.3.4 exp=\x1b[31mred\x07 -all"},
                            {"TXT": "x" * 60000}] + [
            {"MX": [i, "mx%d.hostile.example" % i]} for i in range(40)],
        "_dmarc.hostile.example": [{"TXT": "v=DMARC1; p=reject; x=\x1b[31m; rua=" + ",".join(
            "mailto:r%d@x%d.example" % (i, i) for i in range(60))}],
        "_mta-sts.hostile.example": [{"TXT": b"v=STSv1; id=\xff\xfe\x00<script>"},
                                     {"TXT": "v=STSv1x"}],
        "_smtp._tls.hostile.example": [{"TXT": "v=TLSRPTv1;" + ";" * 5000}],
        "<b>._domainkey.hostile.example": [{"TXT": "v=DKIM1; p=\x00"}],
        "_dmarc.broken.example": "SERVFAIL",
    }
    for i in range(11):
        z["h%d.eleven.example" % i] = [{"A": "192.0.2.%d" % (100 + i)}]
    d.set_zone(z)
    yield d
    d.stop()


def check(dns, domain, *extra, timeout=120):
    p = subprocess.run([VERIFY, "--check-domain", domain, "--json",
                        "--dns-forward", "127.0.0.1@%d" % dns.port] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    assert b"Sanitizer" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    obj = json.loads(p.stdout)
    assert obj["domain"] == domain
    for c in obj["checks"]:
        assert set(c) == {"item", "target", "status", "detail", "fix"}, c
        assert c["item"] in ("iprev", "spf", "dkim", "dmarc", "mx", "starttls",
                             "mta-sts", "tls-rpt"), c
        assert c["status"] in ("pass", "warn", "fail"), c
        assert (c["fix"] is None) == (c["status"] == "pass"), c
    fails = [c for c in obj["checks"] if c["status"] == "fail"]
    assert p.returncode == (1 if fails else 0), obj
    return p, obj


def items(obj, item, target="*"):
    return [c for c in obj["checks"] if c["item"] == item and
            (target == "*" or c["target"] == target)]


def one(obj, item, target, status):
    got = items(obj, item, target)
    assert any(c["status"] == status for c in got), (item, target, status, got)
    return [c for c in got if c["status"] == status][0]


def test_good_domain(dns):
    p, obj = check(dns, "good.example", "--ip", "192.0.2.10",
                   "--selector", "sel1", "--selector", "ed",
                   "--smtp-port", str(conftest.free_port()))
    one(obj, "iprev", "192.0.2.10", "pass")
    assert "mail.good.example" in one(obj, "iprev", "192.0.2.10", "pass")["detail"]
    rec = one(obj, "spf", None, "pass")
    assert "0 of 10 DNS lookups" in rec["detail"], rec
    one(obj, "spf", "192.0.2.10", "pass")
    assert "2048" in one(obj, "dkim", "sel1", "pass")["detail"]
    assert "ed25519" in one(obj, "dkim", "ed", "pass")["detail"]
    assert "p=reject" in one(obj, "dmarc", None, "pass")["detail"]
    assert not [c for c in items(obj, "dmarc") if c["status"] != "pass"], items(obj, "dmarc")
    assert "127.0.0.11" in one(obj, "mx", "mx1.good.example", "pass")["detail"]
    # nothing listens on the port: the transport check fails, and says so
    st = one(obj, "starttls", "mx1.good.example", "fail")
    assert "refused" in st["detail"], st
    assert "not fetched" in one(obj, "mta-sts", None, "pass")["detail"]
    one(obj, "tls-rpt", None, "pass")
    assert p.returncode == 1      # the closed port


def test_iprev_mistakes(dns):
    p, obj = check(dns, "good.example", "--ip", "192.0.2.11", "--ip", "192.0.2.12",
                   "--ip", "192.0.2.13", "--ip", "192.0.2.14",
                   "--smtp-port", str(conftest.free_port()))
    assert "dynamic" in one(obj, "iprev", "192.0.2.11", "warn")["detail"]
    assert "does not resolve back" in one(obj, "iprev", "192.0.2.12", "fail")["detail"]
    assert "no PTR" in one(obj, "iprev", "192.0.2.13", "fail")["detail"]
    c = one(obj, "iprev", "192.0.2.14", "pass")
    assert "outside good.example" in c["detail"], c
    # not in the SPF record: each address is a failing SPF item with a fix
    f = one(obj, "spf", "192.0.2.11", "fail")
    assert f["fix"] == "add ip4:192.0.2.11 to the SPF record of good.example", f


def test_no_records(dns):
    p, obj = check(dns, "nothing.example")
    assert p.returncode == 1
    one(obj, "spf", None, "fail")
    d = one(obj, "dmarc", None, "fail")
    assert "_dmarc.nothing.example" in d["fix"], d
    one(obj, "mx", None, "warn")
    one(obj, "dkim", None, "warn")          # no --selector
    one(obj, "mta-sts", None, "warn")
    one(obj, "tls-rpt", None, "warn")


@pytest.mark.parametrize("domain,status,word", [
    ("two.example", "fail", "two"),
    ("plus.example", "fail", "+all"),
    ("loop.example", "fail", "loop"),
    ("eleven.example", "fail", "11"),
    ("big.example", "warn", "512"),
])
def test_spf_mistakes(dns, domain, status, word):
    p, obj = check(dns, domain, "--smtp-port", str(conftest.free_port()))
    got = [c for c in items(obj, "spf") if c["status"] == status]
    assert any(word in c["detail"] for c in got), items(obj, "spf")
    assert all(c["fix"] for c in got)


@pytest.mark.parametrize("sel,status,word", [
    ("s512", "fail", "512 bits"),
    ("s1024", "warn", "1024 bits"),
    ("revoked", "fail", "revoked"),
    ("testing", "warn", "t=y"),
    ("junk", "fail", "unusable"),
    ("missing", "fail", "no key record"),
])
def test_dkim_keys(dns, sel, status, word):
    p, obj = check(dns, "keys.example", "--selector", sel)
    c = one(obj, "dkim", sel, status)
    assert word in c["detail"], c


def test_dmarc_and_tls_records(dns):
    p, obj = check(dns, "keys.example")
    dm = items(obj, "dmarc")
    assert any(c["status"] == "warn" and "p=none" in c["detail"] for c in dm), dm
    assert any(c["status"] == "warn" and "pct=50" in c["detail"] for c in dm), dm
    ext = [c for c in dm if "reports.example does not authorize" in c["detail"]]
    assert ext and ext[0]["status"] == "warn", dm
    assert "keys.example._report._dmarc.reports.example" in ext[0]["fix"], ext
    assert any(c["status"] == "pass" and "ok.example" in c["detail"] for c in dm), dm
    one(obj, "mta-sts", None, "fail")
    one(obj, "tls-rpt", None, "fail")
    # a subdomain without its own record: the organizational domain's
    p, obj = check(dns, "sub.keys.example")
    assert "organizational" in one(obj, "dmarc", None, "pass")["detail"]


def test_mx_without_address(dns):
    p, obj = check(dns, "nomx.example")
    c = one(obj, "mx", "gone.nomx.example", "fail")
    assert "no address" in c["detail"], c


def test_dns_failure_is_not_a_verdict(dns):
    p, obj = check(dns, "broken.example")
    assert not [c for c in items(obj, "spf") + items(obj, "dmarc")
                if c["status"] == "fail"], obj
    assert one(obj, "spf", None, "warn")


@pytest.mark.parametrize("bad", ["not a domain", "-x.example", "example",
                                 "192.0.2.1", "a..b.example", "x" * 300 + ".example",
                                 "ex\u00e4mple.com"])
def test_bad_domain(bad):
    p = subprocess.run([VERIFY, "--check-domain", bad], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, p
    assert b"not a domain name" in p.stderr, p.stderr
    assert p.stdout == b""


@pytest.mark.parametrize("args", [
    ["--ip", "192.0.2.1"],                              # without --check-domain
    ["--check-domain", "good.example", "--ip", "300.1.1.1"],
    ["--check-domain", "good.example", "--selector", "a b"],
    ["--check-domain", "good.example", "--smtp-port", "0"],
    ["--check-domain", "good.example", "--offline"],
    ["--check-domain", "good.example", "some.mbox"],
])
def test_usage_errors(args):
    p = subprocess.run([VERIFY] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, p
    assert p.stdout == b""


def test_silent_mx_is_bounded(dns):
    """An MX that accepts and never sends a banner: the check ends (the
    probe's deadline), with a clear item."""
    from test_smtpprobe import FakeSMTP
    stop = threading.Event()
    srv = FakeSMTP(lambda s: stop.wait(60), None, "127.0.0.11")
    try:
        p, obj = check(dns, "good.example", "--smtp-port", str(srv.port), timeout=60)
        c = one(obj, "starttls", "mx1.good.example", "fail")
        assert "banner" in c["detail"], c
    finally:
        stop.set()
        srv.close()


def test_text_output(dns):
    p = subprocess.run([VERIFY, "--check-domain", "keys.example", "--selector", "s512",
                        "--dns-forward", "127.0.0.1@%d" % dns.port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env=dict(os.environ, COLUMNS="80"))
    out = p.stdout.decode()
    assert p.returncode == 1
    lines = out.splitlines()
    assert lines[0].startswith("keys.example: ") and " fail, " in lines[0], lines[0]
    assert any(ln.startswith("FAIL  dkim     s512: ") for ln in lines), out
    assert any(ln.startswith("      fix: ") for ln in lines), out
    assert "\x1b" not in out


def test_html_section(dns, tmp_path):
    html = tmp_path / "cd.html"
    p = subprocess.run([VERIFY, "--check-domain", "keys.example", "--selector", "revoked",
                        "--dns-forward", "127.0.0.1@%d" % dns.port, "--html", str(html)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1, p.stderr
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "keys.example" in text and "revoked" in text
    assert "<script" not in text.lower()
    _, obj = check(dns, "keys.example", "--selector", "revoked")
    assert text.count("<tr>") == 1 + len(obj["checks"])     # the header row


def test_starttls_items(dns, tmp_path):
    """Four MX hosts on one port: a trusted certificate, an expired one, one
    for the wrong name, and no STARTTLS; probed in parallel.  The time the
    whole check took is printed (issue 22: under 5 s on loopback), never
    asserted."""
    from test_smtpprobe import FakeSMTP, make_pki, smtp, EHLO_PLAIN
    pki = make_pki(str(tmp_path / "pki"), {"good": "mx1.tls.example",
                                           "expired": "mx2.tls.example",
                                           "wrong": "mx3.tls.example"})
    port = conftest.free_port(host="127.0.0.21")
    srv = [FakeSMTP(smtp(), pki["good"], "127.0.0.21", port),
           FakeSMTP(smtp(), pki["expired"], "127.0.0.22", port),
           FakeSMTP(smtp(), pki["wrong"], "127.0.0.23", port),
           FakeSMTP(smtp(ehlo=EHLO_PLAIN), None, "127.0.0.24", port)]
    try:
        t0 = time.monotonic()
        p = subprocess.run([VERIFY, "--check-domain", "tls.example", "--json",
                            "--dns-forward", "127.0.0.1@%d" % dns.port,
                            "--smtp-port", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=dict(os.environ, SSL_CERT_FILE=pki["ca"]))
        took = time.monotonic() - t0
    finally:
        for s in srv:
            s.close()
    assert p.returncode == 1, p.stderr
    obj = json.loads(p.stdout)
    print("check-domain of tls.example, 4 MX hosts: %.2f s" % took)
    assert [c["target"] for c in items(obj, "mx")] == [
        "mx%d.tls.example" % i for i in (1, 2, 3, 4)], items(obj, "mx")
    good = one(obj, "starttls", "mx1.tls.example", "pass")
    assert good["detail"].startswith("TLSv1."), good
    assert "expired" in one(obj, "starttls", "mx2.tls.example", "fail")["detail"]
    wrong = one(obj, "starttls", "mx3.tls.example", "warn")
    assert "other.test.example" in wrong["detail"] and "mx3.tls.example" in wrong["fix"]
    assert "no STARTTLS" in one(obj, "starttls", "mx4.tls.example", "fail")["detail"]
    # the same server without the throwaway CA in the trust store
    srv = FakeSMTP(smtp(), pki["good"], "127.0.0.21", port)
    try:
        env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
        p = subprocess.run([VERIFY, "--check-domain", "tls.example", "--json",
                            "--dns-forward", "127.0.0.1@%d" % dns.port,
                            "--smtp-port", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=env)
    finally:
        srv.close()
    c = one(json.loads(p.stdout), "starttls", "mx1.tls.example", "warn")
    assert "not trusted" in c["detail"], c


def test_endless_banner_mx(dns):
    """An MX that never stops sending its banner: a clear item, and the
    check ends (the probe's reply bound, long before its deadline)."""
    from test_smtpprobe import FakeSMTP, _endless
    port = conftest.free_port(host="127.0.0.11")
    srv = FakeSMTP(_endless(b"220-more\r\n"), None, "127.0.0.11", port)
    try:
        p, obj = check(dns, "good.example", "--smtp-port", str(port), timeout=60)
    finally:
        srv.close()
    c = one(obj, "starttls", "mx1.good.example", "fail")
    assert "banner over 100 lines" in c["detail"], c


def test_hostile_records(dns, tmp_path):
    """Control bytes, a 60 KB TXT beside the SPF record, 40 MX hosts, 200
    rua URIs (8 kept), binary MTA-STS and TLS-RPT records: valid JSON, no byte of
    them unescaped in the text or the HTML, bounded lists."""
    html = tmp_path / "h.html"
    p, obj = check(dns, "hostile.example", "--smtp-port", str(conftest.free_port()),
                   "--selector", "sel", "--html", str(html), timeout=120)
    mx = items(obj, "mx")
    assert len([c for c in mx if c["target"]]) == 10, mx        # CHECKDOM_MX_MAX
    assert any("40 MX hosts" in c["detail"] for c in mx), mx
    one(obj, "spf", None, "fail")             # control bytes: permerror
    dm = one(obj, "dmarc", None, "fail")      # control bytes: permerror
    assert "0x1b" in dm["detail"], dm
    sts = one(obj, "mta-sts", None, "fail")   # binary, shown printable
    assert "id=??" in sts["detail"], sts
    for c in obj["checks"]:
        assert all(0x20 <= ord(ch) < 0x7f for ch in c["detail"] + (c["fix"] or "")), c
    text = html.read_text()
    assert "<script>" not in text and "\x1b" not in text
    t = subprocess.run([VERIFY, "--check-domain", "hostile.example", "--dns-forward",
                        "127.0.0.1@%d" % dns.port, "--smtp-port", str(conftest.free_port())],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert b"\x1b" not in t.stdout and b"\x00" not in t.stdout, t.stdout[:2000]


def test_html_in_browser(dns, tmp_path):
    """The --check-domain page in headless Chromium with JavaScript off:
    one row per JSON item, the statuses coloured, no request but the file;
    a screenshot is kept with RT_HTML_SHOTS=DIR (to look at)."""
    from test_html import Browser, colours
    html = tmp_path / "cd.html"
    p = subprocess.run([VERIFY, "--check-domain", "keys.example", "--selector", "s512",
                        "--selector", "testing", "--ip", "192.0.2.11",
                        "--dns-forward", "127.0.0.1@%d" % dns.port, "--html", str(html)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1, p.stderr
    _, obj = check(dns, "keys.example", "--selector", "s512", "--selector", "testing",
                   "--ip", "192.0.2.11")
    br = Browser(tmp_path)
    try:
        url, reqs = br.load(str(html))
        assert reqs == [url], reqs
        d = br.eval("(() => ({rows: [...document.querySelectorAll('table.t tr')].slice(1)"
                    ".map(r => [...r.cells].map(c => c.innerText)),"
                    " fail: getComputedStyle(document.querySelector('td.r-fail')).color,"
                    " title: document.querySelector('h1').innerText}))()")
        shots = os.environ.get("RT_HTML_SHOTS") or str(tmp_path)
        png = br.shot(os.path.join(shots, "check-domain.png"))
    finally:
        br.close()
    assert d["title"] == "What receivers will think of keys.example", d["title"]
    assert [r[:2] for r in d["rows"]] == [[c["status"], c["item"]] for c in obj["checks"]]
    for r, c in zip(d["rows"], obj["checks"]):
        assert r[2] == (c["target"] or "domain"), (r, c)
        assert c["detail"] in r[3] and (c["fix"] is None or c["fix"] in r[3]), (r, c)
    assert d["fail"] == "rgb(164, 14, 38)", d["fail"]
    assert len(colours(png)[2]) > 10
