"""A synthetic stand-in for the NARes table, in the official schema, for work without the data.

The numbers are invented, but shaped and calibrated on the published facts so that searchers
behave on it roughly as on NARes (spec §5.7, Table 2):

* every per-metric maximum over the space equals Table 2's "Optimal" column;
* the value *distribution* of VAL_PGD_ACC reproduces random search at 500 queries (38.18 ± 0.22),
  and the noise-to-structure ratio of the landscape reproduces regularized evolution (≈ 38.50);
* accuracy grows with log MACs with diminishing returns, each depth and width adds its own
  effect, and every architecture gets single-run noise (val and test noise partly independent,
  so validation and test rankings only moderately agree);
* histories follow PGD adversarial training with learning-rate drops at epochs 75 and 90 and
  robust overfitting; ``best_epoch`` is the first maximum of the val CW-40 history (spec §2.8).

How: a latent score per metric family (structure + noise) orders the architectures, and a fixed
rank-to-value map (:class:`_Marginal`) turns that order into values. The map fixes the maximum
and the random-search statistics exactly, whatever the seed; the seed moves only which
architecture gets which value. Derived metrics (CW, AA, FGSM, corruptions) are gaps from their
parent metric, shifted so their maxima hit the table too.
Validation accuracies are counts out of CIFAR-10.1's 2,000 images (multiples of 0.05 %), test
accuracies counts out of 10,000 (multiples of 0.01 %); other values carry the log precision (§4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nares_nas import space
from nares_nas._validation import check_int
from nares_nas.data.table import Table, empty_columns, finalize_columns
from nares_nas.metrics import CORRUPTIONS

GENERATOR_VERSION = 2
EPOCHS = 100
LR_DROPS = (75, 90)
VAL_IMAGES = 2000
TEST_IMAGES = 10000


@dataclass(frozen=True)
class _Marginal:
    """Value of the rank-``r`` architecture (1 = best) of one metric.

    ``top - slope·ln((r − lift)/(1 − lift)) − spread·((r − 1)/(n − 1))²``: an exponential upper
    tail (``lift`` lets the best stand out as a lucky single run does) over a bulk whose width is
    ``spread``. ``step`` is the measurement grain (one image of the evaluation set).
    """

    top: float
    slope: float
    lift: float
    spread: float
    step: float

    def values(self, n: int) -> np.ndarray:
        r = np.arange(1, n + 1, dtype=np.float64)
        tail = self.slope * (np.log(r - self.lift) - np.log(1.0 - self.lift))
        value = self.top - tail - self.spread * ((r - 1) / max(n - 1, 1)) ** 2
        return np.round(value / self.step) * self.step


# slope/lift of VAL_PGD fitted offline to the exact random-search statistics of Table 2
# (best of 500 distinct uniform queries: mean 38.18, std 0.22).
_VAL_PGD = _Marginal(38.80, 0.1812, 0.4221, 2.5, 100 / VAL_IMAGES)
_VAL_CLEAN = _Marginal(78.25, 0.36, 0.2, 3.5, 100 / VAL_IMAGES)
_TEST_PGD = _Marginal(57.39, 0.17, 0.3, 2.6, 100 / TEST_IMAGES)
_TEST_CLEAN = _Marginal(88.57, 0.19, 0.2, 1.8, 100 / TEST_IMAGES)

# Latent structure: weight of the concave log-MACs term and per-coordinate effects
# (D1, W1, D2, W2, D3, W3) for robust and clean accuracy; noise in the same units.
_MACS_CURVATURE = 3.0
_ROBUST_COORDS = np.array([0.08, 0.12, 0.10, 0.16, 0.06, 0.22])
_CLEAN_COORDS = np.array([0.05, 0.18, 0.06, 0.16, 0.04, 0.14])
_RUN_NOISE = 0.10      # one training run: shared by validation and test
_VAL_NOISE = 0.12      # CIFAR-10.1 (2,000 images) evaluation noise
_TEST_NOISE = (0.05, 0.50)  # CIFAR-10 test evaluation noise at the best and the worst structure
_CLEAN_RUN_NOISE = 0.14
_CLEAN_EVAL_NOISE = 0.08

# Gaps of derived metrics from their parent (mean, std), in accuracy points, before the shift
# that puts each maximum on Table 2.
_GAPS = {
    "val_cw": (1.6, 0.3),
    "test_cw": (1.6, 0.5),
    "test_aa": (2.6, 0.2),
    "test_fgsm": (4.9, 0.35),
    "corrupt": (8.4, 0.15),
}
_OPTIMA = {"val_cw": 37.55, "test_cw": 56.17, "test_aa": 53.48, "test_fgsm": 62.68, "corrupt": 80.22}

# Accuracy change (points) of each corruption at severities 1..5 relative to clean accuracy,
# in CORRUPTIONS order; typical of adversarially trained CIFAR-10 models (contrast and fog
# hurt most, noise little).
_CORRUPTION_PROFILE = np.array([
    [-1.0, -1.5, -2.0, -3.0, -5.0],       # brightness
    [-5.0, -12.0, -18.0, -28.0, -45.0],   # contrast
    [-1.0, -2.0, -4.0, -7.0, -12.0],      # defocus_blur
    [-3.0, -3.5, -5.0, -9.0, -11.0],      # elastic_transform
    [-3.0, -7.0, -12.0, -20.0, -35.0],    # fog
    [-4.0, -7.0, -10.0, -11.0, -15.0],    # frost
    [-1.0, -4.0, -6.0, -9.0, -14.0],      # gaussian_blur
    [-2.0, -3.0, -4.0, -5.0, -6.0],       # gaussian_noise
    [-6.0, -7.0, -6.0, -10.0, -11.0],     # glass_blur
    [-3.0, -6.0, -8.0, -13.0, -19.0],     # impulse_noise
    [-1.0, -1.5, -2.0, -2.5, -3.0],       # jpeg_compression
    [-3.0, -6.0, -9.0, -9.0, -13.0],      # motion_blur
    [-1.0, -1.5, -2.0, -3.0, -5.0],       # pixelate
    [-2.0, -4.0, -0.5, -2.0, -4.0],       # saturate
    [-1.5, -2.0, -3.5, -4.5, -6.0],       # shot_noise
    [-3.0, -7.0, -5.0, -7.0, -10.0],      # snow
    [-2.0, -3.0, -4.0, -3.0, -6.0],       # spatter
    [-1.5, -2.5, -3.0, -4.5, -6.0],       # speckle_noise
    [-3.0, -5.0, -7.0, -9.0, -12.0],      # zoom_blur
])

_GPUS = ("NVIDIA GeForce RTX 3090", "NVIDIA A100-SXM4-40GB", "Tesla V100-SXM2-32GB",
         "NVIDIA GeForce RTX 4090")
_GPU_SLOWDOWN = np.array([1.0, 0.75, 1.3, 0.7])


def synthetic_table(seed: int = 0) -> Table:
    """All 15,625 architectures, rows in arch_id order, with invented but calibrated values.

    Deterministic per ``seed``; ``meta["synthetic"]`` is True so every report can say so.
    """
    seed = check_int(seed, "synthetic seed", 0)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5)]
    archs = space.archs_by_id()
    n = len(archs)
    macs = space.count_macs(archs)
    params = space.count_params(archs)
    scaled_macs = _scaled_log_macs(macs)
    targets = _targets(archs, scaled_macs, streams[0])

    cols = empty_columns(n, EPOCHS)
    cols["arch_id"][:] = np.arange(1, n + 1)
    cols["MACs"][:] = np.round(macs / 1e6, 2)
    cols["Params"][:] = np.round(params / 1e6, 2)
    _fill_run_info(cols, macs, streams[1])
    cols["best_epoch"][:] = _fill_histories(cols, targets, scaled_macs, streams[2])
    _fill_test(cols, targets, scaled_macs, streams[3])
    _fill_corruptions(cols, targets["corrupt"], streams[4])
    meta = {"source": f"synthetic (seed {seed})", "synthetic": True, "epochs": EPOCHS,
            "generator_version": GENERATOR_VERSION}
    return Table(finalize_columns(cols), meta)


# --------------------------------------------------------------------------- scalar targets
def _scaled_log_macs(macs: np.ndarray) -> np.ndarray:
    """log MACs mapped onto [0, 1] over the space."""
    log_macs = np.log(macs.astype(np.float64))
    return (log_macs - log_macs.min()) / (log_macs.max() - log_macs.min())


def _structure(archs: np.ndarray, scaled_macs: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Noise-free quality: concave in log MACs plus a concave effect of every coordinate."""
    size = (1.0 - np.exp(-_MACS_CURVATURE * scaled_macs)) / (1.0 - np.exp(-_MACS_CURVATURE))
    position = np.stack(
        [np.searchsorted(choices, archs[:, col]) for col, choices in enumerate(space.CHOICES)], axis=1
    ) / 4.0
    return size + np.sqrt(position) @ coords


def _by_rank(score: np.ndarray, marginal: _Marginal) -> np.ndarray:
    """Give the ``marginal``'s values to the architectures in descending ``score`` order."""
    out = np.empty(len(score))
    out[np.argsort(-score, kind="stable")] = marginal.values(len(score))
    return out


def _gap_child(parent: np.ndarray, name: str, rng: np.random.Generator, step: float,
               sign: float = -1.0, extra: np.ndarray | float = 0.0) -> np.ndarray:
    """``parent ± gap`` on the measurement grain, shifted so that its maximum is the optimum."""
    mean, std = _GAPS[name]
    gap = np.maximum(mean + std * rng.standard_normal(len(parent)) + extra, 0.3)
    child = np.round((parent + sign * gap) / step) * step
    shift = np.round((_OPTIMA[name] - child.max()) / step) * step
    if sign < 0:
        return np.minimum(child + shift, parent - step)
    return child + shift


def _targets(archs: np.ndarray, scaled_macs: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every scalar metric at the best epoch (accuracies in percent)."""
    n = len(archs)
    robust = _structure(archs, scaled_macs, _ROBUST_COORDS)
    clean = _structure(archs, scaled_macs, _CLEAN_COORDS)
    run = rng.standard_normal((2, n))
    run[1] = 0.4 * run[0] + np.sqrt(1 - 0.4**2) * run[1]
    noise = rng.standard_normal((4, n))
    worse = (robust.max() - robust) / (robust.max() - robust.min())
    test_noise = _TEST_NOISE[0] + (_TEST_NOISE[1] - _TEST_NOISE[0]) * worse
    t = {
        "val_pgd": _by_rank(robust + _RUN_NOISE * run[0] + _VAL_NOISE * noise[0], _VAL_PGD),
        "test_pgd": _by_rank(robust + _RUN_NOISE * run[0] + test_noise * noise[1], _TEST_PGD),
        "val_clean": _by_rank(clean + _CLEAN_RUN_NOISE * run[1] + _CLEAN_EVAL_NOISE * noise[2], _VAL_CLEAN),
        "test_clean": _by_rank(clean + _CLEAN_RUN_NOISE * run[1] + _CLEAN_EVAL_NOISE * noise[3],
                               _TEST_CLEAN),
    }
    val_step, test_step = 100 / VAL_IMAGES, 100 / TEST_IMAGES
    t["val_cw"] = _gap_child(t["val_pgd"], "val_cw", rng, val_step)
    t["test_cw"] = _gap_child(t["test_pgd"], "test_cw", rng, test_step)
    t["test_aa"] = _gap_child(t["test_cw"], "test_aa", rng, test_step)
    # FGSM sits further above PGD for models that are also good on clean images.
    clean_z = (t["test_clean"] - t["test_clean"].mean()) / t["test_clean"].std()
    t["test_fgsm"] = _gap_child(t["test_pgd"], "test_fgsm", rng, test_step, sign=1.0, extra=0.25 * clean_z)
    t["corrupt"] = _gap_child(t["test_clean"], "corrupt", rng, test_step)
    return t


# --------------------------------------------------------------------------- run information
def _fill_run_info(cols: dict[str, np.ndarray], macs: np.ndarray, rng: np.random.Generator) -> None:
    """Seed, GPU, date and GPU-days (growing with MACs) of each training run."""
    n = len(macs)
    gpu = rng.integers(len(_GPUS), size=n)
    cols["seed"][:] = rng.integers(0, 1001, size=n)
    cols["gpu_type"][:] = np.asarray(_GPUS, dtype=object)[gpu]
    # Trained roughly in arch_id order between December 2022 and mid 2023.
    day = np.arange(n) * 190 // n + rng.integers(0, 14, size=n)
    cols["timestamp"][:] = (np.datetime64("2022-12-05") + day.astype("timedelta64[D]")).astype(str)
    ratio = macs / macs.min()
    days = 0.045 * ratio**0.95 * _GPU_SLOWDOWN[gpu] * np.exp(0.05 * rng.standard_normal(n))
    cols["training_time"][:] = np.round(days, 2)


# --------------------------------------------------------------------------- histories
def _per_arch(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """One uniform draw per architecture, as a column that broadcasts over epochs."""
    return rng.uniform(low, high, size=(n, 1))


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal epoch-level noise; float32 halves the cost and is far below the 0.01 grain."""
    return rng.standard_normal(shape, dtype=np.float32)


def _cross_entropy(accuracy: np.ndarray) -> np.ndarray:
    """A typical mean cross-entropy of a model with this accuracy (a fraction in [0, 1])."""
    return 2.3 - 2.6 * accuracy + 0.7 * accuracy**2


def _phase_curve(epoch: np.ndarray, peak: np.ndarray, jump: np.ndarray, rise: np.ndarray,
                 tau: np.ndarray, ramp: np.ndarray, decline: np.ndarray, bump: np.ndarray) -> np.ndarray:
    """Accuracy relative to its level at ``peak``, (n, epochs).

    A slow climb at lr 0.1 ending ``jump`` below the peak, a jump at the first drop, a
    ``ramp`` up to the peak, then a decline (robust overfitting; a quarter as fast after the
    second drop, which adds ``bump``). A negative ``decline`` keeps the curve rising.
    """
    first, second = LR_DROPS
    warm = -jump - rise * np.exp(-epoch / tau)
    before = np.clip((peak - epoch) / (peak - first + 1), 0, 1)
    after = (np.clip(np.minimum(epoch, second - 1) - peak, 0, None)
             + 0.25 * np.clip(epoch - np.maximum(peak, second - 1), 0, None))
    late = -ramp * before - decline * after + bump * (epoch >= second)
    return np.where(epoch < first, warm, late)


def _fill_histories(cols: dict[str, np.ndarray], t: dict[str, np.ndarray], scaled_macs: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """The 12 per-epoch histories; returns the 0-based best epochs.

    The val CW-40 curve is drawn in image counts and its first maximum becomes ``best_epoch``;
    each accuracy curve is then shifted by whole images so that epoch carries its target.
    """
    n = len(scaled_macs)
    epoch = np.arange(EPOCHS, dtype=np.float64)[None, :]
    first = LR_DROPS[0]
    big = scaled_macs[:, None]
    per_image = VAL_IMAGES / 100

    # Bigger models peak earlier and overfit faster.
    peak = first + rng.geometric(0.35, size=(n, 1)) - 1.0 + np.round(2 * (1 - big))
    robust = _phase_curve(epoch, peak, _per_arch(rng, n, 3.5, 6.0), _per_arch(rng, n, 14, 18),
                          _per_arch(rng, n, 10, 18), _per_arch(rng, n, 0.3, 1.2),
                          _per_arch(rng, n, 0.10, 0.22) + 0.12 * big, _per_arch(rng, n, 0.0, 0.6))
    wobble = np.where(epoch < first, 1.1, 0.35)  # lr 0.1 epochs fluctuate much more
    shared = wobble * _noise(rng, (n, EPOCHS))
    cw_raw = np.round(per_image * (robust + shared + 0.3 * wobble * _noise(rng, (n, EPOCHS))))
    # A lucky epoch at lr 0.1 must not beat the peak after the drop (it would anchor every curve there).
    cw_raw[:, :first] = np.minimum(cw_raw[:, :first], cw_raw[:, first:].max(axis=1, keepdims=True) - 1)
    best = np.argmax(cw_raw, axis=1)
    rows = np.arange(n)

    def anchored(raw: np.ndarray, value: np.ndarray) -> np.ndarray:
        counts = np.round(value * per_image)[:, None] + raw - raw[rows, best][:, None]
        return np.clip(counts, 0, VAL_IMAGES)

    cw = anchored(cw_raw, t["val_cw"])
    pgd_raw = np.round(per_image * (1.05 * robust + shared + 0.4 * wobble * _noise(rng, (n, EPOCHS))))
    pgd = anchored(pgd_raw, t["val_pgd"])
    clean_shape = _phase_curve(epoch, peak, _per_arch(rng, n, 6.0, 10.0), _per_arch(rng, n, 35, 42),
                               _per_arch(rng, n, 8, 14), _per_arch(rng, n, 0.2, 0.8),
                               -_per_arch(rng, n, 0.03, 0.10), _per_arch(rng, n, 0.5, 1.2))
    clean_wobble = np.where(epoch < first, 2.5, 0.4)
    clean = anchored(np.round(per_image * (clean_shape + clean_wobble * _noise(rng, (n, EPOCHS)))),
                     t["val_clean"])
    since_best = np.clip(epoch - best[:, None], 0, None)
    _fill_val_attacks(cols, pgd, cw, clean, since_best, big, rng)
    _fill_train(cols, epoch, big, rng)
    return best


def _fill_val_attacks(cols: dict[str, np.ndarray], pgd: np.ndarray, cw: np.ndarray, clean: np.ndarray,
                      since_best: np.ndarray, big: np.ndarray, rng: np.random.Generator) -> None:
    """Validation accuracies, stable accuracies, LIP and losses from the image counts."""
    n, epochs = pgd.shape
    first = LR_DROPS[0]
    epoch = np.arange(epochs, dtype=np.float64)[None, :]
    to_pct = 100 / VAL_IMAGES
    cols["cw"][:] = np.round(cw * to_pct, 2)
    cols["pgd"][:] = np.round(pgd * to_pct, 2)
    cols["val_acc"][:] = np.round(clean * to_pct, 2)
    # Stable = adversarial prediction equals the clean one: adds part of the clean mistakes.
    wrong = VAL_IMAGES - clean
    for name, adv in (("pgd_stable", pgd), ("cw_stable", cw)):
        extra = np.maximum(np.round(wrong * _per_arch(rng, n, 0.45, 0.6) + 6 * _noise(rng, (n, epochs))), 0)
        cols[name][:] = np.round(np.minimum(adv + extra, VAL_IMAGES) * to_pct, 2)
    # LIP grows through training and keeps growing while robustness overfits.
    level = 26 + 16 * big + 2.5 * rng.standard_normal((n, 1))
    shape = np.where(epoch < first, 0.35 + 0.45 * epoch / first, 0.9 + 0.02 * np.minimum(epoch - first, 5))
    pgd_lip = level * (shape + 0.012 * since_best) * (1 + 0.03 * _noise(rng, (n, epochs)))
    cols["pgd_lip"][:] = np.round(pgd_lip, 4)
    cw_lip = pgd_lip * _per_arch(rng, n, 0.85, 0.95) * (1 + 0.02 * _noise(rng, (n, epochs)))
    cols["cw_lip"][:] = np.round(cw_lip, 4)
    cols["pgd_loss"][:] = np.round(2.75 - 2.9 * pgd / VAL_IMAGES + 0.012 * since_best
                                   + 0.02 * _noise(rng, (n, epochs)), 2)
    # CW "Loss Avg": batch sum of -max(margin, 0) over 100 images, i.e. minus (robust images x margin).
    margin = np.where(epoch < first, 0.4 + 0.4 * epoch / first, 0.95 + 0.02 * since_best)
    cols["cw_loss"][:] = np.round(-cw * to_pct * margin * _per_arch(rng, n, 0.9, 1.15), 2)
    cols["val_loss"][:] = np.round(_cross_entropy(clean / VAL_IMAGES) + 0.004 * since_best
                                   + 0.01 * _noise(rng, (n, epochs)), 4)


def _fill_train(cols: dict[str, np.ndarray], epoch: np.ndarray, big: np.ndarray,
                rng: np.random.Generator) -> None:
    """Adversarial training accuracy (%) and loss: a climb at lr 0.1, a jump at each drop, and a
    steady rise (faster for bigger models) while validation robustness overfits."""
    n = len(big)
    first, second = LR_DROPS
    plateau = _per_arch(rng, n, 50, 56) + 3 * big
    warm = plateau - (plateau - _per_arch(rng, n, 18, 24)) * np.exp(-epoch / _per_arch(rng, n, 12, 18))
    slope = _per_arch(rng, n, 0.5, 0.8) + 0.6 * big
    mid = plateau + _per_arch(rng, n, 5, 7) + slope * (np.minimum(epoch, second - 1) - first)
    late = mid + (epoch >= second) * (_per_arch(rng, n, 2, 4) + 0.25 * slope * (epoch - second))
    acc = np.clip(np.where(epoch < first, warm, late) + 0.3 * _noise(rng, warm.shape), 0, 99.5)
    cols["train_acc"][:] = np.round(acc, 2)
    loss = _cross_entropy(acc / 100) + 0.01 * _noise(rng, acc.shape)
    cols["train_loss"][:] = np.round(loss, 4)


# --------------------------------------------------------------------------- test set
def _fill_test(cols: dict[str, np.ndarray], t: dict[str, np.ndarray], scaled_macs: np.ndarray,
               rng: np.random.Generator) -> None:
    """CIFAR-10 test results of the best checkpoint (spec §3)."""
    n = len(scaled_macs)
    clean = t["test_clean"]
    wrong = 100 - clean
    cols["test_clean_acc"][:] = np.round(clean, 2)
    cols["test_loss"][:] = np.round(_cross_entropy(clean / 100) + 0.01 * rng.standard_normal(n), 4)
    for key, acc, share in (("fgsm", t["test_fgsm"], 0.55), ("pgd", t["test_pgd"], 0.5),
                            ("cw", t["test_cw"], 0.5)):
        cols[f"Linf_{key}_acc"][:] = np.round(acc, 2)
        stable = acc + np.maximum(wrong * share + 0.6 * rng.standard_normal(n), 0)
        cols[f"Linf_{key}_stable"][:] = np.round(np.clip(stable, acc, 100), 2)
    lip = (26 + 16 * scaled_macs + 2.5 * rng.standard_normal(n)) * np.exp(0.05 * rng.standard_normal(n))
    cols["Linf_pgd_lip"][:] = np.round(lip, 4)
    cols["Linf_cw_lip"][:] = np.round(lip * rng.uniform(0.85, 0.95, n), 4)
    cols["Linf_aa_acc"][:] = np.round(t["test_aa"], 2)


def _fill_corruptions(cols: dict[str, np.ndarray], mean_acc: np.ndarray, rng: np.random.Generator) -> None:
    """CIFAR-10-C accuracies around each architecture's mean, and their losses."""
    n = len(mean_acc)
    profile = _CORRUPTION_PROFILE - _CORRUPTION_PROFILE.mean()
    scale = 1.0 + 0.05 * rng.standard_normal((n, 1, 1))
    noise = 0.3 * _noise(rng, (n, len(CORRUPTIONS), 5))
    offset = profile[None] * scale + noise
    offset -= offset.mean(axis=(1, 2), keepdims=True)
    acc = np.clip(np.round(mean_acc[:, None, None] + offset, 2), 0, 100)
    cols["corruption_acc"][:] = acc
    loss = _cross_entropy(acc / 100) + 0.02 * np.abs(_noise(rng, acc.shape))
    cols["corruption_loss"][:] = np.round(loss, 4)


# The stand-in's labels, one family: every output that shows its numbers says so in one of these words.
SYNTHETIC_NAME = "SYNTHETIC stand-in"
"""What every label of the stand-in starts with (tests and readers look for it)."""
SYNTHETIC_LABEL = f"{SYNTHETIC_NAME} data, not NARes results"
"""The label of a report, a table or a plot made from the stand-in."""
SYNTHETIC_NOTICE = f"{SYNTHETIC_NAME} data: these numbers are not NARes results"
"""The notice a command prints, and a benchmark's provenance, on the stand-in."""
SYNTHETIC_KIND = f"{SYNTHETIC_NAME}, not NARes results"
"""The short kind: a record's, a JSON payload's label, an error about the stand-in."""


def data_label(source: str | None, synthetic: bool) -> str:
    """The data behind a result's numbers, as a report or a CSV's ``data`` column names it:
    :data:`SYNTHETIC_LABEL` first on the stand-in; ``source`` None for a live run without a table."""
    if synthetic:
        return f"{SYNTHETIC_LABEL} (source: {source})"
    return "live training (no table)" if source is None else f"NARes ({source})"


__all__ = ["GENERATOR_VERSION", "SYNTHETIC_KIND", "SYNTHETIC_LABEL", "SYNTHETIC_NAME", "SYNTHETIC_NOTICE",
           "data_label", "synthetic_table"]
