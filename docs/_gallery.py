"""What the docs build runs around each tutorial."""

from __future__ import annotations

import logging
from typing import Any


def quiet_logs(gallery_conf: Any, fname: Any) -> None:
    """Keep the root logger at WARNING before each tutorial runs.

    A package the theme imports for its code styles (accessible-pygments) calls
    ``logging.basicConfig(level=INFO)`` when imported, which would print every INFO line of the
    tutorials' searches and trainings into the build's output; a reader running a tutorial sees none.
    """
    logging.getLogger().setLevel(logging.WARNING)
