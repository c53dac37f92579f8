"""Wrappers of the single env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.env import short_repr
from envs.spaces import ALL_ACTIONS, N_ACTIONS


class FlattenActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """``Discrete(96)`` actions for the ``MultiDiscrete([4, 2, 3, 4])`` env (SB3's DQN, CleanRL's
    ``ppo.py``/``dqn.py`` take only ``Discrete``). Index ``i`` is the joint action
    ``envs.spaces.decode_actions(i)``, i.e. ``i = ((m*2 + k)*3 + g)*4 + d`` (docs/model.md section 10).

    A ``RecordConstructorArgs`` wrapper, so ``env.spec`` lists it and ``gym.make(env.spec)``
    rebuilds the wrapped env (``SmallStateAllianceDiscrete-v0`` is this wrapper on the env)."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ActionWrapper.__init__(self, env)
        self.action_space = spaces.Discrete(N_ACTIONS)

    def action(self, action: Any) -> np.ndarray:
        ok = isinstance(action, int | np.integer) and not isinstance(action, bool)
        ok = ok or (isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu")
        if not ok or not 0 <= int(action) < N_ACTIONS:
            raise ValueError(f"action={short_repr(action)} is not allowed: an integer in 0..{N_ACTIONS - 1}")
        return ALL_ACTIONS[int(action)].copy()
