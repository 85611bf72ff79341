# SPDX-License-Identifier: ISC
"""End-to-end: the two other ways to wire relaytrust-policyd into Postfix
(README, relaytrust-policyd(8)), each with a real Postfix and swaks:

  unix   the daemon listens on a unix socket in Postfix's private directory,
         main.cf: check_policy_service { unix:private/relaytrust, ... }
  spawn  no standing daemon: master.cf runs one --stdio child per smtpd
         connection through spawn(8), as an unprivileged user:
             relaytrust unix - n n - 0 spawn
                 user=nobody argv=.../relaytrust-policyd --stdio -c FILE
         main.cf: relaytrust_time_limit = 3600 and
         check_policy_service { unix:private/relaytrust, ... }

For each: an SPF-pass sender is delivered with our header, an SPF-fail
sender gets 550 5.7.23 at RCPT. The inet wiring is tests/e2e/test_postfix.py.
"""
import os
import shutil
import tempfile
import uuid

import pytest

import postfix_instance
from test_postfix import (AUTHSERV_ID, POLICYD, ZONE, Policyd, Stack, TestDNS, data_accepted, expect,
                          our_headers, rcpt_reply, shipped_config)


def _stack(mode):
    why = postfix_instance.installed()
    if why:
        pytest.skip(why)
    assert os.geteuid() == 0, "the Postfix end-to-end test must run as root"
    assert os.access(POLICYD, os.X_OK), "%s is not built (make)" % POLICYD
    base = tempfile.mkdtemp(prefix="relaytrust-e2e-%s-" % mode)
    os.chmod(base, 0o755)
    return base


@pytest.fixture(scope="module", params=["unix", "spawn"])
def wired(request):
    mode = request.param
    base = _stack(mode)
    dns = TestDNS(host="127.0.0.1", port=0, zone=ZONE)
    pf_base = os.path.join(base, "postfix")
    os.makedirs(pf_base)
    policyd = postfix = None
    try:
        if mode == "spawn":
            # The child runs as nobody: give it a binary and a config it can read.
            exe = os.path.join(base, "relaytrust-policyd")
            shutil.copy(POLICYD, exe)
            conf = os.path.join(base, "stdio.conf")
            with open(conf, "w") as f:
                f.write(shipped_config(1, dns.port)
                        .replace('listen = { "inet:127.0.0.1:1" }', "listen = { }"))
            os.chmod(conf, 0o644)
            postfix = postfix_instance.PostfixInstance(
                pf_base, "unix:private/relaytrust",
                extra_main="relaytrust_time_limit = 3600\n",
                extra_master="relaytrust unix - n n - 0 spawn\n"
                             "  user=nobody argv=%s --stdio -c %s\n" % (exe, conf))
            postfix.start()
        else:
            postfix = postfix_instance.PostfixInstance(pf_base, "unix:private/relaytrust")
            postfix.start()       # creates queue/private (postfix-owned, 0700)
            sock = os.path.join(postfix.queue, "private", "relaytrust")
            policyd = _unix_daemon(base, dns.port, sock)
        yield Stack(base, dns, policyd or _NoDaemon(), postfix)
    finally:
        if postfix is not None:
            postfix.stop()
        if policyd is not None:
            policyd.stop()
        dns.stop()
        shutil.rmtree(base, ignore_errors=True)


class _NoDaemon:
    def log(self):
        return "(spawn mode: the --stdio children log to syslog)"


def _unix_daemon(base, dns_port, sock):
    """A standing daemon on the unix socket sock."""
    import subprocess
    conf = os.path.join(base, "unix.conf")
    text = shipped_config(1, dns_port)
    with open(conf, "w") as f:
        f.write(text.replace('listen = { "inet:127.0.0.1:1" }', 'listen = { "unix:%s" }' % sock))
    d = Policyd.__new__(Policyd)
    d.port = None
    d.conf = conf
    d.log_path = os.path.join(base, "unix.log")
    d._logf = open(d.log_path, "wb")
    d.proc = subprocess.Popen([POLICYD, "-f", "-c", conf], stdin=subprocess.DEVNULL,
                              stdout=d._logf, stderr=subprocess.STDOUT)
    d.wait_ready()
    return d


def test_pass_is_delivered_with_header(wired):
    marker = uuid.uuid4().hex
    t = wired.swaks("127.0.0.2", "mx.pass.test.example", "good@pass.test.example",
                    ["user@test.example"], marker)
    expect(data_accepted(t), "want 250 after DATA", wired, t)
    msgs = wired.wait_messages(marker, 1, t)
    ar, _ = our_headers(msgs[0])
    expect(ar == ["%s; iprev=pass policy.iprev=127.0.0.2 (mx.pass.test.example); "
                  "spf=pass smtp.mailfrom=good@pass.test.example" % AUTHSERV_ID],
           "Authentication-Results: got %r" % ar, wired, t)


def test_fail_is_rejected(wired):
    marker = uuid.uuid4().hex
    t = wired.swaks("127.0.0.3", "mx.fail.test.example", "bad@fail.test.example",
                    ["user@test.example"], marker)
    reply = rcpt_reply(t)
    expect(reply is not None and "550 5.7.23 " in reply,
           "want 550 5.7.23 at RCPT, got %r" % reply, wired, t)
