"""The single env: API checkers, equivalence with the table step, info, reset options, episode
end, rendering, seeding, bad input and registration."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from envs import model
from envs.env import INFO_TERMS, SmallStateAllianceEnv
from envs.info import STATE_KEYS
from envs.scenarios import make_params, scenario_names
from envs.spaces import N_ACTIONS, STATE_VARS, decode_observations, encode_actions, encode_states
from envs.tables import build_tables
from envs.vector_env import AllianceVectorEnv
from envs.wrappers import FlattenActions

NAMES = scenario_names()
WRAPPED_NOTE = "is different from the unwrapped version"


def _run_checkers(env_fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = env_fn()
        check_env(env.unwrapped if not isinstance(env, gym.Wrapper) else env, skip_render_check=True)
        sb3_check_env(env_fn(), warn=True)
    return [str(w.message) for w in caught if WRAPPED_NOTE not in str(w.message)]


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_and_sb3_checkers_pass(name):
    assert _run_checkers(lambda: SmallStateAllianceEnv(name)) == []
    assert _run_checkers(lambda: FlattenActions(SmallStateAllianceEnv(name))) == []


# --------------------------------------------------------------------------- the step itself
@pytest.mark.parametrize("name", NAMES)
def test_step_equals_the_table_step_for_the_same_uniforms(name):
    """The one-state step returns what TransitionTables.step returns for the same eight uniforms:
    next state, events and the table reward of (s, a)."""
    env = SmallStateAllianceEnv(name)
    tables = build_tables(env.params)
    rng = np.random.default_rng(2024)
    env.reset(seed=3)
    replay = copy.deepcopy(env.np_random)  # the env takes its generator's uniforms 8 a step, in order
    for i in range(1000):
        if i % 20 == 0 or env.t >= env.horizon:  # restart anywhere, at any date
            state = tuple(int(rng.integers(0, n)) for n in (5, 4, 6, 5, 3, 3))
            if rng.random() < 0.5:  # often in phase 0, so that entries into phase 1 (W shock) occur
                state = (0,) + state[1:]
            env.reset(options={"state": state, "t": int(rng.integers(0, env.horizon))})
        before = np.array([env.state])
        t = env.t
        action = rng.integers(0, [4, 2, 3, 4])
        obs, reward, _, _, info = env.step(action)
        u = replay.random((1, model.N_UNIFORMS))
        a_idx = encode_actions(action[None])
        nxt, events = tables.step(before, encode_states(before), a_idx, t, u)
        assert env.state == tuple(nxt[0].tolist())
        for key in ("mediated", "phase_changed", "threat_floor", "west_reset"):
            assert info[key] == events[key][0].item(), key
        assert reward == tables.reward[encode_states(before)[0] * N_ACTIONS + a_idx[0]]


def test_info_terms_are_those_of_the_state_before_the_step():
    env = SmallStateAllianceEnv("phase3")
    rng = np.random.default_rng(5)
    env.reset(seed=11)
    w_s, w_a, w_e = 0.5, 0.35, 0.15
    for _ in range(80):
        before = env.state
        action = rng.integers(0, [4, 2, 3, 4])
        _, reward, _, _, info = env.step(action)
        terms = model.reward_terms(np.array([before]), action[None], env.params)
        for key in INFO_TERMS:
            assert info[key] == terms[key][0]
        # section 6 from the reported terms
        ces = (w_s * math.sqrt(info["security"]) + w_a * math.sqrt(info["autonomy"])
               + w_e * math.sqrt(info["economy"])) ** 2
        expected = ces + info["identity_bonus"] - info["troop_cost"] - info["basing_cost"] - info["diplomacy_cost"]
        assert reward == pytest.approx(expected, abs=1e-12)
        assert isinstance(reward, float)
        assert type(info["mediated"]) is bool and type(info["west_reset"]) is bool
        assert type(info["phase_changed"]) is bool and type(info["threat_floor"]) is int


def test_events_in_info_match_the_state_change():
    """calendar from t = 25: the step enters phase 1, floors T at 2 (section 5.4)."""
    env = SmallStateAllianceEnv("calendar")
    seen_reset = seen_kept = False
    for seed in range(60):
        env.reset(seed=seed, options={"state": (0, 0, 4, 3, 2, 0), "t": 25})
        _, _, _, _, info = env.step(np.array([0, 0, 0, 0]))
        assert info["phase_changed"] is True and info["threat_floor"] == 2
        assert info["state_phase"] == 1 and info["state_threat"] == 2
        if info["west_reset"]:
            assert info["state_west"] == 0
            seen_reset = True
        else:
            seen_kept = True
        _, _, _, _, info = env.step(np.array([0, 0, 0, 0]))  # t = 26 -> 27: still phase 1
        assert info["phase_changed"] is False and info["threat_floor"] == 0 and info["west_reset"] is False
    assert seen_reset and seen_kept  # W <- 0 with probability .9, so both appear in 60 tries


# --------------------------------------------------------------------------- reset, episode end
def test_default_start_states_are_those_of_section_7():
    war, phase1 = SmallStateAllianceEnv("war"), SmallStateAllianceEnv("phase1")
    war.reset(seed=0)
    phase1.reset(seed=0)
    assert war.state_vars == dict(zip(STATE_VARS, (4, 2, 4, 3, 1, 0)))
    assert phase1.state_vars == dict(zip(STATE_VARS, (1, 2, 4, 3, 1, 0)))
    for name in ("timeline", "calendar"):
        obs, info = SmallStateAllianceEnv(name).reset(seed=0)
        assert {k: info[k] for k in (*STATE_KEYS, "t")} == {
            **{f"state_{v}": x for v, x in zip(STATE_VARS, (0, 1, 4, 3, 1, 0))}, "t": 0}
        assert obs.shape == (27,) and obs[26] == 0.0


def test_reset_from_any_state_and_date():
    env = SmallStateAllianceEnv("calendar")
    state = {"phase": 2, "threat": 3, "autonomy": 0, "trust": 4, "west": 2, "fararc": 1}
    obs, info = env.reset(seed=1, options={"state": state, "t": 33})
    assert {k: info[k] for k in (*STATE_KEYS, "t")} == {**{f"state_{v}": x for v, x in state.items()}, "t": 33}
    states, frac = decode_observations(obs)
    assert tuple(states[0]) == (2, 3, 0, 4, 2, 1)
    assert frac[0] == pytest.approx(33 / 44)
    # one-hot layout of section 2: phase 0-4, T 5-8, A 9-14, R 15-19, W 20-22, X 23-25
    assert np.flatnonzero(obs[:26]).tolist() == [2, 5 + 3, 9 + 0, 15 + 4, 20 + 2, 23 + 1]
    obs, info = env.reset(options={"state": [4, 0, 5, 0, 0, 2]})
    assert env.state == (4, 0, 5, 0, 0, 2) and env.t == 0


@pytest.mark.parametrize("name,horizon", [("war", 80), ("calendar", 44), ("timeline", 44)])
def test_never_terminates_and_truncates_at_the_horizon(name, horizon):
    env = SmallStateAllianceEnv(name)
    env.reset(seed=0)
    flags = []
    for _ in range(horizon):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        flags.append((terminated, truncated))
    assert flags == [(False, False)] * (horizon - 1) + [(False, True)]
    assert info["t"] == horizon
    with pytest.raises(ResetNeeded, match="call reset"):
        env.step(np.array([0, 0, 0, 0]))


def test_step_before_reset_is_a_clear_error():
    with pytest.raises(ResetNeeded, match="before reset"):
        SmallStateAllianceEnv().step(np.array([0, 0, 0, 0]))
    with pytest.raises(ResetNeeded):
        gym.make("SmallStateAlliance-v0").step(np.array([0, 0, 0, 0]))


# --------------------------------------------------------------------------- render
def test_render_ansi_one_line_per_quarter():
    env = SmallStateAllianceEnv("calendar", render_mode="ansi")
    env.reset(seed=0, options={"t": 25})
    assert env.render().startswith("2020Q2 | P0 hedging era: T1 A4 R3 W1 X0 | start")
    _, reward, _, _, info = env.step(np.array([1, 0, 0, 2]))
    line = env.render()
    assert "\n" not in line
    assert line.startswith("2020Q2 | P0 hedging era: T1 A4 R3 W1 X0 | a=(1, 0, 0, 2) political support;")
    assert "far-arc outreach" in line and f"r={reward:+.4f}" in line
    assert line.endswith(f"-> P1 regime crisis: T2 A{info['state_autonomy']} R{info['state_trust']} "
                         f"W{info['state_west']} X{info['state_fararc']}")
    env.reset(options={"t": 43})
    env.step(np.array([0, 0, 0, 0]))
    assert env.render().startswith("2024Q4 |")
    war = SmallStateAllianceEnv("war", render_mode="ansi")
    war.reset(seed=0, options={"t": 7})
    war.step(np.array([3, 1, 2, 0]))
    assert war.render().startswith("t=07 | P4 protracted war: T2 A4 R3 W1 X0 | a=(3, 1, 2, 0) combat troops;")
    with pytest.warns(UserWarning, match="without a render_mode"):
        assert SmallStateAllianceEnv("war").render() is None


# --------------------------------------------------------------------------- seeding
def _trajectory(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs.tolist()]
    for a in actions:
        obs, r, _, truncated, info = env.step(a)
        out.append((obs.tolist(), r, info))
        if truncated:
            env.reset()
    return out


@pytest.mark.parametrize("name", ["war", "timeline", "calendar"])
def test_same_seed_same_trajectory(name):
    actions = np.random.default_rng(0).integers(0, [4, 2, 3, 4], size=(200, 4))
    a = _trajectory(SmallStateAllianceEnv(name), 42, actions)
    b = _trajectory(gym.make("SmallStateAlliance-v0", scenario=name), 42, actions)
    c = _trajectory(SmallStateAllianceEnv(name), 43, actions)
    assert a == b
    assert a != c


# --------------------------------------------------------------------------- bad input
def _one_line_error(fn, *needles):
    with pytest.raises(ValueError) as err:
        fn()
    msg = str(err.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def test_bad_input_raises_one_line_errors_naming_field_and_value():
    _one_line_error(lambda: SmallStateAllianceEnv("atlantis"), "scenario", "'atlantis'")
    _one_line_error(lambda: SmallStateAllianceEnv(overrides={"identification": 1.5}), "identification", "1.5")
    _one_line_error(lambda: SmallStateAllianceEnv(overrides={"hazard": -0.1}), "hazard", "-0.1")
    _one_line_error(lambda: SmallStateAllianceEnv(overrides={"start": (4, 9, 4, 3, 1, 0)}), "start.threat", "9")
    _one_line_error(lambda: SmallStateAllianceEnv(overrides={"power": float("nan")}), "power", "nan")
    _one_line_error(lambda: SmallStateAllianceEnv(overrides={"colour": 1}), "colour")
    _one_line_error(lambda: SmallStateAllianceEnv(params={"war": 1}), "params")
    env = SmallStateAllianceEnv("calendar")
    state = {"phase": 0, "threat": 7, "autonomy": 4, "trust": 3, "west": 1, "fararc": 0}
    _one_line_error(lambda: env.reset(options={"state": state}), "options.state.threat", "7")
    _one_line_error(lambda: env.reset(options={"state": (0, 1, 2)}), "options.state", "(0, 1, 2)")
    _one_line_error(lambda: env.reset(options={"t": 44}), "options.t", "44", "0..43")
    _one_line_error(lambda: env.reset(options={"t": -1}), "options.t", "-1")
    _one_line_error(lambda: env.reset(options={"start": 3}), "options", "'start'")
    env.reset(seed=0)
    _one_line_error(lambda: env.step(np.array([4, 0, 0, 0])), "action", "4, 0, 0, 0", "m in 0..3")
    _one_line_error(lambda: env.step(np.array([0, 0, 0, -1])), "action", "-1")
    _one_line_error(lambda: env.step(np.array([0.0, 0.0, 0.0, 1.0])), "action", "float64")
    _one_line_error(lambda: env.step(np.zeros((2, 4), dtype=np.int64)), "action", "(2, 4)")
    _one_line_error(lambda: env.step(7), "action", "7")
    _one_line_error(lambda: env.step([0, 2, 0, 0]), "action", "[0, 2, 0, 0]", "k in 0..1")
    assert env.t == 0  # nothing was stepped
    env.step([1, 0, 1, 2])  # a list of four ints is accepted
    flat = FlattenActions(SmallStateAllianceEnv())
    flat.reset(seed=0)
    _one_line_error(lambda: flat.step(96), "action", "96", "0..95")
    _one_line_error(lambda: flat.step(1.0), "action", "1.0")


# --------------------------------------------------------------------------- wrappers, registration
def test_flatten_actions_uses_the_flat_index_of_section_10():
    wrapper = FlattenActions(SmallStateAllianceEnv())
    assert wrapper.action_space == gym.spaces.Discrete(96)
    for m in range(4):
        for k in range(2):
            for g in range(3):
                for d in range(4):
                    assert wrapper.action(((m * 2 + k) * 3 + g) * 4 + d).tolist() == [m, k, g, d]
    # stepping through the wrapper is stepping the raw env with the decoded action
    raw, flat = SmallStateAllianceEnv("timeline"), FlattenActions(SmallStateAllianceEnv("timeline"))
    raw.reset(seed=9)
    flat.reset(seed=9)
    for i in np.random.default_rng(1).integers(0, 96, 44):
        m, k, g, d = i // 24, i // 12 % 2, i // 4 % 3, i % 4
        o1, r1, *_ = raw.step(np.array([m, k, g, d]))
        o2, r2, *_ = flat.step(int(i))
        assert np.array_equal(o1, o2) and r1 == r2


def test_registration():
    env = gym.make("SmallStateAlliance-v0", scenario="calendar")
    assert isinstance(env.unwrapped, SmallStateAllianceEnv)
    assert env.unwrapped.params.name == "calendar" and env.observation_space.shape == (27,)
    # the registered TimeLimit(80) of stationary episodes; calendar ends itself at its 44th step first
    assert env.spec.max_episode_steps == 80
    assert [w._max_episode_steps for w in _wrapper_chain(env) if isinstance(w, gym.wrappers.TimeLimit)] == [80]
    assert env.unwrapped.max_episode_steps == 44
    assert gym.make("SmallStateAlliance-v0").unwrapped.params.name == "war"
    venv = gym.make_vec("SmallStateAlliance-v0", num_envs=8, vectorization_mode="vector_entry_point",
                        scenario="timeline")
    assert isinstance(venv, AllianceVectorEnv) and venv.num_envs == 8
    assert venv.params.name == "timeline" and venv.single_observation_space.shape == (27,)
    assert gym.make_vec("SmallStateAlliance-v0", num_envs=2,
                        vectorization_mode="vector_entry_point").params.name == "war"
    assert envs.make_params is make_params and envs.AllianceVectorEnv is AllianceVectorEnv


def _wrapper_chain(env):
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


def test_import_envs_does_not_import_torch_or_sb3():
    code = ("import sys, envs, gymnasium as gym; gym.make('SmallStateAlliance-v0'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'stable_baselines3'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pickled_env_is_small_and_continues_the_same_trajectory():
    """The tables are not shipped (rebuilt or shared from the cache on unpickling): a pickled env
    is small, and the copy steps exactly as the original from the same state and generator."""
    import pickle

    env = SmallStateAllianceEnv("timeline")
    env.reset(seed=4, options={"state": (2, 1, 3, 2, 0, 1), "t": 5})
    env.step(np.array([1, 0, 1, 2]))
    blob = pickle.dumps(env)
    assert len(blob) < 1_000_000
    copy_env = pickle.loads(blob)
    rng = np.random.default_rng(9)
    for _ in range(30):
        action = rng.integers(0, [4, 2, 3, 4])
        a, b = env.step(action), copy_env.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4] and a[4] == b[4]
