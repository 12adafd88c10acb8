#!/usr/bin/env python3
"""Runs git bayesect itself on bench/bisect-flaky.ts's linear histories and draws.

Not part of stacklab: bench/bisect-flaky.ts calls this only when GIT_BAYESECT
names a checkout of github.com/hauntsaninja/git_bayesect (its git_bayesect.py
is imported from there; nothing of it is copied here) and python3 has numpy
and scipy (Debian: python3-numpy python3-scipy).

stdin: a JSON list of trials {"n", "culprit", "pNew", "pOld", "seed"} on an
n-commit line (commit 0 the good end, n-1 the bad end, the culprit in 1..n-1);
each run's outcome is the next draw of mulberry32(seed ^ 0x5bd1e995), as in
test/support/flaky-sim.ts, so both tools see the same draws in the same order.
stdout: a JSON list of {"runs", "named", "right"}.

It drives the tool's Bisector the way `git bayesect run` does: the prior over
the bad end back to the good end (the good end included, weight 1 each),
Jeffreys' priors on both rates, select() then record(), until the most likely
commit reaches 0.95; the answer is the one `git bayesect status` names (ties
toward the middle).
"""
import json
import os
import sys

sys.path.insert(0, os.environ["GIT_BAYESECT"])
import numpy as np  # noqa: E402
from git_bayesect import Bisector  # noqa: E402

M32 = 0xFFFFFFFF


def mulberry32(seed):
    a = seed & M32

    def draw():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return draw


def trial(t, confidence=0.95, max_runs=5000):
    n = t["n"]
    rand = mulberry32(t["seed"] ^ 0x5BD1E995)
    # the tool's index i is commit n-1-i: 0 the bad end, n-1 the good end
    b = n - 1 - t["culprit"]
    bisector = Bisector(np.ones(n))
    runs = 0
    while bisector.distribution.max() < confidence and runs < max_runs:
        i = bisector.select()
        p = t["pNew"] if i <= b else t["pOld"]
        bisector.record(i, rand() < p)
        runs += 1
    dist = bisector.distribution
    top = np.flatnonzero(np.isclose(dist, np.max(dist), rtol=1e-12, atol=1e-15))
    named = int(top[np.argmin(np.abs(top - n // 2))])
    return {"runs": runs, "named": n - 1 - named, "right": named == b}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--draws":
        r = mulberry32(int(sys.argv[2]))
        print(json.dumps([r() for _ in range(int(sys.argv[3]))]))
    else:
        print(json.dumps([trial(t) for t in json.load(sys.stdin)]))
