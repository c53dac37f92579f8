"""The one policy interface: TablePolicy, reading any policy off on every (t, state), SB3 models."""

import gymnasium as gym
import numpy as np
import pytest

from agents.exact_eval import evaluate_policy, evaluate_table
from agents.policy import TablePolicy, policy_table, to_flat_actions
from envs.scenarios import make_params
from envs.spaces import ACTION_NVEC, ALL_STATES, N_ACTIONS, N_STATES, encode_actions, observe

WAR = make_params("war")
CALENDAR = make_params("calendar")


def test_table_policy_round_trip_stationary_and_time_dependent():
    rng = np.random.default_rng(0)
    table = rng.integers(0, N_ACTIONS, (1, N_STATES))
    np.testing.assert_array_equal(policy_table(TablePolicy(WAR, table), WAR), table)
    timed = rng.integers(0, N_ACTIONS, (44, N_STATES))
    np.testing.assert_array_equal(policy_table(TablePolicy(CALENDAR, timed), CALENDAR), timed)


def test_table_policy_reads_t_from_the_observation():
    timed = np.zeros((44, N_STATES), dtype=np.int64)
    timed[30] = 17
    pol = TablePolicy(CALENDAR, timed)
    s = ALL_STATES[[123]]
    a30, _ = pol.predict(observe(s, np.array([30]), 44))
    a29, _ = pol.predict(observe(s, np.array([29]), 44))
    assert encode_actions(a30)[0] == 17 and encode_actions(a29)[0] == 0
    with pytest.raises(ValueError, match=r"\(27,\)/\(N, 27\)"):
        pol.predict(observe(s, None, 44))  # a time-dependent table needs t


def test_bad_tables_and_actions():
    with pytest.raises(ValueError, match="table of shape"):
        TablePolicy(WAR, np.zeros((3, N_STATES), dtype=np.int64))
    with pytest.raises(ValueError, match="table entries"):
        TablePolicy(WAR, np.full((1, N_STATES), 96))
    with pytest.raises(ValueError, match="actions of shape"):
        to_flat_actions(np.zeros((5, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="flat indices"):
        to_flat_actions(np.array([0, 96]))
    np.testing.assert_array_equal(to_flat_actions(np.array([[3, 1, 2, 3]])), [95])


class FlatPolicy:
    """A DQN-like policy on Discrete(96): predictions are flat indices (N,)."""

    name, reads_time, deterministic_table = "flat", False, True

    def __init__(self, table):
        self.inner = TablePolicy(WAR, table)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        flat, _ = self.inner.flat_actions(observation)
        return flat, state

    def action_probabilities(self, observation):
        return None


def test_flat_predictions_are_accepted():
    table = np.random.default_rng(1).integers(0, N_ACTIONS, (1, N_STATES))
    np.testing.assert_array_equal(policy_table(FlatPolicy(table), WAR), table)


class Forgetful:
    """A new stochastic policy that declares only ``predict``."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return np.zeros((len(observation), 4), dtype=np.int64), state


def test_a_policy_that_does_not_declare_what_evaluation_reads_is_refused():
    with pytest.raises(TypeError, match="Forgetful is not a policy: it does not declare name, reads_time, "
                                        "deterministic_table, action_probabilities"):
        evaluate_policy(Forgetful(), WAR)


class _Stub(gym.Env):
    """Only the spaces, so SB3 can build an (untrained) model."""

    def __init__(self, action_space):
        self.observation_space = gym.spaces.Box(0.0, 1.0, (26,), dtype=np.float32)
        self.action_space = action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(26, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(26, dtype=np.float32), 0.0, False, True, {}


def test_sb3_models_are_read_off_exactly():
    sb3 = pytest.importorskip("stable_baselines3")
    import torch

    torch.set_num_threads(1)
    ppo = sb3.PPO("MlpPolicy", _Stub(gym.spaces.MultiDiscrete(ACTION_NVEC)), seed=0, device="cpu")
    det = policy_table(ppo, WAR)
    obs = observe(ALL_STATES, None, 80)
    actions, _ = ppo.predict(obs, deterministic=True)
    np.testing.assert_array_equal(det[0], encode_actions(actions))
    probs = policy_table(ppo, WAR, stochastic=True)
    assert probs.shape == (1, N_STATES, N_ACTIONS)
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-9)
    # the product of independent axes has its mode at the per-axis modes
    np.testing.assert_array_equal(probs[0].argmax(axis=1), det[0])
    # an untrained network is a near-uniform stochastic policy: evaluated exactly it is close to `random`
    near_uniform = evaluate_table(WAR, probs).value
    from agents.baselines import make_policy

    uniform = evaluate_policy(make_policy("random", WAR), WAR).value
    assert abs(near_uniform - uniform) < 0.05
    dqn = sb3.DQN("MlpPolicy", _Stub(gym.spaces.Discrete(N_ACTIONS)), seed=0, device="cpu", buffer_size=10)
    flat_table = policy_table(dqn, WAR)
    np.testing.assert_array_equal(flat_table[0], dqn.predict(obs, deterministic=True)[0])
