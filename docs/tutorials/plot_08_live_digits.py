"""
Live mode on the digits profile
===============================

Live mode trains and evaluates, for real, an architecture the table lacks, and keeps the record in
a persistent cache. The ``nares`` profile is the NARes protocol (CIFAR-10, GPU-days); the ``digits``
profile is the same pipeline on scikit-learn's bundled 8×8 digits, small enough for a CPU. Here it is
shrunk further (3 epochs, a few hundred images) so that the docs build stays fast.

.. note:: These are real trainings, not the stand-in; but on a tiny profile their accuracies say
   nothing about NARes or CIFAR-10. Needs the ``torch`` extra.
"""

# %%
# A tiny profile
# --------------
# A profile is frozen data recorded with every result; ``dataclasses.replace`` derives one.
import dataclasses
import json
import tempfile
from pathlib import Path

from nares_nas.live.cache import RecordCache
from nares_nas.live.pipeline import train_and_evaluate
from nares_nas.live.profiles import get_profile
from nares_nas.runs.live import run_live_to_dir
from nares_nas.searchers import Asha

tiny = dataclasses.replace(get_profile("digits"), name="digits-tiny", epochs=3, lr_milestones=(2,),
                           save_epochs=(0,), train_limit=256, val_limit=64, test_limit=64, val_pgd_steps=2,
                           val_cw_steps=2, test_pgd_steps=3, test_cw_steps=3, aa_iters=3, aa_targets=1)
print(tiny.name, tiny.key, f"{tiny.epochs} epochs, base channels {tiny.base_channels}")

# %%
# Train and evaluate one architecture
# -----------------------------------
# ``nares-nas train 4,8,4,8,4,8 --profile digits --out DIR`` does this; the record has the keys of a
# NARes record (``cifar10.jsonl``), plus the profile and the exact size of the network it trained.
work = Path(tempfile.mkdtemp())
record = train_and_evaluate("4,8,4,8,4,8", tiny, seed=0, data_dir=None, out_dir=work / "arch", device="cpu",
                            progress=False)
best = record["train"][0]["best_epoch"]
print("best epoch", best, "| val PGD", record["train"][0]["pgd"][best], "| test PGD-20",
      record["test_best"][0]["Linf_pgd_acc"], "| AA", record["test_best"][0]["Linf_aa_acc"])
print("trained network:", json.dumps(record["model"]))

# %%
# A live search
# -------------
# ``search --live`` drives any proposing searcher the way the simulated clock does, with real
# trainings: here ASHA over the tiny profile's 3 epochs (``min_epochs=1``: rungs 1 and 3), 3
# architectures, 1 worker,
# every record going to a cache of its own.
cache = work / "live_cache.sqlite"
run, = run_live_to_dir(work / "asha", Asha(min_epochs=1), None, seeds=[0], profile=tiny, budget=3, workers=1,
                       device="cpu", cache=cache)
print("best VAL_PGD_ACC after the full 3 epochs:", run.trajectory.best_value)
evaluations = run.clock["evaluations"]
for key in ("arch_id", "epoch_from", "epoch_to", "cost", "source"):
    print(f"{key:10s}", evaluations[key])

# %%
# The cache now holds a record per (architecture, profile, seed, epochs trained); a later search, or
# ``nares-nas cache ls --cache FILE``, finds them without training again.
print(len(RecordCache(cache)), "records cached")
