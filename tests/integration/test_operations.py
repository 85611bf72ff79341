# SPDX-License-Identifier: ISC
"""Policy operations (issue 6 part 6) through the real daemon: per
policy_context and per recipient-domain overrides of spf/ptr, trusted
forwarders (CIDR, forward-confirmed name at a label boundary, SPF pass of
a forwarder domain), private/NAT client detection, JSON decision lines,
and SIGHUP reloads under load that lose no request."""
import json
import os
import re
import threading

import pytest

from conftest import ReplyReader, encode_request, policy_request, run_policyd
from test_metrics import free_port, get, scrape

AR = "Authentication-Results: mx.test.example; "

ZONE = {
    "pass.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all"}],
    "fail.example": [{"TXT": "v=spf1 -all"}],
    "none.example": [{"A": "192.0.2.99"}],
    "mail.example.net": [{"A": "192.0.2.1"}, {"TXT": "v=spf1 a -all"}],
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    # 192.0.2.3 has no PTR.
    # Forwarders.
    "10.100.51.198.in-addr.arpa": [{"PTR": "mx.fwd.example.net"}],
    "mx.fwd.example.net": [{"A": "198.51.100.10"}],
    "11.100.51.198.in-addr.arpa": [{"PTR": "evilfwd.example.net"}],
    "evilfwd.example.net": [{"A": "198.51.100.11"}],
    "12.100.51.198.in-addr.arpa": [{"PTR": "mx.fwd.example.net.evil.example"}],
    "mx.fwd.example.net.evil.example": [{"A": "198.51.100.12"}],
    "13.100.51.198.in-addr.arpa": [{"PTR": "mx2.fwd.example.net"}],
    "mx2.fwd.example.net": [{"A": "198.51.100.99"}],   # not forward-confirmed
    "forwarder.example": [{"TXT": "v=spf1 ip4:198.51.100.20 -all"}],
    "20.100.51.198.in-addr.arpa": [{"PTR": "relay.forwarder.example"}],
    "relay.forwarder.example": [{"A": "198.51.100.20"}],
    "21.100.51.198.in-addr.arpa": [{"PTR": "other.forwarder.example"}],
    "other.forwarder.example": [{"A": "198.51.100.21"}],
    "30.100.51.198.in-addr.arpa": [{"PTR": "plain.example.net"}],
    "plain.example.net": [{"A": "198.51.100.30"}],
}


@pytest.fixture
def zone(dns):
    dns.set_zone(ZONE)
    return dns


# ------------------------------------------------------------ overrides

OVERRIDES = """
context "submission" {
	spf { on_fail = "accept" }
}
domain "relaxed.example" {
	spf { on_fail = "warn" }
	ptr { on_fail = "accept" }
}
domain "strict.relaxed.example" {
	spf { on_fail = "reject" }
}
"""

REJECT_FAIL = ("550 5.7.23 SPF fail: u@fail.example does not designate 192.0.2.1 as "
               "permitted sender")
REJECT_NOPTR = "550 5.7.25 Reverse DNS validation failed: 192.0.2.3 has no PTR record"

# Rows: name, request attributes, wanted answer (exact, or a prefix ending in "...").
OVERRIDE_ROWS = [
    ("top level", {}, REJECT_FAIL),
    ("context softens spf", {"policy_context": "submission"},
     "PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
     "spf=fail smtp.mailfrom=u@fail.example"),
    ("other context", {"policy_context": "port25"}, REJECT_FAIL),
    ("context leaves ptr alone", {"policy_context": "submission",
                                  "client_address": "192.0.2.3"}, REJECT_NOPTR),
    ("domain", {"recipient": "r@relaxed.example"}, "PREPEND " + AR + "iprev=pass..."),
    ("domain, case", {"recipient": "r@RELAXED.Example"}, "PREPEND " + AR + "iprev=pass..."),
    ("subdomain", {"recipient": "r@a.b.relaxed.example"}, "PREPEND " + AR + "iprev=pass..."),
    ("not at a label boundary", {"recipient": "r@notrelaxed.example"}, REJECT_FAIL),
    ("suffix only", {"recipient": "r@relaxed.example.com"}, REJECT_FAIL),
    ("longest domain wins", {"recipient": "r@strict.relaxed.example"}, REJECT_FAIL),
    ("domain beats context", {"recipient": "r@strict.relaxed.example",
                              "policy_context": "submission"}, REJECT_FAIL),
    ("domain ptr override", {"recipient": "r@relaxed.example", "client_address": "192.0.2.3",
                             "sender": "u@none.example"},
     "PREPEND " + AR + "iprev=permerror policy.iprev=192.0.2.3; spf=none..."),
    ("top-level ptr", {"client_address": "192.0.2.3", "sender": "u@none.example"},
     REJECT_NOPTR),
]


@pytest.mark.parametrize("name,attrs,want", OVERRIDE_ROWS, ids=[r[0] for r in OVERRIDE_ROWS])
def test_overrides(policyd, zone, name, attrs, want):
    d = policyd(OVERRIDES)
    a = dict({"sender": "u@fail.example", "helo_name": "none.example"}, **attrs)
    got = d.request(**a)
    if want.endswith("..."):
        assert got.startswith(want[:-3]), "%s: got %r" % (name, got)
    else:
        assert got == want, "%s: got %r, want %r" % (name, got, want)


def test_override_logged(policyd, zone):
    d = policyd(OVERRIDES)
    d.request(sender="u@fail.example", helo_name="none.example", policy_context="submission",
              recipient="r@a.relaxed.example")
    d.wait_log(r"spf_mailfrom=fail action=prepend .*"
               r"policy=context:submission,domain:relaxed\.example")


def test_two_recipients_two_policies_one_check(policyd, zone):
    """One message, recipients in domains with different policies: each gets
    its own answer, the header goes out once, the checks ran once."""
    d = policyd(OVERRIDES)
    zone.clear_queries()
    base = {"sender": "u@fail.example", "helo_name": "none.example", "instance": "two.1"}
    a1 = d.request(recipient="r1@example.org", **base)
    a2 = d.request(recipient="r2@relaxed.example", **base)
    a3 = d.request(recipient="r3@relaxed.example", **base)
    a4 = d.request(recipient="r4@example.org", **base)
    assert a1 == REJECT_FAIL
    assert a2.startswith("PREPEND " + AR) and "spf=fail" in a2
    assert a3 == "DUNNO"
    assert a4 == REJECT_FAIL
    # DATA without a recipient, after an accepted one: not refused.
    assert d.request(protocol_state="DATA", recipient="", **base) == "DUNNO"
    assert len([q for q in zone.queries if q[0] == "fail.example" and q[1] == "TXT"]) == 1


def test_override_needs_a_check_the_first_did_not_run(policyd, zone):
    """A later recipient whose policy needs a check the first one disabled
    gets it run then."""
    d = policyd('spf { mailfrom = false }\ndomain "checked.example" { spf { mailfrom = true } }\n')
    base = {"sender": "u@fail.example", "helo_name": "none.example", "instance": "need.1"}
    a1 = d.request(recipient="r1@example.org", **base)
    assert a1.startswith("PREPEND " + AR) and "smtp.mailfrom" not in a1
    assert d.request(recipient="r2@checked.example", **base) == REJECT_FAIL


# Rows: name, config text, the line the error is on, what it says.
BAD_ROWS = [
    ("bad action in context", 'context "x" {\n\tspf {\n\t\ton_fail = "maybe"\n\t}\n}\n', 3,
     r'spf\.on_fail "maybe": want reject'),
    ("bad action in domain ptr", 'domain "a.example" {\n\tptr { on_temperror = "no" }\n}\n', 2,
     r'ptr\.on_temperror "no"'),
    ("domain with leading dot", 'domain ".example.org" {\n}\n', 2, r'domain "\.example\.org"'),
    ("domain with space", 'domain "a b" {\n}\n', 2, r'domain "a b"'),
    ("bad context word", 'context "a b" {\n}\n', 2, r'context "a b"'),
    ("lookup limit in override", 'context "x" {\n\tspf { lookup_limit = 5 }\n}\n', 3,
     r"apply to the whole process"),
    ("unknown key in override", 'context "x" {\n\tspf { on_pass = "reject" }\n}\n', 2,
     r"on_pass"),
    ("duplicate context", 'context "x" {\n}\ncontext "x" {\n}\n', 3, r"x"),
    ("bad forwarder CIDR", 'forwarders {\n\tnetworks = { "192.0.2.0/33" }\n}\n', 2,
     r'forwarders\.networks "192\.0\.2\.0/33"'),
    ("forwarder name wildcard", 'forwarders {\n\tnames = { "*.fwd.example" }\n}\n', 2,
     r'forwarders\.names "\*\.fwd\.example"'),
    ("forwarder spf domain", 'forwarders {\n\tspf_domains = { "a..b" }\n}\n', 2,
     r'forwarders\.spf_domains "a\.\.b"'),
    ("line after comments", '# one\n# two\n// three\nworkers = 0 # four\n', 4,
     r"workers = 0: must be 1\.\.64"),
    ("log_format", 'log_format = "xml"\n', 1, r'log_format "xml": want text or json'),
    ("private_clients", 'private_clients = "ignore"\n', 1,
     r'private_clients "ignore": want accept or check'),
]


@pytest.mark.parametrize("name,text,line,what", BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_bad_config_names_line(tmp_path, name, text, line, what):
    path = tmp_path / "bad.conf"
    path.write_text(text)
    p = run_policyd(["-t", "-c", str(path)])
    err = p.stderr.decode()
    assert p.returncode == 1, "%s: exit %d, stderr %r" % (name, p.returncode, err)
    assert re.search(r"^%s:%d: .*%s" % (re.escape(str(path)), line, what), err), \
        "%s: got %r, want line %d and /%s/" % (name, err, line, what)


GOOD_ROWS = [
    ("overrides", OVERRIDES),
    ("forwarders", 'forwarders {\n\tnetworks = { "192.0.2.0/24", "2001:db8::/32" }\n'
     '\tnames = { "fwd.example.net" }\n\tspf_domains = { "forwarder.example" }\n}\n'),
    ("json", 'log_format = "json"\nprivate_clients = "check"\n'),
    ("empty override", 'domain "example.org" {\n}\n'),
]


@pytest.mark.parametrize("name,text", GOOD_ROWS, ids=[r[0] for r in GOOD_ROWS])
def test_good_config(tmp_path, name, text):
    path = tmp_path / "good.conf"
    path.write_text(text)
    p = run_policyd(["-t", "-c", str(path)])
    assert p.returncode == 0, "%s: %r" % (name, p.stderr)


# ------------------------------------------------------------ forwarders

FORWARDERS = """
forwarders {
	networks = { "203.0.113.0/28" }
	names = { "fwd.example.net" }
	spf_domains = { "forwarder.example" }
}
ptr { on_fail = "accept" }
"""

# Rows: name, client, forwarder match or None (then the SPF fail is enforced).
FWD_ROWS = [
    ("network", "203.0.113.5", "203.0.113.5"),
    ("outside network", "203.0.113.17", None),
    ("forward-confirmed name suffix", "198.51.100.10", "mx.fwd.example.net"),
    ("name not at a label boundary", "198.51.100.11", None),
    ("name with the suffix inside", "198.51.100.12", None),
    ("name not forward-confirmed", "198.51.100.13", None),
    ("spf pass of forwarder domain", "198.51.100.20", "198.51.100.20 (SPF pass for "
     "forwarder.example)"),
    ("spf fail of forwarder domain", "198.51.100.21", None),
    ("no forwarder at all", "198.51.100.30", None),
]


@pytest.mark.parametrize("name,client,match", FWD_ROWS, ids=[r[0] for r in FWD_ROWS])
def test_forwarders(policyd, zone, name, client, match):
    d = policyd(FORWARDERS)
    got = d.request(client_address=client, sender="u@fail.example", helo_name="none.example")
    if match is None:
        assert got == ("550 5.7.23 SPF fail: u@fail.example does not designate %s as "
                       "permitted sender" % client), "%s: got %r" % (name, got)
    else:
        assert got.startswith("PREPEND " + AR), "%s: got %r" % (name, got)
        assert got.endswith("spf=fail smtp.mailfrom=u@fail.example (trusted forwarder %s: "
                            "not enforced)" % match.replace("(", "\\(").replace(")", "\\)")), \
            "%s: got %r" % (name, got)
        d.wait_log(r"spf_mailfrom=fail action=prepend .*forwarder=")


def test_forwarder_counted_and_other_checks_still_enforced(policyd, zone):
    sport = free_port()
    d = policyd(FORWARDERS.replace('ptr { on_fail = "accept" }', "") +
                'stats_listen = "inet:127.0.0.1:%d"\n' % sport)
    # Trusted by network, but iprev still counts: no PTR -> 550 5.7.25.
    assert d.request(client_address="203.0.113.5", sender="u@fail.example",
                     helo_name="none.example").startswith("550 5.7.25 ")
    assert d.request(client_address="198.51.100.10", sender="u@fail.example",
                     helo_name="none.example").startswith("PREPEND ")
    assert d.request(client_address="198.51.100.20", sender="u@fail.example",
                     helo_name="none.example").startswith("PREPEND ")
    m = scrape(sport)
    assert get(m, "relaytrust_trusted_forwarder_total", by="network") == 1
    assert get(m, "relaytrust_trusted_forwarder_total", by="name") == 1
    assert get(m, "relaytrust_trusted_forwarder_total", by="spf") == 1


# ------------------------------------------------------------ NAT / containers

NAT_ROWS = [
    ("rfc1918 10/8", "10.1.2.3", "private"),
    ("rfc1918 172.16/12", "172.20.0.5", "private"),
    ("rfc1918 192.168/16", "192.168.1.9", "private"),
    ("cgnat", "100.64.0.1", "cgnat"),
    ("ula", "fd00::17", "ula"),
    ("link-local v4", "169.254.10.1", "linklocal"),
    ("link-local v6", "fe80::1", "linklocal"),
]


@pytest.mark.parametrize("name,client,cls", NAT_ROWS, ids=[r[0] for r in NAT_ROWS])
def test_nat_client_never_rejected(policyd, zone, name, client, cls):
    d = policyd()
    got = d.request(client_address=client, sender="u@fail.example")
    assert got.startswith("PREPEND " + AR), "%s: got %r" % (name, got)
    assert "spf=fail smtp.mailfrom=u@fail.example" in got
    assert got.endswith("(%s client address %s: NAT or container? not enforced)"
                        % (cls, client)), got
    d.wait_log(r"warning: client %s is a %s address: Postfix sees a NAT gateway"
               % (re.escape(client), cls))
    d.wait_log(r"action=prepend code=5\.7\.2\d would=reject .*nat=%s" % cls)


def test_nat_warning_rate_limited_and_counted(policyd, zone):
    sport = free_port()
    d = policyd({"stats_listen": "inet:127.0.0.1:%d" % sport})
    for c in ("10.0.0.1", "10.0.0.2", "192.168.0.3"):
        assert d.request(client_address=c, sender="u@fail.example").startswith("PREPEND ")
    # A public client is still refused.
    assert d.request(sender="u@fail.example") == REJECT_FAIL
    d.wait_log(r"from=<u@fail\.example> to=<rcpt@example\.org> instance=[0-9a-f.]+ "
               r"iprev=pass .*action=reject")
    assert len(re.findall(r"is a private address: Postfix sees", d.log())) == 1
    assert get(scrape(sport), "relaytrust_nat_clients_total") == 3


def test_nat_private_clients_check(policyd, zone):
    d = policyd({"private_clients": "check"})
    got = d.request(client_address="10.1.2.3", sender="u@fail.example")
    assert got.startswith("550 5.7.2"), got
    d.wait_log(r"warning: client 10\.1\.2\.3 is a private address: .*applying the actions")


def test_nat_skip_networks_wins(policyd, zone):
    d = policyd({"skip": {"networks": ["10.0.0.0/8"]}})
    assert d.request(client_address="10.1.2.3", sender="u@fail.example") == (
        "PREPEND " + AR + "none (client 10.1.2.3 is in skip.networks, not checked)")
    assert "is a private address" not in d.log()


# ------------------------------------------------------------ JSON log

def test_json_log(policyd, zone):
    d = policyd({"log_format": "json"})
    d.request(sender="u@fail.example", queue_id="4TxY2", client_name='evil"\\\x01name',
              recipient="rc\"pt@example.org", instance="i.1")
    d.request(sender="u@pass.example", policy_context="x")
    line = d.wait_log(r'\{"level":"info","queue_id":"4TxY2"[^\n]*\}').group(0)
    obj = json.loads(line)
    assert obj == {"level": "info", "queue_id": "4TxY2", "client_name": 'evil"\\\x01name',
                   "client_address": "192.0.2.1", "helo": "mail.example.net",
                   "from": "u@fail.example", "to": 'rc"pt@example.org',
                   "instance": "i.1", "iprev": "pass", "spf_helo": "pass",
                   "spf_mailfrom": "fail", "action": "reject", "code": "5.7.23",
                   "cached": False, "ms": obj["ms"]}
    assert isinstance(obj["ms"], int)
    line = d.wait_log(r'\{[^\n]*"from":"u@pass\.example"[^\n]*\}').group(0)
    assert json.loads(line)["action"] == "prepend"


def test_json_log_bounds_peer_text(policyd, zone):
    d = policyd({"log_format": "json"})
    d.request(sender="u@pass.example", helo_name="h" * 5000 + "\xff")
    line = d.wait_log(r'\{"level"[^\n]*\}').group(0)
    obj = json.loads(line)
    assert obj["helo"] == "h" * 100 + "..."


# ------------------------------------------------------------ reload under load

GOOD_A = {"spf": {"on_fail": "reject"}}
GOOD_B = {"spf": {"on_fail": "defer"}}
BAD = 'spf {\n\ton_fail = "maybe"\n}\n'


def test_reload_under_load_loses_nothing(policyd, zone):
    sport = free_port()
    stats = {"stats_listen": "inet:127.0.0.1:%d" % sport}
    d = policyd(dict(GOOD_A, **stats))
    stop = threading.Event()
    results = []
    errors = []

    def worker(k):
        sent = answered = 0
        kinds = set()
        try:
            with d.connect() as s:
                reader = ReplyReader(s)
                while not stop.is_set():
                    s.sendall(encode_request(policy_request(sender="u@fail.example")))
                    sent += 1
                    a = reader.read()
                    answered += 1
                    if a.startswith("550 5.7.23 SPF fail: "):
                        kinds.add("reject")
                    elif a.startswith("DEFER_IF_PERMIT 4.7.23 SPF fail: "):
                        kinds.add("defer")
                    else:
                        errors.append("worker %d: unexpected answer %r" % (k, a))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("worker %d: %r after %d sent, %d answered" % (k, e, sent, answered))
        results.append((sent, answered, kinds))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        d.wait_log(r"action=reject code=5\.7\.23")
        bad_lines = []
        for i in range(8):
            if i % 2:
                line = d.reload(BAD + 'stats_listen = "inet:127.0.0.1:%d"\n' % sport)
                assert "keeping the old configuration" in line, line
                bad_lines.append(line)
                with open(d.config_path) as f:
                    want = f.read().split("\n").index('\ton_fail = "maybe"') + 1
                assert re.search(r"%s:%d: spf\.on_fail \"maybe\"" %
                                 (re.escape(d.config_path), want), line), line
            else:
                line = d.reload(dict(GOOD_B if i % 4 == 0 else GOOD_A, **stats))
                assert "configuration reloaded" in line, line
                start = len(d.log())
                word = "defer" if i % 4 == 0 else "reject"
                d.wait_log(r"action=%s code=" % word, start=start)
        # -t on the bad file prints the same error.
        p = run_policyd(["-t", "-c", d.config_path])
        assert p.returncode == 1
        assert re.search(r"^%s:\d+: spf\.on_fail \"maybe\"" % re.escape(d.config_path),
                         p.stderr.decode())
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, "\n".join(errors)
    assert len(results) == 4
    sent = sum(r[0] for r in results)
    answered = sum(r[1] for r in results)
    assert sent == answered and sent > 0
    kinds = set().union(*(r[2] for r in results))
    assert kinds == {"reject", "defer"}
    m = scrape(sport)
    assert get(m, "relaytrust_config_reloads_total", result="ok") == 4
    assert get(m, "relaytrust_config_reloads_total", result="error") == 4
    reqs = sum(v for (n, _), v in m.items() if n == "relaytrust_requests_total")
    assert reqs == answered
    assert get(m, "relaytrust_inflight_requests") == 0
