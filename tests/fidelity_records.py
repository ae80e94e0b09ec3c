"""A tiny NARes-format table of 6 epochs whose fidelity values are worked out by hand.

arch 1: recorded CW-40 ties before best_epoch (30 at epochs 1 and 3; best_epoch 3, as rounding
        hides which was higher), and PGD-20 keeps rising after best_epoch.
arch 2: a CW-40 tie (40 at epochs 0 and 2) keeps the earlier epoch; best_epoch 3.
arch 3: best_epoch 0, so every prefix selects epoch 0.
arch 4: CW-40 rising, best_epoch 5 (the last): the prefix of e epochs selects e - 1.
"""

from __future__ import annotations

from pathlib import Path

from conftest import make_record, write_lines

EPOCHS = 6
ARCH_IDS = (1, 2, 3, 4)
CW = {1: [10, 30, 20, 30, 25, 28], 2: [40, 35, 40, 45, 45, 44], 3: [50, 10, 20, 30, 40, 49], 4: [1, 2, 3, 4, 5, 6]}
BEST = {1: 3, 2: 3, 3: 0, 4: 5}
PGD = {1: [5, 15, 12, 18, 22, 25], 2: [20, 21, 22, 23, 24, 26], 3: [1, 2, 3, 4, 5, 6], 4: [30, 31, 2, 3, 4, 10]}
DAYS = {1: 0.25, 2: 0.07, 3: 0.6, 4: 0.01}
TEST_PGD = {1: 50.0, 2: 52.0, 3: 40.0, 4: 45.0}
TEST_AA = {1: 48.0, 2: 47.0, 3: 46.0, 4: 49.0}

# by hand: the 0-based epoch selected after e = 1..6 epochs, and VAL_PGD_ACC there
SELECTED = {1: [0, 1, 1, 3, 3, 3], 2: [0, 0, 0, 3, 3, 3], 3: [0] * 6, 4: [0, 1, 2, 3, 4, 5]}
VAL_PGD = {1: [5, 15, 15, 18, 18, 18], 2: [20, 20, 20, 23, 23, 23], 3: [1] * 6, 4: [30, 31, 2, 3, 4, 10]}


def records() -> list[dict]:
    out = []
    for arch_id in ARCH_IDS:
        record = make_record(arch_id, epochs=EPOCHS)
        record["train"][0].update(cw=[float(v) for v in CW[arch_id]], pgd=[float(v) for v in PGD[arch_id]],
                                  best_epoch=BEST[arch_id], training_time=DAYS[arch_id])
        record["test_best"][0].update(Linf_pgd_acc=TEST_PGD[arch_id], Linf_aa_acc=TEST_AA[arch_id])
        out.append(record)
    return out


def write(path: Path) -> Path:
    return write_lines(path, records())
