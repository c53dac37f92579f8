"""The strategic patron in envs.model (docs/model.md section 11): the table patron gives back the
single-agent model bit for bit, the patron's action reaches only R's moves and the rewards, and
u_P is the formula of section 11."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from envs import model
from envs.game_tables import patron_block
from envs.params import AllianceParams
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES
from envs.tables import build_tables

RNG = np.random.default_rng(11)
S = ALL_STATES[RNG.integers(0, len(ALL_STATES), 3000)]
A = ALL_ACTIONS[RNG.integers(0, len(ALL_ACTIONS), 3000)]
P = model.ALL_PATRON_ACTIONS[RNG.integers(0, 24, 3000)]


@pytest.mark.parametrize("scenario", ["war", "calendar", "alt_open"])
def test_the_table_patron_written_out_gives_the_single_agent_numbers_bit_for_bit(scenario):
    p = make_params(scenario)
    table = np.stack([np.array(p.demand)[S[:, 0]], np.array(p.pressure)[S[:, 0]], np.full(len(S), 2)], axis=1)
    for med in (0, 1):
        for x, y in zip(model.move_probs(S, A, med, p), model.move_probs(S, A, med, p, table)):
            assert np.array_equal(x, y)
    assert np.array_equal(model.reward(S, A, p), model.reward(S, A, p, table))


def test_only_rs_moves_read_the_patron_and_its_fall_gains_a_tenth_per_level_of_withdrawn_support():
    p = make_params("war")
    for med in (0, 1):
        up0, down0 = model.raw_move_probs(S, A, med, p, np.tile([2, 1, 2], (len(S), 1)))
        up1, down1 = model.raw_move_probs(S, A, med, p, P)
        others = [0, 1, 3, 4]  # T, A, W, X
        assert np.array_equal(up0[:, others], up1[:, others]) and np.array_equal(down0[:, others], down1[:, others])
        same_d_ip = (P[:, 0] == 2) & (P[:, 1] == 1)
        assert np.allclose(down1[same_d_ip, 2] - down0[same_d_ip, 2], 0.10 * (2 - P[same_d_ip, 2]), atol=1e-15)
    assert np.array_equal(model.mediation_prob(S, A, p), model.mediation_prob(S, A, p))


def test_withdrawn_support_is_a_patron_of_zero_capacity_in_the_small_states_reward():
    p = make_params("war")
    withdrawn = np.column_stack([P[:, :2], np.zeros(len(P), dtype=np.int64)])
    zero_kappa = p.with_overrides({"capacity": 0.0})
    assert np.allclose(model.reward(S, A, p, withdrawn), model.reward(S, A, zero_kappa), atol=1e-15)


def test_the_patrons_reward_is_section_11s_formula():
    p = make_params("war").with_overrides({"patron_weights": [0.3, 0.15, 0.05, 0.2, 0.2, 0.05, 0.05, 0.15]})
    state, action, patron = np.array([[4, 3, 2, 1, 2, 1]]), np.array([[2, 1, 2, 3]]), np.array([[3, 0, 1]])
    tau, kappa = 2.2, 0.9 * 1 / 2
    shield = 1 - (1 - 0.5 * 0.2) * (1 - 0.7 * kappa * 1 / 4) * (1 - 0.3 * 2 / 2) * (1 - 0.1 * 1 / 2)
    security = min(max(1 - (3 / 3) * (1 - shield) - 0.08 * 3 / 3, 0.0), 1.0)
    expected = (0.30 * (tau / 3) * (2 / 3) + 0.15 * 1 + 0.05 * 2 + 0.20 * (1 - 2 / 5) + 0.20 * security - 0.05 * 2
                - 0.05 * 1 - 0.15 * (1 / 2) * (1.5 - 0.9))
    assert model.patron_reward(state, action, patron, p)[0] == pytest.approx(expected, abs=1e-14)


def test_the_games_tables_hold_the_single_agent_tables_in_the_table_patrons_column():
    p = make_params("war")
    game, single = patron_block(p, 4), build_tables(p)
    column = (2 * 2 + 1) * 3 + 2  # (D, IP, sigma) = (2, 1, 2), war's table
    up, down = single.move_table("R", 4)
    assert np.array_equal(game.r_up[:, :, :, column], up.reshape(4, 5, 96, 2))
    assert np.array_equal(game.r_down[:, :, :, column], down.reshape(4, 5, 96, 2))
    assert np.array_equal(game.reward_small[:, :, column], single.reward_block(4))


@pytest.mark.parametrize("field, value, words", [
    ("support", (2, 2, 3, 2, 2), "support[2]=3 is not allowed"),
    ("patron_weights", (0.3,) * 7, "patron_weights=(0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3) is not allowed: 8 numbers"),
    ("patron_weights", (0.3,) * 7 + (1.5,), "patron_weights[7]=1.5 is not allowed"),
])
def test_a_patron_parameter_out_of_range_is_one_line(field, value, words):
    with pytest.raises(ValueError, match=None) as err:
        dataclasses.replace(AllianceParams(), **{field: value})
    assert words in str(err.value) and "\n" not in str(err.value)
