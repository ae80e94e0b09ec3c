"""Every code block of README.md and docs/ runs, or says visibly why not.

Blocks run page by page, in the page's order, in a fresh folder, data home and process per page, on the
synthetic stand-in: a ``python`` block in one namespace shared with the page's earlier blocks (so a page
never leans on names another page defined), a ``bash`` block by bash with ``set -euo pipefail``, an
``ini`` block through configparser. A block that is not run carries the line ``*Not run here: REASON.*``
just above it; the test below lists and counts them. Blocks that other tests or CI run are named in
ELSEWHERE, with the file that runs them.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
MARKER = re.compile(r"^\*Not run here: (.+)\.\*$")
# (page, the block's first characters): the file that runs it, and a line that file holds for it.
ELSEWHERE = {
    ("README.md", "pip install -e . && nares-nas search"): (".ci/run", "sed -n '/^Install and run a search/"),
    ("README.md", "pip install torch==2.13.0 && pip install -e"): ("tests/test_install.py",
                                                                   'readme.index("Install and run the tests:")'),
    ("README.md", 'pip install -e ".[test,docs]" && python -m sphinx'): (".ci/run", "python -m sphinx -W --keep-going"),
    ("docs/howto/live.md", "from nares_nas.simulation.clock import Budget\nfrom nares_nas.live.driver"): (
        "tests/live/test_readme_live.py", "def test_the_live_search_snippet_runs_as_a_saved_script"),
}
# Pages whose blocks take more than a few seconds together: the slow suite runs them.
SLOW = {"docs/explanation/clock.md", "docs/explanation/multiobjective.md", "docs/howto/figures.md",
        "docs/howto/optuna-synetune.md"}
DRIVER = r"""
import json, subprocess, sys
namespace = {"__name__": "__docs__"}
for language, text in json.load(sys.stdin):
    if language == "python":
        exec(compile(text, "<docs block>", "exec"), namespace)
    else:
        subprocess.run(["bash", "-euo", "pipefail", "-c", text], check=True)
"""


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(language, text, reason it is not run or None) of each code block of ``page``, directives left out."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        before = [line for line in text[:match.start()].splitlines() if line.strip()]
        marker = MARKER.match(before[-1]) if before else None
        found.append((match.group(1), match.group(2), marker.group(1) if marker else None))
    return found


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def elsewhere(page: Path, text: str) -> tuple[str, str] | None:
    return next((runner for (where, start), runner in ELSEWHERE.items()
                 if where == name(page) and text.startswith(start)), None)


def to_run(page: Path) -> list[tuple[str, str]]:
    return [(language, text) for language, text, reason in blocks(page)
            if reason is None and elsewhere(page, text) is None]


def test_every_block_is_run_marked_or_run_elsewhere_and_the_markers_are_counted(capsys):
    marked = [(name(page), reason) for page in PAGES for _, _, reason in blocks(page) if reason]
    with capsys.disabled():
        print(f"\n{len(marked)} code blocks not run here:", *(f"  {page}: {reason}" for page, reason in marked),
              sep="\n")
    assert len(marked) == 12
    languages = {language for page in PAGES for language, _, _ in blocks(page)}
    assert languages <= {"bash", "python", "ini"}, languages  # every other kind would go unchecked
    run = sum(len(to_run(page)) for page in PAGES)
    assert run >= 15  # the collector found the pages' blocks


@pytest.mark.parametrize("key", sorted(ELSEWHERE), ids=lambda key: f"{key[0]}:{key[1][:30]}")
def test_a_block_run_elsewhere_is_there_and_is_run_there(key):
    page, start = key
    assert any(text.startswith(start) for _, text, _ in blocks(ROOT / page)), key
    runner, line = ELSEWHERE[key]
    assert line in (ROOT / runner).read_text(encoding="utf-8"), (runner, line)


def run_page(page: Path, tmp_path: Path) -> None:
    todo = to_run(page)
    ini = [text for language, text in todo if language == "ini"]
    for text in ini:  # a setup.cfg fragment: it parses, and names an entry point group of ours
        config = configparser.ConfigParser()
        config.read_string(text)
        assert any(key.startswith("nares_nas.") for key in config["options.entry_points"])
    todo = [(language, text) for language, text in todo if language != "ini"]
    if not todo:
        return
    env = {**os.environ, "NARES_NAS_HOME": str(tmp_path / "home"), "NARES_NAS_DATA": "synthetic",
           "MPLBACKEND": "agg", "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # the pages' `python experiments/...` lines
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(todo), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{name(page)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


FAST = [page for page in PAGES if name(page) not in SLOW and to_run(page)]


@pytest.mark.parametrize("page", FAST, ids=name)
def test_the_blocks_of_a_page_run(page, tmp_path):
    run_page(page, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("page", [ROOT / page for page in sorted(SLOW)], ids=name)
def test_the_long_blocks_of_a_page_run(page, tmp_path):
    run_page(page, tmp_path)
