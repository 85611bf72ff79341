# SPDX-License-Identifier: ISC
"""What a Postfix administrator relies on (issue 17): failures are loud, the
log can be matched with Postfix's lines.

(a) --stdio with a configuration that cannot be loaded answers every request
    DEFER_IF_PERMIT 4.3.5 (Postfix's words for a broken policy service), never
    a silent DUNNO through default_action, and exits 1 at end of input.
(b) Connections over max_connections: counted in
    relaytrust_connections_refused_total; the first refusal is logged at once,
    the others in one line when the window ends, without another refusal.
(c) -t binds every listen address and closes it at once: one that cannot be
    bound is an error (in use is fine: the running daemon holds it).
(d) A resolver that answers nothing: a "resolver unreachable" warning and
    relaytrust_dns_resolver_unreachable_total, besides the deferrals.
"""
import os
import re
import socket
import time

import pytest

from conftest import encode_request, free_port, policy_request, read_reply, run_policyd
from test_metrics import get, scrape

CONFIG_ERROR = b"action=DEFER_IF_PERMIT 4.3.5 policy service configuration error\n\n"


@pytest.mark.parametrize("name, text", [
    ("bad value", 'workers = "many"\n'),
    ("unknown key", "no_such_key = 1\n"),
    ("unterminated string", 'authserv_id = "mx.example.org\n'),
    ("missing file", None),
])
def test_stdio_config_error_defers_every_request(tmp_path, name, text):
    path = tmp_path / "policyd.conf"
    if text is not None:
        path.write_text(text)
    reqs = b"".join(encode_request(policy_request(protocol_state=s))
                    for s in ("RCPT", "RCPT", "DATA"))
    p = run_policyd(["--stdio", "-c", str(path)], input=reqs)
    assert p.stdout == CONFIG_ERROR * 3, (name, p.stdout)
    assert p.returncode == 1, name
    assert p.stderr == b"", "--stdio wrote to stderr: %r" % p.stderr


def test_stdio_config_error_keeps_framing_limits(tmp_path):
    path = tmp_path / "policyd.conf"
    path.write_text('workers = "many"\n')
    p = run_policyd(["--stdio", "-c", str(path)],
                    input=b"x=" + b"a" * 9000 + b"\n\n")
    assert p.stdout == b"", "an over-long line must close, not be answered"
    assert p.returncode == 1


def test_stdio_good_config_still_checks(tmp_path, dns):
    dns.set_zone({"1.2.0.192.in-addr.arpa": [{"PTR": "mail.example.net"}],
              "mail.example.net": [{"A": "192.0.2.1"}]})
    path = tmp_path / "policyd.conf"
    path.write_text('listen = { }\ndns { forward = { "127.0.0.1@%d" } }\n'
                    'skip { networks = { } }\n' % dns.port)
    p = run_policyd(["--stdio", "-c", str(path)],
                    input=encode_request(policy_request(sender="")))
    assert p.returncode == 0, p
    assert p.stdout.startswith(b"action=PREPEND Authentication-Results:"), p.stdout


def test_refusals_counted_and_summed(policyd):
    sport = free_port()
    d = policyd({"max_connections": 1, "skip": {"networks": ["127.0.0.0/8"]},
                 "stats_listen": "inet:127.0.0.1:%d" % sport})
    keep = d.connect()
    keep.sendall(encode_request(policy_request(client_address="127.0.0.1")))
    assert read_reply(keep).startswith("PREPEND ")
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        try:
            assert s.recv(1) == b""         # closed at once
        except ConnectionResetError:
            pass
        s.close()
    d.wait_log(r"refusing the connection: max_connections \(1\) reached")
    deadline_line = d.wait_log(r"3 more connections refused in the last 10 s: "
                               r"max_connections \(1\) reached", timeout=20)
    assert deadline_line
    assert len(re.findall(r"refusing the connection", d.log())) == 1
    assert get(scrape(sport), "relaytrust_connections_refused_total") == 4
    keep.close()


def test_resolver_unreachable_warned_and_counted(policyd, dns):
    """A resolver that answers nothing: each request is deferred (temperror),
    and one warning says why, with a metric, instead of only action=defer
    lines. The judgment is per 10-second window of DNS answers."""
    zone = {"%d.113.0.203.in-addr.arpa" % i: ["TIMEOUT"] for i in range(1, 13)}
    zone["silent.example"] = ["TIMEOUT"]
    zone["mail.example.net"] = ["TIMEOUT"]
    dns.set_zone(zone)
    sport = free_port()
    d = policyd({"request_timeout": 3, "dns": {"query_timeout": 1},
                 "stats_listen": "inet:127.0.0.1:%d" % sport})
    socks = []
    for i in range(1, 13):
        s = d.connect()
        s.sendall(encode_request(policy_request(client_address="203.0.113.%d" % i,
                                                sender="u@silent.example")))
        socks.append(s)
    for s in socks:
        assert read_reply(s).startswith("DEFER_IF_PERMIT 4.7.2"), "not deferred"
        s.close()
    assert "resolver unreachable" not in d.log()
    # The next window's first answer closes the judgment of this one.
    time.sleep(10.5)
    s = d.connect()
    s.sendall(encode_request(policy_request(client_address="203.0.113.1",
                                            sender="u@silent.example")))
    read_reply(s)
    s.close()
    d.wait_log(r"warning: resolver unreachable: \d+ of \d+ DNS queries timed out in 10 s")
    assert get(scrape(sport), "relaytrust_dns_resolver_unreachable_total") == 1


@pytest.mark.parametrize("listen, want", [
    ("inet:192.0.2.77:10045", r"listen inet:192\.0\.2\.77:10045: cannot be bound: "
                              r"Cannot assign requested address"),
    ("unix:/nonexistent/relaytrust/policyd.sock",
     r"listen unix:/nonexistent/relaytrust/policyd\.sock: directory "
     r"/nonexistent/relaytrust: No such file or directory"),
    ("inet:no-such-host.invalid:10045", r"listen inet:no-such-host\.invalid:10045: "),
])
def test_check_listen_that_cannot_be_bound(tmp_path, listen, want):
    path = tmp_path / "policyd.conf"
    path.write_text('listen = { "%s" }\n' % listen)
    p = run_policyd(["-t", "-c", str(path)])
    assert p.returncode == 1, p
    assert re.search("^%s: %s" % (re.escape(str(path)), want), p.stderr.decode(), re.M), \
        p.stderr


def test_check_listen_in_use_is_fine(tmp_path):
    """-t runs beside the daemon that holds the address (systemctl reload)."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    path = tmp_path / "policyd.conf"
    path.write_text('listen = { "inet:127.0.0.1:%d", "unix:%s/p.sock" }\n' % (port, tmp_path))
    p = run_policyd(["-t", "-c", str(path)])
    held.close()
    assert p.returncode == 0, p
    assert p.stdout.decode() == "%s: configuration OK\n" % path
    assert not os.path.exists(tmp_path / "p.sock"), "-t left a socket behind"
