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

The env classes are imported on first use (module ``__getattr__``): registering needs only the ids
(``envs.env_ids``), so a module of ``envs`` that the exact solvers import (the model, the tables)
does not bring in the env, the vector env's compiled kernels or the scenario ranges' pydantic
models (the game on one block's memory, ``benchmarks/game_speed.py --memory``).
"""

from typing import Any

from envs.env_ids import DISCRETE_ENV_ID, ENV_ID, register_envs_with_gymnasium
from envs.params import AllianceParams
from envs.scenarios import make_params, scenario_names

register_envs_with_gymnasium()  # now, or when Gymnasium is imported (the exact solvers never import it)


def __getattr__(name: str) -> Any:
    """``envs.SmallStateAllianceEnv``, ``AllianceVectorEnv``, ``AllianceDiscreteVectorEnv``,
    ``FlattenActions``: imported from their modules on first use."""
    if name == "SmallStateAllianceEnv":
        from envs.env import SmallStateAllianceEnv as value
    elif name == "AllianceVectorEnv":
        from envs.vector_env import AllianceVectorEnv as value
    elif name == "AllianceDiscreteVectorEnv":
        from envs.registration import AllianceDiscreteVectorEnv as value
    elif name == "FlattenActions":
        from envs.wrappers import FlattenActions as value
    else:
        raise AttributeError(f"module 'envs' has no attribute {name!r}")
    globals()[name] = value
    return value

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
