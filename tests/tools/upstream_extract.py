#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Re-create the extracts of tests/data/UPSTREAM (received/) from the
upstream files.

    extract.py spamassassin t/rcvd_parser.t      > spamassassin-rcvd_parser.json
    extract.py rspamd src/libmime/received.cxx   > rspamd-received.json

(stalwart-received.json is resources/received.json of mail-parser, byte
for byte, and needs no extraction.)  The values are copied unmodified:
SpamAssassin's single-quoted Perl strings have no escapes in that file,
and the C++ string literals of rspamd's doctest table are decoded as a C++
compiler would (adjacent literals joined, \\n \\t \\0 and octal escapes).
The output records the upstream line of each case, so that a reader can
check it against the source; see tests/data/UPSTREAM for the commits.
"""
import json
import re
import sys


def spamassassin(text):
    """The %data = ( 'hdr' => 'expected', ... ) table of t/rcvd_parser.t."""
    start = text.index("my %data = (")
    end = text.index("\n);", start)
    body = text[start + len("my %data = ("):end]
    base_line = text[:start].count("\n") + 1
    strings = []  # (line, value)
    comment = None
    i = 0
    while i < len(body):
        c = body[i]
        if c == "#":
            j = body.index("\n", i)
            comment = body[i + 1:j].strip()
            i = j
        elif c == "'":
            j = body.index("'", i + 1)
            strings.append((base_line + body[:i].count("\n"), body[i + 1:j],
                            comment))
            comment = None
            i = j + 1
        else:
            if c not in " \t\r\n,=>":
                raise ValueError("unexpected %r at line %d"
                                 % (c, base_line + body[:i].count("\n")))
            i += 1
    if len(strings) % 2:
        raise ValueError("odd number of strings")
    cases = {}
    for k in range(0, len(strings), 2):
        line, header, comment = strings[k]
        _, expected, _ = strings[k + 1]
        # a Perl hash: a repeated key keeps the last value
        cases[header] = {"line": line, "header": header, "expected": expected}
        if comment:
            cases[header]["comment"] = comment
    return list(cases.values())


_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _cxx_string(lit):
    out, i = [], 0
    while i < len(lit):
        c = lit[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = lit[i + 1]
        if n in "01234567":
            m = re.match(r"[0-7]{1,3}", lit[i + 1:])
            out.append(chr(int(m.group(0), 8)))
            i += 1 + len(m.group(0))
        else:
            out.append(_ESC[n])
            i += 2
    return "".join(out)


def rspamd(text):
    """The cases vector of TEST_CASE("parse received") in received.cxx."""
    start = text.index('TEST_CASE("parse received")')
    start = text.index("cases{", start) + len("cases{")
    end = text.index("\n\t\t};", start)
    body = text[start:end]
    base_line = text[:start].count("\n") + 1
    tok_re = re.compile(r'"((?:[^"\\]|\\.)*)"(sv)?|//[^\n]*|[{}(),]|\s+')
    toks = []
    pos = 0
    while pos < len(body):
        m = tok_re.match(body, pos)
        if not m:
            raise ValueError("cannot read %r" % body[pos:pos + 40])
        s = m.group(0)
        if s.startswith("//"):
            toks.append(("comment", s[2:].strip(), base_line + body[:pos].count("\n")))
        elif s.startswith('"'):
            toks.append(("str", _cxx_string(m.group(1)),
                         base_line + body[:pos].count("\n")))
        elif not s.isspace():
            toks.append((s, s, 0))
        pos = m.end()
    # join adjacent literals
    joined = []
    for t in toks:
        if t[0] == "str" and joined and joined[-1][0] == "str":
            joined[-1] = ("str", joined[-1][1] + t[1], joined[-1][2])
        else:
            joined.append(t)
    cases, comment, depth, cur, pair = [], None, 0, None, []
    for kind, val, line in joined:
        if kind == "comment":
            comment = val
        elif kind == "{":
            depth += 1
            if depth == 1:
                cur = {"line": None, "comment": comment, "header": None,
                       "expected": {}}
                comment = None
        elif kind == "}":
            if depth == 1:
                cases.append(cur)
            depth -= 1
        elif kind == "str":
            if depth == 1:
                cur["header"], cur["line"] = val, line
            elif depth == 3:
                pair.append(val)
                if len(pair) == 2:
                    cur["expected"][pair[0]] = pair[1]
                    pair = []
    return [{k: c[k] for k in ("line", "comment", "header", "expected")}
            for c in cases]


if __name__ == "__main__":
    which, path = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    data = {"spamassassin": spamassassin, "rspamd": rspamd}[which](text)
    json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
