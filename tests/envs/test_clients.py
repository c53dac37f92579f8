"""The env through real clients, called the way their users call them (a few hundred steps each):
SB3 (``PPO("MlpPolicy", id)``, ``make_vec_env`` with ``SubprocVecEnv``), Gymnasium's vector envs,
wrappers and checker. RL Zoo, CleanRL and TorchRL are run by hand (README, "Use it from your RL
library"): they are not dependencies of the project."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import RecordEpisodeStatistics, TimeLimit

import envs
from envs.info import STATE_KEYS, STEP_KEYS
from envs.spaces import decode_actions

IDS = [envs.ENV_ID, envs.DISCRETE_ENV_ID]


def episode_lengths(env, steps: int, seed: int = 0) -> list[int]:
    """Lengths of the episodes that end within ``steps`` random steps of a single env."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    lengths, n = [], 0
    for _ in range(steps):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        n += 1
        assert not terminated  # the world goes on
        if truncated:
            lengths.append(n)
            n = 0
            env.reset()
    return lengths


def test_sb3_ppo_from_the_id_string():
    """SB3 makes the env itself, with render_mode="rgb_array" (it falls back only on TypeError)."""
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", envs.ENV_ID, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256
    venv = model.get_env()
    assert venv.render_mode == "rgb_array"
    (frame,) = venv.get_images()
    assert frame.shape == (320, 512, 3) and frame.dtype == np.uint8
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (1, 4) and venv.action_space.contains(action[0])


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_make_vec_env_subprocess(env_id):
    """SubprocVecEnv's workers start fresh (forkserver): the module:id form imports envs there."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = make_vec_env(f"envs:{env_id}", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        obs = venv.reset()
        assert obs.shape == (2, 26)
        ends = []
        for step in range(1, 161):
            obs, reward, done, infos = venv.step(np.array([venv.action_space.sample() for _ in range(2)]))
            for i in np.flatnonzero(done):
                ends.append(step)
                assert infos[i]["TimeLimit.truncated"] is True and infos[i]["episode"]["l"] == 80
                assert infos[i]["terminal_observation"].shape == (26,)
        assert ends == [80, 80, 160, 160]  # the registered 80-step episodes of `war`
        frames = venv.get_images()  # make_vec_env's render_mode="rgb_array"
        assert len(frames) == 2 and all(f.shape == (320, 512, 3) for f in frames)
    finally:
        venv.close()


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_async_equals_sync_and_vector_entry_point(env_id):
    """The same seed and actions give the same trajectory through every vectorization mode."""
    runs = {}
    for mode in ("async", "sync", "vector_entry_point"):
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, max_episode_steps=30)
        venv.action_space.seed(1)
        rng = np.random.default_rng(1)
        if env_id == envs.DISCRETE_ENV_ID:
            actions = rng.integers(0, 96, size=(100, 2))
        else:
            actions = decode_actions(rng.integers(0, 96, size=200)).reshape(100, 2, 4)
        obs, _ = venv.reset(seed=[5, 6] if mode != "vector_entry_point" else 5)
        out = []
        for a in actions:
            obs, reward, terminated, truncated, info = venv.step(a)
            out.append((obs.copy(), truncated.copy()))
        venv.close()
        runs[mode] = out
        truncated_at = [i + 1 for i, (_, tr) in enumerate(out) if tr.any()]
        assert truncated_at == [30, 61, 92]  # 30 steps, then the autoreset step, as Gymnasium's next-step mode
    for (o1, t1), (o2, t2) in zip(runs["async"], runs["sync"]):
        assert np.array_equal(o1, o2) and np.array_equal(t1, t2)


def test_async_info_has_one_array_per_flat_key():
    venv = gym.make_vec(envs.ENV_ID, num_envs=2, vectorization_mode="async")
    venv.reset(seed=0)
    _, _, _, _, info = venv.step(np.zeros((2, 4), dtype=np.int64))
    venv.close()
    for key in STEP_KEYS:
        assert info[key].shape == (2,) and info["_" + key].all(), key
    assert set(info[STATE_KEYS[0]].tolist()) == {4}  # war stays in phase 4


def test_record_episode_statistics_single_and_vector():
    env = RecordEpisodeStatistics(gym.make(envs.ENV_ID, max_episode_steps=50))
    env.reset(seed=0)
    total = 0.0
    for _ in range(50):
        _, reward, _, truncated, info = env.step(env.action_space.sample())
        total += reward
    assert truncated and info["episode"]["l"] == 50 and info["episode"]["r"] == pytest.approx(total)

    venv = gym.wrappers.vector.RecordEpisodeStatistics(
        gym.make_vec(envs.ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", max_episode_steps=40))
    venv.reset(seed=0)
    totals = np.zeros(3)
    for _ in range(40):
        _, reward, _, truncated, info = venv.step(venv.action_space.sample())
        totals += reward
    assert truncated.all() and info["episode"]["l"].tolist() == [40, 40, 40]
    np.testing.assert_allclose(info["episode"]["r"], totals)


def test_episode_length_follows_max_episode_steps_and_time_limit():
    make = gym.make
    assert episode_lengths(make(envs.ENV_ID), 160) == [80, 80]  # docs/model.md: 80-step episodes
    assert episode_lengths(make(envs.ENV_ID, max_episode_steps=120), 240) == [120, 120]
    assert episode_lengths(make(envs.ENV_ID, max_episode_steps=25), 50) == [25, 25]
    assert episode_lengths(TimeLimit(make(envs.ENV_ID, max_episode_steps=-1), 150), 150) == [150]
    assert episode_lengths(TimeLimit(envs.SmallStateAllianceEnv("war", max_episode_steps=500), 90), 180) == [90, 90]
    assert episode_lengths(make(envs.DISCRETE_ENV_ID, max_episode_steps=100), 200) == [100, 100]
    # the 44 quarters of timeline and calendar are the model's horizon: shortened, never lengthened
    assert episode_lengths(make(envs.ENV_ID, scenario="calendar", max_episode_steps=200), 88) == [44, 44]
    assert episode_lengths(make(envs.ENV_ID, scenario="calendar", max_episode_steps=10), 20) == [10, 10]


@pytest.mark.parametrize("mode", ["vector_entry_point", "sync"])
def test_vector_env_episode_length(mode):
    for kwargs, length in (({}, 80), ({"max_episode_steps": 120}, 120), ({"max_episode_steps": 10}, 10),
                           ({"scenario": "timeline", "max_episode_steps": 300}, 44)):
        venv = gym.make_vec(envs.ENV_ID, num_envs=2, vectorization_mode=mode, **kwargs)
        venv.reset(seed=0)
        for step in range(1, length + 1):
            _, _, terminated, truncated, _ = venv.step(venv.action_space.sample())
            assert not terminated.any() and truncated.all() == (step == length), (kwargs, step)
        venv.close()


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_and_rebuild_from_spec(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the environment is different from the unwrapped version"
        check_env(env)
    rebuilt = gym.make(env.spec)
    assert rebuilt.action_space == env.action_space and rebuilt.spec == env.spec
    a = episode_lengths(env, 100, seed=3), [env.step(env.action_space.sample())[0].tolist() for _ in range(5)]
    b = episode_lengths(rebuilt, 100, seed=3), [rebuilt.step(rebuilt.action_space.sample())[0].tolist()
                                                for _ in range(5)]
    assert a == b


def test_discrete_id_is_the_flat_index_of_the_multidiscrete_env():
    rng = np.random.default_rng(0)
    flat = rng.integers(0, 96, size=(60, 4))
    d = gym.make_vec(envs.DISCRETE_ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    m = gym.make_vec(envs.ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    assert d.single_action_space == gym.spaces.Discrete(96)
    d.reset(seed=2)
    m.reset(seed=2)
    for a in flat:
        od, rd, *_ = d.step(a)
        om, rm, *_ = m.step(decode_actions(a))
        assert np.array_equal(od, om) and np.array_equal(rd, rm)
    with pytest.raises(ValueError, match="0..95"):
        d.step(np.array([0, 1, 2, 96]))
