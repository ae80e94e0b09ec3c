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
            and module not in ("nares_nas.searchers.contract", "nares_nas.searchers._asha_compiled",
                               "nares_nas.searchers._one_worker")
            for target in edges}
    assert not [t for t in seen if t.startswith(("nares_nas.data", "nares_nas.simulation", "nares_nas.runs"))]


def test_parse_is_stable_for_every_module():
    for path in module_files().values():
        ast.parse(path.read_text(), str(path))


RUN_WORDS = re.compile(r"seed|run", re.IGNORECASE)
PASS_THROUGH = frozenset({"range", "sorted", "reversed", "enumerate", "zip", "list", "set", "tuple", "iter"})


def command_faults(source: str) -> list[str]:
    """Where a command module does a library's work: ``LINE: what``, for an assignment to an attribute of the
    parsed arguments (``args.x = ...``, ``setattr(args, ...)``; the parameter named ``args`` or annotated
    ``Namespace``) and for a ``for`` statement over seeds or runs (a name with "seed" or "run" in its target
    or its iterable)."""
    tree = ast.parse(source)
    parsed = {"args"} | {a.arg for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                         for a in node.args.args + node.args.kwonlyargs
                         if a.annotation is not None and ast.unparse(a.annotation).endswith("Namespace")}

    def of_parsed(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in parsed

    def names(node: ast.AST) -> set[str]:
        """The names an expression iterates over: a call's own name, and its arguments' only for the
        builtins that pass them through (``range``, ``sorted``...); ``print_lines(runs)`` iterates lines."""
        if isinstance(node, ast.Call) and ast.unparse(node.func) not in PASS_THROUGH:
            return names(node.func)
        found = {node.id} if isinstance(node, ast.Name) else {node.attr} if isinstance(node, ast.Attribute) else set()
        return found.union(*(names(child) for child in ast.iter_child_nodes(node)))

    faults = []
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign) else [node.target]
                   if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Attribute, ast.Subscript)) and of_parsed(part.value):
                    faults.append((node.lineno, f"assigns {ast.unparse(part)}"))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr" and node.args and of_parsed(node.args[0]):
            faults.append((node.lineno, f"assigns an attribute of {node.args[0].id} with setattr"))
        if isinstance(node, (ast.For, ast.AsyncFor)):
            looped = sorted(n for n in names(node.target) | names(node.iter) if RUN_WORDS.search(n))
            if looped:
                faults.append((node.lineno, f"a for loop over {', '.join(looped)}"))
    return [f"{line}: {what}" for line, what in sorted(faults)]


def test_the_command_checker_finds_each_fault():
    source = '''
import argparse
def cmd(opts: argparse.Namespace, other) -> int:
    opts.budget = 500
    args.maximize += 1
    setattr(opts, "x", 1)
    other.budget = 3  # not the parsed arguments
    for seed in range(3):
        pass
    for item in done.runs:
        pass
    for s in sorted(range(opts.seed, opts.seed + opts.runs)):
        pass
    for name in names:  # neither seeds nor runs
        pass
    for line in report_lines(seeds):  # iterates what the call returns: lines
        pass
    return [r for r in runs]  # a comprehension reads, it runs nothing
'''
    assert command_faults(source) == ["4: assigns opts.budget", "5: assigns args.maximize",
                                      "6: assigns an attribute of opts with setattr",
                                      "8: a for loop over seed", "10: a for loop over runs",
                                      "12: a for loop over runs, seed"]


def test_commands_only_parse_and_print():
    """A command computes locals from its parsed arguments, never changes them, and leaves running seeds to
    the library (one call), so the Python API does whatever the command line does."""
    folder = REPO / "nares_nas" / "commands"
    faults = {path.name: found for path in sorted(folder.glob("*.py")) if (found := command_faults(path.read_text()))}
    assert faults == {}
