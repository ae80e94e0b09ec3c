"""The paper's analyses of the dataset (Section 4, Figures 2-7; Table 1 and Section 3) as DataFrames.

Plain functions over a loaded :class:`~nares_nas.Benchmark`; each returns the numbers behind one
figure, and :func:`figure_data` bundles a figure's tables with the notes that say what they are and
where the data came from. :mod:`nares_nas.analysis.plots` draws them and writes ``figN.png`` beside
the CSVs, so every figure is both a picture and a table. Every frame's ``attrs`` carries ``source``,
``synthetic`` and ``provenance``.

Quantities: the decision variables ``D1 … W3``, the channels ``C1 C2 C3`` (``16·2^(i−1)·W_i``), the
depth-width ratios ``RATIO_ROBUSTRESNET`` (``ΣD/(ΣD+ΣW)``) and ``RATIO_ROBUSTPRINCIPLE``
(``½(C1/D1 + C2/D2)``), and every scalar metric by its reference name (``TEST_PGD_ACC``, ``MACS``, …).
Pareto ranks (Figure 7) come from moocore's non-dominated sorting; **our first front is rank 1**
(the paper does not say whether its ranks start at 0 or 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nares_nas import space
from nares_nas._validation import check_int
from nares_nas.errors import ConfigError, MetricError
from nares_nas.metrics import METRIC_NAMES, resolve_metric
from nares_nas.pareto.geometry import pareto_ranks

DECISION_VARIABLES: tuple[str, ...] = space.KEYS
CHANNELS: tuple[str, ...] = ("C1", "C2", "C3")
RATIOS: dict[str, str] = {
    "RATIO_ROBUSTRESNET": "RobustResNet ratio ΣD/(ΣD+ΣW)",
    "RATIO_ROBUSTPRINCIPLE": "RobustPrinciple ratio ½(C1/D1 + C2/D2)",
}
ACCURACIES: tuple[str, ...] = ("TEST_CLEAN_ACC", "TEST_FGSM_ACC", "TEST_PGD_ACC", "TEST_CW_ACC")
FIGURES: tuple[str, ...] = ("2", "3", "4", "5", "6", "7", "summary")
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "2": ACCURACIES, "3": ACCURACIES, "4": ("TEST_PGD_STABLE",), "5": ("TEST_PGD_LIP",),
    "6": ("TEST_PGD_ACC",), "7": ("TEST_PGD_ACC",),
}
DEFAULT_AGAINST = "TEST_PGD_ACC"
DEFAULT_BINS = 5
DEFAULT_MAX_RANK = 15  # rank < 16 with the first front rank 1
OPTIONS: dict[str, tuple[str, ...]] = {  # which figures take which option
    "metrics": ("2", "3", "4", "5", "6", "7"), "by": ("3", "4", "5"), "bins": ("3", "4", "5"),
    "against": ("4", "5"), "max_rank": ("7",),
}

# Published numbers (the paper), shown beside ours and labelled as such.
PUBLISHED_PC1: dict[str, tuple[float, ...]] = {
    "best": (0.378, 0.315, 0.350, 0.517, 0.441, 0.416),
    "worst": (-0.283, -0.282, -0.468, -0.537, -0.454, -0.356),  # printed as −[0.283, …]
}
PUBLISHED_PC1_METRIC = "TEST_PGD_ACC"  # the paper's sets rank this accuracy against MACs
PUBLISHED_PARAMS = (23.25e6, 266.80e6)  # Section 1; the space gives 23.35M (spec §1.3)
PUBLISHED_TRAINING_GPU_DAYS = 13_100.0  # "approximately 13.1K GPU days" (Section 3.1)
PUBLISHED_EVALUATION_GPU_DAYS = 2_900.0  # "2.9K GPU days" (Section 3.2)


# --------------------------------------------------------------------------- quantities
def channels(archs: np.ndarray) -> np.ndarray:
    """(n, 3) channels ``C_i = 16·2^(i−1)·W_i`` of decision vectors ``[D1, W1, D2, W2, D3, W3]``."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, 6)
    return archs[:, 1::2] * np.array(space.STAGE_BASE_CHANNELS)


def robustresnet_ratio(archs: np.ndarray) -> np.ndarray:
    """RobustResNet's depth-width ratio ``ΣD / (ΣD + ΣW)`` of each decision vector."""
    archs = np.asarray(archs, dtype=np.float64).reshape(-1, 6)
    depth, width = archs[:, 0::2].sum(axis=1), archs[:, 1::2].sum(axis=1)
    return depth / (depth + width)


def robustprinciple_ratio(archs: np.ndarray) -> np.ndarray:
    """RobustPrinciple's depth-width ratio ``½(C1/D1 + C2/D2)`` of each decision vector."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, 6)
    c = channels(archs)
    return 0.5 * (c[:, 0] / archs[:, 0] + c[:, 1] / archs[:, 2])


def quantity_name(name: str) -> str:
    """The canonical name of a quantity (upper case; a metric's reference name); raises if unknown."""
    key = str(name).strip().upper()
    if key in DECISION_VARIABLES or key in CHANNELS or key in RATIOS:
        return key
    try:
        return resolve_metric(key).name
    except MetricError:
        raise MetricError(f"unknown quantity {name!r}; valid: the decision variables {', '.join(DECISION_VARIABLES)}, "
                          f"the channels {', '.join(CHANNELS)}, the ratios {', '.join(RATIOS)}, or a metric: "
                          f"{', '.join(METRIC_NAMES)}") from None


def is_discrete(name: str) -> bool:
    """Decision variables and channels take five values each; everything else is binned."""
    return name in DECISION_VARIABLES or name in CHANNELS


def decision_vectors(bench) -> np.ndarray:
    """(n, 6) int64 decision vectors of the table's architectures, in ``bench.arch_ids`` order."""
    return space.archs_by_id()[bench.arch_ids - 1]


def quantity(bench, name: str) -> np.ndarray:
    """One value per architecture of the table (``bench.arch_ids`` order) of a quantity."""
    name = quantity_name(name)
    archs = decision_vectors(bench)
    if name in DECISION_VARIABLES:
        return archs[:, DECISION_VARIABLES.index(name)].copy()
    if name in CHANNELS:
        return channels(archs)[:, CHANNELS.index(name)]
    if name == "RATIO_ROBUSTRESNET":
        return robustresnet_ratio(archs)
    if name == "RATIO_ROBUSTPRINCIPLE":
        return robustprinciple_ratio(archs)
    values = bench.metric_by_row(name)
    return values.astype(np.int64) if name in ("MACS", "PARAMS") else values


def architecture_frame(bench, names: Sequence[str]):
    """A DataFrame indexed by ``arch_id`` with a column per quantity in ``names`` (duplicates dropped)."""
    import pandas as pd

    columns = list(dict.fromkeys(quantity_name(n) for n in names))
    frame = pd.DataFrame({name: quantity(bench, name) for name in columns},
                         index=pd.Index(bench.arch_ids, name="arch_id"))
    return _tag(frame, bench)


def parse_metrics(metric: str | Sequence[str] | None, default: Sequence[str] = ACCURACIES) -> tuple[str, ...]:
    """``--metric`` as reference names: None gives ``default``; a comma list or a sequence, each
    resolved (``MetricError`` names the valid ones), duplicates dropped."""
    return _parse(metric, default, lambda n: resolve_metric(n).name, "metric")


def parse_quantities(names: str | Sequence[str] | None,
                     default: Sequence[str] = DECISION_VARIABLES) -> tuple[str, ...]:
    """``--by`` as canonical quantity names (see :func:`quantity_name`)."""
    return _parse(names, default, quantity_name, "quantity")


def _parse(value, default, resolve, what) -> tuple[str, ...]:
    if value is None:
        return tuple(default)
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(item).strip() for item in items if str(item).strip()]
    if not names:
        raise MetricError(f"no {what} given (got {value!r})")
    return tuple(dict.fromkeys(resolve(n) for n in names))


def _tag(frame, bench, **extra):
    frame.attrs.update(source=bench.source, synthetic=bench.synthetic, provenance=bench.provenance,
                       n_archs=len(bench), **extra)
    return frame


# --------------------------------------------------------------------------- Figures 3, 4b, 5b
BOX_COLUMNS = ("variable", "group", "label", "group_low", "group_high", "metric", "n", "mean", "std", "min",
               "whisker_low", "q1", "median", "q3", "whisker_high", "max", "n_outliers")


def box_stats(values: np.ndarray) -> dict[str, float]:
    """Box-plot numbers of one group: quartiles by linear interpolation (``numpy.percentile``),
    whiskers at the furthest values within 1.5 IQR of the box (matplotlib's rule), the mean,
    the sample standard deviation (ddof 1) and how many values lie beyond the whiskers."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return dict.fromkeys(BOX_COLUMNS[6:], np.nan) | {"n": 0}
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
    low, high = float(inside.min()), float(inside.max())
    return {"n": len(values), "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else np.nan,
            "min": float(values.min()), "whisker_low": low, "q1": float(q1), "median": float(median),
            "q3": float(q3), "whisker_high": high, "max": float(values.max()),
            "n_outliers": int(np.count_nonzero((values < low) | (values > high)))}


def groups_of(values: np.ndarray, discrete: bool, bins: int = DEFAULT_BINS):
    """(group per value, a DataFrame of the groups: group, label, group_low, group_high).

    Discrete quantities group by value; continuous ones by quantile bins 1..k (``pandas.qcut``,
    equal-count bins; repeated edges merged, so k may be below ``bins``), bin k holding
    ``group_low < x <= group_high`` (bin 1 also its lower edge).
    """
    import pandas as pd

    if discrete:
        levels, codes = np.unique(values, return_inverse=True)
        table = pd.DataFrame({"group": levels.astype(np.int64), "label": [str(int(v)) for v in levels],
                              "group_low": np.nan, "group_high": np.nan})
        return levels[codes].astype(np.int64), table
    bins = check_int(bins, "bins", low=1)
    codes, edges = pd.qcut(values, bins, labels=False, retbins=True, duplicates="drop")
    groups = np.asarray(codes, dtype=np.int64) + 1
    k = len(edges) - 1
    table = pd.DataFrame({"group": np.arange(1, k + 1), "group_low": edges[:-1], "group_high": edges[1:]})
    table.insert(1, "label", [f"{lo:.4g}–{hi:.4g}" for lo, hi in zip(edges[:-1], edges[1:])])
    return groups, table


def group_statistics(bench, metrics: str | Sequence[str] | None = None, by: str | Sequence[str] | None = None,
                     bins: int = DEFAULT_BINS):
    """Box-plot numbers of each metric grouped by each quantity in ``by`` (Figures 3, 4b, 5b).

    A long DataFrame, a row per (variable, group, metric), columns :data:`BOX_COLUMNS`: ``group`` is
    the value of a decision variable (or channel count), or the quantile bin 1..k of a continuous
    quantity with its edges ``group_low``/``group_high`` (NaN for a discrete one). Defaults: the
    four test accuracies by the six decision variables.
    """
    import pandas as pd

    metrics, by = parse_metrics(metrics), parse_quantities(by)
    values = {name: quantity(bench, name) for name in metrics}
    rows = []
    for variable in by:
        groups, table = groups_of(quantity(bench, variable), is_discrete(variable), bins)
        for group in table.itertuples(index=False):
            members = groups == group.group
            for name in metrics:
                rows.append({"variable": variable, **group._asdict(), "metric": name,
                             **box_stats(values[name][members])})
    frame = pd.DataFrame(rows, columns=list(BOX_COLUMNS))
    return _tag(frame, bench, metrics=metrics, by=by, bins=bins)


# --------------------------------------------------------------------------- Figure 6
def quadratic_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Least-squares ``y ≈ a·x² + b·x + c`` over the finite pairs: a, b, c, R² (1 − SS_res/SS_tot) and n."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(np.unique(x)) < 3:
        raise ConfigError(f"a quadratic fit needs at least 3 distinct x values, got {len(np.unique(x))}")
    a, b, c = np.polyfit(x, y, 2)
    residual = y - np.polyval([a, b, c], x)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else np.nan
    return {"a": float(a), "b": float(b), "c": float(c), "r2": r2, "n": int(len(x))}


def ratio_frame(bench, metrics: str | Sequence[str] | None = None):
    """Per architecture: the decision vector, C1, C2, both ratios and the metrics (Figure 6)."""
    metrics = parse_metrics(metrics, DEFAULT_METRICS["6"])
    return architecture_frame(bench, [*DECISION_VARIABLES, "C1", "C2", *RATIOS, *metrics])


def ratio_fits(frame, metrics: Sequence[str]):
    """The quadratic fit of each metric against the RobustResNet ratio, as the paper draws it:
    a row per metric with ``ratio, metric, a, b, c, r2, n`` (``metric ≈ a·r² + b·r + c``)."""
    import pandas as pd

    rows = [{"ratio": "RATIO_ROBUSTRESNET", "metric": m,
             **quadratic_fit(frame["RATIO_ROBUSTRESNET"].to_numpy(), frame[m].to_numpy())} for m in metrics]
    out = pd.DataFrame(rows, columns=["ratio", "metric", "a", "b", "c", "r2", "n"])
    out.attrs.update(frame.attrs)
    return out


# --------------------------------------------------------------------------- Figure 7
def pareto_selection(bench, metric: str = "TEST_PGD_ACC", max_rank: int = DEFAULT_MAX_RANK):
    """Figure 7a: per architecture, the decision vector, ``metric`` and MACS, the Pareto ``rank`` of
    (metric max, MACS min), the ``inverse_rank`` under the inverted objectives (metric min, MACS max),
    ``best = rank <= max_rank`` and ``worst = inverse_rank <= max_rank`` (ranks start at 1; rows with
    a non-finite metric get no rank and join neither set)."""
    import pandas as pd

    (metric,) = _one(metric)
    max_rank = check_int(max_rank, "max_rank")
    frame = architecture_frame(bench, [*DECISION_VARIABLES, metric, "MACS"])
    points = frame[[metric, "MACS"]].to_numpy(dtype=np.float64)
    keep = np.isfinite(points).all(axis=1)
    if not keep.any():
        raise ConfigError(f"{metric} has no finite value in {bench.source}")
    for column, flags in (("rank", [True, False]), ("inverse_rank", [False, True])):
        ranks = pd.array([pd.NA] * len(frame), dtype="Int64")
        ranks[keep] = pareto_ranks(points[keep], maximise=flags)
        frame[column] = ranks
    frame["best"] = (frame["rank"] <= max_rank).fillna(False).astype(bool)
    frame["worst"] = (frame["inverse_rank"] <= max_rank).fillna(False).astype(bool)
    frame.attrs.update(metric=metric, max_rank=max_rank)
    return frame


def _one(metric) -> tuple[str]:
    names = parse_metrics(metric, DEFAULT_METRICS["7"])
    if len(names) != 1:
        raise MetricError(f"figure 7 ranks one accuracy against MACS; give one metric, got {', '.join(names)}")
    return names


def signed_pca(vectors: np.ndarray, n_components: int = 2):
    """scikit-learn PCA (centred, unscaled) of the rows, each component's sign fixed so its entries
    sum to a positive number (left as scikit-learn gives it if the sum is 0).

    Returns (components (k, d), explained variance (k,), explained variance ratio (k,),
    projections (n, k) of the centred rows on the signed components).
    """
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < n_components:
        raise ConfigError(f"PCA with {n_components} components needs at least {n_components} vectors, "
                          f"got {len(vectors)}")
    pca = PCA(n_components=n_components, svd_solver="full").fit(vectors)
    sign = np.where(pca.components_.sum(axis=1) < 0, -1.0, 1.0)
    components = pca.components_ * sign[:, None]
    projections = (vectors - pca.mean_) @ components.T
    return components, pca.explained_variance_, pca.explained_variance_ratio_, projections


def decision_pca(selection):
    """Figure 7b: PCA (n = 2) of the best and the worst set's decision vectors.

    Returns (components, projections). ``components`` has a row per (set, component) of ours
    (``source`` "nares-nas") with the loadings D1..W3, the explained variance and its ratio, and the
    cosine of our first component with the published one; then the paper's first components
    (``source`` "published (paper)", as printed) and the same under our sign convention
    ("published, our sign"). ``projections``: set, arch_id, pc1, pc2, the metric and MACS.
    """
    import pandas as pd

    metric = selection.attrs["metric"]
    rows, projected = [], []
    for name in ("best", "worst"):
        members = selection[selection[name]]
        if len(members) < 2:
            raise ConfigError(f"the {name} set holds {len(members)} architecture(s); PCA needs at least 2: "
                              f"raise max_rank (now {selection.attrs['max_rank']})")
        comps, var, ratio, proj = signed_pca(members[list(DECISION_VARIABLES)].to_numpy())
        published = np.array(PUBLISHED_PC1[name])
        ours_sign = published if published.sum() > 0 else -published
        for k in range(2):
            cosine = float(comps[k] @ ours_sign / np.linalg.norm(ours_sign)) if k == 0 else np.nan
            rows.append({"set": name, "component": k + 1, "source": "nares-nas",
                         **dict(zip(DECISION_VARIABLES, comps[k])), "explained_variance": var[k],
                         "explained_variance_ratio": ratio[k], "cosine_to_published": cosine,
                         "n": len(members)})
        for source, vector in (("published (paper)", published), ("published, our sign", ours_sign)):
            rows.append({"set": name, "component": 1, "source": source, **dict(zip(DECISION_VARIABLES, vector)),
                         "explained_variance": np.nan, "explained_variance_ratio": np.nan,
                         "cosine_to_published": np.nan, "n": np.nan})
        projected.append(pd.DataFrame({"set": name, "arch_id": members.index.to_numpy(), "pc1": proj[:, 0],
                                       "pc2": proj[:, 1], metric: members[metric].to_numpy(),
                                       "MACS": members["MACS"].to_numpy()}))
    components = pd.DataFrame(rows)
    projections = pd.concat(projected, ignore_index=True)
    for frame in (components, projections):
        frame.attrs.update(selection.attrs)
    return components, projections


# --------------------------------------------------------------------------- Table 1 / Section 3
def dataset_summary(bench):
    """The dataset summary of Table 1 and Section 3: a row per quantity with ``n, min, max, mean,
    total, published, note``: the counts, the parameter and MACs ranges of the whole space (exact,
    spec §1.3) and of the table, the paper's printed parameter range (labelled), every scalar
    metric's range over the table, and the total training GPU-days beside the paper's."""
    import pandas as pd

    params, macs = space.params_by_id(), space.macs_by_id()
    rows = [
        _row("architectures (table)", n=len(bench), total=len(bench), published=f"{space.N_ARCHS:,}",
             note=f"of {space.N_ARCHS:,} in the space (5^6: D_i in {space.DEPTHS}, W_i in {space.WIDTHS})"),
        _row("epochs per training", n=len(bench), total=bench.max_epochs, published="100"),
        _stats("PARAMS (space)", params, note="exact counts over all 15,625 architectures (docs/protocol.md §1.3)"),
        _row("PARAMS (published)", min=PUBLISHED_PARAMS[0], max=PUBLISHED_PARAMS[1],
             published="23.25M-266.80M",
             note="as printed in the paper (Section 1); the space's lower bound is "
                  "23.35M (docs/protocol.md §1.3: the paper's 23.25M does not match the code)"),
        _stats("MACS (space)", macs, note="exact MACs per 32x32 image over all 15,625 architectures"),
    ]
    for name in METRIC_NAMES:
        if name == "VAL_TEST_ACC":  # = VAL_CLEAN_ACC
            continue
        values = quantity(bench, name)
        note = "over the table" + ("; total = GPU-days of all trainings" if name == "TRAINING_TIME" else "")
        rows.append(_stats(name, values, note=note, total=float(np.nansum(values)) if name == "TRAINING_TIME"
                           else np.nan, published=f"{PUBLISHED_TRAINING_GPU_DAYS:,.0f} GPU-days (paper, "
                           f"Section 3.1; evaluation {PUBLISHED_EVALUATION_GPU_DAYS:,.0f})"
                           if name == "TRAINING_TIME" else np.nan))
    frame = pd.DataFrame(rows, columns=["quantity", "n", "min", "max", "mean", "total", "published", "note"])
    return _tag(frame, bench)


def _row(quantity: str, **values) -> dict:
    return {"quantity": quantity, "n": np.nan, "min": np.nan, "max": np.nan, "mean": np.nan, "total": np.nan,
            "published": np.nan, "note": np.nan, **values}


def _stats(quantity: str, values: np.ndarray, **extra) -> dict:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return _row(quantity, n=0, **extra)
    return _row(quantity, n=len(finite), min=float(finite.min()), max=float(finite.max()),
                mean=float(finite.mean()), **extra)


# --------------------------------------------------------------------------- one figure's tables
@dataclass(frozen=True)
class FigureData:
    """The tables behind one figure: ``tables[""]`` is ``figN.csv``, ``tables["groups"]`` is
    ``figN_groups.csv`` and so on; ``notes`` say what they are (first line: the data source)."""

    figure: str
    tables: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    synthetic: bool = False
    provenance: str = ""

    @property
    def stem(self) -> str:
        return "summary" if self.figure == "summary" else f"fig{self.figure}"

    def file_names(self) -> dict[str, str]:
        return {part: f"{self.stem}{'_' + part if part else ''}.csv" for part in self.tables}


def check_figure(figure: str | int, *, metrics: str | Sequence[str] | None = None,
                 by: str | Sequence[str] | None = None, bins: int | None = None, against: str | None = None,
                 max_rank: int | None = None) -> str:
    """The figure's name (``"2"`` … ``"7"``, ``"summary"``) once its options check out, before any data
    is read: ``ConfigError`` for an unknown figure, an option it does not take or a bad count,
    ``MetricError`` for an unknown metric or quantity (or more than one metric for figure 7)."""
    name = str(figure).strip().lower()
    if name not in FIGURES:
        raise ConfigError(f"unknown figure {str(figure)!r}; valid: {', '.join(FIGURES)}")
    given = {"metrics": metrics, "by": by, "bins": bins, "against": against, "max_rank": max_rank}
    for option, value in given.items():
        if value is not None and name not in OPTIONS[option]:
            flag = "--" + option.replace("_", "-").replace("metrics", "metric")
            raise ConfigError(f"figure {name} does not take {flag} (it applies to figures "
                              f"{', '.join(OPTIONS[option])})")
    if name == "7":
        _one(metrics)
    parse_metrics(metrics)
    parse_quantities(by)
    if against is not None:
        quantity_name(against)
    if bins is not None:
        check_int(bins, "bins")
    if max_rank is not None:
        check_int(max_rank, "max_rank")
    return name


def figure_data(bench, figure: str | int, *, metrics: str | Sequence[str] | None = None,
                by: str | Sequence[str] | None = None, bins: int | None = None, against: str | None = None,
                max_rank: int | None = None) -> FigureData:
    """Every table of one figure (see the module docstring), with its notes and options."""
    name = check_figure(figure, metrics=metrics, by=by, bins=bins, against=against, max_rank=max_rank)
    bins = DEFAULT_BINS if bins is None else check_int(bins, "bins")
    max_rank = DEFAULT_MAX_RANK if max_rank is None else check_int(max_rank, "max_rank")
    chosen = parse_metrics(metrics, DEFAULT_METRICS.get(name, ()))
    by_names = parse_quantities(by)
    data_note = f"Data: {bench.provenance}."
    if name == "summary":
        tables = {"": dataset_summary(bench)}
        notes = ["Dataset summary (Table 1, Section 3): counts, ranges over the space and the table, training "
                 "GPU-days; 'published' are the paper's numbers, labelled."]
    elif name == "2":
        tables = {"": architecture_frame(bench, ["PARAMS", "MACS", *chosen]).reset_index()}
        notes = [f"Figure 2: {', '.join(chosen)} of every architecture against PARAMS (exact parameters) "
                 "and MACS (exact MACs per 32x32 image); a row per architecture."]
    elif name == "3":
        tables = {"": group_statistics(bench, chosen, by_names, bins)}
        notes = [f"Figure 3: box plots of {', '.join(chosen)} grouped by {', '.join(by_names)}; " + _BOX_NOTE]
    elif name in ("4", "5"):
        against = quantity_name(against or DEFAULT_AGAINST)
        tables = {"": architecture_frame(bench, [against, *chosen]).reset_index(),
                  "groups": group_statistics(bench, chosen, by_names, bins)}
        notes = [f"Figure {name}: (a) {', '.join(chosen)} against {against}, a row per architecture "
                 f"(fig{name}.csv); (b) box plots by {', '.join(by_names)} (fig{name}_groups.csv): " + _BOX_NOTE]
    elif name == "6":
        frame = ratio_frame(bench, chosen)
        tables = {"": frame.reset_index(), "fit": ratio_fits(frame, chosen)}
        notes = [f"Figure 6: {', '.join(chosen)} against the RobustResNet ratio sum(D)/(sum(D)+sum(W)) and the "
                 "RobustPrinciple ratio (C1/D1 + C2/D2)/2, C_i = 16*2^(i-1)*W_i; the quadratic least-squares "
                 "fit metric = a*r^2 + b*r + c against the RobustResNet ratio and its R^2 in fig6_fit.csv."]
    else:
        selection = pareto_selection(bench, chosen[0], max_rank)
        components, projections = decision_pca(selection)
        tables = {"": selection.reset_index(), "pca": components, "projections": projections}
        notes = [f"Figure 7: Pareto ranks of ({chosen[0]} max, MACS min) by non-dominated sorting (moocore), "
                 "first front rank 1 (the paper does not say whether its ranks start at 0 or 1; --max-rank 16 "
                 "reads its 'rank < 16' as 0-based); inverse_rank under the inverted objectives. "
                 f"best = rank <= {max_rank}, worst = inverse_rank <= {max_rank}.",
                 "fig7_pca.csv: PCA (n = 2, scikit-learn, centred, unscaled) of each set's decision vectors "
                 "[D1, W1, D2, W2, D3, W3], each component's sign fixed so its entries sum to a positive "
                 "number; beside them the paper's first components as published and under our sign "
                 "convention. fig7_projections.csv: each set's projections on the two components."]
        if chosen[0] != PUBLISHED_PC1_METRIC:
            notes.append(published_metric_note(chosen[0]))
    options = {"metrics": list(chosen)} if name != "summary" else {}
    if name in OPTIONS["by"]:
        options.update(by=list(by_names), bins=bins)
    if name in OPTIONS["against"]:
        options["against"] = against
    if name == "7":
        options["max_rank"] = max_rank
    return FigureData(name, tables, (data_note, *notes), options, bench.synthetic, bench.provenance)


_BOX_NOTE = ("quartiles by linear interpolation, whiskers at the furthest values within 1.5 IQR of the box, "
             "mean marked (+); outliers are counted (n_outliers), not drawn; a continuous quantity is binned "
             "into equal-count quantile bins (group 1..k, edges group_low < x <= group_high).")


def published_metric_note(metric: str) -> str:
    """Figure 7 by another accuracy than the paper's: what its published components are compared with."""
    return (f"Compared with the paper's {PUBLISHED_PC1_METRIC} components: the published first components (and "
            f"cosine_to_published) are of the paper's sets by {PUBLISHED_PC1_METRIC}, these sets are by {metric}.")


def describe(data: FigureData) -> list[str]:
    """A few lines of text for the terminal: the numbers a reader checks first."""
    main = data.tables[""]
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    if data.figure == "summary":
        shown = main[["quantity", "n", "min", "max", "mean", "total", "published"]].copy()
        for column in ("n", "min", "max", "mean", "total"):
            shown[column] = [f"{v:,.6g}" if v == v else "" for v in shown[column]]
        shown["published"] = shown["published"].fillna("")
        return [shown.to_string(index=False)]
    if data.figure == "2":
        metrics = data.options["metrics"]
        return [f"{len(main)} architectures", main[["PARAMS", "MACS", *metrics]].agg(["min", "max"]).to_string(
            float_format=fmt)]
    if data.figure in ("3", "4", "5"):
        groups = data.tables["" if data.figure == "3" else "groups"]
        lines = ["group means (box plots; group: mean):"]
        for (variable, metric), rows in groups.groupby(["variable", "metric"], sort=False):
            means = "  ".join(f"{r.label}: {fmt(r.mean)}" for r in rows.itertuples(index=False))
            lines.append(f"  {variable} {metric}  {means}")
        return lines
    if data.figure == "6":
        return ["quadratic fit against the RobustResNet ratio (metric = a*r^2 + b*r + c):",
                data.tables["fit"].to_string(index=False, float_format=fmt)]
    pca = data.tables["pca"]
    sets = main[["best", "worst"]].sum()
    metric = data.options["metrics"][0]
    compared = [] if metric == PUBLISHED_PC1_METRIC else [published_metric_note(metric)]
    return [*compared, f"best set: {sets['best']} architectures, worst set: {sets['worst']} (rank <= "
            f"{data.options['max_rank']}, first front 1)",
            pca[["set", "component", "source", *DECISION_VARIABLES, "explained_variance_ratio",
                 "cosine_to_published"]].to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")]
