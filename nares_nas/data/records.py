"""Typed NARes records: one architecture's training history and test results.

A :class:`Record` mirrors one line of ``cifar10.jsonl`` (spec §4) with readable attribute
names, and writes itself back in exactly that schema with :meth:`Record.to_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nares_nas import metrics
from nares_nas.data.synthetic import SYNTHETIC_KIND
from nares_nas.metrics import CORRUPTIONS, HISTORY_KEYS, SEVERITIES, TEST_KEYS
from nares_nas.space import KEYS, Arch

# Reference dataclass field name <- JSON key (spec §4 "Loader mapping").
HISTORY_FIELDS: dict[str, str] = {
    "train_loss": "train_loss", "train_acc": "train_acc", "val_loss": "val_loss",
    "val_clean_acc": "val_acc",
    "val_pgd_acc": "pgd", "val_pgd_stable": "pgd_stable", "val_pgd_lip": "pgd_lip",
    "val_pgd_loss": "pgd_loss",
    "val_cw_acc": "cw", "val_cw_stable": "cw_stable", "val_cw_lip": "cw_lip",
    "val_cw_loss": "cw_loss",
}


@dataclass(frozen=True)
class TrainHistory:
    """Per-epoch values (index = 0-based epoch). Accuracies in percent."""

    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_clean_acc: np.ndarray
    val_pgd_acc: np.ndarray
    val_pgd_stable: np.ndarray
    val_pgd_lip: np.ndarray
    val_pgd_loss: np.ndarray
    val_cw_acc: np.ndarray
    val_cw_stable: np.ndarray
    val_cw_lip: np.ndarray
    val_cw_loss: np.ndarray


@dataclass(frozen=True)
class TestResults:
    """Attacks on the CIFAR-10 test set at the best epoch (None where the data has no value)."""

    test_clean_acc: float | None
    test_loss: float | None
    Linf_fgsm_acc: float | None
    Linf_fgsm_stable: float | None
    Linf_pgd_acc: float | None
    Linf_pgd_stable: float | None
    Linf_pgd_lip: float | None
    Linf_cw_acc: float | None
    Linf_cw_stable: float | None
    Linf_cw_lip: float | None
    Linf_aa_acc: float | None


@dataclass(frozen=True)
class Record:
    """Everything NARes holds about one architecture.

    ``params`` and ``macs`` are exact integer counts from the search space. ``corruption_acc``
    and ``corruption_loss`` are (19, 5) arrays in :data:`~nares_nas.metrics.CORRUPTIONS`
    order and severities 1..5, or None. ``source`` says where the numbers come from;
    ``synthetic`` is True for the stand-in, whose numbers are not NARes results.
    """

    arch_id: int
    arch: Arch
    params: int
    macs: int
    seed: int
    gpu_type: str
    timestamp: str
    training_time: float
    best_epoch: int
    history: TrainHistory
    test: TestResults
    corruption_acc: np.ndarray | None
    corruption_loss: np.ndarray | None
    source: str
    synthetic: bool

    @property
    def provenance(self) -> str:
        kind = SYNTHETIC_KIND if self.synthetic else "NARes"
        return f"{kind} ({self.source})"

    def metric(self, name: str, epoch: int | None = None) -> float:
        """One scalar metric by reference name, e.g. ``record.metric("VAL_PGD_ACC")``."""
        return float(metrics.compute(self._columns(), name, epoch=epoch)[0])

    def metrics(self) -> dict[str, float]:
        """Every scalar metric by reference name (NaN where the data has no value)."""
        columns = self._columns()
        return {name: float(metrics.compute(columns, name)[0]) for name in metrics.METRIC_NAMES}

    def _columns(self) -> dict[str, np.ndarray]:
        cols: dict[str, np.ndarray] = {
            "arch_id": np.array([self.arch_id]),
            "best_epoch": np.array([self.best_epoch]),
            "training_time": np.array([self.training_time]),
        }
        for attr, key in HISTORY_FIELDS.items():
            cols[key] = np.asarray(getattr(self.history, attr))[None]
        for key in TEST_KEYS:
            value = getattr(self.test, key)
            cols[key] = np.array([np.nan if value is None else value])
        nan = np.full((1, len(CORRUPTIONS), len(SEVERITIES)), np.nan)
        cols["corruption_acc"] = nan if self.corruption_acc is None else self.corruption_acc[None]
        return cols

    def to_json(self) -> dict[str, Any]:
        """This record as one ``cifar10.jsonl`` object (spec §4); ``train_acc`` in percent."""
        history = {key: np.asarray(getattr(self.history, attr)).tolist()
                   for attr, key in HISTORY_FIELDS.items()}
        train = {
            "seed": self.seed, "gpu_type": self.gpu_type, "timestamp": self.timestamp,
            "training_time": self.training_time, "best_epoch": self.best_epoch, **history,
        }
        test = {key: getattr(self.test, key) for key in TEST_KEYS}
        acc = None if self.corruption_acc is None else self.corruption_acc.tolist()
        loss = None if self.corruption_loss is None else self.corruption_loss.tolist()
        return json_object(self.arch_id, self.arch.to_tuple(), self.macs, self.params, train, test, acc, loss,
                           self.synthetic)


def json_object(arch_id: int, arch: tuple[int, ...], macs: int, params: int, train: dict[str, Any],
                test: dict[str, Any], corruption_acc: list | None, corruption_loss: list | None,
                synthetic: bool = False) -> dict[str, Any]:
    """One ``cifar10.jsonl`` object from plain Python values (spec §4 layout).

    ``Params``/``MACs`` in millions rounded to 2 decimals, as the reference configs store them.
    Synthetic records carry an extra top-level ``"synthetic": true`` (the official loader reads
    only its own keys), so the stand-in stays labelled after an export and re-import.
    """
    test = dict(test)
    if corruption_acc is not None:
        loss = corruption_loss or [[None] * len(SEVERITIES)] * len(CORRUPTIONS)
        test["corruptions"] = {
            name: {str(s): {"acc": corruption_acc[c][i], "loss": loss[c][i]} for i, s in enumerate(SEVERITIES)}
            for c, name in enumerate(CORRUPTIONS)
        }
    obj = {
        "arch_id": arch_id,
        "arch": dict(zip(KEYS, arch)),
        "MACs": round(macs / 1e6, 2),
        "Params": round(params / 1e6, 2),
        "train": [{key: train[key] for key in ("seed", "gpu_type", "timestamp", "training_time", "best_epoch",
                                                *HISTORY_KEYS)}],
        "test_best": [test],
    }
    if synthetic:
        obj["synthetic"] = True
    return obj


def record_from_row(columns: Mapping[str, np.ndarray], row: int, source: str, synthetic: bool) -> Record:
    """Build the typed record of table row ``row``."""
    arch_id = int(columns["arch_id"][row])
    arch = Arch.from_id(arch_id)
    history = TrainHistory(**{
        attr: np.asarray(columns[key][row]) for attr, key in HISTORY_FIELDS.items()
    })
    test = TestResults(**{
        key: (None if np.isnan(v := float(columns[key][row])) else v) for key in TEST_KEYS
    })
    acc = np.asarray(columns["corruption_acc"][row])
    has_corruption = not np.isnan(acc).all()
    return Record(
        arch_id=arch_id, arch=arch, params=arch.params, macs=arch.macs,
        seed=int(columns["seed"][row]), gpu_type=str(columns["gpu_type"][row]),
        timestamp=str(columns["timestamp"][row]),
        training_time=float(columns["training_time"][row]),
        best_epoch=int(columns["best_epoch"][row]),
        history=history, test=test,
        corruption_acc=acc if has_corruption else None,
        corruption_loss=np.asarray(columns["corruption_loss"][row]) if has_corruption else None,
        source=source, synthetic=synthetic,
    )
