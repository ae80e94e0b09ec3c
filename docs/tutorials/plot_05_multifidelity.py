"""
Multi-fidelity search
=====================

Successive halving, Hyperband, ASHA and BOHB train many architectures for a few epochs and
promote the best to more: a promoted architecture continues from its epoch, and only the added
epochs are charged. Compared at equal cost (GPU-days) with a full-training searcher.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results, and
   its fidelity study (how well few epochs rank) is synthetic too; do not tune ``min_epochs`` to it.
"""

# %%
# Rungs
# -----
# With ``min_epochs=4`` and ``eta=3``, ASHA's rungs over the 100 epochs are 4, 12, 36 and 100.
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

import nares_nas
from nares_nas.runs.search import simulate_search
from nares_nas.searchers import Asha
from nares_nas.simulation.budget import Budget, equal_cost
from nares_nas.simulation.model import EvaluationModel

bench = nares_nas.load("synthetic")
model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
budget = Budget(cost=equal_cost(bench))  # the cost of 500 full trainings

run, = simulate_search(Asha(min_epochs=4), model, seeds=[0], budget=budget, workers=8)
counts = Counter(zip(run.log.epoch_from, run.log.epoch_to))
print("evaluations by (from, to) epochs:", dict(sorted(counts.items())))
print(f"{len(set(run.log.arch_id))} architectures, {run.cost_days:.1f} GPU-days, {run.time_days:.1f} simulated days")

# %%
# Equal cost, 8 workers
# ---------------------
# Twenty runs of each: the mean best full-training ``VAL_PGD_ACC`` and the simulated days.
results = {}
for name in ("regularized_evolution", "hyperband", "asha", "bohb"):
    runs = simulate_search(name, model, seeds=range(20), budget=budget, workers=8)
    results[name] = runs
    print(f"{name:22s} best {np.mean([r.trajectory().best_value for r in runs]):.3f}, "
          f"{np.mean([r.time_days for r in runs]):5.1f} simulated days (mean of 20; SYNTHETIC stand-in)")

# %%
# The incumbent against simulated time, averaged over the runs on a common grid.
grid = np.linspace(0.5, 45, 90)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, runs in results.items():
    curves = []
    for r in runs:
        days, best = r.incumbent()
        index = np.searchsorted(days, grid, side="right") - 1
        curves.append(np.where(index >= 0, best[np.maximum(index, 0)], np.nan))
    ax.plot(grid, np.nanmean(curves, axis=0), label=name)
ax.set(xlabel="simulated days (8 workers)", ylabel="best VAL_PGD_ACC (%)", title="SYNTHETIC stand-in, 20 runs")
ax.legend()
fig.tight_layout()
