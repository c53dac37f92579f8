"""Environment misuse (issue 7): ``step`` before ``reset``, a wrong-shaped action, an action of the
wrong dtype or out of range end in a clear ``ValueError`` or Gymnasium's own error, never in a silent
wrong step: after a refused action the env is exactly where it was (state, t, random stream)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import Error as GymError
from gymnasium.error import ResetNeeded
from malformed import record

import envs  # noqa: F401 - registers SmallStateAlliance-v0
from envs.env import SmallStateAllianceEnv
from envs.sb3_vec_env import AllianceSB3VecEnv
from envs.vector_env import AllianceVectorEnv
from envs.wrappers import FlattenActions

GOOD = np.array([1, 0, 1, 2])
BAD_ACTIONS = {
    "float array": np.array([1.0, 0.0, 1.0, 2.0]),
    "float32 array": np.array([1, 0, 1, 2], dtype=np.float32),
    "bool array": np.array([True, False, True, False]),
    "object array": np.array([1, 0, 1, 2], dtype=object),
    "nan": np.full(4, np.nan),
    "too long": np.array([1, 0, 1, 2, 0]),
    "too short": np.array([1, 0, 1]),
    "batched": np.array([[1, 0, 1, 2]]),
    "scalar": np.int64(5),
    "negative": np.array([-1, 0, 1, 2]),
    "m out of range": np.array([4, 0, 1, 2]),
    "d out of range": np.array([1, 0, 1, 4]),
    "huge unsigned": np.array([2**63, 0, 1, 2], dtype=np.uint64),
    "list of floats": [1.0, 0, 1, 2],
    "list with a bool": [True, 0, 1, 2],
    "tuple too short": (1, 0, 1),
    "string": "1012",
    "none": None,
    "dict": {"m": 1, "k": 0, "g": 1, "d": 2},
    "ragged": [[1, 0], [1]],
}


def same_state(a: SmallStateAllianceEnv, b: SmallStateAllianceEnv) -> bool:
    return a.state == b.state and a.t == b.t


@pytest.mark.parametrize("make", ["class", "gym.make"])
def test_single_env_step_before_reset(make):
    env = SmallStateAllianceEnv() if make == "class" else gym.make("SmallStateAlliance-v0")
    with pytest.raises(ResetNeeded):
        env.step(GOOD)


def test_single_env_step_after_truncation():
    env = SmallStateAllianceEnv(overrides={"horizon": 2})
    env.reset(seed=0)
    env.step(GOOD)
    *_, truncated, _ = env.step(GOOD)
    assert truncated
    with pytest.raises(ResetNeeded, match="truncated at t=2"):
        env.step(GOOD)


@pytest.mark.parametrize("make", ["class", "gym.make"])
@pytest.mark.parametrize("name", list(BAD_ACTIONS))
def test_single_env_refuses_bad_actions_without_moving(make, name):
    build = (lambda: SmallStateAllianceEnv()) if make == "class" else (lambda: gym.make("SmallStateAlliance-v0"))
    env, twin = build(), build()
    env.reset(seed=3)
    twin.reset(seed=3)
    env.step(GOOD)
    twin.step(GOOD)
    with pytest.raises(ValueError) as info:
        env.step(BAD_ACTIONS[name])
    message = str(info.value)
    record("env_misuse", "\n" in message or "action" not in message)
    assert "\n" not in message and message.startswith("action") and "m in 0..3" in message
    # nothing moved, and the random stream was not drawn from: the next step is the twin's
    base, base_twin = env.unwrapped, twin.unwrapped
    assert same_state(base, base_twin)
    a, b = env.step(GOOD), twin.step(GOOD)
    assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4])) and a[4] == b[4] and same_state(base, base_twin)


@pytest.mark.parametrize("action", [1.0, 96, -1, np.array([1]), True, np.bool_(True), "3", None])
def test_flattened_env_refuses_bad_indices(action):
    env = FlattenActions(SmallStateAllianceEnv())
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"is not allowed: an integer in 0..95"):
        env.step(action)


# ----------------------------------------------------------------------------------- vector env
def batch(action, n: int = 3):
    if isinstance(action, np.ndarray):
        return np.broadcast_to(action, (n, *action.shape)).copy()
    return [action] * n


@pytest.mark.parametrize("name", list(BAD_ACTIONS))
def test_vector_env_refuses_bad_actions_without_moving(name):
    env, twin = AllianceVectorEnv(3), AllianceVectorEnv(3)
    env.reset(seed=5)
    twin.reset(seed=5)
    with pytest.raises(ValueError) as info:
        env.step(batch(BAD_ACTIONS[name]))
    message = str(info.value)
    record("env_misuse", "\n" in message or not message.startswith("actions"))
    assert "\n" not in message and message.startswith("actions")
    assert np.array_equal(env.states, twin.states) and np.array_equal(env.t, twin.t)
    a, b = env.step(batch(GOOD)), twin.step(batch(GOOD))
    assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4]))


def test_vector_env_shape_must_match_num_envs():
    env = AllianceVectorEnv(3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*shape \(3, 4\)"):
        env.step(np.zeros((2, 4), dtype=np.int64))


def test_vector_env_step_before_reset():
    with pytest.raises(ResetNeeded, match="before reset"):
        AllianceVectorEnv(2).step(np.zeros((2, 4), dtype=np.int64))


@pytest.mark.parametrize("options,words", [
    ({"t": [1, 2]}, "options.t"), ({"t": 80}, "options.t=80"), ({"t": 1.5}, "options.t=1.5"),
    ({"state": [[1, 2, 3]] * 3}, "options.state[0]"), ({"state": {"phase": 9}}, "options.state"),
    ({"colour": 1}, "options key 'colour'"), ("t=3", "options='t=3'"),
])
def test_reset_options_misuse(options, words):
    env = AllianceVectorEnv(3)
    with pytest.raises(ValueError) as info:
        env.reset(seed=0, options=options)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seeds_are_gymnasiums_error(seed):
    with pytest.raises(GymError, match="Seed must be"):
        SmallStateAllianceEnv().reset(seed=seed)
    with pytest.raises(GymError, match="Seed must be"):
        AllianceVectorEnv(2).reset(seed=seed)


@pytest.mark.parametrize("kwargs,words", [
    ({"num_envs": 0}, "num_envs=0"), ({"num_envs": 2.0}, "num_envs=2.0"), ({"num_envs": True}, "num_envs=True"),
    ({"num_envs": 2, "scenario": "mars"}, "scenario='mars'"), ({"num_envs": 2, "overrides": 5}, "overrides=5"),
    ({"num_envs": 2, "overrides": {"power": float("nan")}}, "power=nan"),
    ({"num_envs": 2, "params": "war"}, "params='war'"), ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps=0"),
])
def test_construction_misuse(kwargs, words):
    with pytest.raises(ValueError) as info:
        AllianceVectorEnv(**kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------------------------- SB3 adapter
@pytest.mark.parametrize("name", list(BAD_ACTIONS))
def test_sb3_adapter_refuses_bad_actions_without_moving(name):
    env, twin = AllianceSB3VecEnv(3, seed=7), AllianceSB3VecEnv(3, seed=7)
    env.reset()
    twin.reset()
    with pytest.raises(ValueError, match="^actions"):
        env.step(batch(BAD_ACTIONS[name]))
    a, b = env.step(batch(GOOD)), twin.step(batch(GOOD))
    assert all(np.array_equal(x, y) for x, y in zip(a[:3], b[:3]))


@pytest.mark.parametrize("actions,words", [
    (np.array([1.0, 2.0, 3.0]), "dtype float64"), (np.array([96, 0, 1]), "actions[0]=96 is out of range"),
    (np.array([0, -1, 1]), "actions[1]=-1"), (np.array([[1], [2], [3]]), "shape (3, 1)"),
    (np.array([True, False, True]), "dtype bool"), ([1, 2], "shape (2,)"),
])
def test_sb3_adapter_flattened_refuses_bad_indices(actions, words):
    env = AllianceSB3VecEnv(3, flatten_actions=True, seed=0)
    env.reset()
    with pytest.raises(ValueError) as info:
        env.step(actions)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_sb3_adapter_step_before_reset_and_wait_without_async():
    env = AllianceSB3VecEnv(2)
    with pytest.raises(ResetNeeded):
        env.step(np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(RuntimeError, match="without step_async"):
        env.step_wait()
