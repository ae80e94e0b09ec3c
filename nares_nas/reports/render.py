"""The one table renderer: a table's shown cells and notes as Markdown, CSV, LaTeX or JSON text.

A report's table (Table 2, the multi-objective table, the report command's summary and costs)
says what it shows through :class:`Shown`; the functions here lay it out, so every table prints
its notes and, on the stand-in, :data:`~nares_nas.data.synthetic.SYNTHETIC_LABEL` the same way.
A CSV is plain (:mod:`nares_nas._outputs`): the data behind each row in its ``data`` column, the
notes in the JSON sidecar.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nares_nas._atomic import write_bytes_atomic
from nares_nas._outputs import csv_text, write_csv
from nares_nas.data.synthetic import SYNTHETIC_LABEL


@dataclass(frozen=True)
class Number:
    """A shown number (``"37.33±1.15"``, ``"n/a"``): set in math mode in LaTeX, in bold where ``best``."""

    text: str
    best: bool = False


Cell = str | Number
"""A plain text cell, or a number."""


class Shown(Protocol):
    """What a table shows: ``synthetic``, a title, notes, a header, shown rows, full-precision CSV rows
    and the data behind them (one label for every row, or one per row)."""

    synthetic: bool

    def title(self) -> str: ...

    def notes(self) -> list[str]: ...

    def header(self) -> list[str]: ...

    def shown_rows(self) -> list[list[Cell]]: ...

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]: ...

    def row_data(self) -> str | list[str]: ...


NOT_A_NUMBER: frozenset[str] = frozenset({"n/a", "—"})


def labelled(synthetic: bool, notes: Sequence[str]) -> list[str]:
    """The notes an output carries, :data:`SYNTHETIC_LABEL` first on the stand-in."""
    return ([SYNTHETIC_LABEL] if synthetic else []) + list(notes)


def markdown_grid(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    """A Markdown table's lines; a best number in bold."""
    def text(cell: Cell) -> str:
        return f"**{cell.text}**" if isinstance(cell, Number) and cell.best else getattr(cell, "text", cell)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(text, row)) + " |" for row in rows]


def to_markdown(table: Shown) -> str:
    """``## title``, the synthetic label in bold on the stand-in, the notes as a list, then the table."""
    lines = [f"## {table.title()}", ""]
    if table.synthetic:
        lines += [f"**{SYNTHETIC_LABEL}**", ""]
    lines += [f"- {note}" for note in table.notes()] + [""]
    return "\n".join(lines + markdown_grid(table.header(), table.shown_rows())) + "\n"


def to_csv(table: Shown) -> str:
    """Full-precision rows, a ``data`` column last; the notes are :func:`write_table_csv`'s sidecar's."""
    return csv_text(*table.csv_rows(), table.row_data())


def write_table_csv(table: Shown, path: str | os.PathLike) -> Path:
    """Write :func:`to_csv` to ``path``, the notes (the synthetic label first on the stand-in) in its sidecar."""
    return write_csv(path, *table.csv_rows(), data=table.row_data(), synthetic=table.synthetic,
                     notes=labelled(table.synthetic, table.notes()))


def write_table_files(table: Shown, paths: Mapping[str, Path], *, markdown: str, payload: Any) -> dict[str, Path]:
    """A table's files, each written atomically: ``paths["md"]`` (``markdown``, the table and what the report
    adds to it), ``paths["tex"]`` (:func:`to_latex`), ``paths["json"]`` (``payload``, :func:`to_json`) and
    ``paths["csv"]`` (:func:`write_table_csv`). Table 2, the multi-objective table and a comparison of folders
    write theirs through it."""
    for kind, text in (("md", markdown), ("tex", to_latex(table)), ("json", to_json(payload))):
        write_bytes_atomic(paths[kind], text.encode("utf-8"))
    write_table_csv(table, paths["csv"])
    return dict(paths)


def to_latex(table: Shown) -> str:
    """A booktabs ``table``; the notes go in ``%`` comments and in the caption; numbers in math mode."""
    notes = labelled(table.synthetic, table.notes())
    header = table.header()
    lines = [f"% {note}" for note in notes] + ["% needs \\usepackage{booktabs}"]
    lines += ["\\begin{table}[t]", "\\centering", "\\caption{" + tex(" ".join(notes)) + "}",
              "\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
              " & ".join(tex(h) for h in header) + " \\\\", "\\midrule"]
    for row in table.shown_rows():
        lines.append(" & ".join(map(_tex_cell, row)) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def _tex_cell(cell: Cell) -> str:
    if not isinstance(cell, Number) or cell.text in NOT_A_NUMBER:
        return tex(getattr(cell, "text", cell))
    math_text = cell.text.replace("±", " \\pm ")
    return f"$\\mathbf{{{math_text}}}$" if cell.best else f"${math_text}$"


class Rendered:
    """A :class:`Shown` table that renders itself in the three formats of this module."""

    def to_markdown(self) -> str:
        return to_markdown(self)

    def to_csv(self) -> str:
        """Full-precision values, a ``data`` column last (:func:`to_csv`)."""
        return to_csv(self)

    def to_latex(self) -> str:
        """A booktabs ``table``; the notes go in ``%`` comments and in the caption."""
        return to_latex(self)


def to_json(payload: Any) -> str:
    """A table's machine-readable form (its ``to_dict()``), indented, with a final newline."""
    return json.dumps(payload, indent=1) + "\n"


def tex(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
             "±": r"$\pm$", "§": r"\S{}", "≤": r"$\leq$", "·": r"$\cdot$", "√": r"$\surd$"}
    return "".join(table.get(ch, ch) for ch in text)


def mean_std(mean: float, std: float, decimals: int) -> str:
    """``mean±std`` at ``decimals`` places, ``mean`` alone where std is undefined, ``n/a`` without a mean."""
    if mean != mean:
        return "n/a"
    return f"{mean:.{decimals}f}" if std != std else f"{mean:.{decimals}f}±{std:.{decimals}f}"
