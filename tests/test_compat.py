"""Result folders written by earlier versions still resume, extend and report (issue 20, item 8).

Each folder in ``tests/fixtures/folders`` was written by the code of an earlier commit (its
README.md names the commit and the command), on the synthetic stand-in. On a copy of it, today's
code must resume with the settings that wrote it without recomputing or rewriting a run file
(``config.json`` and ``summary.csv`` may be updated), add runs equal to those a fresh folder gets,
and read every run file back with the best values its own ``summary.csv`` recorded. What plugins
import (CHANGELOG.md) stays importable, and the classes the folders pin still resolve.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pytest

from nares_nas import cli
from nares_nas.asktell import Proposal, Proposals, Result
from nares_nas.searchers import Searcher, register, resolve
from nares_nas.searchers.contract import check_searcher
from nares_nas.simulation.budget import Budget

FOLDERS = Path(__file__).parent / "fixtures" / "folders"
OLD_MTIME_NS = 1_000_000_000 * 10**9  # 2001: any rewrite of a run file shows as a newer time


@dataclass(frozen=True)
class Folder:
    """A fixture folder and the ``search`` options that wrote it (``--runs``, ``--seed`` and ``--out`` aside)."""

    name: str
    options: tuple[str, ...]
    runs: int = 3
    multi_objective: bool = False
    live: bool = False

    def args(self, out: Path, runs: int, *, resume: bool) -> list[str]:
        options = [option.replace("{out}", str(out)) for option in self.options]
        return ["search", *options, "--runs", str(runs), "--seed", "0", "--out", str(out), "--quiet",
                *(["--resume"] if resume else [])]


TABLE = ("--data", "synthetic")
CASES = [
    Folder("preclock_random", ("--algo", "random_search", "--budget", "20", *TABLE)),
    Folder("clock_asha", ("--algo", "asha", "--workers", "2", "--max-cost", "3.5", *TABLE)),
    Folder("mo_evolution", ("--algo", "mo_regularized_evolution", "--objectives", "VAL_PGD_ACC:max,MACS:min",
                            "--constraint", "MACS<=2e10", "--workers", "2", "--budget", "20", "--param",
                            "population_size=10", "--param", "tournament_size=3", *TABLE), multi_objective=True),
    Folder("optuna_tpe", ("--algo", "optuna:TPESampler", "--param", 'sampler_kwargs={"n_startup_trials": 4}',
                          "--budget", "10", *TABLE)),
    Folder("live_evolution", ("--live", "--profile", "{out}/profile.json", "--data", "none", "--algo",
                              "regularized_evolution", "--param", "population_size=2", "--param",
                              "tournament_size=2", "--budget", "3", "--cache", "{out}/cache.sqlite",
                              "--device", "cpu"), runs=2, live=True),
]
TABLE_CASES = [case for case in CASES if not case.live]
LIVE = next(case for case in CASES if case.live)


def ids(case: Folder) -> str:
    return case.name


def needs(case: Folder) -> list:
    """The optional packages a folder's searcher or profile needs: its tests skip where one is missing."""
    if case.live:
        return [pytest.mark.torch]
    if case.name.startswith("optuna"):
        return [pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="needs optuna")]
    return []


def params(cases: list[Folder]) -> list:
    return [pytest.param(case, id=case.name, marks=needs(case)) for case in cases]


@pytest.fixture(autouse=True)
def _home(session_home, monkeypatch):
    monkeypatch.setenv("NARES_NAS_HOME", str(session_home))


# --------------------------------------------------------------------------- helpers
def copy(case: Folder, tmp_path: Path) -> Path:
    """The fixture folder copied to ``tmp_path``, its run files dated in the past."""
    out = tmp_path / case.name
    shutil.copytree(FOLDERS / case.name, out)
    for path in (out / "runs").iterdir():
        os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return out


def run_files(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every run file of ``out`` by name: its bytes and its modification time."""
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted((out / "runs").iterdir())}


def search(case: Folder, out: Path, runs: int, *, resume: bool) -> None:
    assert cli.main(case.args(out, runs, resume=resume)) == 0


def read(case: Folder, out: Path) -> list:
    """The runs of ``out`` through the library's reader, sorted by seed."""
    from nares_nas.runs.folder import read_runs

    return read_runs(out)


def summary(path: Path) -> dict[int, dict[str, str]]:
    with open(path / "summary.csv", newline="") as f:
        return {int(row["seed"]): row for row in csv.DictReader(f)}


def pinned_class(case: Folder) -> str:
    return orjson.loads((FOLDERS / case.name / "config.json").read_bytes())["class"]


def forbid_searching(monkeypatch, case: Folder) -> None:
    """Make any run of the folder's searcher fail: a resume that computes a run raises."""
    def fail(*args, **kwargs):
        raise AssertionError(f"{case.name}: a run was computed again")

    for cls in resolve(pinned_class(case)).__mro__:
        if cls in (Searcher, object):  # the base's defaults tell whether a searcher proposes
            continue
        for name in ("propose", "search", "simulate_runs"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, fail)


def forbid_training(monkeypatch) -> None:
    """Make any training fail: the one entry point every live training goes through."""
    import nares_nas.live.trainer as trainer

    def fail(*args, **kwargs):
        raise AssertionError("live_evolution: an architecture was trained")

    monkeypatch.setattr(trainer, "train", fail)


def without_execution(path: Path) -> dict:
    obj = orjson.loads(path.read_bytes())
    obj.pop("execution", None)  # how a run was executed is free to change
    return obj


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize("case", params(TABLE_CASES))
def test_resume_recomputes_nothing_and_rewrites_no_run_file(case, tmp_path, monkeypatch):
    out = copy(case, tmp_path)
    before = run_files(out)
    assert len(before) == case.runs
    forbid_searching(monkeypatch, case)
    search(case, out, case.runs, resume=True)
    assert run_files(out) == before  # same names, bytes and times
    assert sorted(summary(out)) == list(range(case.runs))
    old = summary(FOLDERS / case.name)  # written without a data column; today's rewrite adds one per row
    assert all("data" not in row for row in old.values())
    assert {row["data"] for row in summary(out).values()} == {
        "SYNTHETIC stand-in data, not NARes results (source: synthetic (seed 0))"}


@pytest.mark.torch
def test_resume_of_a_live_folder_replays_its_log_and_trains_nothing(tmp_path, monkeypatch):
    """Seed 0 is finished; seed 1 was killed after its last result reached the searcher, and its
    log holds every step: the resume replays the log to a fresh searcher and ends the run."""
    out = copy(LIVE, tmp_path)
    before = run_files(out)
    assert list(before) == ["seed_00000.json"]
    log = orjson.loads((out / "live" / "seed_00001.json").read_bytes())
    assert not log["finished"] and len(log["steps"]) == 3
    forbid_training(monkeypatch)
    search(LIVE, out, LIVE.runs, resume=True)
    after = run_files(out)
    assert {name: after[name] for name in before} == before
    assert sorted(after) == ["seed_00000.json", "seed_00001.json"]
    assert {row["data"] for row in summary(out).values()} == {"live training (no table)"}  # --data none

    # the finished run is the logged one: its full trainings in the order they finished, their costs
    run = {r.seed: r for r in read(LIVE, out)}[1]
    done = sorted((e for e in log["evaluations"] if e["order"] is not None), key=lambda e: e["order"])
    full = [e for e in done if e["epoch_to"] == 2]  # the profile's epochs
    assert run.trajectory.arch_ids.tolist() == [e["arch_id"] for e in full]
    assert run.trajectory.values.tolist() == [e["value"] for e in full]
    assert run.clock["gpu_days"] == pytest.approx(sum(e["cost"] for e in done), rel=1e-12)
    evaluations = run.clock["evaluations"]
    for key in ("arch_id", "epoch_from", "epoch_to", "cost", "value"):
        assert list(evaluations[key]) == [e[key] for e in log["evaluations"]], key
    assert len(log["evaluations"]) == 3 and {e["source"] for e in log["evaluations"]} == {"trained"}


# --------------------------------------------------------------------------- extend
@pytest.mark.parametrize("case", params(TABLE_CASES))
def test_an_old_folder_takes_more_runs_equal_to_a_fresh_folders(case, tmp_path):
    out = copy(case, tmp_path)
    before = run_files(out)
    more = case.runs + 2
    search(case, out, more, resume=True)
    fresh = tmp_path / "fresh"
    search(case, fresh, more, resume=False)

    after = run_files(out)
    assert {name: after[name] for name in before} == before
    assert sorted(after) == sorted(run_files(fresh)) == [f"seed_{s:05d}.json" for s in range(more)]
    for seed in range(case.runs, more):
        name = f"seed_{seed:05d}.json"
        assert without_execution(out / "runs" / name) == without_execution(fresh / "runs" / name)
    assert sorted(summary(out)) == list(range(more))

    # the old runs are the runs today's code makes for their seeds (so a folder never mixes two kinds)
    old, new = read(case, out), read(case, fresh)
    for o, n in zip(old[:case.runs], new[:case.runs]):
        if case.multi_objective:
            assert o.arch_ids.tolist() == n.arch_ids.tolist() and np.array_equal(o.values, n.values)
            assert o.scores.final() == n.scores.final()
        else:
            assert o.trajectory.arch_ids.tolist() == n.trajectory.arch_ids.tolist()
            assert o.trajectory.values.tolist() == n.trajectory.values.tolist()
        if o.clock is not None:
            for key, column in o.clock["evaluations"].items():
                assert list(column) == list(n.clock["evaluations"][key]), (o.seed, key)


@pytest.mark.slow
def test_a_live_folder_takes_more_runs(tmp_path):
    """A third seed after the replayed one trains for real (about 20 s on two CPU cores)."""
    out = copy(LIVE, tmp_path)
    before = run_files(out)
    search(LIVE, out, LIVE.runs + 1, resume=True)
    after = run_files(out)
    assert {name: after[name] for name in before} == before
    assert sorted(after) == ["seed_00000.json", "seed_00001.json", "seed_00002.json"]
    run = {r.seed: r for r in read(LIVE, out)}[2]
    assert run.queries == 3 and run.distinct_archs == 3


# --------------------------------------------------------------------------- report
@pytest.mark.parametrize("case", params(CASES))
def test_an_old_folder_reads_back_with_the_best_values_of_its_summary(case):
    rows = summary(FOLDERS / case.name)
    runs = read(case, FOLDERS / case.name)
    assert [r.seed for r in runs] == sorted(rows)
    for run in runs:
        row = rows[run.seed]
        if case.multi_objective:
            hv_regret, igd_plus, front_size = run.scores.final()
            assert (hv_regret, igd_plus, front_size) == (float(row["hv_regret"]), float(row["igd_plus"]),
                                                         int(row["front_size"]))
            assert run.queries == int(row["queries"])
        else:
            assert run.best_value == float(row["objective"])
            assert run.best_arch_id == int(row["arch_id"])
            assert run.queries == int(row.get("queries") or row["full_trainings"])


@pytest.mark.parametrize("case", params([c for c in TABLE_CASES if not c.multi_objective]))
def test_an_old_folder_gives_its_anytime_curve(case):
    from nares_nas.reports.curves import anytime_curve

    runs = read(case, FOLDERS / case.name)
    rows = summary(FOLDERS / case.name)
    queries, mean, low, high = anytime_curve([r.trajectory for r in runs])
    assert queries[-1] == max(r.queries for r in runs)
    assert mean[-1] == pytest.approx(np.mean([float(row["objective"]) for row in rows.values()]), abs=1e-12)


def test_an_old_multi_objective_folder_gives_its_regret_curve():
    from nares_nas.reports.curves import anytime_regret

    case = next(c for c in CASES if c.multi_objective)
    rows = summary(FOLDERS / case.name)
    queries, mean, low, high = anytime_regret(read(case, FOLDERS / case.name))
    assert mean[-1] == pytest.approx(np.mean([float(row["hv_regret"]) for row in rows.values()]), abs=1e-12)


@pytest.mark.parametrize("case", params(CASES))
def test_the_report_command_reads_an_old_folder(case, capsys):
    from nares_nas.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    if "report" not in commands:
        pytest.skip("no `nares-nas report` command yet")
    assert cli.main(["report", str(FOLDERS / case.name)]) == 0
    assert capsys.readouterr().out


# --------------------------------------------------------------------------- plugins
@pytest.mark.parametrize("case", params(CASES))
def test_the_class_a_folder_pins_resolves_to_itself(case):
    cls = resolve(pinned_class(case))
    assert f"{cls.__module__}:{cls.__qualname__}" == pinned_class(case)


def test_pinned_classes_resolve():
    pytest.importorskip("optuna")
    from nares_nas.searchers._evolution import RegularizedEvolution
    from nares_nas.searchers._random import RandomSearch

    assert resolve("nares_nas.searchers._random:RandomSearch") is RandomSearch
    assert resolve("nares_nas.searchers._evolution:RegularizedEvolution") is RegularizedEvolution
    tpe = resolve("optuna.samplers:TPESampler")
    assert resolve("nares_nas.integrations.optuna:OptunaSearcher[TPESampler]") is tpe is resolve("optuna:TPESampler")


PLUGIN_IMPORTS = {
    "nares_nas.searchers": ("Searcher", "register", "resolve"),
    "nares_nas.asktell": ("Proposal", "Result"),
    "nares_nas.simulation.budget": ("Budget",),
    "nares_nas.searchers.contract": ("check_searcher",),
}


@pytest.mark.parametrize("module", PLUGIN_IMPORTS)
def test_what_plugins_import_is_where_the_changelog_says(module):
    imported = importlib.import_module(module)
    for name in PLUGIN_IMPORTS[module]:
        assert hasattr(imported, name), f"{module}.{name}"
    changelog = (Path(__file__).parents[1] / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"`{module}" in changelog
    for name in PLUGIN_IMPORTS[module]:
        assert f"{name}`" in changelog, name


@register("compat_first_ids")
class FirstIds(Searcher):
    """A plugin as the README writes one: proposes arch_ids 1, 2, 3, ... and counts what it is told."""

    def propose(self, space, budget, rng, *, maximize=True, max_epochs=None) -> Proposals:
        told: list[Result] = []
        for arch_id in range(1, (budget or 20) + 1):
            told += (yield Proposal(arch_id)) or []


def test_a_plugin_written_against_those_imports_resolves_and_passes_the_contract():
    assert resolve("compat_first_ids") is FirstIds
    check_searcher(FirstIds, budget=10)
    assert Budget(archs=10).archs == 10
