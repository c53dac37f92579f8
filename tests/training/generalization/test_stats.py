"""The generalization study's statistics: the two-way bootstrap over runs and contexts, the verdicts,
the regression on the factors."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate.stats import iqm
from training.generalization.stats import (
    difference_of_means,
    factor_effects,
    iqm_of,
    mean_of,
    two_way_interval,
    verdict,
)


def test_a_gap_of_a_run_equal_on_both_sets_is_exactly_zero_when_runs_are_paired():
    rng = np.random.default_rng(0)
    runs = rng.normal(0.9, 0.05, size=(5, 1))  # each run's share, the same in every context
    train, test = np.repeat(runs, 30, axis=1), np.repeat(runs, 20, axis=1)
    paired = two_way_interval([train, test], difference_of_means, row_groups=[0, 0], col_groups=["a", "b"], reps=300)
    assert paired == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    unpaired = two_way_interval([train, test], difference_of_means, row_groups=[0, 1], col_groups=["a", "b"], reps=300)
    assert unpaired[1] < 0 < unpaired[2]  # resampled apart, the runs' spread shows


def test_the_interval_covers_the_point_narrows_with_more_contexts_and_is_seeded():
    rng = np.random.default_rng(1)
    small, large = rng.random((5, 20)), rng.random((5, 2000))
    a = two_way_interval([small], mean_of, reps=500, seed=3)
    assert a[1] <= a[0] <= a[2] and a == two_way_interval([small], mean_of, reps=500, seed=3)
    b = two_way_interval([large], mean_of, reps=500, seed=3)
    assert b[2] - b[1] < a[2] - a[1]


def test_a_deterministic_policy_varies_only_with_its_contexts():
    block = np.array([[0.8, 0.9, 1.0, 0.7]])
    point, low, high = two_way_interval([block], mean_of, reps=500)
    assert point == pytest.approx(0.85) and 0.7 <= low < point < high <= 1.0


def test_blocks_that_share_runs_must_have_as_many_runs_one_line():
    with pytest.raises(ValueError, match="run group 0: blocks of 5 and 4 runs"):
        two_way_interval([np.ones((5, 3)), np.ones((4, 3))], difference_of_means, row_groups=[0, 0])


def test_iqm_of_is_the_projects_iqm():
    x = np.random.default_rng(2).random((5, 37))
    assert iqm_of([x]) == pytest.approx(iqm(x))


@pytest.mark.parametrize("iv, expected", [((0.0, -0.01, 0.015), "below"), ((0.05, 0.03, 0.08), "above"),
                                          ((0.02, 0.01, 0.03), "undecided"), ((0.02, 0.02, 0.03), "undecided")])
def test_a_verdict_needs_the_whole_interval_on_one_side(iv, expected):
    assert verdict(iv, 0.02, "below", "above") == expected


def test_the_regression_finds_the_factor_that_lowers_the_share_and_no_other():
    rng = np.random.default_rng(4)
    x = rng.random((400, 4))
    y = 0.95 - 0.2 * x[:, 2] + rng.normal(0, 0.01, 400)
    rows = factor_effects(["a", "b", "c", "d"], x, y, reps=300, seed=0)
    assert rows[0]["factor"] == "c" and rows[0]["coefficient"] == pytest.approx(-0.2, abs=0.01) and rows[0]["high"] < 0
    assert all(r["low"] < 0 < r["high"] for r in rows[1:]) and rows[0]["r2"] > 0.9


def test_a_regression_with_fewer_contexts_than_factors_is_refused():
    with pytest.raises(ValueError, match="more contexts than factors"):
        factor_effects(["a", "b", "c"], np.zeros((4, 3)), np.zeros(4))
