"""Statistics for benchmark, evaluate and study: IQM, stratified-bootstrap CIs, P(X > Y), t-intervals.

Pure functions over plain arrays. Score arrays are ``(n_runs, n_tasks)``: runs are seeds, tasks are
scenarios (a 1-D array is read as the runs of one task). Aggregate estimates follow rliable
(Agarwal et al., 2021): the IQM is the 25 % trimmed mean over all runs x tasks, and confidence
intervals are percentile intervals of a *stratified* bootstrap that resamples runs within each task.

Seeding: rliable 1.2's ``StratifiedBootstrap.update_indices`` draws from NumPy's *global* legacy
generator (``np.random.choice``) and ignores its ``random_state`` argument (which arch 7 also
deprecates). So each call here seeds the global generator with ``seed`` inside a context that
restores the caller's global state afterwards, and every policy's interval is computed with its own
fresh seed, so adding a policy to the dict does not change the others' intervals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import scipy.stats

try:  # rliable 1.2 imports arch, which breaks on pandas 3
    from rliable import library as rly

    BOOTSTRAP_BACKEND = "rliable"
except ImportError:  # pragma: no cover - exercised only on a broken install
    rly = None
    BOOTSTRAP_BACKEND = "numpy-stratified"  # the same resampling scheme, written out below

Interval = tuple[float, float, float]
"""(point estimate, lower bound, upper bound)."""

METRICS = ("iqm", "mean", "median")


def iqm(x: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50 % of all values (``trim_mean(x, 0.25)`` flattened)."""
    return float(scipy.stats.trim_mean(np.asarray(x, dtype=float), proportiontocut=0.25, axis=None))


def _aggregate(metric: str) -> Callable[[np.ndarray], float]:
    """rliable's aggregate for ``metric``: IQM over runs x tasks, mean / median of per-task means."""
    if metric == "iqm":
        return iqm
    if metric == "mean":
        return lambda s: float(np.mean(np.mean(s, axis=0)))
    if metric == "median":
        return lambda s: float(np.median(np.mean(s, axis=0)))
    raise ValueError(f"metric: got {metric!r}; allowed: {', '.join(METRICS)}")


def _check_scores(name: str, x: np.ndarray) -> np.ndarray:
    """Return ``x`` as a finite float array of shape (n_runs, n_tasks) or raise a one-line ValueError."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name}: got shape {a.shape}; allowed: (n_runs >= 1, n_tasks >= 1)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: got non-finite values; allowed: finite numbers only")
    return a


def _check_bootstrap(reps: int, confidence: float) -> None:
    if int(reps) != reps or reps < 1:
        raise ValueError(f"reps: got {reps!r}; allowed: an integer >= 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: got {confidence!r}; allowed: 0 < confidence < 1")


@contextlib.contextmanager
def _global_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global legacy generator (which rliable uses) and restore it on exit."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _stratified_ci(
    arrays: list[np.ndarray], func: Callable[..., float], reps: int, seed: int, confidence: float
) -> Interval:
    """Percentile CI of ``func(*arrays)`` under resampling of runs within each task of each array."""
    if rly is None:  # pragma: no cover - broken install only
        return _numpy_stratified_ci(arrays, func, reps, seed, confidence)
    with _global_seed(seed):
        data = {"x": arrays[0] if len(arrays) == 1 else list(arrays)}
        _, ci = rly.get_interval_estimates(
            data, lambda *a: np.array([func(*a)]), reps=reps, confidence_interval_size=confidence
        )
    return float(func(*arrays)), float(ci["x"][0, 0]), float(ci["x"][1, 0])


def _numpy_stratified_ci(
    arrays: list[np.ndarray], func: Callable[..., float], reps: int, seed: int, confidence: float
) -> Interval:
    """The same stratified percentile bootstrap in plain NumPy (the fallback backend)."""
    rng = np.random.default_rng(seed)
    cols = [np.arange(a.shape[1])[None, :] for a in arrays]
    stats = [func(*(a[rng.integers(0, a.shape[0], a.shape), c] for a, c in zip(arrays, cols)))
             for _ in range(reps)]
    alpha = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(stats, [alpha, 100 - alpha])
    return float(func(*arrays)), float(lo), float(hi)


def interval_estimates(
    scores: Mapping[str, np.ndarray],
    metric: str = "iqm",
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Interval]:
    """Aggregate point estimate and stratified-bootstrap percentile CI for each policy.

    :param scores: policy name -> array (n_runs, n_tasks), e.g. share of V* per seed and scenario.
    :param metric: ``"iqm"`` (over all runs x tasks), ``"mean"`` or ``"median"`` (of per-task means).
    :param reps: bootstrap replications.
    :param seed: seed of the bootstrap; the same seed gives identical output.
    :param confidence: coverage of the interval.
    :return: policy name -> (point, lo, hi).
    """
    func = _aggregate(metric)
    _check_bootstrap(reps, confidence)
    checked = {name: _check_scores(f"scores[{name!r}]", x) for name, x in scores.items()}
    return {name: _stratified_ci([x], func, reps, seed, confidence) for name, x in checked.items()}


def per_task_estimates(
    scores: Mapping[str, np.ndarray],
    metric: str = "iqm",
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, list[Interval]]:
    """Per-task (per-scenario) estimates: ``interval_estimates`` on each column separately.

    For one task rliable's ``median`` (median of per-task means) equals the mean over runs.

    :return: policy name -> one (point, lo, hi) per task, in column order.
    """
    func = _aggregate(metric)
    _check_bootstrap(reps, confidence)
    out: dict[str, list[Interval]] = {}
    for name, x in scores.items():
        a = _check_scores(f"scores[{name!r}]", x)
        out[name] = [_stratified_ci([a[:, [j]]], func, reps, seed, confidence) for j in range(a.shape[1])]
    return out


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> Interval:
    """P(X > Y) averaged over tasks (Mann-Whitney U / (n_x n_y), ties count 1/2) with a bootstrap CI.

    As rliable computes it: its independent stratified bootstrap of the runs of ``x`` and of ``y``,
    with the statistic of ``metrics.probability_of_improvement`` computed by ``_poi`` (the same
    number, vectorised: rliable's calls scipy's Mann-Whitney test per task and resample, ~20x slower).

    :param x: scores of policy X, (n_runs_x, n_tasks).
    :param y: scores of policy Y, (n_runs_y, n_tasks) with the same tasks.
    :return: (point, lo, hi).
    """
    _check_bootstrap(reps, confidence)
    a, b = _check_scores("x", x), _check_scores("y", y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"y: got {b.shape[1]} tasks; allowed: the same number as x ({a.shape[1]})")
    return _stratified_ci([a, b], _poi, reps, seed, confidence)


def _poi(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + P(X = Y) / 2 per task, averaged over tasks: rliable's U / (n_x n_y) over all pairs."""
    diff = x[:, None, :] - y[None, :, :]
    return float(np.mean(np.mean((diff > 0) + 0.5 * (diff == 0), axis=(0, 1))))


def standard_error(returns: np.ndarray) -> float:
    """Standard error of the mean, ``sd(ddof=1) / sqrt(n)``, of Monte Carlo returns (n >= 2)."""
    r = _check_returns(returns)
    return float(np.std(r, ddof=1) / np.sqrt(r.size))


def _check_returns(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=float).ravel()
    if r.size < 2 or not np.all(np.isfinite(r)):
        raise ValueError(f"returns: got {r.size} values (finite: {bool(np.all(np.isfinite(r)))}); "
                         "allowed: at least 2 finite values")
    return r


def mean_ci(returns: np.ndarray, confidence: float = 0.95) -> Interval:
    """Mean of Monte Carlo returns and its Student-t interval ``mean +- t_{n-1} * se``.

    :return: (mean, lo, hi); lo == hi == mean when all returns are equal.
    """
    _check_bootstrap(1, confidence)
    r = _check_returns(returns)
    m, se = float(np.mean(r)), standard_error(r)
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, df=r.size - 1)) * se
    return m, m - half, m + half


def bootstrap_ci(
    x: np.ndarray,
    stat: Callable[..., np.ndarray] = np.mean,
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Plain percentile bootstrap of one sample, for statistics rliable's layout does not fit.

    :param x: the sample, 1-D.
    :param stat: a vectorised statistic taking ``axis=`` like ``np.mean`` / ``np.median``.
    :param reps: bootstrap replications.
    :param seed: seed of ``np.random.default_rng``; the same seed gives identical output.
    :return: (stat(x), lo, hi).
    """
    _check_bootstrap(reps, confidence)
    a = np.asarray(x, dtype=float).ravel()
    if a.size < 1 or not np.all(np.isfinite(a)):
        raise ValueError(f"x: got {a.size} values; allowed: at least 1 finite value, none NaN or inf")
    rng = np.random.default_rng(seed)
    boot = np.asarray(stat(a[rng.integers(0, a.size, size=(reps, a.size))], axis=-1), dtype=float)
    alpha = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(boot, [alpha, 100 - alpha])
    return float(stat(a, axis=-1)), float(lo), float(hi)
