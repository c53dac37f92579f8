"""docs/model.md sections 5 and 6, each equation checked against numbers worked out by hand.

Every expected value below is written as the arithmetic of docs/model.md with literal numbers (the
parameters of the scenario's phase, section 4), not taken from the program. Default parameters:
c = .2, iota = .4, alpha_W = .8, alpha_X = .6, weights (.5, .35, .15).
war = phase 4: tau 2.2, D 2, IP 1, kappa .9, L .1, q .1, h 0.
phase3: tau 2.4, D 1, IP 0, kappa .5, L .1, q .6, h 0.
Order of moving variables in the arrays: T, A, R, W, X.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from envs import model
from envs.scenarios import make_params

TOL = 1e-12


def _one(state, action):
    return np.array([state], dtype=np.int64), np.array([action], dtype=np.int64)


def _check_moves(p, state, action, mediated, raw_up, raw_down, up, down):
    s, a = _one(state, action)
    got_raw_up, got_raw_down = model.raw_move_probs(s, a, mediated, p)
    got_up, got_down = model.move_probs(s, a, mediated, p)
    np.testing.assert_allclose(got_raw_up[0], raw_up, rtol=0, atol=TOL)
    np.testing.assert_allclose(got_raw_down[0], raw_down, rtol=0, atol=TOL)
    np.testing.assert_allclose(got_up[0], up, rtol=0, atol=TOL)
    np.testing.assert_allclose(got_down[0], down, rtol=0, atol=TOL)


def _check_reward(p, state, action, S, aut, econ, bonus, troop, basing, dipl):
    s, a = _one(state, action)
    terms = model.reward_terms(s, a, p)
    # r = (w_S sqrt S + w_A sqrt Aut + w_E sqrt Econ)^2 + bonus - troops - basing - diplomacy
    expected_r = (0.5 * math.sqrt(S) + 0.35 * math.sqrt(aut) + 0.15 * math.sqrt(econ)) ** 2 + bonus - troop - basing - dipl
    for key, value in [("security", S), ("autonomy", aut), ("economy", econ), ("identity_bonus", bonus),
                       ("troop_cost", troop), ("basing_cost", basing), ("diplomacy_cost", dipl),
                       ("reward", expected_r)]:
        assert terms[key][0] == pytest.approx(value, abs=TOL), key
    assert model.reward(s, a, p)[0] == pytest.approx(expected_r, abs=TOL)


# --------------------------------------------------------------------------- case 1
def test_case1_war_interior_state_mediation_offered():
    """war, s = (phase 4, T2, A4, R3, W1, X0), a = (m2, k0, g1, d1): nothing at a bound."""
    p = make_params("war")
    state, action = (4, 2, 4, 3, 1, 0), (2, 0, 1, 1)
    # 5.1: q_4 [d=1][R>=2][m<=2][k=0] = .1 * 1 * 1 * 1 * 1
    assert model.mediation_prob(*_one(state, action), p)[0] == pytest.approx(0.1 * 1 * 1 * 1 * 1, abs=TOL)
    # M = 0
    t_up = 0.05 + 0.25 * (2.2 - 2) + 0.04 * 2 + 0.35 * 0 + 0.10 * 1 + 0.05 * 0  # .28
    t_down = 0.05 + 0.25 * 0 + 0.10 * 0 + 0.04 * 0 + 0.25 * 0  # (T - tau)+ = 0 -> .05
    a_up = 0.04 * 0 + 0.12 * 0.6 * 0 + 0.08 * 0.8 * 0.1 * 0 + 0.5 * 0 + 0.05 * 0.2  # .01
    a_down = 0.35 * 0 + 0.12 * 1 + 0.10 * 1 + 0.08 * 0 + 0.0  # coercion needs R <= 1 -> .22
    r_up = 0.05 + 0.05 * 0.4 + 0.20 * 1 + 0.05 * 0 + 0.08 * 0 + 0.06 * 1 + 0.40 * 0  # m = D = 2 -> .33
    r_down = 0.03 + 0.18 * 0 * (1 - 0.6 * 0.2) + 0 + 0.04 * 0 + 0.10 * 0 * 1 - 0.02 * 0.4  # .022
    w_up = 0.8 * 0.1 * (0.30 * 0 + 0.05 * 0)  # m = 2 is not <= 1 -> 0
    w_down = 0.05 + 0.20 * 1 + 0.20 * 0 + 0.15 * 0 + 0.05 * 0 + 0.2 * (1 - 0.1)  # .43
    x_up, x_down_raw = 0.30 * 0.6 * 0, 0.04
    raw_up, raw_down = [t_up, a_up, r_up, w_up, x_up], [t_down, a_down, r_down, w_down, x_down_raw]
    # all sums <= .95; X = 0 so its down is set to 0
    _check_moves(p, state, action, 0, raw_up, raw_down, raw_up, [t_down, a_down, r_down, w_down, 0.0])
    # M = 1: T falls .25 more, A rises .5 more, R rises .40 more
    raw_up1 = [t_up, a_up + 0.5, r_up + 0.40, w_up, x_up]  # A .51, R .73
    raw_down1 = [t_down + 0.25, a_down, r_down, w_down, x_down_raw]  # T .30
    _check_moves(p, state, action, 1, raw_up1, raw_down1, raw_up1, raw_down1[:4] + [0.0])
    # section 6
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0.7 * 0.9 * 3 / 4) * (1 - 0.3 * 1 / 2) * (1 - 0.1 * 0 / 2)  # .5964625
    trap = 0.08 * 2 / 3  # [m=2] .08 T/3
    S = 1 - (2 / 3) * (1 - shield) - trap  # .6776417
    aut = 0.6 * 4 / 5 + 0.4 * (1 - 0.12 * 2 - 0.15 * 0 - 0.12 * 1)  # .736
    econ = 0.4 * 0.9 * 3 / 4 + 0.4 * 1 / 2 + 0.2 * 0 / 2  # .47
    _check_reward(p, state, action, S, aut, econ, bonus=0.15 * 0.4 * (2 / 3 + 0) / 2, troop=0.0,
                  basing=0.03 * (1 - 0.4), dipl=0.01)


# --------------------------------------------------------------------------- case 2
def test_case2_war_clip_then_rescale_then_bounds():
    """war, s = (4, T0, A5, R4, W2, X2), a = (m3, k1, g2, d3): T's rise is clipped to .95 and
    rescaled, then T's fall removed at level 0; A, R, W, X at their top lose the rise."""
    p = make_params("war")
    state, action = (4, 0, 5, 4, 2, 2), (3, 1, 2, 3)
    # m = 3, k = 1, d = 3: no mediation
    assert model.mediation_prob(*_one(state, action), p)[0] == 0.0
    t_up = 0.05 + 0.25 * (2.2 - 0) + 0.04 * 0 + 0.35 * 1 + 0.10 * 0 + 0.05 * 1  # 1.00 -> clip .95
    t_down = 0.05 + 0.25 * 0 + 0.10 * 1 + 0.04 * 2 + 0.25 * 0  # d=3, W>=1 -> .23
    a_up = 0.04 * 0 + 0.12 * 0.6 * 0 + 0.08 * 0.8 * 0.1 * 1 + 0.5 * 0 + 0.05 * 0.2  # .0164
    a_down = 0.35 * 1 + 0.12 * 0 + 0.10 * 1 + 0.08 * 1 + 0.0  # .53, R = 4 so no coercion
    r_up = 0.05 + 0.05 * 0.4 + 0.20 * 1 + 0.05 * 1 + 0.08 * 1 + 0.06 * 2 + 0.40 * 0  # .52
    r_down = 0.03 + 0.18 * 0 + (0.06 + 0.04 * 0) * 1 + 0.04 * 0 + 0.10 * 0 - 0.02 * 0.4  # .082
    w_up = 0.8 * 0.1 * (0.30 * 1 + 0.05 * 0)  # .024
    w_down = 0.05 + 0.20 + 0.20 + 0.15 + 0.05 + 0.2 * (1 - 0.1)  # .83
    raw_up = [t_up, a_up, r_up, w_up, 0.30 * 0.6 * 0]
    raw_down = [t_down, a_down, r_down, w_down, 0.04]
    # T: clip up to .95; .95 + .23 = 1.18 > .95 -> both times .95 / 1.18; then down := 0 at T = 0
    t_up_final = 0.95 * 0.95 / (0.95 + 0.23)  # .764830...
    up = [t_up_final, 0.0, 0.0, 0.0, 0.0]  # A5, R4, W2, X2 are top levels
    down = [0.0, 0.53, 0.082, 0.83, 0.04]
    _check_moves(p, state, action, 0, raw_up, raw_down, up, down)
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0.7 * 0.9 * 4 / 4) * (1 - 0.3 * 2 / 2) * (1 - 0.1 * 2 / 2)  # .79021
    S = 1 - (0 / 3) * (1 - shield) - (0.15 + 0.35 * 0 / 3)  # .85
    aut = 0.6 * 5 / 5 + 0.4 * (1 - 0.12 * 3 - 0.15 * 1 - 0.12 * 2)  # .7
    econ = 0.4 * 0.9 * 4 / 4 + 0.4 * 2 / 2 + 0.2 * 2 / 2  # .96
    _check_reward(p, state, action, S, aut, econ, bonus=0.15 * 0.4 * (3 / 3 + 1) / 2,
                  troop=0.25 * (1 - 0.4), basing=0.0, dipl=0.01)


# --------------------------------------------------------------------------- case 3
def test_case3_patron_crisis_mediation_and_rescale_of_autonomy():
    """phase3, s = (3, T3, A3, R2, W0, X1), a = (m2, k0, g2, d1): mediation opening .6; with
    M = 1, A's up + down = .96 > .95 is rescaled."""
    p = make_params("phase3")
    state, action = (3, 3, 3, 2, 0, 1), (2, 0, 2, 1)
    assert model.mediation_prob(*_one(state, action), p)[0] == pytest.approx(0.6 * 1 * 1 * 1 * 1, abs=TOL)
    # mediation is off if any condition fails: k = 1, or m = 3, or R = 1, or d = 0
    for s2, a2 in [((3, 3, 3, 2, 0, 1), (2, 1, 2, 1)), ((3, 3, 3, 2, 0, 1), (3, 0, 2, 1)),
                   ((3, 3, 3, 1, 0, 1), (2, 0, 2, 1)), ((3, 3, 3, 2, 0, 1), (2, 0, 2, 0))]:
        assert model.mediation_prob(*_one(s2, a2), p)[0] == 0.0
    t_up = 0.05 + 0.25 * 0 + 0.04 * 3 + 0.35 * 0 + 0.10 * 1 + 0.05 * 0  # .27, removed at T = 3
    t_down = 0.05 + 0.25 * (3 - 2.4) + 0.10 * 0 + 0.04 * 1 + 0.25 * 1  # .49
    a_up = 0.04 * 0 + 0 + 0 + 0.5 * 1 + 0.05 * 0.2  # .51
    a_down = 0.35 * 1 + 0.12 * 0 + 0.10 * 1 + 0.08 * 0 + 0.0  # .45
    r_up = 0.05 + 0.05 * 0.4 + 0.20 * 1 + 0.05 * 1 + 0.08 * 0 + 0.06 * 2 + 0.40 * 1  # m=2 > D=1 -> .84
    r_down = 0.03 + 0.18 * 0 + 0 + 0.04 * 0 + 0.10 * 0 * 0 - 0.02 * 0.4  # .022
    w_up = 0.8 * 0.1 * (0.30 * 0 + 0.05 * 0)  # 0
    w_down = 0.05 + 0.20 * 1 + 0.20 * 0 + 0.15 * 0 + 0.05 * 1 + 0.2 * (1 - 0.1)  # .48, removed at W = 0
    raw_up = [t_up, a_up, r_up, w_up, 0.0]
    raw_down = [t_down, a_down, r_down, w_down, 0.04]
    up = [0.0, 0.51 * 0.95 / 0.96, r_up, 0.0, 0.0]
    down = [t_down, 0.45 * 0.95 / 0.96, r_down, 0.0, 0.04]
    _check_moves(p, state, action, 1, raw_up, raw_down, up, down)
    # M = 0: T falls .24, A rises .01, R rises .44; A's sum .46 is not rescaled
    _check_moves(p, state, action, 0, [t_up, 0.01, r_up - 0.40, w_up, 0.0],
                 [t_down - 0.25, a_down, r_down, w_down, 0.04], [0.0, 0.01, 0.44, 0.0, 0.0],
                 [0.24, 0.45, r_down, 0.0, 0.04])
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0.7 * 0.5 * 2 / 4) * (1 - 0.3 * 0 / 2) * (1 - 0.1 * 1 / 2)  # .294625
    S = 1 - (3 / 3) * (1 - shield) - 0.08 * 3 / 3  # .214625
    aut = 0.6 * 3 / 5 + 0.4 * (1 - 0.12 * 2 - 0.15 * 0 - 0.12 * 2)  # .568
    econ = 0.4 * 0.5 * 2 / 4 + 0.4 * 0 / 2 + 0.2 * 1 / 2  # .2
    _check_reward(p, state, action, S, aut, econ, bonus=0.15 * 0.4 * (2 / 3 + 0) / 2, troop=0.0,
                  basing=0.03 * (1 - 0.4), dipl=0.01)


# --------------------------------------------------------------------------- case 4
def test_case4_war_coercion_far_arc_and_abandonment():
    """war, s = (4, T3, A2, R1, W0, X1), a = (m0, k0, g0, d2): coercion (R <= 1), far-arc
    outreach, abandonment (m < D)."""
    p = make_params("war")
    state, action = (4, 3, 2, 1, 0, 1), (0, 0, 0, 2)
    assert model.mediation_prob(*_one(state, action), p)[0] == 0.0
    t_up = 0.05 + 0.25 * 0 + 0.04 * 3 + 0 + 0 + 0  # .17, removed at T = 3
    t_down = 0.05 + 0.25 * (3 - 2.2) + 0.10 * 0 + 0.04 * 1 + 0.25 * 0  # .29
    a_up = 0.04 * 1 + 0.12 * 0.6 * 1 + 0.08 * 0.8 * 0.1 * 0 + 0.5 * 0 + 0.05 * 0.2  # .122
    coercion = 0.25 * 1 * 1 * (1 - 1 / 4) * (1 - 0.2 / 2)  # .16875
    a_down = 0.35 * 0 + 0.12 * 0 + 0.10 * 0 + 0.08 * 0 + coercion
    r_up = 0.05 + 0.05 * 0.4 + 0.20 * 0 + 0.05 * 0 + 0 + 0.06 * 0 + 0  # .07
    r_down = 0.03 + 0.18 * (2 - 0) * (1 - 0.6 * 0.2) + 0 + 0.04 * 1 + 0.10 * 1 * 1 - 0.02 * 0.4  # .4788
    w_up = 0.8 * 0.1 * (0.30 * 0 + 0.05 * 1)  # .004
    w_down = 0.05 + 0 + 0 + 0 + 0 + 0.2 * (1 - 0.1)  # .23, removed at W = 0
    x_up = 0.30 * 0.6 * 1  # .18
    raw_up, raw_down = [t_up, a_up, r_up, w_up, x_up], [t_down, a_down, r_down, w_down, 0.04]
    _check_moves(p, state, action, 0, raw_up, raw_down, [0.0, a_up, r_up, w_up, x_up],
                 [t_down, a_down, r_down, 0.0, 0.04])
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0.7 * 0.9 * 1 / 4) * (1 - 0.3 * 0 / 2) * (1 - 0.1 * 1 / 2)  # .2796625
    S = 1 - (3 / 3) * (1 - shield) - 0.0
    aut = 0.6 * 2 / 5 + 0.4 * (1 - 0 - 0 - 0)  # .64
    econ = 0.4 * 0.9 * 1 / 4 + 0.4 * 0 / 2 + 0.2 * 1 / 2  # .19
    _check_reward(p, state, action, S, aut, econ, bonus=0.0, troop=0.0, basing=0.0, dipl=0.01)


# --------------------------------------------------------------------------- case 5
def test_case5_war_bandwagon_at_the_floor_security_clipped_to_zero():
    """war, s = (4, T3, A0, R0, W1, X0), a = (m3, k1, g2, d0): S = .235 - .5 < 0 is clipped to 0;
    falls removed at A = R = X = 0, rise removed at T = 3."""
    p = make_params("war")
    state, action = (4, 3, 0, 0, 1, 0), (3, 1, 2, 0)
    t_up = 0.05 + 0 + 0.04 * 3 + 0.35 * 1 + 0 + 0.05 * 1  # .57
    t_down = 0.05 + 0.25 * (3 - 2.2) + 0 + 0 + 0  # .25
    a_up = 0.04 * 0 + 0 + 0 + 0 + 0.05 * 0.2  # .01
    a_down = 0.35 + 0 + 0.10 + 0.08 + 0.25 * 1 * 1 * (1 - 0 / 4) * (1 - 0.2 / 2)  # .755
    r_up = 0.05 + 0.05 * 0.4 + 0.20 * 1 + 0.05 * 1 + 0.08 * 1 + 0.06 * 2 + 0  # .52
    r_down = 0.03 + 0.18 * 0 + 0 + 0 + 0.10 * 0 - 0.02 * 0.4  # .022
    w_up = 0.8 * 0.1 * (0.30 * 0 + 0.05 * 0)  # 0
    w_down = 0.05 + 0.20 + 0.20 + 0.15 + 0.05 + 0.2 * (1 - 0.1)  # .83
    raw_up, raw_down = [t_up, a_up, r_up, w_up, 0.0], [t_down, a_down, r_down, w_down, 0.04]
    _check_moves(p, state, action, 0, raw_up, raw_down, [0.0, 0.01, 0.52, 0.0, 0.0], [0.25, 0.0, 0.0, 0.83, 0.0])
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0) * (1 - 0.3 * 1 / 2) * (1 - 0)  # .235
    assert 1 - (3 / 3) * (1 - shield) - (0.15 + 0.35 * 3 / 3) < 0  # -.265, so S is clipped
    aut = 0.6 * 0 / 5 + 0.4 * (1 - 0.12 * 3 - 0.15 * 1 - 0.12 * 2)  # .1
    econ = 0.4 * 0.9 * 0 / 4 + 0.4 * 1 / 2 + 0.2 * 0 / 2  # .2
    _check_reward(p, state, action, 0.0, aut, econ, bonus=0.15 * 0.4 * (3 / 3 + 1) / 2,
                  troop=0.25 * (1 - 0.4), basing=0.0, dipl=0.0)


def test_sensitivity_multipliers_scale_their_terms():
    """entrapment_scale multiplies trap; deep_cost_scale multiplies A's .35[g=2] (case 2's state)."""
    p = make_params("war", {"entrapment_scale": 2.0, "deep_cost_scale": 0.5})
    s, a = _one((4, 0, 5, 4, 2, 2), (3, 1, 2, 3))
    assert model.reward_terms(s, a, p)["security"][0] == pytest.approx(1 - 0 - 2.0 * 0.15, abs=TOL)
    _, down = model.raw_move_probs(s, a, 0, p)
    assert down[0, 1] == pytest.approx(0.5 * 0.35 + 0.10 + 0.08, abs=TOL)


# --------------------------------------------------------------------------- entry shocks (5.2, 5.4)
def _marginal(p, state, action, t, columns):
    nxt, prob = model.outcomes(np.array([state]), np.array([action]), p, t)
    out: dict[tuple, float] = defaultdict(float)
    for s, q in zip(nxt[0], prob[0]):
        out[tuple(int(s[c]) for c in columns)] += q
    return out


def test_entry_into_phase1_by_hazard_floors_threat_and_resets_west():
    """timeline, s = (0, T0, A4, R3, W2, X0), a = (1, 0, 0, 0), hazard 1/26. Moves use phase 0's
    parameters: T rises with .05 + .25 * .8 = .25; W at the top falls with .05 + .2 (1 - L_0 = 0) = .05."""
    p = make_params("timeline")
    m = _marginal(p, (0, 0, 4, 3, 2, 0), (1, 0, 0, 0), 0, (0, 1, 4))  # phase, T, W
    h = 1 / 26
    expected = {
        # no event: T 0 -> 1 with .25, W 2 -> 1 with .05, no shock
        (0, 0, 2): (1 - h) * 0.75 * 0.95, (0, 0, 1): (1 - h) * 0.75 * 0.05,
        (0, 1, 2): (1 - h) * 0.25 * 0.95, (0, 1, 1): (1 - h) * 0.25 * 0.05,
        # event: T <- max(T, 2) = 2 for certain; W <- 0 with .9, else W as moved
        (1, 2, 0): h * 0.9, (1, 2, 1): h * 0.1 * 0.05, (1, 2, 2): h * 0.1 * 0.95,
    }
    support = {k: v for k, v in m.items() if v > 0}
    assert set(support) == set(expected)
    for key, value in expected.items():
        assert support[key] == pytest.approx(value, abs=TOL), key


def test_calendar_entry_into_phase1_at_t25():
    """calendar, t = 25 (2020Q2) -> 26 is phase 1 for certain. s = (0, T1, A4, R3, W1, X0), a = 0.
    T: up .05 + .04 = .09, down .05 + .25 * (1 - .8) = .10, then floored to 2.
    W (L_0 = 1): up .8 * 1 * (.05 [m<=1][k=0]) = .04, down .05; then W <- 0 with .9."""
    p = make_params("calendar")
    m = _marginal(p, (0, 1, 4, 3, 1, 0), (0, 0, 0, 0), 25, (0, 1, 4))
    assert set(k for k, v in m.items() if v > 0) == {(1, 2, 0), (1, 2, 1), (1, 2, 2)}
    assert m[(1, 2, 0)] == pytest.approx(0.9 + 0.1 * 0.05, abs=TOL)
    assert m[(1, 2, 2)] == pytest.approx(0.1 * 0.04, abs=TOL)
    assert m[(1, 2, 1)] == pytest.approx(0.1 * (1 - 0.04 - 0.05), abs=TOL)


def test_calendar_entry_into_phase2_at_t31_floors_threat_without_west_shock():
    """calendar, t = 31 -> 32 is phase 2. s = (1, T0, A4, R3, W2, X0), a = 0. T (tau_1 = 1.6): up
    .05 + .25 * 1.6 = .45 -> T in {0, 1}, floored to 2. W (L_1 = .1): down .05 + .2 * .9 = .23."""
    p = make_params("calendar")
    m = _marginal(p, (1, 0, 4, 3, 2, 0), (0, 0, 0, 0), 31, (0, 1, 4))
    assert {k for k, v in m.items() if v > 0} == {(2, 2, 2), (2, 2, 1)}
    assert m[(2, 2, 1)] == pytest.approx(0.05 + 0.2 * (1 - 0.1), abs=TOL)


def test_calendar_entry_into_phase3_has_no_shock():
    """calendar, t = 36 -> 37 is phase 3. s = (2, T0, A4, R3, W2, X0): T (tau_2 = 2.6) rises with
    .05 + .25 * 2.6 = .70 and stays at 1 or 0, no floor; W falls with .23, no reset."""
    p = make_params("calendar")
    m = _marginal(p, (2, 0, 4, 3, 2, 0), (0, 0, 0, 0), 36, (0, 1, 4))
    assert m[(3, 1, 2)] + m[(3, 1, 1)] == pytest.approx(0.05 + 0.25 * 2.6, abs=TOL)
    assert m[(3, 0, 1)] + m[(3, 1, 1)] == pytest.approx(0.05 + 0.2 * 0.9, abs=TOL)
    assert sum(v for k, v in m.items() if k[0] != 3) == 0.0


def test_timeline_phase1_to_phase2_by_hazard():
    """timeline, s = (1, T0, ...), hazard 1/6: Pr(phase 2) = 1/6, and then T = 2."""
    p = make_params("timeline")
    m = _marginal(p, (1, 0, 4, 3, 1, 0), (1, 0, 1, 0), 5, (0, 1))
    assert m[(2, 2)] == pytest.approx(1 / 6, abs=TOL)
    assert m[(1, 0)] + m[(1, 1)] == pytest.approx(5 / 6, abs=TOL)
    # T from 0 with tau_1 = 1.6, m = 1: up .05 + .25 * 1.6 = .45
    assert m[(1, 1)] == pytest.approx(5 / 6 * 0.45, abs=TOL)


def test_no_phase_event_in_phase4_or_in_stationary_scenarios():
    for name, state in [("timeline", (4, 1, 2, 2, 1, 1)), ("phase2", (2, 1, 2, 2, 1, 1))]:
        ph_if, prob = model.phase_event(np.array([state]), 0, make_params(name))
        assert prob[0] == 0.0
