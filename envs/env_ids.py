"""The registered ids and their registration, without the envs themselves (``import envs`` runs
:func:`register_envs_with_gymnasium`; the entry points are strings, so Gymnasium imports
:mod:`envs.registration`, the env and the vector env only when one is made). A module that needs
only the model, the tables or the exact solvers (``envs.model``, ``agents.game``) so never loads
the env's classes, its compiled kernels or the scenario ranges' pydantic models; nor Gymnasium itself
(3 MB of the game's memory, ``benchmarks/game_speed.py --memory``): if Gymnasium is not imported
yet, the ids are registered the moment its registry module is (:class:`_RegisterOnImport`), so
``import envs`` then ``gym.make(ENV_ID)`` works in either order of imports.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

ENV_ID = "SmallStateAlliance-v0"
DISCRETE_ENV_ID = "SmallStateAllianceDiscrete-v0"
EPISODE_STEPS = 80  # docs/model.md section 7: 80-step episodes of the stationary scenarios


REGISTRY_MODULE = "gymnasium.envs.registration"


def register_envs() -> None:
    """Register both ids (each once) with ``max_episode_steps=EPISODE_STEPS`` and the `war`
    scenario by default; entry points in :mod:`envs.registration` and :mod:`envs.vector_env`."""
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point, vector_entry_point in (
        (ENV_ID, "envs.registration:make_env", "envs.vector_env:AllianceVectorEnv"),
        (DISCRETE_ENV_ID, "envs.registration:make_discrete_env", "envs.registration:AllianceDiscreteVectorEnv"),
    ):
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point,
                     max_episode_steps=EPISODE_STEPS, kwargs={"scenario": "war"})


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finds Gymnasium's registry module as the other finders do and runs :func:`register_envs`
    right after the module has run (once: the finder removes itself first)."""

    def find_spec(self, name: str, path=None, target=None):  # noqa: ANN001 (importlib's protocol)
        if name != REGISTRY_MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)  # this finder is out of sys.meta_path now: no recursion
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module) -> None:  # noqa: ANN001
            run(module)
            register_envs()

        spec.loader.exec_module = exec_module
        return spec


def register_envs_with_gymnasium() -> None:
    """Register both ids now if Gymnasium is imported, else when its registry module is imported."""
    if REGISTRY_MODULE in sys.modules:
        register_envs()
    elif not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())
