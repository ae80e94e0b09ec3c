"""One finished run as a run file stores it."""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nares_nas.errors import DataFormatError
from nares_nas.oracle import Trajectory
from nares_nas.runs.codec import decode_array, decode_columns, encode_array, encode_columns, is_encoded
from nares_nas.simulation.clock import ClockRun

FORMAT = 2
"""The run-file format this version writes: 2 stores the trajectory and the evaluation log as compact
exact columns (:mod:`nares_nas.runs.codec`); files without ``format`` are format 1 (plain JSON lists)."""


def pack_clock(clock: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A clock account as a format-2 run file stores it: the evaluation columns encoded."""
    if clock is None:
        return None
    packed = dict(clock)
    if packed.get("evaluations") is not None:
        packed["evaluations"] = encode_columns(packed["evaluations"], packed.get("ticks_per_day"))
    return packed


def unpack_clock(clock: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The clock account of a run file of any format, its evaluation columns as plain lists."""
    if clock is None:
        return None
    unpacked = dict(clock)
    if unpacked.get("evaluations") is not None:
        unpacked["evaluations"] = decode_columns(unpacked["evaluations"])
    return unpacked


def unpack(column: Any, dtype: type) -> np.ndarray:
    """A column of a run file of any format (an encoded column or a plain list) as an array of ``dtype``."""
    return (decode_array(column) if is_encoded(column) else np.asarray(column)).astype(dtype)


@dataclass(frozen=True)
class RunResult:
    """One finished run as stored in ``DIR/runs/``: who ran, with which seed, and what it found.

    ``params`` are the hyper-parameters that determine the run (as pinned in ``config.json``);
    ``execution`` says how it ran: the searcher's ``execution_params`` (under ``"params"``), the
    backend, ``n_jobs`` and the seeds of its lockstep group (None in files of older versions).
    """

    searcher: str
    seed: int
    params: Mapping[str, Any]
    budget: int | None
    trajectory: Trajectory
    execution: Mapping[str, Any] | None = None
    clock: Mapping[str, Any] | None = None
    """The simulated clock's account: ``workers``, ``gpu_days``, ``sim_days`` and ``evaluations``
    (columns ``arch_id, epoch_from, epoch_to, worker, start, end, cost, value``; days and GPU-days).
    None in files of older versions."""

    @classmethod
    def from_clock(cls, searcher: str, params: Mapping[str, Any], budget: int | None, run: ClockRun,
                   workers: int, execution: Mapping[str, Any] | None = None) -> RunResult:
        columns = run.log.columns()
        clock = {"workers": workers, "ticks_per_day": run.log.ticks_per_day, "gpu_days": run.cost_days,
                 "sim_days": run.time_days, "max_epochs": run.max_epochs, "stopped_by_budget": run.stopped,
                 "evaluations": columns}
        return cls(searcher, run.seed, params, budget, run.trajectory(), execution, clock)

    @property
    def queries(self) -> int:
        """Full trainings: the trajectory's evaluations at full fidelity (all of them for a single-fidelity
        searcher, whose budget they are; fewer than :attr:`distinct_archs` for a multi-fidelity one)."""
        return len(self.trajectory)

    @property
    def distinct_archs(self) -> int:
        """Distinct architectures evaluated at any fidelity (what a distinct-architecture budget counts);
        runs written before the clock's account were full trainings only."""
        evaluations = (self.clock or {}).get("evaluations")
        if evaluations is None:
            return len(set(self.trajectory.arch_ids.tolist()))
        return len(set(evaluations["arch_id"]))

    @property
    def best_arch_id(self) -> int | None:
        """The best full-fidelity arch (None if the budget bought no full training)."""
        return self.trajectory.best_arch_id if len(self.trajectory) else None

    @property
    def best_value(self) -> float | None:
        return self.trajectory.best_value if len(self.trajectory) else None

    def to_json(self) -> dict[str, Any]:
        """The run file (format :data:`FORMAT`), its columns encoded (:mod:`nares_nas.runs.codec`)."""
        traj = self.trajectory
        return {
            "format": FORMAT, "searcher": self.searcher, "seed": self.seed, "params": dict(self.params),
            "budget": self.budget, "objective": traj.objective, "maximize": traj.maximize,
            "queries": self.queries, "best_arch_id": self.best_arch_id, "best_value": self.best_value,
            "arch_ids": encode_array(traj.arch_ids), "values": encode_array(traj.values),
            "best": encode_array(traj.best_so_far),
            "execution": None if self.execution is None else dict(self.execution),
            "clock": pack_clock(self.clock),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], path: str = "<run>") -> RunResult:
        try:
            traj = Trajectory(unpack(obj["arch_ids"], np.int64), unpack(obj["values"], np.float64),
                              str(obj["objective"]), bool(obj["maximize"]))
            execution, clock, budget = obj.get("execution"), obj.get("clock"), obj["budget"]
            result = cls(str(obj["searcher"]), int(obj["seed"]), dict(obj["params"]),
                         None if budget is None else int(budget), traj,
                         None if execution is None else dict(execution), unpack_clock(clock))
        except KeyError as exc:
            raise DataFormatError("missing key in a run file", path=path, key=str(exc.args[0])) from None
        except (TypeError, ValueError, zlib.error, binascii.Error) as exc:
            raise DataFormatError(f"malformed run file: {exc}", path=path) from None
        if traj.arch_ids.shape != traj.values.shape or traj.arch_ids.ndim != 1:
            raise DataFormatError("arch_ids and values differ in length", path=path, key="values")
        return result
