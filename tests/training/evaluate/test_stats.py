"""Tests of training/evaluate/stats.py: expected values by hand or by an independent method (scipy, plain NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from training.evaluate import stats

# ----------------------------------------------------------------------------------------------- IQM


def test_iqm_keeps_the_middle_half_by_hand() -> None:
    # 8 values, sorted: -50, 1, 3, 4, 5, 6, 8, 100; int(0.25 * 8) = 2 cut at each end -> 3, 4, 5, 6.
    x = np.array([[1.0, 100.0, 3.0, 4.0], [5.0, 6.0, -50.0, 8.0]])
    assert stats.iqm(x) == pytest.approx((3 + 4 + 5 + 6) / 4)


def test_iqm_cuts_the_floor_of_a_quarter() -> None:
    # 10 values 1..10 shuffled into (2, 5); int(0.25 * 10) = 2 cut at each end -> 3..8, mean 5.5.
    x = np.array([[7.0, 2.0, 10.0, 4.0, 5.0], [1.0, 9.0, 3.0, 8.0, 6.0]])
    assert stats.iqm(x) == pytest.approx(sum(range(3, 9)) / 6)


def test_mean_and_median_metrics_are_of_per_task_means() -> None:
    # per-task means: (1+3)/2 = 2, (10+20)/2 = 15, (0+1)/2 = 0.5 -> mean 17.5/3, median 2.
    x = np.array([[1.0, 10.0, 0.0], [3.0, 20.0, 1.0]])
    assert stats.interval_estimates({"a": x}, "mean", reps=50)["a"][0] == pytest.approx(17.5 / 3)
    assert stats.interval_estimates({"a": x}, "median", reps=50)["a"][0] == pytest.approx(2.0)


# ---------------------------------------------------------------------------- stratified bootstrap


def _width(ci: tuple[float, float, float]) -> float:
    return ci[2] - ci[1]


def test_interval_contains_point_and_narrows_with_more_runs() -> None:
    rng = np.random.default_rng(7)
    few, many = rng.normal(0.8, 0.1, (5, 3)), rng.normal(0.8, 0.1, (80, 3))
    est = stats.interval_estimates({"few": few, "many": many}, reps=1000, seed=1)
    for point, lo, hi in est.values():
        assert lo <= point <= hi and lo < hi
    # the CI width scales like 1/sqrt(n_runs), sqrt(80 / 5) = 4; with 5 runs the width itself is
    # noisy, so ask only for a clear narrowing
    assert _width(est["many"]) < 0.6 * _width(est["few"])


def test_bootstrap_is_stratified_by_task() -> None:
    # Two tasks at very different levels; resampling runs *within* each task keeps one run of each
    # level, so the mean varies only by the within-task noise (+-0.01), never by the 100 gap.
    x = np.array([[0.00, 100.00], [0.01, 100.01], [0.02, 99.99], [0.01, 100.02]])
    point, lo, hi = stats.interval_estimates({"a": x}, "mean", reps=500)["a"]
    assert point == pytest.approx(50.0075)
    assert 49.99 < lo <= hi < 50.03


def test_single_run_has_a_zero_width_interval() -> None:
    x = np.array([[0.3, 0.9, 0.5]])  # one run per task: every resample is the data itself
    assert stats.interval_estimates({"a": x}, "mean", reps=100)["a"] == pytest.approx((17 / 30,) * 3)


def test_rliable_agrees_with_an_independent_numpy_stratified_bootstrap() -> None:
    x = np.random.default_rng(3).normal(0.0, 1.0, (10, 5))
    _, lo, hi = stats.interval_estimates({"a": x}, reps=4000, seed=0)["a"]
    _, lo2, hi2 = stats._numpy_stratified_ci([x], stats.iqm, 4000, 1, 0.95)
    assert lo == pytest.approx(lo2, abs=0.03) and hi == pytest.approx(hi2, abs=0.03)


def test_same_seed_same_output_and_independent_of_other_policies() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    one = stats.interval_estimates({"a": a}, reps=300, seed=5)
    assert stats.interval_estimates({"a": a}, reps=300, seed=5) == one
    assert stats.interval_estimates({"b": b, "a": a}, reps=300, seed=5)["a"] == one["a"]
    assert stats.interval_estimates({"a": a}, reps=300, seed=6)["a"] != one["a"]
    assert stats.per_task_estimates({"a": a}, reps=100, seed=2) == stats.per_task_estimates(
        {"a": a}, reps=100, seed=2)


def test_global_numpy_random_state_is_restored() -> None:
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    stats.interval_estimates({"a": np.ones((3, 2))}, reps=20, seed=9)
    assert np.array_equal(np.random.random(3), expected)


def test_per_task_estimates_are_per_column() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    est = stats.per_task_estimates({"a": x}, "mean", reps=200)["a"]
    assert [p for p, _, _ in est] == pytest.approx([2.0, 20.0])
    assert 1.0 <= est[0][1] <= 2.0 <= est[0][2] <= 3.0 and 10.0 <= est[1][1] <= est[1][2] <= 30.0


# ------------------------------------------------------------------------ probability of improvement


def test_poi_of_separated_samples_is_one_and_of_identical_samples_is_half() -> None:
    rng = np.random.default_rng(1)
    y = rng.uniform(0.0, 1.0, (5, 2))
    x = y + 2.0  # every x exceeds every y, in every resample too
    assert stats.probability_of_improvement(x, y, reps=200) == (1.0, 1.0, 1.0)
    assert stats.probability_of_improvement(y, x, reps=200) == (0.0, 0.0, 0.0)
    point, lo, hi = stats.probability_of_improvement(y, y, reps=200)
    assert point == 0.5 and lo < 0.5 < hi  # by symmetry, and resamples of the two copies differ


def test_poi_counts_ties_as_half_by_hand() -> None:
    # task 0: x = (2, 3), y = (2, 1): pairs (2,2) tie 1/2, (2,1) 1, (3,2) 1, (3,1) 1 -> 3.5 / 4
    # task 1: x = (5, 6), y = (0, 1): all four pairs x > y -> 1; average over tasks = 0.9375
    x, y = np.array([[2.0, 5.0], [3.0, 6.0]]), np.array([[2.0, 0.0], [1.0, 1.0]])
    assert stats.probability_of_improvement(x, y, reps=50)[0] == pytest.approx(0.9375)
    assert stats._poi(x, y) == pytest.approx(0.9375)


def test_vectorised_poi_equals_rliables_mann_whitney_version() -> None:
    from rliable import metrics

    rng = np.random.default_rng(5)
    for _ in range(20):  # small integers, so ties are frequent
        x, y = rng.integers(0, 4, (rng.integers(1, 6), 3)), rng.integers(0, 4, (rng.integers(1, 6), 3))
        assert stats._poi(x, y) == pytest.approx(metrics.probability_of_improvement(x, y), abs=1e-12)


# ------------------------------------------------------------------------ t-interval and bootstrap


def test_mean_ci_by_hand() -> None:
    # mean 3, sd = sqrt(2.5), se = sqrt(2.5 / 5) = 0.70711, t_{0.975, 4} = 2.776445 (table)
    m, lo, hi = stats.mean_ci(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert m == 3.0
    assert stats.standard_error(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(0.5**0.5)
    assert (lo, hi) == pytest.approx((3 - 2.776445 * 0.5**0.5, 3 + 2.776445 * 0.5**0.5), abs=1e-5)
    assert stats.mean_ci(np.full(4, 2.5)) == (2.5, 2.5, 2.5)


@pytest.mark.parametrize("stat", [np.mean, np.median])
def test_bootstrap_ci_agrees_with_scipy_percentile(stat) -> None:
    x = np.random.default_rng(11).normal(3.0, 2.0, 200)
    point, lo, hi = stats.bootstrap_ci(x, stat, reps=5000, seed=0)
    ref = scipy.stats.bootstrap((x,), stat, n_resamples=5000, method="percentile", rng=1).confidence_interval
    tol = 0.02 * np.std(x, ddof=1)
    assert point == pytest.approx(stat(x))
    assert lo == pytest.approx(ref.low, abs=tol) and hi == pytest.approx(ref.high, abs=tol)
    assert stats.bootstrap_ci(x, stat, reps=500, seed=4) == stats.bootstrap_ci(x, stat, reps=500, seed=4)


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: stats.interval_estimates({"a": np.ones((3, 2))}, metric="max"), "metric"),
        (lambda: stats.interval_estimates({"a": np.array([[1.0, np.nan]])}), "scores['a']"),
        (lambda: stats.interval_estimates({"a": np.ones((2, 2, 2))}), "scores['a']"),
        (lambda: stats.interval_estimates({"a": np.ones((3, 2))}, reps=0), "reps"),
        (lambda: stats.interval_estimates({"a": np.ones((3, 2))}, confidence=1.5), "confidence"),
        (lambda: stats.probability_of_improvement(np.ones((3, 2)), np.ones((3, 3))), "y"),
        (lambda: stats.mean_ci(np.array([1.0])), "returns"),
        (lambda: stats.bootstrap_ci(np.array([])), "x"),
    ],
)
def test_bad_input_is_a_one_line_value_error(call, field) -> None:
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(field + ":") and "\n" not in str(err.value)
