#!/bin/sh
# SPDX-License-Identifier: ISC
# verify_bench.sh - header-only analysis speed of relaytrust-verify.
# Builds an mbox of about $RT_BENCH_MB MB (default 1024) under a temp dir,
# runs relaytrust-verify --json --offline on it (one process, one core),
# prints messages/s, MB/s and the peak RSS (/usr/bin/time -v).
# Targets (issue 4): over 200 MB/s, peak RSS under 64 MB.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${RT_BIN:-$ROOT/bin}
MB=${RT_BENCH_MB:-1024}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
python3 - "$TMP/bench.mbox" "$MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
body = ("x" * 76 + "\n") * 80          # ~6 KB body
def msg(i):
    return ("From s@example.com Mon Apr  1 10:00:00 2024\n"
            "Received: from mx.example.net (mx.example.net [10.0.0.2])\n"
            "\tby inbox.example.org (Postfix) with ESMTP id A%d\n"
            "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:09 +0000 (UTC)\n"
            "Received: from s.example.com (s.example.com [93.184.216.34])\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n"
            "\tby mx.example.net (Postfix) with ESMTPS id B%d\n"
            "\tfor <u@example.org>; Mon, 01 Apr 2024 10:00:05 +0000 (UTC)\n"
            "From: a@example.com\nTo: u@example.org\nSubject: bench %d\n"
            "Date: Mon, 01 Apr 2024 10:00:00 +0000\nMessage-ID: <%d@example.com>\n\n"
            % (i, i, i, i)) + body + ">From escaped\n\n"
with open(path, "w") as f:
    size, i, chunk = 0, 0, []
    while size < mb * 1000000:
        m = msg(i); chunk.append(m); size += len(m); i += 1
        if len(chunk) == 1000:
            f.write("".join(chunk)); chunk = []
    f.write("".join(chunk))
PY
SIZE=$(stat -c %s "$TMP/bench.mbox")
/usr/bin/time -v "$BIN/relaytrust-verify" --jobs 1 --json --offline --no-progress \
    --trusted 10.0.0.0/8 "$TMP/bench.mbox" >/dev/null 2>"$TMP/time.txt" || true
WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$TMP/time.txt")
RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
SUMMARY=$(grep '^relaytrust-verify:' "$TMP/time.txt" | tail -1)
echo "verify_bench: mbox $((SIZE / 1000000)) MB"
echo "verify_bench: $SUMMARY"
echo "verify_bench: wall $WALL, peak RSS $((RSS / 1024)) MB (target < 64 MB)"
