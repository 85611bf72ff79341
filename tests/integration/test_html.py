# SPDX-License-Identifier: ISC
"""relaytrust-verify --html FILE in a real browser (SPEC 3.5, issue 19).

An mbox of about 30 varied messages (authenticated, unauthenticated,
suspicious and forged ones, ARC, claims, long names, many hops, and hostile
bytes: <script>, quotes, "><img onerror>, invalid UTF-8 and bidi controls in
From, Subject, Received host names and Authentication-Results) is verified
--offline with --keys, once with --json and once with --html. Headless
Chromium, driven over the DevTools protocol (python3-websocket) with
JavaScript disabled for the page, loads the report from file:// and the
test checks, through the browser's own DOM (Runtime.evaluate works with
page scripts disabled):

  - one section.msg per message, in order, each with the verdict of the
    JSON run in .verdict and data-verdict, and an svg.timeline holding
    one g.hop per hop whose host name is the JSON's by_host;
  - the summary is displayed above the first message though it is the
    last thing in the file, and its counts are the JSON's;
  - nothing from the hostile input became markup: no script, img or
    other loading element, no on* attribute, only the tags the report
    writes; the hostile strings are there as text;
  - no network request but the file itself (Network domain events), no
    URL in the file but fragments of itself;
  - a full-page screenshot is not blank (a downscaled capture is decoded
    with zlib here and has many distinct colours);
  - the file cut where a killed run may leave it still shows its
    sections, with a note that the summary is missing;
  - past HTML_MESSAGES_MAX sections, authenticated messages are left out
    and counted in the summary, the others are still shown.

Screenshots go to $RT_HTML_SHOTS, else the test's tmp directory. The test
is skipped only when chromium is not installed ("make deps" installs it)."""
import base64
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import dkimgen  # noqa: E402
from dkimgen import CRLF, dkim_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(make deps installs it): the HTML report is checked in a "
                                "browser")


def html_messages_max():
    with open(os.path.join(ROOT, "verifier", "html.h")) as f:
        return int(re.search(r"#define\s+HTML_MESSAGES_MAX\s+(\d+)", f.read()).group(1))


# ---------------------------------------------------------------- the mail
KEY = dkimgen.Key("rsa", 2048)
SEL = "sel"
ORIGIN = "81.2.69.142"

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
XSS_QUOTE = "it's \"quoted\" & <b>bold</b>"

R_IN = ("Received: from mx.example.org (mx.example.org [10.0.0.2])\n"
        "\tby inbox.example.org (Postfix) with ESMTP id A{n}\n"
        "\tfor <bob@example.org>; {t_in} +0000 (UTC)\n")
R_MX = ("Received: from out.example.com (out.example.com [{ip}])\n"
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n"
        "\tby mx.example.org (Postfix) with ESMTPS id B{n}\n"
        "\tfor <bob@example.org>; {t_mx} +0000 (UTC)\n")
R_MX_EXIM = ("Received: from out.example.com ([{ip}] helo=out.example.com)\n"
             "\tby mx.example.org with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384\n"
             "\t(Exim 4.96)\n"
             "\t(envelope-from <alice@example.com>)\n"
             "\tid 1rrB{n}-000A-00\n"
             "\tfor bob@example.org; {t_mx} +0000\n")
R_SUB = ("Received: from [192.168.1.20] (dsl-20.example.net [81.2.69.200])\n"
         "\tby out.example.com (Postfix) with ESMTPSA id S{n}\n"
         "\tfor <bob@example.org>; {t_sub} +0000 (UTC)\n")
R_LMTP = ("Received: from inbox.example.org (inbox.example.org [10.0.0.3])\n"
          "\tby store.example.org (Dovecot) with LMTP id L{n}\n"
          "\tfor <bob@example.org>; {t_lmtp} +0000\n")

T = dict(t_sub="Mon, 01 Apr 2024 09:59:02", t_mx="Mon, 01 Apr 2024 10:00:05",
         t_in="Mon, 01 Apr 2024 10:00:09", t_lmtp="Mon, 01 Apr 2024 10:00:10")


def fields(text):
    """Raw header fields (bytes, CRLF) from text written with \\n."""
    out = []
    for f in re.split(r"\n(?=\S)", text.strip("\n")):
        out.append(f.encode("utf-8", "surrogateescape").replace(b"\n", CRLF) + CRLF)
    return out


def b(s):
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s


_seq = [0]


def make(received=("in", "mx"), frm="Alice <alice@example.com>", subject=None,
         rp="alice@example.com", sign="example.com", body_change=False, above=(), mid=(),
         date="Mon, 01 Apr 2024 09:59:00 +0000", ip=ORIGIN, times=None, mid_id=None,
         extra_headers=(), arc=False):
    """One message (bytes, CRLF). received: the Received fields newest first,
    names of the templates above or raw text; above: fields on top; mid:
    fields just below the newest Received (added by its host)."""
    _seq[0] += 1
    n = _seq[0]
    t = dict(T)
    t.update(times or {})
    hd = [b("From: %s" % frm) + CRLF, b"To: Bob <bob@example.org>" + CRLF,
          b("Subject: %s" % (subject if subject is not None else "html test %d" % n)) + CRLF,
          b("Date: %s" % date) + CRLF,
          b("Message-ID: %s" % (mid_id or "<%d.html@example.com>" % n)) + CRLF]
    hd += [b(x) + CRLF for x in extra_headers]
    body = dkimgen.body_of(n)
    sigs = []
    if sign:
        sigs.append(dkim_header(KEY, hd, body, sign, SEL))
    if body_change:
        body = body.replace(b"Hello Bob", b"Hello Eve")
    rec = []
    for r in received:
        tmpl = {"in": R_IN, "mx": R_MX, "exim": R_MX_EXIM, "sub": R_SUB,
                "lmtp": R_LMTP}.get(r, r)
        rec += fields(tmpl.format(n=n, ip=ip, **t))
    out = []
    if rp is not None:
        out.append(b("Return-Path: <%s>" % rp) + CRLF)
    out += [b(x) if isinstance(x, bytes) else fields(x)[0] for x in above]
    out += rec[:1]
    out += [fields(x)[0] for x in mid]
    cur = rec[1:] + sigs + hd
    if arc:
        # the list host receives it (hop 1), seals it and sends it on to
        # our MX (hop 2)
        cur = fields(("Received: from out.example.com (out.example.com [%s])\n"
                      "\tby lists.example.net (Postfix) with ESMTPS id LI%d\n"
                      "\tfor <list@example.net>; Mon, 01 Apr 2024 10:00:03 +0000\n")
                     % (ORIGIN, n)) + cur
        aset = dkimgen.arc_set(KEY, cur, body, 1, "lists.example.net", SEL, "none")
        cur = aset[::-1] + cur
        cur = fields(("Received: from lists.example.net (lists.example.net [81.2.69.150])\n"
                      "\tby mx.example.org (Postfix) with ESMTPS id LL%d\n"
                      "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:07 +0000\n") % n) + cur
    return b"".join(out + cur) + CRLF + body


LONG = "a" * 60 + "." + "very-long-label-" * 8 + "x" * 30 + ".relay.example.net"
HOSTILE_HOST = "mx%s.example.org" % XSS_SCRIPT
BAD_UTF8 = "\udcff\udcfe\udcc3("           # bytes ff fe c3 28 (surrogateescape)
RLO = "\u202e"

AR_TRUSTED = ("Authentication-Results: mx.example.org; dkim=pass header.d=example.com;\n"
              "\tspf=pass smtp.mailfrom=example.com")
AR_HOSTILE = ("Authentication-Results: %s; dkim=pass header.d=\"%s\";\n"
              "\tspf=fail smtp.mailfrom=x%s@example.com" % (XSS_SCRIPT, XSS_IMG, BAD_UTF8))
AR_HOSTILE2 = ("Authentication-Results: mx.example.org; dkim=pass header.d=\"%s\";\n"
               "\tspf=fail smtp.mailfrom=\"%s@ex%s.com\"" % (
                   XSS_IMG.replace('"', "'"), XSS_SCRIPT, BAD_UTF8))


def corpus():
    """[(name, bytes)]: what each is meant to show is its name."""
    c = []

    def add(name, **kw):
        c.append((name, make(**kw)))

    add("auth-basic")
    add("auth-submission", received=("in", "mx", "sub"))
    add("auth-exim", received=("in", "exim"))
    add("auth-lmtp", received=("lmtp", "in", "mx", "sub"))
    add("auth-slow", received=("in", "mx", "sub"),
        times=dict(t_sub="Fri, 29 Mar 2024 06:00:00"), date="Fri, 29 Mar 2024 05:59:00 +0000")
    add("auth-arc", received=("in",), arc=True)
    add("auth-claim-agrees", mid=(AR_TRUSTED,))
    for k in range(5):
        add("unauth-unsigned-%d" % k, sign=None,
            frm="Shop <news@shop%d.example>" % (k % 2), rp="bounce@shop%d.example" % (k % 2))
    add("unauth-other-origin", sign=None, ip="81.2.69.77", frm="x@elsewhere.example",
        rp="x@elsewhere.example")
    add("susp-time-reversed", sign=None, rp="bounce@shop0.example", frm="n@shop0.example",
        times=dict(t_in="Sun, 19 Feb 2023 10:00:05"))
    add("susp-reserved-ip", sign=None, ip="203.0.113.9", frm="z@elsewhere.example",
        rp="z@elsewhere.example")
    add("susp-unparsed", sign=None, frm="u@elsewhere.example", rp="u@elsewhere.example",
        received=("in", "Received: garbage that is not a received line at all ((("))
    add("susp-no-received", sign=None, received=(), frm="q@elsewhere.example",
        above=(R_IN.format(n=0, **T).replace("Received", "X-Not-Received"),))
    add("forged-dmarc-fail", sign=None, rp="bounce@bounces.unrelated.net")
    add("forged-broken-inside", body_change=True, mid=(AR_TRUSTED,),
        rp="bounce@bounces.unrelated.net")
    add("forged-unrelated-signer", sign="unrelated.net", rp="bounce@unrelated.net")
    many = []
    for k in range(10, 0, -1):
        many.append("Received: from relay%d.example.net (relay%d.example.net [81.2.69.%d])\n"
                    "\tby relay%d.example.net (Postfix) with ESMTP id M%d\n"
                    "\tfor <bob@example.org>; Mon, 01 Apr 2024 09:%02d:00 +0000\n"
                    % (k - 1, k - 1, 100 + k, k, k, 40 + k))
    add("many-hops", sign=None, date="Mon, 01 Apr 2024 09:40:00 +0000",
        frm="m@elsewhere.example", rp="m@elsewhere.example",
        received=["in", "Received: from relay10.example.net (relay10.example.net "
                  "[81.2.69.111])\n\tby mx.example.org (Postfix) with ESMTPS id X{n}\n"
                  "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:05 +0000\n"] + many)
    add("long-names", sign=None, frm="l@%s" % LONG, rp="l@%s" % LONG,
        received=("in", "Received: from %s (%s [81.2.69.160])\n\tby mx.example.org "
                        "(Postfix) with ESMTPS id LN{n}\n\tfor <bob@example.org>; "
                        "Mon, 01 Apr 2024 10:00:05 +0000\n" % (LONG, LONG)),
        subject="S" * 300)
    # hostile bytes everywhere
    add("hostile-from-subject", sign=None, frm='"%s" <evil@example.com>' % XSS_SCRIPT,
        subject="%s %s %sgpj.exe %s" % (XSS_IMG, BAD_UTF8, RLO, XSS_QUOTE),
        rp="evil@example.com", mid_id="<%s@x'\"&.example>" % XSS_IMG)
    add("hostile-received", sign=None, frm="h@elsewhere.example", rp="h@elsewhere.example",
        received=("Received: from mx.example.org (mx.example.org [10.0.0.2])\n"
                  "\tby %s (Postfix) with ESMTP id %s\n"
                  "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:09 +0000\n"
                  % (HOSTILE_HOST, "id" + XSS_IMG.replace(" ", "")),
                  "Received: from %s (%s [81.2.69.166])\n"
                  "\tby mx.example.org (Postfix) with ESMTPS id H{n}\n"
                  "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:05 +0000\n"
                  % (XSS_IMG.replace(" ", ""), "evil" + BAD_UTF8 + ".example")))
    add("hostile-auth-results", sign=None, frm="r@elsewhere.example", rp="r@elsewhere.example",
        mid=(AR_HOSTILE, AR_HOSTILE2))
    add("hostile-invalid-utf8-host", sign=None, frm="Ev\udce9 <v@elsewhere.example>",
        rp="v@elsewhere.example",
        received=("Received: from mx.example.org (mx.example.org [10.0.0.2])\n"
                  "\tby inbox%s.example.org (Postfix) with ESMTP id U{n}\n"
                  "\tfor <bob@example.org>; Mon, 01 Apr 2024 10:00:09 +0000\n" % BAD_UTF8,
                  "mx"))
    add("hostile-control-chars", sign=None, frm="c@elsewhere.example", rp="c@elsewhere.example",
        subject="bell\x07 esc\x1b[31m red \u0085 nel \u2066isolate\u2069 end")
    return c


def keys_zone(path):
    p = KEY.record()
    parts = " ".join('"%s"' % p[k:k + 200] for k in range(0, len(p), 200))
    lines = ["%s._domainkey.%s. 300 IN TXT ( %s )" % (SEL, d, parts)
             for d in ("example.com", "unrelated.net", "lists.example.net")]
    lines.append('_dmarc.example.com. IN TXT "v=DMARC1; p=reject"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_mbox(path, msgs):
    with open(path, "wb") as f:
        for m in msgs:
            body = m.replace(CRLF, b"\n")
            body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
            f.write(b"From sender@example.com Mon Apr  1 10:00:10 2024\n" + body)
            if not body.endswith(b"\n"):
                f.write(b"\n")
            f.write(b"\n")


def verify(args, timeout=120):
    t0 = time.monotonic()
    p = subprocess.run([VERIFY, "--offline", "--no-progress"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    el = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert p.returncode in (0, 1), (p.returncode, err)
    return p, el


# ------------------------------------------------------- DevTools protocol
class Browser:
    """Headless Chromium and one page, over the DevTools protocol."""

    def __init__(self, tmp):
        import websocket
        self.tmp = tempfile.mkdtemp(prefix="chromium-", dir=str(tmp))
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--disable-gpu", "--no-sandbox",
             "--remote-debugging-port=0", "--user-data-dir=" + self.tmp,
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--disable-default-apps",
             "--hide-scrollbars", "--mute-audio", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = os.path.join(self.tmp, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while True:
            # the file appears once Chromium listens; it is written whole
            if os.path.exists(port_file):
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[1]:
                    break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start: %s" %
                                   self.proc.stderr.read().decode("utf-8", "replace")[-2000:])
            time.sleep(0.05)
        url = "ws://127.0.0.1:%s%s" % (lines[0].strip(), lines[1].strip())
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.seq = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def call(self, method, session=None, **params):
        self.seq += 1
        msg = {"id": self.seq, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.seq:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def page(self, method, **params):
        return self.call(method, session=self.session, **params)

    def wait_event(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == name:
                    del self.events[i]
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(name)
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            m = json.loads(self.ws.recv())
            if "method" in m:
                self.events.append(m)

    def load(self, path, width=1200, height=900):
        """Open path with scripts disabled; returns the URLs requested."""
        self.page("Emulation.setScriptExecutionDisabled", value=True)
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.page("Network.enable")
        self.page("Page.enable")
        self.events = []
        url = "file://" + os.path.abspath(path)
        self.page("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        return url, [e["params"]["request"]["url"] for e in self.events
                     if e["method"] == "Network.requestWillBeSent"]

    def eval(self, expr):
        r = self.page("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(json.dumps(r["exceptionDetails"])[:2000])
        return r["result"].get("value")

    def shot(self, path, full=True, scale=1.0, tile=8000):
        """A PNG of the viewport, or (full) of the whole page: in pieces
        of at most tile CSS px (path-1.png, path-2.png, ...) when it is
        taller. Returns the first PNG's bytes."""
        m = self.page("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        vp = m.get("cssLayoutViewport") or m["layoutViewport"]
        height = size["height"] if full else vp["clientHeight"]
        pieces = [(y, min(tile, height - y)) for y in range(0, int(height), tile)]
        first = None
        for k, (y, h) in enumerate(pieces):
            clip = {"x": 0, "y": y, "width": vp["clientWidth"], "height": h, "scale": scale}
            data = base64.b64decode(self.page("Page.captureScreenshot", format="png",
                                              clip=clip, captureBeyondViewport=full)["data"])
            first = first or data
            if path:
                name = path if len(pieces) == 1 else re.sub(r"\.png$", "-%d.png" % (k + 1),
                                                            path)
                with open(name, "wb") as f:
                    f.write(data)
        return first

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    br = Browser(tmp_path_factory.mktemp("browser"))
    yield br
    br.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = os.environ.get("RT_HTML_SHOTS") or str(tmp_path_factory.mktemp("shots"))
    os.makedirs(d, exist_ok=True)
    return d


# ------------------------------------------------------------------ PNG
def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                p = a + prev[i] - c
                pa, pb, pc = abs(p - a), abs(p - prev[i]), abs(p - c)
                pr = a if pa <= pb and pa <= pc else prev[i] if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def colours(data):
    w, h, bpp, rows = png_pixels(data)
    seen = set()
    for r in rows:
        for x in range(0, w * bpp, bpp):
            seen.add(r[x:x + 3])
    return w, h, seen


# ------------------------------------------------------------------ DOM
DOM = r"""(() => {
  const secs = [...document.querySelectorAll('section.msg')];
  const sum = document.querySelector('section.summary');
  const attrs = new Set(), tags = new Set();
  for (const e of document.querySelectorAll('*')) {
    tags.add(e.localName);
    for (const a of e.attributes) attrs.add(a.name);
  }
  const vis = e => e && getComputedStyle(e).display !== 'none' &&
    e.getBoundingClientRect().height > 0;
  return {
    n: secs.length,
    secs: secs.map(s => ({
      id: s.id, verdict: s.dataset.verdict,
      word: (s.querySelector('.verdict') || {}).textContent || null,
      svgs: s.querySelectorAll('svg.timeline').length,
      hops: [...s.querySelectorAll('svg.timeline g.hop')].map(
        g => (g.querySelector('text.h') || {}).textContent),
      from: [...s.querySelectorAll('dl.hd dt')].filter(d => d.textContent === 'From')
        .map(d => d.nextElementSibling.textContent)[0],
      subject: [...s.querySelectorAll('dl.hd dt')].filter(d => d.textContent === 'Subject')
        .map(d => d.nextElementSibling.textContent)[0],
      mid: [...s.querySelectorAll('dl.hd dt')].filter(d => d.textContent === 'Message-ID')
        .map(d => d.nextElementSibling.textContent)[0],
      text: s.textContent,
      top: s.getBoundingClientRect().top,
      width: s.getBoundingClientRect().width,
      scrollw: s.scrollWidth, clientw: s.clientWidth,
    })),
    summary: sum ? {top: sum.getBoundingClientRect().top, text: sum.innerText,
                    visible: vis(sum),
                    counts: [...sum.querySelectorAll('label.cnt')].map(l => l.textContent),
                    lastInFile: sum.nextElementSibling === null} : null,
    nosum: vis(document.querySelector('.nosum')),
    tags: [...tags].sort(), attrs: [...attrs].sort(),
    docw: document.documentElement.scrollWidth,
    vieww: document.documentElement.clientWidth,
    body: document.body.innerText,
  };
})()"""

# Every element the report writes; anything else came from somewhere else.
TAGS = {"html", "head", "meta", "title", "style", "body", "input", "header", "h1", "h2",
        "h3", "p", "span", "b", "i", "br", "main", "section", "a", "dl", "dt", "dd", "svg",
        "rect", "line", "text", "tspan", "g", "path", "circle", "table", "tr", "th", "td",
        "tbody", "ul", "ol", "li", "code", "pre", "details", "summary", "label", "div",
        "footer", "symbol", "use"}

HIDDEN = re.compile("[\u0080-\u009f\u202a-\u202e\u2066-\u2069]")


def shown(s):
    """What the report shows of a JSON string: control and bidi characters
    as U+FFFD, line ends as spaces."""
    if s is None:
        return None
    s = HIDDEN.sub("\ufffd", s)
    s = re.sub("[\t\r\n]", " ", s)
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", s)


class Markup(html.parser.HTMLParser):
    """The tags and attributes of a document, as an HTML parser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]

    handle_startendtag = handle_starttag


def assert_no_external(data):
    text = data.decode("utf-8")
    m = Markup()
    m.feed(text)
    m.close()
    assert not (m.tags - TAGS), m.tags - TAGS
    for tag, k, v in m.attrs:
        assert not k.startswith("on"), (tag, k, v)
        if k in ("src", "href", "xlink:href", "action", "formaction", "poster", "data",
                 "srcset", "background"):
            # the only references are fragments of the file itself
            assert re.fullmatch(r"#m\d+", v) or (tag, v) in (("use", "#lk"), ("use", "#lo")), \
                (tag, k, v)
        if k == "style":
            assert re.fullmatch(r"width:\d+\.\d%", v), (tag, k, v)
    low = text.lower()
    style = low[low.index("<style>"):low.index("</style>")]
    assert "@import" not in style and "url(" not in style and "//" not in style
    # nothing the program writes itself names a scheme
    head = low[:low.index("<main")]
    assert "http:" not in head and "https:" not in head and "data:" not in head


def check_dom(d, objs, where):
    assert d["n"] == len(objs), (where, d["n"], len(objs))
    for s, o in zip(d["secs"], objs):
        name = "%s: %s" % (where, s["id"])
        assert s["verdict"] == o["verdict"], name
        assert s["word"] == o["verdict"], name
        assert s["svgs"] == 1, name
        assert len(s["hops"]) == len(o["hops"]), (name, s["hops"], len(o["hops"]))
        for got, h in zip(s["hops"], o["hops"]):
            assert got == (shown(h["by_host"]) or "(no by host)"), (name, got, h["by_host"])
        assert s["from"] == (shown(o["from"]) or "\u2013"), (name, s["from"], o["from"])
        assert s["subject"] == (shown(o["subject"]) or "\u2013"), (name, s["subject"])
        assert s["mid"] == (shown(o["message_id"]) or "\u2013"), (name, s["mid"])
        # nothing is wider than its section (long names wrap)
        assert s["scrollw"] <= s["clientw"] + 1, (name, s["scrollw"], s["clientw"])
    assert d["docw"] <= d["vieww"], (d["docw"], d["vieww"])
    assert not (set(d["tags"]) - TAGS), set(d["tags"]) - TAGS
    assert not [a for a in d["attrs"] if a.startswith("on")], d["attrs"]


def check_summary(d, objs):
    s = d["summary"]
    assert s is not None and s["visible"] and s["lastInFile"]
    first = d["secs"][0]["top"]
    assert s["top"] < first, (s["top"], first)
    assert not d["nosum"]
    want = {v: sum(1 for o in objs if o["verdict"] == v)
            for v in ("authenticated", "unauthenticated", "suspicious", "forged")}
    for v, n in want.items():
        assert any(re.match(r"^%d%s\b" % (n, v), c) for c in s["counts"]), (v, n, s["counts"])
    assert "%d messages verified" % len(objs) in s["text"], s["text"][:300]
    assert "Hop delays" in s["text"] or "HOP DELAYS" in s["text"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    cases = corpus()
    mbox, keys = str(tmp / "mail.mbox"), str(tmp / "keys.zone")
    write_mbox(mbox, [m for _, m in cases])
    keys_zone(keys)
    pj, tj = verify(["--json", "--keys", keys, mbox])
    out = str(tmp / "report.html")
    ph, th = verify(["--keys", keys, "--html", out, mbox])
    objs = [json.loads(x) for x in pj.stdout.decode().split("\n") if x]
    assert len(objs) == len(cases), pj.stderr
    return dict(cases=cases, objs=objs, path=out, tmp=tmp, json_s=tj, html_s=th,
                mbox=mbox, keys=keys)


def test_corpus_is_varied(report):
    """The mbox has every verdict, ARC, claims and hostile bytes (a guard
    on the test data, not on the report)."""
    objs = {n: o for (n, _), o in zip(report["cases"], report["objs"])}
    verdicts = {o["verdict"] for o in objs.values()}
    assert verdicts == {"authenticated", "unauthenticated", "suspicious", "forged"}, \
        {n: o["verdict"] for n, o in objs.items()}
    for n, o in objs.items():
        want = n.split("-")[0]
        if want in ("auth", "unauth", "susp", "forged"):
            full = {"auth": "authenticated", "unauth": "unauthenticated",
                    "susp": "suspicious", "forged": "forged"}[want]
            assert o["verdict"] == full, (n, o["verdict"], o["chain"]["findings"])
    assert objs["auth-arc"]["arc"]["sets"], objs["auth-arc"]["arc"]
    assert objs["hostile-auth-results"]["claims"]
    assert len(objs["many-hops"]["hops"]) == 12
    assert any(h["delay_s"] is not None and h["delay_s"] < -365 * 86400
               for h in objs["susp-time-reversed"]["hops"])


def test_report_in_browser(report, browser, shots):
    html = open(report["path"], "rb").read()
    assert_no_external(html)
    url, reqs = browser.load(report["path"])
    assert reqs == [url], reqs
    d = browser.eval(DOM)
    check_dom(d, report["objs"], "report")
    check_summary(d, report["objs"])
    body = d["body"]
    # the hostile strings are text on the page
    for s in (XSS_SCRIPT, XSS_IMG, XSS_QUOTE, "\ufffd\ufffd\ufffd("):
        assert s in body, s
    # the long name wraps: it is there whole, with no ellipsis
    longsec = d["secs"][[n for n, _ in report["cases"]].index("long-names")]
    assert LONG in longsec["text"].replace(" ", ""), "long name cut"
    # the first line of the text output
    auth = d["secs"][0]["text"]
    assert re.search(r"authenticated sent by 81\.2\.69\.142 \(out\.example\.com\), From: "
                     r"example\.com, DMARC pass p=reject", auth), auth[:300]
    # human delays
    slow = d["secs"][[n for n, _ in report["cases"]].index("auth-slow")]["text"]
    assert "3d 4h" in slow, slow[:2000]
    rev = d["secs"][[n for n, _ in report["cases"]].index("susp-time-reversed")]["text"]
    assert re.search(r"-1y \d+d", rev), rev[:2000]
    png = browser.shot(os.path.join(shots, "report-full.png"))
    w, h, _, _ = png_pixels_header(png)
    assert w == 1200 and h > 2000, (w, h)
    # print: the print style sheet on a page about as wide as A4
    browser.page("Emulation.setEmulatedMedia", media="print")
    browser.page("Emulation.setDeviceMetricsOverride", width=760, height=1075,
                 deviceScaleFactor=1, mobile=False)
    d = browser.eval(DOM)
    assert d["docw"] <= d["vieww"], (d["docw"], d["vieww"])
    assert all(s["scrollw"] <= s["clientw"] + 1 for s in d["secs"])
    browser.shot(os.path.join(shots, "report-print.png"), tile=4000)
    browser.page("Emulation.setEmulatedMedia", media="")
    browser.page("Emulation.setDeviceMetricsOverride", width=1200, height=900,
                 deviceScaleFactor=1, mobile=False)
    # the summary as a reader first sees it, decoded here: not blank
    small = browser.shot(os.path.join(shots, "report-top.png"), full=False, scale=0.25)
    sw, sh, seen = colours(small)
    assert len(seen) > 40, len(seen)
    browser.shot(os.path.join(shots, "report-top-full-res.png"), full=False)
    # one message of each kind, as screenshots a human can look at
    for name in ("auth-arc", "forged-broken-inside", "hostile-received", "many-hops",
                 "long-names", "susp-time-reversed"):
        i = [n for n, _ in report["cases"]].index(name)
        section_shot(browser, "m%d" % i, os.path.join(shots, "msg-%s.png" % name))


def png_pixels_header(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h, data[24], data[25]


def section_shot(browser, ident, path):
    r = browser.eval("(() => { const r = document.getElementById('%s')"
                     ".getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, "
                     "r.width, r.height]; })()" % ident)
    clip = {"x": r[0] - 4, "y": r[1] - 4, "width": r[2] + 8, "height": min(r[3] + 8, 12000),
            "scale": 1}
    data = base64.b64decode(browser.page("Page.captureScreenshot", format="png", clip=clip,
                                         captureBeyondViewport=True)["data"])
    with open(path, "wb") as f:
        f.write(data)


def test_filter_without_script(report, browser):
    """The verdict counts filter the sections with CSS alone."""
    browser.load(report["path"])
    n_forged = sum(1 for o in report["objs"] if o["verdict"] == "forged")
    # a click on the label checks the radio button (no page script runs)
    r = browser.eval("(() => { document.querySelector('label[for=f-forged]').click(); "
                     "return [...document.querySelectorAll('section.msg')]"
                     ".filter(s => getComputedStyle(s).display !== 'none')"
                     ".map(s => s.dataset.verdict); })()")
    assert r == ["forged"] * n_forged, r


def test_killed_run(report, browser, shots, tmp_path):
    """A run killed before its end leaves the head and the sections written
    so far (flushed): the browser shows them, and says the summary is
    missing; a section cut in its middle does not hide those before it."""
    html = open(report["path"], "rb").read()
    cut = html.index(b'<section class="summary"')
    p = tmp_path / "killed.html"
    p.write_bytes(html[:cut])
    browser.load(str(p))
    d = browser.eval(DOM)
    assert d["n"] == len(report["objs"]) and d["summary"] is None and d["nosum"]
    check_dom(d, report["objs"], "killed")
    browser.shot(os.path.join(shots, "killed-top.png"), full=False)
    secs = [m.start() for m in re.finditer(rb'<section class="msg"', html)]
    mid = (secs[10] + secs[11]) // 2
    p.write_bytes(html[:mid])
    browser.load(str(p))
    d = browser.eval(DOM)
    assert d["n"] == 11 and d["nosum"], d["n"]
    check_dom(dict(d, n=10, secs=d["secs"][:10]), report["objs"][:10], "cut")


def test_limit(tmp_path, browser, shots):
    """Past HTML_MESSAGES_MAX sections only non-authenticated messages get
    one; the summary says how many were left out."""
    limit = html_messages_max()
    keys = str(tmp_path / "keys.zone")
    keys_zone(keys)
    signed = make(received=("in", "mx"))
    unsigned = make(received=("in", "mx"), sign=None, frm="x@elsewhere.example",
                    rp="x@elsewhere.example")
    total = limit + 60
    msgs = [unsigned if i % 10 == 0 else signed for i in range(total)]
    mbox = str(tmp_path / "many.mbox")
    write_mbox(mbox, msgs)
    pj, _ = verify(["--json", "--keys", keys, mbox])
    objs = [json.loads(x) for x in pj.stdout.decode().split("\n") if x]
    assert len(objs) == total
    assert objs[1]["verdict"] == "authenticated" and objs[0]["verdict"] != "authenticated"
    out = str(tmp_path / "many.html")
    verify(["--keys", keys, "--html", out, mbox])
    want = [(i, o) for i, o in enumerate(objs)
            if i < limit or o["verdict"] != "authenticated"]
    left = total - len(want)
    assert left > 0
    browser.load(out)
    d = browser.eval(r"""(() => ({
      ids: [...document.querySelectorAll('section.msg')].map(s => [s.id, s.dataset.verdict]),
      summary: document.querySelector('section.summary').innerText,
      top: document.querySelector('section.summary').getBoundingClientRect().top,
      first: document.querySelector('section.msg').getBoundingClientRect().top }))()""")
    assert d["ids"] == [["m%d" % i, o["verdict"]] for i, o in want], d["ids"][-20:]
    assert re.search(r"\b%d authenticated messages are left out" % left, d["summary"]), \
        d["summary"]
    assert "%d messages verified" % total in d["summary"]
    assert d["top"] < d["first"]
    browser.shot(os.path.join(shots, "limit-top.png"), full=False)


def test_speed_is_reported(report):
    """Not a timing assertion: the two runs' times, for the log."""
    print("json run %.3f s, html run %.3f s (%d messages)" % (
        report["json_s"], report["html_s"], len(report["objs"])))
