"""
Multi-objective search against the exact front
==============================================

NARes is exhaustive, so it knows the **exact** Pareto front of any two or three metrics. A
multi-objective search is scored by its hypervolume regret against that front, in a fixed scoring
space: each objective normalised to [0, 1] over the whole table, the reference point at 1.1.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
"""

# %%
# The problem and its exact front
# -------------------------------
# Robustness (validation PGD-20 accuracy, maximised) against MACs (minimised), among architectures
# of at most 2·10¹⁰ MACs.
import matplotlib.pyplot as plt
import numpy as np

import nares_nas
from nares_nas.pareto.problem import Problem
from nares_nas.runs.multiobjective import run_mo_search

bench = nares_nas.load("synthetic")
problem = Problem.from_benchmark(bench, "VAL_PGD_ACC:max,MACS:min", ["MACS<=2e10"])
print(problem.describe())
front = problem.exact_front()
print(f"{len(front)} architectures on the exact front; its hypervolume {problem.exact_hypervolume:.4f}")

# %%
# Searches
# --------
# Ten runs of 300 queries each of multi-objective random search, regularized evolution and NSGA-II;
# their hypervolume regret after the last query (lower is better). Ten runs are far too few to rank
# them: the effect is about 0.01 of regret against a spread of several hundredths (the studies measure
# it over 200 seeds).
runs = {name: run_mo_search(name, bench, problem.objectives, problem.constraints, seeds=range(10), budget=300)
        for name in ("mo_random_search", "mo_regularized_evolution", "nsga2")}
for name, found in runs.items():
    regret = [r.scores.hv_regret[-1] for r in found]
    print(f"{name:25s} HV regret {np.mean(regret):.4f} ± {np.std(regret, ddof=1):.4f} (SYNTHETIC stand-in)")

# %%
# The exact front and one found front per searcher (seed 0).
pgd, macs = bench.metric_by_id("VAL_PGD_ACC"), bench.metric_by_id("MACS")
fig, ax = plt.subplots(figsize=(6, 4))
ax.step(macs[front] / 1e9, pgd[front], where="post", color="black", lw=2, label="exact front")
for name, found in runs.items():
    ids = np.asarray(found[0].scores.front)
    order = np.argsort(macs[ids])
    ax.step(macs[ids][order] / 1e9, pgd[ids][order], where="post", label=name)
ax.set(xlabel="GMACs", ylabel="VAL_PGD_ACC (%)", title="found fronts, seed 0 - SYNTHETIC stand-in")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The regret after each query, mean over the runs:
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, found in runs.items():
    ax.plot(np.arange(1, 301), np.mean([r.scores.hv_regret[:300] for r in found], axis=0), label=name)
ax.set(xscale="log", yscale="log", xlabel="queries", ylabel="hypervolume regret", title="SYNTHETIC stand-in")
ax.legend(fontsize=8)
fig.tight_layout()
