"""The world of the alliance model: parameters, scenarios, equations, the envs and wrappers.

Importing ``envs`` registers ``SmallStateAlliance-v0``::

    gym.make("SmallStateAlliance-v0", scenario="calendar")
    gym.make_vec("SmallStateAlliance-v0", num_envs=8, vectorization_mode="vector_entry_point", scenario="war")

No ``max_episode_steps`` is registered: the horizon depends on the scenario (80 or 44 steps),
so the env truncates itself and ``gym.make`` adds no ``TimeLimit``. The SB3 adapter lives in
``envs.sb3_vec_env`` and is not imported here (``import envs`` pulls in neither SB3 nor torch).
"""

from gymnasium.envs.registration import register, registry

from envs.env import SmallStateAllianceEnv
from envs.params import AllianceParams
from envs.scenarios import make_params, scenario_names
from envs.vector_env import AllianceVectorEnv
from envs.wrappers import FlattenActions

ENV_ID = "SmallStateAlliance-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="envs.env:SmallStateAllianceEnv",
        vector_entry_point="envs.vector_env:AllianceVectorEnv",
        kwargs={"scenario": "war"},
    )

__all__ = [
    "ENV_ID",
    "AllianceParams",
    "AllianceVectorEnv",
    "FlattenActions",
    "SmallStateAllianceEnv",
    "make_params",
    "scenario_names",
]
