"""
Write your own searcher and check it with the contract
======================================================

A searcher takes only its hyper-parameters in ``__init__`` and implements ``search(space, oracle,
budget, rng)``: draw every random number from ``rng``, ask ``oracle.query(arch_id)`` for a score
(larger is better whatever the objective's direction), stop when ``oracle.remaining`` is 0.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
"""

# %%
# A greedy random walk
# --------------------
# Restart at random; move to a random neighbour only when it is better; after ``patience`` failed
# moves, restart.
import numpy as np

import nares_nas
from nares_nas.runs.search import run_search
from nares_nas.searchers import RandomSearch, Searcher
from nares_nas.searchers.contract import check_searcher


class GreedyWalk(Searcher):
    """A greedy random walk with restarts."""

    def __init__(self, patience: int = 20):
        self.patience = patience  # failed moves before a restart

    def search(self, space, oracle, budget, rng):
        while oracle.remaining > 0:
            current = space.sample(rng)
            score, misses = oracle.query(current), 0
            while misses < self.patience and oracle.remaining > 0:
                candidate = space.random_neighbour(current, rng)
                new = oracle.query(candidate)  # larger is better; repeats are free
                if new > score:
                    current, score, misses = candidate, new, 0
                else:
                    misses += 1


# %%
# The contract
# ------------
# ``check_searcher`` runs the checks every built-in passes: the budget is kept and spent, a seed
# gives the same run every time (also after pickling, and when several seeds run together), and the
# hyper-parameters round-trip. It raises ``AssertionError`` on a breach, and returns None when all hold.
print(check_searcher(GreedyWalk))

# %%
# A searcher that stops early breaks the contract, and the check says how:
class Lazy(Searcher):
    def search(self, space, oracle, budget, rng):
        oracle.query(space.sample(rng))  # one query, then gives up


try:
    check_searcher(Lazy)
except AssertionError as error:
    print("refused:", str(error).splitlines()[0])

# %%
# On equal terms
# --------------
# The same budget accounting, seeds and clock as the built-ins: 30 runs of 500 queries each.
bench = nares_nas.load("synthetic")
values = bench.metric_by_id("VAL_PGD_ACC")
for searcher in (RandomSearch(), GreedyWalk(patience=20), GreedyWalk(patience=60)):
    best = [t.best_value for t in run_search(searcher, values, seeds=range(30), budget=500)]
    print(f"{searcher!r:35s} mean best {np.mean(best):.3f} ± {np.std(best, ddof=1):.3f} (SYNTHETIC stand-in)")
