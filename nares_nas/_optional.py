"""Optional dependencies: torch and numba are extras, so a tabular install runs without them.

``pip install nares-nas`` gives the table, every searcher but BANANAS and MO-BANANAS, the clock,
the reports and the analyses. What needs an extra imports it through :func:`require`, which turns
its absence into one line naming the extra to install, instead of a traceback from deep inside a run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nares_nas.errors import MissingDependencyError

EXTRAS: dict[str, str] = {"torch": "torch", "numba": "numba"}
"""The extra of ``setup.cfg`` that installs each optional module (``pip install 'nares-nas[torch]'``)."""


def require(module: str, needed_by: str) -> ModuleType:
    """``module`` imported, or :class:`~nares_nas.errors.MissingDependencyError` saying that ``needed_by``
    needs it and which extra installs it. A module that is installed but fails inside its own import
    (a broken CUDA library, say) raises as it did: that is no missing extra."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingDependencyError(module, needed_by, EXTRAS.get(module.split(".")[0], module)) from None


def available(module: str) -> bool:
    """Whether ``module`` imports here (importing it: ask only about a module about to be used)."""
    try:
        require(module, "")
    except MissingDependencyError:
        return False
    return True
