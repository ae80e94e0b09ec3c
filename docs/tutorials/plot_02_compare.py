"""
Run and compare searchers: Table 2 in small
===========================================

The paper's Table 2 runs random search, local search, regularized evolution and BANANAS 400 times
each, 500 queries per run. Here: three of them, 20 runs each (BANANAS, the slow one, is left out),
then the same runs read back as data.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
"""

# %%
# Table 2 from the command line
# -----------------------------
# ``nares-nas table2`` writes each searcher's runs to ``OUT/<searcher>/`` and the table as
# Markdown, CSV, LaTeX and JSON; ``cli.main`` runs the same command from Python.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from nares_nas import cli
from nares_nas.reports.results import read_results

out = Path(tempfile.mkdtemp()) / "t2-small"
cli.main(["table2", "--runs", "20", "--searchers", "random_search,local_search,regularized_evolution",
          "--data", "synthetic", "--out", str(out)])

# %%
# The finished runs as data
# -------------------------
# ``read_results`` reads the folders without re-running anything: a row per run and a row per
# evaluation.
results = read_results([out / name for name in ("random_search", "local_search", "regularized_evolution")])
print(results.runs.groupby("searcher")["best_value"].agg(["mean", "std", "count"]).round(3))

# %%
# Anytime curves: the best ``VAL_PGD_ACC`` found after each query, mean over the 20 runs.
fig, ax = plt.subplots(figsize=(6, 3.5))
for searcher, evaluations in results.evaluations.groupby("searcher"):
    curves = [np.maximum.accumulate(run["value"].to_numpy()) for _, run in evaluations.groupby("seed")]
    length = min(map(len, curves))
    ax.plot(np.arange(1, length + 1), np.mean([c[:length] for c in curves], axis=0), label=searcher)
ax.set(xscale="log", xlabel="queries", ylabel="best VAL_PGD_ACC (%)", title="SYNTHETIC stand-in, 20 runs")
ax.legend()
fig.tight_layout()
