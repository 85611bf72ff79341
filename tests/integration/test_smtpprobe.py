# SPDX-License-Identifier: ISC
"""verifier/smtpprobe.c through the smtpprobe_cli tool ($RT_BUILD/tests/
smtpprobe_cli, or $RT_SMTPPROBE_CLI: e.g. a build with sanitizers) against
fake SMTP servers on loopback: Python threads, the ssl module, and
certificates from a throwaway CA made here with cryptography (make_pki(),
which tests/e2e/test_starttls_postfix.py uses too).

The trust store is OpenSSL's default, pointed at the test CA with
SSL_CERT_FILE (and left without it for the untrusted case).  Timeouts are
bounds, never measured: a probe that hangs shows up as the subprocess
timeout, nothing asserts how fast it came back.
"""
import datetime
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import RT_BUILD, SANITIZER_RE

CLI = os.environ.get("RT_SMTPPROBE_CLI") or os.path.join(RT_BUILD, "tests", "smtpprobe_cli")
MX = "mx.probe.test.example"
WRONG = "other.test.example"
HELO = "probe.test.example"
RUN_TIMEOUT = 60                # the subprocess bound: a hang fails here

pytestmark = pytest.mark.skipif(not os.access(CLI, os.X_OK),
                                reason="smtpprobe_cli not built (%s)" % CLI)


# ------------------------------------------------------------ certificates
def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject_cn, key, issuer_cn, issuer_key, days=(-1, 30), sans=(), ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject_cn))
         .issuer_name(_name(issuer_cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now + datetime.timedelta(days=days[0]))
         .not_valid_after(now + datetime.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
    else:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in sans]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage(
            [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_pki(directory, names):
    """A throwaway CA and leaves under directory.  names: {"good": host,
    "expired": host, "wrong": host, "selfsigned": host}: the host each leaf
    is for (the wrong-name leaf is for WRONG whatever its host).  Returns
    {"ca": CA_FILE, LEAF: {"cert", "key", "chain" (key, leaf, CA: one
    file for Postfix's smtpd_tls_chain_files), "host", "not_after"}}."""
    os.makedirs(directory, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("relaytrust test CA", ca_key, "relaytrust test CA", ca_key,
               days=(-1, 365), ca=True)
    out = {"ca": os.path.join(directory, "ca.pem")}
    with open(out["ca"], "wb") as f:
        f.write(_pem(ca))
    for leaf, host in names.items():
        key = ec.generate_private_key(ec.SECP256R1())
        if leaf == "selfsigned":
            cert = _cert(host, key, host, key, sans=[host])
        elif leaf == "expired":
            cert = _cert(host, key, "relaytrust test CA", ca_key, days=(-60, -30), sans=[host])
        elif leaf == "wrong":
            cert = _cert(WRONG, key, "relaytrust test CA", ca_key, sans=[WRONG])
        else:
            cert = _cert(host, key, "relaytrust test CA", ca_key, sans=[host])
        paths = {"cert": os.path.join(directory, leaf + ".crt"),
                 "key": os.path.join(directory, leaf + ".key"),
                 "chain": os.path.join(directory, leaf + ".chain.pem"),
                 "host": host, "not_after": int(cert.not_valid_after.replace(
                     tzinfo=datetime.timezone.utc).timestamp())}
        with open(paths["cert"], "wb") as f:
            f.write(_pem(cert))
        with open(paths["key"], "wb") as f:
            f.write(_pem(key))
        with open(paths["chain"], "wb") as f:
            f.write(_pem(key) + _pem(cert) + (b"" if leaf == "selfsigned" else _pem(ca)))
        os.chmod(paths["key"], 0o600)
        os.chmod(paths["chain"], 0o600)
        out[leaf] = paths
    return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")),
                    {"good": MX, "expired": MX, "wrong": MX, "selfsigned": MX})


# ------------------------------------------------------------ fake servers
class Session:
    """One accepted connection: line reads with a bound, sends, TLS."""

    def __init__(self, srv, conn):
        self.srv, self.conn, self.buf = srv, conn, b""
        conn.settimeout(20)

    def send(self, data):
        self.conn.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 4096:
                raise OSError("line too long")
            got = self.conn.recv(4096)
            if not got:
                raise EOFError("client closed")
            self.buf += got
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("ascii", "replace")
        self.srv.lines.append(line)
        return line

    def starttls(self):
        assert self.buf == b"", "client pipelined past STARTTLS: %r" % self.buf
        self.conn = self.srv.tls.wrap_socket(self.conn, server_side=True)
        self.srv.tls_done = True


class FakeSMTP:
    """A listener on loopback; every connection runs handler(session) in a
    thread.  .lines: every line the clients sent; .sni: the server names
    the clients asked for; .done: set when a handler has returned."""

    def __init__(self, handler, cert=None, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.handler = handler
        self.lines, self.sni, self.errors = [], [], []
        self.tls_done = False
        self.done = threading.Event()
        self.stopping = False
        self.tls = None
        if cert is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert["cert"], cert["key"])
            self.tls.sni_callback = lambda s, name, ctx: self.sni.append(name)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        s = Session(self, conn)
        try:
            self.handler(s)
        except (OSError, EOFError, ssl.SSLError) as e:
            self.errors.append(e)
        finally:
            try:
                s.conn.close()
            except OSError:
                pass
            self.done.set()

    def target(self, mx=MX):
        return (mx, self.host, self.port)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def servers():
    made = []

    def make(handler, cert=None, host="127.0.0.1"):
        srv = FakeSMTP(handler, cert, host)
        made.append(srv)
        return srv
    yield make
    for srv in made:
        srv.close()


EHLO_TLS = b"250-mx.probe.test.example hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
           b"250-STARTTLS\r\n250 8BITMIME\r\n"
EHLO_PLAIN = b"250-mx.probe.test.example hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n"


def smtp(banner=b"220 mx.probe.test.example ESMTP fake\r\n", ehlo=EHLO_TLS,
         starttls=b"220 2.0.0 ready\r\n", after_starttls=None):
    """A well-behaved dialogue with the given replies.  after_starttls(s):
    replaces the TLS handshake after the STARTTLS reply."""
    def handler(s):
        s.send(banner)
        while True:
            cmd = s.readline().upper()
            if cmd.startswith("EHLO "):
                s.send(ehlo)
            elif cmd.startswith("HELO "):
                s.send(b"250 mx.probe.test.example\r\n")
            elif cmd == "STARTTLS":
                s.send(starttls)
                if not starttls.startswith(b"220"):
                    continue
                if after_starttls:
                    after_starttls(s)
                    return
                s.starttls()
            elif cmd == "QUIT":
                s.send(b"221 2.0.0 bye\r\n")
                return
            else:
                s.send(b"500 5.5.2 what\r\n")
    return handler


def probe(*targets, timeout_ms=5000, ca=None, helo=HELO):
    """Run the tool; one result dict per target, in order."""
    args = [CLI, "--timeout", str(timeout_ms), "--helo", helo]
    for mx, addr, port in targets:
        args += [mx, addr, str(port)]
    env = dict(os.environ)
    env.pop("SSL_CERT_FILE", None)
    env.pop("SSL_CERT_DIR", None)
    if ca:
        env["SSL_CERT_FILE"] = ca
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(out) == len(targets), p.stdout
    for (mx, addr, port), r in zip(targets, out):
        assert (r["mx"], r["addr"], r["port"]) == (mx, addr, port), r
    return out


def only(srv, timeout=10):
    """Wait for the server's handler to finish (it records what it saw)."""
    assert srv.done.wait(timeout), "the server's session did not end"


# ------------------------------------------------------------ the TLS cases
def test_good_starttls(servers, pki):
    srv = servers(smtp(), cert=pki["good"])
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["error"] == "", r
    assert r["connected"] and r["ehlo_ok"] and r["starttls_offered"] and r["tls_ok"], r
    assert r["banner"] == "220 mx.probe.test.example ESMTP fake"
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3"), r
    assert r["tls_cipher"], r
    assert r["chain_ok"] and r["chain_error"] == "", r
    assert r["name_ok"] and not r["expired"], r
    assert r["not_after"] == pki["good"]["not_after"], r
    assert r["subject_cn"] == MX and r["names"] == MX, r
    only(srv)
    # SNI was the MX name; EHLO said our name; QUIT came inside TLS.
    assert srv.sni == [MX], srv.sni
    assert srv.lines[0] == "EHLO " + HELO and srv.lines[1] == "STARTTLS", srv.lines
    assert srv.lines[2:] == ["QUIT"], srv.lines
    assert "MAIL" not in " ".join(srv.lines)


def test_untrusted_without_the_ca(servers, pki):
    """No SSL_CERT_FILE: the system store does not know the test CA."""
    srv = servers(smtp(), cert=pki["good"])
    r, = probe(srv.target(), ca=None)
    assert r["tls_ok"] and r["error"] == "", r
    assert not r["chain_ok"], r
    assert "issuer" in r["chain_error"], r      # unable to get local issuer certificate
    assert r["name_ok"] and not r["expired"], r


def test_expired(servers, pki):
    srv = servers(smtp(), cert=pki["expired"])
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["tls_ok"] and r["error"] == "", r
    assert r["expired"] and r["not_after"] < time.time(), r
    assert r["not_after"] == pki["expired"]["not_after"], r
    assert not r["chain_ok"] and "expired" in r["chain_error"], r
    assert r["name_ok"], r


def test_wrong_name(servers, pki):
    srv = servers(smtp(), cert=pki["wrong"])
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["tls_ok"] and r["chain_ok"] and not r["expired"], r
    assert not r["name_ok"], r
    assert r["subject_cn"] == WRONG and r["names"] == WRONG, r


def test_self_signed(servers, pki):
    srv = servers(smtp(), cert=pki["selfsigned"])
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["tls_ok"] and r["name_ok"], r
    assert not r["chain_ok"] and re.search(r"self.signed", r["chain_error"]), r


def test_old_tls_is_reported_not_refused(servers, pki):
    """A TLS 1.0-only server: the probe negotiates and says so (the caller
    judges the version)."""
    srv = servers(smtp(), cert=pki["good"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            srv.tls.minimum_version = srv.tls.maximum_version = ssl.TLSVersion.TLSv1
        srv.tls.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as e:
        pytest.skip("this OpenSSL cannot serve TLS 1.0: %s" % e)
    r, = probe(srv.target(), ca=pki["ca"])
    if not r["tls_ok"] and srv.errors:
        pytest.skip("this OpenSSL cannot serve TLS 1.0: %s" % srv.errors[0])
    assert r["tls_ok"] and r["tls_version"] == "TLSv1", r
    assert r["chain_ok"] and r["name_ok"], r


def test_mx_name_trailing_dot(servers, pki):
    """An MX name as DNS gives it ("host.") is the same name for SNI and
    the check."""
    srv = servers(smtp(), cert=pki["good"])
    r, = probe(srv.target(MX + "."), ca=pki["ca"])
    assert r["tls_ok"] and r["name_ok"] and r["chain_ok"], r
    only(srv)
    assert srv.sni == [MX], srv.sni


def test_address_literal_mx(servers, pki):
    """An address as the "MX name": no SNI (RFC 6066 3 forbids it), the
    name check looks for an IP subjectAltName (the test leaf has none)."""
    srv = servers(smtp(), cert=pki["good"])
    r, = probe(srv.target("127.0.0.1"), ca=pki["ca"])
    assert r["tls_ok"] and r["chain_ok"] and not r["name_ok"], r
    only(srv)
    assert srv.sni == [None], srv.sni


def test_ipv6(servers, pki):
    try:
        srv = servers(smtp(), cert=pki["good"], host="::1")
    except OSError as e:
        pytest.skip("no IPv6 loopback: %s" % e)
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["tls_ok"] and r["chain_ok"] and r["name_ok"], r


# ------------------------------------------------------------ no TLS
def test_no_starttls_offered(servers):
    srv = servers(smtp(ehlo=EHLO_PLAIN))
    r, = probe(srv.target())
    assert r["connected"] and r["ehlo_ok"], r
    assert not r["starttls_offered"] and not r["tls_ok"], r
    assert r["error"] == "", r      # a finding for the caller, not a failure to probe
    only(srv)
    assert srv.lines == ["EHLO " + HELO, "QUIT"], srv.lines


@pytest.mark.parametrize("ehlo,offered", [
    (b"250-mx\r\n250-starttls\r\n250 SIZE\r\n", True),        # case-insensitive
    (b"250-mx\r\n250 StartTLS\r\n", True),                     # on the last line
    (b"250-mx\r\n250-STARTTLSX\r\n250 SIZE\r\n", False),      # a whole keyword
    (b"250-mx\r\n250-X-STARTTLS\r\n250 SIZE\r\n", False),
    (b"250 mx STARTTLS\r\n", False),                           # the greeting is no keyword
    (b"250-mx\n250-STARTTLS\n250 SIZE\n", True),               # bare LF
], ids=["lowercase", "last-line", "longer-word", "prefixed", "greeting", "bare-lf"])
def test_starttls_keyword(servers, ehlo, offered):
    srv = servers(smtp(ehlo=ehlo, starttls=b"454 4.7.0 not now\r\n"))
    r, = probe(srv.target())
    assert r["ehlo_ok"] and r["starttls_offered"] == offered, r
    if offered:
        assert r["error"] == "STARTTLS refused: 454 4.7.0 not now", r
    else:
        assert r["error"] == "", r


def test_starttls_refused(servers):
    srv = servers(smtp(starttls=b"454 4.7.0 TLS not available\r\n"))
    r, = probe(srv.target())
    assert r["starttls_offered"] and not r["tls_ok"], r
    assert r["error"] == "STARTTLS refused: 454 4.7.0 TLS not available", r


def test_tls_garbage_after_starttls(servers):
    def garbage(s):
        s.conn.recv(4096)               # the ClientHello
        s.send(b"this is not TLS at all\r\n" * 20)
        s.conn.recv(4096)               # until the client goes
    srv = servers(smtp(after_starttls=garbage))
    r, = probe(srv.target())
    assert r["starttls_offered"] and not r["tls_ok"], r
    assert r["error"].startswith("TLS handshake failed: "), r


def test_tls_closed_after_starttls(servers):
    def close(s):
        s.conn.recv(4096)
    srv = servers(smtp(after_starttls=close))
    r, = probe(srv.target())
    assert r["error"] == "TLS handshake failed: connection closed", r


def test_data_after_starttls_reply(servers):
    """Plaintext behind the 220 would be taken for TLS: refused."""
    srv = servers(smtp(starttls=b"220 2.0.0 ready\r\nGARBAGE\r\n",
                       after_starttls=lambda s: s.conn.recv(4096)))
    r, = probe(srv.target())
    assert r["error"] == "data after the STARTTLS reply", r
    assert not r["tls_ok"], r


# ------------------------------------------------------------ banner and EHLO
def test_multiline_banner(servers, pki):
    srv = servers(smtp(banner=b"220-mx.probe.test.example first\r\n220-second\r\n"
                       b"220 last\r\n"), cert=pki["good"])
    r, = probe(srv.target(), ca=pki["ca"])
    assert r["banner"] == "220-mx.probe.test.example first", r
    assert r["tls_ok"] and r["error"] == "", r


def test_banner_not_220(servers):
    srv = servers(smtp(banner=b"554 go away\r\n"))
    r, = probe(srv.target())
    assert r["connected"] and not r["ehlo_ok"], r
    assert r["error"] == "not 220: 554 go away", r
    assert r["banner"] == "554 go away", r
    only(srv)
    assert srv.lines == ["QUIT"], srv.lines


def test_banner_sanitised(servers):
    srv = servers(smtp(banner=b"220 mx \x1b[31mred\x00 \xff" + b"x" * 600 + b"\r\n",
                       ehlo=EHLO_PLAIN))
    r, = probe(srv.target())
    assert r["error"] == "", r
    b = r["banner"]
    assert b.startswith("220 mx ?[31mred? ?xxx") and b.endswith("..."), b
    assert len(b) == 255 and all(0x20 <= ord(c) < 0x7f for c in b), b


@pytest.mark.parametrize("banner,error", [
    (b"hello there\r\n", 'malformed banner: "hello there"'),
    (b"22\r\n", 'malformed banner: "22"'),
    (b"220x\r\n", 'malformed banner: "220x"'),
    (b"220-one\r\n221 two\r\n", "malformed banner: code 221 after 220"),
], ids=["text", "short", "no-separator", "code-changes"])
def test_banner_malformed(servers, banner, error):
    srv = servers(smtp(banner=banner))
    r, = probe(srv.target())
    assert r["error"] == error, r
    assert not r["ehlo_ok"], r


def test_banner_just_code(servers):
    """"220" alone is a whole reply (RFC 5321 4.2: the text is optional)."""
    srv = servers(smtp(banner=b"220\r\n", ehlo=EHLO_PLAIN))
    r, = probe(srv.target())
    assert r["banner"] == "220" and r["ehlo_ok"] and r["error"] == "", r


def _endless(chunk):
    def handler(s):
        while True:
            s.send(chunk)
    return handler


@pytest.mark.parametrize("chunk,error,banner", [
    (b"220-more\r\n", "banner over 100 lines", "220-more"),
    (b"220-" + b"x" * 900 + b"\r\n", "banner over 8192 bytes", "220-" + "x" * 251),
    (b"220-" + b"x" * 4096, "banner line over 1000 bytes", ""),
], ids=["lines", "bytes", "one-line"])
def test_endless_banner(servers, chunk, error, banner):
    """A server that never stops talking: a clear error, long before the
    timeout (the subprocess bound is what is checked, not a time).  The
    first line, when there was one, is still the banner."""
    srv = servers(_endless(chunk))
    r, = probe(srv.target(), timeout_ms=30000)
    assert r["error"] == error, r
    assert r["banner"] == (banner if len(banner) < 255 else banner[:252] + "..."), r
    assert r["connected"] and not r["ehlo_ok"], r


def test_endless_ehlo_reply(servers):
    def handler(s):
        s.send(b"220 ok\r\n")
        s.readline()
        while True:
            s.send(b"250-SIZE 1\r\n")
    srv = servers(handler)
    r, = probe(srv.target(), timeout_ms=30000)
    assert r["error"] == "EHLO reply over 100 lines", r
    assert r["banner"] == "220 ok" and not r["ehlo_ok"], r


def test_ehlo_refused_helo_accepted(servers):
    def handler(s):
        s.send(b"220 old.example ready\r\n")
        while True:
            cmd = s.readline().upper()
            if cmd.startswith("EHLO"):
                s.send(b"500 5.5.1 command unrecognized\r\n")
            elif cmd.startswith("HELO"):
                s.send(b"250 old.example\r\n")
            elif cmd == "QUIT":
                s.send(b"221 bye\r\n")
                return
    srv = servers(handler)
    r, = probe(srv.target())
    assert not r["ehlo_ok"] and not r["starttls_offered"] and not r["tls_ok"], r
    assert r["error"] == ("EHLO refused: 500 5.5.1 command unrecognized; "
                          "HELO accepted, no STARTTLS without EHLO"), r
    only(srv)
    assert srv.lines == ["EHLO " + HELO, "HELO " + HELO, "QUIT"], srv.lines


def test_ehlo_and_helo_refused(servers):
    def handler(s):
        s.send(b"220 ready\r\n")
        while True:
            s.readline()
            s.send(b"502 5.5.1 no\r\n")
    srv = servers(handler)
    r, = probe(srv.target())
    assert r["error"] == "EHLO refused: 502 5.5.1 no; HELO refused too", r


def test_closed_before_banner(servers):
    srv = servers(lambda s: None)
    r, = probe(srv.target())
    assert r["connected"], r
    assert r["error"] in ("connection closed instead of the banner",
                          "reading the banner: connection reset"), r


# ------------------------------------------------------------ TCP and time
def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # bound, never listening: refused
        r, = probe((MX, "127.0.0.1", port))
    assert not r["connected"], r
    assert r["error"] == "connection refused", r


def test_server_never_answers(servers):
    """Accepts and says nothing: the deadline ends the probe (the tool came
    back before the subprocess timeout; nothing about how fast)."""
    stop = threading.Event()
    srv = servers(lambda s: stop.wait(RUN_TIMEOUT))
    try:
        r, = probe(srv.target(), timeout_ms=1000)
    finally:
        stop.set()
    assert r["connected"], r
    assert r["error"] == "no banner within 1 s", r


def test_silent_after_starttls(servers):
    """The handshake is under the same deadline."""
    stop = threading.Event()
    srv = servers(smtp(after_starttls=lambda s: stop.wait(RUN_TIMEOUT)))
    try:
        r, = probe(srv.target(), timeout_ms=1500)
    finally:
        stop.set()
    assert r["error"] == "TLS handshake not done within 1500 ms", r


@pytest.mark.parametrize("target,error", [
    ((MX, "not-an-address", 25), 'bad address: "not-an-address"'),
    (("bad name!", "127.0.0.1", 25), 'bad MX name: "bad name!"'),
    ((MX, "127.0.0.1", 0), "bad port: 0"),
])
def test_bad_target(target, error):
    r, = probe(target)
    assert r["error"] == error and not r["connected"], r


def test_three_in_parallel(servers, pki):
    """Three targets in one call: every result, in argument order."""
    good = servers(smtp(), cert=pki["good"])
    plain = servers(smtp(ehlo=EHLO_PLAIN))
    refuse = servers(smtp(banner=b"554 5.3.2 not today\r\n"))
    rs = probe(good.target(), plain.target(), refuse.target(), ca=pki["ca"])
    assert rs[0]["tls_ok"] and rs[0]["chain_ok"] and rs[0]["name_ok"], rs[0]
    assert rs[1]["ehlo_ok"] and not rs[1]["starttls_offered"] and rs[1]["error"] == "", rs[1]
    assert rs[2]["error"] == "not 220: 554 5.3.2 not today", rs[2]


def test_parallel_silent_hosts_do_not_add_up(servers, pki):
    """Three silent hosts and a good one: each has its own deadline, all
    run at once; the good one's result is complete."""
    stop = threading.Event()
    silent = [servers(lambda s: stop.wait(RUN_TIMEOUT)) for _ in range(3)]
    good = servers(smtp(), cert=pki["good"])
    try:
        rs = probe(*[s.target() for s in silent], good.target(), timeout_ms=2000,
                   ca=pki["ca"])
    finally:
        stop.set()
    for r in rs[:3]:
        assert r["error"] == "no banner within 2 s", r
    assert rs[3]["tls_ok"] and rs[3]["chain_ok"] and rs[3]["error"] == "", rs[3]


def test_more_targets_than_threads(servers, pki):
    """More targets than SMTPPROBE_PARALLEL_MAX (16): every one gets its
    own result."""
    srv = servers(smtp(), cert=pki["good"])
    n = 20
    rs = probe(*[srv.target()] * n, ca=pki["ca"])
    assert [r["tls_ok"] and r["chain_ok"] for r in rs] == [True] * n, rs
