"""The batched alliance env as a Stable-Baselines3 ``VecEnv`` (SB3 rejects Gymnasium vector envs).

Import this module only where SB3 is wanted: ``import envs`` does not import SB3 or torch.
The dynamics are :class:`envs.vector_env.AllianceVectorEnv`'s (``advance`` and ``reset_envs``);
this adapter only adds SB3's conventions: ``reset()`` returns the observations alone,
``step_async``/``step_wait``, and an env that is truncated is reset in the same step, its last
observation in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"] = True``
so that SB3 bootstraps from it (the envs never terminate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from envs.params import AllianceParams
from envs.vector_env import AllianceVectorEnv

PER_ENV_METHODS = ("action_masks",)  # batched methods whose result has one row per env


class AllianceSB3VecEnv(VecEnv):
    """``num_envs`` alliance envs for SB3 and sb3-contrib (PPO, A2C, TRPO, RecurrentPPO, MaskablePPO;
    DQN, QRDQN and ARS with ``flatten_actions=True``).

    :param num_envs: number of envs stepped together
    :param scenario: a name of ``envs.scenario_names()`` or a scenario file (.yaml)
    :param params: explicit parameters (then ``scenario`` is ignored)
    :param overrides: parameter overrides, e.g. ``{"identification": 0.9}``
    :param flatten_actions: if True the action space is ``Discrete(96)`` (flat index
        ``((m*2 + k)*3 + g)*4 + d``), else ``MultiDiscrete([4, 2, 3, 4])``
    :param seed: seed of the first ``reset()`` (as ``VecEnv.seed``); None draws one

    The N envs share one batched object, so ``get_attr``/``set_attr``/``env_method`` act on that
    object (:class:`envs.vector_env.AllianceVectorEnv`) and return one value per requested index
    (``env_method("action_masks")``: each env's row of the batched all-True masks).
    ``set_options({"state": ..., "t": ...})`` is passed to the next ``reset()`` (the options of the
    first env serve all; per-env states go as ``{"state": [(6 ints), ...]}``).
    Infos are ``{}`` except at truncation.
    """

    def __init__(self, num_envs: int, scenario: str = "war", params: AllianceParams | None = None,
                 overrides: dict | None = None, flatten_actions: bool = False, seed: int | None = None,
                 contexts: list | dict | None = None, context_in_obs: bool = False):
        self.flatten_actions = bool(flatten_actions)
        self.venv = AllianceVectorEnv(num_envs, scenario=scenario, params=params, overrides=overrides,
                                      discrete_actions=self.flatten_actions, contexts=contexts,
                                      context_in_obs=context_in_obs)
        super().__init__(self.venv.num_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self.params = self.venv.params
        self._actions: np.ndarray | None = None
        if seed is not None:
            self.seed(seed)

    # ------------------------------------------------------------------ SB3 API
    def reset(self) -> VecEnvObs:
        options = self._options[0] or None
        obs, _ = self.venv.reset(seed=self._seeds[0], options=options)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() was called without step_async(actions)")
        actions, self._actions = self._actions, None
        index = self.venv.action_indices(actions)
        reward, truncated, _ = self.venv.advance(index)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if truncated.any():
            final = self.venv.observations()
            for i in np.flatnonzero(truncated).tolist():
                infos[i]["terminal_observation"] = final[i]
                infos[i]["TimeLimit.truncated"] = True
            self.venv.reset_envs(truncated)
        return self.venv.observations(), reward.astype(np.float32), truncated.copy(), infos

    def close(self) -> None:
        self.venv.close()

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seeds the next ``reset()``. The N envs draw from one generator, seeded with ``seed``;
        the list returned follows SB3's convention (``seed + i`` for env i)."""
        return super().seed(seed)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        if method_name in PER_ENV_METHODS:  # one row per env (MaskablePPO stacks the rows)
            return [result[i] for i in self._get_indices(indices)]
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
