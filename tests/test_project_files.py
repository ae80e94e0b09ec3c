"""The project files people look for: the licence setup.cfg declares, a citation of this version."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from nares_nas._version import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_file_is_the_mit_licence_setup_cfg_declares():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the nares-nas contributors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text


def test_the_citation_names_this_version_and_the_nares_paper():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", text, re.M)
    assert re.search(r"^version: (\S+)$", text, re.M).group(1) == __version__
    preferred = text.split("\npreferred-citation:\n", 1)[1]
    assert 'title: "A Neural Architecture Dataset for Adversarial Robustness"' in preferred.split("\nreferences:")[0]


def test_contributing_covers_set_up_tests_lint_layers_and_additions():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for needed in ("## Set-up", "ruff check .", "python -m pytest", "docs/architecture.md", "check_searcher",
                   "nares_nas/metrics.py", "nares_nas.searcher_adapters"):
        assert needed in text, needed
