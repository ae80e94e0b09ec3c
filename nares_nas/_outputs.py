"""Plain CSV outputs: a file ``pandas.read_csv(path)`` opens with no options, its provenance beside it.

A CSV a person reads (a table, a figure's data, ``summary.csv``) carries the data behind its numbers in a
``data`` column on every row, so a synthetic number stays labelled wherever the row is copied to; the
fuller provenance (notes, command, version, date) goes into a JSON sidecar ``NAME.csv.json``
(:func:`sidecar_path`). Both files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nares_nas._atomic import write_bytes_atomic
from nares_nas._version import __version__

DATA_COLUMN = "data"
"""The column that names the data behind each row's numbers."""


def _cell(value: Any) -> Any:
    """A missing value (None, NaN) as an empty field, as ``DataFrame.to_csv`` writes it."""
    return "" if value is None or (isinstance(value, float) and value != value) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], data: str | Sequence[str]) -> str:
    """The CSV text of ``rows`` under ``header``, a :data:`DATA_COLUMN` last: ``data`` on every row, or
    (a sequence) each row's own."""
    rows = list(rows)
    per_row = [data] * len(rows) if isinstance(data, str) else data
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*header, DATA_COLUMN])
    writer.writerows([*map(_cell, row), source] for row, source in zip(rows, per_row, strict=True))
    return buf.getvalue()


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where the provenance of the CSV file ``path`` is kept: ``NAME.csv.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              data: str | Sequence[str], synthetic: bool, notes: Sequence[str] = ()) -> Path:
    """Write :func:`csv_text` to ``path`` and its provenance to :func:`sidecar_path`: the data (each
    distinct value of the data column), whether it is the synthetic stand-in, the notes, the command,
    the package version and the time of writing."""
    path = Path(path)
    sources = [data] if isinstance(data, str) else list(dict.fromkeys(data))
    meta = {"file": path.name, "data": sources, "synthetic": synthetic, "notes": list(notes),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else None,
            "version": __version__, "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_bytes_atomic(path, csv_text(header, rows, data).encode("utf-8"))
    write_bytes_atomic(sidecar_path(path), (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    return path


def write_frame_csv(path: str | os.PathLike, frame: Any, **provenance: Any) -> Path:
    """:func:`write_csv` of a ``pandas.DataFrame``'s columns and rows (its index is not written)."""
    return write_csv(path, [str(c) for c in frame.columns], frame.itertuples(index=False, name=None), **provenance)
