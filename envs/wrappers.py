"""Wrappers of the single env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.env import flat_action_index
from envs.spaces import ALL_ACTIONS, N_ACTIONS


class FlattenActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """``Discrete(96)`` actions for the ``MultiDiscrete([4, 2, 3, 4])`` env (SB3's DQN, CleanRL's
    ``ppo.py``/``dqn.py`` take only ``Discrete``). Index ``i`` is the joint action
    ``envs.spaces.decode_actions(i)``, i.e. ``i = ((m*2 + k)*3 + g)*4 + d`` (docs/model.md section 10).

    A ``RecordConstructorArgs`` wrapper, so ``env.spec`` lists it and ``gym.make(env.spec)``
    rebuilds the wrapped env. ``SmallStateAllianceDiscrete-v0`` is not this wrapper but the env
    itself with ``discrete_actions=True`` (its ``unwrapped.action_space`` is ``Discrete(96)``, which
    clients such as Tianshou read); both map index ``i`` to the same joint action."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        self.action_space = spaces.Discrete(N_ACTIONS)

    def action(self, action: Any) -> np.ndarray:
        return ALL_ACTIONS[flat_action_index(action)].copy()
