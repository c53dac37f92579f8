"""The envs as RL libraries read them (issue 29, item 2): the Discrete id's unwrapped space, one info
structure for reset and step, Gymnasium's three autoreset modes, and the real clients — Tianshou's
``DummyVectorEnv``, TorchRL's ``GymWrapper`` on the vector env, sb3-contrib's MaskablePPO and QRDQN,
Minari's ``DataCollector(record_infos=True)`` (skipped when ``minari[create]`` is absent: it pulls jax)."""

from __future__ import annotations

import importlib.util
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode

import envs
from envs.info import STEP_KEYS, TERM_KEYS
from envs.spaces import ALL_ACTIONS

MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)


def _vec(mode, n=3, **kwargs):
    return gym.make_vec(envs.ENV_ID, n, vectorization_mode="vector_entry_point", autoreset_mode=mode,
                        scenario="calendar", **kwargs)


def test_the_discrete_id_is_the_env_itself_with_96_actions_and_the_same_dynamics():
    flat = gym.make(envs.DISCRETE_ENV_ID)
    joint = gym.make(envs.ENV_ID)
    assert flat.unwrapped.action_space == gym.spaces.Discrete(96)
    assert type(flat.unwrapped) is type(joint.unwrapped)  # one class, one step function
    flat.reset(seed=7)
    joint.reset(seed=7)
    rng = np.random.default_rng(0)
    for i in rng.integers(0, 96, size=200).tolist():
        a = flat.step(i)
        b = joint.step(ALL_ACTIONS[i])
        assert a[1:4] == b[1:4] and np.array_equal(a[0], b[0]) and a[4] == b[4]
    with pytest.raises(ValueError, match=r"action=96 is not allowed: an integer in 0\.\.95"):
        flat.step(96)
    with pytest.raises(ValueError, match="is not allowed"):
        flat.step(np.array([0, 0, 0, 1]))  # a joint action is not an index


def test_reset_info_has_step_info_keys_and_types_with_no_event_and_nan_terms():
    env = gym.make(envs.ENV_ID)
    _, first = env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert list(first) == list(info) == list(STEP_KEYS)
    assert all(type(first[k]) is type(info[k]) for k in STEP_KEYS)
    assert first["mediated"] is False and first["phase_changed"] is False and first["threat_floor"] == 0
    assert all(math.isnan(first[k]) for k in TERM_KEYS) and all(math.isfinite(info[k]) for k in TERM_KEYS)


@pytest.mark.parametrize("mode", MODES)
def test_vector_env_takes_gymnasiums_autoreset_modes(mode):
    venv = _vec(mode)
    assert venv.autoreset_mode is mode and venv.metadata["autoreset_mode"] is mode
    assert venv.unwrapped.metadata["autoreset_mode"] is mode
    assert type(venv).metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP  # the class's own stays
    with pytest.raises(ValueError, match="autoreset_mode='sometimes' is not allowed"):
        _vec("sometimes")


def _first_episode(mode, seed=3):
    venv = _vec(mode, max_episode_steps=5)
    obs0, _ = venv.reset(seed=seed)
    actions = np.random.default_rng(1).integers(0, [4, 2, 3, 4], size=(7, 3, 4))
    out = [venv.step(a) for a in actions[:5]]
    return venv, obs0, out, actions


def test_the_three_modes_play_the_same_episode_and_differ_only_at_its_end():
    runs = {m: _first_episode(m) for m in MODES}
    base = runs[AutoresetMode.NEXT_STEP][2]
    for mode in MODES[1:]:
        other = runs[mode][2]
        for (o1, r1, _, tr1, _), (o2, r2, _, tr2, _) in zip(base[:4], other[:4]):
            assert np.array_equal(o1, o2) and np.array_equal(r1, r2) and not tr1.any() and not tr2.any()
        assert np.array_equal(base[4][1], other[4][1]) and base[4][3].all() and other[4][3].all()

    venv, obs0, out, actions = runs[AutoresetMode.NEXT_STEP]
    obs, reward, _, truncated, info = venv.step(actions[5])
    assert np.array_equal(obs, obs0) and not reward.any() and not truncated.any() and not info["t"].any()

    venv, obs0, out, actions = runs[AutoresetMode.SAME_STEP]
    obs, _, _, _, info = out[4]
    assert np.array_equal(obs, obs0) and info["_final_obs"].all() and info["_final_info"].all()
    assert np.array_equal(info["final_obs"], runs[AutoresetMode.NEXT_STEP][2][4][0])
    assert info["final_info"]["t"].tolist() == [5, 5, 5] and info["t"].tolist() == [0, 0, 0]
    obs, reward, _, _, info = venv.step(actions[5])  # a real step of the new episodes
    assert info["t"].tolist() == [1, 1, 1] and (reward != 0).all() and "final_obs" not in info

    venv, obs0, out, actions = runs[AutoresetMode.DISABLED]
    with pytest.raises(ResetNeeded, match="reset it"):
        venv.step(actions[5])
    before = venv.unwrapped.states
    obs, info = venv.reset(options={"reset_mask": np.array([True, False, True])})
    assert np.array_equal(obs[[0, 2]], obs0[[0, 2]]) and np.array_equal(venv.unwrapped.states[1], before[1])
    assert venv.unwrapped.t.tolist() == [0, 5, 0] and set(info) >= {"t", "mediated", "_t"}
    with pytest.raises(ValueError, match=r"options.reset_mask=.* is not allowed: a numpy bool array of shape \(3,\)"):
        venv.reset(options={"reset_mask": [True, False, True]})


def test_tianshou_dummy_vector_env_sees_discrete_96_and_steps_its_own_samples():
    tianshou_env = pytest.importorskip("tianshou.env")
    venv = tianshou_env.DummyVectorEnv([lambda: gym.make(envs.DISCRETE_ENV_ID) for _ in range(2)])
    assert venv.action_space == [gym.spaces.Discrete(96)] * 2
    obs, info = venv.reset(seed=0)
    assert obs.shape == (2, 26) and set(info[0]) - {"env_id"} == set(STEP_KEYS)  # Tianshou adds env_id
    for _ in range(3):
        actions = np.array([space.sample() for space in venv.action_space])
        obs, reward, terminated, truncated, info = venv.step(actions)
        assert obs.shape == (2, 26) and reward.shape == (2,) and not terminated.any()
        assert info[0]["t"] >= 1 and set(info[0]) - {"env_id"} == set(STEP_KEYS)


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_torchrl_gym_wrapper_on_the_vector_env(mode):
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

    wrapped = GymWrapper(_vec(mode, n=4, max_episode_steps=6))
    check_env_specs(wrapped)
    td = wrapped.rollout(15, break_when_any_done=False)
    assert td.batch_size == (4, 15) and td["observation"].shape == (4, 15, 27)
    assert td["next", "truncated"].squeeze(-1)[:, 5].all()  # the 6th step ends every episode
    assert (td["observation"][:, 6] == td["observation"][:, 0]).all()  # and a new one starts at s0


def test_sb3_contrib_maskable_ppo_and_qrdqn_learn_on_the_envs():
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import QRDQN, MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.env_util import make_vec_env

    from envs.sb3_vec_env import AllianceSB3VecEnv

    venv = AllianceSB3VecEnv(2, scenario="war", seed=0)
    assert get_action_masks(venv).shape == (2, 13) and get_action_masks(venv).all()
    MaskablePPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0).learn(32)
    dummy = make_vec_env(envs.DISCRETE_ENV_ID, n_envs=2, seed=0)
    assert get_action_masks(dummy).shape == (2, 96)
    model = QRDQN("MlpPolicy", dummy, learning_starts=8, buffer_size=64, seed=0).learn(16)
    assert model.action_space == gym.spaces.Discrete(96)


def test_minari_data_collector_records_infos(tmp_path, monkeypatch):
    if importlib.util.find_spec("minari") is None or importlib.util.find_spec("jax") is None:
        pytest.skip("minari[create] is not installed (it pulls jax, ~600 MB): pip install -e '.[datasets]'")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    from minari import DataCollector

    env = DataCollector(gym.make(envs.ENV_ID, max_episode_steps=5), record_infos=True)
    env.reset(seed=0)
    for _ in range(7):  # across an episode's end and a new reset
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    dataset = env.create_dataset("alliance/test/collector-v0", algorithm_name="random")
    episodes = list(dataset.iterate_episodes())
    assert [len(e.rewards) for e in episodes] == [5, 2]  # the open episode is kept too
    assert set(episodes[0].infos) == set(STEP_KEYS) and episodes[0].infos["t"].tolist() == [0, 1, 2, 3, 4, 5]
    assert np.isnan(episodes[0].infos["security"][0]) and not np.isnan(episodes[0].infos["security"][1:]).any()
