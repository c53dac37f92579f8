"""The vector env: spaces, agreement with the single env (exactly at N = 1, in distribution at
large N), next-step autoreset, reset options, info, seeding and bad input."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from scipy import stats

from envs import model
from envs.env import SmallStateAllianceEnv
from envs.spaces import decode_observations
from envs.vector_env import AllianceVectorEnv

START_WAR = (4, 2, 4, 3, 1, 0)
START_TIMELINE = (0, 1, 4, 3, 1, 0)


def test_spaces_and_metadata():
    venv = AllianceVectorEnv(5, scenario="calendar")
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert venv.single_action_space == gym.spaces.MultiDiscrete([4, 2, 3, 4])
    assert venv.action_space.shape == (5, 4)
    assert venv.single_observation_space == gym.spaces.Box(0, 1, (27,), np.float32)
    assert venv.observation_space.shape == (5, 27)
    obs, info = venv.reset(seed=0)
    assert obs.dtype == np.float32 and venv.observation_space.contains(obs)
    assert info["t"].tolist() == [0] * 5 and not info["mediated"].any()  # reset's info: step's keys, no event
    assert AllianceVectorEnv(2).single_observation_space.shape == (26,)


@pytest.mark.parametrize("name", ["war", "calendar", "timeline"])
def test_one_env_vector_equals_the_single_env_exactly(name):
    """Both draw eight uniforms per step from the same seeded generator, so with N = 1 the
    trajectories coincide within an episode."""
    single, venv = SmallStateAllianceEnv(name), AllianceVectorEnv(1, scenario=name)
    o1, _ = single.reset(seed=77)
    o2, _ = venv.reset(seed=77)
    actions = np.random.default_rng(3).integers(0, [4, 2, 3, 4], size=(single.horizon, 4))
    assert np.array_equal(o1, o2[0])
    for a in actions:
        o1, r1, te1, tr1, info1 = single.step(a)
        o2, r2, te2, tr2, info2 = venv.step(a[None])
        assert np.array_equal(o1, o2[0]) and r1 == r2[0] and (te1, tr1) == (te2[0], tr2[0])
        for key in ("mediated", "phase_changed", "threat_floor", "west_reset"):
            assert info1[key] == info2[key][0]
    assert tr1


def test_vector_and_single_env_agree_in_distribution():
    """State after 10 steps of timeline under a fixed action sequence: many single-env episodes
    against one batch, two-sample chi-square (rare states pooled)."""
    n = 4000
    actions = np.random.default_rng(8).integers(0, [4, 2, 3, 4], size=(10, 4))
    single = SmallStateAllianceEnv("timeline", overrides={"hazard": 0.2})  # phase changes are common
    single.reset(seed=1)
    counts_single: Counter = Counter()
    for _ in range(n):
        single.reset()
        for a in actions:
            single.step(a)
        counts_single[single.state] += 1
    def batch_counts(hazard):
        venv = AllianceVectorEnv(n, scenario="timeline", overrides={"hazard": hazard})
        venv.reset(seed=2)
        for a in actions:
            venv.step(np.tile(a, (n, 1)))
        return Counter(map(tuple, venv.states.tolist()))

    def p_value(counts_a, counts_b):
        keys = sorted(set(counts_a) | set(counts_b), key=lambda k: counts_a[k] + counts_b[k])
        table, rare = [], np.zeros(2)
        for k in keys:
            row = np.array([counts_a[k], counts_b[k]])
            if row.sum() < 10:
                rare += row
            else:
                table.append(row)
        table.append(rare)
        assert len(table) > 20  # many distinct states
        return stats.chi2_contingency(np.array(table)).pvalue

    counts_vector = batch_counts(0.2)
    assert len({s[0] for s in counts_vector}) >= 3  # several phases reached
    assert p_value(counts_single, counts_vector) > 0.001
    assert p_value(counts_single, batch_counts(0.3)) < 1e-6  # the comparison detects a change of hazard

@pytest.mark.parametrize("name", ["war", "calendar"])
def test_same_seed_same_trajectory(name):
    actions = np.random.default_rng(0).integers(0, [4, 2, 3, 4], size=(100, 16, 4))

    def run(seed):
        venv = AllianceVectorEnv(16, scenario=name)
        out = [venv.reset(seed=seed)[0]]
        for a in actions:
            obs, r, _, tr, info = venv.step(a)
            out += [obs, r, tr, info["mediated"]]
        return out

    a, b, c = run(5), run(5), run(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_next_step_autoreset():
    venv = AllianceVectorEnv(3, scenario="calendar", render_mode="ansi")
    venv.reset(seed=0, options={"t": [42, 0, 43]})
    act = np.zeros((3, 4), dtype=np.int64)
    obs, reward, terminated, truncated, info = venv.step(act)
    assert truncated.tolist() == [False, False, True] and not terminated.any()
    assert obs[2, 26] == 1.0  # t / horizon = 44 / 44 in the final observation
    obs, reward, terminated, truncated, info = venv.step(act)
    assert truncated.tolist() == [True, False, False]
    # env 2 was reset: the start state at t = 0, reward 0, no events
    assert tuple(decode_observations(obs[2])[0][0]) == START_TIMELINE and obs[2, 26] == 0.0
    assert reward[2] == 0.0 and info["t"].tolist() == [44, 2, 0]
    assert not info["mediated"][2] and not info["phase_changed"][2] and info["threat_floor"][2] == 0
    assert reward[0] != 0.0 and reward[1] != 0.0
    lines = venv.render()
    assert lines[2] == "2014Q1 | P0 hedging era: T1 A4 R3 W1 X0 | start" and lines[0].startswith("2024Q4 |")
    obs, reward, _, truncated, info = venv.step(act)
    assert info["t"].tolist() == [0, 3, 1] and not truncated.any()
    assert tuple(venv.states[0]) == START_TIMELINE


def test_rewards_and_events_are_those_of_the_model():
    venv = AllianceVectorEnv(64, scenario="timeline", overrides={"hazard": 0.3})
    venv.reset(seed=4)
    rng = np.random.default_rng(4)
    for _ in range(20):
        before = venv.states
        actions = rng.integers(0, [4, 2, 3, 4], size=(64, 4))
        _, reward, _, _, info = venv.step(actions)
        after = venv.states
        np.testing.assert_array_equal(reward, model.reward(before, actions, venv.params))
        np.testing.assert_array_equal(info["phase_changed"], after[:, 0] != before[:, 0])
        np.testing.assert_array_equal(info["threat_floor"] > 0, info["phase_changed"] & np.isin(after[:, 0], [1, 2]))
        assert np.all(after[info["threat_floor"] > 0, 1] >= 2)
        assert np.all(after[info["west_reset"], 4] == 0)
        for key in ("t", "mediated", "phase_changed", "threat_floor", "west_reset"):
            assert info[key].shape == (64,) and info["_" + key].all()


def test_reset_options():
    venv = AllianceVectorEnv(3)
    venv.reset(seed=0, options={"state": {"phase": 4, "threat": 0, "autonomy": 5, "trust": 4, "west": 2,
                                          "fararc": 2}})
    assert venv.states.tolist() == [[4, 0, 5, 4, 2, 2]] * 3
    rows = [(4, 0, 0, 0, 0, 0), (3, 1, 1, 1, 1, 1), (0, 3, 5, 4, 2, 2)]
    obs, _ = venv.reset(options={"state": rows, "t": [0, 5, 79]})
    assert venv.states.tolist() == [list(r) for r in rows] and venv.t.tolist() == [0, 5, 79]
    assert [tuple(s) for s in decode_observations(obs)[0]] == rows
    venv.reset()
    assert venv.states.tolist() == [list(START_WAR)] * 3 and venv.t.tolist() == [0, 0, 0]


def _one_line_error(fn, *needles):
    with pytest.raises(ValueError) as err:
        fn()
    msg = str(err.value)
    assert "\n" not in msg and all(n in msg for n in needles), msg


def test_bad_input():
    _one_line_error(lambda: AllianceVectorEnv(0), "num_envs", "0")
    _one_line_error(lambda: AllianceVectorEnv(2, scenario="nope"), "scenario", "'nope'")
    _one_line_error(lambda: AllianceVectorEnv(2, overrides={"identification": 1.5}), "identification", "1.5")
    venv = AllianceVectorEnv(2)
    venv.reset(seed=0)
    _one_line_error(lambda: venv.step(np.array([[0, 0, 0, 0], [0, 0, 3, 0]])), "actions[1]", "[0, 0, 3, 0]")
    _one_line_error(lambda: venv.step(np.array([[0, 0, 0, 0], [0, -1, 0, 0]])), "actions[1]", "-1")
    _one_line_error(lambda: venv.step(np.zeros((3, 4), dtype=np.int64)), "actions", "(3, 4)")
    _one_line_error(lambda: venv.step(np.zeros((2, 4))), "actions", "float64")
    _one_line_error(lambda: venv.reset(options={"state": [(4, 0, 0, 0, 0, 9), (4, 0, 0, 0, 0, 0)]}),
                    "options.state[0].fararc", "9")
    _one_line_error(lambda: venv.reset(options={"t": 80}), "options.t", "80")
    _one_line_error(lambda: venv.reset(options={"t": [1, 2, 3]}), "options.t", "[1, 2, 3]")
    assert venv.t.tolist() == [0, 0]


def test_render_ansi():
    venv = AllianceVectorEnv(2, scenario="war", render_mode="ansi")
    venv.reset(seed=0)
    assert venv.render() == ("t=00 | P4 protracted war: T2 A4 R3 W1 X0 | start",) * 2
    venv.step(np.array([[3, 1, 2, 0], [0, 0, 0, 1]]))
    lines = venv.render()
    assert lines[0].startswith("t=00 | P4 protracted war: T2 A4 R3 W1 X0 | a=(3, 1, 2, 0) combat troops")
    assert "offer mediation" in lines[1]


@pytest.mark.parametrize("name", ["war", "calendar"])
def test_the_compiled_step_is_the_python_step(name):
    """``Tables.step_indices`` (envs.model.step_index compiled over N states by numba) gives, state
    by state, what the same function gives run as Python, draws on the probability edges included."""
    from envs.scenarios import make_params
    from envs.tables import MED_KEYS, MOVE_KEYS, PHASE_OF, Tables

    tb = Tables(make_params(name))
    tb.ensure(range(5))
    rng = np.random.default_rng(3)
    n = 3000
    index, action, t = rng.integers(0, 5400, n), rng.integers(0, 96, n), rng.integers(0, 44, n)
    u = rng.random((n, 8))
    keys = MOVE_KEYS[index] + (2 * action)[:, None]
    u[:500, 2] = tb.up[keys[:500, 0]]  # u == Pr(up): no move up
    u[500:1000, 4] = 1.0 - tb.down[keys[500:1000, 2]]  # u == 1 - Pr(down): a move down
    nxt, ev = tb.step_indices(index, action, t, u)
    up, down, after = tb.up.tolist(), tb.down.tolist(), tb.after_shock.tolist()
    for i in range(n):
        s, a = int(index[i]), int(action[i])
        row = min(int(t[i]), tb.event_target.shape[0] - 1)
        ph = int(PHASE_OF[s])
        expected = model.step_index(s, ph, float(tb.p_med[MED_KEYS[s] + a]), up, down, tuple(keys[i].tolist()),
                                    int(tb.event_target[row, ph]), float(tb.event_prob[row, ph]),
                                    tb.p_west.tolist(), after, u[i].tolist())
        got = (int(nxt[i]), bool(ev["mediated"][i]), bool(ev["phase_changed"][i]), bool(ev["west_reset"][i]),
               int(ev["threat_floor"][i]))
        assert got == expected, i


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64, np.uint64])
def test_compiled_action_encoding_is_envs_spaces_encoding(dtype):
    """envs.kernel.encode_actions (the vector env's check and flat index in one pass) agrees with
    envs.spaces.encode_actions on every joint action, and finds the first bad row."""
    from envs.kernel import encode_actions as compiled
    from envs.spaces import ACTION_NVEC, ALL_ACTIONS
    from envs.spaces import encode_actions as reference

    actions = ALL_ACTIONS.astype(dtype)
    index, bad = compiled(actions, ACTION_NVEC)
    assert bad == -1 and index.tolist() == reference(ALL_ACTIONS).tolist()
    broken = actions.copy()
    broken[[7, 40], 2] = 3  # g = 3 is out of range
    assert compiled(broken, ACTION_NVEC)[1] == 7
