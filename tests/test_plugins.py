"""A searcher plugin installed as its own distribution is found, listed and run by the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from nares_nas import cli

PLUGIN = '''
from nares_nas.searchers import Searcher


class MyWalk(Searcher):
    """A random walk: query, step to a random neighbour, repeat."""

    def __init__(self, restart_every=50):
        self.restart_every = restart_every

    def search(self, space, oracle, budget, rng):
        arch_id = space.sample(rng)
        steps = 0
        while oracle.n_queries < budget:
            oracle.query(arch_id)
            steps += 1
            arch_id = space.sample(rng) if steps % self.restart_every == 0 else space.random_neighbour(arch_id, rng)


class Unregistered(MyWalk):
    """Only reachable as module:Class."""
'''

SETUP_CFG = '''
[metadata]
name = mypkg-walk
version = 0.0.1

[options]
packages = mypkg

[options.entry_points]
nares_nas.searchers =
    my_walk = mypkg.walk:MyWalk
'''

PYPROJECT = '''
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
'''

SHIM = ("import sys; from nares_nas import cli; name = 'nares_nas.commands.search'\n"
        "if name not in cli.COMMAND_MODULES: cli.COMMAND_MODULES += (name,)\n"
        "sys.exit(cli.main(sys.argv[1:]))")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The plugin built from its own setup.cfg and installed into a folder of its own."""
    src = tmp_path_factory.mktemp("plugin_src")
    (src / "mypkg").mkdir()
    (src / "mypkg" / "__init__.py").write_text("")
    (src / "mypkg" / "walk.py").write_text(textwrap.dedent(PLUGIN))
    (src / "setup.cfg").write_text(SETUP_CFG)
    (src / "pyproject.toml").write_text(PYPROJECT)
    target = tmp_path_factory.mktemp("plugin_site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "--target", str(target), str(src)], check=True, capture_output=True)
    assert (target / "mypkg" / "walk.py").exists()
    return target


def nares(site, home, *args):
    """``nares-nas ARGS`` in a fresh process that sees the plugin through PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "NARES_NAS_HOME": str(home)}
    script = shutil.which("nares-nas")
    if script and "nares_nas.commands.search" in cli.COMMAND_MODULES:
        command = [script, *args]
    else:  # the search command is not registered with the CLI yet
        command = [sys.executable, "-c", SHIM, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_plugin_is_listed(site, session_home):
    result = nares(site, session_home, "searchers")
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "my_walk" in rows, result.stdout + result.stderr
    assert "mypkg.walk:MyWalk" in rows["my_walk"] and "restart_every=50" in rows["my_walk"]
    assert "random_search" in rows  # the built-ins are still there


def test_the_plugin_runs_by_name(site, session_home, tmp_path):
    out = tmp_path / "walk"
    result = nares(site, session_home, "search", "--algo", "my_walk", "--param", "restart_every=7", "--runs", "3",
                   "--budget", "40", "--data", "synthetic", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "3 runs" in result.stdout and result.stdout.startswith("data: SYNTHETIC stand-in data")
    summary = (out / "summary.csv").read_text().splitlines()
    assert len(summary) == 4 and all(line.startswith("my_walk,") for line in summary[1:])
    assert '"restart_every": 7' in (out / "config.json").read_text()


def test_the_plugin_runs_as_module_class(site, session_home):
    result = nares(site, session_home, "search", "--algo", "mypkg.walk:Unregistered", "--runs", "2",
                   "--budget", "30", "--data", "synthetic", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "mypkg.walk:Unregistered Unregistered(restart_every=50): 2 runs" in result.stdout


def test_a_missing_module_is_a_one_line_error(site, session_home):
    result = nares(site, session_home, "search", "--algo", "mypkg.nothing:Walk", "--data", "synthetic")
    assert result.returncode == 2
    assert "searcher plugin 'mypkg.nothing:Walk'" in result.stderr and "ModuleNotFoundError" in result.stderr


def test_module_class_in_process(site, monkeypatch):
    from nares_nas.searchers import resolve
    from nares_nas.searchers.contract import check_searcher

    monkeypatch.syspath_prepend(str(site))
    cls = resolve("mypkg.walk:MyWalk")
    assert cls.__module__ == "mypkg.walk"
    check_searcher(cls, budget=30)


OFF_SPACE = '''
import numpy as np
from nares_nas.searchers import Searcher


class OffTheSpace(Searcher):
    """Queries one valid arch, then ``arch_id``."""

    def __init__(self, arch_id=-1):
        self.arch_id = arch_id

    def search(self, space, oracle, budget, rng):
        oracle.query(1)
        oracle.query(self.arch_id)
        while oracle.remaining > 0:
            oracle.query(space.sample(rng))


class NumpyIds(Searcher):
    """Hands the oracle and the space numpy integers."""

    def search(self, space, oracle, budget, rng):
        current = np.int64(space.sample(rng))
        while oracle.remaining > 0:
            oracle.query(current)
            current = np.int64(space.random_neighbour(current, rng))
'''


@pytest.fixture
def off_space(tmp_path, monkeypatch):
    (tmp_path / "offspace_plugin.py").write_text(OFF_SPACE)
    monkeypatch.syspath_prepend(str(tmp_path))
    if "nares_nas.commands.search" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nares_nas.commands.search"))


@pytest.mark.parametrize("arch_id", ["-1", "0", "15626", "true", "2.0"])
def test_a_plugin_querying_outside_the_space_is_a_one_line_error(off_space, arch_id, capsys):
    code = cli.main(["search", "--algo", "offspace_plugin:OffTheSpace", "--param", f"arch_id={arch_id}",
                     "--runs", "1", "--budget", "5", "--data", "synthetic", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "invalid architecture" in err and "Traceback" not in err
    assert ("must be an integer" if arch_id in ("true", "2.0") else "arch_id must be in 1..15625") in err


def test_a_plugin_may_use_numpy_integers(off_space, tmp_path, capsys):
    from nares_nas.runs.folder import read_runs
    from nares_nas.searchers import resolve
    from nares_nas.searchers.contract import check_searcher

    check_searcher(resolve("offspace_plugin:NumpyIds"), budget=30)
    out = tmp_path / "np"
    assert cli.main(["search", "--algo", "offspace_plugin:NumpyIds", "--runs", "2", "--budget", "12",
                     "--data", "synthetic", "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    runs = read_runs(out)
    assert [len(r.trajectory) for r in runs] == [12, 12]
