"""A module of another git revision, loaded beside this checkout's, for benchmarks that time both in one run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def module_at(rev: str, *paths: str, name: str) -> ModuleType:
    """The first of ``paths`` that exists at ``rev``, loaded as the module ``name``.

    Several paths, because modules moved between revisions (``nares_nas/clock.py`` became
    ``nares_nas/simulation/clock.py``); the module imports the rest of nares_nas from this checkout.
    """
    for path in paths:
        shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"none of {', '.join(paths)} exists at {rev}")
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / Path(path).name
        file.write_text(shown.stdout, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return module
