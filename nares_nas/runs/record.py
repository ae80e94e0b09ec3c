"""One finished run as a run file stores it."""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from nares_nas.errors import DataFormatError
from nares_nas.oracle import Trajectory
from nares_nas.runs.codec import decode_array, decode_columns, encode_array, encode_columns, is_encoded
from nares_nas.simulation.clock import ClockRun
from nares_nas.simulation.log import logged

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


def _direction(name: str, maximize: bool) -> str:
    """An objective as a multi-objective run file names it (``"VAL_PGD_ACC:max"``)."""
    return f"{name}:{'max' if maximize else 'min'}"


@dataclass(frozen=True)
class FrontScores:
    """How a run scored against the exact Pareto front after every query (the multi-objective part of a record).

    The per-query arrays follow the run's full trainings in finish order; ``front`` is the arch_ids of
    the found front (feasible, non-dominated), best first; ``rejected_free`` the proposals answered for
    free because they violate a MACS or PARAMS constraint; ``scoring`` the problem's normalisation,
    reference point and exact front (:meth:`~nares_nas.pareto.problem.Problem.to_dict`).
    """

    constraints: tuple[str, ...]
    feasible: np.ndarray
    hv_regret: np.ndarray
    igd_plus: np.ndarray
    front_size: np.ndarray
    front: np.ndarray
    hypervolume: float
    rejected_free: int = 0
    scoring: Mapping[str, Any] | None = None

    def final(self, queries: int | None = None) -> tuple[float, float, int]:
        """(hypervolume regret, IGD+, front size) after ``queries`` queries (None: at the end; a run that
        stopped earlier keeps its last scores). A run with no query scores as the empty front."""
        n = len(self.hv_regret)
        if not n:
            return float((self.scoring or {}).get("exact_hypervolume", np.nan)), np.nan, 0
        i = n - 1 if queries is None else min(queries, n) - 1
        return float(self.hv_regret[i]), float(self.igd_plus[i]), int(self.front_size[i])


_SCORE_COLUMNS = ("feasible", "hv_regret", "igd_plus", "front_size", "front")
"""The per-query arrays of a multi-objective run file besides ``arch_ids`` and ``values`` (and the found front)."""


@dataclass(frozen=True, eq=False)
class RunResult:
    """One finished run of one or several objectives, as stored in ``DIR/runs/``: who ran, with which
    seed, and the full trainings it paid for, in the order they finished.

    ``params`` are the hyper-parameters that determine the run (as pinned in ``config.json``);
    ``execution`` says how it ran: the searcher's ``execution_params`` (under ``"params"``), the
    backend, ``n_jobs`` and the seeds of its lockstep group (None in files of older versions).
    ``values`` is ``(queries, k)``, one column per objective (raw values, ``maximize`` says which way
    each is better); ``scores`` is there when the run was scored against a Pareto front (a
    multi-objective run), and decides the run file's kind.
    """

    searcher: str
    seed: int
    params: Mapping[str, Any]
    budget: int | None
    objectives: tuple[str, ...]
    maximize: tuple[bool, ...]
    arch_ids: np.ndarray
    values: np.ndarray
    execution: Mapping[str, Any] | None = None
    clock: Mapping[str, Any] | None = None
    """The simulated clock's account: ``workers``, ``gpu_days``, ``sim_days`` and ``evaluations``
    (columns ``arch_id, epoch_from, epoch_to, worker, start, end, cost, value``; days and GPU-days).
    None in files of older versions."""
    scores: FrontScores | None = None

    @classmethod
    def of_trajectory(cls, searcher: str, seed: int, params: Mapping[str, Any], budget: int | None,
                      trajectory: Trajectory, execution: Mapping[str, Any] | None = None,
                      clock: Mapping[str, Any] | None = None) -> RunResult:
        """A single-objective run from its trajectory."""
        return cls(searcher, seed, params, budget, (trajectory.objective,), (bool(trajectory.maximize),),
                   np.asarray(trajectory.arch_ids, dtype=np.int64),
                   np.asarray(trajectory.values, dtype=np.float64).reshape(-1, 1), execution, clock)

    @classmethod
    def from_clock(cls, searcher: str, params: Mapping[str, Any], budget: int | None, run: ClockRun,
                   workers: int, execution: Mapping[str, Any] | None = None) -> RunResult:
        columns = run.log.columns()
        clock = {"workers": workers, "ticks_per_day": run.log.ticks_per_day, "gpu_days": run.cost_days,
                 "sim_days": run.time_days, "max_epochs": run.max_epochs, "stopped_by_budget": run.stopped,
                 "evaluations": columns}
        return cls.of_trajectory(searcher, run.seed, params, budget, run.trajectory(), execution, clock)

    @property
    def k(self) -> int:
        """The number of objectives."""
        return len(self.objectives)

    @cached_property
    def trajectory(self) -> Trajectory:
        """The run as a single-objective trajectory (k = 1 only)."""
        if self.k != 1:
            raise ValueError(f"a run of {self.k} objectives has no single trajectory")
        return Trajectory(self.arch_ids, self.values[:, 0], self.objectives[0], self.maximize[0])

    @property
    def queries(self) -> int:
        """Full trainings: the evaluations at full fidelity (all of them for a single-fidelity
        searcher, whose budget they are; fewer than :attr:`distinct_archs` for a multi-fidelity one)."""
        return len(self.arch_ids)

    @property
    def distinct_archs(self) -> int:
        """Distinct architectures evaluated at any fidelity (what a distinct-architecture budget counts);
        runs written before the clock's account were full trainings only."""
        evaluations = (self.clock or {}).get("evaluations")
        if evaluations is None:
            return len(set(self.arch_ids.tolist()))
        ids = np.sort(np.asarray(logged(evaluations, "arch_id"), dtype=np.int64))  # np.unique hashes: slower
        return int(ids.size and 1 + np.count_nonzero(ids[1:] != ids[:-1]))

    @property
    def best_arch_id(self) -> int | None:
        """The best full-fidelity arch of a single-objective run (None if the budget bought no full training)."""
        return self.trajectory.best_arch_id if self.queries else None

    @property
    def best_value(self) -> float | None:
        return self.trajectory.best_value if self.queries else None

    def to_json(self) -> dict[str, Any]:
        """The run file (format :data:`FORMAT`), its columns encoded (:mod:`nares_nas.runs.codec`): a
        scored run's with its scores after every query, else a single-objective run's trajectory."""
        head = {"format": FORMAT, "searcher": self.searcher, "seed": self.seed, "params": dict(self.params),
                "budget": self.budget}
        tail = {"execution": None if self.execution is None else dict(self.execution), "clock": pack_clock(self.clock)}
        if self.scores is None:
            traj = self.trajectory
            return {**head, "objective": traj.objective, "maximize": traj.maximize, "queries": self.queries,
                    "best_arch_id": self.best_arch_id, "best_value": self.best_value,
                    "arch_ids": encode_array(traj.arch_ids), "values": encode_array(traj.values),
                    "best": encode_array(traj.best_so_far), **tail}
        scores = self.scores
        return {**head, "multi_objective": True, "objectives": list(map(_direction, self.objectives, self.maximize)),
                "constraints": list(scores.constraints), "queries": self.queries,
                "arch_ids": encode_array(self.arch_ids), "values": encode_array(self.values),
                **{key: encode_array(getattr(scores, key)) for key in _SCORE_COLUMNS},
                "rejected_free": scores.rejected_free, "hypervolume": scores.hypervolume,
                "scoring": None if scores.scoring is None else dict(scores.scoring), **tail}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], path: str = "<run>") -> RunResult:
        """A run file of any format and kind (single-objective, or ``multi_objective`` with its scores)."""
        scored = bool(obj.get("multi_objective"))
        kind = "multi-objective run file" if scored else "run file"
        try:
            execution, clock, budget = obj.get("execution"), obj.get("clock"), obj["budget"]
            if scored:
                named = [str(o).rpartition(":") for o in obj["objectives"]]
                objectives, maximize = tuple(n for n, _, _ in named), tuple(d == "max" for _, _, d in named)
                scores = FrontScores(tuple(obj["constraints"]), unpack(obj["feasible"], bool),
                                     unpack(obj["hv_regret"], np.float64), unpack(obj["igd_plus"], np.float64),
                                     unpack(obj["front_size"], np.int64), unpack(obj["front"], np.int64),
                                     float(obj["hypervolume"]), int(obj.get("rejected_free", 0)), obj.get("scoring"))
            else:
                objectives, maximize, scores = (str(obj["objective"]),), (bool(obj["maximize"]),), None
            arch_ids = unpack(obj["arch_ids"], np.int64)
            values = unpack(obj["values"], np.float64).reshape(-1, len(objectives))
            result = cls(str(obj["searcher"]), int(obj["seed"]), dict(obj["params"]),
                         None if budget is None else int(budget), objectives, maximize, arch_ids, values,
                         None if execution is None else dict(execution), unpack_clock(clock), scores)
        except KeyError as exc:
            raise DataFormatError(f"missing key in a {kind}", path=path, key=str(exc.args[0])) from None
        except (TypeError, ValueError, zlib.error, binascii.Error) as exc:
            raise DataFormatError(f"malformed {kind}: {exc}", path=path) from None
        if arch_ids.ndim != 1 or len(values) != len(arch_ids):
            raise DataFormatError("arch_ids and values differ in length", path=path, key="values")
        if scores is not None and any(len(a) != len(arch_ids) for a in
                                      (scores.feasible, scores.hv_regret, scores.igd_plus, scores.front_size)):
            raise DataFormatError("arch_ids, values and the per-query scores differ in length", path=path)
        return result
