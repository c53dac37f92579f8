"""agents.evaluate_samples: per parameter set, V*(s0), the optimum's occupancy from s0 and each
baseline's V^pi(s0), equal to the one-at-a-time evaluator's (policy_values on every block,
evaluate_table) and to a dense propagation of the state distribution."""

from __future__ import annotations

import numpy as np
import pytest

from agents import evaluate_samples
from agents.baselines import baseline_names, make_policy
from agents.bellman import BLOCK
from agents.exact_eval import policy_values
from agents.policy import as_policy, policy_table
from agents.solver import operator, solve
from envs.scenarios import make_params
from envs.spaces import N_ACTIONS, N_STATES, encode_states


def _baseline_values(p, sol, names):
    s0 = int(encode_states(np.array([p.start]))[0])
    end = sol.values[p.horizon] if p.finite_horizon else None
    out = {}
    for b in names:
        pol = make_policy(b, p, seed=0)
        table = policy_table(pol, p, stochastic=not as_policy(pol).deterministic_table)
        out[b] = float(policy_values(p, table, terminal=end)[0, s0])
    return out


def _dense_occupancy(p, sol):
    """Episode-average occupancy by dense within-block matrices (Operator.block_matrix) and the
    event/shock maps, stepping the distribution t = 0..horizon-1 (stationary sets only)."""
    op = operator(p)
    table = sol.complete().start_table()[0]
    moves = op.policy_moves(table)
    mats = [op.block_matrix(moves[ph * BLOCK:(ph + 1) * BLOCK]) for ph in range(5)]
    target, prob = op.events(0)
    d = np.zeros(N_STATES)
    d[int(encode_states(np.array([p.start]))[0])] = 1.0
    occ = np.zeros(N_STATES)
    for _ in range(p.horizon):
        occ += d
        nxt = np.zeros(N_STATES)
        for ph in range(5):
            moved = mats[ph].T @ d[ph * BLOCK:(ph + 1) * BLOCK]
            nxt[ph * BLOCK:(ph + 1) * BLOCK] += (1 - prob[ph]) * moved
            if prob[ph] > 0:
                nt = int(target[ph])
                for reset, w in ((0, 1 - op.west[nt]), (1, op.west[nt])):
                    nxt[nt * BLOCK:(nt + 1) * BLOCK] += prob[ph] * w * np.bincount(op.shock[nt, reset], moved,
                                                                                     minlength=BLOCK)
        d = nxt
    out = np.zeros((N_STATES, N_ACTIONS))
    out[np.arange(N_STATES), table] = occ / p.horizon
    return out


def test_stationary_sets_match_the_one_at_a_time_evaluator():
    sets = [make_params("war", {"power": 0.3, "alpha_west": 0.9}),
            make_params("war", {"hazard": [0.0, 0.0, 0.3, 0.2, 0.0], "start": (2, 2, 4, 3, 1, 0),
                                "identification": 0.7})]  # three blocks reachable from s0
    results = evaluate_samples(sets)
    for p, res in zip(sets, results):
        sol = solve(p)
        assert res.value == pytest.approx(sol.value, abs=1e-12)
        np.testing.assert_allclose(res.occupancy, _dense_occupancy(p, sol), rtol=0, atol=1e-12)
        assert res.occupancy.sum() == pytest.approx(1.0, abs=1e-12)
        old = _baseline_values(p, sol, baseline_names())
        assert set(res.baseline_values) == set(baseline_names())
        for b, v in old.items():
            assert res.baseline_values[b] == pytest.approx(v, abs=1e-10), b
            assert res.share(b) <= 1.0 + 1e-12


def test_calendar_matches_the_one_at_a_time_evaluator():
    p = make_params("calendar", {"identification": 0.6})
    (res,) = evaluate_samples([p], ["random", "limited", "myopic"])
    sol = solve(p)
    assert res.value == pytest.approx(sol.value, abs=1e-12)
    for b, v in _baseline_values(p, sol, ["random", "limited", "myopic"]).items():
        assert res.baseline_values[b] == pytest.approx(v, abs=1e-10), b
    # the occupancy sits in the date's phase at each quarter: shares per phase are the calendar's
    per_phase = res.occupancy.reshape(5, BLOCK, N_ACTIONS).sum(axis=(1, 2))
    expected = np.bincount(np.asarray(p.calendar), minlength=5) / p.horizon
    np.testing.assert_allclose(per_phase, expected, rtol=0, atol=1e-12)


def test_bad_baseline_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"baselines='nope' is not allowed") as err:
        evaluate_samples([make_params("war")], ["limited", "nope"])
    assert "\n" not in str(err.value)
