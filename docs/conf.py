"""Sphinx configuration of the nares-nas docs site.

Sphinx because the docstrings already use its roles; MyST for the Markdown pages, autodoc and
autosummary for the API (the module list is generated, so a new module is covered), sphinx-argparse
for the CLI (from ``nares_nas.cli.build_parser``), sphinx-gallery for tutorials executed at build time.
Nothing is fetched from the network: no intersphinx.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # the helper modules: _cli (the CLI page), _gallery (around each tutorial)
# The tutorials run on the synthetic stand-in in a data home of their own, never the reader's imported data.
os.environ.setdefault("NARES_NAS_HOME", tempfile.mkdtemp(prefix="nares-nas-docs-"))
os.environ["NARES_NAS_DATA"] = "synthetic"

from nares_nas._version import __version__  # noqa: E402

project = "nares-nas"
author = "the nares-nas contributors"
copyright = "2026, the nares-nas contributors"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "fidelity/*.csv", "figures/*.csv", "figures/summary.md", "auto_tutorials/*.ipynb",
                    "auto_tutorials/*.py", "auto_tutorials/*.zip", "auto_tutorials/*.json", "auto_tutorials/*.md5"]
myst_heading_anchors = 3
smartquotes = False  # command lines keep their "--" and quotes as typed
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header", "myst.domains"]  # pages start at a level-1 title whose sub-levels may skip

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_mock_imports: list[str] = []

sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",  # every tutorial is executed
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
    "reset_modules": ("matplotlib", "_gallery.quiet_logs"),
}

html_theme = "furo"
html_title = f"nares-nas {release}"

ANCHOR = re.compile(r'^<a id="([^"]+)"></a>$', re.M)
LINE_ANCHORS = set(ANCHOR.findall((DOCS / "protocol.md").read_text(encoding="utf-8")))
LINKED = re.compile(r"(\]\([^)\s#]*#)(s[0-9A-D][0-9A-D-]*)(?=\))")


def html_anchors_as_targets(app, docname: str, source: list[str]) -> None:
    """The Markdown pages mark sections with ``<a id="s6-18"></a>`` (GitHub's renderer links to those);
    MyST needs a target of its own, ``(s6-18)=``, for ``[§6.18](#s6-18)`` to resolve."""
    text = ANCHOR.sub(lambda m: f"({m.group(1).lower()})=", source[0])
    source[0] = LINKED.sub(lambda m: m.group(1) + _target(m.group(1), m.group(2)), text)


def _target(link: str, anchor: str) -> str:
    """The label a link to ``anchor`` resolves to: lowercase, as Sphinx stores labels. A section marked
    inside a table row (``| <a id="s6-18"></a>6.18 | ...``) has no label of its own in another page's
    eyes, so a link from there goes to the section that holds the table (§6)."""
    if link.endswith("](#") or anchor in LINE_ANCHORS:
        return anchor.lower()
    return anchor.split("-")[0].lower()


def foreign_member(app, what: str, name: str, obj: object, skip: bool, options: object) -> bool | None:
    """Leave out what a class gets from another library (scikit-learn's ``set_*_request`` methods): the API
    pages document our names, and those docstrings cite the other library's own pages."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and module and not module.startswith("nares_nas"):
        return True
    return None


def setup(app) -> None:
    app.connect("source-read", html_anchors_as_targets)
    app.connect("autodoc-skip-member", foreign_member)
