"""The table in Syne Tune's tabular blackbox format, for its simulator and schedulers.

:func:`export_syne_tune` writes a folder that
``syne_tune.blackbox_repository.blackbox_tabular.deserialize(DIR)`` reads as
``{"cifar10": BlackboxTabular}`` (Syne Tune 0.16, which needs ``huggingface_hub`` and
``fastparquet`` beside it for that module: ``pip install 'nares-nas[synetune]'``). Written
here with numpy, pandas and json only; Syne Tune is not imported. The folder holds:

- ``configspace.json``: the six hyper-parameters ``hp_D1 hp_W1 hp_D2 hp_W2 hp_D3 hp_W3``,
  each a ``choice`` (``Categorical``) of its values in the search space;
- ``fidelityspace.json``: ``hp_epoch``, an integer in ``1..E`` (E = 100 for NARes);
- ``hyperparameters.parquet``: a row per architecture of the table, in ascending ``arch_id``
  (the ``arch_ids`` of ``metadata.json``), gzip-compressed, written with fastparquet;
- ``fidelities_values.npy``: ``1..E``;
- ``objectives_evaluations.npy``: float32, shape ``(1 task, archs, 1 seed, E, objectives)``;
  at ``hp_epoch = e`` every history metric (``metric_val_pgd_acc`` …) holds its value after
  ``e`` epochs (the fidelity rule of :mod:`nares_nas.simulation.model`), ``metric_best_epoch`` the
  0-based epoch selected among the first ``e``, ``metric_macs`` and ``metric_params`` their
  fidelity-independent counts, and ``metric_elapsed_time`` the cumulative training time in
  **seconds**, ``e/E × training_time`` (Syne Tune's simulator counts seconds). Test-set
  metrics are not per-epoch values and are left out;
- ``metadata.json``: Syne Tune's ``objectives_names``, ``task_names``, ``metric_elapsed_time``,
  ``metric_default`` (``metric_val_pgd_acc``) and ``time_attr`` (``hp_epoch``), plus
  ``source``, ``synthetic``, ``provenance`` and ``arch_ids``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from nares_nas._atomic import atomic_path
from nares_nas.errors import ConfigError
from nares_nas.fidelity import FIDELITY_METRICS, FREE_METRICS, SECONDS_PER_DAY, fidelity_matrix, table_selected_epochs
from nares_nas.metrics import METRICS
from nares_nas.space import CHOICES, KEYS, archs_by_id

TASK = "cifar10"
HYPERPARAMETERS: tuple[str, ...] = tuple(f"hp_{key}" for key in KEYS)
FIDELITY_ATTR = "hp_epoch"
ELAPSED_TIME = "metric_elapsed_time"
DEFAULT_METRIC = "metric_val_pgd_acc"
ALIASES = frozenset({"VAL_TEST_ACC"})  # the same column as VAL_CLEAN_ACC
EXPORTED_METRICS: tuple[str, ...] = tuple(n for n in (*FIDELITY_METRICS, *FREE_METRICS) if n not in ALIASES)
FILES: tuple[str, ...] = ("configspace.json", "fidelityspace.json", "hyperparameters.parquet",
                          "fidelities_values.npy", "objectives_evaluations.npy", "metadata.json")


def objective_names() -> list[str]:
    """The objectives of the export, in their order along the last axis."""
    return [f"metric_{METRICS[name].value}" for name in EXPORTED_METRICS] + [ELAPSED_TIME]


def _domain(cls: str, **kwargs) -> dict:
    return {"domain_cls": cls, "domain_kwargs": kwargs, "sampler_cls": "Uniform", "sampler_kwargs": {}}


def _write_json(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def _write_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def export_syne_tune(bench, directory: str | os.PathLike) -> Path:
    """Write ``bench`` (a :class:`~nares_nas.Benchmark`) into ``directory`` in Syne Tune's tabular
    blackbox format (see the module docstring); return the folder. ``metadata.json`` is written last."""
    try:
        import fastparquet  # Syne Tune reads the hyper-parameters with it
    except ImportError as exc:
        raise ConfigError("the Syne Tune export needs fastparquet: pip install 'nares-nas[synetune]'") from exc
    import pandas as pd

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    columns = bench.table.columns
    arch_ids = np.asarray(bench.arch_ids, dtype=np.int64)
    n_epochs = bench.max_epochs

    _write_json(out / "configspace.json",
                {hp: _domain("Categorical", categories=list(values)) for hp, values in zip(HYPERPARAMETERS, CHOICES)})
    _write_json(out / "fidelityspace.json", {FIDELITY_ATTR: _domain("Integer", lower=1, upper=n_epochs)})
    archs = archs_by_id()[arch_ids - 1]
    frame = pd.DataFrame({hp: archs[:, col].astype(np.int64) for col, hp in enumerate(HYPERPARAMETERS)})
    with atomic_path(out / "hyperparameters.parquet") as tmp:
        fastparquet.write(str(tmp), frame, compression="GZIP", write_index=False)
    _write_npy(out / "fidelities_values.npy", np.arange(1, n_epochs + 1, dtype=np.int64))

    names = objective_names()
    objectives = np.empty((1, len(arch_ids), 1, n_epochs, len(names)), dtype=np.float32)
    selected = table_selected_epochs(columns)
    for k, name in enumerate(EXPORTED_METRICS):
        objectives[0, :, 0, :, k] = fidelity_matrix(columns, name, slice(None), selected)
    seconds = np.asarray(columns["training_time"], dtype=np.float64) * SECONDS_PER_DAY
    objectives[0, :, 0, :, -1] = seconds[:, None] * np.arange(1, n_epochs + 1) / n_epochs
    _write_npy(out / "objectives_evaluations.npy", objectives)

    _write_json(out / "metadata.json", {
        "objectives_names": names, "task_names": [TASK],
        "metric_elapsed_time": ELAPSED_TIME, "metric_default": DEFAULT_METRIC, "time_attr": FIDELITY_ATTR,
        "elapsed_time_unit": "seconds", "source": bench.source, "synthetic": bench.synthetic,
        "provenance": bench.provenance, "arch_ids": arch_ids.tolist(),
    })
    return out
