"""The registered ids and their registration, without the envs themselves (``import envs`` runs
:func:`register_envs`; the entry points are strings, so Gymnasium imports
:mod:`envs.registration`, the env and the vector env only when one is made). A module that needs
only the model, the tables or the exact solvers (``envs.model``, ``agents.game``) so never loads
the env's classes, its compiled kernels or the scenario ranges' pydantic models.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_ID = "SmallStateAlliance-v0"
DISCRETE_ENV_ID = "SmallStateAllianceDiscrete-v0"
EPISODE_STEPS = 80  # docs/model.md section 7: 80-step episodes of the stationary scenarios


def register_envs() -> None:
    """Register both ids (each once) with ``max_episode_steps=EPISODE_STEPS`` and the `war`
    scenario by default; entry points in :mod:`envs.registration` and :mod:`envs.vector_env`."""
    for env_id, entry_point, vector_entry_point in (
        (ENV_ID, "envs.registration:make_env", "envs.vector_env:AllianceVectorEnv"),
        (DISCRETE_ENV_ID, "envs.registration:make_discrete_env", "envs.registration:AllianceDiscreteVectorEnv"),
    ):
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point,
                     max_episode_steps=EPISODE_STEPS, kwargs={"scenario": "war"})
