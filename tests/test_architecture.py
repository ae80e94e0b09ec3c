"""The layers hold: import-linter's contracts pass, no module imports in a circle, and an import
inside a function is there only for a heavy or optional dependency (see docs/architecture.md)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from layers import HEAVY, REPO, cycles, import_graph, imports, is_ours, lint_imports, module_files, pulls_heavy


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_import_contracts_hold():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout), result.stdout


def test_no_module_imports_in_a_circle_counting_imports_inside_functions(graph):
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_circle_hidden_inside_a_function():
    graph = {"nares_nas.a": {"nares_nas.b": [(3, False)]}, "nares_nas.b": {"nares_nas.a": [(9, True)]},
             "nares_nas.c": {"nares_nas.a": [(1, False)]}}
    assert cycles(graph) == [["nares_nas.a", "nares_nas.b"]]


def deferred_internal_imports(graph) -> list[tuple[str, str, int]]:
    return sorted((module, target, line) for module, edges in graph.items() for target, sites in edges.items()
                  for line, deferred in sites if deferred and is_ours(target) and not target.startswith(module + "."))


def test_an_internal_import_is_deferred_only_where_it_pulls_a_heavy_dependency(graph):
    unjustified = [f"{module}:{line} imports {target} inside a function, but {target} pulls no heavy dependency"
                   for module, target, line in deferred_internal_imports(graph)
                   if not pulls_heavy(target, graph)]
    assert unjustified == []


def test_deferred_imports_of_external_packages_are_heavy_or_optional(graph):
    light = [f"{module}:{line} defers {target}" for module, edges in graph.items() for target, sites in edges.items()
             for line, deferred in sites
             if deferred and not is_ours(target) and target.split(".")[0] not in HEAVY
             and target.split(".")[0] not in sys.stdlib_module_names]
    assert light == []


def test_the_import_reader_resolves_relative_and_deferred_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from .geometry import hypervolume\nfrom typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    import torch\n"
                    "def f():\n    from nares_nas.data import home\n    import numba\n")
    found = list(imports("nares_nas.pareto.problem", path))
    assert found == [("nares_nas.pareto.geometry", 1, False), ("typing", 2, False),
                     ("nares_nas.data.home", 6, True), ("numba", 7, True)]


def test_the_heavy_rule_follows_module_level_imports_only():
    graph = {"nares_nas.a": {"nares_nas.b": [(1, False)], "torch": [(5, True)]},
             "nares_nas.b": {"pandas": [(2, False)]}, "nares_nas.c": {"nares_nas.a": [(4, True)]}}
    assert pulls_heavy("nares_nas.a", graph) == "pandas"
    assert pulls_heavy("nares_nas.c", graph) is None  # its own import of a is deferred
    assert pulls_heavy("numpy", graph) is None


def test_the_view_holds_every_module_of_the_installed_package():
    names = module_files()
    for expected in ("nares_nas.searchers._base", "nares_nas.surrogate.encodings", "nares_nas.simulation.clock"):
        assert expected in names
    assert all(path.is_file() for path in names.values())


def test_docs_name_every_subpackage():
    text = (REPO / "docs" / "architecture.md").read_text()
    packages = sorted({name.split(".")[1] for name in module_files() if name.count(".") >= 1
                       and (Path(module_files()[name]).name == "__init__.py")})
    missing = [p for p in packages if f"`{p}/`" not in text]
    assert missing == []


def test_contract_layers_match_the_architecture_page():
    contract = (REPO / ".importlinter").read_text()
    layers = re.search(r"\[importlinter:contract:layers\].*?layers =\n(.*?)\n\S", contract, re.S).group(1)
    named = [re.split(r"\s*[|:]\s*", line.strip()) for line in layers.splitlines() if line.strip()]
    page = (REPO / "docs" / "architecture.md").read_text()
    for row in named:
        for name in row:
            assert f"`{name}" in page, f"layer {name} is not described in docs/architecture.md"


def test_a_searcher_module_sees_no_data_table_or_clock(graph):
    seen = {target for module, edges in graph.items() if module.startswith("nares_nas.searchers")
            and module not in ("nares_nas.searchers.contract", "nares_nas.searchers._asha_compiled")
            for target in edges}
    assert not [t for t in seen if t.startswith(("nares_nas.data", "nares_nas.simulation", "nares_nas.runs"))]


def test_parse_is_stable_for_every_module():
    for path in module_files().values():
        ast.parse(path.read_text(), str(path))
