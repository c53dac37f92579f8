"""The per-state decomposition (agents/decompose.py) against the solver's Q*, and its errors."""

import numpy as np
import pytest

from agents.decompose import FAMILIES, explain_state
from agents.solver import q_values, solve
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, encode_actions, encode_states
from envs.tables import build_tables

STATE = "phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1"


@pytest.mark.parametrize("scenario,state,t", [
    ("war", STATE, 0),
    ("war", {"phase": 4, "threat": 3, "autonomy": 1, "trust": 1, "west": 2, "fararc": 0}, 0),
    pytest.param("timeline", (1, 2, 4, 2, 0, 0), 27, marks=pytest.mark.slow),
])
def test_values_are_the_solvers(scenario, state, t):
    p = make_params(scenario)
    e = explain_state(p, state, t)
    s = tuple(e.state.values())
    idx = int(encode_states(np.array([s]))[0])
    sol = solve(p)
    row = t if p.finite_horizon else 0
    q = q_values(sol, row)[idx]  # the solver's Q*, over all 96 actions
    reward = build_tables(p).reward.reshape(-1, 96)[idx]
    assert e.value == pytest.approx(q.max(), abs=1e-9)
    assert encode_actions(np.array([e.optimal.action]))[0] == sol.complete().policy[row, idx]
    for family, (var, level) in FAMILIES.items():
        best = e.best[family]
        assert best.action[var] == level
        members = ALL_ACTIONS[:, var] == level
        assert best.q == pytest.approx(q[members].max(), abs=1e-12)
        a = int(encode_actions(np.array([best.action]))[0])
        assert best.reward == pytest.approx(reward[a], abs=1e-15)
        gap = e.gaps[family]
        assert gap.gap >= -1e-12
        assert sum(gap.reward_parts.values()) + gap.continuation == pytest.approx(gap.gap, abs=1e-12)
        assert gap.continuation == pytest.approx((q[e_opt(e)] - reward[e_opt(e)]) - (q[a] - reward[a]), abs=1e-12)


def e_opt(e):
    return int(encode_actions(np.array([e.optimal.action]))[0])


@pytest.mark.parametrize("state,fragment", [
    ("phase=5,threat=2,autonomy=3,trust=3,west=0,fararc=1", "state.phase=5"),
    ("phase=4,threat=2,autonomy=6,trust=3,west=0,fararc=1", "state.autonomy=6"),
    ("phase=4,threat=-1,autonomy=3,trust=3,west=0,fararc=1", "state.threat=-1"),
    ("phase=4,threat=2,autonomy=3,trust=3,west=0", "missing fararc"),
    ("phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1,extra=1", "unknown variable 'extra'"),
    ("phase=4,threat=two,autonomy=3,trust=3,west=0,fararc=1", "state.threat='two'"),
    ("phase=4,phase=4,threat=2,autonomy=3,trust=3,west=0", "once each"),
    ({"phase": 4}, "missing threat"),
    ([4, 2, 3], "six integers"),
])
def test_bad_state_is_one_line(state, fragment):
    with pytest.raises(ValueError) as info:
        explain_state(make_params("war"), state)
    assert "\n" not in str(info.value) and fragment in str(info.value) and "not allowed" in str(info.value)


@pytest.mark.parametrize("t", [-1, 80, 1.5, True])
def test_bad_quarter_is_one_line(t):
    with pytest.raises(ValueError, match=r"^t=.* is not allowed: an integer in 0\.\.79"):
        explain_state(make_params("war"), STATE, t)
