"""Every import of nares_nas that the README and docs/ show works (module paths change with the layers)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
IMPORT = re.compile(r"^\s*from (nares_nas[\w.]*) import ([\w, ]+?)\s*(?:#.*)?$|^\s*import (nares_nas[\w.]*)", re.M)


def shown_imports() -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for page in PAGES:
        for m in IMPORT.finditer(page.read_text(encoding="utf-8")):
            module = m.group(1) or m.group(3)
            names = tuple(n.split(" as ")[0].strip() for n in (m.group(2) or "").split(",") if n.strip())
            found.append((page.name, module, names))
    return found


def test_the_pages_show_imports():
    assert len(shown_imports()) >= 10


@pytest.mark.parametrize(("page", "module", "names"), shown_imports(), ids=lambda v: str(v))
def test_a_shown_import_works(page, module, names):
    imported = importlib.import_module(module)
    for name in names:
        if not hasattr(imported, name):
            importlib.import_module(f"{module}.{name}")  # a submodule
