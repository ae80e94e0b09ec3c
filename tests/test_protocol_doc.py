"""docs/protocol.md: every section that code, docs and README cite exists; README links stay in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from nares_nas import cli

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = ROOT / "docs" / "protocol.md"
README = ROOT / "README.md"
# A citation: "spec" (docstrings) or "docs/protocol.md" (what is printed), then up to the end of the clause.
CITATION = re.compile(r"(?:\bspec|docs/protocol\.md)\s+((?:§|Appendix )[^)\]:;\"`\n]*)")
SECTION = re.compile(r"(?:§|–|Appendix )([A-D]|\d+)(\.\d+)?")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def protocol_sections() -> set[str]:
    """Section numbers of docs/protocol.md, from its anchors (``<a id="s6-18">`` is 6.18, ``sA-1`` A.1)."""
    return {anchor.replace("-", ".") for anchor in re.findall(r'<a id="s([0-9A-D][0-9-]*)"></a>', PROTOCOL.read_text())}


def cited_sections(text: str) -> list[str]:
    return [major + minor for clause in CITATION.findall(text) for major, minor in SECTION.findall(clause)]


def source_files() -> list[Path]:
    files = [README, *sorted((ROOT / "docs").glob("**/*.md")), *sorted((ROOT / "docs").glob("**/*.csv"))]
    for folder in ("nares_nas", "searchers", "surrogate", "experiments", "benchmarks", "tests"):
        files += sorted((ROOT / folder).glob("**/*.py"))
    return files


def test_the_protocol_page_numbers_its_sections_as_cited():
    sections = protocol_sections()
    # Built by hand from the page's outline: 0, 1–7 with their subsections, the 23 items of §6, appendices A–D.
    expected = ({"0", "1", "2", "3", "4", "5", "6", "7", "1.1", "1.2", "1.3", "1.4", "4.1", "A", "A.1", "A.2",
                 "B", "C", "D"} | {f"2.{i}" for i in range(1, 10)} | {f"3.{i}" for i in range(1, 11)}
                | {f"5.{i}" for i in range(1, 8)} | {f"6.{i}" for i in range(1, 24)})
    assert sections == expected
    assert cited_sections("(spec §5.4, §6.18): x; spec §3.3–3.8 and spec Appendix A.2") == ["5.4", "6.18", "3.3",
                                                                                              "3.8", "A.2"]


def test_every_cited_section_exists():
    sections = protocol_sections()
    missing = [f"{path.relative_to(ROOT)}: §{number}" for path in source_files()
               for number in cited_sections(path.read_text(encoding="utf-8")) if number not in sections]
    assert missing == []
    printed = [path for path in source_files() if "docs/protocol.md §" in path.read_text(encoding="utf-8")]
    assert README in printed and ROOT / "nares_nas" / "reports" / "table2.py" in printed


def test_readme_links_stay_in_the_repository_and_resolve():
    text = README.read_text(encoding="utf-8")
    assert "../" not in text and "shared/spec" not in text
    anchors = {anchor for anchor in re.findall(r'<a id="([^"]+)"></a>', PROTOCOL.read_text())}
    for target in LINK.findall(text):
        if target.startswith("#"):
            continue
        assert "://" not in target and not target.startswith("/"), target
        path, _, anchor = target.partition("#")
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target
        if path == "docs/protocol.md" and anchor:
            assert anchor in anchors, target
    assert "](docs/protocol.md)" in text  # the protocol is linked, in the repository


def test_table2_help_cites_the_protocol_page(capsys):
    assert cli.main(["table2", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Optimal column: per-metric best over the space (docs/protocol.md §7)" in out
    assert "7" in protocol_sections()
