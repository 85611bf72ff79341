"""Packaging: man pages, the systemd unit, make install/uninstall, the .debs.

(a) The three man pages lint clean with `mandoc -T lint -W warning` and
    `groff -mandoc -ww -z`, and name every option, configuration key, reply
    code and limit (the constants are read from the headers, so a new
    *_MAX without a man page entry fails here).
(b) conf/relaytrust-policyd.service has the hardening the issue asks for,
    reloads only a configuration that passes -t, and passes `systemd-analyze
    verify` (ExecStart pointed at the built binary; MANPATH at man/, so its
    Documentation= man: links are checked too).
(c) `make install DESTDIR=... PREFIX=/usr/local` installs exactly the expected
    files (the SPF worker in PREFIX/libexec/relaytrust, the shipped files with
    their paths rewritten), a second install keeps an edited policyd.conf,
    `make uninstall` removes everything but that policyd.conf.  PREFIX is
    compiled in: programs built for PREFIX=/opt/rt (in a build directory of
    the test's own, never the tree's build/ and bin/) look for
    /opt/rt/etc/relaytrust/policyd.conf and /opt/rt/libexec/relaytrust; for
    PREFIX=/usr the configuration goes to /etc/relaytrust.
(d) `dpkg-buildpackage -us -uc` in a copy of the tree builds the source
    package and both .debs; `lintian --pedantic -I -E` on the .changes has
    no E: or W: line; the .debs' contents, conffiles, maintainer scripts and
    dependencies are checked, and the daemon extracted from the .deb checks
    its shipped configuration, starts, answers a request and stops with
    status 0; seen at /usr/sbin (a private mount namespace), it runs the
    worker from /usr/libexec/relaytrust.  Skipped when dpkg-buildpackage or
    dh is missing, or RT_SKIP_DEB=1.

Tools: mandoc, groff, systemd-analyze (package systemd), dpkg-buildpackage
(dpkg-dev), dh (debhelper), lintian, unshare (util-linux). A test skips only
when its tool is missing (or, for unshare, when this system allows no mount
namespace).
"""
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import conftest
from conftest import (ROOT, RT_BIN, encode_request, free_port, policy_request,
                      read_reply)

MAN = os.path.join(ROOT, "man")
PAGES = ["relaytrust-policyd.8", "relaytrust-verify.1", "relaytrust-policyd.conf.5"]
UNIT = os.path.join(ROOT, "conf", "relaytrust-policyd.service")
POLICYD = os.path.join(RT_BIN, "relaytrust-policyd")


def need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.skip("%s is not installed (make deps should install it)" % tool)
    return path


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def makefile_var(name):
    m = re.search(r"(?m)^%s\s*:?=\s*(\S+)" % name, read(os.path.join(ROOT, "Makefile")))
    assert m, "Makefile: no %s" % name
    return m.group(1)


# ---------------------------------------------------------------- (a) man pages

@pytest.mark.parametrize("page", PAGES)
def test_man_mandoc_lint(page):
    need("mandoc")
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", os.path.join(MAN, page)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.returncode == 0 and p.stdout == "", \
        "%s: mandoc -T lint -W warning exited %d:\n%s" % (page, p.returncode, p.stdout)


@pytest.mark.parametrize("page", PAGES)
def test_man_groff_warnings(page):
    need("groff")
    p = subprocess.run(["groff", "-mandoc", "-ww", "-z", os.path.join(MAN, page)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.returncode == 0 and p.stdout == "", \
        "%s: groff -mandoc -ww -z exited %d:\n%s" % (page, p.returncode, p.stdout)


@pytest.mark.parametrize("page", PAGES)
def test_man_renders(page):
    """What man -l shows: mandoc's text rendering has the NAME line and no
    leftover macro or escape."""
    need("mandoc")
    p = subprocess.run(["mandoc", "-T", "utf8", os.path.join(MAN, page)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, p.stderr
    text = re.sub(".\b", "", p.stdout)
    name = page.rsplit(".", 1)[0]
    assert re.search(r"(?m)^NAME\n\s+%s \S+ \S" % re.escape(name), text), \
        "%s: no NAME line in:\n%s" % (page, text[:400])
    for bad in (r"(?m)^\.", r"\\f[BIRP]", r"\\\(", r"\\&"):
        m = re.search(bad, text)
        assert not m, "%s: rendered text holds %r near %r" % (
            page, m.group(0), text[max(0, m.start() - 60):m.end() + 60])


def _words(page):
    return read(os.path.join(MAN, page))


# Rows: page, what must appear in its source, why.
MAN_MUST = [
    ("relaytrust-policyd.8", r"\.It Fl c Ar file\n", "option -c"),
    ("relaytrust-policyd.8", r"\.It Fl f\n", "option -f"),
    ("relaytrust-policyd.8", r"\.It Fl t\n", "option -t"),
    ("relaytrust-policyd.8", r"\.It Fl -stdio\n", "option --stdio"),
    ("relaytrust-policyd.8", r"\.It Fl V\n", "option -V"),
    ("relaytrust-policyd.8", r"550 5\.7\.23", "reply SPF fail"),
    ("relaytrust-policyd.8", r"550 5\.7\.24", "reply SPF permerror"),
    ("relaytrust-policyd.8", r"DEFER_IF_PERMIT 4\.7\.24", "reply SPF temperror"),
    ("relaytrust-policyd.8", r"550 5\.7\.25", "reply iprev fail"),
    ("relaytrust-policyd.8", r"DEFER_IF_PERMIT 4\.7\.25", "reply iprev temperror"),
    ("relaytrust-policyd.8", r"Li PREPEND", "reply PREPEND"),
    ("relaytrust-policyd.8", r"Li DUNNO", "reply DUNNO"),
    ("relaytrust-policyd.8", r"Authentication-Results: mx\.example\.org; iprev=pass",
     "Authentication-Results form"),
    ("relaytrust-policyd.8", r"Received-SPF: pass \(mx\.example\.org:", "Received-SPF form"),
    ("relaytrust-policyd.8", r"identity=mailfrom", "Received-SPF identity"),
    ("relaytrust-policyd.8", r"Dv SIGHUP", "signal HUP"),
    ("relaytrust-policyd.8", r"Dv SIGTERM , SIGINT", "signals TERM/INT"),
    ("relaytrust-policyd.8", r"reject_unauth_destination,\n\s+check_policy_service",
     "placement after reject_unauth_destination"),
    ("relaytrust-policyd.8", r"check_policy_service \{ inet:127\.0\.0\.1:10045,\n"
     r"\s+timeout=10s, default_action=DUNNO \}", "inet wiring with timeout/default_action"),
    ("relaytrust-policyd.8", r"unix:/var/spool/postfix/private/", "unix socket in private/"),
    ("relaytrust-policyd.8", r"check_policy_service \{ unix:private/", "main.cf unix:private/"),
    ("relaytrust-policyd.8", r"relaytrust  unix  -  n  n  -  0  spawn\n"
     r"\s+user=relaytrust argv=/usr/sbin/relaytrust-policyd --stdio", "master.cf spawn entry"),
    ("relaytrust-policyd.8", r"relaytrust_time_limit = 3600", "spawn time limit"),
    ("relaytrust-policyd.8", r"\.Sh FILES", "FILES"),
    ("relaytrust-policyd.8", r"\.Sh EXIT STATUS", "EXIT STATUS"),
    ("relaytrust-policyd.8", r"\.Sh EXAMPLES", "EXAMPLES"),
    ("relaytrust-policyd.8", r"\.Sh SEE ALSO", "SEE ALSO"),
    ("relaytrust-policyd.conf.5", r"\.Sh EXAMPLES", "EXAMPLES"),
    ("relaytrust-policyd.conf.5", r"\.Ss Actions", "action words"),
    ("relaytrust-verify.1", r"\.It Fl -json\n", "option --json"),
    ("relaytrust-verify.1", r"\.It Fl -dns-forward Ar addr", "option --dns-forward"),
    ("relaytrust-verify.1", r"\.It Fl -keys Ar file", "option --keys"),
    ("relaytrust-verify.1", r"\.It Fl -offline\n", "option --offline"),
    ("relaytrust-verify.1", r"\.It Fl -trusted Ar", "option --trusted"),
    ("relaytrust-verify.1", r"\.It Fl -jobs Ar n", "option --jobs"),
    ("relaytrust-verify.1", r"\.It Fl -progress , Fl -no-progress", "option --progress"),
    ("relaytrust-verify.1", r"\.It Fl V\n", "option -V"),
    ("relaytrust-verify.1", r"\.Sh EXIT STATUS", "EXIT STATUS"),
    ("relaytrust-verify.1", r"\.Sh EXAMPLES", "EXAMPLES"),
] + [("relaytrust-verify.1", r"\.Li %s" % re.escape(code), "DKIM reason " + code)
     for code in ("body-hash-mismatch", "signature-mismatch", "key-not-found",
                  "key-revoked", "key-syntax", "key-too-small", "key-type-mismatch",
                  "hash-not-allowed", "signature-expired", "signature-syntax",
                  "unsupported-algorithm", "from-not-signed", "dns-error")]


@pytest.mark.parametrize("page,pattern,why", MAN_MUST,
                         ids=["%s:%s" % (r[0].split(".")[0], r[2]) for r in MAN_MUST])
def test_man_content(page, pattern, why):
    assert re.search(pattern, _words(page)), \
        "%s: %s is not documented (no match for %r)" % (page, why, pattern)


def config_keys():
    """(section or '', key) of every option in shared/cfg.c's schema."""
    src = read(os.path.join(ROOT, "shared", "cfg.c"))
    keys = []
    for m in re.finditer(r"static cfg_opt_t (\w+)_opts\[\] = \{(.*?)\};", src, re.S):
        section = "" if m.group(1) == "root" else m.group(1)
        for k in re.findall(r"CFG_(?:STR|INT|BOOL|STR_LIST|INT_LIST|FLOAT)\(\s*\"(\w+)\"",
                            m.group(2)):
            keys.append((section, k))
    assert len(keys) > 20, "cannot read the schema of shared/cfg.c"
    return keys


def test_conf_page_names_every_key():
    """Every key of shared/cfg.c is an item of relaytrust-policyd.conf(5),
    under its section."""
    text = _words("relaytrust-policyd.conf.5")
    parts = re.split(r"(?m)^\.S[sh] ", text)
    where = {}
    for part in parts:
        title = part.split("\n", 1)[0].strip()
        sec = title[len("Section "):] if title.startswith("Section ") else ""
        for k in re.findall(r"(?m)^\.It Cm (\w+)", part):
            where.setdefault(k, set()).add(sec)
    missing = ["%s%s" % (s + "." if s else "", k) for s, k in config_keys()
               if s not in where.get(k, set())]
    assert not missing, "relaytrust-policyd.conf(5) has no .It Cm entry for: " + \
        ", ".join(missing)


def limits(paths, pattern=r"\w+_MAX|CHECK_DEADLINE_MARGIN_MS"):
    """NAME -> value of every numeric #define NAME matching pattern."""
    out = {}
    for path in paths:
        for full in sorted(glob.glob(os.path.join(ROOT, path))):
            for name, value in re.findall(r"(?m)^#define\s+(%s)\s+(\(?[\w ()<>+*-]*?\)?)\s*(?:/\*|$)"
                                          % pattern, read(full)):
                # A value that is an expression ((64u << 20)) is checked by name only.
                out[name] = value if re.fullmatch(r"\d+", value) else None
    return out


POLICYD_LIMIT_FILES = ["policyd/*.h", "policyd/check*.c", "shared/dns.h", "shared/spf.h",
                       "shared/spfpool.h", "shared/spfworker.h", "shared/cfg.h",
                       "shared/cfg.c", "shared/log.h"]
VERIFY_LIMIT_FILES = ["shared/hdr.h", "verifier/*.h"]
# Buffer sizes, not limits on input.
NOT_LIMITS = {"NETADDR_STR_MAX", "NETADDR_PTR_MAX", "MAIN_ERR_MAX", "MAIN_READY_MAX",
              "SPF_REWRITE_MAX", "KEPT_STRS_MAX"}


def _limit_rows():
    rows = []
    for pages, files in ((("relaytrust-policyd.8", "relaytrust-policyd.conf.5"),
                          POLICYD_LIMIT_FILES),
                         (("relaytrust-verify.1",), VERIFY_LIMIT_FILES)):
        for name, value in sorted(limits(files).items()):
            if name not in NOT_LIMITS:
                rows.append((pages, name, value))
    return rows


@pytest.mark.parametrize("pages,name,value", _limit_rows(),
                         ids=[r[1] for r in _limit_rows()])
def test_man_names_every_limit(pages, name, value):
    """Each limit constant appears in its man page with its value next to it
    (within 60 characters before or after the name)."""
    text = "\n".join(_words(p) for p in pages)
    hits = [m.start() for m in re.finditer(r"\b%s\b" % name, text)]
    assert hits, "%s: limit %s (%s) is not named" % (" or ".join(pages), name, value)
    if value is None:
        return
    near = [h for h in hits
            if re.search(r"(?<![\d.])%s(?![\d.])" % value, text[max(0, h - 60):h + len(name) + 60])]
    assert near, "%s: limit %s is named but not with its value %s" % (
        " or ".join(pages), name, value)


# --------------------------------------------------------------- (b) systemd unit

def unit_directives(text):
    """[(section, key, value)] of a unit file."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


# Rows: key, regex the (last) value must match.
UNIT_MUST = [
    ("Type", r"^(exec|simple|notify)$"),
    ("User", r"^relaytrust$"),
    ("ExecStart", r"^/usr/sbin/relaytrust-policyd -f -c /etc/relaytrust/policyd\.conf$"),
    ("ExecReload", r"^/bin/kill -HUP \$MAINPID$"),
    ("Restart", r"^on-failure$"),
    ("NoNewPrivileges", r"^yes$"),
    ("ProtectSystem", r"^strict$"),
    ("ProtectHome", r"^yes$"),
    ("PrivateTmp", r"^yes$"),
    ("PrivateDevices", r"^yes$"),
    ("RestrictAddressFamilies", r"^AF_UNIX AF_INET AF_INET6$"),
    ("SystemCallFilter", r"^@system-service\b.*\bseccomp\b"),
    ("SystemCallArchitectures", r"^native$"),
    ("CapabilityBoundingSet", r"^$"),
    ("AmbientCapabilities", r"^$"),
    ("MemoryDenyWriteExecute", r"^yes$"),
    ("RestrictNamespaces", r"^yes$"),
    ("LockPersonality", r"^yes$"),
    ("ProtectKernelTunables", r"^yes$"),
    ("ProtectKernelModules", r"^yes$"),
    ("ProtectControlGroups", r"^yes$"),
    ("WantedBy", r"^multi-user\.target$"),
]


@pytest.mark.parametrize("key,pattern", UNIT_MUST, ids=[r[0] for r in UNIT_MUST])
def test_unit_directive(key, pattern):
    values = [v for _, k, v in unit_directives(read(UNIT)) if k == key]
    assert values, "%s: no %s=" % (UNIT, key)
    assert re.search(pattern, values[-1]), "%s: %s=%s, want /%s/" % (
        UNIT, key, values[-1], pattern)


def test_unit_reload_checks_first():
    """systemctl reload runs -t on the configuration before SIGHUP: systemd
    runs the ExecReload= lines in order and stops at the first failure, so a
    bad file fails the reload (its error in the journal) and no signal is
    sent."""
    reloads = [v for s, k, v in unit_directives(read(UNIT)) if k == "ExecReload"]
    start = [v for s, k, v in unit_directives(read(UNIT)) if k == "ExecStart"]
    assert reloads == ["/usr/sbin/relaytrust-policyd -t -c /etc/relaytrust/policyd.conf",
                       "/bin/kill -HUP $MAINPID"], reloads
    # The file checked is the file the daemon runs with.
    assert start and start[0].endswith(" -c /etc/relaytrust/policyd.conf"), start


def systemd_verify(unit_text, binary, tmp_path):
    """systemd-analyze verify on unit_text with the daemon path replaced
    by binary; MANPATH points at man/ so Documentation= is checked."""
    need("systemd-analyze")
    d = tmp_path / "unit"
    (d / "man8").mkdir(parents=True)
    (d / "man5").mkdir()
    shutil.copy(os.path.join(MAN, "relaytrust-policyd.8"), d / "man8")
    shutil.copy(os.path.join(MAN, "relaytrust-policyd.conf.5"), d / "man5")
    path = d / "relaytrust-policyd.service"
    path.write_text(unit_text.replace("/usr/sbin/relaytrust-policyd", binary))
    env = dict(os.environ, MANPATH=str(d), SYSTEMD_LOG_COLOR="0")
    args = ["systemd-analyze", "verify", str(path)]
    if shutil.which("man") is None:
        args.insert(2, "--man=no")
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env)
    return p


def test_unit_systemd_analyze_verify(tmp_path):
    if not os.access(POLICYD, os.X_OK):
        pytest.fail("%s is not built" % POLICYD)
    p = systemd_verify(read(UNIT), POLICYD, tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == "", \
        "systemd-analyze verify exited %d:\n%s" % (p.returncode, p.stdout)


def test_unit_verify_catches_a_bad_unit(tmp_path):
    """The check above can fail: a misspelt directive is reported."""
    p = systemd_verify(read(UNIT).replace("NoNewPrivileges=", "NoNewPrivilege="),
                       POLICYD if os.access(POLICYD, os.X_OK) else "/bin/true", tmp_path)
    assert "NoNewPrivilege" in p.stdout, p.stdout


def test_unit_security_exposure(tmp_path):
    """systemd-analyze security rates the unit at most 2.5 ("OK")."""
    need("systemd-analyze")
    path = tmp_path / "relaytrust-policyd.service"
    path.write_text(read(UNIT))
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=dict(os.environ, SYSTEMD_COLORS="0"))
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    if m is None and "offline" in p.stdout and "nrecognized" in p.stdout:
        pytest.skip("systemd-analyze security --offline is not supported here")
    assert m, "no exposure level in:\n" + p.stdout
    assert float(m.group(1)) <= 2.5, "exposure %s > 2.5:\n%s" % (m.group(1), p.stdout)


# ------------------------------------------------------ (c) make install/uninstall

def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


PROGS = ("relaytrust-policyd", "relaytrust-verify", "relaytrust-spf-worker")


def make_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "DESTDIR", "PREFIX", "BUILD",
                         "BIN")}


def run_make(*args):
    """make in the tree without rebuilding the programs (-o: old enough; make
    then looks at none of their prerequisites either), so the tree's build/
    and bin/ stay as they are.  The programs keep the paths they were built
    with: only what make install copies is checked with this."""
    bindir = os.path.relpath(RT_BIN, ROOT) if RT_BIN.startswith(ROOT + os.sep) else RT_BIN
    cmd = ["make", "-s", "BIN=" + bindir]
    for prog in PROGS:
        cmd += ["-o", os.path.join(bindir, prog)]
    return subprocess.run(cmd + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=make_env())


def run_make_fresh(builddir, *args):
    """make that builds the programs it needs into builddir (its own BUILD
    and BIN, never the tree's), so PREFIX really is compiled in; no -o.
    Fails if a command it ran wrote anything (cc -o, ar) outside builddir."""
    cmd = ["make", "--no-print-directory", "-j%d" % min(os.cpu_count() or 1, 8),
           "BUILD=%s" % os.path.join(builddir, "build"),
           "BIN=%s" % os.path.join(builddir, "bin")] + list(args)
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=make_env())
    outside = [t for t in re.findall(r"(?: -o |\bar rcs )(\S+)", p.stdout)
               if not os.path.join(ROOT, t).startswith(builddir + os.sep)]
    assert not outside, "make wrote outside %s: %s" % (builddir, outside)
    return p


def sed_paths(text, prefix, sysconf):
    """What make install's SED_PATHS does to a shipped file (conf/ names
    the Debian package's paths): the same replacements in the same order."""
    return text.replace("/usr/sbin/relaytrust-policyd", prefix + "/sbin/relaytrust-policyd") \
        .replace("/etc/relaytrust/", sysconf + "/") \
        .replace("/usr/libexec/relaytrust/", prefix + "/libexec/relaytrust/")


def want_installed(prefix, sysconf, unitdir):
    """{file: mode} that make install puts under DESTDIR."""
    p = prefix.lstrip("/")
    want = {
        p + "/sbin/relaytrust-policyd": 0o755,
        p + "/libexec/relaytrust/relaytrust-spf-worker": 0o755,
        p + "/bin/relaytrust-verify": 0o755,
        sysconf.lstrip("/") + "/policyd.conf": 0o644,
        sysconf.lstrip("/") + "/policyd.conf.sample": 0o644,
        unitdir.lstrip("/") + "/relaytrust-policyd.service": 0o644,
    }
    for page in PAGES:
        want["%s/share/man/man%s/%s" % (p, page.rsplit(".", 1)[1], page)] = 0o644
    return want


def check_installed(dest, prefix, sysconf, unitdir):
    """dest holds exactly what make install puts there, with its modes; the
    man pages as they are, policyd.conf and the unit with their paths
    rewritten for prefix."""
    want = want_installed(prefix, sysconf, unitdir)
    got = files_under(dest)
    assert got == set(want), "make install: missing %s, unexpected %s" % (
        sorted(set(want) - got), sorted(got - set(want)))
    for f, mode in want.items():
        assert os.stat(dest / f).st_mode & 0o777 == mode, "%s: mode %o, want %o" % (
            f, os.stat(dest / f).st_mode & 0o777, mode)
    p = prefix.lstrip("/")
    for page in PAGES:
        sec = page.rsplit(".", 1)[1]
        assert read(dest / ("%s/share/man/man%s/%s" % (p, sec, page))) == \
            read(os.path.join(MAN, page)), page
    conf = sed_paths(read(os.path.join(ROOT, "conf", "policyd.conf")), prefix, sysconf)
    for name in ("policyd.conf", "policyd.conf.sample"):
        assert read(dest / sysconf.lstrip("/") / name) == conf, name
    unit = read(dest / unitdir.lstrip("/") / "relaytrust-policyd.service")
    assert unit == sed_paths(read(UNIT), prefix, sysconf)
    daemon, config = prefix + "/sbin/relaytrust-policyd", sysconf + "/policyd.conf"
    for line in ("ExecStart=%s -f -c %s" % (daemon, config),
                 "ExecReload=%s -t -c %s" % (daemon, config)):
        assert line + "\n" in unit, "%s: no %r" % (unitdir, line)


def test_make_install_uninstall(tmp_path):
    for prog in PROGS:
        if not os.access(os.path.join(RT_BIN, prog), os.X_OK):
            pytest.fail("%s is not built" % prog)
    dest = tmp_path / "dest"
    p = run_make("install", "DESTDIR=%s" % dest, "PREFIX=/usr/local")
    assert p.returncode == 0, "make install:\n" + p.stdout
    check_installed(dest, "/usr/local", "/usr/local/etc/relaytrust",
                    "/usr/local/lib/systemd/system")
    assert "/usr/local/etc/relaytrust/" in read(dest / "usr/local/etc/relaytrust/policyd.conf")

    # A second install keeps an edited configuration, refreshes the sample.
    conf = dest / "usr/local/etc/relaytrust/policyd.conf"
    conf.write_text("# edited by the administrator\n")
    p = run_make("install", "DESTDIR=%s" % dest, "PREFIX=/usr/local")
    assert p.returncode == 0, "second make install:\n" + p.stdout
    assert conf.read_text() == "# edited by the administrator\n", \
        "make install overwrote an existing policyd.conf"

    p = run_make("uninstall", "DESTDIR=%s" % dest, "PREFIX=/usr/local")
    assert p.returncode == 0, "make uninstall:\n" + p.stdout
    left = files_under(dest)
    assert left == {"usr/local/etc/relaytrust/policyd.conf"}, \
        "make uninstall left %s" % sorted(left)


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory):
    """A build directory of this module's own for the PREFIX tests."""
    return str(tmp_path_factory.mktemp("prefixbuild"))


def test_make_install_prefix_is_compiled_in(fresh_build, tmp_path):
    """make install PREFIX=/opt/rt rebuilds the programs for that prefix:
    the daemon's default configuration is /opt/rt/etc/relaytrust/policyd.conf
    and it looks for its worker in /opt/rt/libexec/relaytrust."""
    dest = tmp_path / "dest"
    p = run_make_fresh(fresh_build, "install", "DESTDIR=%s" % dest, "PREFIX=/opt/rt")
    assert p.returncode == 0, "make install PREFIX=/opt/rt:\n" + p.stdout[-6000:]
    check_installed(dest, "/opt/rt", "/opt/rt/etc/relaytrust", "/opt/rt/lib/systemd/system")
    daemon = dest / "opt/rt/sbin/relaytrust-policyd"
    # Not under DESTDIR: the file it names is the installed path, which a
    # test cannot create; the message names the path it tried.
    r = subprocess.run([str(daemon), "-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    assert "/opt/rt/etc/relaytrust/policyd.conf" in r.stdout, r.stdout
    if not os.path.exists("/opt/rt/etc/relaytrust/policyd.conf"):
        assert r.returncode != 0, r.stdout
    with open(daemon, "rb") as f:
        image = f.read()
    assert b"/opt/rt/libexec/relaytrust\0" in image, \
        "the daemon does not name /opt/rt/libexec/relaytrust"
    assert b"/usr/local/libexec/relaytrust\0" not in image


def test_make_install_prefix_usr(fresh_build, tmp_path):
    """PREFIX=/usr (what the package uses) puts the configuration in
    /etc/relaytrust, not /usr/etc, and the shipped files go unchanged."""
    dest = tmp_path / "dest"
    p = run_make_fresh(fresh_build, "install", "DESTDIR=%s" % dest, "PREFIX=/usr")
    assert p.returncode == 0, "make install PREFIX=/usr:\n" + p.stdout[-6000:]
    check_installed(dest, "/usr", "/etc/relaytrust", "/usr/lib/systemd/system")
    # The package's own paths: the shipped files go unchanged.
    assert read(dest / "etc/relaytrust/policyd.conf") == \
        read(os.path.join(ROOT, "conf", "policyd.conf"))
    assert read(dest / "usr/lib/systemd/system/relaytrust-policyd.service") == read(UNIT)
    daemon = dest / "usr/sbin/relaytrust-policyd"
    r = subprocess.run([str(daemon), "-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    assert "/etc/relaytrust/policyd.conf" in r.stdout and "/usr/etc" not in r.stdout, r.stdout
    with open(daemon, "rb") as f:
        assert b"/usr/libexec/relaytrust\0" in f.read()


# ------------------------------------------------------------------ (d) the .debs

def test_debian_version_matches_makefile():
    m = re.match(r"relaytrust \(([^)]+)\)", read(os.path.join(ROOT, "debian", "changelog")))
    assert m, "debian/changelog: no first entry"
    assert m.group(1) == makefile_var("VERSION"), \
        "debian/changelog version %s, Makefile VERSION %s" % (m.group(1),
                                                              makefile_var("VERSION"))
    assert read(os.path.join(ROOT, "debian", "source", "format")).strip() == "3.0 (native)"


# Build products a package build leaves in debian/ (never copied).
DEB_JUNK = re.compile(r"^(build|build-asan|bin)/|^debian/(build|tmp|\.debhelper|"
                      r"relaytrust-policyd|relaytrust-verify)/|^debian/(files|debhelper-"
                      r"build-stamp|.*\.substvars|.*\.debhelper(\.log)?)$")


def copy_tree(dst):
    """The tree as git sees it (tracked and untracked-but-not-ignored files)."""
    p = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        pytest.skip("not a git checkout: " + p.stderr.decode())
    for rel in p.stdout.decode().split("\0"):
        if not rel or DEB_JUNK.search(rel):
            continue
        src = os.path.join(ROOT, rel)
        if not os.path.lexists(src):
            continue            # deleted in the work tree
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), os.path.join(dst, rel))
        else:
            shutil.copy2(src, os.path.join(dst, rel))


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """Build the .debs once: {package: path}, plus the build time."""
    if os.environ.get("RT_SKIP_DEB", "") not in ("", "0"):
        pytest.skip("RT_SKIP_DEB is set")
    need("dpkg-buildpackage")
    need("dh")
    top = tmp_path_factory.mktemp("deb")
    src = top / "relaytrust"
    copy_tree(str(src))
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=%d" % (os.cpu_count() or 1),
               LC_ALL="C.UTF-8")
    for k in ("CFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(k, None)
    t0 = time.monotonic()
    # The source package too, so lintian checks debian/copyright and the
    # rest of the source.
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc"], cwd=str(src), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=900)
    took = time.monotonic() - t0
    assert p.returncode == 0, "dpkg-buildpackage -us -uc exited %d:\n%s" % (
        p.returncode, p.stdout[-6000:])
    changes = glob.glob(str(top / "*.changes"))
    assert len(changes) == 1, changes
    out = {"_seconds": took, "_log": p.stdout, "_changes": changes[0]}
    for deb in glob.glob(str(top / "*.deb")):
        out[os.path.basename(deb).split("_")[0]] = deb
    print("dpkg-buildpackage took %.1f s" % took)
    return out


def dpkg_deb(*args):
    p = subprocess.run(["dpkg-deb"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, "dpkg-deb %s: %s" % (" ".join(args), p.stderr)
    return p.stdout


def deb_files(deb):
    return {re.sub(r"^\./", "/", line.split()[-1]) for line in
            dpkg_deb("-c", deb).splitlines() if not line.startswith("d")}


# Rows: package, file the .deb must hold.
DEB_MUST = [
    ("relaytrust-policyd", "/usr/sbin/relaytrust-policyd"),
    ("relaytrust-policyd", "/usr/libexec/relaytrust/relaytrust-spf-worker"),
    ("relaytrust-policyd", "/etc/relaytrust/policyd.conf"),
    ("relaytrust-policyd", "/lib/systemd/system/relaytrust-policyd.service"),
    ("relaytrust-policyd", "/usr/share/man/man8/relaytrust-policyd.8.gz"),
    ("relaytrust-policyd", "/usr/share/man/man5/relaytrust-policyd.conf.5.gz"),
    ("relaytrust-policyd", "/usr/share/doc/relaytrust-policyd/examples/policyd.conf"),
    ("relaytrust-policyd", "/usr/share/doc/relaytrust-policyd/copyright"),
    ("relaytrust-verify", "/usr/bin/relaytrust-verify"),
    ("relaytrust-verify", "/usr/share/man/man1/relaytrust-verify.1.gz"),
    ("relaytrust-verify", "/usr/share/doc/relaytrust-verify/copyright"),
]


@pytest.mark.parametrize("pkg,path", DEB_MUST, ids=[r[1] for r in DEB_MUST])
def test_deb_contents(debs, pkg, path):
    assert pkg in debs, "no %s .deb was built: %s" % (pkg, sorted(debs))
    assert path in deb_files(debs[pkg]), "%s.deb has no %s" % (pkg, path)


def test_deb_nothing_misplaced(debs):
    """No file of one package in the other, nothing under /usr/local, no
    sample copy in /etc."""
    pol, ver = deb_files(debs["relaytrust-policyd"]), deb_files(debs["relaytrust-verify"])
    assert not pol & ver
    for f in pol | ver:
        assert not f.startswith("/usr/local/"), f
        assert not f.endswith(".sample"), f
    assert "/usr/bin/relaytrust-verify" not in pol
    assert "/usr/sbin/relaytrust-policyd" not in ver
    # The worker is internal: not in a directory of user commands.
    workers = sorted(f for f in pol | ver if f.endswith("/relaytrust-spf-worker"))
    assert workers == ["/usr/libexec/relaytrust/relaytrust-spf-worker"], workers
    # One unit, where bookworm's dh_installsystemd enables it.
    units = sorted(f for f in pol | ver if f.endswith(".service"))
    assert units == ["/lib/systemd/system/relaytrust-policyd.service"], units


def test_deb_lintian(debs):
    """lintian --pedantic -I -E on the .changes (source and both .debs):
    no error and no warning.  Info, pedantic and experimental tags are
    printed, not failed on."""
    need("lintian")
    p = subprocess.run(["lintian", "--pedantic", "-I", "-E", debs["_changes"]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=900, env=dict(os.environ, LC_ALL="C.UTF-8"))
    print("lintian --pedantic -I -E:\n" + p.stdout)
    bad = [line for line in p.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert not bad, "lintian:\n" + "\n".join(bad)
    # Exit status 0 unless a tag at "error" fails the run; anything else
    # (a crash, a bad argument) is not a clean result.
    assert p.returncode == 0, "lintian exited %d:\n%s" % (p.returncode, p.stdout)


def test_deb_control(debs, tmp_path):
    ctl = tmp_path / "control"
    dpkg_deb("-e", debs["relaytrust-policyd"], str(ctl))
    assert read(ctl / "conffiles").split() == ["/etc/relaytrust/policyd.conf"]
    postinst = read(ctl / "postinst")
    assert re.search(r"adduser --system .*relaytrust", postinst, re.S), postinst
    # The user exists before the unit is enabled and started.
    assert postinst.index("adduser") < postinst.index("deb-systemd-helper enable"), postinst
    assert "deb-systemd-helper enable 'relaytrust-policyd.service'" in postinst
    assert "deb-systemd-invoke $_dh_action 'relaytrust-policyd.service'" in postinst
    # The system user stays on purge (a freed uid can be reused by another
    # system user and own what is left); only a comment names deluser.
    postrm = read(ctl / "postrm")
    code = [line for line in postrm.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"\b(deluser|userdel|delgroup|groupdel)\b",
                                                   line)], postrm
    assert "deb-systemd-helper purge 'relaytrust-policyd.service'" in postrm, postrm
    fields = dpkg_deb("-f", debs["relaytrust-policyd"], "Depends")
    for lib in ("adduser", "libevent", "libunbound", "libspf2", "libconfuse", "libssl"):
        assert lib in fields, "relaytrust-policyd Depends lacks %s: %s" % (lib, fields)
    for pkg in ("relaytrust-policyd", "relaytrust-verify"):
        assert dpkg_deb("-f", debs[pkg], "Version").strip() == makefile_var("VERSION")


def test_deb_build_is_hardened(debs):
    """The package build used dpkg-buildflags (fortify, relro, now)."""
    log = debs["_log"]
    assert "-D_FORTIFY_SOURCE=2" in log and "-Wl,-z,relro" in log and "-Wl,-z,now" in log, \
        log[-3000:]


@pytest.fixture(scope="module")
def extracted(debs, tmp_path_factory):
    root = tmp_path_factory.mktemp("debroot")
    for pkg in ("relaytrust-policyd", "relaytrust-verify"):
        dpkg_deb("-x", debs[pkg], str(root))
    return root


def test_deb_programs_run(extracted):
    for prog in ("usr/sbin/relaytrust-policyd", "usr/bin/relaytrust-verify"):
        p = subprocess.run([str(extracted / prog), "-V"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        assert p.returncode == 0, "%s -V: %d %s" % (prog, p.returncode, p.stderr)
        assert makefile_var("VERSION") in p.stdout, p.stdout


def test_deb_default_config_path(extracted):
    """The packaged daemon's default is /etc/relaytrust/policyd.conf."""
    p = subprocess.run([str(extracted / "usr/sbin/relaytrust-policyd"), "-t"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=30)
    assert "/etc/relaytrust/policyd.conf" in p.stdout, p.stdout


def test_deb_shipped_config_is_valid(extracted, tmp_path):
    shipped = extracted / "etc/relaytrust/policyd.conf"
    # The package's file names the account its postinst creates (the
    # unit's User=); this machine does not have it, so the check below
    # reads a copy that names an account it has.
    text = shipped.read_text()
    assert '\nuser = "relaytrust"\n' in text, "the packaged file does not drop to relaytrust"
    conf = tmp_path / "policyd.conf"
    conf.write_text(text.replace('\nuser = "relaytrust"\n', '\nuser = "nobody"\n'))
    # As root, a file without user is an error (issue 20).
    kw = {}
    if conftest.UNPRIV_USER is not None:
        conftest.readable(conf)
        conftest.reachable(extracted / "usr/sbin")
        kw = dict(user=conftest.UNPRIV_USER, extra_groups=[],
                  group=pwd.getpwnam(conftest.UNPRIV_USER).pw_gid)
    p = subprocess.run([str(extracted / "usr/sbin/relaytrust-policyd"), "-t", "-c", str(conf)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=30, **kw)
    assert p.returncode == 0, "shipped policyd.conf: %s" % p.stdout


def test_deb_unit_verifies(extracted, tmp_path):
    unit = read(extracted / "lib/systemd/system/relaytrust-policyd.service")
    assert unit == read(UNIT), "the packaged unit differs from conf/"
    reloads = [v for s, k, v in unit_directives(unit) if k == "ExecReload"]
    assert reloads == ["/usr/sbin/relaytrust-policyd -t -c /etc/relaytrust/policyd.conf",
                       "/bin/kill -HUP $MAINPID"], reloads
    p = systemd_verify(unit, str(extracted / "usr/sbin/relaytrust-policyd"), tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == "", p.stdout


def run_packaged_daemon(extracted, tmp_path, wrap=None):
    """Start the packaged daemon with the shipped configuration moved to a
    free loopback port, wait until it is ready, send one request, and stop
    it.  wrap(argv) gives the command that runs argv (the daemon's, first
    the extracted path) some other way; it must exec the daemon in the
    process it starts.  Returns (action, workers), workers being
    [(argv0, os.stat of /proc/PID/exe)] of the daemon's children while it
    ran; fails unless it exits with status 0."""
    text = read(extracted / "etc/relaytrust/policyd.conf")
    port = free_port()
    text, n = re.subn(r"(?m)^\s*listen\s*=\s*\{[^}]*\}",
                      'listen = { "inet:127.0.0.1:%d" }' % port, text)
    assert n == 1, "no listen line in the shipped policyd.conf"
    text = re.sub(r"(?m)^\s*user\s*=.*$", "", text)
    # As root the daemon refuses to start without user (issue 20).
    text = conftest.with_user(text)
    conftest.reachable(extracted)
    conf = tmp_path / "policyd.conf"
    conf.write_text(text)
    log = tmp_path / "policyd.log"
    argv = [str(extracted / "usr/sbin/relaytrust-policyd"), "-f", "-c", str(conf)]
    with open(log, "wb") as logf:
        proc = subprocess.Popen(wrap(argv) if wrap else argv, stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "ready: listening on" not in read(log):
            assert proc.poll() is None, "daemon exited %s:\n%s" % (proc.returncode, read(log))
            assert time.monotonic() < deadline, "not ready in 30 s:\n" + read(log)
            time.sleep(0.05)
        # 127.0.0.1 is in the shipped skip.networks: no DNS is needed.
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            s.sendall(encode_request(policy_request(client_address="127.0.0.1")))
            action = read_reply(s)
        # The wrappers exec (unshare without --fork, sh's exec): proc.pid
        # is the daemon itself.
        kids = [int(x) for x in
                open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read().split()]
        workers = [(open("/proc/%d/cmdline" % k, "rb").read().split(b"\0")[0],
                    os.stat("/proc/%d/exe" % k)) for k in kids]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert rc == 0, "exit %d:\n%s" % (rc, read(log))
    assert action == "DUNNO" or action.startswith("PREPEND Authentication-Results:"), action
    assert workers, "no SPF worker running:\n" + read(log)
    return action, workers


def same_file(st, path):
    other = os.stat(path)
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def test_deb_daemon_starts_and_answers(extracted, tmp_path):
    """The extracted daemon becomes ready, answers a request and stops with
    0.  It runs from <tmp>/usr/sbin, not /usr/sbin, so it is not the
    installed program: it looks for the worker beside itself, finds none
    there (the package has it in /usr/libexec/relaytrust), and runs copies
    of itself as workers."""
    daemon = extracted / "usr/sbin/relaytrust-policyd"
    _, workers = run_packaged_daemon(extracted, tmp_path)
    for argv0, st in workers:
        assert argv0 == b"relaytrust-spf-worker:" and same_file(st, daemon), \
            "worker %r is not a copy of %s" % (argv0, daemon)


def mount_namespace_argv():
    """unshare's argv for a private mount namespace (a user namespace too
    when not root), or skip when this system allows neither."""
    need("unshare")
    for argv in (["unshare", "--mount"], ["unshare", "--user", "--map-root-user", "--mount"]):
        if argv[1] == "--mount" and os.geteuid() != 0:
            continue
        p = subprocess.run(argv + ["true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode == 0:
            return argv
    pytest.skip("no mount namespace here: " + p.stdout.strip())


def test_deb_daemon_runs_libexec_worker(extracted, tmp_path):
    """Seen at /usr/sbin (the package's usr/sbin and usr/libexec mounted
    over the system's in a private mount namespace), the packaged daemon
    is the installed one and runs the packaged worker program from
    /usr/libexec/relaytrust/relaytrust-spf-worker."""
    ns = mount_namespace_argv()
    script = ('mount --bind "$1/usr/sbin" /usr/sbin && '
              'mount --bind "$1/usr/libexec" /usr/libexec && shift && exec "$@"')

    def wrap(argv):
        return ns + ["sh", "-c", script, "sh", str(extracted),
                     "/usr/sbin/relaytrust-policyd"] + argv[1:]

    worker = extracted / "usr/libexec/relaytrust/relaytrust-spf-worker"
    _, workers = run_packaged_daemon(extracted, tmp_path, wrap)
    for argv0, st in workers:
        assert argv0 == b"relaytrust-spf-worker" and same_file(st, worker), \
            "worker %r is not %s" % (argv0, worker)
