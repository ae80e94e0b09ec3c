"""docs/reference/formats.md names every field the code reads and writes today (so a new field gets its unit)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nares_nas import cli
from nares_nas.data.jsonl import TRAIN_KEYS
from nares_nas.data.table import COLUMNS
from nares_nas.live.cache import _COLUMNS as CACHE_COLUMNS
from nares_nas.metrics import TEST_KEYS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "formats.md"


def documented(name: str) -> bool:
    """Named in the page as code: ``name``, or as a part of a dotted key (``train[0].seed``, ``.corruptions.NAME``)."""
    text = PAGE.read_text(encoding="utf-8")
    return any(form in text for form in (f"`{name}`", f".{name}`", f".{name},", f".{name}."))


def test_every_record_key_is_documented():
    missing = [key for key in (*TRAIN_KEYS, *TEST_KEYS, "arch_id", "MACs", "Params", "corruptions")
               if not documented(key)]
    assert missing == []


def test_every_cache_column_and_live_cache_column_is_documented():
    columns = [c for c in COLUMNS if c not in TRAIN_KEYS and c not in TEST_KEYS]  # those are record keys
    assert [c for c in columns if not documented(c)] == []
    assert [c.strip() for c in CACHE_COLUMNS.split(",") if not documented(c.strip())] == []


def test_every_file_of_a_run_folder_written_today_is_documented(tmp_path, fresh_home):
    out = tmp_path / "rs"
    assert cli.main(["search", "--algo", "asha", "--runs", "1", "--max-cost", "1", "--workers", "2",
                     "--out", str(out), "--data", "synthetic", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    run = json.loads((out / "runs" / "seed_00000.json").read_text())
    summary = pd.read_csv(out / "summary.csv")
    names = [*config, *run, *run["execution"], *run["clock"], *run["clock"]["evaluations"], *summary.columns]
    assert len(names) > 40  # the walk reached every level
    assert sorted({n for n in names if not documented(n)}) == []
