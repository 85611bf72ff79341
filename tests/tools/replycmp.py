#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""replycmp: do two builds of relaytrust-policyd answer identically?

    /usr/bin/python3 tests/tools/replycmp.py OLD_BIN_DIR NEW_BIN_DIR [options]

Each BIN_DIR holds relaytrust-policyd and relaytrust-spf-worker (the daemon
finds the worker next to itself).  One TestDNS (tests/integration/dnsserver.py
of the repository, --repo) serves a fixed zone on loopback; for every
configuration below an OLD and a NEW daemon are started (-f -c FILE), both get
the same deterministic sequence of policy requests (one TCP connection per
simulated SMTP session, sessions one after another), and then

  - every reply is compared byte for byte (the whole "action=...\\n\\n");
  - the log (stderr) between the "ready" line and the "stopping" line is
    compared line by line after removing the "Mon DD HH:MM:SS ident[pid]: "
    prefix, the " ms=N" / "\\"ms\\":N" field, and the client port of the
    policy connection ("[127.0.0.1]:PORT").  Lines of rate-limited warnings
    (log_warn_rl: malformed request, request= not smtpd_access_policy, no
    client_address, NAT/private client) are taken out of the sequence: for
    each kind only its first occurrence is compared (which later ones get
    through depends on the clock), with any "(N similar warnings
    suppressed)" count removed.

--drop-field NAME (repeatable) removes a decision-line field from both
logs first, for an intended log change (e.g. --drop-field to --drop-field
instance when NEW adds those fields).  --list prints the configurations.

Not compared on purpose: clients with several PTR names none of which
confirms (192.0.2.17, 192.0.2.18) are sent only under header = "none":
the header names the first PTR name, and unbound rotates RRsets at random,
so even one build answers differently from run to run.

A configuration that one build refuses (-t) and the other accepts is
reported and skipped (and counts as a difference for the exit status).

Exit status: 0 nothing differs; 1 something differs; 2 the harness failed
(a daemon did not start, ...).
"""
import argparse
import concurrent.futures
import difflib
import hashlib
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

DEFAULT_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The tests' own configuration writer and port finder.
sys.path.insert(0, os.path.join(DEFAULT_REPO, "tests", "integration"))
from conftest import _render as render, free_port  # noqa: E402
READY_RE = re.compile(r"ready: listening on")
STOP_RE = re.compile(r"\]: (Terminated|Interrupt): stopping$")
PREFIX_RE = re.compile(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+?\[\d+\]: |<\d>)")
MS_TEXT_RE = re.compile(r" ms=\d+(?= |$)")
MS_JSON_RE = re.compile(r'"ms":\d+')
PEER_RE = re.compile(r"\[(127\.0\.0\.1|::1)\]:\d+")
SUPPRESSED_RE = re.compile(r" \(\d+ similar warnings suppressed\)")
# log_warn_rl() messages of the daemon (policyd/server.c, policyd/check.c)
RL_KINDS = [
    ("proto", re.compile(r"^(?:warning: )?\[[^\]]*\]:PORT: malformed request: ")),
    ("request", re.compile(r"is not smtpd_access_policy; answering DUNNO")),
    ("client_address", re.compile(r"request without client_address; answering DUNNO")),
    ("nat", re.compile(r"^(?:warning: )?client \S+ is a \S+ address: Postfix sees a NAT")),
    ("max_connections", re.compile(r"max_connections")),
    ("accept", re.compile(r"^(?:warning: )?\S+: accept: ")),
    ("write", re.compile(r"^(?:warning: )?\[[^\]]*\]:PORT: client ")),
    # newer builds (shared/dns.c note_health, after c90b34c): counts vary
    ("dns-unreachable", re.compile(r"resolver unreachable: ")),
]
RL_NUMBERS = {"dns-unreachable"}     # kinds whose first line is compared without numbers

# ----------------------------------------------------------------------------
# The zone

def rev(addr):
    return ipaddress.ip_address(addr).reverse_pointer


def build_zone():
    z = {}

    def add(name, *items):
        z.setdefault(name, []).extend(items)

    # --- clients (PTR side) ---
    # forward-confirmed pass (v4 and v6; also used for 127.x)
    add("mail.pass-host.example", {"A": "192.0.2.10"}, {"AAAA": "2001:db8::10"},
        {"TXT": "v=spf1 a -all"}, {"MX": [10, "mail.pass-host.example"]})
    add(rev("192.0.2.10"), {"PTR": "mail.pass-host.example"})
    add(rev("2001:db8::10"), {"PTR": "mail.pass-host.example"})
    # PTR exists, does not confirm
    add(rev("192.0.2.11"), {"PTR": "other.host.example"})
    add("other.host.example", {"A": "198.51.100.99"})
    # 192.0.2.12: no PTR (NXDOMAIN)
    # NODATA at the PTR name
    add(rev("192.0.2.13"), {"TXT": "no ptr here"})
    # SERVFAIL / TIMEOUT
    add(rev("192.0.2.14"), "SERVFAIL")
    add(rev("192.0.2.15"), "TIMEOUT")
    # several PTR names, exactly one confirms
    add(rev("192.0.2.16"), {"PTR": "a.multi.example"}, {"PTR": "b.multi.example"},
        {"PTR": "c.multi.example"})
    add("a.multi.example", {"A": "198.51.100.1"})
    add("b.multi.example", {"A": "192.0.2.16"}, {"TXT": "v=spf1 ip4:192.0.2.16 -all"})
    # c.multi.example: NXDOMAIN
    # several PTR names, none confirms, one forward lookup SERVFAILs -> temperror
    # (UNORDERED: see CLIENTS)
    add(rev("192.0.2.17"), {"PTR": "x1.multi.example"}, {"PTR": "x2.multi.example"})
    add("x1.multi.example", {"A": "198.51.100.2"})
    add("x2.multi.example", "SERVFAIL")
    # one PTR name whose forward lookup SERVFAILs -> temperror
    add(rev("192.0.2.23"), {"PTR": "x2.multi.example"})
    # twelve PTR names, none confirms (more than max_names; UNORDERED)
    for i in range(12):
        add(rev("192.0.2.18"), {"PTR": "n%d.many.example" % i})
        add("n%d.many.example" % i, {"A": "198.51.100.%d" % (100 + i)})
    # PTR name is a CNAME to the confirming name
    add(rev("192.0.2.19"), {"PTR": "alias.cname-host.example"})
    add("alias.cname-host.example", {"CNAME": "real.cname-host.example"})
    add("real.cname-host.example", {"A": "192.0.2.19"})
    # a PTR name whose A lookup times out, and one that confirms -> pass
    add(rev("192.0.2.21"), {"PTR": "slowname.example"}, {"PTR": "ok21.multi.example"})
    add("slowname.example", "TIMEOUT")
    add("ok21.multi.example", {"A": "192.0.2.21"})
    # the only PTR name times out -> temperror
    add(rev("192.0.2.22"), {"PTR": "slowname.example"})
    # PTR with an odd name (escaping in the header/log)
    add(rev("192.0.2.20"), {"PTR": "we\"ird name.example"})
    # IPv6
    add(rev("2001:db8::11"), {"PTR": "v4only.host.example"})
    add("v4only.host.example", {"A": "192.0.2.211"})
    # 2001:db8::12: no PTR
    add(rev("2001:db8::13"), "SERVFAIL")
    # loopback test addresses
    add(rev("127.0.0.2"), {"PTR": "host2.loop.example"})
    add("host2.loop.example", {"A": "127.0.0.2"}, {"TXT": "v=spf1 ip4:127.0.0.0/8 -all"})
    add(rev("127.1.2.3"), {"PTR": "loop-fail.example"})
    add("loop-fail.example", {"A": "127.9.9.9"})
    # private / CGNAT
    add(rev("10.1.2.3"), {"PTR": "priv.internal.example"})
    add("priv.internal.example", {"A": "10.1.2.3"})
    add(rev("100.64.1.1"), {"PTR": "cgnat.internal.example"})
    add("cgnat.internal.example", {"A": "198.51.100.64"})
    # forwarders
    add(rev("198.51.100.20"), {"PTR": "mx.fwd.example.net"})
    add("mx.fwd.example.net", {"A": "198.51.100.20"})
    add(rev("198.51.100.21"), {"PTR": "mx.evilfwd.example.net"})
    add("mx.evilfwd.example.net", {"A": "198.51.100.21"})
    add(rev("198.51.100.22"), {"PTR": "mx.fwd.example.net.evil.example"})
    add("mx.fwd.example.net.evil.example", {"A": "198.51.100.22"})
    # 198.51.100.25: in forwarders.networks (198.51.100.24/29), confirmed PTR
    add(rev("198.51.100.25"), {"PTR": "relay25.example"})
    add("relay25.example", {"A": "198.51.100.25"})
    # 198.51.100.30: in forwarders.networks, no PTR
    # 198.51.100.40: passes SPF of postmaster@fwd-spf.example (forwarders.spf_domains)
    add(rev("198.51.100.40"), {"PTR": "mx.fwd-spf.example"})
    add("mx.fwd-spf.example", {"A": "198.51.100.40"})
    add("fwd-spf.example", {"TXT": "v=spf1 ip4:198.51.100.40 -all"})

    # --- SPF (MAIL FROM / HELO domains) ---
    add("pass.example", {"TXT": "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 "
                                "ip4:127.0.0.0/8 -all"})
    add("fail.example", {"TXT": "v=spf1 -all"})
    add("soft.example", {"TXT": "v=spf1 ~all"})
    add("neutral.example", {"TXT": "v=spf1 ?all"})
    add("plus.example", {"TXT": "v=spf1 +all"})
    add("none.example", {"A": "192.0.2.99"})
    add("nospf-txt.example", {"TXT": "google-site-verification=abc"})
    # nosuch.example: NXDOMAIN
    add("perm-syntax.example", {"TXT": "v=spf1 ip4:192.0.2.0/33 -all"})
    add("perm-mech.example", {"TXT": "v=spf1 foo:bar.example -all"})
    add("perm-two.example", {"TXT": "v=spf1 -all"}, {"TXT": "v=spf1 +all"})
    add("perm-mod.example", {"TXT": "v=spf1 redirect=pass.example redirect=fail.example"})
    add("temp.example", "SERVFAIL")
    add("slow.example", "TIMEOUT")
    # too many DNS-querying terms
    add("lim.example", {"TXT": "v=spf1 " + " ".join("a:a%d.lim.example" % i
                                                      for i in range(1, 12)) + " -all"})
    for i in range(1, 12):
        add("a%d.lim.example" % i, {"A": "203.0.113.%d" % i})
    # include chain over the limit
    add("chain.example", {"TXT": "v=spf1 include:i1.chain.example -all"})
    for i in range(1, 12):
        add("i%d.chain.example" % i, {"TXT": "v=spf1 include:i%d.chain.example ?all" % (i + 1)})
    add("i12.chain.example", {"TXT": "v=spf1 ip4:192.0.2.0/24 -all"})
    # void lookups
    add("void3.example", {"TXT": "v=spf1 a:v1.void.example a:v2.void.example "
                                 "a:v3.void.example ip4:192.0.2.0/24 -all"})
    add("void2.example", {"TXT": "v=spf1 a:v1.void.example mx:v2.void.example "
                                 "ip4:192.0.2.0/24 -all"})
    # include / redirect
    add("inc.example", {"TXT": "v=spf1 include:pass.example -all"})
    add("inc-fail.example", {"TXT": "v=spf1 include:fail.example ~all"})
    add("inc-none.example", {"TXT": "v=spf1 include:none.example -all"})
    add("inc-temp.example", {"TXT": "v=spf1 include:temp.example -all"})
    add("inc-slow.example", {"TXT": "v=spf1 ip4:192.0.2.10 include:slow.example -all"})
    add("redir.example", {"TXT": "v=spf1 redirect=pass.example"})
    add("redir-soft.example", {"TXT": "v=spf1 ip4:203.0.113.0/24 redirect=soft.example"})
    add("redir-none.example", {"TXT": "v=spf1 redirect=nosuch.example"})
    add("loop1.example", {"TXT": "v=spf1 redirect=loop2.example"})
    add("loop2.example", {"TXT": "v=spf1 redirect=loop1.example"})
    # mechanisms
    add("mx.example", {"TXT": "v=spf1 mx:mail.pass-host.example -all"})
    add("a.example", {"TXT": "v=spf1 a:mail.pass-host.example ~all"})
    add("ptrmech.example", {"TXT": "v=spf1 ptr:pass-host.example -all"})
    add("macro.example", {"TXT": "v=spf1 exists:%{i}._spf.macro.example -all"})
    add("192.0.2.10._spf.macro.example", {"A": "127.0.0.2"})
    add("exp.example", {"TXT": "v=spf1 -all exp=explain.exp.example"})
    add("explain.exp.example", {"TXT": "go away %{i} <script>\x01"})
    add("split.example", {"TXT": ["v=spf1 ip4:192.0.2.0/25", " ~all"]})
    add("spf99.example", {"SPF": "v=spf1 -all"})
    add("cname.example", {"CNAME": "pass.example"})
    add("big.example", {"TXT": "v=spf1 " + " ".join("ip4:203.0.%d.0/24" % i
                                                     for i in range(40))
                        + " ip4:192.0.2.0/24 -all"})
    add("v6only.example", {"TXT": "v=spf1 ip6:2001:db8::/32 -all"})
    # HELO names
    add("helo-fail.example", {"TXT": "v=spf1 -all"}, {"A": "192.0.2.10"})
    add("helo-soft.example", {"TXT": "v=spf1 ~all"})
    add("nospf-helo.example", {"A": "192.0.2.10"})
    add("helo-temp.example", "SERVFAIL")
    return z


# ----------------------------------------------------------------------------
# Configurations

def base_config(port, dns_port):
    return {
        "listen": ["inet:127.0.0.1:%d" % port],
        "workers": 1,
        "request_timeout": 3,
        "idle_timeout": 300,
        "authserv_id": "mx.test.example",
        "dns": {"forward": ["127.0.0.1@%d" % dns_port], "query_timeout": 1},
        "skip": {"networks": []},
        # as root the daemon refuses to run without user (issue 20)
        **({"user": "nobody"} if os.geteuid() == 0 else {}),
    }


# name -> (overrides dict merged into the base, extra text appended)
CONFIGS = [
    ("default", {}, ""),
    ("report_only", {"report_only": True}, ""),
    ("header_both", {"header": "both"}, ""),
    ("header_received_spf", {"header": "received-spf"}, ""),
    ("header_none", {"header": "none"}, ""),
    ("log_json", {"log_format": "json"}, ""),
    ("ptr_disabled", {"ptr": {"enabled": False}}, ""),
    ("spf_helo_off", {"spf": {"helo": False}}, ""),
    ("actions", {"ptr": {"on_fail": "warn", "on_temperror": "accept"},
                 "spf": {"on_fail": "defer", "on_softfail": "reject",
                         "on_neutral": "warn", "on_none": "defer",
                         "on_permerror": "reject", "on_temperror": "reject",
                         "helo_on_fail": "warn"}}, ""),
    ("forwarders", {"forwarders": {"networks": ["198.51.100.24/29", "2001:db8:f::/48"],
                                   "names": ["fwd.example.net"],
                                   "spf_domains": ["fwd-spf.example"]}}, ""),
    ("overrides", {"ptr": {"on_fail": "accept"}},
     'context "submission" {\n\tspf { on_fail = "warn" }\n\tptr { enabled = false }\n}\n'
     'domain "example.org" {\n\tspf { on_softfail = "reject"  on_neutral = "defer" }\n'
     '\tptr { on_fail = "reject" }\n}\n'
     'domain "sub.example.org" {\n\tspf { on_fail = "accept" }\n}\n'),
    ("private_check", {"private_clients": "check"}, ""),
    ("sasl_checked", {"skip": {"networks": [], "sasl_authenticated": False}}, ""),
    ("skip_networks", {"skip": {"networks": ["198.51.100.0/24", "2001:db8:1::/48",
                                             "127.0.0.0/8"],
                                "sasl_authenticated": True},
                       "header": "both"}, ""),
]


def make_config(name, port, dns_port):
    over, extra = {n: (o, e) for n, o, e in CONFIGS}[name]
    cfg = base_config(port, dns_port)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            merged = dict(cfg[k])
            merged.update(v)
            cfg[k] = merged
        else:
            cfg[k] = v
    return "# replycmp configuration %s\n%s\n%s" % (name, render(cfg), extra)


# ----------------------------------------------------------------------------
# Requests

# (address, client_name, reverse_client_name, weight)
#
# UNORDERED_CLIENTS have several PTR names none of which confirms: the
# Authentication-Results header then names the first PTR name of the answer,
# and unbound (rrset-roundrobin, default yes since 1.16?) rotates RRsets
# randomly, so that name changes from run to run even with one build.  They
# are sent only under configs with header = "none" (the reply then carries
# no name; the log line never does).
UNORDERED_CLIENTS = [
    ("192.0.2.17", "unknown", "x1.multi.example", 3),
    ("192.0.2.18", "unknown", "n0.many.example", 3),
]
CLIENTS = [
    ("192.0.2.10", "mail.pass-host.example", "mail.pass-host.example", 16),
    ("192.0.2.11", "unknown", "other.host.example", 5),
    ("192.0.2.12", "unknown", "unknown", 5),
    ("192.0.2.13", "unknown", "unknown", 2),
    ("192.0.2.14", "unknown", "unknown", 2),
    ("192.0.2.15", "unknown", "unknown", 2),        # PTR times out
    ("192.0.2.16", "b.multi.example", "a.multi.example", 4),
    ("192.0.2.23", "unknown", "x2.multi.example", 2),
    ("192.0.2.19", "alias.cname-host.example", "alias.cname-host.example", 2),
    ("192.0.2.20", "unknown", "unknown", 1),
    ("192.0.2.21", "ok21.multi.example", "slowname.example", 1),
    ("192.0.2.22", "unknown", "slowname.example", 1),
    ("2001:db8::10", "mail.pass-host.example", "mail.pass-host.example", 6),
    ("2001:db8::11", "unknown", "v4only.host.example", 2),
    ("2001:db8::12", "unknown", "unknown", 2),
    ("2001:db8::13", "unknown", "unknown", 1),
    ("::ffff:192.0.2.10", "mail.pass-host.example", "mail.pass-host.example", 1),
    ("127.0.0.2", "host2.loop.example", "host2.loop.example", 3),
    ("127.0.0.3", "unknown", "unknown", 1),
    ("127.1.2.3", "unknown", "loop-fail.example", 1),
    ("10.1.2.3", "priv.internal.example", "priv.internal.example", 2),
    ("100.64.1.1", "unknown", "cgnat.internal.example", 1),
    ("fd00::1", "unknown", "unknown", 1),
    ("198.51.100.20", "mx.fwd.example.net", "mx.fwd.example.net", 4),
    ("198.51.100.21", "mx.evilfwd.example.net", "mx.evilfwd.example.net", 2),
    ("198.51.100.22", "mx.fwd.example.net.evil.example",
     "mx.fwd.example.net.evil.example", 1),
    ("198.51.100.25", "relay25.example", "relay25.example", 2),
    ("198.51.100.30", "unknown", "unknown", 1),
    ("198.51.100.40", "mx.fwd-spf.example", "mx.fwd-spf.example", 3),
    ("2001:db8:f::1", "unknown", "unknown", 1),
    ("2001:db8:1::5", "unknown", "unknown", 1),
    # not addresses
    ("unknown", "unknown", "unknown", 1),
    ("192.0.2.300", "unknown", "unknown", 1),
    ("not an address", "unknown", "unknown", 1),
    ("2001:db8::zz", "unknown", "unknown", 1),
]

HELOS = [
    ("mail.pass-host.example", 10), ("helo-fail.example", 3), ("helo-soft.example", 2),
    ("nospf-helo.example", 3), ("", 2), ("[192.0.2.10]", 1), ("localhost", 1),
    ("Mail.Pass-Host.Example", 1), ("helo-temp.example", 1), ("b.multi.example", 1),
    ("host2.loop.example", 1), ("bad helo name", 1), ("h\u00e9llo.example", 1),
    ("single", 1), ("nosuch-helo.example", 1), ("x" * 300 + ".example", 1),
]

SENDERS = [
    ("u@pass.example", 10), ("u@fail.example", 6), ("u@soft.example", 4),
    ("u@neutral.example", 3), ("u@plus.example", 1), ("u@none.example", 3),
    ("u@nospf-txt.example", 1), ("u@nosuch.example", 2), ("u@perm-syntax.example", 2),
    ("u@perm-mech.example", 1), ("u@perm-two.example", 1), ("u@perm-mod.example", 1),
    ("u@temp.example", 2), ("u@slow.example", 2), ("u@inc-slow.example", 1), ("u@lim.example", 1),
    ("u@chain.example", 1), ("u@void3.example", 1), ("u@void2.example", 1),
    ("u@inc.example", 2), ("u@inc-fail.example", 1), ("u@inc-none.example", 1),
    ("u@inc-temp.example", 1), ("u@redir.example", 2), ("u@redir-soft.example", 1),
    ("u@redir-none.example", 1), ("u@loop1.example", 1), ("u@mx.example", 1),
    ("u@a.example", 1), ("u@ptrmech.example", 1), ("u@macro.example", 1),
    ("u@exp.example", 1), ("u@split.example", 1), ("u@spf99.example", 1),
    ("u@cname.example", 1), ("u@big.example", 1), ("u@v6only.example", 1),
    ("", 6), ("postmaster@pass.example", 1), ("U@PASS.EXAMPLE", 1),
    ("nodomain", 1), ("a\"b c@pass.example", 1), ("\u00fc@fail.example", 1),
    ("u@fwd-spf.example", 1), ("u@bad..example", 1), ("u@-x.example", 1),
    ("x" * 70 + "@soft.example", 1), ("u@mail.pass-host.example", 1),
]

RECIPIENTS = [
    ("r1@example.org", 5), ("r2@sub.example.org", 3), ("r@badexample.org", 2),
    ("r@example.com", 4), ("postmaster@example.org", 1), ("abuse@example.net", 1),
    ("R@EXAMPLE.ORG", 1), ("r@lists.sub.example.org", 1), ("r\"q@example.com", 1),
]

CONTEXTS = [("", 8), ("submission", 2), ("SUBMISSION", 1), ("other", 1)]


def wchoice(rng, items):
    total = sum(i[-1] for i in items)
    x = rng.uniform(0, total)
    acc = 0
    for it in items:
        acc += it[-1]
        if x <= acc:
            return it[0] if len(it) == 2 else it[:-1]
    return items[-1][0] if len(items[-1]) == 2 else items[-1][:-1]


def encode(attrs):
    out = b""
    for k, v in attrs:
        if isinstance(v, str):
            v = v.encode("utf-8", "surrogateescape")
        if isinstance(k, str):
            k = k.encode()
        out += k + b"=" + v + b"\n"
    return out + b"\n"


def gen_sessions(seed, target, unordered=False):
    """Deterministic list of sessions; a session is a list of encoded
    requests (bytes)."""
    rng = random.Random(seed)
    clients = CLIENTS + (UNORDERED_CLIENTS if unordered else [])
    # First a fixed grid, so every client and every sender occurs in every
    # config whatever the seed: one session per client, two messages, the
    # senders taken in turn.  Then random sessions up to the target.
    senders = [x for x, _ in SENDERS]
    grid = [(c[:-1], [senders[(2 * i) % len(senders)], senders[(2 * i + 1) % len(senders)]])
            for i, c in enumerate(clients)]
    sessions = []
    total = 0
    sid = 0
    while total < target or sid < len(grid):
        sid += 1
        fixed = None
        if sid <= len(grid):
            (addr, cname, rname), fixed = grid[sid - 1]
            helo = cname if cname != "unknown" else "nospf-helo.example"
            ctx = ""
            sasl = ""
        else:
            client = wchoice(rng, clients)
            addr, cname, rname = client
            r = rng.random()
            if r < 0.35 and cname != "unknown":
                helo = cname                          # the client's own name
            elif r < 0.55:
                helo = "nospf-helo.example"           # no SPF for the HELO
            else:
                helo = wchoice(rng, HELOS)
            ctx = wchoice(rng, CONTEXTS)
            sasl = "alice@example.org" if rng.random() < 0.08 else ""
        port = str(40000 + sid)
        proto = rng.choice(["ESMTP", "ESMTP", "SMTP"])
        msg = 0
        reqs = []

        def req(state, sender="", rcpt="", count=0, queue_id="", helo_name=None,
                extra=(), drop=(), override=None):
            attrs = [
                ("request", "smtpd_access_policy"),
                ("protocol_state", state),
                ("protocol_name", proto),
                ("client_address", addr),
                ("client_name", cname),
                ("reverse_client_name", rname),
                ("client_port", port),
                ("helo_name", helo if helo_name is None else helo_name),
                ("sender", sender),
                ("recipient", rcpt),
                ("recipient_count", str(count)),
                ("queue_id", queue_id),
                ("instance", "%x.%x.%x.%x" % (seed & 0xffff, sid, msg, msg + 1)),
                ("size", "0"),
                ("sasl_method", "PLAIN" if sasl else ""),
                ("sasl_username", sasl),
                ("sasl_sender", ""),
                ("encryption_protocol", "TLSv1.3" if sid % 3 == 0 else ""),
                ("server_address", "127.0.0.1"),
                ("server_port", "587" if ctx.lower() == "submission" else "25"),
                ("stress", ""),
                ("policy_context", ctx),
            ]
            if override:
                attrs = [(k, override.get(k, v)) for k, v in attrs]
            attrs = [(k, v) for k, v in attrs if k not in drop]
            attrs.extend(extra)
            reqs.append(encode(attrs))

        if fixed is not None:
            req("CONNECT", helo_name="")
            req("EHLO")
            for sender in fixed:
                req("MAIL", sender=sender)
                req("RCPT", sender=sender, rcpt="r1@example.org", count=0)
                req("RCPT", sender=sender, rcpt="r@example.com", count=1)
                qid = "4G%04X%02XZ" % (sid, msg)
                req("DATA", sender=sender, count=2, queue_id=qid)
                req("END-OF-MESSAGE", sender=sender, count=2, queue_id=qid)
                msg += 1
            sessions.append(reqs)
            total += len(reqs)
            continue
        if rng.random() < 0.4:
            req("CONNECT", helo_name="")
        if rng.random() < 0.5:
            req(rng.choice(["EHLO", "EHLO", "HELO"]))
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            sender = wchoice(rng, SENDERS)
            qid = "" if rng.random() < 0.5 else "4Q%04X%02XZ" % (sid, msg)
            if rng.random() < 0.5:
                req("MAIL", sender=sender, queue_id=qid)
            nr = rng.choice([1, 1, 1, 2, 3, 5])
            for i in range(nr):
                state = "RCPT"
                r = rng.random()
                if r < 0.03:
                    state = "rcpt"                # lower case state
                elif r < 0.06:
                    state = "VRFY"
                req(state, sender=sender, rcpt=wchoice(rng, RECIPIENTS), count=i,
                    queue_id=qid)
            if rng.random() < 0.7:
                if not qid:
                    qid = "4Q%04X%02XZ" % (sid, msg)
                req("DATA", sender=sender, rcpt="" if nr > 1 else "r1@example.org",
                    count=nr, queue_id=qid)
                if rng.random() < 0.8:
                    req("END-OF-MESSAGE", sender=sender, count=nr, queue_id=qid)
            msg += 1
        # odd requests, at the end of some sessions
        r = rng.random()
        if r < 0.04:
            req("RCPT", sender="u@pass.example", rcpt="r1@example.org",
                override={"request": "junk_policy"})
        elif r < 0.08:
            req("RCPT", sender="u@fail.example", rcpt="r1@example.org",
                drop=("client_address",))
        elif r < 0.11:
            req("RCPT", sender="u@pass.example", rcpt="r1@example.org",
                extra=(("unknown_attribute", "x"), ("ccert_subject", "CN=foo")))
        elif r < 0.13:
            req("ETRN", sender="", rcpt="example.org")
        elif r < 0.16:
            # a line without "=": malformed, the daemon closes the connection
            reqs.append(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
                        b"garbage line\n\n")
        elif r < 0.18:
            req("RCPT", sender="u@pass.example", rcpt="r1@example.org",
                override={"client_address": "  192.0.2.10"})
        sessions.append(reqs)
        total += len(reqs)
    return sessions


# ----------------------------------------------------------------------------
# Daemons

class Daemon:
    def __init__(self, bindir, workdir, tag, config_text):
        self.bin = os.path.join(bindir, "relaytrust-policyd")
        self.conf = os.path.join(workdir, tag + ".conf")
        self.logpath = os.path.join(workdir, tag + ".log")
        with open(self.conf, "w") as f:
            f.write(config_text)
        self.proc = None

    def check_config(self):
        p = subprocess.run([self.bin, "-t", "-c", self.conf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.returncode, p.stdout.decode("utf-8", "replace").strip()

    def start(self, port):
        self.port = port
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen([self.bin, "-f", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while not READY_RE.search(self.log()):
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s) before ready:\n%s"
                                   % (self.bin, self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise RuntimeError("%s not ready in %ss:\n%s" % (self.bin, timeout, self.log()))
            time.sleep(0.02)

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            rc = "killed after SIGTERM timeout (%s)" % rc
        self.logf.close()
        return rc


def read_reply(sock, buf):
    """-> (reply bytes incl. the empty line, or a <...> marker, rest)."""
    while b"\n\n" not in buf:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return b"<no reply within the timeout> " + buf, b"", True
        except OSError as e:
            return ("<error %s> " % e).encode() + buf, b"", True
        if not data:
            return b"<connection closed> " + buf, b"", True
        buf += data
    i = buf.index(b"\n\n") + 2
    return buf[:i], buf[i:], False


def drive(port, sessions, timeout):
    """Send each session on its own connection; -> list of replies."""
    replies = []
    for reqs in sessions:
        sock = None
        buf = b""
        for data in reqs:
            if sock is None:
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                except OSError as e:        # the daemon died: keep going
                    replies.append(("<connect failed: %s>" % e).encode())
                    continue
                buf = b""
            try:
                sock.sendall(data)
            except OSError as e:
                replies.append(("<send failed: %s>" % e).encode())
                sock.close()
                sock = None
                continue
            reply, buf, dead = read_reply(sock, buf)
            replies.append(reply)
            if dead:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()
    return replies


# ----------------------------------------------------------------------------
# Log comparison

DROP_FIELDS = []     # --drop-field: decision-line fields removed on both sides


def drop_fields(s):
    for name in DROP_FIELDS:
        n = re.escape(name)
        s = re.sub(r" %s=(?:<[^>]*>|\S*)" % n, "", s)
        s = re.sub(r',"%s":(?:"(?:[^"\\]|\\.)*"|[^,}]*)' % n, "", s)
    return s


def norm_log(text):
    """-> (main lines, {rl kind: first line}, rl line count)."""
    lines = text.split("\n")
    start = None
    for i, ln in enumerate(lines):
        if READY_RE.search(ln):
            start = i + 1
            break
    if start is None:
        start = len(lines)
    main, rl, nrl = [], {}, 0
    for ln in lines[start:]:
        if not ln:
            continue
        if STOP_RE.search(ln):
            break
        s = PREFIX_RE.sub("", ln, count=1)
        s = MS_TEXT_RE.sub("", s)
        s = MS_JSON_RE.sub('"ms":_', s)
        s = PEER_RE.sub(lambda m: "[%s]:PORT" % m.group(1), s)
        s = drop_fields(s)
        kind = None
        for k, rx in RL_KINDS:
            if rx.search(s):
                kind = k
                break
        if kind is None and SUPPRESSED_RE.search(s):
            kind = "suppressed"
        if kind is not None:
            nrl += 1
            s = SUPPRESSED_RE.sub("", s)
            if kind in RL_NUMBERS:
                s = re.sub(r"\d+", "N", s)
            rl.setdefault(kind, s)
            continue
        main.append(s)
    return main, rl, nrl


SHOW_KEYS = [("request", "request"), ("protocol_state", "state"), ("client_address", "client"),
             ("client_name", "name"), ("helo_name", "helo"), ("sender", "from"),
             ("recipient", "to"), ("policy_context", "ctx"), ("sasl_username", "sasl"),
             ("queue_id", "qid"), ("instance", "instance")]


def show_request(data):
    """The attributes that matter, compactly; the raw bytes when odd."""
    attrs = {}
    for line in data.split(b"\n"):
        if not line:
            continue
        if b"=" not in line:
            return show(data)
        k, v = line.split(b"=", 1)
        attrs.setdefault(k.decode("utf-8", "replace"), v.decode("utf-8", "backslashreplace"))
    out = []
    for k, short in SHOW_KEYS:
        if k not in attrs:
            out.append("%s=<absent>" % short)
        elif k == "request" and attrs[k] == "smtpd_access_policy":
            continue
        elif attrs[k] or k in ("helo_name", "sender"):
            out.append("%s=%s" % (short, show(attrs[k], 120) if " " in attrs[k]
                                  or not attrs[k] else attrs[k]))
    extra = sorted(set(attrs) - {k for k, _ in SHOW_KEYS} - {
        "protocol_name", "reverse_client_name", "client_port", "recipient_count",
        "size", "sasl_method", "sasl_sender", "encryption_protocol", "server_address",
        "server_port", "stress"})
    if extra:
        out.append("extra=" + ",".join(extra))
    return " ".join(out)


def show(b, limit=600):
    if isinstance(b, bytes):
        b = b.decode("utf-8", "backslashreplace")
    r = repr(b)
    return r if len(r) <= limit else r[:limit] + "...(%d chars)" % len(r)


# ----------------------------------------------------------------------------

def run_config(name, args, dns_port, old_dir, new_dir, workdir):
    res = {"name": name, "status": "ok", "nreq": 0, "rdiff": [], "nlog": 0,
           "ldiff": [], "ldiff_n": 0, "notes": []}
    cdir = os.path.join(workdir, name)
    os.makedirs(cdir)
    seed = args.seed ^ zlib.crc32(name.encode())
    unordered = 'header = "none"' in make_config(name, 1, 1)
    sessions = gen_sessions(seed, args.requests, unordered)
    flat = [r for s in sessions for r in s]
    res["nreq"] = len(flat)
    daemons = {}
    for tag, d in (("old", old_dir), ("new", new_dir)):
        port = free_port()
        daemons[tag] = Daemon(d, cdir, tag, make_config(name, port, dns_port))
        daemons[tag].port_wanted = port
    checks = {tag: dm.check_config() for tag, dm in daemons.items()}
    if checks["old"][0] != 0 or checks["new"][0] != 0:
        res["status"] = "skipped"
        res["notes"].append("configuration refused: old -t exit %d %s; new -t exit %d %s"
                            % (checks["old"][0], show(checks["old"][1]),
                               checks["new"][0], show(checks["new"][1])))
        res["config_mismatch"] = (checks["old"][0] == 0) != (checks["new"][0] == 0)
        return res
    replies = {}
    rcs = {}
    try:
        for tag, dm in daemons.items():
            dm.start(dm.port_wanted)
        for dm in daemons.values():
            dm.wait_ready()
        errs = []

        def worker(tag):
            try:
                replies[tag] = drive(daemons[tag].port, sessions, args.reply_timeout)
            except Exception as e:     # noqa
                errs.append("%s: %r" % (tag, e))

        ts = [threading.Thread(target=worker, args=(t,)) for t in ("old", "new")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise RuntimeError("; ".join(errs))
    except Exception as e:
        res["status"] = "error"
        res["notes"].append(str(e))
        for dm in daemons.values():
            dm.stop()
        return res
    for tag, dm in daemons.items():
        rcs[tag] = dm.stop()
    if rcs["old"] != rcs["new"] or rcs["old"] != 0:
        res["notes"].append("exit status after SIGTERM: old %s, new %s" % (rcs["old"], rcs["new"]))
        if rcs["old"] != rcs["new"]:
            res["exit_differs"] = True
    # replies
    for i, (req, a, b) in enumerate(zip(flat, replies["old"], replies["new"])):
        if a != b:
            res["rdiff"].append((i, req, a, b))
    with open(os.path.join(cdir, "replies.txt"), "wb") as f:
        for i, req in enumerate(flat):
            f.write(b"### request %d\n" % i + req + b"--- old\n" + replies["old"][i]
                    + b"\n--- new\n" + replies["new"][i] + b"\n")
    # logs
    lo = norm_log(daemons["old"].log())
    ln = norm_log(daemons["new"].log())
    res["nlog"] = max(len(lo[0]), len(ln[0])) + len(set(lo[1]) | set(ln[1]))
    res["nrl"] = (lo[2], ln[2])
    sm = difflib.SequenceMatcher(None, lo[0], ln[0], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        res["ldiff_n"] += max(i2 - i1, j2 - j1)
        for k in range(max(i2 - i1, j2 - j1)):
            a = lo[0][i1 + k] if i1 + k < i2 else None
            b = ln[0][j1 + k] if j1 + k < j2 else None
            res["ldiff"].append(("line %d/%d" % (i1 + k + 1, j1 + k + 1), a, b))
    for kind in sorted(set(lo[1]) | set(ln[1])):
        a, b = lo[1].get(kind), ln[1].get(kind)
        if a != b:
            res["ldiff_n"] += 1
            res["ldiff"].append(("first rate-limited '%s' warning" % kind, a, b))
    h = hashlib.sha256()
    for r in replies["old"]:
        h.update(r)
    res["digest_replies"] = h.hexdigest()[:16]
    res["digest_log"] = hashlib.sha256("\n".join(lo[0] + sorted(lo[1].values()))
                                       .encode()).hexdigest()[:16]
    with open(os.path.join(cdir, "log.diff"), "w") as f:
        f.writelines(difflib.unified_diff([s + "\n" for s in lo[0]], [s + "\n" for s in ln[0]],
                                          "old", "new"))
    return res


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="directory with the OLD relaytrust-policyd and spf worker")
    ap.add_argument("new", help="directory with the NEW relaytrust-policyd and spf worker")
    ap.add_argument("--repo", default=DEFAULT_REPO,
                    help="repository whose tests/integration/dnsserver.py to use (%(default)s)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--requests", type=int, default=550, help="requests per config (about)")
    ap.add_argument("--configs", default="", help="comma-separated subset of: "
                    + ",".join(c[0] for c in CONFIGS))
    ap.add_argument("--jobs", type=int, default=5, help="configs run at once")
    ap.add_argument("--reply-timeout", type=float, default=10.0)
    ap.add_argument("--max-show", type=int, default=10)
    ap.add_argument("--drop-field", action="append", default=[], metavar="NAME",
                    help="remove the log field NAME (text ' NAME=...', JSON '\"NAME\":...') "
                    "from both logs before comparing, for an intended log change; repeatable")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--list", action="store_true", help="print the configs and exit")
    args = ap.parse_args(argv)

    DROP_FIELDS[:] = args.drop_field
    if args.list:
        for n, _, _ in CONFIGS:
            print("### %s\n%s" % (n, make_config(n, 10045, 53)))
        return 0
    old_dir, new_dir = os.path.abspath(args.old), os.path.abspath(args.new)
    for d in (old_dir, new_dir):
        for p in ("relaytrust-policyd", "relaytrust-spf-worker"):
            if not os.access(os.path.join(d, p), os.X_OK):
                print("replycmp: %s/%s: not an executable" % (d, p), file=sys.stderr)
                return 2
    names = [c[0] for c in CONFIGS]
    if args.configs:
        want = args.configs.split(",")
        bad = [w for w in want if w not in names]
        if bad:
            print("replycmp: unknown config(s) %s" % ",".join(bad), file=sys.stderr)
            return 2
        names = want

    sys.path.insert(0, os.path.join(args.repo, "tests", "integration"))
    from dnsserver import TestDNS
    workdir = tempfile.mkdtemp(prefix="replycmp-")
    t0 = time.monotonic()
    dns = TestDNS(host="127.0.0.1", port=0, zone=build_zone())
    print("replycmp: old %s, new %s, seed %d, %d configs, DNS on 127.0.0.1:%d, work dir %s"
          % (old_dir, new_dir, args.seed, len(names), dns.port, workdir), flush=True)
    if DROP_FIELDS:
        print("replycmp: log fields dropped before comparing: %s" % ", ".join(DROP_FIELDS))
    results = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futs = {ex.submit(run_config, n, args, dns.port, old_dir, new_dir, workdir): n
                    for n in names}
            for f in concurrent.futures.as_completed(futs):
                n = futs[f]
                try:
                    results[n] = f.result()
                except Exception as e:      # noqa
                    results[n] = {"name": n, "status": "error", "notes": [repr(e)],
                                  "nreq": 0, "rdiff": [], "nlog": 0, "ldiff": [],
                                  "ldiff_n": 0}
    finally:
        dns.stop()

    tot_r = tot_rd = tot_l = tot_ld = 0
    errors = skipped_mismatch = exit_diff = 0
    for n in names:
        r = results[n]
        print()
        if r["status"] == "skipped":
            print("== %s: SKIPPED: %s" % (n, "; ".join(r["notes"])))
            if r.get("config_mismatch"):
                skipped_mismatch += 1
            else:
                errors += 1
            continue
        if r["status"] == "error":
            print("== %s: ERROR: %s" % (n, "; ".join(r["notes"])))
            errors += 1
            continue
        tot_r += r["nreq"]
        tot_rd += len(r["rdiff"])
        tot_l += r["nlog"]
        tot_ld += r["ldiff_n"]
        print("== %s: %d requests, %d replies differ; %d log lines, %d differ "
              "(rate-limited lines old/new %d/%d; old digests: replies %s log %s)"
              % (n, r["nreq"], len(r["rdiff"]), r["nlog"], r["ldiff_n"], r["nrl"][0],
                 r["nrl"][1], r["digest_replies"], r["digest_log"]))
        for note in r["notes"]:
            print("   note: %s" % note)
        if r.get("exit_differs"):
            exit_diff += 1
        for i, req, a, b in r["rdiff"][:args.max_show]:
            print("   reply #%d differs" % i)
            print("     request: %s" % show_request(req))
            print("     old:     %s" % show(a))
            print("     new:     %s" % show(b))
        for where, a, b in r["ldiff"][:args.max_show]:
            print("   log %s differs" % where)
            print("     old: %s" % show(a))
            print("     new: %s" % show(b))
    print()
    if errors or skipped_mismatch or exit_diff:
        print("replycmp: %d config(s) failed to run, %d config(s) accepted by only one build, "
              "%d exit status difference(s)" % (errors, skipped_mismatch, exit_diff))
    differs = tot_rd or tot_ld or skipped_mismatch or exit_diff
    keep = args.keep or differs or errors
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print("replycmp: %.1f s; work dir %s%s" % (time.monotonic() - t0, workdir,
          " (kept: configs, logs, replies.txt, log.diff)" if keep else " (removed)"))
    print("%d replies, %d differ; %d log lines, %d differ" % (tot_r, tot_rd, tot_l, tot_ld))
    if errors:
        return 2
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
