"""The SB3 adapter: SB3's VecEnv semantics (same-step autoreset with terminal_observation), seeding,
and PPO / A2C / DQN training on it directly (tiny runs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO

from envs.sb3_vec_env import AllianceSB3VecEnv
from envs.spaces import decode_observations
from envs.vector_env import AllianceVectorEnv

torch.set_num_threads(1)
START_TIMELINE = (0, 1, 4, 3, 1, 0)


class RecordingVecEnv(AllianceSB3VecEnv):
    """Keeps every action SB3 sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[np.ndarray] = []

    def step_async(self, actions):
        self.sent.append(np.array(actions, copy=True))
        super().step_async(actions)


def test_truncation_resets_in_the_same_step_with_terminal_observation():
    env = AllianceSB3VecEnv(3, scenario="timeline", seed=0)
    env.set_options({"t": 42})
    obs = env.reset()
    assert obs.shape == (3, 27) and np.allclose(obs[:, 26], 42 / 44)
    actions = np.zeros((3, 4), dtype=np.int64)
    obs, rewards, dones, infos = env.step(actions)
    assert not dones.any() and infos == [{}, {}, {}]
    obs, rewards, dones, infos = env.step(actions)
    assert dones.tolist() == [True, True, True] and rewards.dtype == np.float32 and np.all(rewards != 0)
    # the Gymnasium vector env with the same seed returns the final observations in that step
    reference = AllianceVectorEnv(3, scenario="timeline")
    reference.reset(seed=0, options={"t": 42})
    reference.step(actions)
    final, *_ = reference.step(actions)
    for i in range(3):
        assert infos[i]["TimeLimit.truncated"] is True
        terminal = infos[i]["terminal_observation"]
        assert terminal[26] == 1.0 and np.array_equal(terminal, final[i])
        assert tuple(decode_observations(obs[i])[0][0]) == START_TIMELINE and obs[i, 26] == 0.0
    obs, rewards, dones, infos = env.step(actions)  # the fresh episodes go on
    assert not dones.any() and np.allclose(obs[:, 26], 1 / 44)


def test_seeded_resets_repeat():
    def run(seed):
        env = AllianceSB3VecEnv(4, scenario="war")
        env.seed(seed)
        out = [env.reset()]
        rng = np.random.default_rng(0)
        for _ in range(30):
            obs, r, d, _ = env.step(rng.integers(0, [4, 2, 3, 4], size=(4, 4)))
            out += [obs, r]
        return out

    a, b, c = run(3), run(3), run(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_vecenv_attribute_methods_and_bad_actions():
    env = AllianceSB3VecEnv(2, scenario="war", flatten_actions=True, seed=1)
    assert env.get_attr("horizon") == [80, 80] and env.get_attr("horizon", indices=[1]) == [80]
    assert env.env_is_wrapped(object) == [False, False]
    env.set_attr("horizon", 80)
    results = env.env_method("action_indices", np.array([1, 95]))  # the flat env takes indices
    assert len(results) == 2 and all(r.tolist() == [1, 95] for r in results)
    masks = env.env_method("action_masks")  # one row per env, as MaskablePPO stacks them
    assert len(masks) == 2 and all(m.shape == (96,) and m.all() for m in masks)
    env.reset()
    with pytest.raises(ValueError, match=r"actions\[0\]=96"):
        env.step(np.array([96, 0]))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.array([[0, 0, 0, 0], [0, 0, 0, 0]]))


def test_ppo_trains_on_it_with_valid_actions():
    env = RecordingVecEnv(4, scenario="war", seed=0)
    PPO("MlpPolicy", env, n_steps=16, batch_size=32, n_epochs=1, seed=0).learn(64)
    sent = np.stack(env.sent)
    assert sent.shape == (16, 4, 4)
    assert np.all((sent >= 0) & (sent < np.array([4, 2, 3, 4])))


def test_a2c_and_dqn_train_on_it():
    env = RecordingVecEnv(2, scenario="timeline", seed=0)
    A2C("MlpPolicy", env, n_steps=5, seed=0).learn(20)
    assert np.stack(env.sent).shape == (10, 2, 4)
    env = RecordingVecEnv(2, scenario="war", flatten_actions=True, seed=0)
    DQN("MlpPolicy", env, learning_starts=8, buffer_size=200, train_freq=2, seed=0).learn(32)
    sent = np.stack(env.sent)
    assert sent.shape == (16, 2) and np.all((sent >= 0) & (sent < 96))
