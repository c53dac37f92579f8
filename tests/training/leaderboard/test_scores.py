"""The leaderboard's scores on a synthetic set of runs whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from training.leaderboard import scores as sc

SCENARIOS = ["war", "calendar"]
GOOD_FINAL = [0.97, 0.975, 0.985, 0.992, 0.995]  # good's final share by seed


def run(algo: str, scenario: str, seed: int, shares: list[float], step: int = 100) -> dict:
    curve = [{"steps": step * (i + 1), "share": s, "value": s, "optimum": 1.0, "regret": 1 - s, "exact": True}
             for i, s in enumerate(shares)]
    return {"algo": algo, "scenario": scenario, "seed": seed, "curve": curve, "share": shares[-1],
            "regret": 1 - shares[-1], "exact": True}


def synthetic() -> list[dict]:
    """'good' beats 'bad' on every run; 'good' reaches 95 % at step 200 on war for every seed."""
    runs = []
    for seed in range(5):
        for s in SCENARIOS:
            runs.append(run("good", s, seed, [0.9, 0.96 if s == "war" else 0.94, GOOD_FINAL[seed]]))
            runs.append(run("bad", s, seed, [0.5, 0.6, 0.7 + 0.01 * seed]))
    return runs


def test_the_score_matrix_is_seeds_by_scenarios_in_the_configs_order():
    m = sc.score_matrix(synthetic(), SCENARIOS)
    assert m["good"].shape == (5, 2)
    assert m["bad"][:, 0].tolist() == pytest.approx([0.7, 0.71, 0.72, 0.73, 0.74])
    # an algorithm missing a seed on one scenario cannot be bootstrapped by strata: left out
    partial = [r for r in synthetic() if not (r["algo"] == "bad" and r["scenario"] == "war" and r["seed"] == 4)]
    assert set(sc.score_matrix(partial, SCENARIOS)) == {"good"}
    assert sc.complete_scenarios(partial, SCENARIOS, ["good", "bad"], 5) == ["calendar"]


def test_aggregate_ranks_by_iqm_with_intervals_and_a_dominating_algorithm_improves_with_probability_one():
    agg = sc.aggregate(synthetic(), SCENARIOS, reps=100)
    assert agg["order"] == ["good", "bad"] and agg["best"] == "good"
    shares = sc.score_matrix(synthetic(), SCENARIOS)["bad"]
    point, lo, hi = agg["iqm"]["bad"]
    assert point == pytest.approx(scipy.stats.trim_mean(shares.ravel(), 0.25))
    assert lo <= point <= hi and lo < hi
    assert agg["regret_iqm"]["bad"][0] == pytest.approx(1 - point)
    assert agg["poi"]["bad"][0] == 1.0  # every run of good above every run of bad


def test_the_performance_profile_is_the_fraction_of_runs_at_or_above_tau():
    agg = sc.aggregate(synthetic(), SCENARIOS, reps=100)
    taus = np.asarray(agg["taus"])
    good = np.array([p[0] for p in agg["profiles"]["good"]])
    assert good[taus <= 0.97].min() == 1.0  # every final share of good is >= 0.97
    assert good[np.isclose(taus, 0.98)][0] == pytest.approx(6 / 10)  # seeds 2..4 on both scenarios
    assert good[np.isclose(taus, 1.0)][0] == 0.0
    assert np.all(np.diff(good) <= 0)  # a profile never rises with tau


def test_steps_to_a_threshold_is_the_first_checkpoint_reaching_it_or_none():
    curve = run("x", "war", 0, [0.94, 0.951, 0.93, 0.99])["curve"]
    assert sc.steps_to(curve, 0.95) == 200  # the first, even though it falls back afterwards
    assert sc.steps_to(curve, 0.99) == 400
    assert sc.steps_to(curve, 0.995) is None


def test_sample_efficiency_counts_a_run_that_never_reaches_as_infinitely_slow():
    rows = {(r["algo"], r["scenario"]): r for r in sc.sample_efficiency(synthetic())}
    assert rows["good", "war"]["reached_95"] == 5 and rows["good", "war"]["median_steps_95"] == 200
    assert rows["good", "calendar"]["median_steps_95"] == 300  # 0.94 at step 200 is not 95 %
    assert rows["bad", "war"]["reached_95"] == 0 and rows["bad", "war"]["median_steps_95"] is None
    # 99 %: seeds 3 and 4 only, two of five: the median is none
    assert rows["good", "war"]["reached_99"] == 2 and rows["good", "war"]["median_steps_99"] is None


def test_curves_are_the_mean_min_and_max_over_seeds_per_checkpoint():
    c = sc.curves(synthetic())["bad", "war"]
    assert c["steps"] == [100, 200, 300]
    assert c["mean"][2] == pytest.approx(0.72) and c["min"][2] == 0.7 and c["max"][2] == pytest.approx(0.74)
