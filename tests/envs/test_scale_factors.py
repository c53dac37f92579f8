"""Each mechanism's scale factor (envs/params.py) multiplies exactly its terms of docs/model.md 5.3 and 6.

Over every state and a spread of actions, the raw move probabilities at scale 1.6 differ from those at
1.0 by (1.6 - 1) x the mechanism's terms, written out here from docs/model.md, and nowhere else.
"""

from __future__ import annotations

import numpy as np
import pytest

from envs import model
from envs.params import SCALE_FIELDS
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES

S = 1.6
T_, A_, R_, W_, X_ = range(5)  # columns of the (N, 5) move arrays


def _grid(scenario: str):
    rng = np.random.default_rng(0)
    states = np.repeat(ALL_STATES, 6, axis=0)
    actions = ALL_ACTIONS[rng.integers(0, len(ALL_ACTIONS), len(states))]
    return states, actions


def _expected_deltas(name: str, states, actions, p) -> tuple[dict, dict]:
    """(up, down) column -> the mechanism's terms at scale 1 (docs/model.md 5.3), with M = 1."""
    phase, T, A, R, W, X = (states[:, i].astype(float) for i in range(6))
    m, k, g, d = (actions[:, i].astype(float) for i in range(4))
    D = np.asarray(p.demand, float)[states[:, 0]]
    L = np.asarray(p.lockout, float)[states[:, 0]]
    c, ax = p.power, p.alpha_far
    coercion_base = 0.25 * ((R <= 1) & (phase >= 1)) * (1 - c / 2)
    if name == "coercion_scale":
        return {}, {A_: coercion_base * (1 - X / 4)}
    if name == "mediation_effect_scale":
        return {R_: np.full_like(T, 0.40), A_: np.full_like(T, 0.5)}, {T_: np.full_like(T, 0.25)}
    if name == "abandonment_scale":
        return {}, {R_: 0.18 * np.maximum(D - m, 0) * (1 - 0.6 * c)}
    if name == "west_lockout_scale":
        return {}, {W_: 0.20 * (m >= 2) + 0.20 * (m == 3) + 0.15 * k + 0.05 * (g == 2) + 0.2 * (1 - L)}
    if name == "far_arc_scale":
        return {A_: 0.12 * ax * (d == 2)}, {T_: 0.04 * X, A_: -coercion_base * X / 4}
    if name == "deep_cost_scale":
        return {}, {A_: 0.35 * (g == 2)}
    if name == "entrapment_scale":
        return {}, {}  # reward only
    raise AssertionError(name)


@pytest.mark.parametrize("name", SCALE_FIELDS)
@pytest.mark.parametrize("scenario", ["war", "timeline"])
def test_scale_factor_multiplies_exactly_its_transition_terms(name, scenario):
    states, actions = _grid(scenario)
    base = make_params(scenario)
    scaled = make_params(scenario, {name: S})
    up0, down0 = model.raw_move_probs(states, actions, 1, base)
    up1, down1 = model.raw_move_probs(states, actions, 1, scaled)
    d_up, d_down = _expected_deltas(name, states, actions, base)
    for col in range(5):
        np.testing.assert_allclose(up1[:, col] - up0[:, col], (S - 1) * d_up.get(col, 0.0), atol=1e-12)
        np.testing.assert_allclose(down1[:, col] - down0[:, col], (S - 1) * d_down.get(col, 0.0), atol=1e-12)


@pytest.mark.parametrize("name", SCALE_FIELDS)
def test_scale_factor_touches_the_reward_only_through_its_terms(name):
    states, actions = _grid("war")
    base, scaled = make_params("war"), make_params("war", {name: S})
    r0, r1 = model.reward_terms(states, actions, base), model.reward_terms(states, actions, scaled)
    X, m, T = states[:, 5].astype(float), actions[:, 0], states[:, 1].astype(float)
    c, kappa, R, W = base.power, np.asarray(base.capacity)[states[:, 0]], states[:, 3], states[:, 4]
    if name == "far_arc_scale":
        others = (1 - 0.5 * c) * (1 - 0.7 * kappa * R / 4) * (1 - 0.3 * W / 2)
        np.testing.assert_allclose(r1["shield"] - r0["shield"], others * 0.1 * (S - 1) * X / 2, atol=1e-12)
    else:
        np.testing.assert_array_equal(r1["shield"], r0["shield"])
    trap = (m == 3) * (0.15 + 0.35 * T / 3) + (m == 2) * 0.08 * T / 3
    expected_trap = S * trap if name == "entrapment_scale" else trap
    np.testing.assert_allclose(r1["trap"], expected_trap, atol=1e-12)
    for term in ("autonomy", "economy", "identity_bonus", "troop_cost", "basing_cost", "diplomacy_cost"):
        np.testing.assert_array_equal(r1[term], r0[term])


def test_scale_factors_default_to_model_md_and_are_bounded():
    p = make_params("war")
    assert all(getattr(p, name) == 1.0 for name in SCALE_FIELDS)
    with pytest.raises(ValueError, match=r"^far_arc_scale=2.5 is not allowed: a finite number in \[0.0, 2.0\]$"):
        make_params("war", {"far_arc_scale": 2.5})
    with pytest.raises(ValueError, match=r"^coercion_scale=-0.1 is not allowed"):
        make_params("war", {"coercion_scale": -0.1})
