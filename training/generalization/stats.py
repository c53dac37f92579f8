"""The generalization study's statistics, pure functions over arrays.

The design has two independent sources of variation: the runs (a seed each) and the contexts (drawn
independently from the ranges). A score is a block ``(runs, contexts)``; :func:`two_way_interval`
resamples runs and contexts independently (a percentile bootstrap over both, the "two-way" or
pigeonhole bootstrap of crossed designs, Owen 2007), keeping what is paired paired: blocks with the same
row group share their resampled runs (one run scored on training and on held-out contexts), blocks with
the same column group share their resampled contexts (two learners on the same held-out contexts). A
deterministic policy (a baseline, the carried optimum) is a block of one row.

:func:`verdict` reads an interval against a margin; :func:`factor_effects` regresses a per-context score
on the factors scaled to [0, 1] (OLS, bootstrap over contexts).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np

CONFIDENCE = 0.95
Interval = tuple[float, float, float]


def _sizes(blocks: Sequence[np.ndarray], groups: Sequence[Hashable], axis: int, what: str) -> dict[Hashable, int]:
    sizes: dict[Hashable, int] = {}
    for b, g in zip(blocks, groups):
        n = b.shape[axis]
        if sizes.setdefault(g, n) != n:
            raise ValueError(f"{what} group {g!r}: blocks of {sizes[g]} and {n} {what}s cannot share resampled {what}s")
    return sizes


def two_way_interval(blocks: Sequence[np.ndarray], stat: Callable[[list[np.ndarray]], float],
                     row_groups: Sequence[Hashable] | None = None, col_groups: Sequence[Hashable] | None = None,
                     reps: int = 2000, seed: int = 0) -> Interval:
    """(point, low, high): ``stat`` of the blocks and its 95 % percentile interval, runs (rows) and contexts
    (columns) resampled independently with replacement; groups as the module docstring says (default: every
    block its own rows and columns). A block whose rows or columns cannot vary (one of each) stays as it is."""
    mats = [np.asarray(b, dtype=np.float64) for b in blocks]
    if not mats or any(m.ndim != 2 or m.size == 0 for m in mats):
        raise ValueError("blocks: non-empty 2-d arrays (runs x contexts) expected")
    rg = list(range(len(mats))) if row_groups is None else list(row_groups)
    cg = list(range(len(mats))) if col_groups is None else list(col_groups)
    if len(rg) != len(mats) or len(cg) != len(mats):
        raise ValueError(f"row_groups, col_groups: one per block ({len(mats)}) expected")
    rows, cols = _sizes(mats, rg, 0, "run"), _sizes(mats, cg, 1, "context")
    point = float(stat(mats))
    rng = np.random.default_rng(seed)
    values = np.empty(reps)
    for i in range(reps):
        ri = {g: rng.integers(n, size=n) for g, n in rows.items()}
        ci = {g: rng.integers(n, size=n) for g, n in cols.items()}
        values[i] = stat([m[np.ix_(ri[r], ci[c])] for m, r, c in zip(mats, rg, cg)])
    low, high = np.percentile(values, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2])
    return point, float(low), float(high)


def mean_of(blocks: list[np.ndarray]) -> float:
    """The mean of the first block (the statistic of one score's interval)."""
    return float(np.mean(blocks[0]))


def difference_of_means(blocks: list[np.ndarray]) -> float:
    """mean(first block) - mean(second block): a gap, or one learner against another."""
    return float(np.mean(blocks[0]) - np.mean(blocks[1]))


def iqm_of(blocks: list[np.ndarray]) -> float:
    """The interquartile mean of the first block's cells (rliable's IQM over runs x contexts)."""
    x = np.sort(np.asarray(blocks[0], dtype=np.float64).ravel())
    n = len(x)
    lo, hi = int(np.floor(0.25 * n)), int(np.ceil(0.75 * n))
    return float(np.mean(x[lo:hi])) if hi > lo else float(np.mean(x))


def verdict(iv: Interval, margin: float, below: str, above: str) -> str:
    """``below`` when the interval lies entirely below ``margin``, ``above`` when entirely above, else
    ``undecided``."""
    _, low, high = iv
    if high < margin:
        return below
    if low > margin:
        return above
    return "undecided"


def factor_effects(names: Sequence[str], features: np.ndarray, y: np.ndarray, reps: int = 2000,
                   seed: int = 0) -> list[dict[str, float | str]]:
    """OLS of ``y`` (one value per context) on ``features`` (contexts x factors, each scaled to [0, 1] by its
    range): per factor the coefficient (the change of ``y`` from the low to the high end of the factor's
    range, the others held) with its 95 % percentile interval from a bootstrap over contexts, sorted by the
    coefficient (most negative first: the factors that make a context hard). Also the fit's R^2 (same for
    every row)."""
    x = np.asarray(features, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape != (len(yv), len(names)):
        raise ValueError(f"features: ({len(yv)}, {len(names)}) expected (contexts x factors), got {x.shape}")
    if len(yv) <= len(names) + 1:
        raise ValueError(f"y: more contexts than factors + 1 ({len(names) + 1}) needed for a regression, got {len(yv)}")
    design = np.column_stack([np.ones(len(yv)), x])
    coef = np.linalg.lstsq(design, yv, rcond=None)[0]
    resid = yv - design @ coef
    total = float(np.sum((yv - yv.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / total if total > 0 else float("nan")
    rng = np.random.default_rng(seed)
    boot = np.empty((reps, len(names)))
    for i in range(reps):
        idx = rng.integers(len(yv), size=len(yv))
        boot[i] = np.linalg.lstsq(design[idx], yv[idx], rcond=None)[0][1:]
    low, high = np.percentile(boot, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2], axis=0)
    rows = [{"factor": n, "coefficient": float(coef[j + 1]), "low": float(low[j]), "high": float(high[j]), "r2": r2}
            for j, n in enumerate(names)]
    return sorted(rows, key=lambda r: (r["coefficient"], r["factor"]))
