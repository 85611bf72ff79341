# SPDX-License-Identifier: ISC
"""End-to-end: a real Postfix asks relaytrust-policyd, swaks sends mail.

One throwaway Postfix instance (tests/e2e/postfix_instance.py) under a
temporary directory, smtpd on a free 127.0.0.1 port with
smtpd_peername_lookup = no and

    smtpd_recipient_restrictions = reject_unauth_destination,
        check_policy_service { inet:127.0.0.1:PORT, timeout=30s, try_limit=1,
                               { default_action = 451 4.3.5 ... } }

pointing at bin/relaytrust-policyd (RT_BIN) run with the shipped
conf/policyd.conf (only listen, dns.forward, authserv_id, skip.networks, user = "nobody" and
report_only = false changed: shipped_config()), which resolves through a
TestDNS (tests/integration/dnsserver.py) on loopback.  swaks connects from
different 127.x source addresses:

    127.0.0.2  PTR mx.pass.test.example (A 127.0.0.2), sender
               good@pass.test.example (SPF pass)          -> 250, delivered
               with our Authentication-Results (header = "authentication-results")
    127.0.0.3  PTR mx.fail.test.example (A 127.0.0.3), sender
               bad@fail.test.example ("v=spf1 -all")     -> 550 5.7.23
    127.0.0.4  no PTR (NXDOMAIN), SPF-pass sender          -> 250, delivered
               (ptr.unless_spf_pass), iprev=permerror in the header
    127.0.0.5  no PTR, sender domain without SPF           -> 550 5.7.25
    127.0.0.3  SPF fail to postmaster@ and user@           -> postmaster@
               delivered (skip.recipients), user@ 550 5.7.23
    127.0.0.2  null sender (HELO identity)                 -> 250, smtp.helo
    127.0.0.2  three recipients                            -> three copies,
               each with exactly one Authentication-Results

Skipped only when Postfix is not installed.  Needs root (Postfix's master
starts as root); the session and CI run as root.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import postfix_instance  # noqa: E402
from dnsserver import TestDNS  # noqa: E402

RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
POLICYD = os.path.join(RT_BIN, "relaytrust-policyd")
READY_RE = re.compile(r"relaytrust-policyd ready: listening on")
READY_TIMEOUT = 20
AUTHSERV_ID = "mx.test.example"

ZONE = {
    # SPF pass for 127.0.0.2 (and 127.0.0.4, whose missing PTR the SPF
    # pass disarms: ptr.unless_spf_pass).
    "pass.test.example": [{"TXT": "v=spf1 ip4:127.0.0.2 ip4:127.0.0.4 -all"}],
    "mx.pass.test.example": [{"A": "127.0.0.2"}, {"TXT": "v=spf1 ip4:127.0.0.2 -all"}],
    "2.0.0.127.in-addr.arpa": [{"PTR": "mx.pass.test.example"}],
    # Forward-confirmed PTR and a passing HELO for 127.0.0.3: only the
    # MAIL FROM identity fails.
    "fail.test.example": [{"TXT": "v=spf1 -all"}],
    "mx.fail.test.example": [{"A": "127.0.0.3"}, {"TXT": "v=spf1 ip4:127.0.0.3 -all"}],
    "3.0.0.127.in-addr.arpa": [{"PTR": "mx.fail.test.example"}],
    # 127.0.0.4 and 127.0.0.5: no PTR at all (NXDOMAIN); nospf.test.example
    # publishes no SPF record.
    "mx.noptr.test.example": [{"A": "127.0.0.4"}],
    "nospf.test.example": [{"A": "127.0.0.5"}],
}

def shipped_config(port, dns_port, report_only=False):
    """conf/policyd.conf as shipped, with only what a test host must change:
    listen, dns.forward, authserv_id, the loopback clients checked (they
    are the test's senders), report_only, and user (nobody: the daemon
    refuses root without it)."""
    with open(os.path.join(ROOT, "conf", "policyd.conf")) as f:
        text = f.read()
    edits = [
        (r'(?m)^listen = \{ "inet:127\.0\.0\.1:10045" \}$',
         'listen = { "inet:127.0.0.1:%d" }' % port),
        (r"(?m)^report_only = true$", "report_only = %s" % ("true" if report_only else "false")),
        (r'(?m)^#authserv_id = "mx\.example\.org"$', 'authserv_id = "%s"' % AUTHSERV_ID),
        (r"(?m)^\tforward = \{ \}$", '\tforward = { "127.0.0.1@%d" }' % dns_port),
        # Started as root, the daemon needs an account to drop to (issue 20):
        # the shipped file already says nobody (the package's says relaytrust).
        (r'(?m)^user = "nobody"$', 'user = "nobody"'),
        (r'(?m)^\tnetworks = \{ "127\.0\.0\.0/8", "::1/128" \}$', "\tnetworks = { }"),
    ]
    for pattern, repl in edits:
        text, n = re.subn(pattern, repl, text)
        assert n == 1, "conf/policyd.conf changed: %r matched %d times" % (pattern, n)
    return text


class Policyd:
    """bin/relaytrust-policyd -f -c FILE, stderr into a file."""

    def __init__(self, base, dns_port):
        self.port = postfix_instance.free_port()
        self.conf = os.path.join(base, "policyd.conf")
        self.log_path = os.path.join(base, "policyd.log")
        with open(self.conf, "w") as f:
            f.write(shipped_config(self.port, dns_port))
        self._logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen([POLICYD, "-f", "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while not READY_RE.search(self.log()):
            if self.proc.poll() is not None:
                raise AssertionError("relaytrust-policyd exited with status %s before it "
                                     "was ready; stderr:\n%s"
                                     % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise AssertionError("relaytrust-policyd not ready within %ss; stderr:\n%s"
                                     % (READY_TIMEOUT, self.log()))
            time.sleep(0.02)

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._logf.close()
        return rc


class Stack:
    def __init__(self, base, dns, policyd, postfix):
        self.base = base
        self.dns = dns
        self.policyd = policyd
        self.postfix = postfix

    def logs(self):
        """Both logs, for assertion messages."""
        return ("--- postfix maillog ---\n%s\n--- relaytrust-policyd stderr ---\n%s"
                % (self.postfix.maillog(), self.policyd.log()))

    def wait_messages(self, marker, n, transcript):
        """The n delivered messages containing marker (str)."""
        try:
            return self.postfix.wait_messages(marker.encode(), n)
        except postfix_instance.PostfixError as e:
            raise AssertionError("%s\n--- swaks ---\n%s\n--- relaytrust-policyd stderr "
                                 "---\n%s" % (e, transcript, self.policyd.log()))

    def swaks(self, client_ip, helo, sender, rcpts, marker):
        """Send one message from client_ip; returns the swaks transcript."""
        swaks = shutil.which("swaks")
        assert swaks, "swaks is not installed (apt-get install swaks)"
        cmd = [swaks, "--server", "127.0.0.1", "--port", str(self.postfix.port),
               "--local-interface", client_ip, "--ehlo", helo,
               "--from", sender, "--to", ",".join(rcpts),
               "--header", "X-RT-E2E: %s" % marker, "--timeout", "30"]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=90)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("swaks did not finish within 90 s\n--- swaks ---\n%s\n%s"
                                 % (e.stdout, self.logs()))
        return p.stdout


@pytest.fixture(scope="module")
def stack():
    why = postfix_instance.installed()
    if why:
        pytest.skip(why)
    assert os.geteuid() == 0, "the Postfix end-to-end test must run as root"
    assert os.access(POLICYD, os.X_OK), "%s is not built (make)" % POLICYD
    # Not pytest's tmp_path: its parents are mode 0700, and virtual(8)
    # delivers as the postfix user, which must reach the Maildir.
    base = tempfile.mkdtemp(prefix="relaytrust-e2e-")
    os.chmod(base, 0o755)
    dns = TestDNS(host="127.0.0.1", port=0, zone=ZONE)
    policyd = postfix = None
    errors = []
    try:
        policyd = Policyd(base, dns.port)
        policyd.wait_ready()
        postfix = postfix_instance.PostfixInstance(os.path.join(base, "postfix"),
                                                   "inet:127.0.0.1:%d" % policyd.port)
        os.makedirs(postfix.base)
        try:
            postfix.start()
        except postfix_instance.PostfixError as e:
            raise AssertionError("%s\n--- relaytrust-policyd stderr ---\n%s"
                                 % (e, policyd.log()))
        yield Stack(base, dns, policyd, postfix)
    finally:
        if postfix is not None:
            postfix.stop()
        if policyd is not None:
            rc = policyd.stop()
            if rc != 0:
                errors.append("relaytrust-policyd exit status %s after SIGTERM, want 0; "
                              "stderr:\n%s" % (rc, policyd.log()))
        dns.stop()
        shutil.rmtree(base, ignore_errors=True)
    if errors:
        pytest.fail("\n".join(errors))


def unfolded_headers(msg):
    """[(name, value)] of a message's header, unfolded, whitespace runs
    collapsed to one space."""
    head = msg.split(b"\n\n", 1)[0].decode("utf-8", "replace").replace("\r", "")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            out.append((name, value.strip()))
    return [(n, re.sub(r"\s+", " ", v)) for n, v in out]


def our_headers(msg):
    hs = unfolded_headers(msg)
    ar = [v for n, v in hs if n.lower() == "authentication-results"]
    rspf = [v for n, v in hs if n.lower() == "received-spf"]
    return ar, rspf


def data_accepted(transcript):
    """True when the server answered 250 to the end of DATA."""
    return re.search(r"(?m)^ -> \.\r?\n<-\s+250 ", transcript) is not None


def rcpt_reply(transcript):
    """The server's reply to the first RCPT TO."""
    m = re.search(r"(?m)^ -> RCPT TO:.*\n(<..?\s+.*)$", transcript)
    return m.group(1) if m else None


def expect(cond, what, stack, transcript):
    assert cond, "%s\n--- swaks ---\n%s\n%s" % (what, transcript, stack.logs())


def test_spf_pass_is_delivered_with_our_headers(stack):
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.2", "mx.pass.test.example", "good@pass.test.example",
                    ["user@test.example"], marker)
    expect(data_accepted(t), "want 250 after DATA", stack, t)
    msgs = stack.wait_messages(marker, 1, t)
    expect(len(msgs) == 1, "want 1 delivered message, got %d" % len(msgs), stack, t)
    ar, rspf = our_headers(msgs[0])
    expect(ar == ["%s; iprev=pass policy.iprev=127.0.0.2 (mx.pass.test.example); "
                  "spf=pass smtp.mailfrom=good@pass.test.example" % AUTHSERV_ID],
           "Authentication-Results: got %r" % ar, stack, t)
    expect(rspf == [], "header = authentication-results, yet Received-SPF: %r" % rspf,
           stack, t)
    # The verdict came from our DNS, not from a shortcut for loopback
    # clients (libspf2 passes 127.0.0.0/8 without a lookup).
    expect(("pass.test.example", "TXT") in [q[:2] for q in stack.dns.queries],
           "the SPF record of pass.test.example was never queried: %r"
           % stack.dns.queries, stack, t)


def test_spf_fail_is_rejected_at_rcpt(stack):
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.3", "mx.fail.test.example", "bad@fail.test.example",
                    ["user@test.example"], marker)
    reply = rcpt_reply(t)
    expect(reply is not None and re.match(r"<\*\*\s+550 5\.7\.23 ", reply),
           "want 550 5.7.23 at RCPT, got %r" % reply, stack, t)
    expect(not data_accepted(t), "DATA must not be accepted", stack, t)
    expect(stack.postfix.messages(marker.encode()) == [], "message was delivered",
           stack, t)


def test_client_without_ptr_but_spf_pass_is_delivered(stack):
    """ptr.unless_spf_pass: the sender is authenticated by SPF; the header
    still says the reverse DNS is missing."""
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.4", "mx.noptr.test.example", "good@pass.test.example",
                    ["user@test.example"], marker)
    expect(data_accepted(t), "want 250 after DATA", stack, t)
    msgs = stack.wait_messages(marker, 1, t)
    ar, _ = our_headers(msgs[0])
    expect(ar == ["%s; iprev=permerror policy.iprev=127.0.0.4; "
                  "spf=pass smtp.mailfrom=good@pass.test.example" % AUTHSERV_ID],
           "Authentication-Results: got %r" % ar, stack, t)


def test_client_without_ptr_or_spf_is_rejected(stack):
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.5", "mx.nospf.test.example", "someone@nospf.test.example",
                    ["user@test.example"], marker)
    reply = rcpt_reply(t)
    expect(reply is not None and re.match(r"<\*\*\s+550 5\.7\.25 ", reply),
           "want 550 5.7.25 at RCPT, got %r" % reply, stack, t)
    expect(not data_accepted(t), "DATA must not be accepted", stack, t)


def test_spf_fail_to_postmaster_is_delivered(stack):
    """skip.recipients: postmaster@ is never refused (RFC 5321 4.5.1), the
    other recipient of the same message is."""
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.3", "mx.fail.test.example", "bad@fail.test.example",
                    ["postmaster@test.example", "user@test.example"], marker)
    expect(re.search(r"(?m)^ -> RCPT TO:<user@test\.example>\r?\n<\*\*\s+550 5\.7\.23 ", t),
           "want 550 5.7.23 for user@test.example", stack, t)
    expect(data_accepted(t), "want 250 after DATA for postmaster@", stack, t)
    msgs = stack.wait_messages(marker, 1, t)
    ar, _ = our_headers(msgs[0])
    expect(len(ar) == 1 and "spf=fail smtp.mailfrom=bad@fail.test.example" in ar[0],
           "Authentication-Results: got %r" % ar, stack, t)
    want = re.compile(r"to=<postmaster@test\.example> .*spf_mailfrom=fail action=prepend "
                      r"code=5\.7\.23 would=reject skip=recipient")
    deadline = time.monotonic() + 10    # -f buffers log lines for 10 ms
    while not want.search(stack.policyd.log()) and time.monotonic() < deadline:
        time.sleep(0.05)
    expect(want.search(stack.policyd.log()), "no skip=recipient decision line", stack, t)


def test_null_sender_uses_helo_identity(stack):
    marker = uuid.uuid4().hex
    t = stack.swaks("127.0.0.2", "mx.pass.test.example", "<>",
                    ["user@test.example"], marker)
    expect(re.search(r"(?m)^ -> MAIL FROM:<>", t), "swaks did not send MAIL FROM:<>",
           stack, t)
    expect(data_accepted(t), "want 250 after DATA", stack, t)
    msgs = stack.wait_messages(marker, 1, t)
    ar, rspf = our_headers(msgs[0])
    expect(len(ar) == 1 and re.fullmatch(
        r"%s; iprev=pass policy\.iprev=127\.0\.0\.2 \(mx\.pass\.test\.example\); "
        r"spf=pass smtp\.helo=mx\.pass\.test\.example" % re.escape(AUTHSERV_ID), ar[0]),
        "Authentication-Results: got %r" % ar, stack, t)
    expect(len(ar) == 1 and "smtp.mailfrom" not in ar[0],
           "a HELO result must not read as a MAIL FROM result: %r" % ar, stack, t)
    expect(("mx.pass.test.example", "TXT") in [q[:2] for q in stack.dns.queries],
           "the SPF record of mx.pass.test.example was never queried: %r"
           % stack.dns.queries, stack, t)


def test_three_recipients_one_header_each(stack):
    marker = uuid.uuid4().hex
    rcpts = ["a@test.example", "b@test.example", "c@test.example"]
    t = stack.swaks("127.0.0.2", "mx.pass.test.example", "good@pass.test.example",
                    rcpts, marker)
    expect(len(re.findall(r"(?m)^ -> RCPT TO:.*\n<-\s+250 ", t)) == 3,
           "want 250 for each of the 3 RCPT TO", stack, t)
    expect(data_accepted(t), "want 250 after DATA", stack, t)
    msgs = stack.wait_messages(marker, 3, t)
    expect(len(msgs) == 3, "want 3 deliveries, got %d" % len(msgs), stack, t)
    for i, m in enumerate(msgs):
        ar, rspf = our_headers(m)
        expect(len(ar) == 1 and "spf=pass smtp.mailfrom=good@pass.test.example" in ar[0],
               "copy %d: Authentication-Results %r, want exactly one pass" % (i, ar),
               stack, t)
        expect(rspf == [], "copy %d: Received-SPF %r, want none" % (i, rspf), stack, t)
