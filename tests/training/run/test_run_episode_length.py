"""Training envs end their episodes at the run's horizon, a ``horizon`` override included, on both
vector envs and for both action spaces (DQN goes through ``SmallStateAllianceDiscrete-v0``, i.e.
``FlattenActions``). ``gym.make`` alone would stop stationary episodes at the registered 80."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from training.config.run import config_from_dict
from training.run.train import make_vec_env


def first_done(env, limit: int = 300) -> tuple[int, list[dict]]:
    env.reset()
    for t in range(1, limit + 1):
        actions = np.array([env.action_space.sample() for _ in range(env.num_envs)])
        _, _, dones, infos = env.step(actions)
        if dones.any():
            assert dones.all(), "the envs started together and never terminate: they end together"
            return t, infos
    return -1, []


@pytest.mark.parametrize("vec_env", ["dummy", "alliance"])
@pytest.mark.parametrize("algo", ["PPO", "DQN"])
@pytest.mark.parametrize("horizon", [None, 20, 120])
def test_training_episodes_last_the_runs_horizon(algo, vec_env, horizon):
    overrides = {} if horizon is None else {"horizon": horizon}
    cfg = config_from_dict({"env": {"scenario": "war", "overrides": overrides}, "algo": algo, "n_envs": 2,
                            "total_timesteps": 1000, "vec_env": vec_env, "output": "unused"})
    env = make_vec_env(cfg, 2, seed=0)
    try:
        length, infos = first_done(env)
        assert length == (80 if horizon is None else horizon)
        assert all(info.get("TimeLimit.truncated") for info in infos)  # a truncation: SB3 bootstraps
        want = spaces.Discrete(96) if algo == "DQN" else spaces.MultiDiscrete([4, 2, 3, 4])
        assert env.action_space == want
    finally:
        env.close()
