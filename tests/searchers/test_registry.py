"""The registry: entry points, @register, module:Class, errors that name the plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nares_nas.errors import PluginError
from nares_nas.searchers import (
    LocalSearch,
    RandomSearch,
    RegularizedEvolution,
    Searcher,
    _registry,
    available,
    register,
    resolve,
    searcher_name,
)


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch):
    monkeypatch.setattr(_registry, "_registered", dict(_registry._registered))


def test_built_ins_come_from_entry_points_sorted():
    names = available()
    assert list(names) == sorted(names)
    assert names["random_search"] == "nares_nas.searchers._random:RandomSearch"
    assert names["local_search"] == "nares_nas.searchers._local:LocalSearch"
    assert names["regularized_evolution"] == "nares_nas.searchers._evolution:RegularizedEvolution"
    assert names["bananas"] == "nares_nas.searchers._bananas:Bananas"
    assert _registry._entry_points()["random_search"] == names["random_search"]


def test_resolve_names_and_references():
    assert resolve("random_search") is RandomSearch
    assert resolve("local_search") is LocalSearch
    assert resolve("nares_nas.searchers._evolution:RegularizedEvolution") is RegularizedEvolution
    assert resolve(RandomSearch) is RandomSearch
    assert searcher_name(LocalSearch()) == "local_search"


def test_register_decorator():
    @register("my_walk")
    class MyWalk(Searcher):
        def search(self, space, oracle, budget, rng):
            oracle.query(1)

    assert resolve("my_walk") is MyWalk
    assert available()["my_walk"].endswith(":test_register_decorator.<locals>.MyWalk")
    assert searcher_name(MyWalk) == "my_walk"
    with pytest.raises(PluginError, match="already registered"):
        register("my_walk")(type("Other", (Searcher,), {"search": lambda *a: None}))
    with pytest.raises(PluginError, match="not a subclass"):
        register("thing")(dict)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(PluginError, match=r"unknown searcher 'nope'; available: .*random_search"):
        resolve("nope")


@pytest.mark.parametrize(("spec", "cause"), [
    ("no_such_module_xyz:Thing", "ModuleNotFoundError"),
    ("nares_nas.searchers._random:Missing", "AttributeError"),
    ("nares_nas.space:SearchSpace", "not a subclass"),
])
def test_load_failures_name_the_plugin_and_cause(spec, cause):
    with pytest.raises(PluginError, match=cause) as info:
        resolve(spec)
    assert spec in str(info.value)
    assert isinstance(info.value, ImportError)


def test_a_broken_entry_point_is_wrapped(monkeypatch):
    monkeypatch.setattr(_registry, "_entry_points", lambda: {"broken": "nares_nas.no_such_module:Broken"})
    with pytest.raises(PluginError, match=r"'broken' \(nares_nas.no_such_module:Broken\) failed to load"):
        resolve("broken")


def test_importing_the_package_does_not_import_torch():
    code = ("import sys, nares_nas.searchers as s; s.available(); s.resolve('local_search'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
