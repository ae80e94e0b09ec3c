"""
Time, cost and workers on the simulated clock
=============================================

Every tabular search runs on a discrete-event simulation of N workers, one GPU each: a training
costs its recorded time, and several are in flight at once. So a search can be compared at equal
**cost** (GPU-days) or equal **time** (simulated days), not only at equal queries.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
"""

# %%
# The evaluation model
# --------------------
# An ``EvaluationModel`` holds each architecture's value and training cost at every fidelity.
import matplotlib.pyplot as plt
import numpy as np

import nares_nas
from nares_nas.runs.search import simulate_search
from nares_nas.simulation.budget import Budget, equal_cost
from nares_nas.simulation.model import EvaluationModel

bench = nares_nas.load("synthetic")
model = EvaluationModel.from_benchmark(bench, "VAL_PGD_ACC")
print(model.evaluate(441, 100))          # a full training of arch 441: its cost in GPU-days and its value
print(model.evaluate(441, 30, epoch_from=10))  # continuing it from epoch 10 to 30 costs a fifth of that

# %%
# One budget, more workers
# ------------------------
# The cost of 500 full trainings at the table's mean training time, spent by regularized evolution
# on 1, 4 and 16 workers: the GPU-days are the same, the simulated days shrink.
cost = equal_cost(bench)
print(f"budget: {cost:.1f} GPU-days")
runs = {workers: simulate_search("regularized_evolution", model, seeds=range(10), budget=Budget(cost=cost),
                                 workers=workers)
        for workers in (1, 4, 16)}
for workers, found in runs.items():
    print(f"{workers:2d} workers: {np.mean([r.cost_days for r in found]):6.1f} GPU-days, "
          f"{np.mean([r.time_days for r in found]):6.1f} simulated days, "
          f"best {np.mean([r.trajectory().best_value for r in found]):.3f} (mean of 10 runs)")

# %%
# The incumbent against simulated time: the best full training finished by each moment (seed 0).
fig, ax = plt.subplots(figsize=(6, 3.5))
for workers, found in runs.items():
    days, best = found[0].incumbent()
    ax.step(days, best, where="post", label=f"{workers} workers")
ax.set(xscale="log", xlabel="simulated days", ylabel="best VAL_PGD_ACC (%)",
       title="regularized evolution, seed 0 - SYNTHETIC stand-in")
ax.legend()
fig.tight_layout()

# %%
# The evaluation log
# ------------------
# Every evaluation is recorded: which worker, when it started and ended (simulated days), what it
# cost (GPU-days) and the value it gave. Equal times follow one rule (completions before starts,
# lowest worker first), so a run is a function of its seed, its searcher and the workers only.
for row in runs[4][0].log.rows()[:6]:
    print(row)
