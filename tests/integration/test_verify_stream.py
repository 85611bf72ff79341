# SPDX-License-Identifier: ISC
"""relaytrust-verify writes each message's output as soon as it and every
earlier message are done (SPEC 3.1, issue 19): with a resolver that never
answers, the first JSON line of a 30-message run comes long before the run
could end, and a run killed halfway keeps complete lines."""
import json
import os
import select
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from test_verify import VERIFY, message  # noqa: E402


def silent_resolver():
    """A UDP and a TCP socket on loopback that take queries and never answer."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(64)
    return u, t, port


def mbox(n):
    out = ""
    for i in range(n):
        m = message(i).replace("93.184.216.34", "81.2.%d.%d" % (i // 200, i % 200 + 1))
        out += "From x Mon Apr  1 10:00:00 2024\n" + m + "\n"
    return out


def read_lines(p, want, deadline):
    buf, lines = b"", []
    while len(lines) < want and time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line)
    return lines


def test_first_line_before_the_end(tmp_path):
    u, t, port = silent_resolver()
    path = tmp_path / "slow.mbox"
    path.write_text(mbox(30))
    start = time.monotonic()
    p = subprocess.Popen([VERIFY, "--json", "--no-progress", "--jobs", "1",
                          "--dns-forward", "127.0.0.1@%d" % port, str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # Every message waits for DNS timeouts (seconds each): 30 of them
        # take minutes. The first line must not wait for the others.
        lines = read_lines(p, 2, start + 60)
        took = time.monotonic() - start
        assert p.poll() is None, "the run ended: it did not wait for DNS"
        assert len(lines) >= 1, "no output line in %.0f s" % took
        p.kill()
        p.wait(timeout=10)
        rest = p.stdout.read()
        # Killed halfway: what was written is whole lines of valid JSON.
        for line in lines + rest.split(b"\n")[:-1]:
            o = json.loads(line)
            assert o["source"] == str(path)
        assert json.loads(lines[0])["index"] == 0
    finally:
        if p.poll() is None:
            p.kill()
        u.close()
        t.close()


def test_jobs_keep_input_order(tmp_path):
    """--jobs 4 writes in input order, flushed as it goes."""
    path = tmp_path / "a.mbox"
    path.write_text(mbox(200))
    p = subprocess.run([VERIFY, "--json", "--offline", "--no-progress", "--jobs", "4",
                        str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    idx = [json.loads(line)["index"] for line in p.stdout.decode().splitlines()]
    assert idx == list(range(200))


@pytest.mark.parametrize("jobs", ["1", "2", "4"])
def test_slow_input_pipe(jobs):
    """Messages read before the input pauses are written during the pause,
    whatever --jobs is (the flusher thread writes finished slots)."""
    p = subprocess.Popen([VERIFY, "--json", "--offline", "--no-progress", "--jobs", jobs, "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        # Three messages and the start of a fourth: the third is complete
        # once the fourth's "From " line is read.
        p.stdin.write(mbox(4).rsplit("From x", 1)[0].encode() + b"From x Mon Apr  1 10:00:00 2024\n")
        p.stdin.flush()
        lines = read_lines(p, 3, time.monotonic() + 10)
        assert [json.loads(x)["index"] for x in lines] == [0, 1, 2]
        assert p.poll() is None
        p.stdin.close()
        rest = p.stdout.read()
        assert p.wait(timeout=30) in (0, 1)
        assert len(rest.splitlines()) == 1
    finally:
        if p.poll() is None:
            p.kill()
