"""Reading a CSV the package writes as a user would: ``pandas.read_csv(path)`` and no options."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

SYNTHETIC = "SYNTHETIC stand-in"


def read_plain(path: Path, columns: Sequence[str], *, synthetic: bool, **dtypes) -> pd.DataFrame:
    """The CSV at ``path`` read with no options (``dtypes`` only keep a column's text); checks its header
    is ``columns`` then ``data``, that every row's data says whether it is the stand-in, and that
    ``NAME.csv.json`` beside it names the same data."""
    frame = pd.read_csv(path, dtype=dtypes or None)
    assert list(frame.columns) == [*columns, "data"], list(frame.columns)
    assert len(frame) and frame["data"].map(lambda v: SYNTHETIC in v).tolist() == [synthetic] * len(frame)
    meta = json.loads(Path(f"{path}.json").read_text())
    assert meta["file"] == Path(path).name and meta["synthetic"] is synthetic
    assert sorted(meta["data"]) == sorted(set(frame["data"]))
    return frame
