# SPDX-License-Identifier: ISC
"""A throwaway Postfix instance for the end-to-end tests.

PostfixInstance(base, policy) writes main.cf and master.cf under BASE/conf,
with its own queue, data, Maildir and log under BASE, and an smtpd on
127.0.0.1:<free port> whose recipient restrictions end in
check_policy_service POLICY (e.g. "inet:127.0.0.1:10045").  Nothing outside
BASE is written; the system Postfix (/etc/postfix/main.cf, /var/spool)
is neither read for its settings nor touched.

    pf = PostfixInstance(base, "inet:127.0.0.1:%d" % port)
    pf.start()            # postfix -c BASE/conf start, waits for the smtpd port
    pf.port               # smtpd port
    pf.messages(marker)   # delivered messages (bytes) that contain marker
    pf.wait_messages(marker, n)
    pf.maillog()          # the instance's maillog_file
    pf.stop()             # postfix stop, waits for master to exit

Delivery: every recipient in test.example goes through virtual(8) into the
one Maildir BASE/mail/box/ (virtual_mailbox_maps = static:box/), owned by
the postfix user.  Needs root (master(8) must start as root) and the
postfix user and postdrop group of the Debian package.

The policy check fails closed here: default_action is a 451, so a daemon
that does not answer shows up as a temporary rejection, never as a pass.
"""
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
DOMAIN = "test.example"
MYHOSTNAME = "mx.test.example"
POLICY_DEFAULT_ACTION = "451 4.3.5 policy service unavailable"


def installed():
    """Why Postfix cannot be used here, or None when it can."""
    if not os.path.exists(POSTFIX):
        return "postfix is not installed (apt-get install postfix)"
    return None


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


MAIN_CF = """\
# written by tests/e2e/postfix_instance.py
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {myhostname}
mydomain = {domain}
myorigin = {domain}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
smtpd_banner = $myhostname ESMTP relaytrust-e2e
smtpd_peername_lookup = no
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions =
# No permit_mynetworks: every test client is in 127.0.0.0/8 and must
# reach the policy check.
smtpd_recipient_restrictions = reject_unauth_destination,
	check_policy_service {{ {policy}, timeout=30s, try_limit=1,
	{{ default_action = {default_action} }} }}
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {base}/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
default_transport = error:no remote delivery in this test
relay_transport = error:no remote delivery in this test
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
{extra_main}"""

MASTER_CF = """\
# written by tests/e2e/postfix_instance.py; nothing is chrooted
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
{extra_master}"""


class PostfixError(Exception):
    pass


class PostfixInstance:
    def __init__(self, base, policy, extra_main="", extra_master=""):
        """extra_main / extra_master: lines appended to main.cf / master.cf
        (e.g. a spawn(8) service for the policy server)."""
        self.base = os.path.abspath(str(base))
        self.policy = policy
        self.extra_main = extra_main
        self.extra_master = extra_master
        self.queue = os.path.join(self.base, "queue")
        self.conf = os.path.join(self.base, "conf")
        self.maildir = os.path.join(self.base, "mail", "box")
        self.log_path = os.path.join(self.base, "maillog")
        self.port = free_port()
        self.master_pid = None
        pw = pwd.getpwnam("postfix")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        grp.getgrnam("postdrop")        # KeyError: not the Debian package

    def _write_config(self):
        # The postfix user must reach BASE/mail (virtual(8) runs as it);
        # every directory above BASE that we created is made traversable.
        os.chmod(self.base, 0o755)
        for d in ("conf", "queue", "data", "mail"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        for d in ("data", "mail"):
            os.chown(os.path.join(self.base, d), self.uid, self.gid)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(base=self.base, myhostname=MYHOSTNAME, domain=DOMAIN,
                                   policy=self.policy, default_action=POLICY_DEFAULT_ACTION,
                                   uid=self.uid, gid=self.gid,
                                   extra_main=self.extra_main))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port, extra_master=self.extra_master))

    def _postfix(self, *args, check=True):
        p = subprocess.run([POSTFIX, "-c", self.conf] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        if check and p.returncode != 0:
            raise PostfixError("postfix -c %s %s: exit %d\n%s\nmaillog:\n%s"
                               % (self.conf, " ".join(args), p.returncode, p.stdout,
                                  self.maillog()))
        return p

    def start(self, timeout=30):
        self._write_config()
        # start runs post-install create-missing (queue directories) and
        # the integrity checks itself.
        self._postfix("start")
        self.master_pid = self._read_master_pid()
        # Ready when smtpd answers with its banner.
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    banner = s.recv(512)
                    if banner.startswith(b"220 "):
                        s.sendall(b"QUIT\r\n")
                        return
                    last = banner
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise PostfixError("postfix smtpd on 127.0.0.1:%d not ready within %ss (%r)\n"
                           "maillog:\n%s" % (self.port, timeout, last, self.maillog()))

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.base, "queue", "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=20):
        """postfix stop; wait for master(8) to go; abort and kill if it
        does not."""
        pid = self.master_pid or self._read_master_pid()
        self._postfix("stop", check=False)
        if pid is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)
        self._postfix("abort", check=False)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def maillog(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no maillog)"

    def messages(self, marker):
        """Every delivered message (bytes) containing marker (bytes)."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            try:
                names = sorted(os.listdir(d))
            except FileNotFoundError:
                continue
            for name in names:
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                if marker in data:
                    out.append(data)
        return out

    def wait_messages(self, marker, n, timeout=30):
        """Wait until n messages containing marker are delivered."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages(marker)
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                raise PostfixError("%d of %d messages with %r delivered within %ss\n"
                                   "maillog:\n%s" % (len(got), n, marker, timeout,
                                                     self.maillog()))
            time.sleep(0.05)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of ours would count as alive; master is not our child
    # (postfix-script starts it), so this does not arise.
    return True
