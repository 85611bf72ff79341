# SPDX-License-Identifier: ISC
"""Cached SPF results of a worker that dies are no longer used (issue 20,
finding 5): a worker compromised through libspf2 could plant "pass" for
other senders, cached for up to an hour, that outlive it. Results carry
the worker's number; when the worker dies or misbehaves its results are
evaluated again. (On the code before the fix the third request below is a
cache hit.)"""
import os
import signal
import time

from test_metrics import action_word, get, scrape, start
from test_worker_death import children, wait_workers


def test_dead_workers_results_not_reused(policyd, dns):
    d = start(policyd, dns, {"workers": 1})
    assert action_word(d.request(sender="first@pass.example")) == "prepend"
    m0 = scrape(d.stats_port)
    assert get(m0, "relaytrust_spf_evaluations_total") == 2     # HELO, MAIL FROM
    # Again, another message: both results from the cache.
    d.request(sender="first@pass.example", instance="again.1")
    m1 = scrape(d.stats_port)
    assert get(m1, "relaytrust_spf_evaluations_total") == 2
    assert get(m1, "relaytrust_spf_cache_hits_total") - \
        get(m0, "relaytrust_spf_cache_hits_total") == 2
    # The worker that computed them dies; the pool notices and replaces it.
    old = wait_workers(d.pid, 1)[0]
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while children(d.pid) in ([], [old]):
        assert time.monotonic() < deadline, "worker not replaced"
        time.sleep(0.02)
    # Its results are not used: both evaluated again by the new worker.
    assert action_word(d.request(sender="first@pass.example", instance="again.2")) == "prepend"
    m2 = scrape(d.stats_port)
    assert get(m2, "relaytrust_spf_evaluations_total") == 4, \
        "a dead worker's cached results were reused"
    assert get(m2, "relaytrust_spf_cache_hits_total") == get(m1, "relaytrust_spf_cache_hits_total")
    # The new worker's results are cached as usual.
    d.request(sender="first@pass.example", instance="again.3")
    m3 = scrape(d.stats_port)
    assert get(m3, "relaytrust_spf_evaluations_total") == 4
    d.stop()
