"""The docs site's set-up: the API reference reaches every package, the build fetches nothing, every page is linked."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_the_api_reference_recurses_from_roots_that_cover_every_installed_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    packages = config["options"]["packages"].split()
    api = (DOCS / "reference" / "api.rst").read_text(encoding="utf-8")
    assert ":recursive:" in api  # modules are found, not listed: a new module gets its page
    roots = re.findall(r"^   (nares_nas[\w.]*)$", api, re.M)
    assert roots == ["nares_nas", "nares_nas.searchers", "nares_nas.surrogate"]
    # A package below nares_nas/ is reached from nares_nas; the two that live elsewhere are roots themselves.
    mapped = {line.split("=")[0].strip() for line in config["options"]["package_dir"].splitlines() if line.strip()}
    assert [p for p in packages if p in mapped and p not in roots and p != "nares_nas"] == []
    assert all(p.startswith("nares_nas") for p in packages)


def test_the_build_fetches_nothing_and_the_cli_reference_comes_from_the_parser():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert "sphinx.ext.intersphinx" not in conf and "intersphinx_mapping" not in conf
    cli = (DOCS / "reference" / "cli.rst").read_text(encoding="utf-8")
    assert ".. argparse::" in cli and ":module: _cli" in cli and ":func: parser" in cli
    assert "build_parser()" in (DOCS / "_cli.py").read_text(encoding="utf-8")


def test_every_markdown_page_is_in_a_table_of_contents():
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
             if "_build" not in p.parts and p.parent.name not in ("figures", "fidelity")}
    listed = {"index"}
    for index in DOCS.rglob("*.md"):
        for block in re.findall(r"```\{toctree\}\n(.*?)```", index.read_text(encoding="utf-8"), re.S):
            for entry in block.splitlines():
                entry = entry.strip()
                if entry and not entry.startswith(":"):
                    base = index.parent.relative_to(DOCS)
                    listed.add(entry.lstrip("/") if entry.startswith("/") else (base / entry).as_posix())
    assert pages - listed == set()
