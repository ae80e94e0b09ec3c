"""The package as it installs, for tools that read imports: ``python tests/layers.py`` checks the layers,
``python tests/layers.py --deferred`` lists every import inside a function and the dependency that justifies it.

``searchers/`` and ``surrogate/`` sit at the top of the repository but install as
``nares_nas.searchers`` and ``nares_nas.surrogate`` (``package_dir`` in setup.cfg). Tools that
walk a package's folder (grimp, and so import-linter) would not find them, so :func:`installed_view`
copies the three folders into one ``nares_nas`` tree, and :func:`lint_imports` runs import-linter's
contracts (``.importlinter``) on that tree.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"nares_nas": "nares_nas", "searchers": "nares_nas/searchers", "surrogate": "nares_nas/surrogate"}
HEAVY = frozenset({
    "torch", "numba", "dask", "distributed", "optuna", "syne_tune", "matplotlib", "pandas", "sklearn", "scipy",
    "moocore", "pyautoattack", "autoattack", "huggingface_hub", "fastparquet", "joblib", "tqdm", "filelock",
})
"""Dependencies that are optional or whose import costs a user noticeable start-up time (joblib's
process pool and tqdm add about 0.1 s each to every command, filelock 30-70 ms): the only reason a module may import
something inside a function."""


def installed_view(root: Path) -> Path:
    """Copy the package into ``root`` laid out as it installs; returns the ``nares_nas`` folder."""
    for source, target in FOLDERS.items():
        shutil.copytree(REPO / source, root / target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root / "nares_nas"


def lint_imports(*args: str) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` with the repository's contracts on the installed view."""
    with tempfile.TemporaryDirectory() as tmp:
        installed_view(Path(tmp))
        env = {**os.environ, "PYTHONPATH": tmp}
        command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                   "sys.exit(lint_imports_command())", str(REPO / ".importlinter"), "--no-cache", "--no-logo", *args]
        return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)


# ------------------------------------------------------------------ imports as the source states them
def module_files() -> dict[str, Path]:
    """Every module of the installed package by dotted name."""
    found = {}
    for source, target in FOLDERS.items():
        prefix = target.replace("/", ".")
        for path in sorted((REPO / source).rglob("*.py")):
            parts = path.relative_to(REPO / source).with_suffix("").parts
            name = ".".join((prefix, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """``(imported module, line, deferred)`` for every import of ``module``; ``deferred`` when inside a
    function. ``from P import x`` names ``P.x`` where that is a module of ours, else ``P``.
    Imports under ``if TYPE_CHECKING:`` are skipped: they never run."""
    modules = module_files()
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, deferred: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, deferred
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(module, is_package, child)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    yield (full if full in modules else base), child.lineno, deferred
            else:
                inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                yield from visit(child, inner)

    yield from visit(tree, False)


def import_graph() -> dict[str, dict[str, list[tuple[int, bool]]]]:
    """``graph[a][b]``: the (line, deferred) of each import of module ``b`` by ``a`` (ours and external)."""
    graph: dict[str, dict[str, list[tuple[int, bool]]]] = {}
    for module, path in module_files().items():
        edges = graph.setdefault(module, {})
        for target, line, deferred in imports(module, path):
            edges.setdefault(target, []).append((line, deferred))
    return graph


def is_ours(module: str) -> bool:
    return module == "nares_nas" or module.startswith("nares_nas.")


def pulls_heavy(module: str, graph: dict, seen: set[str] | None = None) -> str | None:
    """The heavy dependency that importing ``module`` imports at once (through module-level imports), if any."""
    seen = set() if seen is None else seen
    if module in seen:
        return None
    seen.add(module)
    top = module.split(".")[0]
    if not is_ours(module):
        return top if top in HEAVY else None
    # importing a.b.c runs a, a.b first
    parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
    for target in [*parents, *[t for t, sites in graph.get(module, {}).items() if any(not d for _, d in sites)]]:
        found = pulls_heavy(target, graph, seen)
        if found:
            return found
    return None


def cycles(graph: dict) -> list[list[str]]:
    """Strongly connected groups of our modules (every import counted, deferred ones too), largest first."""
    nodes = [m for m in graph if is_ours(m)]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in nodes:
        if v not in index:
            connect(v)
    return sorted(found, key=len, reverse=True)


def deferred_imports(graph: dict) -> list[tuple[str, int, str, str | None]]:
    """Every import inside a function: ``(module, line, imported, the heavy dependency it pulls or None)``."""
    return sorted((module, line, target, target.split(".")[0] if not is_ours(target) else pulls_heavy(target, graph))
                  for module, edges in graph.items() for target, sites in edges.items()
                  for line, deferred in sites if deferred and target.split(".")[0] not in sys.stdlib_module_names)


if __name__ == "__main__":
    if sys.argv[1:] == ["--deferred"]:  # the list the rule allows, with the reason for each
        for module, line, target, heavy in deferred_imports(import_graph()):
            print(f"{module}:{line} imports {target} inside a function ({heavy or 'NO HEAVY DEPENDENCY'})")
        sys.exit(0)
    result = lint_imports(*sys.argv[1:])
    print(result.stdout + result.stderr)
    sys.exit(result.returncode)
