"""The game's E[V] factorised over R's move and its compiled move mixture (agents/game/factored.py)
against the definitions in ``envs.model``: every (s, a_S, a_P) checked on a sample of rows."""

from __future__ import annotations

import numpy as np
import pytest

from agents.bellman import NEIGHBOURS
from agents.game.operator import game_operator
from envs import model
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES

pytestmark = pytest.mark.xdist_group("game")


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


def _sample(op, n, rng):
    """n random (state on the block, a_S, a_P) rows, half of them with an a_S that can mediate there."""
    s = rng.integers(0, op.rows.size, n)
    can = op._p_med > 0
    a = rng.integers(0, 96, n)
    for i in range(0, n, 2):  # every other row: an action that can mediate in its state, if the state has one
        opts = np.flatnonzero(can[s[i]])
        if opts.size:
            a[i] = rng.choice(opts)
    return s, a, rng.integers(0, 24, n)


def _direct(op, s, a, b, v):
    """E[V(s')] of rows (s, a_S, a_P) by envs.model: each M's product moves on V's neighbours, mixed over M."""
    states, acts, pats = ALL_STATES[op.rows[s]], ALL_ACTIONS[a], model.ALL_PATRON_ACTIONS[b]
    e = [np.einsum("nk,nk->n", model.move_distribution(*model.move_probs(states, acts, m, op.params, pats)),
                   v[NEIGHBOURS[s]]) for m in (0, 1)]
    pm = model.mediation_prob(states, acts, op.params)
    return (1.0 - pm) * e[0] + pm * e[1]


def test_expect_and_q_values_are_the_models_expectation_on_a_random_v(op):
    rng = np.random.default_rng(7)
    v = rng.normal(size=(2, op.rows.size)) * 5.0
    s, a, b = _sample(op, 400, rng)
    e = op.expect(v)
    assert e.shape == (2, op.rows.size, 96, 24)
    for k in (0, 1):
        assert np.abs(e[k][s, a, b] - _direct(op, s, a, b, v[k])).max() < 1e-12
    assert np.array_equal(op.expect(v[1]), e[1])
    q_s, q_p = op.q_values(v[0], v[1])
    assert np.abs(q_s - (op.game.reward_small + op.gamma * e[0])).max() < 1e-12
    assert np.abs(q_p - (op.game.reward_patron + op.gamma * e[1])).max() < 1e-12


def test_folded_expectations_are_the_full_ones_summed_over_the_others_policy(op):
    rng = np.random.default_rng(8)
    v = rng.normal(size=op.rows.size)
    pi_s, pi_p = rng.random((op.rows.size, 96)), rng.random((op.rows.size, 24))
    pi_s[pi_s < 0.6] = 0.0  # zero weights are skipped: the sum must not change
    e = op.expect(v)
    assert np.abs(op.expect_folded(v, "small_state", pi_p) - np.einsum("sap,sp->sa", e, pi_p)).max() < 1e-12
    assert np.abs(op.expect_folded(v, "patron", pi_s) - np.einsum("sap,sa->sp", e, pi_s)).max() < 1e-12


def test_profile_moves_are_the_models_mixture_of_the_profiles_branches(op):
    rng = np.random.default_rng(9)
    pi_s, pi_p = rng.random((op.rows.size, 96)), rng.random((op.rows.size, 24))
    pi_s[pi_s < 0.8] = 0.0
    pi_s[:, 5] += 0.1
    pi_s, pi_p = pi_s / pi_s.sum(1, keepdims=True), pi_p / pi_p.sum(1, keepdims=True)
    got = op.profile_moves(pi_s, pi_p)
    for s in rng.integers(0, op.rows.size, 12):  # envs.model on every (a_S, a_P, M) branch of the state
        states = np.repeat(ALL_STATES[op.rows[[s]]], 96 * 24, axis=0)
        acts, pats = np.repeat(ALL_ACTIONS, 24, axis=0), np.tile(model.ALL_PATRON_ACTIONS, (96, 1))
        pm = model.mediation_prob(states, acts, op.params)
        w = np.outer(pi_s[s], pi_p[s]).ravel()
        want = sum(model.move_distribution(*model.move_probs(states, acts, m, op.params, pats)).T
                   @ (w * (pm if m else 1.0 - pm)) for m in (0, 1))
        assert np.abs(got[s] - want).max() < 1e-14
    assert np.abs(got.sum(axis=1) - 1.0).max() < 1e-13


def test_the_rewards_held_by_sigma_are_the_models_over_every_patron_action(op):
    rng = np.random.default_rng(10)
    s, a, b = _sample(op, 500, rng)
    states, acts, pats = ALL_STATES[op.rows[s]], ALL_ACTIONS[a], model.ALL_PATRON_ACTIONS[b]
    terms = model.reward_terms(states, acts, op.params, pats)
    assert np.array_equal(op.game.reward_small[s, a, b], terms["reward"])
    assert np.array_equal(op.game.reward_patron[s, a, b], model.patron_reward(states, acts, pats, op.params, terms))


def test_a_reward_that_reads_the_patrons_demand_is_refused(monkeypatch):
    from envs import game_tables

    plain = model.patron_reward
    monkeypatch.setattr(game_tables.model, "patron_reward",
                        lambda states, actions, patron, p, terms=None: plain(states, actions, patron, p, terms) + 0.01 * patron[:, 0])
    with pytest.raises(ValueError, match="u_P reads the patron's D or IP"):
        game_tables.check_rewards_read_sigma_only.__wrapped__(make_params("war"), 4)
