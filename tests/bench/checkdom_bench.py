#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""checkdom_bench.py - the wall time of relaytrust-verify --check-domain for a
domain with three MX hosts on loopback (issue 22: under 5 s).

The loopback DNS test server (tests/integration/dnsserver.py) serves a
domain with an SPF record that includes two more, a DKIM key, a DMARC record
with an external report address, MTA-STS and TLS-RPT records, two sending
addresses with PTR records, and three MX hosts on 127.0.0.41-43; each MX is
a STARTTLS server (tests/integration/test_smtpprobe.py's FakeSMTP, with a
certificate from a throwaway CA that SSL_CERT_FILE names). The check runs
RT_BENCH_ROUNDS times (default 5); the median, the fastest and the slowest
wall times are printed. Nothing is asserted."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import conftest  # noqa: E402
from dnsserver import TestDNS  # noqa: E402
from test_check_domain import ptr, pubkey_b64  # noqa: E402
from test_smtpprobe import FakeSMTP, make_pki, smtp  # noqa: E402

ADDRS = ["127.0.0.41", "127.0.0.42", "127.0.0.43"]


def main():
    rounds = int(os.environ.get("RT_BENCH_ROUNDS", "5"))
    verify = os.path.join(conftest.RT_BIN, "relaytrust-verify")
    tmp = tempfile.mkdtemp(prefix="rt-checkdom-")
    zone = {
        "bench.example": [{"TXT": "v=spf1 ip4:192.0.2.10 include:_spf.bench.example "
                                  "include:mailer.example -all"}] +
                         [{"MX": [10 * (i + 1), "mx%d.bench.example" % (i + 1)]}
                          for i in range(3)],
        "_spf.bench.example": [{"TXT": "v=spf1 ip4:198.51.100.0/24 a:out.bench.example -all"}],
        "out.bench.example": [{"A": "198.51.100.9"}],
        "mailer.example": [{"TXT": "v=spf1 ip4:203.0.113.0/24 -all"}],
        "s1._domainkey.bench.example": [{"TXT": "v=DKIM1; k=rsa; p=" +
                                                pubkey_b64("2048", tmp)}],
        "_dmarc.bench.example": [{"TXT": "v=DMARC1; p=reject; "
                                         "rua=mailto:d@reports.mailer.example"}],
        "bench.example._report._dmarc.reports.mailer.example": [{"TXT": "v=DMARC1"}],
        "_mta-sts.bench.example": [{"TXT": "v=STSv1; id=2024050101"}],
        "_smtp._tls.bench.example": [{"TXT": "v=TLSRPTv1; rua=mailto:t@bench.example"}],
        ptr("192.0.2.10"): [{"PTR": "mail.bench.example"}],
        "mail.bench.example": [{"A": "192.0.2.10"}],
        ptr("198.51.100.9"): [{"PTR": "out.bench.example"}],
    }
    for i, a in enumerate(ADDRS):
        zone["mx%d.bench.example" % (i + 1)] = [{"A": a}]
    pki = make_pki(os.path.join(tmp, "pki"), {"good": "mx1.bench.example"})
    dns = TestDNS(host="127.0.0.1", port=0)
    dns.set_zone(zone)
    port = conftest.free_port(host=ADDRS[0])
    leaf = {"cert": pki["good"]["cert"], "key": pki["good"]["key"]}
    servers = [FakeSMTP(smtp(), leaf, a, port) for a in ADDRS]
    times = []
    try:
        for _ in range(rounds):
            t0 = time.monotonic()
            p = subprocess.run([verify, "--check-domain", "bench.example", "--json",
                                "--ip", "192.0.2.10", "--ip", "198.51.100.9",
                                "--selector", "s1", "--dns-forward",
                                "127.0.0.1@%d" % dns.port, "--smtp-port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120, env=dict(os.environ, SSL_CERT_FILE=pki["ca"]))
            times.append(time.monotonic() - t0)
            if p.returncode not in (0, 1):
                sys.exit("checkdom_bench: exit %d: %s" % (p.returncode, p.stderr.decode()))
    finally:
        for s in servers:
            s.close()
        dns.stop()
    print("checkdom_bench: --check-domain, 3 MX hosts with STARTTLS, 2 --ip, 1 selector, "
          "%d rounds: median %.3f s, fastest %.3f s, slowest %.3f s (target < 5 s)"
          % (rounds, statistics.median(times), min(times), max(times)))


if __name__ == "__main__":
    main()
