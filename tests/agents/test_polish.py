"""The support polish of the patron game's MPE search (agents/game/polish.py, docs/model.md section 11):
its move rows against the profile kernel, Newton's method on supports against exact evaluation, its
Jacobian against finite differences, its one-shot violations against exact best responses, the stage
support enumeration on small games with known equilibria, and a wrong support found and fixed."""

from __future__ import annotations

import numpy as np
import pytest

from agents.game.best_response import nash_conv
from agents.game.kernels import pair_moves
from agents.game.operator import game_operator, pure
from agents.game.polish import Supports, Triples, _system, polish, solve_on_supports, stage_nash, violations
from envs.scenarios import make_params

pytestmark = pytest.mark.xdist_group("game")


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


def _myopic(op) -> np.ndarray:
    """The small state's best action now against the table patron: a pure policy, not an equilibrium."""
    return np.argmax(op.game.reward_small[:, :, op.table_patron], axis=1)


def _mixed_supports(op, rng) -> tuple[Supports, np.ndarray, np.ndarray]:
    """Two small-state and two patron actions in every state, random probabilities on them."""
    n = op.rows.size
    a = np.stack([rng.choice(96, 2, replace=False) for _ in range(n)])
    b = np.stack([rng.choice(24, 2, replace=False) for _ in range(n)])
    pi_s, pi_p = np.zeros((n, 96)), np.zeros((n, 24))
    w = rng.uniform(0.2, 0.8, size=(n, 2))
    pi_s[np.arange(n)[:, None], a] = np.column_stack([w[:, 0], 1 - w[:, 0]])
    pi_p[np.arange(n)[:, None], b] = np.column_stack([w[:, 1], 1 - w[:, 1]])
    return Supports.of(pi_s, pi_p, 1e-9), pi_s, pi_p


def test_pair_moves_are_the_profile_kernels_rows(op):
    rng = np.random.default_rng(0)
    sup, pi_s, pi_p = _mixed_supports(op, rng)
    states = np.array([0, 17, 400, 1079, 17])
    acts = np.stack([np.flatnonzero(pi_s[s]) for s in states])
    rows = pair_moves(op, states, acts, pi_s[states[:, None], acts], pi_p[states])
    assert np.abs(rows - op.profile_moves(pi_s, pi_p)[states]).max() < 1e-14
    scaled = pair_moves(op, states, acts, pi_s[states[:, None], acts], 3.0 * pi_p[states])  # linear in the weights
    assert np.abs(scaled - 3.0 * rows).max() < 1e-13


def test_newton_on_pure_supports_gives_the_profiles_exact_values(op):
    n = op.rows.size
    pi_s, pi_p = pure(_myopic(op), 96), pure(np.full(n, op.table_patron), 24)
    v_s, v_p = op.evaluate(pi_s, pi_p)
    sup = Supports.of(pi_s, pi_p, 0.5)
    rng = np.random.default_rng(1)
    got_s, got_p, x_s, x_p, err = solve_on_supports(op, sup, v_s + rng.normal(size=n), v_p - 1.0, pi_s, pi_p)
    assert err < 1e-11
    assert np.abs(got_s - v_s).max() < 1e-10 and np.abs(got_p - v_p).max() < 1e-10
    assert np.abs(x_s - 1.0).max() < 1e-12 and np.abs(x_p - 1.0).max() < 1e-12


def test_the_jacobian_on_mixed_supports_agrees_with_finite_differences(op):
    rng = np.random.default_rng(2)
    sup, pi_s, pi_p = _mixed_supports(op, rng)
    tr = Triples(op, sup)
    v = rng.normal(size=op.rows.size) + 5.0
    x = pi_p[sup.patron[:, 0], sup.patron[:, 1]]
    res, jac = _system(tr, sup, 0, v, x)
    du = rng.normal(size=jac.shape[1])
    eps = 1e-6
    plus = _system(tr, sup, 0, v + eps * du[:v.size], x + eps * du[v.size:])[0]
    minus = _system(tr, sup, 0, v - eps * du[:v.size], x - eps * du[v.size:])[0]
    linear = jac @ du
    assert jac.shape[0] == jac.shape[1]  # two actions each in every state: square
    assert np.abs((plus - minus) / (2 * eps) - linear).max() < 1e-7 * np.abs(linear).max()


def test_one_shot_gains_are_bounded_by_the_exact_best_responses_and_flag_a_non_equilibrium(op):
    n = op.rows.size
    pi_s, pi_p = pure(_myopic(op), 96), pure(np.full(n, op.table_patron), 24)
    v_s, v_p = op.evaluate(pi_s, pi_p)
    sup = Supports.of(pi_s, pi_p, 0.5)
    viol = violations(op, sup, v_s, v_p, np.ones(n), np.ones(n))
    nc = nash_conv(op, pi_s, pi_p)
    assert np.all(viol.gain_s <= nc.small_br.values - v_s + 1e-10)
    assert np.all(viol.gain_p <= nc.patron_br.values - v_p + 1e-10)
    assert nc.max > 1e-3 and viol.states.size > 0 and viol.worst > 1e-3


def _pennies_with_a_dominated_action() -> tuple[np.ndarray, np.ndarray]:
    """Matching pennies on actions 0, 1 of both players; each one's action 2 is strictly dominated."""
    q_s = np.array([[1.0, -1.0, 2.0], [-1.0, 1.0, 2.0], [-3.0, -3.0, -3.0]])  # rows: the small state's actions
    q_p = np.array([[-1.0, 1.0, -3.0], [1.0, -1.0, -3.0], [2.0, 2.0, -3.0]])
    return q_s, q_p


def test_stage_enumeration_finds_the_mixed_equilibrium_and_rejects_a_wrong_support():
    q_s, q_p = _pennies_with_a_dominated_action()
    ref = np.full(3, 1 / 3)
    i_set, j_set, x, y = stage_nash(q_s, q_p, np.arange(3), np.arange(3), ref, ref)
    assert i_set.tolist() == [0, 1] and j_set.tolist() == [0, 1]
    assert np.allclose(x, 0.5) and np.allclose(y, 0.5)
    assert stage_nash(q_s, q_p, np.array([0, 2]), np.array([0, 2]), ref, ref) is None


def test_stage_enumeration_takes_the_equilibrium_nearest_the_reference():
    coordination = np.array([[2.0, 0.0], [0.0, 1.0]])
    for ref, pure_pair in ((np.array([0.9, 0.1]), 0), (np.array([0.1, 0.9]), 1)):
        i_set, j_set, x, y = stage_nash(coordination, coordination, np.arange(2), np.arange(2), ref, ref)
        assert i_set.tolist() == [pure_pair] and j_set.tolist() == [pure_pair]


@pytest.mark.slow
def test_the_polish_finds_and_fixes_wrong_supports():
    """patron_weights all 0: every patron policy is a best response, so the table patron with the small
    state's optimum is an MPE. From that profile with 24 states' actions made wrong, the polish must
    detect them and end at the exact MPE nearest its start: the optimum itself, the table patron kept."""
    from agents.solver import solve

    params = make_params("war", {"patron_weights": [0.0] * 8})
    op = game_operator(params)
    n = op.rows.size
    sol = solve(params)
    optimum = sol.policy[0, op.rows]
    wrong = optimum.copy()
    wrong[::45] = (optimum[::45] + 7) % 96
    start = (pure(wrong, 96), pure(np.full(n, op.table_patron), 24))
    assert nash_conv(op, *start).max > 1e-3
    res = polish(op, *start, max_rounds=30)
    assert res.curve[1]["failing"] > 0  # the wrong supports are seen
    assert res.exact and res.certificate.max <= 1e-9
    assert res.certificate.max == pytest.approx(nash_conv(op, res.pi_small, res.pi_patron).max, abs=1e-12)
    assert np.array_equal(res.pi_small.argmax(axis=1), optimum) and np.all(res.pi_patron[:, op.table_patron] == 1.0)
    assert res.certificate.v_small[op.s0] == pytest.approx(sol.value, abs=1e-9)


@pytest.mark.slow
def test_the_polish_returns_its_best_certified_profile_never_worse_than_its_start(op):
    n = op.rows.size
    start = (pure(_myopic(op), 96), pure(np.full(n, op.table_patron), 24))
    res = polish(op, *start, max_rounds=3)
    again = nash_conv(op, res.pi_small, res.pi_patron)
    assert res.certificate.max == pytest.approx(again.max, abs=1e-12)
    assert res.certificate.max <= res.curve[0]["nashconv_max"] == pytest.approx(nash_conv(op, *start).max, abs=1e-12)
    assert res.certificate.max == min(c["nashconv_max"] for c in res.curve if "nashconv_max" in c)
