"""envs.game_views.FrozenOpponentEnv: one player of the patron game against a frozen table."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.game.operator import game_operator, pure
from envs.game import parallel_env
from envs.game_views import FrozenOpponentEnv
from envs.scenarios import make_params
from envs.spaces import encode_states


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


def _random_table(n, seed, zeros=True):
    rng = np.random.default_rng(seed)
    x = rng.random((1080, n)) * (rng.random((1080, n)) < 0.3 if zeros else 1.0)
    x[:, 0] += 1e-3  # no row of zeros
    return x / x.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("learner, n", [("small_state", 24), ("patron", 96)])
def test_check_env_passes(learner, n):
    env = FrozenOpponentEnv(learner, _random_table(n, 1), scenario="war")
    check_env(env, skip_render_check=True)


def test_the_view_is_the_game_with_the_opponents_draws(op):
    """Against a pure table the view's observations and rewards are the game's under the same seed
    and actions: the dynamics are the game's own step."""
    patron = np.random.default_rng(3).integers(0, 24, 1080)
    view = FrozenOpponentEnv("small_state", pure(patron, 24), scenario="war")
    game = parallel_env(scenario="war")
    rng = np.random.default_rng(4)
    obs_v, _ = view.reset(seed=11)
    obs_g, _ = game.reset(seed=11)
    for _ in range(80):
        a = rng.integers(0, [4, 2, 3, 4])
        local = int(encode_states(np.array([game.state_tuple]))[0]) - op.phase * 1080
        a_p = np.unravel_index(patron[local], (4, 2, 3))
        obs_v, r_v, _, tr_v, info_v = view.step(a)
        obs_g, r_g, _, tr_g, _ = game.step({"small_state": a, "patron": np.array(a_p)})
        np.testing.assert_array_equal(obs_v, obs_g["small_state"])
        assert r_v == r_g["small_state"] and tr_v == tr_g["small_state"]
        assert (info_v["demand"], info_v["pressure"], info_v["support"]) == tuple(int(x) for x in a_p)
    assert tr_v


def test_the_opponent_draws_follow_its_table():
    """The patron's empirical action shares in one state approach its row of the table."""
    row = np.zeros(24)
    row[[1, 7, 20]] = [0.2, 0.5, 0.3]
    table = np.tile(row, (1080, 1))
    view = FrozenOpponentEnv("small_state", table, scenario="war")
    view.reset(seed=0)
    counts = np.zeros(24)
    for _ in range(4000):
        _, _, _, tr, info = view.step(np.array([0, 0, 0, 0]))
        counts[(info["demand"] * 2 + info["pressure"]) * 3 + info["support"]] += 1
        if tr:
            view.reset()
    assert set(np.flatnonzero(counts)) == {1, 7, 20}
    np.testing.assert_allclose(counts / counts.sum(), row, atol=0.03)


def test_the_same_seed_gives_the_same_episode():
    table = _random_table(24, 2, zeros=False)
    runs = []
    for _ in range(2):
        view = FrozenOpponentEnv("small_state", table, scenario="war")
        view.reset(seed=5)
        runs.append([view.step(np.array([1, 0, 1, 1]))[4]["support"] for _ in range(60)])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


@pytest.mark.parametrize("kwargs, words", [
    ({"learner": "west", "opponent": np.full((1080, 24), 1 / 24)}, "learner='west' is not allowed"),
    ({"learner": "small_state", "opponent": np.full((1080, 96), 1 / 96)}, "opponent table of shape (1080, 96)"),
    ({"learner": "small_state", "opponent": np.full((1080, 24), 0.5)}, "rows sum to 1"),
    ({"learner": "small_state", "opponent": None}, "opponent table of shape ()"),
    ({"learner": "patron", "opponent": np.full((2, 96), 1 / 96), "rows": [1, 1]}, "rows=[1, 1] is not allowed"),
])
def test_bad_input_is_one_line(kwargs, words):
    with pytest.raises(ValueError) as err:
        FrozenOpponentEnv(scenario="war", **kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_ppo_learns_on_the_view():
    """SB3 PPO trains on the view a few hundred steps (MultiDiscrete actions) and changes its policy."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = FrozenOpponentEnv("patron", _random_table(96, 6), scenario="war")
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=0, verbose=0)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(256)
    assert model.num_timesteps >= 256
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
