"""A tabular install: without torch and numba (extras of setup.cfg) the tabular oracle, the searchers but
BANANAS, the clock, the runs and the reports work and give the same runs; what needs an extra says which.

The subprocesses here make torch and numba unimportable with a ``sitecustomize`` on ``PYTHONPATH`` (a
meta-path finder that refuses them), as if they were not installed. CI also runs the tabular tests in a
second virtualenv installed without extras (.ci/run).
"""

from __future__ import annotations

import configparser
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = '''import sys

class _NotInstalled:
    """Refuses torch and numba as an environment without them would."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "numba"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
'''


@pytest.fixture(scope="module")
def blocker(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("without_extras")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return folder


def run(args: list[str], *, home: Path, without: Path | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python args`` in a fresh process; with ``without`` (the blocker's folder) torch and numba do not import."""
    env = {**os.environ, "NARES_NAS_HOME": str(home)}
    env.pop("NARES_NAS_DATA", None)
    env.pop("PYTHONPATH", None)
    if without is not None:
        env["PYTHONPATH"] = str(without)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_the_blocker_makes_torch_and_numba_unimportable(blocker, session_home):
    done = run(["-c", "import torch"], home=session_home, without=blocker)
    assert done.returncode == 1 and "No module named 'torch'" in done.stderr
    done = run(["-c", "import numba"], home=session_home, without=blocker)
    assert done.returncode == 1 and "No module named 'numba'" in done.stderr


def test_importing_the_package_the_clock_the_runs_and_the_reports_imports_neither(session_home):
    code = ("import sys, importlib, pkgutil\n"
            "import nares_nas, nares_nas.cli, nares_nas.searchers, nares_nas.simulation.clock\n"
            "for name in ('nares_nas.runs', 'nares_nas.reports', 'nares_nas.suites', 'nares_nas.simulation'):\n"
            "    package = importlib.import_module(name)\n"
            "    for module in pkgutil.iter_modules(package.__path__):\n"
            "        importlib.import_module(f'{name}.{module.name}')\n"
            "print(sorted(m for m in ('torch', 'numba') if m in sys.modules))\n")
    done = run(["-c", code], home=session_home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [
    ["--algo", "random_search", "--runs", "3", "--budget", "60"],
    ["--algo", "regularized_evolution", "--runs", "2", "--budget", "80"],
    ["--algo", "local_search", "--runs", "2", "--budget", "60"],
    # numba's compiled twin with it, the generator without: the same runs on 4 workers
    ["--algo", "asha", "--runs", "3", "--budget", "80", "--workers", "4"],
    ["--algo", "nsga2", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--runs", "2", "--budget", "60"],
], ids=["random", "evolution", "local", "asha", "nsga2"])
def test_a_tabular_search_without_torch_and_numba_writes_the_same_runs(argv, blocker, session_home, tmp_path):
    command = ["-m", "nares_nas.cli", "search", *argv, "--seed", "0", "--out", "out"]
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    with_extras = run(command, home=session_home, cwd=tmp_path / "with")
    without = run(command, home=session_home, without=blocker, cwd=tmp_path / "without")
    assert with_extras.returncode == 0, with_extras.stderr
    assert without.returncode == 0, without.stderr
    first, second = tmp_path / "with" / "out", tmp_path / "without" / "out"
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert [n for n in names if n.parts[0] == "runs"], "no run files written"
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:  # byte for byte: config, every run file, the summary
        if name.name.endswith(".csv.json"):  # the summary's provenance: the same but for when it was written
            ours, theirs = (json.loads((folder / name).read_text()) for folder in (first, second))
            assert {**ours, "written": None} == {**theirs, "written": None}, name
            continue
        assert filecmp.cmp(first / name, second / name, shallow=False), name
    assert without.stdout == with_extras.stdout


@pytest.mark.parametrize("argv, needed_by", [
    (["search", "--algo", "bananas", "--runs", "1", "--budget", "20"], "the bananas searcher"),
    (["search", "--algo", "mo_bananas", "--objectives", "VAL_PGD_ACC:max,MACS:min", "--runs", "1",
      "--budget", "20"], "the mo_bananas searcher"),
    (["search", "--live", "--data", "none", "--profile", "digits", "--algo", "random_search", "--runs", "1",
      "--budget", "2"], "live mode (training and attacks)"),
    (["train", "441", "--profile", "digits", "--out", "OUT"], "live mode (training and attacks)"),
], ids=["bananas", "mo_bananas", "live-search", "train"])
def test_what_needs_torch_says_so_in_one_line_naming_the_extra(argv, needed_by, blocker, session_home, tmp_path):
    argv = [str(tmp_path / "train") if word == "OUT" else word for word in argv]
    done = run(["-m", "nares_nas.cli", *argv, "--seed", "0"], home=session_home, without=blocker)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors == [f"nares-nas {argv[0]}: error: {needed_by} needs torch, which is not installed: "
                      "pip install 'nares-nas[torch]'"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "train").exists()


def test_the_extras_hold_torch_and_numba_and_the_base_install_neither():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    options, extras = config["options"], config["options.extras_require"]

    def names(text: str) -> set[str]:
        return {line.split(">")[0].split("=")[0].split("[")[0].strip() for line in text.splitlines() if line.strip()}

    assert not names(options["install_requires"]) & {"torch", "numba"}
    assert "torch" in names(extras["torch"]) and "numba" in names(extras["numba"])
    assert {"torch", "numba"} <= names(extras["test"])
