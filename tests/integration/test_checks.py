# SPDX-License-Identifier: ISC
"""The checks of relaytrust-policyd (SPEC 2.3, 2.4) through the real daemon,
with a real DNS server on loopback: SPF results, iprev results, the null
sender, one header per message, skips, report_only, IPv6 clients and the
answer deadline."""
import re
import socket
import time

import pytest

from conftest import encode_request, policy_request, ReplyReader

AR = "Authentication-Results: mx.test.example; "

ZONE = {
    # SPF for the MAIL FROM domains
    "pass.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"}],
    "fail.example": [{"TXT": "v=spf1 -all"}],
    "soft.example": [{"TXT": "v=spf1 ~all"}],
    "neutral.example": [{"TXT": "v=spf1 ?all"}],
    "none.example": [{"A": "192.0.2.99"}],
    "perm.example": [{"TXT": "v=spf1 ip4:192.0.2.0/33 -all"}],
    "slow.example": ["TIMEOUT"],
    # the client's names
    "mail.example.net": [{"A": "192.0.2.1"}, {"AAAA": "2001:db8::25"},
                         {"TXT": "v=spf1 a -all"}],
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    "2.2.0.192.in-addr.arpa": [{"PTR": "elsewhere.example.net"}],
    "elsewhere.example.net": [{"A": "198.51.100.7"}],
    # 192.0.2.3 has no PTR at all
    "4.2.0.192.in-addr.arpa": ["TIMEOUT"],
    "5.2.0.192.in-addr.arpa": [{"PTR": "a.example.net"}, {"PTR": "b.example.net"}],
    "a.example.net": [{"A": "198.51.100.1"}],
    "b.example.net": [{"A": "192.0.2.5"}],
    "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa":
        [{"PTR": "mail.example.net"}],
}


@pytest.fixture
def zone(dns):
    dns.set_zone(ZONE)
    return dns


def req(d, **attrs):
    return d.request(**attrs)


@pytest.mark.parametrize("sender,want", [
    ("u@pass.example", AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
     "spf=pass smtp.mailfrom=u@pass.example"),
    ("u@fail.example", "550 5.7.23 SPF fail: u@fail.example does not designate 192.0.2.1 "
     "as permitted sender"),
    ("u@soft.example", AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
     "spf=softfail smtp.mailfrom=u@soft.example"),
    ("u@neutral.example", AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
     "spf=neutral smtp.mailfrom=u@neutral.example"),
    ("u@none.example", AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
     "spf=none smtp.mailfrom=u@none.example"),
])
def test_spf_results(policyd, zone, sender, want):
    d = policyd()
    action = req(d, sender=sender)
    if want.startswith(AR):
        assert action == "PREPEND " + want
    else:
        assert action == want
    d.wait_log(r"from=<%s> to=<rcpt@example\.org> instance=[0-9a-f.]+ iprev=pass "
               r"spf_helo=pass spf_mailfrom=\w+ action=" % re.escape(sender))


def test_spf_permerror_header_and_reject(policyd, zone):
    d = policyd()
    action = req(d, sender="u@perm.example")
    assert action.startswith("PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 "
                             "(mail.example.net); spf=permerror smtp.mailfrom=u@perm.example")
    d2 = policyd({"spf": {"on_permerror": "reject"}})
    assert d2.request(sender="u@perm.example") == (
        "550 5.7.24 SPF permerror: the SPF record of perm.example is invalid")


def test_spf_temperror_is_deferred(policyd, zone):
    d = policyd({"dns": {"forward": ["127.0.0.1@%d" % zone.port], "query_timeout": 1}})
    action = req(d, sender="u@slow.example")
    assert action == ("DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary DNS failure checking "
                      "u@slow.example, try again later")


def test_helo_fail_rejects_and_mailfrom_pass_wins_header(policyd, zone):
    d = policyd()
    assert req(d, helo_name="fail.example", sender="u@pass.example") == (
        "550 5.7.23 SPF fail: HELO fail.example does not designate 192.0.2.1 as "
        "permitted sender")
    d2 = policyd({"spf": {"helo_on_fail": "accept"}})
    action = d2.request(helo_name="fail.example", sender="u@pass.example")
    # Only the MAIL FROM result is in the header: a HELO result must never be
    # readable as a MAIL FROM pass.
    assert action == ("PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 (mail.example.net); "
                      "spf=pass smtp.mailfrom=u@pass.example")


@pytest.mark.parametrize("client,ptr,want", [
    # Defaults: a PTR that does not confirm is accepted (the header says so).
    ("192.0.2.2", {}, "PREPEND " + AR + "iprev=fail policy.iprev=192.0.2.2 "
     "(elsewhere.example.net); spf=neutral smtp.mailfrom=u@neutral.example"),
    ("192.0.2.2", {"on_fail": "reject"}, "550 5.7.25 Reverse DNS validation failed: no PTR "
     "name of 192.0.2.2 resolves back to it"),
    ("192.0.2.3", {}, "550 5.7.25 Reverse DNS validation failed: 192.0.2.3 has no PTR "
     "record"),
    ("192.0.2.3", {"on_missing": "accept"}, "PREPEND " + AR + "iprev=permerror "
     "policy.iprev=192.0.2.3; spf=neutral smtp.mailfrom=u@neutral.example"),
    ("192.0.2.4", {}, "DEFER_IF_PERMIT 4.7.25 Reverse DNS validation error: temporary DNS "
     "failure for 192.0.2.4, try again later"),
    ("192.0.2.5", {}, "PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.5 (b.example.net); "
     "spf=neutral smtp.mailfrom=u@neutral.example"),
])
def test_iprev_results(policyd, zone, client, ptr, want):
    d = policyd({"spf": {"helo": False}, "ptr": ptr,
                 "dns": {"forward": ["127.0.0.1@%d" % zone.port], "query_timeout": 1}})
    assert req(d, client_address=client, sender="u@neutral.example") == want


def test_iprev_header_words(policyd, zone):
    d = policyd({"ptr": {"on_fail": "accept", "on_temperror": "accept"},
                 "spf": {"helo": False},
                 "dns": {"forward": ["127.0.0.1@%d" % zone.port], "query_timeout": 1}})
    got = {c: req(d, client_address=c, sender="u@neutral.example")
           for c in ("192.0.2.2", "192.0.2.3", "192.0.2.4")}
    assert "iprev=fail policy.iprev=192.0.2.2 (elsewhere.example.net);" in got["192.0.2.2"]
    assert "iprev=permerror policy.iprev=192.0.2.3;" in got["192.0.2.3"]
    assert "iprev=temperror policy.iprev=192.0.2.4;" in got["192.0.2.4"]


def test_null_sender_is_postmaster_at_helo(policyd, zone):
    d = policyd()
    assert req(d, sender="") == ("PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 "
                                 "(mail.example.net); spf=pass smtp.helo=mail.example.net")
    d2 = policyd({"header": "received-spf"})
    action = d2.request(sender="")
    assert action == ("PREPEND Received-SPF: pass (mx.test.example: domain of "
                      "postmaster@mail.example.net designates 192.0.2.1 as permitted sender) "
                      "client-ip=192.0.2.1; envelope-from=\"\"; helo=mail.example.net; "
                      "receiver=mx.test.example; identity=helo")


def test_five_recipients_one_header(policyd, zone):
    d = policyd()
    inst = "abc.1.2.3"
    answers = [req(d, instance=inst, recipient="r%d@example.org" % i) for i in range(5)]
    assert answers[0].startswith("PREPEND " + AR)
    assert answers[1:] == ["DUNNO"] * 4
    # A refused message is refused for every recipient.
    inst2 = "abc.1.2.4"
    answers = [req(d, instance=inst2, sender="u@fail.example") for _ in range(5)]
    assert all(a.startswith("550 5.7.23 ") for a in answers)
    # The checks ran once per message: one TXT query for each sender domain.
    txt = [q for q in zone.queries if q[1] == "TXT" and q[0] == "fail.example"]
    assert len(txt) == 1


def test_header_both_second_header_on_next_request(policyd, zone):
    d = policyd({"header": "both"})
    inst = "both.1.2.3"
    a1 = req(d, instance=inst)
    a2 = req(d, instance=inst, protocol_state="DATA")
    a3 = req(d, instance=inst)
    assert a1.startswith("PREPEND " + AR)
    assert a2.startswith("PREPEND Received-SPF: ")
    assert "identity=mailfrom" in a2 and 'envelope-from="user@example.com"' in a2
    assert a3 == "DUNNO"


def test_received_spf_exact(policyd, zone):
    d = policyd({"header": "received-spf"})
    assert req(d, sender="u@pass.example") == (
        "PREPEND Received-SPF: pass (mx.test.example: domain of u@pass.example designates "
        "192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"u@pass.example\"; "
        "helo=mail.example.net; receiver=mx.test.example; identity=mailfrom")


def test_skip_networks(policyd, zone):
    d = policyd({"skip": {"networks": ["192.0.2.0/24", "::1/128"]}})
    zone.clear_queries()
    assert req(d, sender="u@fail.example") == (
        "PREPEND " + AR + "none (client 192.0.2.1 is in skip.networks, not checked)")
    assert zone.queries == []
    d.wait_log(r"skip=client 192.0.2.1 is in skip.networks")


def test_skip_sasl(policyd, zone):
    d = policyd({"skip": {"networks": [], "sasl_authenticated": True}})
    assert req(d, sender="u@fail.example", sasl_username="alice", sasl_method="PLAIN") == (
        "PREPEND " + AR + "none (SASL-authenticated client, not checked)")
    d2 = policyd({"skip": {"networks": [], "sasl_authenticated": False}})
    assert d2.request(sender="u@fail.example", sasl_username="alice").startswith("550 5.7.23 ")


def test_report_only(policyd, zone):
    d = policyd({"report_only": True})
    action = req(d, sender="u@fail.example", client_address="192.0.2.3")
    assert action == ("PREPEND " + AR + "iprev=permerror policy.iprev=192.0.2.3; "
                      "spf=fail smtp.mailfrom=u@fail.example (would reject: 5.7.23)")
    d.wait_log(r"spf_mailfrom=fail action=prepend code=5\.7\.23 would=reject")


def test_warn_action_logs_warning(policyd, zone):
    d = policyd({"spf": {"on_fail": "warn"}})
    action = req(d, sender="u@fail.example")
    assert action.startswith("PREPEND " + AR)
    d.wait_log(r"warning: .*spf_mailfrom=fail action=prepend code=5\.7\.23 would=reject")


def test_ipv6_client(policyd, zone):
    d = policyd()
    assert req(d, client_address="2001:db8::25", sender="u@pass.example") == (
        "PREPEND " + AR + "iprev=pass policy.iprev=\"2001:db8::25\" (mail.example.net); "
        "spf=pass smtp.mailfrom=u@pass.example")
    # IPv4-mapped IPv6 is the IPv4 client.
    assert req(d, client_address="::ffff:192.0.2.1", sender="u@pass.example").startswith(
        "PREPEND " + AR + "iprev=pass policy.iprev=192.0.2.1 ")


def test_connect_state_checks_iprev_only(policyd, zone):
    d = policyd()
    assert req(d, protocol_state="CONNECT", helo_name="", sender="", instance="",
               client_address="192.0.2.3") == (
        "550 5.7.25 Reverse DNS validation failed: 192.0.2.3 has no PTR record")
    assert req(d, protocol_state="CONNECT", helo_name="", sender="", instance="") == "DUNNO"
    assert req(d, protocol_state="VRFY") == "DUNNO"


def include_chain(first, n):
    """first includes first1, which includes first2, ... n TXT lookups in a
    row, within RFC 7208's limit of 10."""
    zone = {}
    for i in range(n):
        name = first if i == 0 else "%s%d" % (first, i)
        nxt = "%s%d" % (first, i + 1)
        zone[name] = [{"TXT": "v=spf1 include:%s -all" % nxt if i + 1 < n else "v=spf1 -all"}]
    return zone


def test_slow_dns_answers_before_deadline(policyd, zone):
    """Every DNS answer takes 0.25 s, well within dns.query_timeout (and below
    unbound's first retransmission), but the sender's SPF record needs 10
    lookups in a row: the answer is the temperror action, sent by the
    daemon's own deadline (request_timeout 2 s less 0.25 s), and it names
    the identity it was checking."""
    for name, rr in include_chain("chain.example", 10).items():
        for r in rr:
            zone.add(name, r)
    d = policyd({"request_timeout": 2,
                 "dns": {"forward": ["127.0.0.1@%d" % zone.port], "query_timeout": 1}})
    zone.delay = 0.25
    try:
        s = d.connect(timeout=2 + 3)      # Postfix would give up much later
        s.sendall(encode_request(policy_request(sender="u@chain.example")))
        action = ReplyReader(s).read()
        s.close()
    finally:
        zone.delay = 0
    assert action == ("DEFER_IF_PERMIT 4.7.24 SPF temperror: temporary DNS failure "
                      "checking u@chain.example, try again later"), action
    d.wait_log(r"deadline of 2 s reached for client 192\.0.2\.1")


def test_many_connections_many_messages(policyd, zone):
    """Concurrent clients each sending many messages get their own answers."""
    import threading
    d = policyd({"workers": 4})
    errors = []

    def client(n):
        try:
            s = d.connect()
            rd = ReplyReader(s)
            for i in range(20):
                snd = "u@fail.example" if (n + i) % 3 == 0 else "u@pass.example"
                s.sendall(encode_request(policy_request(sender=snd)))
                a = rd.read()
                ok = a.startswith("550 5.7.23") if snd.endswith("fail.example") \
                    else a.startswith("PREPEND " + AR)
                if not ok:
                    errors.append((n, i, snd, a))
            s.close()
        except Exception as e:       # noqa: BLE001 - report any failure
            errors.append((n, repr(e)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
