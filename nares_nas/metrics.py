"""Scalar metrics of a NARes record, by their reference names (``VAL_PGD_ACC`` …).

Every metric is derived from the columnar arrays of :mod:`nares_nas.data.table` by one function,
so a single record and the whole table give identical values. Accuracies are percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nares_nas import space
from nares_nas._validation import check_bool
from nares_nas.errors import MetricError

HISTORY_KEYS: tuple[str, ...] = (
    "train_loss", "train_acc", "val_loss", "val_acc",
    "pgd", "pgd_stable", "pgd_lip", "pgd_loss",
    "cw", "cw_stable", "cw_lip", "cw_loss",
)
TEST_KEYS: tuple[str, ...] = (
    "test_clean_acc", "test_loss",
    "Linf_fgsm_acc", "Linf_fgsm_stable",
    "Linf_pgd_acc", "Linf_pgd_stable", "Linf_pgd_lip",
    "Linf_cw_acc", "Linf_cw_stable", "Linf_cw_lip",
    "Linf_aa_acc",
)
CORRUPTIONS: tuple[str, ...] = (
    "brightness", "contrast", "defocus_blur", "elastic_transform", "fog", "frost",
    "gaussian_blur", "gaussian_noise", "glass_blur", "impulse_noise", "jpeg_compression",
    "motion_blur", "pixelate", "saturate", "shot_noise", "snow", "spatter", "speckle_noise",
    "zoom_blur",
)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
DERIVED_DIGITS = 12  # significant digits of a derived value: far finer than NARes's 2-4 decimals


@dataclass(frozen=True)
class MetricSpec:
    """How one named metric is read from the table."""

    name: str
    kind: str  # "history" (at best_epoch), "test", "corruption", "count", "train"
    column: str
    is_test: bool
    doc: str

    @property
    def value(self) -> str:
        """The reference's lower-case value string (``val_pgd_acc``)."""
        return self.name.lower()


def _h(name: str, column: str, doc: str) -> MetricSpec:
    return MetricSpec(name, "history", column, False, doc)


def _t(name: str, column: str, doc: str) -> MetricSpec:
    return MetricSpec(name, "test", column, True, doc)


_SPECS = (
    MetricSpec("MACS", "count", "MACs", False, "exact multiply-accumulates per 32x32 image"),
    MetricSpec("PARAMS", "count", "Params", False, "exact trainable parameters"),
    MetricSpec("BEST_EPOCH", "train", "best_epoch", False, "0-based epoch of best val CW-40"),
    MetricSpec("TRAINING_TIME", "train", "training_time", False, "GPU days (extra)"),
    _h("TRAIN_ACC", "train_acc", "adversarial train accuracy (%) at best epoch"),
    _h("TRAIN_LOSS", "train_loss", "adversarial train loss at best epoch"),
    _h("VAL_CLEAN_ACC", "val_acc", "clean CIFAR-10.1 accuracy (%) at best epoch"),
    _h("VAL_TEST_ACC", "val_acc", "declared by the reference without a value; = VAL_CLEAN_ACC"),
    _h("VAL_LOSS", "val_loss", "clean CIFAR-10.1 loss at best epoch (reference cannot compute)"),
    _h("VAL_PGD_ACC", "pgd", "PGD-20 CIFAR-10.1 accuracy (%) at best epoch: the NAS objective"),
    _h("VAL_PGD_STABLE", "pgd_stable", "PGD-20 stable accuracy (%) on CIFAR-10.1 (extra)"),
    _h("VAL_PGD_LIP", "pgd_lip", "PGD-20 empirical Lipschitz on CIFAR-10.1 (extra)"),
    _h("VAL_PGD_LOSS", "pgd_loss", "PGD-20 attack loss on CIFAR-10.1 (extra)"),
    _h("VAL_CW_ACC", "cw", "CW-40 CIFAR-10.1 accuracy (%) at best epoch"),
    _h("VAL_CW_STABLE", "cw_stable", "CW-40 stable accuracy (%) on CIFAR-10.1 (extra)"),
    _h("VAL_CW_LIP", "cw_lip", "CW-40 empirical Lipschitz on CIFAR-10.1 (extra)"),
    _h("VAL_CW_LOSS", "cw_loss", "CW-40 attack loss on CIFAR-10.1 (extra)"),
    _t("TEST_CLEAN_ACC", "test_clean_acc", "clean CIFAR-10 test accuracy (%)"),
    _t("TEST_LOSS", "test_loss", "clean CIFAR-10 test loss"),
    _t("TEST_FGSM_ACC", "Linf_fgsm_acc", "FGSM accuracy (%)"),
    _t("TEST_FGSM_STABLE", "Linf_fgsm_stable", "FGSM stable accuracy (%)"),
    _t("TEST_PGD_ACC", "Linf_pgd_acc", "PGD-20 accuracy (%)"),
    _t("TEST_PGD_STABLE", "Linf_pgd_stable", "PGD-20 stable accuracy (%)"),
    _t("TEST_PGD_LIP", "Linf_pgd_lip", "PGD-20 empirical Lipschitz constant"),
    _t("TEST_CW_ACC", "Linf_cw_acc", "CW-40 accuracy (%)"),
    _t("TEST_CW_STABLE", "Linf_cw_stable", "CW-40 stable accuracy (%)"),
    _t("TEST_CW_LIP", "Linf_cw_lip", "CW-40 empirical Lipschitz constant"),
    _t("TEST_AA_ACC", "Linf_aa_acc", "AA-Compact accuracy (%)"),
    MetricSpec("TEST_CORRUPT_ACC", "corruption", "corruption_acc", True,
               "mean CIFAR-10-C accuracy (%) over 19 corruptions x 5 severities"),
)
METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)

# The reference's `get_objective` refuses these; it forgets TEST_FGSM_STABLE (spec §6.17).
REFERENCE_TEST_METRICS = frozenset(
    name for name, spec in METRICS.items() if spec.is_test and name != "TEST_FGSM_STABLE"
)


def round_derived(values: float | np.ndarray) -> float | np.ndarray:
    """``values`` (a float or an array) rounded to :data:`DERIVED_DIGITS` significant digits.

    For numbers derived by arithmetic from the table (a mean, a standard deviation): the bits that
    binary rounding leaves behind go, so a mean that is a short decimal reads as one, in JSON too
    (77.35, not 77.35000000000001). NaN stays NaN.
    """
    array = np.asarray(values, dtype=np.float64)
    rounded = np.array([float(f"{v:.{DERIVED_DIGITS}g}") for v in array.ravel().tolist()]).reshape(array.shape)
    return rounded if array.ndim else float(rounded)


def resolve_metric(name: str | MetricSpec) -> MetricSpec:
    """Look a metric up by reference name (``VAL_PGD_ACC``) or value string (``val_pgd_acc``)."""
    if isinstance(name, MetricSpec):
        return name
    spec = METRICS.get(str(name).upper())
    if spec is None:
        raise MetricError(f"unknown metric {name!r}; valid metrics: {', '.join(METRIC_NAMES)}")
    return spec


SMALLER_IS_BETTER = ("LOSS", "LIP", "MACS", "PARAMS", "TRAINING_TIME")
"""Metrics whose name holds one of these are better when smaller: losses (``*_LOSS``), empirical
Lipschitz constants (``*_LIP``) and costs; every other metric (accuracies) is better when larger."""


def higher_is_better(metric: str | MetricSpec) -> bool:
    """Whether larger values of ``metric`` are better (accuracies); losses, Lipschitz constants and costs are not."""
    name = resolve_metric(metric).name
    return not any(word in name for word in SMALLER_IS_BETTER)


def objective_direction(objective: str | MetricSpec, maximize: bool | None = None) -> bool:
    """Whether to maximise ``objective``: ``maximize`` where given, else the metric's own direction.

    So ``TRAINING_TIME``, ``VAL_LOSS``, ``MACS`` … are minimised unless ``maximize=True`` says
    otherwise, and accuracies maximised unless ``maximize=False``.
    """
    if maximize is None:
        return higher_is_better(objective)
    return check_bool(maximize, f"maximize (None: {resolve_metric(objective).name}'s own direction)")


def objective_metric(name: str | MetricSpec, reference_test_set: bool = False) -> MetricSpec:
    """Resolve ``name`` as a search objective: test-set metrics are refused.

    ``reference_test_set=True`` reproduces the reference's set, which lets
    ``TEST_FGSM_STABLE`` through (spec §6.17).
    """
    spec = resolve_metric(name)
    refused = REFERENCE_TEST_METRICS if reference_test_set else {
        n for n, s in METRICS.items() if s.is_test
    }
    if spec.name in refused:
        allowed = [n for n in METRIC_NAMES if n not in refused]
        raise MetricError(
            f"{spec.name} is measured on the test set and may not be a search objective; "
            f"use a validation or cost metric: {', '.join(allowed)}"
        )
    return spec


def compute(
    columns: Mapping[str, np.ndarray],
    metric: str | MetricSpec,
    rows: np.ndarray | slice = slice(None),
    epoch: int | None = None,
) -> np.ndarray:
    """Values of ``metric`` for ``rows`` of a columnar table (float64, NaN where absent).

    ``epoch`` (0-based) reads a per-epoch metric at that epoch instead of the best one.
    """
    spec = resolve_metric(metric)
    if epoch is not None and spec.kind != "history":
        raise MetricError(f"{spec.name} has no per-epoch history; drop the epoch argument")
    if spec.kind == "count":
        archs = space.archs_by_id()[columns["arch_id"][rows] - 1]
        counter = space.count_macs if spec.name == "MACS" else space.count_params
        return counter(archs).astype(np.float64)
    if spec.kind == "train" or spec.kind == "test":
        return np.asarray(columns[spec.column][rows], dtype=np.float64)
    if spec.kind == "corruption":
        acc = columns[spec.column][rows]
        return round_derived(acc.reshape(acc.shape[0], -1).mean(axis=1))
    history = columns[spec.column][rows]
    n_epochs = history.shape[1]
    if epoch is None:
        index = columns["best_epoch"][rows]
    else:
        if not -n_epochs <= epoch < n_epochs:
            raise MetricError(f"epoch {epoch} is outside 0..{n_epochs - 1}")
        index = np.full(history.shape[0], epoch % n_epochs)
    return history[np.arange(history.shape[0]), index].astype(np.float64)
