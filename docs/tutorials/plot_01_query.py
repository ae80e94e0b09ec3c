"""
Query the table
===============

Load the benchmark, look architectures up, and read their metrics, per-epoch ones included.

.. note:: This tutorial runs on the **SYNTHETIC stand-in**: its numbers are not NARes results.
   After ``nares-nas data import``, ``nares_nas.load()`` reads the real table and the same code
   gives the real values.
"""

# %%
# Load
# ----
# ``nares_nas.load()`` reads the imported NARes data if there is one, else the synthetic stand-in;
# here we ask for the stand-in by name, and the benchmark says where its numbers come from.
import matplotlib.pyplot as plt
import numpy as np

import nares_nas

bench = nares_nas.load("synthetic")
print(bench.synthetic, "|", bench.provenance)

# %%
# One architecture
# ----------------
# An architecture is six choices ``D1, W1, D2, W2, D3, W3`` (blocks per stage, width multipliers);
# ``arch_id`` orders the 15,625 of them by MACs. A query gives a typed record with exact counts.
arch = nares_nas.Arch(5, 10, 5, 10, 5, 10)  # WRN-34-10
rec = bench.query(arch)
print(rec.arch_id, arch.params, arch.macs, rec.best_epoch)

# %%
# Metrics by their reference names: scalars are read at ``best_epoch`` (the first maximum of the
# validation CW-40 accuracy); accuracies are percent.
for name in ("VAL_PGD_ACC", "VAL_CW_ACC", "TEST_CLEAN_ACC", "TEST_AA_ACC", "TRAINING_TIME"):
    print(f"{name:15s} {bench.metric(rec.arch_id, name)}")

# %%
# After fewer epochs
# ------------------
# ``epochs=e`` gives a metric as the protocol would have selected it after ``e`` of the 100 epochs
# (the fidelity rule). The validation PGD-20 accuracy of this architecture, epoch by epoch:
epochs = range(1, 101)
values = [bench.metric(rec.arch_id, "VAL_PGD_ACC", epochs=e) for e in epochs]
history = rec.history.val_pgd_acc
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(1, 101), history, label="recorded at each epoch", lw=1)
ax.plot(epochs, values, label="selected after e epochs", lw=2)
ax.set(xlabel="epochs trained", ylabel="VAL_PGD_ACC (%)", title="arch 441 - SYNTHETIC stand-in")
ax.legend()
fig.tight_layout()

# %%
# The whole table at once
# -----------------------
# Vectorised lookups give one value per architecture, indexed by ``arch_id``; ``to_frame()`` is a
# pandas DataFrame with a row per architecture.


pgd = bench.metric_by_id("VAL_PGD_ACC")
best = int(np.nanargmax(pgd))
print("best VAL_PGD_ACC:", best, nares_nas.Arch.from_id(best), pgd[best])
frame = bench.to_frame()
print(frame[["VAL_PGD_ACC", "TEST_AA_ACC", "MACS"]].describe().round(2))
