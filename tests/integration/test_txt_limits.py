# SPDX-License-Identifier: ISC
"""A TXT record over DNS_TXT_MAX (8192 joined bytes) is not silently cut
(issue 20): dns.c marks it, and each consumer says what the RFC says for
it. DKIM: a key record that cannot be read whole is key-syntax, not the key
its first 8192 bytes hold (a padded record whose p= comes first would
otherwise verify). SPF: test_spf_attacks.py (huge.test, permerror)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import dkimgen  # noqa: E402
from dnsserver import TestDNS  # noqa: E402
from test_verify import VERIFY  # noqa: E402


@pytest.fixture(scope="module")
def dns():
    d = TestDNS(host="127.0.0.1", port=0)
    yield d
    d.stop()


def signed(key, sel):
    hd = dkimgen.base_headers(1)
    bd = dkimgen.body_of(1)
    sig = dkimgen.dkim_header(key, hd, bd, "example.com", sel)
    return dkimgen.assemble(dkimgen.RECEIVED, [sig], hd, bd, 1)


@pytest.mark.parametrize("pad,want", [
    (0, ("pass", None)),                       # the same key, 0 padding
    (7000, ("pass", None)),                    # 7 KB record: read whole
    (9000, ("permerror", "key-syntax")),       # 9 KB: cut, so key-syntax
])
def test_dkim_key_over_txt_max(dns, tmp_path, pad, want):
    key = dkimgen.Key("rsa", 1024)
    sel = "pad%d" % pad
    # p= first, then an unknown tag that pads the record (RFC 6376 3.6.1:
    # unknown tags are ignored), so its first 8192 bytes parse as a key.
    rec = "v=DKIM1; k=rsa; p=%s; x=%s" % (key.p, "a" * pad) if pad else key.record()
    dns.set_zone({"%s._domainkey.example.com" % sel: [{"TXT": rec}]})
    path = tmp_path / "m.eml"
    path.write_bytes(signed(key, sel))
    p = subprocess.run([VERIFY, "--json", "--no-progress", "--jobs", "1",
                        "--dns-forward", "127.0.0.1@%d" % dns.port, str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    d = json.loads(p.stdout)["dkim"][0]
    assert (d["result"], d["reason"]) == want, d
