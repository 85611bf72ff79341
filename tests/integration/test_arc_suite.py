# SPDX-License-Identifier: ISC
"""ValiMail's ARC validation test suite through bin/relaytrust-verify.

Every test of arc_test_suite/arc-draft-validation-tests.yml (tests/data/UPSTREAM) (10
scenarios, 171 tests; see the README there) is one pytest test, id
"<scenario description>/<test id>".  Our arc.result (SPEC 3.3; verifier/arc.c)
must be the test's expected `cv` (Pass, Fail, None), lower-cased, except for
the cases in KNOWN_DIFFERENCES, which must still differ (so that a change is
noticed and the entry removed).

How the suite is fed, the way its own runner (testarc.py +
runners/validatedkimpy.py, i.e. dkimpy's arc_verify) sees it:
  - message: the YAML text with every LF turned into CRLF (dkimpy parses the
    LF file it is given into CRLF lines); no other change.  An empty message
    is an empty file.
  - keys: the scenario's `txt-records` as a --keys zone file, one line
    `NAME TXT "..." "..."` per record, cut into 255-byte strings as the
    suite's DNS server (arcdns.py) serves them; joined again when read.
  - time: the suite has none and its runner checks at the current time; its
    signatures have t= values around 12345 and no x= (asserted below), so
    nothing can expire.  --at is the greatest t= of the scenario, so that no
    signature is dated after the time it is checked at.
  - one run per scenario: a directory with one TESTID.eml per test (each file
    one message, exact bytes), `relaytrust-verify --offline --json
    --no-progress --keys ZONE --at T DIR`; objects are matched to tests by
    their "source".

A name missing from --keys is not NXDOMAIN under --offline (the suite's DNS
server answers NXDOMAIN for it): the key was not looked up, and the chain
is temperror, not fail. RFC 8617 5.2.1 makes every error, DNS failures
included, a "fail" for a receiver deciding at delivery; a forensic run that
did not look a key up must not say the chain is broken (through DNS that
answers NXDOMAIN the same case is fail, as the suite wants:
test_verify_dmarc and the DKIM tests cover NXDOMAIN). Public
Key/public_key_na is a known difference for that reason.
"""
import json
import os
import re
import subprocess
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RT_BIN = os.environ.get("RT_BIN", os.path.join(ROOT, "bin"))
VERIFY = os.path.join(RT_BIN, "relaytrust-verify")
SUITE_NAME = "arc_test_suite"

# The suite's expectation is not RFC 8617's; ours is.  Each comes from a draft
# older than -18 or from dkimpy (the suite's reference validator): draft -18
# already reads like RFC 8617 on all six.
KNOWN_DIFFERENCES = {
    "Chain Validation/cv_fail_i1_as_cv_fail": "suite wants no result (dkimpy: chain terminated); newest AS cv=fail is fail (RFC 8617 5.2 step 2)",
    "Chain Validation/cv_fail_i2_as2_fail": "suite wants no result (dkimpy: chain terminated); newest AS cv=fail is fail (RFC 8617 5.2 step 2)",
    "Chain Validation/cv_fail_i2_as1_fail": "suite wants no result (dkimpy: chain terminated); any AS with cv=fail is fail (RFC 8617 5.2 step 3.3)",
    "Arc Message Signature Fields/ams_fields_c_na": "no c= is simple/simple as in DKIM (RFC 8617 4.1.2, RFC 6376 3.5); this AMS was signed relaxed, as draft-andersen-arc-05 5.1.2.1.2 implied",
    "Arc Message Signature Fields/ams_fields_h_empty": "empty h= is a syntax error: PERMFAIL (RFC 8617 4.1.2 -> RFC 6376 3.5 ABNF, 6.1.1); dkimpy accepts it",
    "Public Key/public_key_na": "--offline: the key is not in --keys, so not looked up: temperror, not RFC 8617 5.2.1's fail (through DNS, NXDOMAIN gives fail)",
    "Arc Message Signature Fields/ams_fields_h_mis_hdr": "empty name in h= (to::date) is a syntax error: PERMFAIL (RFC 8617 4.1.2 -> RFC 6376 3.5 ABNF, 6.1.1); dkimpy skips it",
}

def _load_suite():
    """(scenarios, cases); without the suite on this machine one placeholder
    case that is skipped with the reason (tests/data/UPSTREAM)."""
    import conftest
    try:
        d = conftest.upstream_data(SUITE_NAME)
    except pytest.skip.Exception as e:
        return [], [pytest.param(None, None, None, marks=pytest.mark.skip(reason=str(e)))]
    with open(os.path.join(d, "arc-draft-validation-tests.yml"), "rb") as f:
        scenarios = list(yaml.safe_load_all(f))
    return scenarios, [(s["description"].strip(), tid, t)
                       for s in scenarios for tid, t in s["tests"].items()]


SCENARIOS, CASES = _load_suite()

_TAG_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(.*)", re.S)


def message_bytes(text):
    """The message as the suite's validators see it: CRLF line ends."""
    return text.replace("\n", "\r\n").encode("ascii")


def arc_tags(text):
    """Tag dicts of the ARC-Seal and ARC-Message-Signature fields."""
    head = text.split("\n\n", 1)[0]
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += line
        elif line:
            fields.append(line)
    out = []
    for f in fields:
        name, _, value = f.partition(":")
        if name.strip().lower() not in ("arc-seal", "arc-message-signature"):
            continue
        tags = {}
        for part in value.split(";"):
            m = _TAG_RE.match(part)
            if m:
                tags[m.group(1).lower()] = re.sub(r"\s+", "", m.group(2))
        out.append(tags)
    return out


def check_time(scenario):
    """--at for a scenario: its greatest t=; there is no x= to judge."""
    ts = []
    for t in scenario["tests"].values():
        for tags in arc_tags(t["message"]):
            assert "x" not in tags, "x= in the suite: --at must judge expiry"
            if tags.get("t", "").isdigit():
                ts.append(int(tags["t"]))
    assert ts
    return max(ts)


def zone_text(records):
    lines = []
    for name, txt in records.items():
        assert not re.search(r'["\\\r\n]', txt), name   # as is, quoted
        parts = [txt[i:i + 255] for i in range(0, len(txt), 255)] or [""]
        lines.append("%s TXT %s\n" % (name, " ".join('"%s"' % p for p in parts)))
    return "".join(lines)


def conftest_skip():
    import conftest
    conftest.upstream_data(SUITE_NAME)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{"scenario/test": our arc.result}, one verifier run per scenario."""
    base = tmp_path_factory.mktemp("arc_suite")
    out, t0 = {}, time.monotonic()
    for n, s in enumerate(SCENARIOS):
        name = s["description"].strip()
        d = base / ("s%02d" % n)
        d.mkdir()
        zone = base / ("s%02d.zone" % n)
        zone.write_text(zone_text(s["txt-records"]))
        for tid, t in s["tests"].items():
            (d / (tid + ".eml")).write_bytes(message_bytes(t["message"]))
        p = subprocess.run([VERIFY, "--offline", "--json", "--no-progress",
                            "--keys", str(zone), "--at", str(check_time(s)), str(d)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        assert p.returncode in (0, 1), p.stderr.decode()
        seen = {}
        for line in p.stdout.decode().splitlines():
            obj = json.loads(line)
            tid = os.path.basename(obj["source"])[:-len(".eml")]
            assert tid not in seen, "two objects for %s" % tid
            seen[tid] = obj["arc"]["result"]
        assert sorted(seen) == sorted(s["tests"]), p.stderr.decode()
        for tid, res in seen.items():
            out["%s/%s" % (name, tid)] = res
    out["_seconds"] = time.monotonic() - t0
    return out


def expected(test):
    return (test["cv"] or "").strip().lower()


@pytest.mark.parametrize("scenario,tid,test", CASES,
                         ids=["%s/%s" % c.values[:2] if hasattr(c, "values") else
                              "%s/%s" % (c[0], c[1]) for c in CASES])
def test_arc_suite(results, scenario, tid, test):
    key = "%s/%s" % (scenario, tid)
    ours, want = results[key], expected(test)
    if key in KNOWN_DIFFERENCES:
        assert ours != want, "%s now agrees with the suite (%s): remove it " \
            "from KNOWN_DIFFERENCES" % (key, want)
    else:
        assert ours == want, "%s: %s\nsuite %r, ours %r" % (
            key, test["description"], want, ours)


def test_arc_suite_summary(results):
    if not SCENARIOS:
        conftest_skip()
    assert len(SCENARIOS) == 10 and len(CASES) == 171
    keys = {"%s/%s" % (s, tid) for s, tid, _ in CASES}
    assert len(keys) == len(CASES)
    assert set(KNOWN_DIFFERENCES) <= keys
    agree = sum(results[k] == expected(t) for k, t in
                (("%s/%s" % (s, tid), t) for s, tid, t in CASES))
    print("arc suite: %d/%d agree, %d known differences, %.1f s"
          % (agree, len(CASES), len(KNOWN_DIFFERENCES), results["_seconds"]))
