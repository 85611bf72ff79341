# SPDX-License-Identifier: ISC
"""relaytrust-verify's DMARC against an independent implementation:
Debian's python3-authheaders (module authheaders, with dkimpy for DKIM,
pyspf for SPF and publicsuffix2 over /usr/share/publicsuffix for the
organizational domain).

One table of cases (domains, keys, DMARC and SPF records, signatures) is
put in one zone. Our binary reads an mbox of every case once, through the
test DNS server; authheaders authenticates each message on its own, with
the same origin IP, envelope sender and HELO, and never touches the
network:
  - DKIM key and _dmarc lookups go through authheaders' dnsfunc hook,
    answered from the same zone dict (see AuthheadersDNS: it answers as
    authheaders' and dkimpy's own dnspython resolvers would, SERVFAIL
    included);
  - pyspf's DNSLookup is replaced, for the test, by a lookup in the same
    dict;
  - the PSL is the file authheaders.findpsl names (Debian's package
    publicsuffix), read locally by publicsuffix2;
  - dnspython's default resolver points at the test server anyway, and
    the test asserts authheaders sent it no query.
test_hooks_answer_as_the_real_resolvers checks that the hooks answer as
those libraries' own dnspython lookups do against the same zone served by
the test server (SERVFAIL is "no record" for authheaders' _dmarc lookup
and dkimpy, TempError for pyspf).

Compared per case: dmarc result word, policy (when both say pass or
fail), the origin's SPF result and the organizational domain. Cases where
the two disagree for a documented reason are in KNOWN_DIFFERENCES (and
must still disagree there); every other case must agree exactly. A second
test holds our result to the answer each case was designed to give
(RFC 7489)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from dnsserver import TestDNS  # noqa: E402

authheaders = pytest.importorskip("authheaders")
spf = pytest.importorskip("spf")
authres = pytest.importorskip("authres")
import dns.resolver  # noqa: E402
from authheaders import dmarc_lookup  # noqa: E402
from authheaders.dmarc_lookup import (get_org_domain,  # noqa: E402
                                      get_suffix_list_file_name)
from dkim import dnsplug as dkim_dnsplug  # noqa: E402

import dkimgen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")

CRLF = b"\r\n"
IP = "81.2.69.142"                      # the origin (MX-entry hop's client)
HELO = "mx.senderrt.net"
SEL = "s1"
SPF_PASS = "v=spf1 ip4:%s -all" % IP
BOUNCE = "bounce@bouncert.net"         # an unaligned envelope that passes SPF
REJECT = "v=DMARC1; p=reject"

BASE_ZONE = {
    "142.69.2.81.in-addr.arpa": [{"PTR": HELO}],
    HELO: [{"A": IP}, {"TXT": SPF_PASS}],
    "bouncert.net": [{"TXT": SPF_PASS}],
}


def sig(d, key="ok", tamper=None, s=SEL):
    """A DKIM signature: d=, its key in DNS ("ok", "missing", "servfail")
    and what is changed after signing (None, "body", "header")."""
    return {"d": d, "s": s, "key": key, "tamper": tamper}


def dmarc(domain, record):
    return {"_dmarc." + domain: [{"TXT": record}]}


def spfrec(domain, record=SPF_PASS):
    return {domain: [{"TXT": record}]}


def merge(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


# (name, From address, envelope sender, signatures (top first), records,
#  designed RFC 7489 result, designed policy). Domains have no "-" except
# in hyphenated-from-domain: authheaders 0.15 cuts a From or envelope
# domain at its first "-" (see KNOWN_DIFFERENCES).
CASES = [
    # ----------------------------------------------------------- DKIM
    ("dkim-aligned", "user@dk1rt.com", BOUNCE, [sig("dk1rt.com")],
     dmarc("dk1rt.com", REJECT), "pass", "reject"),
    ("dkim-relaxed-parent-d", "user@news.dk2rt.com", BOUNCE, [sig("dk2rt.com")],
     dmarc("news.dk2rt.com", "v=DMARC1; p=quarantine"), "pass", "quarantine"),
    ("dkim-relaxed-child-d", "user@dk3rt.com", BOUNCE, [sig("mail.dk3rt.com")],
     dmarc("dk3rt.com", REJECT), "pass", "reject"),
    ("dkim-strict-child-d", "user@dk4rt.com", BOUNCE, [sig("mail.dk4rt.com")],
     dmarc("dk4rt.com", "v=DMARC1; p=reject; adkim=s"), "fail", "reject"),
    ("dkim-strict-exact", "user@dk5rt.com", BOUNCE, [sig("dk5rt.com")],
     dmarc("dk5rt.com", "v=DMARC1; p=reject; adkim=s"), "pass", "reject"),
    ("dkim-strict-parent-d", "user@news.dk6rt.com", BOUNCE, [sig("dk6rt.com")],
     dmarc("dk6rt.com", "v=DMARC1; p=reject; adkim=s"), "fail", "reject"),
    ("dkim-unaligned", "user@dk7rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("dk7rt.com", REJECT), "fail", "reject"),
    ("dkim-unaligned-p-none", "user@dk8rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("dk8rt.com", "v=DMARC1; p=none"), "fail", "none"),
    ("dkim-from-uppercase", "User@DK9RT.COM", BOUNCE, [sig("dk9rt.com")],
     dmarc("dk9rt.com", REJECT), "pass", "reject"),
    ("dkim-two-sigs-aligned-first", "user@dk10rt.com", BOUNCE,
     [sig("dk10rt.com"), sig("signerrt.net")],
     dmarc("dk10rt.com", REJECT), "pass", "reject"),
    ("dkim-two-sigs-aligned-second", "user@dk11rt.com", BOUNCE,
     [sig("signerrt.net"), sig("dk11rt.com")],
     dmarc("dk11rt.com", REJECT), "pass", "reject"),
    ("dkim-key-missing-aligned", "user@km1rt.com", BOUNCE, [sig("km1rt.com", key="missing")],
     dmarc("km1rt.com", REJECT), "fail", "reject"),
    ("dkim-key-servfail-aligned", "user@km2rt.com", BOUNCE,
     [sig("km2rt.com", key="servfail")],
     dmarc("km2rt.com", REJECT), "temperror", "reject"),
    # ------------------------------------------------------------ SPF
    ("spf-aligned-nosig", "user@sp1rt.com", "bounce@sp1rt.com", [],
     merge(dmarc("sp1rt.com", REJECT), spfrec("sp1rt.com")), "pass", "reject"),
    ("spf-relaxed-child", "user@sp2rt.com", "bounce@mail.sp2rt.com", [],
     merge(dmarc("sp2rt.com", REJECT), spfrec("mail.sp2rt.com")), "pass", "reject"),
    ("spf-strict-child", "user@sp3rt.com", "bounce@mail.sp3rt.com", [],
     merge(dmarc("sp3rt.com", "v=DMARC1; p=reject; aspf=s"), spfrec("mail.sp3rt.com")),
     "fail", "reject"),
    ("spf-strict-exact", "user@sp4rt.com", "bounce@sp4rt.com", [],
     merge(dmarc("sp4rt.com", "v=DMARC1; p=reject; aspf=s"), spfrec("sp4rt.com")),
     "pass", "reject"),
    ("spf-fail-aligned", "user@sp5rt.com", "bounce@sp5rt.com", [],
     merge(dmarc("sp5rt.com", REJECT), spfrec("sp5rt.com", "v=spf1 -all")), "fail", "reject"),
    ("spf-softfail-aligned", "user@sp6rt.com", "bounce@sp6rt.com", [],
     merge(dmarc("sp6rt.com", "v=DMARC1; p=quarantine"), spfrec("sp6rt.com", "v=spf1 ~all")),
     "fail", "quarantine"),
    ("spf-neutral-aligned", "user@sp7rt.com", "bounce@sp7rt.com", [],
     merge(dmarc("sp7rt.com", REJECT), spfrec("sp7rt.com", "v=spf1 ?all")), "fail", "reject"),
    ("spf-none-aligned", "user@sp8rt.com", "bounce@sp8rt.com", [],
     dmarc("sp8rt.com", "v=DMARC1; p=none"), "fail", "none"),
    ("spf-unaligned-pass", "user@sp9rt.com", BOUNCE, [],
     dmarc("sp9rt.com", REJECT), "fail", "reject"),
    ("spf-fail-dkim-aligned", "user@sp10rt.com", "bounce@sp10rt.com", [sig("sp10rt.com")],
     merge(dmarc("sp10rt.com", REJECT), spfrec("sp10rt.com", "v=spf1 -all")), "pass", "reject"),
    ("spf-temperror-aligned", "user@sp11rt.com", "bounce@sp11rt.com", [],
     merge(dmarc("sp11rt.com", REJECT), {"sp11rt.com": ["SERVFAIL"]}), "temperror", "reject"),
    ("spf-include-pass-aligned", "user@sp12rt.com", "bounce@sp12rt.com", [],
     merge(dmarc("sp12rt.com", REJECT), spfrec("sp12rt.com", "v=spf1 include:bouncert.net -all")),
     "pass", "reject"),
    # ------------------------------------------------- modified messages
    ("body-modified", "user@bm1rt.com", BOUNCE, [sig("bm1rt.com", tamper="body")],
     dmarc("bm1rt.com", REJECT), "fail", "reject"),
    ("body-modified-spf-aligned", "user@bm2rt.com", "bounce@bm2rt.com",
     [sig("bm2rt.com", tamper="body")],
     merge(dmarc("bm2rt.com", REJECT), spfrec("bm2rt.com")), "pass", "reject"),
    ("header-modified", "user@bm3rt.com", BOUNCE, [sig("bm3rt.com", tamper="header")],
     dmarc("bm3rt.com", "v=DMARC1; p=quarantine"), "fail", "quarantine"),
    # ------------------------------------ subdomains, sp=, org fallback
    ("sp-none-subdomain", "user@news.sub1rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("sub1rt.com", "v=DMARC1; p=reject; sp=none"), "fail", "none"),
    ("sp-quarantine-subdomain-pass", "user@news.sub2rt.com", BOUNCE, [sig("sub2rt.com")],
     dmarc("sub2rt.com", "v=DMARC1; p=reject; sp=quarantine"), "pass", "quarantine"),
    ("sp-at-org-from", "user@sub3rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("sub3rt.com", "v=DMARC1; p=reject; sp=none"), "fail", "reject"),
    ("fallback-no-sp", "user@x.sub4rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("sub4rt.com", "v=DMARC1; p=quarantine"), "fail", "quarantine"),
    ("subdomain-own-record", "user@news.sub5rt.com", BOUNCE, [sig("signerrt.net")],
     merge(dmarc("news.sub5rt.com", "v=DMARC1; p=none"), dmarc("sub5rt.com", REJECT)),
     "fail", "none"),
    ("deep-subdomain-fallback", "user@a.b.c.sub6rt.com", BOUNCE, [sig("sub6rt.com")],
     dmarc("sub6rt.com", REJECT), "pass", "reject"),
    ("intermediate-record-ignored", "user@a.b.sub7rt.com", BOUNCE, [sig("signerrt.net")],
     merge(dmarc("b.sub7rt.com", "v=DMARC1; p=none"), dmarc("sub7rt.com", REJECT)),
     "fail", "reject"),
    ("subdomain-spf-child-fallback", "user@news.sub8rt.com", "bounce@mail.sub8rt.com", [],
     merge(dmarc("sub8rt.com", "v=DMARC1; p=reject; sp=quarantine"), spfrec("mail.sub8rt.com")),
     "pass", "quarantine"),
    # ------------------------------------------ multi-label suffix, PSL
    ("couk-relaxed-child-d", "user@shop1rt.co.uk", BOUNCE, [sig("mail.shop1rt.co.uk")],
     dmarc("shop1rt.co.uk", REJECT), "pass", "reject"),
    ("couk-subdomain-fallback", "user@news.shop2rt.co.uk", BOUNCE, [sig("shop2rt.co.uk")],
     dmarc("shop2rt.co.uk", "v=DMARC1; p=reject; sp=quarantine"), "pass", "quarantine"),
    ("couk-cross-registrable", "user@shop3rt.co.uk", BOUNCE, [sig("other3rt.co.uk")],
     dmarc("shop3rt.co.uk", REJECT), "fail", "reject"),
    ("couk-suffix-record-ignored", "user@shop4rt.co.uk", BOUNCE, [sig("signerrt.net")],
     dmarc("co.uk", REJECT), "none", None),
    ("couk-spf-cross-registrable", "user@shop5rt.co.uk", "bounce@other5rt.co.uk", [],
     merge(dmarc("shop5rt.co.uk", REJECT), spfrec("other5rt.co.uk")), "fail", "reject"),
    ("private-suffix-cross", "user@alicert.github.io", BOUNCE, [sig("malloryrt.github.io")],
     dmarc("alicert.github.io", REJECT), "fail", "reject"),
    ("unlisted-tld", "user@news.brandrt.example", BOUNCE, [sig("brandrt.example")],
     dmarc("brandrt.example", REJECT), "pass", "reject"),
    ("hyphenated-from-domain", "user@my-shop.com", "bounce@my-shop.com", [sig("my-shop.com")],
     merge(dmarc("my-shop.com", REJECT), spfrec("my-shop.com")), "pass", "reject"),
    # ------------------------------------------------------- no record
    ("no-record-dkim-aligned", "user@nr1rt.com", BOUNCE, [sig("nr1rt.com")],
     {}, "none", None),
    ("no-record-nothing", "user@nr2rt.com", BOUNCE, [sig("signerrt.net")],
     {}, "none", None),
    ("no-record-subdomain", "user@news.nr3rt.com", "bounce@nr3rt.com", [],
     spfrec("nr3rt.com"), "none", None),
    ("dmarc-servfail", "user@ds1rt.com", BOUNCE, [sig("ds1rt.com")],
     {"_dmarc.ds1rt.com": ["SERVFAIL"]}, "temperror", None),
    # ---------------------------------------------------- broken records
    ("broken-p-value", "user@br1rt.com", BOUNCE, [sig("br1rt.com")],
     dmarc("br1rt.com", "v=DMARC1; p=bogus"), "permerror", None),
    ("broken-duplicate-p", "user@br2rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br2rt.com", "v=DMARC1; p=reject; p=none"), "permerror", None),
    ("broken-no-p-with-rua", "user@br3rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br3rt.com", "v=DMARC1; rua=mailto:dmarc@br3rt.com"), "fail", "none"),
    ("broken-no-p-no-rua", "user@br4rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br4rt.com", "v=DMARC1; adkim=s"), "permerror", None),
    ("not-a-record-leading-space", "user@br5rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br5rt.com", " v=DMARC1; p=reject"), "none", None),
    ("not-a-record-lowercase-version", "user@br6rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br6rt.com", "v=dmarc1; p=reject"), "none", None),
    ("not-a-record-other-text", "user@br7rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br7rt.com", "hello world"), "none", None),
    ("bad-adkim-value", "user@br8rt.com", BOUNCE, [sig("mail.br8rt.com")],
     dmarc("br8rt.com", "v=DMARC1; p=reject; adkim=x"), "pass", "reject"),
    ("record-tags-spaced-uppercase", "user@br9rt.com", BOUNCE, [sig("signerrt.net")],
     dmarc("br9rt.com", "v=DMARC1 ;  P = Quarantine ; ADKIM = s"), "fail", "quarantine"),
]

# case name -> (fields that differ, one-line reason). The fields are those
# of compare(): "result", "policy", "spf", "org".
KNOWN_DIFFERENCES = {
    "dkim-two-sigs-aligned-second": (
        {"result"}, "authheaders (check_dkim) verifies only the first DKIM-Signature; "
        "RFC 7489 4.2 counts any aligned pass, ours verifies every signature"),
    "dkim-key-servfail-aligned": (
        {"result"}, "ours reports DMARC fail as temperror when an aligned DKIM key could "
        "not be fetched (align.c); dkimpy maps SERVFAIL to no key and fails"),
    "spf-temperror-aligned": (
        {"result"}, "ours reports DMARC fail as temperror when the aligned envelope "
        "domain's SPF is temperror (align.c); authheaders counts only an SPF pass"),
    "dmarc-servfail": (
        {"result"}, "authheaders' dns_query maps SERVFAIL (NoNameservers) to no record: "
        "none; ours cannot tell no policy from an unanswered lookup: temperror"),
    "sp-at-org-from": (
        {"policy"}, "authheaders applies sp= even to the From domain's own record "
        "(dmarc_per_from sets orgdomain = from_domain); RFC 7489 6.3: sp= is for subdomains"),
    "unlisted-tld": (
        {"result", "org"}, "publicsuffix2 has no implicit '*' rule for a TLD "
        "not on the list (org of news.brandrt.example = 'example'); the PSL algorithm "
        "and libpsl use '*', so org = brandrt.example and its record is found"),
    "hyphenated-from-domain": (
        {"result"}, "authheaders' get_domain_part() takes the domain with "
        "re '@([a-z0-9.]+)', which stops at '-': it looks up _dmarc.my, finds none"),
    "broken-p-value": (
        {"result"}, "authheaders uses any p= word (policy 'bogus'); ours: p= "
        "not none/quarantine/reject and no rua= is an unusable record: permerror "
        "(RFC 7489 6.6.3 step 6, 11.2)"),
    "broken-duplicate-p": (
        {"result"}, "authheaders keeps the last of two p= tags; ours: a tag "
        "twice cannot be read one way: permerror"),
    "broken-no-p-with-rua": (
        {"result"}, "authheaders ignores a record without p=: none; RFC 7489 "
        "6.6.3 step 6: with a valid rua= it is read as p=none: fail"),
    "broken-no-p-no-rua": (
        {"result"}, "authheaders ignores a record without p=: none; ours reports the "
        "published but unusable record as permerror"),
    "bad-adkim-value": (
        {"result"}, "authheaders treats adkim=x as neither r nor s, so nothing aligns: "
        "fail; RFC 7489 6.3: a bad value is discarded for the default (r): pass"),
}


# --------------------------------------------------------------- builder
def build(keys):
    """(zone, [message bytes (CRLF)]) for CASES."""
    zone = {k.lower(): list(v) for k, v in BASE_ZONE.items()}

    def put(name, items):
        name = name.lower()
        if name in zone:
            assert zone[name] == items, "zone conflict at %s: %r vs %r" % (
                name, zone[name], items)
        zone[name] = items

    key = keys.rsa[2048]
    msgs = []
    for n, (name, frm, env, sigs, records, _, _) in enumerate(CASES):
        for rname, items in records.items():
            put(rname, items)
        headers = [("From: Sender <%s>" % frm).encode() + CRLF,
                   b"To: Bob <bob@rcptrt.org>" + CRLF,
                   ("Subject: differential case %d %s" % (n, name)).encode() + CRLF,
                   b"Date: Mon, 01 Apr 2024 09:59:00 +0000" + CRLF,
                   ("Message-ID: <%d.%s@rt-diff.test>" % (n, name)).encode() + CRLF]
        body = dkimgen.body_of(n)
        fields = []
        tampered_body = body
        tampered_headers = headers
        for sg in sigs:
            fields.append(dkimgen.dkim_header(key, headers, body, sg["d"], sg["s"]))
            kname = "%s._domainkey.%s" % (sg["s"], sg["d"])
            if sg["key"] == "ok":
                put(kname, [{"TXT": key.record()}])
            elif sg["key"] == "servfail":
                put(kname, ["SERVFAIL"])
            if sg["tamper"] == "body":
                tampered_body = body.replace(b"Hello", b"Hallo")
            elif sg["tamper"] == "header":
                tampered_headers = [h.replace(b"Subject: differential", b"Subject: DIFFERENTIAL")
                                    for h in headers]
        prefix = ("Return-Path: <%s>\r\n"
                  "Received: from mx.rcptrt.net (mx.rcptrt.net [10.0.0.2])\r\n"
                  "\tby inbox.rcptrt.org (Postfix) with ESMTP id A%d\r\n"
                  "\tfor <bob@rcptrt.org>; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\r\n"
                  "Received: from %s (%s [%s])\r\n"
                  "\tby mx.rcptrt.net (Postfix) with ESMTP id B%d\r\n"
                  "\tfor <bob@rcptrt.org>; Mon, 01 Apr 2024 10:00:05 +0000 (UTC)\r\n"
                  % (env, n, HELO, HELO, IP, n)).encode()
        msgs.append(prefix + b"".join(fields) + b"".join(tampered_headers) + CRLF
                    + tampered_body)
    # authheaders' dnsfunc can only hand over one TXT record per _dmarc name
    for name, items in zone.items():
        if name.startswith("_dmarc."):
            assert len(items) == 1, name
    return zone, msgs


# ------------------------------------------------- authheaders, offline
class AuthheadersDNS:
    """DNS for authheaders, dkimpy and pyspf from the zone dict, answering
    as their own dnspython-based resolvers would against the same server:
    authheaders' dns_query and dkimpy's get_txt_dnspython both turn
    NXDOMAIN, NODATA and SERVFAIL (NoNameservers) into None; pyspf's
    DNSLookup_dnspython turns SERVFAIL into TempError."""

    def __init__(self, zone):
        self.zone = zone
        self.calls = []

    def _items(self, name):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        return self.zone.get(name.lower().rstrip("."))

    @staticmethod
    def _failing(items):
        return any(isinstance(it, str) for it in items)

    def _txts(self, items, qtype="TXT"):
        out = []
        for it in items:
            if isinstance(it, dict) and qtype in it:
                v = it[qtype]
                out.append([v] if isinstance(v, str) else list(v))
        return out

    def dnsfunc(self, name, timeout=5):
        """authheaders' dnsfunc: dkimpy calls it with bytes (wants bytes),
        the DMARC lookup with str (wants str; one record)."""
        self.calls.append(name)
        items = self._items(name)
        if not items or self._failing(items):
            return None
        txts = self._txts(items)
        if not txts:
            return None
        joined = "".join(txts[0])
        return joined.encode() if isinstance(name, bytes) else joined

    def spf_lookup(self, name, qtype, strict=True, timeout=30):
        """Replacement for spf.DNSLookup."""
        self.calls.append((name, qtype))
        items = self._items(name)
        if items is None:
            return []
        if self._failing(items):
            raise spf.TempError("DNS SERVFAIL for %s" % name)
        out = []
        for it in items:
            if not isinstance(it, dict) or qtype not in it:
                continue
            v = it[qtype]
            if qtype in ("TXT", "SPF"):
                v = [s.encode() for s in ([v] if isinstance(v, str) else v)]
            elif qtype == "MX":
                raise AssertionError("MX not supported by the test's SPF lookup")
            out.append(((name, qtype), v))
        return out


def run_authheaders(adns, msg, env):
    """(dmarc result, policy or None, spf result) from authheaders."""
    ar = authheaders.authenticate_message(
        msg, "authheaders.test", spf=True, dkim=True, arc=False, dmarc=True,
        ip=IP, mail_from=env, helo=HELO, dnsfunc=adns.dnsfunc)
    parsed = authres.AuthenticationResultsHeader.parse(ar)
    got = {}
    for r in parsed.results:
        props = {(p.type, p.name): p.value for p in r.properties}
        got[r.method] = (r.result, props.get(("policy", "dmarc")))
    return got["dmarc"][0], got["dmarc"][1], got["spf"][0], ar


def from_domain(frm):
    return frm.rsplit("@", 1)[1].lower()


# ------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def built():
    """(zone, messages) of CASES, signed with one RSA 2048 key."""
    return build(dkimgen.Keys(sizes=(2048,)))


class default_resolver_at:
    """dnspython's default resolver (authheaders' dns_query, dkimpy's and
    pyspf's dnspython lookups use it) pointed at a test server."""

    def __init__(self, srv):
        self.srv = srv

    def __enter__(self):
        self.saved = dns.resolver.default_resolver
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ["127.0.0.1"]
        res.port = self.srv.port
        res.lifetime = 5
        dns.resolver.default_resolver = res

    def __exit__(self, *exc):
        dns.resolver.default_resolver = self.saved


@pytest.fixture(scope="module")
def results(built, tmp_path_factory):
    assert os.path.exists(get_suffix_list_file_name()), \
        "authheaders' PSL file %s is missing" % get_suffix_list_file_name()
    zone, msgs = built
    srv = TestDNS(host="127.0.0.1", port=0)
    try:
        srv.set_zone(zone)
        mbox = str(tmp_path_factory.mktemp("ah") / "cases.mbox")
        dkimgen.write_mbox(mbox, msgs)
        p = subprocess.run([VERIFY, "--json", "--no-progress", "--jobs", "1",
                            "--dns-forward", "127.0.0.1@%d" % srv.port,
                            "--trusted", "10.0.0.0/8", mbox],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert b"Sanitizer" not in p.stderr, p.stderr
        assert p.returncode in (0, 1), p.stderr
        ours = [json.loads(line) for line in p.stdout.decode().splitlines()]
        assert len(ours) == len(CASES), p.stderr
        ours.sort(key=lambda o: o["index"])

        # authheaders: offline. Anything that would still reach dnspython's
        # default resolver goes to the test server, and is caught below.
        srv.clear_queries()
        adns = AuthheadersDNS(zone)
        saved_lookup = spf.DNSLookup
        spf.DNSLookup = adns.spf_lookup
        try:
            with default_resolver_at(srv):
                theirs = [run_authheaders(adns, m, c[2]) for m, c in zip(msgs, CASES)]
        finally:
            spf.DNSLookup = saved_lookup
        assert srv.queries == [], "authheaders bypassed the dict: %r" % srv.queries
        assert adns.calls, "authheaders made no DNS lookup through the hooks"
    finally:
        srv.stop()
    return ours, theirs


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_hooks_answer_as_the_real_resolvers(built):
    """The dict-based hooks give what authheaders' dns_query, dkimpy's
    get_txt and pyspf's DNSLookup_dnspython get from the same zone served
    by the test DNS server: records, NXDOMAIN, NODATA and SERVFAIL."""
    zone, _ = built
    adns = AuthheadersDNS(zone)
    names = ["_dmarc.dk1rt.com", "_dmarc.nr1rt.com", "_dmarc.ds1rt.com",
             "_dmarc.br7rt.com", "_dmarc.co.uk", "s1._domainkey.dk1rt.com",
             "s1._domainkey.km1rt.com", "s1._domainkey.km2rt.com"]
    spf_names = ["sp1rt.com", "sp11rt.com", "sp8rt.com", "bouncert.net", HELO]
    srv = TestDNS(host="127.0.0.1", port=0)
    try:
        srv.set_zone(zone)
        with default_resolver_at(srv):
            for name in names:
                real = dmarc_lookup.dns_query(name)
                real = None if real is None else \
                    [b"".join(r.strings).decode() for r in real][0]
                assert adns.dnsfunc(name) == real, name
                assert adns.dnsfunc((name + ".").encode()) == \
                    dkim_dnsplug.get_txt((name + ".").encode()), name
            for name in spf_names:
                for qtype in ("TXT", "A"):
                    try:
                        real = spf.DNSLookup_dnspython(name, qtype)
                    except spf.TempError:
                        real = "TempError"
                    try:
                        mine = adns.spf_lookup(name, qtype)
                    except spf.TempError:
                        mine = "TempError"
                    assert mine == real, (name, qtype)
    finally:
        srv.stop()


def compare(case, o, t):
    """{field: (ours, authheaders)} where they differ."""
    frm = case[1]
    d = o["dmarc"]
    diff = {}
    if d["result"] != t[0]:
        diff["result"] = (d["result"], t[0])
    if d["result"] in ("pass", "fail") and t[0] in ("pass", "fail") and d["policy"] != t[1]:
        diff["policy"] = (d["policy"], t[1])
    if d["spf_result"] != t[2]:
        diff["spf"] = (d["spf_result"], t[2])
    org = get_org_domain(from_domain(frm))
    if d["org_domain"] != org:
        diff["org"] = (d["org_domain"], org)
    return diff


def test_case_table_size():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
    assert set(KNOWN_DIFFERENCES) <= {c[0] for c in CASES}


def test_dmarc_agrees_with_authheaders(results):
    ours, theirs = results
    unexpected, stale = [], []
    for case, o, t in zip(CASES, ours, theirs):
        name = case[0]
        assert o["dmarc"]["from_domain"] == from_domain(case[1]), o["dmarc"]
        diff = compare(case, o, t)
        known = KNOWN_DIFFERENCES.get(name)
        if known is None:
            if diff:
                unexpected.append("%s: %s\n    ours %s\n    authheaders %s" % (
                    name, diff, json.dumps(o["dmarc"]), t[3]))
        elif set(diff) != known[0]:
            stale.append("%s: listed as differing in %s, now differs in %s %s" % (
                name, sorted(known[0]), sorted(diff), diff))
    assert not unexpected, "disagreements with authheaders:\n" + "\n".join(unexpected)
    assert not stale, "KNOWN_DIFFERENCES out of date:\n" + "\n".join(stale)


def test_dmarc_is_the_designed_answer(results):
    """Our result and policy are those each case was built to give."""
    ours, _ = results
    bad = []
    for case, o in zip(CASES, ours):
        d = o["dmarc"]
        want = (case[5], case[6] if case[5] in ("pass", "fail", "temperror") else None)
        got = (d["result"], d["policy"] if case[5] in ("pass", "fail", "temperror") else None)
        if got != want:
            bad.append("%s: got %s, want %s\n    %s" % (case[0], got, want, json.dumps(d)))
    assert not bad, "\n".join(bad)
