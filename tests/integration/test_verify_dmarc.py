# SPDX-License-Identifier: ISC
"""relaytrust-verify: DMARC (RFC 7489), Authentication-Results claims,
verdicts, exit status, --at, --offline and the inferred trust boundary,
over the loopback test DNS server (dnsserver.py).

Every expected value below follows from how the message and the zone were
built (which key signed what, which records were published), never from
running the program. SPEC.md 3.1-3.3 is the contract.

Shape of the mail (newest first), modelled on test_verify_live.py:

    Return-Path: <envelope sender>              (written at delivery)
    [top]                                       fields above every Received
    Received: from mx.example.org [10.0.0.2] by inbox.example.org   hop 2
    [mid]                                       added by mx.example.org
    Received: from out.example.com [81.2.69.142] by mx.example.org  hop 1
    [below]                                     written by the sender
    DKIM-Signature: ...
    From / To / Subject / Date / Message-ID

so hop 1 is the MX entry, its sender 81.2.69.142 is the origin and
mx.example.org (the receiver of hop 1) is inside the trust boundary."""
import calendar
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import dkimgen  # noqa: E402
from dkimgen import CRLF, dkim_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")

KEY = dkimgen.Key("rsa", 2048)
SEL = "sel"
ORIGIN = "81.2.69.142"

DMARC_KEYS = ["from_domain", "org_domain", "record", "policy", "result", "dkim_aligned",
              "spf_aligned", "spf_domain", "spf_result", "record_domain", "adkim", "aspf",
              "pct", "from_count", "proven", "bis_policy_domain", "bis_org_domain", "note"]
CLAIM_KEYS = ["authserv_id", "hop", "trusted", "method", "result", "ours", "agree",
              "subject", "arc_instance"]

# Domains whose selector "sel" publishes KEY.
SIGNING_DOMAINS = ["example.com", "mail.example.com", "unrelated.net", "example.co.uk",
                   "other.co.uk", "norecord.com"]

SPF_PASS = "v=spf1 ip4:%s -all" % ORIGIN


def base_zone():
    """Keys, the origin's PTR/A (iprev pass) and SPF records."""
    z = {
        "142.69.2.81.in-addr.arpa": [{"PTR": "out.example.com"}],
        "out.example.com": [{"A": ORIGIN}, {"TXT": SPF_PASS}],
        "example.com": [{"TXT": SPF_PASS}],
        "bounce.example.com": [{"TXT": SPF_PASS}],
        "unrelated.net": [{"TXT": SPF_PASS}],
    }
    for d in SIGNING_DOMAINS:
        z["%s._domainkey.%s" % (SEL, d)] = [{"TXT": KEY.record()}]
    return z


RECV_IN = ("Received: from mx.example.org (mx.example.org [10.0.0.2])\r\n"
           "\tby inbox.example.org (Postfix) with ESMTP id A{n}\r\n"
           "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\r\n")
RECV_MX = ("Received: from out.example.com (out.example.com [{ip}])\r\n"
           "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
           "\tby mx.example.org (Postfix) with ESMTPS id B{n}\r\n"
           "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:05 +0000 (UTC)\r\n")
# Exim writes the envelope sender into its Received field.
RECV_MX_EXIM = ("Received: from out.example.com ([{ip}] helo=out.example.com)\r\n"
                "\tby mx.example.org with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
                "\t(Exim 4.96)\r\n"
                "\t(envelope-from <{envfrom}>)\r\n"
                "\tid 1rrB{n}-000A-00\r\n"
                "\tfor bob@example.org; Mon, 01 Apr 2024 10:00:05 +0000\r\n")
# Hop 3 of the delivery case: LMTP delivery from a public-looking address.
RECV_LMTP = ("Received: from inbox.example.org (inbox.example.org [93.184.216.40])\r\n"
             "\tby store.example.org (Dovecot) with LMTP id L{n}\r\n"
             "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:10 +0000\r\n")

_seq = [0]


def b(s):
    return s.encode() if isinstance(s, str) else s


def field(text):
    """A raw header field (CRLF) from text written with \\n."""
    text = text.replace("\r\n", "\n").rstrip("\n")
    return text.replace("\n", "\r\n").encode() + CRLF


def make(frm="alice@example.com", d="example.com", s=SEL, sign=True, rp="alice@example.com",
         from_field=None, body_change=False, top=(), mid=(), below=(), mx=None,
         envfrom=None, ip=ORIGIN, sig_kw=None, extra_received=()):
    """One message (bytes, CRLF). d/s: the signature (sign=False: none);
    from_field: the whole From: value (default "Alice <frm>");
    rp: Return-Path address (None: no Return-Path; "" the null sender);
    body_change: the body is altered after signing; top/mid/below: raw
    fields placed above hop 2's Received, between the two Received fields,
    below hop 1's Received; mx="exim" writes hop 1 in Exim's form with
    (envelope-from <envfrom>)."""
    _seq[0] += 1
    n = _seq[0]
    headers = [field("From: " + (from_field or "Alice <%s>" % frm)),
               field("To: Bob <bob@example.org>"),
               field("Subject: dmarc test %d" % n),
               field("Date: Mon, 01 Apr 2024 09:59:00 +0000"),
               field("Message-ID: <%d.dmarc@example.com>" % n)]
    body = dkimgen.body_of(n)
    sigs = []
    if sign:
        sigs.append(dkim_header(KEY, headers, body, d, s, **(sig_kw or {})))
    if body_change:
        body = body.replace(b"Hello Bob", b"Hello Eve")
    out = []
    if rp is not None:
        out.append(field("Return-Path: <%s>" % rp))
    out += [b(x) for x in top]
    out += [b(x) for x in extra_received]
    out.append(RECV_IN.format(n=n).encode())
    out += [b(x) for x in mid]
    if mx == "exim":
        out.append(RECV_MX_EXIM.format(n=n, ip=ip, envfrom=envfrom).encode())
    else:
        out.append(RECV_MX.format(n=n, ip=ip).encode())
    out += [b(x) for x in below]
    out += sigs + headers
    return b"".join(out) + CRLF + body


def mbox(msgs):
    data = b""
    for m in msgs:
        body = m.replace(CRLF, b"\n")
        assert b"\nFrom " not in body
        data += b"From sender@example.com Mon Apr  1 10:00:10 2024\n" + body
        if not body.endswith(b"\n"):
            data += b"\n"
        data += b"\n"
    return data


def run(data, dns=None, args=(), trusted=True, offline=False, jobs=None):
    cmd = [VERIFY, "--json", "--no-progress"]
    if offline:
        cmd.append("--offline")
    elif dns is not None:
        cmd += ["--dns-forward", "127.0.0.1@%d" % dns.port]
    if trusted:
        cmd += ["--trusted", "10.0.0.0/8"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    cmd += list(args) + ["-"]
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert p.returncode in (0, 1, 2), (p.returncode, err)
    out = [json.loads(line) for line in p.stdout.decode().splitlines()]
    for o in out:
        for k in DMARC_KEYS:
            assert k in o["dmarc"], (k, o["dmarc"])
        for c in o["claims"]:
            for k in CLAIM_KEYS:
                assert k in c, (k, c)
    return p, out


def one(data, dns=None, **kw):
    p, out = run(data, dns, **kw)
    assert len(out) == 1, p.stderr.decode()
    return p, out[0]


def codes(o, severity=None):
    return [f["code"] for f in o["chain"]["findings"]
            if severity is None or f["severity"] == severity]


def finding(o, code):
    fs = [f for f in o["chain"]["findings"] if f["code"] == code]
    return fs[0] if fs else None


def explain(p, o):
    return "dmarc=%s\nfindings=%s\ndkim=%s\nclaims=%s\nstderr=%s" % (
        json.dumps(o["dmarc"]), json.dumps(o["chain"]["findings"]), json.dumps(o["dkim"]),
        json.dumps(o["claims"]), p.stderr.decode("utf-8", "replace")[-2000:])


# ------------------------------------------------------------------ 1. DMARC
# (id, message kwargs, _dmarc records {domain: items}, expected dmarc fields,
#  expected verdict or a tuple of acceptable ones / "not:..." exclusions,
#  findings {code: severity} that must be there)
UNALIGNED_RP = "bounce@bounces.unrelated.net"     # NXDOMAIN: SPF none

DMARC_CASES = [
    ("aligned-dkim-reject",
     dict(rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", policy="reject", record="v=DMARC1; p=reject",
          from_domain="example.com", org_domain="example.com", record_domain="example.com",
          dkim_aligned="example.com", spf_aligned=None, spf_domain="bounces.unrelated.net",
          spf_result="none", proven=True),
     "authenticated", {}),
    ("unrelated-dkim-reject",
     dict(d="unrelated.net", rp="bounce@unrelated.net"),
     {"example.com": "v=DMARC1; p=reject"},
     dict(result="fail", policy="reject", dkim_aligned=None, spf_aligned=None,
          spf_domain="unrelated.net", spf_result="pass"),
     "forged", {"dmarc-fail": "error"}),
    ("relaxed-dkim",
     dict(d="mail.example.com", rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", policy="reject", dkim_aligned="mail.example.com"),
     "authenticated", {}),
    ("strict-dkim",
     dict(d="mail.example.com", rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject; adkim=s"},
     dict(result="fail", policy="reject", dkim_aligned=None, adkim="s"),
     "forged", {"dmarc-fail": "error"}),
    ("strict-dkim-exact",
     dict(d="example.com", rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=reject; adkim=s"},
     dict(result="pass", dkim_aligned="example.com", adkim="s"),
     "authenticated", {}),
    ("relaxed-spf",
     dict(sign=False, rp="b@bounce.example.com"), {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", policy="reject", dkim_aligned=None, spf_aligned="bounce.example.com",
          spf_domain="bounce.example.com", spf_result="pass"),
     "authenticated", {}),
    ("strict-spf",
     dict(sign=False, rp="b@bounce.example.com"),
     {"example.com": "v=DMARC1; p=reject; aspf=s"},
     dict(result="fail", policy="reject", spf_aligned=None, spf_domain="bounce.example.com",
          spf_result="pass", aspf="s"),
     "forged", {"dmarc-fail": "error"}),
    ("strict-spf-exact",
     dict(sign=False, rp="b@example.com"), {"example.com": "v=DMARC1; p=reject; aspf=s"},
     dict(result="pass", spf_aligned="example.com", spf_result="pass", aspf="s"),
     "authenticated", {}),
    # The MX-entry hop's envelope-from wins over a Return-Path rewritten later.
    ("envelope-from-in-received",
     dict(sign=False, rp="fwd@rewritten.example.org", mx="exim",
          envfrom="b@bounce.example.com"),
     {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", spf_domain="bounce.example.com", spf_result="pass",
          spf_aligned="bounce.example.com"),
     "authenticated", {}),
    # Null sender: SPF's identity is the HELO name (RFC 7208 2.4).
    ("null-sender-helo",
     dict(sign=False, rp=""), {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", spf_domain="out.example.com", spf_result="pass",
          spf_aligned="out.example.com"),
     "authenticated", {}),
    ("sp-subdomain",
     dict(frm="alice@news.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=none; sp=reject"},
     dict(result="fail", policy="reject", from_domain="news.example.com",
          org_domain="example.com", record_domain="example.com",
          record="v=DMARC1; p=none; sp=reject"),
     "forged", {"dmarc-fail": "error"}),
    ("sp-org-itself",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=none; sp=reject"},
     dict(result="fail", policy="none", from_domain="example.com",
          record_domain="example.com"),
     "suspicious", {"dmarc-fail": "warn"}),
    ("sp-subdomain-pass",
     dict(frm="alice@news.example.com", rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=none; sp=reject"},
     dict(result="pass", policy="reject", dkim_aligned="example.com",
          record_domain="example.com"),
     "authenticated", {}),
    # The From domain's own record wins over the organizational domain's sp=.
    ("subdomain-own-record",
     dict(frm="alice@news.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject; sp=reject", "news.example.com": "v=DMARC1; p=none"},
     dict(result="fail", policy="none", record_domain="news.example.com",
          record="v=DMARC1; p=none"),
     "suspicious", {"dmarc-fail": "warn"}),
    ("subdomain-fallback",
     dict(frm="alice@a.b.example.com", rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=quarantine"},
     dict(result="pass", policy="quarantine", from_domain="a.b.example.com",
          org_domain="example.com", record_domain="example.com",
          dkim_aligned="example.com"),
     "authenticated", {}),
    ("subdomain-fallback-fail",
     dict(frm="alice@a.b.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=quarantine"},
     dict(result="fail", policy="quarantine", org_domain="example.com",
          record_domain="example.com"),
     "forged", {"dmarc-fail": "error"}),
    ("psl-co-uk",
     dict(frm="alice@mail.example.co.uk", d="example.co.uk", rp=UNALIGNED_RP),
     {"example.co.uk": "v=DMARC1; p=reject"},
     dict(result="pass", policy="reject", from_domain="mail.example.co.uk",
          org_domain="example.co.uk", record_domain="example.co.uk",
          dkim_aligned="example.co.uk"),
     "authenticated", {}),
    # other.co.uk shares only the public suffix co.uk: not aligned.
    ("psl-co-uk-other",
     dict(frm="alice@mail.example.co.uk", d="other.co.uk", rp=UNALIGNED_RP),
     {"example.co.uk": "v=DMARC1; p=reject"},
     dict(result="fail", policy="reject", org_domain="example.co.uk", dkim_aligned=None),
     "forged", {"dmarc-fail": "error"}),
    ("no-record-unsigned",
     dict(frm="alice@norecord.com", sign=False, rp=UNALIGNED_RP), {},
     dict(result="none", record=None, policy=None, from_domain="norecord.com",
          org_domain="norecord.com", dkim_aligned=None, spf_aligned=None),
     "unauthenticated", {}),
    ("no-record-aligned-dkim",
     dict(frm="alice@norecord.com", d="norecord.com", rp=UNALIGNED_RP), {},
     dict(result="none", record=None, policy=None, proven=True),
     "authenticated", {}),
    ("no-record-aligned-spf",
     dict(frm="alice@example.com", sign=False, rp="b@bounce.example.com"), {},
     dict(result="none", record=None, policy=None, spf_result="pass",
          spf_domain="bounce.example.com", proven=True),
     "authenticated", {}),
    ("bogus-p",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=bogus"},
     dict(result="permerror", record="v=DMARC1; p=bogus", proven=False),
     "not:authenticated,forged", {}),
    ("bogus-p-aligned-dkim",
     dict(rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=bogus"},
     dict(result="permerror", proven=True),
     "authenticated", {}),
    ("two-records",
     dict(sign=False, rp=UNALIGNED_RP),
     {"example.com": [{"TXT": "v=DMARC1; p=reject"}, {"TXT": "v=DMARC1; p=none"}]},
     dict(result="permerror", proven=False),
     "not:authenticated,forged", {}),
    ("two-records-aligned-dkim",
     dict(rp=UNALIGNED_RP),
     {"example.com": [{"TXT": "v=DMARC1; p=reject"}, {"TXT": "v=DMARC1; p=none"}]},
     dict(result="permerror", proven=True),
     "authenticated", {}),
    ("dmarc-timeout-aligned-dkim",
     dict(rp=UNALIGNED_RP), {"example.com": ["TIMEOUT"]},
     dict(result="temperror", record=None, proven=True, dkim_aligned="example.com"),
     "authenticated", {}),
    ("dmarc-timeout-unsigned",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": ["TIMEOUT"]},
     dict(result="temperror", record=None, proven=False),
     "not:authenticated,forged", {}),
    ("dmarc-servfail-unsigned",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": ["SERVFAIL"]},
     dict(result="temperror", record=None, proven=False),
     "not:authenticated,forged", {}),
    ("p-none-fail",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=none"},
     dict(result="fail", policy="none", record="v=DMARC1; p=none", proven=False),
     "suspicious", {"dmarc-fail": "warn"}),
    # pct= is reported, not applied (SPEC 3.2: forged for quarantine/reject).
    ("pct-reported",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=quarantine; pct=20"},
     dict(result="fail", policy="quarantine", pct=20),
     "forged", {"dmarc-fail": "error"}),
    # A record split into two character-strings is one record (RFC 7208-like
    # concatenation, RFC 7489 6.6.3).
    ("record-split-strings",
     dict(sign=False, rp=UNALIGNED_RP), {"example.com": [{"TXT": ["v=DMARC1; ", "p=reject"]}]},
     dict(result="fail", policy="reject", record="v=DMARC1; p=reject"),
     "forged", {"dmarc-fail": "error"}),
    # Hosted DMARC: _dmarc is a CNAME to the provider's name.
    ("record-cname",
     dict(sign=False, rp=UNALIGNED_RP),
     {"example.com": [{"CNAME": "example.com.dmarc.provider.example.net"}]},
     dict(result="fail", policy="quarantine", record="v=DMARC1; p=quarantine",
          record_domain="example.com"),
     "forged", {"dmarc-fail": "error"}),
    # Other TXT records beside the DMARC one are ignored.
    ("record-among-other-txt",
     dict(rp=UNALIGNED_RP),
     {"example.com": [{"TXT": "google-site-verification=abc"}, {"TXT": "v=DMARC1; p=reject"}]},
     dict(result="pass", policy="reject", record="v=DMARC1; p=reject"),
     "authenticated", {}),
    # A non-DMARC TXT at _dmarc.FROM is "no record": discovery goes on to
    # the organizational domain.
    ("subdomain-non-dmarc-txt-fallback",
     dict(frm="alice@news.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject", "news.example.com": [{"TXT": "v=spf1 -all"}]},
     dict(result="fail", policy="reject", record_domain="example.com"),
     "forged", {"dmarc-fail": "error"}),
    # A temporary failure at _dmarc.FROM cannot be read as "no record":
    # no fallback to the organizational domain's p=none.
    ("subdomain-servfail-no-fallback",
     dict(frm="alice@news.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=none", "news.example.com": ["SERVFAIL"]},
     dict(result="temperror", record=None, policy=None, proven=False),
     "not:authenticated,forged", {}),
    # An unusable record at the From domain does not send discovery on.
    ("subdomain-bogus-no-fallback",
     dict(frm="alice@news.example.com", sign=False, rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject", "news.example.com": "v=DMARC1; p=bogus"},
     dict(result="permerror", record_domain="news.example.com", proven=False),
     "not:authenticated,forged", {}),
    # A record at the public suffix is not an RFC 7489 policy.
    ("no-record-psd-ignored",
     dict(frm="alice@norecord.com", sign=False, rp=UNALIGNED_RP), {"com": "v=DMARC1; p=reject"},
     dict(result="none", record=None, policy=None, org_domain="norecord.com"),
     "not:authenticated,forged", {}),
    # An aligned envelope domain whose SPF is softfail proves nothing.
    ("spf-softfail-aligned",
     dict(sign=False, rp="b@soft.example.com"), {"example.com": "v=DMARC1; p=reject"},
     dict(result="fail", spf_domain="soft.example.com", spf_result="softfail",
          spf_aligned=None),
     "forged", {"dmarc-fail": "error"}),
    # Upper case in From: and d= (domains compare case-insensitively).
    ("case-insensitive-domains",
     dict(frm="alice@EXAMPLE.COM", d="Example.Com", rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject"},
     dict(result="pass", from_domain="example.com"),
     "authenticated", {}),
    # The display name holds an address of the signing domain; the real
    # address is elsewhere: DMARC is about the addr-spec only.
    ("display-name-address",
     dict(from_field='"alice@example.com" <mallory@evil.example>', rp=UNALIGNED_RP),
     {"example.com": "v=DMARC1; p=reject"},
     dict(from_domain="evil.example", result="none", dkim_aligned=None, proven=False),
     "not:authenticated", {}),
    # The aligned signature's key cannot be fetched (SERVFAIL): it could
    # have passed, so DMARC cannot say fail.
    ("aligned-key-servfail",
     dict(s="tempkey", rp=UNALIGNED_RP), {"example.com": "v=DMARC1; p=reject"},
     dict(result="temperror", policy="reject", proven=False),
     "not:authenticated,forged", {}),
    # ... unless the body alone proves the signature broken.
    ("aligned-key-servfail-body-changed",
     dict(s="tempkey", rp=UNALIGNED_RP, body_change=True),
     {"example.com": "v=DMARC1; p=reject"},
     dict(result="fail", policy="reject", dkim_aligned=None),
     "forged", {"dmarc-fail": "error"}),
]

EXTRA_ZONE = {"tempkey._domainkey.example.com": ["SERVFAIL"],
              "example.com.dmarc.provider.example.net": [{"TXT": "v=DMARC1; p=quarantine"}],
              "soft.example.com": [{"TXT": "v=spf1 ~all"}]}


def case_zone(dmarc):
    z = base_zone()
    for dom, items in dmarc.items():
        z["_dmarc." + dom] = [{"TXT": items}] if isinstance(items, str) else items
    z.update(EXTRA_ZONE)
    return z


def check_verdict(o, want, p):
    v = o["verdict"]
    if want.startswith("not:"):
        assert v not in want[4:].split(","), explain(p, o)
    else:
        assert v == want, "verdict %s, want %s\n%s" % (v, want, explain(p, o))
    assert p.returncode == (0 if v == "authenticated" else 1), (p.returncode, v)


CASE_MSGS = {c[0]: make(**c[1]) for c in DMARC_CASES}


@pytest.mark.parametrize("name,kw,dmarc,want,verdict,findings", DMARC_CASES,
                         ids=[c[0] for c in DMARC_CASES])
def test_dmarc(dns, name, kw, dmarc, want, verdict, findings):
    dns.set_zone(case_zone(dmarc))
    p, o = one(CASE_MSGS[name], dns)
    d = o["dmarc"]
    for k, v in want.items():
        assert d[k] == v, "%s: dmarc.%s is %r, want %r\n%s" % (name, k, d[k], v, explain(p, o))
    if d["result"] == "temperror":
        assert d["note"], "a temperror says why\n" + explain(p, o)
    check_verdict(o, verdict, p)
    for code, sev in findings.items():
        f = finding(o, code)
        assert f is not None and f["severity"] == sev, \
            "%s: want finding %s (%s)\n%s" % (name, code, sev, explain(p, o))
    if d["result"] != "fail":
        assert "dmarc-fail" not in codes(o), explain(p, o)
    # No broken-inside or contradiction: these messages carry no claims.
    assert o["claims"] == []


@pytest.mark.parametrize("jobs", [1, 4])
def test_one_dmarc_query_per_domain(dns, jobs):
    """Five messages From example.com and three From news.example.com in one
    mbox: _dmarc.example.com and _dmarc.news.example.com asked once each."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    msgs = [make(rp=UNALIGNED_RP) for _ in range(5)] + \
           [make(frm="alice@news.example.com", rp=UNALIGNED_RP) for _ in range(3)]
    dns.clear_queries()
    p, out = run(mbox(msgs), dns, jobs=jobs)
    assert len(out) == 8, p.stderr
    assert all(o["verdict"] == "authenticated" for o in out), [o["dmarc"] for o in out]
    assert p.returncode == 0
    qs = [(q[0], q[1]) for q in dns.queries]
    assert qs.count(("_dmarc.example.com", "TXT")) == 1, qs
    assert qs.count(("_dmarc.news.example.com", "TXT")) == 1, qs


# ------------------------------------------------------------------ 2. offline
def keys_file(tmp_path, dmarc=None, key=True):
    lines = []
    if key:
        p = KEY.record()
        parts = [p[k:k + 200] for k in range(0, len(p), 200)]
        lines.append("%s._domainkey.example.com. 300 IN TXT ( %s )" % (
            SEL, " ".join('"%s"' % x for x in parts)))
    if dmarc is not None:
        lines.append('_dmarc.example.com. IN TXT "%s"' % dmarc)
    path = tmp_path / "keys.zone"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_offline_key_and_record(tmp_path):
    kf = keys_file(tmp_path, "v=DMARC1; p=reject")
    p, o = one(make(), offline=True, args=["--keys", kf])
    assert o["dkim"][0]["result"] == "pass", explain(p, o)
    d = o["dmarc"]
    assert (d["result"], d["policy"], d["dkim_aligned"]) == ("pass", "reject", "example.com"), \
        explain(p, o)
    assert d["record"] == "v=DMARC1; p=reject"
    assert d["spf_result"] is None and o["chain"]["spf"] is None
    check_verdict(o, "authenticated", p)


def test_offline_key_only(tmp_path):
    """The _dmarc record was not looked up: temperror, but the aligned DKIM
    pass proves the From domain."""
    kf = keys_file(tmp_path, None)
    p, o = one(make(), offline=True, args=["--keys", kf])
    assert o["dkim"][0]["result"] == "pass", explain(p, o)
    d = o["dmarc"]
    assert d["result"] == "temperror" and d["record"] is None, explain(p, o)
    assert d["note"] and d["proven"] is True, explain(p, o)
    check_verdict(o, "authenticated", p)


def test_offline_unsigned_aligned_envelope(tmp_path):
    """Unsigned, the envelope domain aligns but SPF cannot be evaluated
    offline: not fail (the aligned identity was not checked), temperror."""
    kf = keys_file(tmp_path, "v=DMARC1; p=reject")
    p, o = one(make(sign=False, rp="alice@example.com"), offline=True, args=["--keys", kf])
    d = o["dmarc"]
    assert d["result"] == "temperror" and d["note"], explain(p, o)
    assert d["policy"] == "reject" or d["policy"] is None
    check_verdict(o, "not:authenticated,forged", p)


def test_offline_unsigned_unaligned_envelope(tmp_path):
    """Unsigned and nothing could align: a definite fail under p=reject."""
    kf = keys_file(tmp_path, "v=DMARC1; p=reject")
    p, o = one(make(sign=False, rp=UNALIGNED_RP), offline=True, args=["--keys", kf])
    d = o["dmarc"]
    assert (d["result"], d["policy"]) == ("fail", "reject"), explain(p, o)
    check_verdict(o, "forged", p)


def test_offline_without_keys_nothing_is_authenticated():
    """Every message of the DMARC table, offline with no --keys: no key and
    no record can be read, no SPF evaluated, so none is authenticated."""
    names = [c[0] for c in DMARC_CASES]
    p, out = run(mbox([CASE_MSGS[n] for n in names]), offline=True)
    assert len(out) == len(names), p.stderr
    bad = [(n, o["verdict"], o["dmarc"]["result"]) for n, o in zip(names, out)
           if o["verdict"] == "authenticated" or o["dmarc"]["proven"]]
    assert not bad, bad
    for n, o in zip(names, out):
        assert o["dmarc"]["spf_result"] is None, n
        assert o["dmarc"]["result"] in ("temperror", "none", "fail", "permerror"), n
        assert o["dmarc"]["record"] is None, (n, o["dmarc"])
    assert p.returncode == 1


def test_offline_claims_have_no_spf_to_compare(tmp_path):
    """Offline, nothing was evaluated for the origin: a trusted spf claim
    has no "ours"; the dkim claim is compared with the key from --keys."""
    kf = keys_file(tmp_path, "v=DMARC1; p=reject")
    p, o = one(make(mid=[field(AR_MX)]), offline=True, args=["--keys", kf])
    spf = claims_of(o, "spf")[0]
    assert spf["trusted"] is True and spf["ours"] is None and spf["agree"] is None, spf
    dk = claims_of(o, "dkim")[0]
    assert dk["ours"] == "pass" and dk["agree"] is True, dk
    check_verdict(o, "authenticated", p)


# ------------------------------------------------- 3. body hash without a key
@pytest.mark.parametrize("mode", ["nxdomain", "servfail", "offline"])
def test_body_hash_mismatch_without_key(dns, mode):
    dns.set_zone(case_zone({}))
    s = {"nxdomain": "nokey", "servfail": "tempkey", "offline": SEL}[mode]
    msg = make(s=s, rp=UNALIGNED_RP, body_change=True)
    if mode == "offline":
        p, o = one(msg, offline=True)
    else:
        p, o = one(msg, dns)
    sig = o["dkim"][0]
    assert sig["result"] == "fail", explain(p, o)
    assert sig["reason"] == "body-hash-mismatch", explain(p, o)
    assert sig["body_hash"] == "mismatch", explain(p, o)
    assert o["verdict"] != "authenticated"


# ------------------------------------------------------------------ 4. claims
AR_MX = ("Authentication-Results: mx.example.org; dkim=pass header.d=example.com;\n"
         "\tspf=pass smtp.mailfrom=example.com")


def claims_of(o, method):
    return [c for c in o["claims"] if c["method"] == method]


def test_claim_trusted_agrees(dns):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    msg = make(rp="alice@example.com",
               mid=[field(AR_MX + ";\n\tdmarc=pass header.from=example.com")])
    p, o = one(msg, dns)
    assert o["dkim"][0]["result"] == "pass"
    assert len(o["claims"]) == 3, explain(p, o)
    for method in ("dkim", "spf", "dmarc"):
        c = claims_of(o, method)[0]
        assert c["authserv_id"] == "mx.example.org", c
        assert c["hop"] == 1 and c["trusted"] is True, c
        assert c["result"] == "pass" and c["ours"] == "pass" and c["agree"] is True, \
            explain(p, o)
    assert o["chain"]["spf"] == "pass"
    assert not [x for x in codes(o) if x.startswith(("claim-", "dkim-broken"))], explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_trusted_body_changed_is_broken_inside(dns):
    # No _dmarc record: forged can come from nothing but the broken signature.
    dns.set_zone(case_zone({}))
    msg = make(rp="alice@example.com", body_change=True, mid=[field(AR_MX)])
    p, o = one(msg, dns)
    sig = o["dkim"][0]
    assert (sig["result"], sig["reason"]) == ("fail", "body-hash-mismatch"), explain(p, o)
    c = claims_of(o, "dkim")[0]
    assert c["hop"] == 1 and c["trusted"] is True
    assert c["result"] == "pass" and c["ours"] == "fail" and c["agree"] is False, c
    f = finding(o, "dkim-broken-inside")
    assert f is not None and f["severity"] == "error", explain(p, o)
    # The SPF claim still agrees; the error outweighs the aligned SPF pass.
    s = claims_of(o, "spf")[0]
    assert s["ours"] == "pass" and s["agree"] is True, s
    check_verdict(o, "forged", p)


def test_claim_below_received_is_untrusted(dns):
    """A sender-written A-R (below every Received) claiming failures on a
    message that verifies: listed, untrusted, no finding."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = ("Authentication-Results: mx.example.org; dkim=fail header.d=example.com;\n"
          "\tspf=fail smtp.mailfrom=example.com")
    p, o = one(make(rp="alice@example.com", below=[field(ar)]), dns)
    assert len(o["claims"]) == 2, explain(p, o)
    for c in o["claims"]:
        assert c["trusted"] is False, c
        assert c["hop"] in (None, 0), c
    s = claims_of(o, "spf")[0]
    # Not made by the MX-entry hop's receiver: nothing to compare.
    assert s["ours"] is None and s["agree"] is None, s
    assert not [x for x in codes(o) if x.startswith(("claim-", "dkim-broken"))], explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_by_internal_host_on_top(dns):
    """An A-R above every Received belongs to hop N (2 here); its spf claim
    is about the internal relay, not the origin: nothing to compare."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = "Authentication-Results: inbox.example.org; spf=none smtp.mailfrom=example.com"
    p, o = one(make(rp="alice@example.com", top=[field(ar)]), dns)
    c = o["claims"][0]
    assert (c["authserv_id"], c["hop"], c["trusted"], c["method"]) == \
        ("inbox.example.org", 2, True, "spf"), c
    assert c["ours"] is None and c["agree"] is None, c
    assert not [x for x in codes(o) if x.startswith("claim-")], explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_trusted_contradicted(dns):
    """A trusted dkim=fail against our pass: claim-contradicted (warn); the
    From domain is still proven."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = "Authentication-Results: mx.example.org; dkim=fail header.d=example.com"
    p, o = one(make(rp=UNALIGNED_RP, mid=[field(ar)]), dns)
    c = claims_of(o, "dkim")[0]
    assert c["trusted"] is True and c["ours"] == "pass" and c["agree"] is False, c
    f = finding(o, "claim-contradicted")
    assert f is not None and f["severity"] == "warn", explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_dkim_unknown_signature(dns):
    """A trusted dkim=pass for a d= that signed nothing here: ours "none"."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = "Authentication-Results: mx.example.org; dkim=pass header.d=elsewhere.example.net"
    p, o = one(make(rp=UNALIGNED_RP, mid=[field(ar)]), dns)
    c = claims_of(o, "dkim")[0]
    assert c["trusted"] is True and c["ours"] == "none" and c["agree"] is False, c


def test_claim_unparsed(dns):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = "Authentication-Results: ;;; === (unterminated"
    p, o = one(make(rp=UNALIGNED_RP, mid=[field(ar)]), dns)
    f = finding(o, "claim-unparsed")
    assert f is not None and f["severity"] == "info", explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_common_receiver_syntax(dns):
    """The A-R as large receivers write it: header.i=@domain with header.s
    and header.b, a comment, smtp.mailfrom as a full address, dmarc with a
    policy comment; plus iprev with policy.iprev. All agree."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    ar = ("Authentication-Results: mx.example.org;\n"
          "       dkim=pass header.i=@example.com header.s=sel header.b=AbCdEfGh;\n"
          "       spf=pass (mx.example.org: domain of alice@example.com designates\n"
          "        81.2.69.142 as permitted sender) smtp.mailfrom=alice@example.com;\n"
          "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com;\n"
          "       iprev=pass policy.iprev=81.2.69.142 (out.example.com)")
    p, o = one(make(rp="alice@example.com", mid=[field(ar)]), dns)
    got = {c["method"]: c for c in o["claims"]}
    assert sorted(got) == ["dkim", "dmarc", "iprev", "spf"], explain(p, o)
    for m, c in got.items():
        assert (c["hop"], c["trusted"], c["result"]) == (1, True, "pass"), c
        assert c["ours"] == "pass" and c["agree"] is True, (m, explain(p, o))
    assert not [x for x in codes(o) if x.startswith("claim-")], explain(p, o)
    check_verdict(o, "authenticated", p)


def test_claim_broken_inside_names_the_hop_after_the_check(dns):
    """mx.example.org (receiver of hop 1) verified the signature: whatever
    broke it came later, at hop 2 at the earliest. Every part of the output
    that says where it broke must say so (dkim[].hop_broken and the
    dkim-fail finding alike)."""
    dns.set_zone(case_zone({}))
    p, o = one(make(rp="alice@example.com", body_change=True, mid=[field(AR_MX)]), dns)
    sig = o["dkim"][0]
    assert sig["hop_broken"] == 2, explain(p, o)
    for f in o["chain"]["findings"]:
        if f["code"] == "dkim-fail":
            assert f["hop"] == 2 and "hop 1 (" not in f["text"], \
                "dkim-fail finding disagrees with hop_broken=2: %r" % f


def test_duplicate_from_is_not_authenticated(dns):
    """A From: prepended above a correctly signed message: the signature
    covers the original From: only; the message is not authenticated."""
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    m = make(rp=UNALIGNED_RP)
    i = m.index(b"DKIM-Signature")
    m = m[:i] + b"From: Boss <boss@bank.example>\r\n" + m[i:]
    p, o = one(m, dns)
    assert o["dkim"][0]["result"] == "pass"
    assert o["dmarc"]["from_count"] == 2, explain(p, o)
    check_verdict(o, "not:authenticated", p)


# ------------------------------------------------------------ 5. exit status
def test_exit_status(dns):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    good = [make(rp=UNALIGNED_RP), make(sign=False, rp="b@bounce.example.com")]
    p, out = run(mbox(good), dns)
    assert [o["verdict"] for o in out] == ["authenticated"] * 2, [o["dmarc"] for o in out]
    assert p.returncode == 0, p.stderr
    bad = good + [make(frm="alice@norecord.com", sign=False, rp=UNALIGNED_RP)]
    p, out = run(mbox(bad), dns)
    assert [o["verdict"] for o in out] == ["authenticated"] * 2 + ["unauthenticated"]
    assert p.returncode == 1


# ------------------------------------------------------------------- 6. --at
SIGN_TIME = calendar.timegm((2024, 4, 1, 9, 59, 0))
T_PAST = SIGN_TIME - 86400 * 40          # 2024-02-21T09:59:00Z
X_PAST = SIGN_TIME - 86400 * 30          # 2024-03-02T09:59:00Z, before hop 1


@pytest.fixture
def expired_msg():
    return make(rp=UNALIGNED_RP, sig_kw=dict(t=T_PAST, x=X_PAST))


def test_at_default_is_arrival_time(dns, expired_msg):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    p, o = one(expired_msg, dns)
    sig = o["dkim"][0]
    assert sig["result"] != "pass" and sig["reason"] == "signature-expired", explain(p, o)
    assert o["dmarc"]["result"] == "fail"
    check_verdict(o, "forged", p)


@pytest.mark.parametrize("at", ["2024-02-25T12:00:00Z", str(T_PAST + 86400 * 4)])
def test_at_before_expiry(dns, expired_msg, at):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    p, o = one(expired_msg, dns, args=["--at", at])
    sig = o["dkim"][0]
    assert sig["result"] == "pass" and sig["reason"] is None, explain(p, o)
    assert o["dmarc"]["result"] == "pass"
    check_verdict(o, "authenticated", p)


def test_at_garbage_is_usage_error(dns, expired_msg):
    p = subprocess.run([VERIFY, "--json", "--no-progress", "--dns-forward",
                        "127.0.0.1@%d" % dns.port, "--at", "garbage", "-"],
                       input=expired_msg, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 2, p.stderr
    assert p.stdout == b""
    assert p.stderr, "a usage error says what is wrong"


# ------------------------------------------------------- 7. inferred boundary
def delivered_msg():
    return make(rp="alice@example.com", top=[RECV_LMTP.format(n=0)])


def test_boundary_inferred_through_lmtp_and_private_relay(dns):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    p, o = one(delivered_msg(), dns, trusted=False)
    assert len(o["hops"]) == 3
    assert o["hops"][2]["kind"] == "delivery", o["hops"]
    ch = o["chain"]
    assert ch["boundary_hop"] == 1 and ch["boundary_source"] == "inferred", ch
    assert ch["origin_ip"] == ORIGIN and ch["spf"] == "pass" and ch["iprev"] == "pass", ch
    d = o["dmarc"]
    assert d["result"] == "pass" and d["spf_domain"] == "example.com"
    assert d["spf_result"] == "pass" and d["spf_aligned"] == "example.com", d
    assert "reserved-ip" not in codes(o) and "private-ip" not in codes(o), explain(p, o)
    check_verdict(o, "authenticated", p)


def test_documentation_origin_is_reserved_ip(dns):
    """An origin in 203.0.113.0/24 (TEST-NET-3) at the boundary: reserved-ip
    warn; unsigned with no record, the message is suspicious."""
    dns.set_zone(case_zone({}))
    p, o = one(make(frm="alice@norecord.com", sign=False, rp=UNALIGNED_RP, ip="203.0.113.5"),
               dns, trusted=False)
    assert o["chain"]["origin_ip"] == "203.0.113.5"
    f = finding(o, "reserved-ip")
    assert f is not None and f["severity"] == "warn", explain(p, o)
    check_verdict(o, "suspicious", p)


def test_boundary_given(dns):
    dns.set_zone(case_zone({"example.com": "v=DMARC1; p=reject"}))
    p, o = one(delivered_msg(), dns, trusted=False,
               args=["--trusted", "10.0.0.0/8", "--trusted", "93.184.216.40"])
    ch = o["chain"]
    assert ch["boundary_hop"] == 1 and ch["boundary_source"] == "given", ch
    assert ch["origin_ip"] == ORIGIN
    check_verdict(o, "authenticated", p)
