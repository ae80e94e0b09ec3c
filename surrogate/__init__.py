"""Predictors and architecture encodings for model-based search (import as ``nares_nas.surrogate``).

:class:`MLPEnsembleRegressor` is the BANANAS predictor (a scikit-learn regressor);
:func:`fit_together` fits several of them as one stacked program; :func:`encode` turns
arch_ids into features by encoding name (``"path"``, ``"onehot"``).
Importing this package imports neither torch nor scikit-learn: the predictor is loaded on
first use, torch when a model is fitted.
"""

from __future__ import annotations

from typing import Any

from .encodings import ENCODINGS, encode, encoding_dim, encoding_table

__all__ = ["ENCODINGS", "MLPEnsembleRegressor", "encode", "encoding_dim", "encoding_table", "fit_together"]


def __getattr__(name: str) -> Any:
    if name in ("MLPEnsembleRegressor", "fit_together"):
        from . import ensemble

        return getattr(ensemble, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
