"""
Optuna and Syne Tune
====================

The optimizers you already use run on NARes on equal terms with ours: Optuna's samplers as
searchers (same budget accounting, seeds and clock), and Syne Tune's schedulers on an export of
the table in its tabular blackbox format.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
   It needs the ``optuna`` and ``synetune`` extras (the docs build installs both).
"""

# %%
# Optuna samplers as searchers
# ----------------------------
# ``optuna:NAME`` is the sampler ``NAME`` of ``optuna.samplers``; ``OptunaSearcher`` takes its
# keyword arguments. Each run is one in-memory study whose sampler seed comes from the run's seed.
import importlib.util
import tempfile
from pathlib import Path

import numpy as np

import nares_nas
from nares_nas.integrations.optuna import OptunaSearcher
from nares_nas.integrations.synetune import export_syne_tune
from nares_nas.runs.search import run_search

bench = nares_nas.load("synthetic")
values = bench.metric_by_id("VAL_PGD_ACC")
searchers = {"optuna:TPESampler": OptunaSearcher(sampler="TPESampler", sampler_kwargs={"n_startup_trials": 10}),
             "optuna:RandomSampler": OptunaSearcher(sampler="RandomSampler"),
             "regularized_evolution": "regularized_evolution"}
for name, searcher in searchers.items():
    best = [t.best_value for t in run_search(searcher, values, seeds=range(3), budget=150)]
    print(f"{name:22s} mean best {np.mean(best):.3f} over 3 runs of 150 queries (SYNTHETIC stand-in)")

# %%
# The same from the command line: ``nares-nas search --algo optuna:TPESampler --runs 30 --out DIR``,
# and in Table 2: ``--searchers regularized_evolution,optuna:TPESampler``.
#
# Syne Tune's tabular blackbox
# ----------------------------
# ``export_syne_tune`` (``nares-nas export syne-tune DIR``) writes the table with the six decision
# variables as hyper-parameters, ``hp_epoch`` as the fidelity and every history metric after that many
# epochs; Syne Tune's own reader loads it.
from syne_tune.blackbox_repository.blackbox_tabular import deserialize  # noqa: E402

export = Path(tempfile.mkdtemp()) / "st-export"
export_syne_tune(bench, export)
blackbox = deserialize(str(export))["cifar10"]
print(blackbox.configuration_space)
print(blackbox.objectives_names[:4], "...", "fidelities", blackbox.fidelity_values[:3], "...")
configuration = {"hp_D1": 5, "hp_W1": 10, "hp_D2": 5, "hp_W2": 10, "hp_D3": 5, "hp_W3": 10}
print(blackbox.objective_function(configuration, fidelity=100))

# %%
# Syne Tune's ASHA and BOHB against ours
# --------------------------------------
# ``experiments/synetune_asha_bohb.py`` runs Syne Tune's schedulers on its simulator, then nares-nas's
# ``asha`` and ``bohb`` with the same workers and simulated days. Syne Tune's ASHA is the *stopping*
# variant, ours the *promotion* one (the how-to explains the difference). Here: 4 workers, a quarter of
# a simulated day.
script_path = Path(nares_nas.__file__).resolve().parents[1] / "experiments" / "synetune_asha_bohb.py"
spec = importlib.util.spec_from_file_location("synetune_asha_bohb", script_path)
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
script.main(["--data", "synthetic", "--export", str(export), "--workers", "4", "--max-time", "0.25"])
