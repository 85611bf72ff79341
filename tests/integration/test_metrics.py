# SPDX-License-Identifier: ISC
"""Metrics of relaytrust-policyd (SPEC 2.5, issue 6 part 5): stats_listen
serves the Prometheus text format at /metrics; after known traffic the
counters add up exactly (requests by action, replies by code, check
results, per-message cache hits, deadline hits, reloads, DNS histogram);
the tiny HTTP responder answers 404/405/400 and closes."""
import re
import socket
import urllib.error
import urllib.request

import pytest

from conftest import free_port

ZONE = {
    "pass.example": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
    "fail.example": [{"TXT": "v=spf1 -all"}],
    "slow.example": ["TIMEOUT"],
    "mail.example.net": [{"A": "192.0.2.1"}, {"TXT": "v=spf1 a -all"}],
    "1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
    "norecord.example": [{"A": "192.0.2.9"}, {"TXT": "not spf"}],
    "two.example": [{"TXT": "v=spf1 -all"}, {"TXT": "v=spf1 +all"}],
    "syntax.example": [{"TXT": "v=spf1 ip4:192.0.2.300 -all"}],
}

LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float}; asserts every line is
    a comment or a well-formed sample, and every sample has HELP/TYPE."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE_RE.match(line)
        assert m, "bad metrics line %r" % line
        name, labels, value = m.groups()
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "no # TYPE for %s" % name
        key = (name, frozenset(LABEL_RE.findall(labels or "")))
        assert key not in out, "duplicate sample %r" % line
        out[key] = float(value)
    return out


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_metrics(r.read().decode())


def get(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def total(m, name):
    return sum(v for (n, _), v in m.items() if n == name)


def by_label(m, name, label):
    return {dict(k).get(label): v for (n, k), v in m.items() if n == name}


def start(policyd, dns, extra=None):
    dns.set_zone(ZONE)
    sport = free_port()
    cfg = {"stats_listen": "inet:127.0.0.1:%d" % sport}
    cfg.update(extra or {})
    d = policyd(cfg)
    d.stats_port = sport
    return d


def action_word(a):
    if a.startswith("PREPEND "):
        return "prepend"
    if a.startswith("DEFER_IF_PERMIT "):
        return "defer"
    if a[:1] in "45":
        return "reject"
    return "dunno"


def reply_code(a):
    m = re.match(r"^(?:DEFER_IF_PERMIT|[45]\d\d) ([245]\.\d+\.\d+) ", a)
    return m.group(1) if m else "none"


def test_counters_add_up(policyd, dns):
    d = start(policyd, dns)
    m0 = scrape(d.stats_port)
    assert total(m0, "relaytrust_requests_total") == 0
    assert get(m0, "relaytrust_inflight_requests") == 0

    answers = []
    # 4 messages that pass, one with 3 recipients (2 answered from cache).
    for i in range(3):
        answers.append(d.request(sender="u%d@pass.example" % i))
    for r in range(3):
        answers.append(d.request(instance="multi.1", sender="m@pass.example",
                                 recipient="r%d@example.org" % r))
    # 1 message refused, 2 recipients (1 from cache).
    answers.append(d.request(instance="bad.1", sender="u@fail.example"))
    answers.append(d.request(instance="bad.1", sender="u@fail.example",
                             recipient="other@example.org"))
    # A state that is not checked, and a request that is not a policy query.
    answers.append(d.request(protocol_state="VRFY"))
    answers.append(d.request(request="junk"))
    n = len(answers)
    assert [action_word(a) for a in answers] == (
        ["prepend"] * 4 + ["dunno"] * 2 + ["reject"] * 2 + ["dunno"] * 2), answers

    m = scrape(d.stats_port)
    # Every answer is counted once by action and once by code.
    assert total(m, "relaytrust_requests_total") == n
    assert total(m, "relaytrust_replies_total") == n
    want_actions = {w: sum(1 for a in answers if action_word(a) == w)
                    for w in ("prepend", "dunno", "reject", "defer")}
    assert by_label(m, "relaytrust_requests_total", "action") == want_actions
    want_codes = {}
    for a in answers:
        want_codes[reply_code(a)] = want_codes.get(reply_code(a), 0) + 1
    assert by_label(m, "relaytrust_replies_total", "code") == want_codes
    assert want_codes["5.7.23"] == 2
    # Checks ran once per message: 5 messages.
    assert get(m, "relaytrust_check_results_total", check="spf_mailfrom", result="pass") == 4
    assert get(m, "relaytrust_check_results_total", check="spf_mailfrom", result="fail") == 1
    assert total(m, "relaytrust_check_results_total") == 5 * 3   # iprev, helo, mailfrom
    assert get(m, "relaytrust_check_results_total", check="iprev", result="pass") == 5
    assert get(m, "relaytrust_check_results_total", check="spf_helo", result="pass") == 5
    assert get(m, "relaytrust_verdict_cache_hits_total") == 3
    assert get(m, "relaytrust_inflight_requests") == 0
    assert get(m, "relaytrust_connections") == 1
    assert get(m, "relaytrust_deadline_hits_total") == 0
    # 10 SPF checks, all from one client: the HELO name's and
    # pass.example's results are kept (TTL 300), so 3 evaluations ran
    # (HELO, pass.example, fail.example) and 7 came from the cache.
    assert get(m, "relaytrust_spf_evaluations_total") == 3
    assert get(m, "relaytrust_spf_cache_hits_total") == 7
    assert get(m, "relaytrust_iprev_cache_hits_total") == 4
    assert get(m, "relaytrust_spf_worker_restarts_total") == 0
    # DNS: every query answered is in the histogram exactly once.
    q = get(m, "relaytrust_dns_queries_total")
    assert q >= 5
    buckets = sorted(((float(dict(k)["le"]), v) for (nm, k), v in m.items()
                      if nm == "relaytrust_dns_latency_seconds_bucket"))
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "histogram buckets not cumulative: %r" % buckets
    assert buckets[-1][0] == float("inf")
    assert get(m, "relaytrust_dns_latency_seconds_count") == buckets[-1][1] == q
    assert get(m, "relaytrust_dns_cache_hits_total") <= q
    info = [dict(k) for (nm, k), v in m.items() if nm == "relaytrust_build_info" and v == 1]
    assert len(info) == 1 and re.match(r"^\d+\.\d+", info[0]["version"])
    assert info[0]["libspf2"] and info[0]["libunbound"]


@pytest.mark.parametrize("sender,result,cached", [
    ("u@norecord.example", "none", True),      # TXT, but no v=spf1 record
    # No such domain: the test server's negative answers carry no SOA,
    # so they have no TTL and the result is not kept.
    ("u@nxdomain.example", "none", False),
    ("u@two.example", "permerror", True),      # two SPF records
    ("u@syntax.example", "permerror", True),   # a record that does not parse
])
def test_record_settles_result_without_worker(policyd, dns, sender, result, cached):
    """The pool looks the domain's record up before any worker: when the
    record alone decides the result, no worker evaluation runs; a usable
    record goes to a worker with the EVAL."""
    d = start(policyd, dns)
    assert action_word(d.request(sender="first@pass.example")) == "prepend"
    m0 = scrape(d.stats_port)
    # HELO name and pass.example: two evaluations in a worker.
    assert get(m0, "relaytrust_spf_evaluations_total") == 2
    d.request(sender=sender)
    m = scrape(d.stats_port)
    assert get(m, "relaytrust_check_results_total", check="spf_mailfrom",
               result=result) == 1, by_label(m, "relaytrust_check_results_total", "result")
    assert get(m, "relaytrust_spf_evaluations_total") == 2, "row %s: a worker ran" % sender
    # Asked again: the same result, from the cache when it has a TTL
    # (the HELO name's result is a hit both times), never from a worker.
    d.request(sender=sender, instance="again.1")
    m = scrape(d.stats_port)
    assert get(m, "relaytrust_check_results_total", check="spf_mailfrom",
               result=result) == 2
    hits = get(m, "relaytrust_spf_cache_hits_total") - get(m0, "relaytrust_spf_cache_hits_total")
    assert hits == 2 + cached, "row %s: %d cache hits" % (sender, hits)
    assert get(m, "relaytrust_spf_evaluations_total") == 2


def test_deadline_and_reload_counters(policyd, dns):
    # Every answer takes 0.25 s, within dns.query_timeout; chain.example's
    # SPF record needs 10 lookups in a row, past the deadline.
    from test_checks import include_chain
    d = start(policyd, dns, {"request_timeout": 2,
                             "dns": {"forward": ["127.0.0.1@%d" % dns.port],
                                     "query_timeout": 1}})
    for name, rr in include_chain("chain.example", 10).items():
        for r in rr:
            dns.add(name, r)
    dns.delay = 0.25
    try:
        a = d.request(sender="u@chain.example")
    finally:
        dns.delay = 0
    assert a.startswith("DEFER_IF_PERMIT 4.7.24 "), a
    m = scrape(d.stats_port)
    assert get(m, "relaytrust_deadline_hits_total") == 1
    assert get(m, "relaytrust_check_results_total", check="spf_mailfrom",
               result="temperror") == 1
    assert get(m, "relaytrust_replies_total", code="4.7.24") == 1

    line = d.reload({"stats_listen": "inet:127.0.0.1:%d" % d.stats_port,
                     "request_timeout": 2, "dns": {"query_timeout": 1},
                     "spf": {"on_fail": "bogus"}})
    assert "keeping the old configuration" in line
    line = d.reload({"stats_listen": "inet:127.0.0.1:%d" % d.stats_port,
                     "request_timeout": 2, "dns": {"query_timeout": 1}})
    assert "configuration reloaded" in line
    m = scrape(d.stats_port)
    assert get(m, "relaytrust_config_reloads_total", result="ok") == 1
    assert get(m, "relaytrust_config_reloads_total", result="error") == 1


def raw_http(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got.decode("latin-1")
            got += chunk


HTTP_ROWS = [
    ("metrics", b"GET /metrics HTTP/1.0\r\n\r\n", 200),
    ("metrics with query", b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 200),
    ("bare LF", b"GET /metrics HTTP/1.0\n\n", 200),
    ("other path", b"GET / HTTP/1.0\r\n\r\n", 404),
    ("prefix path", b"GET /metricsx HTTP/1.0\r\n\r\n", 404),
    ("POST", b"POST /metrics HTTP/1.0\r\n\r\n", 405),
    ("no version", b"GET /metrics\r\n\r\n", 400),
    ("garbage", b"\x00\x01\x02\r\n\r\n", 400),
    ("oversized head", b"GET /metrics HTTP/1.0\r\nX: " + b"a" * 5000 + b"\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,request_bytes,status", HTTP_ROWS, ids=[r[0] for r in HTTP_ROWS])
def test_http_responder(policyd, dns, name, request_bytes, status):
    d = start(policyd, dns)
    resp = raw_http(d.stats_port, request_bytes)
    m = re.match(r"HTTP/1\.0 (\d+) ", resp)
    assert m and int(m.group(1)) == status, "%s: got %r" % (name, resp[:200])
    head, _, body = resp.partition("\r\n\r\n")
    assert "Connection: close" in head
    clen = int(re.search(r"Content-Length: (\d+)", head).group(1))
    assert clen == len(body)
    if status == 200:
        parse_metrics(body)
    # The policy side still works after any of these.
    assert d.request(sender="u@pass.example").startswith("PREPEND ")


def test_http_errors_from_urllib(policyd, dns):
    d = start(policyd, dns)
    with pytest.raises(urllib.error.HTTPError) as e:
        scrape(d.stats_port, "/nothing")
    assert e.value.code == 404


def test_stats_listen_bind_error_is_fatal(policyd, dns):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        d = policyd({"stats_listen": "inet:127.0.0.1:%d" % busy.getsockname()[1]},
                    wait_ready=False)
        d.wait_log(r"stats_listen inet:127\.0\.0\.1:\d+: ")
        assert d.proc.wait(timeout=20) == 1
        d.stop(expect=1)
    finally:
        busy.close()
