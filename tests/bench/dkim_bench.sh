#!/bin/sh
# SPDX-License-Identifier: ISC
# dkim_bench.sh [--messages N] [--dir DIR] - DKIM/ARC speed of
# relaytrust-verify against dkimpy and opendkim-testmsg with the OpenSSL
# floor; see tests/bench/dkim_bench.py (this is what tests/bench/run calls).
exec /usr/bin/python3 "$(dirname "$0")/dkim_bench.py" "$@"
