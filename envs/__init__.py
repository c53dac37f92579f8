"""The world of the alliance model: parameters, scenarios, equations, the envs and wrappers.

Importing ``envs`` registers ``SmallStateAlliance-v0`` (``MultiDiscrete([4, 2, 3, 4])`` actions)
and ``SmallStateAllianceDiscrete-v0`` (``Discrete(96)``), each with a vector env::

    gym.make("SmallStateAlliance-v0", scenario="calendar")
    gym.make_vec("SmallStateAlliance-v0", num_envs=8, vectorization_mode="vector_entry_point", scenario="war")
    gym.make("envs:SmallStateAllianceDiscrete-v0")  # Gymnasium's module:id form imports envs first

Both register ``max_episode_steps=80``: the length of stationary episodes is Gymnasium's
``TimeLimit`` (``envs.registration`` says how it meets the 44-step scenarios). The SB3 adapter
lives in ``envs.sb3_vec_env`` and is not imported here (``import envs`` pulls in neither SB3 nor
torch).
"""

from envs.env import SmallStateAllianceEnv
from envs.params import AllianceParams
from envs.registration import DISCRETE_ENV_ID, ENV_ID, AllianceDiscreteVectorEnv, register_envs
from envs.scenarios import make_params, scenario_names
from envs.vector_env import AllianceVectorEnv
from envs.wrappers import FlattenActions

register_envs()

__all__ = [
    "DISCRETE_ENV_ID",
    "ENV_ID",
    "AllianceDiscreteVectorEnv",
    "AllianceParams",
    "AllianceVectorEnv",
    "FlattenActions",
    "SmallStateAllianceEnv",
    "make_params",
    "scenario_names",
]
