"""The patron game's exact solvers (docs/model.md section 11) against the single-agent solver, each
other and the definitions: best responses, profile values, NashConv, commitments, the MPE search."""

from __future__ import annotations

import numpy as np
import pytest

from agents.game.best_response import best_response, nash_conv
from agents.game.commitment import best_commitment, commitment_table, committed
from agents.game.equilibrium import search_mpe
from agents.game.operator import game_operator, pure
from agents.solver import solve
from envs.scenarios import make_params

pytestmark = pytest.mark.xdist_group("game")


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


@pytest.fixture(scope="module")
def table(op):
    return pure(np.full(op.rows.size, op.table_patron), 24)


def test_the_game_with_the_table_patron_is_the_single_agent_optimum(op, table):
    sol = solve(op.params)
    br = best_response(op, "small_state", table)
    assert np.array_equal(br.policy, sol.policy[0, op.rows])
    assert np.abs(br.values - sol.values[0, op.rows]).max() < 1e-10


def test_a_commitment_solved_as_an_override_is_the_best_response_to_that_constant_patron(op):
    table = commitment_table(op.params)
    for a in (0, 8, 13, 23):
        br = best_response(op, "small_state", pure(np.full(op.rows.size, a), 24))
        assert br.values[op.s0] == pytest.approx(table[a].value_small, abs=1e-9)
        assert br.other_values[op.s0] == pytest.approx(table[a].value_patron, abs=1e-9)
        assert solve(committed(op.params, (a,) * 5)).value == pytest.approx(table[a].value_small, abs=1e-12)


def test_the_patrons_best_response_beats_every_constant_action_in_every_state(op):
    pi_s = pure(solve(op.params).policy[0, op.rows], 96)
    br = best_response(op, "patron", pi_s)
    for a in range(24):
        _, v_p = op.evaluate(pi_s, pure(np.full(op.rows.size, a), 24))
        assert np.all(br.values >= v_p - 1e-9)


def test_nashconv_is_zero_for_the_small_state_at_its_best_response_and_never_negative(op, table):
    br = best_response(op, "small_state", table)
    nc = nash_conv(op, pure(br.policy, 96), table)
    assert np.all(nc.per_state >= -1e-9)
    assert np.abs(nc.small_br.values - nc.v_small).max() < 1e-9  # the small state cannot gain
    assert nc.max == pytest.approx(np.abs(nc.patron_br.values - nc.v_patron).max(), abs=1e-9)


def test_the_patrons_commitment_is_the_one_with_the_highest_value(op):
    table = commitment_table(op.params)
    assert len(table) == 24
    best = best_commitment(table)
    assert best.value_patron == max(c.value_patron for c in table)


def test_a_short_mpe_search_returns_its_best_certificate(op):
    res = search_mpe(op, lambdas=(1.0, 4.0), rounds=2, inner=2, final_lambda=8.0, final_rounds=2, final_every=1,
                     polish_rounds=2)
    assert [c.get("averaged") for c in res.curve] == [None, None, 1, 2, None, None]
    assert [c.get("polished") for c in res.curve] == [None, None, None, None, 1, 2]
    assert res.nashconv_max == min(c["nashconv_max"] for c in res.curve)
    again = nash_conv(op, res.pi_small, res.pi_patron)
    assert again.max == pytest.approx(res.nashconv_max, abs=1e-12)


@pytest.mark.parametrize("policy, words", [
    (np.full((1080, 24), 0.05), "must sum to 1"),
    (np.full((1080, 23), 1 / 23), "of shape (1080, 23) is not allowed"),
    (np.full(1080, 24), "flat actions in 0..23"),
])
def test_a_bad_mixed_policy_is_one_line(op, policy, words):
    with pytest.raises(ValueError) as err:
        best_response(op, "small_state", policy)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_game_solvers_refuse_a_scenario_whose_phase_moves():
    with pytest.raises(ValueError, match="scenario='calendar' is not allowed"):
        game_operator(make_params("calendar"))
    with pytest.raises(ValueError, match="not allowed for the commitment table"):
        commitment_table(make_params("timeline"))


def test_the_game_on_one_block_imports_neither_the_env_nor_pydantic():
    """The exact solvers' import path stays light (their memory, benchmarks/game_speed.py --memory):
    no env class, vector env kernels, scenario files or ranges (pydantic), no homotopy (scipy.linalg),
    no Gymnasium (the ids are registered when it is imported); and building the game's operator builds
    no table only the env reads (the entry shock's, 0.9 MB)."""
    import subprocess
    import sys

    code = ("import sys, agents.game.best_response, agents.game.commitment; from envs.scenarios import make_params; "
            "from agents.game.operator import GameOperator; from envs.tables import after_shock; "
            "GameOperator(make_params('war')); heavy = {'pydantic', 'envs.env', 'envs.vector_env', 'envs.scenario_file', "
            "'agents.game.homotopy', 'scipy.linalg', 'gymnasium'}; "
            "print(sorted(heavy & set(sys.modules)), after_shock.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[] 0"
