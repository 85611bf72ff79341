# SPDX-License-Identifier: ISC
"""The shipped configuration and the controls an administrator reaches for
(issue 17), over the real DNS server.

(a) conf/policyd.conf as shipped, with only listen and dns.forward changed,
    refuses nothing (report_only = true) and says in the header what it
    would have done.
(b) The same with report_only = false: no PTR + SPF pass -> accepted with the
    header; a PTR that does not confirm -> accepted; no PTR + SPF none ->
    550 5.7.25; SPF fail -> 550 5.7.23, but never for postmaster@ or abuse@.
(c) Whitelists that cannot be spoofed: skip.client_names needs a
    forward-confirmed PTR name, skip.helo_names a HELO name that resolves to
    the client; sender "DOMAIN" sections protect your own domain.
(d) The upgrade rule: a file that sets only ptr.on_fail keeps its old
    meaning for a missing PTR, and -t says so.
"""
import os
import re

import pytest

from conftest import ROOT, run_policyd

AR = "Authentication-Results: mx.test.example; "

ZONE = {
    "pass.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
    "fail.example": [{"TXT": "v=spf1 -all"}],
    "soft.example": [{"TXT": "v=spf1 ~all"}],
    "own.example": [{"TXT": "v=spf1 ip4:198.51.100.1 ~all"}],
    "nospf.example": [{"A": "192.0.2.99"}],
    # 192.0.2.1: forward-confirmed as mail.example.net.
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    "mail.example.net": [{"A": "192.0.2.1"}],
    # 192.0.2.2: its PTR name points elsewhere (not confirmed).
    "2.2.0.192.in-addr.arpa": [{"PTR": "elsewhere.example.net"}],
    "elsewhere.example.net": [{"A": "198.51.100.7"}],
    # 192.0.2.3: no PTR record at all.
    # 192.0.2.10: forward-confirmed as mx1.partner.example.
    "10.2.0.192.in-addr.arpa": [{"PTR": "mx1.partner.example"}],
    "mx1.partner.example": [{"A": "192.0.2.10"}],
    # 192.0.2.11 claims to be the partner in its PTR, but the name does
    # not resolve back to it (anyone controls their own reverse zone).
    "11.2.0.192.in-addr.arpa": [{"PTR": "mx2.partner.example"}],
    "mx2.partner.example": [{"A": "198.51.100.2"}],
    # HELO names: relay.partner.example is 192.0.2.12's.
    "relay.partner.example": [{"A": "192.0.2.12"}],
}


@pytest.fixture
def zone(dns):
    dns.set_zone(ZONE)
    return dns


def shipped(report_only=True, extra="", more=()):
    """conf/policyd.conf with only listen and dns.forward changed (and
    report_only, and the given (regexp, text) edits when asked), plus
    extra text."""
    with open(os.path.join(ROOT, "conf", "policyd.conf")) as f:
        text = f.read()
    edits = [(r'(?m)^listen = \{ "inet:127\.0\.0\.1:10045" \}$',
              'listen = { "inet:127.0.0.1:{port}" }'),
             (r"(?m)^\tforward = \{ \}$", '\tforward = { "127.0.0.1@{dns_port}" }'),
             (r'(?m)^#authserv_id = "mx\.example\.org"$', 'authserv_id = "mx.test.example"')]
    if not report_only:
        edits.append((r"(?m)^report_only = true$", "report_only = false"))
    for pattern, repl in list(edits) + list(more):
        text, n = re.subn(pattern, repl, text)
        assert n == 1, "conf/policyd.conf changed: %r matched %d times" % (pattern, n)
    return text + extra


CASES = [
    # client, helo, sender, recipient
    ("192.0.2.3", "mail.example.net", "u@pass.example", "rcpt@example.org"),
    ("192.0.2.2", "mail.example.net", "u@nospf.example", "rcpt@example.org"),
    ("192.0.2.3", "mail.example.net", "u@nospf.example", "rcpt@example.org"),
    ("192.0.2.1", "mail.example.net", "u@fail.example", "rcpt@example.org"),
    ("192.0.2.1", "mail.example.net", "u@fail.example", "postmaster@example.org"),
    ("192.0.2.1", "mail.example.net", "u@fail.example", "Abuse@Example.ORG"),
]


def test_shipped_config_refuses_nothing(policyd, zone):
    d = policyd(raw=shipped())
    d.wait_log(r"report_only = true: every decision is logged \(would=\) and put in the "
               r"header, and nothing is refused")
    got = [d.request(client_address=c, helo_name=h, sender=s, recipient=r)
           for c, h, s, r in CASES]
    for action in got:
        assert action.startswith("PREPEND " + AR), got
    # The comment follows the result that would have refused the mail.
    assert got[2] == ("PREPEND " + AR + "iprev=permerror policy.iprev=192.0.2.3 "
                      "(would reject: 5.7.25); spf=none smtp.mailfrom=u@nospf.example"), got
    assert got[3].endswith("spf=fail smtp.mailfrom=u@fail.example (would reject: 5.7.23)"), got
    # A refusal skip.recipients prevents anyway is no "would reject".
    assert "would" not in got[4] and "would" not in got[5], got


def test_shipped_config_enforcing(policyd, zone):
    d = policyd(raw=shipped(report_only=False))
    got = [d.request(client_address=c, helo_name=h, sender=s, recipient=r)
           for c, h, s, r in CASES]
    # No PTR, but SPF pass: the sender is authenticated (ptr.unless_spf_pass).
    assert got[0] == ("PREPEND " + AR + "iprev=permerror policy.iprev=192.0.2.3; "
                      "spf=pass smtp.mailfrom=u@pass.example")
    # A PTR that does not confirm: accepted, the header says so.
    assert got[1] == ("PREPEND " + AR + "iprev=fail policy.iprev=192.0.2.2 "
                      "(elsewhere.example.net); spf=none smtp.mailfrom=u@nospf.example")
    assert got[2] == "550 5.7.25 Reverse DNS validation failed: 192.0.2.3 has no PTR record"
    assert got[3] == ("550 5.7.23 SPF fail: u@fail.example does not designate 192.0.2.1 "
                      "as permitted sender")
    # postmaster@ and abuse@ are never refused (any case).
    for action in got[4:]:
        assert action == ("PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 "
                          "(mail.example.net); spf=fail smtp.mailfrom=u@fail.example"), got
    d.wait_log(r"to=<postmaster@example\.org> instance=\S+ iprev=pass spf_helo=none "
               r"spf_mailfrom=fail action=prepend code=5\.7\.23 would=reject skip=recipient")
    assert not re.search(r"warning: .*to=<postmaster@", d.log())


WHITELIST = [(r"(?m)^\tclient_names = \{ \}$", '\tclient_names = { "partner.example" }'),
             (r"(?m)^\thelo_names = \{ \}$", '\thelo_names = { "partner.example" }')]


@pytest.mark.parametrize("client, helo, want", [
    # Forward-confirmed PTR in the list: not checked.
    ("192.0.2.10", "mail.example.net",
     "PREPEND " + AR + "none (client name mx1.partner.example is in skip.client_names, "
     "not checked)"),
    # The PTR claims the partner, but does not confirm: checked, refused.
    ("192.0.2.11", "mail.example.net", "550 5.7.23 "),
    # The HELO name is in the list and resolves to the client: not checked.
    ("192.0.2.12", "relay.partner.example",
     "PREPEND " + AR + "none (HELO name relay.partner.example resolves to the client and "
     "is in skip.helo_names, not checked)"),
    # A spoofed HELO: in the list, but it resolves to another address.
    ("192.0.2.13", "relay.partner.example", "550 5.7.2"),
    # A HELO name in the list that does not exist.
    ("192.0.2.13", "ghost.partner.example", "550 5.7.2"),
    # Not a label boundary: evilpartner.example is not partner.example.
    ("192.0.2.12", "relay.evilpartner.example", "550 5.7.2"),
])
def test_whitelists_cannot_be_spoofed(policyd, zone, client, helo, want):
    zone.add("relay.evilpartner.example", {"A": "192.0.2.12"})
    d = policyd(raw=shipped(report_only=False, more=WHITELIST))
    got = d.request(client_address=client, helo_name=helo, sender="u@fail.example")
    assert got.startswith(want), got
    if "not checked" in want:
        d.wait_log(r"skip=(client name|HELO name) ")


OWN = """
sender "own.example" {
	spf { on_softfail = "reject" on_neutral = "reject" on_none = "reject" }
}
domain "lenient.example" {
	spf { on_softfail = "accept" }
}
"""


@pytest.mark.parametrize("sender, rcpt, client, want", [
    # Mail claiming your own domain must pass SPF...
    ("u@own.example", "r@example.org", "192.0.2.1", "550 5.7.23 "),
    ("u@sub.own.example", "r@example.org", "192.0.2.1", "550 5.7.23 SPF softfail: "
     "u@sub.own.example does not designate 192.0.2.1 as permitted sender"),
    ("u@bare.own.example", "r@example.org", "192.0.2.1", "550 5.7.23 SPF none: "
     "bare.own.example publishes no SPF record; a pass is required"),
    # ... even to a recipient domain whose section accepts softfail
    # (sender sections are applied last) ...
    ("u@own.example", "r@lenient.example", "192.0.2.1", "550 5.7.23 "),
    # ... and passes when it comes from your own server.
    ("u@own.example", "r@example.org", "198.51.100.1", "PREPEND "),
    # Another domain's softfail stays accepted.
    ("u@soft.example", "r@example.org", "192.0.2.1", "PREPEND "),
    # Not a label boundary.
    ("u@notown.example", "r@example.org", "192.0.2.1", "PREPEND "),
])
def test_sender_sections(policyd, zone, sender, rcpt, client, want):
    zone.add("sub.own.example", {"TXT": "v=spf1 ~all"})
    zone.add("notown.example", {"TXT": "v=spf1 ~all"})
    zone.add("bare.own.example", {"A": "192.0.2.99"})
    zone.add("1.100.51.198.in-addr.arpa", {"PTR": "out.own.example"})
    zone.add("out.own.example", {"A": "198.51.100.1"})
    d = policyd(raw=shipped(report_only=False, extra=OWN))
    got = d.request(client_address=client, sender=sender, recipient=rcpt,
                    helo_name="mail.example.net")
    assert got.startswith(want), got
    if sender.endswith("@own.example") and want.startswith("550"):
        d.wait_log(r"policy=[^ ]*sender:own\.example")


def test_upgrade_rule_keeps_old_meaning(policyd, zone, tmp_path):
    old = 'listen = { "inet:127.0.0.1:{port}" }\ndns { forward = { "127.0.0.1@{dns_port}" } }\n' \
          'authserv_id = "mx.test.example"\nptr {\n\ton_fail = "accept"\n}\n'
    path = tmp_path / "old.conf"
    path.write_text(old.replace("{port}", "10999").replace("{dns_port}", "53"))
    p = run_policyd(["-t", "-c", str(path)])
    assert p.returncode == 0, p
    assert re.search(r"^%s:5: ptr\.on_fail also applies to a missing PTR record" %
                     re.escape(str(path)), p.stderr.decode(), re.M), p.stderr
    # A 0.1 file that accepted unconfirmed PTRs accepted missing ones too.
    d = policyd(raw=old)
    d.wait_log(r"warning: .*ptr\.on_fail also applies to a missing PTR record")
    assert d.request(client_address="192.0.2.3", sender="u@nospf.example").startswith(
        "PREPEND " + AR + "iprev=permerror")
