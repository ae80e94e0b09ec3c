"""``nares-nas data import``: verify the official data once and index it into the data home."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from nares_nas._atomic import atomic_path
from nares_nas._validation import check_input_file
from nares_nas.data import home
from nares_nas.data.jsonl import check_complete, open_lines, read_source
from nares_nas.data.table import Table, save_table, source_fingerprint

log = logging.getLogger(__name__)


def import_data(path: str | os.PathLike, data_home: Path | None = None) -> Table:
    """Validate ``cifar10.jsonl`` or ``nares.txz`` and install it as the default data.

    Checks every line (spec §4), then that all 15,625 architectures are present with arch_ids,
    params and MACs consistent with the search space. Only then is ``cifar10.jsonl`` copied
    into ``<home>/nares/`` and its columnar table written, each atomically, so a failed import
    leaves an earlier one untouched.
    """
    path = check_input_file(path)
    target_dir = home.imported_dir(data_home)
    target = home.imported_jsonl(data_home)
    table = read_source(path, source=str(target))
    check_complete(table, str(path))
    with atomic_path(target) as tmp, open_lines(path) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    save_table(table, home.imported_table(data_home), source_fingerprint(target))
    log.info("imported %d architectures into %s", len(table), target_dir)
    return table
