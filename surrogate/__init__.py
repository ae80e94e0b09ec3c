"""Predictors and architecture encodings for model-based search (import as ``nares_nas.surrogate``).

:class:`MLPEnsembleRegressor` is the BANANAS predictor (a scikit-learn regressor);
:func:`encode` turns arch_ids into features by encoding name (``"path"``, ``"onehot"``).
Importing this package does not import torch; fitting a model does.
"""

from __future__ import annotations

from .encodings import ENCODINGS, encode, encoding_dim, encoding_table
from .ensemble import MLPEnsembleRegressor

__all__ = ["ENCODINGS", "MLPEnsembleRegressor", "encode", "encoding_dim", "encoding_table"]
