"""Finished run folders as data: one pandas row per run and one per evaluation, read without the table.

:func:`read_results` takes folders written by ``search``, ``table2`` or ``mo-table`` (a folder with a
``config.json``, or one whose sub-folders have one, as ``table2 --out DIR`` writes) and returns
:class:`Results`. Runs are read through :func:`nares_nas.runs.folder.read_runs`, so the run-file
format stays theirs; this module reads only the records' attributes. Runs written before the simulated
clock have no evaluations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from nares_nas.data.synthetic import data_label
from nares_nas.errors import ConfigError, DataFormatError
from nares_nas.runs.folder import read_runs
from nares_nas.runs.record import RunResult
from nares_nas.simulation.log import CORE_COLUMNS, LIVE_COLUMNS

if TYPE_CHECKING:  # pandas is imported where a frame is built: the CLI starts faster without it
    import pandas as pd

RUN_KEY: tuple[str, ...] = ("folder", "searcher", "seed")
"""What names a run in both frames: its folder (as given), searcher and seed."""
EVALUATION_COLUMNS: tuple[str, ...] = tuple(key for key in CORE_COLUMNS if key != "value")
"""The columns of every evaluation (days, GPU-days; :mod:`nares_nas.simulation.log`); then ``value`` or one
column per objective, then the live columns (:data:`~nares_nas.simulation.log.LIVE_COLUMNS`) where the runs
have them."""
MO_SCORES: tuple[str, ...] = ("hv_regret", "igd_plus", "front_size", "hypervolume")


@dataclass(frozen=True)
class Folder:
    """One run folder: where it is, what its ``config.json`` pins and its finished runs by seed."""

    path: Path
    config: Mapping[str, Any]
    records: tuple[RunResult, ...]

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def searcher(self) -> str:
        return str(self.config.get("searcher") or (self.records[0].searcher if self.records else self.path.name))

    @property
    def objectives(self) -> tuple[str, ...]:
        """The objectives of a multi-objective folder (``"VAL_PGD_ACC:max"``), else ()."""
        return tuple(self.config.get("objectives") or ())

    @property
    def multi_objective(self) -> bool:
        return bool(self.objectives)

    @property
    def objective(self) -> str:
        return " × ".join(self.objectives) if self.multi_objective else str(self.config.get("objective"))

    @property
    def maximize(self) -> bool:
        """The direction of the folder's score: its objective's, or (several objectives) hypervolume regret's, min."""
        return not self.multi_objective and self.config.get("direction", "max") == "max"

    @property
    def synthetic(self) -> bool:
        return bool(self.config.get("synthetic"))

    @property
    def live(self) -> bool:
        return self.config.get("live") is not None

    @property
    def data_line(self) -> str:
        """The data behind the folder's numbers, the synthetic label first on the stand-in."""
        return data_label(self.config.get("data"), self.synthetic)


@dataclass(frozen=True, eq=False)
class Results:
    """Finished runs as data. ``runs``: one row per run; ``evaluations``: one row per evaluation, both keyed
    by :data:`RUN_KEY`; ``folders`` what they were read from, in the order given."""

    runs: pd.DataFrame
    evaluations: pd.DataFrame
    folders: tuple[Folder, ...]

    @property
    def synthetic(self) -> bool:
        return any(f.synthetic for f in self.folders)


def run_folders(dirs: Iterable[str | os.PathLike]) -> list[Path]:
    """Each given folder holding a ``config.json``, or else its sub-folders that hold one (a table's)."""
    found = []
    for path in map(Path, dirs):
        if (path / "config.json").is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise DataFormatError("no such folder", path=str(path))
        inner = sorted(p for p in path.iterdir() if (p / "config.json").is_file())
        if not inner:
            raise DataFormatError("no config.json here or in its sub-folders (not a folder of runs)", path=str(path))
        found += inner
    return found


def read_folder(path: str | os.PathLike) -> Folder:
    """One run folder: its ``config.json`` and its runs (multi-objective ones where it pins objectives)."""
    path = Path(path)
    config_path = path / "config.json"
    try:
        config = orjson.loads(config_path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise DataFormatError(f"not valid JSON: {exc}", path=str(config_path)) from None
    if not isinstance(config, dict):
        raise DataFormatError("not a JSON object", path=str(config_path))
    return Folder(path, config, tuple(read_runs(path)))


def read_results(dirs: str | os.PathLike | Sequence[str | os.PathLike]) -> Results:
    """The finished runs of ``dirs`` (one folder or several; see :func:`run_folders`) as :class:`Results`."""
    dirs = [dirs] if isinstance(dirs, (str, os.PathLike)) else list(dirs)
    if not dirs:
        raise ConfigError("give at least one folder of runs")
    return results_of([read_folder(p) for p in run_folders(dirs)])


def results_of(folders: Sequence[Folder]) -> Results:
    """:class:`Results` of folders already read (or of run records held in memory, wrapped in a Folder)."""
    import pandas as pd

    run_rows, frames = [], []
    for folder in folders:
        for record in folder.records:
            run_rows.append(_run_row(folder, record))
            frames.append(_evaluation_frame(folder, record))
    runs = pd.DataFrame(run_rows, columns=_RUN_COLUMNS)
    runs["best_arch_id"] = runs["best_arch_id"].astype("Int64")
    frames = [f for f in frames if len(f)]
    evaluations = (pd.concat(frames, ignore_index=True) if frames
                   else pd.DataFrame({k: [] for k in (*RUN_KEY, *CORE_COLUMNS)}))
    live = [key for key in LIVE_COLUMNS if key in evaluations]  # after the others, in the schema's order
    evaluations = evaluations[[c for c in evaluations.columns if c not in live] + live]
    return Results(runs, evaluations, tuple(folders))


_RUN_COLUMNS: tuple[str, ...] = (
    *RUN_KEY, "params", "budget", "objective", "direction", "queries", "best_arch_id", "best_value",
    *MO_SCORES, "gpu_days", "sim_days", "evaluations", "workers", "data", "synthetic", "live", "multi_objective")


def _run_row(folder: Folder, record: RunResult) -> dict[str, Any]:
    clock = record.clock or {}
    evaluations = clock.get("evaluations")
    row = {"folder": folder.name, "searcher": record.searcher, "seed": record.seed,
           "params": json.dumps(dict(record.params), sort_keys=True), "budget": record.budget,
           "objective": folder.objective, "direction": "max" if folder.maximize else "min",
           "queries": record.queries, "best_arch_id": None, "best_value": np.nan,
           **dict.fromkeys(MO_SCORES, np.nan),
           "gpu_days": clock.get("gpu_days", np.nan), "sim_days": clock.get("sim_days", np.nan),
           "evaluations": len(evaluations.get("arch_id", ())) if evaluations is not None else 0,
           "workers": clock.get("workers", folder.config.get("workers", 1)), "data": folder.config.get("data"),
           "synthetic": folder.synthetic, "live": folder.live, "multi_objective": folder.multi_objective}
    if folder.multi_objective:
        regret, igd, size = record.scores.final()
        row.update(hv_regret=regret, igd_plus=igd, front_size=size, hypervolume=record.scores.hypervolume)
    elif record.best_arch_id is not None:
        row.update(best_arch_id=record.best_arch_id, best_value=record.best_value)
    return row


def _evaluation_frame(folder: Folder, record: RunResult) -> pd.DataFrame:
    """The run's evaluations in the order the clock logged them (start order); empty before the clock."""
    import pandas as pd

    evaluations: Mapping[str, Sequence[Any]] = (record.clock or {}).get("evaluations") or {}
    n = len(evaluations.get("arch_id", ()))
    columns: dict[str, Any] = {"folder": [folder.name] * n, "searcher": [record.searcher] * n,
                               "seed": np.full(n, record.seed, dtype=np.int64)}
    for key, values in evaluations.items():
        if key == "value" and folder.multi_objective:
            vectors = np.asarray(values, dtype=np.float64).reshape(n, len(folder.objectives))
            for i, objective in enumerate(folder.objectives):
                columns[objective.partition(":")[0]] = vectors[:, i]
        else:
            columns[key] = values
    return pd.DataFrame(columns)


def frames_by(results: Results, column: str) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per value of ``column`` (``folder`` or ``searcher``), in first-seen order: its runs and evaluations."""
    out = {}
    for name in dict.fromkeys(results.runs[column]):
        out[name] = (results.runs[results.runs[column] == name],
                     results.evaluations[results.evaluations[column] == name])
    return out
