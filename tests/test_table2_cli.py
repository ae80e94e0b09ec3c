"""``nares-nas table2`` end to end on the synthetic stand-in, with few runs and a small budget."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from plain_csv import read_plain

import nares_nas
from nares_nas import cli
from nares_nas.commands.table2 import parse_params
from nares_nas.data.synthetic import SYNTHETIC_LABEL
from nares_nas.errors import ConfigError
from nares_nas.reports.table2 import TABLE2_METRICS
from nares_nas.runs.folder import load_run_file, read_runs
from nares_nas.suites.table2 import preset_params

CHEAP = "random_search,local_search,regularized_evolution"
ALL = CHEAP.split(",") + ["bananas"]
COST_HEADER = ["searcher", "runs", "workers", "gpu_days_mean", "gpu_days_std", "sim_days_mean", "sim_days_std",
               "evaluations_mean", "full_trainings_mean", "evaluations_by_epochs"]
TINY_BANANAS = ("--param", "bananas.epochs=3", "--param", "bananas.num_ensemble=2",
                "--param", "bananas.num_layers=2")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One data home for the module, so the synthetic table is built once."""
    return tmp_path_factory.mktemp("nares_home")


@pytest.fixture(autouse=True)
def _shared_home(home, monkeypatch):
    monkeypatch.setenv("NARES_NAS_HOME", str(home))
    if "nares_nas.commands.table2" not in cli.COMMAND_MODULES:  # until the lead registers it
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nares_nas.commands.table2"))


def table2(out, *extra: str) -> int:
    return cli.main(["table2", "--data", "synthetic", "--out", str(out), "--runs", "3", "--budget", "30",
                     "--searchers", CHEAP, *extra])


@pytest.fixture(scope="module")
def run_dir(home, tmp_path_factory):
    """One CLI run shared by the read-only checks below: all four searchers (BANANAS tiny),
    reference preset, published table too."""
    out = tmp_path_factory.mktemp("t2") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NARES_NAS_HOME", str(home))
        if "nares_nas.commands.table2" not in cli.COMMAND_MODULES:
            mp.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nares_nas.commands.table2"))
        buf = io.StringIO()
        mp.setattr("sys.stdout", buf)
        code = table2(out, "--preset", "reference", "--reference-table", "--searchers", ",".join(ALL),
                      *TINY_BANANAS)
    return out, code, buf.getvalue()


@pytest.mark.torch  # the folder holds a BANANAS run
def test_files_exist_parse_and_are_labelled(run_dir):
    out, code, console = run_dir
    assert code == 0
    for name in ("table2.md", "table2.csv", "table2.tex", "table2.json"):
        assert SYNTHETIC_LABEL in (out / name).read_text(encoding="utf-8"), name
    assert SYNTHETIC_LABEL in console
    frame = read_plain(out / "table2.csv", ["row", "metric", "optimal", *(f"{s}_{part}" for s in ALL for part in (
        "mean", "std", "n", "best"))], synthetic=True)
    assert frame["metric"].tolist() == list(TABLE2_METRICS)
    tex = (out / "table2.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\end{table}" in tex and "\\mathbf{" in tex
    png = (out / "anytime.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    data = json.loads((out / "table2.json").read_text())
    assert data["ddof"] == 1 and data["preset"] == "reference" and data["data"]["synthetic"] is True
    assert data["optimal"]["mode"] == "per-metric"
    for name in ALL:
        assert data["searchers"][name]["metrics"]["VAL_PGD_ACC"]["n"] == 3
        assert (out / name / "summary.csv").exists() and len(read_runs(out / name)) == 3


@pytest.mark.torch  # the folder holds a BANANAS run
def test_console_shows_computed_then_published(run_dir):
    _, _, console = run_dir
    computed, published = console.split("=" * 100)
    assert "Preset: reference" in computed and "ddof=1" in computed and "PUBLISHED" not in computed
    assert "PUBLISHED" in published and "| Val Clean | 78.25 | 75.88±0.56 |" in published


@pytest.mark.torch  # the folder holds a BANANAS run
def test_numbers_match_the_runs_on_disk(run_dir):
    out, _, _ = run_dir
    bench = nares_nas.load("synthetic")
    data = json.loads((out / "table2.json").read_text())
    for name in ALL:
        best = np.array([r.best_arch_id for r in read_runs(out / name)])
        for metric in ("VAL_PGD_ACC", "TEST_AA_ACC"):
            values = bench.metrics(best, metric)
            cell = data["searchers"][name]["metrics"][metric]
            assert cell["mean"] == pytest.approx(values.mean())
            assert cell["std"] == pytest.approx(values.std(ddof=1))
    optimum = np.nanmax(bench.metric_by_row("VAL_PGD_ACC"))
    assert data["optimal"]["values"]["VAL_PGD_ACC"] == pytest.approx(optimum)


@pytest.mark.torch  # the folder holds a BANANAS run
def test_reference_preset_reaches_the_searchers(run_dir):
    out, _, _ = run_dir
    config = json.loads((out / "local_search" / "config.json").read_text())
    assert config["params"]["reference_moves"] is True
    params = json.loads((out / "bananas" / "config.json").read_text())["params"]
    assert params["reference_overshoot"] is True and params["encoding"] == "onehot"
    assert (params["epochs"], params["num_ensemble"], params["num_layers"]) == (3, 2, 2)
    # the reference local search overshoots the budget on at least one of three seeds here
    data = json.loads((out / "table2.json").read_text())
    assert data["searchers"]["local_search"]["distinct_queries"]["max"] > 30
    assert data["searchers"]["random_search"]["distinct_queries"] == {"min": 30, "median": 30.0, "max": 30}


def test_the_synthetic_notice_is_printed_once_beside_the_table(tmp_path, capsys):
    assert table2(tmp_path / "out", "--runs", "2") == 0
    printed, err = capsys.readouterr()
    assert [line for line in err.splitlines() if "SYNTHETIC" in line] == [
        "notice: SYNTHETIC stand-in data: these numbers are not NARes results"]  # --data synthetic: no hint
    assert "NOTE:" not in printed and f"**{SYNTHETIC_LABEL}**" in printed  # the table carries its own label


def test_rerun_needs_resume_and_resume_reproduces(tmp_path, capsys):
    out = tmp_path / "out"
    assert table2(out, "--searchers", "random_search", "--optimal", "best-arch") == 0
    first = json.loads((out / "table2.json").read_text())
    assert first["optimal"]["mode"] == "best-arch" and first["optimal"]["arch_id"] >= 1
    assert "Optimal (best-arch)" in (out / "table2.md").read_text()
    capsys.readouterr()
    assert table2(out, "--searchers", "random_search", "--optimal", "best-arch") == 2
    assert "--resume" in capsys.readouterr().err
    assert table2(out, "--searchers", "random_search", "--optimal", "best-arch", "--resume") == 0
    assert json.loads((out / "table2.json").read_text()) == first


def test_bad_options_fail_with_one_line(tmp_path, capsys):
    assert table2(tmp_path / "a", "--param", "random_search.nope=1") == 2
    assert "nope" in capsys.readouterr().err
    assert table2(tmp_path / "b", "--searchers", "no_such_searcher") == 2
    assert "no_such_searcher" in capsys.readouterr().err


def test_parse_params():
    assert parse_params(["bananas.epochs=5", "bananas.encoding=path", "local_search.reference_moves=true"],
                        ["bananas", "local_search"]) == {
        "bananas": {"epochs": 5, "encoding": "path"}, "local_search": {"reference_moves": True}}
    with pytest.raises(ConfigError, match="SEARCHER.KEY=VALUE"):
        parse_params(["epochs=5"], ["bananas"])
    with pytest.raises(ConfigError, match="not among"):
        parse_params(["bananas.epochs=5"], ["random_search"])


def test_presets():
    assert preset_params("default", "local_search") == {}
    assert preset_params("reference", "local_search") == {"reference_moves": True}
    assert preset_params("reference", "random_search") == {}
    assert preset_params("reference", "bananas") == {"reference_overshoot": True, "encoding": "onehot"}
    assert preset_params("fast", "bananas") == {"epochs": 150}     # Bananas.fast()
    assert preset_params("fast", "regularized_evolution") == {}
    with pytest.raises(ConfigError, match="preset"):
        preset_params("paper", "random_search")


def test_table2_on_a_dask_cluster_equals_local_runs(tmp_path):
    distributed = pytest.importorskip("distributed")
    local, on_dask = tmp_path / "local", tmp_path / "dask"
    assert table2(local) == 0
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        assert table2(on_dask, "--backend", "dask", "--scheduler", cluster.scheduler_address) == 0
    assert json.loads((on_dask / "table2.json").read_text()) == json.loads((local / "table2.json").read_text())
    for name in CHEAP.split(","):
        assert (on_dask / name / "summary.csv").read_bytes() == (local / name / "summary.csv").read_bytes()
        assert load_run_file(on_dask / name / "runs" / "seed_00000.json")["execution"]["backend"] == "dask"


def test_table2_backend_options_are_checked(tmp_path, capsys):
    assert table2(tmp_path / "a", "--backend", "dask") == 2
    assert "scheduler address" in capsys.readouterr().err
    assert table2(tmp_path / "b", "--scheduler", "tcp://127.0.0.1:1") == 2
    assert "only used with backend='dask'" in capsys.readouterr().err


def _experiment_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "experiments" / "table2.py"
    spec = importlib.util.spec_from_file_location("table2_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_experiment_script_defaults_and_backend(tmp_path, monkeypatch):
    script = _experiment_script()
    args = script.parse_args(["--out", str(tmp_path)])
    assert (args.preset, args.jobs, args.backend, args.scheduler) == ("default", 1, "loky", None)
    seen = {}

    def fake_run_table2(bench, out_dir, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(script, "run_table2", fake_run_table2)
    with pytest.raises(SystemExit):
        script.main(["--out", str(tmp_path), "--data", "synthetic", "--runs", "2", "--backend", "dask",
                     "--scheduler", "tcp://10.0.0.1:8786"])
    assert (seen["backend"], seen["scheduler"], seen["preset"], seen["runs"]) == ("dask", "tcp://10.0.0.1:8786",
                                                                                  "default", 2)


def test_table2_at_equal_cost_on_simulated_workers(tmp_path, capsys):
    out = tmp_path / "cost"
    assert cli.main(["table2", "--data", "synthetic", "--out", str(out), "--runs", "2", "--searchers",
                     "random_search,regularized_evolution", "--workers", "4", "--max-cost"]) == 0
    printed = capsys.readouterr().out
    bench = nares_nas.load("synthetic")
    cap = 500 * float(np.nanmean(bench.metric_by_id("TRAINING_TIME")[1:]))
    assert f"budget per run: {cap:.4g} GPU-days (= 500 full trainings" in printed and "4 simulated workers" in printed
    assert "| random_search | 2 |" in printed and SYNTHETIC_LABEL in printed
    md = (out / "table2.md").read_text()
    assert "Cost (simulated clock" in md and "4 simulated workers" in md
    costs = read_plain(out / "costs.csv", COST_HEADER, synthetic=True).set_index("searcher")
    assert list(costs.index) == ["random_search", "regularized_evolution"]
    for name in costs.index:
        for run in read_runs(out / name):
            assert run.budget is None and run.clock["workers"] == 4
            assert cap - 1.0 < run.clock["gpu_days"] <= cap  # every training costs less than 1 GPU-day here
            assert run.clock["sim_days"] < run.clock["gpu_days"] / 3
        spent = [r.clock["gpu_days"] for r in read_runs(out / name)]
        assert costs.loc[name, "gpu_days_mean"] == pytest.approx(np.mean(spent))
    assert (out / "anytime_sim_days.png").stat().st_size > 0 and (out / "anytime_gpu_days.png").stat().st_size > 0
    config = json.loads((out / "random_search" / "config.json").read_text())
    assert config["workers"] == 4 and config["max_cost"] == pytest.approx(cap) and config["budget"] is None


def readme_block(heading: str) -> list[str]:
    """The commands of the first ``bash`` block after ``heading`` in the Table 2 how-to (once the README's
    section), comments removed."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "howto" / "table2.md").read_text(encoding="utf-8")
    block = text.split(heading, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_table2_lines_work_in_the_order_shown(tmp_path, monkeypatch, capsys):
    """Each line as the how-to shows it, at --runs 2 and without BANANAS (the searchers named where a line
    takes the default four), the Dask line on a local cluster, in one folder as a reader would."""
    import shlex

    distributed = pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    lines = readme_block("# Reproduce the paper's Table 2")
    assert len(lines) == 6 and all("table2" in line for line in lines)
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        for line in lines:
            argv = shlex.split(line.replace("tcp://HOST:8786", cluster.scheduler_address))
            argv[argv.index("--runs") + 1] = "2"
            if "--searchers" not in argv:
                argv += ["--searchers", CHEAP]
            if argv[0] == "python":
                assert argv[1] == "experiments/table2.py"
                _experiment_script().main(argv[2:])
            else:
                assert argv[:2] == ["nares-nas", "table2"]
                assert cli.main(argv[1:]) == 0, (line, capsys.readouterr().err)
    for out, searchers in (("table2", CHEAP), ("table2-ref", CHEAP),
                           ("t2-small", "random_search,regularized_evolution")):
        for name in searchers.split(","):
            assert [r.seed for r in read_runs(tmp_path / "results" / out / name)] == [0, 1], (out, name)
        assert (tmp_path / "results" / out / "table2.md").exists()


def test_a_table_of_fewer_searchers_or_runs_says_what_it_leaves_out(tmp_path, capsys):
    out = tmp_path / "out"
    assert table2(out, "--runs", "4") == 0
    capsys.readouterr()
    assert table2(out, "--runs", "2", "--searchers", "local_search", "--resume") == 0
    printed = capsys.readouterr().out
    table = json.loads((out / "table2.json").read_text())
    assert list(table["searchers"]) == ["local_search"] and table["searchers"]["local_search"]["runs"] == 2
    assert (f"{out / 'local_search'} holds 4 runs (seeds 0..3), of which the 2 of seeds 0..1 are reported here; "
            "its summary.csv has all 4") in printed
    assert (f"left out of this table (not among --searchers): {out / 'random_search'} (random_search, 4 runs), "
            f"{out / 'regularized_evolution'} (regularized_evolution, 4 runs)") in printed
    assert len(pd.read_csv(out / "local_search" / "summary.csv")) == 4


def test_a_multi_objective_searcher_is_pointed_to_mo_table_before_anything_runs(tmp_path, capsys):
    assert table2(tmp_path / "out", "--searchers", "random_search,nsga2") == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("notice:")]
    assert len(err) == 1 and err[0].startswith("nares-nas table2: error: nsga2 searches several objectives at once")
    assert "nares-nas mo-table --searchers nsga2 --objectives" in err[0]
    assert not (tmp_path / "out" / "random_search").exists()


def test_experiment_script_on_a_folder_in_use_is_one_line(tmp_path, capsys):
    script = _experiment_script()
    argv = ["--out", str(tmp_path / "out"), "--data", "synthetic", "--runs", "2", "--searchers", "random_search"]
    script.main(argv)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        script.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (f"table2.py: error: {tmp_path / 'out' / 'random_search'} already holds runs of "
                                    "this configuration; use --resume (resume=True) to continue them, or another "
                                    "output folder")
    script.main([*argv, "--resume"])
