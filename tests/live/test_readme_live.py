"""The live-mode how-to (docs/howto/live.md, once the README's section), followed as a reader would: its commands in
order, its snippet as a script."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson

from nares_nas import cli
from nares_nas.live import pipeline

from ._fakes import fake_train_and_evaluate
from .test_trainer import TINY

# TINY with the digits profile's epochs, so that ASHA's default rungs (4 and 8) are the page's
TINY8 = dataclasses.replace(TINY, name="tiny8", epochs=8, lr_milestones=(6, 7), save_epochs=(5, 6))
PAGE = Path(__file__).resolve().parents[2] / "docs" / "howto" / "live.md"


def readme_blocks(language: str) -> list[str]:
    """The live-mode page's fenced code blocks of ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(encoding="utf-8"), flags=re.M | re.S)


def readme_command(start: str) -> list[str]:
    """The arguments (after ``nares-nas``) of the one shell line of the page that starts with ``start``."""
    lines = [line for block in readme_blocks("bash") for line in block.splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"expected one line of the page starting with {start!r}, found {lines}"
    words = shlex.split(lines[0], comments=True)
    assert words[0] == "nares-nas"
    return words[1:]


def test_train_then_cache_show_as_the_readme_shows(tmp_path, fresh_home, monkeypatch, capsys):
    """`train ... --profile digits --out runs/digits-1` stores the record in the default cache, so the
    page's next lines (`cache ls`, `cache show`) find it. Training itself is faked here."""
    monkeypatch.setattr(pipeline, "train_and_evaluate", fake_train_and_evaluate)
    monkeypatch.chdir(tmp_path)
    assert cli.main(readme_command("nares-nas train 4,8,4,8,4,8 --profile digits")) == 0
    record = pipeline.read_record(tmp_path / "runs" / "digits-1" / pipeline.RECORD_FILE)
    assert f"cached in {fresh_home / 'live_cache.sqlite'}" in capsys.readouterr().out
    assert cli.main(readme_command("nares-nas cache ls")) == 0
    assert "1 records" in capsys.readouterr().out
    assert cli.main(readme_command("nares-nas cache show 4,8,4,8,4,8")) == 0
    assert json.loads(capsys.readouterr().out) == record


def live_search_snippet() -> str:
    block, = [b for b in readme_blocks("python") if "LiveSearch(" in b]
    return block


def test_the_live_search_snippet_does_its_work_under_the_main_guard():
    """Dask's worker processes import the saved script again: at its top level only imports and the guard."""
    tree = ast.parse(live_search_snippet())
    *imports, guard = tree.body
    assert all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in imports)
    assert isinstance(guard, ast.If) and ast.unparse(guard.test) == "__name__ == '__main__'"


def test_the_live_search_snippet_runs_as_a_saved_script(tmp_path):
    """The `LiveSearch` snippet saved as a file and run: Dask starts worker processes, which import the
    script again, so it must guard its work with ``if __name__ == "__main__":``. Only the profile is
    swapped for a tiny one (digits trains for minutes); Dask's INFO lines stay hidden. About 20 s on the quiet
    2-core machine (a local cluster of two worker processes and four tiny trainings)."""
    block = live_search_snippet()
    assert block.count('"digits"') == 1
    script = tmp_path / "live_search.py"
    script.write_text(block.replace('"digits"', repr(TINY8.to_dict())), encoding="utf-8")
    env = {**os.environ, "NARES_NAS_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr, done.stderr  # (a loaded machine may add Dask's warnings at shutdown)
    log = orjson.loads((tmp_path / "asha.json").read_bytes())
    assert log["finished"] and len({e["arch_id"] for e in log["evaluations"]}) == 3
    best, cost_days, time_days, evaluations = done.stdout.split()
    full = [e["value"] for e in log["evaluations"] if e["epoch_to"] == TINY8.epochs]
    assert float(best) == max(full) and int(evaluations) == len(log["evaluations"])
    assert float(cost_days) == sum(e["cost"] for e in log["evaluations"]) and 0 < float(time_days) < 300 / 86400
