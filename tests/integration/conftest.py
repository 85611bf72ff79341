# SPDX-License-Identifier: ISC
"""Fixtures shared by every integration test of relaytrust.

dns        a started TestDNS (tests/integration/dnsserver.py) on 127.0.0.1,
           stopped after the test.
policyd    a factory: policyd(overrides=None, dns=None, raw=None, args=(),
           wait_ready=True) starts bin/relaytrust-policyd -f -c TMPFILE on a
           free 127.0.0.1 port and returns a Policyd (see below).  Every daemon
           the factory started is stopped (SIGTERM, exit 0 asserted) after the
           test.

Configuration: the base config (see BASE_CONFIG) listens on a free loopback
port, forwards DNS to the test's TestDNS, request_timeout 5, workers 2,
authserv_id "mx.test.example" and an empty skip.networks, so 127.x clients
ARE checked.  `overrides` is either
  - a dict merged into the base: {"report_only": True,
    "spf": {"on_fail": "defer"}, "skip": {"networks": ["127.0.0.0/8"]}}
    (str -> quoted, bool -> true/false, int, list -> { "a", "b" },
    dict -> section merged key by key); a value None removes the key;
    "{port}" and "{dns_port}" in any value become the chosen ports; or
  - a string of config text appended to the base; every top-level key or
    section the text sets is dropped from the base first (so
    'dns { dnssec = true }' replaces the whole dns section: write the
    forwarder yourself, it is available as {dns_port} in the text).
`raw` is a complete config text used as is ({port} and {dns_port} are
substituted); the daemon then listens where raw says, and .port is the
port the factory chose (use it in raw as {port}).

Policyd: .port .pid .config_path .proc
  .request(**attrs) -> the action= value (a persistent connection is
      opened on first use and reused; attrs merged into policy_request()'s
      defaults, a value None drops that attribute)
  .connect() -> a new connected socket (timeout 10 s)
  .log() -> everything the daemon wrote to stderr so far
  .wait_log(regex, timeout=10, start=0) -> re.Match (polls the log)
  .reload(overrides_or_text) -> writes the new config, sends SIGHUP and
      waits for the daemon's "reloaded" or "keeping the old configuration"
      log line; returns that line
  .stop(sig=SIGTERM) -> exit status; asserts 0 and no sanitizer report

Helpers: policy_request(**attrs), encode_request(attrs), read_reply(sock),
send_request(sock, **attrs) -> action, make_config(overrides, port, dns_port),
run_policyd(args, input=None) -> CompletedProcess, free_port().

Root: the daemon refuses to start as root without `user` (issue 20), and
these tests usually run as root.  So, when the tests run as root, every
config the factory writes (base, overrides and raw alike) gets
user = "nobody" unless it sets user itself, and the factory makes the
test's tmp_path reachable (o+x, no listing) by that user, so a SIGHUP
re-reads the file after the drop.  run_policyd() runs -t and --stdio as
"nobody" too (as the systemd unit's User= and spawn(8)'s user= do), unless
as_root=True.  The one test of
the refusal itself (test_hardening.py) asks for root explicitly.

Set RT_VALGRIND=1 to run every daemon under valgrind --leak-check=full
--error-exitcode=9 (slow; the ready wait is longer then).
"""
import itertools
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
RT_BUILD = os.environ.get("RT_BUILD", os.path.join(ROOT, "build"))
POLICYD = os.path.join(RT_BIN, "relaytrust-policyd")
VALGRIND = os.environ.get("RT_VALGRIND", "") not in ("", "0")
READY_TIMEOUT = 60 if VALGRIND else 15
READY_RE = re.compile(r"relaytrust-policyd ready: listening on")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:"
                          r"|==\d+== (Invalid|Conditional|Syscall param|Mismatched)")

_instance_seq = itertools.count(1)

# The account the daemon drops to when the tests run as root (see above).
UNPRIV_USER = "nobody" if os.geteuid() == 0 else None
_USER_RE = re.compile(r"(?m)^\s*user\s*=")


def with_user(text):
    """Config text with user = UNPRIV_USER added when running as root and
    the text does not set user itself."""
    if UNPRIV_USER is None or _USER_RE.search(text):
        return text
    return text + '\nuser = "%s"\n' % UNPRIV_USER


def readable(path):
    """Let UNPRIV_USER read the file path (o+r) and reach it."""
    if UNPRIV_USER is None:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if st.st_uid == 0 and not st.st_mode & 0o004:
        os.chmod(path, (st.st_mode & 0o7777) | 0o004)
    reachable(os.path.dirname(os.path.abspath(str(path))))


def reachable(path):
    """Let UNPRIV_USER reach files under path: o+x on path and on each of
    its parents that lacks it, up to /tmp (pytest makes them 0700)."""
    if UNPRIV_USER is None:
        return
    path = os.path.abspath(str(path))
    while path not in ("/", "/tmp", ""):
        try:
            st = os.stat(path)
        except OSError:
            return
        if st.st_uid == 0 and not st.st_mode & 0o001:
            os.chmod(path, (st.st_mode & 0o7777) | 0o001)
        path = os.path.dirname(path)


def upstream_data(name):
    """The directory of a third-party test table (tests/data/UPSTREAM says
    which and why they are not in the tree): $RT_UPSTREAM_DATA/name, the
    team's ../shared/testdata/name, or the untracked tests/data/upstream/name;
    skips the calling test when none exists."""
    dirs = [os.path.join(d, name) for d in (
        os.environ.get("RT_UPSTREAM_DATA", ""),
        os.path.join(os.path.dirname(ROOT), "shared", "testdata"),
        os.path.join(ROOT, "tests", "data", "upstream")) if d]
    for d in dirs:
        if os.path.isdir(d):
            return d
    pytest.skip("third-party table %s is not on this machine (looked in %s; see "
                "tests/data/UPSTREAM)" % (name, ", ".join(dirs)))


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port that was free a moment ago on host."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def policy_request(**attrs):
    """A complete RCPT-state request; attrs override, None drops one.
    Each call gets a fresh `instance` unless one is given, so two calls are
    two messages (the daemon answers later recipients of one instance with
    DUNNO)."""
    n = next(_instance_seq)
    req = {
        "request": "smtpd_access_policy",
        "protocol_state": "RCPT",
        "protocol_name": "ESMTP",
        "client_address": "192.0.2.1",
        "client_name": "mail.example.net",
        "reverse_client_name": "mail.example.net",
        "client_port": "40000",
        "helo_name": "mail.example.net",
        "sender": "user@example.com",
        "recipient": "rcpt@example.org",
        "recipient_count": "0",
        "queue_id": "",
        "instance": "%x.%x.%x.%x" % (os.getpid(), int(time.time()), n, n),
        "size": "0",
        "sasl_method": "",
        "sasl_username": "",
        "sasl_sender": "",
        "encryption_protocol": "",
        "server_address": "127.0.0.1",
        "server_port": "25",
        "stress": "",
        "policy_context": "",
    }
    for k, v in attrs.items():
        if v is None:
            req.pop(k, None)
        else:
            req[k] = v
    return req


def encode_request(attrs):
    """bytes of one request: name=value lines and the empty line."""
    out = b""
    for k, v in attrs.items():
        if isinstance(v, str):
            v = v.encode()
        out += k.encode() + b"=" + v + b"\n"
    return out + b"\n"


class ReplyReader:
    """Reads action=... replies (an empty line ends each) from a socket,
    keeping bytes of later pipelined replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self):
        while b"\n\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("daemon closed the connection; got %r" % self.buf)
            self.buf += data
        reply, self.buf = self.buf.split(b"\n\n", 1)
        lines = reply.decode("utf-8", "replace").split("\n")
        actions = [ln[len("action="):] for ln in lines if ln.startswith("action=")]
        assert len(lines) == 1 and len(actions) == 1, "bad reply %r" % reply
        return actions[0]

    def pending(self):
        """The bytes that have arrived and were not read yet (no waiting)."""
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.buf


def read_reply(sock):
    """One reply from a fresh socket (no pipelining across calls)."""
    return ReplyReader(sock).read()


def send_request(sock, **attrs):
    sock.sendall(encode_request(policy_request(**attrs)))
    return read_reply(sock)


def _render_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(_render_value(x) for x in v) + " }"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % s


def _render(cfg, indent=""):
    out = []
    for k, v in cfg.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out.append("%s%s {" % (indent, k))
            out.append(_render(v, indent + "\t"))
            out.append("%s}" % indent)
        else:
            out.append("%s%s = %s" % (indent, k, _render_value(v)))
    return "\n".join(out)


def base_config(port, dns_port):
    return {
        "listen": ["inet:127.0.0.1:%d" % port],
        "workers": 2,
        "request_timeout": 5,
        "idle_timeout": 300,
        "authserv_id": "mx.test.example",
        "dns": {"forward": ["127.0.0.1@%d" % dns_port], "query_timeout": 2},
        "skip": {"networks": []},
        "user": UNPRIV_USER,
    }


def make_config(overrides, port, dns_port):
    """Config text: the base config with overrides (dict or text) applied."""
    cfg = base_config(port, dns_port)
    extra = ""
    if isinstance(overrides, dict):
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                merged = dict(cfg[k])
                merged.update(v)
                cfg[k] = merged
            else:
                cfg[k] = v
    elif overrides:
        extra = overrides.replace("{port}", str(port)).replace("{dns_port}", str(dns_port))
        for k in list(cfg):
            if re.search(r"(?m)^\s*%s\s*(=|\+=|\{)" % re.escape(k), extra):
                del cfg[k]
    text = "# written by tests/integration/conftest.py\n" + _render(cfg) + "\n" + extra + "\n"
    return text.replace("{port}", str(port)).replace("{dns_port}", str(dns_port))


def run_policyd(args, input=None, timeout=30, as_root=False, **kw):
    """Run the daemon binary to completion (-t, -V, --stdio).  As root, -t
    and --stdio run as UNPRIV_USER (what systemd's User= and spawn(8)'s
    user= do; the directory of the file named by -c is made reachable)
    unless as_root."""
    args = list(args)
    if UNPRIV_USER is not None and not as_root and "user" not in kw and \
            ("-t" in args or "--stdio" in args):
        if "-c" in args and args.index("-c") + 1 < len(args):
            readable(args[args.index("-c") + 1])
        kw["user"] = UNPRIV_USER
        kw["group"] = pwd.getpwnam(UNPRIV_USER).pw_gid
        kw["extra_groups"] = []
    return subprocess.run([POLICYD] + args, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, **kw)


class Policyd:
    def __init__(self, tmpdir, name, config_text, port, args=()):
        self.tmpdir = str(tmpdir)
        self.port = port
        self.config_path = os.path.join(self.tmpdir, name + ".conf")
        self.log_path = os.path.join(self.tmpdir, name + ".log")
        self.dns_port = None
        self._conn = None
        self._reader = None
        self.stopped = False
        with open(self.config_path, "w") as f:
            f.write(config_text)
        cmd = [POLICYD, "-f", "-c", self.config_path] + list(args)
        if VALGRIND:
            cmd = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=9",
                   "--trace-children=no", "--child-silent-after-fork=yes"] + cmd
        self._logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=10, start=0):
        """Wait until regex `pattern` appears in the log after offset `start`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * (4 if VALGRIND else 1)
        while True:
            text = self.log()
            m = rx.search(text, start)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("no log line matching %r within %ss; log:\n%s"
                                     % (pattern, timeout, text))
            if self.proc.poll() is not None:
                text = self.log()
                m = rx.search(text, start)
                if m:
                    return m
                raise AssertionError("daemon exited (status %s) before logging %r; log:\n%s"
                                     % (self.proc.returncode, pattern, text))
            time.sleep(0.02)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while not READY_RE.search(self.log()):
            if self.proc.poll() is not None:
                raise AssertionError("relaytrust-policyd exited with status %s before it was "
                                     "ready; stderr:\n%s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                raise AssertionError("relaytrust-policyd not ready within %ss; stderr:\n%s"
                                     % (READY_TIMEOUT, self.log()))
            time.sleep(0.02)

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def request(self, **attrs):
        """Send one request on the persistent connection; return the action."""
        data = encode_request(policy_request(**attrs))
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = self.connect()
                self._reader = ReplyReader(self._conn)
            try:
                self._conn.sendall(data)
                return self._reader.read()
            except (ConnectionError, BrokenPipeError, ConnectionResetError):
                self._close_conn()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _close_conn(self):
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._reader = None

    def reload(self, overrides):
        """Rewrite the config (same rules as the factory), SIGHUP, wait for
        the daemon to say it reloaded or kept the old configuration."""
        if isinstance(overrides, str) and overrides.lstrip().startswith("#raw\n"):
            text = overrides
        else:
            text = make_config(overrides, self.port, self.dns_port or 9)
        start = len(self.log())
        with open(self.config_path + ".new", "w") as f:
            f.write(text)
        os.replace(self.config_path + ".new", self.config_path)
        os.kill(self.pid, signal.SIGHUP)
        m = self.wait_log(r"[^\n]*(configuration reloaded|keeping the old configuration)[^\n]*",
                          start=start)
        return m.group(0)

    def stop(self, sig=signal.SIGTERM, expect=0):
        """Signal the daemon, wait, check its exit status and its log."""
        self._close_conn()
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=60 if VALGRIND else 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("relaytrust-policyd did not exit after signal %d; log:\n%s"
                                 % (sig, self.log()))
        finally:
            self._logf.close()
        text = self.log()
        assert not SANITIZER_RE.search(text), "sanitizer/valgrind report:\n" + text
        if expect is not None:
            assert rc == expect, "exit status %d, want %d; log:\n%s" % (rc, expect, text)
        return rc


@pytest.fixture
def dns():
    from dnsserver import TestDNS
    server = TestDNS(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def policyd(request, tmp_path):
    started = []

    def factory(overrides=None, dns=None, raw=None, args=(), wait_ready=True):
        if dns is None:
            dns = request.getfixturevalue("dns")
        dns_port = dns.port if hasattr(dns, "port") else int(dns)
        port = free_port()
        if raw is not None:
            text = with_user(raw.replace("{port}", str(port))
                             .replace("{dns_port}", str(dns_port)))
        else:
            text = with_user(make_config(overrides, port, dns_port))
        reachable(tmp_path)
        d = Policyd(tmp_path, "policyd%d" % len(started), text, port, args)
        d.dns_port = dns_port
        started.append(d)
        if wait_ready:
            d.wait_ready()
        return d

    yield factory
    errors = []
    for d in started:
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))
