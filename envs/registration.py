"""The registered ids' entry points (the ids and their registration, which ``import envs`` runs:
:mod:`envs.env_ids`; Gymnasium imports this module when it makes an env).

- ``SmallStateAlliance-v0``: ``MultiDiscrete([4, 2, 3, 4])`` actions;
  vector env :class:`envs.vector_env.AllianceVectorEnv`.
- ``SmallStateAllianceDiscrete-v0``: the same env with ``Discrete(96)`` actions (the flat index
  ``((m*2 + k)*3 + g)*4 + d`` of docs/model.md section 10; the env with ``discrete_actions=True``, so its
  ``unwrapped.action_space`` is ``Discrete(96)``); vector env :class:`AllianceDiscreteVectorEnv`, which takes the ``(N,)`` flat indices
  natively. Same dynamics, same tables.

Episode length: both ids register ``max_episode_steps=80`` (the episodes of stationary scenarios,
docs/model.md section 7), so ``gym.make`` adds Gymnasium's ``TimeLimit`` and the env made by
:func:`make_env` leaves the length of stationary episodes to it: ``gym.make(id,
max_episode_steps=N)``, ``TimeLimit`` or ``gym.make_vec(id, ..., max_episode_steps=N)`` set it.
The 44 steps of ``timeline`` and ``calendar`` are the model's horizon, which a limit can only
shorten (the env truncates itself at 44, before ``TimeLimit(80)``). Stationary scenarios are
infinite-horizon problems (their reported value is the discounted infinite-horizon optimum); an
episode is a truncation for learning, after which a learner bootstraps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from envs.env import SmallStateAllianceEnv
from envs.env_ids import DISCRETE_ENV_ID, ENV_ID, EPISODE_STEPS, register_envs
from envs.vector_env import AllianceVectorEnv

__all__ = ["DISCRETE_ENV_ID", "ENV_ID", "EPISODE_STEPS", "AllianceDiscreteVectorEnv", "make_discrete_env", "make_env",
           "register_envs"]

NO_LIMIT = 2**62  # no step count reaches it: the length is TimeLimit's


def make_env(**kwargs: Any) -> SmallStateAllianceEnv:
    """``gym.make``'s entry point: the env with no length of its own in stationary scenarios
    (``TimeLimit`` sets it); ``timeline`` and ``calendar`` still end at their 44th step."""
    if kwargs.get("max_episode_steps") is None:
        kwargs["max_episode_steps"] = NO_LIMIT
    env = SmallStateAllianceEnv(**kwargs)
    if not env.params.finite_horizon and env.params.horizon != EPISODE_STEPS:
        gym.logger.warn(f"horizon={env.params.horizon} sets the horizon of the exact evaluation's statistics; "
                        f"the length of gym.make's episodes is max_episode_steps (default {EPISODE_STEPS})")
    return env


def make_discrete_env(**kwargs: Any) -> SmallStateAllianceEnv:
    """``gym.make``'s entry point of ``SmallStateAllianceDiscrete-v0``: the env with
    ``discrete_actions=True``, so ``env.unwrapped.action_space`` is ``Discrete(96)`` (Tianshou and
    other clients read the unwrapped env's space); one step function for both ids."""
    return make_env(**kwargs, discrete_actions=True)


# gym.make reads the entry point's metadata to adapt render modes (e.g. "rgb_array_list")
make_env.metadata = make_discrete_env.metadata = SmallStateAllianceEnv.metadata  # type: ignore[attr-defined]


class AllianceDiscreteVectorEnv(AllianceVectorEnv):
    """:class:`AllianceVectorEnv` with ``discrete_actions=True``: actions are ``(N,)`` flat indices
    in ``0..95`` (``single_action_space = Discrete(96)``); everything else is the parent's."""

    def __init__(self, num_envs: int, **kwargs: Any):
        super().__init__(num_envs, **kwargs, discrete_actions=True)
