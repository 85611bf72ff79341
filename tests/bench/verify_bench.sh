#!/bin/sh
# SPDX-License-Identifier: ISC
# verify_bench.sh - header-only analysis speed of relaytrust-verify.
# Builds an mbox of about $RT_BENCH_MB MB (default 1024) under a temp dir,
# runs relaytrust-verify --offline on it $RT_BENCH_ROUNDS times (default 3)
# each way, alternating: --json --jobs 1, --json --jobs 2, --json --html
# FILE --jobs 1; prints the median wall times, peak RSS (/usr/bin/time
# -v) and the ratios. Targets: over 200 MB/s and under 64 MB (issue 4);
# --jobs 2 >= 1.8x --jobs 1 on two free cores, --html <= 2x the JSON run
# and under 64 MB (issue 19). With RT_BENCH_BASE=DIR, DIR/relaytrust-verify
# (an older build) runs --json --jobs 1 in the same rounds and the ratio is
# printed (issue 21: within 10 %).
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
ROUNDS=${RT_BENCH_ROUNDS:-3}
# run NAME ARGS...: ROUNDS runs, alternating with the others; the median
# wall time and the largest peak RSS are kept in $TMP/NAME.
run() {
	name=$1; shift
	bin=$BIN
	[ "$name" = base1 ] && bin=$RT_BENCH_BASE
	/usr/bin/time -v "$bin/relaytrust-verify" --offline --no-progress \
	    --trusted 10.0.0.0/8 "$@" "$TMP/bench.mbox" >/dev/null \
	    2>"$TMP/time.txt" || true
	awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":");
	    s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }
	    /Maximum resident set size/ { print "rss", $2 }' "$TMP/time.txt" \
	    >>"$TMP/$name"
	grep '^relaytrust-verify:' "$TMP/time.txt" | tail -1 >"$TMP/$name.sum"
}
i=0
while [ $i -lt "$ROUNDS" ]; do
	run json1 --jobs 1 --json
	[ -n "${RT_BENCH_BASE:-}" ] && run base1 --jobs 1 --json
	run json2 --jobs 2 --json
	run html1 --jobs 1 --json --html "$TMP/report.html"
	i=$((i + 1))
done
median() {	# of the wall times
	grep -v rss "$TMP/$1" | sort -n | awk '{ a[NR] = $1 }
	    END { print a[int((NR + 1) / 2)] }'
}
rss() {
	awk '/rss/ { if ($2 > m) m = $2 } END { printf "%d", m / 1024 }' "$TMP/$1"
}
J1=$(median json1); J2=$(median json2); H1=$(median html1)
echo "verify_bench: mbox $((SIZE / 1000000)) MB, $ROUNDS rounds, medians"
echo "verify_bench: $(cat "$TMP/json1.sum")"
echo "verify_bench: --json --jobs 1: ${J1} s wall, peak RSS $(rss json1) MB (target < 64 MB)"
echo "verify_bench: --json --jobs 2: ${J2} s wall, peak RSS $(rss json2) MB;" \
    "speed-up $(echo "$J1 $J2" | awk '{ printf "%.2f", $1 / $2 }')x (target >= 1.8x on 2 free cores, $(nproc) here)"
echo "verify_bench: --html --jobs 1: ${H1} s wall, peak RSS $(rss html1) MB;" \
    "$(echo "$H1 $J1" | awk '{ printf "%.2f", $1 / $2 }')x the JSON run (target <= 2x, < 64 MB)," \
    "report $(($(stat -c %s "$TMP/report.html") / 1000000)) MB"
if [ -n "${RT_BENCH_BASE:-}" ]; then
	B1=$(median base1)
	echo "verify_bench: base $RT_BENCH_BASE --json --jobs 1: ${B1} s wall;" \
	    "this build $(echo "$J1 $B1" | awk '{ printf "%.3f", $1 / $2 }')x its time (target <= 1.10x)"
fi
