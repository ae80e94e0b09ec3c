"""Where nares-nas keeps imported data and caches, and which data a command uses by default."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

HOME_ENV = "NARES_NAS_HOME"
DATA_ENV = "NARES_NAS_DATA"
SYNTHETIC = "synthetic"


def data_home() -> Path:
    """``$NARES_NAS_HOME``, else the user's cache directory (``~/.cache/nares-nas`` on Linux)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("nares-nas"))


def imported_dir(home: Path | None = None) -> Path:
    """Folder holding the imported official data (``cifar10.jsonl`` and its table)."""
    return (home or data_home()) / "nares"


def imported_jsonl(home: Path | None = None) -> Path:
    return imported_dir(home) / "cifar10.jsonl"


def imported_table(home: Path | None = None) -> Path:
    return imported_dir(home) / "table"


def cache_root(home: Path | None = None) -> Path:
    return (home or data_home()) / "cache"


def has_imported(home: Path | None = None) -> bool:
    return (imported_table(home) / "meta.json").exists() or imported_jsonl(home).exists()


def default_source() -> str:
    """``$NARES_NAS_DATA`` if set, else the imported NARes data if present, else the stand-in."""
    env = os.environ.get(DATA_ENV)
    if env:
        return env
    return "nares" if has_imported() else SYNTHETIC
