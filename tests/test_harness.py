"""Repeated runs: identical trajectories sequentially, in processes and on Dask; run folders."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from plain_csv import read_plain

import nares_nas
from nares_nas import cli
from nares_nas.errors import ConfigError, MetricError
from nares_nas.runs.folder import load_run_file, read_runs
from nares_nas.runs.parallel import iter_groups
from nares_nas.runs.search import run_search, run_to_dir, simulate_search
from nares_nas.searchers import Bananas, LocalSearch, RandomSearch, RegularizedEvolution
from nares_nas.searchers.contract import toy_objective
from nares_nas.simulation.budget import Budget
from nares_nas.simulation.model import as_model, evaluation_model
from nares_nas.space import KEYS, Arch

TINY_BANANAS = Bananas(num_ensemble=3, num_layers=2, layer_width=8, epochs=3)  # runs 8 seeds in lockstep
SEARCHERS = [RandomSearch(), LocalSearch(), LocalSearch(reference_moves=True), RegularizedEvolution(),
             pytest.param(TINY_BANANAS, marks=pytest.mark.torch)]


@pytest.fixture(autouse=True)
def _search_command(monkeypatch):
    if "nares_nas.commands.search" not in cli.COMMAND_MODULES:  # until the lead registers it
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nares_nas.commands.search"))


@pytest.fixture(scope="module")
def values():
    return toy_objective(0)


def same(a, b):
    return len(a) == len(b) and all(
        np.array_equal(x.arch_ids, y.arch_ids) and np.array_equal(x.values, y.values) for x, y in zip(a, b)
    )


@pytest.mark.parametrize("searcher", SEARCHERS, ids=repr)
def test_sequential_runs_follow_the_seed(searcher, values):
    trajectories = run_search(searcher, values, seeds=[5, 2, 9], budget=120)
    for seed, traj in zip([5, 2, 9], trajectories):
        alone = run_search(searcher, values, seeds=[seed], budget=120)[0]
        assert same([traj], [alone])
    assert [len(t) for t in trajectories][0] >= 120


@pytest.mark.parametrize("searcher", SEARCHERS, ids=repr)
def test_process_parallel_equals_sequential(searcher, values):
    seeds = range(10, 22)
    seq = run_search(searcher, values, seeds=seeds, budget=150)
    par = run_search(searcher, values, seeds=seeds, budget=150, n_jobs=2)
    assert same(seq, par), searcher


def logs(runs):
    return [run.log.rows() for run in runs]


def test_dask_equals_sequential(values, bench):
    distributed = pytest.importorskip("distributed")
    model = evaluation_model(bench, "VAL_PGD_ACC")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        for searcher in (RegularizedEvolution(), LocalSearch(), TINY_BANANAS):
            on_dask = run_search(searcher, values, seeds=range(8), budget=150, backend="dask",
                                 scheduler=cluster.scheduler_address)
            assert same(on_dask, run_search(searcher, values, seeds=range(8), budget=150))
        # on simulated workers, every evaluation (worker, start, end) is the same wherever the runs go
        options = dict(seeds=range(4), budget=Budget(cost=15.0), workers=4)
        seq = simulate_search(RegularizedEvolution(), model, **options)
        assert logs(simulate_search(RegularizedEvolution(), model, backend="dask",
                                    scheduler=cluster.scheduler_address, **options)) == logs(seq)
        assert logs(simulate_search(RegularizedEvolution(), model, n_jobs=2, **options)) == logs(seq)
        assert len({r["worker"] for r in seq[0].log.rows()}) == 4


def test_name_resolution_and_minimising(values):
    by_name = run_search("regularized_evolution", values, seeds=[1], budget=100)
    assert same(by_name, run_search(RegularizedEvolution(), values, seeds=[1], budget=100))
    down = run_search(RegularizedEvolution(), -values, seeds=[1], budget=100, maximize=False)
    assert down[0].arch_ids.tolist() == by_name[0].arch_ids.tolist()
    assert down[0].best_value == -by_name[0].best_value


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(backend="spark"), ConfigError, "backend must be one of"),
    (dict(backend="dask"), ConfigError, "scheduler address"),
    (dict(scheduler="tcp://x:1"), ConfigError, "only used with backend='dask'"),
    (dict(budget=0), ConfigError, "budget"),
    (dict(objective="TEST_AA_ACC"), MetricError, "test set"),
    (dict(seeds=[1, 1]), ConfigError, "distinct"),
    (dict(seeds=[-1]), ConfigError, r"seed must be an integer in 0\.\.9223372036854775807, got -1"),
    (dict(seeds=[2**63]), ConfigError, "seed must be an integer in 0"),
    (dict(n_jobs=0), ConfigError, "n_jobs"),
])
def test_bad_arguments_are_refused(values, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_search(RandomSearch(), values, **{"seeds": [0], "budget": 10, **kwargs})


def test_values_must_be_indexed_by_arch_id():
    with pytest.raises(ConfigError, match="15626"):
        run_search(RandomSearch(), np.zeros(15625), seeds=[0], budget=10)


# --------------------------------------------------------------------------- folders
def test_run_to_dir_writes_runs_summary_and_config(tmp_path, bench):
    out = tmp_path / "re"
    results = run_to_dir(out, RegularizedEvolution(population_size=10), bench, seeds=range(3, 8), budget=60)
    assert [r.seed for r in results] == [3, 4, 5, 6, 7]
    config = json.loads((out / "config.json").read_text())
    assert config["searcher"] == "regularized_evolution"
    assert config["params"] == {"population_size": 10, "tournament_size": 10, "mutation_rate": 1.0}
    assert config["budget"] == 60 and config["objective"] == "VAL_PGD_ACC" and config["direction"] == "max"
    assert config["synthetic"] is True and config["data"] == bench.source
    assert config["version"] == nares_nas.__version__
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"seed_{s:05d}.json" for s in range(3, 8)]

    frame = read_plain(out / "summary.csv", ["searcher", "seed", "full_trainings", "distinct_archs", "arch_id",
                                             "D1", "W1", "D2", "W2", "D3", "W3", "objective", "gpu_days",
                                             "sim_days", "evaluations"], synthetic=True)
    assert set(frame["data"]) == {f"SYNTHETIC stand-in data, not NARes results (source: {bench.source})"}
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["seed"]) for r in rows] == [3, 4, 5, 6, 7]
    expected = run_search(RegularizedEvolution(population_size=10), bench.metric_by_id("VAL_PGD_ACC"),
                          seeds=range(3, 8), budget=60)
    for row, traj in zip(rows, expected):
        assert row["searcher"] == "regularized_evolution"
        assert int(row["full_trainings"]) == int(row["distinct_archs"]) == 60
        assert int(row["arch_id"]) == traj.best_arch_id
        assert float(row["objective"]) == traj.best_value == bench.metric(traj.best_arch_id, "VAL_PGD_ACC")
        assert [int(row[k]) for k in KEYS] == Arch.from_id(traj.best_arch_id).to_list()

    back = read_runs(out)
    assert same([r.trajectory for r in back], expected)
    assert back[0].params == config["params"] and back[0].budget == 60
    stored = load_run_file(out / "runs" / "seed_00003.json")
    np.testing.assert_array_equal(stored["best"], expected[0].best_so_far)


def test_summary_counts_full_trainings_and_distinct_architectures_apart(tmp_path, bench):
    """A multi-fidelity run evaluates more architectures than it trains fully: two columns, each from the log."""
    from nares_nas.searchers import Asha

    out = tmp_path / "asha"
    run_to_dir(out, Asha(), bench, seeds=[0, 1], budget=Budget(cost=20.0), workers=4)
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        evaluations = load_run_file(out / "runs" / f"seed_{int(row['seed']):05d}.json")["clock"]["evaluations"]
        full = sum(epochs == 100 for epochs in evaluations["epoch_to"])
        assert int(row["full_trainings"]) == full and int(row["distinct_archs"]) == len(set(evaluations["arch_id"]))
        assert 0 < full < int(row["distinct_archs"]) < int(row["evaluations"])


def test_minimised_objective_in_the_summary(tmp_path, bench):
    results = run_to_dir(tmp_path / "min", RandomSearch(), bench, seeds=[0, 1], budget=50,
                         objective="PARAMS", maximize=False)
    for r in results:
        assert r.best_value == r.trajectory.values.min() == bench.metric(r.best_arch_id, "PARAMS")
    assert json.loads((tmp_path / "min" / "config.json").read_text())["direction"] == "min"


def test_folders_refuse_other_configurations_and_need_resume(tmp_path, bench):
    out = tmp_path / "ls"
    run_to_dir(out, LocalSearch(), bench, seeds=[0, 1], budget=40)
    with pytest.raises(ConfigError, match="use --resume"):
        run_to_dir(out, LocalSearch(), bench, seeds=[0, 1], budget=40)
    with pytest.raises(ConfigError, match=r"different configuration \(budget: 40 there, 41 now\)"):
        run_to_dir(out, LocalSearch(), bench, seeds=[0, 1], budget=41, resume=True)
    with pytest.raises(ConfigError, match="params"):
        run_to_dir(out, LocalSearch(num_init=3), bench, seeds=[0, 1], budget=40, resume=True)
    with pytest.raises(ConfigError, match="searcher"):
        run_to_dir(out, RandomSearch(), bench, seeds=[0, 1], budget=40, resume=True)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no config.json"):
        run_to_dir(tmp_path / "junk", LocalSearch(), bench, seeds=[0], budget=40)
    # resuming with more seeds adds them; the summary covers the whole folder
    more = run_to_dir(out, LocalSearch(), bench, seeds=range(4), budget=40, resume=True)
    assert [r.seed for r in more] == [0, 1, 2, 3]
    assert len((out / "summary.csv").read_text().splitlines()) == 5


def test_resume_after_lost_runs_gives_the_same_folder(tmp_path, bench):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    kwargs = dict(seeds=range(12), budget=80, n_jobs=2)
    run_to_dir(whole, RegularizedEvolution(), bench, **kwargs)
    run_to_dir(broken, RegularizedEvolution(), bench, **kwargs)
    for seed in (2, 5, 11):
        (broken / "runs" / f"seed_{seed:05d}.json").unlink()
    (broken / "summary.csv").unlink()
    run_to_dir(broken, RegularizedEvolution(), bench, resume=True, **kwargs)
    assert (broken / "summary.csv").read_bytes() == (whole / "summary.csv").read_bytes()
    for seed in range(12):
        name = f"runs/seed_{seed:05d}.json"
        assert (broken / name).read_bytes() == (whole / name).read_bytes()


def test_resume_after_a_killed_job(tmp_path, bench, session_home):
    """Kill a real job once some runs are on disk, resume it, compare with an uninterrupted run."""
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    code = ("import sys; from nares_nas import cli; name = 'nares_nas.commands.search'\n"
            "if name not in cli.COMMAND_MODULES: cli.COMMAND_MODULES += (name,)\n"
            "sys.exit(cli.main(sys.argv[1:]))")
    args = ["search", "--algo", "local_search", "--param", "reference_moves=true", "--runs", "150",
            "--budget", "300", "--data", "synthetic", "--quiet"]
    env = {**os.environ, "NARES_NAS_HOME": str(session_home)}
    proc = subprocess.Popen([sys.executable, "-c", code, *args, "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            runs = killed / "runs"
            if runs.is_dir() and len(list(runs.glob("seed_*.json"))) >= 5:
                break
            assert proc.poll() is None, f"the job ended early with exit code {proc.returncode}"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done_before = len(list((killed / "runs").glob("seed_*.json")))
    assert 5 <= done_before < 150, "the job was not interrupted"
    assert cli.main([*args, "--out", str(killed), "--resume"]) == 0
    assert cli.main([*args, "--out", str(whole)]) == 0
    assert (killed / "summary.csv").read_bytes() == (whole / "summary.csv").read_bytes()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the processes' parents from /proc")
def test_kill_9_of_a_parallel_search_leaves_no_process_behind(tmp_path, bench, session_home):
    """kill -9 of `search --jobs 2` once its loky workers run: they and loky's resource trackers are gone
    within 10 s (not after loky's 300 s idle timeout)."""
    out = tmp_path / "killed"
    code = ("import sys; from nares_nas import cli; name = 'nares_nas.commands.search'\n"
            "if name not in cli.COMMAND_MODULES: cli.COMMAND_MODULES += (name,)\n"
            "sys.exit(cli.main(sys.argv[1:]))")
    args = ["search", "--algo", "random_search", "--runs", "5000", "--jobs", "2", "--data", "synthetic", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-c", code, *args, "--out", str(out)],
                            env={**os.environ, "NARES_NAS_HOME": str(session_home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not ((out / "runs").is_dir() and any((out / "runs").iterdir())):
            assert proc.poll() is None, f"the job ended early with exit code {proc.returncode}"
            time.sleep(0.05)
        children = _children(proc.pid)
        workers = [pid for pid in children if b"loky" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) >= 2, "no worker processes to leave behind"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_running, children)):
            time.sleep(0.1)
        assert not [pid for pid in children if _running(pid)]
    finally:  # whatever the outcome, nothing of the job outlives the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --------------------------------------------------------------------------- CLI
def test_cli_search_prints_source_synthetic_line_once_and_summary(tmp_path, capsys):
    out = tmp_path / "rs"
    code = cli.main(["search", "--algo", "random_search", "--runs", "6", "--seed", "10", "--budget", "50",
                     "--data", "synthetic", "--out", str(out), "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    text = captured.out
    assert text.splitlines()[0].startswith("data: SYNTHETIC stand-in data: these numbers are not NARes results")
    assert [line for line in (text + captured.err).splitlines() if "SYNTHETIC" in line] == [text.splitlines()[0]]
    results = read_runs(out)
    best = np.array([r.best_value for r in results])
    assert f"{best.mean():.4f} ± {best.std(ddof=1):.4f}" in text
    assert [r.seed for r in results] == list(range(10, 16))
    # again without --resume: refused with a one-line error and exit code 2
    assert cli.main(["search", "--algo", "random_search", "--runs", "6", "--seed", "10", "--budget", "50",
                     "--data", "synthetic", "--out", str(out), "--quiet"]) == 2
    assert "use --resume" in capsys.readouterr().err


def test_a_resume_with_fewer_runs_says_which_runs_its_statistics_cover(tmp_path, capsys):
    out = tmp_path / "rs"
    argv = ["search", "--algo", "random_search", "--budget", "30", "--data", "synthetic", "--out", str(out)]
    assert cli.main([*argv, "--runs", "8"]) == 0
    capsys.readouterr()
    assert cli.main([*argv, "--runs", "3", "--resume"]) == 0
    text = capsys.readouterr().out
    best = np.array([r.best_value for r in read_runs(out)])
    assert "3 runs (seeds 0..2)" in text
    assert f"best VAL_PGD_ACC: {best[:3].mean():.4f} ± {best[:3].std(ddof=1):.4f}" in text  # seeds 0..2 only
    assert f"{out} holds 8 runs (seeds 0..7), of which the 3 of seeds 0..2 are reported here; its summary.csv " \
           "has all 8" in text
    with open(out / "summary.csv", newline="") as handle:
        assert [int(row["seed"]) for row in csv.DictReader(handle)] == list(range(8))
    assert cli.main([*argv, "--runs", "8", "--resume"]) == 0
    assert "reported here" not in capsys.readouterr().out  # the folder's runs, all of them


def test_cli_params_and_no_out(capsys):
    code = cli.main(["search", "--algo", "local_search", "--param", "num_init=3", "--param",
                     "reference_moves=true", "--runs", "3", "--budget", "40", "--data", "synthetic"])
    assert code == 0
    assert "LocalSearch(num_init=3, query_full_nbhd=False, reference_moves=True)" in capsys.readouterr().out
    assert cli.main(["search", "--algo", "local_search", "--param", "width=3", "--runs", "1",
                     "--data", "synthetic"]) == 2
    assert "has no hyper-parameter 'width'" in capsys.readouterr().err
    assert cli.main(["search", "--algo", "nope", "--data", "synthetic"]) == 2
    assert "unknown searcher 'nope'" in capsys.readouterr().err


def test_cli_searchers_lists_names_classes_and_defaults(capsys):
    cli.main(["searchers"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "OBJECTIVES", "DEFAULTS"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert [by_name[name].split()[2] for name in ("random_search", "asha", "nsga2")] == [
        "one", "one+fidelity", "several"]
    assert "nares_nas.searchers._local:LocalSearch" in by_name["local_search"]
    assert "num_init=10, query_full_nbhd=False, reference_moves=False" in by_name["local_search"]
    assert "population_size=30, tournament_size=10, mutation_rate=1.0" in by_name["regularized_evolution"]
    assert "random_search" in by_name and "bananas" in by_name


def test_progress_bar_goes_to_stderr(tmp_path, bench, capsys):
    run_to_dir(tmp_path / "bar", RandomSearch(), bench, seeds=range(3), budget=20, progress=True)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and captured.out == ""


def test_read_runs_reports_malformed_files(tmp_path, bench):
    from nares_nas.errors import DataFormatError

    run_to_dir(tmp_path / "x", RandomSearch(), bench, seeds=[0], budget=20)
    path = tmp_path / "x" / "runs" / "seed_00000.json"
    obj = json.loads(path.read_text())
    del obj["values"]
    path.write_text(json.dumps(obj))
    with pytest.raises(DataFormatError, match='seed_00000.json: key "values"'):
        read_runs(tmp_path / "x")
    path.write_text("{")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        read_runs(tmp_path / "x")


# --------------------------------------------------------------------------- lockstep groups
class Grouped(RandomSearch):
    """Random search in lockstep groups of 4."""

    lockstep_runs = 4


def groups_of(searcher, values, **kwargs):
    return sorted(sorted(seed for seed, _ in group) for group in iter_groups(searcher, values, budget=20, **kwargs))


def test_groups_are_aligned_blocks_of_seeds(tmp_path, values, bench):
    """Seed s runs with the seeds of equal s // lockstep_runs, whatever --runs, --seed, --jobs, --resume."""
    searcher = Grouped()
    assert groups_of(searcher, values, seeds=range(2, 10)) == [[2, 3], [4, 5, 6, 7], [8, 9]]
    assert groups_of(searcher, values, seeds=range(2, 10), n_jobs=2) == [[2, 3], [4, 5, 6, 7], [8, 9]]
    assert groups_of(searcher, values, seeds=range(0, 12), n_jobs=2) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert groups_of(searcher, values, seeds=[9, 1, 8, 0]) == [[0, 1], [8, 9]]  # ascending within a block
    out = tmp_path / "folder"

    run_to_dir(out, searcher, bench, seeds=range(6), budget=20)
    assert sorted({tuple(r.execution["group"]) for r in read_runs(out)}) == [(0, 1, 2, 3), (4, 5)]
    run_to_dir(out, searcher, bench, seeds=range(10), budget=20, resume=True)
    assert sorted({tuple(r.execution["group"]) for r in read_runs(out) if r.seed >= 6}) == [(6, 7), (8, 9)]


@pytest.mark.torch
def test_config_pins_the_group_size_and_the_device_kind(tmp_path, bench):
    out = tmp_path / "bananas"
    tiny = dict(num_ensemble=2, num_layers=2, layer_width=8, epochs=2, lockstep_runs=2)
    run_to_dir(out, Bananas(**tiny), bench, seeds=range(2), budget=20)
    config = json.loads((out / "config.json").read_text())
    assert config["lockstep_runs"] == 2 and config["device"] == "cpu"
    assert not {"num_threads", "device", "lockstep_runs"} & set(config["params"])
    assert config["params"]["epochs"] == 2 and config["params"]["encoding"] == "path"
    with pytest.raises(ConfigError, match=r"lockstep_runs: 2 there, 4 now"):
        run_to_dir(out, Bananas(**{**tiny, "lockstep_runs": 4}), bench, seeds=range(4), budget=20, resume=True)
    # the device's kind is pinned, not how it was named: "auto" is the CPU on this machine
    more = run_to_dir(out, Bananas(**tiny, device="auto"), bench, seeds=range(4), budget=20, resume=True)
    assert [r.seed for r in more] == [0, 1, 2, 3]


def test_a_worker_on_another_device_kind_is_refused(values):
    from nares_nas.runs.parallel import _GroupSetup, _run_group

    with pytest.raises(ConfigError, match="computes on cpu here, not on cuda"):
        _run_group(RandomSearch(), as_model(values), _GroupSetup(Budget(archs=10), 1, "VAL_PGD_ACC", True, "cuda"),
                   [0])


# --------------------------------------------------------------------------- a killed BANANAS job
STALLING = '''
import os, time
from nares_nas.searchers import Bananas


class StallingBananas(Bananas):
    """Bananas whose second lockstep group (of two runs) in a process never ends while $NARES_TEST_STALL is set."""

    runs = 0

    def propose(self, *args, **kwargs):
        StallingBananas.runs += 1
        if os.environ.get("NARES_TEST_STALL") and StallingBananas.runs > 2:
            time.sleep(600)
        yield from super().propose(*args, **kwargs)
'''


@pytest.mark.torch
def test_a_killed_bananas_job_keeps_every_finished_group(tmp_path, bench, session_home, monkeypatch):
    """Two workers each finish a group, then stall in their next one: both finished groups are on disk
    before the job is killed, and the resumed folder is the uninterrupted one."""
    (tmp_path / "stalling_bananas.py").write_text(STALLING)
    monkeypatch.syspath_prepend(str(tmp_path))
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    code = ("import sys; from nares_nas import cli; name = 'nares_nas.commands.search'\n"
            "if name not in cli.COMMAND_MODULES: cli.COMMAND_MODULES += (name,)\n"
            "sys.exit(cli.main(sys.argv[1:]))")
    args = ["search", "--algo", "stalling_bananas:StallingBananas", "--runs", "20", "--budget", "24",
            *(f"--param={p}" for p in ("num_ensemble=2", "num_layers=2", "layer_width=8", "epochs=2",
                                       "lockstep_runs=2")),
            "--data", "synthetic", "--quiet"]
    env = {**os.environ, "NARES_NAS_HOME": str(session_home), "NARES_TEST_STALL": "1",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", code, *args, "--jobs", "2", "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs = killed / "runs"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and not (runs.is_dir() and len(list(runs.glob("seed_*.json"))) >= 4):
            assert proc.poll() is None, f"the job ended early with exit code {proc.returncode}"
            time.sleep(0.05)
        time.sleep(0.5)  # nothing more can finish: every worker is stalled
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    written = {path.name: path.read_bytes() for path in runs.glob("seed_*.json")}
    seeds = sorted(int(name[5:10]) for name in written)
    assert len(seeds) == 4 and len({s // 2 for s in seeds}) == 2, seeds  # two whole groups of two
    assert cli.main([*args, "--out", str(killed), "--resume"]) == 0
    assert cli.main([*args, "--out", str(whole)]) == 0
    for name, content in written.items():  # nothing written was lost or redone
        assert (killed / "runs" / name).read_bytes() == content
    assert (killed / "summary.csv").read_bytes() == (whole / "summary.csv").read_bytes()
    assert sorted(p.name for p in runs.iterdir()) == [f"seed_{s:05d}.json" for s in range(20)]


# --------------------------------------------------------------------------- pinned and free
TINY = dict(num_ensemble=2, num_layers=2, layer_width=8, epochs=2, lockstep_runs=2)


@pytest.mark.torch
def test_threads_and_jobs_are_free_on_resume(tmp_path, bench):
    out = tmp_path / "bananas"
    run_to_dir(out, Bananas(**TINY, num_threads=1), bench, seeds=range(2), budget=20)
    resumed = run_to_dir(out, Bananas(**TINY, num_threads=2), bench, seeds=range(4), budget=20, n_jobs=2,
                         resume=True)
    alone = run_search(Bananas(**TINY), bench.metric_by_id("VAL_PGD_ACC"), seeds=range(4), budget=20)
    assert same([r.trajectory for r in resumed], alone)
    first, last = (load_run_file(out / "runs" / f"seed_{s:05d}.json") for s in (0, 3))
    assert first["execution"]["params"] == {"device": "cpu", "lockstep_runs": 2, "num_threads": 1}
    assert first["execution"]["n_jobs"] == 1 and first["execution"]["group"] == [0, 1]
    assert last["execution"]["params"]["num_threads"] == 2 and last["execution"]["n_jobs"] == 2
    assert last["execution"]["group"] == [2, 3] and last["execution"]["backend"] == "loky"
    assert "num_threads" not in first["params"]


def _config_before_the_split(searcher, bench, budget):
    """config.json exactly as nares-nas wrote it before execution parameters were set apart."""
    values = bench.metric_by_id("VAL_PGD_ACC")
    return {"searcher": "bananas", "class": "nares_nas.searchers._bananas:Bananas",
            "params": json.loads(json.dumps(searcher.get_params())), "budget": budget,
            "objective": "VAL_PGD_ACC", "direction": "max", "data": bench.source, "synthetic": bench.synthetic,
            "objective_sha1": __import__("hashlib").sha1(np.ascontiguousarray(values).tobytes()).hexdigest(),
            "version": "0.1.0"}


@pytest.mark.torch
def test_a_folder_written_before_the_split_still_resumes(tmp_path, bench):
    out = tmp_path / "old"
    old = Bananas(**TINY)
    run_to_dir(out, old, bench, seeds=range(2), budget=20)
    for path in (out / "runs").glob("*.json"):  # run files as they were: every parameter, no execution
        obj = json.loads(path.read_text())
        obj["params"] = old.get_params()
        del obj["execution"]
        path.write_text(json.dumps(obj))
    (out / "config.json").write_text(json.dumps(_config_before_the_split(old, bench, 20), indent=2))
    resumed = run_to_dir(out, Bananas(**TINY, num_threads=2), bench, seeds=range(4), budget=20, resume=True)
    alone = run_search(Bananas(**TINY), bench.metric_by_id("VAL_PGD_ACC"), seeds=range(4), budget=20)
    assert same([r.trajectory for r in resumed], alone)
    with pytest.raises(ConfigError, match=r"lockstep_runs: 2 there, 8 now"):
        run_to_dir(out, Bananas(**{**TINY, "lockstep_runs": 8}), bench, seeds=range(4), budget=20, resume=True)
    with pytest.raises(ConfigError, match=r"params\['epochs'\]: 2 there, 3 now"):
        run_to_dir(out, Bananas(**{**TINY, "epochs": 3}), bench, seeds=range(4), budget=20, resume=True)


def test_a_job_that_fails_before_its_first_run_leaves_no_configuration_behind(tmp_path, bench):
    out = tmp_path / "re"
    with pytest.raises(ConfigError, match="population_size"):
        run_to_dir(out, RegularizedEvolution(population_size=0), bench, seeds=[0], budget=20)
    assert not out.exists()  # the corrected retry is not refused as "a different configuration"
    assert len(run_to_dir(out, RegularizedEvolution(population_size=5), bench, seeds=[0], budget=20)) == 1
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(ConfigError):
        run_to_dir(kept, RegularizedEvolution(population_size=0), bench, seeds=[0], budget=20)
    assert kept.is_dir() and not any(kept.iterdir())
    # a folder that already holds runs keeps them and its configuration, whatever fails later
    with pytest.raises(ConfigError):
        run_to_dir(out, RegularizedEvolution(population_size=5), bench, seeds=[0], budget=21, resume=True)
    assert (out / "config.json").exists() and len(read_runs(out)) == 1


def test_a_folder_written_before_the_clock_resumes_through_the_cli(tmp_path, bench, session_home, monkeypatch,
                                                                    capsys):
    from nares_nas import cli

    monkeypatch.setenv("NARES_NAS_HOME", str(session_home))
    out = tmp_path / "before"
    run_to_dir(out, RegularizedEvolution(population_size=5), bench, seeds=range(2), budget=20)
    for path in (out / "runs").glob("*.json"):  # run files as they were: no clock account
        obj = json.loads(path.read_text())
        del obj["clock"]
        path.write_text(json.dumps(obj))
    config = json.loads((out / "config.json").read_text())
    for key in ("max_cost", "max_time", "max_total_epochs", "workers", "from_scratch", "model_sha1"):
        del config[key]
    (out / "config.json").write_text(json.dumps(config))
    args = ["search", "--algo", "regularized_evolution", "--param", "population_size=5", "--runs", "3",
            "--budget", "20", "--data", "synthetic", "--out", str(out), "--resume", "--quiet"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "2 runs written by an older version carry no cost account" in printed
    with open(out / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    account = ("gpu_days", "sim_days", "evaluations")
    assert [all(row[key] == "" for key in account) for row in rows] == [True, True, False]
