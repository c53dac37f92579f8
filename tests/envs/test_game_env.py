"""The patron game through PettingZoo's own tests, and against SmallStateAlliance-v0 with the table patron."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import envs  # noqa: F401  # registers the ids
from envs import model
from envs.game import env, parallel_env


def test_parallel_api_and_seed_tests_pass():
    parallel_api_test(parallel_env(scenario="war"), num_cycles=100)
    parallel_seed_test(lambda: parallel_env(scenario="war"), num_cycles=100)


def test_the_aec_form_passes_the_api_test():
    api_test(env(scenario="war"), num_cycles=30)


@pytest.mark.parametrize("scenario", ["war", "calendar"])
def test_with_the_table_patron_the_game_is_the_single_agent_env(scenario):
    game, single = parallel_env(scenario=scenario), gym.make("SmallStateAlliance-v0", scenario=scenario)
    obs, _ = game.reset(seed=5)
    obs1, _ = single.reset(seed=5)
    assert np.array_equal(obs["small_state"], obs1)
    rng = np.random.default_rng(1)
    for _ in range(44):
        action = rng.integers([4, 2, 3, 4])
        table = model.table_patron(np.array([game.state_tuple]), game.params)[0]
        obs, rewards, _, trunc, _ = game.step({"small_state": action, "patron": table})
        obs1, reward1, _, trunc1, _ = single.step(action)
        assert np.array_equal(obs["small_state"], obs1) and np.array_equal(obs["patron"], obs1)
        assert rewards["small_state"] == reward1


def test_the_patrons_support_moves_the_small_states_reward_and_trust():
    game = parallel_env(scenario="war")
    game.reset(seed=0)
    _, full, _, _, _ = game.step({"small_state": [2, 0, 1, 1], "patron": [2, 1, 2]})
    game.reset(seed=0)
    _, withdrawn, _, _, info = game.step({"small_state": [2, 0, 1, 1], "patron": [2, 1, 0]})
    assert withdrawn["small_state"] < full["small_state"]
    assert info["patron"]["support"] == 0


@pytest.mark.parametrize("action, words", [
    ([2, 1], "patron action=[2, 1] is not allowed"),
    ([4, 0, 0], "patron action=[4, 0, 0] is out of range"),
    ([1, 0, 3], "is out of range"),
])
def test_a_bad_patron_action_is_one_line(action, words):
    game = parallel_env(scenario="war")
    game.reset(seed=0)
    with pytest.raises(ValueError) as err:
        game.step({"small_state": [0, 0, 0, 0], "patron": action})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_missing_agent_and_an_unknown_render_mode_are_one_line():
    game = parallel_env(scenario="war")
    game.reset(seed=0)
    with pytest.raises(ValueError, match="a dict with an action for 'small_state' and 'patron'"):
        game.step({"small_state": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match="render_mode='bogus' is not allowed"):
        parallel_env(scenario="war", render_mode="bogus")
