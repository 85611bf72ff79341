# SPDX-License-Identifier: ISC
"""Differential test of our Received: parser (verifier/received.c) against
three public tables of expected parses (issue 21, part 2).  The tables are
not in the tree (tests/data/UPSTREAM says why, where they come from and
where the test looks: conftest.upstream_data("received")); without them
the test is skipped with that reason:

  stalwart      stalwart-received.json: resources/received.json of
                stalwartlabs/mail-parser, 181 values.  Case id: the index
                (0-based) in that array.
  spamassassin  spamassassin-rcvd_parser.json: the %data table of
                t/rcvd_parser.t of apache/spamassassin, 145 values, of which
                111 have an expected relay string; the 34 that SpamAssassin
                skips (expected '') are not compared.  Case id: the line of
                the value in rcvd_parser.t.
  rspamd        rspamd-received.json: the TEST_CASE("parse received") table
                of src/libmime/received.cxx of rspamd/rspamd, 13 values.
                Case id: the line of the value in received.cxx.

Each table becomes one mbox, one message per value (`Received: <value>`,
folded as upstream wrote it, plus From, Date, Message-ID, Subject and a
body), verified once with `relaytrust-verify --json --offline`; each
message's hops[0] is compared field by field with the table.

Field mapping (theirs -> ours).  A field a table leaves out means "none"
(null in ours) wherever the table's parser would have written it:

  stalwart
    from (Name or IpAddr)        -> from_name
    helo                         -> from_helo   (only where Stalwart gives
                                    one: its helo is the name written after
                                    HELO/EHLO/LHLO/helo=; without it
                                    Stalwart says nothing about the HELO)
    from_ip                      -> from_ip
    from_iprev                   -> from_rdns
    by (Name or IpAddr)          -> by_host
    with (Protocol)              -> with       (case-insensitive)
    via                          -> via
    id                           -> id
    for_                         -> for
    date {year..tz_minute}       -> date       (converted to UTC; a date
                                    that cannot exist, e.g. month 13,
                                    compares as "invalid")
    tls_version or tls_cipher, or with ESMTPS/ESMTPSA/LMTPS/LMTPSA
                                 -> tls        (true, or else "not true":
                                    Stalwart has no "unknown", so our
                                    false and null both match its false)
    ident, helo_cmd              -> not compared (we keep no ident; the
                                    HELO verb is not in our JSON)
  spamassassin (relay string "[ ip= rdns= helo= by= ident= envfrom= id=
  auth= msa= ]"; an empty value is null)
    ip       -> from_ip
    rdns     -> from_rdns
    helo     -> from_helo  (SpamAssassin writes [x] as !x!)
    by       -> by_host
    envfrom  -> envelope_from
    id       -> id
    auth     -> auth       (any mechanism name -> true, empty -> false)
    ident, msa, intl -> not compared
  rspamd (received_header::as_map(); the test upstream requires the map to
  be exactly the listed keys, so a key not listed is empty there)
    from_hostname -> from_name and from_helo (rspamd documents it as "the
                     hostname provided by a peer", lua_task.c)
    real_hostname -> from_rdns
    real_ip       -> from_ip
    by_hostname   -> by_host
    for_mbox      -> for

Normalization before comparing (equal meaning, not a correction): host
names are compared case-insensitively, without one trailing dot, and an
address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]", "!192.0.2.1!")
compares equal to the bare address; their IP addresses are written in
canonical form (ours must already be); one pair of enclosing <> is dropped
from for, envelope_from and id.

Every disagreement is classified below in exactly one of:
  THEIR_MODEL     their model differs from ours by design;
  THEY_ARE_WRONG  their expected value is wrong by the RFCs or by the MTA's
                  documented format;
  OUR_BUGS        we are wrong (still counted as disagreement: to be fixed
                  in verifier/received.c, then the entry removed).
Keys are (table, case id, field).  Asserted: per table and per field of
ASSERTED that the table has, agreement counting THEIR_MODEL and
THEY_ARE_WRONG as agreement is >= 98 % (OUR_BUGS and unclassified
disagreements count against us); and every key of the three dicts still
disagrees, so no list can rot: a fixed bug's OUR_BUGS entry must be
deleted, and an entry whose disagreement remains for another reason (e.g.
we now give the right date and Stalwart still says 1903) must move to the
right dict.  A new disagreement that no dict names is "unclassified".

Hops: the verifier orders hops oldest first; with one Received per message
there is only hops[0].

The agreement table is printed to the terminal (also with -q) and, with
every disagreement, its raw value and its reason, written to
$RT_BUILD/received-diff.txt.
"""
import datetime
import ipaddress
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
RT_BUILD = os.environ.get("RT_BUILD", os.path.join(ROOT, "build"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")
REPORT = os.path.join(RT_BUILD, "received-diff.txt")

TABLES = ("stalwart", "spamassassin", "rspamd")
ASSERTED = ("from_ip", "from_helo", "from_rdns", "by_host", "with", "id", "for", "date")
THRESHOLD = 0.98

HOST_FIELDS = ("from_name", "from_helo", "from_rdns", "by_host", "via")
BRACKET_FIELDS = ("for", "envelope_from", "id")


def _each(table, ids, field, reason):
    return {(table, i, field): reason for i in ids}


# --- their model differs from ours by design ---------------------------------

THEIR_MODEL = {}
# Stalwart: with is an enum (Protocol), we keep the protocol as written.
THEIR_MODEL.update(_each("stalwart", (
    18, 19, 20, 21, 22, 23, 24, 25, 29, 31, 32, 33, 71, 94, 95, 98, 113,
    121, 123, 133, 136, 147, 148, 149, 156, 157, 167, 170, 175, 176, 177), "with",
    "Stalwart reduces with to a value of its Protocol enum (SMTP, ESMTP, ESMTPS, "
    "HTTP, LMTP, ...; unknown words give none); we report the protocol as "
    "written (Microsoft SMTPSVC, local-esmtp, ESMTP-TLS, mapi, NNFMP, ...)"))
# Stalwart: an address right after "from" stays in from, never in from_ip.
THEIR_MODEL.update(_each("stalwart", (
    14, 16, 17, 35, 36, 57, 67, 70, 88, 91, 92, 93, 94, 98, 105, 107, 108, 111,
    114, 115, 122, 136, 175, 176, 177, 179), "from_ip",
    "an address right after from (from [ip] ..., from ip ...): Stalwart keeps "
    "it as the from host (Host::IpAddr) and sets from_ip only from a comment; "
    "we report it as the connecting address (Exim writes [ip] there when the "
    "host has no verified name; SquirrelMail writes REMOTE_ADDR there; "
    "SpamAssassin reads it as the ip too)"))
THEIR_MODEL.update(_each("stalwart", (78, 80), "from_ip",
    "[::ffff:a.b.c.d]: Stalwart keeps the IPv4-mapped IPv6 form; we report the "
    "IPv4 address it maps (RFC 4291 2.5.5.2), as SpamAssassin does"))
# Stalwart never reads the name after from as the reverse name.
THEIR_MODEL.update(_each("stalwart", (37, 38, 39, 40, 41, 42, 53), "from_rdns",
    "Exim: the name after from is the verified host name (Exim spec, "
    "$sender_rcvhost / $sender_fullhost: 'a plain host name at the start is a "
    "verified host name'); Stalwart takes a reverse name only from a comment"))
THEIR_MODEL.update(_each("stalwart", (58, 59, 61, 62, 64, 86, 97), "from_rdns",
    "qmail format 'from remotehost (HELO helo) (info@ip)' (qmail-smtpd "
    "received(): remotehost is TCPREMOTEHOST, the reverse name; qpsmtpd, GMX "
    "and this LMTP line copy it): the name after from is the reverse name; "
    "Stalwart takes a reverse name only from a comment"))
THEIR_MODEL[("stalwart", 90, "from_rdns")] = (
    "smap 'from host(ip, HELO x)': host is the looked-up name and the HELO is "
    "given apart (SpamAssassin reads it so too); Stalwart takes a reverse name "
    "only from a comment")
THEIR_MODEL[("stalwart", 145, "from_rdns")] = (
    "OpenSMTPD local submission 'from localhost (example.com [local])': there "
    "is no address; OpenSMTPD writes its own host name in the rDNS slot; we "
    "record no reverse name without an address")
THEIR_MODEL[("stalwart", 69, "date")] = (
    "no ';' before the date-time (RFC 5321 4.4 requires one): Stalwart records "
    "no date, we take the date-time that ends the field")
THEIR_MODEL[("stalwart", 23, "from_name")] = (
    "IIS pickup line 'from mail pickup service by ...': Stalwart keeps one "
    "word ('mail'), we keep IIS's fixed phrase as written")
THEIR_MODEL[("stalwart", 107, "from_name")] = (
    "'from [10.128.128.81]:50999': Stalwart reduces it to the address, we keep "
    "the word as written, with its port")
THEIR_MODEL[("stalwart", 111, "by_host")] = (
    "'by <server>' (an unfilled template): Stalwart drops the angle brackets, "
    "we keep the word as written")
THEIR_MODEL[("stalwart", 151, "from_name")] = (
    "Jetsend writes the envelope sender where the host belongs "
    "('from [<addr>]'): Stalwart files it as ident and leaves from empty, we "
    "keep the word as written")
THEIR_MODEL.update(_each("stalwart", (162, 163), "from_name",
    "no from clause: '(from user@host) by ...' is the local sender in a "
    "comment (Sendmail Submit, jqueuemail), not a host; Stalwart reads a from "
    "inside the comment, we do not (nor does rspamd, its case 1004)"))
THEIR_MODEL[("stalwart", 153, "for")] = (
    "'for <address>' (the corpus anonymised the recipient): Stalwart keeps for "
    "only when it holds an @, we keep the path as written")
# SpamAssassin
THEIR_MODEL.update(_each("spamassassin", (247, 310, 316), "from_rdns",
    "Critical Path ('by host (7.0.0xx) id ...') 'from name (ip)': "
    "SpamAssassin's catch-all copies the name into rdns by qmail's rule (qmail "
    "omits the HELO when it equals the reverse name), but this is not qmail "
    "and nothing says the name was looked up (rousalka.dyndns.org is a "
    "dynamic-DNS name, not the PTR of a laposte.net client); we report it as "
    "the HELO only"))
THEIR_MODEL.update(_each("spamassassin", (277, 459), "from_helo",
    "qmail writes the HELO through safeput(), which turns [ and ] into ?: "
    "'(HELO ?192.0.2.1?)' is the literal [192.0.2.1], which we report; "
    "SpamAssassin keeps the ?"))
THEIR_MODEL[("spamassassin", 157, "from_helo")] = (
    "Ecelerity 'from [127.0.0.1] ([127.0.0.1:50024])' writes Exim's way: no "
    "helo= means the HELO was the name or [ip] in front (Exim spec, "
    "$sender_fullhost); SpamAssassin's Ecelerity rule reads only ip and by")
THEIR_MODEL[("spamassassin", 400, "from_helo")] = (
    "'from [86.122.158.69] by ...;' with no comment: SpamAssassin's last-resort "
    "guess takes the first word as the HELO (and as ip); we read the lone "
    "address as the connecting address and claim no HELO")
THEIR_MODEL[("spamassassin", 392, "auth")] = (
    "SpamAssassin's GMX workaround: it knows mail.gmx.net authenticates with "
    "SMTP and says nothing; the line itself has no sign of authentication")
# rspamd
THEIR_MODEL.update(_each("rspamd", (918, 930), "from_helo",
    "Exim writes the verified host name after from and the HELO as helo= "
    "(Exim spec, $sender_rcvhost); rspamd takes the word after from as the "
    "peer's announced name"))
THEIR_MODEL.update(_each("rspamd", (918, 930), "from_rdns",
    "Exim's name after from is the verified host name; rspamd takes "
    "real_hostname only from the comment"))
THEIR_MODEL[("rspamd", 960, "from_rdns")] = (
    "'from example.com ([])': with no usable address rspamd files the name "
    "after from as real_hostname (received.cxx, received_process_from); we "
    "record no reverse name without an address")
THEIR_MODEL.update({("rspamd", 994, f): (
    "NUL bytes (not allowed in a header, RFC 5322 2.2; we report them as a "
    "header finding): rspamd deletes them before parsing, we read each as a "
    "space, so '[1<NUL>85.243.30.90]' holds no address for us")
    for f in ("from_name", "from_helo", "from_rdns", "from_ip")})


THEIR_MODEL.update(_each("stalwart", (60, 84, 87, 89, 99, 101, 117, 118, 128), "from_rdns",
    "the reverse name written as the name after from: qmail 'from remotehost "
    "(ip)' / '(info@ip)' / '(HELO )', smap 'from name(ip)', CommuniGate "
    "'from name ([ip] verified)' (SpamAssassin reads all of these so); "
    "Stalwart takes a reverse name only from a comment"))


# --- their expected value is wrong -------------------------------------------

THEY_ARE_WRONG = {}
THEY_ARE_WRONG.update(_each("stalwart", (89, 90, 128), "date",
    "two-digit year (03, 04): Stalwart adds 1900; RFC 5322 4.3: 00-49 is "
    "2000-2049"))
THEY_ARE_WRONG.update(_each("stalwart", (67, 163), "date",
    "zone PST / PDT: Stalwart reads it as -0000; RFC 5322 4.3: PST is -0800, "
    "PDT -0700"))
THEY_ARE_WRONG.update(_each("stalwart", (13, 117, 118, 151), "date",
    "ctime-style date ('Fri Feb 07 10:18:12 2003 -0800', 'Sun Nov 13 14:50:12 "
    "2005', 'Fri Sep 14 14:36:56 EDT 2018'): Stalwart reads the numbers in RFC "
    "5322 order and gets an impossible date (month 13, second 211, ...)"))
THEY_ARE_WRONG[("stalwart", 144, "date")] = (
    "SendGrid's '07:53:55.516 +0000': the time is 07:53:55 (fractional "
    "seconds); Stalwart loses the seconds (07:53:00)")
THEY_ARE_WRONG.update(_each("stalwart", (64, 86, 87, 97, 116, 119), "from_ip",
    "qmail writes '(remoteinfo@remoteip)' (qmail-smtpd received()): the "
    "address after the @ is the client's; Stalwart files the whole word as "
    "ident and records no address"))
THEY_ARE_WRONG.update(_each("stalwart", (4, 15, 78, 127, 152), "from_rdns",
    "'(localhost [127.0.0.1])': Postfix/Sendmail/Courier write "
    "'(reverse-name [address])', here the reverse name is localhost; "
    "Stalwart takes only dotted words as host names"))
THEY_ARE_WRONG[("stalwart", 43, "from_rdns")] = (
    "Exim 3 $sender_fullhost 'name (helo) [ip.port]' (ident): the plain name "
    "in front is the verified host name, the name in parentheses the HELO "
    "(Exim spec; SpamAssassin reads it so); Stalwart takes the HELO as iprev")
THEY_ARE_WRONG.update(_each("stalwart", (43, 81), "from_ip",
    "Exim 3 writes the port glued to the address, [a.b.c.d.port] (Exim 3 "
    "spec; SpamAssassin reads the address): Stalwart records no address"))
THEY_ARE_WRONG[("stalwart", 54, "from_rdns")] = (
    "'(<unknown.domain>[12.211.5.69])': <unknown.domain> is the placeholder "
    "this MTA writes when the address has no PTR (like Postfix's unknown; "
    "SpamAssassin treats it so), not a host name")
THEY_ARE_WRONG.update(_each("stalwart", (28, 29, 30), "id",
    "Ecelerity ids 'EE/20-30863-33CE1054': '/' is atext (RFC 5322 3.2.3), the "
    "id is the whole atom (SpamAssassin reads it whole); Stalwart cuts at /"))
THEY_ARE_WRONG[("stalwart", 125, "from_name")] = (
    "'Unknown/Local' is one atom ('/' is atext, RFC 5322 3.2.3); Stalwart cuts "
    "at the /")
THEY_ARE_WRONG[("stalwart", 165, "from_name")] = (
    "'(qmail 84907 invoked from network)' is qmail-queue's bookkeeping "
    "comment: there is no from clause and 'network' is no host")
THEY_ARE_WRONG[("stalwart", 171, "from_name")] = (
    "'by oak.ein.cz (Postfix, from userid 1002)' is Postfix pickup's comment: "
    "there is no from clause and 'userid' is no host")
THEY_ARE_WRONG[("stalwart", 123, "by_host")] = (
    "qmail-scanner 'by alpha by uid 7791': the receiving host is alpha, "
    "'by uid N' notes the local user; Stalwart takes the second by")
THEY_ARE_WRONG[("spamassassin", 292, "from_rdns")] = (
    "the remote-host slot holds 211.245.85.228, an address: a host name never "
    "has the dotted-decimal form (RFC 1123 2.1), so there is no reverse name "
    "on record; SpamAssassin copies the address into rdns")
THEY_ARE_WRONG[("rspamd", 952, "from_ip")] = (
    "forged qmail-style 'from [192.83.172.101] (HELLO x) (148.251.238.35)': "
    "the address in the TCP-info comment is the connection's, the literal "
    "after from is what the client claimed (RFC 5321 4.4, qmail's format); "
    "rspamd takes the literal")
THEY_ARE_WRONG[("rspamd", 968, "for")] = (
    "'... with;ESMTP id X for <hey@y.br>; date': the date-time follows the "
    "last ';' (RFC 5321 4.4 Stamp), the stray ';' after with does not end "
    "the clauses; rspamd cuts at the first ';' and loses for")


# --- we are wrong (still counted as disagreement) -----------------------------

OUR_BUGS = {}
# Empty since the parser work of issue 21, which fixed the 59 entries first
# listed here: qmail's name as reverse name without (HELO x) and with an
# empty (HELO ), XMail's HELO and "from <sender>", CommuniGate "verified"
# and "(account x)", webmail auth and no HELO over HTTP, Exim 3's
# [a.b.c.d.port] and "rdns (helo) [ip]", one-word from names, smap's
# "claiming to be", NAVGW's "(from name [ip])", Courier's id after the date,
# qmail ident with an @, a reverse name alone in a comment, clauses and
# junk around the date, free-text TLS, a mailbox in by, "for Windows", NUL
# bytes.  A new entry here is a known bug of ours, counted against us.


# --- the tables ------------------------------------------------------------

def _host(h):
    """Stalwart's Host: {"Name": x} or {"IpAddr": ip}."""
    if h is None:
        return None
    return h.get("Name", h.get("IpAddr"))


def _stalwart_date(d):
    if d is None:
        return None
    off = (d["tz_hour"] * 60 + d["tz_minute"]) * (-1 if d["tz_before_gmt"] else 1)
    try:
        t = datetime.datetime(d["year"], d["month"], d["day"], d["hour"],
                              d["minute"], d["second"])
    except ValueError:
        return "invalid"
    t -= datetime.timedelta(minutes=off)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


TLS_WITH = ("ESMTPS", "ESMTPSA", "LMTPS", "LMTPSA")


def data_dir():
    import conftest
    return conftest.upstream_data("received")


def load_stalwart():
    with open(os.path.join(data_dir(), "stalwart-received.json"), encoding="utf-8") as f:
        rows = json.load(f)
    cases = []
    for i, row in enumerate(rows):
        e = row["expected"]
        frm = _host(e.get("from"))
        helo = _host(e.get("helo"))
        exp = {
            "from_name": frm,
            "from_ip": e.get("from_ip"),
            "from_rdns": e.get("from_iprev"),
            "by_host": _host(e.get("by")),
            "with": e.get("with"),
            "via": e.get("via"),
            "id": e.get("id"),
            "for": e.get("for_"),
            "date": _stalwart_date(e.get("date")),
            "tls": bool(e.get("tls_version") or e.get("tls_cipher")
                        or (e.get("with") or "").upper() in TLS_WITH),
        }
        if helo is not None:
            exp["from_helo"] = helo
        cases.append((i, row["header"], exp))
    return cases


SA_RELAY_RE = re.compile(r"^\[ (.*) \]$")
SA_MAP = {"ip": "from_ip", "rdns": "from_rdns", "helo": "from_helo", "by": "by_host",
          "envfrom": "envelope_from", "id": "id", "auth": "auth"}


def parse_sa_relay(s):
    """'[ ip=1.2.3.4 rdns= helo=x by=y ident= envfrom= id= auth= msa=0 ]' ->
    dict.  Values may hold spaces (auth=GMX (SMTP / mail.gmx.net)), so the
    string is cut at the known keys."""
    body = SA_RELAY_RE.match(s).group(1)
    keys = ("ip", "rdns", "helo", "by", "ident", "envfrom", "intl", "id", "auth", "msa")
    pos = [(m.start(), m.group(1)) for m in
           re.finditer(r"(?:^| )(%s)=" % "|".join(keys), body)]
    out = {}
    for n, (start, key) in enumerate(pos):
        vstart = start + len(key) + 1 + (0 if start == 0 else 1)
        vend = pos[n + 1][0] if n + 1 < len(pos) else len(body)
        out[key] = body[vstart:vend]
    return out


def load_spamassassin():
    with open(os.path.join(data_dir(), "spamassassin-rcvd_parser.json"), encoding="utf-8") as f:
        rows = json.load(f)
    cases = []
    for row in rows:
        if not row["expected"]:
            continue            # SpamAssassin skips these lines: nothing to compare
        rel = parse_sa_relay(row["expected"])
        exp = {}
        for k, ours in SA_MAP.items():
            v = rel[k]
            if k == "auth":
                exp[ours] = bool(v)
            elif k == "helo" and re.fullmatch(r"!.*!", v):
                exp[ours] = "[" + v[1:-1] + "]"
            else:
                exp[ours] = v or None
        cases.append((row["line"], row["header"], exp))
    return cases


RSPAMD_MAP = {"from_hostname": ("from_name", "from_helo"), "real_hostname": ("from_rdns",),
              "real_ip": ("from_ip",), "by_hostname": ("by_host",), "for_mbox": ("for",)}


def load_rspamd():
    with open(os.path.join(data_dir(), "rspamd-received.json"), encoding="utf-8") as f:
        rows = json.load(f)
    cases = []
    for row in rows:
        exp = {}
        for theirs, fields in RSPAMD_MAP.items():
            for ours in fields:
                exp[ours] = row["expected"].get(theirs)
        cases.append((row["line"], row["header"], exp))
    return cases


LOADERS = {"stalwart": load_stalwart, "spamassassin": load_spamassassin,
           "rspamd": load_rspamd}


# --- normalization -----------------------------------------------------------

def _addr_literal(v):
    m = re.fullmatch(r"\[(?:IPv6:)?([^\]]*)\]|!([^!]*)!", v, re.I)
    return (m.group(1) or m.group(2) or "") if m else v


def norm(field, v, theirs):
    if v is None or isinstance(v, bool):
        return v
    if field in HOST_FIELDS:
        v = _addr_literal(v)
        if v.endswith(".") and len(v) > 1:
            v = v[:-1]
        return v.lower()
    if field == "from_ip" and theirs:
        try:
            return ipaddress.ip_address(v).compressed
        except ValueError:
            return v
    if field in BRACKET_FIELDS and v.startswith("<") and v.endswith(">"):
        return v[1:-1]
    if field == "with":
        return v.upper()
    return v


# --- running the verifier ------------------------------------------------------

def fold(value):
    """The value as a header field body: CRLF -> LF, no trailing line end,
    every continuation line starting with white space."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return "\n".join([lines[0]] + [ln if ln[:1] in (" ", "\t") else "\t" + ln
                                   for ln in lines[1:]])


def build_mbox(path, values):
    with open(path, "wb") as f:
        for n, v in enumerate(values):
            f.write(b"From MAILER-DAEMON Mon Apr  1 10:00:00 2024\n")
            f.write(b"Received: " + fold(v).encode("utf-8") + b"\n")
            f.write(b"From: sender@example.com\n"
                    b"Date: Mon, 01 Apr 2024 10:00:00 +0000\n"
                    b"Message-ID: <rcvd-diff-%d@example.com>\n"
                    b"Subject: received %d\n\nbody\n\n" % (n, n))


def run_verify(path, n):
    p = subprocess.run([VERIFY, "--json", "--offline", "--jobs", "1", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode in (0, 1), (p.returncode, p.stderr.decode(errors="replace")[-2000:])
    objs = [json.loads(line) for line in p.stdout.decode("utf-8").splitlines() if line]
    assert len(objs) == n, (len(objs), n)
    return [o["hops"][0] if o["hops"] else {} for o in objs]


def compare(table, tmp_dir):
    """-> list of (case id, field, ours, theirs, equal, raw value)."""
    cases = LOADERS[table]()
    path = os.path.join(tmp_dir, table + ".mbox")
    build_mbox(path, [c[1] for c in cases])
    hops = run_verify(path, len(cases))
    rows = []
    for (cid, raw, exp), hop in zip(cases, hops):
        for field, theirs in exp.items():
            ours = hop.get(field)
            if field == "tls":
                # they have no "unknown": false there is "no sign of TLS"
                eq = (ours is True) == theirs
            else:
                eq = norm(field, ours, False) == norm(field, theirs, True)
            rows.append((cid, field, ours, theirs, eq, raw))
    return rows


# --- the report --------------------------------------------------------------

def classify(table, cid, field):
    key = (table, cid, field)
    for name, d in (("their-model", THEIR_MODEL), ("they-are-wrong", THEY_ARE_WRONG),
                    ("our-bug", OUR_BUGS)):
        if key in d:
            return name
    return "unclassified"


def summarize(results):
    """-> (table lines, {table: [disagreement lines]}, detail text,
    {(table, field): (agree after exceptions, total)})."""
    head = "%-13s %-14s %7s %7s %7s   %s" % (
        "table", "field", "agree", "total", "after",
        "their-model/they-are-wrong/our-bug/unclassified")
    table_lines, against, detail, stats = [head], {}, [], {}
    for table in TABLES:
        rows = results[table]
        fields = []
        for r in rows:
            if r[1] not in fields:
                fields.append(r[1])
        for field in fields:
            fr = [r for r in rows if r[1] == field]
            agree = sum(1 for r in fr if r[4])
            cls = {"their-model": 0, "they-are-wrong": 0, "our-bug": 0, "unclassified": 0}
            for r in fr:
                if not r[4]:
                    cls[classify(table, r[0], field)] += 1
            after = agree + cls["their-model"] + cls["they-are-wrong"]
            stats[(table, field)] = (after, len(fr))
            table_lines.append("%-13s %-14s %3d/%-3d %6.1f%% %6.1f%%   %d/%d/%d/%d%s" % (
                table, field, agree, len(fr), 100.0 * agree / len(fr),
                100.0 * after / len(fr), cls["their-model"], cls["they-are-wrong"],
                cls["our-bug"], cls["unclassified"],
                "   (asserted)" if field in ASSERTED else ""))
        against[table] = []
        for cid, field, ours, theirs, eq, raw in rows:
            if eq:
                continue
            c = classify(table, cid, field)
            line = "%s %s %s: ours %r, theirs %r [%s]" % (table, cid, field, ours, theirs, c)
            if c in ("our-bug", "unclassified"):
                against[table].append(line)
            reason = {"their-model": THEIR_MODEL, "they-are-wrong": THEY_ARE_WRONG,
                      "our-bug": OUR_BUGS}.get(c, {}).get((table, cid, field), "")
            detail.append(line)
            detail.append("    value: %s" % " ".join(raw.split())[:300])
            if reason:
                detail.append("    why: %s" % reason)
    return table_lines, against, "\n".join(detail) + "\n", stats


@pytest.fixture(scope="module")
def results(tmp_path_factory, request):
    if not os.access(VERIFY, os.X_OK):
        pytest.skip("no %s (build first)" % VERIFY)
    tmp = str(tmp_path_factory.mktemp("received-diff"))
    res = {t: compare(t, tmp) for t in TABLES}
    table_lines, against, detail, stats = summarize(res)
    try:
        os.makedirs(RT_BUILD, exist_ok=True)
        with open(REPORT, "w", encoding="utf-8") as f:
            f.write("\n".join(table_lines) + "\n\nEvery disagreement:\n" + detail)
    except OSError:
        pass
    # shown also under -q and with output capture on
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is not None and capman is not None:
        with capman.global_and_fixture_disabled():
            tr.write_line("")
            tr.write_line("Received: parser vs public tables (details in %s):" % REPORT)
            for line in table_lines:
                tr.write_line(line)
    return res, stats, table_lines, against


@pytest.mark.parametrize("table", TABLES)
def test_agreement(results, table):
    res, stats, table_lines, against = results
    low = ["%s %d/%d" % (field, ok, total) for (t, field), (ok, total) in stats.items()
           if t == table and field in ASSERTED and ok < THRESHOLD * total]
    if low:
        pytest.fail("%s: below %d %% after documented exceptions: %s\n%s\n"
                    "counted against us:\n  %s\n(details in %s)" % (
                        table, THRESHOLD * 100, ", ".join(low),
                        "\n".join(l for l in table_lines if l.startswith((table, "table"))),
                        "\n  ".join(against[table]), REPORT), pytrace=False)


def test_exceptions_still_apply(results):
    """Every documented disagreement (of the three dicts) still disagrees; an
    entry that no longer applies (fixed, or a key that names nothing) must be
    removed."""
    res = results[0]
    disagree = {(t, r[0], r[1]) for t in TABLES for r in res[t] if not r[4]}
    stale = []
    for name, d in (("THEIR_MODEL", THEIR_MODEL), ("THEY_ARE_WRONG", THEY_ARE_WRONG),
                    ("OUR_BUGS", OUR_BUGS)):
        stale += ["%s %r" % (name, k) for k in d if k not in disagree]
    if stale:
        pytest.fail("entries that no longer apply (remove them, or move them to "
                    "the right dict):\n" + "\n".join(stale), pytrace=False)


def test_exception_dicts_disjoint():
    """A disagreement is in one class only; keys name a known table."""
    a, b, c = set(THEIR_MODEL), set(THEY_ARE_WRONG), set(OUR_BUGS)
    assert not (a & b) and not (a & c) and not (b & c), sorted((a & b) | (a & c) | (b & c))
    assert all(k[0] in TABLES for k in a | b | c)
