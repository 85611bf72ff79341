# SPDX-License-Identifier: ISC
"""hostile_dns - a DNS server that answers with mutated real answers.

SYNOPSIS
    python3 tests/soak/hostile_dns.py [PORT]
        prints "port N" once it serves (UDP and TCP on 127.0.0.1:N), then
        reads one JSON command per line on stdin and answers each with one
        JSON line on stdout:
            {"zone": ZONEDATA}      replace the zone (dnsserver.py shape)
            {"rate": P}             probability (0..1) that a query's
                                    answer is mutated (default 0.6)
            {"kinds": [KIND...]}    mutate only in these ways ([]: all)
            {"seed": N}             reseed the mutation choice
            {"ttl": SECONDS}        TTL of every record served (default 0)
            {"stats": true}         -> {"queries": N, "udp": N, "tcp": N,
                                        "kinds": {"udp:wrong_id": N, ...}}
            {"history": [NAME...]}  -> {NAME: ["udp:TXT:valid", ...]}: the
                                    last answers given for each name
        End of input stops the server.

DESCRIPTION
    Every query is first answered correctly from the zone, exactly as
    tests/integration/dnsserver.py (TestDNS) answers it, plus synthetic
    names under fc.soak.example (see SYNTHETIC). Then, with probability
    "rate", the answer is replaced by one of these mutations (named as in
    the stats; chosen uniformly, remapped where the transport forbids):

      none            no answer at all (TCP: the connection stays silent)
      wrong_id        the correct answer with another message id
      truncated       TC=1 and the packet cut at a random byte (TCP: the
                      length prefix says the cut length, or the full one
                      and the connection closes early)
      comp_loop       a compression pointer to itself, a label then a
                      pointer back to it, a pointer past the end, or a
                      chain of 20..300 pointers (ending in the question
                      name, or in a loop)
      wrong_type      TXT query: only records of another type (A) -- a
                      NODATA lie, named wrong_type_only; other queries:
                      the right records plus ones of a wrong type
                      (wrong_type_extra)
      rdata           structurally invalid records: rdlength past the end,
                      rdlength short, an A of 3 or 5 bytes, a TXT whose
                      string length overruns its rdata, a name with a
                      reserved label type
      wrong_question  another qname, qdcount 0, a doubled question, another
                      qtype or class
      big_txt         TXT queries over TCP: the real records plus padding
                      TXT (one record of L bytes in character-strings of
                      random lengths, L up to ~64 KB, or up to 200
                      records); over UDP this is "tc"; other queries: valid
      drip            TCP: the correct answer a few bytes a second; over
                      UDP this is "tc"
      tc              UDP: an empty answer with TC=1 (the client must retry
                      over TCP); over TCP: valid
      valid           the correct answer (UDP: TC=1 when over 512 bytes)

    Unmutated answers count as "valid". Names the zone marks TIMEOUT are
    never answered ("zone_timeout").

SYNTHETIC
    For the soak's fresh-and-complete class: D.C.19.198.in-addr.arpa PTR
    h-C-D.fc.soak.example; h-C-D.fc.soak.example A 198.19.C.D and TXT
    "v=spf1 a -all"; sN.fc.soak.example TXT "v=spf1 ip4:198.19.0.0/16
    -all".

LIMITS
    The drip gives up after DRIP_MAX seconds or when the client goes.
"""
import collections
import json
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from dnslib import A, PTR, QTYPE, RCODE, RR, TXT, DNSBuffer, DNSHeader, DNSRecord  # noqa: E402

import dnsserver  # noqa: E402
from dnsserver import _DROP, UDP_MAX, TestDNS, _key, _label  # noqa: E402

KINDS = ["none", "wrong_id", "truncated", "comp_loop", "wrong_type", "rdata",
         "wrong_question", "big_txt", "drip", "tc"]
DRIP_BYTES = 3          # per DRIP_PERIOD
DRIP_PERIOD = 1.0
DRIP_MAX = 90.0
TCP_IDLE = 60.0
HISTORY_NAMES = 200000
HISTORY_PER_NAME = 8

_REV = re.compile(rb"^(\d+)\.(\d+)\.19\.198\.in-addr\.arpa$")
_HOST = re.compile(rb"^h-(\d+)-(\d+)\.fc\.soak\.example$")
_SEND = re.compile(rb"^s\d+\.fc\.soak\.example$")


def synth(key):
    """[(qtype, rdata)] for a synthetic name, or None."""
    m = _REV.match(key)
    if m:
        return [(QTYPE.PTR, PTR(_label("h-%s-%s.fc.soak.example"
                                       % (m.group(2).decode(), m.group(1).decode()))))]
    m = _HOST.match(key)
    if m:
        return [(QTYPE.A, A("198.19.%s.%s" % (m.group(1).decode(), m.group(2).decode()))),
                (QTYPE.TXT, TXT([b"v=spf1 a -all"]))]
    if _SEND.match(key):
        return [(QTYPE.TXT, TXT([b"v=spf1 ip4:198.19.0.0/16 -all"]))]
    if key == b"fc.soak.example":
        return []
    return None


# ------------------------------------------------------------ raw encoding

def enc_name(name):
    """Uncompressed wire form of a dnslib label / str."""
    if not hasattr(name, "label"):
        name = _label(str(name))
    return b"".join(bytes([len(p)]) + p for p in name.label) + b"\0"


def rdata_raw(rd):
    buf = DNSBuffer()
    rd.pack(buf)
    return bytes(buf.data)


def rr_raw(owner, qtype, ttl, rdata, cls=1, rdlen=None):
    """owner: wire bytes of the owner name; rdata: raw bytes."""
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", qtype, cls, ttl, n & 0xffff) + rdata


def header(qid, flags, qd, an, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid & 0xffff, flags, qd, an, ns, ar)


def qsection(name_wire, qtype, qclass=1):
    return name_wire + struct.pack("!HH", qtype, qclass)


def flags_of(reply, tc=False):
    h = reply.header
    f = 0x8000 | (h.opcode << 11) | (0x0400 if h.aa else 0) | (0x0200 if tc else 0) \
        | (0x0100 if h.rd else 0) | (0x0080 if h.ra else 0) | (h.rcode & 0xf)
    return f


class Answer:
    """The correct answer to one query, as parts that mutations rework."""

    def __init__(self, request, reply, ttl):
        self.request = request
        self.reply = reply
        self.ttl = ttl
        self.qid = request.header.id
        q = request.q
        self.qname = enc_name(q.qname)
        self.qtype = q.qtype
        self.qclass = q.qclass
        self.rrs = []       # (owner wire, type, ttl, raw rdata)
        for rr in reply.rr:
            self.rrs.append((enc_name(rr.rname), rr.rtype, rr.ttl, rdata_raw(rr.rdata)))

    def wire(self, qid=None, tc=False, rrs=None, question=None, qd=1):
        rrs = self.rrs if rrs is None else rrs
        if question is None:
            question = qsection(self.qname, self.qtype, self.qclass)
        body = b"".join(rr_raw(o, t, ttl, rd) if isinstance(rd, bytes) else rd(o, t, ttl)
                        for o, t, ttl, rd in rrs)
        return header(self.qid if qid is None else qid, flags_of(self.reply, tc), qd,
                      len(rrs), 0, 0) + question + body

    def tc_empty(self, qid=None):
        return header(self.qid if qid is None else qid, flags_of(self.reply, True), 1,
                      0) + qsection(self.qname, self.qtype, self.qclass)


class HostileDNS(TestDNS):
    __test__ = False

    def __init__(self, *a, **kw):
        self.rate = 0.6
        self.kinds = list(KINDS)
        self.rng = random.Random(os.getpid() ^ int(time.time()))
        self.counts = collections.Counter()
        self.history = collections.OrderedDict()
        self._hlock = threading.Lock()
        TestDNS.__init__(self, *a, **kw)
        self.ttl = 0

    def _bind(self, host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        last = None
        for _ in range(50):
            udp = _UDP((host, port), _UDPHandler, family, self)
            p = udp.server_address[1]
            try:
                tcp = _TCP((host, p), _TCPHandler, family, self)
            except OSError as e:
                udp.server_close()
                last = e
                if port:
                    raise
                continue
            return udp, tcp
        raise last

    def _note(self, qname, qtype, proto):
        pass

    def _resolve(self, request):
        key = _key(request.q.qname)
        recs = synth(key)
        if recs is None:
            return TestDNS._resolve(self, request)
        reply = request.reply()
        reply.header.aa = 1
        reply.ar = []
        for qt, rd in recs:
            if request.q.qtype in (qt, QTYPE.ANY):
                reply.add_answer(RR(request.q.qname, qt, ttl=int(self.ttl), rdata=rd))
        return reply

    def record(self, key, qtype, proto, kind, detail=""):
        with self._hlock:
            self.counts["queries"] += 1
            self.counts[proto] += 1
            self.counts["%s:%s" % (proto, kind)] += 1
            name = key.decode("utf-8", "backslashreplace")
            h = self.history.get(name)
            if h is None:
                h = self.history[name] = collections.deque(maxlen=HISTORY_PER_NAME)
                if len(self.history) > HISTORY_NAMES:
                    self.history.popitem(last=False)
            h.append("%s:%s:%s%s" % (proto, qtype, kind, "(" + detail + ")" if detail else ""))

    # ---- the answer to one query: [(mode, bytes)] with mode "send" (UDP:
    # the datagram; TCP: a message, framed here), "raw" (TCP bytes as is),
    # "drip" (TCP: framed message, slowly), "close" (TCP), or [] (silence)

    def respond(self, data, proto):
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return []
        if request.header.qr or not request.questions:
            return []
        q = request.q
        key = _key(q.qname)
        qtype = QTYPE.get(q.qtype, "TYPE%d" % q.qtype)
        if not isinstance(qtype, str):
            qtype = "TYPE%d" % q.qtype
        try:
            reply = self._resolve(request)
        except Exception:
            reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, ra=1,
                                        rd=request.header.rd, rcode=RCODE.SERVFAIL), q=q)
        if reply is _DROP:
            self.record(key, qtype, proto, "zone_timeout")
            return []
        ans = Answer(request, reply, int(self.ttl))
        rng = self.rng
        kind = "valid"
        if rng.random() < self.rate:
            kind = rng.choice(self.kinds)
        try:
            out, kind, detail = self.mutate(ans, kind, proto, rng)
        except Exception as e:          # noqa: BLE001 - a driver bug: answer validly
            out, kind, detail = self.mutate(ans, "valid", proto, rng)
            detail = "mutation failed: %r" % e
        self.record(key, qtype, proto, kind, detail)
        return out

    def valid(self, ans, proto):
        w = ans.wire()
        if proto == "udp" and len(w) > UDP_MAX:
            w = ans.tc_empty()
        return w

    def mutate(self, ans, kind, proto, rng):
        udp = proto == "udp"
        if kind in ("drip", "big_txt") and udp:
            kind = "tc"
        if kind == "tc" and not udp:
            kind = "valid"
        if kind == "big_txt" and ans.qtype != QTYPE.TXT:
            kind = "valid"
        if kind == "valid":
            return [("send", self.valid(ans, proto))], kind, ""
        if kind == "none":
            return [], kind, ""
        if kind == "tc":
            return [("send", ans.tc_empty())], kind, ""
        if kind == "wrong_id":
            qid = (ans.qid + rng.randint(1, 0xffff)) & 0xffff
            w = ans.wire(qid=qid)
            if udp and len(w) > UDP_MAX:
                w = ans.tc_empty(qid=qid)
            return [("send", w)], kind, ""
        if kind == "truncated":
            w = bytearray(ans.wire())
            w[2] |= 0x02
            cut = rng.randint(0, len(w) - 1)
            if udp:
                return [("send", bytes(w[:cut]))], kind, "cut %d/%d" % (cut, len(w))
            if rng.random() < 0.5:
                return [("raw", struct.pack("!H", cut) + bytes(w[:cut]))], kind, \
                    "cut %d/%d" % (cut, len(w))
            return [("raw", struct.pack("!H", len(w)) + bytes(w[:cut])), ("close", b"")], \
                kind, "short %d/%d, close" % (cut, len(w))
        if kind == "comp_loop":
            w, detail = self.comp_loop(ans, rng)
            return [("send", w)], kind, detail
        if kind == "wrong_type":
            w, kind = self.wrong_type(ans, rng)
            if udp and len(w) > UDP_MAX:
                w = ans.tc_empty()
            return [("send", w)], kind, ""
        if kind == "rdata":
            w, detail = self.bad_rdata(ans, rng)
            return [("send", w)], kind, detail
        if kind == "wrong_question":
            w, detail = self.wrong_question(ans, rng)
            if udp and len(w) > UDP_MAX:
                w = ans.tc_empty()
            return [("send", w)], kind, detail
        if kind == "big_txt":
            w, detail = self.big_txt(ans, rng)
            return [("send", w)], kind, detail
        if kind == "drip":
            return [("drip", ans.wire())], kind, ""
        raise ValueError("unknown mutation %r" % kind)

    # ---- the mutations

    def comp_loop(self, ans, rng):
        """A packet whose first answer name never ends well."""
        v = rng.choice(["self", "label-back", "past-end", "chain", "chain-loop"])
        qsec = qsection(ans.qname, ans.qtype, ans.qclass)
        base = 12 + len(qsec)
        rdata = ans.rrs[0][3] if ans.rrs else b"\x04junk"
        rtype = ans.rrs[0][1] if ans.rrs else ans.qtype
        rrs = []
        if v == "self":
            owner = struct.pack("!H", 0xC000 | base)
        elif v == "label-back":
            owner = b"\x03abc" + struct.pack("!H", 0xC000 | base)
        elif v == "past-end":
            owner = struct.pack("!H", 0xC000 | (0x3fff - rng.randint(0, 100)))
        else:
            # An earlier record of an unknown type whose rdata is the chain:
            # pointer k points at pointer k-1, pointer 0 at the qname (12)
            # or, for a loop, at the last pointer.
            n = rng.randint(20, 300)
            owner0 = struct.pack("!H", 0xC00C)
            start = base + len(owner0) + 10
            ptrs = []
            for k in range(n):
                if k == 0:
                    target = 12 if v == "chain" else start + 2 * (n - 1)
                else:
                    target = start + 2 * (k - 1)
                ptrs.append(struct.pack("!H", 0xC000 | target))
            rrs.append(owner0 + struct.pack("!HHIH", 65280, 1, ans.ttl, 2 * n) + b"".join(ptrs))
            owner = struct.pack("!H", 0xC000 | (start + 2 * (n - 1)))
            v = "%s %d" % (v, n)
        rrs.append(owner + struct.pack("!HHIH", rtype, 1, ans.ttl, len(rdata)) + rdata)
        w = header(ans.qid, flags_of(ans.reply), 1, len(rrs)) + qsec + b"".join(rrs)
        return w, v

    def wrong_type(self, ans, rng):
        owner = ans.qname
        if ans.qtype == QTYPE.TXT:
            rrs = [(owner, QTYPE.A, ans.ttl, bytes([192, 0, 2, rng.randint(1, 254)]))]
            return ans.wire(rrs=rrs), "wrong_type_only"
        extra = [(owner, QTYPE.TXT, ans.ttl, b"\x13hostile wrong type!"),
                 (owner, QTYPE.MX, ans.ttl, b"\x00\x0a" + enc_name("mx.invalid")),
                 (owner, QTYPE.A if ans.qtype != QTYPE.A else QTYPE.AAAA, ans.ttl,
                  bytes(4) if ans.qtype != QTYPE.A else bytes(16))]
        rrs = list(ans.rrs) + extra
        rng.shuffle(rrs)
        return ans.wire(rrs=rrs), "wrong_type_extra"

    def bad_rdata(self, ans, rng):
        """Every record of the asked type made invalid (or one added)."""
        v = rng.choice(["len-past-end", "len-short", "bad-content"])
        rrs = list(ans.rrs) or [(ans.qname, ans.qtype, ans.ttl, b"\x04junk")]
        out = []
        for o, t, ttl, rd in rrs:
            if v == "len-past-end":
                rl = len(rd) + rng.randint(1, 600)
                out.append((o, t, ttl, (lambda o, t, ttl, rd=rd, rl=rl:
                                        rr_raw(o, t, ttl, rd, rdlen=rl))))
            elif v == "len-short":
                rl = rng.randint(0, max(0, len(rd) - 1))
                out.append((o, t, ttl, (lambda o, t, ttl, rd=rd, rl=rl:
                                        rr_raw(o, t, ttl, rd, rdlen=rl))))
            else:
                junk = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 40)))
                if t == QTYPE.A:
                    rd2 = bytes(rng.randint(0, 255) for _ in range(rng.choice([3, 5, 0, 8])))
                elif t == QTYPE.AAAA:
                    rd2 = bytes(rng.randint(0, 255) for _ in range(rng.choice([15, 17, 4])))
                elif t in (QTYPE.TXT, 99):
                    rd2 = bytes([len(junk) + rng.randint(1, 200) & 0xff or 255]) + junk
                    if rd2[0] <= len(junk):
                        rd2 = bytes([255]) + junk
                else:           # names: a reserved label type (01xxxxxx / 10xxxxxx)
                    rd2 = bytes([rng.randint(0x40, 0xBF)]) + junk
                    if t == QTYPE.MX:
                        rd2 = b"\x00\x0a" + rd2
                out.append((o, t, ttl, rd2))
        return ans.wire(rrs=out), v

    def wrong_question(self, ans, rng):
        v = rng.choice(["qname", "qdcount0", "qdcount2", "qtype", "qclass"])
        if v == "qname":
            other = enc_name("x%d.%s" % (rng.randint(0, 999),
                                         _label(ans.request.q.qname)))
            return ans.wire(question=qsection(other, ans.qtype, ans.qclass)), v
        if v == "qdcount0":
            return ans.wire(question=b"", qd=0), v
        if v == "qdcount2":
            qs = qsection(ans.qname, ans.qtype, ans.qclass)
            return ans.wire(question=qs + qs, qd=2), v
        if v == "qtype":
            qt = QTYPE.A if ans.qtype != QTYPE.A else QTYPE.TXT
            return ans.wire(question=qsection(ans.qname, qt, ans.qclass)), v
        return ans.wire(question=qsection(ans.qname, ans.qtype, 3)), v

    def big_txt(self, ans, rng):
        """The real records plus padding TXT records (TCP only)."""
        room = 65535 - len(ans.wire()) - 64
        v = rng.choice(["one", "one", "many"])
        pads = []
        if v == "one":
            target = min(room - 16, rng.choice([200, 1000, 4000, 8191, 8193, 16000,
                                                32000, 48000, 64000]))
            strings, total = [], 0
            while True:
                n = rng.randint(0, 255)
                if total + 1 + n > target:
                    break
                strings.append(bytes([n]) + b"p" * n)
                total += 1 + n
            rd = b"".join(strings) or b"\x00"
            pads.append((ans.qname, QTYPE.TXT, ans.ttl, rd))
            detail = "one record, %d bytes in %d strings" % (len(rd), len(strings))
        else:
            n = rng.randint(10, 200)
            per = max(0, min(251, (room // n) - 40))
            for k in range(n):
                m = rng.randint(0, per)
                pads.append((ans.qname, QTYPE.TXT, ans.ttl,
                             bytes([m + 4]) + b"pad=" + b"q" * m))
            detail = "%d records" % n
        rrs = pads + list(ans.rrs)
        rng.shuffle(rrs)
        pos = [i for i, r in enumerate(rrs) if r in ans.rrs]
        w = ans.wire(rrs=rrs)
        if len(w) > 65535:      # cannot happen by the sums above; be safe
            return ans.wire(), "too big, sent valid"
        return w, detail + ", real at %s, %d bytes" % (pos, len(w))


_UDP = dnsserver._UDPServer


class _TCP(dnsserver._TCPServer):
    request_queue_size = 128    # many clients reconnect at once under load


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        for mode, w in self.server.owner.respond(data, "udp"):
            try:
                sock.sendto(w, self.client_address)
            except OSError:
                pass


class _TCPHandler(dnsserver._TCPHandler):
    """dnsserver's framing (_read), with answers that can misbehave."""

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
                for mode, w in self.server.owner.respond(data, "tcp"):
                    if mode == "send":
                        self.request.sendall(struct.pack("!H", len(w)) + w)
                    elif mode == "raw":
                        self.request.sendall(w)
                    elif mode == "close":
                        return
                    elif mode == "drip":
                        msg = struct.pack("!H", len(w)) + w
                        t_end = time.monotonic() + DRIP_MAX
                        for i in range(0, len(msg), DRIP_BYTES):
                            if time.monotonic() > t_end:
                                return
                            self.request.sendall(msg[i:i + DRIP_BYTES])
                            time.sleep(DRIP_PERIOD)
        except OSError:
            return


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    dns = HostileDNS(host="127.0.0.1", port=port)
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
                if "rate" in cmd:
                    dns.rate = float(cmd["rate"])
                if "kinds" in cmd:      # restrict the mutations to these
                    bad = [k for k in cmd["kinds"] if k not in KINDS]
                    if bad:
                        raise ValueError("unknown kinds %s" % bad)
                    dns.kinds = list(cmd["kinds"]) or list(KINDS)
                if "seed" in cmd:
                    dns.rng = random.Random(cmd["seed"])
                if "ttl" in cmd:
                    dns.ttl = int(cmd["ttl"])
                if cmd.get("stats"):
                    with dns._hlock:
                        c = dict(dns.counts)
                    out = {"queries": c.get("queries", 0), "udp": c.get("udp", 0),
                           "tcp": c.get("tcp", 0),
                           "kinds": {k: v for k, v in c.items() if ":" in k}}
                if "history" in cmd:
                    with dns._hlock:
                        out = {n: list(dns.history.get(n, ())) for n in cmd["history"]}
            except Exception as e:          # noqa: BLE001 - report, go on
                out = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
    finally:
        dns.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
