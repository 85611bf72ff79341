# SPDX-License-Identifier: ISC
"""relaytrust-verify's text output (SPEC 3.3 last paragraph, issue 19): the
first line answers who sent the message, delays are human, no address is
cut whatever the terminal width, and a run of several messages ends with a
summary."""
import json
import os
import re
import subprocess

import pytest

from test_verify import VERIFY

EXCHANGE = (
    "Received: from DM6PR11MB1234.namprd11.prod.outlook.com (2603:10b6:5:1b0::15)\n"
    " by BN8PR11MB5678.namprd11.prod.outlook.com (2603:10b6:408:8c::20) with\n"
    " Microsoft SMTP Server (version=TLS1_2,\n"
    " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.5373.11; Tue, 02 Apr\n"
    " 2024 14:04:17 +0000\n")


def message(i, date="Mon, 01 Apr 2024 10:00:00 +0000"):
    return (
        "Received: from mx.example.org (mx.example.org [10.0.0.2])\n"
        "\tby store.example.org (Dovecot) with LMTP id L%d\n"
        "\tfor <u@example.org>; Tue, 02 Apr 2024 14:04:20 +0000\n" % i +
        "Received: from msd-dev1.very-long-subdomain-name.engineering.cisco.com "
        "(msd-dev1.very-long-subdomain-name.engineering.cisco.com "
        "[2a00:1450:4001:81c:5678:8a2e:370:7334])\n"
        "\tby mx.example.org (Postfix) with ESMTPS id M%d\n"
        "\tfor <u@example.org>; Tue, 02 Apr 2024 14:04:19 +0000\n" % i +
        EXCHANGE +
        "From: a%d@example.com\nTo: u@example.org\nSubject: t %d\nDate: %s\n"
        "Message-ID: <%d@example.com>\n\nbody\n" % (i, i, date, i))


def run(args, env=None, input=None):
    e = dict(os.environ)
    e.pop("COLUMNS", None)
    e.update(env or {})
    p = subprocess.run([VERIFY, "--offline", "--no-progress"] + args, env=e, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert b"Sanitizer" not in p.stderr and p.returncode in (0, 1), p.stderr
    return p.stdout.decode()


@pytest.mark.parametrize("columns", [None, "60", "80", "120", "250"])
def test_addresses_whole(tmp_path, columns):
    path = tmp_path / "m.eml"
    path.write_text(message(0))
    o = json.loads(run(["--json", str(path)]))
    text = run([str(path)], env={"COLUMNS": columns} if columns else None)
    ips = [h["from_ip"] for h in o["hops"] if h["from_ip"]]
    assert len(ips) == 3
    for ip in ips:
        assert "[%s]" % ip in text, (ip, text)
    if columns:
        for line in text.splitlines():
            if line.startswith("  ") and not line.startswith(("  Trust:", "  DMARC:")) \
                    and "[" in line and "]" in line:
                assert len(line) <= max(int(columns), 100), line
    # The protocol is not cut to its first word.
    assert "Microsoft SMTP Server" in re.sub(r"\s+\n\s+", " ", text) or \
        "Microsoft SMTP" in text


def test_human_delays(tmp_path):
    path = tmp_path / "m.eml"
    # Date: a year and 42 days after the first hop: hop 1 is reversed.
    path.write_text(message(0, date="Tue, 20 Feb 2024 10:00:00 +0000"))
    text = run([str(path)])
    # Date 2024-02-20 10:00:00 -> hop 1 2024-04-02 14:04:17: 42d 4h
    assert re.search(r"\b42d 4h\b", text), text
    assert re.search(r"\b2s\b", text) and re.search(r"\b1s\b", text), text
    path.write_text(message(0, date="Thu, 15 May 2025 10:00:00 +0000"))
    text = run([str(path)])
    assert re.search(r"-1y 42d\b", text), text


def test_first_line_and_summary(tmp_path):
    path = tmp_path / "a.mbox"
    path.write_text("".join("From x Mon Apr  1 10:00:00 2024\n" + message(i) + "\n"
                            for i in range(3)))
    text = run([str(path)])
    first = text.splitlines()[0]
    assert first.startswith(str(path) + ":0  unauthenticated: sent by ")
    assert "From: example.com, DMARC temperror" in first
    summary = text[text.index("Summary: "):]
    assert summary.startswith("Summary: 3 messages: 0 authenticated, 3 unauthenticated")
    assert "From: domains of mail not authenticated: example.com (3)" in summary


def test_no_color_and_no_escape_bytes(tmp_path):
    path = tmp_path / "m.eml"
    path.write_text(message(0).replace("Subject: t 0", "Subject: \x1b[31mred\x1b[0m"))
    text = run([str(path)], env={"NO_COLOR": "1"})
    assert "\x1b" not in text
