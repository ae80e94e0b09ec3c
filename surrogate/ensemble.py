"""The BANANAS predictor: an ensemble of ReLU MLPs as a scikit-learn regressor.

:class:`MLPEnsembleRegressor` follows scikit-learn's estimator contract (hyper-parameters
stored unchanged in ``__init__``, ``fit`` returns ``self`` and sets ``*_`` attributes,
``predict`` checks it is fitted), so ``clone``, ``get_params`` and pipelines work and any
regressor with a ``predict_ensemble`` can stand in for it. torch is imported when a model is
fitted or used, not when this module is imported.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from nares_nas._rng import as_generator
from nares_nas._validation import check_choice, check_int, check_real
from nares_nas.errors import ConfigError

logger = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("cpu", "cuda", "auto")


def resolve_device(device: str):
    """``torch.device`` for ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available)."""
    import torch

    check_choice(device, "device", DEVICES)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was asked for but torch sees no CUDA device; use 'cpu' or 'auto'")
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``num_threads`` (None: unchanged)."""
    import torch

    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class MLPEnsembleRegressor(RegressorMixin, BaseEstimator):
    """``num_ensemble`` independent MLPs ``X -> num_layers x Linear(layer_width)+ReLU -> 1``.

    Each member: Xavier-uniform weights, zero biases; Adam (``lr``, betas ``betas``, no
    weight decay) for ``epochs`` epochs of minibatches of ``batch_size`` (a fresh shuffle per
    epoch and member, last partial batch kept); loss ``mean |f(x) - y| + l1_reg * ||W_out||_1``.
    No normalisation of ``X`` or ``y``. The members are trained together as one batched
    tensor program (see :mod:`nares_nas.surrogate._mlp`).

    ``random_state`` (an int or a ``numpy.random.Generator``; a Generator is advanced) seeds
    the initial weights and the shuffles, so a fit is deterministic on the CPU.
    ``predict`` is the ensemble mean; :meth:`predict_ensemble` gives every member's prediction.

    ``num_threads`` is torch's intra-op thread count during ``fit`` and ``predict`` (None:
    leave it). The default 1 is deliberate: each tensor operation here is a few microseconds
    of work, too little to split, and on a shared machine a second thread that waits for a
    busy core slows every operation down many times over; use the cores for parallel fits.
    """

    def __init__(self, num_ensemble: int = 5, num_layers: int = 20, layer_width: int = 32,
                 epochs: int = 500, batch_size: int = 32, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.99), l1_reg: float = 0.2,
                 device: str = "cpu", num_threads: int | None = 1,
                 random_state: int | np.random.Generator = 0) -> None:
        self.num_ensemble = num_ensemble
        self.num_layers = num_layers
        self.layer_width = layer_width
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.betas = betas
        self.l1_reg = l1_reg
        self.device = device
        self.num_threads = num_threads
        self.random_state = random_state

    def _validate_params(self) -> None:
        for key in ("num_ensemble", "num_layers", "layer_width", "epochs", "batch_size"):
            check_int(getattr(self, key), f"MLPEnsembleRegressor {key}")
        check_real(self.lr, "MLPEnsembleRegressor lr", 0, low_open=True)
        check_real(self.l1_reg, "MLPEnsembleRegressor l1_reg", 0)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"MLPEnsembleRegressor betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.num_threads is not None:
            check_int(self.num_threads, "MLPEnsembleRegressor num_threads (or None)")

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPEnsembleRegressor:
        """Train every member on all of ``X (n, d)``, ``y (n,)``."""
        fit_together([self], [X], [y])
        return self

    def predict_ensemble(self, X: np.ndarray) -> np.ndarray:
        """``(num_ensemble, n)`` predictions, one row per member."""
        import torch

        from ._mlp import StackShape, forward

        check_is_fitted(self)
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ConfigError(f"X has {X.shape[1]} features, the model was fitted on {self.n_features_in_}")
        device = resolve_device(self.device)
        shape = StackShape(int(self.num_ensemble), X.shape[1], int(self.num_layers), int(self.layer_width))
        with torch.no_grad(), torch_threads(self.num_threads):
            out = forward(torch.tensor(self.coefs_).to(device), shape, torch.tensor(X).to(device))
        return out.cpu().numpy().astype(np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Ensemble mean ``(n,)``."""
        check_is_fitted(self)
        return self.predict_ensemble(X).mean(axis=0)


def fit_together(models: Sequence[MLPEnsembleRegressor], Xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> None:
    """Fit ``models[i]`` on ``Xs[i]``, ``ys[i]`` for every ``i``, as one stacked tensor program.

    The models must share every hyper-parameter but ``random_state`` and their training sets
    must have the same shape. Each model draws its seed from its own ``random_state`` (in
    list order) and ends as its own :meth:`~MLPEnsembleRegressor.fit` would leave it,
    bit for bit on the CPU; BANANAS uses this to fit the predictors of several runs at once.
    Single-member models are fitted one by one, because a stack of one member per run would
    round differently from a model fitted alone.
    """
    import torch

    from ._mlp import AdamConfig, StackShape, StackTrainer, init_params, run_params

    if not models or not len(models) == len(Xs) == len(ys):
        raise ConfigError(f"fit_together needs one X and one y per model, got {len(models)} models, "
                          f"{len(Xs)} X and {len(ys)} y")
    first = models[0]
    first._validate_params()
    params = {k: v for k, v in first.get_params().items() if k != "random_state"}
    for model in models[1:]:
        other = {k: v for k, v in model.get_params().items() if k != "random_state"}
        if other != params:
            raise ConfigError(f"fit_together needs models with equal hyper-parameters: {params} vs {other}")
    if first.num_ensemble < 2 and len(models) > 1:
        for model, X, y in zip(models, Xs, ys):
            fit_together([model], [X], [y])
        return
    checked = [check_X_y(X, y, dtype=np.float32, y_numeric=True) for X, y in zip(Xs, ys)]
    if len({X.shape for X, _ in checked}) > 1:
        raise ConfigError(f"fit_together needs training sets of one shape, got {sorted({X.shape for X, _ in checked})}")
    device = resolve_device(first.device)
    generators = [torch.Generator().manual_seed(int(as_generator(m.random_state).integers(2**63 - 1)))
                  for m in models]
    n_features = checked[0][0].shape[1]
    shape = StackShape(int(first.num_ensemble) * len(models), n_features, int(first.num_layers),
                       int(first.layer_width))
    adam = AdamConfig(lr=float(first.lr), beta1=float(first.betas[0]), beta2=float(first.betas[1]))
    trainer = StackTrainer(shape, init_params(shape, generators, device), adam, first.l1_reg)
    x = torch.tensor(np.stack([X for X, _ in checked])).to(device)
    y = torch.tensor(np.stack([y for _, y in checked]), dtype=torch.float32).to(device)
    start = time.perf_counter()
    with torch_threads(first.num_threads):
        trainer.fit(x, y, int(first.epochs), int(first.batch_size), generators)
    logger.debug("fitted %d MLPs on %d samples in %.2f s", shape.members, x.shape[1], time.perf_counter() - start)
    for model, coefs in zip(models, run_params(trainer.params, shape, len(models))):
        model.n_features_in_ = n_features
        model.coefs_ = coefs.cpu().numpy()
