# SPDX-License-Identifier: ISC
"""End-to-end: verifier/smtpprobe.c (through smtpprobe_cli) against a real
Postfix with STARTTLS.

One throwaway Postfix instance (tests/e2e/postfix_instance.py) with four
more smtpd listeners on one free port, each its own MX host, set up with
master.cf -o overrides:

    127.0.0.11  mx-good.test.example     may, a leaf from the test CA
    127.0.0.12  mx-expired.test.example  may, an expired leaf
    127.0.0.13  mx-wrong.test.example    may, a leaf for other.test.example
    127.0.0.14  mx-plain.test.example    smtpd_tls_security_level=none

The certificates come from a throwaway CA (make_pki() of
tests/integration/test_smtpprobe.py); the probe trusts it through
SSL_CERT_FILE.  All four are probed in one smtpprobe_cli call.  The
policy service is never reached (the probe says QUIT after the
handshake, no MAIL), so it names a port nobody listens on.

Skipped when Postfix is not installed or the tests do not run as root
(master(8) must start as root).
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import postfix_instance  # noqa: E402
from test_smtpprobe import CLI, WRONG, make_pki, probe  # noqa: E402

LISTENERS = [
    # (leaf, MX name, address, TLS)
    ("good", "mx-good.test.example", "127.0.0.11", True),
    ("expired", "mx-expired.test.example", "127.0.0.12", True),
    ("wrong", "mx-wrong.test.example", "127.0.0.13", True),
    ("plain", "mx-plain.test.example", "127.0.0.14", False),
]
BANNER = "220 %s ESMTP relaytrust-e2e" % postfix_instance.MYHOSTNAME


def common_free_port(addrs):
    """A port free on every address (the probe uses one port for all)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((addrs[0], 0))
            port = s.getsockname()[1]
            others = []
            try:
                for a in addrs[1:]:
                    o = socket.socket()
                    others.append(o)
                    o.bind((a, port))
            except OSError:
                continue
            finally:
                for o in others:
                    o.close()
            return port
    raise AssertionError("no port free on all of %s" % addrs)


def wait_banner(addr, port, timeout=30):
    """Wait until the smtpd on addr:port greets (its first process is
    started and has loaded its keys)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=10) as s:
                last = s.recv(512)
                if last.startswith(b"220 "):
                    s.sendall(b"QUIT\r\n")
                    s.recv(512)
                    return
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise AssertionError("no banner from %s:%d (%r)" % (addr, port, last))


@pytest.fixture(scope="module")
def postfix():
    why = postfix_instance.installed()
    if why:
        pytest.skip(why)
    if os.geteuid() != 0:
        pytest.skip("Postfix's master(8) must start as root")
    assert os.access(CLI, os.X_OK), "%s is not built (make)" % CLI
    # Not pytest's tmp_path: the postfix user must reach the instance.
    base = tempfile.mkdtemp(prefix="relaytrust-e2e-starttls-")
    os.chmod(base, 0o755)
    pki = make_pki(os.path.join(base, "pki"),
                   {leaf: mx for leaf, mx, _, tls in LISTENERS if tls})
    port = common_free_port([addr for _, _, addr, _ in LISTENERS])
    master = []
    for leaf, _, addr, tls in LISTENERS:
        line = "%s:%d inet n - n - - smtpd" % (addr, port)
        if tls:
            # smtpd reads the key as root, before it drops privileges.
            line += ("\n  -o smtpd_tls_security_level=may"
                     "\n  -o smtpd_tls_chain_files=%s" % pki[leaf]["chain"])
        else:
            line += "\n  -o smtpd_tls_security_level=none"
        master.append(line)
    master.append("tlsmgr unix - - n 1000? 1 tlsmgr")
    pf = postfix_instance.PostfixInstance(
        os.path.join(base, "postfix"), "inet:127.0.0.1:%d" % postfix_instance.free_port(),
        extra_main="smtpd_tls_loglevel = 1\n", extra_master="\n".join(master) + "\n")
    os.makedirs(pf.base)
    try:
        pf.start()
        for _, _, addr, _ in LISTENERS:
            wait_banner(addr, port)
        yield pf, pki, port
    finally:
        pf.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_four_listeners_one_call(postfix):
    pf, pki, port = postfix
    targets = [(mx, addr, port) for _, mx, addr, _ in LISTENERS]
    try:
        good, expired, wrong, plain = probe(*targets, timeout_ms=10000, ca=pki["ca"])
    except AssertionError as e:
        raise AssertionError("%s\nmaillog:\n%s" % (e, pf.maillog()))
    log = pf.maillog()
    for r in (good, expired, wrong, plain):
        assert r["connected"] and r["ehlo_ok"] and r["banner"] == BANNER, (r, log)

    assert good["error"] == "" and good["starttls_offered"] and good["tls_ok"], (good, log)
    assert re.fullmatch(r"TLSv1\.[23]", good["tls_version"]) and good["tls_cipher"], good
    assert good["chain_ok"] and good["chain_error"] == "", good
    assert good["name_ok"] and not good["expired"], good
    assert good["not_after"] == pki["good"]["not_after"], good
    assert good["subject_cn"] == "mx-good.test.example", good

    assert expired["tls_ok"] and expired["error"] == "", (expired, log)
    assert expired["expired"] and expired["not_after"] < time.time(), expired
    assert not expired["chain_ok"] and "expired" in expired["chain_error"], expired
    assert expired["name_ok"], expired

    assert wrong["tls_ok"] and wrong["error"] == "", (wrong, log)
    assert wrong["chain_ok"] and not wrong["expired"], wrong
    assert not wrong["name_ok"] and wrong["names"] == WRONG, wrong

    assert plain["error"] == "", (plain, log)
    assert not plain["starttls_offered"] and not plain["tls_ok"], plain

    # Postfix saw EHLO, STARTTLS and QUIT three times and EHLO and QUIT
    # once, never MAIL (its "disconnect" lines count the commands).
    want3 = re.compile(r"disconnect from \S+ ehlo=1 starttls=1 quit=1 commands=3$", re.M)
    want1 = re.compile(r"disconnect from \S+ ehlo=1 quit=1 commands=2$", re.M)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = pf.maillog()
        if len(want3.findall(log)) >= 3 and len(want1.findall(log)) >= 1:
            break
        time.sleep(0.1)
    assert len(want3.findall(log)) == 3 and len(want1.findall(log)) == 1, log
    assert not re.search(r"\bmail=\d", log), log
    # What Postfix says it negotiated is what the probe reports.
    assert "TLS connection established from" in log and good["tls_version"] in log, log


def test_check_domain_against_postfix(postfix):
    """relaytrust-verify --check-domain over the loopback DNS test server
    whose MX records name the four Postfix listeners: one item per MX host
    and one starttls item each, as a sender's administrator would read
    them; the whole check is timed (printed, not asserted)."""
    import json
    import subprocess
    from dnsserver import TestDNS
    from conftest import RT_BIN
    pf, pki, port = postfix
    zone = {"e2e.test.example": [{"TXT": "v=spf1 mx -all"}] + [
        {"MX": [10 * (i + 1), mx]} for i, (_, mx, _, _) in enumerate(LISTENERS)]}
    for _, mx, addr, _ in LISTENERS:
        zone[mx] = [{"A": addr}]
    dns = TestDNS(host="127.0.0.1", port=0)
    dns.set_zone(zone)
    try:
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(RT_BIN, "relaytrust-verify"), "--check-domain",
                            "e2e.test.example", "--json", "--dns-forward",
                            "127.0.0.1@%d" % dns.port, "--smtp-port", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=dict(os.environ, SSL_CERT_FILE=pki["ca"]))
        took = time.monotonic() - t0
    finally:
        dns.stop()
    print("check-domain against Postfix, 4 MX hosts: %.2f s" % took)
    assert p.returncode == 1, p.stderr
    st = {c["target"]: c for c in json.loads(p.stdout)["checks"] if c["item"] == "starttls"}
    assert st["mx-good.test.example"]["status"] == "pass", (st, pf.maillog())
    assert st["mx-expired.test.example"]["status"] == "fail", st
    assert "expired" in st["mx-expired.test.example"]["detail"], st
    assert st["mx-wrong.test.example"]["status"] == "warn", st
    assert "other.test.example" in st["mx-wrong.test.example"]["detail"], st
    assert st["mx-plain.test.example"]["status"] == "fail", st
    assert "no STARTTLS" in st["mx-plain.test.example"]["detail"], st
