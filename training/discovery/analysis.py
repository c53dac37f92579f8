"""Analysis of sampled outputs: Sobol indices (SALib), PRIM boxes (EMA Workbench), bootstrap shares (scipy).

- :func:`sobol_indices`: first-order and total indices with 95 % bootstrap intervals, from outputs
  on a :func:`training.discovery.sampling.sobol_unit` sample.
- :func:`prim_boxes`: Friedman & Fisher's PRIM (1999) as Bryant & Lempert (2010) use it for scenario
  discovery, through ``ema_workbench.analysis.prim`` (imported lazily: it takes seconds to import).
- :func:`share_interval`: the share of samples where a condition holds, with a 95 % bootstrap interval
  over the design's independent units (a Saltelli block, a Latin row).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analyzer
from scipy import stats

from training.discovery.sampling import grouped_problem, unit_problem

CONFIDENCE = 0.95


def sobol_indices(names: list[str], outputs: np.ndarray, seed: int, resamples: int = 1000) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices of ``outputs`` (one per row of the Saltelli
    sample, in its order), with the half-widths of their 95 % bootstrap intervals (S1_conf, ST_conf).
    A constant output has no variance to share: its indices are NaN."""
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim != 1 or len(y) % (len(names) + 2) or not np.all(np.isfinite(y)):
        raise ValueError(f"outputs: {len(names) + 2} x n finite values expected (the Saltelli sample), got {y.shape}")
    if np.ptp(y) == 0:
        nan = np.full(len(names), np.nan)
        return pd.DataFrame({"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}, index=pd.Index(names, name="factor"))
    res = sobol_analyzer.analyze(unit_problem(names), y, calc_second_order=False, num_resamples=resamples,
                                 conf_level=CONFIDENCE, seed=seed + 1)  # SALib ignores a seed of 0 (`if seed:`)
    return pd.DataFrame({k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}, index=pd.Index(names, name="factor"))


def grouped_indices(names: list[str], groups: list[str], outputs: np.ndarray, seed: int,
                    resamples: int = 1000) -> pd.DataFrame:
    """Each group's own first-order (S1) and total (ST) Sobol indices with the half-widths of their 95 %
    bootstrap intervals, from outputs on a :func:`training.discovery.sampling.grouped_unit` sample (SALib's
    ``groups``): a group's coordinates move together, so ST is the group's total index itself, not a
    bound built from its factors' indices. Rows in order of the groups' first appearance; NaN for a
    constant output."""
    problem = grouped_problem(names, groups)
    order = list(dict.fromkeys(groups))
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim != 1 or len(y) % (len(order) + 2) or not np.all(np.isfinite(y)):
        raise ValueError(f"outputs: {len(order) + 2} x n finite values expected (the grouped Saltelli sample), "
                         f"got {y.shape}")
    if np.ptp(y) == 0:
        nan = np.full(len(order), np.nan)
        return pd.DataFrame({"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}, index=pd.Index(order, name="group"))
    res = sobol_analyzer.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                                 conf_level=CONFIDENCE, seed=seed + 1)
    return pd.DataFrame({k: np.asarray(res[k], dtype=np.float64) for k in ("S1", "S1_conf", "ST", "ST_conf")},
                        index=pd.Index(order, name="group"))


def share_interval(flags: np.ndarray, seed: int, units: np.ndarray, resamples: int = 2000) -> tuple[float, float, float]:
    """(share, low, high): the share of True in ``flags`` and its 95 % percentile-bootstrap interval
    (scipy.stats.bootstrap), resampling the design's independent units, not its rows: ``units[i]`` names
    the unit of row ``i`` (:func:`training.discovery.plan.sample_units`: a Saltelli block of D + 2 rows
    that share all but one coordinate with its A row is one unit, each Latin row its own). The statistic
    is the share over the rows of the resampled units (a ratio estimator). Rows of one unit are not
    independent, so a row bootstrap would make the interval too narrow by up to the square root of the
    block size. When every flag is equal the resamples cannot vary: the interval is the point."""
    x = np.asarray(flags, dtype=np.float64)
    u = np.asarray(units)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("flags: a non-empty 1-d array expected")
    if u.shape != x.shape:
        raise ValueError(f"units: one unit per flag expected ({x.shape}), got {u.shape}")
    share = float(x.mean())
    if np.all(x == x[0]):
        return share, share, share
    _, inverse = np.unique(u, return_inverse=True)
    sums, counts = np.bincount(inverse, weights=x), np.bincount(inverse).astype(np.float64)
    if len(sums) < 2:
        return share, share, share

    def ratio(s: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return s.sum(axis=axis) / c.sum(axis=axis)

    res = stats.bootstrap((sums, counts), ratio, paired=True, vectorized=True, confidence_level=CONFIDENCE,
                          n_resamples=resamples, method="percentile", rng=np.random.default_rng(seed))
    return share, float(res.confidence_interval.low), float(res.confidence_interval.high)


def prim_boxes(inputs: pd.DataFrame, flags: np.ndarray, threshold: float = 0.8, peel_alpha: float = 0.05,
               max_boxes: int = 3) -> pd.DataFrame:
    """PRIM boxes for the samples where ``flags`` holds: per box, the restricted inputs with their
    bounds, its coverage (share of all flagged samples inside) and density (share flagged inside).

    On each box's peeling-and-pasting trajectory the box chosen is the one with the highest coverage
    among those whose density reaches ``threshold`` (coverage falls along the trajectory, density
    rises); boxes are found one after another on the samples the earlier boxes leave (Friedman &
    Fisher's covering); the search stops when no box reaches the threshold.
    Returns one row per (box, restricted input): box, input, low, high, coverage, density, mass.
    """
    y = np.asarray(flags, dtype=bool)
    if len(y) != len(inputs):
        raise ValueError(f"flags: {len(inputs)} values expected (one per input row), got {len(y)}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold!r} is not allowed: a density in (0, 1]")
    columns = ["box", "input", "low", "high", "coverage", "density", "mass"]
    rows: list[dict] = []
    if not y.any():
        return pd.DataFrame(rows, columns=columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        finder = prim.Prim(inputs.reset_index(drop=True).astype(np.float64), y.astype(np.float64),
                           threshold=threshold, peel_alpha=peel_alpha)
        full = finder.box_init
        for number in range(max_boxes):
            box = finder.find_box()
            if box is None:
                break
            traj = box.peeling_trajectory
            good = traj.index[traj["density"] >= threshold - 1e-12]
            if len(good) == 0:
                break
            box.select(int(good[0]))
            lims, point = box.box_lims[int(good[0])], traj.loc[good[0]]
            restricted = [c for c in inputs.columns
                          if lims[c].iloc[0] > full[c].iloc[0] or lims[c].iloc[1] < full[c].iloc[1]]
            if not restricted:  # the whole space: nothing left to find
                break
            rows += [{"box": number, "input": c, "low": float(lims[c].iloc[0]), "high": float(lims[c].iloc[1]),
                      "coverage": float(point["coverage"]), "density": float(point["density"]),
                      "mass": float(point["mass"])} for c in restricted]
    return pd.DataFrame(rows, columns=columns)
