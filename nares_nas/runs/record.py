"""One finished run as a run file stores it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nares_nas.errors import DataFormatError
from nares_nas.oracle import Trajectory
from nares_nas.simulation.clock import ClockRun


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
        clock = {"workers": workers, "gpu_days": run.cost_days, "sim_days": run.time_days,
                 "max_epochs": run.max_epochs, "stopped_by_budget": run.stopped, "evaluations": columns}
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
        traj = self.trajectory
        return {
            "searcher": self.searcher, "seed": self.seed, "params": dict(self.params),
            "budget": self.budget, "objective": traj.objective, "maximize": traj.maximize,
            "queries": self.queries, "best_arch_id": self.best_arch_id, "best_value": self.best_value,
            "arch_ids": traj.arch_ids, "values": traj.values, "best": traj.best_so_far,
            "execution": None if self.execution is None else dict(self.execution),
            "clock": None if self.clock is None else dict(self.clock),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], path: str = "<run>") -> RunResult:
        try:
            traj = Trajectory(np.asarray(obj["arch_ids"], dtype=np.int64),
                              np.asarray(obj["values"], dtype=np.float64),
                              str(obj["objective"]), bool(obj["maximize"]))
            execution, clock, budget = obj.get("execution"), obj.get("clock"), obj["budget"]
            result = cls(str(obj["searcher"]), int(obj["seed"]), dict(obj["params"]),
                         None if budget is None else int(budget), traj,
                         None if execution is None else dict(execution), None if clock is None else dict(clock))
        except KeyError as exc:
            raise DataFormatError("missing key in a run file", path=path, key=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"malformed run file: {exc}", path=path) from None
        if traj.arch_ids.shape != traj.values.shape or traj.arch_ids.ndim != 1:
            raise DataFormatError("arch_ids and values differ in length", path=path, key="values")
        return result
