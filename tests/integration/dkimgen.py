# SPDX-License-Identifier: ISC
"""dkimgen - a DKIM and ARC signer of our own, and a corpus of signed
messages whose expected verification results follow from how each message
was built (never from another verifier).

SYNOPSIS
    import dkimgen
    keys = dkimgen.Keys()                  # RSA 512..4096 and Ed25519
    cases = dkimgen.corpus(keys, now)      # [Case]
    zone = dkimgen.zone(cases)             # for TestDNS.set_zone()
    text = dkimgen.zone_file(cases)        # for --keys
    dkimgen.write_mbox(path, cases); dkimgen.write_maildir(path, cases)

    python3 tests/integration/dkimgen.py OUTDIR [N]
        writes OUTDIR/corpus.mbox, OUTDIR/Maildir, OUTDIR/eml/*.eml,
        OUTDIR/keys.zone and OUTDIR/zone.json (N messages, default 2000).

Each Case has .name, .msg (bytes, CRLF), .sigs (expected per DKIM-Signature,
top to bottom: dict result, reason, body_hash, header_sig, weak, key_bits),
.arc (expected chain result or None), .findings (codes that must appear) and
.records ({dns name: [zone items]}) its keys need.
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

CRLF = b"\r\n"
DOMAIN = "example.com"


# ------------------------------------------------------------ canonicalization
def canon_header(c, raw):
    """raw: b"Name: value\r\n" (folded). Returns the canonical bytes."""
    if c == "simple":
        return raw if raw.endswith(CRLF) else raw + CRLF
    name, _, value = raw.partition(b":")
    value = re.sub(rb"\r\n(?=[ \t])", b"", value)
    value = value.replace(b"\r\n", b"")
    value = re.sub(rb"[ \t]+", b" ", value).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + CRLF


def canon_body(c, body):
    lines = body.split(CRLF)
    if lines and lines[-1] == b"":
        lines.pop()
    if c == "relaxed":
        lines = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return CRLF if c == "simple" else b""
    return CRLF.join(lines) + CRLF


def strip_b(raw):
    return re.sub(rb"(^|;)([ \t\r\n]*b[ \t\r\n]*=)[^;]*", lambda m: m.group(1) + m.group(2),
                  raw, count=1)


def fold(text, width=70):
    """Fold a field at spaces, CRLF + tab."""
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = line + " " + word if line else word
    out.append(line)
    return "\r\n\t".join(out)


# ------------------------------------------------------------------- keys
class Key:
    def __init__(self, kind, bits=0):
        self.kind, self.bits = kind, bits
        if kind == "rsa" and bits < 1024:
            # newer cryptography refuses to make small keys: ask OpenSSL
            pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                  "rsa_keygen_bits:%d" % bits], check=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
            self.priv = serialization.load_pem_private_key(pem, password=None)
        if kind == "rsa":
            if bits >= 1024:
                self.priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            der = self.priv.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        else:
            self.priv = ed25519.Ed25519PrivateKey.generate()
            der = self.priv.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.bits = 256
        self.p = base64.b64encode(der).decode()

    def record(self, extra=""):
        return "v=DKIM1; k=%s; %sp=%s" % (self.kind, extra, self.p)

    def sign(self, alg, data):
        if self.kind == "ed25519":
            return self.priv.sign(hashlib.sha256(data).digest())
        h = hashes.SHA1() if alg == "rsa-sha1" else hashes.SHA256()
        return self.priv.sign(data, padding.PKCS1v15(), h)


class Keys:
    def __init__(self, sizes=(512, 768, 1024, 2048, 4096)):
        self.rsa = {b: Key("rsa", b) for b in sizes}
        self.ed = Key("ed25519")


# ------------------------------------------------------------------ signer
def dkim_header(key, headers, body, d, s, alg="rsa-sha256", c="relaxed/relaxed",
                h=("from", "to", "subject", "date", "message-id"), l=None, t=None,
                x=None, i=None, extra="", field="DKIM-Signature", tags=None,
                drop=(), bh_override=None):
    """headers: list of raw fields (bytes, CRLF). Returns the signature field
    (bytes, CRLF) made over the headers selected bottom-up by h."""
    hc, _, bc = c.partition("/")
    bc = bc or "simple"
    cb = canon_body(bc, body)
    if l is not None:
        cb = cb[:l]
    hfn = hashlib.sha1 if alg == "rsa-sha1" else hashlib.sha256
    bh = bh_override or base64.b64encode(hfn(cb).digest()).decode()
    tl = tags if tags is not None else []
    if field == "DKIM-Signature":
        tl = [("v", "1")] + tl
    tl += [("a", alg), ("c", c), ("d", d), ("s", s)]
    if i is not None:
        tl.append(("i", i))
    if l is not None:
        tl.append(("l", str(l)))
    if t is not None:
        tl.append(("t", str(t)))
    if x is not None:
        tl.append(("x", str(x)))
    tl += [("h", ":".join(h)), ("bh", bh)]
    tl = [kv for kv in tl if kv[0] not in drop]
    value = "; ".join("%s=%s" % kv for kv in tl) + extra + "; b="
    raw = (field + ": " + fold(value)).encode()
    data = b""
    used = set()
    for name in h:
        for k in range(len(headers) - 1, -1, -1):
            if k in used:
                continue
            if headers[k].split(b":", 1)[0].strip().lower() == name.lower().encode():
                used.add(k)
                data += canon_header(hc, headers[k])
                break
    data += canon_header(hc, raw + CRLF)[:-2]
    sig = base64.b64encode(key.sign(alg, data)).decode()
    return raw + fold_b(sig) + CRLF


def fold_b(sig):
    return "\r\n\t".join(sig[k:k + 64] for k in range(0, len(sig), 64)).encode()


def arc_set(key, headers, body, inst, d, s, cv, ams_h=("from", "to", "subject", "date"),
            dkim="pass"):
    """Returns [AAR, AMS, AS] raw fields for instance inst over headers (the
    current header, newest first) and the ARC sets already in it."""
    aar = ("ARC-Authentication-Results: i=%d; mx%d.%s; dkim=%s header.d=%s" %
           (inst, inst, d, dkim, DOMAIN)).encode() + CRLF
    ams = dkim_header(key, headers, body, d, s, c="relaxed/relaxed", h=ams_h,
                      alg="ed25519-sha256" if key.kind == "ed25519" else "rsa-sha256",
                      field="ARC-Message-Signature", tags=[("i", str(inst))])
    # the seal covers AAR, AMS, AS of every set 1..inst, oldest first
    sets = {}
    for raw in headers + [aar, ams]:
        name = raw.split(b":", 1)[0].strip().lower()
        if name in (b"arc-authentication-results", b"arc-message-signature", b"arc-seal"):
            m = re.search(rb"i=(\d+)", raw)
            sets.setdefault(int(m.group(1)), {})[name] = raw
    value = "i=%d; a=%s; cv=%s; d=%s; s=%s; b=" % (
        inst, "ed25519-sha256" if key.kind == "ed25519" else "rsa-sha256", cv, d, s)
    as_raw = ("ARC-Seal: " + value).encode()
    data = b""
    for n in sorted(sets):
        for nm in (b"arc-authentication-results", b"arc-message-signature", b"arc-seal"):
            if n == inst and nm == b"arc-seal":
                data += canon_header("relaxed", as_raw + CRLF)[:-2]
            else:
                data += canon_header("relaxed", sets[n][nm])
    sig = base64.b64encode(key.sign("rsa-sha256", data)).decode()
    return [aar, ams, as_raw + fold_b(sig) + CRLF]


# ------------------------------------------------------------------ corpus
class Case:
    def __init__(self, name):
        self.name = name
        self.msg = b""
        self.sigs = []
        self.arc = None
        self.arc_oldest = None
        self.findings = []
        self.records = {}


def exp(result, reason=None, body="match", header="pass", bits=None, weak=False, offline=None):
    return {"result": result, "reason": reason, "body_hash": body, "header_sig": header,
            "key_bits": bits, "weak": weak, "dns_only": offline}


def base_headers(n, frm="Alice <alice@example.com>", subject=None):
    return [("From: %s" % frm).encode() + CRLF,
            b"To: Bob <bob@example.org>" + CRLF,
            ("Subject: message %d %s" % (n, subject or "")).encode() + CRLF,
            b"Date: Mon, 01 Apr 2024 09:59:00 +0000" + CRLF,
            ("Message-ID: <%d.gen@example.com>" % n).encode() + CRLF]


RECEIVED = [
    b"Received: from mx.example.net (mx.example.net [192.0.2.10])\r\n"
    b"\tby inbox.example.org (Postfix) with ESMTPS id IN%d\r\n"
    b"\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:09 +0000\r\n",
    b"Received: from out.example.com (out.example.com [198.51.100.7])\r\n"
    b"\tby mx.example.net (Postfix) with ESMTPS id MX%d\r\n"
    b"\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:05 +0000\r\n",
]
LIST_RECEIVED = (
    b"Received: from mx.example.net (mx.example.net [192.0.2.10])\r\n"
    b"\tby lists.example.org (Postfix) with ESMTPS id LS%d\r\n"
    b"\tfor <list@example.org>; Mon, 01 Apr 2024 10:00:07 +0000\r\n")
RECV_TIME = 1711965605          # hop 1's date: 2024-04-01T10:00:05Z
SIGN_TIME = 1711965540          # 2024-04-01T09:59:00Z


# Body size in units of 8 lines (about 330 bytes); the bench can raise it
# (tests/bench/dkim_bench.py --body-units) for mail of realistic size, and
# RT_DKIM_BODY_UNITS runs the corpus tests with such bodies.
BODY_UNITS = int(os.environ.get("RT_DKIM_BODY_UNITS", "1"))


def body_of(n, size=None):
    size = BODY_UNITS if size is None else size
    lines = ["Hello Bob,", "", "this is message %d." % n, "  with  some\twhite space  "]
    lines += ["line %d of the body, %s" % (k, "x" * (k % 50)) for k in range(size * 8)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assemble(received, sigfields, headers, body, n):
    rec = [r.replace(b"%d", str(n).encode()) if b"%d" in r else r for r in received]
    return b"".join(rec) + b"".join(sigfields) + b"".join(headers) + CRLF + body


def corpus(keys, now=None, scale=1):
    """The case list. Every defect of the brief once or more; the pass
    cases span every key size and canonicalization."""
    now = now or int(time.time())
    cases = []
    n = [0]

    def new(name):
        n[0] += 1
        c = Case(name)
        c.n = n[0]
        cases.append(c)
        return c

    def ksel(records):
        """One selector per distinct record set, as real senders have:
        messages signed with the same key share it (and the key cache)."""
        return "k" + hashlib.sha1(json.dumps(records, sort_keys=True).encode()).hexdigest()[:12]

    def rec(key):
        return [{"TXT": key.record()}]

    def simple_case(name, key, expect, c="relaxed/relaxed", alg=None, record=None,
                    records=None, headers=None, body=None, mutate=None, findings=(), **kw):
        cs = new(name)
        if records is None:
            records = [{"TXT": record if record is not None else key.record()}]
        s = ksel(records)
        hd = headers or base_headers(cs.n)
        bd = body if body is not None else body_of(cs.n)
        alg = alg or ("ed25519-sha256" if key.kind == "ed25519" else "rsa-sha256")
        sig = dkim_header(key, hd, bd, DOMAIN, s, alg=alg, c=c, **kw)
        if mutate:
            hd, bd, sig = mutate(hd, bd, sig)
        cs.msg = assemble(RECEIVED, [sig], hd, bd, cs.n)
        cs.records["%s._domainkey.%s" % (s, DOMAIN)] = records
        cs.sigs = [expect]
        cs.findings = list(findings)
        return cs

    for rep in range(scale):
        # passes: every size >= 1024, every canonicalization, both algorithms
        for bits in (1024, 2048, 4096):
            for c in ("simple/simple", "relaxed/relaxed", "simple/relaxed", "relaxed/simple"):
                simple_case("pass-rsa%d-%s" % (bits, c.replace("/", "-")), keys.rsa[bits],
                            exp("pass", bits=bits), c=c)
        for c in ("simple/simple", "relaxed/relaxed", "relaxed/simple", "simple/relaxed"):
            simple_case("pass-ed25519-%s" % c.replace("/", "-"), keys.ed, exp("pass", bits=256), c=c)
        simple_case("pass-c-default", keys.rsa[2048], exp("pass", bits=2048), c="simple")
        # small keys: signature holds, key refused
        simple_case("rsa512", keys.rsa[512], exp("permerror", "key-too-small", bits=512))
        simple_case("rsa768", keys.rsa[768], exp("permerror", "key-too-small", bits=768))
        # tampering
        simple_case("body-tampered", keys.rsa[2048],
                    exp("fail", "body-hash-mismatch", body="mismatch", bits=2048),
                    mutate=lambda h, b, s: (h, b.replace(b"Hello", b"Hallo"), s),
                    findings=["dkim-fail"])
        simple_case("body-tampered-ed", keys.ed,
                    exp("fail", "body-hash-mismatch", body="mismatch", bits=256),
                    mutate=lambda h, b, s: (h, b + b"P.S. added\r\n", s), findings=["dkim-fail"])
        simple_case("subject-tampered", keys.rsa[2048],
                    exp("fail", "signature-mismatch", header="fail", bits=2048),
                    mutate=lambda h, b, s: ([x.replace(b"message", b"MESSAGE") for x in h], b, s),
                    findings=["dkim-fail"])
        simple_case("both-tampered", keys.rsa[1024],
                    exp("fail", "body-hash-mismatch", body="mismatch", header="fail", bits=1024),
                    mutate=lambda h, b, s: ([x.replace(b"Bob <", b"Eve <") for x in h],
                                            b.replace(b"Bob", b"Eve"), s))
        simple_case("simple-refolded", keys.rsa[2048],
                    exp("fail", "signature-mismatch", header="fail", bits=2048), c="simple/simple",
                    mutate=lambda h, b, s: ([x.replace(b"To: Bob", b"To:  Bob") for x in h], b, s))
        simple_case("relaxed-refolded", keys.rsa[2048], exp("pass", bits=2048), c="relaxed/relaxed",
                    mutate=lambda h, b, s: ([x.replace(b"To: Bob", b"To:\r\n\t  Bob") for x in h], b, s))
        simple_case("relaxed-body-wsp", keys.ed, exp("pass", bits=256), c="relaxed/relaxed",
                    mutate=lambda h, b, s: (h, b.replace(b"some\twhite", b"some white") + b"\r\n\r\n", s))
        # l=
        simple_case("l-with-tail", keys.rsa[2048], exp("pass", bits=2048), l=40,
                    mutate=lambda h, b, s: (h, b + b"Unsigned text added later.\r\n", s),
                    findings=["dkim-l-tail"])
        simple_case("l-longer-than-body", keys.rsa[2048],
                    exp("fail", "body-hash-mismatch", body="mismatch", bits=2048), l=200,
                    mutate=lambda h, b, s: (h, b[:100], s))
        # times
        simple_case("x-expired", keys.rsa[2048], exp("permerror", "signature-expired", bits=2048),
                    t=SIGN_TIME - 86400 * 40, x=SIGN_TIME - 86400 * 30)
        simple_case("x-valid", keys.rsa[2048], exp("pass", bits=2048), t=SIGN_TIME,
                    x=SIGN_TIME + 86400 * 7, findings=["dkim-expired-since"])
        simple_case("t-future", keys.rsa[2048], exp("permerror", "signature-syntax", bits=2048),
                    t=now + 86400 * 365)
        simple_case("x-before-t", keys.rsa[2048], exp("permerror", "signature-syntax", bits=2048),
                    t=SIGN_TIME, x=SIGN_TIME - 10)
        simple_case("t-after-hop", keys.rsa[2048], exp("pass", bits=2048), t=RECV_TIME + 86400,
                    findings=["dkim-t-after-hop"])
        # key records
        simple_case("key-revoked", keys.rsa[2048],
                    exp("permerror", "key-revoked", header=None), record="v=DKIM1; k=rsa; p=")
        simple_case("key-nxdomain", keys.rsa[2048],
                    exp("permerror", "key-not-found", header=None, offline=True), records=[])
        simple_case("key-servfail", keys.rsa[2048],
                    exp("temperror", "dns-error", header=None, offline=True), records="SERVFAIL")
        simple_case("key-bad-base64", keys.rsa[2048],
                    exp("permerror", "key-syntax", header=None), record="v=DKIM1; k=rsa; p=MIIB*%%")
        simple_case("key-k-mismatch", keys.ed,
                    exp("permerror", "key-type-mismatch", header=None),
                    record="v=DKIM1; k=rsa; p=" + keys.rsa[2048].p)
        simple_case("key-k-mismatch-rsa", keys.rsa[2048],
                    exp("permerror", "key-type-mismatch", header=None),
                    record="v=DKIM1; k=ed25519; p=" + keys.ed.p)
        simple_case("key-h-sha1", keys.rsa[2048],
                    exp("permerror", "hash-not-allowed", bits=2048),
                    record=keys.rsa[2048].record("h=sha1; "))
        simple_case("key-h-sha256", keys.rsa[2048], exp("pass", bits=2048),
                    record=keys.rsa[2048].record("h=sha1:sha256; "))
        simple_case("key-t-s-subdomain", keys.rsa[2048],
                    exp("permerror", "signature-syntax", bits=2048),
                    record=keys.rsa[2048].record("t=s; "), i="alice@mail.example.com")
        simple_case("key-t-s-same", keys.rsa[2048], exp("pass", bits=2048),
                    record=keys.rsa[2048].record("t=s; "), i="alice@example.com")
        simple_case("key-t-y", keys.rsa[2048], exp("pass", bits=2048),
                    record=keys.rsa[2048].record("t=y; "), findings=["dkim-testing"])
        simple_case("key-multi-string", keys.rsa[4096], exp("pass", bits=4096),
                    records=[{"TXT": ["v=DKIM1; k=rsa; ", "p=" + keys.rsa[4096].p[:200],
                                      keys.rsa[4096].p[200:]]}])
        simple_case("key-several-txt", keys.rsa[2048], exp("pass", bits=2048),
                    records=[{"TXT": "v=spf1 -all"}, {"TXT": keys.rsa[2048].record()}])
        simple_case("key-service-other", keys.rsa[2048],
                    exp("permerror", "key-type-mismatch", header=None),
                    record=keys.rsa[2048].record("s=tlsrpt; "))
        # signatures
        simple_case("rsa-sha1", keys.rsa[2048], exp("policy", bits=2048, weak=True), alg="rsa-sha1",
                    findings=["dkim-weak"])
        simple_case("from-not-signed", keys.rsa[2048],
                    exp("permerror", "from-not-signed", bits=2048), h=("to", "subject", "date"))
        simple_case("unsupported-alg", keys.rsa[2048],
                    exp("permerror", "unsupported-algorithm", body=None, header=None),
                    mutate=lambda h, b, s: (h, b, s.replace(b"a=rsa-sha256", b"a=rsa-sha512")))
        simple_case("missing-bh", keys.rsa[2048],
                    exp("permerror", "signature-syntax", body=None, header=None), drop=("bh",))
        simple_case("sig-bad-base64", keys.rsa[2048],
                    exp("permerror", "signature-syntax", body=None, header=None),
                    mutate=lambda h, b, s: (h, b, s.replace(b"b=", b"b=*!", 1)
                                            if s.count(b"b=") == 1 else
                                            re.sub(rb"; b=", b"; b=*!", s, count=1)))
        simple_case("unrelated-domain", keys.rsa[2048], exp("pass", bits=2048),
                    headers=base_headers(0, frm="Mallory <m@other.example.net>"),
                    findings=["dkim-unrelated-domain"])
        # oversigning and duplicates
        over = ("from", "from", "to", "subject", "subject", "date", "message-id")
        simple_case("oversigned", keys.rsa[2048], exp("pass", bits=2048), h=over)
        simple_case("oversigned-added-subject", keys.rsa[2048],
                    exp("fail", "signature-mismatch", header="fail", bits=2048), h=over,
                    mutate=lambda h, b, s: (h + [b"Subject: injected\r\n"], b, s))
        simple_case("not-oversigned-added-subject", keys.rsa[2048], exp("pass", bits=2048),
                    mutate=lambda h, b, s: ([b"Subject: injected above\r\n"] + h, b, s))
        simple_case("duplicate-headers", keys.rsa[2048], exp("pass", bits=2048),
                    headers=base_headers(0) + [b"X-Dup: one\r\n", b"X-Dup: two\r\n",
                                               b"Subject: second subject\r\n"],
                    h=("from", "x-dup", "x-dup", "subject", "subject"))
        simple_case("missing-signed-header", keys.rsa[2048], exp("pass", bits=2048),
                    h=("from", "to", "subject", "reply-to", "cc"))
        simple_case("empty-body-simple", keys.rsa[2048], exp("pass", bits=2048), c="simple/simple",
                    body=b"")
        simple_case("empty-body-relaxed", keys.ed, exp("pass", bits=256), c="relaxed/relaxed",
                    body=b"\r\n\r\n")
        # multi-signature: author domain passes, list domain broken by body change
        cs = new("multi-signature")
        hd = base_headers(cs.n)
        bd = body_of(cs.n)
        s1 = dkim_header(keys.ed, hd, bd, DOMAIN, ksel(rec(keys.ed)), alg="ed25519-sha256")
        s2 = dkim_header(keys.rsa[2048], hd, bd, DOMAIN, ksel(rec(keys.rsa[2048])))
        s3 = dkim_header(keys.rsa[1024], hd, bd + b"footer\r\n", "lists.example.com",
                         ksel(rec(keys.rsa[1024])))
        cs.msg = assemble(RECEIVED, [s3, s1, s2], hd, bd, cs.n)
        cs.records = {"%s._domainkey.%s" % (ksel(rec(keys.ed)), DOMAIN): rec(keys.ed),
                      "%s._domainkey.%s" % (ksel(rec(keys.rsa[2048])), DOMAIN):
                          rec(keys.rsa[2048]),
                      "%s._domainkey.lists.example.com" % ksel(rec(keys.rsa[1024])):
                          [{"TXT": keys.rsa[1024].record()}]}
        cs.sigs = [exp("fail", "body-hash-mismatch", body="mismatch", bits=1024),
                   exp("pass", bits=256), exp("pass", bits=2048)]
        cs.findings = ["dkim-fail"]
        # ARC: two sets over a message whose body a forwarder changed
        for variant in ("arc-pass", "arc-modified-after-1", "arc-seal-broken", "arc-cv-wrong"):
            cs = new(variant)
            hd = base_headers(cs.n)
            bd = body_of(cs.n)
            dk = dkim_header(keys.rsa[2048], hd, bd, DOMAIN, ksel(rec(keys.rsa[2048])))
            cur = [dk] + hd                      # newest first
            set1 = arc_set(keys.rsa[2048], cur, bd, 1, "fwd.example.net", ksel(rec(keys.rsa[2048])), "none")
            cur = set1[::-1] + [RECEIVED[1].replace(b"%d", str(cs.n).encode())] + cur
            # hop 2: the list server receives it from the forwarder
            cur = [LIST_RECEIVED.replace(b"%d", str(cs.n).encode())] + cur
            if variant == "arc-modified-after-1":
                bd = bd + b"-- \r\nlist footer\r\n"
            set2 = arc_set(keys.ed, cur, bd, 2, "list.example.org", ksel(rec(keys.ed)),
                           "none" if variant == "arc-cv-wrong" else "pass",
                           dkim="fail" if variant == "arc-modified-after-1" else "pass")
            if variant == "arc-seal-broken":
                set2[0] = set2[0].replace(b"dkim=pass", b"dkim=fail")
            top = set2[::-1] + cur
            inbox = RECEIVED[0].replace(b"%d", str(cs.n).encode()).replace(
                b"from mx.example.net (mx.example.net [192.0.2.10])",
                b"from lists.example.org (lists.example.org [192.0.2.20])")
            cs.msg = b"".join([inbox] + top) + CRLF + bd
            cs.records = {"%s._domainkey.%s" % (ksel(rec(keys.rsa[2048])), DOMAIN): [{"TXT": keys.rsa[2048].record()}],
                          "%s._domainkey.fwd.example.net" % ksel(rec(keys.rsa[2048])):
                              [{"TXT": keys.rsa[2048].record()}],
                          "%s._domainkey.list.example.org" % ksel(rec(keys.ed)):
                              [{"TXT": keys.ed.record()}]}
            if variant == "arc-modified-after-1":
                # set 1 (after hop 1) saw DKIM pass, the list (hop 2) changed the body
                cs.sigs = [exp("fail", "body-hash-mismatch", body="mismatch", bits=2048)]
                cs.sigs[0]["hop_broken"] = 2      # set 1's AAR saw it pass after hop 1
                cs.sigs[0]["hop_last"] = 2        # AMS 2 (after hop 2) covers the new body
                cs.arc, cs.arc_oldest = "pass", 2
            elif variant == "arc-pass":
                cs.sigs = [exp("pass", bits=2048)]
                cs.arc, cs.arc_oldest = "pass", 0
            else:
                cs.sigs = [exp("pass", bits=2048)]
                cs.arc = "fail"
    return cases


def zone(cases):
    z = {}
    for c in cases:
        for name, items in c.records.items():
            if items == "SERVFAIL":
                z[name] = ["SERVFAIL"]
            elif items:
                z[name] = items
    return z


def zone_file(cases):
    out = []
    seen = set()
    for c in cases:
        for name, items in c.records.items():
            if not isinstance(items, list) or name in seen:
                continue
            seen.add(name)
            for it in items:
                txt = it["TXT"]
                parts = txt if isinstance(txt, list) else [txt]
                out.append("%s. 300 IN TXT ( %s )" % (name, " ".join(
                    '"%s"' % p.replace("\\", "\\\\").replace('"', '\\"') for p in parts)))
    return "\n".join(out) + "\n"


def write_mbox(path, msgs):
    with open(path, "wb") as f:
        for m in msgs:
            f.write(b"From gen@example.com Mon Apr  1 10:00:10 2024\n")
            body = m.replace(CRLF, b"\n")
            body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
            if not body.endswith(b"\n"):
                body += b"\n"
            f.write(body + b"\n")


def write_maildir(path, msgs):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    for k, m in enumerate(msgs):
        with open(os.path.join(path, "cur", "%08d.gen:2,S" % k), "wb") as f:
            f.write(m)


def main():
    out = sys.argv[1]
    want = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    os.makedirs(out, exist_ok=True)
    keys = Keys()
    base = corpus(keys)
    cases = corpus(keys, scale=max(1, want // len(base)))[:want]
    write_mbox(os.path.join(out, "corpus.mbox"), [c.msg for c in cases])
    write_maildir(os.path.join(out, "Maildir"), [c.msg for c in cases])
    os.makedirs(os.path.join(out, "eml"), exist_ok=True)
    for k, c in enumerate(cases):
        with open(os.path.join(out, "eml", "%05d-%s.eml" % (k, c.name)), "wb") as f:
            f.write(c.msg)
    with open(os.path.join(out, "keys.zone"), "w") as f:
        f.write(zone_file(cases))
    with open(os.path.join(out, "zone.json"), "w") as f:
        json.dump(zone(cases), f)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump([{"name": c.name, "sigs": c.sigs, "arc": c.arc} for c in cases], f)
    print("%d messages, %d signatures" % (len(cases), sum(len(c.sigs) for c in cases)))


if __name__ == "__main__":
    main()
