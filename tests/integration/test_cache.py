# SPDX-License-Identifier: ISC
"""The result caches: SPF results by (client, domain) and iprev results by
client are reused while the DNS answers they came from may be, and no
longer; a record with macros is keyed by sender and HELO name too.

What is observed is the DNS traffic the test server sees and the answers,
so every row can fail: a cache that keeps too long answers with the old
zone, one that does not keep makes queries."""
import time

ZONE = {
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    "mail.example.net": [{"A": "192.0.2.1"}, {"TXT": "v=spf1 a -all"}],
    "example.com": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
    "macro.example": [{"TXT": "v=spf1 exists:%{l}.allow.macro.example -all"}],
    "good.allow.macro.example": [{"A": "127.0.0.2"}],
}
PASS = "PREPEND Authentication-Results:"
FAIL = "550 5.7.23"


def count(dns, name, qtype):
    return sum(1 for q in dns.queries if q[0] == name and q[1] == qtype)


def test_results_are_reused_while_the_ttl_lasts(policyd, dns):
    dns.set_zone(ZONE)
    d = policyd()
    for i in range(4):
        got = d.request(sender="u%d@example.com" % i)
        assert got.startswith(PASS), "message %d: got %r" % (i, got)
    rows = [
        ("example.com TXT", count(dns, "example.com", "TXT"), 1),
        ("PTR", count(dns, "1.2.0.192.in-addr.arpa", "PTR"), 1),
        ("HELO TXT", count(dns, "mail.example.net", "TXT"), 1),
    ]
    for name, got, want in rows:
        assert got == want, "row %s: got %d queries, want %d" % (name, got, want)


def test_results_expire_with_the_dns_ttl(policyd, dns):
    dns.ttl = 1
    dns.set_zone(ZONE)
    d = policyd()
    got = d.request()
    assert got.startswith(PASS), "before: got %r" % got
    zone = dict(ZONE)
    zone["example.com"] = [{"TXT": "v=spf1 -all"}]
    dns.set_zone(zone)
    time.sleep(2.2)
    got = d.request()
    assert got.startswith(FAIL), "after the TTL: got %r (a stale result)" % got


def test_a_zone_change_is_not_seen_within_the_ttl(policyd, dns):
    """The other side of the same rule: within the TTL the kept result
    stands, as the resolver's own cache would have it."""
    dns.set_zone(ZONE)
    d = policyd()
    assert d.request().startswith(PASS)
    zone = dict(ZONE)
    zone["example.com"] = [{"TXT": "v=spf1 -all"}]
    dns.set_zone(zone)
    got = d.request()
    assert got.startswith(PASS), "within the TTL: got %r" % got


def test_macro_records_are_kept_per_sender(policyd, dns):
    dns.set_zone(ZONE)
    d = policyd()
    rows = [
        ("good", "good@macro.example", PASS),
        ("bad", "bad@macro.example", FAIL),
        ("good again", "good@macro.example", PASS),
        ("bad again", "bad@macro.example", FAIL),
    ]
    for name, sender, want in rows:
        got = d.request(sender=sender)
        assert got.startswith(want), "row %s: got %r, want %r" % (name, got, want)
    # One evaluation per sender; the repeats came from the cache.
    assert count(dns, "good.allow.macro.example", "A") == 1
    assert count(dns, "bad.allow.macro.example", "A") == 1


def test_other_clients_are_evaluated_again(policyd, dns):
    dns.set_zone(dict(ZONE, **{
        "2.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}]}))
    d = policyd()
    assert d.request().startswith(PASS)
    # The HELO name's record ("a") passes 192.0.2.1 but not 192.0.2.2:
    # the kept pass of the first client must not answer for the second.
    got = d.request(client_address="192.0.2.2")
    assert got.startswith(FAIL) and "HELO mail.example.net" in got, \
        "second client: got %r" % got
    assert count(dns, "2.2.0.192.in-addr.arpa", "PTR") == 1
    got = d.request(client_address="198.51.100.9", helo_name="")
    assert got.startswith(FAIL), "outside client: got %r" % got
