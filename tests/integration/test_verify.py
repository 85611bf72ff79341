# SPDX-License-Identifier: ISC
"""relaytrust-verify on generated mbox files, Maildir trees and malformed
mail: JSON Lines per SPEC 3.3 (every field present), exit status per SPEC 3.1,
never a crash. All runs are --offline (no DNS)."""
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")

TOP = ["source", "index", "message_id", "from", "subject", "hops", "dkim", "arc",
       "dmarc", "claims", "chain", "verdict"]
VERDICTS = ("authenticated", "unauthenticated", "suspicious", "forged")
HOP = ["n", "from_name", "from_helo", "from_rdns", "from_ip", "by_host", "with", "tls",
       "auth", "id", "for", "envelope_from", "date", "delay_s", "parsed", "raw"]
CHAIN = ["boundary_hop", "boundary_source", "origin_ip", "iprev", "spf", "findings"]
DMARC = ["from_domain", "org_domain", "record", "policy", "result", "dkim_aligned",
         "spf_aligned", "spf_domain", "spf_result"]


def message(i=0, extra_received=(), date="Mon, 01 Apr 2024 10:00:00 +0000"):
    rec = list(extra_received) + [
        "Received: from mx.example.net (mx.example.net [10.0.0.2])\n"
        "\tby inbox.example.org (Postfix) with ESMTP id A%d\n"
        "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\n" % i,
        "Received: from sender.example.com (sender.example.com [93.184.216.34])\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n"
        "\tby mx.example.net (Postfix) with ESMTPS id B%d\n"
        "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:05 +0000 (UTC)\n" % i,
    ]
    return ("Return-Path: <s@example.com>\n" + "".join(rec) +
            "From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\n"
            "To: u@example.org\nSubject: test %d\nDate: %s\n"
            "Message-ID: <%d@example.com>\n\nbody %d\nFrom the body\n>From quoted\n"
            % (i, date, i, i))


def run(args, input=None):
    p = subprocess.run([VERIFY, "--offline", "--no-progress"] + list(args), input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert b"Sanitizer" not in p.stderr and p.returncode in (0, 1, 2), p.stderr
    return p


def objects(p):
    out = [json.loads(line) for line in p.stdout.decode().splitlines()]
    for o in out:
        assert list(o.keys())[:len(TOP)] == TOP
        for h in o["hops"]:
            for k in HOP:
                assert k in h, k
        for k in CHAIN:
            assert k in o["chain"], k
        for k in DMARC:
            assert k in o["dmarc"], k
        assert o["dkim"] == [] and o["arc"] == {"result": "none", "sets": []}
        assert o["verdict"] in VERDICTS
    return out


def write_mbox(path, msgs, crlf=False):
    data = ""
    for i, m in enumerate(msgs):
        body = m.replace("\nFrom the", "\n>From the").replace("\n>From quoted", "\n>>From quoted")
        data += "From sender@example.com Mon Apr  1 10:00:00 2024\n" + body + "\n"
    if crlf:
        data = data.replace("\n", "\r\n")
    with open(path, "wb") as f:
        f.write(data.encode())


@pytest.mark.parametrize("crlf", [False, True])
def test_mbox_json(tmp_path, crlf):
    path = tmp_path / "a.mbox"
    write_mbox(path, [message(i) for i in range(20)], crlf)
    p = run(["--json", "--trusted", "10.0.0.0/8", str(path)])
    objs = objects(p)
    assert len(objs) == 20
    o = objs[3]
    assert o["source"] == str(path) and o["index"] == 3
    assert o["from"] == "J\u00f6rg <j@example.com>" and o["subject"] == "test 3"
    assert o["message_id"] == "<3@example.com>"
    h1, h2 = o["hops"]
    assert h1["n"] == 1 and h1["from_ip"] == "93.184.216.34" and h1["tls"] is True
    assert h1["from_helo"] == "sender.example.com" and h1["by_host"] == "mx.example.net"
    assert h1["date"] == "2024-04-01T10:00:05Z" and h1["delay_s"] == 5
    assert h2["delay_s"] == 4 and h2["tls"] is False and h2["parsed"] is True
    assert o["chain"]["boundary_hop"] == 1 and o["chain"]["origin_ip"] == "93.184.216.34"
    assert o["chain"]["iprev"] is None and o["chain"]["spf"] is None
    assert o["chain"]["boundary_source"] == "given"
    # Unsigned, offline: nothing proves example.com, nothing contradicts it.
    d = o["dmarc"]
    assert d["from_domain"] == "example.com" and d["org_domain"] == "example.com"
    assert d["result"] == "temperror" and d["record"] is None and d["policy"] is None
    assert d["spf_domain"] == "example.com" and d["spf_result"] is None
    assert d["dkim_aligned"] is None and d["spf_aligned"] is None
    assert o["claims"] == []
    assert o["verdict"] == "unauthenticated", o["chain"]["findings"]
    assert p.returncode == 1


def test_boundary_without_trusted(tmp_path):
    path = tmp_path / "a.eml"
    path.write_text(message(0))
    o = objects(run(["--json", str(path)]))[0]
    # Inferred (SPEC 3.2 step 4): the relay on 10.0.0.2 is inside, the
    # first public sender is the MX entry.
    assert o["chain"]["boundary_hop"] == 1 and o["chain"]["boundary_source"] == "inferred"
    assert o["chain"]["origin_ip"] == "93.184.216.34"
    assert [h["kind"] for h in o["hops"]] == ["relay", "internal"]
    codes = [f["code"] for f in o["chain"]["findings"]]
    assert "private-ip" not in codes and o["verdict"] == "unauthenticated"
    # --trusted wins: given a list that does not hold 10/8, the relay is
    # the boundary again.
    o = objects(run(["--json", "--trusted", "192.168.0.0/16", str(path)]))[0]
    assert o["chain"]["boundary_hop"] == 2 and o["chain"]["boundary_source"] == "given"
    codes = [f["code"] for f in o["chain"]["findings"]]
    assert "private-ip" in codes and o["verdict"] == "suspicious"


@pytest.mark.parametrize("inner", [
    # LMTP delivery from a public address, then an Exchange-like relay on a
    # CGNAT address: both inside, the public hop below them is the MX entry.
    ["Received: from mx.example.org (mx.example.org [198.18.0.9])\n"
     "\tby store.example.org (Dovecot) with LMTP id L1\n"
     "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:10 +0000\n",
     "Received: from relay.example.org (relay.example.org [100.64.0.7])\n"
     "\tby mx.example.org (Postfix) with ESMTP id R1\n"
     "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:09 +0000\n"],
])
def test_boundary_inferred_delivery(tmp_path, inner):
    path = tmp_path / "a.eml"
    m = message(0)
    cut = m.index("Received: from mx.example.net")
    path.write_text(m[:cut] + "".join(inner) + m[cut:])
    o = objects(run(["--json", str(path)]))[0]
    kinds = [h["kind"] for h in o["hops"]]
    assert kinds == ["relay", "internal", "internal", "delivery"], kinds
    assert o["chain"]["boundary_hop"] == 1 and o["chain"]["origin_ip"] == "93.184.216.34"


def test_maildir_and_eml_dir(tmp_path):
    md = tmp_path / "Maildir"
    for d in ("cur", "new", "tmp", ".Sub/cur", ".Sub/new"):
        (md / d).mkdir(parents=True)
    (md / "cur" / "1:2,S").write_text(message(1))
    (md / "new" / "2").write_text(message(2))
    (md / ".Sub" / "new" / "3").write_text(message(3))
    objs = objects(run(["--json", "--trusted", "10.0.0.0/8", str(md)]))
    assert sorted(o["subject"] for o in objs) == ["test 1", "test 2", "test 3"]
    ed = tmp_path / "eml"
    ed.mkdir()
    (ed / "x.eml").write_text(message(4))
    objs = objects(run(["--json", str(ed)]))
    assert [o["subject"] for o in objs] == ["test 4"]


def test_stdin_and_exit_codes(tmp_path):
    # Exit 1: an unauthenticated message (exit 0 needs every message
    # authenticated: test_verify_dmarc.py).
    p = run(["--json", "--trusted", "10.0.0.0/8", "-"], input=message(0).encode())
    assert p.returncode == 1 and objects(p)[0]["source"] == "-"
    p = run(["--json", "--trusted", "10.0.0.0/8"], input=message(0).encode())
    assert p.returncode == 1
    p = run(["--json", str(tmp_path / "missing")])
    assert p.returncode == 2 and b"relaytrust-verify: " in p.stderr
    assert objects(p)[0]["chain"]["findings"][0]["code"] == "unreadable"
    p = run(["--bogus"])
    assert p.returncode == 2
    p = run(["--trusted", "10.0.0.0/99", "-"], input=b"")
    assert p.returncode == 2


def test_text_report(tmp_path):
    path = tmp_path / "a.eml"
    path.write_text(message(0))
    p = run(["--trusted", "10.0.0.0/8", str(path)])
    out = p.stdout.decode()
    first = out.splitlines()[0]
    assert first == (str(path) + ":0  unauthenticated: sent by 93.184.216.34 "
                     "(sender.example.com), From: example.com, DMARC temperror"), first
    assert "Trust:" in out and "DMARC:" in out
    assert "messages:" in p.stderr.decode()


MALFORMED = {
    "no-headers": b"just a body line\n\nmore\n",
    "many-received": b"".join(b"Received: from a%d (a [192.0.2.1]) by b; Mon, 1 Apr 2024 "
                              b"10:00:00 +0000\n" % i for i in range(10000)) +
                     b"From: x@y\n\nbody\n",
    "megabyte-line": b"X-Long: " + b"a" * (1 << 20) + b"\nFrom: x@y\n\nbody\n",
    "nul-bytes": b"Received: from a\0b by c; Mon, 1 Apr 2024 10:00:00 +0000\nFrom: x\0y\n\nb\n",
    "invalid-utf8": b"Received: from \xff\xfe by c; Mon, 1 Apr 2024 10:00:00 +0000\n"
                    b"From: \xc3\x28 <x@y>\nSubject: \xed\xa0\x80\n\nb\n",
    "empty": b"",
    "unparsable-received": b"Received: garbage garbage\nFrom: x@y\n\nb\n",
    "time-reversed": (b"Received: from b (b [192.0.2.2]) by c; Mon, 1 Apr 2024 09:00:00 +0000\n"
                      b"Received: from a (a [192.0.2.1]) by b; Mon, 1 Apr 2024 10:00:00 +0000\n"
                      b"From: x@y\nDate: Mon, 1 Apr 2024 10:00:00 +0000\n\nb\n"),
    "future": (b"Received: from a (a [198.51.100.1]) by c; Mon, 1 Apr 2199 09:00:00 +0000\n"
               b"From: x@y\nDate: Mon, 1 Apr 2024 10:00:00 +0000\n\nb\n"),
}

WANT_CODE = {
    "no-headers": "no-headers", "many-received": "truncated", "megabyte-line": "long-line",
    "nul-bytes": "nul-bytes", "invalid-utf8": "invalid-utf8", "empty": "empty-message",
    "unparsable-received": "unparsed-received", "time-reversed": "time-reversed",
    "future": "future-date",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed(tmp_path, name):
    path = tmp_path / (name + ".eml")
    path.write_bytes(MALFORMED[name])
    if name == "empty":
        # An empty file given alone holds no message: a usage/input error,
        # not a message that failed. In a directory it is one (below).
        p = run(["--json", str(path)])
        assert p.returncode == 2, p.stderr
        assert objects(p) == []
        assert b"no message in the input" in p.stderr
        (tmp_path / "ok.eml").write_bytes(b"From: a@example.org\r\n\r\nhi\r\n")
        p = run(["--json", str(tmp_path)])
    else:
        p = run(["--json", str(path)])
    assert p.returncode == 1, p.stderr
    o = [x for x in objects(p) if x["source"].endswith(name + ".eml")][0]
    codes = [f["code"] for f in o["chain"]["findings"]]
    assert WANT_CODE[name] in codes, codes
    assert o["verdict"] in ("suspicious", "forged")
    if name == "many-received":
        assert len(o["hops"]) == 256


def test_truncated_mbox(tmp_path):
    path = tmp_path / "t.mbox"
    write_mbox(path, [message(0), message(1)])
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 33])
    p = run(["--json", "--trusted", "10.0.0.0/8", str(path)])
    objs = objects(p)
    assert len(objs) == 2 and p.returncode == 1
    assert "mbox-truncated" in [f["code"] for f in objs[1]["chain"]["findings"]]
    # Cut inside the header of the second message.
    path.write_bytes(data[:data.index(b"\nFrom sender@", 10) + 120])
    objs = objects(run(["--json", str(path)]))
    assert len(objs) == 2
    assert "no-body" in [f["code"] for f in objs[1]["chain"]["findings"]]


def test_version_names_the_libraries():
    p = subprocess.run([VERIFY, "-V"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert re.fullmatch(r"relaytrust-verify \d+\.\d+\.\d+", lines[0]), lines
    for lib in (r"libevent \S+", r"libunbound \d+\.\d+", r"libspf2 \d+\.\d+\.\d+",
                r"OpenSSL \d+\.\d+"):
        assert any(re.match(lib, line) for line in lines[1:]), (lib, lines)


def test_offline_with_dns_forward_is_a_usage_error():
    p = subprocess.run([VERIFY, "--offline", "--dns-forward", "127.0.0.1@53", "-"],
                       input=b"From: a@example.org\r\n\r\nhi\r\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2
    assert b"--offline and --dns-forward" in p.stderr
    assert p.stdout == b""


def test_empty_stdin_is_no_message():
    p = run(["--json"], input=b"")
    assert p.returncode == 2
    assert p.stdout == b""
    assert b"no message in the input" in p.stderr


def test_unreadable_path_is_not_a_message(tmp_path):
    good = tmp_path / "a.eml"
    good.write_text(message(0))
    p = run(["--json", "--trusted", "10.0.0.0/8", str(tmp_path / "missing.eml"), str(good)])
    assert p.returncode == 2, p.stderr
    objs = objects(p)
    # The unreadable path is reported (stderr and its JSON object), and not
    # counted among the verified messages.
    assert len(objs) == 2
    assert b"missing.eml: No such file or directory" in p.stderr
    assert re.search(rb"1 messages: ", p.stderr), p.stderr
    assert b"1 messages or paths could not be read" in p.stderr


def test_directory_says_what_it_left_out(tmp_path):
    (tmp_path / "a.eml").write_text(message(0))
    (tmp_path / "notes.txt").write_bytes(b"not mail")
    (tmp_path / "b.msg").write_text(message(1))
    p = run(["--json", "--trusted", "10.0.0.0/8", str(tmp_path)])
    assert len(objects(p)) == 1
    assert re.search(rb": 2 files left out: only \*\.eml files of a directory are read",
                     p.stderr), p.stderr


def test_signatures_past_the_limit_are_a_finding(tmp_path):
    """Issue 20: DKIM-Signature fields past AUTH_SIGS_MAX (32) were ignored
    without a word; they are a `truncated` finding now."""
    sigs = "".join("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s%d; "
                   "h=from; bh=AAAA; b=AAAA\n" % i for i in range(100))
    path = tmp_path / "many.eml"
    path.write_text(sigs + message(0))
    o = objects_any(run(["--json", "--trusted", "10.0.0.0/8", str(path)]))[0]
    assert len(o["dkim"]) == 32
    texts = [f["text"] for f in o["chain"]["findings"] if f["code"] == "truncated"]
    assert any("100 DKIM-Signature fields" in t and "68" in t for t in texts), texts


def objects_any(p):
    return [json.loads(line) for line in p.stdout.decode().splitlines()]
