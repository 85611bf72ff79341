# SPDX-License-Identifier: ISC
"""dnsserver - an in-process authoritative DNS server for tests (dnslib).

SYNOPSIS
    from dnsserver import TestDNS
    dns = TestDNS(host="127.0.0.1", port=0)    # UDP and TCP, same port
    dns.set_zone({"example.com": [{"TXT": "v=spf1 -all"}, {"A": "192.0.2.1"}]})
    dns.add("mail.example.com", {"MX": [10, "mx.example.com"]})
    ... point the program under test at 127.0.0.1@dns.port ...
    dns.queries          # [("example.com", "TXT", "udp"), ...]
    dns.clear_queries()
    dns.delay = 0.5      # seconds before every answer
    dns.ttl = 300        # TTL of every record served
    dns.stop()

    python3 tests/integration/dnsserver.py ZONE.yaml [--port N] [--host H]
        prints "port N" and serves until killed.  ZONE.yaml is either a
        zonedata mapping or a document with a "zonedata" key (the first
        such document of a multi-document file, e.g. one scenario of the
        RFC 7208 test suite).

DESCRIPTION
    Zone data has exactly the shape of the RFC 7208 test suite's
    "zonedata": {name: [item, ...]} where an item is one of
        {"TXT": "text"} or {"TXT": ["str1", "str2"]}   (one record whose
                 character-strings are str1, str2; a string over 255 bytes
                 is split into 255-byte character-strings; "" is a record
                 with one empty string; str is sent as UTF-8, bytes as is)
        {"SPF": ...}         the same, type 99
        {"A": "192.0.2.1"}   {"AAAA": "2001:db8::1"}
        {"MX": [10, "mx.example.com"]}
        {"PTR": "name"}  {"CNAME": "name"}  {"NS": "name"}
        "TIMEOUT"            never answer any query for this name
        "SERVFAIL"           answer every query for this name with SERVFAIL
    Names are matched case-insensitively (ASCII only, as DNS does); a
    trailing dot on a zone name is ignored.

    Answers are authoritative (AA=1):
      - records of the asked type -> NOERROR with them (qtype ANY: all)
      - a CNAME at the name, qtype not CNAME -> the CNAME and the chased
        records in the zone (at most CHASE_MAX links; a loop stops the
        chase); a chased target that is TIMEOUT drops the query, SERVFAIL
        answers SERVFAIL, a missing target answers NXDOMAIN with the chain
      - a name with records of other types, or with names below it (an
        empty non-terminal, RFC 8020) -> NOERROR/NODATA
      - otherwise NXDOMAIN.
    No SOA is put in negative answers, so resolvers do not cache them long.
    A UDP answer over 512 bytes is sent as an empty reply with TC=1 (the
    question kept), forcing the client to retry over TCP.  The TCP server
    answers any number of length-prefixed queries on one connection.

    Every query that parsed is recorded in .queries (before .delay and
    before a TIMEOUT drop) as (qname lower-cased without trailing dot,
    type name such as "TXT" or "TYPE65280", "udp" or "tcp").

DIAGNOSTICS
    Nothing a client sends can stop the server: a packet that does not
    parse is dropped, an exception while answering answers SERVFAIL.
    set_zone()/add() raise ValueError for zone data of an unknown shape.

LIMITS
    One class (IN) only; no EDNS in answers; no DNSSEC; no zone cuts or
    referrals (the whole namespace is one zone); no wildcards.  Records
    that cannot be encoded (bad A text) raise ValueError at set_zone().
"""
import socket
import socketserver
import struct
import sys
import threading
import time

from dnslib import (AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, TXT, A, DNSHeader,
                    DNSLabel, DNSRecord)

UDP_MAX = 512
CHASE_MAX = 10
TCP_IDLE = 30.0         # seconds a silent TCP connection is kept

_TYPES = {"A": QTYPE.A, "AAAA": QTYPE.AAAA, "TXT": QTYPE.TXT, "SPF": 99,
          "MX": QTYPE.MX, "PTR": QTYPE.PTR, "CNAME": QTYPE.CNAME, "NS": QTYPE.NS}


def _key(name):
    """Zone key of a name: ASCII-lower-cased bytes without trailing dot."""
    if isinstance(name, DNSLabel):
        raw = b".".join(name.label)
    elif isinstance(name, bytes):
        raw = name
    else:
        raw = str(name).encode("utf-8", "surrogateescape")
    if raw.endswith(b".") and raw != b".":
        raw = raw[:-1]
    return raw.lower()


def _label(name):
    """dnslib label for a zone name (str, may have odd labels)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    name = str(name)
    if name in ("", "."):
        return DNSLabel([])
    if name.endswith("."):
        name = name[:-1]
    return DNSLabel([p.encode("utf-8", "surrogateescape") for p in name.split(".")])


def _strings(value):
    """TXT/SPF item value -> list of <= 255-byte character-strings."""
    if isinstance(value, (str, bytes)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        value = [str(value)]
    out = []
    for s in value:
        b = s if isinstance(s, bytes) else str(s).encode("utf-8", "surrogateescape")
        if not b:
            out.append(b"")
        for i in range(0, len(b), 255):
            out.append(b[i:i + 255])
    return out or [b""]


def _rdata(rtype, value):
    """(qtype number, dnslib rdata) for one zone item."""
    if rtype in ("TXT", "SPF"):
        return _TYPES[rtype], TXT(_strings(value))
    if rtype == "A":
        return QTYPE.A, A(str(value))
    if rtype == "AAAA":
        return QTYPE.AAAA, AAAA(str(value))
    if rtype == "MX":
        if isinstance(value, (list, tuple)) and len(value) == 2:
            pref, host = value
        else:
            pref, host = 0, value
        return QTYPE.MX, MX(_label(host), int(pref))
    if rtype == "PTR":
        return QTYPE.PTR, PTR(_label(value))
    if rtype == "CNAME":
        return QTYPE.CNAME, CNAME(_label(value))
    if rtype == "NS":
        return QTYPE.NS, NS(_label(value))
    raise ValueError("unknown record type %r" % rtype)


class _Zone:
    """Compiled zone: key -> {"timeout": bool, "servfail": bool,
    "rrs": [(qtype, rdata)], "cname": target key or None}."""

    def __init__(self):
        self.names = {}
        self.parents = set()    # keys of every proper ancestor (ENTs)

    def add(self, name, item):
        key = _key(name)
        ent = self.names.setdefault(key, {"timeout": False, "servfail": False,
                                          "rrs": [], "cname": None})
        parts = key.split(b".")
        for i in range(1, len(parts)):
            self.parents.add(b".".join(parts[i:]))
        if isinstance(item, str):
            if item.upper() == "TIMEOUT":
                ent["timeout"] = True
                return
            if item.upper() == "SERVFAIL":
                ent["servfail"] = True
                return
            raise ValueError("unknown zone item %r for %r" % (item, name))
        if not isinstance(item, dict):
            raise ValueError("zone item for %r must be a dict or a string: %r"
                             % (name, item))
        for rtype, value in item.items():
            qt, rd = _rdata(str(rtype).upper(), value)
            ent["rrs"].append((qt, rd))
            if qt == QTYPE.CNAME:
                ent["cname"] = _key(value)

    def copy(self):
        z = _Zone()
        z.names = {k: {"timeout": v["timeout"], "servfail": v["servfail"],
                       "rrs": list(v["rrs"]), "cname": v["cname"]}
                   for k, v in self.names.items()}
        z.parents = set(self.parents)
        return z

    def exists(self, key):
        return key in self.names or key in self.parents


def _compile(zonedata):
    z = _Zone()
    if zonedata is None:
        return z
    if not isinstance(zonedata, dict):
        raise ValueError("zonedata must be a mapping of name -> list of items")
    for name, items in zonedata.items():
        if isinstance(items, (str, dict)):
            items = [items]
        if items is None:
            items = []
        _key(name)
        z.names.setdefault(_key(name), {"timeout": False, "servfail": False,
                                        "rrs": [], "cname": None})
        for item in items:
            z.add(name, item)
    return z


_DROP = object()


class TestDNS:
    """An authoritative test DNS server on UDP and TCP (same port)."""

    __test__ = False    # not a pytest test class

    def __init__(self, host="127.0.0.1", port=0, zone=None):
        self.host = host
        self.delay = 0.0
        self.ttl = 300
        self.queries = []
        self._lock = threading.Lock()
        self._zone = _compile(zone)
        self._udp, self._tcp = self._bind(host, port)
        self.port = self._udp.server_address[1]
        self._threads = []
        for srv in (self._udp, self._tcp):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _bind(self, host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        last = None
        for _ in range(50):
            udp = _UDPServer((host, port), _UDPHandler, family, self)
            p = udp.server_address[1]
            try:
                tcp = _TCPServer((host, p), _TCPHandler, family, self)
            except OSError as e:        # TCP port taken: try another UDP port
                udp.server_close()
                last = e
                if port:
                    raise
                continue
            return udp, tcp
        raise last

    # --- zone -------------------------------------------------------------

    def set_zone(self, zonedata):
        """Replace every record with zonedata (RFC 7208 suite shape)."""
        z = _compile(zonedata)
        with self._lock:
            self._zone = z

    def add(self, name, rdata):
        """Add one item (same shape as one zonedata list item) at name."""
        with self._lock:
            z = self._zone.copy()
        z.add(name, rdata)
        with self._lock:
            self._zone = z

    def clear_queries(self):
        with self._lock:
            del self.queries[:]

    def stop(self):
        for srv in (self._udp, self._tcp):
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- answering --------------------------------------------------------

    def _note(self, qname, qtype, proto):
        with self._lock:
            self.queries.append((qname, qtype, proto))

    def answer(self, data, proto):
        """Wire query -> wire answer, or None to drop it."""
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return None
        if request.header.qr or not request.questions:
            return None
        q = request.q
        key = _key(q.qname)
        qtype = QTYPE.get(q.qtype, "TYPE%d" % q.qtype)
        if not isinstance(qtype, str):
            qtype = "TYPE%d" % q.qtype
        self._note(key.decode("utf-8", "backslashreplace"), qtype, proto)
        delay = self.delay
        if delay:
            time.sleep(delay)
        try:
            reply = self._resolve(request)
        except Exception:
            reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, ra=1,
                                        rd=request.header.rd, rcode=RCODE.SERVFAIL),
                              q=q)
        if reply is _DROP:
            return None
        try:
            wire = reply.pack()
        except Exception:
            reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, ra=1,
                                        rd=request.header.rd, rcode=RCODE.SERVFAIL),
                              q=q)
            wire = reply.pack()
        if proto == "udp" and len(wire) > UDP_MAX:
            tc = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, ra=1, tc=1,
                                     rd=request.header.rd, rcode=reply.header.rcode),
                           q=q)
            wire = tc.pack()
        return wire

    def _resolve(self, request):
        with self._lock:
            zone = self._zone
        ttl = int(self.ttl)
        q = request.q
        reply = request.reply()
        reply.header.aa = 1
        reply.ar = []
        key = _key(q.qname)
        owner = q.qname
        seen = set()
        for _ in range(CHASE_MAX + 1):
            ent = zone.names.get(key)
            if ent is not None and ent["timeout"]:
                return _DROP
            if ent is not None and ent["servfail"]:
                reply.rr = []
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            if ent is None:
                if not zone.exists(key):
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            if ent["cname"] is not None and q.qtype not in (QTYPE.CNAME, QTYPE.ANY):
                for qt, rd in ent["rrs"]:
                    if qt == QTYPE.CNAME:
                        reply.add_answer(RR(owner, qt, ttl=ttl, rdata=rd))
                        break
                seen.add(key)
                key = ent["cname"]
                owner = _label(key.decode("utf-8", "surrogateescape"))
                if key in seen:
                    return reply
                continue
            for qt, rd in ent["rrs"]:
                if q.qtype == QTYPE.ANY or qt == q.qtype:
                    reply.add_answer(RR(owner, qt, ttl=ttl, rdata=rd))
            return reply
        return reply


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, addr, handler, family, owner):
        self.address_family = family
        self.owner = owner
        socketserver.UDPServer.__init__(self, addr, handler)


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, family, owner):
        self.address_family = family
        self.owner = owner
        socketserver.TCPServer.__init__(self, addr, handler)


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        wire = self.server.owner.answer(data, "udp")
        if wire is not None:
            try:
                sock.sendto(wire, self.client_address)
            except OSError:
                pass


class _TCPHandler(socketserver.BaseRequestHandler):
    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def handle(self):
        self.request.settimeout(TCP_IDLE)
        try:
            while True:
                hdr = self._read(2)
                if hdr is None:
                    return
                data = self._read(struct.unpack("!H", hdr)[0])
                if data is None:
                    return
                wire = self.server.owner.answer(data, "tcp")
                if wire is not None:
                    self.request.sendall(struct.pack("!H", len(wire)) + wire)
        except OSError:
            return


def _load_zone_file(path):
    import yaml
    with open(path, "rb") as f:
        docs = list(yaml.safe_load_all(f))
    for doc in docs:
        if isinstance(doc, dict) and "zonedata" in doc:
            return doc["zonedata"]
    for doc in docs:
        if isinstance(doc, dict):
            return doc
    return {}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="serve a test zone on loopback")
    ap.add_argument("zone", nargs="?", help="YAML zonedata file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    zone = _load_zone_file(args.zone) if args.zone else {}
    dns = TestDNS(host=args.host, port=args.port, zone=zone)
    print("port %d" % dns.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        dns.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
