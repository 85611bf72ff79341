# SPDX-License-Identifier: ISC
"""dnsproc - the soak's DNS server in its own process, driven over stdin.

SYNOPSIS
    python3 tests/soak/dnsproc.py [PORT]
        prints "port N" once it serves (UDP and TCP on 127.0.0.1:N), then
        reads one JSON command per line on stdin and answers each with one
        JSON line on stdout:
            {"zone": ZONEDATA}      replace the zone (dnsserver.py shape)
            {"mute": true|false}    drop every query (UDP and TCP) / answer
            {"delay": SECONDS}      sleep before every answer
            {"ttl": SECONDS}        TTL of every record served
            {"stats": true}         -> {"queries": N, "udp": N, "tcp": N,
                                        "dropped": N}
        End of input stops the server.

DESCRIPTION
    tests/integration/dnsserver.py (TestDNS) answers; it runs here, away
    from the soak driver's event loop, so neither slows the other under
    load (one interpreter lock each). "mute" is the DNS server that stops
    answering entirely: every query is read and dropped, as a dead or
    firewalled resolver does. Given PORT, it binds that port again (the
    soak restarts a killed DNS server on its old port).

DIAGNOSTICS
    A command that does not parse is answered {"error": "..."}.

LIMITS
    Whatever TestDNS has (see dnsserver.py): UDP answers over 512 bytes
    are truncated (TC=1), forcing TCP.
"""
import json
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from dnsserver import TestDNS  # noqa: E402


class MutableDNS(TestDNS):
    """TestDNS that can drop everything, and counts what it saw."""

    __test__ = False

    def __init__(self, *a, **kw):
        self.muted = False
        self.counts = {"queries": 0, "udp": 0, "tcp": 0, "dropped": 0}
        self._clock = threading.Lock()
        TestDNS.__init__(self, *a, **kw)

    def _note(self, qname, qtype, proto):
        # Keep counts only: the soak sends far too many queries to keep
        # a list of them all.
        with self._clock:
            self.counts["queries"] += 1
            self.counts[proto] += 1

    def answer(self, data, proto):
        if self.muted:
            with self._clock:
                self.counts["dropped"] += 1
            return None
        return TestDNS.answer(self, data, proto)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    dns = MutableDNS(host="127.0.0.1", port=port)
    print("port %d" % dns.port, flush=True)
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
                out = {"ok": True}
                if "zone" in cmd:
                    dns.set_zone(cmd["zone"])
                if "mute" in cmd:
                    dns.muted = bool(cmd["mute"])
                if "delay" in cmd:
                    dns.delay = float(cmd["delay"])
                if "ttl" in cmd:
                    dns.ttl = int(cmd["ttl"])
                if cmd.get("stats"):
                    with dns._clock:
                        out = dict(dns.counts)
            except Exception as e:          # noqa: BLE001 - report, go on
                out = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
    finally:
        dns.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
