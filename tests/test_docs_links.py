"""Relative links in the Markdown files a reader opens outside the docs site point at files that exist.

The site's own pages are checked by the Sphinx build (``-W``: an unresolved cross-reference fails it);
the front page and the project files are read on GitHub or in a clone, where nothing checks them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)]


def relative_links(text: str) -> list[str]:
    """The targets of ``[text](target)`` links that name a file of the repository (no scheme, no mail)."""
    return [target for target in LINK.findall(text)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")]


def test_relative_links_are_found():
    text = "see [a](docs/x.md#part), [b](https://x.org), [c](#here) and [d](../y.png)"
    assert relative_links(text) == ["docs/x.md#part", "../y.png"]


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_names_a_file_that_exists(page):
    path = ROOT / page
    missing = [target for target in relative_links(path.read_text(encoding="utf-8"))
               if not (path.parent / target.split("#")[0]).exists()]
    assert not missing, f"{page} links to files that do not exist: {missing}"
