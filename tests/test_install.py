"""The install: CI runs the README's test command, and it tests Syne Tune for real without xgboost's CUDA wheel."""

from __future__ import annotations

import configparser
import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fidelity_records import ARCH_IDS, write

import nares_nas
from nares_nas.space import Arch

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(key: str) -> list[str]:
    """A requirement list of setup.cfg: ``install_requires`` or an extra's name."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    text = config["options"]["install_requires"] if key == "install_requires" else config["options.extras_require"][key]
    return [line.strip() for line in text.splitlines() if line.strip()]


def names(lines: list[str]) -> set[str]:
    return {canonical(NAME.match(line).group()) for line in lines}


def steps(commands: list[str]) -> list[str]:
    """Commands with ``python -m`` and ``-q`` dropped, so the README's and CI's spellings compare."""
    return [" ".join(word for word in command.removeprefix("python -m ").split() if word != "-q")
            for command in commands]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("Install and run the tests:"):].split("```bash\n", 1)[1].split("\n```", 1)[0]
    main_venv = (ROOT / ".ci" / "run").read_text().split("# The docs site")[0]
    ci = [line for line in main_venv.splitlines() if line.startswith("python -m ")]
    assert steps(block.split(" && ")) == steps(ci) == [
        "pip install torch==2.13.0", 'pip install -e ".[test]"', "pip install --no-deps syne-tune==0.16.0",
        "pytest"]


def test_ci_builds_the_docs_after_the_tests_as_the_readme_says():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("The docs site is built"):].split("```bash\n", 1)[1].split("\n```", 1)[0]
    ci = (ROOT / ".ci" / "run").read_text()
    docs = ci[ci.index("# The docs site"):ci.index("# The tabular install")]
    commands = [line for line in docs.splitlines() if line.startswith("python -m ")]
    assert ci.index("python -m pytest -q\n") < ci.index("# The docs site")  # after the tests
    assert steps(commands) == ['pip install -e ".[docs]"', "sphinx -W --keep-going -b html docs docs/_build/html"]
    assert steps(block.split(" && ")) == ['pip install -e ".[test,docs]"', steps(commands)[1]]


def test_the_test_extra_never_pulls_xgboost_or_a_cuda_wheel():
    from packaging.requirements import Requirement

    assert not names(requirements("test")) & {"syne-tune", "xgboost"}
    seen: set[str] = set()
    todo = [Requirement(line) for line in requirements("test")]
    while todo:
        requirement = todo.pop()
        name = canonical(requirement.name)
        if name == "torch" or name in seen:  # torch comes first, pinned, by its own command
            continue
        seen.add(name)
        try:
            declared = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:  # not installed here: nothing to follow
            continue
        extras = {""} | set(requirement.extras)
        todo += [dependency for dependency in map(Requirement, declared)
                 if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras)]
    assert {"pytest", "dask", "statsmodels", "fastparquet"} <= seen  # the walk went through the extra
    assert not {name for name in seen if name == "xgboost" or name.startswith("nvidia-")}


def test_what_we_use_of_syne_tune_imports_no_xgboost_and_only_what_the_test_extra_holds(tmp_path, fresh_home):
    pytest.importorskip("syne_tune")
    pytest.importorskip("fastparquet")
    from nares_nas.integrations.synetune import HYPERPARAMETERS, export_syne_tune

    export = export_syne_tune(nares_nas.load(write(tmp_path / "cifar10.jsonl")), tmp_path / "export")
    points = [dict(zip(HYPERPARAMETERS, Arch.from_id(arch_id).to_tuple())) for arch_id in ARCH_IDS]
    program = f"""
import importlib.metadata, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("script", {str(ROOT / "experiments" / "synetune_asha_bohb.py")!r})
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
from syne_tune.blackbox_repository import UserBlackboxBackend  # benchmarks/bench_clock.py's import
from syne_tune.blackbox_repository.blackbox_tabular import deserialize
blackbox = deserialize({str(export)!r})["cifar10"]
for scheduler in script.SCHEDULERS:
    script.run_scheduler(blackbox, scheduler, seed=0, workers=2, max_trials={len(points)}, min_epochs=2,
                         out_dir={str(tmp_path / "st")!r}, points_to_evaluate={points!r})
owners = importlib.metadata.packages_distributions()
print(json.dumps(sorted({{d for module in list(sys.modules) for d in owners.get(module.partition(".")[0], [])}})))
"""
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {canonical(name) for name in json.loads(done.stdout.splitlines()[-1])}
    assert "syne-tune" in imported and "statsmodels" in imported  # BOHB's KDE ran
    assert "xgboost" not in imported
    # Syne Tune's declared needs (and those of its "extra" extra, the blackbox repository's) that it imported
    # are ours to install, since it is installed without them.
    from packaging.requirements import Requirement

    declared = {canonical(requirement.name) for requirement in map(Requirement, metadata.requires("syne-tune"))
                if requirement.marker is None or requirement.marker.evaluate({"extra": "extra"})} - {"syne-tune"}
    ours = names(requirements("install_requires")) | names(requirements("test"))
    assert (imported & declared) - ours == set()


def test_ci_runs_the_quick_start_and_the_tests_in_a_virtualenv_without_extras():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("Install and run a search"):].split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert block.startswith("pip install -e . && nares-nas search ")  # no torch: the tabular install
    ci = (ROOT / ".ci" / "run").read_text()
    tabular = ci[ci.index("# The tabular install"):]
    assert '\npython -m venv "$scratch/venv"\n' in tabular  # its own site-packages: no torch, no numba
    assert '"$bare" -m pip install -q -e .\n' in tabular  # no extras
    assert 'sed -n \'/^Install and run a search/' in tabular  # the quick start as the README shows it
    assert tabular.rstrip().endswith('"$bare" -m pytest -q')
