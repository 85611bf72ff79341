# SPDX-License-Identifier: ISC
"""The Makefile on a machine that lacks the -dev packages: `make check` and
`make run` install them (deps) and build in the same invocation.

The real Makefile runs in a miniature tree (three small programs whose link
needs every library pkg-config names) with stubs first on PATH:
  dpkg-query   says no package is installed until apt-get has run;
  apt-get      records its arguments; `install` writes the marker;
  pkg-config   fails as it does on a fresh machine (the message Debian's
               prints) until the marker exists, then runs the real one;
  sudo, debconf-set-selections  pass through / swallow their input.
A Makefile that asks pkg-config before deps ran keeps empty flags and its
link fails (the bug of the first `make check` on a fresh machine); one that
asks it at all before deps prints pkg-config's noise, which is checked too.
"""
import os
import shutil
import stat
import subprocess

import pytest

from conftest import ROOT

MINI_LIB = r"""
#include <confuse.h>
#include <event2/event.h>
#include <unbound.h>
#include <openssl/evp.h>

/* A call into each library pkg-config names: the link fails without it. */
int
mini_libs(void)
{
	cfg_opt_t opts[] = { CFG_END() };
	cfg_t	*cfg = cfg_init(opts, 0);
	int	ok = cfg != NULL && event_get_version() != NULL &&
	    ub_version() != NULL && EVP_sha256() != NULL;

	cfg_free(cfg);
	return ok;
}
"""

MINI_MAIN = r"""
#include <stdio.h>
int mini_libs(void);
int
main(int argc, char **argv)
{
	printf("mini %s:", argv[0]);
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return !mini_libs();
}
"""

STUBS = {
    "pkg-config": """#!/bin/sh
if [ ! -e "$MARK" ]; then
	echo "early $*" >> "$CALLS"
	echo "Package libevent was not found in the pkg-config search path." >&2
	echo "Package 'libevent', required by 'virtual:world', not found" >&2
	exit 1
fi
echo "after $*" >> "$CALLS"
exec "$REAL_PKG_CONFIG" "$@"
""",
    # Before apt-get, only another architecture's copy of one -dev package
    # (what make cross-arm64 leaves): it does not count.
    "dpkg-query": """#!/bin/sh
for a; do p=$a; done
if [ ! -e "$MARK" ]; then
	[ "$p" = libevent-dev ] && { echo "install ok installed arm64"; exit 0; }
	echo "dpkg-query: no packages found" >&2; exit 1
fi
echo "install ok installed $(dpkg --print-architecture)"
""",
    "apt-get": """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
case " $* " in *" install "*) touch "$MARK";; esac
exit 0
""",
    "sudo": """#!/bin/sh
exec "$@"
""",
    "debconf-set-selections": """#!/bin/sh
cat >/dev/null
""",
}


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture
def fresh(tmp_path):
    """(tree, env, calls file, marker) of a machine without the packages."""
    real = shutil.which("pkg-config")
    if real is None:
        pytest.skip("pkg-config is not installed (make deps installs it)")
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(os.path.join(ROOT, "Makefile"), str(tree / "Makefile"))
    write(str(tree / "shared/mini.c"), MINI_LIB)
    for prog in ("policyd/main.c", "verifier/main.c"):
        write(str(tree / prog), MINI_MAIN)
    write(str(tree / "policyd/worker_main.c"), "int main(void) { return 0; }\n")
    write(str(tree / "conf/policyd.conf"), "# mini\n")
    write(str(tree / "tests/run-all"),
          "#!/bin/sh\necho \"run-all $*\"\necho '1 passed, 0 failed'\n", 0o755)
    stubs = tmp_path / "stubs"
    for name, text in STUBS.items():
        write(str(stubs / name), text, 0o755)
    calls, mark = tmp_path / "calls", tmp_path / "installed"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PREFIX", "DESTDIR",
                        "BUILD", "BIN", "CFLAGS", "LDFLAGS", "CPPFLAGS")}
    env.update(PATH="%s:%s" % (stubs, env.get("PATH", "/usr/bin:/bin")),
               MARK=str(mark), CALLS=str(calls), REAL_PKG_CONFIG=real, LC_ALL="C")
    return tree, env, calls, mark


def make(tree, env, *args):
    return subprocess.run(["make", "-j2", *args], cwd=str(tree), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)


def calls_of(calls):
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize("target, ran", [
    ("check", "run-all build bin"),
    ("run", "mini bin/relaytrust-policyd: -f -c conf/policyd.conf"),
])
def test_first_run_installs_then_builds(fresh, target, ran):
    tree, env, calls, mark = fresh
    p = make(tree, env, target)
    assert p.returncode == 0, "make %s on a fresh machine:\n%s" % (target, p.stdout)
    assert ran in p.stdout, p.stdout
    assert mark.exists(), "deps did not install the packages:\n" + p.stdout
    log = calls_of(calls)
    early = [c for c in log if c.startswith("early")]
    assert not early, "pkg-config was asked before deps installed it: %s" % early
    assert "not found in the pkg-config search path" not in p.stdout, p.stdout
    assert any(c.startswith("apt-get") and " install " in c + " " for c in log), log
    # The link used the libraries (it would fail without them), and pkg-config
    # ran once per make for each of its two questions, not once per object.
    after = [c for c in log if c.startswith("after")]
    assert after and len(after) <= 6, after


def test_second_run_installs_nothing(fresh):
    tree, env, calls, mark = fresh
    assert make(tree, env, "check").returncode == 0
    calls.write_text("")
    p = make(tree, env, "check")
    assert p.returncode == 0, p.stdout
    assert "deps: all installed" in p.stdout, p.stdout
    assert not [c for c in calls_of(calls) if c.startswith("apt-get")]


def test_build_without_packages_says_what_to_do(fresh):
    tree, env, calls, mark = fresh
    p = make(tree, env, "all")
    assert p.returncode != 0, p.stdout
    assert 'run "make deps"' in p.stdout, p.stdout
    assert not mark.exists()
    # One clear line, not pkg-config's noise for every object.
    assert "not found in the pkg-config search path" not in p.stdout, p.stdout
